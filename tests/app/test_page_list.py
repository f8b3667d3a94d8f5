"""The page list is written once (issue 21 item 3): app/components/ui.PAGE_TABLE builds the navigation
(main.py) and every link names a page by its key."""
from __future__ import annotations

import re

from app.components import ui
from support.apptest import REPO


def test_the_page_list_is_written_once():
    literal = re.compile(r"""["']views/\w+\.py["']""")
    spelled = sorted(str(p.relative_to(REPO)) for p in (REPO / "app").rglob("*.py") if literal.search(p.read_text()))
    assert spelled == ["app/components/ui.py"]
    assert list(ui.PAGES) == ["review", "gallery", "data", "train", "insights", "export", "settings"]
    assert all((REPO / "app" / f).is_file() for f in ui.PAGES.values())
    assert "PAGE_TABLE" in (REPO / "app" / "main.py").read_text()


def test_the_navigation_is_the_table(empty_project, app):
    """main.py's menu is the table: its first page (Review: the first-run welcome in an empty project) is
    the default, and every page of the table can be switched to."""
    app.run()
    assert not app.exception and [b.key for b in app.button if b.key == "start_demo"] == ["start_demo"]
    for file in ui.PAGES.values():
        app.switch_page(file).run()
        assert not app.exception, file
