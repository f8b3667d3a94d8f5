"""Several reviewers on one audit (issue 24, two reviewers): each reviewer's own current decision per face,
read from the audit's events (a reviewer's later decision replaces their earlier one; an undone decision
does not count), their agreement on the faces both decided (Cohen's kappa, scikit-learn), the faces
they disagree on, and per face who decided and whether they agreed (the export's `reviewers` and
`agreement` columns). One rule, used by the Review page and by every export; the audit applies the
same rule in SQL where it must be checked inside a transaction (`Audit.decision(..., reviewer=)`,
`record(..., expect_own=True)`). No streamlit here."""
from __future__ import annotations

import numpy as np
import pandas as pd

AGREED, DISAGREED = "agreed", "disagreed"
SEPARATOR = ";"                 # between reviewer names in the export's `reviewers` column
CURRENT_COLUMNS = ["event_id", "sample_id", "reviewer", "action", "new_label", "note", "via", "decided_at",
                   "decision"]


def decision_text(action: str, new_label) -> str:
    """One comparable value per decision: keep, remove, unsure, or relabel→<class>."""
    return f"relabel→{new_label}" if action == "relabel" else str(action)


def current_decisions(events: pd.DataFrame | None) -> pd.DataFrame:
    """Every reviewer's current decision of every face they decided, oldest first (CURRENT_COLUMNS):
    per (sample_id, reviewer) the last event that is neither an undo nor undone. `events` is
    Audit.events() (id, sample_id, action, new_label, reviewer, note, via, created_at, undoes), or a
    frame this function returned (taken as it is: a page derives it once and passes it on)."""
    if events is None or len(events) == 0:
        return pd.DataFrame(columns=CURRENT_COLUMNS)
    if list(events.columns) == CURRENT_COLUMNS:
        return events
    ev = events.sort_values("id", kind="stable")
    undone = set(pd.to_numeric(ev["undoes"], errors="coerce").dropna().astype(int)) if "undoes" in ev else set()
    ev = ev[(ev["action"] != "undo") & ~ev["id"].isin(undone)]
    if ev.empty:
        return pd.DataFrame(columns=CURRENT_COLUMNS)
    last = ev.assign(sample_id=ev["sample_id"].astype(str),
                     reviewer=ev["reviewer"].fillna("").astype(str)).groupby(["sample_id", "reviewer"], sort=False).tail(1)
    new_label = last["new_label"].astype(object).where(last["new_label"].notna(), None) \
        if "new_label" in last else pd.Series(None, index=last.index, dtype=object)
    out = pd.DataFrame({
        "event_id": last["id"].astype(int).to_numpy(),
        "sample_id": last["sample_id"].to_numpy(),
        "reviewer": last["reviewer"].to_numpy(),
        "action": last["action"].astype(str).to_numpy(),
        "new_label": new_label.to_numpy(dtype=object),
        "note": (last["note"].fillna("").astype(str) if "note" in last else pd.Series("", index=last.index)).to_numpy(),
        "via": (last["via"].fillna("").astype(str) if "via" in last else pd.Series("", index=last.index)).to_numpy(),
        "decided_at": (last["created_at"].astype(str) if "created_at" in last
                       else pd.Series("", index=last.index)).to_numpy(),
    })
    out["decision"] = [decision_text(a, n) for a, n in zip(out["action"], out["new_label"])]
    return out.sort_values("event_id", kind="stable").reset_index(drop=True)


def by_reviewer(events: pd.DataFrame | None) -> pd.DataFrame:
    """sample_id, reviewer, decision: each reviewer's current decision of each face they decided."""
    return current_decisions(events)[["sample_id", "reviewer", "decision"]].reset_index(drop=True)


def reviewers(events: pd.DataFrame | None) -> list[str]:
    """The reviewers with at least one current decision, most decisions first (ties by name)."""
    d = current_decisions(events)
    if d.empty:
        return []
    n = d["reviewer"].value_counts()
    return sorted(n.index.tolist(), key=lambda r: (-int(n[r]), r))


def agreement(events: pd.DataFrame | None, a: str, b: str) -> dict:
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


def per_face(events: pd.DataFrame | None) -> pd.DataFrame:
    """Indexed by sample_id: `reviewers` (every reviewer whose own current decision stands on the face,
    in the order they decided it, joined by ';': "ana;ben") and `agreement` ("agreed" when two or more
    reviewers gave the same decision, "disagreed" when they did not, "" for one reviewer). Faces without
    a current decision are absent."""
    d = current_decisions(events)
    if d.empty:
        return pd.DataFrame({"reviewers": pd.Series(dtype=object), "agreement": pd.Series(dtype=object)},
                            index=pd.Index([], name="sample_id"))
    g = d.groupby("sample_id", sort=False)
    names = g["reviewer"].agg(SEPARATOR.join)
    n_people = g["reviewer"].size()
    n_decisions = g["decision"].nunique()
    agree = np.where(n_people < 2, "", np.where(n_decisions == 1, AGREED, DISAGREED))
    return pd.DataFrame({"reviewers": names.to_numpy(dtype=object), "agreement": agree.astype(object)},
                        index=pd.Index(names.index.astype(str), name="sample_id"))
