"""The Gallery page: a grid of suspects narrowed by class, decision status, any metadata column of the
dataset and a lasso or box selection on the embedding map; several faces selected at once get one
action (relabel, keep, remove, unsure), undone as one step. During a blind second pass (turned on on the
Review page, app.components.blind) the badges, the status filter, the map's decision colouring and the
batch checks use only the reviewer's own decisions."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app.components import blind, charts, display_ids, loaders, reviewer, ui, wording
from app.components.batch import batch_decisions, record_batch
from app.components.gallery import GalleryFilter, gallery_faces, metadata_columns
from app.components.review_queue import issue_choices
from data_tools.audit import StaleDecision
from data_tools.issues.by_sample import first_issue, ids_with, names_of
from data_tools.rundir import RunDir

COLS, ROWS = 6, 4                      # one page of the grid
THUMB = 112                            # px
SELECTED, MAP_IDS, DRAWN, MSG = "gallery_selected", "gallery_map_ids", "gallery_drawn", "gallery_msg"
CURSOR = "gallery_cursor"              # the keyboard cursor: the sample id of the face it is on (▶)
ACTIONS = {"relabel": "Relabel to", "keep": "Keep the label", "remove": "Remove", "unsure": "Unsure"}


def render() -> None:
    run = ui.current_run()
    st.header("Gallery")
    if run is None:
        ui.empty_state("No run yet", "Train a model (or start the demo on the Review page) to fill the gallery.")
        return
    scores = loaders.load_scores(run)
    if scores is None or scores.empty:
        st.info("This run has no ranking yet.")
        return
    ui.score_notes(scores)
    ds_dir = loaders.run_dataset_dir(run)
    dataset = loaders.load_dataset(ds_dir) if ds_dir is not None else None
    classes = list(dataset.classes) if dataset is not None else loaders.run_classes(run)
    audit = ui.audit_for(run, ds_dir, classes)
    view = _decisions(audit)
    latest = view.latest()
    decided = set(latest["sample_id"])
    selected: set[str] = st.session_state.setdefault(SELECTED, set())

    bits = loaders.issue_bits(run, ds_dir, scores)          # each face's issue types (issue 23)
    f = _filters(classes, dataset, bits)
    if f.issues:
        f.issue_ids = ids_with(bits, f.issues)
    manifest = dataset.manifest if dataset is not None else None
    in_view = set(gallery_faces(scores, manifest, decided, f)["sample_id"].astype(str))   # the filters alone
    _map(run, scores, classes, display_ids.shown_for(dataset), latest=latest, in_view=in_view, bits=bits)
    f.only = st.session_state.get(MAP_IDS)
    faces = gallery_faces(scores, dataset.manifest if dataset is not None else None, decided, f)
    msg = st.session_state.pop(MSG, None)
    if msg:
        (st.error if msg.startswith("Not saved") else st.success)(ui.md_escape(msg))
    _action_bar(audit, scores, classes, selected, faces, view, display_ids.shown_for(dataset))
    _grid(faces, dataset, latest, selected, bits)


def _decisions(audit) -> blind.Decisions:
    """What the Gallery may show of the audit: everything, or during this session's blind second pass
    (the Review page's sidebar) only the reviewer's own decisions, said in a caption."""
    from app.components.review_queue import BLIND
    first, me = st.session_state.get(BLIND), ui.reviewer()
    if not first or first == me:
        return blind.Decisions(audit)
    st.caption(f"Blind second pass over {ui.md_escape(first)}'s faces (turned on on the Review page): only your "
               "own decisions are shown here.")
    return blind.Decisions(audit, own=me, blind_of=first)


def _filters(classes: list[str], dataset, bits: pd.Series | None = None) -> GalleryFilter:
    sb = st.sidebar
    sb.markdown("#### Gallery")
    given = sb.multiselect("Given class", classes, key="gal_given")
    pred = sb.multiselect("Predicted class", classes, key="gal_pred")
    kinds = issue_choices(bits)
    issues = sb.multiselect("Issue type", list(kinds), key="gal_issues", format_func=lambda k: f"{k} ({kinds.get(k, 0):,})",
                            disabled=not kinds, placeholder="any" if kinds else "no issues found")
    status = sb.radio("Show", ["undecided", "all", "decided"], key="gal_status", horizontal=True)
    meta: dict[str, list] = {}
    if dataset is not None:
        for col, values in metadata_columns(dataset.manifest).items():
            # a widget label is markdown, its options are plain text: each shown as typed
            meta[col] = sb.multiselect(ui.md_escape(col), values, key=f"gal_meta_{col}", format_func=str)
    return GalleryFilter(given=list(given), predicted=list(pred), status=status, metadata=meta,
                         issues=[k for k in issues if k in kinds])


MAP_TEXT = {"given": "label", "predicted": "pred", "decision": "decision", "issue type": "issue"}   # text colourings


def _map(run: RunDir, scores: pd.DataFrame, classes: list[str], shown=None, *, latest: pd.DataFrame | None = None,
         in_view: set[str] | None = None, bits: pd.Series | None = None) -> None:
    """The embedding map, coloured by any column (given, predicted, decision, any score), following the
    sidebar filters (faces they leave out are grey); a lasso or box selection narrows the gallery to
    those faces (issue 24: linked both ways)."""
    emb = loaders.load_embedding(run)
    n_map = len(st.session_state.get(MAP_IDS) or ())
    with st.expander(f"Embedding map: lasso or box to select faces ({n_map:,} selected)" if n_map
                     else "Embedding map: lasso or box to select faces", expanded=False):
        if emb is None or emb.empty:
            st.info("This run has no embedding map yet (it is written at the end of training).")
            return
        from app.components.queue import score_columns, with_decisions
        nums = score_columns(scores)
        by = st.selectbox("Colour the map by", list(MAP_TEXT) + nums, key="gal_map_color")
        col = MAP_TEXT.get(by, by)
        cols = ["sample_id", "label", "pred", "rank"] + ([col] if col not in ("label", "pred", "rank", "decision", "issue") else [])
        part = scores[[c for c in dict.fromkeys(cols) if c in scores.columns]]
        if col == "decision":
            part = with_decisions(part, latest if latest is not None else pd.DataFrame(columns=["sample_id"]))
            part["decision"] = part["decision"].replace("", "undecided")
        if col == "issue":                 # a face's first issue type (SAMPLE_ISSUES order), "none" without one
            b = (bits if bits is not None else pd.Series(dtype="int64")).reindex(part["sample_id"].astype(str))
            part = part.assign(issue=[first_issue(v) for v in b.fillna(0).astype("int64")])
        emb = emb.merge(part, on="sample_id", how="inner")
        fig = charts.embedding_by(emb, col, classes, in_view=in_view, shown=shown,
                                  title=f"Embedding coloured by {by}: lasso or box to select faces")
        state = st.plotly_chart(fig, key="gal_embedding", on_select="rerun", selection_mode=("lasso", "box"))
        tokens = _selected_ids(state)             # link tokens (display_ids): back to the ids
        ids = (shown or display_ids.Shown()).ids_of(tokens, emb["sample_id"]) if tokens else set()
        if ids:
            st.session_state[MAP_IDS] = ids
        if st.session_state.get(MAP_IDS) and st.button("Show every face (clear the map selection)", key="gal_map_clear"):
            st.session_state.pop(MAP_IDS, None)
            st.rerun()


def _selected_ids(state) -> set[str]:
    try:
        pts = state.selection.points if hasattr(state, "selection") else state["selection"]["points"]
    except (KeyError, TypeError, AttributeError):
        return set()
    out = set()
    for p in pts or []:
        cd = p.get("customdata") if isinstance(p, dict) else None
        if cd is not None:
            out.add(str(cd[0] if isinstance(cd, (list, tuple)) else cd))
    return out


def _action_bar(audit, scores: pd.DataFrame, classes: list[str], selected: set[str], faces: pd.DataFrame,
                view: blind.Decisions, show_id: display_ids.Shown) -> None:
    shown = faces["sample_id"].tolist()
    bar = st.container(horizontal=True, gap="small", vertical_alignment="bottom")
    bar.markdown(f"**{wording.count(len(faces), 'face')}** · **{len(selected):,} selected**")
    bar.caption(reviewer.caption(ui.md_escape))        # who the decisions are recorded under (issue 24 item 7)
    if bar.button(f"Select all {len(shown):,}", key="gal_select_all", disabled=not shown):
        selected.update(shown)
        _sync_boxes(selected)
        st.rerun()
    if bar.button("Clear selection", key="gal_clear", disabled=not selected):
        selected.clear()
        _sync_boxes(selected)
        st.rerun()
    action = bar.selectbox("Action", list(ACTIONS), format_func=ACTIONS.get, key="gal_action")
    target = None
    if action == "relabel":
        target = bar.selectbox("New label (type to search)", classes, key="gal_target", index=None,
                               placeholder="type a class name…")
    ready = bool(selected) and (action != "relabel" or target is not None)
    if bar.button(f"Apply to {len(selected):,} selected", key="gal_apply", type="primary", disabled=not ready):
        _apply(audit, scores, sorted(selected), action, target, view.expect_own, show_id)
    bar.button("Undo last action", key="gal_undo", on_click=_undo, args=(audit, show_id))


def _apply(audit, scores: pd.DataFrame, ids: list[str], action: str, target: str | None,
           expect_own: bool = False, shown: display_ids.Shown | None = None) -> None:
    labels = dict(zip(scores["sample_id"].astype(str), scores["label"].astype(str)))
    decisions = batch_decisions(ids, action, target, labels, reviewer=ui.reviewer(), session=ui.session_id())
    drawn = st.session_state.get(DRAWN, {})
    try:        # all or none, and only if no face's decision changed since this page drew it
        record_batch(audit, decisions, {sid: drawn.get(sid) for sid in ids}, expect_own=expect_own)
    except StaleDecision as e:
        sid = (shown or display_ids.Shown())(e.sample_id)
        st.session_state[MSG] = (f"Not saved: sample {sid} was decided meanwhile (now: {e.now}), in another tab "
                                 "or by another reviewer, since this page "
                                 "was drawn. Nothing was applied; the gallery shows the decisions now: apply again.")
        st.rerun()
    n_relabel = sum(d.action == "relabel" for d in decisions)
    what = {"relabel": f"relabelled to {target}", "keep": "kept", "remove": "removed", "unsure": "marked unsure"}[action]
    extra = f" ({len(ids) - n_relabel} already {target}: kept)" if action == "relabel" and n_relabel < len(ids) else ""
    st.session_state[MSG] = f"Saved: {len(ids)} face(s) {what}{extra}, as one action (Undo last action reverts it)."
    st.session_state[SELECTED] = set()
    _sync_boxes(set())
    st.rerun()


def _undo(audit, shown: display_ids.Shown) -> None:
    undone = audit.undo(session=ui.session_id(), by=ui.reviewer())
    if undone is None:
        st.session_state[MSG] = "Nothing to undo in this tab."
    else:
        n = undone.get("batch", 1)
        st.session_state[MSG] = f"Undone: {n} decision(s) of your last action (sample {shown(undone['sample_id'])}" + \
            (" and the others made with it)." if n > 1 else ").")


TOKENS = "gallery_tokens"      # sample_id -> its link token (display_ids), for the grid's widget keys


def _box(sid: str) -> str:
    """A face's checkbox key: by its link token, never a masked id's text (a key reaches the browser)."""
    return f"gal_box_{st.session_state.get(TOKENS, {}).get(sid, sid)}"


def _sync_boxes(selected: set[str]) -> None:
    """The grid's checkboxes follow the selection after 'select all' / 'clear' / an action."""
    back = {t: s for s, t in st.session_state.get(TOKENS, {}).items()}
    for k in [k for k in st.session_state if str(k).startswith("gal_box_")]:
        tok = k[len("gal_box_"):]
        st.session_state[k] = back.get(tok, tok) in selected


def _toggle(sid: str) -> None:
    selected: set[str] = st.session_state.setdefault(SELECTED, set())
    (selected.add if st.session_state.get(_box(sid)) else selected.discard)(sid)


def _grid(faces: pd.DataFrame, dataset, latest: pd.DataFrame, selected: set[str], bits: pd.Series | None = None) -> None:
    if faces.empty:
        st.info("No face matches these filters.")
        return
    per_page = COLS * ROWS
    pages = (len(faces) - 1) // per_page + 1
    page = st.number_input(f"Page (of {pages:,})", min_value=1, max_value=pages, value=1, step=1, key="gal_page")
    view = faces.iloc[(int(page) - 1) * per_page:int(page) * per_page]
    cursor = _keys(view["sample_id"].astype(str).tolist())
    by_id = latest.set_index("sample_id") if not latest.empty else None
    st.session_state[DRAWN] = {sid: (int(by_id.at[sid, "event_id"]) if by_id is not None and sid in by_id.index
                                     else None) for sid in faces["sample_id"]}
    paths = _paths(dataset, view["sample_id"].tolist())
    shown = display_ids.shown_for(dataset)        # no class name from the id where the truth is known
    tokens = st.session_state.setdefault(TOKENS, {})
    tokens.update({str(s): shown.token(s) for s in view["sample_id"]})
    for start in range(0, len(view), COLS):
        cols = st.columns(COLS, gap="small")
        for col, (_, r), path in zip(cols, view.iloc[start:start + COLS].iterrows(), paths[start:start + COLS]):
            sid = str(r["sample_id"])
            with col.container(border=True, key=f"gal_cell_{tokens[sid]}"):
                png = loaders.thumbnail(path, THUMB) if path is not None else None
                if png:
                    st.image(png, width=THUMB)
                else:
                    st.caption("(no image)")
                d = by_id.loc[sid] if by_id is not None and sid in by_id.index else None
                dec = "" if d is None else (f" · **{ui.md_escape(d['action'])}**" +
                                            (f" → {ui.md_escape(d['new_label'])}" if d["action"] == "relabel" else ""))
                mark = "▶ " if sid == cursor else ""
                st.markdown(f"{mark}#{int(r['rank']):,} · {ui.md_escape(r['label'])} → {ui.md_escape(r['pred'])}{dec}")
                issues = names_of(bits.get(sid, 0)) if bits is not None and len(bits) else ""
                if issues:
                    st.caption(ui.md_escape(issues))
                key = _box(sid)
                if key not in st.session_state:
                    st.session_state[key] = sid in selected
                st.checkbox(ui.md_escape(shown(sid)), key=key, on_change=_toggle, args=(sid,))   # issue 24 item 6


def _keys(ids: list[str]) -> str | None:
    """Keyboard navigation in the grid (issue 24): ←/→ the previous / next face, ↑/↓ a row up / down,
    `s` selects or unselects the face under the cursor (▶), `o` opens it on the Review page. The cursor
    starts on the page's first face and stays on its face while it is on the page."""
    cur = st.session_state.get(CURSOR)
    if cur not in ids:
        cur = ids[0] if ids else None
        st.session_state[CURSOR] = cur
    row = st.container(horizontal=True, gap="small", vertical_alignment="center")
    for key, label, step, short in (("gal_key_left", "←", -1, "Left"), ("gal_key_right", "→", 1, "Right"),
                                    ("gal_key_up", "↑", -COLS, "Up"), ("gal_key_down", "↓", COLS, "Down")):
        row.button(label, key=key, shortcut=short, on_click=_move, args=(ids, step), type="tertiary")
    row.button("Select ▶ (s)", key="gal_key_select", shortcut="s", on_click=_select_cursor, type="tertiary",
               disabled=cur is None)
    row.button("Open ▶ on Review (o)", key="gal_key_open", shortcut="o", type="tertiary", disabled=cur is None,
               on_click=_open_cursor)
    row.caption("Keys: ← → ↑ ↓ move the cursor ▶ · `s` selects it · `o` opens it on the Review page")
    if st.session_state.pop("gallery_open", False) and cur is not None:
        st.switch_page(ui.PAGES["review"])
    return cur


def _move(ids: list[str], step: int) -> None:
    cur = st.session_state.get(CURSOR)
    i = ids.index(cur) if cur in ids else 0
    if ids:
        st.session_state[CURSOR] = ids[min(max(i + step, 0), len(ids) - 1)]


def _select_cursor() -> None:
    sid = st.session_state.get(CURSOR)
    if sid is None:
        return
    selected: set[str] = st.session_state.setdefault(SELECTED, set())
    (selected.discard if sid in selected else selected.add)(sid)
    st.session_state[_box(sid)] = sid in selected


def _open_cursor() -> None:
    from app.components.decisions import GOTO
    sid = st.session_state.get(CURSOR)
    if sid is not None:
        st.session_state[GOTO] = sid
        st.session_state["gallery_open"] = True


def _paths(dataset, ids: list[str]) -> list:
    if dataset is None:
        return [None] * len(ids)
    m = dataset.manifest.drop_duplicates("sample_id").set_index("sample_id")["path"]
    out = []
    for sid in ids:
        try:
            out.append(loaders.image_file(dataset, m[sid]) if sid in m.index else None)
        except ValueError:
            out.append(None)
    return out


if __name__ == "__main__":   # Streamlit runs a page as __main__; an import (a test) draws nothing
    with ui.guarded("The Gallery page"):
        render()
