"""Import a script of bench/ as a module, for the tests of its helpers."""
from __future__ import annotations

import importlib
import sys
from types import ModuleType

from support.apptest import REPO


def load(name: str) -> ModuleType:
    """bench/<name>.py imported (bench/ on sys.path only while it loads)."""
    sys.path.insert(0, str(REPO / "bench"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(REPO / "bench"))
