"""--resume after SIGKILL in the middle of epoch 2 gives the same final scores as an uninterrupted run."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from data_tools.rundir import RunDir
from eac_core.checkpoint import read_checkpoint
from support.shapes import make_shapes_dataset

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
ARGS = ["--epochs", "3", "--image-size", "32", "--batch-size", "8", "--threads", "1", "--lr", "1e-3",
        "--limit", "48", "--score-every", "2"]


def _cmd(dataset: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "eac_core.train", "--dataset", str(dataset), "--out", str(out), *ARGS, *extra]


def _env(**kw: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT), **kw)
    return env


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return make_shapes_dataset(tmp_path_factory.mktemp("shapes"), n_train=48, n_test=9, size=32)


def test_resume_after_sigkill_matches_uninterrupted(dataset, tmp_path):
    full, killed = tmp_path / "full", tmp_path / "killed"
    ref = subprocess.run(_cmd(dataset, full), cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300)
    assert ref.returncode == 0, ref.stderr[-2000:]

    proc = subprocess.Popen(_cmd(dataset, killed), cwd=ROOT, env=_env(EAC_TEST_STEP_DELAY="0.6"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 240
        while time.time() < deadline:
            p = RunDir(killed).read_progress() or {}
            if p.get("epoch") == 2 and p.get("phase") == "train" and p.get("step", 0) >= 1:
                break
            assert proc.poll() is None, "training ended before it could be killed"
            time.sleep(0.1)
        else:
            pytest.fail("never reached epoch 2")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    assert read_checkpoint(killed)["epoch"] == 1
    assert RunDir(killed).read_progress()["state"] == "running"          # a SIGKILL leaves no goodbye

    res = subprocess.run(_cmd(dataset, killed, "--resume"), cwd=ROOT, env=_env(), capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert RunDir(killed).read_progress()["state"] == "done"
    a, b = RunDir(full).read_scores(), RunDir(killed).read_scores()
    assert list(a.columns) == list(b.columns) and (a["sample_id"] == b["sample_id"]).all()
    num = [c for c in a.columns if a[c].dtype.kind == "f"]
    np.testing.assert_allclose(b[num].to_numpy(), a[num].to_numpy(), rtol=0, atol=1e-6)
    assert (a["rank"] == b["rank"]).all() and (a["pred"] == b["pred"]).all()
    sa, sb = RunDir(full).read_summary(), RunDir(killed).read_summary()
    assert sb["epoch"].tolist() == [1, 2, 3]
    cols = ["loss", "ce_loss", "att_loss", "train_acc", "test_acc", "lr"]
    np.testing.assert_allclose(sb[cols].to_numpy(), sa[cols].to_numpy(), rtol=0, atol=1e-6)
    assert RunDir(killed).history_epochs() == [1, 2, 3] and RunDir(killed).history_epochs("clean") == [2, 3]


def test_sigterm_stops_cleanly(dataset, tmp_path):
    out = tmp_path / "term"
    proc = subprocess.Popen(_cmd(dataset, out), cwd=ROOT, env=_env(EAC_TEST_STEP_DELAY="0.5"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and ((RunDir(out).read_progress() or {}).get("phase") != "train"):
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    p = RunDir(out).read_progress()
    assert p["state"] == "stopped" and p["error"] is None
