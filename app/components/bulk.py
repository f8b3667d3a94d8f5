"""The Review page's bulk accept: the top K undecided suspects whose suggestion differs from their
label, previewed, then relabelled to the suggestion as ONE batch through app.components.batch (the
Gallery's path): one undo reverts it, and nothing is saved when a face was decided meanwhile."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from app.components import ui
from app.components.batch import record_batch, suggestion_decisions
from app.components.decisions import ERROR, FLASH
from app.components.queue import bulk_candidates
from data_tools.audit import StaleDecision

BULK = "review_bulk_preview"      # the previewed rows (sample_id, label, pred, suspicion)


def bulk_accept(scores: pd.DataFrame, decided: set[str], audit, shown=None) -> None:
    """The expander: K, the minimum suspicion, the preview and its confirmation. `shown` draws the ids
    of the preview (display_ids: never the id text where it names the face's true class)."""
    with st.expander("Bulk: accept the suggestion for the top K suspects"):
        s = scores["suspicion"]
        k = st.number_input("Top K suspects", min_value=1, max_value=max(len(scores), 1),
                            value=min(20, len(scores)), step=1, key="bulk_k")
        lo, hi = float(s.min()), float(s.max())
        old = st.session_state.get("bulk_thr")
        if old is not None and not lo <= old <= max(hi, lo):       # a newer ranking moved the bounds
            del st.session_state["bulk_thr"]
        if st.session_state.get("bulk_k", 1) > max(len(scores), 1):
            del st.session_state["bulk_k"]
        thr = st.number_input("Minimum suspicion", min_value=lo, max_value=max(hi, lo), step=0.01,
                              value=float(np.round(s.quantile(0.5), 3)), key="bulk_thr", format="%.3f")
        cands = bulk_candidates(scores, decided, top_k=int(k), min_score=float(thr))
        st.caption(f"{len(cands)} undecided face(s) among the top {int(k)} with suspicion ≥ {thr:.3f} "
                   "have a suggestion that differs from the given label.")
        if st.button("Preview bulk accept", key="bulk_preview_btn", disabled=cands.empty):
            st.session_state[BULK] = cands[["sample_id", "label", "pred", "suspicion"]].to_dict("records")
        preview = st.session_state.get(BULK)
        if not preview:
            return
        st.markdown(f"**These {len(preview)} label(s) will change:**")
        table = pd.DataFrame(preview).rename(columns={"sample_id": "sample", "label": "from", "pred": "to"})
        if shown is not None:
            table["sample"] = table["sample"].map(shown)
        st.dataframe(table, hide_index=True, height=min(38 + 35 * len(preview), 300))
        c1, c2 = st.columns(2)
        if c1.button(f"Confirm: relabel {len(preview)} face(s)", type="primary", key="bulk_confirm"):
            _commit(audit, preview, shown=shown)
        if c2.button("Cancel", key="bulk_cancel"):
            st.session_state.pop(BULK, None)
            st.rerun()


def _commit(audit, preview: list[dict], *, what: str = "bulk-accept", key: str = BULK, shown=None) -> None:
    """All previewed faces (undecided when previewed) relabelled as one batch, or none of them."""
    decisions = suggestion_decisions(preview, reviewer=ui.reviewer(), session=ui.session_id(), what=what)
    st.session_state.pop(key, None)
    try:
        record_batch(audit, decisions, {d.sample_id: None for d in decisions})
    except StaleDecision as e:
        sid = shown(e.sample_id) if shown is not None else e.sample_id
        st.session_state[ERROR] = (f"Not saved: sample {sid} was decided meanwhile (now: {e.now}), in another tab "
                                   "or by another reviewer, since the preview. "
                                   "Nothing was relabelled: preview again.")
        st.rerun()
    st.session_state[FLASH] = (f"Saved: {len(decisions)} face(s) relabelled to the model's suggestion, as one "
                               f"action ({what.replace('-', ' ')}; Undo reverts it)")
    st.rerun()


AUTOFIX = "review_autofix_preview"   # the previewed plan: rows, changes, threshold


def auto_fix(scores: pd.DataFrame, latest: pd.DataFrame, audit) -> None:
    """Auto-fix with a preview (issue 24): accept the suggestion for every undecided face whose confidence
    in it is at least what the reviewer sets; the count, the class changes and the expected precision are
    shown before anything is applied, then ONE batch (app.components.batch), undone by one Undo."""
    from app.components.batch import autofix_plan
    if "p_pred" not in scores.columns:
        return
    with st.expander("Auto-fix: accept the suggestion above a confidence"):
        thr = st.slider("Minimum confidence in the suggestion (p of the suggested class)", 0.0, 1.0, 0.90,
                        step=0.01, key="autofix_thr")
        plan = autofix_plan(scores, latest, thr)
        n = len(plan["rows"])
        exp = plan["expected"]
        seen = (f"; your own decisions on {plan['reviewed']:,} such face(s) accepted the suggestion "
                f"{plan['agreed']:,} time(s) ({plan['agreed'] / plan['reviewed']:.0%})" if plan["reviewed"] else "")
        st.caption(f"{n:,} undecided face(s) with a different suggestion at confidence ≥ {thr:.2f}"
                   + (f"; expected precision {exp:.0%} (the mean confidence of these suggestions){seen}."
                      if n else f"{seen}."))
        if st.button("Preview auto-fix", key="autofix_preview_btn", disabled=n == 0):
            st.session_state[AUTOFIX] = {"thr": thr, "rows": plan["rows"].to_dict("records"),
                                         "changes": plan["changes"].to_dict("records"), "expected": exp}
        preview = st.session_state.get(AUTOFIX)
        if not preview:
            return
        rows = preview["rows"]
        st.markdown(f"**Auto-fix at confidence ≥ {preview['thr']:.2f}: {len(rows):,} face(s) will be relabelled; "
                    f"expected precision {preview['expected']:.0%}.** Class changes:")
        st.dataframe(pd.DataFrame(preview["changes"]), hide_index=True, key="autofix_changes",
                     height=min(38 + 35 * len(preview["changes"]), 300))
        c1, c2 = st.columns(2)
        if c1.button(f"Apply: relabel {len(rows):,} face(s)", type="primary", key="autofix_apply"):
            _commit(audit, rows, what="auto-fix", key=AUTOFIX)
        if c2.button("Cancel", key="autofix_cancel"):
            st.session_state.pop(AUTOFIX, None)
            st.rerun()
