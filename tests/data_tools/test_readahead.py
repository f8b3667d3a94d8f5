"""data_tools.readahead: which files each worker task asks the kernel for, and that odd files (a FIFO,
a folder, a missing path) neither block it nor reach a decoder through it."""
from __future__ import annotations

import os

import numpy as np
import pytest

from data_tools import readahead
from data_tools.images import write_image
from data_tools.issues.dataset import measure_all


def test_each_file_is_read_ahead_once_by_the_task_due_before_it():
    batches = [[f"{b}-{i}" for i in range(3)] for b in range(7)]
    plan = readahead.plan(batches, 2)
    assert plan[0] == batches[0] + batches[2] and plan[1] == batches[1] + batches[3]
    assert plan[2:5] == batches[4:7] and plan[5:] == [[], []]
    asked = [f for p in plan for f in p]
    assert sorted(asked) == sorted(f for b in batches for f in b) and len(set(asked)) == len(asked)
    assert readahead.plan([["a"]], 4) == [["a"]]


@pytest.mark.timeout(60)
def test_odd_paths_are_skipped_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "pipe.png")       # open() without O_NONBLOCK would wait for a writer
    (tmp_path / "dir.png").mkdir()
    readahead.read_ahead([str(tmp_path / n) for n in ("pipe.png", "dir.png", "missing.png", "")])


@pytest.mark.timeout(60)
@pytest.mark.parametrize("jobs", [1, 2])      # measured here; in worker processes with read-ahead plans
def test_issues_measurement_reads_ahead_past_a_fifo(tmp_path, jobs, monkeypatch):
    """`issues --dataset` measures a folder's images in workers too, with the same read-ahead."""
    from data_tools.issues import dataset
    monkeypatch.setattr(dataset, "MIN_PROCESS_BATCH", 2)
    os.mkfifo(tmp_path / "pipe.png")
    grey = np.random.default_rng(0).integers(0, 256, (48, 48, 3), dtype=np.uint8)
    write_image(tmp_path / "face.png", grey)
    paths = [str(tmp_path / "pipe.png"), str(tmp_path / "face.png")] * 70
    sig = measure_all(paths, jobs=jobs)
    assert np.isnan(sig["std"][0::2]).all() and np.isfinite(sig["std"][1::2]).all()
