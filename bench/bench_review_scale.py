"""Review page at scale (issue 4 §7): first render of the Review page for a run with 300,000 samples,
measured in a real browser, and the server's resident memory.

    python bench/bench_review_scale.py [--n 300000] [--repeats 3] [--source-run RUN_DIR]

The synthetic project is written by bench/make_scale_project.py under .cache/bench-scale (reused while
its settings match): a dataset folder whose 300,000 training rows share 64 tiny demo images, a run folder
with a synthetic scores.parquet following the contract, 60 epochs of per-sample history, and the
checkpoint and config of a real demo run (so the four CAM panels are computed as usual). The source
run is --source-run, else the demo run bench_review_latency.py uses, else a tiny one made there.

Then `streamlit run app/main.py` serves it; for a cold server (first visit: imports, model load,
reading 300,000 rows) and then for new browser sessions on the warm server, the page records
performance.now() (ms since navigation start) at the first frame showing the first suspect
("Sample <id>" heading) and at the first frame with its four CAM panels loaded. Server memory: VmRSS
after each visit and VmHWM (the peak) of the server process."""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path


REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))          # tests/support: the browser helpers
from support import browser as bs  # noqa: E402

sys.path.insert(0, str(REPO / "bench"))
from make_scale_project import build, source_run  # noqa: E402  (the AffectNet-sized generator)

TARGET_S, TARGET_RSS = 2.0, 2 * 1024**3

HEAD_JS = """() => {
  if (window.__shellAt == null && document.querySelector('[data-testid="stSidebarNavLink"]')) window.__shellAt = performance.now();
  const h = [...document.querySelectorAll('h3')].find(h => h.innerText.trim().startsWith('Sample '));
  if (!h) return false;
  if (window.__headAt == null) window.__headAt = performance.now();
  return h.innerText.trim().slice(7);
}"""


def visit(browser, url: str) -> tuple[float, float, float, str, float]:
    """(ms to the app's page list drawn, ms to the first suspect visible, ms to its four CAM panels
    loaded), all from navigation start; the suspect's id; the navigation start (ms since the epoch)."""
    ctx = browser.new_context(viewport={"width": 1600, "height": 1000})
    try:
        page = ctx.new_page()
        page.goto(url, wait_until="commit")
        sid = page.wait_for_function(HEAD_JS, polling="raf", timeout=180_000).json_value()
        head = float(page.evaluate("() => window.__headAt"))
        shell = float(page.evaluate("() => window.__shellAt == null ? NaN : window.__shellAt"))
        origin = float(page.evaluate("() => performance.timeOrigin"))
        try:
            bs.wait_face(page, want=sid, timeout_ms=120_000)
            face = float(page.evaluate("() => window.__faceReadyAt"))
        except Exception:  # noqa: BLE001 - e.g. a checkpoint that does not load: report, keep the first figure
            alerts = page.locator('[data-testid="stAlert"]').all_inner_texts()
            print(f"  four CAM panels never shown for {sid}: {' | '.join(a.strip() for a in alerts) or '(no message)'}",
                  flush=True)
            face = float("nan")
        return shell, head, face, sid, origin
    finally:
        ctx.close()


def server_marks(log: Path, origin_ms: float) -> list[tuple[float, str]]:
    """The page's timing marks in the server log (FER_AUDIT_TIMING=1: `[fer-audit] review <what>: <n> ms
    at <epoch s>`) up to now, as (seconds after the browser's navigation start, what)."""
    out = []
    for line in Path(log).read_text(errors="replace").splitlines():
        m = re.match(r"\[fer-audit\] review (.+): \d+ ms at ([0-9.]+)$", line.strip())
        if m:
            out.append((float(m.group(2)) - origin_ms / 1000, m.group(1)))
    return out


WARM_LINE = "[fer-audit] warm start:"


