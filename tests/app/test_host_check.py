"""Issue 22 item 14, DNS rebinding: a page on rebind.evil.example whose name is rebound to 127.0.0.1 is
same-origin with itself, so Streamlit's Origin check let its websocket in (101 Switching Protocols)
and it could drive the loopback-only app. The server now accepts only loopback host names
(server.allowedHosts in .streamlit/config.toml: 127.0.0.1, localhost, [::1]) plus those the user adds
with --server.allowedHosts; the websocket is the app's only data channel."""
from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from support.apptest import MAIN, REPO
from support.browser import free_port


def handshake(port: int, host: str, origin: str | None) -> int:
    """The HTTP status a raw websocket upgrade of /_stcore/stream gets with these Host and Origin."""
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [f"GET /_stcore/stream HTTP/1.1", f"Host: {host}", "Upgrade: websocket", "Connection: Upgrade",
             f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13", "Sec-WebSocket-Protocol: streamlit"]
    if origin:
        lines.append(f"Origin: {origin}")
    with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = b""
        while b"\r\n" not in head:
            chunk = s.recv(4096)
            if not chunk:
                break
            head += chunk
    return int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0


def _serve(tmp_path, *extra: str):
    port = free_port()
    elsewhere = tmp_path / "elsewhere"          # started as a user would, not from the repository
    elsewhere.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMLIT_")}
    env.update(FER_AUDIT_HOME=str(tmp_path / "home"), PYTHONPATH=str(REPO), HOME=str(tmp_path))
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", MAIN, "--server.port", str(port),
                             "--server.headless", "true", "--server.fileWatcherType", "none", *extra],
                            cwd=elsewhere, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return proc, port
        except OSError:
            time.sleep(0.25)
    os.killpg(proc.pid, 9)
    proc.wait(timeout=30)
    pytest.fail("the server did not start")


def _stop(proc) -> None:
    os.killpg(proc.pid, 15)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.wait(timeout=30)


@pytest.mark.slow
def test_a_rebound_host_name_is_refused_and_loopback_names_are_served(tmp_path):
    proc, port = _serve(tmp_path)
    try:
        got = {host: handshake(port, host, f"http://{host}") for host in
               (f"rebind.evil.example:{port}", f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}",
                f"evil.example.127.0.0.1.nip.io:{port}")}
        no_origin = handshake(port, f"rebind.evil.example:{port}", None)
    finally:
        _stop(proc)
    assert got == {f"rebind.evil.example:{port}": 403, f"127.0.0.1:{port}": 101, f"localhost:{port}": 101,
                   f"[::1]:{port}": 101, f"evil.example.127.0.0.1.nip.io:{port}": 403}
    assert no_origin == 403


@pytest.mark.slow
def test_a_host_name_the_user_adds_is_served(tmp_path):
    """Opened to the network, the user names the host names others type (README, Security)."""
    proc, port = _serve(tmp_path, "--server.allowedHosts", "127.0.0.1", "--server.allowedHosts", "faces.lan")
    try:
        got = {host: handshake(port, host, f"http://{host}")
               for host in (f"faces.lan:{port}", f"127.0.0.1:{port}", f"rebind.evil.example:{port}")}
    finally:
        _stop(proc)
    assert got == {f"faces.lan:{port}": 101, f"127.0.0.1:{port}": 101, f"rebind.evil.example:{port}": 403}
