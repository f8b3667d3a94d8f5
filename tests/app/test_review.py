"""The decision flow on the Review page: decide -> row in the audit database -> next suspect shown;
relabel, accept, undo, bulk accept with its confirmation, deep links, filters."""
from __future__ import annotations

from app.components import reviewer
from support.apptest import audit_of, scores_of


def _sample(at) -> str:
    heads = [s.value for s in at.subheader if s.value.startswith("Sample ")]
    assert heads, "no 'Sample <id>' heading on the page"
    return heads[0][len("Sample "):]


def test_keep_is_committed_then_the_next_suspect_is_shown(project, app):
    s = scores_of(project)
    first, second = s["sample_id"].iloc[0], s["sample_id"].iloc[1]
    app.run()
    assert _sample(app) == first
    app.button(key="act_keep").click().run()
    assert not app.exception
    latest = audit_of(project).latest()
    assert list(latest["sample_id"]) == [first]
    assert list(latest["action"]) == ["keep"]
    assert _sample(app) == second
    assert app.query_params["sample"] == [second] or app.query_params["sample"] == second
    assert any(f"sample {first}" in t.value for t in app.toast)


def test_relabel_keys_and_accept(project, app):
    s = scores_of(project)
    app.run()
    classes = [b.label for b in app.button if b.key and b.key.startswith("act_relabel_")]
    first = _sample(app)
    given = s.set_index("sample_id").loc[first, "label"]
    target = next(c for c in classes if c != given)
    app.button(key=f"act_relabel_{classes.index(target) + 1}").click().run()
    d = audit_of(project).decision(first)
    assert d["action"] == "relabel" and d["new_label"] == target
    second = _sample(app)
    row = s.set_index("sample_id").loc[second]
    app.button(key="act_accept").click().run()
    d2 = audit_of(project).decision(second)
    if row["pred"] != row["label"]:
        assert (d2["action"], d2["new_label"]) == ("relabel", row["pred"])
    else:
        assert d2["action"] == "keep"


def test_remove_unsure_and_note(project, app):
    app.run()
    a = _sample(app)
    app.text_input(key="review_note").input("blurry, maybe not a face")
    app.button(key="act_remove").click().run()
    b = _sample(app)
    app.button(key="act_unsure").click().run()
    audit = audit_of(project)
    assert audit.decision(a)["action"] == "remove"
    assert audit.decision(a)["note"] == "blurry, maybe not a face"
    assert audit.decision(b)["action"] == "unsure"
    assert audit.decision(b)["note"] == ""


def test_undo_cancels_the_last_decision_and_returns_to_it(project, app):
    app.run()
    first = _sample(app)
    app.button(key="act_keep").click().run()
    assert _sample(app) != first
    app.button(key="act_undo").click().run()
    assert not app.exception
    audit = audit_of(project)
    assert audit.latest().empty
    assert list(audit.events()["action"]) == ["keep", "undo"]
    assert _sample(app) == first


def test_prev_next(project, app):
    s = scores_of(project)
    app.run()
    app.button(key="act_next").click().run()
    assert _sample(app) == s["sample_id"].iloc[1]
    app.button(key="act_prev").click().run()
    assert _sample(app) == s["sample_id"].iloc[0]
    assert audit_of(project).latest().empty          # moving decides nothing


def test_deep_link_opens_that_face(project, app):
    s = scores_of(project)
    target = s["sample_id"].iloc[7]
    app.query_params["sample"] = target
    app.run()
    assert _sample(app) == target


def test_unknown_deep_link_warns_and_shows_the_queue(project, app):
    app.query_params["sample"] = "no-such-sample"
    app.run()
    assert not app.exception
    assert any("no-such-sample" in w.value for w in app.warning)
    assert _sample(app) == scores_of(project)["sample_id"].iloc[0]


