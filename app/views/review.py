"""The Review page: ranked queue, the current face (four CAM panels, probabilities, history, votes),
one-key decisions committed to the audit before the toast, undo, prev/next and bulk accept."""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from app.components import cams, charts, keyguard, loaders, training, ui
from app.components.decisions import CURRENT, DRAWN, ERROR, FLASH, GOTO, QUEUE, Ctx, actions
from app.components.palette import badge
from app.components.queue import STATUSES, QueueFilter, bulk_candidates, filter_queue, score_columns, with_decisions
from data_tools.manifest import MANIFEST
from data_tools.rundir import RunDir

BULK, SYNCED = "review_bulk_preview", "review_url_samples"   # SYNCED: the ids this session put in the URL
RANKING, MOVED = "review_ranking", "review_moved"   # the ranking drawn last; where a re-rank took the reviewer
QUEUE_ROWS = 60           # rows of the queue table drawn (with thumbnails)
TIMING = bool(os.environ.get("FER_AUDIT_TIMING"))   # print per-face render times (for benchmarks)


def _mark(t0: float, what: str) -> None:
    """A timing line on stderr (FER_AUDIT_TIMING): ms since t0, and the wall clock (`at`, s since the
    epoch) that bench_review_scale.py lines up with the browser's navigation start."""
    if TIMING:
        print(f"[fer-audit] review {what}: {1000 * (time.perf_counter() - t0):.0f} ms at {time.time():.3f}",
              file=sys.stderr, flush=True)


def render() -> None:
    t0 = time.perf_counter()
    _mark(t0, "page start")
    keyguard.install()          # first: a key pressed before the buttons exist gets a notice
    keyguard.test_delay()
    run = ui.current_run()
    if run is None:
        from app.components import firstrun
        firstrun.welcome()
        return
    scores = loaders.load_scores(run)
    if scores is None or scores.empty:
        st.header("Review")
        training.waiting_for_scores(run)
        return
    _mark(t0, "scores loaded")
    ds_dir = _dataset_dir_of(run)
    classes = loaders.run_classes(run)       # dataset.json's: the manifest is read after the heading
    audit = ui.audit_for(run, ds_dir, classes)
    if "provisional" in scores.columns and bool(scores["provisional"].any()):
        training.provisional_banner(run, run.mtime("scores"))

    name = ui.reviewer()
    st.sidebar.caption(f"Reviewer: **{ui.md_escape(name)}**" if name else "Reviewer: (none) · set your name in Settings")
    f = _filters(scores, classes)
    latest = audit.latest()                 # re-read every run: another tab may have decided
    decided = set(latest["sample_id"])
    slim = _slim(run, scores, f)
    queue = filter_queue(slim, decided, f)
    ids = queue["sample_id"].tolist()
    st.session_state[QUEUE] = ids
    by_id = loaders.load_scores_by_id(run)
    ranking = (run.mtime("scores"), "provisional" in scores.columns and bool(scores["provisional"].any()))
    _resolve_current(by_id, ids, queue["sample_id"], decided, ranking)
    _mark(t0, "queue built")

    _review(Ctx(run=run, scores=by_id, dataset_dir=ds_dir, classes=classes, audit=audit, status=f.status,
                queue=queue, n_all=len(scores)))
    _mark(t0, "queue and face drawn")
    cams.poll_model_code()
    left, _ = st.columns([1.3, 2.7], gap="medium")
    with left:
        _bulk(slim, decided, audit, classes)


# -- helpers ------------------------------------------------------------------------------------
def _slim(run: RunDir, scores: pd.DataFrame, f: QueueFilter) -> pd.DataFrame:
    """Only the columns the queue needs: filtering and sorting 300k rows then copies 7 columns, not 40."""
    cols = [c for c in dict.fromkeys(["sample_id", "label", "pred", "suspicion", "rank", f.score_col, f.sort_by])
            if c in scores.columns]
    return _slim_cached(str(run), run.mtime("scores"), tuple(cols), scores)


@st.cache_resource(max_entries=8, show_spinner=False)
def _slim_cached(run: str, mt: float, cols: tuple[str, ...], _scores: pd.DataFrame) -> pd.DataFrame:
    return _scores[list(cols)].copy()


def _dataset_dir_of(run: RunDir) -> Path | None:
    ds_dir = loaders.run_dataset_dir(run)
    if ds_dir is None:
        st.warning("This run's config names no dataset: faces cannot be shown.")
    return ds_dir


