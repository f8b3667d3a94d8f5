"""The model-level issues of scores.parquet: `outlier` (an image unlike the rest of the dataset in the
learned embedding) and `ambiguity` (a face whose probability spreads over two expressions), with
`ambiguous_between` (the two candidates a reviewer should choose from, or mark unsure).

Conventions (cleanlab's): arrays in, a score per sample out, higher = more of an issue.
- outlier: the mean Euclidean distance to the k nearest other samples of the L2-normalised pooled
  features (scikit-learn NearestNeighbors, exact), k = OUTLIER_K. cleanlab's Datalab outlier score
  on the same features is its exp(-distance) transform with its own k; bench/bench_issue_types.py
  compares them on planted non-faces.
- ambiguity: 1 - (p1 - p2), the top two mirror-averaged probabilities (1: a tie, 0: certain).
"""
from __future__ import annotations

import numpy as np
from sklearn.neighbors import NearestNeighbors

OUTLIER_K = 10
AMBIGUOUS = 0.8       # ambiguity over which ambiguous_between names the two candidates (p1 - p2 < 0.2)


def outlier_score(features: np.ndarray, *, k: int = OUTLIER_K) -> np.ndarray:
    """(N,) mean distance of each L2-normalised row of `features` (N, C) to its k nearest other rows;
    NaN for rows with non-finite features, or all NaN under 2 finite rows."""
    f = np.asarray(features, dtype=np.float32)
    out = np.full(len(f), np.nan, np.float32)
    ok = np.isfinite(f).all(1) if f.ndim == 2 else np.zeros(len(f), bool)
    n = int(ok.sum())
    if n < 2:
        return out
    x = f[ok] / np.maximum(np.linalg.norm(f[ok], axis=1, keepdims=True), 1e-12)
    kk = min(k, n - 1)
    dist, _ = NearestNeighbors(n_neighbors=kk + 1).fit(x).kneighbors(x)
    out[ok] = dist[:, 1:].mean(1)     # column 0 is the sample itself
    return out


def ambiguity_score(probs: np.ndarray) -> np.ndarray:
    """(N,) 1 - (p1 - p2) of probability rows (N, K): 1 when the two most probable classes tie."""
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] < 2:
        return np.zeros(len(p), np.float32)
    top = -np.sort(-p, axis=1)[:, :2]
    return (1.0 - (top[:, 0] - top[:, 1])).astype(np.float32)


def ambiguous_between(probs: np.ndarray, classes: list[str], *, threshold: float = AMBIGUOUS) -> np.ndarray:
    """(N,) "a/b" (the two most probable classes, most probable first) where ambiguity > threshold, else ""."""
    p = np.nan_to_num(np.asarray(probs, dtype=np.float64), nan=-1.0)
    out = np.full(len(p), "", dtype=object)
    if p.ndim != 2 or p.shape[1] < 2 or not len(p):
        return out
    order = np.argsort(-p, axis=1, kind="stable")[:, :2]
    amb = ambiguity_score(p) > threshold
    names = np.asarray(classes, dtype=object)
    out[amb] = names[order[amb, 0]] + "/" + names[order[amb, 1]]
    return out


def issue_columns(features: np.ndarray | None, probs: np.ndarray, classes: list[str]) -> dict[str, np.ndarray]:
    """The scores.parquet columns of this module: outlier (NaN without features), ambiguity,
    ambiguous_between."""
    n = len(probs)
    return {"outlier": outlier_score(features) if features is not None and len(features) == n
            else np.full(n, np.nan, np.float32),
            "ambiguity": ambiguity_score(probs),
            "ambiguous_between": ambiguous_between(probs, classes)}
