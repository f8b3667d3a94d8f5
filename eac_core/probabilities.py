"""A run's class probabilities, one home: `label_probabilities` is the one function that turns the
scores' `prob_<class>` columns (or `oos_prob_<class>`, preferred when present) into an (N, K) matrix,
so the Insights noise matrix (`metrics.noise_joint`), the share of wrong labels (`noise_share`) and the
benchmarks read the same probabilities. `normalize` makes rows sum to 1 (cleanlab's input) and
`present_classes` keeps the classes that have faces (cleanlab wants every class 0..K-1 present).

Which probabilities: the out-of-sample ones (`--folds K`, or a run made by eac_core.import_predictions)
when the run has them, else the final clean-view pass's (in-sample: each face was trained on, so its
given label is favoured)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from data_tools.rundir import OOS_PROB, PROB, prob_columns

SOURCES = ((OOS_PROB, "out-of-sample"), (PROB, "in-sample"))


def normalize(p: np.ndarray) -> np.ndarray:
    """(N, K) float64 with every row summing to 1; values clipped to >= 1e-12 first (an all-zero row
    becomes uniform), as cleanlab needs strictly positive probabilities."""
    q = np.clip(np.asarray(p, dtype=np.float64), 1e-12, None)
    return q / q.sum(axis=1, keepdims=True)


def label_probabilities(scores: pd.DataFrame, classes: list[str]) -> tuple[np.ndarray, np.ndarray, str]:
    """(given label indices (N,), probabilities (N, K) with rows summing to 1, "out-of-sample" or
    "in-sample"). ValueError when neither probability set is complete and finite, or a label is not
    one of `classes`."""
    for prefix, source in SOURCES:
        cols = prob_columns(classes, prefix)
        if all(c in scores.columns for c in cols):
            p = scores[cols].to_numpy(dtype="float64")
            break
    else:
        raise ValueError(f"the scores have no {PROB}<class> (or {OOS_PROB}<class>) column for every class")
    if not np.isfinite(p).all():
        raise ValueError("some probabilities are missing or not finite")
    idx = {c: i for i, c in enumerate(classes)}
    labels = scores["label"].astype(str).map(idx)
    if labels.isna().any():
        raise ValueError(f"label '{scores['label'].astype(str)[labels.isna()].iloc[0]}' is not one of the classes")
    return labels.to_numpy(dtype=int), normalize(p), source


def present_classes(labels: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(labels renumbered over the classes that have faces, those classes' columns renormalised).
    ValueError with fewer than two such classes."""
    present = np.unique(labels)
    if len(present) < 2:
        raise ValueError("need faces of at least two classes")
    remap = np.full(p.shape[1], -1)
    remap[present] = np.arange(len(present))
    return remap[labels], normalize(p[:, present])
