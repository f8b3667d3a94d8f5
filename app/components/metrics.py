"""How right the reviewer's decisions are against a known truth (Insights page). Every other number
of a run (detection, the noise mask, confusion, the noise transition) is in eac_core.metrics."""
from __future__ import annotations

import numpy as np
import pandas as pd

from eac_core.metrics import noise_mask


def reviewer_accuracy(latest: pd.DataFrame, scores: pd.DataFrame, truth: str) -> pd.DataFrame:
    """Per decision action: how many decisions, how many right against the known truth.
    keep is right when the given label was true; relabel when the new label is the truth;
    remove when the given label was wrong; unsure is not scored."""
    cols = ["action", "decisions", "correct", "accuracy"]
    if latest is None or latest.empty:
        return pd.DataFrame(columns=cols)
    t = scores[["sample_id", "label", truth]].merge(latest[["sample_id", "action", "new_label"]], on="sample_id")
    noisy = pd.Series(noise_mask(t, truth), index=t.index)
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
