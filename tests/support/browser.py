"""Shared pieces of the real-browser tests and benchmarks: a tiny real project, the app served by
`streamlit run` on a free loopback port (owned by its process id), and Debian's Chromium driven by
Playwright (see /work/shared/design/TESTING.md).

Used by the browser tests (tests/app/test_browser_*.py) and bench/bench_review_*.py; no pytest import at module level."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MAIN = REPO / "app" / "main.py"
ARTIFACTS = REPO / "test-artifacts"
HOME_ENV = "FER_AUDIT_HOME"          # app/components/project.py
SLOW_FACE_DIR = Path(__file__).resolve().parent / "slow_face"      # its sitecustomize.py holds the face back
SLOW_FACE_ENV = "FER_AUDIT_TEST_SLOW_FACE_S"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


# -- what is available ----------------------------------------------------------------------------
def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def playwright_available() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


def missing_reason() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not playwright_available():
        return "the playwright Python package is not installed (pip install playwright; no browser download needed)"
    if chromium_path() is None:
        return "no chromium on the PATH (apt-get install chromium)"
    return None


# -- a tiny real project --------------------------------------------------------------------------
def _run(cmd: list[str], *, cwd: Path, timeout: float) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen(cmd, cwd=str(cwd), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise RuntimeError(f"{' '.join(cmd[:4])} … did not finish in {timeout:.0f} s") from None
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{out.decode(errors='replace')[-3000:]}")


def make_project(home: Path, *, n_train: int = 140, n_test: int = 35, size: int | None = 48,
                 epochs: int | None = 1, threads: int = 1, run_name: str = "demo", timeout: float = 300) -> Path:
    """home/datasets/demo (the synthetic demo) and home/runs/<run_name> trained for real with the CPU
    preset, both through the command lines a user has; returns the run folder. size/epochs None: the
    generator's and the preset's defaults."""
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    ds = home / "datasets" / "demo"
    run = home / "runs" / run_name
    demo = [sys.executable, "-m", "data_tools", "demo", "--out", str(ds), "--n-train", str(n_train),
            "--n-test", str(n_test), "--workers", "1"]
    train = [sys.executable, "-m", "eac_core.train", "--dataset", str(ds), "--out", str(run), "--preset", "demo",
             "--threads", str(threads)]
    if size:
        demo += ["--size", str(size)]
        train += ["--image-size", str(size)]
    if epochs:
        train += ["--epochs", str(epochs)]
    _run(demo, cwd=home, timeout=timeout)
    _run(train, cwd=home, timeout=timeout)
    if not (run / "scores.parquet").is_file():
        raise RuntimeError(f"training wrote no {run / 'scores.parquet'}")
    return run


def copy_project(src: Path, dst: Path) -> Path:
    """A copy of a project folder without caches and audits, its run configs pointed at the copy."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("cache", "audit.sqlite*"))
    for cfg_path in (Path(dst) / "runs").glob("*/config.json"):
        cfg = json.loads(cfg_path.read_text())
        if cfg.get("dataset"):
            cfg["dataset"] = str(Path(dst) / "datasets" / Path(cfg["dataset"]).name)
        cfg["out"] = str(cfg_path.parent)
        cfg_path.write_text(json.dumps(cfg))
    return Path(dst)


