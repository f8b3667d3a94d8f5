"""glibc malloc settings of the import's decoding workers: taken on glibc, a no-op elsewhere."""
from __future__ import annotations

import platform
import subprocess
import sys

GLIBC = platform.libc_ver()[0] == "glibc"


def test_workers_keep_freed_memory():
    # in a child: the settings would otherwise stay with the test process
    code = "from data_tools import malloc; print(malloc.keep_freed())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == (["True"] if GLIBC else ["False"])


def test_trim_hands_free_pages_inside_the_heap_back():
    # 2,000 arrays of 100 kB (under malloc's mmap threshold: in the heap), nine in ten freed; the live
    # tenth keep the heap from shrinking at its top, so only malloc_trim returns the pages between them
    code = """
import numpy as np
from data_tools import malloc
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20
arrays = [np.ones(100_000, np.uint8) for _ in range(2000)]
kept = arrays[::10]
del arrays
before = rss()
ok = malloc.trim()
print(ok, round(before - rss()))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    if not GLIBC:
        assert out[0] == "False"
        return
    assert out[0] == "True" and int(out[1]) > 100, out       # about 170 MB of freed arrays handed back
