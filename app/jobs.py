"""Background jobs (training runs, the first-run demo): the one owner of launching a process for a run,
telling whether it is alive and stopping it. A job's PID, command and output live in the run folder
(RunDir.job_path, RunDir.job_log_path), so a browser refresh or a server restart re-attaches to it.
Processes are inspected with psutil; stop = SIGTERM to the job's process group (the trainer then saves
and records state 'stopped').

A run started outside the app (`python -m eac_core.train` in a terminal) has no job file: its liveness
and stop go through the pid the trainer writes into its progress file."""
from __future__ import annotations

import os
import shlex
import signal
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import psutil

from app.components.project import REPO_ROOT, home
from data_tools.rundir import RunDir

# Entry points a job runs: with no recorded start time, a live PID counts as ours only when its command
# line names one of them (a guard against PID reuse).
ENTRY_POINTS = ("eac_core.train", "eac_core/train", "data_tools")
_CHILDREN: dict[int, subprocess.Popen] = {}   # processes this server started (reaped on poll)
_SAME_START_S = 0.01                          # psutil start times of one process agree to this


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


def _command(argv: list[str], before: list[list[str]]) -> list[str]:
    """argv itself, or with commands to run first: a POSIX shell runs them in order, stops at the first
    failure, then replaces itself by argv (same PID, so the job's PID is argv's process)."""
    if not before:
        return argv
    return ["/bin/sh", "-c", " && ".join([*map(shlex.join, before), "exec " + shlex.join(argv)])]


def launch(argv: list, run_dir: str | os.PathLike, *, before: list[list] | None = None, **meta) -> int:
    """Start `argv` in the background (own session and process group), its output appended to the run's
    job log, and record the job file; returns the PID. `before`: commands that must succeed first, run
    by the same process (each one a command a user could type). `meta` is kept in the job file."""
    run = RunDir(run_dir)
    run.path.mkdir(parents=True, exist_ok=True)
    if is_alive(run):
        raise RuntimeError(f"a job is already running for {run.name} (pid {run.read_job()['pid']})")
    argv = [str(a) for a in argv]
    before = [[str(a) for a in cmd] for cmd in before or []]
    with open(run.job_log_path, "ab") as log:
        proc = subprocess.Popen(_command(argv, before), stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, cwd=str(home()), env=_env(), start_new_session=True)
    _CHILDREN[proc.pid] = proc
    run.write_job({"pid": proc.pid, "pid_created": _created(proc.pid), "argv": argv, "before": before,
                   "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), **meta})
    return proc.pid


def read_job(run_dir: str | os.PathLike) -> dict | None:
    return RunDir(run_dir).read_job()


def _created(pid: int) -> float | None:
    """The process's start time (psutil, seconds since the epoch), or None."""
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def _reap(pid: int) -> None:
    """Collect a finished child of this process whose Popen was lost (a zombie otherwise)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except (ChildProcessError, OSError):
        pass


def pid_alive(pid: int, created: float | None = None) -> bool:
    """True while `pid` runs and is the process that was started: the same start time when known,
    otherwise a command line naming one of ENTRY_POINTS."""
    proc = _CHILDREN.get(pid)
    if proc is not None:
        if proc.poll() is None:
            return True
        _CHILDREN.pop(pid, None)
        return False
    try:
        p = psutil.Process(pid)
        if p.status() == psutil.STATUS_ZOMBIE:
            _reap(pid)
            return False
        if created is not None:
            return abs(p.create_time() - created) < _SAME_START_S
        cmd = p.cmdline()
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True
    if not cmd:                      # just exec'ing (the command line is not readable yet): cannot rule it out
        return True
    return any(m in " ".join(cmd) for m in ENTRY_POINTS)


def _job_alive(job: dict | None) -> bool:
    if not job or not isinstance(job.get("pid"), int):
        return False
    created = job.get("pid_created")
    return pid_alive(job["pid"], float(created) if isinstance(created, (int, float)) else None)


def is_alive(run_dir: str | os.PathLike) -> bool:
    """True while the job the app started for this run is alive."""
    return _job_alive(read_job(run_dir))


def _progress_pid(run: RunDir) -> int | None:
    """The trainer's own pid from its progress file while it says 'running' and that process lives."""
    prog = run.read_progress() or {}
    pid = prog.get("pid")
    return pid if prog.get("state") == "running" and isinstance(pid, int) and pid_alive(pid) else None


def is_active(run_dir: str | os.PathLike) -> bool:
    """True while the run's process is alive: its job's when the app started one, else the trainer
    named in its progress file."""
    run = RunDir(run_dir)
    job = run.read_job()
    if job is not None:
        return _job_alive(job)
    return _progress_pid(run) is not None


def status(run_dir: str | os.PathLike) -> JobStatus | None:
    """The job of a run folder, or None when the app never started one there."""
    job = read_job(run_dir)
    if not job:
        return None
    pid = job.get("pid") if isinstance(job.get("pid"), int) else None
    return JobStatus(pid=pid, alive=_job_alive(job), argv=list(job.get("argv", [])),
                     started_at=str(job.get("started_at", "")),
                     meta={k: v for k, v in job.items() if k not in ("pid", "pid_created", "argv", "started_at")})


def _terminate(pid: int, group: bool) -> bool:
    try:
        if group:
            os.killpg(pid, signal.SIGTERM)
        else:
            psutil.Process(pid).terminate()
        return True
    except (ProcessLookupError, PermissionError, psutil.Error):
        if group:                                     # not a group leader after all: the process alone
            return _terminate(pid, group=False)
        return False


def stop(run_dir: str | os.PathLike, *, wait_s: float = 0.0) -> bool:
    """Ask the run's process to stop (SIGTERM: the job's process group, else the trainer named in
    its progress file); wait up to `wait_s` for it to end. False when nothing was running."""
    run = RunDir(run_dir)
    job = run.read_job()
    if job is not None:
        if not _job_alive(job) or not _terminate(int(job["pid"]), group=True):
            return False
        alive = lambda: _job_alive(job)  # noqa: E731
    else:
        pid = _progress_pid(run)
        if pid is None or not _terminate(pid, group=False):
            return False
        alive = lambda: pid_alive(pid)  # noqa: E731
    deadline = time.monotonic() + wait_s
    while wait_s and time.monotonic() < deadline and alive():
        time.sleep(0.1)
    return True


def log_tail(run_dir: str | os.PathLike, n: int = 30) -> str:
    """The last n lines of the job's output (else of the trainer's log)."""
    return RunDir(run_dir).log_tail(n)
