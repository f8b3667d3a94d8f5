"""End to end in a real browser (issue 4 §6): `streamlit run app/main.py` on a free loopback port with a
tiny real demo run, Debian's Chromium driven by Playwright. Five suspects are reviewed with the
keyboard only (keep, relabel by number key, remove, unsure + undo, accept, relabel by number key,
← / →), the corrected CSV is downloaded from the Export page and checked, then the server is killed and
started again on the same project folder and every decision is still there (UI and audit database).

Screenshots go to test-artifacts/ (git-ignored); the README's docs/review.png comes from
`python bench/bench_review_latency.py --docs` (the full-size demo run)."""
from __future__ import annotations

import re
import time
from pathlib import Path

import pandas as pd
import pytest

from support import browser as bs

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(bs.missing_reason() is not None, reason=bs.missing_reason() or "")]

RUN = "demo"
FIRST_LOAD_MS = 120_000     # first page: imports torch and loads the model (2 shared cores)
STEP_MS = 30_000            # one decision, fully re-rendered


# -- fixtures -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """A project folder with the demo dataset (140 + 35 faces, 48 px) and one CPU-preset epoch."""
    h = tmp_path_factory.mktemp("browser_home")
    bs.make_project(h, n_train=140, n_test=35, size=48, epochs=1, run_name=RUN)
    return h


@pytest.fixture()
def artifacts() -> Path:
    bs.ARTIFACTS.mkdir(exist_ok=True)
    return bs.ARTIFACTS


# -- helpers --------------------------------------------------------------------------------------
def _toast(page, pattern: str, timeout_ms: int = STEP_MS) -> None:
    """Wait for a toast whose text matches `pattern` (a regex)."""
    page.locator('[data-testid="stToast"]').filter(has_text=re.compile(pattern)).first.wait_for(
        state="visible", timeout=timeout_ms)


def _press(page, key: str, *, then: str, toast: str | None = None) -> None:
    """Press one key on the Review page, wait for face `then` with its four CAMs (and the toast)."""
    old = bs.cam_srcs(page)
    page.keyboard.press(key)
    if toast:
        _toast(page, toast)
    assert bs.wait_face(page, want=then, old_srcs=old, timeout_ms=STEP_MS) == then, f"after {key!r}"


def _plan(home: Path):
    """The five top suspects, the sixth, the classes, and the keys/expected outcome for each."""
    from data_tools.manifest import load_dataset
    from data_tools.rundir import RunDir
    classes = list(load_dataset(home / "datasets" / "demo").classes)
    s = RunDir(home / "runs" / RUN).read_scores().sort_values("rank").reset_index(drop=True)
    s["sample_id"] = s["sample_id"].astype(str)
    rows = [s.iloc[i] for i in range(6)]

    def other_class(row) -> int:
        """1-based key of a class that is neither the given label nor the model's suggestion."""
        return next(i for i, c in enumerate(classes[:9], start=1) if c not in (row["label"], row["pred"]))

    k2, k5 = other_class(rows[1]), other_class(rows[4])
    r4 = rows[3]
    accept = ("relabel", str(r4["pred"])) if r4["pred"] != r4["label"] else ("keep", str(r4["label"]))
    expected = {  # sample id -> (action, new_label or None, final_label in the CSV)
        rows[0]["sample_id"]: ("keep", None, str(rows[0]["label"])),
        rows[1]["sample_id"]: ("relabel", classes[k2 - 1], classes[k2 - 1]),
        rows[2]["sample_id"]: ("remove", None, ""),
        rows[3]["sample_id"]: (accept[0], accept[1] if accept[0] == "relabel" else None, accept[1]),
        rows[4]["sample_id"]: ("relabel", classes[k5 - 1], classes[k5 - 1]),
    }
    ids = [str(r["sample_id"]) for r in rows]
    return ids, classes, (k2, k5), expected


def _decision_shown(action: str, new_label: str | None) -> str:
    return f"Decided: {action}" + (f" → {new_label}" if new_label else "")


