"""Issue 22 item 1: names from files are shown as typed, in a real Chromium.

A project whose class names and sample ids are markdown links, remote images, KaTeX `\\href`, HTML tags
and bare URLs (trained for real, one epoch) is opened on the Review, Data, Gallery and Insights pages.
Every request the browser makes is counted: none may go to a host other than 127.0.0.1 (the corpus
points at evil.example, which would be fetched as an image or followed as a link), and no live link to
it may be on any page (an HTML <a>, or plotly's SVG <a xlink:href>)."""
from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlparse

import pandas as pd
import pytest

from support import browser as bs

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(bs.missing_reason() is not None, reason=bs.missing_reason() or "")]

RUN = "hostile"
FIRST_LOAD_MS = 120_000
CLASSES = ["[x](https://evil.example/a)", "![i](https://evil.example/c7.png)", "$\\href{https://evil.example}{x}$",
           "<img src=https://evil.example/i.png>", "https://evil.example/u",
           '<a href="https://evil.example/h">h</a>', "www.evil.example :red[r] **b**"]
SAMPLE_FORMS = ["[s{i}](https://evil.example/s{i})", "![s{i}](https://evil.example/s{i}.png)",
                "$\\href{{https://evil.example/s{i}}}{{s{i}}}$", "<img src=https://evil.example/s{i}.png>",
                "https://evil.example/s{i}", '<a href="https://evil.example/s{i}">s{i}</a>']
META = "[occluder](https://evil.example/col)"     # a manifest column name
FORMAT = "[f](https://evil.example/f) www.evil.example"    # dataset.json's format
LIVE = 'a[href*="evil"], a[*|href*="evil"], img[src*="evil"], image[*|href*="evil"]'


def hostile_sample_id(i: int) -> str:
    return SAMPLE_FORMS[i % len(SAMPLE_FORMS)].format(i=i)


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    return make_hostile_project(tmp_path_factory.mktemp("hostile_home"))


def make_hostile_project(h: Path) -> Path:
    """The demo dataset (42 + 14 faces) with every class and sample id replaced by a hostile name, and
    one demo-preset epoch trained on it through the command line."""
    import sys as _sys
    ds = h / "datasets" / "demo"
    bs._run([_sys.executable, "-m", "data_tools", "demo", "--out", str(ds), "--n-train", "42", "--n-test", "14",
             "--size", "48", "--workers", "1"], cwd=h, timeout=300)
    info = json.loads((ds / "dataset.json").read_text())
    rename = dict(zip(info["classes"], CLASSES))
    info["classes"] = [rename[c] for c in info["classes"]]
    (ds / "dataset.json").write_text(json.dumps(info))
    m = pd.read_csv(ds / "manifest.csv", dtype=str, keep_default_na=False)
    for col in ("label", "source_label", "true_label"):
        m[col] = m[col].map(rename)
    m["sample_id"] = [hostile_sample_id(i) for i in range(len(m))]
    m[META] = [CLASSES[i % len(CLASSES)] for i in range(len(m))]      # a metadata column the Gallery offers
    m = m.drop(columns=["occluder"])
    m.to_csv(ds / "manifest.csv", index=False)
    bs._run([_sys.executable, "-m", "eac_core.train", "--dataset", str(ds), "--out", str(h / "runs" / RUN),
             "--preset", "demo", "--threads", "1", "--image-size", "48", "--epochs", "1"], cwd=h, timeout=300)
    info["format"] = FORMAT                        # shown on the Data page (a metric value is markdown)
    (ds / "dataset.json").write_text(json.dumps(info))
    return h


def _settle(page, what: str) -> None:
    page.locator("h1, h2, h3").filter(has_text=what).first.wait_for(timeout=FIRST_LOAD_MS)
    bs.wait_idle(page, timeout_ms=FIRST_LOAD_MS)
    page.wait_for_timeout(1500)            # charts and images that load after the script run


def _shown(loc) -> list[str]:
    return [t.replace("\u2060", "").strip() for t in loc.all_inner_texts()]


