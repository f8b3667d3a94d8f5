"""Render-time marks for the benchmarks (bench/bench_review_scale.py), kept out of the pages: with
FER_AUDIT_TIMING set, `mark` prints `[fer-audit] review <what>: <ms> ms at <s since the epoch>` on
stderr; unset (always, outside a benchmark) it does nothing."""
from __future__ import annotations

import os
import sys
import time

ENABLED = bool(os.environ.get("FER_AUDIT_TIMING"))


def mark(t0: float, what: str) -> None:
    """A timing line on stderr: ms since t0 (time.perf_counter), and the wall clock that
    bench_review_scale.py lines up with the browser's navigation start."""
    if ENABLED:
        print(f"[fer-audit] review {what}: {1000 * (time.perf_counter() - t0):.0f} ms at {time.time():.3f}",
              file=sys.stderr, flush=True)
