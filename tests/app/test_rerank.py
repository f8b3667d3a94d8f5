"""The Review page follows the review and the ranking (issue 11 §1, §6): when a newer ranking replaces
the one on screen, the reviewer is taken to its best undecided suspect and offered the way back; the
queue table's ▶ marker, selection and window follow every key."""
from __future__ import annotations

from support.apptest import audit_of, rerank, run_path, scores_of


def _sample(at) -> str:
    return next(s.value for s in at.subheader if s.value.startswith("Sample "))[len("Sample "):]


def _queue(at):
    return next(d.value for d in at.dataframe if "▶" in d.value.columns)


def test_a_new_ranking_takes_the_reviewer_to_its_best_undecided_suspect(project, app):
    ids = scores_of(project)["sample_id"].tolist()
    rerank(run_path(project), ids, provisional=True)            # the provisional ranking on screen
    app.run()
    assert _sample(app) == ids[0]
    app.button(key="act_keep").click().run()           # decide rank 1, move to rank 2
    assert _sample(app) == ids[1]
    # the final ranking: the face on screen falls to rank 30, rank 1 is the face already decided
    new = [ids[0]] + [i for i in ids[2:31]] + [ids[1]] + ids[31:]
    assert new.index(ids[1]) == 30
    rerank(run_path(project), new, provisional=False)
    app.run()
    assert _sample(app) == new[1]                      # the best UNDECIDED suspect of the new ranking
    info = " ".join(i.value for i in app.info)
    assert "The final ranking arrived" in info and f"You were on sample {ids[1]} (rank 31 of the new ranking)" in info
    # → goes on in the new order (rank 3), not after the old face's new position
    app.button(key="act_next").click().run()
    assert _sample(app) == new[2]
    assert not any("ranking arrived" in i.value for i in app.info)   # the notice goes once the reviewer moves
    # the way back is offered while the notice shows
    rerank(run_path(project), list(reversed(new)), provisional=False)
    app.run()
    back_to = new[2]
    assert _sample(app) != back_to
    app.button(key="review_moved_back").click().run()
    assert _sample(app) == back_to
    assert list(audit_of(project).latest()["sample_id"]) == [ids[0]]   # nothing decided by moving


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
