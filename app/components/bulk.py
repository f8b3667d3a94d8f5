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


def bulk_accept(scores: pd.DataFrame, decided: set[str], audit) -> None:
    """The expander: K, the minimum suspicion, the preview and its confirmation."""
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
        st.dataframe(pd.DataFrame(preview).rename(columns={"label": "from", "pred": "to"}),
                     hide_index=True, height=min(38 + 35 * len(preview), 300))
        c1, c2 = st.columns(2)
        if c1.button(f"Confirm: relabel {len(preview)} face(s)", type="primary", key="bulk_confirm"):
            _commit(audit, preview)
        if c2.button("Cancel", key="bulk_cancel"):
            st.session_state.pop(BULK, None)
            st.rerun()


def _commit(audit, preview: list[dict]) -> None:
    """All previewed faces (undecided when previewed) relabelled as one batch, or none of them."""
    decisions = suggestion_decisions(preview, reviewer=ui.reviewer(), session=ui.session_id())
    st.session_state.pop(BULK, None)
    try:
        record_batch(audit, decisions, {d.sample_id: None for d in decisions})
    except StaleDecision as e:
        st.session_state[ERROR] = (f"Not saved: {e}, in another tab or by another reviewer, since the preview. "
                                   "Nothing was relabelled: preview again.")
        st.rerun()
    st.session_state[FLASH] = (f"Saved: {len(decisions)} face(s) relabelled to the model's suggestion, as one "
                               "action (Undo reverts it)")
    st.rerun()