def test_bulk_accept_changes_exactly_what_the_confirmation_shows(project, app):
    s = scores_of(project)
    app.run()
    app.number_input(key="bulk_k").set_value(10).run()
    app.number_input(key="bulk_thr").set_value(float(s["suspicion"].min())).run()
    app.button(key="bulk_preview_btn").click().run()
    top = s.head(10)
    expected = top[top["pred"] != top["label"]]
    confirm = [b for b in app.button if b.key == "bulk_confirm"]
    assert confirm and confirm[0].label == f"Confirm: relabel {len(expected)} face(s)"
    assert audit_of(project).latest().empty          # nothing written before confirming
    app.button(key="bulk_confirm").click().run()
    assert not app.exception
    latest = audit_of(project).latest().set_index("sample_id")
    assert set(latest.index) == set(expected["sample_id"])
    for sid, pred in zip(expected["sample_id"], expected["pred"]):
        assert latest.loc[sid, "action"] == "relabel" and latest.loc[sid, "new_label"] == pred
    assert latest["via"].nunique() == 1 and latest["via"].iloc[0].startswith("batch:bulk-accept:")   # one batch


def _bulk_preview(app, s, k: int = 10) -> list[str]:
    app.number_input(key="bulk_k").set_value(k).run()
    app.number_input(key="bulk_thr").set_value(float(s["suspicion"].min())).run()
    app.button(key="bulk_preview_btn").click().run()
    return [r["sample_id"] for r in app.session_state["review_bulk_preview"]]


def test_bulk_accept_is_undone_with_one_undo(project, app):
    """Issue 21 item 2: the Review page's bulk accept is one batch, as the Gallery's action is."""
    s = scores_of(project)
    app.run()
    previewed = _bulk_preview(app, s)
    assert len(previewed) >= 2
    app.button(key="bulk_confirm").click().run()
    assert set(audit_of(project).latest()["sample_id"]) == set(previewed)
    app.button(key="act_undo").click().run()
    assert not app.exception
    audit = audit_of(project)
    assert audit.latest().empty                                  # every decision of the bulk accept
    assert (audit.events()["action"] == "undo").sum() == len(previewed)
    assert any(f"and the other {len(previewed) - 1} decision\\(s\\) made with it in one action" in t.value
               for t in app.toast)                           # md-escaped: the toast shows the text as typed


def test_bulk_accept_saves_nothing_when_a_face_was_decided_meanwhile(project, app):
    """The Gallery's staleness rule: all or none, only if no face's decision changed since the preview."""
    s = scores_of(project)
    app.run()
    previewed = _bulk_preview(app, s)
    audit_of(project).record(previewed[1], "keep", reviewer="other tab", session="elsewhere")
    app.button(key="bulk_confirm").click().run()
    assert not app.exception
    latest = audit_of(project).latest()
    assert latest["sample_id"].tolist() == [previewed[1]] and latest["action"].tolist() == ["keep"]
    assert any(f"Not saved: sample {previewed[1]} was decided meanwhile" in e.value for e in app.error)
    assert "review_bulk_preview" not in app.session_state or not app.session_state["review_bulk_preview"]


def test_filter_by_given_class_and_undecided(project, app):
    s = scores_of(project)
    cls = s["label"].value_counts().index[0]
    app.run()
    app.multiselect(key="qf_given").set_value([cls]).run()
    assert not app.exception
    queue = app.session_state["review_queue"]
    assert queue and set(s.set_index("sample_id").loc[queue, "label"]) == {cls}
    first = queue[0]
    app.radio(key="qf_status").set_value("undecided").run()
    app.button(key="act_keep").click().run()
    app.run()
    assert first not in app.session_state["review_queue"]


def test_reviewer_name_is_recorded(project, app):
    from app.components.project import Settings, save_settings
    save_settings(Settings(reviewer="ana"))
    app.run()
    app.button(key="act_keep").click().run()
    assert list(audit_of(project).latest()["reviewer"]) == ["ana"]


def test_decisions_survive_a_new_session(project, app):
    """Another tab (a new AppTest session) sees the first tab's decisions and adds its own."""
    from streamlit.testing.v1 import AppTest
    from support.apptest import MAIN
    app.run()
    first = _sample(app)
    app.button(key="act_keep").click().run()
    other = AppTest.from_file(MAIN, default_timeout=60)
    other.query_params["sample"] = first
    other.run()
    assert any("Decided: keep" in m.value for m in other.markdown)
    other.button(key="act_next").click().run()
    other.button(key="act_remove").click().run()
    app.button(key="act_unsure").click().run()     # the first tab drew that face undecided: it asks first
    login = reviewer.login_name()      # no name in Settings: the login name is recorded (issue 24 item 7)
    assert len(app.error) == 1 and f"was decided meanwhile \\(now: remove by {login} at " in app.error[0].value
    assert list(audit_of(project).events()["action"]) == ["keep", "remove"]
    app.button(key="act_unsure").click().run()     # the newer decision is on screen now: this press replaces it
    audit = audit_of(project)
    assert list(audit.events()["action"]) == ["keep", "remove", "unsure"]
    assert audit.decision(first)["action"] == "keep"