def _dataset_of(ds_dir: Path | None):
    """The dataset (images and votes), None when it cannot be read (said in a warning). Its manifest is
    the slowest read of a fresh server's first page (303,500 rows: read and validated in ~0.8 s), so
    the face fragment reads it after the heading and the decision buttons, not before them."""
    if ds_dir is None:
        return None
    try:
        return loaders.load_dataset(ds_dir)
    except Exception as e:  # noqa: BLE001 - shown to the user, the rest of the page still works
        st.warning(f"Dataset {ui.md_code(ds_dir)} cannot be read ({ui.md_escape(e)}); faces cannot be shown.")
        return None


def _votes(dataset) -> pd.DataFrame | None:
    if dataset is None:
        return None
    cols = [c for c in dataset.manifest.columns if c.startswith("vote_")]
    if not cols:
        return None
    return _votes_cached(_dataset_key(dataset), dataset, tuple(cols))


@st.cache_resource(max_entries=2, show_spinner=False)
def _votes_cached(key: tuple[str, float], _dataset, cols: tuple[str, ...]) -> pd.DataFrame:
    m = _dataset.manifest
    v = m[list(cols)].apply(pd.to_numeric, errors="coerce").fillna(0)
    v.index = m["sample_id"].astype(str)
    return v


def _filters(scores: pd.DataFrame, classes: list[str]) -> QueueFilter:
    sb = st.sidebar
    sb.markdown("#### Queue")
    given = sb.multiselect("Given class", classes, key="qf_given", persist_state="session")
    pred = sb.multiselect("Predicted class", classes, key="qf_pred", persist_state="session")
    cols = score_columns(scores) or ["rank"]
    score_col = sb.selectbox("Score", [c for c in cols if c != "rank"] or cols, key="qf_score_col",
                             persist_state="session")
    rng = None
    if score_col in scores.columns and scores[score_col].notna().any():
        lo, hi = float(np.nanmin(scores[score_col])), float(np.nanmax(scores[score_col]))
        if hi > lo:
            key = f"qf_range_{score_col}"
            old = st.session_state.get(key)
            if old is not None and (old[0] < lo or old[1] > hi):   # a newer ranking moved the bounds
                del st.session_state[key]
            sel = sb.slider("Score range", lo, hi, (lo, hi), key=key)
            rng = None if sel == (lo, hi) else sel
    status = sb.radio("Show", STATUSES, index=0, key="qf_status", horizontal=True, persist_state="session")
    disagree = sb.toggle("Model disagrees with the label", key="qf_disagree", persist_state="session")
    sort_by = sb.selectbox("Sort by", cols, key="qf_sort", persist_state="session")
    desc = sb.toggle("Descending", key="qf_desc", persist_state="session")
    return QueueFilter(given=list(given), predicted=list(pred), score_col=score_col, score_range=rng,
                       status=status, disagree=disagree, sort_by=sort_by, descending=desc)


def _resolve_current(by_id: pd.DataFrame, ids: list[str], queue_ids: pd.Series, decided: set[str],
                     ranking: tuple) -> str | None:
    """?sample= wins (deep link, refresh), then the session's current face, then the queue head.
    When the ranking changed since this session last drew the page (a provisional ranking replaced
    by a newer or the final one), the reviewer is taken to the best undecided suspect of the new
    ranking, and offered the way back to the face they were on (issue 11 §1)."""
    before = st.session_state.get(RANKING)
    st.session_state[RANKING] = ranking
    goto = st.session_state.pop(GOTO, None)          # sent here by another page (Insights' map)
    wanted = goto or st.query_params.get("sample")
    if goto is None and wanted is not None and wanted in st.session_state.get(SYNCED, ()):
        # the URL only echoes a face this session showed: the session leads. A rerun can carry the
        # browser's previous URL (a key pressed, then the model code arrives), which named the face
        # just decided: taking that as a deep link sent the reviewer back to it
        wanted = None
    if wanted is not None and wanted not in by_id.index:
        st.warning(f"Sample {ui.md_escape(wanted)} is not in this run's ranking; showing the queue instead.")
        wanted = None
    cur = wanted
    if cur is None:  # no deep link: stay on the session's face while it is in the (filtered) queue
        cur = st.session_state.get(CURRENT)
        best = next((i for i in ids if i not in decided), None)
        if before is not None and before != ranking and cur is not None and best is not None and cur != best:
            rank = by_id.at[cur, "rank"] if cur in by_id.index and "rank" in by_id.columns else None
            st.session_state[MOVED] = {"from": cur, "to": best, "rank": rank, "final": not ranking[1]}
            cur = best
        if cur is None or not (queue_ids == cur).any():
            cur = ids[0] if ids else None
    st.session_state[CURRENT] = cur
    return cur


