"""The audit database: append-only reviewer decisions in SQLite (WAL), keyed by sample_id.

Undo appends an 'undo' event that names the event it cancels; nothing is ever deleted.
Every write is committed before the call returns, so a caller may show it as saved.

Each event records the `session` that made it (one browser tab of the app), so undo cancels that
session's own last decision, never another tab's; a decision can be made conditional on the sample's
current decision being the one the caller saw (`expect`), so a stale tab cannot silently replace a
newer decision (StaleDecision). Files made before the session column are upgraded by `Audit.open`.

Several reviewers: each reviewer's own current decision of a sample is their last effective event on
it (data_tools/reviewers.py reads the same rule from the events). `latest`, `decision`, `history` and
`count` take `reviewer=` to read one reviewer's own decisions only (a blind second pass shows nothing
else), and `record(..., expect_own=True)` checks `expect` against the recording reviewer's own current
decision, so a second reviewer's decision is recorded although another reviewer decided the sample.
"""
from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator

import pandas as pd

ACTIONS = ("keep", "relabel", "remove", "unsure")
BATCH = "batch:"               # `via` prefix of decisions made together (a gallery action): undone together
SCHEMA_VERSION = 2
ANY = object()                 # `expect` default: record whatever the sample's current decision is

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    sample_id  TEXT NOT NULL,
    action     TEXT NOT NULL CHECK (action IN ('keep','relabel','remove','unsure','undo')),
    new_label  TEXT,
    reviewer   TEXT NOT NULL DEFAULT '',
    note       TEXT NOT NULL DEFAULT '',
    via        TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    undoes     INTEGER REFERENCES events(id),
    session    TEXT NOT NULL DEFAULT '',
    CHECK (action != 'relabel' OR new_label IS NOT NULL),
    CHECK (action != 'undo' OR undoes IS NOT NULL)
);
CREATE INDEX IF NOT EXISTS events_sample ON events(sample_id, id);
CREATE UNIQUE INDEX IF NOT EXISTS events_undoes ON events(undoes) WHERE undoes IS NOT NULL;
CREATE VIEW IF NOT EXISTS effective AS
    SELECT * FROM events e
    WHERE e.action != 'undo'
      AND NOT EXISTS (SELECT 1 FROM events u WHERE u.undoes = e.id);
CREATE VIEW IF NOT EXISTS latest AS
    SELECT id AS event_id, sample_id, action, new_label, reviewer, note, via, created_at AS decided_at
    FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY sample_id ORDER BY id DESC) AS rn FROM effective)
    WHERE rn = 1;
"""

LATEST_COLUMNS = ["event_id", "sample_id", "action", "new_label", "reviewer", "note", "via", "decided_at"]


class AuditError(ValueError):
    """A decision the audit cannot record (unknown action, missing label, not an audit file)."""


def batch_via(what: str) -> str:
    """A `via` shared by the decisions of one action on many samples, so that undo cancels them together."""
    import uuid
    return f"{BATCH}{what}:{uuid.uuid4().hex[:8]}"


def describe(action: str, new_label: object = None) -> str:
    """A decision in words: 'keep', 'relabel → happy'."""
    return action + (f" → {new_label}" if isinstance(new_label, str) and new_label else "")


class StaleDecision(AuditError):
    """The sample's decision changed since the caller saw it; `current` is the decision now (or None;
    with `expect_own`, the recording reviewer's own decision now), `now` the same in words."""

    def __init__(self, sample_id: str, current: dict | None):
        self.sample_id, self.current = sample_id, current
        self.now = "undecided" if current is None else (
            describe(current["action"], current.get("new_label"))
            + (f" by {current['reviewer']}" if current.get("reviewer") else "")
            + f" at {str(current.get('decided_at', ''))[:19].replace('T', ' ')}")
        super().__init__(f"sample {sample_id} was decided meanwhile (now: {self.now})")


@dataclass(frozen=True)
class Decision:
    """One decision to record."""
    sample_id: str
    action: str
    new_label: str | None = None
    reviewer: str = ""
    note: str = ""
    via: str = ""
    session: str = ""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


