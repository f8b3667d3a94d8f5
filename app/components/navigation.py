"""Which face the Review page shows: a deep link (?sample=), another page's GOTO, the session's own face,
or the queue head; and, when a newer ranking arrives, the move to its best undecided suspect with the
way back (issue 11 §1). The URL follows the face (`sync_url`)."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app.components import ui
from app.components.decisions import CURRENT, GOTO

SYNCED = "review_url_samples"     # the ids this session put in the URL
RANKING, MOVED = "review_ranking", "review_moved"   # the ranking drawn last; where a re-rank took the reviewer


def resolve_current(by_id: pd.DataFrame, ids: list[str], queue_ids: pd.Series, decided: set[str],
                    ranking: tuple) -> str | None:
    """?sample= wins (deep link, refresh), then the session's current face, then the queue head.
    When the ranking changed since this session last drew the page (a provisional ranking replaced
    by a newer or the final one), the reviewer is taken to the best undecided suspect of the new
    ranking, and offered the way back to the face they were on."""
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


def sync_url(sid: str, run_name: str) -> None:
    """Put the face and the run in the URL (a refresh or a shared link opens them), remembering that
    this session wrote it."""
    if st.query_params.get("sample") != sid:
        st.query_params["sample"] = sid
    synced = st.session_state.setdefault(SYNCED, [])
    if sid not in synced:
        synced.append(sid)
        del synced[:-50]          # the recent faces are enough: an old id in the URL is a deep link
    if st.query_params.get("run") != run_name:
        st.query_params["run"] = run_name


def moved_notice(sid: str) -> None:
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
