"""The model-level issues of scores.parquet: `outlier` (an image unlike the rest of the dataset in the
learned embedding) and `ambiguity` (a face whose probability spreads over two expressions), with
`ambiguous_between` (the two candidates a reviewer should choose from, or mark unsure).

Conventions (cleanlab's): arrays in, a score per sample out, higher = more of an issue.
- outlier: the mean Euclidean distance to the k nearest other samples of the L2-normalised pooled
  features (scikit-learn NearestNeighbors, exact), k = OUTLIER_K = 50, times max(1, d / the 90 %
  quantile of all samples' d), d being the sample's mean distance to its OUTLIER_LOCAL_K = 10 nearest
  (the isolation lift). Outliers come in clusters (a few dozen blank frames, scanned text pages, one
  cartoon set), and a cluster no larger than k has its own members for neighbours and looks typical:
  with k = 10 (cleanlab Datalab's default) 20 planted images of each kind among CK+48's 981 faces
  scored AUROC 0.71 (Datalab 0.72), with k = 50 0.98. But at k = 50 the faces of a small set of tight
  subjects (JAFFE: ten women, ~21 photos each) reach other subjects, and a stray non-face among them
  looks no farther than the photos of a subject lying far from the others (AUROC 0.996 against
  Datalab's 1.0 at 5 a kind). The lift raises a sample whose 10 nearest are farther than those of 90 %
  of the samples, which a cluster's members, near each other, never are: 1.0 on JAFFE at 5 a kind on
  every seed, level with Datalab, and ahead of it on the means of the other planted sets. It replaced
  LOF's local density ratio (to the power 1/4), which tied less often on JAFFE and, on fer2013_dev's
  faces that FER+'s annotators called "unknown" or "not a face", cost AUROC 0.005-0.008 against the
  k = 50 distance alone (the lift costs nothing there). bench/bench_issue_types.py sections 3 and 8,
  bench/README.md. (cleanlab's OutOfDistribution computes the k-distance part: on 30,000 x 128 random
  features at k = 50 it took 57 s against 6.5 s for this one, one run each on a loaded machine, and it
  prints to stdout: it is not used here.)
- ambiguity: 1 - (q1 - q2), the top two of q = (LABEL_PRIOR * p + onehot(given label)) / (LABEL_PRIOR + 1)
  (1: a tie, 0: certain). q is the expected share of annotators per class when the model's probabilities
  p (mirror-averaged) are a Dirichlet prior worth LABEL_PRIOR votes and the given label is one observed
  vote: a face is ambiguous where the model splits between two expressions, or where the model and its
  annotator lean to different ones without either being sure. On fer2013_dev's 1,790 faces with 10 FER+
  votes (bench/bench_issue_types.py section 2) its Spearman with the share of annotators off the majority
  is 0.472, against 0.441 for 1 - p(label) (bootstrap CI of the difference +0.007 .. +0.056) and 0.446
  for 1 - (p1 - p2) of p alone (the score before); LABEL_PRIOR = 5 was chosen on one half of those rows
  and confirmed on the other (and picked by each half alone).
"""
from __future__ import annotations

import numpy as np
from sklearn.neighbors import NearestNeighbors

OUTLIER_K = 50       # the neighbours of the outlier score: more than an outlier cluster's members
OUTLIER_LOCAL_K = 10  # the neighbours that tell an isolated row: its mean distance to them is d
OUTLIER_ISOLATED_Q = 0.9  # a row whose d exceeds this quantile of all rows' d is isolated
OUTLIER_ISOLATION = 1.0   # ... and its score is lifted by (d / that quantile) ** OUTLIER_ISOLATION
AMBIGUOUS = 0.8       # ambiguity over which ambiguous_between names the two candidates (q1 - q2 < 0.2)
LABEL_PRIOR = 5.0     # how many votes the model's probabilities are worth beside the given label's one


