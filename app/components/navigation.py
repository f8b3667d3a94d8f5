"""Which face the Review page shows: a deep link (?sample=), another page's GOTO, the session's own face,
or, in a new session, the first undecided face of the queue (issue 24 §4). When a newer ranking arrives
the face on screen stays until the reviewer decides (issue 24 §3); the queue around it follows the new
ranking, and the decision goes on to the new ranking's best undecided suspect (decisions.STAYED). The URL
follows the face (`sync_url`) by its link token (display_ids: the id itself unless its drawn form is
masked, then a keyed hash: the address never shows the class folder of an injected-noise id)."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app.components import ui
from app.components.decisions import CURRENT, GOTO, STAYED
from app.components.display_ids import Shown

SYNCED = "review_url_samples"     # the link tokens this session put in the URL
RANKING = "review_ranking"        # the ranking drawn last: (scores mtime, provisional)


def resolve_current(by_id: pd.DataFrame, ids: list[str], queue_ids: pd.Series, decided: set[str],
                    ranking: tuple, shown: Shown | None = None) -> str | None:
    """?sample= wins (deep link, refresh: an id or a link token, `shown.find`), then the session's
    current face, then the first undecided face of the queue (a new session: rank 1 when it is
    undecided, else the next one that is).
    A newer ranking never moves the face on screen: it stays (marked in STAYED, even where the new
    ranking puts it outside the filtered queue) until the reviewer decides or moves."""
    before = st.session_state.get(RANKING)
    st.session_state[RANKING] = ranking
    goto = st.session_state.pop(GOTO, None)          # sent here by another page (Insights' map): an id
    link = None if goto is not None else st.query_params.get("sample")
    if link is not None and link in st.session_state.get(SYNCED, ()):
        # the URL only echoes a face this session showed: the session leads. A rerun can carry the
        # browser's previous URL (a key pressed, then the model code arrives), which named the face
        # just decided: taking that as a deep link sent the reviewer back to it
        link = None
    wanted = goto
    if link is not None:
        wanted = (shown or Shown()).find(link, by_id.index)
        if wanted is None:
            st.warning(f"Sample {ui.md_escape(link)} is not in this run's ranking; showing the queue instead.")
    elif wanted is not None and wanted not in by_id.index:
        st.warning(f"Sample {ui.md_escape((shown or Shown())(wanted))} is not in this run's ranking; "
                   "showing the queue instead.")
        wanted = None
    cur = wanted
    stayed = st.session_state.get(STAYED)
    if cur is None:  # no deep link: stay on the session's face
        cur = st.session_state.get(CURRENT)
        if cur is not None and before is not None and before != ranking and cur in by_id.index:
            stayed = {"sid": cur, "final": not ranking[1]}          # a newer ranking: the face stays
            st.session_state[STAYED] = stayed
        kept = stayed is not None and stayed.get("sid") == cur and cur in by_id.index
        if cur is None:
            cur = next((i for i in ids if i not in decided), ids[0] if ids else None)
        elif not kept and not (queue_ids == cur).any():
            cur = ids[0] if ids else None
    if stayed is not None and stayed.get("sid") != cur:
        st.session_state.pop(STAYED, None)           # the reviewer moved on: the notice goes
    st.session_state[CURRENT] = cur
    return cur


def sync_url(sid: str, run_name: str, shown: Shown | None = None) -> None:
    """Put the face (its link token) and the run in the URL (a refresh or a shared link opens them),
    remembering that this session wrote it."""
    token = (shown or Shown()).token(sid)
    if st.query_params.get("sample") != token:
        st.query_params["sample"] = token
    synced = st.session_state.setdefault(SYNCED, [])
    if token not in synced:
        synced.append(token)
        del synced[:-50]          # the recent faces are enough: an old id in the URL is a deep link
    if st.query_params.get("run") != run_name:
        st.query_params["run"] = run_name


def stayed_notice(sid: str, by_id: pd.DataFrame) -> None:
    """While a newer ranking has arrived under the face on screen: say so, and where the face is in it."""
    stayed = st.session_state.get(STAYED)
    if not stayed or stayed.get("sid") != sid:
        return
    which = "final" if stayed.get("final") else "newer provisional"
    rank = by_id.at[sid, "rank"] if sid in by_id.index and "rank" in by_id.columns else None
    where = f" (rank {int(rank):,} in it)" if rank is not None and pd.notna(rank) else ""
    st.info(f"The {which} ranking arrived: the queue follows it; this face stays until you decide{where}, "
            "then the review goes on from its best undecided suspect.", icon=":material/swap_vert:")