# -- the test -------------------------------------------------------------------------------------
def test_keyboard_review_export_and_restart(home, server, browser, artifacts, tmp_path):
    t_start = time.monotonic()
    ids, classes, (k2, k5), expected = _plan(home)
    s1, s2, s3, s4, s5, s6 = ids
    ctx = browser.new_context(viewport={"width": 1600, "height": 1000}, accept_downloads=True)
    page = ctx.new_page()
    try:
        page.goto(server.url + "/", wait_until="domcontentloaded")
        assert bs.wait_face(page, want=s1, timeout_ms=FIRST_LOAD_MS) == s1
        page.get_by_role("button", name="Keep").wait_for(timeout=STEP_MS)
        page.get_by_text("0 of 140 faces decided").wait_for(timeout=STEP_MS)
        page.screenshot(path=str(artifacts / "review-start.png"))

        # five suspects, keyboard only; each toast only after its decision is in the audit database
        from data_tools.audit import Audit
        audit_path = home / "runs" / RUN / "audit.sqlite"
        audit = Audit(audit_path)

        def saved(sid: str, action: str | None, new_label: str | None = None) -> None:
            d = audit.decision(sid)
            if action is None:
                assert d is None, (sid, d)
            else:
                assert d is not None and (d["action"], d["new_label"] or None) == (action, new_label), (sid, d)

        _press(page, "k", then=s2, toast=rf"kept the label · sample {s1}")
        saved(s1, "keep")
        _press(page, str(k2), then=s3, toast=rf"relabelled to {classes[k2 - 1]} · sample {s2}")
        saved(s2, "relabel", classes[k2 - 1])
        _press(page, "x", then=s4, toast=rf"removed.* · sample {s3}")
        saved(s3, "remove")
        _press(page, "u", then=s5, toast=rf"unsure · sample {s4}")
        saved(s4, "unsure")
        _press(page, "z", then=s4, toast=rf"Undone: unsure · sample {s4}")
        saved(s4, None)
        page.get_by_text("Undecided", exact=True).wait_for(timeout=STEP_MS)
        _press(page, "a", then=s5, toast=rf"Saved: .* · sample {s4}")
        saved(s4, *expected[s4][:2])
        _press(page, str(k5), then=s6, toast=rf"relabelled to {classes[k5 - 1]} · sample {s5}")
        saved(s5, "relabel", classes[k5 - 1])
        page.get_by_text("5 of 140 faces decided").wait_for(timeout=STEP_MS)
        _press(page, "ArrowLeft", then=s5)
        page.get_by_text(_decision_shown("relabel", classes[k5 - 1])).wait_for(timeout=STEP_MS)
        page.screenshot(path=str(artifacts / "review-decided.png"))
        _press(page, "ArrowRight", then=s6)
        page.get_by_text("Undecided", exact=True).wait_for(timeout=STEP_MS)
        resume_url = page.url
        assert f"sample={s6}" in resume_url

        _assert_audit(audit.latest(), expected)

        # the corrected CSV from the Export page (built on the click)
        df = bs.export_csv(page, tmp_path / "corrected_labels.csv", copy_as="corrected_labels.csv",
                           timeout_ms=FIRST_LOAD_MS)
        page.screenshot(path=str(artifacts / "export.png"))
        _assert_csv(df.reset_index(), expected, home)
    finally:
        ctx.close()

    # restart the server (killed by its process id) on the same project folder
    old_pid = server.pid
    server.stop()
    assert not Path(f"/proc/{old_pid}").exists() or _is_zombie(old_pid), "server still running"
    server.start(timeout=90)
    assert server.pid != old_pid
    _assert_audit(Audit(audit_path).latest(), expected)

    ctx = browser.new_context(viewport={"width": 1600, "height": 1000})
    page = ctx.new_page()
    try:
        page.goto(resume_url, wait_until="domcontentloaded")     # a refresh resumes at the same face
        assert bs.wait_face(page, want=s6, timeout_ms=FIRST_LOAD_MS) == s6
        page.get_by_text("5 of 140 faces decided").wait_for(timeout=STEP_MS)
        for sid, (action, new_label, _final) in expected.items():
            page.goto(f"{server.url}/?sample={sid}&run={RUN}", wait_until="domcontentloaded")
            assert bs.wait_face(page, want=sid, timeout_ms=STEP_MS) == sid
            page.get_by_text(_decision_shown(action, new_label)).first.wait_for(timeout=STEP_MS)
            if sid == s2:
                page.screenshot(path=str(artifacts / "review-after-restart.png"))
    finally:
        ctx.close()
    print(f"browser e2e: {time.monotonic() - t_start:.1f} s after the project was built")


def _is_zombie(pid: int) -> bool:
    try:
        return "State:\tZ" in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True


def _assert_audit(latest: pd.DataFrame, expected: dict) -> None:
    got = latest.set_index("sample_id")
    assert set(got.index) == set(expected), f"audit holds {sorted(got.index)}"
    for sid, (action, new_label, _final) in expected.items():
        assert got.loc[sid, "action"] == action, sid
        assert (got.loc[sid, "new_label"] or None) == new_label, sid