def _moved_notice(ctx: Ctx, sid: str) -> None:
    """After a re-rank: say where the reviewer was taken and offer the way back (shown until they move)."""
    moved = st.session_state.get(MOVED)
    if not moved or moved["to"] != sid:
        st.session_state.pop(MOVED, None)
        return
    which = "final" if moved["final"] else "newer provisional"
    rank = moved["rank"]
    where = f" (rank {int(rank):,} of the new ranking)" if rank is not None and pd.notna(rank) else ""
    c1, c2 = st.columns([4, 1], vertical_alignment="center")
    c1.info(f"The {which} ranking arrived: this is its best undecided suspect. You were on sample "
            f"{ui.md_escape(moved['from'])}{where}.", icon=":material/swap_vert:")
    c2.button("Back to it", key="review_moved_back", on_click=_go_back, args=(moved["from"],))


def _go_back(sid: str) -> None:
    st.session_state.pop(MOVED, None)
    st.session_state[CURRENT] = sid


def _queue_table(queue: pd.DataFrame, latest: pd.DataFrame, dataset, current: str | None, n_all: int) -> None:
    """The queue around the current face: a window of QUEUE_ROWS rows starting just above it, the
    current row selected and marked ▶ (redrawn with the face after every key, so it follows the review)."""
    st.markdown(f"**Queue** · {len(queue):,} of {n_all:,} faces")
    if queue.empty:
        st.info("No face matches these filters.")
        return
    hits = np.flatnonzero(queue["sample_id"].to_numpy() == current) if current is not None else []
    pos = int(hits[0]) if len(hits) else None
    start = max(0, min((pos or 0) - 2, len(queue) - QUEUE_ROWS))
    view = with_decisions(queue.iloc[start:start + QUEUE_ROWS], latest)
    table = pd.DataFrame({
        "▶": np.where(view["sample_id"].to_numpy() == current, "▶", ""),
        "face": _thumbs(dataset, tuple(view["sample_id"])) if dataset is not None else [None] * len(view),
        "sample": view["sample_id"].to_numpy(),
        "decision": view["decision"].to_numpy(),
        "given": view["label"].to_numpy(), "pred": view["pred"].to_numpy(),
        "suspicion": view["suspicion"].to_numpy() if "suspicion" in view.columns else np.nan,
    })
    key = f"review_queue_table_{current}"     # a new table per face: its default selection is the face

    def _picked() -> None:
        sel = st.session_state.get(key)
        rows = (sel or {}).get("selection", {}).get("rows", []) if isinstance(sel, dict) else \
            getattr(getattr(sel, "selection", None), "rows", [])
        if rows:
            st.session_state[CURRENT] = str(table["sample"].iloc[rows[0]])
            st.query_params["sample"] = st.session_state[CURRENT]

    here = [int(np.flatnonzero(table["▶"].to_numpy() == "▶")[0])] if pos is not None else []
    st.dataframe(table, hide_index=True, height=560, key=key, on_select=_picked,
                 selection_mode="single-row", row_height=52, selection_default={"selection": {"rows": here}},
                 # widths in px so that ▶, face, sample and decision fit the column at 1280-1600 px wide
                 column_config={"▶": st.column_config.TextColumn("", width=20),
                                "face": st.column_config.ImageColumn("face", width=44),
                                "sample": st.column_config.TextColumn("sample", width=108),
                                "decision": st.column_config.TextColumn("decision", width=96),
                                "given": st.column_config.TextColumn("given", width="small"),
                                "pred": st.column_config.TextColumn("pred", width="small"),
                                "suspicion": st.column_config.NumberColumn(format="%.3f", width="small")})
    where = f"face {pos + 1:,} of {len(queue):,}" if pos is not None else "the current face is not in this queue"
    st.caption(f"Rows {start + 1:,}–{start + len(view):,} · {where}; ← / → move through the queue.")


def _paths(dataset, sample_ids: pd.Series) -> list[Path | None]:
    m = _path_index(dataset)
    out = []
    for sid in sample_ids:
        rel = m.get(sid)
        try:
            out.append(loaders.image_file(dataset, rel) if rel else None)
        except ValueError:
            out.append(None)
    return out


