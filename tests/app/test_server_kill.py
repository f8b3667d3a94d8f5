"""SIGKILL of the app server while a reviewer decides as fast as the keys go (real browser): not one
acknowledged decision is lost (issue 9, Proof in CI).

A decision is acknowledged when the page showed its "Saved: … · sample <id>" toast (the app commits to
the audit database before it queues that toast; "Saved: kept the label · sample <id>" for `k`). Each round presses `k` without waiting
for the rest of the page, records every toast the page shows, SIGKILLs the server's process group right after a
press (decisions in flight), then checks the audit database (integrity, a keep event written in that
round for every face acknowledged in it) and starts the server again on the same project; the next round continues from the face the
restarted server shows. Prints tried / acknowledged / in the audit / lost for bench/README.md.

Each key is pressed as soon as the app shows the next face and takes keys (its heading and decision
buttons: a reviewer need not wait for the CAM panels), the last one of a round 100 ms before the kill."""
from __future__ import annotations

import os
import re
import signal
import sqlite3
from pathlib import Path

import pytest

from support import browser as bs

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(bs.missing_reason() is not None, reason=bs.missing_reason() or "")]

RUN = "demo"
ROUNDS, PRESSES, GAP_MS, STEP_MS = 3, 8, 100, 60_000
FIRST_LOAD_MS = 240_000     # first page: torch imported in the background, then the model (2 shared cores)

RECORD_TOASTS = """() => {
  window.__acks = window.__acks || [];
  const seen = new Set(window.__acks);
  const grab = () => document.querySelectorAll('[data-testid="stToast"]').forEach(t => {
    const s = (t.innerText || '').trim();
    if (s && !seen.has(s)) { seen.add(s); window.__acks.push(s); }
  });
  new MutationObserver(grab).observe(document.body, {childList: true, subtree: true, characterData: true});
  grab();
}"""
SAVED = re.compile(r"Saved: .* · sample (\S+)")
KEEP_BUTTON = ".st-key-act_keep button"       # present = the Review page takes keys (app/components/keyguard.py)


def _kill_hard(srv: bs.StreamlitServer) -> None:
    """SIGKILL the server's process group (it leads it): no shutdown code runs."""
    pid = srv.pid
    os.killpg(pid, signal.SIGKILL)
    srv.proc.wait(timeout=30)
    srv.proc = None
    if srv._log:
        srv._log.close()
        srv._log = None


def _audit_keeps(path: Path, after_event: int = 0) -> tuple[set[str], int]:
    """(faces with a keep event newer than `after_event`, the newest event id); checks integrity."""
    if not path.exists():
        return set(), after_event
    con = sqlite3.connect(path)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        ids = {r[0] for r in con.execute("SELECT sample_id FROM events WHERE action = 'keep' AND id > ?",
                                         (after_event,))}
        newest = con.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0]
        return ids, max(newest, after_event)
    finally:
        con.close()


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    h = tmp_path_factory.mktemp("kill_home")
    bs.make_project(h, n_train=140, n_test=35, size=48, epochs=1, run_name=RUN)
    return h


def test_sigkill_during_fast_decisions_loses_no_acknowledged_decision(home, tmp_path):
    from playwright.sync_api import sync_playwright
    audit_path = home / "runs" / RUN / "audit.sqlite"
    srv = bs.StreamlitServer(home, log_path=tmp_path / "streamlit.log")
    tried, acked, lost = 0, set(), set()
    with sync_playwright() as pw:
        browser = bs.launch_chromium(pw)
        try:
            srv.start(timeout=90)
            last_event = 0
            for rnd in range(ROUNDS):
                ctx = browser.new_context(viewport={"width": 1600, "height": 1000})
                page = ctx.new_page()
                page.goto(f"{srv.url}/?run={RUN}", wait_until="domcontentloaded")
                bs.wait_sample(page, timeout_ms=FIRST_LOAD_MS)      # decide from the scores: CAMs may still load
                page.evaluate(RECORD_TOASTS)
                for i in range(PRESSES):
                    page.locator(KEEP_BUTTON).first.wait_for(timeout=STEP_MS)
                    cur = bs.shown_sample(page)
                    page.keyboard.press("k")
                    tried += 1
                    if i == PRESSES - 1:
                        page.wait_for_timeout(GAP_MS)
                        _kill_hard(srv)              # a decision in flight: pressed, not yet acknowledged
                        break
                    try:                             # the next face as soon as the app shows it
                        bs.wait_sample(page, not_id=cur, timeout_ms=STEP_MS)
                    except Exception:  # noqa: BLE001 - a key the app refused (face still loading): press again
                        pass
                texts = page.evaluate("() => window.__acks || []")
                round_acked = {m.group(1) for t in texts for m in [SAVED.search(t)] if m}
                ctx.close()
                in_audit, last_event = _audit_keeps(audit_path, last_event)   # this round's own events
                lost |= {(rnd, sid) for sid in round_acked - in_audit}
                acked |= {(rnd, sid) for sid in round_acked}
                print(f"round {rnd + 1}: {PRESSES} presses, {len(round_acked)} acknowledged, "
                      f"{len(in_audit)} faces with a keep event of this round in the audit, "
                      f"lost {len(round_acked - in_audit)}")
                srv.start(timeout=90)
                assert round_acked, "no decision was acknowledged before the kill: nothing was tested"
            # after the last restart the page shows the decisions as saved
            ctx = browser.new_context(viewport={"width": 1600, "height": 1000})
            page = ctx.new_page()
            sid = sorted(acked)[0][1]
            page.goto(f"{srv.url}/?run={RUN}&sample={sid}", wait_until="domcontentloaded")
            assert bs.wait_face(page, want=sid, timeout_ms=FIRST_LOAD_MS) == sid
            page.get_by_text(re.compile(r"Decided: keep")).first.wait_for(timeout=30_000)
            ctx.close()
        finally:
            srv.stop()
            browser.close()
    print(f"server SIGKILL during fast decisions: {ROUNDS} kills, {tried} key presses, {len(acked)} acknowledged "
          f"decisions, {len(lost)} lost")
    assert lost == set(), f"acknowledged but not in the audit: {sorted(lost)}"
    assert len(acked) >= ROUNDS
