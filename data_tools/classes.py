"""Class names: the expression vocabulary (canonical names, aliases, the public datasets' label orders)
and the rules any other class name (an open vocabulary: `Glück`, `class042`, `aquarium_fish`) obeys."""
from __future__ import annotations

import re
import unicodedata

# Canonical names. Every importer maps its labels onto these.
ANGRY, DISGUST, FEAR, HAPPY, SAD, SURPRISE, NEUTRAL, CONTEMPT = (
    "angry", "disgust", "fear", "happy", "sad", "surprise", "neutral", "contempt")

# Default order for datasets that have none of their own (FER2013 order, contempt last).
BASIC7 = [ANGRY, DISGUST, FEAR, HAPPY, SAD, SURPRISE, NEUTRAL]
BASIC8 = BASIC7 + [CONTEMPT]

# Label orders as the datasets distribute them (index = label number, RAF-DB's starts at 1).
RAFDB_ORDER = [SURPRISE, FEAR, DISGUST, HAPPY, SAD, ANGRY, NEUTRAL]
FER2013_ORDER = [ANGRY, DISGUST, FEAR, HAPPY, SAD, SURPRISE, NEUTRAL]
AFFECTNET_ORDER = [NEUTRAL, HAPPY, SAD, SURPRISE, FEAR, DISGUST, ANGRY, CONTEMPT]  # 8 none, 9 uncertain, 10 no-face
FERPLUS_VOTE_COLUMNS = ["neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear",
                        "contempt", "unknown", "NF"]

_SYNONYMS = {
    ANGRY: ["angry", "anger", "an", "ang", "mad"],
    DISGUST: ["disgust", "disgusted", "disgusting", "di", "dis"],
    FEAR: ["fear", "fearful", "afraid", "scared", "fe"],
    HAPPY: ["happy", "happiness", "joy", "ha", "hap", "smile"],
    SAD: ["sad", "sadness", "sa"],
    SURPRISE: ["surprise", "surprised", "su", "sur"],
    NEUTRAL: ["neutral", "ne", "neu", "calm"],
    CONTEMPT: ["contempt", "contemptuous", "co"],
}
_LOOKUP = {syn: canon for canon, syns in _SYNONYMS.items() for syn in syns}


class UnknownClassError(ValueError):
    """A label that is not an expression name this tool knows."""


def normalize(name: str) -> str:
    """Map a class name in any common spelling ('Anger', 'happiness', 'SU') to the canonical name."""
    key = str(name).strip().lower().replace("-", "").replace("_", "").replace(" ", "")
    if key in _LOOKUP:
        return _LOOKUP[key]
    raise UnknownClassError(f"'{name}' is not an expression class (known: {', '.join(BASIC8)})")


def try_normalize(name: str) -> str | None:
    """Like `normalize`, but None for an unknown name."""
    try:
        return normalize(name)
    except UnknownClassError:
        return None


def order_classes(names: list[str]) -> list[str]:
    """Canonical names in the default order (BASIC8 first, unknown extras after, alphabetically)."""
    known = [c for c in BASIC8 if c in names]
    return known + sorted(set(names) - set(known))


# ----------------------------------------------------------------------------- any class name
# expression: labels are expression names in any spelling (aliases fold onto the canonical names,
# other names are rejected); open: every label is a class name as written (trimmed, Unicode NFC).
VOCABULARIES = ("expression", "open")
MAX_NAME = 100  # characters in a class name: it is shown in the review app and names prob_<class> columns
_BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")  # can make two names look alike
BIDI = frozenset(_BIDI)  # the same set, for the manifest's sample_id and path check


def clean_name(name: str) -> str:
    """A class name as stored: surrounding whitespace dropped, Unicode in NFC (so a composed and a
    decomposed 'Glück' are one class)."""
    return unicodedata.normalize("NFC", str(name).strip())


def name_problem(name: str) -> str | None:
    """Why `name` (already cleaned) cannot be a class name, or None; the reason starts with the name
    quoted (as it is: callers print it with images.printable)."""
    if not name:
        return "'' is empty"
    bad = next((ch for ch in name if unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp") or ch in _BIDI), None)
    if bad is not None and unicodedata.category(bad) == "Cs":  # undecodable bytes (surrogateescape)
        return f"'{name}' is not valid UTF-8"
    if bad is not None:
        return f"'{name}' contains a control character (U+{ord(bad):04X})"
    if len(name) > MAX_NAME:
        return f"'{name[:20]}...' is longer than {MAX_NAME} characters"
    return None


def is_expression(name: str) -> bool:
    """True when `name` is an expression name in any spelling this tool knows."""
    return try_normalize(name) is not None


def _natural_key(name: str) -> list:
    return [(0, int(part), "") if part.isdecimal() else (1, 0, part) for part in re.split(r"(\d+)", name.casefold())
            if part] + [(2, 0, name)]


def order_open(names: set[str] | list[str]) -> list[str]:
    """Open-vocabulary class names in a stable human order: case-insensitive, numbers by value
    ('class2' before 'class10')."""
    return sorted(set(names), key=_natural_key)
