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
