"""Background jobs (training runs) as subprocesses whose PID, command and log live in the run folder,
so a browser refresh or a server restart re-attaches to them. Stop = SIGTERM to the process group.

Also runnable as `python -m app.components.jobs demo-then-train --demo-out DIR ... -- TRAIN ARGV`:
generates the demo dataset when missing, then replaces itself (same PID) by the training command."""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from data_tools import atomic

from app.components.project import REPO_ROOT, home

JOB_FILE = "job.json"
LOG_FILE = "job.log"
_MARKERS = ("eac_core.train", "app.components.jobs", "eac_core/train")
_CHILDREN: dict[int, subprocess.Popen] = {}   # processes this server started (reaped on poll)


@dataclass
class JobStatus:
    """What the app knows about a run's process."""
    pid: int | None
    alive: bool
    argv: list[str]
    started_at: str
    meta: dict


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), *filter(None, [env.get("PYTHONPATH", "")])])
    env["PYTHONUNBUFFERED"] = "1"
    return env


def launch(argv: list[str], run_dir: str | os.PathLike, **meta) -> int:
    """Start `argv` in the background (own session), log to run_dir/job.log, record job.json; returns the PID."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if is_alive(run_dir):
        raise RuntimeError(f"a job is already running for {run_dir.name} (pid {read_job(run_dir)['pid']})")
    with open(run_dir / LOG_FILE, "ab") as log:
        proc = subprocess.Popen([str(a) for a in argv], stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, cwd=str(home()), env=_env(),
                                start_new_session=True)
    _CHILDREN[proc.pid] = proc
    atomic.write_json(run_dir / JOB_FILE, {
        "pid": proc.pid, "pid_start": _start_time(proc.pid), "argv": [str(a) for a in argv],
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), **meta})
    return proc.pid


def read_job(run_dir: str | os.PathLike) -> dict | None:
    try:
        return json.loads((Path(run_dir) / JOB_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def _start_time(pid: int) -> int | None:
    """The process start time in clock ticks since boot (/proc/<pid>/stat field 22), or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()
        return int(fields[19])
    except (OSError, ValueError, IndexError):
        return None


def pid_alive(pid: int, start: int | None = None) -> bool:
    """True while `pid` runs and is the process that was started (same start time when known;
    otherwise its command line must name one of our entry points)."""
    proc = _CHILDREN.get(pid)
    if proc is not None:
        if proc.poll() is None:
            return True
        _CHILDREN.pop(pid, None)
        return False
    try:  # a child of this process started before a rerun lost its Popen: reap it if finished
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    except ChildProcessError:
        pass
    except OSError:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # guard against PID reuse and zombies
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[-1].split()[0] == "Z":
            return False
        if start is not None:
            return _start_time(pid) == start
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        return any(m in cmd for m in _MARKERS)
    except OSError:
        return True


def _job_alive(job: dict | None) -> bool:
    if not job or not isinstance(job.get("pid"), int):
        return False
    start = job.get("pid_start")
    return pid_alive(job["pid"], start if isinstance(start, int) else None)


def is_alive(run_dir: str | os.PathLike) -> bool:
    return _job_alive(read_job(run_dir))


def status(run_dir: str | os.PathLike) -> JobStatus | None:
    """The job of a run folder, or None when the app never started one there."""
    job = read_job(run_dir)
    if not job:
        return None
    pid = job.get("pid") if isinstance(job.get("pid"), int) else None
    return JobStatus(pid=pid, alive=_job_alive(job), argv=list(job.get("argv", [])),
                     started_at=str(job.get("started_at", "")),
                     meta={k: v for k, v in job.items() if k not in ("pid", "pid_start", "argv", "started_at")})


def stop(run_dir: str | os.PathLike, *, wait_s: float = 0.0) -> bool:
    """Send SIGTERM to the run's process group (the trainer then records state 'stopped').
    Returns False when nothing was running."""
    job = read_job(run_dir)
    if not _job_alive(job):
        return False
    pid = int(job["pid"])
    try:
        os.killpg(pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return False
    deadline = time.monotonic() + wait_s
    while wait_s and time.monotonic() < deadline and _job_alive(job):
        time.sleep(0.1)
    return True


def log_tail(run_dir: str | os.PathLike, n: int = 30) -> str:
    """The last n lines of the job log (and of train.log when the job log is empty)."""
    for name in (LOG_FILE, "train.log"):
        path = Path(run_dir) / name
        try:
            with open(path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(f.tell() - 20000, 0))
                text = f.read().decode(errors="replace")
        except OSError:
            continue
        if text.strip():
            return "\n".join(text.splitlines()[-n:])
    return ""


def new_run_name(dataset_name: str, mode: str = "eac") -> str:
    """runs/<dataset>-<mode>-<UTC timestamp>; unique per second."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    return f"{dataset_name}-{mode}-{stamp}"


# -- `python -m app.components.jobs demo-then-train` -------------------------------------------------
def _main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--" not in argv:
        print("error: usage: demo-then-train --demo-out DIR [--n-train N --n-test N --image-size N] -- TRAIN ARGV",
              file=sys.stderr)
        return 2
    i = argv.index("--")
    p = argparse.ArgumentParser(prog="python -m app.components.jobs")
    p.add_argument("command", choices=["demo-then-train"])
    p.add_argument("--demo-out", required=True)
    p.add_argument("--n-train", type=int, default=3000)
    p.add_argument("--n-test", type=int, default=700)
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv[:i])
    train = argv[i + 1:]
    out = Path(args.demo_out)
    if not (out / "dataset.json").is_file():
        print(f"generating the demo dataset in {out} ...", flush=True)
        from data_tools.demo import generate_demo
        generate_demo(out, n_train=args.n_train, n_test=args.n_test, image_size=args.image_size,
                      seed=args.seed)
    print("starting:", " ".join(train), flush=True)
    os.execv(train[0], train)  # same PID, so job.json still names the trainer


if __name__ == "__main__":
    sys.exit(_main())
