"""Every page renders without an exception, with nothing imported and on a real (tiny) run."""
from __future__ import annotations

import pytest

from support.apptest import scores_of

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


def test_insights_noise_share_has_an_interval_and_its_measured_error(project, app):
    """Issue 11 item 4: the estimate (eac_core.noise_share on the run's probabilities), its bootstrap
    interval, the bench's measured error of that estimator, and the run's own truth; no bare number."""
    from eac_core import noise_share as ns
    from eac_core.metrics import noise_mask
    from data_tools.rundir import RunDir
    from support.apptest import run_path
    measured = ns.measured_error()
    if measured is None:
        pytest.skip("bench/results/noise_share.json not written (python bench/bench_noise_share.py)")
    run = RunDir(run_path(project))
    scores = run.read_scores()
    share = ns.noise_share(scores, run.classes())
    app.run()
    app.switch_page("views/insights.py").run()
    assert not app.exception, [e.value for e in app.exception]
    metric = [m for m in app.metric if m.label == "Estimated share of wrong labels"]
    assert len(metric) == 1 and metric[0].value == f"{share.estimate:.1%}"
    texts = _texts(app).replace("\\", "")
    assert f"95% bootstrap interval **{share.low:.1%} – {share.high:.1%}**" in texts
    assert f"from its **{share.source}** probabilities" in texts
    table = [t for t in app.table if "error" in t.value.columns][0].value     # a table that wraps (issue 24)
    expected = measured[(measured["estimator"] == share.method) & measured["probabilities"].str.startswith(share.source)]
    assert len(table) == len(expected) > 0
    assert table["error"].tolist() == [f"{e:+.3f}" for e in expected["error"]]
    assert table["data"].tolist() == expected["dataset"].tolist()
    truth = float(noise_mask(scores).mean())
    assert f"This run's truth is known: **{truth:.1%}**" in texts


@pytest.mark.parametrize("page", ["views/review.py", "views/insights.py", "views/export.py"])
def test_run_config_pointing_outside_the_roots_is_refused(project, app, page, tmp_path):
    import json
    from support.apptest import run_path
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
