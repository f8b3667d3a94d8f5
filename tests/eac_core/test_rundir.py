"""eac_core.rundir: the run directory's writers and the reading API the app uses."""
from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd
import pytest

from eac_core import rundir


def _history_run(run, n=500, epochs=6):
    ids = [f"{i:05d}" for i in range(n)]
    rundir.write_sample_ids(run, ids)
    for e in range(1, epochs + 1):
        sig = {k: np.full(n, e * 10 + j, np.float32) for j, k in enumerate(rundir.TRAIN_HISTORY)}
        sig["loss"] = np.arange(n, dtype=np.float32) + e
        rundir.write_history(run, "epoch", e, sig)
    rundir.write_history(run, "clean", 3, {"loss": np.full(n, 0.5, np.float32), "margin": np.arange(n) * 1.0})
    return ids


def test_history_roundtrip_and_sample_history(tmp_path):
    ids = _history_run(tmp_path)
    h = rundir.sample_history(tmp_path, "00007")
    assert h["epoch"].tolist() == [1, 2, 3, 4, 5, 6]
    assert h["loss"].tolist() == [8, 9, 10, 11, 12, 13]
    assert h["margin"].tolist() == [12, 22, 32, 42, 52, 62]
    assert h["clean_margin"].iloc[2] == 7 and np.isnan(h["clean_margin"].iloc[0])
    epochs, m = rundir.history_matrix(tmp_path, "loss")
    assert epochs == [1, 2, 3, 4, 5, 6] and m.shape == (6, 500) and m[2, 4] == 7
    long = rundir.read_history(tmp_path, ["loss", "clean_loss"])
    assert len(long) == 6 * 500 and long["sample_id"].iloc[501] == ids[1]
    assert long.loc[(long.epoch == 3) & (long.sample_id == "00002"), "clean_loss"].item() == 0.5
    with pytest.raises(KeyError, match="not in this run"):
        rundir.sample_history(tmp_path, "nope")


def test_sample_history_is_fast(tmp_path):
    _history_run(tmp_path, n=50_000, epochs=20)
    rundir.sample_history(tmp_path, "00001")                  # warm the id index
    t = time.perf_counter()
    for sid in ("00002", "49999", "12345"):
        rundir.sample_history(tmp_path, sid)
    assert (time.perf_counter() - t) / 3 < 0.05


def test_truncate_cuts_summary_and_history(tmp_path):
    _history_run(tmp_path, n=10, epochs=4)
    rundir.write_summary(tmp_path, [{"epoch": e, "loss": 1.0 / e} for e in range(1, 5)])
    rundir.truncate(tmp_path, 2)
    assert rundir.read_summary(tmp_path)["epoch"].tolist() == [1, 2]
    assert rundir.history_epochs(tmp_path) == [1, 2]
    assert rundir.history_epochs(tmp_path, "clean") == []


def test_train_command():
    argv = rundir.train_command("ds", "runs/x", mode="ce", epochs=3, erase_scale=(0.02, 0.3), resume=True,
                                pretrained=None, score_every=False)
    assert argv == [sys.executable, "-m", "eac_core.train", "--dataset", "ds", "--out", "runs/x", "--mode", "ce",
                    "--epochs", "3", "--erase-scale", "0.02", "0.3", "--resume"]


def test_progress_list_runs_and_finished(tmp_path):
    run = tmp_path / "r1"
    run.mkdir()
    assert rundir.read_progress(run) is None and not rundir.is_finished(run)
    (run / "config.json").write_text('{"dataset": "d", "mode": "eac", "arch": "compact", "epochs": 3}')
    rundir.write_summary(run, [{"epoch": 1, "test_acc": 0.5}, {"epoch": 2, "test_acc": 0.7}])
    rundir.write_progress(run, {"state": "done"})
    assert not rundir.is_finished(run)                           # no scores yet
    pd.DataFrame({"sample_id": ["001"], "suspicion": [0.1]}).to_parquet(run / "scores.parquet")
    assert rundir.is_finished(run)
    assert rundir.read_scores(run)["sample_id"].tolist() == ["001"]
    (tmp_path / "not_a_run").mkdir()
    runs = rundir.list_runs(tmp_path)
    assert runs["name"].tolist() == ["r1"]
    row = runs.iloc[0]
    assert (row.state, row["mode"], row.arch, row.epochs_done, row.best_test_acc) == ("done", "eac", "compact", 2, 0.7)
