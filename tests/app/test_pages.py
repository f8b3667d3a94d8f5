"""Every page renders without an exception, with nothing imported and on a real (tiny) run."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests import their helpers by module name

import pytest

from apptest_support import scores_of

PAGES = ["views/review.py", "views/data.py", "views/train.py", "views/insights.py", "views/export.py",
         "views/settings.py"]


def _texts(at) -> str:
    parts = [m.value for m in at.markdown] + [i.value for i in at.info] + [h.value for h in at.header] \
        + [h.value for h in at.title] + [b.label for b in at.button]
    return "\n".join(map(str, parts))


def test_every_page_renders_empty(empty_project, app):
    app.run()
    assert not app.exception
    assert any(b.label == "Start the demo" for b in app.button)          # the first-run offer
    for page in PAGES:
        app.switch_page(page).run()
        assert not app.exception, (page, [e.value for e in app.exception])
        assert not app.error, (page, [e.value for e in app.error])
    app.switch_page("views/export.py").run()
    assert "Nothing to export yet" in _texts(app)
    app.switch_page("views/data.py").run()
    assert "No dataset yet" in _texts(app)


def test_every_page_renders_on_a_run(project, app):
    app.run()
    assert not app.exception
    top = scores_of(project)["sample_id"].iloc[0]
    assert [s.value for s in app.subheader][0] == f"Sample {top}"   # most suspicious face first
    for page in PAGES:
        app.switch_page(page).run()
        assert not app.exception, (page, [e.value for e in app.exception])
        assert not app.error, (page, [e.value for e in app.error])


def test_insights_scores_against_the_truth(project, app):
    app.run()
    app.switch_page("views/insights.py").run()
    assert not app.exception
    texts = _texts(app)
    assert "training labels differ from `true_label`" in texts
    assert any("Precision at k" in m.value for m in app.markdown)


@pytest.mark.parametrize("page", ["views/review.py", "views/insights.py", "views/export.py"])
def test_run_config_pointing_outside_the_roots_is_refused(project, app, page, tmp_path):
    import json
    from apptest_support import run_path
    cfg = run_path(project) / "config.json"
    d = json.loads(cfg.read_text())
    d["dataset"] = str(tmp_path / "elsewhere")
    cfg.write_text(json.dumps(d))
    app.run()
    app.switch_page(page).run()
    assert not app.exception
    assert any("outside the allowed data roots" in e.value for e in app.error)


@pytest.mark.parametrize("page", PAGES)
def test_a_page_is_a_module_with_render(page):
    """Each page is a plain module in app/views (Streamlit runs it as __main__; importing draws nothing)."""
    import importlib
    mod = importlib.import_module("app." + page[:-len(".py")].replace("/", "."))
    assert callable(mod.render)
