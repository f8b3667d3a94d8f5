"""The review queue as pure functions over the scores DataFrame (no streamlit here)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

STATUSES = ("all", "undecided", "decided")
_NOT_SCORES = {"sample_id", "label", "pred", "split", "true_label", "source_label", "path", "provisional",
               "label_index", "pred_index"}


@dataclass
class QueueFilter:
    """What the reviewer narrowed the queue to."""
    given: list[str] = field(default_factory=list)        # empty = every class
    predicted: list[str] = field(default_factory=list)
    score_col: str = "suspicion"
    score_range: tuple[float, float] | None = None
    status: str = "all"
    disagree: bool = False
    sort_by: str = "rank"
    descending: bool = False


def score_columns(scores: pd.DataFrame) -> list[str]:
    """Numeric columns one can sort or filter the queue by (rank and suspicion first)."""
    num = [c for c in scores.columns
           if c not in _NOT_SCORES and pd.api.types.is_numeric_dtype(scores[c])
           and not pd.api.types.is_bool_dtype(scores[c])]
    first = [c for c in ("rank", "suspicion") if c in num]
    return first + [c for c in num if c not in first]


def with_decisions(scores: pd.DataFrame, latest: pd.DataFrame) -> pd.DataFrame:
    """scores plus `decision` ('' when undecided, else the action, 'relabel→x' for a relabel)."""
    out = scores.copy()
    if latest is None or latest.empty:
        out["decision"] = ""
        return out
    lab = latest["new_label"].fillna("").astype(str)
    text = np.where(latest["action"].eq("relabel"), "relabel→" + lab, latest["action"].astype(str))
    m = dict(zip(latest["sample_id"].astype(str), text))
    out["decision"] = out["sample_id"].astype(str).map(m).fillna("")
    return out


def filter_queue(scores: pd.DataFrame, decided_ids: set[str] | None, f: QueueFilter) -> pd.DataFrame:
    """Rows of `scores` that pass the filter, sorted as asked (ties keep rank order)."""
    df = scores
    mask = pd.Series(True, index=df.index)
    if f.given:
        mask &= df["label"].isin(f.given)
    if f.predicted:
        mask &= df["pred"].isin(f.predicted)
    if f.score_range is not None and f.score_col in df.columns:
        lo, hi = f.score_range
        mask &= df[f.score_col].between(lo, hi)
    if f.disagree:
        mask &= df["pred"] != df["label"]
    if f.status != "all":
        decided = df["sample_id"].isin(decided_ids or set())
        mask &= decided if f.status == "decided" else ~decided
    out = df[mask]
    return sort_queue(out, f.sort_by, descending=f.descending)


def sort_queue(df: pd.DataFrame, by: str, *, descending: bool = False) -> pd.DataFrame:
    """Stable sort by one column; falls back to rank (1 = most suspicious)."""
    if by not in df.columns:
        by = "rank" if "rank" in df.columns else df.columns[0]
        descending = False
    return df.sort_values(by, ascending=not descending, kind="stable", na_position="last")


def neighbours(ids: list[str], current: str | None) -> tuple[str | None, str | None]:
    """(previous, next) sample ids around `current` in the queue; when `current` is not in it,
    next is the head of the queue."""
    if not ids:
        return None, None
    try:
        i = ids.index(current) if current is not None else -1
    except ValueError:
        return None, ids[0]
    prev_id = ids[i - 1] if i > 0 else None
    next_id = ids[i + 1] if 0 <= i < len(ids) - 1 else (ids[0] if i < 0 else None)
    return prev_id, next_id


def next_after(ids: list[str], current: str | None, *, skip: set[str] = frozenset()) -> str | None:
    """The first id after `current` in the queue that is not in `skip` (wraps to the start once);
    None when every other face is skipped."""
    if not ids:
        return None
    start = ids.index(current) + 1 if current in ids else 0
    order = ids[start:] + ids[:start]
    for sid in order:
        if sid != current and sid not in skip:
            return sid
    return None


def bulk_candidates(scores: pd.DataFrame, decided_ids: set[str], *, top_k: int, min_score: float,
                    score_col: str = "suspicion") -> pd.DataFrame:
    """Of the top-K suspects (by rank) whose score is ≥ min_score, those where the model disagrees
    with the given label and no decision exists yet: exactly what 'accept in bulk' would change."""
    df = scores[scores[score_col] >= min_score]
    k = max(int(top_k), 0)
    df = df.nsmallest(k, "rank") if "rank" in df.columns else df.head(k)
    return df[(df["pred"] != df["label"]) & ~df["sample_id"].isin(decided_ids)]
