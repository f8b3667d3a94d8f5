"""Page scaffolding shared by every view: error guard, run picker, reviewer, audit handle."""
from __future__ import annotations

import logging
import traceback
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import streamlit as st

from app.components import loaders
from app.components.safetext import md_code, md_escape  # noqa: F401  (ui.md_escape for the pages)
from app.components import reviewer as _who
from data_tools.rundir import RunDir

log = logging.getLogger("fer_audit.app")

RUN_KEY = "run"            # session_state: the selected run's folder name
# The app's pages, once, in menu order: key -> (file under app/, title, icon). main.py builds the
# navigation from it (the first is the default page); links and switches name a page by its key (PAGES).
PAGE_TABLE = {
    "review": ("views/review.py", "Review", ":material/fact_check:"),
    "gallery": ("views/gallery.py", "Gallery", ":material/grid_view:"),
    "data": ("views/data.py", "Data", ":material/folder_open:"),
    "train": ("views/train.py", "Train", ":material/model_training:"),
    "insights": ("views/insights.py", "Insights", ":material/insights:"),
    "export": ("views/export.py", "Export", ":material/download:"),
    "settings": ("views/settings.py", "Settings", ":material/settings:"),
}
PAGES = {key: file for key, (file, _, _) in PAGE_TABLE.items()}


@contextmanager
def guarded(what: str = "This page") -> Iterator[None]:
    """Show any error inside as a message in the page, never as a traceback (st.stop/st.rerun pass)."""
    try:
        yield
    except Exception as e:  # noqa: BLE001 - the point is to catch everything a page body raises
        log.error("%s failed:\n%s", what, traceback.format_exc())
        text = str(e).strip() or type(e).__name__
        st.error(f"{what} could not be shown: {md_escape(text)}", icon=":material/error:")


def run_dirs() -> list[RunDir]:
    """The runs one can pick: a broken run (RunDir.problem) is left out; the Train page lists it."""
    return [r for r in loaders.list_runs() if r.problem() is None]


def _default_run(runs: list[RunDir]) -> RunDir | None:
    for r in runs:  # the most recent run that has something to review
        if r.has("scores"):
            return r
    return runs[0] if runs else None


def current_run(*, picker: bool = True) -> RunDir | None:
    """The run being audited: ?run=, else the session's choice, else the most recent run with scores.
    Draws the run picker in the sidebar."""
    runs = run_dirs()
    if not runs:
        return None
    by_name = {r.name: r for r in runs}
    name = st.query_params.get("run")
    if name not in by_name:
        name = st.session_state.get(RUN_KEY)
    if name not in by_name:
        d = _default_run(runs)
        name = d.name if d else None
    st.session_state[RUN_KEY] = name
    if picker and len(runs) > 0:
        names = list(by_name)

        def _changed() -> None:
            new = st.session_state.get("_run_picker")
            if new and new != st.session_state.get(RUN_KEY):
                st.session_state[RUN_KEY] = new
                st.session_state.pop("review_current", None)
                st.query_params.pop("sample", None)
                st.query_params["run"] = new

        st.sidebar.selectbox("Run", names, index=names.index(name), key="_run_picker", on_change=_changed,
                             help="The training run whose ranking and audit you are working on.")
    return by_name.get(name)


def score_notes(scores, where=None) -> None:
    """What loaders.clean_scores did to this run's scores (repeated ids, no finite suspicion), one
    caption each (in `where`, default the page), so a page that ranks or lists faces says why some
    are missing or last."""
    for note in getattr(scores, "attrs", {}).get("notes", []):
        (where or st).caption(f"Note: {md_escape(note)}.")


def reviewer() -> str:
    """The name every decision is recorded under: Settings' name, else the login name (never empty)."""
    return _who.name()


SESSION_KEY = "audit_session"


def session_id() -> str:
    """This browser tab's id, recorded with each of its decisions: undo cancels only this tab's own."""
    if SESSION_KEY not in st.session_state:
        st.session_state[SESSION_KEY] = uuid.uuid4().hex[:16]
    return st.session_state[SESSION_KEY]


@st.cache_resource(max_entries=16, show_spinner=False)
def _audit(path: str, dataset: str, run: str, run_dir: str, classes: tuple[str, ...]):
    from data_tools.audit import Audit
    return Audit.open(path, dataset=dataset or None, run=run, run_dir=run_dir, classes=list(classes) or None)


def audit_for(run: Path | RunDir, dataset_dir: Path | None = None, classes: list[str] | None = None):
    """The run's audit database (RunDir.audit_path), created on first use with the absolute dataset
    and run paths in its meta. The handle is cached (it holds no decisions; every read goes to the file)."""
    run = RunDir(run)
    return _audit(str(run.audit_path), str(dataset_dir or ""), run.name, str(run.path), tuple(classes or ()))


def empty_state(title: str, body: str, *, link: tuple[str, str] | None = None) -> None:
    """A friendly 'nothing here yet' with what to do next."""
    st.info(f"**{title}**  \n{body}", icon=":material/info:")
    if link:
        st.page_link(PAGES[link[0]], label=link[1])

