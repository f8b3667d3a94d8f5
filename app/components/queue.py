"""The review queue as pure functions over the scores DataFrame (no streamlit here)."""
from __future__ import annotations

import weakref
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
    issues: list[str] = field(default_factory=list)     # issue types (data_tools.issues.by_sample); empty = any
    only: set[str] | None = None     # the faces that have one of `issues` (set by the page from the issue bits)


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
    if latest is not None and len(latest) > len(out):          # thousands of decisions, a page of rows
        latest = latest[latest["sample_id"].astype(str).isin(set(out["sample_id"].astype(str)))]
    if latest is None or latest.empty:
        out["decision"] = ""
        return out
    lab = latest["new_label"].fillna("").astype(str)
    text = np.where(latest["action"].eq("relabel"), "relabel→" + lab, latest["action"].astype(str))
    m = dict(zip(latest["sample_id"].astype(str), text))
    out["decision"] = out["sample_id"].astype(str).map(m).fillna("")
    return out


def filter_queue(scores: pd.DataFrame, decided_ids: set[str] | None, f: QueueFilter) -> pd.DataFrame:
    """Rows of `scores` that pass the filter, sorted as asked (ties keep rank order). Read-only: treat
    `scores` and the result as read-only (a large frame's fast form is kept while the object lives)."""
    df, fast = _fast_form(scores)
    mask = None

    def narrow(m) -> None:
        nonlocal mask
        m = np.asarray(m, dtype=bool)
        mask = m if mask is None else mask & m

    if f.given:
        narrow(df["label"].isin(f.given))
    if f.predicted:
        narrow(df["pred"].isin(f.predicted))
    if f.score_range is not None and f.score_col in df.columns:
        lo, hi = f.score_range
        narrow(df[f.score_col].between(lo, hi))
    if f.disagree:
        narrow(_differs(df["pred"], df["label"]))
    if f.only is not None:
        narrow(_is_decided(df, fast, f.only))
    if f.status != "all":
        decided = _is_decided(df, fast, decided_ids or set())
        narrow(decided if f.status == "decided" else ~decided)
    if fast is not None:
        return _sorted_fast(df, fast, mask, f.sort_by, f.descending)
    out = df if mask is None else df[mask]
    return sort_queue(out, f.sort_by, descending=f.descending)


def sort_queue(df: pd.DataFrame, by: str, *, descending: bool = False) -> pd.DataFrame:
    """Stable sort by one column; falls back to rank (1 = most suspicious)."""
    if by not in df.columns:
        by = "rank" if "rank" in df.columns else df.columns[0]
        descending = False
    if not descending and df[by].is_monotonic_increasing:      # the rank order the fast form keeps
        return df
    return df.sort_values(by, ascending=not descending, kind="stable", na_position="last")


# -- the fast form of a large queue (issue 9, Scale: filters and sorting of 300k rows in <= 200 ms) -----
_FAST_MIN_ROWS = 10_000
_FAST: dict[int, tuple[weakref.ref, pd.DataFrame, dict]] = {}


def _fast_form(scores: pd.DataFrame) -> tuple[pd.DataFrame, dict | None]:
    """(frame, lookups) the filters are fast on: rows in rank order, sample_id a plain object column
    (pandas' arrow strings are several times slower to take and list), label and pred categoricals of
    one shared category list; `lookups` keeps the sample_id Index (its hash table answers the decided
    lookup), built the first time a status filter needs it. Made once per frame object of >= 10,000 rows
    (the Review page passes the same cached frame every rerun); small frames are returned as they are."""
    if len(scores) < _FAST_MIN_ROWS:
        return scores, None
    key, shape = id(scores), (len(scores), tuple(scores.columns))
    hit = _FAST.get(key)
    if hit is not None and hit[0]() is scores and hit[2]["shape"] == shape:
        return hit[1], hit[2]
    df = scores.copy()
    if "sample_id" in df.columns:
        df["sample_id"] = df["sample_id"].astype(object)
    if {"label", "pred"} <= set(df.columns):
        lab, pred = df["label"].astype("category"), df["pred"].astype("category")
        cats = lab.cat.categories.union(pred.cat.categories)
        df["label"], df["pred"] = lab.cat.set_categories(cats), pred.cat.set_categories(cats)
    if "rank" in df.columns and not df["rank"].is_monotonic_increasing:
        df = df.take(np.argsort(df["rank"].to_numpy(), kind="stable"))
    lookups: dict = {"shape": shape}
    _FAST[key] = (weakref.ref(scores, lambda _r, k=key: _FAST.pop(k, None)), df, lookups)
    return df, lookups


def _sorted_fast(df: pd.DataFrame, fast: dict, mask: np.ndarray | None, by: str, descending: bool) -> pd.DataFrame:
    """sort_queue on the fast form: the order of a numeric column is computed once (stable, missing
    values last, ties in rank order) and kept; a rerun only takes the rows that pass the filter."""
    if by not in df.columns:
        by, descending = ("rank" if "rank" in df.columns else df.columns[0]), False
    col = df[by]
    if (by == "rank" and not descending) or not pd.api.types.is_numeric_dtype(col) \
            or pd.api.types.is_bool_dtype(col):
        return sort_queue(df if mask is None else df[mask], by, descending=descending)
    key = ("order", by, descending)
    if key not in fast:
        v = col.to_numpy(dtype="float64", na_value=np.nan)
        fast[key] = np.lexsort((-v if descending else v, np.isnan(v)))   # stable: ties keep rank order
    order = fast[key]
    return df.take(order if mask is None else order[mask[order]])


def _differs(a: pd.Series, b: pd.Series) -> np.ndarray:
    """a != b elementwise (missing values differ from everything), on category codes when both share
    one category list."""
    if isinstance(a.dtype, pd.CategoricalDtype) and isinstance(b.dtype, pd.CategoricalDtype) \
            and a.cat.categories.equals(b.cat.categories):
        ca, cb = a.cat.codes.to_numpy(), b.cat.codes.to_numpy()
        return (ca != cb) | (ca < 0)
    return np.asarray(a != b, dtype=bool)


def _is_decided(df: pd.DataFrame, fast: dict | None, decided_ids: set[str]) -> np.ndarray:
    """Which rows' sample_id is in `decided_ids` (any set of ids: the decided ones, the issue filter's)."""
    if fast is not None and "sid" not in fast:
        sid = pd.Index(df["sample_id"].to_numpy())
        fast["sid"] = sid if sid.is_unique else None
    sid_index = fast.get("sid") if fast is not None else None
    if sid_index is None:
        return df["sample_id"].isin(decided_ids).to_numpy()
    out = np.zeros(len(df), dtype=bool)
    pos = sid_index.get_indexer(list(decided_ids)) if decided_ids else np.zeros(0, dtype=np.intp)
    out[pos[pos >= 0]] = True
    return out


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
