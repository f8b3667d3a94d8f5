"""Decisions on the Review page: the state keys, the action buttons (one key each) and their callbacks.
A callback commits to the audit first, then queues the toast and moves to the next suspect.

What the page shows of the audit is `Ctx.view` (app.components.blind.Decisions): in a blind second pass
only the reviewer's own decisions, and a decision is then checked against the reviewer's own decision
of the face (`expect_own`), so it is recorded although another reviewer decided the face. Messages draw
sample ids as the page does (`Ctx.shown`, display_ids)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from app.components import ui
from app.components.blind import Decisions
from app.components.display_ids import Shown, key_of
from app.components.queue import neighbours, next_after
from data_tools.audit import ANY, StaleDecision, describe
from data_tools.rundir import RunDir

CURRENT, QUEUE, FLASH, ERROR, NOTE = "review_current", "review_queue", "review_flash", "review_error", "review_note"
GOTO = "review_goto"        # a face another page sends the reviewer to (it wins over the session's own)
DRAWN = "review_drawn"      # (sample_id, event id of its decision when the face was drawn, None if undecided)
STAYED = "review_stayed"    # {"sid", "final"}: a newer ranking arrived under this face (navigation)
PICK = "act_relabel_pick"   # the type-ahead class picker (more than DIGIT_KEYS classes), one per face
DIGIT_KEYS = 9              # keys 1-9: the classes in order up to nine classes, else the face's top suggestions
_LEGEND = ("**Keys**: `k` keep · `a` accept suggestion · {digits} · `x` remove · "
           "`u` unsure · `z` undo · `←` / `→` previous / next")


def key_legend(n_classes: int) -> str:
    """The key help under the buttons: what each digit does for a dataset of `n_classes` classes."""
    if n_classes <= DIGIT_KEYS:
        return _LEGEND.format(digits=f"`1`–`{n_classes}` relabel to class i")
    return _LEGEND.format(digits=f"`1`–`{DIGIT_KEYS}` relabel to this face's {DIGIT_KEYS} most probable classes "
                                 "(the numbered buttons, most probable first) · any other class: type it in the picker")


def digit_classes(classes: list[str], row: pd.Series | None) -> list[str]:
    """The classes of the keys 1, 2, ...: every class in order when there are at most DIGIT_KEYS,
    else the DIGIT_KEYS most probable for this face by its prob_<class> columns (ties in class order;
    the first DIGIT_KEYS classes when the row has no probabilities)."""
    if len(classes) <= DIGIT_KEYS or row is None:
        return list(classes[:DIGIT_KEYS])
    p = pd.to_numeric(pd.Series([row.get(f"prob_{c}") for c in classes]), errors="coerce").fillna(-1.0).to_numpy()
    order = np.argsort(-p, kind="stable")[:DIGIT_KEYS]
    return [classes[i] for i in order]


@dataclass
class Ctx:
    """What the face fragment needs; passed once per full run."""
    run: RunDir
    scores: pd.DataFrame            # indexed by sample_id (read-only)
    dataset_dir: Path | None        # the run's dataset folder (its manifest is read in the fragment)
    classes: list[str]
    audit: object
    status: str                     # the queue's decided/undecided filter
    queue: pd.DataFrame | None = None   # the filtered, sorted queue (its slim columns)
    n_all: int = 0                  # faces in the ranking
    ranking: dict | None = None     # loaders.ranking_status: the ranking's epoch, the training's (one read)
    issue_bits: pd.Series | None = None   # sample_id -> its issue types (data_tools.issues.by_sample)
    view: Decisions | None = None   # what the page may show of the audit (a blind pass: own decisions only)
    shown: Shown | None = None      # how sample ids are drawn, and their link tokens (display_ids)

    def __post_init__(self):
        if self.view is None:
            self.view = Decisions(self.audit)
        if self.shown is None:
            self.shown = Shown()


def _seen(sid: str):
    """The event id of the decision the page showed for `sid` (None: undecided); ANY if it never drew it."""
    drawn = st.session_state.get(DRAWN)
    return drawn[1] if drawn and drawn[0] == sid else ANY


def _commit(ctx: Ctx, sid: str, action: str, new_label: str | None, *, note: str, via: str) -> bool:
    """Record one decision for this tab's session, only if the sample's decision is still the one the
    page showed; otherwise explain, show the newer decision, and let the next press replace it."""
    try:
        ctx.audit.record(sid, action, new_label, reviewer=ui.reviewer(), note=note, via=via,
                         session=ui.session_id(), expect=_seen(sid), expect_own=ctx.view.expect_own)
    except StaleDecision as e:      # in a blind pass, e.current is this reviewer's own decision
        if ctx.view.blind:          # decided by this reviewer elsewhere: the face has left the pass
            st.session_state[ERROR] = (f"Not saved: sample {ctx.shown(sid)} was decided meanwhile (now: {e.now}), "
                                       "in another tab. That decision stands and the face has left this blind pass.")
        else:
            st.session_state[ERROR] = (f"Not saved: sample {ctx.shown(sid)} was decided meanwhile (now: {e.now}), "
                                       "in another tab or by another reviewer. It is shown now: press the key again "
                                       "to replace it, or move on to keep it.")
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
    drawn = st.session_state.get(DRAWN)
    if not drawn or drawn[0] != sid:    # a key that arrived before this face was drawn: never decide blind
        st.session_state[ERROR] = (f"Not saved: sample {ctx.shown(sid)} was still loading when the key arrived. It is "
                                   "shown now: press the key again to decide it.")
        return
    note = st.session_state.get(NOTE, "") or ""
    if not _commit(ctx, sid, action, new_label, note=note, via="review"):
        return
    st.session_state[FLASH] = f"Saved: {label} · sample {ctx.shown(sid)}"
    st.session_state[NOTE] = ""
    advance(ctx, sid)


def advance(ctx: Ctx, sid: str) -> None:
    """After `sid` was decided: move to the next face of the queue (its best undecided suspect when a
    newer ranking arrived under `sid`; the next undecided one when the queue shows undecided faces)."""
    ids = st.session_state.get(QUEUE, [])
    stayed = st.session_state.pop(STAYED, None)
    if stayed and stayed.get("sid") == sid:     # a newer ranking arrived under it: its best undecided suspect
        done = ctx.view.decided()
        nxt = next((i for i in ids if i != sid and i not in done), None)
    else:
        skip = ctx.view.decided() if ctx.status == "undecided" else set()
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
    sid = str(undone["sample_id"])
    if sid in ctx.scores.index:        # a duplicate group's test copy is not a face of the queue
        st.session_state[CURRENT] = sid
    msg = f"Undone: {describe(undone['action'], undone.get('new_label'))} · sample {ctx.shown(sid)}"
    if undone.get("batch", 1) > 1:
        msg += f" and the other {undone['batch'] - 1} decision(s) made with it in one action"
    # what stands now, as this page may show it (a blind pass: never the other reviewer's decision)
    now = ctx.view.decision(sid) if ctx.view.blind else undone.get("now")
    if now:
        msg += f" (its decision from elsewhere stands: {describe(now['action'], now.get('new_label'))})"
    st.session_state[FLASH] = msg


def picker_key(sid: str | None) -> str:
    """The class picker's widget key for face `sid`. A new picker per face: the next face's is empty,
    and the one that had the keyboard focus leaves the page, so the decision keys work again at once
    after a pick (shortcuts are ignored while an input has the focus). Keyed by a hash of the id, not
    its text: a key reaches the browser (issue 24 item 6: the id may name the face's true class)."""
    return f"{PICK}_{key_of(sid) if sid is not None else ''}"


def _picked(ctx: Ctx) -> None:
    """The class picker's choice relabels the face at once."""
    cls = st.session_state.get(picker_key(st.session_state.get(CURRENT)))
    if cls:
        _relabel(ctx, str(cls))


def _go(target: str | None) -> None:
    if target is not None:
        st.session_state[CURRENT] = target


def _save_note(ctx: Ctx) -> None:
    sid = st.session_state.get(CURRENT)
    d = ctx.view.decision(sid) if sid else None      # a blind pass: the reviewer's own, never another's
    if not d:
        st.session_state[ERROR] = "Decide first: a note is saved together with a decision."
        return
    note = st.session_state.get(NOTE, "") or ""
    if _commit(ctx, sid, d["action"], d["new_label"], note=note, via="note"):
        st.session_state[FLASH] = f"Saved: note on sample {ctx.shown(sid)}"


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
    many = len(ctx.classes) > DIGIT_KEYS
    sid = st.session_state.get(CURRENT)
    face = ctx.scores.loc[sid] if many and sid in ctx.scores.index else None
    for i, c in enumerate(digit_classes(ctx.classes, face), start=1):
        p = face.get(f"prob_{c}") if face is not None else None
        text = ui.md_escape(c) + (f" ({float(p):.2f})" if p is not None and pd.notna(p) else "")
        row2.button(f"{i} · {text}" if many else text, key=f"act_relabel_{i}", shortcut=str(i), on_click=_relabel, args=(ctx, c),
                    help=f"Relabel to {ui.md_escape(c)}", type="tertiary" if c == given else "secondary")
    if many:                # any class by name: type to filter, Enter or a click relabels
        # a keyed container per face too: only a new block makes the browser drop the old input (and its focus)
        row2.container(key=f"{picker_key(sid)}_box", width=300).selectbox(
            "Relabel to any class", ctx.classes, index=None, key=picker_key(sid), on_change=_picked, args=(ctx,),
            placeholder=f"Relabel to… type to find one of {len(ctx.classes)} classes", filter_mode="contains",
            label_visibility="collapsed")
    n1, n2 = st.columns([5, 1], vertical_alignment="bottom")
    n1.text_input("Note (saved with the next decision)", key=NOTE, placeholder="optional")
    n2.button("Save note", key="act_note", on_click=_save_note, args=(ctx,))
    st.caption(key_legend(len(ctx.classes)))
