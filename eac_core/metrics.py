"""How well a ranking finds wrong labels, and the label-noise numbers of a run. The one home of the
detection metrics (AUROC, average precision, precision@k), the noise mask, the per-signal table,
confusion matrices and the estimated noise transition; the benchmarks, the tests and the app's
Insights page all call these, so they report the same figures for one run.

The truth rule: a training label is known to be wrong when it differs from the known clean label,
which is `true_label` where every row has one (the demo, RAF-DB's noisy lists), else `source_label`
(the label before `data_tools noise` changed it) where every row has one. Otherwise the truth is
unknown and nothing is scored. `true_label` goes first because it is the clean label even where noise
was injected on top of an already noisy dataset, where `source_label` is only the label before that.

Score convention: a higher suspicion means more likely mislabeled (eac_core.scores)."""
from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd

from eac_core.probabilities import label_probabilities, present_classes
from eac_core.scores import CANDIDATES

TRUTH_COLUMNS = ("true_label", "source_label")
PRECISION_KS = (10, 50, 100, 200, 500)   # the k of the precision@k table (plus k = number of wrong labels)


# -- the truth -------------------------------------------------------------------------------------
def truth_column(scores: pd.DataFrame) -> str | None:
    """The column holding the known clean label (TRUTH_COLUMNS in order, filled on every row), or None."""
    for c in TRUTH_COLUMNS:
        if c in scores.columns and scores[c].astype(str).str.len().gt(0).all():
            return c
    return None


def noise_mask(scores: pd.DataFrame, truth: str | None = None) -> np.ndarray | None:
    """label != the known clean label, per row (None when the truth is unknown). `truth` names the
    column; by default truth_column's."""
    truth = truth or truth_column(scores)
    if truth is None:
        return None
    return (scores["label"].astype(str) != scores[truth].astype(str)).to_numpy()


# -- detection -------------------------------------------------------------------------------------
def _finite(suspicion) -> np.ndarray:
    """Finite scores that keep the order, missing ones lowest (scikit-learn refuses NaN and infinity)."""
    return np.nan_to_num(np.asarray(suspicion, dtype="float64"), nan=-np.finfo(np.float64).max,
                         posinf=1e300, neginf=-1e300)


def precision_at_k(suspicion, is_noisy, ks: Iterable[int]) -> pd.DataFrame:
    """For each k: the share of the k most suspicious samples that are noisy (precision) and the share
    of all noisy samples among them (recall). Ties keep the sample order."""
    y = np.asarray(is_noisy, dtype=bool)
    order = np.argsort(-_finite(suspicion), kind="stable")
    ks = [int(k) for k in ks]
    hits = [int(y[order[:k]].sum()) for k in ks]
    n_noisy = int(y.sum())
    return pd.DataFrame({"k": ks, "precision": [h / k if k else float("nan") for h, k in zip(hits, ks)],
                         "recall": [h / n_noisy if n_noisy else float("nan") for h in hits]})


def detection_metrics(suspicion, is_noisy) -> dict[str, float]:
    """AUROC, average precision and precision@k (k = number of noisy samples) of a ranking."""
    from sklearn.metrics import average_precision_score, roc_auc_score
    y = np.asarray(is_noisy, dtype=bool)
    s = _finite(suspicion)
    k = int(y.sum())
    if k == 0 or k == len(y):
        return {"auroc": float("nan"), "ap": float("nan"), "p_at_k": float("nan"), "k": k}
    return {"auroc": float(roc_auc_score(y, s)), "ap": float(average_precision_score(y, s)),
            "p_at_k": float(precision_at_k(s, y, [k])["precision"].iloc[0]), "k": k}


