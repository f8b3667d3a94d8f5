"""app.components.batch: the one path of decisions made together (Gallery action, Review bulk accept)."""
from __future__ import annotations

import pytest

from app.components.batch import batch_decisions, group_decisions, record_batch, suggestion_decisions
from data_tools.audit import Audit, StaleDecision


def test_suggestion_decisions_relabel_to_the_suggestion_in_one_batch():
    rows = [{"sample_id": "a", "label": "fear", "pred": "surprise"}, {"sample_id": 7, "label": "sad", "pred": "sad"}]
    d = suggestion_decisions(rows, reviewer="ann", session="tab1")
    assert [(x.sample_id, x.action, x.new_label) for x in d] == [("a", "relabel", "surprise"), ("7", "keep", None)]
    assert d[0].via == d[1].via and d[0].via.startswith("batch:bulk-accept:")
    assert (d[0].reviewer, d[0].session) == ("ann", "tab1")
    assert suggestion_decisions(rows, reviewer="", session="")[0].via != d[0].via     # a new batch each time


def test_record_batch_is_all_or_none_and_undone_together(tmp_path):
    audit = Audit.open(tmp_path / "audit.sqlite")
    d = batch_decisions(["a", "b", "c"], "remove", None, {}, reviewer="r", session="s")
    audit.record("b", "keep", reviewer="other", session="t")
    with pytest.raises(StaleDecision, match="sample b was decided meanwhile"):
        record_batch(audit, d, {"a": None, "b": None, "c": None})
    assert audit.latest()["sample_id"].tolist() == ["b"]                 # nothing of the batch recorded
    seen = {"a": None, "b": audit.decision("b")["event_id"], "c": None}
    assert len(record_batch(audit, d, seen)) == 3
    assert audit.undo(session="s")["batch"] == 3
    assert audit.latest()[["sample_id", "action"]].values.tolist() == [["b", "keep"]]


def test_group_decisions_decide_a_duplicate_group_as_one():
    members = ["a", "b", "c"]
    labels = {"a": "happy", "b": "sad", "c": "happy"}
    splits = {"a": "train", "b": "test", "c": "test"}

    def out(how, **kw):
        d = group_decisions(members, how, labels, reviewer="r", session="s", splits=splits, **kw)
        assert len({x.via for x in d}) == 1 and d[0].via.startswith(f"batch:group-{how}:")   # one undo
        return [(x.sample_id, x.action, x.new_label) for x in d]

    assert out("keep_one", keep="b") == [("a", "remove", None), ("b", "keep", None), ("c", "remove", None)]
    assert out("relabel_all", new_label="sad") == [("a", "relabel", "sad"), ("b", "keep", None), ("c", "relabel", "sad")]
    assert out("remove_split", side="test") == [("b", "remove", None), ("c", "remove", None)]
    assert out("remove_split", side="train") == [("a", "remove", None)]
    assert out("remove_all") == [("a", "remove", None), ("b", "remove", None), ("c", "remove", None)]
    assert group_decisions(members, "remove_split", labels, reviewer="", session="", splits=splits, side="val") == []
    with pytest.raises(ValueError, match="unknown group action 'merge'"):
        group_decisions(members, "merge", labels, reviewer="", session="")