def visit_pages(page, url: str) -> dict:
    """Opens the Review, Data, Gallery and Insights pages (every tab, the Gallery's map and its
    metadata filter open); returns the live links per page and what the names look like on screen."""
    seen: dict = {"live": {}}
    page.goto(f"{url}/?run={RUN}", wait_until="domcontentloaded")
    bs.wait_face(page, timeout_ms=FIRST_LOAD_MS)          # the four CAM panels, captioned with class names
    _settle(page, "Sample ")
    seen["cam_captions"] = _shown(page.locator('[data-testid="stImageCaption"]'))
    seen["heading"] = _shown(page.locator("h3").filter(has_text="Sample "))[0]
    seen["buttons"] = _shown(page.locator('[data-testid="stButton"] button'))
    live = page.locator(LIVE).count()
    first = bs.shown_sample(page)
    page.keyboard.press("1")        # relabel to the first (hostile) class: the toast and "Decided: ..." name it
    page.locator('[data-testid="stToast"]').first.wait_for(timeout=FIRST_LOAD_MS)
    live += page.locator(LIVE).count()
    bs.wait_face(page, not_id=first, timeout_ms=FIRST_LOAD_MS)
    page.keyboard.press("ArrowLeft")
    bs.wait_face(page, want=first, timeout_ms=FIRST_LOAD_MS)
    _settle(page, "Sample ")
    seen["decided"] = _shown(page.locator('[data-testid="stMarkdown"]').filter(has_text="Decided: "))
    seen["live"]["review"] = live + page.locator(LIVE).count()
    page.screenshot(path=str(bs.ARTIFACTS / "hostile_review.png"), full_page=True)

    page.goto(f"{url}/data?run={RUN}", wait_until="domcontentloaded")
    _settle(page, "Samples per class")
    page.locator('[data-testid="stImageCaption"]').first.wait_for(timeout=FIRST_LOAD_MS)
    bs.wait_idle(page, timeout_ms=FIRST_LOAD_MS)
    seen["grid_captions"] = _shown(page.locator('[data-testid="stImageCaption"]'))
    seen["metrics"] = _shown(page.locator('[data-testid="stMetricValue"]'))
    seen["live"]["data"] = page.locator(LIVE).count()
    page.screenshot(path=str(bs.ARTIFACTS / "hostile_data.png"), full_page=True)

    page.goto(f"{url}/gallery?run={RUN}", wait_until="domcontentloaded")
    _settle(page, "Gallery")
    page.get_by_text("Embedding map", exact=False).first.click()
    page.locator('[data-testid="stPlotlyChart"]').first.wait_for(timeout=FIRST_LOAD_MS)
    page.wait_for_timeout(1500)
    meta = page.locator('[data-testid="stMultiSelect"]').filter(has_text="occluder")
    seen["filter_label"] = _shown(meta.locator('[data-testid="stWidgetLabel"]'))
    meta.scroll_into_view_if_needed()
    meta.locator("input").click()
    page.locator('[role="option"]').first.wait_for(timeout=10_000)
    seen["filter_options"] = [o for o in _shown(page.locator('[role="option"]')) if o != "Select all"]
    seen["live"]["gallery"] = page.locator(LIVE).count()
    page.screenshot(path=str(bs.ARTIFACTS / "hostile_gallery.png"), full_page=True)
    page.keyboard.press("Escape")

    page.goto(f"{url}/insights?run={RUN}", wait_until="domcontentloaded")
    _settle(page, "Insights")
    live = page.locator(LIVE).count()
    for i, tab in enumerate(page.locator('[role="tab"]').all()):
        tab.click()
        page.wait_for_timeout(1500)
        bs.wait_idle(page, timeout_ms=FIRST_LOAD_MS)
        live += page.locator(LIVE).count()
        page.screenshot(path=str(bs.ARTIFACTS / f"hostile_insights_{i}.png"), full_page=True)
    seen["live"]["insights"] = live
    seen["exceptions"] = page.locator('[data-testid="stException"]').count()
    return seen


def off_machine_recorder(ctx) -> list[str]:
    """Every request of the context to a host other than 127.0.0.1 (data: and blob: URLs aside)."""
    urls: list[str] = []

    def seen(request) -> None:
        u = urlparse(request.url)
        if u.scheme not in ("data", "blob") and u.hostname != "127.0.0.1":
            urls.append(request.url)
    ctx.on("request", seen)
    return urls


def test_hostile_names_load_nothing_off_the_machine(home, server, browser):
    bs.ARTIFACTS.mkdir(exist_ok=True)
    ctx = browser.new_context(viewport={"width": 1600, "height": 1200})
    off_machine = off_machine_recorder(ctx)
    try:
        seen = visit_pages(ctx.new_page(), server.url)
    finally:
        ctx.close()
    assert off_machine == []
    assert seen["live"] == {"review": 0, "data": 0, "gallery": 0, "insights": 0}
    assert seen["exceptions"] == 0
    # shown as typed
    assert seen["heading"].startswith("Sample ") and seen["heading"][7:] in {hostile_sample_id(i) for i in range(56)}
    cams = [c for c in seen["cam_captions"] if c.startswith(("given: ", "predicted: "))]
    assert len(cams) == 4 and all(c.split(": ", 1)[1] in CLASSES for c in cams), cams
    assert {c for c in seen["buttons"] if c[:-2] in CLASSES or c[:-1] in CLASSES}, seen["buttons"]
    ids = {hostile_sample_id(i) for i in range(56)}
    assert seen["grid_captions"] and set(seen["grid_captions"]) <= ids, seen["grid_captions"]
    assert len(seen["decided"]) == 1 and f"Decided: relabel → {CLASSES[0]}" in seen["decided"][0], seen["decided"]
    assert seen["metrics"][-1] == FORMAT
    assert seen["filter_label"] == [META]
    assert set(seen["filter_options"]) == set(CLASSES), seen["filter_options"]
