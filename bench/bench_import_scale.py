"""Import of a very large CSV (issue 9, Scale: 2,000,000 rows; target ≤ 1 GB and ≥ 5,000 rows/s with
image checks on 2 cores): wall time and peak memory of `python -m data_tools import --format csv`, the
command a user runs, with and without `--labels-only`.

    python bench/bench_import_scale.py [--rows 2000000] [--modes images,labels-only] [--work .cache/bench-import-scale]
                                       [--distinct]     # a different picture on every row
                                       [--drop-caches]  # every run reads its files from disk (root, Linux)
                                       [--compare REV]   # the importer of git revision REV beside this one
    modes: labels-only, images (every image decoded, measured, issues.parquet written), no-issues (decoded, --no-issues),
           issues-distinct (the issues step alone on --rows distinct random signatures, in its own process)

The dataset: one small PNG (48x48 noise) hard-linked under --rows distinct paths (1,000 per folder,
one file per folder), and labels.csv with path, label and split columns. Hard links give every row
its own path (the importer treats the same path twice as a duplicate) while the disk holds one file per folder;
each row's image is still opened and decoded by the importer. Built once per --rows in --work.
Peak memory is the import process's maximum resident set (getrusage RUSAGE_CHILDREN in a wrapper process
per run, so each run is measured alone)."""
from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# runs the import as its child and reports that child's peak resident set (each run measured alone)
WRAP = ("import resource, subprocess, sys; rc = subprocess.run(sys.argv[1:]).returncode; "
        "print(f'MAXRSS {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}', file=sys.stderr); sys.exit(rc)")
CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


def build(work: Path, rows: int, distinct: bool = False) -> Path:
    """The bench's dataset: one picture under every path, or (`distinct`) a different picture per row:
    12x12 random grey levels enlarged to 48x48 (about 2 KB a PNG, 7.8 GB on disk at 2,000,000 rows in 4 KB
    blocks), so the hashes differ too."""
    root = work / f"csv{rows}{'-distinct' if distinct else ''}"
    stamp = root / "built"
    if stamp.is_file():
        return root
    shutil.rmtree(root, ignore_errors=True)
    (root / "img").mkdir(parents=True)
    import cv2
    import numpy as np
    rng = np.random.default_rng(0)
    face = (rng.random((48, 48)) * 255).astype("uint8")
    src = root / "face.png"
    cv2.imwrite(str(src), face)
    t = time.monotonic()
    with open(root / "labels.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "label", "split"])
        for i in range(rows):
            d = root / "img" / f"{i // 1000:04d}"
            if i % 1000 == 0:
                d.mkdir()
            if distinct:
                small = rng.integers(0, 256, (12, 12), dtype=np.uint8)
                cv2.imwrite(str(d / f"{i:07d}.png"), cv2.resize(small, (48, 48), interpolation=cv2.INTER_LINEAR))
            elif i % 1000 == 0:                # one file per folder, hard-linked 999 times (ext4: < 65,000 links)
                first = d / f"{i:07d}.png"
                shutil.copyfile(src, first)
            else:
                os.link(first, d / f"{i:07d}.png")
            w.writerow([f"img/{i // 1000:04d}/{i:07d}.png", CLASSES[i % 7], "test" if i % 10 == 0 else "train"])
    stamp.write_text(str(rows))
    print(f"built {rows:,} rows in {time.monotonic() - t:.0f} s: {root}", flush=True)
    return root


def worktree(work: Path, rev: str) -> Path:
    """A checkout of `rev` (a git worktree under --work) whose importer runs beside this one's."""
    sha = subprocess.run(["git", "rev-parse", "--short", rev], cwd=REPO, capture_output=True, text=True,
                         check=True).stdout.strip()
    tree = work / f"code-{sha}"
    if not tree.is_dir():
        subprocess.run(["git", "worktree", "add", "--detach", str(tree), sha], cwd=REPO, check=True,
                       capture_output=True)
    return tree


MODES = {"labels-only": ["--labels-only"], "images": [], "no-issues": ["--no-issues"]}
MODE_TEXT = {"labels-only": "--labels-only", "images": "image checks + issues.parquet",
             "no-issues": "image checks, --no-issues",
             "issues-distinct": "issues step alone, every row a distinct image"}
# the issues step of an import (data_tools.issues.write_found) on --rows *distinct* random signatures (the
# bench's images are one picture: its duplicate step collapses them to one node); prints the process's
# resident set before the step, so the step's own cost is the difference
DISTINCT = """
import resource, sys, tempfile, numpy as np
from data_tools.issues import SIGNATURE, write_found
n = int(sys.argv[1])
rng = np.random.default_rng(0)
sig = np.zeros(n, SIGNATURE)
sig["exact"] = rng.integers(0, 256, (n, 16), dtype=np.uint8).view("V16").ravel()
sig["phash"] = rng.integers(0, 2**64 - 1, n, dtype=np.uint64, endpoint=True)
sig["shift"] = rng.integers(0, 2**64 - 1, sig["shift"].shape, dtype=np.uint64, endpoint=True)
sig["mean"], sig["std"], sig["p01"], sig["p99"], sig["entropy"], sig["sharpness"] = 120, 50, 20, 200, 7, 100
classes = np.array(["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"], dtype=object)
labels, splits = classes[np.arange(n) % 7], np.where(np.arange(n) % 10 == 0, "test", "train").astype(object)
ids = np.char.add("s", np.arange(n).astype(str)).astype(object)
print(f"BEFORE {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}", file=sys.stderr)
with tempfile.TemporaryDirectory() as d:
    write_found(d, ids, sig, labels, splits)
"""


def run(root: Path, out: Path, mode: str, code: Path = REPO, jobs: int = 0, rows: int = 0) -> tuple[float, int, int, str]:
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "data_tools", "import", "--format", "csv", "--root", str(root), "--csv", "labels.csv",
           "--path-col", "path", "--label-col", "label", "--split-col", "split", "--out", str(out)]
    cmd += MODES.get(mode, [])
    if jobs:
        cmd += ["--jobs", str(jobs)]
    if mode == "issues-distinct":
        cmd = [sys.executable, "-c", DISTINCT, str(rows)]
    t = time.monotonic()
    res = subprocess.run([sys.executable, "-c", WRAP, *cmd], cwd=code, env=dict(os.environ, PYTHONPATH=str(code)),
                         capture_output=True, text=True)
    secs = time.monotonic() - t
    peak_kib = next((int(line.split()[1]) for line in res.stderr.splitlines() if line.startswith("MAXRSS ")), -1)
    before = next((int(line.split()[1]) for line in res.stderr.splitlines() if line.startswith("BEFORE ")), 0)
    imported = rows if mode == "issues-distinct" and not res.returncode else 0
    if (out / "manifest.csv").is_file() and mode != "issues-distinct":
        with open(out / "manifest.csv") as f:
            imported = sum(1 for _ in f) - 1
    tail = (res.stdout + res.stderr).strip().splitlines()[-1:] if res.returncode else []
    note = f"rc {res.returncode}: {tail}" if tail else (f"{before / 1024:.0f} MB before the step" if before else "")
    return secs, peak_kib, imported, note