def _assert_csv(df: pd.DataFrame, expected: dict, home: Path) -> None:
    from data_tools.manifest import load_dataset
    manifest = load_dataset(home / "datasets" / "demo").manifest
    removed = {sid for sid, (action, _new, _final) in expected.items() if action == "remove"}
    assert len(df) == len(manifest) - len(removed)            # removed faces are dropped (issue 11 item 3)
    assert df.columns.tolist()[:4] == manifest.columns.tolist()[:4]    # sample_id, path, label, split
    assert {"original_label", "action"} <= set(df.columns) and "final_label" not in df.columns
    by_id = df.set_index("sample_id")
    given = dict(zip(manifest["sample_id"].astype(str), manifest["label"].astype(str)))
    for sid, (action, _new, final) in expected.items():
        if action == "remove":
            assert sid not in by_id.index, sid
            continue
        assert by_id.loc[sid, "action"] == action, sid
        assert by_id.loc[sid, "label"] == final, sid                 # label = the corrected label
        assert by_id.loc[sid, "original_label"] == given[sid], sid
    rest = df[~df["sample_id"].isin(list(expected))]
    assert (rest["action"] == "undecided").all()
    assert (rest["label"] == rest["original_label"]).all()


def test_two_tabs_keep_each_others_decisions(home, server, browser):
    """Two tabs on the same audit, each deciding with its keys: neither loses the other's decision,
    and one tab's undo cancels its own decision, never the other tab's newer one (issue 9, hole 8)."""
    from data_tools.audit import Audit
    from data_tools.rundir import RunDir
    audit = Audit.open(home / "runs" / RUN / "audit.sqlite")
    before = audit.latest()
    s = RunDir(home / "runs" / RUN).read_scores().sort_values("rank")
    free = [str(x) for x in s["sample_id"] if str(x) not in set(before["sample_id"])]
    a_id, b_id = free[10], free[11]
    ctx_a = browser.new_context(viewport={"width": 1600, "height": 1000})
    ctx_b = browser.new_context(viewport={"width": 1600, "height": 1000})
    try:
        tab_a, tab_b = ctx_a.new_page(), ctx_b.new_page()
        for tab, sid in ((tab_a, a_id), (tab_b, b_id)):
            tab.goto(f"{server.url}/?sample={sid}&run={RUN}", wait_until="domcontentloaded")
            assert bs.wait_face(tab, want=sid, timeout_ms=FIRST_LOAD_MS) == sid
        tab_a.keyboard.press("k")
        _toast(tab_a, rf"Saved: .* · sample {a_id}")
        tab_b.keyboard.press("x")
        _toast(tab_b, rf"Saved: .* · sample {b_id}")
        latest = audit.latest().set_index("sample_id")
        assert latest.loc[a_id, "action"] == "keep" and latest.loc[b_id, "action"] == "remove"
        assert set(before["sample_id"]) <= set(latest.index) and len(latest) == len(before) + 2
        tab_a.keyboard.press("z")                         # tab A's undo: its own keep, not B's newer remove
        _toast(tab_a, rf"Undone: keep · sample {a_id}")
        latest = audit.latest().set_index("sample_id")
        assert a_id not in latest.index and latest.loc[b_id, "action"] == "remove"
        tab_a.goto(f"{server.url}/?sample={b_id}&run={RUN}", wait_until="domcontentloaded")   # A sees B's
        assert bs.wait_face(tab_a, want=b_id, timeout_ms=STEP_MS) == b_id
        tab_a.get_by_text(_decision_shown("remove", None)).first.wait_for(timeout=STEP_MS)
    finally:
        ctx_a.close()
        ctx_b.close()


@pytest.mark.parametrize("value", ["[Session expired](http://evil.example/login)",
                                   "![x](http://evil.example/x.png)", "see www.evil.example or mail@evil.example"])
def test_markdown_in_the_url_is_shown_as_text(server, browser, value):
    """Issue 9, hole 6: `?sample=[Session expired](http://evil.example/login)` rendered a live link in
    the warning (and `![x](...)` a remote image)."""
    from urllib.parse import quote
    ctx = browser.new_context(viewport={"width": 1600, "height": 1000})
    try:
        page = ctx.new_page()
        page.goto(f"{server.url}/?sample={quote(value)}&run={RUN}", wait_until="domcontentloaded")
        warning = page.locator('[data-testid="stAlert"]').filter(has_text="is not in this run's ranking").first
        warning.wait_for(timeout=FIRST_LOAD_MS)
        shown = warning.inner_text().strip().replace("\u2060", "")      # the invisible word joiner aside
        assert shown == f"Sample {value} is not in this run's ranking; showing the queue instead."
        assert page.locator('a[href*="evil.example"], img[src*="evil.example"]').count() == 0
    finally:
        ctx.close()
