"""Per-sample signals -> suspicion and rank, and how well a ranking finds known label noise.

Score convention (held everywhere): every `*suspicion*`-oriented column is HIGHER = MORE LIKELY
MISLABELED; `rank` 1 is the most suspicious sample. Raw signals keep their natural orientation
(`margin`, `aum`: higher = cleaner; `loss`: higher = more suspicious)."""
from __future__ import annotations

import warnings
from typing import Callable

import numpy as np
import pandas as pd

from data_tools.rundir import PROB, prob_columns
from eac_core.probabilities import normalize
from eac_core.issue_scores import issue_columns

# The default ranking, chosen on real AND injected noise (bench/bench_signals.py, bench/README.md): the rank
# average of the all-epoch AUM, the final clean-view loss and the kNN label disagreement in the learned
# embedding; never more than 0.011 AP below the best candidate on fer2013_dev, the demo and CK+48.
DEFAULT_SUSPICION = "fused_aum_loss_knn"


def _rank01(x: np.ndarray) -> np.ndarray:
    """Ranks scaled to 0..1 (ties averaged, NaN -> 0.5)."""
    s = pd.Series(x, dtype="float64")
    r = s.rank(method="average", pct=True).to_numpy()
    return np.where(np.isnan(r), 0.5, r)


def _col(t: pd.DataFrame, name: str) -> np.ndarray:
    return t[name].to_numpy(dtype="float64") if name in t.columns else np.full(len(t), np.nan)


# name -> function(table) -> suspicion-oriented array. Columns used: see build_scores.
CANDIDATES: dict[str, Callable[[pd.DataFrame], np.ndarray]] = {
    "loss": lambda t: _col(t, "loss"),
    "one_minus_p_label": lambda t: 1.0 - _col(t, "p_label"),
    "neg_margin": lambda t: -_col(t, "margin"),
    "pred_differs": lambda t: (_col(t, "pred_index") != _col(t, "label_index")).astype("float64") - 1e-3 * _col(t, "p_label"),
    "neg_aum": lambda t: -_col(t, "aum"),
    "neg_aum_late": lambda t: -_col(t, "aum_late"),
    "neg_aum_unerased": lambda t: -_col(t, "aum_unerased"),
    "neg_aum_clean": lambda t: -_col(t, "aum_clean"),
    "mean_train_loss": lambda t: _col(t, "mean_train_loss"),
    "cleanlab_self_confidence": lambda t: _col(t, "cleanlab_self_confidence"),
    "cleanlab_normalized_margin": lambda t: _col(t, "cleanlab_normalized_margin"),
    "flip_consistency": lambda t: _col(t, "flip_consistency"),
    "flip_consistency_given": lambda t: _col(t, "flip_consistency_given"),
    "flip_disagree": lambda t: 1.0 - _col(t, "flip_agree"),
    "erase_sensitivity": lambda t: _col(t, "erase_sensitivity"),
    "forgetting_events": lambda t: _col(t, "forgetting_events"),
    "knn_disagree": lambda t: 1.0 - _col(t, "knn_p_label"),
    "fused_aum_knn": lambda t: _rank01(-_col(t, "aum")) + _rank01(1.0 - _col(t, "knn_p_label")),
    "fused_aum_loss_knn": lambda t: (_rank01(-_col(t, "aum")) + _rank01(_col(t, "loss"))
                                     + _rank01(1.0 - _col(t, "knn_p_label"))),
    "fused_aum_loss": lambda t: _rank01(-_col(t, "aum")) + _rank01(_col(t, "loss")),
    "fused_aum_late_loss": lambda t: _rank01(-_col(t, "aum_late")) + _rank01(_col(t, "loss")),
    "fused_aum_selfconf": lambda t: _rank01(-_col(t, "aum")) + _rank01(_col(t, "cleanlab_self_confidence")),
    "fused_aum_clean_loss": lambda t: _rank01(-_col(t, "aum_clean")) + _rank01(_col(t, "loss")),
}


def cleanlab_suspicion(labels: np.ndarray, probs: np.ndarray, method: str) -> np.ndarray:
    """1 - cleanlab.rank.get_label_quality_scores(labels, probs, method) (higher = more suspicious);
    `probs` (N, K) is normalised here (eac_core.probabilities.normalize), so callers pass it as they have it."""
    from cleanlab.rank import get_label_quality_scores
    return 1.0 - get_label_quality_scores(np.asarray(labels, dtype=int), normalize(probs), method=method)


def knn_k(n: int, num_classes: int) -> int:
    """The kNN term's neighbour count: 4 % of the average class size, between 3 and 25. Measured with the
    default suspicion (bench/bench_mirror_scoring.py, bench/README.md): the best k grows with the data, from
    3-5 on CK+48 (780 faces) over 15-25 on the demo (3,000) to 25-50 on fer2013_dev (30,348); this rule gives
    4, 17 and 25."""
    return int(np.clip(round(n / max(num_classes, 1) / 25), 3, 25))


def knn_label_agreement(features: np.ndarray, labels: np.ndarray, k: int | None = None) -> np.ndarray:
    """Share of each sample's k nearest neighbours (cosine, in the learned embedding; itself excluded)
    whose given label equals its own: low = the neighbourhood disagrees with the label (Datalab-style).
    k: default `knn_k` of the number of samples and of distinct labels."""
    from sklearn.neighbors import NearestNeighbors
    f = np.nan_to_num(np.asarray(features, dtype=np.float32))
    n = len(f)
    if n < 2:
        return np.full(n, np.nan)
    f /= np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-12)
    lab = np.asarray(labels)
    k = min(knn_k(n, len(np.unique(lab))) if k is None else k, n - 1)
    _, nb = NearestNeighbors(n_neighbors=k + 1).fit(f).kneighbors(f)
    nb = np.where(nb[:, :1] == np.arange(n)[:, None], nb[:, 1:], nb[:, :k])   # drop the sample itself
    return (lab[nb] == lab[:, None]).mean(1)


