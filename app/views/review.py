"""The Review page: ranked queue, the current face (four CAM panels, probabilities, history, votes),
one-key decisions committed to the audit before the toast, undo, prev/next and bulk accept.

The page only draws; what it shows and records lives beside it: the queue form and table
(components/review_queue.py), which face (components/navigation.py), the face (components/face.py),
the decision buttons (components/decisions.py), bulk accept (components/bulk.py, one audit batch), a
blind second pass (components/blind.py: what the page may show of the audit)."""
from __future__ import annotations

import time
from pathlib import Path

import streamlit as st

from app.components import blind, cams, display_ids, keyguard, loaders, navigation, review_queue, training, ui
from app.components.bulk import auto_fix, bulk_accept
from app.components.decisions import CURRENT, QUEUE, Ctx, actions
from app.components.face import face_detail, face_head
from app.components.queue import filter_queue
from app.components.timing import mark
from data_tools.issues.by_sample import ids_with
from data_tools.rundir import RunDir


def render() -> None:
    t0 = time.perf_counter()
    mark(t0, "page start")
    keyguard.install()          # first: a key pressed before the buttons exist gets a notice
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
    mark(t0, "scores loaded")
    ds_dir = _dataset_dir_of(run)
    classes = loaders.run_classes(run)       # dataset.json's: the manifest is read after the heading
    audit = ui.audit_for(run, ds_dir, classes)
    provisional = "provisional" in scores.columns and bool(scores["provisional"].any())
    status = loaders.ranking_status(run)      # ONE read of progress.json: the banner and the queue caption
    status["provisional"] = provisional
    if provisional:
        training.provisional_banner(run, run.mtime("scores"), status)
    ui.score_notes(scores, st.sidebar)

    name = ui.reviewer()
    st.sidebar.caption(f"Reviewer: **{ui.md_escape(name)}**" if name else "Reviewer: (none) · set your name in Settings")
    bits = loaders.issue_bits(run, ds_dir, scores)        # each face's issue types (issue 23)
    f = review_queue.filters(scores, classes, bits)
    if f.issues:
        f.only = ids_with(bits, f.issues)
    from data_tools.reviewers import current_decisions
    events = current_decisions(audit.events())        # re-read every run: another tab may have decided
    first = review_queue.blind_pass(events, name)     # a blind second pass over `first`'s faces, when on
    view = blind.Decisions(audit, own=name, blind_of=first) if first else blind.Decisions(audit)
    decided = view.decided()
    slim = review_queue.slim(run, scores, f)
    third_look = review_queue.two_reviewers(events, blind_on=first is not None)   # disagreements, when asked
    status_filter = f.status
    if first is not None or third_look is not None:
        from dataclasses import replace
        only = blind.queue_ids(events, first, name) if first is not None else third_look
        queue = filter_queue(slim[slim["sample_id"].isin(only)], set(), replace(f, status="all"))
        status_filter = "undecided" if first is not None else "all"     # a decided face leaves a blind pass
    else:
        queue = filter_queue(slim, decided, f)
    ids = queue["sample_id"].tolist()
    st.session_state[QUEUE] = ids
    by_id = loaders.load_scores_by_id(run)
    shown = display_ids.for_columns(scores.columns, classes)
    navigation.resolve_current(by_id, ids, queue["sample_id"], decided, (run.mtime("scores"), provisional), shown)
    mark(t0, "queue built")

    _review(Ctx(run=run, scores=by_id, dataset_dir=ds_dir, classes=classes, audit=audit, status=status_filter,
                queue=queue, n_all=len(scores), ranking=status, issue_bits=bits, view=view, shown=shown))
    mark(t0, "queue and face drawn")
    cams.poll_model_code()
    left, _ = st.columns(list(review_queue.QUEUE_SHARE), gap="medium")
    with left:
        if view.blind:      # decisions by the model's suggestion have no place in an independent second look
            st.caption("Bulk accept and auto-fix are off during a blind second pass.")
        else:
            bulk_accept(slim, decided, audit, shown)
            auto_fix(by_id, audit.latest(), audit)


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


# -- the queue and the current face (a fragment: a decision re-renders only these) -----------------
@st.fragment
def _review(ctx: Ctx) -> None:
    t0 = time.perf_counter()
    notice = st.empty()                 # the dataset's warning, above the columns
    left, right = st.columns(list(review_queue.QUEUE_SHARE), gap="medium")
    with right:
        head, detail, keys = st.container(), st.container(), st.container()
    # drawn in the order a reviewer needs them, each in its place: the face's heading and the
    # decision buttons (so keys work at once, issue 11 §2), the dataset (its manifest), the CAMs (usually
    # computed already: cams.prefetch), then the queue around the face
    shown = None
    with head, ui.guarded("This face"):
        shown = face_head(ctx)
    if shown is not None:
        with keys, ui.guarded("The decision buttons"):
            actions(ctx, shown[2], shown[3])
    mark(t0, "fragment: heading and buttons")
    with notice:
        dataset = _dataset_of(ctx.dataset_dir)
    mark(t0, "fragment: dataset loaded")
    if shown is not None:
        with detail, ui.guarded("This face"):
            face_detail(ctx, dataset, *shown)
    mark(t0, "fragment: the rest of the face")
    with left, ui.guarded("The queue"):
        review_queue.queue_table(ctx.queue, ctx.view.latest(), dataset, st.session_state.get(CURRENT), ctx.n_all,
                                 ranking=ctx.ranking, bits=ctx.issue_bits, shown=ctx.shown)
    mark(t0, "fragment: queue table")
    if shown is not None and dataset is not None:       # the next faces' CAMs, while this one is looked at
        cams.prefetch(ctx.run, _upcoming(ctx, dataset, shown[0]))


PREFETCH = 2        # faces ahead in the queue whose CAM panels are computed in the background


def _upcoming(ctx: Ctx, dataset, sid: str) -> list[tuple]:
    """(image path, given, predicted) of the next PREFETCH faces after `sid` in the queue (the undecided
    ones when the queue shows undecided faces): the faces a decision or → shows next."""
    ids = st.session_state.get(QUEUE, [])
    try:
        i = ids.index(sid)
    except ValueError:
        i = -1
    skip = ctx.view.decided() if ctx.status == "undecided" else set()
    nxt = [x for x in ids[i + 1:i + 1 + 4 * PREFETCH] if x not in skip and x in ctx.scores.index][:PREFETCH]
    paths = loaders.image_paths(dataset, nxt)
    return [(p, str(ctx.scores.at[x, "label"]), str(ctx.scores.at[x, "pred"])) for x, p in zip(nxt, paths) if p is not None]


if __name__ == "__main__":   # Streamlit runs a page as __main__; an import (a test) draws nothing
    with ui.guarded("The Review page"):
        render()
