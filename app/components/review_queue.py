"""The Review page's queue widgets: the sidebar filter form (a QueueFilter), the queue table around
the current face, and the two-reviewer panels (a blind second pass, Cohen's kappa and the disagreements
queued). What the filters mean is app.components.queue, what a blind pass is app.components.blind, what
the reviewers agree on data_tools.reviewers (pure functions)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from app.components import blind, display_ids, loaders
from app.components.decisions import CURRENT
from app.components.queue import STATUSES, QueueFilter, score_columns, with_decisions
from data_tools.issues.by_sample import BITS, names_of
from data_tools.rundir import RunDir

QUEUE_ROWS = 20           # rows of the queue table drawn (with thumbnails; ~10 show, scroll for the rest: 60 cost
#                           the key -> next face step ~30 ms in the browser, bench/results/review_latency_load.md)
# column widths in px: every column but `issues` (the last, scrolled to) fits the queue's column of the
# page at 1600 px wide ("relabel→surprise" whole; issue 24 item 5; test_browser_dup_group)
WIDTHS = {"▶": 20, "face": 44, "sample": 96, "decision": 104, "given": 62, "pred": 62, "suspicion": 66}
QUEUE_SHARE = (1.85, 2.15)    # the page's columns: the queue, the face


def filters(scores: pd.DataFrame, classes: list[str], bits: pd.Series | None = None) -> QueueFilter:
    """The sidebar's queue form: given and predicted class, issue type (the types `bits` has: faces per
    type in the options), a score and its range, decided or not, disagreement, sort order (kept per
    browser session)."""
    sb = st.sidebar
    sb.markdown("#### Queue")
    given = sb.multiselect("Given class", classes, key="qf_given", persist_state="session")
    pred = sb.multiselect("Predicted class", classes, key="qf_pred", persist_state="session")
    kinds = issue_choices(bits)
    issues = sb.multiselect("Issue type", list(kinds), key="qf_issues", persist_state="session",
                            format_func=lambda k: f"{k} ({kinds.get(k, 0):,})",
                            help="Faces with any of these issues: duplicates, leaks, conflicts and image "
                                 "problems found at import (issues.parquet), ambiguous faces from the ranking.",
                            disabled=not kinds, placeholder="any" if kinds else "no issues found")
    cols = score_columns(scores) or ["rank"]
    score_col = sb.selectbox("Score", _score_choices(cols), key="qf_score_col",
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
                       status=status, disagree=disagree, sort_by=sort_by, descending=desc,
                       issues=[k for k in issues if k in kinds])


def _score_choices(cols: list[str]) -> list[str]:
    return [c for c in cols if c != "rank"] or cols


def default_filter(scores: pd.DataFrame) -> QueueFilter:
    """The queue form as a new session first draws it (every widget at its first option): the queue
    the page builds first, and the one the server's warm start builds ahead of it (components/warm.py)."""
    cols = score_columns(scores) or ["rank"]
    return QueueFilter(score_col=_score_choices(cols)[0], sort_by=cols[0])


def issue_choices(bits: pd.Series | None) -> dict[str, int]:
    """Issue type -> faces that have it, for the types that occur (SAMPLE_ISSUES order)."""
    if bits is None or not len(bits):
        return {}
    v = bits.to_numpy()
    return {k: n for k, b in BITS.items() if (n := int(((v & b) != 0).sum()))}


def slim(run: RunDir, scores: pd.DataFrame, f: QueueFilter) -> pd.DataFrame:
    """Only the columns the queue needs (filtering and sorting 300k rows then copies 7 columns, not 40)."""
    return loaders.slim_scores(run, scores, ["sample_id", "label", "pred", "suspicion", "rank", f.score_col,
                                             f.sort_by])