def test_a_key_for_a_face_not_drawn_yet_is_refused_with_a_message(project, app):
    """Issue 11 §2: a key that reaches the server before the face it would decide was drawn (a fast
    key during a rerun, a key on a loading page) decides nothing, says so, and the next press works."""
    ids = scores_of(project)["sample_id"].tolist()
    app.run()
    assert _sample(app) == ids[0]
    app.session_state["review_current"] = ids[3]      # the server moved on; the page still shows ids[0]
    app.button(key="act_keep").click().run()
    assert audit_of(project).latest().empty
    assert any(f"Not saved: sample {ids[3]} was still loading" in e.value for e in app.error)
    assert _sample(app) == ids[3]                     # shown now
    app.button(key="act_keep").click().run()          # pressed again: saved
    assert audit_of(project).latest()["sample_id"].tolist() == [ids[3]]


def test_a_run_from_imported_predictions_is_reviewed_without_cam_panels(project, app):
    """Issue 11 §8: a run made from a user's own probabilities has no checkpoint: the Review page shows
    the face and says why there are no CAM panels, and decisions work as usual."""
    from eac_core import import_predictions as ip
    s = scores_of(project)
    probs = s[["sample_id"] + [c for c in s.columns if c.startswith("prob_")]]
    f = project / "mine.csv"
    probs.to_csv(f, index=False)
    out = project / "runs" / "imported"
    assert ip.main(["--dataset", str(project / "datasets" / "demo"), "--probs", str(f), "--out", str(out)]) == 0
    app.query_params["run"] = "imported"
    app.run()
    assert not app.exception
    assert any("No CAM panels: this run has no model checkpoint" in c.value for c in app.caption)
    assert [t.key for t in app.toggle if t.key == "mirror_back"] == []      # no CAM panels, no CAM toggle
    first = _sample(app)
    app.button(key="act_keep").click().run()
    from data_tools.audit import Audit
    assert Audit(out / "audit.sqlite").latest()["sample_id"].tolist() == [first]


def test_the_manifest_is_read_after_the_heading_and_the_buttons(project, app, monkeypatch):
    """Issue 9, Scale: a fresh server's first Review page draws the face's heading and its decision
    buttons before it reads the dataset's manifest (303,500 rows at AffectNet scale: the slowest read)."""
    import streamlit as st

    import data_tools.manifest as manifest
    from app.components.decisions import DRAWN
    real, seen = manifest.load_dataset, []

    def spy(path, *a, **kw):
        seen.append(st.session_state.get(DRAWN))      # set when the heading was drawn
        return real(path, *a, **kw)
    monkeypatch.setattr(manifest, "load_dataset", spy)
    st.cache_resource.clear()
    app.run()
    assert not app.exception
    first = scores_of(project)["sample_id"].iloc[0]
    assert seen and seen[0] == (first, None)
    assert any(b.key == "act_keep" for b in app.button)


def test_an_unreadable_manifest_warns_and_the_face_can_still_be_decided(project, app):
    import streamlit as st
    st.cache_resource.clear()
    m = project / "datasets" / "demo" / "manifest.csv"
    lines = m.read_text().splitlines()
    m.write_text("\n".join(lines + [lines[1]]) + "\n")          # a duplicate sample_id: refused
    app.run()
    assert not app.exception
    assert any("cannot be read" in w.value and "duplicate sample_id" in w.value for w in app.warning)
    first = _sample(app)
    app.button(key="act_keep").click().run()
    assert list(audit_of(project).latest()["sample_id"]) == [first]


def test_annotator_votes_are_shown_under_the_face(project, app):
    import pandas as pd
    import streamlit as st
    st.cache_resource.clear()
    m = project / "datasets" / "demo" / "manifest.csv"
    df = pd.read_csv(m, dtype=str, keep_default_na=False)
    df["vote_happy"], df["vote_sad"] = "3", "0"
    df.to_csv(m, index=False)
    app.run()
    assert not app.exception
    assert any(c.value == "Annotator votes: happy 3" for c in app.caption)
