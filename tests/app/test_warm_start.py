"""`python -m app` (issue 24: a fresh server's first suspect within 2 s): it serves the app as
`streamlit run app/main.py` does and reads the most recent run's data while the server starts
(app.components.warm), saying so in one line of its log; warm() itself fills the caches the Review page
reads (the same cached objects come back)."""
from __future__ import annotations

import time
import urllib.request

import pytest

from support import browser as bs
from support.dup_project import RUN, make_dup_project


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return make_dup_project(tmp_path_factory.mktemp("warm"))


def test_python_m_app_serves_and_warms_the_latest_run(home):
    srv = bs.StreamlitServer(home, launcher="app")
    try:
        srv.start(timeout=120)
        deadline = time.monotonic() + 120
        while "[fer-audit] warm start" not in srv.log_tail(100_000) and time.monotonic() < deadline:
            time.sleep(0.2)
        line = next(ln for ln in srv.log_tail(100_000).splitlines() if "[fer-audit] warm start" in ln)
        assert f"warm start: run {RUN}: 29 faces in " in line, line       # no checkpoint: no CAMs to queue
        with urllib.request.urlopen(srv.url + "/", timeout=30) as r:
            assert r.status == 200
    finally:
        srv.stop()


def test_warm_fills_the_caches_the_review_page_reads(home, monkeypatch):
    monkeypatch.setenv("FER_AUDIT_HOME", str(home))
    from app.components import loaders, review_queue, warm
    from app.components.queue import filter_queue
    from data_tools import issues, manifest
    from data_tools.rundir import RunDir
    assert warm.warm() == f"run {RUN}: 29 faces"

    def read_again(*_a, **_k):
        raise AssertionError("read from disk again: warm() did not fill this cache")
    # from here on, a file read fails: what the page reads first must come from the caches warm() filled
    monkeypatch.setattr(RunDir, "read_scores", read_again)
    monkeypatch.setattr(issues, "read_issues", read_again)
    monkeypatch.setattr(manifest, "load_dataset", read_again)
    run = RunDir(home / "runs" / RUN)
    scores = loaders.load_scores(run)
    assert len(scores) == 29 and len(loaders.load_scores_by_id(run)) == 29
    ds = loaders.run_dataset_dir(run)
    assert loaders.duplicate_groups(ds).around("a0").members == ["a0", "a0_copy"]
    assert loaders.load_dataset(ds).manifest["sample_id"].nunique() == 33
    f = review_queue.default_filter(scores)
    assert len(filter_queue(review_queue.slim(run, scores, f), set(), f)) == 29


def test_warm_without_any_run_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("FER_AUDIT_HOME", str(tmp_path))
    from app.components import warm
    assert warm.warm() == "no run to review"
