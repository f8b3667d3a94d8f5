"""Issue 24's FiftyOne / Cleanlab Studio views on the Review page in a real browser (Debian Chromium +
Playwright, `streamlit run app/main.py`): faces like this beside the face, the full-size zoom, and
auto-fix with its preview, applied as one action and undone by one key. Screenshots go to
test-artifacts/."""
from __future__ import annotations

from pathlib import Path

import pytest

from support import browser as bs

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(bs.missing_reason() is not None, reason=bs.missing_reason() or "")]

RUN = "demo"
FIRST_LOAD_MS = 120_000
STEP_MS = 30_000


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    h = tmp_path_factory.mktemp("views_home")
    bs.make_project(h, n_train=140, n_test=35, size=48, epochs=1, run_name=RUN)
    return h


def _audit(home: Path):
    from data_tools.audit import Audit
    return Audit.open(home / "runs" / RUN / "audit.sqlite")


def test_faces_like_this_zoom_and_auto_fix(home, server, browser):
    from data_tools.rundir import RunDir
    s = RunDir(home / "runs" / RUN).read_scores().set_index("sample_id")
    ctx = browser.new_context(viewport={"width": 1600, "height": 1000})
    try:
        page = ctx.new_page()
        page.goto(f"{server.url}/?run={RUN}", wait_until="domcontentloaded")
        sid = bs.wait_face(page, timeout_ms=FIRST_LOAD_MS)
        page.get_by_text("Faces like this").first.wait_for(timeout=STEP_MS)
        like = page.locator("figure.fer-like")
        assert like.count() == 8
        near = like.evaluate_all("els => els.map(e => e.dataset.sample)")
        assert sid not in near and set(near) <= set(s.index)
        assert page.get_by_text("cosine similarity in the learned embedding").count() == 1
        like.first.scroll_into_view_if_needed()
        page.screenshot(path=str(bs.ARTIFACTS / "review-faces-like-this.png"), full_page=True)
        page.get_by_text("Zoom: the face at full size").click()
        page.get_by_text("full size: 48×48 px, shown ×10").wait_for(timeout=STEP_MS)
        page.screenshot(path=str(bs.ARTIFACTS / "review-zoom.png"), full_page=True)
        page.get_by_text("Zoom: the face at full size").click()           # off again
        bs.wait_idle(page, timeout_ms=STEP_MS)
        # auto-fix: confidence down to 0 (Home on the slider), preview, apply, one undo
        page.get_by_text("Auto-fix: accept the suggestion above a confidence").click()
        thumb = page.locator(".st-key-autofix_thr input[type='range']")        # react-aria's hidden range input
        thumb.focus()
        page.keyboard.press("Home")
        bs.wait_idle(page, timeout_ms=STEP_MS)
        want = s[s["pred"] != s["label"]]
        page.get_by_text(f"{len(want):,} undecided face(s) with a different suggestion at confidence ≥ 0.00"
                         ).wait_for(timeout=STEP_MS)
        page.get_by_role("button", name="Preview auto-fix").click()
        page.get_by_text(f"{len(want):,} face(s) will be relabelled").wait_for(timeout=STEP_MS)
        assert _audit(home).latest().empty
        page.screenshot(path=str(bs.ARTIFACTS / "review-auto-fix-preview.png"), full_page=True)
        page.get_by_role("button", name=f"Apply: relabel {len(want):,} face(s)").click()
        page.get_by_text(f"Saved: {len(want)} face(s) relabelled").first.wait_for(timeout=STEP_MS)
        latest = _audit(home).latest().set_index("sample_id")
        assert sorted(latest.index) == sorted(want.index)
        assert latest["new_label"].to_dict() == want["pred"].to_dict()
        bs.wait_idle(page, timeout_ms=STEP_MS)
        page.evaluate("() => document.activeElement && document.activeElement.blur()")   # keys to the page
        page.keyboard.press("z")                                           # one undo: the whole auto-fix
        page.get_by_text("Undone:").first.wait_for(timeout=STEP_MS)
        assert _audit(home).latest().empty
    finally:
        ctx.close()
        a = _audit(home)
        while a.undo() is not None:
            pass


