"""Decisions made together, one path for every page (no streamlit): the Gallery's action on a selection
and the Review page's bulk accept. Every decision of one action shares one batch `via`
(data_tools.audit.batch_via), so one undo reverts them all; they are recorded in one transaction, and
only if no face's decision changed since the page showed it (`expect`): all or none."""
from __future__ import annotations

from typing import Iterable

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


def suggestion_decisions(rows: Iterable[dict], *, reviewer: str, session: str) -> list[Decision]:
    """The Review page's bulk accept: each face (`sample_id`, `label`, `pred`) relabelled to the model's
    suggestion (kept where the suggestion is its label), all sharing one batch `via`."""
    via = batch_via("bulk-accept")
    out = []
    for r in rows:
        same = str(r["pred"]) == str(r["label"])
        out.append(Decision(str(r["sample_id"]), "keep" if same else "relabel", None if same else str(r["pred"]),
                            reviewer, "", via, session))
    return out


def record_batch(audit: Audit, decisions: list[Decision], seen: dict[str, int | None]) -> list[int]:
    """Record one action's decisions in one transaction, each only if its sample's current decision is
    the one the page showed (`seen`: sample_id -> event id, None for undecided); StaleDecision (nothing
    recorded) otherwise. Returns the event ids."""
    return audit.record_many(decisions, expect={d.sample_id: seen.get(d.sample_id) for d in decisions})
