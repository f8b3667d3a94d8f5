"""Issue 23 in the app (AppTest): the queue's issue-type filter and column, the duplicate group of the
current face reviewed as one decision (keep one, remove from test, relabel all, undone in one step),
and the export carrying those decisions. The project: support.dup_project (planted duplicates, a leak,
a conflict; a run from seeded predictions)."""
from __future__ import annotations

import pandas as pd
import pytest

from data_tools.audit import Audit
from support.dup_project import DATASET, RUN, make_dup_project


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return make_dup_project(tmp_path_factory.mktemp("dup"))


@pytest.fixture()
def home(built, tmp_path, monkeypatch):
    import shutil
    h = tmp_path / "home"
    shutil.copytree(built, h, symlinks=True)
    # the copied dataset keeps its image root (the original src/img); the run names the copy
    import json
    cfg = h / "runs" / RUN / "config.json"
    c = json.loads(cfg.read_text())
    c["dataset"] = str(h / "datasets" / DATASET)
    cfg.write_text(json.dumps(c))
    monkeypatch.setenv("FER_AUDIT_HOME", str(h))
    return h


def _open(app, sid: str):
    app.query_params["sample"] = sid
    app.run()
    assert not app.exception, app.exception
    return app


def _audit(home) -> Audit:
    return Audit(home / "runs" / RUN / "audit.sqlite")


def _latest(home) -> dict:
    return {r.sample_id: (r.action, r.new_label or None) for r in _audit(home).latest().itertuples()}


def test_the_queue_filters_by_issue_type_and_shows_the_issues(home, app):
    _open(app, "a0")
    box = app.multiselect(key="qf_issues")
    assert [o.split(" (")[0] for o in box.options][:4] == ["label_conflict", "split_leak", "exact_duplicate", "near_duplicate"]
    box.set_value(["split_leak", "label_conflict"]).run()
    queue = app.session_state["review_queue"]
    assert sorted(queue) == ["a1", "a2", "a2_sad"]          # a1_test is a test face: not in the run's queue
    tables = [d.value for d in app.dataframe if "issues" in d.value.columns]
    assert tables, "the queue table has an issues column"
    from data_tools.rundir import RunDir
    amb = RunDir(home / "runs" / RUN).read_scores().set_index("sample_id")["ambiguous_between"]
    want = {"a1": "split_leak, exact_duplicate", "a2": "label_conflict, exact_duplicate",
            "a2_sad": "label_conflict, exact_duplicate"}
    want = {k: v + (", ambiguous" if amb[k] else "") for k, v in want.items()}
    assert sorted(tables[0]["issues"]) == sorted(want.values())


def test_keep_one_removes_the_copy_and_one_undo_restores_both(home, app):
    _open(app, "a0")
    assert any("Duplicate group" in m.value for m in app.markdown)
    app.button(key="grp_keep_one").click().run()
    assert not app.exception
    assert _latest(home) == {"a0": ("keep", None), "a0_copy": ("remove", None)}
    assert any("Saved for the duplicate group: remove 1, keep 1" in t.value for t in app.toast)
    app.button(key="act_undo").click().run()
    assert _latest(home) == {}
    assert app.session_state["review_current"] == "a0"          # back on the face the group was decided from


def test_a_leak_removes_the_test_copy_and_the_export_drops_it(home, app, tmp_path):
    _open(app, "a1")
    md = " ".join(m.value for m in app.markdown)
    assert "**train/test leak**" in md and r"splits test/train \(leak\)" in md
    app.button(key="grp_remove_test").click().run()
    assert _latest(home) == {"a1_test": ("remove", None)}
    assert app.session_state["review_current"] == "a1"          # this face is still to decide
    from data_tools.__main__ import main as cli
    out = tmp_path / "corrected.csv"
    assert cli(["export", "--audit", str(home / "runs" / RUN / "audit.sqlite"), "--format", "csv", "--out", str(out)]) == 0
    df = pd.read_csv(out, dtype=str, keep_default_na=False).set_index("sample_id")
    assert "a1_test" not in df.index and len(df) == 32        # the removed test copy is absent; 33 faces
    assert (df.loc["a1", "action"], df.loc["a1", "label"]) == ("undecided", "happy")


def test_relabel_all_needs_a_class_then_relabels_the_whole_conflict(home, app):
    _open(app, "a2")
    assert "label conflict" in " ".join(m.value for m in app.markdown)
    app.button(key="grp_relabel_all").click().run()
    assert _latest(home) == {}
    assert any("choose the class to relabel the group to first" in e.value for e in app.error)
    app.selectbox(key="group_relabel_to").set_value("sad").run()
    app.button(key="grp_relabel_all").click().run()
    assert _latest(home) == {"a2": ("relabel", "sad"), "a2_sad": ("keep", None)}


def test_a_face_outside_groups_shows_no_group(home, app):
    _open(app, "clean1")
    assert not any("Duplicate group" in m.value for m in app.markdown)
    assert not [b for b in app.button if str(b.key).startswith("grp_")]


def test_the_gallery_filters_by_issue_type_and_captions_each_face(home):
    from streamlit import config
    from streamlit.testing.v1 import AppTest

    from support.apptest import REPO
    config.set_option("server.address", "127.0.0.1")
    at = AppTest.from_file(str(REPO / "app" / "views" / "gallery.py"), default_timeout=60)
    at.run()
    assert not at.exception
    at.sidebar.radio(key="gal_status").set_value("all").run()
    at.sidebar.multiselect(key="gal_issues").set_value(["near_duplicate", "blurry"]).run()
    boxes = sorted(c.key[len("gal_box_"):] for c in at.checkbox if c.key.startswith("gal_box_"))
    assert boxes == ["b0", "b0_resized", "blurry", "c0", "c0_jpeg", "d0", "d0_shift", "e0", "e0_crop"]
    captions = {c.value for c in at.caption}
    assert sum(c.startswith("blurry") for c in captions) == 1 and any(c.startswith("near_duplicate") for c in captions)
