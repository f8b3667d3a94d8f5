"""Sample ids as the pages show them (issue 24 item 6). A folders import names each face by its path,
`happy/S072_006_00000021`, so after `data_tools noise` the id shows the class the face came from next
to its flipped label: the reviewer of an injected-noise set reads the answer in the id. Where the
truth is known (the manifest's, and so the scores', `source_label` or `true_label` column), every part
of an id (split on '/') that names a class, in any spelling that folds to it (`Happy`, `happiness`), is
drawn as `…`: `…/S072_006_00000021`. Files, the audit, every export and the page's state keep the real
sample_id; only the text drawn changes. Two faces may then read alike (the same file name in two class
folders); nothing is keyed by the drawn text."""
from __future__ import annotations

from data_tools.classes import _LOOKUP, try_normalize   # _LOOKUP: every spelling normalize() knows

MASK = "…"
TRUTH_COLUMNS = ("source_label", "true_label")


def has_truth(columns) -> bool:
    """Whether a table with these columns holds the truth a reviewer must not see before deciding."""
    cols = set(columns)
    return any(c in cols for c in TRUTH_COLUMNS)


def _fold(part: str) -> str:
    """The key normalize() looks a spelling up by."""
    return part.strip().lower().replace("-", "").replace("_", "").replace(" ", "")


def class_keys(classes) -> set[str]:
    """Every folded spelling of every class: the class as written and, for an expression, each
    spelling normalize() folds to it."""
    canon = {try_normalize(str(c)) for c in classes} - {None}
    return {_fold(str(c)) for c in classes} | {k for k, v in _LOOKUP.items() if v in canon}


class Shown:
    """`shown(sample_id)`: the id as drawn (identity when the truth is not known)."""

    def __init__(self, classes=(), active: bool = False):
        self.active = bool(active)
        self.keys = class_keys(classes) if self.active else set()
        self._parts: dict[str, bool] = {}

    def _names_a_class(self, part: str) -> bool:
        if part not in self._parts:
            self._parts[part] = _fold(part) in self.keys
        return self._parts[part]

    def __call__(self, sample_id) -> str:
        sid = str(sample_id)
        if not self.active:
            return sid
        return "/".join(MASK if self._names_a_class(p) else p for p in sid.split("/"))


def for_columns(columns, classes) -> Shown:
    """The drawing of ids for a table (scores or manifest) with these columns and these classes."""
    return Shown(classes, has_truth(columns))


def shown_for(dataset) -> Shown:
    """The drawing of ids for a loaded dataset (data_tools.manifest.Dataset; None: identity)."""
    if dataset is None:
        return Shown()
    return for_columns(dataset.manifest.columns, dataset.classes)