@st.cache_resource(max_entries=4, show_spinner=False)
def _path_index_cached(key: tuple[str, float], _manifest: pd.DataFrame) -> pd.Series:
    s = pd.Series(_manifest["path"].to_numpy(), index=_manifest["sample_id"].to_numpy())
    return s[~s.index.duplicated()]


def _path_index(dataset) -> pd.Series:
    """sample_id -> manifest path (a Series: building it for 300k rows is ~10x faster than a dict)."""
    return _path_index_cached(_dataset_key(dataset), dataset.manifest)


def _dataset_key(dataset) -> tuple[str, float]:
    """A cache key that changes whenever the dataset's manifest does."""
    return str(dataset.root), loaders.mtime(Path(dataset.root) / MANIFEST)


def _thumbs(dataset, sample_ids: tuple[str, ...]) -> list[str | None]:
    """Data URLs of the queue thumbnails (one cache lookup for the whole page of the queue)."""
    return _thumbs_cached(_dataset_key(dataset), sample_ids, dataset)


@st.cache_data(max_entries=64, show_spinner=False)
def _thumbs_cached(key: tuple[str, float], sample_ids: tuple[str, ...], _dataset) -> list[str | None]:
    return [loaders.thumbnail_url(p, 48) if p is not None else None for p in _paths(_dataset, pd.Series(sample_ids))]


# -- bulk ---------------------------------------------------------------------------------------
def _bulk(scores: pd.DataFrame, decided: set[str], audit, classes: list[str]) -> None:
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
            _bulk_commit(audit, preview)
        if c2.button("Cancel", key="bulk_cancel"):
            st.session_state.pop(BULK, None)
            st.rerun()


def _bulk_commit(audit, preview: list[dict]) -> None:
    from data_tools.audit import Decision
    now_decided = set(audit.latest()["sample_id"])
    todo = [r for r in preview if r["sample_id"] not in now_decided]
    skipped = len(preview) - len(todo)
    reviewer, session = ui.reviewer(), ui.session_id()
    audit.record_many([Decision(r["sample_id"], "relabel", r["pred"], reviewer, "", "bulk accept", session)
                       for r in todo])
    st.session_state.pop(BULK, None)
    msg = f"Saved: {len(todo)} face(s) relabelled to the model's suggestion"
    if skipped:
        msg += f" ({skipped} skipped: decided meanwhile in another tab)"
    st.session_state[FLASH] = msg
    st.rerun()


# -- the queue and the current face (a fragment: a decision re-renders only these) -----------------
@st.fragment
def _review(ctx: Ctx) -> None:
    t0 = time.perf_counter()
    notice = st.empty()                 # the dataset's warning, above the columns
    left, right = st.columns([1.3, 2.7], gap="medium")
    with right:
        head, detail, keys = st.container(), st.container(), st.container()
    # drawn in the order a reviewer needs them, each in its place: the face's heading and the
    # decision buttons (so keys work at once, issue 11 §2), the dataset (its manifest), the queue,
    # then the CAMs (the slow part)
    shown = None
    with head, ui.guarded("This face"):
        shown = _face_head(ctx)
    if shown is not None:
        with keys, ui.guarded("The decision buttons"):
            actions(ctx, shown[2], shown[3])
    _mark(t0, "fragment: heading and buttons")
    with notice:
        dataset = _dataset_of(ctx.dataset_dir)
    _mark(t0, "fragment: dataset loaded")
    with left, ui.guarded("The queue"):
        _queue_table(ctx.queue, ctx.audit.latest(), dataset, st.session_state.get(CURRENT), ctx.n_all)
    _mark(t0, "fragment: queue table")
    if shown is not None:
        with detail, ui.guarded("This face"):
            _face_detail(ctx, dataset, *shown)
    _mark(t0, "fragment: the rest of the face")


