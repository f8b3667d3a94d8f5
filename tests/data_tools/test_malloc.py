"""glibc malloc settings of the import's processes: taken on glibc, a no-op elsewhere."""
from __future__ import annotations

import platform
import subprocess
import sys

GLIBC = platform.libc_ver()[0] == "glibc"


def test_workers_keep_freed_memory_and_the_main_process_can_release_it():
    # in a child: the settings would otherwise stay with the test process
    code = ("from data_tools import malloc; import numpy as np; print(malloc.keep_freed()); "
            "x = [np.ones(1 << 16) for _ in range(200)]; del x; print(malloc.release_freed())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == (["True", "True"] if GLIBC else ["False", "False"])
