"""The Review page's current face: its heading, labels and decision status (`face_head`, drawn before
anything slow), then the four CAM panels, numbers, probabilities, history and votes (`face_detail`)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from app.components import cams, charts, dup_group, loaders, navigation, ui
from app.components.decisions import CURRENT, DRAWN, ERROR, FLASH, Ctx
from app.components.palette import badge
from app.components.safetext import html_text


def face_head(ctx: Ctx) -> tuple | None:
    """Messages, the heading, the labels and the decision status of the current face; what the rest
    of the face needs (sid, row, given, pred), or None when there is no face to show."""
    msg, err = st.session_state.pop(FLASH, None), st.session_state.pop(ERROR, None)
    if err:                        # messages quote sample ids, labels and errors: shown as typed
        st.error(ui.md_escape(err))
    if msg:
        st.toast(ui.md_escape(msg), icon=":material/check_circle:")
    sid = st.session_state.get(CURRENT)
    view = ctx.view
    # the pass is done when every face of its queue is decided (the queue is built by the full page run;
    # a key reruns only the fragment, so faces decided since are still in it)
    if view.blind and (ctx.queue is None or not set(ctx.queue["sample_id"]) - view.decided()):
        if ctx.queue is not None and not ctx.queue.empty:
            st.rerun()          # the whole page: the sidebar's counts and kappa, the empty queue
        st.success(f"Blind pass done: you have decided every face of {ui.md_escape(view.blind_of)}'s that you "
                   "had not decided. Turn the pass off in the sidebar to see both decisions, Cohen's κ and "
                   "the disagreements.")
        return None
    if sid is None or sid not in ctx.scores.index:
        st.success("Nothing to review with these filters. Clear them in the sidebar, or export on the Export page.")
        return None
    navigation.sync_url(sid, ctx.run.name, ctx.shown)
    row = ctx.scores.loc[sid]
    given, pred = str(row["label"]), str(row["pred"])
    decision = view.decision(sid)          # a blind pass: the reviewer's own decision, never another's
    st.session_state[DRAWN] = (sid, decision["event_id"] if decision else None)   # what a decision replaces
    n_decided = view.count()

    navigation.stayed_notice(sid, ctx.scores)
    # the status sits under the heading, on the left: the toast (top right) never covers it
    st.subheader(f"Sample {ui.md_escape(ctx.shown(sid))}", anchor=False)
    done = (f"{n_decided:,} of {len(ctx.scores):,} faces decided" if not view.blind else
            f"blind pass over {ui.md_escape(view.blind_of)}'s faces: {n_decided:,} decided by you, "
            "only your own decisions shown")
    st.markdown(f"given {badge(given, ctx.classes)} &nbsp; predicted {badge(pred, ctx.classes)} &nbsp; · &nbsp; "
                + _decision_text(decision) + f" &nbsp; · &nbsp; {done}", unsafe_allow_html=True)
    return sid, row, given, pred


def face_detail(ctx: Ctx, dataset, sid: str, row: pd.Series, given: str, pred: str) -> None:
    """The four CAM panels, numbers, probabilities, history and votes of the current face."""
    path = _path_of(dataset, sid)
    exp, image = None, None
    has_model = ctx.run.has_checkpoint()     # a run made from imported predictions has no weights
    if path is not None and has_model:
        try:
            exp = cams.explain(ctx.run, path, given, pred)      # the ranking's predicted class: one "predicted"
        except Exception as e:  # noqa: BLE001 - an unreadable image must not break the page
            st.warning(f"CAMs unavailable for this face: {ui.md_escape(e)}")
    if exp is None and path is not None:        # no model, the model code still loading, or CAMs failed
        image = cams.plain_image(path)
    c_cam, c_info = st.columns([1.1, 1], gap="medium")
    with c_cam:
        if has_model:
            mirror_back = st.toggle("Flip the mirrored CAM back (differences = asymmetry)", key="mirror_back",
                                    persist_state="session")
            cams.four_panels(exp, given, pred, image, mirror_back=mirror_back)
        else:
            if image is not None:
                st.image(image, width=cams.PANEL, caption="the face")
            st.caption("No CAM panels: this run has no model checkpoint (it was made from imported "
                       "predictions); its ranking is cleanlab's score of those probabilities.")
        dup_group.duplicate_group(ctx, dataset, sid)     # shares its pixels with other faces (issue 23)
        _zoom(path)
        _faces_like(ctx, dataset, sid, given)
    with c_info:
        fc = row.get("flip_consistency")
        if exp is not None:
            fc = exp.flip_consistency_given if exp.flip_consistency_given is not None else exp.flip_consistency
        st.markdown(" · ".join([
            f"p(given) **{_num(row.get('p_label'), '.2f')}**",
            f"suspicion **{_num(row.get('suspicion'), '.3f')}**",
            f"rank **{_num(row.get('rank'), ',.0f')}**",
            f"flip-consistency error **{_num(fc, '.4f')}**"]),
            help="Flip-consistency error of the given class: mean squared difference between the CAM of "
                 "the image and the flipped-back CAM of the mirrored image. High = the model looks at "
                 "different places when the face is mirrored.")
        st.caption(_source_line(ctx, exp, pred))   # always one line: nothing moves between faces
        probs = {c: float(row[f"prob_{c}"]) for c in ctx.classes if f"prob_{c}" in row.index}
        if not probs and exp is not None:
            probs = dict(zip(ctx.classes, map(float, np.asarray(exp.probs))))
        st.markdown(charts.probability_bars_html(probs, ctx.classes, given, pred), unsafe_allow_html=True)
        hist = loaders.sample_history(ctx.run, sid)
        ep = hist["epoch"].tolist() if "epoch" in hist.columns else []
        pl = hist["p_label"].tolist() if "p_label" in hist.columns else []
        st.markdown(charts.sparkline_svg(ep, pl, title=f"p({given}) across epochs"), unsafe_allow_html=True)
        votes = loaders.votes(dataset)
        if votes is not None and sid in votes.index:
            v = votes.loc[sid]
            st.caption("Annotator votes: " + " · ".join(f"{ui.md_escape(k[5:])} {int(n)}" for k, n in v.items() if n > 0))
        _history(ctx, sid)


ZOOM = "review_zoom"          # the full-size view of the face (off by default: it costs nothing then)
NEIGHBOURS = 8               # faces like this


def _zoom(path: Path | None) -> None:
    """The face at its own resolution, enlarged by a whole factor to at least 512 px (every pixel shown)."""
    if path is None or not st.toggle("Zoom: the face at full size", key=ZOOM, persist_state="session"):
        return
    img = cams.plain_image(path)
    if img is None:
        st.caption("Zoom: this image cannot be read.")
        return
    h, w = img.shape[:2]
    factor = max(1, 512 // max(w, 1))
    st.image(img, width=w * factor, caption=f"full size: {w}×{h} px, shown ×{factor}")


def _faces_like(ctx: Ctx, dataset, sid: str, given: str) -> None:
    """The face's nearest neighbours in the learned embedding with their given labels: the evidence
    behind the kNN signal (loaders.faces_like; the 2-D map where the run kept no features.npy)."""
    near, how = loaders.faces_like(ctx.run, sid, NEIGHBOURS)
    if near is None or near.empty:
        st.caption("Faces like this: this run keeps no embedding (no features.npy, no embedding.parquet).")
        return
    labels = ctx.scores["label"].reindex(near["sample_id"]).astype(object).where(lambda v: v.notna(), "?").tolist()
    same = sum(lab == given for lab in labels)
    where = ("cosine similarity in the learned embedding" if how == "features" else
             "nearest on the 2-D map (this run has no features.npy: the map distorts distances, a rough guide)")
    st.markdown(f"**Faces like this** · {same} of {len(labels)} nearest are labelled "
                f"{badge(given, ctx.classes)} like this face · {where}", unsafe_allow_html=True)
    srcs = loaders.thumbs(dataset, tuple(near["sample_id"])) if dataset is not None else [None] * len(near)
    cells = []
    for sid_n, lab, sim, src in zip(near["sample_id"], labels, near["similarity"], srcs):
        # drawn and linked as the page draws ids (display_ids): never the id text where it is masked
        name, token = html_text(ctx.shown(sid_n)), html_text(ctx.shown.token(sid_n))
        img = (f'<img src="{src}" width="56" height="56" style="image-rendering:pixelated;border-radius:4px" '
               f'title="{name}" alt="{name}"/>' if src else
               f'<div style="width:56px;height:56px;background:#eee" title="{name}"></div>')
        value = f"{sim:.2f}" if how == "features" else f"{-sim:.2f} away"
        cells.append(f'<figure class="fer-like" data-sample="{token}" style="margin:0;width:60px;'
                     f'text-align:center">{img}<figcaption style="font-size:11px;line-height:1.2">'
                     f'{badge(lab, ctx.classes)}<br>{value}</figcaption></figure>')
    st.markdown('<div style="display:flex;gap:6px;flex-wrap:wrap">' + "".join(cells) + "</div>",
                unsafe_allow_html=True)


def _source_line(ctx: Ctx, exp, pred: str) -> str:
    """Where "predicted" comes from (issue 24 §2): the ranking's scores, everywhere on the page (heading,
    CAM captions, bars, Accept); the CAMs are drawn by the latest checkpoint for that class. Said when the
    checkpoint is newer than the ranking and predicts otherwise."""
    live = _pred_of(exp, pred) if exp is not None else pred
    if live == pred:
        return "\u00a0"
    status = ctx.ranking or {}
    ck = getattr(exp, "epoch", None)
    ck_text = f"the checkpoint of epoch {ck}" if ck is not None else "the latest checkpoint"
    return (f"\"predicted\" on this page is the ranking's (**{ui.md_escape(pred)}**, "
            f"{ui.md_escape(loaders.ranking_text(status))}); the CAMs are drawn by {ck_text}, which now "
            f"predicts **{ui.md_escape(live)}**.")


def _num(v, fmt: str) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return "–"
    return "–" if not np.isfinite(f) else format(f, fmt)


def _pred_of(exp, fallback: str) -> str:
    p = getattr(exp, "pred", None)
    if isinstance(p, str):
        return p
    return fallback


def _path_of(dataset, sid: str) -> Path | None:
    if dataset is None:
        return None
    rel = loaders.path_index(dataset).get(sid)
    if not rel:
        return None
    try:
        return loaders.image_file(dataset, rel)
    except ValueError as e:
        st.warning(f"Image path refused: {ui.md_escape(e)}")
        return None


def _history(ctx: Ctx, sid: str) -> None:
    """Who decided what and when on this face, newest first (undone and replaced decisions included)."""
    hist = ctx.view.history(sid)            # a blind pass: the reviewer's own events only
    if hist.empty:
        st.caption("Decision history: none yet.")
        return
    st.caption(f"Decision history ({len(hist)} event{'s' if len(hist) > 1 else ''}, newest first)")
    st.dataframe(hist.drop(columns=["event_id"]).rename(columns={"decided_at": "when (UTC)", "reviewer": "who"}),
                 hide_index=True, key="review_history", height=min(38 + 35 * len(hist), 220))


def _decision_text(d: dict | None) -> str:
    if not d:
        return "**Undecided**"
    what = ui.md_escape(d["action"]) + (f" → {ui.md_escape(d['new_label'])}" if d.get("new_label") else "")
    who = f" by {ui.md_escape(d['reviewer'])}" if d.get("reviewer") else ""
    note = f" · note: {ui.md_escape(d['note'])}" if d.get("note") else ""
    return f"**Decided: {what}**{who} · {str(d.get('decided_at', ''))[:19].replace('T', ' ')}{note}"
