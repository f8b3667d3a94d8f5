"""The Review page follows the review and the ranking (issue 11 §6): the queue table's ▶ marker,
selection and window follow every key. What a newer ranking does (issue 24 §3: the face on screen
stays, the queue follows the new ranking) is tests/app/test_review_sources.py; issue 11 §1's move to
the new ranking's best undecided suspect was reversed by issue 24 §3."""
from __future__ import annotations

from support.apptest import scores_of


def _sample(at) -> str:
    return next(s.value for s in at.subheader if s.value.startswith("Sample "))[len("Sample "):]


def _queue(at):
    return next(d.value for d in at.dataframe if "▶" in d.value.columns)


def test_the_same_ranking_keeps_the_face(project, app):
    ids = scores_of(project)["sample_id"].tolist()
    app.run()
    app.button(key="act_next").click().run()
    app.run()                                          # a full rerun, same ranking file
    assert _sample(app) == ids[1]
    assert not any("ranking arrived" in i.value for i in app.info)


def test_the_queue_marker_and_window_follow_the_keys(project, app):
    ids = scores_of(project)["sample_id"].tolist()
    app.run()
    q = _queue(app)
    assert q["▶"].tolist()[:2] == ["▶", ""] and q["sample"].tolist()[0] == ids[0]
    assert list(q.columns[:4]) == ["▶", "face", "sample", "decision"]       # the decision is not off the edge
    for _ in range(5):
        app.button(key="act_keep").click().run()
    q = _queue(app)
    assert _sample(app) == ids[5]
    # the window starts two rows above the current face, which is marked and carries no decision yet
    assert q["sample"].tolist()[:3] == ids[3:6]
    assert q["▶"].tolist()[:3] == ["", "", "▶"]
    assert q["decision"].tolist()[:3] == ["keep", "keep", ""]
    assert any(f"face 6 of {len(ids)}" in c.value for c in app.caption)


def test_a_stale_url_after_a_key_does_not_send_the_reviewer_back(project, app):
    """A rerun can carry the browser's previous URL (a key pressed on a cold start, then the model
    code arrives and the page reruns): ?sample= still names the face just decided. The session leads;
    only a deep link to a face this session has not shown (or another page's jump) moves it."""
    ids = scores_of(project)["sample_id"].tolist()
    app.run()
    app.button(key="act_keep").click().run()
    assert _sample(app) == ids[1]
    app.query_params["sample"] = ids[0]                # the URL as the browser still had it
    app.run()
    assert _sample(app) == ids[1]
    app.query_params["sample"] = ids[7]                # a real deep link (a face not shown yet)
    app.run()
    assert _sample(app) == ids[7]