# -- the server -----------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StreamlitServer:
    """`python -m streamlit run app/main.py` on 127.0.0.1:<port> with FER_AUDIT_HOME=<home>.
    Owns its process (a new session: stop() ends the group it leads, by process id)."""

    def __init__(self, home: Path, port: int | None = None, *, log_path: Path | None = None,
                 slow_face_s: float | None = None, launcher: str = "streamlit"):
        self.home = Path(home)
        self.launcher = launcher           # "streamlit": streamlit run app/main.py; "app": python -m app (warm start)
        self.slow_face_s = slow_face_s     # the Review page holds the face back (support/slow_face/)
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None
        self.log_path = Path(log_path) if log_path else Path(tempfile.mkstemp(prefix="streamlit-", suffix=".log")[1])
        self._log = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def start(self, timeout: float = 90) -> "StreamlitServer":
        env = dict(os.environ, **{HOME_ENV: str(self.home)})
        env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
        if self.slow_face_s is not None:
            env["PYTHONPATH"] = str(SLOW_FACE_DIR) + os.pathsep + env["PYTHONPATH"]
            env[SLOW_FACE_ENV] = str(self.slow_face_s)
        env.setdefault("PYTHONUNBUFFERED", "1")
        self._log = open(self.log_path, "ab")
        cmd = [sys.executable, "-m", "app"] if self.launcher == "app" else [sys.executable, "-m", "streamlit", "run", str(MAIN)]
        self.proc = subprocess.Popen(
            [*cmd, "--server.headless", "true",
             "--server.port", str(self.port), "--server.address", "127.0.0.1",
             "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"],
            cwd=str(REPO), env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        self.wait_healthy(timeout)
        return self

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "/_stcore/health", timeout=2) as r:
                    last = r.read().decode(errors="replace").strip()
                    if last == "ok":
                        return
            except OSError as e:
                last = str(e)
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"streamlit not healthy after {timeout:.0f} s (last: {last}):\n{self.log_tail()}")

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM to the server's process group (it leads it), then SIGKILL if it lingers."""
        p = self.proc
        if p is None:
            return
        if p.poll() is None:
            for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10)):
                try:
                    os.killpg(p.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    p.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        self.proc = None
        if self._log:
            self._log.close()
            self._log = None

    def rss_bytes(self) -> int:
        """Resident memory of the server process (psutil if present, else /proc/<pid>/status)."""
        try:
            import psutil
            return int(psutil.Process(self.pid).memory_info().rss)
        except ImportError:
            pass
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("VmRSS not found")

    def peak_rss_bytes(self) -> int | None:
        """VmHWM (the peak resident size) from /proc, or None where /proc lacks it."""
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            return None
        return None

    def log_tail(self, n: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""


# -- the browser ----------------------------------------------------------------------------------
def launch_chromium(pw):
    """Headless Debian Chromium through Playwright (never a downloaded browser)."""
    return pw.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)


SAMPLE_HEADING = "h3:has-text('Sample ')"   # the Review page's "Sample <id>" subheading


def shown_sample(page) -> str | None:
    """The sample id in the Review page's 'Sample <id>' heading (None while not drawn)."""
    loc = page.locator(SAMPLE_HEADING)
    if loc.count() == 0:
        return None
    text = loc.first.inner_text().strip()
    return text.split("Sample", 1)[1].strip() if "Sample" in text else None


def wait_sample(page, *, not_id: str | None = None, timeout_ms: int = 30_000) -> str:
    """Wait until the heading shows a sample (other than `not_id`), app idle; returns the id."""
    page.wait_for_function(
        """(notId) => {
             const hs = [...document.querySelectorAll('h3')].filter(h => h.innerText.trim().startsWith('Sample '));
             if (!hs.length) return false;
             const id = hs[0].innerText.trim().slice(7).trim();
             return id && id !== notId;
           }""", arg=not_id, timeout=timeout_ms)
    return shown_sample(page)


def wait_idle(page, timeout_ms: int = 30_000) -> None:
    """Wait until no element of the page is marked stale (a rerun in flight)."""
    page.wait_for_function("() => !document.querySelector('[data-stale=\"true\"]')", timeout=timeout_ms)


# -- the Review page's current face ---------------------------------------------------------------
# The four CAM panels are the st.image elements captioned "given: <class>" / "predicted: <class>".
_FACE_JS = """
([want, notId, oldSrcs]) => {
  const h = [...document.querySelectorAll('h3')].find(h => h.innerText.trim().startsWith('Sample '));
  if (!h) return false;
  const id = h.innerText.trim().slice(7).trim();
  if (!id || (want && id !== want) || (notId && id === notId)) return false;
  const boxes = [...document.querySelectorAll('[data-testid="stImage"]')].filter(e =>
    /^(given|predicted): /.test(((e.querySelector('[data-testid="stImageCaption"]') || {}).innerText || '').trim()));
  if (boxes.length !== 4) return false;
  const fresh = e => { const c = e.closest('[data-stale]'); return !c || c.getAttribute('data-stale') !== 'true'; };
  const imgs = boxes.map(e => e.querySelector('img'));
  if (!boxes.every(fresh)) return false;
  if (!imgs.every(i => i && i.complete && i.naturalWidth > 0 && !(oldSrcs || []).includes(i.src))) return false;
  if (window.__camsAt == null) window.__camsAt = performance.now();      // the four CAM panels are on screen
  if (document.querySelector('[data-stale="true"]')) return false;      // the rest of the page still updating
  window.__faceReadyAt = performance.now();
  return id;
}
"""


def cam_srcs(page) -> list[str]:
    """The src of the four CAM panels now on screen (fewer while they are not drawn)."""
    return page.evaluate("""() => [...document.querySelectorAll('[data-testid="stImage"]')]
        .filter(e => /^(given|predicted): /.test(((e.querySelector('[data-testid="stImageCaption"]') || {}).innerText || '').trim()))
        .map(e => (e.querySelector('img') || {}).src || '')""")


def wait_face(page, *, want: str | None = None, not_id: str | None = None, old_srcs: list[str] | None = None,
              timeout_ms: int = 30_000) -> str:
    """Wait until the Review page shows a face (the one `want`, or any but `not_id`) with its four CAM
    panels loaded (none of them one of `old_srcs`) and nothing stale on the page; returns its id."""
    from playwright.sync_api import TimeoutError as PwTimeout
    try:
        return page.wait_for_function(_FACE_JS, arg=[want, not_id, old_srcs or []], polling="raf",
                                      timeout=timeout_ms).json_value()
    except PwTimeout:
        raise FaceTimeout(f"no face {want or ('other than ' + str(not_id)) if (want or not_id) else ''} with four "
                          f"loaded CAM panels within {timeout_ms / 1000:.0f} s; {describe(page)}") from None


class FaceTimeout(AssertionError):
    """The Review page did not show the expected face with its four CAM panels in time."""


def describe(page, shot: Path | None = None) -> str:
    """What the page shows now (for failure messages): heading, CAM panels, alerts; saves a screenshot."""
    shot = shot or ARTIFACTS / "failure.png"
    try:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(shot))
    except Exception:  # noqa: BLE001 - best effort
        shot = None
    try:
        boxes = page.locator('[data-testid="stAlert"], [data-testid="stException"]')
        alerts = [a.strip().replace("\n", " ") for a in boxes.all_inner_texts()]
        shown, cams = shown_sample(page), len(cam_srcs(page))
    except Exception as e:  # noqa: BLE001
        return f"page unreadable ({e})"
    return (f"shown: sample {shown}, {cams} CAM panel(s); messages: {' | '.join(alerts) or 'none'}"
            + (f"; screenshot {shot}" if shot else ""))