# one reviewer's own current decision per sample: their last effective event (data_tools/reviewers.py)
_OWN_LATEST = """
    SELECT id AS event_id, sample_id, action, new_label, reviewer, note, via, created_at AS decided_at
    FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY sample_id ORDER BY id DESC) AS rn FROM effective
          WHERE reviewer = ?)
    WHERE rn = 1"""


def _latest_of(con: sqlite3.Connection, sample_id: str, reviewer: str | None = None) -> dict | None:
    """The sample's current decision (with `reviewer`: that reviewer's own current decision), or None."""
    if reviewer is None:
        row = con.execute(f"SELECT {', '.join(LATEST_COLUMNS)} FROM latest WHERE sample_id = ?",
                          (str(sample_id),)).fetchone()
    else:
        row = con.execute("SELECT id, sample_id, action, new_label, reviewer, note, via, created_at FROM effective"
                          " WHERE sample_id = ? AND reviewer = ? ORDER BY id DESC LIMIT 1",
                          (str(sample_id), str(reviewer))).fetchone()
    return dict(zip(LATEST_COLUMNS, row)) if row else None


def _upgrade(con: sqlite3.Connection) -> None:
    """Add what later schema versions added to an older file (v2: events.session), in one transaction
    so two processes opening the same old file at once do not both alter it."""
    con.execute("BEGIN IMMEDIATE")
    try:
        columns = {r[1] for r in con.execute("PRAGMA table_info(events)")}
        if "session" not in columns:
            con.execute("ALTER TABLE events ADD COLUMN session TEXT NOT NULL DEFAULT ''")
            con.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


