"""First run: one click generates the demo and trains in the background (a real, tiny one here);
the Review page shows progress, then the ranking; a provisional ranking is marked as such."""
from __future__ import annotations

import time

import pandas as pd

from support.apptest import run_path

DEMO_TIMEOUT_S = 180


def test_start_the_demo_then_review(empty_project, app, monkeypatch):
    from app import jobs
    monkeypatch.setenv("FER_AUDIT_DEMO_TRAIN", "40")
    monkeypatch.setenv("FER_AUDIT_DEMO_TEST", "10")
    monkeypatch.setenv("FER_AUDIT_DEMO_EPOCHS", "1")
    app.run()
    app.button(key="start_demo").click().run()
    assert not app.exception
    runs = list((empty_project / "runs").iterdir())
    assert len(runs) == 1
    run = runs[0]
    job = jobs.read_job(run)
    try:
        assert job["argv"][-len(["--epochs", "1"]):] == ["--epochs", "1"] or "--epochs" in job["argv"]
        assert "eac_core.train" in job["argv"] and "--preset" in job["argv"]
        app.run()
        assert not app.exception
        assert app.query_params["run"] in (run.name, [run.name])
        deadline = time.time() + DEMO_TIMEOUT_S
        while jobs.is_alive(run) and time.time() < deadline:
            time.sleep(0.5)
        assert not jobs.is_alive(run), "the demo did not finish in time"
        assert (empty_project / "datasets" / "demo" / "manifest.csv").is_file()
        app.run()
        assert not app.exception
        assert any(s.value.startswith("Sample ") for s in app.subheader), (
            jobs.log_tail(run), [e.value for e in app.error], [w.value for w in app.warning],
            [i.value for i in app.info], [s.value for s in app.subheader], [m.value for m in app.markdown][:8],
            [t.value for t in app.title], [h.value for h in app.header], [b.label for b in app.button][:5],
            [e.value for e in app.exception])
    finally:
        jobs.stop(run)


def test_a_second_launch_opens_the_existing_audit(project, app):
    """No demo offer when a run exists: the most recent run with scores is opened."""
    app.run()
    assert not any(b.key == "start_demo" for b in app.button)
    assert app.session_state["run"] == run_path(project).name


def test_provisional_ranking_is_marked(project, app):
    from data_tools.rundir import RunDir
    run = run_path(project)
    s = pd.read_parquet(run / "scores.parquet")
    s["provisional"] = True
    s.to_parquet(run / "scores.parquet", index=False)
    prog = RunDir(run).read_progress()
    RunDir(run).write_progress({**prog, "state": "running", "epoch": 1, "epochs": 12, "pid": None})
    app.run()
    assert not app.exception
    assert any("Provisional ranking" in w.value for w in app.warning)
    assert any(s.value.startswith("Sample ") for s in app.subheader)      # reviewable meanwhile


def test_a_rewritten_ranking_is_read_again(project, app):
    """scores.parquet is rewritten after every epoch: the app must not keep the old one cached."""
    import os
    run = run_path(project)
    app.run()
    s = pd.read_parquet(run / "scores.parquet")
    last = s.sort_values("rank")["sample_id"].iloc[-1]
    s["rank"] = len(s) + 1 - s["rank"]                  # the least suspicious becomes the first
    s.to_parquet(run / "scores.parquet", index=False)
    st = os.stat(run / "scores.parquet")
    os.utime(run / "scores.parquet", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    app.query_params.clear()
    app.session_state["review_current"] = None
    app.run()
    assert app.session_state["review_queue"][0] == last
