"""Demo generation speed: images per second for a few image sizes and worker counts.

    python bench/bench_demo.py [--n 700] [--sizes 48 64 112] [--workers 1 2]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from data_tools.demo import generate_demo  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=700, help="images per measurement (6/7 train, 1/7 test)")
    p.add_argument("--sizes", type=int, nargs="+", default=[48, 64, 112])
    p.add_argument("--workers", type=int, nargs="+", default=[1, min(os.cpu_count() or 1, 4)])
    args = p.parse_args()
    n_test = args.n // 7
    print(f"demo generation, {args.n} images each, {os.cpu_count()} CPUs")
    print(f"{'size':>5} {'workers':>7} {'seconds':>8} {'images/s':>9}")
    for size in args.sizes:
        for workers in dict.fromkeys(args.workers):
            with tempfile.TemporaryDirectory() as tmp:
                t0 = time.perf_counter()
                generate_demo(Path(tmp) / "demo", n_train=args.n - n_test, n_test=n_test, image_size=size,
                              workers=workers)
                dt = time.perf_counter() - t0
            print(f"{size:>5} {workers:>7} {dt:>8.2f} {args.n / dt:>9.0f}")


if __name__ == "__main__":
    main()
