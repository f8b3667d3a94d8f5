"""First run: nothing imported yet. One click starts the demo job (app.workflows.start_demo: generate
the demo dataset, then train the CPU preset in the background); the Review page then shows progress and,
after the first epoch, a provisional ranking."""
from __future__ import annotations

import streamlit as st

from app import workflows
from app.components import ui
from app.components.project import dataset_dirs


def welcome() -> None:
    """The empty state of the Review page."""
    st.title("Facial-expression label audit")
    st.markdown(
        "Find the faces whose expression label is probably wrong, see **why** the model doubts each one "
        "(class activation maps of the face and its mirror image), fix the label with one key, and "
        "export corrected labels.\n\n"
        "Nothing is here yet. Start with the **demo**: a synthetic face dataset with 20 % wrong labels; "
        "a small model trains on the CPU in the background (about 90 s on 2 cores) and the first suspects "
        "are reviewable after its first epoch.")
    if st.button("Start the demo", type="primary", icon=":material/play_arrow:", key="start_demo"):
        try:
            run = workflows.start_demo()
        except Exception as e:  # noqa: BLE001
            st.error(f"Could not start the demo: {ui.md_escape(e)}")
            return
        st.session_state[ui.RUN_KEY] = run.name
        st.query_params.clear()
        st.query_params["run"] = run.name
        st.toast(f"Demo started: run {ui.md_escape(run.name)}", icon=":material/rocket_launch:")
        st.rerun()
    if dataset_dirs():
        st.markdown("Datasets are imported but no model is trained yet:")
        st.page_link(ui.PAGES["train"], label="Train a run (Train page)", icon=":material/model_training:")
    st.markdown("Or bring your own data:")
    c1, c2 = st.columns(2)
    c1.page_link(ui.PAGES["data"], label="Import a dataset (Data page)", icon=":material/folder_open:")
    c2.page_link(ui.PAGES["settings"], label="Set your reviewer name (Settings)", icon=":material/settings:")
