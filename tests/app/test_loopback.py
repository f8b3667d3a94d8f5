"""The app listens on the loopback interface however it is started (issue 9, hole 7): `streamlit run
/path/to/app/main.py` from another folder read no project config and listened on every interface.
The settings live once, in .streamlit/config.toml at the repository root (issue 21 item 6)."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request

import psutil
import pytest


from support.apptest import MAIN, REPO
from support.browser import free_port


def _listening(pid: int, port: int, timeout: float = 90) -> set[str]:
    """The addresses the server process listens on at `port`, once it answers on loopback."""
    deadline = time.monotonic() + timeout
    proc = psutil.Process(pid)
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    break
        except OSError:
            time.sleep(0.25)
    else:
        pytest.fail(f"the server did not answer on 127.0.0.1:{port}")
    return {c.laddr.ip for c in proc.net_connections(kind="inet")
            if c.status == psutil.CONN_LISTEN and c.laddr.port == port}


def test_the_settings_are_one_file_at_the_repository_root():
    """Streamlit reads the working folder's .streamlit/ and the main script's: app/.streamlit/config.toml
    is the root file itself (a link), so no start can read other settings."""
    root = REPO / ".streamlit" / "config.toml"
    assert root.is_file() and not root.is_symlink()
    assert (REPO / "app" / ".streamlit" / "config.toml").resolve() == root.resolve()
    assert sorted(p.name for p in (REPO / "app" / ".streamlit").iterdir()) == ["config.toml"]
    tomllib = pytest.importorskip("tomllib")             # Python 3.11+
    cfg = tomllib.loads(root.read_text(encoding="utf-8"))
    assert (cfg["server"]["address"], cfg["browser"]["serverAddress"]) == ("127.0.0.1", "127.0.0.1")


@pytest.mark.slow
@pytest.mark.parametrize("where", ["elsewhere", "repository root"])
def test_started_from_any_folder_it_listens_on_loopback_only(tmp_path, where):
    elsewhere = tmp_path / "elsewhere" if where == "elsewhere" else REPO
    elsewhere.mkdir(exist_ok=True)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMLIT_")}
    env.update(FER_AUDIT_HOME=str(tmp_path / "home"), PYTHONPATH=str(REPO), HOME=str(tmp_path))
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", MAIN, "--server.port", str(port),
                             "--server.headless", "true"], cwd=elsewhere, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        assert _listening(proc.pid, port) == {"127.0.0.1"}
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)


@pytest.mark.slow
def test_a_server_opened_to_the_network_says_so(empty_project, app):
    """Asked for another address (--server.address 0.0.0.0), the app serves, and warns on every page."""
    from streamlit import config
    app.run()
    assert not [w for w in app.sidebar.warning if "other computers" in w.value]
    old = config.get_option("server.address")
    config.set_option("server.address", "0.0.0.0")
    try:
        app.run()
    finally:
        config.set_option("server.address", old)
    assert [w.value for w in app.sidebar.warning] == [
        "Listening on 0.0.0.0: other computers on the network can open this app and its data. Start it "
        "without --server.address (or with --server.address 127.0.0.1) to keep it on this computer. Host "
        "names accepted (--server.allowedHosts): 127.0.0.1, localhost, ::1."]
