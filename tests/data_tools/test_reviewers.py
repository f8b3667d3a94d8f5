"""Several reviewers on one audit (issue 24): each reviewer's own current decision (data_tools.reviewers,
from the events; the audit's reviewer-scoped reads apply the same rule in SQL), Cohen's kappa checked
against the formula by hand, the per-face `reviewers` / `agreement` of the export, and `expect_own`: a
second reviewer's decision is recorded although another reviewer decided the face."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from data_tools.audit import Audit, Decision, StaleDecision, batch_via
from data_tools.reviewers import agreement, by_reviewer, current_decisions, per_face, reviewers


@pytest.fixture
def audit(tmp_path) -> Audit:
    return Audit.open(tmp_path / "audit.sqlite")


def test_each_reviewers_current_decision_and_kappa(audit):
    a = audit
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
    assert reviewers(a.events()) == ["ann", "bob"]                  # 4 faces each: ties by name


def test_no_overlap_no_kappa(audit):
    audit.record("s1", "keep", None, reviewer="ann", session="A")
    g = agreement(audit.events(), "ann", "bob")
    assert g["n"] == 0 and math.isnan(g["kappa"]) and g["disagreements"].empty
    assert by_reviewer(pd.DataFrame()).empty and by_reviewer(None).empty
    assert reviewers(None) == [] and per_face(None).empty


def _tangled(a: Audit) -> None:
    """Decisions, replacements, undos and a batch by three reviewers on four faces."""
    a.record("s1", "keep", reviewer="ann", session="A")
    a.record("s1", "relabel", "sad", reviewer="bob", session="B")
    a.record("s2", "remove", reviewer="ann", session="A")
    a.record("s2", "unsure", reviewer="ann", session="A")          # ann's later decision on s2
    a.undo(session="A", by="ann")                                  # ... undone: her remove stands again
    via = batch_via("gallery")
    a.record_many([Decision("s3", "keep", None, "bob", "", via, "B"), Decision("s4", "keep", None, "bob", "", via, "B")])
    a.record("s3", "relabel", "fear", reviewer="cy", session="C")
    a.undo(session="B", by="bob")                                  # bob's batch: s3 and s4 undone together
    a.record("s4", "remove", reviewer="ann", note="blurred", session="A")


def test_the_audits_reviewer_reads_follow_the_same_rule_as_the_events(audit):
    _tangled(audit)
    cur = current_decisions(audit.events())
    assert cur[["sample_id", "reviewer", "decision"]].values.tolist() == [
        ["s1", "ann", "keep"], ["s1", "bob", "relabel→sad"], ["s2", "ann", "remove"],
        ["s3", "cy", "relabel→fear"], ["s4", "ann", "remove"]]
    for who in ("ann", "bob", "cy", "nobody"):
        own = audit.latest(reviewer=who)
        mine = cur[cur["reviewer"] == who]
        assert own["event_id"].tolist() == mine["event_id"].tolist()
        assert own["sample_id"].tolist() == mine["sample_id"].tolist()
        assert audit.count(reviewer=who) == len(mine)
        for sid in ("s1", "s2", "s3", "s4"):
            d = audit.decision(sid, reviewer=who)
            row = mine[mine["sample_id"] == sid]
            assert (d["event_id"] if d else None) == (int(row["event_id"].iloc[0]) if len(row) else None)
    assert audit.decision("s4", reviewer="ann")["note"] == "blurred"
    # the whole audit is unchanged: the last effective decision per face, whoever made it
    assert audit.latest()[["sample_id", "reviewer", "action"]].values.tolist() == [
        ["s1", "bob", "relabel"], ["s2", "ann", "remove"], ["s3", "cy", "relabel"], ["s4", "ann", "remove"]]


def test_one_reviewers_history_shows_only_their_own_events(audit):
    _tangled(audit)
    h = audit.history("s2", reviewer="ann")
    assert h[["reviewer", "decision", "state"]].values.tolist() == [
        ["ann", "undo of unsure", "undo"], ["ann", "unsure", "undone"], ["ann", "remove", "current"]]
    h = audit.history("s1", reviewer="ann")            # bob's later relabel is not shown, and not "replacing" hers
    assert h[["reviewer", "decision", "state"]].values.tolist() == [["ann", "keep", "current"]]
    assert audit.history("s1", reviewer="cy").empty
    assert audit.history("s1")[["reviewer", "state"]].values.tolist() == [["bob", "current"], ["ann", "replaced"]]


def test_a_second_reviewers_decision_is_recorded_over_anothers_with_expect_own(audit):
    first = audit.record("s1", "keep", reviewer="ann", session="A")
    # expect=None ("the page showed it undecided") is stale for the whole sample: ann decided it
    with pytest.raises(StaleDecision) as e:
        audit.record("s1", "remove", reviewer="bob", session="B", expect=None)
    assert e.value.current["event_id"] == first
    # in a blind pass bob saw HIS OWN decision (none): recorded, although ann decided the face
    second = audit.record("s1", "remove", reviewer="bob", session="B", expect=None, expect_own=True)
    assert audit.decision("s1")["event_id"] == second and audit.decision("s1", reviewer="ann")["event_id"] == first
    # bob's second tab, drawn before his decision, is stale against his own decision only; the
    # message names his decision, never ann's
    with pytest.raises(StaleDecision) as e:
        audit.record("s1", "unsure", reviewer="bob", session="B2", expect=None, expect_own=True)
    assert e.value.current["event_id"] == second and e.value.now.startswith("remove by bob at ")
    # ann deciding again meanwhile does not make bob's view stale (his own decision is unchanged)
    audit.record("s1", "relabel", "sad", reviewer="ann", session="A")
    third = audit.record("s1", "unsure", reviewer="bob", session="B", expect=second, expect_own=True)
    assert audit.decision("s1", reviewer="bob")["event_id"] == third
    # a batch with expect_own: each face checked against the deciding reviewer's own decision
    audit.record("s2", "keep", reviewer="ann", session="A")
    via = batch_via("gallery")
    ids = audit.record_many([Decision("s2", "remove", None, "bob", "", via, "B"),
                             Decision("s3", "remove", None, "bob", "", via, "B")],
                            expect={"s2": None, "s3": None}, expect_own=True)
    assert len(ids) == 2 and audit.latest(reviewer="bob")["sample_id"].tolist() == ["s1", "s2", "s3"]
    n = len(audit.events())
    with pytest.raises(StaleDecision):        # all or none: s3 is bob's already
        audit.record_many([Decision("s4", "keep", None, "bob", "", "", "B"), Decision("s3", "keep", None, "bob", "", "", "B")],
                          expect={"s4": None, "s3": None}, expect_own=True)
    assert len(audit.events()) == n


def test_per_face_reviewers_and_agreement(audit):
    _tangled(audit)
    audit.record("s2", "remove", reviewer="bob", session="B")       # agrees with ann's remove
    f = per_face(audit.events())
    assert f.loc[["s1", "s2", "s3", "s4"]].values.tolist() == [
        ["ann;bob", "disagreed"], ["ann;bob", "agreed"], ["cy", ""], ["ann", ""]]


def test_a_derived_frame_is_taken_as_it_is(audit):
    """A page derives each reviewer's current decisions once and passes them to every panel."""
    _tangled(audit)
    cur = current_decisions(audit.events())
    assert current_decisions(cur) is cur
    assert by_reviewer(cur).equals(by_reviewer(audit.events()))
    g1, g2 = agreement(cur, "ann", "bob"), agreement(audit.events(), "ann", "bob")
    assert (g1["n"], g1["agreed"]) == (g2["n"], g2["agreed"]) == (1, 0)
    assert per_face(cur).equals(per_face(audit.events())) and reviewers(cur) == ["ann", "bob", "cy"]
