"""Two reviewers on the Review page (issue 24): the panel with Cohen's kappa that queues the
disagreements for a third look. The rules themselves are data_tools.reviewers
(tests/data_tools/test_reviewers.py)."""
from __future__ import annotations

from data_tools.reviewers import agreement
from support.apptest import audit_of, scores_of


def test_the_review_page_shows_kappa_and_queues_the_disagreements(project, app):
    ids = scores_of(project)["sample_id"].tolist()
    app.run()
    audit = audit_of(project)
    for sid, act in zip(ids[:4], ["keep", "keep", "remove", "unsure"]):
        audit.record(sid, act, None, reviewer="ann", session="A")
    for sid, act in zip(ids[:4], ["keep", "remove", "remove", "unsure"]):
        audit.record(sid, act, None, reviewer="bob", session="B")
    app.run()
    assert not app.exception
    text = " ".join(m.value for m in app.sidebar.markdown)
    g = agreement(audit.events(), "ann", "bob")
    assert f"**ann** and **bob** both decided 4 face(s), agreed on 3: Cohen's κ {g['kappa']:.2f}" in text
    app.sidebar.toggle(key="agree_queue").set_value(True).run()
    assert not app.exception
    q = next(d.value for d in app.dataframe if "▶" in d.value.columns)
    assert q["sample"].tolist() == [ids[1]]                      # the one disagreement, for a third look
    assert next(s.value for s in app.subheader if s.value.startswith("Sample ")) == f"Sample {ids[1]}"


# -- a blind second pass (issue 24): the second reviewer never sees the first reviewer's decisions -----
import json  # noqa: E402


def _as(project, name: str) -> None:
    (project / "settings.json").write_text(json.dumps({"reviewer": name, "allowed_roots": []}))


def _queue(app):
    return next(d.value for d in app.dataframe if "▶" in d.value.columns)


def _sample(app) -> str:
    return next(s.value for s in app.subheader if s.value.startswith("Sample "))[len("Sample "):]


def _page_text(app) -> str:
    """Every text the main area draws (the sidebar names the reviewers and is left out), the toasts,
    the queue's and the history's cells."""
    parts = []
    for kind in ("markdown", "caption", "subheader", "success", "error", "info", "warning", "toast"):
        parts += [str(e.value) for e in getattr(app.main, kind)]
    for d in app.main.dataframe:
        parts += [" ".join(map(str, d.value.astype(str).to_numpy().ravel())), " ".join(map(str, d.value.columns))]
    return "\n".join(parts)


def _ann_decides(project, app):
    """ann decides five faces (a note, a relabel, a remove, a keep, an unsure); ben already kept one of
    them before the pass. Returns the ranked ids and the class ann relabelled the first face to."""
    s = scores_of(project)
    ids = s["sample_id"].tolist()
    classes = json.loads((project / "datasets" / "demo" / "dataset.json").read_text())["classes"]
    to = next(c for c in classes if c not in (s["label"].iloc[0], s["pred"].iloc[0]))
    app.run()
    audit = audit_of(project)
    audit.record(ids[0], "relabel", to, reviewer="ann", note="ann-note", session="A")
    audit.record(ids[1], "remove", reviewer="ann", session="A")
    audit.record(ids[2], "keep", reviewer="ann", session="A")
    audit.record(ids[3], "unsure", reviewer="ann", session="A")
    audit.record(ids[5], "keep", reviewer="ann", session="A")
    audit.record(ids[2], "keep", reviewer="ben", session="B0")      # ben decided this one before the pass
    return ids, to


