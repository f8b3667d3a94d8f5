"""The audit database: WAL, append-only events, latest decision per sample, undo, concurrency."""
from __future__ import annotations

import multiprocessing
import sqlite3

import pandas as pd
import pytest

from data_tools.audit import Audit, AuditError, Decision


@pytest.fixture
def audit(tmp_path):
    return Audit.open(tmp_path / "run" / "audit.sqlite", dataset="datasets/demo", run="runs/r1",
                      classes=["angry", "happy"])


def test_wal_mode_and_meta(audit):
    con = sqlite3.connect(audit.path)
    try:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        con.close()
    meta = audit.meta()
    assert (meta["dataset"], meta["run"], meta["classes"], meta["schema_version"]) == \
        ("datasets/demo", "runs/r1", "angry,happy", "2")


def test_absolute_dataset_and_run_paths_are_recorded(tmp_path, monkeypatch):
    """So an export finds both without a search: dataset_path (when the folder exists) and run_path."""
    (tmp_path / "datasets" / "d").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    a = Audit.open(tmp_path / "runs" / "r" / "audit.sqlite", dataset="datasets/d", run="r", run_dir="runs/r")
    meta = a.meta()
    assert meta["dataset"] == "datasets/d" and meta["run"] == "r"
    assert (meta["dataset_path"], meta["run_path"]) == (str(tmp_path / "datasets" / "d"), str(tmp_path / "runs" / "r"))
    missing = Audit.open(tmp_path / "other.sqlite", dataset="datasets/none").meta()
    assert "dataset_path" not in missing and "run_path" not in missing


def test_undo_appends_and_deletes_nothing(audit):
    first = audit.record("s1", "keep", reviewer="ann")
    second = audit.record("s1", "relabel", "happy", reviewer="ann")
    cancelled = audit.undo()
    assert cancelled["event_id"] == second and cancelled["action"] == "relabel"
    ev = audit.events()
    assert ev["id"].tolist() == [first, second, second + 1]
    assert ev["action"].tolist() == ["keep", "relabel", "undo"]
    assert int(ev["undoes"].iloc[2]) == second
    assert audit.decision("s1")["action"] == "keep"          # the earlier decision shows again


def test_latest_is_one_row_per_sample(audit):
    audit.record("s1", "keep")
    audit.record("s2", "remove", note="blurry")
    audit.record("s1", "relabel", "angry")
    latest = audit.latest()
    assert latest["sample_id"].tolist() == ["s2", "s1"]       # ordered by event id
    assert latest["action"].tolist() == ["remove", "relabel"]
    assert latest["new_label"].tolist()[1] == "angry"
    assert latest["note"].tolist()[0] == "blurry"
    assert audit.count() == 2


def test_undo_twice_reverses_two_decisions(audit):
    a = audit.record("s1", "keep")
    b = audit.record("s2", "remove")
    assert audit.undo()["event_id"] == b
    assert audit.undo()["event_id"] == a
    assert audit.undo() is None                               # nothing left; undo never undoes an undo
    assert audit.latest().empty
    assert audit.events()["action"].tolist() == ["keep", "remove", "undo", "undo"]


def test_undo_by_reviewer_and_by_sample(audit):
    a = audit.record("s1", "keep", reviewer="alice")
    audit.record("s2", "remove", reviewer="bob")
    c = audit.record("s3", "unsure", reviewer="bob")
    assert audit.undo(reviewer="alice")["event_id"] == a
    assert audit.undo(reviewer="alice") is None
    assert audit.undo(sample_id="s3")["event_id"] == c
    assert audit.latest()["sample_id"].tolist() == ["s2"]
    assert audit.events()["reviewer"].tolist() == ["alice", "bob", "bob", "alice", ""]


@pytest.mark.parametrize("bad", [Decision("s2", "delete"), Decision("s2", "relabel", None)])
def test_record_many_is_all_or_none(audit, bad):
    with pytest.raises(AuditError):
        audit.record_many([Decision("s1", "keep"), bad, Decision("s3", "remove")])
    assert audit.events().empty


def test_two_tabs_interleaved_lose_nothing(audit):
    tab1, tab2 = Audit(audit.path), Audit(audit.path)
    for i in range(20):
        (tab1 if i % 2 else tab2).record(f"s{i}", "keep", reviewer=f"tab{1 if i % 2 else 2}")
    latest = Audit(audit.path).latest()
    assert latest["sample_id"].tolist() == [f"s{i}" for i in range(20)]
    assert latest["reviewer"].tolist() == [f"tab{1 if i % 2 else 2}" for i in range(20)]


