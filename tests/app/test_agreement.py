"""Two reviewers (issue 24): each reviewer's own current decision, Cohen's kappa on the faces both
decided (checked against the formula by hand), the disagreements; and the Review page's panel that
queues them for a third look."""
from __future__ import annotations

import math

import pandas as pd

from app.components.agreement import agreement, by_reviewer
from support.apptest import audit_of, scores_of


def _audit(tmp_path):
    from data_tools.audit import Audit
    return Audit.open(tmp_path / "audit.sqlite")


def test_each_reviewers_current_decision_and_kappa(tmp_path):
    a = _audit(tmp_path)
    # ann: s1 keep, s2 relabel happy, s3 remove, s4 keep (then relabel sad: her later decision counts)
    for sid, act, lab in [("s1", "keep", None), ("s2", "relabel", "happy"), ("s3", "remove", None),
                          ("s4", "keep", None), ("s4", "relabel", "sad")]:
        a.record(sid, act, lab, reviewer="ann", session="A")
    # bob: s1 keep, s2 relabel sad, s3 remove, s4 relabel sad, s5 unsure (undone: does not count)
    for sid, act, lab in [("s1", "keep", None), ("s2", "relabel", "sad"), ("s3", "remove", None),
                          ("s4", "relabel", "sad"), ("s5", "unsure", None)]:
        a.record(sid, act, lab, reviewer="bob", session="B")
    a.undo(session="B", by="bob")
    d = by_reviewer(a.events()).sort_values(["reviewer", "sample_id"]).reset_index(drop=True)
    assert d.to_dict("records") == [
        {"sample_id": "s1", "reviewer": "ann", "decision": "keep"},
        {"sample_id": "s2", "reviewer": "ann", "decision": "relabel→happy"},
        {"sample_id": "s3", "reviewer": "ann", "decision": "remove"},
        {"sample_id": "s4", "reviewer": "ann", "decision": "relabel→sad"},
        {"sample_id": "s1", "reviewer": "bob", "decision": "keep"},
        {"sample_id": "s2", "reviewer": "bob", "decision": "relabel→sad"},
        {"sample_id": "s3", "reviewer": "bob", "decision": "remove"},
        {"sample_id": "s4", "reviewer": "bob", "decision": "relabel→sad"}]
    g = agreement(a.events(), "ann", "bob")
    assert (g["n"], g["agreed"]) == (4, 3)
    # by hand: po = 3/4; ann keep .25 happy .25 remove .25 sad .25; bob keep .25 sad .5 remove .25
    pe = .25 * .25 + .25 * .25 + .25 * .5          # keep, remove, relabel→sad
    assert math.isclose(g["kappa"], (0.75 - pe) / (1 - pe))
    assert g["disagreements"].to_dict("records") == [{"sample_id": "s2", "ann": "relabel→happy", "bob": "relabel→sad"}]


def test_no_overlap_no_kappa(tmp_path):
    a = _audit(tmp_path)
    a.record("s1", "keep", None, reviewer="ann", session="A")
    g = agreement(a.events(), "ann", "bob")
    assert g["n"] == 0 and math.isnan(g["kappa"]) and g["disagreements"].empty
    assert by_reviewer(pd.DataFrame()).empty


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