def measure(home: Path, launcher: str, repeats: int):
    """A fresh server started by `launcher`, a cold visit and `repeats` new sessions; with "app" the
    browser connects once the server's warm start has printed that it is done (WARM_LINE)."""
    from playwright.sync_api import sync_playwright
    srv = bs.StreamlitServer(home, launcher=launcher)
    rows, marks, warm_s = [], [], None
    try:
        t0 = time.monotonic()
        srv.start(timeout=120)
        if launcher == "app":
            while WARM_LINE not in srv.log_tail(100_000) and time.monotonic() - t0 < 180:
                time.sleep(0.1)
            warm_s = time.monotonic() - t0
            line = next((ln for ln in srv.log_tail(100_000).splitlines() if WARM_LINE in ln), "(no warm start line)")
            print(f"python -m app: server started and warm {warm_s:.1f} s after launch · {line.strip()}", flush=True)
        idle_rss = srv.rss_bytes()
        load0 = os.getloadavg()[0]
        with sync_playwright() as pw:
            browser = bs.launch_chromium(pw)
            try:
                for i in range(1 + repeats):
                    shell, head, face, sid, origin = visit(browser, f"{srv.url}/")
                    if i == 0:
                        marks = server_marks(srv.log_path, origin)
                    rows.append(("fresh server, first visit" if i == 0 else f"same server, new session {i}",
                                 head, face, srv.rss_bytes(), sid, shell))
            finally:
                browser.close()
        peak = srv.peak_rss_bytes()
        load1 = os.getloadavg()[0]
    finally:
        srv.stop()
    return rows, idle_rss, peak, load0, load1, marks


def report(n: int, launcher: str, rows, idle_rss, peak, load0, load1, marks) -> None:
    cmd = "python -m app (warm start)" if launcher == "app" else "streamlit run app/main.py"
    print()
    print(f"Review page first render, run with {n:,} samples (synthetic scores, real checkpoint), served by {cmd}")
    print()
    print("| visit | page list drawn s | first suspect visible s | its four CAM panels s | server RSS after MiB |")
    print("|---|---:|---:|---:|---:|")
    for name, head, face, rss, _sid, shell in rows:
        print(f"| {name} | {shell / 1000:.2f} | {head / 1000:.2f} | {face / 1000:.2f} | {rss / 2**20:.0f} |")
    print()
    print(f"server RSS idle (before the first visit) {idle_rss / 2**20:.0f} MiB · peak (VmHWM) "
          f"{(peak or 0) / 2**20:.0f} MiB · target: ≤ {TARGET_S:.0f} s and < {TARGET_RSS / 2**30:.0f} GiB")
    print(f"machine: {os.cpu_count()} CPUs, 1-min load average {load0:.1f} before / {load1:.1f} after "
          "(other processes share the CPUs)")
    print(f"first visit's first suspect {rows[0][1] / 1000:.2f} s: {'met' if rows[0][1] / 1000 <= TARGET_S else 'NOT met'}; "
          f"memory {'met' if (peak or rows[-1][3]) < TARGET_RSS else 'NOT met'}")
    if marks:
        print()
        print("first visit, the server's FER_AUDIT_TIMING marks (s after navigation start):")
        for at, what in marks:
            print(f"  {at:6.2f}  {what}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=300_000)
    ap.add_argument("--repeats", type=int, default=3, help="warm visits (new sessions) after the cold one")
    ap.add_argument("--source-run", help="a real run folder whose checkpoint/config/images to borrow")
    ap.add_argument("--home", default=str(REPO / ".cache" / "bench-scale"))
    ap.add_argument("--json", help="also write the figures to this file")
    ap.add_argument("--launcher", choices=["streamlit", "app", "both"], default="both",
                    help="streamlit run app/main.py, python -m app (reads the first page's data while the "
                         "server starts; the browser connects once that is done), or both, one after the other")
    args = ap.parse_args()
    reason = bs.missing_reason()
    if reason:
        sys.exit(f"cannot run: {reason}")
    home = Path(args.home).resolve()
    t = time.monotonic()
    build(home, args.n, source_run(args.source_run))
    print(f"synthetic project ready in {time.monotonic() - t:.1f} s: {home}", flush=True)

    launchers = ["streamlit", "app"] if args.launcher == "both" else [args.launcher]
    results = {}
    for launcher in launchers:
        results[launcher] = measure(home, launcher, args.repeats)
        report(args.n, launcher, *results[launcher])
    if args.json:
        Path(args.json).write_text(json.dumps({"n": args.n, "runs": {k: {"visits": v[0], "idle_rss": v[1], "peak_rss": v[2]}
                                                                      for k, v in results.items()}}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
