"""The queue as pure functions: filters, sorting, neighbours, bulk candidates."""
from __future__ import annotations

import pandas as pd

from app.components.queue import (QueueFilter, bulk_candidates, filter_queue, neighbours, next_after,
                                  score_columns, with_decisions)


def _scores() -> pd.DataFrame:
    return pd.DataFrame({
        "sample_id": ["007", "002", "003", "004", "005"],
        "label": ["happy", "sad", "happy", "angry", "sad"],
        "pred": ["sad", "sad", "angry", "angry", "happy"],
        "suspicion": [0.9, 0.2, 0.7, 0.1, 0.5],
        "rank": [1, 4, 2, 5, 3],
        "label_index": [3, 4, 3, 0, 4],
        "provisional": [False] * 5,
    })


def test_filters_and_sort():
    s = _scores()
    assert filter_queue(s, set(), QueueFilter())["sample_id"].tolist() == ["007", "003", "005", "002", "004"]
    f = QueueFilter(given=["happy", "sad"], disagree=True)
    assert filter_queue(s, set(), f)["sample_id"].tolist() == ["007", "003", "005"]
    f = QueueFilter(predicted=["angry"], score_range=(0.0, 0.5))
    assert filter_queue(s, set(), f)["sample_id"].tolist() == ["004"]
    assert filter_queue(s, {"007"}, QueueFilter(status="undecided"))["sample_id"].tolist()[0] == "003"
    assert filter_queue(s, {"007"}, QueueFilter(status="decided"))["sample_id"].tolist() == ["007"]
    f = QueueFilter(sort_by="suspicion", descending=False)
    assert filter_queue(s, set(), f)["sample_id"].tolist() == ["004", "002", "005", "003", "007"]


def test_score_columns_skip_identifiers():
    assert score_columns(_scores()) == ["rank", "suspicion"]


def test_neighbours_and_next():
    ids = ["a", "b", "c"]
    assert neighbours(ids, "a") == (None, "b")
    assert neighbours(ids, "c") == ("b", None)
    assert neighbours(ids, "zz") == (None, "a")
    assert next_after(ids, "a") == "b"
    assert next_after(ids, "a", skip={"b"}) == "c"
    assert next_after(ids, "c", skip={"b"}) == "a"          # wraps once
    assert next_after(ids, "a", skip={"b", "c"}) is None


def test_bulk_candidates_are_top_k_disagreeing_undecided():
    s = _scores()
    c = bulk_candidates(s, set(), top_k=3, min_score=0.0)
    assert c["sample_id"].tolist() == ["007", "003", "005"]
    c = bulk_candidates(s, {"003"}, top_k=3, min_score=0.6)
    assert c["sample_id"].tolist() == ["007"]


def test_with_decisions():
    latest = pd.DataFrame({"sample_id": ["003", "005"], "action": ["relabel", "keep"],
                           "new_label": ["angry", None]})
    d = with_decisions(_scores(), latest).set_index("sample_id")["decision"]
    assert (d["003"], d["005"], d["007"]) == ("relabel→angry", "keep", "")
