"""One vocabulary of expression class names, and the label orders of the public datasets."""
from __future__ import annotations

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
