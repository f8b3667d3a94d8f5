"""First run as a new user meets it: empty project folder, open the app, press "Start the demo", and
time until the first suspect is on screen with its four CAM panels (provisional ranking), until
the final ranking is written (the Review page shows it from its next draw) and until the run is done
(the embedding map is drawn last). Real Chromium, default demo size, CPU preset.

    python bench/bench_first_run.py
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))          # tests/support: the browser helpers
from support import browser as bs  # noqa: E402

from data_tools.rundir import list_runs  # noqa: E402


def is_final(run) -> bool:
    """The run's scores.parquet holds the final ranking: the trainer writes it, not provisional, before
    it draws the embedding map and marks the run done."""
    return run.has("scores") and not bool(run.read_scores(columns=["provisional"])["provisional"].any())


def main(argv=None) -> int:
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args(argv)  # no options; --help
    if reason := bs.missing_reason():
        print(f"skipped: {reason}")
        return 0
    from playwright.sync_api import sync_playwright
    home = Path(tempfile.mkdtemp(prefix="fer-first-run-"))
    server = bs.StreamlitServer(home).start()
    rows = []
    try:
        with sync_playwright() as pw:
            browser = bs.launch_chromium(pw)
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.goto(server.url)
            button = page.get_by_role("button", name="Start the demo")
            button.wait_for(timeout=120_000)
            t0 = time.perf_counter()
            button.click()
            deadline = t0 + 600
            first = None
            while time.perf_counter() < deadline:
                page.goto(server.url)  # what a user does after the start: open the Review page
                try:
                    bs.wait_face(page, timeout_ms=15_000)
                    first = time.perf_counter() - t0
                    break
                except bs.FaceTimeout:
                    time.sleep(2)
            rows.append(("click → first suspect with four CAM panels", first))
            page.screenshot(path=str(REPO / "test-artifacts" / "first-run-provisional.png"))
            final = done = None
            while time.perf_counter() < deadline:
                runs = list_runs(home / "runs")
                if final is None and runs and all(is_final(r) for r in runs):
                    final = time.perf_counter() - t0
                states = [r.read_progress() or {} for r in runs if r.has("progress")]
                if states and all(s.get("state") == "done" for s in states):
                    done = time.perf_counter() - t0
                    break
                time.sleep(0.5)
            rows.append(("click → final ranking written (what the Review page shows from then on)", final))
            rows.append(("click → training done (the embedding map too)", done))
            browser.close()
    finally:
        server.stop()
    print("| first run (default demo, CPU preset) | seconds |\n|---|---:|")
    for name, secs in rows:
        print(f"| {name} | {secs:.1f} |" if secs is not None else f"| {name} | not reached |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