def detection_report(scores: pd.DataFrame, truth: str | None = None, col: str = "suspicion") -> dict:
    """Everything the Insights page shows about finding the wrong labels with `col`: n, n_noisy,
    base_rate; then (unless every label or none is wrong: degenerate=True) the ROC and PR curves (fpr,
    tpr, precision, recall), auc, ap and the precision@k table. ValueError when the truth is unknown."""
    from sklearn.metrics import precision_recall_curve, roc_curve
    y = noise_mask(scores, truth)
    if y is None:
        raise ValueError("the true labels are not known for these scores")
    s = _finite(scores[col].to_numpy(dtype=float))
    out: dict = {"n": int(len(y)), "n_noisy": int(y.sum()), "base_rate": float(y.mean()) if len(y) else 0.0}
    if y.all() or not y.any():
        out["degenerate"] = True
        return out
    m = detection_metrics(s, y)
    fpr, tpr, _ = roc_curve(y, s)
    prec, rec, _ = precision_recall_curve(y, s)
    ks = sorted({k for k in (*PRECISION_KS, int(y.sum())) if 0 < k <= len(y)})
    out.update(fpr=fpr, tpr=tpr, precision=prec, recall=rec, auc=m["auroc"], ap=m["ap"],
               precision_at_k=precision_at_k(s, y, ks))
    return out


def signal_table(scores: pd.DataFrame, is_noisy) -> pd.DataFrame:
    """Detection metrics of every candidate signal (eac_core.scores.CANDIDATES) and of `suspicion`
    against a known noise mask, best AUROC first; signals missing on more than half the rows are left out."""
    rows = []
    for name, fn in CANDIDATES.items():
        v = fn(scores)
        if np.isfinite(v).sum() < len(v) // 2:
            continue
        rows.append({"signal": name, **detection_metrics(v, is_noisy)})
    rows.append({"signal": "suspicion", **detection_metrics(scores["suspicion"].to_numpy(), is_noisy)})
    return pd.DataFrame(rows).sort_values("auroc", ascending=False, ignore_index=True)


# -- confusion and the noise transition ------------------------------------------------------------
def confusion(given: Iterable, pred: Iterable, classes: list[str]) -> np.ndarray:
    """(K, K) counts: rows = given label, columns = predicted label, in `classes` order; pairs with a
    label outside `classes` are not counted."""
    from sklearn.metrics import confusion_matrix
    g, p = np.asarray(list(given), dtype=object), np.asarray(list(pred), dtype=object)
    known = np.isin(g, classes) & np.isin(p, classes)
    if not known.any():
        return np.zeros((len(classes), len(classes)), dtype=int)
    return confusion_matrix(g[known], p[known], labels=list(classes))


def top_pairs(m: np.ndarray, rows: list[str], cols: list[str], n: int = 20) -> pd.DataFrame:
    """The `n` largest off-diagonal cells of a (K, K) matrix (confusion counts, a noise joint), largest
    first, ties in row-major order; zero cells left out. Columns: row, col, value, row_share (value
    over its row's sum), so a 200-class matrix reads as its most confused pairs."""
    m = np.asarray(m, dtype="float64")
    off = m.copy()
    np.fill_diagonal(off, 0.0)
    flat = off.ravel()
    order = np.argsort(-flat, kind="stable")[:n]
    order = order[flat[order] > 0]
    r, c = np.divmod(order, m.shape[1])
    row_sum = m.sum(1)
    share = np.divide(m[r, c], row_sum[r], out=np.full(len(r), np.nan), where=row_sum[r] > 0)
    return pd.DataFrame({"row": [rows[i] for i in r], "col": [cols[j] for j in c], "value": m[r, c],
                         "row_share": share})


def noise_joint(scores: pd.DataFrame, classes: list[str]) -> np.ndarray:
    """Estimated joint distribution p(given = row, true = column) (K, K) via cleanlab's confident joint,
    from the same probabilities as the share of wrong labels (eac_core.probabilities: out-of-sample when
    the run has them). Raises ValueError when the probabilities or labels do not allow an estimate."""
    from cleanlab.count import estimate_joint
    labels, probs, _ = label_probabilities(scores, classes)
    y, q = present_classes(labels, probs)       # estimated over the classes that have faces, then embedded
    present = np.unique(labels)
    joint = np.zeros((len(classes), len(classes)))
    joint[np.ix_(present, present)] = estimate_joint(labels=y, pred_probs=q)
    return joint


def noise_transition(joint: np.ndarray) -> np.ndarray:
    """p(given = row | true = column) from the joint: each column sums to 1 (0 where a class is absent)."""
    col = joint.sum(axis=0, keepdims=True)
    return np.divide(joint, col, out=np.zeros_like(joint), where=col > 0)
