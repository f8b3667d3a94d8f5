"""data_tools.rundir: the run directory's writers and the reading API the app uses."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data_tools import rundir
from data_tools.rundir import RunDir


def _history_run(run, n=500, epochs=6):
    ids = [f"{i:05d}" for i in range(n)]
    RunDir(run).write_sample_ids(ids)
    for e in range(1, epochs + 1):
        sig = {k: np.full(n, e * 10 + j, np.float32) for j, k in enumerate(rundir.TRAIN_HISTORY)}
        sig["loss"] = np.arange(n, dtype=np.float32) + e
        RunDir(run).write_history("epoch", e, sig)
    RunDir(run).write_history("clean", 3, {"loss": np.full(n, 0.5, np.float32), "margin": np.arange(n) * 1.0})
    return ids


def test_history_roundtrip_and_sample_history(tmp_path):
    ids = _history_run(tmp_path)
    h = RunDir(tmp_path).sample_history("00007")
    assert h["epoch"].tolist() == [1, 2, 3, 4, 5, 6]
    assert h["loss"].tolist() == [8, 9, 10, 11, 12, 13]
    assert h["margin"].tolist() == [12, 22, 32, 42, 52, 62]
    assert h["clean_margin"].iloc[2] == 7 and np.isnan(h["clean_margin"].iloc[0])
    epochs, m = RunDir(tmp_path).history_matrix("loss")
    assert epochs == [1, 2, 3, 4, 5, 6] and m.shape == (6, 500) and m[2, 4] == 7
    long = RunDir(tmp_path).read_history(["loss", "clean_loss"])
    assert len(long) == 6 * 500 and long["sample_id"].iloc[501] == ids[1]
    assert long.loc[(long.epoch == 3) & (long.sample_id == "00002"), "clean_loss"].item() == 0.5
    with pytest.raises(KeyError, match="not in this run"):
        RunDir(tmp_path).sample_history("nope")


def test_sample_history_is_fast(tmp_path):
    _history_run(tmp_path, n=50_000, epochs=20)
    RunDir(tmp_path).sample_history("00001")                  # warm the id index
    t = time.perf_counter()
    for sid in ("00002", "49999", "12345"):
        RunDir(tmp_path).sample_history(sid)
    assert (time.perf_counter() - t) / 3 < 0.05


def test_truncate_cuts_summary_and_history(tmp_path):
    _history_run(tmp_path, n=10, epochs=4)
    RunDir(tmp_path).write_summary([{"epoch": e, "loss": 1.0 / e} for e in range(1, 5)])
    RunDir(tmp_path).truncate(2)
    assert RunDir(tmp_path).read_summary()["epoch"].tolist() == [1, 2]
    assert RunDir(tmp_path).history_epochs() == [1, 2]
    assert RunDir(tmp_path).history_epochs("clean") == []


def test_progress_list_runs_and_finished(tmp_path):
    run = tmp_path / "r1"
    run.mkdir()
    assert RunDir(run).read_progress() is None and not RunDir(run).is_finished()
    (run / "config.json").write_text('{"dataset": "d", "mode": "eac", "arch": "compact", "epochs": 3}')
    RunDir(run).write_summary([{"epoch": 1, "test_acc": 0.5}, {"epoch": 2, "test_acc": 0.7}])
    RunDir(run).write_progress({"state": "done"})
    assert not RunDir(run).is_finished()                           # no scores yet
    pd.DataFrame({"sample_id": ["001"], "suspicion": [0.1]}).to_parquet(run / "scores.parquet")
    assert RunDir(run).is_finished()
    assert RunDir(run).read_scores()["sample_id"].tolist() == ["001"]
    (tmp_path / "not_a_run").mkdir()
    assert [r.name for r in rundir.list_runs(tmp_path)] == ["r1"]
    runs = rundir.runs_table(tmp_path)
    assert runs["name"].tolist() == ["r1"]
    row = runs.iloc[0]
    assert (row.state, row["mode"], row.arch, row.epochs_done, row.best_test_acc) == ("done", "eac", "compact", 2, 0.7)


# -- the RunDir contract object ------------------------------------------------------------------------
def _touch(path, ns):
    import os
    os.utime(path, ns=(ns, ns))


def test_rundir_names_every_file_and_reads_them(tmp_path):
    r = rundir.RunDir(tmp_path / "runs" / "a")
    assert r.name == "a" and r.project == tmp_path and str(r) == str(tmp_path / "runs" / "a")
    assert r == rundir.RunDir(str(tmp_path / "runs" / "a")) and len({r, rundir.RunDir(r)}) == 1
    expected = {"config_path": "config.json", "progress_path": "progress.json", "summary_path": "summary.csv",
                "scores_path": "scores.parquet", "embedding_path": "embedding.parquet",
                "checkpoint_path": "checkpoint.pt", "log_path": "train.log", "history_dir": "history",
                "job_path": "job.json", "job_log_path": "job.log", "audit_path": "audit.sqlite", "cache_dir": "cache"}
    for attr, name in expected.items():
        assert getattr(r, attr) == r.path / name, attr
    with pytest.raises(KeyError, match="unknown run file"):
        r.path_of("nope")
    assert not r.is_run() and r.read_config() == {} and r.read_progress() is None and r.read_job() is None
    assert r.read_summary().columns.tolist() == rundir.SUMMARY_COLUMNS and r.final_test_acc() is None
    assert r.mtime("scores") == 0.0 and not r.has("scores")
    r.write_config({"dataset": "/d", "epochs": 2})
    r.write_progress({"state": "running", "epoch": 1})
    r.write_job({"pid": 1, "dataset": "/other"})
    r.write_summary([{"epoch": 1, "test_acc": 0.25}, {"epoch": 2, "test_acc": float("nan")}])
    r.write_scores(pd.DataFrame({"sample_id": [1, 2], "label": ["x", "y"], "suspicion": [0.3, 0.1]}))
    r.write_embedding(pd.DataFrame({"sample_id": [1, 2], "x": [0.0, 1.0], "y": [1.0, 0.0]}))
    assert r.is_run() and r.read_config()["epochs"] == 2 and r.read_progress()["epoch"] == 1
    assert r.read_job()["pid"] == 1 and r.final_test_acc() == 0.25
    assert r.read_scores()["sample_id"].tolist() == ["1", "2"]                  # ids stay strings
    assert r.read_scores(["sample_id", "suspicion"]).columns.tolist() == ["sample_id", "suspicion"]
    assert r.read_embedding()["sample_id"].tolist() == ["1", "2"]
    assert r.mtime("scores") > 0 and r.has("scores")
    _touch(r.scores_path, 5 * 10**18)
    assert r.activity() == r.mtime("scores") == 5 * 10**18


def test_log_tail_prefers_the_job_log(tmp_path):
    r = rundir.RunDir(tmp_path)
    assert r.log_tail() == ""
    r.log_path.write_text("t1\nt2\n")
    assert r.log_tail() == "t1\nt2"
    r.job_log_path.write_text("".join(f"j{i}\n" for i in range(50)))
    assert r.log_tail(3) == "j47\nj48\nj49"


def test_one_listing_rule_and_most_recent_first(tmp_path):
    """A run holding only job.json (launched from the app, trainer not started yet) is listed; hidden
    folders, plain files and folders without a marker file are not."""
    root = tmp_path / "runs"
    root.mkdir()
    made = {}
    for name, marker, ns in (("by_config", "config.json", 1), ("by_progress", "progress.json", 3),
                             ("by_job", "job.json", 4), ("by_scores", "scores.parquet", 2)):
        (root / name).mkdir()
        (root / name / marker).write_text("{}")
        _touch(root / name / marker, ns * 10**18)
        made[name] = ns
    (root / ".hidden").mkdir()
    (root / ".hidden" / "config.json").write_text("{}")
    (root / "empty").mkdir()
    (root / "only_log").mkdir()
    (root / "only_log" / "train.log").write_text("x")
    (root / "file.txt").write_text("x")
    names = [r.name for r in rundir.list_runs(root)]
    assert names == ["by_job", "by_progress", "by_scores", "by_config"]
    assert rundir.runs_table(root)["name"].tolist() == names                     # the table: same runs, same order
    assert rundir.runs_table(root).set_index("name").loc["by_job", "state"] == "unknown"
    (root / "by_config" / "summary.csv").write_text("epoch\n1\n")          # a new epoch moves a run up
    _touch(root / "by_config" / "summary.csv", 9 * 10**18)
    assert rundir.list_runs(root)[0].name == "by_config"
    assert rundir.list_runs(tmp_path / "missing") == []


def test_dataset_dir_one_search_order(tmp_path, monkeypatch):
    project = tmp_path / "project"
    r = rundir.RunDir(project / "runs" / "a")
    r.path.mkdir(parents=True)
    assert r.dataset_dir() is None and r.dataset_ref() is None
    r.write_job({"dataset": str(tmp_path / "abs")})                       # launched, not started: job.json
    assert r.dataset_ref() == str(tmp_path / "abs") and r.dataset_dir() == tmp_path / "abs"
    r.write_config({"dataset": "datasets/d"})                              # the config wins over the job
    assert r.dataset_dir() == (project / "datasets" / "d").resolve()    # none exists: the project's
    elsewhere = tmp_path / "cwd"
    (elsewhere / "datasets" / "d").mkdir(parents=True)
    (elsewhere / "datasets" / "d" / "dataset.json").write_text("{}")
    monkeypatch.chdir(elsewhere)
    assert r.dataset_dir() == (elsewhere / "datasets" / "d").resolve()  # found from the working folder
    (project / "datasets" / "d").mkdir(parents=True)
    (project / "datasets" / "d" / "dataset.json").write_text("{}")
    assert r.dataset_dir() == (project / "datasets" / "d").resolve()    # the project folder first
    assert r.dataset_dir("/x/y") == Path("/x/y")                          # an explicit reference wins
    r.config_path.write_text("{not json")
    assert r.dataset_ref() == str(tmp_path / "abs")                       # unreadable config: the job's


def test_classes_from_dataset_then_scores(tmp_path):
    import json
    r = rundir.RunDir(tmp_path / "runs" / "a")
    r.path.mkdir(parents=True)
    assert r.classes() == []
    r.write_scores(pd.DataFrame({"sample_id": ["1", "2"], "label": ["sad", "angry"]}))
    assert r.classes() == ["angry", "sad"]                                       # labels, sorted
    r.write_scores(pd.DataFrame({"sample_id": ["1"], "label": ["sad"], "prob_sad": [0.4], "prob_happy": [0.6]}))
    assert r.classes() == ["sad", "happy"]                                       # prob_<class> order
    ds = tmp_path / "datasets" / "d"
    ds.mkdir(parents=True)
    (ds / "dataset.json").write_text(json.dumps({"classes": ["happy", "sad", "angry"], "image_root": ".",
                                                 "format": "csv"}))
    r.write_config({"dataset": str(ds)})
    assert r.classes() == ["happy", "sad", "angry"]                              # the dataset's order
    (ds / "dataset.json").write_text(json.dumps({"classes": "happy,sad", "image_root": ".", "format": "csv"}))
    assert r.classes() == ["sad", "happy"]          # a dataset.json the manifest module refuses: the scores'


def test_module_functions_are_the_rundir_methods(tmp_path):
    """The trainer's module-level calls and RunDir read and write the same files."""
    r = rundir.RunDir(tmp_path)
    RunDir(tmp_path).write_progress({"state": "done"})
    assert r.read_progress() == {"state": "done"}
    _history_run(r, n=4, epochs=2)
    assert r.history_epochs() == RunDir(tmp_path).history_epochs() == [1, 2]
    assert r.sample_history("00001").equals(RunDir(tmp_path).sample_history("00001"))