@pytest.mark.flaky(reruns=1)   # a key press or a download can be lost on a loaded 2-core machine
def test_gallery_keys_move_select_and_open(home, server, browser):
    ctx = browser.new_context(viewport={"width": 1600, "height": 1100})
    try:
        page = ctx.new_page()
        page.goto(f"{server.url}/gallery?run={RUN}", wait_until="domcontentloaded")
        page.get_by_role("heading", name="Gallery", level=2).wait_for(timeout=FIRST_LOAD_MS)
        page.wait_for_function("() => document.querySelectorAll(\"[class*='st-key-gal_cell_']\").length >= 24",
                               timeout=FIRST_LOAD_MS)
        bs.wait_idle(page, timeout_ms=FIRST_LOAD_MS)
        ids = [c.split("st-key-gal_cell_", 1)[1].split()[0] for c in page.locator(
            "[class*='st-key-gal_cell_']").evaluate_all("els => els.map(e => e.className)")]
        cell = page.locator(f".st-key-gal_cell_{ids[0]}")
        assert cell.get_by_text("▶ #").count() == 1
        page.get_by_role("heading", name="Gallery", level=2).click()      # the page has the keyboard
        bs.wait_idle(page, timeout_ms=STEP_MS)
        from playwright.sync_api import TimeoutError as PwTimeout

        def cursor_on(sid: str, timeout_ms: int) -> bool:
            try:
                page.locator(f".st-key-gal_cell_{sid}").get_by_text("▶ #").wait_for(timeout=timeout_ms)
                return True
            except PwTimeout:
                return False

        page.keyboard.press("ArrowRight")
        if not cursor_on(ids[1], 10_000):       # the first key after a fresh load can be lost (README): once more
            page.keyboard.press("ArrowRight")
            assert cursor_on(ids[1], STEP_MS)
        bs.wait_idle(page, timeout_ms=STEP_MS)
        page.keyboard.press("ArrowDown")
        target = ids[1 + 6]
        assert cursor_on(target, STEP_MS)
        page.keyboard.press("s")
        page.get_by_text("1 selected").first.wait_for(timeout=STEP_MS)
        from playwright.sync_api import expect
        expect(page.locator(f".st-key-gal_box_{target} input")).to_be_checked(timeout=STEP_MS)
        page.locator(f".st-key-gal_cell_{target}").scroll_into_view_if_needed()
        page.screenshot(path=str(bs.ARTIFACTS / "gallery-keys.png"))
        page.keyboard.press("o")
        assert bs.wait_face(page, want=target, timeout_ms=STEP_MS) == target
    finally:
        ctx.close()


def test_two_reviewers_kappa_and_their_disagreements_queued(home, server, browser):
    from data_tools.reviewers import agreement
    from data_tools.rundir import RunDir
    ids = [str(x) for x in RunDir(home / "runs" / RUN).read_scores().sort_values("rank")["sample_id"]]
    audit = _audit(home)
    for sid, act in zip(ids[:6], ["keep", "keep", "remove", "unsure", "keep", "remove"]):
        audit.record(sid, act, None, reviewer="ann", session="A")
    for sid, act in zip(ids[:6], ["keep", "remove", "remove", "unsure", "unsure", "remove"]):
        audit.record(sid, act, None, reviewer="bob", session="B")
    g = agreement(audit.events(), "ann", "bob")
    ctx = browser.new_context(viewport={"width": 1600, "height": 1000})
    try:
        page = ctx.new_page()
        page.goto(f"{server.url}/?run={RUN}", wait_until="domcontentloaded")
        bs.wait_face(page, timeout_ms=FIRST_LOAD_MS)
        page.get_by_text(f"both decided 6 face(s), agreed on 4: Cohen's κ {g['kappa']:.2f}; 2 disagreement(s)."
                         ).wait_for(timeout=STEP_MS)
        page.get_by_text("Queue only their disagreements (a third look)").click()
        page.get_by_text("Queue · 2 of 140 faces").first.wait_for(timeout=STEP_MS)
        assert bs.wait_face(page, want=ids[1], timeout_ms=STEP_MS) == ids[1]
        page.screenshot(path=str(bs.ARTIFACTS / "review-two-reviewers.png"))
        page.evaluate("() => document.activeElement && document.activeElement.blur()")
        old = bs.cam_srcs(page)
        page.keyboard.press("x")                                  # the third look decides
        assert bs.wait_face(page, want=ids[4], old_srcs=old, timeout_ms=STEP_MS) == ids[4]
        assert audit.decision(ids[1])["action"] == "remove"
    finally:
        ctx.close()
        while audit.undo() is not None:
            pass


def test_gallery_map_coloured_by_a_score_follows_the_filters(home, server, browser):
    ctx = browser.new_context(viewport={"width": 1600, "height": 1100})
    try:
        page = ctx.new_page()
        page.goto(f"{server.url}/gallery?run={RUN}", wait_until="domcontentloaded")
        page.get_by_role("heading", name="Gallery", level=2).wait_for(timeout=FIRST_LOAD_MS)
        bs.wait_idle(page, timeout_ms=FIRST_LOAD_MS)
        page.get_by_text("Embedding map: lasso or box to select faces").click()
        page.get_by_text("Embedding coloured by given").first.wait_for(timeout=STEP_MS)
        page.locator(".st-key-gal_map_color").click()
        page.get_by_role("option", name="suspicion", exact=True).click()
        page.get_by_text("Embedding coloured by suspicion").first.wait_for(timeout=STEP_MS)
        bs.wait_idle(page, timeout_ms=STEP_MS)
        page.locator(".st-key-gal_map_color").scroll_into_view_if_needed()
        page.screenshot(path=str(bs.ARTIFACTS / "gallery-map-by-suspicion.png"))
        assert page.locator(".js-plotly-plot .colorbar").count() >= 1          # a colour bar: a score
    finally:
        ctx.close()
