"""SIGKILL of training at every point where a crash could leave a run half-written, then `--resume`: the run
completes with the uninterrupted run's scores, summary and history, and no temp file is left (issue 9,
Proof in CI). The trainer kills itself at a named point (eac_core.faults, EAC_TEST_KILL_AT), so each
point is hit exactly; test_resume.py kills from outside, mid-epoch, on a timer. One run is killed at
every point in turn (a launch per point, not two), resumed after each kill."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from data_tools.rundir import RunDir
from eac_core import faults
from eac_core.checkpoint import read_checkpoint
from support.shapes import make_shapes_dataset

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
ARGS = ["--epochs", "3", "--image-size", "32", "--batch-size", "8", "--threads", "1", "--lr", "1e-3",
        "--limit", "48", "--score-every", "2"]

# (EAC_TEST_KILL_AT, the checkpoint's epoch the killed run leaves behind), in the order a run reaches them:
# one run is killed at each in turn, resumed after each kill, and must end as if never interrupted.
POINTS = [
    ("step@2.3", 1),                    # mid-epoch 2 (after its 3rd of 6 steps)
    ("history-written@2", 1),           # epoch 2's history, summary and provisional scores written, no checkpoint
    ("checkpoint-written@2", 1),        # during the checkpoint write: temp file complete, not renamed
    ("checkpoint-renamed@2", 2),        # just after the rename
    ("step@3.1", 2),                    # mid-epoch 3, after the clean-view pass of epoch 2 was kept
    ("checkpoint-renamed@3", 3),        # the last epoch's checkpoint, the final scoring pass not begun
    ("scored", 3),                      # final scoring pass done, nothing of it written
    ("scores-written", 3),              # final scores.parquet written, embedding and 'done' not yet
]


def _cmd(dataset: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "eac_core.train", "--dataset", str(dataset), "--out", str(out), *ARGS, *extra]


def _env(**kw: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != faults.ENV}
    return dict(env, PYTHONPATH=str(ROOT), **kw)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return make_shapes_dataset(tmp_path_factory.mktemp("shapes"), n_train=48, n_test=9, size=32)


@pytest.fixture(scope="module")
def reference(dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "full"
    res = subprocess.run(_cmd(dataset, out), cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    return RunDir(out)


def _temps(run: RunDir) -> list[Path]:
    return [p for p in run.path.rglob(".*.tmp")]


def test_sigkill_at_every_point_then_resume_matches_uninterrupted(dataset, reference, tmp_path):
    run = RunDir(tmp_path / "killed")
    for i, (spec, ckpt_epoch) in enumerate(POINTS):
        assert spec.partition("@")[0] in faults.POINTS
        cmd = _cmd(dataset, run.path, *(["--resume"] if i else []))
        killed = subprocess.run(cmd, cwd=ROOT, env=_env(**{faults.ENV: spec}), capture_output=True, text=True,
                                timeout=300)
        assert killed.returncode == -signal.SIGKILL, \
            f"not killed at {spec}: rc {killed.returncode}\n{killed.stderr[-1500:]}"
        assert read_checkpoint(run)["epoch"] == ckpt_epoch, spec
        assert run.read_progress()["state"] == "running", spec          # a SIGKILL leaves no goodbye
        if spec.startswith("checkpoint-written"):
            assert [t for t in _temps(run) if t.name.startswith(".checkpoint.pt.")], "no half-renamed checkpoint"
        if spec == "scores-written":
            assert not run.read_scores()["provisional"].any() and not run.has("embedding")

    res = subprocess.run(_cmd(dataset, run.path, "--resume"), cwd=ROOT, env=_env(), capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert run.read_progress()["state"] == "done" and run.is_finished()
    assert _temps(run) == [], "temp files left after the resumed run"
    a, b = reference.read_scores(), run.read_scores()
    assert list(a.columns) == list(b.columns) and (a["sample_id"] == b["sample_id"]).all()
    num = [c for c in a.columns if a[c].dtype.kind == "f"]
    np.testing.assert_allclose(b[num].to_numpy(), a[num].to_numpy(), rtol=0, atol=1e-6)
    assert (a["rank"] == b["rank"]).all() and (a["pred"] == b["pred"]).all() and not b["provisional"].any()
    sa, sb = reference.read_summary(), run.read_summary()
    assert sb["epoch"].tolist() == [1, 2, 3]
    cols = ["loss", "ce_loss", "att_loss", "train_acc", "test_acc", "lr"]
    np.testing.assert_allclose(sb[cols].to_numpy(), sa[cols].to_numpy(), rtol=0, atol=1e-6)
    assert run.history_epochs() == [1, 2, 3] and run.history_epochs("clean") == [2, 3]
    for col in ("margin", "loss", "clean_margin"):
        np.testing.assert_allclose(run.history_matrix(col)[1], reference.history_matrix(col)[1], rtol=0, atol=1e-6)
    ea, eb = reference.read_embedding(), run.read_embedding()
    np.testing.assert_allclose(eb[["x", "y"]].to_numpy(), ea[["x", "y"]].to_numpy(), rtol=0, atol=1e-5)
    print(f"training SIGKILL at {len(POINTS)} points of one run, resumed after each: scores identical")


def test_kill_hook_is_inert_without_the_variable(dataset, tmp_path):
    """No EAC_TEST_KILL_AT (every real run): faults.point does nothing."""
    assert faults._SPEC == "" or os.environ.get(faults.ENV)
    faults.point("checkpoint-written", 2)                  # would kill pytest itself if it were armed
