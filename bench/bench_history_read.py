"""One sample's per-epoch history: the run directory's hand-written reader (data_tools.rundir._column_of:
one 2-byte pread per signal row) against numpy's memory map (np.load(mmap_mode="r")[:, j]), on the
history layout of a large run (float16, 7 training-pass signals x N samples, one file per epoch).
Issue 21 item 9 asked for np.load unless a measurement shows the hand-written reader faster.

  python bench/bench_history_read.py                     # 300,000 samples x 60 epochs, 100 samples read
  python bench/bench_history_read.py --samples 30000 --epochs 10
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from data_tools import rundir  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=300_000)
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--reads", type=int, default=100, help="samples read, spread over the run")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as d:
        files = []
        for e in range(1, args.epochs + 1):
            f = Path(d) / f"epoch_{e:04d}.npy"
            np.save(f, np.random.default_rng(e).random((len(rundir.TRAIN_HISTORY), args.samples))
                    .astype(rundir.HISTORY_DTYPE))
            files.append(f)
        readers = {"hand-written pread (rundir._column_of)": lambda j: [rundir._column_of(f, j) for f in files],
                   "np.load(mmap_mode='r')[:, j]": lambda j: [np.asarray(np.load(f, mmap_mode="r")[:, j],
                                                                          dtype=np.float32) for f in files]}
        cols = np.linspace(0, args.samples - 1, args.reads).astype(int)
        first = [read(int(cols[1])) for read in readers.values()]
        assert all((a == b).all() for a, b in zip(*first)), "the two readers disagree"
        print(f"{args.samples:,} samples x {args.epochs} epochs, {len(cols)} samples read (files in the page cache)")
        for name, read in readers.items():
            t = time.perf_counter()
            for j in cols:
                read(int(j))
            print(f"  {name}: {1000 * (time.perf_counter() - t) / len(cols):.1f} ms per sample")
    return 0


if __name__ == "__main__":
    sys.exit(main())