def outlier_score(features: np.ndarray, *, k: int = OUTLIER_K, local: int = OUTLIER_LOCAL_K,
                  isolation: float = OUTLIER_ISOLATION) -> np.ndarray:
    """(N,) mean distance of each L2-normalised row of `features` (N, C) to its k nearest other rows,
    times max(1, d / the OUTLIER_ISOLATED_Q quantile of all rows' d) ** isolation, d being a row's mean
    distance to its `local` nearest rows (isolation 0, local 0, or a quantile of 0, as when most rows
    have 10 identical copies: the mean distance alone); NaN for rows with non-finite features, or all
    NaN under 2 finite rows."""
    f = np.asarray(features, dtype=np.float32)
    out = np.full(len(f), np.nan, np.float32)
    ok = np.isfinite(f).all(1) if f.ndim == 2 else np.zeros(len(f), bool)
    n = int(ok.sum())
    if n < 2:
        return out
    x = f[ok] / np.maximum(np.linalg.norm(f[ok], axis=1, keepdims=True), 1e-12)
    dist, _ = NearestNeighbors(n_neighbors=min(max(k, local), n - 1) + 1).fit(x).kneighbors(x)
    dist = dist[:, 1:]                           # column 0 is the sample itself
    score = dist[:, :k].mean(1)
    if local > 0 and isolation:
        near = dist[:, :local].mean(1)
        ref = float(np.quantile(near, OUTLIER_ISOLATED_Q))
        if ref > 0:
            score = score * np.maximum(1.0, near / ref) ** isolation
    out[ok] = score
    return out


def vote_probs(probs: np.ndarray, labels: np.ndarray | None = None, *, prior: float = LABEL_PRIOR) -> np.ndarray:
    """(N, K) q = (prior * p + onehot(label)) / (prior + 1): the probability rows `probs` (N, K) with each
    row's given label (N,) counted as one more vote; rows whose label is outside 0..K-1 (or `labels`
    None) keep p. Non-finite rows stay NaN."""
    p = np.asarray(probs, dtype=np.float64)
    if labels is None or p.ndim != 2 or not p.size:
        return p.copy()
    lab = np.asarray(labels)
    lab = np.where(np.isfinite(lab.astype(np.float64)), lab, -1).astype(np.int64)
    ok = (lab >= 0) & (lab < p.shape[1])
    q = p.copy()
    q[ok] *= prior
    q[np.flatnonzero(ok), lab[ok]] += 1.0
    q[ok] /= prior + 1.0
    return q


def ambiguity_score(probs: np.ndarray, labels: np.ndarray | None = None, *,
                    prior: float = LABEL_PRIOR) -> np.ndarray:
    """(N,) 1 - (q1 - q2) of the two largest entries of `vote_probs(probs, labels)`: 1 when the two most
    likely classes tie; without `labels`, 1 - (p1 - p2) of `probs` itself. NaN for non-finite rows."""
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] < 2:
        return np.zeros(len(p), np.float32)
    q = vote_probs(p, labels, prior=prior)
    top = -np.sort(-np.nan_to_num(q, nan=-1.0), axis=1)[:, :2]
    out = 1.0 - (top[:, 0] - top[:, 1])
    out[~np.isfinite(p).all(1)] = np.nan
    return out.astype(np.float32)


def ambiguous_between(probs: np.ndarray, classes: list[str], labels: np.ndarray | None = None, *,
                      threshold: float = AMBIGUOUS, prior: float = LABEL_PRIOR) -> np.ndarray:
    """(N,) "a/b" (the two most likely classes of `vote_probs`, most likely first; ties by class order)
    where ambiguity_score > threshold, else ""."""
    p = np.asarray(probs, dtype=np.float64)
    out = np.full(len(p), "", dtype=object)
    if p.ndim != 2 or p.shape[1] < 2 or not len(p):
        return out
    q = np.nan_to_num(vote_probs(p, labels, prior=prior), nan=-1.0)
    order = np.argsort(-q, axis=1, kind="stable")[:, :2]
    amb = np.nan_to_num(ambiguity_score(p, labels, prior=prior), nan=0.0) > threshold
    names = np.asarray(classes, dtype=object)
    out[amb] = names[order[amb, 0]] + "/" + names[order[amb, 1]]
    return out


def issue_columns(features: np.ndarray | None, probs: np.ndarray, classes: list[str],
                  labels: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The scores.parquet columns of this module: outlier (NaN without features), ambiguity and
    ambiguous_between (with each row's given label index in `labels` as one vote)."""
    n = len(probs)
    return {"outlier": outlier_score(features) if features is not None and len(features) == n
            else np.full(n, np.nan, np.float32),
            "ambiguity": ambiguity_score(probs, labels),
            "ambiguous_between": ambiguous_between(probs, classes, labels)}
