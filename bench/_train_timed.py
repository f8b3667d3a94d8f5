"""Run `python -m eac_core.train ARGS` in this process and write <out>/bench_timing.json: the process
CPU seconds and wall seconds of the whole run and of its parts (training epochs, test evaluation, the
final/periodic clean-view scoring pass, the --folds cross-validation). Used by the bench_* scripts;
it only wraps the trainer's functions (eac_core is not changed)."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import eac_core.folds as folds_mod
import eac_core.train as train_mod

PARTS = {"train_epoch": 0.0, "evaluate": 0.0, "score_clean": 0.0, "folds": 0.0}
WALL = {k: 0.0 for k in PARTS}


def _timed(name, fn):
    def wrapper(*a, **kw):
        c, w = time.process_time(), time.perf_counter()
        try:
            return fn(*a, **kw)
        finally:
            PARTS[name] += time.process_time() - c
            WALL[name] += time.perf_counter() - w
    return wrapper


def main(argv: list[str]) -> int:
    train_mod.train_one_epoch = _timed("train_epoch", train_mod.train_one_epoch)
    train_mod.evaluate = _timed("evaluate", train_mod.evaluate)
    train_mod.score_clean = _timed("score_clean", train_mod.score_clean)
    folds_mod.run_folds = _timed("folds", folds_mod.run_folds)   # train.py imports it lazily
    c0, w0 = time.process_time(), time.perf_counter()
    rc = train_mod.main(argv)
    out = Path(argv[argv.index("--out") + 1])
    if out.is_dir():
        (out / "bench_timing.json").write_text(json.dumps({
            "rc": rc, "cpu_s": time.process_time() - c0, "wall_s": time.perf_counter() - w0,
            "cpu_parts": PARTS, "wall_parts": WALL, "argv": argv}, indent=1))
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
