"""Two CPU processes with gloo (torchrun): DDP training where every sample is scored exactly once."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from data_tools.rundir import RunDir
from support.shapes import make_shapes_dataset

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def test_two_process_gloo_scores_every_sample_once(tmp_path):
    ds = make_shapes_dataset(tmp_path / "shapes", n_train=45, n_test=7, size=32)     # odd: the sampler pads
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "eac_core.train", "--dataset", str(ds), "--out", str(out), "--device", "cpu", "--epochs", "2",
           "--image-size", "32", "--batch-size", "8", "--threads", "1"]
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        _, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:                 # end the launcher and its workers (our own process group)
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    assert proc.returncode == 0, err[-3000:]
    s = RunDir(out).read_scores()
    assert len(s) == 45 and s["sample_id"].is_unique
    assert sorted(s["sample_id"]) == sorted(f"train{i:04d}" for i in range(45))
    assert np.isfinite(s[["loss", "p_label", "margin", "flip_consistency", "aum"]].to_numpy()).all()
    _, m = RunDir(out).history_matrix("loss")
    assert np.isfinite(m).all() and m.shape == (2, 45)
    cfg = RunDir(out).read_config()
    assert cfg["world_size"] == 2
    summ = RunDir(out).read_summary()
    assert summ["epoch"].tolist() == [1, 2]
    assert RunDir(out).read_progress()["state"] == "done"
