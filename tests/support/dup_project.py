"""A project folder over the planted-issues dataset (support.planted_issues: duplicates of every kind,
a train/test leak, a label conflict, unusable images), its issues.parquet computed as the import does,
and a run made from seeded predictions (eac_core.import_predictions: no training, no model). Shared by
the duplicate-group tests (AppTest and real Chromium)."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from support.planted_issues import CLASSES, make_dataset

DATASET, RUN = "planted", "planted-run"


def make_dup_project(home: Path) -> Path:
    """Write datasets/planted (images under home/src/img) and runs/planted-run; returns `home`."""
    from data_tools.issues.dataset import compute_issues
    from eac_core.import_predictions import build_run
    src = make_dataset(home / "src")
    ds = home / "datasets" / DATASET
    ds.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(src), str(ds))
    compute_issues(ds, jobs=1)
    m = pd.read_csv(ds / "manifest.csv", dtype=str)
    train = m[m["split"] == "train"].reset_index(drop=True)
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(len(CLASSES)), size=len(train))
    frame = pd.DataFrame(p, columns=[f"prob_{c}" for c in CLASSES])
    frame.insert(0, "sample_id", train["sample_id"])
    probs = home / "probs.csv"
    frame.to_csv(probs, index=False)
    build_run(ds, probs, home / "runs" / RUN)
    return home
