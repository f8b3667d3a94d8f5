"""Folders-import sample ids on a demo project: `<source_label>/<id>` everywhere a run or the dataset names
a sample, as `data_tools import --format folders` then `data_tools noise` give them (the id names the
class the face came from: issue 24 item 6). Used by tests/app/test_display_ids.py and the two-reviewer
browser test."""
from __future__ import annotations

from pathlib import Path

import pandas as pd


def fold_ids(dataset_dir: Path, run_dir: Path) -> dict[str, str]:
    """Rewrite the dataset's manifest and the run's id-bearing files; returns old id -> new id."""
    m = pd.read_csv(dataset_dir / "manifest.csv", dtype=str, keep_default_na=False)
    new = dict(zip(m["sample_id"], m["source_label"] + "/" + m["sample_id"]))
    m["sample_id"] = m["sample_id"].map(new)
    m.to_csv(dataset_dir / "manifest.csv", index=False)
    for f in [run_dir / "scores.parquet", run_dir / "embedding.parquet", run_dir / "history" / "sample_ids.parquet"]:
        if f.is_file():
            t = pd.read_parquet(f)
            t["sample_id"] = t["sample_id"].map(new)
            t.to_parquet(f, index=False)
    return new