def _writer(path: str, name: str, n: int) -> None:
    a = Audit(path)
    for i in range(n):
        a.record(f"{name}-{i:03d}", "keep", reviewer=name)


def test_two_processes_writing_at_once_lose_nothing(audit):
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(str(audit.path), name, 200)) for name in ("p1", "p2")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0]
    ev = audit.events()
    assert len(ev) == 400 and ev["id"].is_unique
    for name in ("p1", "p2"):
        mine = ev[ev["reviewer"] == name]["sample_id"].tolist()
        assert mine == [f"{name}-{i:03d}" for i in range(200)]  # each writer's order kept


def test_decision_survives_reopen(tmp_path):
    path = tmp_path / "audit.sqlite"
    Audit.open(path, dataset="d1").record("007", "relabel", "happy", reviewer="ann", note="smiles")
    again = Audit.open(path, dataset="other")                 # meta given again does not overwrite
    d = again.decision("007")
    assert (d["sample_id"], d["action"], d["new_label"], d["reviewer"], d["note"]) == \
        ("007", "relabel", "happy", "ann", "smiles")
    assert again.meta()["dataset"] == "d1"
    assert Audit.open_existing(path).latest()["sample_id"].tolist() == ["007"]


def test_not_an_audit_file_names_the_file(tmp_path):
    text = tmp_path / "notes.sqlite"
    text.write_text("this is not a database\n" * 10)
    with pytest.raises(AuditError, match="notes.sqlite"):
        Audit.open(text)
    with pytest.raises(AuditError, match=r"notes\.sqlite: not an audit database"):
        Audit.open_existing(text)
    empty = tmp_path / "empty.sqlite"
    empty.write_bytes(b"")
    with pytest.raises(AuditError, match="empty.sqlite"):
        Audit.open_existing(empty)
    assert empty.read_bytes() == b""                          # refusing never alters the file
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(AuditError, match=r"other\.sqlite: not an audit database \(no decision tables\)"):
        Audit.open_existing(other)


def test_open_existing_never_creates(tmp_path):
    missing = tmp_path / "missing.sqlite"
    with pytest.raises(AuditError, match="missing.sqlite: no such audit file"):
        Audit.open_existing(missing)
    assert not missing.exists()


def test_copy_decisions_to_another_audit(audit, tmp_path):
    audit.record("s1", "relabel", "happy", reviewer="ann", note="n1")
    audit.record("s2", "remove", reviewer="bob")
    audit.record("s3", "keep")
    audit.undo(sample_id="s3")                                # undone decisions are not carried
    new = Audit.open(tmp_path / "run2" / "audit.sqlite", dataset="datasets/demo", run="runs/r2")
    assert audit.copy_decisions_to(new) == 2
    got = new.latest()
    assert got[["sample_id", "action", "reviewer", "note", "via"]].values.tolist() == [
        ["s1", "relabel", "ann", "n1", "carried over"],
        ["s2", "remove", "bob", "", "carried over"]]
    assert got["new_label"].iloc[0] == "happy" and pd.isna(got["new_label"].iloc[1])


# -- two tabs, one reviewer (issue 9, hole 8) ------------------------------------------------------------
def test_undo_cancels_only_the_sessions_own_last_decision(audit):
    """Tab A's undo cancelled tab B's newer decision when both had the same reviewer name."""
    a = audit.record("s1", "keep", reviewer="ann", session="tab-a")
    b = audit.record("s2", "remove", reviewer="ann", session="tab-b")
    undone = audit.undo(session="tab-a")
    assert (undone["event_id"], undone["sample_id"], undone["now"]) == (a, "s1", None)
    assert audit.latest()["event_id"].tolist() == [b]
    assert audit.undo(session="tab-a") is None
    assert audit.undo(session="tab-b")["event_id"] == b
    ev = audit.events()
    assert ev["session"].tolist() == ["tab-a", "tab-b", "tab-a", "tab-b"]
    assert ev["action"].tolist() == ["keep", "remove", "undo", "undo"]


