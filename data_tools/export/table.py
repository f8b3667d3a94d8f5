"""The corrected table: one table drives every format.

`corrected_table` joins the manifest with the latest decision of each sample (and its suspicion score).
`final_label` is the label in the corrected dataset: the new label for `relabel`, nothing for `remove`,
the original label for `keep`, `unsure` and undecided rows. `reviewers` and `agreement` say who decided
and whether they agreed (data_tools.reviewers.per_face, from the audit's events)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from data_tools.audit import ACTIONS
from data_tools.export.errors import ExportError
from data_tools.manifest import Dataset
from data_tools.reviewers import per_face

DECISION_COLUMNS = ["original_label", "final_label", "action", "suspicion", "decided_at", "reviewer", "note",
                    "reviewers", "agreement"]


def corrected_table(dataset: Dataset, decisions: pd.DataFrame | None,
                    scores: pd.DataFrame | None = None, events: pd.DataFrame | None = None) -> pd.DataFrame:
    """Manifest rows in manifest order plus DECISION_COLUMNS. `decisions` is Audit.latest() (or any frame
    with sample_id, action, new_label, reviewer, note, decided_at; the last row per sample counts);
    `scores` needs sample_id and suspicion; `events` is Audit.events(), from which `reviewers` (every
    reviewer whose own current decision stands on the face, "ana;ben") and `agreement` ("agreed",
    "disagreed", "" for one reviewer or none) come. Without `events`, `reviewers` is the reviewer of the
    decision that stands and `agreement` is empty. A manifest column that clashes with a decision column
    is kept as `manifest_<name>`."""
    m = dataset.manifest.copy()
    m = m.rename(columns={c: f"manifest_{c}" for c in DECISION_COLUMNS if c in m.columns})
    sids = m["sample_id"].astype(str)
    d = _decision_frame(decisions).reindex(sids)
    action = d["action"].fillna("").to_numpy(dtype=object)
    new_label = d["new_label"].fillna("").to_numpy(dtype=object)
    original = m["label"].astype(str).to_numpy(dtype=object)
    bad = (action == "relabel") & ~np.isin(new_label, list(dataset.classes))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ExportError(f"sample {sids.iloc[i]}: relabelled to '{new_label[i]}', which is not one of: "
                          f"{', '.join(dataset.classes)}")
    final = np.where(action == "relabel", new_label, np.where(action == "remove", "", original))
    m["original_label"] = original
    m["final_label"] = final
    m["action"] = action
    m["suspicion"] = _suspicion(scores).reindex(sids).to_numpy(dtype=float)
    for col in ("decided_at", "reviewer", "note"):
        m[col] = d[col].fillna("").astype(str).to_numpy(dtype=object)
    if events is not None:
        who = per_face(events).reindex(sids)
        m["reviewers"] = who["reviewers"].fillna("").astype(str).to_numpy(dtype=object)
        m["agreement"] = who["agreement"].fillna("").astype(str).to_numpy(dtype=object)
    else:
        m["reviewers"] = m["reviewer"].to_numpy(dtype=object)
        m["agreement"] = np.full(len(m), "", dtype=object)
    return m.reset_index(drop=True)


def _decision_frame(decisions: pd.DataFrame | None) -> pd.DataFrame:
    cols = ["action", "new_label", "reviewer", "note", "decided_at"]
    if decisions is None or len(decisions) == 0:
        return pd.DataFrame(columns=cols, index=pd.Index([], name="sample_id"), dtype=object)
    missing = [c for c in ["sample_id", "action"] if c not in decisions.columns]
    if missing:
        raise ExportError(f"decisions lack column(s) {', '.join(missing)}")
    d = decisions.copy()
    for c in cols:
        d[c] = d[c].astype(object).where(d[c].notna(), "") if c in d.columns else ""
    unknown = sorted(set(d["action"]) - set(ACTIONS))
    if unknown:
        raise ExportError(f"unknown decision action(s) {', '.join(map(str, unknown))} (one of: {', '.join(ACTIONS)})")
    d["sample_id"] = d["sample_id"].astype(str)
    return d.drop_duplicates("sample_id", keep="last").set_index("sample_id")[cols]


def _suspicion(scores: pd.DataFrame | None) -> pd.Series:
    if scores is None or len(scores) == 0:
        return pd.Series(dtype=float)
    if "sample_id" not in scores.columns or "suspicion" not in scores.columns:
        raise ExportError("scores need the columns sample_id and suspicion")
    s = pd.Series(pd.to_numeric(scores["suspicion"], errors="coerce").to_numpy(dtype=float),
                  index=scores["sample_id"].astype(str))
    return s[~s.index.duplicated(keep="last")]


def unmatched_decisions(dataset: Dataset, decisions: pd.DataFrame) -> list[str]:
    """Sample ids that have a decision but no row in the dataset (they cannot be exported)."""
    if decisions is None or len(decisions) == 0:
        return []
    known = set(dataset.manifest["sample_id"].astype(str))
    return sorted(set(decisions["sample_id"].astype(str)) - known)


def changes_summary(table: pd.DataFrame, classes: list[str] | None = None) -> pd.DataFrame:
    """One row per original class (then 'total'): before, keep, relabel_from, relabel_to, remove,
    unsure, undecided, after (rows of the class in the exported dataset)."""
    orig, final, action = table["original_label"], table["final_label"], table["action"]
    if classes is None:
        seen = pd.unique(pd.concat([orig, final[final != ""]]))
        classes = [c for c in seen]
    classes = list(classes) + sorted(set(orig) - set(classes))
    rows = []
    for c in classes:
        is_c = orig == c
        rows.append({"class": c, "before": int(is_c.sum()),
                     "keep": int((is_c & (action == "keep")).sum()),
                     "relabel_from": int((is_c & (action == "relabel")).sum()),
                     "relabel_to": int(((final == c) & (action == "relabel")).sum()),
                     "remove": int((is_c & (action == "remove")).sum()),
                     "unsure": int((is_c & (action == "unsure")).sum()),
                     "undecided": int((is_c & (action == "")).sum()),
                     "after": int((final == c).sum())})
    out = pd.DataFrame(rows, columns=["class", "before", "keep", "relabel_from", "relabel_to", "remove",
                                      "unsure", "undecided", "after"])
    total = out.drop(columns="class").sum().to_dict()
    return pd.concat([out, pd.DataFrame([{"class": "total", **total}])], ignore_index=True)