def test_a_blind_second_pass_hides_the_first_reviewers_decisions_and_records_the_second(project, app):
    ids, to = _ann_decides(project, app)
    audit = audit_of(project)
    _as(project, "ben")
    app.run()
    toggle = app.sidebar.toggle(key="blind_pass")
    assert toggle.label == "Second pass (blind) over ann's faces" and toggle.value is False
    toggle.set_value(True).run()
    assert not app.exception, [e.value for e in app.exception]
    # the queue: ann's faces that ben has not decided, in rank order, with no decision shown
    q = _queue(app)
    assert q["sample"].tolist() == [ids[0], ids[1], ids[3], ids[5]]
    assert q["decision"].tolist() == ["", "", "", ""]
    assert _sample(app) == ids[0]
    assert any("**Undecided**" in m.value and "blind pass over ann's faces: 1 decided by you" in m.value
               for m in app.main.markdown)
    assert "Decision history: none yet." in [c.value for c in app.main.caption]
    text = _page_text(app)
    import re
    for leak in ("ann-note", "Decided", "by ann", f"relabel→{to}", f"relabel → {to}", "**remove**", "**unsure**"):
        assert leak not in text, (leak, [ln for ln in text.splitlines() if leak in ln])
    assert "Bulk accept and auto-fix are off during a blind second pass." in text
    assert "4 of ann's 5 face(s) left for you" in " ".join(c.value for c in app.sidebar.caption)
    assert app.sidebar.toggle(key="agree_queue").disabled                  # no third look during the pass

    # keep: recorded for ben although ann decided the face (expect = ben's own decision: none)
    app.button(key="act_keep").click().run()
    assert not app.error, [e.value for e in app.error]
    assert audit.decision(ids[0], reviewer="ben")["action"] == "keep"
    assert audit.decision(ids[0], reviewer="ann")["new_label"] == to              # ann's stays hers
    assert _sample(app) == ids[1] and _queue(app)["sample"].tolist() == [ids[1], ids[3], ids[5]]
    # undo: what stands after it is ann's relabel, and the toast does not say so
    app.button(key="act_undo").click().run()
    assert [t.value for t in app.toast] == [f"Undone: keep · sample {ids[0]}"]
    assert _sample(app) == ids[0] and "ann-note" not in _page_text(app) and f"relabel → {to}" not in _page_text(app)
    app.button(key="act_keep").click().run()
    assert _sample(app) == ids[1]
    # ann deciding the face on screen meanwhile does not stop ben (his own decision did not change)
    audit.record(ids[1], "relabel", to, reviewer="ann", session="A")
    app.button(key="act_remove").click().run()
    assert not app.error and audit.decision(ids[1], reviewer="ben")["action"] == "remove"
    assert _sample(app) == ids[3]
    # ben's other tab deciding it meanwhile does: the message names his own decision, never ann's
    audit.record(ids[3], "remove", reviewer="ben", session="B-other")
    app.button(key="act_keep").click().run()
    assert len(app.error) == 1
    err = app.error[0].value.replace("\\", "")             # shown as typed: markdown escapes dropped
    assert err.startswith(f"Not saved: sample {ids[3]} was decided meanwhile (now: remove by ben at ")
    assert "ann" not in err and "unsure" not in err and err.endswith(
        "in another tab. That decision stands and the face has left this blind pass.")
    assert audit.decision(ids[3], reviewer="ben")["action"] == "remove" and _sample(app) == ids[5]
    assert _queue(app)["sample"].tolist() == [ids[5]]
    app.button(key="act_unsure").click().run()
    assert not app.exception
    assert any(s.value.startswith("Blind pass done") for s in app.success)
    # ann's decisions were never replaced in her own record; the audit holds both reviewers'
    assert {r: d["action"] for r in ("ann", "ben") for d in [audit.decision(ids[5], reviewer=r)]} == {
        "ann": "keep", "ben": "unsure"}
    # kappa over the faces both decided; the pass off, the disagreements queued for a third look
    g = agreement(audit.events(), "ann", "ben")
    # agreed on ids[2] only: ids 0 (relabel/keep), 1 (relabel/remove), 3 (unsure/remove), 5 (keep/unsure) differ
    assert (g["n"], g["agreed"]) == (5, 1)
    sidebar = " ".join(m.value for m in app.sidebar.markdown)
    assert f"**ann** and **ben** both decided 5 face(s), agreed on 1: Cohen's κ {g['kappa']:.2f}" in sidebar
    app.sidebar.toggle(key="blind_pass").set_value(False).run()
    app.sidebar.toggle(key="agree_queue").set_value(True).run()
    assert not app.exception
    assert _queue(app)["sample"].tolist() == [ids[0], ids[1], ids[3], ids[5]]


def test_the_gallery_shows_only_the_reviewers_own_decisions_during_a_blind_pass(project, app):
    ids, to = _ann_decides(project, app)
    _as(project, "ben")
    app.run()
    app.sidebar.toggle(key="blind_pass").set_value(True).run()
    app.switch_page("views/gallery.py").run()
    assert not app.exception, [e.value for e in app.exception]
    assert any("Blind second pass over ann's faces" in c.value for c in app.main.caption)
    app.sidebar.radio(key="gal_status").set_value("all").run()
    cells = {m.value.split(" · ")[0].lstrip("▶ "): m.value for m in app.main.markdown if m.value.lstrip("▶ ").startswith("#")}
    assert [k for k in ("#1", "#2", "#4", "#6") if "**" in cells[k]] == []     # ann's decisions: no badge
    assert cells["#3"].endswith(" · **keep**")                                   # ben's own keep
    app.sidebar.radio(key="gal_status").set_value("undecided").run()
    boxes = [c.key[len("gal_box_"):] for c in app.checkbox if c.key.startswith("gal_box_")]
    assert ids[0] in boxes and ids[1] in boxes and ids[2] not in boxes     # undecided = by ben
    # a Gallery action on ann's face is recorded for ben (checked against his own decision: none)
    app.checkbox(key=f"gal_box_{ids[1]}").check().run()
    app.selectbox(key="gal_action").set_value("unsure").run()
    app.button(key="gal_apply").click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    a = audit_of(project)
    assert a.decision(ids[1], reviewer="ben")["action"] == "unsure" and a.decision(ids[1], reviewer="ann")["action"] == "remove"
