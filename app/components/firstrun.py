"""First run: nothing imported yet. One click generates the demo dataset and trains the CPU preset in
the background; the Review page then shows progress and, after the first epoch, a provisional ranking."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import streamlit as st

from app.components import jobs, ui
from app.components.project import datasets_dir, runs_dir

# Sizes of the demo (environment overrides let tests and the browser e2e use a tiny one).
DEMO_ENV = {"n_train": ("FER_AUDIT_DEMO_TRAIN", 3000), "n_test": ("FER_AUDIT_DEMO_TEST", 700),
            "epochs": ("FER_AUDIT_DEMO_EPOCHS", 0)}


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


def demo_argv(run: Path) -> list[str]:
    """The one background command: generate datasets/demo when missing, then train the CPU preset."""
    from eac_core.rundir import train_command
    ds = datasets_dir() / "demo"
    epochs = _env_int(*DEMO_ENV["epochs"])
    train = train_command(ds, run, preset="cpu", epochs=epochs or None)
    return [sys.executable, "-m", "app.components.jobs", "demo-then-train", "--demo-out", str(ds),
            "--n-train", str(_env_int(*DEMO_ENV["n_train"])), "--n-test", str(_env_int(*DEMO_ENV["n_test"])),
            "--", *train]


def start_demo() -> Path:
    """Launch the demo job; returns its run folder."""
    run = runs_dir() / jobs.new_run_name("demo", "eac")
    jobs.launch(demo_argv(run), run, kind="demo", dataset=str(datasets_dir() / "demo"))
    st.session_state[ui.RUN_KEY] = run.name
    st.query_params.clear()
    st.query_params["run"] = run.name
    return run


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
            run = start_demo()
        except Exception as e:  # noqa: BLE001
            st.error(f"Could not start the demo: {e}")
            return
        st.toast(f"Demo started: run {run.name}", icon=":material/rocket_launch:")
        st.rerun()
    from app.components.project import dataset_dirs
    if dataset_dirs():
        st.markdown("Datasets are imported but no model is trained yet:")
        st.page_link("views/train.py", label="Train a run (Train page)", icon=":material/model_training:")
    st.markdown("Or bring your own data:")
    c1, c2 = st.columns(2)
    c1.page_link("views/data.py", label="Import a dataset (Data page)", icon=":material/folder_open:")
    c2.page_link("views/settings.py", label="Set your reviewer name (Settings)", icon=":material/settings:")