def _face_head(ctx: Ctx) -> tuple | None:
    """Messages, the heading, the labels and the decision status of the current face; what the rest
    of the face needs, or None when there is no face to show."""
    msg, err = st.session_state.pop(FLASH, None), st.session_state.pop(ERROR, None)
    if err:                        # messages quote sample ids, labels and errors: shown as typed
        st.error(ui.md_escape(err))
    if msg:
        st.toast(ui.md_escape(msg), icon=":material/check_circle:")
    sid = st.session_state.get(CURRENT)
    if sid is None or sid not in ctx.scores.index:
        st.success("Nothing to review with these filters. Clear them in the sidebar, or export on the Export page.")
        return None
    if st.query_params.get("sample") != sid:
        st.query_params["sample"] = sid
    synced = st.session_state.setdefault(SYNCED, [])
    if sid not in synced:
        synced.append(sid)
        del synced[:-50]          # the recent faces are enough: an old id in the URL is a deep link
    if st.query_params.get("run") != ctx.run.name:
        st.query_params["run"] = ctx.run.name
    row = ctx.scores.loc[sid]
    given, pred = str(row["label"]), str(row["pred"])
    decision = ctx.audit.decision(sid)
    st.session_state[DRAWN] = (sid, decision["event_id"] if decision else None)   # what a decision replaces
    n_decided = ctx.audit.count()

    _moved_notice(ctx, sid)
    # the status sits under the heading, on the left: the toast (top right) never covers it
    st.subheader(f"Sample {ui.md_escape(sid)}", anchor=False)
    st.markdown(f"given {badge(given, ctx.classes)} &nbsp; predicted {badge(pred, ctx.classes)} &nbsp; · &nbsp; "
                + _decision_text(decision) + f" &nbsp; · &nbsp; {n_decided:,} of {len(ctx.scores):,} faces decided",
                unsafe_allow_html=True)
    return sid, row, given, pred


def _face_detail(ctx: Ctx, dataset, sid: str, row: pd.Series, given: str, pred: str) -> None:
    """The four CAM panels, numbers, probabilities, history and votes of the current face."""
    path = _path_of(dataset, sid)
    exp, image = None, None
    has_model = ctx.run.has_checkpoint()     # a run made from imported predictions has no weights
    if path is not None and has_model:
        try:
            exp = cams.explain(ctx.run, path, given)
        except Exception as e:  # noqa: BLE001 - an unreadable image must not break the page
            st.warning(f"CAMs unavailable for this face: {ui.md_escape(e)}")
    if exp is None and path is not None:        # no model, the model code still loading, or CAMs failed
        image = cams.plain_image(path)
    c_cam, c_info = st.columns([1.1, 1], gap="medium")
    with c_cam:
        if has_model:
            mirror_back = st.toggle("Flip the mirrored CAM back (differences = asymmetry)", key="mirror_back",
                                    persist_state="session")
            cams.four_panels(exp, given, pred if exp is None else _pred_of(exp, pred), image,
                             mirror_back=mirror_back)
        else:
            if image is not None:
                st.image(image, width=cams.PANEL, caption="the face")
            st.caption("No CAM panels: this run has no model checkpoint (it was made from imported "
                       "predictions); its ranking is cleanlab's score of those probabilities.")
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
        live_pred = _pred_of(exp, pred) if exp is not None else pred
        st.caption(f"The latest checkpoint predicts **{ui.md_escape(live_pred)}**; the ranking's suggestion is "
                   f"**{ui.md_escape(pred)}**."
                   if live_pred != pred else "\u00a0")   # always one line: nothing moves between faces
        probs = {c: float(row[f"prob_{c}"]) for c in ctx.classes if f"prob_{c}" in row.index}
        if not probs and exp is not None:
            probs = dict(zip(ctx.classes, map(float, np.asarray(exp.probs))))
        st.markdown(charts.probability_bars_html(probs, ctx.classes, given, pred), unsafe_allow_html=True)
        hist = loaders.sample_history(ctx.run, sid)
        ep = hist["epoch"].tolist() if "epoch" in hist.columns else []
        pl = hist["p_label"].tolist() if "p_label" in hist.columns else []
        st.markdown(charts.sparkline_svg(ep, pl, title=f"p({given}) across epochs"), unsafe_allow_html=True)
        votes = _votes(dataset)
        if votes is not None and sid in votes.index:
            v = votes.loc[sid]
            st.caption("Annotator votes: " + " · ".join(f"{ui.md_escape(k[5:])} {int(n)}" for k, n in v.items() if n > 0))
        _history(ctx, sid)


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
    rel = _path_index(dataset).get(sid)
    if not rel:
        return None
    try:
        return loaders.image_file(dataset, rel)
    except ValueError as e:
        st.warning(f"Image path refused: {ui.md_escape(e)}")
        return None


def _history(ctx: Ctx, sid: str) -> None:
    """Who decided what and when on this face, newest first (undone and replaced decisions included)."""
    hist = ctx.audit.history(sid)
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


if __name__ == "__main__":   # Streamlit runs a page as __main__; an import (a test) draws nothing
    with ui.guarded("The Review page"):
        render()
