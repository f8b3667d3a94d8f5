"""Numbers behind the Insights page, as pure functions (no streamlit)."""
from __future__ import annotations

import numpy as np
import pandas as pd


def prob_matrix(scores: pd.DataFrame, classes: list[str]) -> np.ndarray | None:
    """(N, K) predicted probabilities from the prob_<class> columns, or None when any is missing."""
    cols = [f"prob_{c}" for c in classes]
    if not all(c in scores.columns for c in cols):
        return None
    p = scores[cols].to_numpy(dtype=float)
    s = p.sum(axis=1, keepdims=True)
    return np.divide(p, s, out=np.full_like(p, 1.0 / len(classes)), where=s > 0)


def confusion(given: pd.Series, pred: pd.Series, classes: list[str]) -> np.ndarray:
    """(K, K) counts: rows = given label, columns = predicted label."""
    idx = {c: i for i, c in enumerate(classes)}
    m = np.zeros((len(classes), len(classes)), dtype=int)
    for g, p in zip(given, pred):
        if g in idx and p in idx:
            m[idx[g], idx[p]] += 1
    return m


def noise_joint(scores: pd.DataFrame, classes: list[str]) -> np.ndarray:
    """Estimated joint distribution p(given = row, true = column) (K, K) via cleanlab's confident joint.
    Raises ValueError when the probabilities or labels do not allow an estimate."""
    from cleanlab.count import estimate_joint
    probs = prob_matrix(scores, classes)
    if probs is None:
        raise ValueError("the scores have no prob_<class> columns")
    idx = {c: i for i, c in enumerate(classes)}
    labels = scores["label"].map(idx)
    if labels.isna().any():
        raise ValueError("some given labels are not in the class list")
    labels = labels.to_numpy(dtype=int)
    present = np.unique(labels)
    if len(present) < 2:
        raise ValueError("need at least two classes with examples")
    # cleanlab wants every class 0..K-1 present; estimate over the present classes and embed.
    remap = {c: i for i, c in enumerate(present)}
    sub = probs[:, present]
    sub = sub / np.clip(sub.sum(axis=1, keepdims=True), 1e-12, None)
    joint_sub = estimate_joint(labels=np.array([remap[l] for l in labels]), pred_probs=sub)
    joint = np.zeros((len(classes), len(classes)))
    joint[np.ix_(present, present)] = joint_sub
    return joint


def noise_transition(joint: np.ndarray) -> np.ndarray:
    """p(given = row | true = column) from the joint: each column sums to 1 (0 where a class is absent)."""
    col = joint.sum(axis=0, keepdims=True)
    return np.divide(joint, col, out=np.zeros_like(joint), where=col > 0)


def truth_column(scores: pd.DataFrame) -> str | None:
    """The column holding the known clean label, if any ('true_label', else 'source_label')."""
    for c in ("true_label", "source_label"):
        if c in scores.columns and scores[c].astype(str).str.len().gt(0).all():
            return c
    return None


def detection(scores: pd.DataFrame, truth: str, col: str = "suspicion") -> dict:
    """ROC/PR curves and precision@k of `col` for finding rows whose given label differs from `truth`."""
    from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score, roc_curve
    y = (scores["label"].astype(str) != scores[truth].astype(str)).to_numpy()
    s = scores[col].to_numpy(dtype=float)
    out: dict = {"n": int(len(y)), "n_noisy": int(y.sum()), "base_rate": float(y.mean()) if len(y) else 0.0}
    if y.all() or not y.any():
        out["degenerate"] = True
        return out
    fpr, tpr, _ = roc_curve(y, s)
    prec, rec, _ = precision_recall_curve(y, s)
    out.update(fpr=fpr, tpr=tpr, precision=prec, recall=rec, auc=float(roc_auc_score(y, s)),
               ap=float(average_precision_score(y, s)))
    order = np.argsort(-s, kind="stable")
    ks = sorted({k for k in (10, 50, 100, 200, 500, int(y.sum())) if 0 < k <= len(y)})
    out["precision_at_k"] = pd.DataFrame({"k": ks, "precision": [float(y[order[:k]].mean()) for k in ks],
                                          "recall": [float(y[order[:k]].sum() / y.sum()) for k in ks]})
    return out


def reviewer_accuracy(latest: pd.DataFrame, scores: pd.DataFrame, truth: str) -> pd.DataFrame:
    """Per decision action: how many decisions, how many right against the known truth.
    keep is right when the given label was true; relabel when the new label is the truth;
    remove when the given label was wrong; unsure is not scored."""
    cols = ["action", "decisions", "correct", "accuracy"]
    if latest is None or latest.empty:
        return pd.DataFrame(columns=cols)
    t = scores[["sample_id", "label", truth]].merge(latest[["sample_id", "action", "new_label"]], on="sample_id")
    noisy = t["label"].astype(str) != t[truth].astype(str)
    right = pd.Series(np.nan, index=t.index)
    right[t["action"] == "keep"] = (~noisy)[t["action"] == "keep"].astype(float)
    right[t["action"] == "remove"] = noisy[t["action"] == "remove"].astype(float)
    rel = t["action"] == "relabel"
    right[rel] = (t.loc[rel, "new_label"].astype(str) == t.loc[rel, truth].astype(str)).astype(float)
    t["right"] = right
    rows = []
    for action, g in t.groupby("action", sort=True):
        scored = g["right"].dropna()
        rows.append({"action": action, "decisions": int(len(g)), "correct": int(scored.sum()),
                     "accuracy": float(scored.mean()) if len(scored) else np.nan})
    scored = t["right"].dropna()
    rows.append({"action": "all scored", "decisions": int(len(scored)), "correct": int(scored.sum()),
                 "accuracy": float(scored.mean()) if len(scored) else np.nan})
    return pd.DataFrame(rows, columns=cols)
