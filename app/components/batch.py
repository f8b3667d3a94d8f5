"""Decisions made together, one path for every page (no streamlit): the Gallery's action on a selection
and the Review page's bulk accept. Every decision of one action shares one batch `via`
(data_tools.audit.batch_via), so one undo reverts them all; they are recorded in one transaction, and
only if no face's decision changed since the page showed it (`expect`): all or none."""
from __future__ import annotations

from typing import Iterable

import pandas as pd

from data_tools.audit import Audit, Decision, batch_via


def batch_decisions(sample_ids: list[str], action: str, new_label: str | None, labels: dict[str, str], *,
                    reviewer: str, session: str, what: str = "gallery") -> list[Decision]:
    """One decision per selected face for one action, all sharing one batch `via` (undone together).
    A relabel to a face's own given label is recorded as keep."""
    via = batch_via(what)
    out = []
    for sid in sample_ids:
        act, lab = action, new_label
        if action == "relabel" and labels.get(sid) == new_label:
            act, lab = "keep", None
        out.append(Decision(str(sid), act, lab, reviewer, "", via, session))
    return out


def autofix_plan(scores: pd.DataFrame, decided: pd.DataFrame, min_conf: float) -> dict:
    """Auto-fix's preview: every undecided face whose suggestion (`pred`) differs from its label and whose
    confidence in it (`p_pred`) is at least `min_conf`. Returns `rows` (sample_id, label, pred, p_pred),
    `changes` (from, to, faces; most first), `expected` (the precision to expect: the mean confidence of
    those suggestions, i.e. the share a calibrated model gets right) and, from the reviewer's own decisions
    on faces that met the same rule, `reviewed` (how many) and `agreed` (how many were relabelled to the
    suggestion). `scores` is indexed by sample_id; `decided` is the audit's latest decisions."""
    need = scores[["label", "pred", "p_pred"]]
    conf = pd.to_numeric(need["p_pred"], errors="coerce")
    rule = (need["pred"].astype(str) != need["label"].astype(str)) & (conf >= float(min_conf))
    done = set(decided["sample_id"].astype(str)) if len(decided) else set()
    is_done = need.index.astype(str).isin(list(done))
    rows = need[rule & ~is_done].assign(p_pred=conf).sort_values("p_pred", ascending=False, kind="stable")
    rows = rows.rename_axis("sample_id").reset_index()
    changes = (rows.groupby(["label", "pred"], sort=False).size().rename("faces").reset_index()
               .rename(columns={"label": "from", "pred": "to"})
               .sort_values("faces", ascending=False, kind="stable").reset_index(drop=True))
    seen = need[rule & is_done]
    agreed = 0
    if len(seen):
        d = decided.assign(sample_id=decided["sample_id"].astype(str)).set_index("sample_id").reindex(seen.index.astype(str))
        agreed = int(((d["action"] == "relabel") & (d["new_label"].astype(str) == seen["pred"].astype(str).to_numpy())).sum())
    return {"rows": rows, "changes": changes, "expected": float(rows["p_pred"].mean()) if len(rows) else float("nan"),
            "reviewed": int(len(seen)), "agreed": agreed}


def suggestion_decisions(rows: Iterable[dict], *, reviewer: str, session: str, what: str = "bulk-accept") -> list[Decision]:
    """The Review page's bulk accept: each face (`sample_id`, `label`, `pred`) relabelled to the model's
    suggestion (kept where the suggestion is its label), all sharing one batch `via`."""
    via = batch_via(what)
    out = []
    for r in rows:
        same = str(r["pred"]) == str(r["label"])
        out.append(Decision(str(r["sample_id"]), "keep" if same else "relabel", None if same else str(r["pred"]),
                            reviewer, "", via, session))
    return out


def record_batch(audit: Audit, decisions: list[Decision], seen: dict[str, int | None], *,
                 expect_own: bool = False) -> list[int]:
    """Record one action's decisions in one transaction, each only if its sample's current decision is
    the one the page showed (`seen`: sample_id -> event id, None for undecided; with `expect_own`, a
    blind pass, the deciding reviewer's own decision); StaleDecision (nothing recorded) otherwise.
    Returns the event ids."""
    return audit.record_many(decisions, expect={d.sample_id: seen.get(d.sample_id) for d in decisions},
                             expect_own=expect_own)


GROUP_ACTIONS = ("keep_one", "relabel_all", "remove_split", "remove_all")


def group_decisions(members: list[str], how: str, labels: dict[str, str], *, reviewer: str, session: str,
                    keep: str | None = None, new_label: str | None = None, splits: dict[str, str] | None = None,
                    side: str | None = None) -> list[Decision]:
    """One decision on a duplicate group (issue 23), as a batch undone in one step:
    - keep_one: `keep` is kept, every other member removed (the face stays once);
    - relabel_all: every member relabelled to `new_label` (kept where that is already its label);
    - remove_split: the members in split `side` removed (a leak: "remove from test"), the others untouched;
    - remove_all: every member removed (a label conflict neither label can be trusted on)."""
    if how not in GROUP_ACTIONS:
        raise ValueError(f"unknown group action {how!r} (one of: {', '.join(GROUP_ACTIONS)})")
    via = batch_via(f"group-{how}")
    out = []
    for sid in members:
        if how == "keep_one":
            act, lab = ("keep", None) if sid == keep else ("remove", None)
        elif how == "relabel_all":
            act, lab = ("keep", None) if labels.get(sid) == new_label else ("relabel", new_label)
        elif how == "remove_split":
            if (splits or {}).get(sid) != side:
                continue
            act, lab = "remove", None
        else:
            act, lab = "remove", None
        out.append(Decision(str(sid), act, lab, reviewer, "", via, session))
    return out