def dynamics(history_margin: np.ndarray | None, history_loss: np.ndarray | None = None,
             history_erased: np.ndarray | None = None, history_pred: np.ndarray | None = None,
             labels: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Training-dynamics aggregates from (E, N) per-epoch arrays: aum (mean margin over all epochs),
    aum_late (over the later half), aum_unerased (over epochs where the view was not erased),
    mean_train_loss, forgetting_events (correct -> wrong transitions of the prediction)."""
    out: dict[str, np.ndarray] = {}
    if history_margin is None or len(history_margin) == 0:
        return out
    m = np.asarray(history_margin, dtype="float64")
    e = m.shape[0]
    out["aum"] = np.nanmean(m, 0)
    out["aum_late"] = np.nanmean(m[e // 2:], 0)
    if history_erased is not None:
        clean = np.where(np.asarray(history_erased) > 0.5, np.nan, m)
        with warnings.catch_warnings():                  # all-erased samples: fall back to aum
            warnings.simplefilter("ignore", RuntimeWarning)
            ae = np.nanmean(clean, 0)
        out["aum_unerased"] = np.where(np.isnan(ae), out["aum"], ae)
    if history_loss is not None:
        out["mean_train_loss"] = np.nanmean(np.asarray(history_loss, dtype="float64"), 0)
    if history_pred is not None and labels is not None:
        correct = np.asarray(history_pred) == np.asarray(labels)[None, :]
        out["forgetting_events"] = (correct[:-1] & ~correct[1:]).sum(0).astype("float64")
    return out


def build_scores(frame: pd.DataFrame, classes: list[str], labels: np.ndarray, signals: dict[str, np.ndarray],
                 extra: dict[str, np.ndarray] | None = None, *, provisional: bool,
                 suspicion: str = DEFAULT_SUSPICION) -> pd.DataFrame:
    """The scores.parquet table: one row per training sample with the contract columns.

    `frame`: the train split's manifest rows; `labels` (N,) int; `signals`: probs (N, K), loss, margin,
    pred, p_label, flip_consistency, flip_agree and optional extras (flip_consistency_given,
    erase_sensitivity); `extra`: dynamics (aum, ...) and anything else to keep as columns."""
    probs = np.asarray(signals["probs"], dtype="float64")
    n = len(frame)
    pred = np.nan_to_num(np.asarray(signals["pred"]), nan=-1).astype(int)
    t = pd.DataFrame({"sample_id": frame["sample_id"].astype(str).to_numpy()})
    t["label"] = frame["label"].to_numpy()
    t["label_index"] = labels.astype(int)
    t["pred"] = [classes[p] if 0 <= p < len(classes) else "" for p in pred]
    t["pred_index"] = pred
    t["p_label"] = np.asarray(signals["p_label"], dtype="float32")
    t["p_pred"] = probs.max(1).astype("float32") if probs.size else np.float32(np.nan)
    for k in ("margin", "loss", "flip_consistency", "flip_agree", "flip_consistency_given", "erase_sensitivity"):
        t[k] = np.asarray(signals[k], dtype="float32") if k in signals else np.full(n, np.nan, "float32")
    for k, v in (extra or {}).items():
        t[k] = np.asarray(v, dtype="float32")
    finite = np.isfinite(probs).all(1)
    for method in ("self_confidence", "normalized_margin"):
        col = np.full(n, np.nan)
        if finite.any():
            col[finite] = cleanlab_suspicion(labels[finite], probs[finite], method)
        t[f"cleanlab_{method}"] = col.astype("float32")
    sus = np.column_stack([CANDIDATES[name](t) for name in CANDIDATES]) if n else np.zeros((0, len(CANDIDATES)))
    for j, name in enumerate(CANDIDATES):
        if name.startswith("fused_"):
            t[name] = sus[:, j].astype("float32")
    for k, v in issue_columns(signals.get("features"), probs, classes, labels).items():   # outlier, ambiguity
        t[k] = v
    t["pred"] = t["pred"].astype(str)
    t["suspicion"] = CANDIDATES[suspicion](t).astype("float64")
    t["suspicion_signal"] = suspicion
    t["rank"] = rank_of(t["suspicion"].to_numpy())
    # one block for the K prob_<class> columns: inserting 200 columns one by one fragments the frame
    tail = {col: probs[:, k].astype("float32") for k, col in enumerate(prob_columns(classes, PROB))}
    for col in ("split", "true_label", "source_label", "group"):
        if col in frame.columns:
            tail[col] = frame[col].astype(str).to_numpy()
    tail["provisional"] = np.full(n, bool(provisional))
    return pd.concat([t, pd.DataFrame(tail, index=t.index)], axis=1)


def rank_of(suspicion: np.ndarray) -> np.ndarray:
    """1 = most suspicious; ties by sample order (scipy's ordinal ranks); NaN last."""
    from scipy.stats import rankdata
    s = np.where(np.isnan(suspicion), -np.inf, np.asarray(suspicion, dtype=np.float64))
    return rankdata(-s, method="ordinal").astype(np.int64)

