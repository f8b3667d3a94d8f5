"""The export's one exception."""
from __future__ import annotations


class ExportError(ValueError):
    """An export that cannot be made as asked; the message says which sample, file or option."""