def test_history_is_float16_on_disk_and_float32_files_still_read(tmp_path):
    """issue 9 (Scale): history files are float16 (half of float32's bytes); readers return float32 and
    still read the float32 files of runs written before."""
    n = 1000
    run = RunDir(tmp_path)
    run.write_sample_ids([f"{i:05d}" for i in range(n)])
    margin = np.linspace(-6.5, 4.5, n, dtype=np.float32)
    run.write_history("epoch", 1, {"margin": margin, "pred": np.arange(n) % 7, "erased": np.arange(n) % 2,
                                   "loss": np.full(n, np.nan, np.float32)})
    f = run.history_dir / "epoch_0001.npy"
    on_disk = np.load(f, mmap_mode="r")
    assert on_disk.dtype == np.float16 and on_disk.shape == (len(rundir.TRAIN_HISTORY), n)
    assert f.stat().st_size < 2 * len(rundir.TRAIN_HISTORY) * n + 200          # 2 bytes a value + header
    _, m = run.history_matrix("margin")
    assert m.dtype == np.float32
    np.testing.assert_allclose(m[0], margin, rtol=4.9e-4, atol=0)
    h = run.sample_history("00123")
    assert h["pred"].item() == 123 % 7 and h["erased"].item() == 1 and np.isnan(h["loss"].item())
    assert abs(h["margin"].item() - margin[123]) <= 4.9e-4 * abs(margin[123])
    # a float32 file of an older run: read as before
    old = np.stack([np.full(n, 0.123456789, np.float32)] * len(rundir.TRAIN_HISTORY))
    np.save(run.history_dir / "epoch_0002.npy", old)
    h = run.sample_history("00007")
    assert h["epoch"].tolist() == [1, 2] and h["loss"].iloc[1] == np.float32(0.123456789)
    assert run.history_matrix("loss")[1][1, 7] == np.float32(0.123456789)


