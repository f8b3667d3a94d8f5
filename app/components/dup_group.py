"""The Review page's duplicate group (issue 23): when the current face shares its pixels or its
perceptual hash with other faces (the dataset's issues.parquet), every member side by side with its
label, split and decision, and one decision for the whole group (app.components.batch.group_decisions):
keep this face and remove the others, relabel them all, remove every copy, or for a group spanning
splits, remove the test (or the train) copies. One batch: one undo (`z`) reverts it."""
from __future__ import annotations

import streamlit as st

from app.components import loaders, ui
from app.components.batch import group_decisions, record_batch
from app.components.decisions import CURRENT, ERROR, FLASH, Ctx, advance
from app.components.palette import badge
from app.components.safetext import html_text
from data_tools.audit import StaleDecision, describe
from data_tools.issues.by_sample import Group

SHOWN = 12                    # members drawn side by side (a larger group says how many more)
SEEN = "group_seen"           # {sample_id: event id of its decision as drawn, None undecided}
TARGET = "group_relabel_to"   # the relabel-all class picker


def duplicate_group(ctx: Ctx, dataset, sid: str) -> None:
    """The group around face `sid`, drawn only when there is one."""
    if dataset is None:
        return
    g = loaders.duplicate_groups(ctx.dataset_dir).around(sid)
    if g is None:
        return
    info = loaders.label_split(dataset).reindex(g.members).fillna("")     # each member's label and split
    labels, splits = info["label"].to_dict(), info["split"].to_dict()
    latest = ctx.view.latest()             # what this page may show (a blind pass: the reviewer's own decisions)
    mine = latest[latest["sample_id"].astype(str).isin(set(g.members))].set_index("sample_id")
    st.session_state[SEEN] = {m: (int(mine.at[m, "event_id"]) if m in mine.index else None) for m in g.members}
    flags = " · ".join(t for t, on in (("**label conflict**", g.conflict), ("**train/test leak**", g.leak)) if on)
    with st.container(border=True, key="dup_group"):
        st.markdown(f"**Duplicate group** · {len(g.members)} faces" + (f" · {flags}" if flags else "")
                    + f"  \n{ui.md_escape(g.detail)}")
        shown = ctx.shown
        srcs = loaders.thumbs(dataset, tuple(g.members[:SHOWN]))
        cells = []
        for m, src in zip(g.members[:SHOWN], srcs):
            lab, split = labels[m] or "?", splits[m] or "?"
            dec = describe(mine.at[m, "action"], mine.at[m, "new_label"]) if m in mine.index else "undecided"
            here = "▶ " if m == sid else ""
            img = (f'<img src="{src}" width="64" height="64" style="image-rendering:pixelated;border-radius:4px"/>'
                   if src else '<div style="width:64px;height:64px;background:#eee"></div>')
            cells.append(f'<figure class="fer-dup" data-sample="{html_text(shown.token(m))}" style="margin:0;width:96px;'
                         f'text-align:center">{img}<figcaption style="font-size:11px;line-height:1.25">'
                         f'{html_text(here + shown(m))}<br>{badge(lab, ctx.classes)} {html_text(split)}<br>'
                         f'<i>{html_text(dec)}</i></figcaption></figure>')
        st.markdown('<div style="display:flex;gap:8px;flex-wrap:wrap">' + "".join(cells) + "</div>",
                    unsafe_allow_html=True)
        if len(g.members) > SHOWN:
            st.caption(f"… and {len(g.members) - SHOWN:,} more faces in this group (all of them are decided together).")
        _buttons(ctx, g, sid, labels, splits)


def _buttons(ctx: Ctx, g: Group, sid: str, labels: dict[str, str], splits: dict[str, str]) -> None:
    at = (ctx, g, sid, labels, splits)
    others = len(g.members) - 1
    row = st.container(horizontal=True, gap="small")
    row.button(f"Keep this face, remove the other {others}", key="grp_keep_one", shortcut="d",
               on_click=_apply, args=(*at, "keep_one"), kwargs={"keep": sid},
               help="One decision for the group: this face stays once (d). Undo (z) reverts the whole group.")
    row.button(f"Remove all {len(g.members)}", key="grp_remove_all", on_click=_apply,
               args=(*at, "remove_all"), help="Every copy goes: neither label can be trusted.")
    if g.leak:
        for side, word in (("test", "test"), ("train", "train")):
            n = sum(s == side for s in splits.values())
            if n:
                row.button(f"Remove from {word} ({n})", key=f"grp_remove_{side}", on_click=_apply,
                           args=(*at, "remove_split"), kwargs={"side": side},
                           help=f"The {word} copies go; the others stay (a face the model trains on is not tested on).")
    pick = st.container(horizontal=True, gap="small", vertical_alignment="bottom")
    pick.selectbox("Relabel the whole group to", ctx.classes, index=None, key=TARGET, placeholder="a class…",
                   width=240)
    pick.button(f"Relabel all {len(g.members)}", key="grp_relabel_all", on_click=_apply,
                args=(*at, "relabel_all"))


def _apply(ctx: Ctx, g: Group, sid: str, labels: dict[str, str], splits: dict[str, str], how: str, **kw) -> None:
    """Record one group decision (all or none), then say what was saved and move on if this face was decided."""
    if how == "relabel_all":
        kw["new_label"] = st.session_state.get(TARGET)
        if not kw["new_label"]:
            st.session_state[ERROR] = "Not saved: choose the class to relabel the group to first."
            return
    members = [m for m in g.members if m != sid] + [sid]      # this face's decision last: undo returns to it
    decisions = group_decisions(members, how, labels, reviewer=ui.reviewer(), session=ui.session_id(),
                                splits=splits, **kw)
    if not decisions:
        st.session_state[FLASH] = "Nothing to decide: no face of this group is in that split."
        return
    seen = st.session_state.get(SEEN) or {}
    try:
        record_batch(ctx.audit, decisions, {d.sample_id: seen.get(d.sample_id) for d in decisions},
                     expect_own=ctx.view.expect_own)
    except StaleDecision as e:
        st.session_state[ERROR] = (f"Not saved: {e}, in another tab or by another reviewer. The group is shown "
                                   "as it is now: decide it again.")
        return
    except Exception as e:  # noqa: BLE001 - said on the page, nothing recorded
        st.session_state[ERROR] = f"Not saved: {e}"
        return
    counts: dict[str, int] = {}
    for d in decisions:
        counts[describe(d.action, d.new_label)] = counts.get(describe(d.action, d.new_label), 0) + 1
    said = ", ".join(f"{k} {n}" for k, n in counts.items())
    st.session_state[FLASH] = f"Saved for the duplicate group: {said} · one undo (z) reverts them all"
    if any(d.sample_id == sid for d in decisions):
        advance(ctx, sid)
