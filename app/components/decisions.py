"""Decisions on the Review page: the state keys, the action buttons (one key each) and their callbacks.
A callback commits to the audit first, then queues the toast and moves to the next suspect."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from app.components import ui
from app.components.queue import neighbours, next_after
from data_tools.audit import ANY, StaleDecision, describe
from eac_core.rundir import RunDir

CURRENT, QUEUE, FLASH, ERROR, NOTE = "review_current", "review_queue", "review_flash", "review_error", "review_note"
DRAWN = "review_drawn"      # (sample_id, event id of its decision when the face was drawn, None if undecided)
KEY_LEGEND = ("**Keys**: `k` keep · `a` accept suggestion · `1`–`9` relabel to class i · `x` remove · "
              "`u` unsure · `z` undo · `←` / `→` previous / next")


@dataclass
class Ctx:
    """What the face fragment needs; passed once per full run."""
    run: RunDir
    scores: pd.DataFrame            # indexed by sample_id (read-only)
    dataset: object | None
    classes: list[str]
    audit: object
    status: str                     # the queue's decided/undecided filter
    votes: pd.DataFrame | None      # vote_<class> columns indexed by sample_id, if the dataset has them


def _seen(sid: str):
    """The event id of the decision the page showed for `sid` (None: undecided); ANY if it never drew it."""
    drawn = st.session_state.get(DRAWN)
    return drawn[1] if drawn and drawn[0] == sid else ANY


def _commit(ctx: Ctx, sid: str, action: str, new_label: str | None, *, note: str, via: str) -> bool:
    """Record one decision for this tab's session, only if the sample's decision is still the one the
    page showed; otherwise explain, show the newer decision, and let the next press replace it."""
    try:
        ctx.audit.record(sid, action, new_label, reviewer=ui.reviewer(), note=note, via=via,
                         session=ui.session_id(), expect=_seen(sid))
    except StaleDecision as e:
        st.session_state[ERROR] = (f"Not saved: {e}, in another tab or by another reviewer. It is shown "
                                   "now: press the key again to replace it, or move on to keep it.")
        st.session_state[DRAWN] = (sid, e.current["event_id"] if e.current else None)
        return False
    except Exception as e:  # noqa: BLE001
        st.session_state[ERROR] = f"Not saved: {e}"
        return False
    return True


def _record(ctx: Ctx, action: str, new_label: str | None = None, *, label: str) -> None:
    """Commit a decision for the current face, then queue the toast and advance."""
    sid = st.session_state.get(CURRENT)
    if sid is None:
        return
    note = st.session_state.get(NOTE, "") or ""
    if not _commit(ctx, sid, action, new_label, note=note, via="review"):
        return
    st.session_state[FLASH] = f"Saved: {label} · sample {sid}"
    st.session_state[NOTE] = ""
    ids = st.session_state.get(QUEUE, [])
    skip = set(ctx.audit.latest()["sample_id"]) if ctx.status == "undecided" else set()
    nxt = next_after(ids, sid, skip=skip) if ids else None
    if nxt is not None:
        st.session_state[CURRENT] = nxt


def _keep(ctx: Ctx) -> None:
    _record(ctx, "keep", label="kept the label")


def _accept(ctx: Ctx) -> None:
    row = ctx.scores.loc[st.session_state.get(CURRENT)]
    if row["pred"] == row["label"]:
        _record(ctx, "keep", label=f"kept {row['label']} (the model agrees)")
    else:
        _record(ctx, "relabel", str(row["pred"]), label=f"relabelled to {row['pred']}")


def _relabel(ctx: Ctx, cls: str) -> None:
    row = ctx.scores.loc[st.session_state.get(CURRENT)]
    if cls == row["label"]:
        _record(ctx, "keep", label=f"kept {cls}")
    else:
        _record(ctx, "relabel", cls, label=f"relabelled to {cls}")


def _undo(ctx: Ctx) -> None:
    """Cancel this tab's own last decision (another tab's decisions are theirs to undo)."""
    try:
        undone = ctx.audit.undo(session=ui.session_id(), by=ui.reviewer())
    except Exception as e:  # noqa: BLE001
        st.session_state[ERROR] = f"Undo failed: {e}"
        return
    if undone is None:
        st.session_state[FLASH] = "Nothing to undo in this tab"
        return
    st.session_state[CURRENT] = str(undone["sample_id"])
    msg = f"Undone: {describe(undone['action'], undone.get('new_label'))} · sample {undone['sample_id']}"
    now = undone.get("now")
    if now:
        msg += f" (its decision from elsewhere stands: {describe(now['action'], now.get('new_label'))})"
    st.session_state[FLASH] = msg


def _go(target: str | None) -> None:
    if target is not None:
        st.session_state[CURRENT] = target


def _save_note(ctx: Ctx) -> None:
    sid = st.session_state.get(CURRENT)
    d = ctx.audit.decision(sid) if sid else None
    if not d:
        st.session_state[ERROR] = "Decide first: a note is saved together with a decision."
        return
    note = st.session_state.get(NOTE, "") or ""
    if _commit(ctx, sid, d["action"], d["new_label"], note=note, via="note"):
        st.session_state[FLASH] = f"Saved: note on sample {sid}"


def actions(ctx: Ctx, given: str, pred: str) -> None:
    ids = st.session_state.get(QUEUE, [])
    prev_id, next_id = neighbours(ids, st.session_state.get(CURRENT))
    row1 = st.container(horizontal=True, gap="small")
    row1.button("Keep", key="act_keep", shortcut="k", on_click=_keep, args=(ctx,), type="primary")
    row1.button(f"Accept → {ui.md_escape(pred)}", key="act_accept", shortcut="a", on_click=_accept, args=(ctx,))
    row1.button("Remove", key="act_remove", shortcut="x", on_click=_record, args=(ctx, "remove"),
                kwargs={"label": "removed from the dataset"})
    row1.button("Unsure", key="act_unsure", shortcut="u", on_click=_record, args=(ctx, "unsure"),
                kwargs={"label": "marked unsure"})
    row1.button("Undo", key="act_undo", shortcut="z", on_click=_undo, args=(ctx,))
    row1.button("Prev", key="act_prev", shortcut="Left", icon=":material/arrow_back:", on_click=_go,
                args=(prev_id,), disabled=prev_id is None)
    row1.button("Next", key="act_next", shortcut="Right", icon=":material/arrow_forward:", on_click=_go,
                args=(next_id,), disabled=next_id is None)
    row2 = st.container(horizontal=True, gap="small")
    for i, c in enumerate(ctx.classes[:9], start=1):
        row2.button(ui.md_escape(c), key=f"act_relabel_{i}", shortcut=str(i), on_click=_relabel, args=(ctx, c),
                    help=f"Relabel to {ui.md_escape(c)}", type="tertiary" if c == given else "secondary")
    if len(ctx.classes) > 9:
        other = row2.selectbox("Relabel to", ctx.classes[9:], key="act_relabel_more", label_visibility="collapsed")
        row2.button("Relabel", key="act_relabel_more_btn", on_click=_relabel, args=(ctx, other))
    n1, n2 = st.columns([5, 1], vertical_alignment="bottom")
    n1.text_input("Note (saved with the next decision)", key=NOTE, placeholder="optional")
    n2.button("Save note", key="act_note", on_click=_save_note, args=(ctx,))
    st.caption(KEY_LEGEND)
