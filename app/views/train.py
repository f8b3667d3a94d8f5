"""The Train page: configure and launch a run, watch it, stop or resume it, and list past runs."""
from __future__ import annotations

import streamlit as st

from app import jobs, workflows
from app.components import loaders, training, ui
from app.components.project import runs_dir
from data_tools.rundir import RunDir, runs_table


def render() -> None:
    st.header("Train")
    with st.expander("New training run", expanded=not ui.run_dirs()):
        run = training.launch_form()
        if run is not None:
            st.session_state[ui.RUN_KEY] = run.name
            st.query_params.clear()
            st.query_params["run"] = run.name
            st.toast(f"Training started: {ui.md_escape(run.name)}", icon=":material/rocket_launch:")
            st.rerun()
    run = ui.current_run()
    if run is None:
        ui.empty_state("No run yet", "Configure one above, or start the demo on the Review page.",
                       link=("review", "Go to Review"))
        return
    st.subheader(f"Run {ui.md_escape(run.name)}", anchor=False)
    cfg = loaders.load_config(run)
    if cfg:
        st.caption(" · ".join(f"{k} **{ui.md_escape(cfg[k])}**" for k in ("mode", "arch", "preset", "epochs", "image_size", "device")
                              if k in cfg) + (f" · dataset {ui.md_code(cfg.get('dataset'))}" if cfg.get("dataset") else ""))
    training.live_progress(run, key="train_page")
    _resume(run, cfg)
    with st.expander("Log"):
        st.code(jobs.log_tail(run, 40) or "(empty)", language=None)
    st.subheader("Past runs", anchor=False)
    table = runs_table(runs_dir())
    broken = table[table["state"] == "broken"]
    if len(broken):          # issue 22 item 13: listed with the reason, skipped everywhere else
        st.warning(f"{len(broken)} run{'s are' if len(broken) > 1 else ' is'} broken and skipped:  \n"
                   + "  \n".join(f"**{ui.md_escape(n)}**: {ui.md_escape(p)}"
                                  for n, p in sorted(zip(broken["name"], broken["problem"]))))
    if table.empty:
        st.caption("No runs yet.")
    else:
        st.dataframe(table.drop(columns=["path"]), hide_index=True, key="train_runs",
                     column_config={"best_test_acc": st.column_config.NumberColumn(format="%.3f")})


def _resume(run: RunDir, cfg: dict) -> None:
    prog = loaders.load_progress(run) or {}
    if jobs.is_active(run) or prog.get("state") == "done" or not cfg.get("dataset"):
        return
    if st.button("Resume training", key="resume_run", icon=":material/play_arrow:"):
        try:
            workflows.resume_training(run)
        except (ValueError, RuntimeError, OSError) as e:
            st.error(ui.md_escape(e))
            return
        st.toast(f"Resumed {ui.md_escape(run.name)}", icon=":material/play_arrow:")
        st.rerun()


if __name__ == "__main__":   # Streamlit runs a page as __main__; an import (a test) draws nothing
    with ui.guarded("The Train page"):
        render()
