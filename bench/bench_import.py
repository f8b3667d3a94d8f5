"""Import speed (images per second) on the real data in ../shared/data and on the demo dataset.

    python bench/bench_import.py [--repeat 2]

Prints a table; each import is timed in-process (interpreter start-up excluded), best of --repeat.
Datasets that are absent are listed as skipped.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from data_tools.importers import import_dataset  # noqa: E402

DATA = REPO.parent / "shared" / "data"
DEMO = REPO / "datasets" / "demo"

CASES = [  # name, format, root, options; images are decoded unless labels_only
    ("CK+48 (981 PNG 48x48)", "folders", DATA / "ckplus48", {}),
    ("CK+48, subject groups", "folders", DATA / "ckplus48", {"group_regex": r"^(S\d+)_"}),
    ("JAFFE (213 TIFF 256x256)", "folders", DATA / "jaffe", {}),
    ("JAFFE --crop-faces", "folders", DATA / "jaffe", {"crop_faces": True}),
    ("RAF-DB list --labels-only", "rafdb", DATA / "rafdb_labels", {"labels_only": True}),
    ("demo (its manifest as a CSV)", "csv", DEMO, {"csv": "manifest.csv", "id_col": "sample_id"}),
]


def run(fmt: str, root: Path, options: dict, repeat: int) -> tuple[int, int, float]:
    best = float("inf")
    for _ in range(repeat):
        tmp = Path(tempfile.mkdtemp(prefix="bench_import_"))
        try:
            t0 = time.perf_counter()
            res = import_dataset(fmt, root, tmp / "ds", **options)
            best = min(best, time.perf_counter() - t0)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return res.counts["read"], res.counts["imported"], best


def synthetic_fer2013(folder: Path, n: int = 5000) -> Path:
    """A FER2013-style CSV of `n` random 48x48 faces (to time pixel parsing and PNG writing)."""
    import numpy as np
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "fer2013.csv", "w") as f:
        f.write("emotion,pixels,Usage\n")
        for k in range(n):
            px = " ".join(map(str, rng.integers(0, 256, 2304)))
            f.write(f"{k % 7},{px},{('Training', 'PublicTest', 'PrivateTest')[k % 3]}\n")
    return folder


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    print(f"cores: {os.cpu_count()}  python {sys.version.split()[0]}")
    print(f"| {'dataset':32} | {'read':>6} | {'imported':>8} | {'seconds':>7} | {'rows/s':>8} |")
    print(f"|{'-' * 34}|{'-' * 8}|{'-' * 10}|{'-' * 9}|{'-' * 10}|")
    tmp = Path(tempfile.mkdtemp(prefix="bench_fer2013_"))
    cases = CASES + [("FER2013 CSV, 5000 synthetic rows", "fer2013csv", synthetic_fer2013(tmp), {})]
    for name, fmt, root, options in cases:
        if not (root / ("manifest.csv" if fmt == "csv" else "")).exists():
            print(f"| {name:32} | skipped: {root} not found")
            continue
        read, imported, secs = run(fmt, root, options, args.repeat)
        print(f"| {name:32} | {read:6d} | {imported:8d} | {secs:7.2f} | {read / secs:8.0f} |")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