def arm_key_timer(page) -> None:
    """Record performance.now() of the next keydown (capture phase) in window.__keyAt, and of the first
    frame after it whose "Sample <id>" heading shows another id in window.__headAt."""
    page.evaluate("""() => {
        const heading = () => { const h = [...document.querySelectorAll('h3')].find(h => h.innerText.trim().startsWith('Sample '));
                                return h ? h.innerText.trim() : null; };
        window.__keyAt = null; window.__faceReadyAt = null; window.__headAt = null; window.__camsAt = null;
        const armed = heading();
        const watch = () => { if (window.__headAt !== null) return;
            if (window.__keyAt !== null && heading() !== armed) { window.__headAt = performance.now(); return; }
            requestAnimationFrame(watch); };
        requestAnimationFrame(watch);
        if (!window.__keyTimer) { window.__keyTimer = true;
          window.addEventListener('keydown', () => { if (window.__keyAt === null) window.__keyAt = performance.now(); }, true); } }""")


def key_to_heading_ms(page) -> float:
    """Milliseconds from the armed keydown to the first frame showing the new sample id."""
    return float(page.evaluate("() => window.__headAt === null ? NaN : window.__headAt - window.__keyAt"))


def key_to_face_ms(page) -> float:
    """Milliseconds from the armed keydown to the first frame where wait_face found the page settled
    (the new face, its four CAM panels loaded, nothing stale left anywhere; in-page clock)."""
    return float(page.evaluate("() => window.__faceReadyAt - window.__keyAt"))


def key_to_cams_ms(page) -> float:
    """Milliseconds from the armed keydown to the first frame with the new face's four CAM panels loaded
    (other parts of the page, e.g. its charts, may still be updating)."""
    return float(page.evaluate("() => window.__camsAt - window.__keyAt"))


def download(page, button, timeout_ms: int = 60_000):
    """Click a download button and return Playwright's Download. A click during a rerun of the page can be
    lost on a loaded machine: up to three clicks, each after the page is idle and the button (found again
    by its locator) is enabled (Streamlit disables it while it builds the file). A deferred download
    (`data` a callable) whose request to the server went unanswered keeps its button disabled, with a
    spinner, until the frontend gives up after 180 s (seen once in a full run: disabled for the whole
    60 s wait): then the page is reloaded, as a person would, before the next click."""
    from playwright.sync_api import TimeoutError as PwTimeout
    from playwright.sync_api import expect
    for attempt in range(3):
        last = attempt == 2
        wait_idle(page)
        try:
            # the locator, not an element handle: a rerun redraws the button, and an old handle stays disabled
            expect(button).to_be_enabled(timeout=timeout_ms // 2)
            with page.expect_download(timeout=timeout_ms // 2) as dl:
                button.click()
            return dl.value
        except (AssertionError, PwTimeout):
            if last:
                raise
            page.reload()
            button.wait_for(timeout=timeout_ms)


def export_csv(page, dest: Path, *, copy_as: str | None = None, timeout_ms: int = 60_000):
    """Open the Export page, download the corrected CSV to `dest` (a copy kept in ARTIFACTS as `copy_as`),
    and return it read as strings indexed by sample_id."""
    import pandas as pd
    page.get_by_role("link", name="Export").click()
    button = page.get_by_role("button", name="Download corrected CSV")
    button.wait_for(timeout=timeout_ms)
    download(page, button, timeout_ms).save_as(str(dest))
    if copy_as:
        ARTIFACTS.mkdir(exist_ok=True)
        shutil.copy(dest, ARTIFACTS / copy_as)
    return pd.read_csv(dest, dtype=str, keep_default_na=False).set_index("sample_id")
