"""Issue 22 item 13: one broken run breaks no page for the others."""
from __future__ import annotations

PAGES = ["views/review.py", "views/data.py", "views/train.py", "views/insights.py", "views/export.py",
         "views/settings.py"]


def test_a_broken_run_breaks_no_page_for_the_others(project, app):
    """Issue 22 item 13: a run whose job.json was "x" broke the Export page's retrain section for every
    run, one whose config.json was [] the Train page's run table. Such a run is listed as broken, with
    its reason, on the Train page, and left out of the run picker; every page works for the others."""
    import os
    import time
    for name, file, content in (("bad-job", "job.json", '"x"'), ("bad-config", "config.json", "[]")):
        d = project / "runs" / name
        d.mkdir()
        (d / file).write_text(content)
        os.utime(d / file, (time.time() + 60, time.time() + 60))      # the most recently active runs
    app.run()
    for page in PAGES:
        app.switch_page(page).run()
        assert not app.exception, (page, [e.value for e in app.exception])
        assert not app.error, (page, [e.value for e in app.error])
    app.switch_page("views/train.py").run()
    assert app.selectbox(key="_run_picker").options == ["demo-eac-20260101-000000"]
    assert [w.value for w in app.warning if "broken" in w.value] == [
        "2 runs are broken and skipped:  \n**bad-config**: config.json is not a JSON object \\(a list\\)  \n"
        "**bad-job**: job.json is not a JSON object \\(a string\\)"]
    app.switch_page("views/export.py").run()
    assert any(s.value == "Retrain on the corrected labels" for s in app.subheader)