def queue_table(queue: pd.DataFrame, latest: pd.DataFrame, dataset, current: str | None, n_all: int, *,
                ranking: dict | None = None, bits: pd.Series | None = None,
                shown: display_ids.Shown | None = None) -> None:
    """The queue around the current face: a window of QUEUE_ROWS rows starting just above it, the
    current row selected and marked ▶ (redrawn with the face after every key, so it follows the review).
    `latest` is the decisions the page may show (a blind pass: the reviewer's own); `shown` draws the
    ids (default: the dataset's drawing)."""
    shown = shown if shown is not None else display_ids.shown_for(dataset)
    which = ""
    if ranking is not None:                  # the banner's words, from the same read (issue 24 §2)
        which = f" · {loaders.ranking_text(ranking)}" + (" (provisional)" if ranking.get("provisional") else "")
    st.markdown(f"**Queue** · {len(queue):,} of {n_all:,} faces{which}")
    if queue.empty:
        st.info("No face matches these filters.")
        return
    hits = np.flatnonzero(queue["sample_id"].to_numpy() == current) if current is not None else []
    pos = int(hits[0]) if len(hits) else None
    start = max(0, (pos or 0) - 2)          # the face is the third row: in view without scrolling
    view = with_decisions(queue.iloc[start:start + QUEUE_ROWS], latest)
    table = pd.DataFrame({
        "▶": np.where(view["sample_id"].to_numpy() == current, "▶", ""),
        "face": loaders.thumbs(dataset, tuple(view["sample_id"])) if dataset is not None else [None] * len(view),
        "sample": view["sample_id"].map(shown).to_numpy(),                             # issue 24 item 6
        "decision": view["decision"].to_numpy(),
        "given": view["label"].to_numpy(), "pred": view["pred"].to_numpy(),
        "suspicion": view["suspicion"].to_numpy() if "suspicion" in view.columns else np.nan,
    })
    if bits is not None and len(bits):          # the issue types of each face (issue 23), when any were found
        table["issues"] = [names_of(b) for b in bits.reindex(view["sample_id"].astype(str)).fillna(0).astype(np.int64)]
    # a new table per face and per window (a newer ranking moves the window under the same face): its
    # default selection is the face, never the row the face had in the previous ranking. Keyed by a hash
    # of the id (a key reaches the browser; the id may name the face's true class, issue 24 item 6)
    key = f"review_queue_table_{display_ids.key_of(current) if current is not None else ''}_{start}"

    def _picked() -> None:
        sel = st.session_state.get(key)
        rows = (sel or {}).get("selection", {}).get("rows", []) if isinstance(sel, dict) else \
            getattr(getattr(sel, "selection", None), "rows", [])
        if rows:
            # the real id (the "sample" column may show a masked display id, issue 24 item 6)
            st.session_state[CURRENT] = str(view["sample_id"].iloc[rows[0]])
            st.query_params["sample"] = shown.token(st.session_state[CURRENT])      # its link token

    here = [int(np.flatnonzero(table["▶"].to_numpy() == "▶")[0])] if pos is not None else []
    st.dataframe(table, hide_index=True, height=560, key=key, on_select=_picked,
                 selection_mode="single-row", row_height=52, selection_default={"selection": {"rows": here}},
                 column_config={"▶": st.column_config.TextColumn("", width=WIDTHS["▶"]),
                                "face": st.column_config.ImageColumn("face", width=WIDTHS["face"]),
                                "sample": st.column_config.TextColumn("sample", width=WIDTHS["sample"]),
                                "decision": st.column_config.TextColumn("decision", width=WIDTHS["decision"]),
                                "given": st.column_config.TextColumn("given", width=WIDTHS["given"]),
                                "pred": st.column_config.TextColumn("pred", width=WIDTHS["pred"]),
                                "suspicion": st.column_config.NumberColumn(format="%.3f", width=WIDTHS["suspicion"]),
                                "issues": st.column_config.TextColumn(
                                    "issues", width="medium",
                                    help="Duplicates, leaks, conflicts and image problems found at import; "
                                         "ambiguous: the ranking spreads over two classes")})
    where = f"face {pos + 1:,} of {len(queue):,}" if pos is not None else "the current face is not in this queue"
    st.caption(f"Rows {start + 1:,}–{start + len(view):,} · {where}; ← / → move through the queue.")


BLIND = "review_blind_of"      # whose faces this session's blind pass goes over (the Gallery reads it too)


def blind_pass(events: pd.DataFrame, me: str) -> str | None:
    """The sidebar's blind second pass (issue 24), offered once another reviewer has decided faces:
    whose faces (when several reviewers have), and a toggle. While it is on, the queue is that
    reviewer's faces that `me` has not decided, and the Review and Gallery pages show only `me`'s own
    decisions (app.components.blind). Returns the first reviewer's name while the pass is on."""
    from app.components.safetext import md_escape
    names = blind.others(events, me)
    if not names:
        st.session_state.pop(BLIND, None)
        return None
    sb = st.sidebar
    sb.markdown("#### Second pass (blind)")
    first = names[0]
    if len(names) > 1:
        first = sb.selectbox("Whose faces", names, key="blind_whose", format_func=str, persist_state="session")
    on = sb.toggle(f"Second pass (blind) over {md_escape(first)}'s faces", key="blind_pass",
                   persist_state="session",
                   help="The faces that reviewer decided and you have not, without their decisions: the queue, "
                        "the face's decision and history, and the Gallery show only your own decisions until "
                        "you turn this off.")
    if not on:
        st.session_state.pop(BLIND, None)
        return None
    st.session_state[BLIND] = first
    left, theirs = len(blind.queue_ids(events, first, me)), len(blind.faces_of(events, first))
    sb.caption(f"{left:,} of {md_escape(first)}'s {theirs:,} face(s) left for you; their decisions stay hidden "
               "until you turn this off.")
    return first


def two_reviewers(events: pd.DataFrame, *, blind_on: bool = False) -> set[str] | None:
    """The sidebar's two-reviewer panel (issue 24), shown once two reviewers have decided faces: who,
    how many faces both decided, how many they agreed on, Cohen's kappa; and a toggle that narrows the
    queue to their disagreements for a third look (off during a blind pass). Returns those sample ids
    while the toggle is on."""
    from app.components.safetext import md_escape
    from data_tools.reviewers import agreement, reviewers
    names = reviewers(events)
    if len(names) < 2:
        return None
    sb = st.sidebar
    sb.markdown("#### Two reviewers")
    a = sb.selectbox("First reviewer", names, index=0, key="agree_a", format_func=str)
    b = sb.selectbox("Second reviewer", [n for n in names if n != a], index=0, key="agree_b", format_func=str)
    g = agreement(events, a, b)
    kappa = "–" if g["kappa"] != g["kappa"] else f"{g['kappa']:.2f}"
    sb.markdown(f"**{md_escape(a)}** and **{md_escape(b)}** both decided {g['n']:,} face(s), agreed on "
                f"{g['agreed']:,}: Cohen's κ {kappa}; {len(g['disagreements']):,} disagreement(s).")
    if sb.toggle("Queue only their disagreements (a third look)", key="agree_queue",
                 disabled=g["disagreements"].empty or blind_on,
                 help="Off during a blind second pass." if blind_on else None) and not blind_on:
        return set(g["disagreements"]["sample_id"])
    return None