class Audit:
    """Access to one audit database file. Cheap to create: every call opens its own connection,
    so one object may be shared between threads and several processes may write at once."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    # -- creation -----------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path, *, dataset: str | None = None, run: str | None = None,
             run_dir: str | Path | None = None, classes: list[str] | None = None) -> "Audit":
        """Open (creating if needed) the audit at `path`; meta values given are stored if absent.
        `dataset` (the dataset folder; when it exists) is also stored as the absolute `dataset_path`,
        `run_dir` (the run folder) as the absolute `run_path`, so an export finds both without a search."""
        audit = cls(path)
        audit.path.parent.mkdir(parents=True, exist_ok=True)
        with audit._connect() as con:
            con.executescript(_SCHEMA)
            _upgrade(con)
            meta = {"schema_version": str(SCHEMA_VERSION), "created_at": _now()}
            if dataset is not None:
                meta["dataset"] = str(dataset)
                if Path(dataset).is_dir():
                    meta["dataset_path"] = str(Path(dataset).resolve())
            if run is not None:
                meta["run"] = str(run)
            if run_dir is not None:
                meta["run_path"] = str(Path(run_dir).resolve())
            if classes is not None:
                meta["classes"] = ",".join(classes)
            con.executemany("INSERT OR IGNORE INTO meta(key, value) VALUES (?, ?)", meta.items())
        return audit

    @classmethod
    def open_existing(cls, path: str | Path) -> "Audit":
        """Open an audit file that must already exist; never creates or alters a file."""
        audit = cls(path)
        if not audit.path.is_file():
            raise AuditError(f"{audit.path}: no such audit file")
        with open(audit.path, "rb") as f:
            head = f.read(16)
        if head != b"SQLite format 3\x00":
            raise AuditError(f"{audit.path}: not an audit database (not an SQLite file)")
        with audit._connect() as con:
            names = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
        if not {"meta", "events", "latest"} <= names:
            raise AuditError(f"{audit.path}: not an audit database (no decision tables)")
        return audit

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        except sqlite3.Error as e:
            raise AuditError(f"{self.path}: cannot open audit database ({e})") from None
        try:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=FULL")
            con.execute("PRAGMA busy_timeout=30000")
            yield con
        except sqlite3.DatabaseError as e:
            raise AuditError(f"{self.path}: {e}") from None
        finally:
            con.close()

    # -- meta -------------------------------------------------------------------------------------
    def meta(self) -> dict[str, str]:
        with self._connect() as con:
            return dict(con.execute("SELECT key, value FROM meta").fetchall())

    def set_meta(self, **values: str) -> None:
        with self._connect() as con:
            con.executemany("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                            [(k, str(v)) for k, v in values.items()])

    # -- writing ---------------------------------------------------------------------------------
    def record(self, sample_id: str, action: str, new_label: str | None = None, *,
               reviewer: str = "", note: str = "", via: str = "", session: str = "",
               expect: int | None | object = ANY, expect_own: bool = False) -> int:
        """Append one decision and commit it; returns its event id. With `expect` (the event id of the
        decision the caller saw, None for undecided), StaleDecision when the sample's current decision
        is another one: nothing is recorded. With `expect_own`, `expect` is `reviewer`'s own current
        decision (a blind second pass: another reviewer's decision of the sample does not stop it)."""
        d = Decision(str(sample_id), action, new_label, reviewer, note, via, session)
        return self.record_many([d], expect={d.sample_id: expect} if expect is not ANY else None,
                                expect_own=expect_own)[0]

    def record_many(self, decisions: Iterable[Decision], *,
                    expect: dict[str, int | None] | None = None, expect_own: bool = False) -> list[int]:
        """Append several decisions in one transaction (all or none); returns their event ids.
        `expect`: sample_id -> the event id its current decision must have (None: undecided); with
        `expect_own`, the event id of the deciding reviewer's own current decision of it."""
        decisions = list(decisions)
        rows = [self._checked(d) for d in decisions]
        who = {str(d.sample_id): d.reviewer or "" for d in decisions}
        ids: list[int] = []
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                for sid, seen in (expect or {}).items():
                    now = _latest_of(con, sid, who.get(str(sid), "") if expect_own else None)
                    if (now["event_id"] if now else None) != seen:
                        raise StaleDecision(sid, now)
                for row in rows:
                    cur = con.execute(
                        "INSERT INTO events(sample_id, action, new_label, reviewer, note, via, created_at, session)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)
                    ids.append(int(cur.lastrowid))
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        return ids

    @staticmethod
    def _checked(d: Decision) -> tuple:
        if d.action not in ACTIONS:
            raise AuditError(f"unknown action '{d.action}' (one of: {', '.join(ACTIONS)})")
        if d.action == "relabel" and not d.new_label:
            raise AuditError(f"sample {d.sample_id}: relabel needs a new label")
        new_label = d.new_label if d.action == "relabel" else None
        return (str(d.sample_id), d.action, new_label, d.reviewer or "", d.note or "", d.via or "", _now(),
                d.session or "")

    def undo(self, *, reviewer: str | None = None, sample_id: str | None = None,
             session: str | None = None, by: str | None = None) -> dict | None:
        """Cancel the most recent effective decision (optionally only that reviewer's, that sample's or
        that session's) by appending an 'undo' event (recorded as `by`, default `reviewer`, and
        `session`). Returns the cancelled decision with `now`, the sample's current decision after the
        undo (another session's may stand), or None. A decision made in a batch (`via` starting with
        BATCH, see `batch_via`) is undone with every still-effective decision of its batch, in one
        transaction; the result then has `batch`: the number of decisions cancelled."""
        where, args = [], []
        for column, value in (("reviewer", reviewer), ("sample_id", sample_id), ("session", session)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(str(value))
        clause = ("WHERE " + " AND ".join(where)) if where else ""
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                row = con.execute(
                    f"SELECT id, sample_id, action, new_label, reviewer, note, via FROM effective {clause}"
                    " ORDER BY id DESC LIMIT 1", args).fetchone()
                if row is None:
                    con.execute("ROLLBACK")
                    return None
                batch = [(row[0], row[1])]
                is_batch = str(row[6]).startswith(BATCH)
                if is_batch:
                    batch = con.execute("SELECT id, sample_id FROM effective WHERE via = ? ORDER BY id",
                                        (row[6],)).fetchall()
                stamp, who = _now(), (by if by is not None else reviewer) or ""
                con.executemany("INSERT INTO events(sample_id, action, reviewer, created_at, undoes, session)"
                                " VALUES (?, 'undo', ?, ?, ?, ?)",
                                [(sid, who, stamp, eid, session or "") for eid, sid in batch])
                now = _latest_of(con, row[1])
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        out = {**dict(zip(["event_id", "sample_id", "action", "new_label", "reviewer", "note"], row[:6])), "now": now}
        if is_batch:
            out["batch"] = len(batch)
        return out

    # -- reading ---------------------------------------------------------------------------------
    def latest(self, reviewer: str | None = None) -> pd.DataFrame:
        """The current decision of every decided sample (one row per sample_id); with `reviewer`, that
        reviewer's own current decisions only."""
        with self._connect() as con:
            if reviewer is None:
                df = pd.read_sql_query(f"SELECT {', '.join(LATEST_COLUMNS)} FROM latest ORDER BY event_id", con)
            else:
                df = pd.read_sql_query(_OWN_LATEST + " ORDER BY event_id", con, params=(str(reviewer),))
        df["sample_id"] = df["sample_id"].astype(str)
        df["new_label"] = df["new_label"].astype(object).where(df["new_label"].notna(), None)
        return df

    def decision(self, sample_id: str, reviewer: str | None = None) -> dict | None:
        """The current decision of one sample (with `reviewer`: that reviewer's own), or None."""
        with self._connect() as con:
            return _latest_of(con, sample_id, reviewer)

    def history(self, sample_id: str, reviewer: str | None = None) -> pd.DataFrame:
        """Every event of one sample, newest first, for people: `decided_at`, `reviewer`, `decision`
        (action, → label), `note`, `via`, and `state`: 'current', 'replaced' (a later decision stands),
        'undone', or 'undo' (an undo event; its decision names what it cancelled). With `reviewer`: only
        that reviewer's decisions and the undos of them, 'current' meaning their own current decision."""
        ev = self.events(sample_id)
        cols = ["event_id", "decided_at", "reviewer", "decision", "note", "via", "state"]
        if reviewer is not None and not ev.empty:
            mine = set(ev.loc[(ev["action"] != "undo") & (ev["reviewer"] == reviewer), "id"])
            ev = ev[ev["id"].isin(mine) | ev["undoes"].isin(mine)]
        if ev.empty:
            return pd.DataFrame(columns=cols)
        current = self.decision(sample_id, reviewer)
        undone = set(ev["undoes"].dropna().astype(int))
        by_id = ev.set_index("id")

        def decision(r) -> str:
            if r.action == "undo":
                target = by_id.loc[int(r.undoes)]
                return "undo of " + describe(target.action, target.new_label)
            return describe(r.action, r.new_label)

        def state(r) -> str:
            if r.action == "undo":
                return "undo"
            if r.id in undone:
                return "undone"
            return "current" if current and current["event_id"] == r.id else "replaced"

        out = pd.DataFrame({"event_id": ev["id"], "decided_at": ev["created_at"].astype(str).str[:19].str.replace("T", " "),
                            "reviewer": ev["reviewer"], "decision": [decision(r) for r in ev.itertuples()],
                            "note": ev["note"], "via": ev["via"], "state": [state(r) for r in ev.itertuples()]})
        return out.iloc[::-1].reset_index(drop=True)[cols]

    def events(self, sample_id: str | None = None) -> pd.DataFrame:
        """Every event, oldest first (optionally of one sample)."""
        q, args = "SELECT * FROM events", ()
        if sample_id is not None:
            q, args = q + " WHERE sample_id = ?", (str(sample_id),)
        with self._connect() as con:
            return pd.read_sql_query(q + " ORDER BY id", con, params=args)

    def count(self, reviewer: str | None = None) -> int:
        """Number of samples with a current decision (with `reviewer`: with that reviewer's own)."""
        with self._connect() as con:
            if reviewer is None:
                return int(con.execute("SELECT COUNT(*) FROM latest").fetchone()[0])
            return int(con.execute("SELECT COUNT(DISTINCT sample_id) FROM effective WHERE reviewer = ?",
                                   (str(reviewer),)).fetchone()[0])

    def copy_decisions_to(self, other: "Audit", *, via: str = "carried over") -> int:
        """Append this audit's current decisions to another audit (e.g. of a retrained run)."""
        df = self.latest()
        decisions = [Decision(r.sample_id, r.action, r.new_label, r.reviewer, r.note, via)
                     for r in df.itertuples()]
        other.record_many(decisions)
        return len(decisions)
