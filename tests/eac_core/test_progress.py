"""eac_core.progress: progress.json written by a heartbeat while anything changes, the final state on
close, nothing when disabled; SIGTERM turned into a stop flag and the old handler given back."""
from __future__ import annotations

import json
import os
import signal
import time

from eac_core.progress import Progress, StopFlag


def _read(run) -> dict:
    return json.loads((run / "progress.json").read_text())


def test_heartbeat_writes_changes_and_close_writes_the_final_state(tmp_path):
    p = Progress(tmp_path, epochs=5, interval=0.05).start()
    first = _read(tmp_path)
    assert (first["state"], first["phase"], first["epochs"], first["pid"]) == ("running", "setup", 5, os.getpid())
    p.update(phase="train", epoch=2, step=7)
    deadline = time.monotonic() + 5
    while _read(tmp_path).get("step") != 7 and time.monotonic() < deadline:   # no flush called: the thread
        time.sleep(0.02)
    now = _read(tmp_path)
    assert (now["phase"], now["epoch"], now["step"]) == ("train", 2, 7) and now["elapsed_sec"] >= 0
    p.close(state="done", phase="done")
    p.stop()                                                                   # idempotent
    assert (_read(tmp_path)["state"], _read(tmp_path)["phase"]) == ("done", "done")
    written = (tmp_path / "progress.json").read_bytes()
    time.sleep(0.2)
    assert (tmp_path / "progress.json").read_bytes() == written              # the thread has stopped


def test_disabled_progress_writes_nothing(tmp_path):
    p = Progress(tmp_path, epochs=1, enabled=False).start()
    p.update(step=1)
    p.close(state="done")
    assert not (tmp_path / "progress.json").exists()


def test_stop_flag_catches_sigterm_and_restores_the_handler():
    caught = []
    old = signal.signal(signal.SIGTERM, lambda s, f: caught.append(s))
    try:
        flag = StopFlag().install()
        assert not flag()
        os.kill(os.getpid(), signal.SIGTERM)
        assert flag() and flag.signum == signal.SIGTERM and caught == []
        flag.restore()
        os.kill(os.getpid(), signal.SIGTERM)
        assert caught == [signal.SIGTERM]                                      # the previous handler again
    finally:
        signal.signal(signal.SIGTERM, old)
