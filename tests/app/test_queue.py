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


def _reference(s: pd.DataFrame, decided: set[str], f: QueueFilter) -> list[str]:
    """The queue's rule written plainly (the code before the fast form): rank order, then a stable sort."""
    df = s.sort_values("rank", kind="stable")
    m = pd.Series(True, index=df.index)
    if f.given:
        m &= df["label"].isin(f.given)
    if f.predicted:
        m &= df["pred"].isin(f.predicted)
    if f.score_range is not None:
        m &= df[f.score_col].between(*f.score_range)
    if f.disagree:
        m &= df["pred"] != df["label"]
    if f.status != "all":
        d = df["sample_id"].isin(decided)
        m &= d if f.status == "decided" else ~d
    by, desc = (f.sort_by, f.descending) if f.sort_by in df.columns else ("rank", False)
    return df[m].sort_values(by, ascending=not desc, kind="stable", na_position="last")["sample_id"].tolist()


def test_large_queue_fast_form_gives_the_same_queue():
    """issue 9 (Scale): a queue of >= 10,000 rows is filtered on a cached fast form (rank order, object ids,
    categorical labels, a sample_id hash index); every filter and sort gives what the plain rule gives."""
    import numpy as np
    rng = np.random.default_rng(3)
    n, classes = 12_000, ["angry", "happy", "sad", "neutral"]
    s = pd.DataFrame({
        "sample_id": pd.array([f"{i:06d}" for i in rng.permutation(n)], dtype="str"),
        "label": rng.choice(classes, n), "pred": rng.choice(classes[:3], n),
        "suspicion": rng.integers(0, 50, n) / 10.0, "loss": rng.random(n)})
    s.loc[::997, "pred"] = None                                   # missing predictions differ from any label
    s["rank"] = s["suspicion"].rank(ascending=False, method="first").astype(int)
    decided = set(s["sample_id"].sample(700, random_state=1)) | {"not-in-run"}
    cases = [QueueFilter(), QueueFilter(given=["sad"]), QueueFilter(given=["angry", "neutral"], predicted=["sad"]),
             QueueFilter(disagree=True), QueueFilter(score_range=(1.0, 3.0)), QueueFilter(status="undecided"),
             QueueFilter(status="decided"), QueueFilter(sort_by="suspicion", descending=True),
             QueueFilter(sort_by="suspicion"), QueueFilter(sort_by="loss", descending=True),
             QueueFilter(given=["happy"], disagree=True, status="undecided", sort_by="loss"),
             QueueFilter(sort_by="no-such-column", descending=True)]
    for f in cases:
        got = filter_queue(s, decided, f)
        assert got["sample_id"].tolist() == _reference(s, decided, f), f
        assert set(got["label"].astype(str)) <= set(classes)
    assert filter_queue(s, decided, QueueFilter(status="decided"))["sample_id"].nunique() == 700
    # the same frame object again: served from the fast form, same answer; a different frame is not confused
    assert filter_queue(s, set(), QueueFilter(given=["sad"]))["sample_id"].tolist() == \
        _reference(s, set(), QueueFilter(given=["sad"]))
    t = s.assign(label="happy")
    assert filter_queue(t, set(), QueueFilter(given=["sad"])).empty
