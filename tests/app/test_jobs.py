"""app.jobs: the one owner of background processes (launch, re-attach after a restart, liveness with a
PID-reuse guard, stop), for jobs the app started and for trainers started in a terminal."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from app import jobs
from data_tools.rundir import RunDir

SLEEP = "import time; time.sleep(60)"


def _wait_until(cond, timeout=20.0) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.1)
    return cond()


@pytest.fixture()
def spawned():
    """Processes a test starts itself (not through jobs), killed at the end."""
    procs: list[subprocess.Popen] = []

    def start(*extra: str) -> subprocess.Popen:
        procs.append(subprocess.Popen([sys.executable, "-c", SLEEP, *extra]))
        assert _wait_until(lambda: psutil.Process(procs[-1].pid).cmdline(), 10)   # exec finished
        return procs[-1]

    yield start
    for p in procs:
        p.kill()
        p.wait()


def test_jobs_launch_reattach_and_stop(empty_project):
    run = empty_project / "runs" / "sleeper"
    pid = jobs.launch([sys.executable, "-c", SLEEP], run, kind="test")
    try:
        assert jobs.is_alive(run)
        jobs._CHILDREN.clear()                 # a server restart loses the Popen: re-attach by PID
        st = jobs.status(run)
        assert st.pid == pid and st.meta["kind"] == "test"
        assert jobs.stop(run, wait_s=10)
        deadline = time.time() + 10
        while jobs.is_alive(run) and time.time() < deadline:
            time.sleep(0.1)
        assert not jobs.is_alive(run)
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_commands_before_run_first_in_the_same_process(empty_project):
    """The first-run job: `before` commands, then the main command in the same PID (the job's PID is
    the trainer's), output in order in the job log."""
    run = RunDir(empty_project / "runs" / "chain")
    main = [sys.executable, "-c", "print('main', flush=True); " + SLEEP]
    pid = jobs.launch(main, run, before=[[sys.executable, "-c", "print('step one')"]], kind="test")
    try:
        assert _wait_until(lambda: "main" in run.log_tail())
        assert run.log_tail().splitlines() == ["step one", "main"]
        assert psutil.Process(pid).cmdline()[1:] == main[1:]                 # the shell became `main`
        job = run.read_job()
        assert job["argv"] == main and job["before"] == [[sys.executable, "-c", "print('step one')"]]
        assert jobs.is_alive(run) and jobs.is_active(run)
    finally:
        jobs.stop(run, wait_s=10)
    assert not jobs.is_alive(run)


def test_a_failed_step_stops_the_job(empty_project, tmp_path):
    run = RunDir(empty_project / "runs" / "fails")
    marker = tmp_path / "main-ran"
    jobs.launch([sys.executable, "-c", f"open({str(marker)!r}, 'w')"], run,
                before=[[sys.executable, "-c", "import sys; sys.exit(3)"]])
    assert _wait_until(lambda: not jobs.is_alive(run))
    assert not marker.exists()
    with pytest.raises(RuntimeError, match="already running"):                 # one job per run at a time
        jobs.launch([sys.executable, "-c", SLEEP], run)
        jobs.launch([sys.executable, "-c", SLEEP], run)
    jobs.stop(run, wait_s=10)


def test_a_reused_pid_is_not_our_process(spawned):
    p = spawned()
    created = psutil.Process(p.pid).create_time()
    assert jobs.pid_alive(p.pid, created)
    assert not jobs.pid_alive(p.pid, created - 5)                               # same PID, another process
    assert not jobs.pid_alive(p.pid)                   # no start time known: its command names no entry point
    q = spawned("eac_core.train")
    assert jobs.pid_alive(q.pid)
    q.kill()
    q.wait()
    assert not jobs.pid_alive(q.pid)


def test_a_trainer_started_in_a_terminal_is_watched_and_stopped_through_its_progress(empty_project, spawned):
    """No job file: progress.json's pid while its state is 'running'."""
    run = RunDir(empty_project / "runs" / "cli")
    run.path.mkdir(parents=True)
    assert not jobs.is_active(run) and not jobs.stop(run)
    trainer = spawned("eac_core.train")
    run.write_progress({"state": "running", "pid": trainer.pid})
    assert jobs.is_active(run) and jobs.status(run) is None
    run.write_progress({"state": "done", "pid": trainer.pid})
    assert not jobs.is_active(run)
    run.write_progress({"state": "running", "pid": trainer.pid})
    assert jobs.stop(run, wait_s=10)
    assert not jobs.pid_alive(trainer.pid) and not jobs.is_active(run)
    assert trainer.wait(timeout=10) in (-signal.SIGTERM, 0)        # 0: the liveness check reaped it first
