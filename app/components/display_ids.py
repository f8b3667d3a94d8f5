"""Sample ids as the pages show them (issue 24 item 6). A folders import names each face by its path,
`happy/S072_006_00000021`, so after `data_tools noise` the id shows the class the face came from next
to its flipped label: the reviewer of an injected-noise set reads the answer in the id. Where the
truth is known (the manifest's, and so the scores', `source_label` or `true_label` column), every part
of an id (split on '/') that names a class, in any spelling that folds to it (`Happy`, `happiness`), is
drawn as `…`: `…/S072_006_00000021`. Files, the audit, every export and the page's state keep the real
sample_id; only the text drawn changes. Two faces may then read alike (the same file name in two class
folders); nothing is keyed by the drawn text.

The page's address and widget keys must not carry the real id either (a widget key reaches the browser
as a CSS class, the URL is on screen): `Shown.token(sid)` is the id itself where it is drawn unmasked,
else `f-` and a keyed hash of it (`key_of`: HMAC-SHA256 with the project's secret, project.link_key, so
the few class names cannot be tried against it); `Shown.find(token, ids)` turns a link back into the
id. `key_of(sid)` alone keys widgets nobody reads back."""
from __future__ import annotations

import hashlib
import hmac

from data_tools.classes import _LOOKUP, try_normalize   # _LOOKUP: every spelling normalize() knows

MASK = "…"
TOKEN = "f-"          # a link token: a keyed hash of a sample id whose drawn form is masked
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


    def token(self, sample_id) -> str:
        """The sample in a link or a widget key: its id where drawn unmasked, else `f-<keyed hash>`."""
        sid = str(sample_id)
        return sid if self(sid) == sid else TOKEN + key_of(sid)

    def find(self, token, ids) -> str | None:
        """The id among `ids` (an Index or any collection of str) that `token` names, or None: an id as
        it is (a deep link typed by hand, an unmasked id), else the id whose token it is."""
        if token is None:
            return None
        t = str(token)
        if t in ids:
            return t
        if not (self.active and t.startswith(TOKEN)):
            return None
        return next((str(s) for s in ids if self.token(s) == t), None)

    def ids_of(self, tokens, ids) -> set[str]:
        """The ids among `ids` that any of `tokens` names (a map selection's customdata): tokens are
        hashed back only where some are link tokens."""
        want = {str(t) for t in tokens}
        ids = [str(s) for s in ids]
        if not (self.active and any(t.startswith(TOKEN) for t in want)):
            return want & set(ids)
        return {s for s in ids if self.token(s) in want}


def key_of(sample_id) -> str:
    """A keyed hash of a sample id (16 hex digits): for widget keys and links, never the id's text."""
    from app.components.project import link_key
    return hmac.new(link_key(), str(sample_id).encode("utf-8"), hashlib.sha256).hexdigest()[:16]


def for_columns(columns, classes) -> Shown:
    """The drawing of ids for a table (scores or manifest) with these columns and these classes."""
    return Shown(classes, has_truth(columns))


def shown_for(dataset) -> Shown:
    """The drawing of ids for a loaded dataset (data_tools.manifest.Dataset; None: identity)."""
    if dataset is None:
        return Shown()
    return for_columns(dataset.manifest.columns, dataset.classes)
