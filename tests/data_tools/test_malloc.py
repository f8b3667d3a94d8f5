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
