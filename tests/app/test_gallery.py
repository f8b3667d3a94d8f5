"""The Gallery page (issue 11 §7): metadata filters, multi-select, one action for the selection,
undone as one step; its pure functions with exact outcomes."""
from __future__ import annotations

from pathlib import Path

import pandas as pd


from support.apptest import audit_of, scores_of

from app.components.batch import batch_decisions
from app.components.gallery import GalleryFilter, gallery_faces, metadata_columns


def _plain(text: str) -> str:
    """A message as the reader sees it (md_escape's backslashes removed)."""
    return text.replace("\\", "")


def _scores():
    return pd.DataFrame({"sample_id": ["a", "b", "c", "d"], "label": ["fear", "fear", "happy", "fear"],
                         "pred": ["surprise", "fear", "surprise", "surprise"], "suspicion": [0.9, 0.5, 0.7, 0.8],
                         "rank": [1, 4, 3, 2]})


def _manifest():
    return pd.DataFrame({"sample_id": ["a", "b", "c", "d"], "path": ["a.png"] * 4, "label": ["fear"] * 4,
                         "split": ["train"] * 4, "glasses": [True, False, True, False],
                         "occluder": ["none", "hand", "none", "none"], "vote_fear": [3, 4, 5, 6],
                         "uid": ["1", "2", "3", "4"] * 1, "const": ["x"] * 4})


def test_metadata_columns_offer_the_datasets_own_columns():
    cols = metadata_columns(_manifest())
    assert cols == {"glasses": [False, True], "occluder": ["hand", "none"], "uid": ["1", "2", "3", "4"]}


def test_gallery_faces_filters_and_orders_by_rank():
    s, m = _scores(), _manifest()
    f = GalleryFilter(given=["fear"], predicted=["surprise"], status="all")
    assert gallery_faces(s, m, set(), f)["sample_id"].tolist() == ["a", "d"]
    f.status = "undecided"
    assert gallery_faces(s, m, {"a"}, f)["sample_id"].tolist() == ["d"]
    f = GalleryFilter(status="all", metadata={"glasses": [True]})
    assert gallery_faces(s, m, set(), f)["sample_id"].tolist() == ["a", "c"]
    f = GalleryFilter(status="all", metadata={"glasses": [True], "occluder": ["hand"]})
    assert gallery_faces(s, m, set(), f).empty
    f = GalleryFilter(status="decided", only={"b", "c"})
    assert gallery_faces(s, m, {"b", "d"}, f)["sample_id"].tolist() == ["b"]


def test_batch_decisions_share_one_batch_and_keep_own_labels():
    d = batch_decisions(["a", "c"], "relabel", "happy", {"a": "fear", "c": "happy"}, reviewer="r", session="s")
    assert [(x.sample_id, x.action, x.new_label) for x in d] == [("a", "relabel", "happy"), ("c", "keep", None)]
    assert d[0].via == d[1].via and d[0].via.startswith("batch:gallery:") and d[0].session == "s"


def _gallery(project):
    from streamlit import config
    from streamlit.testing.v1 import AppTest
    config.set_option("server.address", "127.0.0.1")
    at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "app" / "views" / "gallery.py"),
                           default_timeout=60)
    return at


def test_select_relabel_and_undo_as_one_step(project):
    s = scores_of(project)
    fear = s[s["label"] == s["label"].iloc[0]]
    at = _gallery(project)
    at.run()
    assert not at.exception
    at.sidebar.multiselect(key="gal_given").select(fear["label"].iloc[0]).run()
    boxes = [c for c in at.checkbox if c.key.startswith("gal_box_")]
    assert [c.key[len("gal_box_"):] for c in boxes] == fear["sample_id"].tolist()[:len(boxes)]
    picked = [c.key[len("gal_box_"):] for c in boxes[:3]]
    for c in boxes[:3]:
        c.check().run()
    assert any("3 selected" in m.value for m in at.markdown)
    target = next(c for c in sorted(s["label"].unique()) if c != fear["label"].iloc[0])
    at.selectbox(key="gal_action").set_value("relabel").run()
    at.selectbox(key="gal_target").set_value(target).run()
    at.button(key="gal_apply").click().run()
    latest = audit_of(project).latest().set_index("sample_id")
    assert sorted(latest.index) == sorted(picked)
    assert set(latest["action"]) == {"relabel"} and set(latest["new_label"]) == {target}
    assert latest["via"].nunique() == 1
    assert any(f"Saved: 3 face(s) relabelled to {target}" in _plain(m.value) for m in at.success)
    assert not any(c.value for c in at.checkbox if c.key.startswith("gal_box_"))   # selection cleared
    at.button(key="gal_undo").click().run()
    assert audit_of(project).latest().empty                                          # one step undoes all three
    assert any("Undone: 3 decision(s)" in _plain(m.value) for m in at.success)


def test_a_stale_selection_saves_nothing(project):
    s = scores_of(project)
    at = _gallery(project)
    at.run()
    boxes = [c for c in at.checkbox if c.key.startswith("gal_box_")]
    boxes[0].check().run()
    boxes[1].check().run()
    sid = boxes[1].key[len("gal_box_"):]
    audit_of(project).record(sid, "keep", reviewer="someone else", session="other tab")   # meanwhile
    at.selectbox(key="gal_action").set_value("remove").run()
    at.button(key="gal_apply").click().run()
    assert audit_of(project).latest()["sample_id"].tolist() == [sid]     # only the other tab's decision
    assert any(f"Not saved: sample {sid}" in _plain(e.value) for e in at.error)