def drop_caches() -> None:
    """The page cache emptied (the next run reads every file from disk); exits with a message if not allowed."""
    os.sync()
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError as e:
        raise SystemExit(f"--drop-caches: /proc/sys/vm/drop_caches: {e.strerror} (root on Linux only)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--modes", default="labels-only,images",
                    help=f"comma-separated, any of {', '.join(MODE_TEXT)} (images: the image-level issues computed too)")
    ap.add_argument("--work", default=str(REPO / ".cache" / "bench-import-scale"))
    ap.add_argument("--compare", metavar="REV", help="also run the importer of this git revision, each mode "
                                                     "right after this tree's (a worktree under --work)")
    ap.add_argument("--jobs", type=int, default=0, help="--jobs of the import (0: its default)")
    ap.add_argument("--drop-caches", action="store_true", help="empty the page cache before every run (root on "
                    "Linux: sync; echo 3 > /proc/sys/vm/drop_caches), so that each reads its files from disk")
    ap.add_argument("--distinct", action="store_true", help="a different picture on every row (built once, "
                    "about 8 GB at 2,000,000 rows) instead of one picture under every path")
    args = ap.parse_args()
    work = Path(args.work).resolve()
    root = build(work, args.rows, args.distinct) if set(args.modes.split(",")) - {"issues-distinct"} else work
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    codes = [("this tree", REPO)] + ([(f"at {args.compare}", worktree(work, args.compare))] if args.compare else [])
    print("| code | mode | rows | imported | wall s | rows/s | peak RSS MB | note |\n|---|---|---:|---:|---:|---:|---:|---|")
    for mode in args.modes.split(","):
        for name, code in codes:
            if args.drop_caches:
                drop_caches()
            secs, peak_kib, imported, note = run(root, work / f"out-{mode}", mode, code, args.jobs, args.rows)
            peak = f"{peak_kib / 1024:.0f}" if peak_kib > 0 else "n/a"
            print(f"| {name} | {MODE_TEXT[mode]} | {args.rows:,} | "
                  f"{imported:,} | {secs:.0f} | {args.rows / secs:,.0f} | {peak} | {note} |", flush=True)
    print(f"\n{'distinct pictures' if args.distinct else 'one picture under every path'}"
          f"{'; page cache emptied before every run' if args.drop_caches else ''}; code at {commit} (working tree); {os.cpu_count()} CPUs, 1-min load average {os.getloadavg()[0]:.1f} "
          "at the end (other processes share the CPUs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
