"""The issues seen from one sample, for review (no streamlit): each sample's issue types as a bit set
(the queue's and the Gallery's issue filter and column), and the duplicate group around a face (the
Review page reviews a group as one decision).

`SAMPLE_ISSUES` is the image-level ISSUES of issues.parquet plus the model-level `ambiguous` (a face
whose run scores name two candidate classes in `ambiguous_between`)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from data_tools.issues.find import DUPLICATE_ISSUES, ISSUES

SAMPLE_ISSUES = ISSUES + ("ambiguous",)
BITS = {name: 1 << i for i, name in enumerate(SAMPLE_ISSUES)}


def mask_of(kinds) -> int:
    """The bit set of issue types `kinds` (names outside SAMPLE_ISSUES are ignored)."""
    m = 0
    for k in kinds or ():
        m |= BITS.get(str(k), 0)
    return m


def names_of(bits: int) -> str:
    """The issue types of a bit set, in SAMPLE_ISSUES order: 'split_leak, exact_duplicate'; '' for none."""
    b = int(bits)
    return ", ".join(k for k, v in BITS.items() if b & v)


def first_issue(bits: int) -> str:
    """The first issue type of a bit set in SAMPLE_ISSUES order (the one to show first), 'none' for none."""
    b = int(bits)
    return next((k for k, v in BITS.items() if b & v), "none")


def issue_bits(issues: pd.DataFrame | None, scores: pd.DataFrame | None = None) -> pd.Series:
    """sample_id -> int64 bit set of its issue types: the rows of `issues` (issues.parquet, may be None)
    and `ambiguous` where `scores` (a run's scores, any index) has a non-empty `ambiguous_between`.
    Only samples with at least one issue appear."""
    parts = []
    if issues is not None and len(issues):
        code = pd.Series(issues["issue"].astype(str)).map(BITS).fillna(0).astype(np.int64)
        parts.append(pd.DataFrame({"sample_id": issues["sample_id"].astype(str).to_numpy(), "bits": code.to_numpy()}))
    if scores is not None and "ambiguous_between" in scores.columns:
        sids = scores["sample_id"] if "sample_id" in scores.columns else scores.index.to_series()
        amb = scores["ambiguous_between"].fillna("").astype(str).to_numpy() != ""
        if amb.any():
            parts.append(pd.DataFrame({"sample_id": sids.astype(str).to_numpy()[amb],
                                       "bits": np.full(int(amb.sum()), BITS["ambiguous"], np.int64)}))
    if not parts:
        return pd.Series(dtype=np.int64, index=pd.Index([], name="sample_id"), name="issue_bits")
    both = pd.concat(parts, ignore_index=True)
    return both.groupby("sample_id", sort=False)["bits"].agg(np.bitwise_or.reduce).astype(np.int64).rename("issue_bits")


def ids_with(bits: pd.Series, kinds) -> set[str]:
    """The sample ids whose bit set (`issue_bits`) has any of the issue types `kinds`."""
    m = mask_of(kinds)
    return set(bits.index[(bits.to_numpy() & m) != 0].astype(str)) if m else set()


@dataclass(frozen=True)
class Group:
    """The duplicate group around one face: every face that shares its pixels or its perceptual hash
    (exact groups inside the near group they belong to), in issues.parquet order."""
    name: str                  # the widest group's name ("near:3", else "exact:7")
    members: list[str]
    detail: str                # that group's readable detail
    conflict: bool             # members carry different labels
    leak: bool                 # members span splits


class DuplicateGroups:
    """The duplicate groups of a dataset's issues.parquet, indexed for `around` (built once per file)."""

    def __init__(self, issues: pd.DataFrame | None) -> None:
        self._of: dict[str, list[str]] = {}
        self._members: dict[str, list[str]] = {}
        self._detail: dict[str, str] = {}
        self._flags: dict[str, set[str]] = {}
        if issues is None or not len(issues):
            return
        t = issues[issues["issue"].astype(str).isin(DUPLICATE_ISSUES) & (issues["group"].astype(str) != "")]
        sid, grp = t["sample_id"].astype(str).to_numpy(), t["group"].astype(str).to_numpy()
        iss, det = t["issue"].astype(str).to_numpy(), t["detail"].astype(str).to_numpy()
        listed: dict[str, set[str]] = {}
        for s, g, i, d in zip(sid, grp, iss, det):
            if s not in listed.setdefault(g, set()):        # a face is listed once per group
                listed[g].add(s)
                self._members.setdefault(g, []).append(s)
                self._of.setdefault(s, []).append(g)
            self._detail.setdefault(g, d)
            self._flags.setdefault(g, set()).add(i)

    def __len__(self) -> int:
        return len(self._members)

    def around(self, sample_id: str) -> Group | None:
        """The group around `sample_id` (its groups and the groups of their members), None outside groups."""
        start = self._of.get(str(sample_id))
        if not start:
            return None
        names, members, todo = [], [], list(start)
        seen_g, seen_s = set(), set()
        while todo:
            g = todo.pop(0)
            if g in seen_g:
                continue
            seen_g.add(g)
            names.append(g)
            for s in self._members.get(g, ()):
                if s not in seen_s:
                    seen_s.add(s)
                    members.append(s)
                    todo.extend(x for x in self._of.get(s, ()) if x not in seen_g)
        widest = next((g for g in names if g.startswith("near:")), names[0])
        flags = set().union(*(self._flags.get(g, set()) for g in names))
        return Group(name=widest, members=members, detail=self._detail.get(widest, ""),
                     conflict="label_conflict" in flags, leak="split_leak" in flags)