@pytest.mark.parametrize("file, content, reason", [
    ("config.json", "[]", "config.json is not a JSON object (a list)"),
    ("config.json", '"x"', "config.json is not a JSON object (a string)"),
    ("config.json", "{oops", "config.json is not valid JSON (line 1, column 2)"),
    ("job.json", '"x"', "job.json is not a JSON object (a string)"),
    ("progress.json", "[1]", "progress.json is not a JSON object (a list)"),
])
def test_a_broken_run_is_listed_as_broken_and_the_others_read(tmp_path, file, content, reason):
    """Issue 22 item 13: one run whose job.json was "x" broke the Export page's retrain section for every
    run, one whose config.json was [] the Train page's run table. The broken run is listed as broken,
    with the reason naming the file, and its readers answer as if the file were absent."""
    good = RunDir(tmp_path / "good")
    good.path.mkdir()
    good.write_config({"dataset": "/d", "mode": "eac", "epochs": 3})
    good.write_progress({"state": "done"})
    bad = RunDir(tmp_path / "bad")
    bad.path.mkdir()
    bad.write_progress({"state": "running"})
    (bad.path / file).write_text(content)
    assert bad.problem() == f"{bad.path / file}: {reason.split(' ', 1)[1]}"
    assert good.problem() is None
    table = rundir.runs_table(tmp_path).set_index("name")
    assert table.loc["bad", "state"] == "broken" and table.loc["bad", "problem"] == reason
    assert table.loc["good", "state"] == "done" and table.loc["good", "problem"] == ""
    assert table.loc["good", "mode"] == "eac"
    if file == "config.json":
        with pytest.raises(rundir.RunFileError, match=f"^{bad.path / file}: "):
            bad.read_config()
    else:
        assert (bad.read_job() if file == "job.json" else bad.read_progress()) is None
    assert bad.dataset_ref() is None


def test_one_rule_of_what_a_run_folder_holds(tmp_path):
    """Issue 21 item 5: RunDir says once what makes a folder a run (the listing: any marker, the app's
    job.json included) and what makes it hold results (weights or a ranking: a trainer without --resume
    and the predictions importer refuse such a folder; the app's job.json alone is not one)."""
    r = RunDir(tmp_path / "r")
    assert (r.is_run(), r.has_results()) == (False, False)
    r.path.mkdir()
    r.write_job({"pid": 1})
    assert (r.is_run(), r.has_results()) == (True, False)
    for results in ("checkpoint.pt", "scores.parquet"):
        other = RunDir(tmp_path / results)
        other.path.mkdir()
        (other.path / results).write_bytes(b"x")
        assert (other.is_run(), other.has_results()) == (True, True), results
    hidden = RunDir(tmp_path / ".hidden")
    hidden.path.mkdir()
    (hidden.path / "checkpoint.pt").write_bytes(b"x")
    assert (hidden.is_run(), hidden.has_results()) == (False, True)
    assert set(rundir.RESULTS) < set(rundir.MARKERS)

