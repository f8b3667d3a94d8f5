"""Fixtures for the app tests: an empty project folder, and a REAL tiny project (demo dataset of 130
faces + one CPU-preset epoch of `python -m eac_core.train`, made once per session, ~30 s) copied per test.

Every test points the app at its own folder through FER_AUDIT_HOME."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support.apptest import MAIN, REPO, RUN_NAME

TRAIN_TIMEOUT_S = 240


@pytest.fixture(scope="session")
def trained_project(tmp_path_factory) -> Path:
    """A project folder with datasets/demo and runs/<RUN_NAME> trained for real (1 epoch)."""
    from data_tools.demo import generate_demo
    home = tmp_path_factory.mktemp("trained_project")
    ds = home / "datasets" / "demo"
    generate_demo(ds, n_train=100, n_test=30, image_size=48, seed=0, workers=1)
    run = home / "runs" / RUN_NAME
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "eac_core.train", "--dataset", str(ds), "--out", str(run),
                             "--preset", "demo", "--epochs", "1", "--threads", "1"],
                            cwd=str(home), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        out, _ = proc.communicate(timeout=TRAIN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail(f"tiny training did not finish in {TRAIN_TIMEOUT_S} s")
    assert proc.returncode == 0, out.decode(errors="replace")[-2000:]
    assert (run / "scores.parquet").is_file() and (run / "checkpoint.pt").is_file()
    return home


def _point_run_at(home: Path, run: Path) -> None:
    cfg_path = run / "config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["dataset"] = str(home / "datasets" / "demo")
    cfg["out"] = str(run)
    cfg_path.write_text(json.dumps(cfg))


@pytest.fixture()
def project(trained_project, tmp_path, monkeypatch) -> Path:
    """A private copy of the trained project (own audit database), set as FER_AUDIT_HOME."""
    home = tmp_path / "home"
    shutil.copytree(trained_project, home, ignore=shutil.ignore_patterns("cache", "audit.sqlite*"))
    _point_run_at(home, home / "runs" / RUN_NAME)
    monkeypatch.setenv("FER_AUDIT_HOME", str(home))
    return home


@pytest.fixture()
def empty_project(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "empty"
    home.mkdir()
    monkeypatch.setenv("FER_AUDIT_HOME", str(home))
    return home


@pytest.fixture()
def app():
    """A fresh AppTest of app/main.py (not yet run)."""
    from streamlit import config
    from streamlit.testing.v1 import AppTest
    config.set_option("server.address", "127.0.0.1")   # what .streamlit/config.toml gives a real server
    return AppTest.from_file(MAIN, default_timeout=60)


# -- real-browser tests: each module defines `home` (its project folder); these serve and drive it ----
@pytest.fixture(scope="module")
def server(home, tmp_path_factory):
    """`streamlit run app/main.py` on a free loopback port over the module's `home`."""
    from support import browser as bs
    srv = bs.StreamlitServer(home, log_path=tmp_path_factory.mktemp("logs") / "streamlit.log")
    srv.start(timeout=90)
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright (nothing downloaded)."""
    from support import browser as bs
    from playwright.sync_api import sync_playwright
    pw = sync_playwright().start()
    try:
        b = bs.launch_chromium(pw)
        try:
            yield b
        finally:
            b.close()
    finally:
        pw.stop()
