"""progress.json (rewritten atomically by a heartbeat thread at least every second while anything
changed), the terminal progress bar, and SIGTERM/SIGINT turned into a polite stop flag."""
from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

from data_tools.rundir import RunDir


class StopFlag:
    """Set by SIGTERM / SIGINT; the training loop polls it between steps."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._old: dict[int, object] = {}

    def install(self) -> "StopFlag":
        for s in (signal.SIGTERM, signal.SIGINT):
            try:
                self._old[s] = signal.signal(s, self._handle)
            except ValueError:       # not the main thread (tests calling main() from a thread)
                pass
        return self

    def _handle(self, signum, frame) -> None:
        self.signum = signum

    def __call__(self) -> bool:
        return self.signum is not None

    def restore(self) -> None:
        for s, h in self._old.items():
            signal.signal(s, h)


class Progress:
    """The live state of a run; `update` is cheap, a daemon thread writes the file."""

    def __init__(self, run: Path, epochs: int, enabled: bool = True, interval: float = 1.0):
        self.run, self.enabled, self.interval = Path(run), enabled, interval
        self.t0 = time.time()
        self.state = {"state": "running", "phase": "setup", "epoch": 0, "epochs": epochs, "step": 0, "steps": 0,
                      "images_per_sec": 0.0, "eta_sec": None, "elapsed_sec": 0.0, "error": None,
                      "pid": os.getpid(), "updated_at": None}
        self._lock = threading.Lock()
        self._dirty = True
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "Progress":
        if self.enabled:
            self.flush()
            self._thread = threading.Thread(target=self._loop, name="progress", daemon=True)
            self._thread.start()
        return self

    def update(self, **kw) -> None:
        with self._lock:
            self.state.update(kw)
            self._dirty = True

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.flush(force=True)

    def flush(self, force: bool = False) -> None:
        if not self.enabled:
            return
        with self._lock:
            if not (self._dirty or force):
                return
            self.state["elapsed_sec"] = round(time.time() - self.t0, 2)
            self.state["updated_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
            snapshot = dict(self.state)
            self._dirty = False
        try:
            RunDir(self.run).write_progress(snapshot)
        except OSError:
            if snapshot.get("state") in ("failed", "done", "stopped"):
                _rewrite_in_place(RunDir(self.run).progress_path, snapshot)

    def stop(self) -> None:
        """Stop the heartbeat thread (idempotent); the file keeps its last state."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def close(self, **final) -> None:
        """Stop the heartbeat and write the final state."""
        self.stop()
        self.update(**final)
        self.flush(force=True)


def _rewrite_in_place(path, snapshot: dict) -> None:
    """The final state when the atomic write failed (a full disk: no room for a temp file): the state's
    main fields as compact JSON written over the existing progress.json, within the blocks it already
    has, the error shortened only if it must; a reader may see a torn file for an instant, which it
    treats as half-written (issue 22)."""
    import json
    try:
        st = os.stat(path)
        size = max(st.st_size, getattr(st, "st_blocks", 0) * 512)
        fd = os.open(path, os.O_WRONLY)
    except OSError:
        return
    snapshot = {k: snapshot[k] for k in ("state", "phase", "error", "epoch", "epochs", "pid", "elapsed_sec",
                                         "updated_at") if k in snapshot}
    try:
        data = json.dumps(snapshot, default=str, separators=(",", ":")).encode()
        err = str(snapshot.get("error") or "")
        while len(data) > size and err:
            err = err[:max(0, len(err) - (len(data) - size) - 2)]
            data = json.dumps({**snapshot, "error": err + "…"}, default=str, separators=(",", ":")).encode()
        if len(data) > size:
            return
        os.write(fd, data)
        os.ftruncate(fd, len(data))
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
