"""Two reviewers (issue 24): each reviewer's own current decision per face, read from the audit's
events (a reviewer's later decision replaces their earlier one; an undone decision does not count),
their agreement on the faces both decided (Cohen's kappa, scikit-learn) and the faces they disagree
on, for a third look. No streamlit: the Review page draws it."""
from __future__ import annotations

import pandas as pd


def decision_text(action: str, new_label) -> str:
    """One comparable value per decision: keep, remove, unsure, or relabel→<class>."""
    return f"relabel→{new_label}" if action == "relabel" else str(action)


def by_reviewer(events: pd.DataFrame) -> pd.DataFrame:
    """sample_id, reviewer, decision: each reviewer's current decision of each face they decided."""
    cols = ["sample_id", "reviewer", "decision"]
    if events is None or events.empty:
        return pd.DataFrame(columns=cols)
    ev = events.sort_values("id", kind="stable")
    undone = set(pd.to_numeric(ev.get("undoes"), errors="coerce").dropna().astype(int)) if "undoes" in ev else set()
    ev = ev[(ev["action"] != "undo") & ~ev["id"].isin(undone)]
    if ev.empty:
        return pd.DataFrame(columns=cols)
    last = ev.groupby(["sample_id", "reviewer"], sort=False).tail(1)
    return pd.DataFrame({"sample_id": last["sample_id"].astype(str).to_numpy(),
                         "reviewer": last["reviewer"].astype(str).to_numpy(),
                         "decision": [decision_text(a, n) for a, n in zip(last["action"], last["new_label"])]})


def agreement(events: pd.DataFrame, a: str, b: str) -> dict:
    """Reviewers `a` and `b` on the faces both decided: `n`, `agreed`, `kappa` (Cohen's, NaN under 2
    faces or when both always gave one and the same decision), and `disagreements` (sample_id, a's, b's)."""
    d = by_reviewer(events)
    pa = d[d["reviewer"] == a].set_index("sample_id")["decision"]
    pb = d[d["reviewer"] == b].set_index("sample_id")["decision"]
    both = pa.index.intersection(pb.index)
    x, y = pa.loc[both], pb.loc[both]
    kappa = float("nan")
    if len(both) >= 2 and len(set(x) | set(y)) > 1:
        from sklearn.metrics import cohen_kappa_score
        kappa = float(cohen_kappa_score(x.to_numpy(), y.to_numpy()))
    diff = both[(x != y).to_numpy()]
    return {"n": int(len(both)), "agreed": int((x == y).sum()), "kappa": kappa,
            "disagreements": pd.DataFrame({"sample_id": list(diff), a: x.loc[diff].to_numpy(),
                                           b: y.loc[diff].to_numpy()})}
