"""A real project with many classes for the app tests: the synthetic class000..classNNN dataset of
tests/support/many_classes.py and one demo-preset epoch of `python -m eac_core.train` on it."""
from __future__ import annotations

import sys
from pathlib import Path


from support import browser as bs
from support.many_classes import class_names, write_many_class_dataset

__all__ = ["class_names", "make_many_class_project"]


def make_many_class_project(home: Path, n_classes: int, *, train_per_class: int = 2, size: int = 16,
                            run_name: str = "many", timeout: float = 300) -> Path:
    """home/datasets/many and home/runs/<run_name> (trained for real, 1 epoch); returns the run folder."""
    home = Path(home)
    ds = write_many_class_dataset(home / "datasets" / "many", n_classes, train_per_class=train_per_class,
                                  test_per_class=1, size=size)
    run = home / "runs" / run_name
    bs._run([sys.executable, "-m", "eac_core.train", "--dataset", str(ds), "--out", str(run), "--preset", "demo",
             "--image-size", str(size), "--epochs", "1", "--batch-size", "32", "--threads", "1"],
            cwd=home, timeout=timeout)
    if not (run / "scores.parquet").is_file():
        raise RuntimeError(f"training wrote no {run / 'scores.parquet'}")
    return run
