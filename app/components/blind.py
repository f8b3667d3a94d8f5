"""A blind second pass (issue 24, two reviewers): a reviewer goes over the faces another reviewer
decided, without seeing that reviewer's decisions. Plain functions and one small class, no streamlit:
the Review page's sidebar toggle (review_queue.blind_pass) only draws them.

- `others(events, me)`: whose faces a pass can go over (reviewers with current decisions, not me).
- `queue_ids(events, first, me)`: the pass's faces: those `first` has a current decision on and `me`
  has none (a face leaves the pass once `me` decides it).
- `Decisions`: what a page may show of the audit. Normally everything (the decision that stands, by
  whoever); in a blind pass only `me`'s own decisions: the queue's decision column, the heading's
  decision state, the face's history, the Gallery's badges, filters and counts, and `expect_own`, so
  that a decision is checked against `me`'s own decision of the face (what the page showed) and is
  recorded although `first` decided the face (data_tools.audit.record(expect_own=True))."""
from __future__ import annotations

import pandas as pd

from data_tools.reviewers import current_decisions, reviewers


def others(events: pd.DataFrame | None, me: str) -> list[str]:
    """Reviewers other than `me` with at least one current decision, most decisions first."""
    return [r for r in reviewers(events) if r != me]


def faces_of(events: pd.DataFrame | None, reviewer: str) -> set[str]:
    """The faces `reviewer` has a current decision on."""
    d = current_decisions(events)
    return set(d.loc[d["reviewer"] == reviewer, "sample_id"])


def queue_ids(events: pd.DataFrame | None, first: str, me: str) -> set[str]:
    """The faces of a blind pass by `me` over `first`'s faces: `first` has a current decision on them,
    `me` has none."""
    d = current_decisions(events)
    theirs = set(d.loc[d["reviewer"] == first, "sample_id"])
    mine = set(d.loc[d["reviewer"] == me, "sample_id"])
    return theirs - mine


class Decisions:
    """The audit's decisions as a page may show them: all of them (`own` None), or in a blind pass
    (`own` = the reviewer, `blind_of` = whose faces) only `own`'s own decisions."""

    def __init__(self, audit, own: str | None = None, blind_of: str | None = None):
        self.audit, self.own, self.blind_of = audit, own, blind_of

    @property
    def blind(self) -> bool:
        return self.own is not None

    @property
    def expect_own(self) -> bool:
        """Whether `expect` names the deciding reviewer's own decision (a blind pass) or the face's."""
        return self.blind

    def latest(self) -> pd.DataFrame:
        """Audit.latest()'s rows that may be shown."""
        return self.audit.latest(reviewer=self.own)

    def decided(self) -> set[str]:
        return set(self.latest()["sample_id"])

    def decision(self, sample_id: str) -> dict | None:
        return self.audit.decision(sample_id, reviewer=self.own)

    def history(self, sample_id: str) -> pd.DataFrame:
        return self.audit.history(sample_id, reviewer=self.own)

    def count(self) -> int:
        return self.audit.count(reviewer=self.own)
