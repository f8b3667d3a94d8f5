"""Two tabs, one reviewer (issue 9, hole 8): undo belongs to the tab that decided, a decision on a face
that changed since the tab drew it asks first, and the Review page shows a face's decision history."""
from __future__ import annotations

import json
from pathlib import Path

import pytest


from support.apptest import MAIN, audit_of, scores_of


def _tab(project: Path, sample: str | None = None):
    """A new browser tab (its own Streamlit session) on the Review page, as reviewer 'ann'."""
    from streamlit.testing.v1 import AppTest
    (project / "settings.json").write_text(json.dumps({"reviewer": "ann", "allowed_roots": []}))
    tab = AppTest.from_file(MAIN, default_timeout=60)
    if sample is not None:
        tab.query_params["sample"] = sample
    tab.run()
    assert not tab.exception
    return tab


def _sample(at) -> str:
    return next(s.value for s in at.subheader if s.value.startswith("Sample "))[len("Sample "):]


def _toasts(at) -> list[str]:
    return [t.value for t in at.toast]


def test_undo_undoes_this_tabs_decision_not_the_other_tabs(project, app):
    ids = scores_of(project)["sample_id"].tolist()
    a = _tab(project)
    assert _sample(a) == ids[0]
    a.button(key="act_keep").click().run()                  # tab A keeps the first face
    b = _tab(project, sample=ids[2])
    b.button(key="act_remove").click().run()                # tab B, same reviewer, removes the third
    a.button(key="act_undo").click().run()                  # tab A's z: its own keep, not B's newer remove
    audit = audit_of(project)
    assert audit.latest()[["sample_id", "action"]].values.tolist() == [[ids[2], "remove"]]
    assert _toasts(a) == [f"Undone: keep · sample {ids[0]}"]
    assert _sample(a) == ids[0]
    a.button(key="act_undo").click().run()
    assert _toasts(a) == ["Nothing to undo in this tab"]
    assert audit.latest()["sample_id"].tolist() == [ids[2]]
    b.button(key="act_undo").click().run()
    assert audit.latest().empty
    ev = audit.events()
    assert ev["action"].tolist() == ["keep", "remove", "undo", "undo"]
    assert ev["reviewer"].tolist()[:2] == ["ann", "ann"]
    sessions = ev["session"].tolist()
    assert sessions[0] == sessions[2] != sessions[1] == sessions[3] and "" not in sessions


def test_a_stale_tab_asks_before_replacing_a_newer_decision(project):
    ids = scores_of(project)["sample_id"].tolist()
    a, b = _tab(project), _tab(project)                     # both drew the first face, undecided
    assert _sample(a) == _sample(b) == ids[0]
    a.button(key="act_keep").click().run()
    b.button(key="act_remove").click().run()                # B never saw A's keep: refused, nothing lost
    audit = audit_of(project)
    assert audit.latest()[["sample_id", "action"]].values.tolist() == [[ids[0], "keep"]]
    assert len(b.error) == 1 and f"Not saved: sample {ids[0]} was decided meanwhile" in b.error[0].value
    assert _sample(b) == ids[0]                              # B stays on the face, now showing A's keep
    assert any("Decided: keep" in m.value for m in b.markdown)
    b.button(key="act_remove").click().run()                # seen: the second press replaces it
    assert audit.decision(ids[0])["action"] == "remove"
    assert audit.events()["action"].tolist() == ["keep", "remove"]


def test_the_review_page_shows_the_decision_history(project):
    ids = scores_of(project)["sample_id"].tolist()
    a = _tab(project)
    assert any(c.value == "Decision history: none yet." for c in a.caption)
    a.text_input(key="review_note").input("looks calm")
    a.button(key="act_keep").click().run()
    b = _tab(project, sample=ids[0])
    b.button(key="act_unsure").click().run()
    b.button(key="act_undo").click().run()                  # back on ids[0]
    hist = next(d.value for d in b.dataframe if "who" in d.value.columns)
    assert hist.columns.tolist() == ["when (UTC)", "who", "decision", "note", "via", "state"]
    assert hist[["who", "decision", "note", "state"]].values.tolist() == [
        ["ann", "undo of unsure", "", "undo"], ["ann", "unsure", "", "undone"],
        ["ann", "keep", "looks calm", "current"]]
    assert any(c.value.startswith("Decision history (3 events") for c in b.caption)
