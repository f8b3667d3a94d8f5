"""bench/bench_review_latency.py --load (issue 24): CPU hogs run beside the key presses and are ended by
their own process ids."""
from __future__ import annotations

import subprocess
import sys
import time

from support import bench
from support.apptest import REPO


def test_load_option_is_offered():
    out = subprocess.run([sys.executable, str(REPO / "bench" / "bench_review_latency.py"), "--help"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0
    assert "--load [N]" in out.stdout


def test_hogs_burn_cpu_and_are_ended():
    import psutil
    b = bench.load("bench_review_latency")
    hogs = b.start_hogs(2)
    try:
        assert len(hogs) == 2 and all(h.poll() is None for h in hogs)
        procs = [psutil.Process(h.pid) for h in hogs]
        t0 = [p.cpu_times().user for p in procs]
        # busy, even on shared cores: each burns CPU time (0.2 s of it), waited for up to 20 s, since on a
        # loaded machine a hog's share of a core can be small
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not all(p.cpu_times().user - t > 0.2 for p, t in zip(procs, t0)):
            time.sleep(0.2)
        assert all(p.cpu_times().user - t > 0.2 for p, t in zip(procs, t0))
    finally:
        b.stop_hogs(hogs)
    assert all(h.returncode is not None for h in hogs)
    assert b.start_hogs(0) == []
