"""app.workflows called directly (no streamlit): training launch and resume, the first-run demo job,
import refusals, retraining on an audit's corrected labels. Launching is recorded, not run (the
AppTest tests start real processes)."""
from __future__ import annotations

import sys
from pathlib import Path


import pandas as pd
import pytest

from app import jobs, workflows
from support.apptest import audit_of, run_path, scores_of
from data_tools.rundir import RunDir


@pytest.fixture()
def launched(monkeypatch):
    """jobs.launch replaced by a recorder that writes the job file as the real one does."""
    calls: list[dict] = []

    def fake(argv, run_dir, *, before=None, **meta):
        run = RunDir(run_dir)
        run.path.mkdir(parents=True, exist_ok=True)
        run.write_job({"pid": None, "argv": [str(a) for a in argv], **meta})
        calls.append({"argv": [str(a) for a in argv], "run": run, "before": before or [], **meta})
        return 0

    monkeypatch.setattr(jobs, "launch", fake)
    return calls


def test_launch_training_names_the_run_and_refuses_an_existing_one(empty_project, launched):
    ds = empty_project / "datasets" / "faces"
    run = workflows.launch_training(ds, mode="ce", epochs=3)
    assert run.path.parent == empty_project / "runs" and run.name.startswith("faces-ce-")
    call = launched[0]
    assert call["argv"][1:] == ["-m", "eac_core.train", "--dataset", str(ds), "--out", str(run), "--mode", "ce",
                                "--epochs", "3"]
    assert (call["kind"], call["dataset"]) == ("train", str(ds))
    with pytest.raises(workflows.WorkflowError, match="already exists"):
        workflows.launch_training(ds, name=run.name)
    assert workflows.launch_training(ds, name=run.name, resume=True) == run      # resuming into it is fine


def test_resume_training_uses_the_runs_own_dataset(empty_project, launched):
    run = RunDir(empty_project / "runs" / "r")
    run.path.mkdir(parents=True)
    with pytest.raises(workflows.WorkflowError, match="nothing to resume"):
        workflows.resume_training(run)
    run.write_config({"dataset": "/data/d", "epochs": 7})
    workflows.resume_training(run)
    argv = launched[0]["argv"]
    assert argv[argv.index("--dataset") + 1] == "/data/d" and "--resume" in argv
    assert argv[argv.index("--epochs") + 1] == "7" and launched[0]["kind"] == "resume"


def test_the_first_run_job_generates_the_demo_then_trains(empty_project, launched, monkeypatch):
    monkeypatch.setenv("FER_AUDIT_DEMO_TRAIN", "40")
    monkeypatch.setenv("FER_AUDIT_DEMO_EPOCHS", "2")
    run = workflows.start_demo()
    call = launched[0]
    demo = empty_project / "datasets" / "demo"
    assert call["kind"] == "demo" and call["dataset"] == str(demo) and run.name.startswith("demo-eac-")
    assert call["before"] == [[sys.executable, "-m", "data_tools", "demo", "--out", str(demo),
                               "--n-train", "40", "--n-test", "700"]]
    assert call["argv"][1:] == ["-m", "eac_core.train", "--dataset", str(demo), "--out", str(run),
                                "--preset", "demo", "--epochs", "2"]
    demo.mkdir(parents=True)
    (demo / "dataset.json").write_text("{}")
    before, _ = workflows.demo_commands(run)
    assert before == []                                         # an existing demo is not generated again


def test_import_refusals(empty_project, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    with pytest.raises(workflows.WorkflowError, match="outside the allowed data roots"):
        workflows.import_dataset("folders", str(outside), "x")
    (empty_project / "datasets").mkdir()
    f = empty_project / "datasets" / "a.txt"
    f.write_text("x")
    with pytest.raises(workflows.WorkflowError, match="is not a folder"):
        workflows.import_dataset("folders", str(f), "x")
    with pytest.raises(workflows.WorkflowError, match="plain folder name"):
        workflows.import_dataset("folders", str(empty_project / "datasets"), ".hidden")


def test_retrain_from_an_audit_carries_the_decisions_over(project, launched):
    from data_tools import export as ex
    from data_tools.audit import Audit, Decision
    from data_tools.manifest import load_dataset
    run = RunDir(run_path(project))
    s = scores_of(project)
    a, b = s["sample_id"].iloc[:2]
    other = next(k for k in sorted(set(s["label"])) if k != s["label"].iloc[0])
    audit = Audit.open(audit_of(project).path)
    audit.record_many([Decision(a, "relabel", other, "ana"), Decision(b, "remove", None, "ana")])
    dataset = load_dataset(project / "datasets" / "demo")
    table = ex.corrected_table(dataset, audit.latest(), s)
    child = workflows.retrain_from_audit(run, dataset, table, audit, {"audit": str(audit.path), "run": run.name})
    call = launched[0]
    new_ds = Path(call["dataset"])
    assert new_ds.parent == project / "datasets" and new_ds.name.startswith("demo-corrected-")
    assert child.name == f"{new_ds.name}-{run.read_config()['mode']}" and call["parent_run"] == run.name
    argv = call["argv"]
    assert argv[argv.index("--preset") + 1] == run.read_config()["preset"]           # this run's settings
    m = pd.read_csv(new_ds / "manifest.csv", dtype=str, keep_default_na=False).set_index("sample_id")
    assert m.loc[a, "label"] == other and b not in m.index
    carried = Audit(child.audit_path)
    assert set(carried.latest()["sample_id"]) == {a, b}
    meta = carried.meta()
    assert (meta["dataset_path"], meta["run_path"]) == (str(new_ds.resolve()), str(child.path.resolve()))
    assert workflows.retrained_from(run) == [child]
    assert workflows.retrained_from(child) == []


def test_launch_training_with_a_time_budget_and_the_presets_mode(empty_project, launched):
    ds = empty_project / "datasets" / "faces"
    run = workflows.launch_training(ds, mode=None, preset="cpu", budget_minutes=12.5, epochs=None)
    argv = launched[0]["argv"]
    assert argv[argv.index("--budget-minutes") + 1] == "12.5" and argv[argv.index("--preset") + 1] == "cpu"
    assert "--mode" not in argv and "--epochs" not in argv and run.path.parent == empty_project / "runs"


def test_start_from_a_finished_run_or_imagenet(project, launched):
    """The Train page's "Start from": a finished run of any dataset is a starting point (its folder is the
    --pretrained value); a choice without what it needs is refused with one line."""
    from app.components.training import start_weights
    from support.apptest import RUN_NAME
    runs = workflows.pretrained_runs()
    assert [r.name for r in runs] == [RUN_NAME]
    pre = start_weights("run", RUN_NAME, "", runs)
    assert pre == str(RunDir(run_path(project)).path)
    ds = RunDir(run_path(project)).dataset_dir()
    run = workflows.launch_training(ds, name="finetuned", pretrained=pre)
    argv = launched[0]["argv"]
    assert argv[argv.index("--pretrained") + 1] == pre and run.name == "finetuned"
    assert start_weights("scratch", RUN_NAME, "x", runs) == "" and start_weights("imagenet", None, "", runs) == "imagenet"
    with pytest.raises(ValueError, match="choose one"):
        start_weights("run", None, "", runs)
    with pytest.raises(ValueError, match="give its path"):
        start_weights("file", None, " ", runs)
    # a run that has not finished is no starting point
    RunDir(run_path(project)).write_progress({"state": "running"})
    assert workflows.pretrained_runs() == []