def test_undo_leaves_another_sessions_newer_decision_standing(audit):
    audit.record("s1", "keep", reviewer="ann", session="tab-a")
    b = audit.record("s1", "remove", reviewer="bob", session="tab-b")
    undone = audit.undo(session="tab-a")
    assert undone["action"] == "keep"
    assert (undone["now"]["event_id"], undone["now"]["action"]) == (b, "remove")
    assert audit.decision("s1")["event_id"] == b


def test_a_decision_on_a_changed_sample_is_refused_until_seen(audit):
    from data_tools.audit import StaleDecision
    seen = None                                               # tab B drew s1 undecided
    a = audit.record("s1", "keep", reviewer="ann", session="tab-a", expect=None)
    with pytest.raises(StaleDecision) as e:
        audit.record("s1", "remove", reviewer="bob", session="tab-b", expect=seen)
    assert e.value.current["event_id"] == a
    assert str(e.value).startswith("sample s1 was decided meanwhile (now: keep by ann at ")
    assert audit.events()["action"].tolist() == ["keep"]       # nothing recorded
    b = audit.record("s1", "remove", reviewer="bob", session="tab-b", expect=a)   # seen now: replaces it
    assert audit.decision("s1")["event_id"] == b
    audit.undo(session="tab-b")
    with pytest.raises(StaleDecision, match=r"\(now: keep by ann at "):
        audit.record("s1", "unsure", expect=b)
    assert audit.record("s1", "unsure", expect=a) > b


def test_history_of_a_sample(audit):
    audit.record("s1", "keep", reviewer="ann", session="a")
    audit.record("s2", "keep", reviewer="ann", session="a")
    audit.record("s1", "relabel", "happy", reviewer="bob", note="smiles", session="b")
    audit.record("s1", "remove", reviewer="ann", session="a")
    audit.undo(session="a")
    h = audit.history("s1")
    assert h.columns.tolist() == ["event_id", "decided_at", "reviewer", "decision", "note", "via", "state"]
    assert h[["reviewer", "decision", "note", "state"]].values.tolist() == [
        ["", "undo of remove", "", "undo"], ["ann", "remove", "", "undone"],
        ["bob", "relabel → happy", "smiles", "current"], ["ann", "keep", "", "replaced"]]
    assert h["decided_at"].str.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$").all()
    assert audit.history("nobody").empty


def test_an_audit_from_before_sessions_is_upgraded(tmp_path):
    path = tmp_path / "old.sqlite"
    con = sqlite3.connect(path)
    con.executescript("""
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        INSERT INTO meta VALUES ('schema_version', '1');
        CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, sample_id TEXT NOT NULL,
            action TEXT NOT NULL, new_label TEXT, reviewer TEXT NOT NULL DEFAULT '',
            note TEXT NOT NULL DEFAULT '', via TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL,
            undoes INTEGER REFERENCES events(id));
        INSERT INTO events(sample_id, action, reviewer, created_at) VALUES ('s1', 'keep', 'ann', '2026-01-01T00:00:00');
    """)
    con.commit()
    con.close()
    audit = Audit.open(path)
    assert audit.meta()["schema_version"] == "2"
    audit.record("s2", "remove", session="tab")
    assert audit.undo(session="tab")["sample_id"] == "s2"
    assert audit.latest()["sample_id"].tolist() == ["s1"]
    assert audit.events()["session"].tolist() == ["", "tab", "tab"]
    Audit.open(path)                                          # a second open changes nothing
    assert len(audit.events()) == 3


def test_a_batch_is_undone_as_one_step_and_only_its_own_decisions(audit):
    from data_tools.audit import batch_via
    audit.record("s0", "keep", session="A")                           # before the batch
    via = batch_via("gallery")
    assert via.startswith("batch:gallery:") and via != batch_via("gallery")
    audit.record_many([Decision(f"s{i}", "relabel", "happy", "ann", "", via, "A") for i in (1, 2, 3)])
    audit.record("s2", "remove", session="B")                         # another tab replaces one of them
    undone = audit.undo(session="B")                                  # B's undo: its single remove
    assert undone["sample_id"] == "s2" and "batch" not in undone
    undone = audit.undo(session="A")                                  # A's undo: the whole batch at once
    assert undone["batch"] == 3 and undone["action"] == "relabel"
    assert audit.latest()["sample_id"].tolist() == ["s0"]
    ev = audit.events()
    assert (ev["action"] == "undo").sum() == 4                        # appended, nothing deleted
    assert audit.undo(session="A")["sample_id"] == "s0"               # the next undo: the decision before
