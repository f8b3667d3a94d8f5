"""Issue 11 item 12: nothing the app loads leaves the machine. A real Chromium records every request
while each page of a real (tiny) project loads; every one must go to the app's 127.0.0.1 server (data:
and blob: URLs stay in the browser). The page icon used to come from fonts.gstatic.com."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from support import browser as bs

pytestmark = pytest.mark.skipif(bs.missing_reason() is not None, reason=str(bs.missing_reason()))

PAGES = {"review": "Sample ", "gallery": "Gallery", "data": "Data", "train": "Train", "insights": "Insights",
         "export": "Export corrected labels", "settings": "Settings"}
LOAD_MS = 120_000


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("offline_home")
    bs.make_project(home)
    srv = bs.StreamlitServer(home, log_path=tmp_path_factory.mktemp("offline_log") / "streamlit.log").start()
    yield srv
    srv.stop()


def _off_machine(urls: list[str]) -> list[str]:
    out = []
    for u in urls:
        parts = urlsplit(u)
        if parts.scheme in ("data", "blob", "about", "chrome-extension"):
            continue
        if parts.hostname != "127.0.0.1":
            out.append(u)
    return out


def test_no_request_leaves_127_0_0_1_while_each_page_loads(server):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        browser = bs.launch_chromium(pw)
        try:
            for slug, text in PAGES.items():
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                urls: list[str] = []
                page.on("request", lambda r: urls.append(r.url))
                page.goto(f"{server.url}/{'' if slug == 'review' else slug}", wait_until="load")
                page.get_by_text(text).first.wait_for(timeout=LOAD_MS)
                bs.wait_idle(page, timeout_ms=LOAD_MS)
                page.wait_for_timeout(1500)            # late requests (favicon, fonts, icons)
                assert urls, slug
                assert _off_machine(urls) == [], (slug, _off_machine(urls))
                page.close()
        finally:
            browser.close()
