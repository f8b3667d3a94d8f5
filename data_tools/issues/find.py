"""The image-level issues of a dataset from its SIGNATURE records: which rows, which issue, how bad,
which group, and a reason a person can read. Functions over arrays: row indices in, rows out.

Issue types (ISSUES, in the order a reviewer should see them):
- label_conflict: a duplicate group (exact or near) whose members carry different labels;
- split_leak: a duplicate group spanning splits (a test face the model trained on);
- exact_duplicate: the same decoded pixels as another row;
- near_duplicate: a perceptual hash within `near_radius` bits of another row's, or a keypoint-aligned
  hash within `shift_radius` bits of one of another row's (a shifted or cropped copy), pixels not
  identical (resized, shifted, cropped, re-encoded, a burst of frames);
- blank, dark, bright, low_information, blurry: the image-quality checks (THRESHOLDS).
Scores: higher = worse, in 0..1 within a type.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from data_tools.issues.duplicates import exact_groups, near_groups
from data_tools.issues.image import SHIFT_STORED

ISSUES = ("label_conflict", "split_leak", "exact_duplicate", "near_duplicate",
          "blank", "dark", "bright", "low_information", "blurry")
DUPLICATE_ISSUES = ("label_conflict", "split_leak", "exact_duplicate", "near_duplicate")
QUALITY_ISSUES = ("blank", "dark", "bright", "low_information", "blurry")
COLUMNS = ["sample_id", "issue", "score", "group", "detail"]


@dataclass(frozen=True)
class Thresholds:
    """Where an image becomes an issue (chosen by measurement: bench/results/issue_types.md)."""
    near_radius: int = 4         # perceptual-hash bits (of 64) within which two faces are near duplicates
    shift_radius: int = 2        # keypoint-aligned hash bits (of 64) within which one is a shifted/cropped
                                 # copy (-1: off, the perceptual hash alone)
    blank_std: float = 4.0       # luminance standard deviation (0..255) under which an image is near-constant
    dark_p99: float = 50.0       # 99th luminance percentile under which an image is too dark
    bright_p01: float = 200.0    # 1st luminance percentile over which an image is too bright
    low_entropy: float = 4.0     # bits of the 256-bin luminance histogram under which information is low
    blurry: float = 30.0         # variance of the Laplacian (64x64 luminance) under which an image is blurry


def _groups_detail(group: np.ndarray, labels: tuple[np.ndarray, np.ndarray],
                   splits: tuple[np.ndarray, np.ndarray], what: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Per group (0..G-1): its readable detail, whether it mixes labels, whether it spans splits.
    `group`: (N,) group of each row, -1 outside groups; `labels`, `splits`: (codes (N,), names) of `_codes`."""
    n_groups = int(group.max()) + 1 if len(group) else 0
    rows = np.flatnonzero(group >= 0)
    g = group[rows]
    size = np.bincount(g, minlength=n_groups)

    def distinct(codes: np.ndarray) -> np.ndarray:      # the (group, code) pairs that occur, sorted
        if not len(rows):
            return np.zeros((0, 2), np.int64)
        return np.unique(np.stack([g, codes[rows]], 1), axis=0)

    lab_pairs, spl_pairs = distinct(labels[0]), distinct(splits[0])
    lab_n = np.bincount(lab_pairs[:, 0], minlength=n_groups)
    spl_n = np.bincount(spl_pairs[:, 0], minlength=n_groups)
    lab_of = np.split(lab_pairs[:, 1], np.cumsum(lab_n)[:-1]) if n_groups else []
    spl_of = np.split(spl_pairs[:, 1], np.cumsum(spl_n)[:-1]) if n_groups else []
    detail = []
    for k in range(n_groups):
        ls = sorted(labels[1][c] for c in lab_of[k])
        ss = sorted(splits[1][c] for c in spl_of[k])
        text = f"{size[k]} {what}; " + (f"labels {'/'.join(ls)} (label conflict)" if len(ls) > 1
                                        else f"label {ls[0]}")
        text += f"; splits {'/'.join(ss)} (leak)" if len(ss) > 1 else f"; split {ss[0]}"
        detail.append(text)
    return detail, lab_n > 1, spl_n > 1


def _codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(codes (N,), names): each value's position among the distinct values' texts, sorted. The values
    are factorized as they are and only the distinct ones turned into text (2,000,000 new strings
    would stay in Python's heap after they are freed)."""
    codes, uniques = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=False)
    merged, names = pd.factorize(np.asarray([str(u) for u in uniques], dtype=object), sort=True)
    return merged[codes].astype(np.int32), np.asarray(names, dtype=object)


class _Rows:
    """Issue rows collected as integer codes (a group's name and detail are stored once however many
    rows it has: 2,000,000 copies of one image are 2,000,000 codes, not 2,000,000 strings)."""

    def __init__(self, idx: np.ndarray | None) -> None:
        self.idx = idx                  # measured row -> row of the inputs (None: the same)
        self.parts: list[tuple[np.ndarray, ...]] = []
        self.groups: list[str] = [""]
        self.details: dict[str, int] = {}

    def group_names(self, prefix: str, n: int) -> int:
        base = len(self.groups)
        self.groups += [f"{prefix}:{k}" for k in range(n)]
        return base

    def detail_codes(self, texts: list[str]) -> np.ndarray:
        return np.array([self.details.setdefault(t, len(self.details)) for t in texts], np.int32)

    def add(self, rows: np.ndarray, issue: str, score, group, detail) -> None:
        if len(rows):
            n = len(rows)
            self.parts.append((rows, np.broadcast_to(np.int8(ISSUES.index(issue)), (n,)),
                               np.broadcast_to(np.asarray(score, np.float32), (n,)),
                               np.broadcast_to(np.asarray(group, np.int32), (n,)),
                               np.broadcast_to(np.asarray(detail, np.int32), (n,))))

    def __len__(self) -> int:
        return sum(len(p[0]) for p in self.parts)

    def chunks(self, size: int = 500_000) -> Iterator[pd.DataFrame]:
        """The rows in file order (ISSUES order, score worst first, group, row), at most `size` at a
        time, one issue type in memory at once (bounded for 2,000,000 copies of one image)."""
        groups = pd.Index(self.groups)
        details = pd.Index(list(self.details) or [""])
        for code in range(len(ISSUES)):
            mine = [p for p in self.parts if p[1][0] == code]
            if not mine:
                continue
            row, _, score, group, detail = (np.concatenate(c) if len(c) > 1 else c[0] for c in zip(*mine))
            order = np.lexsort((row, group, -score))
            for lo in range(0, len(order), size):
                o = order[lo:lo + size]
                yield pd.DataFrame({
                    "row": row[o].astype(np.int64) if self.idx is None else self.idx[row[o]],
                    "issue": pd.Categorical.from_codes(np.full(len(o), code, np.int8), categories=list(ISSUES)),
                    "score": score[o],
                    "group": pd.Categorical.from_codes(group[o], categories=groups),
                    "detail": pd.Categorical.from_codes(detail[o], categories=details)})

    def frame(self) -> pd.DataFrame:
        """All the rows as one frame (`chunks` joined)."""
        parts = list(self.chunks())
        if not parts:
            return pd.DataFrame({"row": np.zeros(0, np.int64),
                                 "issue": pd.Categorical.from_codes([], categories=list(ISSUES)),
                                 "score": np.zeros(0, np.float32),
                                 "group": pd.Categorical.from_codes([], categories=[""]),
                                 "detail": pd.Categorical.from_codes([], categories=[""])})
        return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]


def _kept(mask: np.ndarray, *arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """Each array's rows where `mask`; the arrays themselves when it keeps every row (no copy: a group
    of 2,000,000 copies that is a conflict and a leak is three issue types over the same rows)."""
    return arrays if mask.all() else tuple(a[mask] for a in arrays)


def find_issues(sig: np.ndarray, labels: np.ndarray, splits: np.ndarray, *,
                thresholds: Thresholds = Thresholds()) -> pd.DataFrame:
    """The issue rows of a dataset: columns `row` (index into the inputs), `issue`, `score`, `group`
    ("" for the quality issues), `detail` (issue, group and detail are categorical). `sig`: (N,)
    SIGNATURE; rows with NaN std were not measured and get no issue. Sorted by ISSUES order, then
    score (worst first), then group."""
    return found_rows(sig, labels, splits, thresholds=thresholds).frame()


def found_rows(sig: np.ndarray, labels: np.ndarray, splits: np.ndarray, *,
               thresholds: Thresholds = Thresholds()) -> _Rows:
    """`find_issues` as codes, to be read a chunk at a time (`_Rows.chunks`)."""
    measured = np.isfinite(sig["std"])
    whole = bool(measured.all())      # every row measured (the usual case): views, no 160 MB copy at 2,000,000
    idx = None if whole else np.flatnonzero(measured)
    s = sig if whole else sig[idx]
    lab = _codes(labels if whole else np.asarray(labels, dtype=object)[idx])
    spl = _codes(splits if whole else np.asarray(splits, dtype=object)[idx])
    out = _Rows(idx)
    t = thresholds
    blank = s["std"] < t.blank_std
    ex = exact_groups(s["exact"]).astype(np.int32)   # row indices and codes in int32: half the memory
    # the perceptual hash of a near-constant or two-tone image is degenerate (a few DCT terms over a
    # median of zeros), so such images would all be "near" each other: they are matched exactly only
    hashable = ~blank & (s["entropy"] >= t.low_entropy)
    pick = slice(None) if hashable.all() else np.flatnonzero(hashable)
    near = np.full(len(s), -1, np.int32)
    nearest = np.full(len(s), -1, np.int8)
    near[pick], nearest[pick] = near_groups(s["phash"][pick], s["exact"][pick], t.near_radius,
                                            s["shift"][pick] if t.shift_radius >= 0 else None,
                                            max(t.shift_radius, 0), SHIFT_STORED)
    ex_detail, ex_conf, ex_leak = _groups_detail(ex, lab, spl, "faces with the same pixels")
    how = f"perceptual hash within {t.near_radius}" + (
        f" or keypoint hash within {t.shift_radius}" if t.shift_radius >= 0 else "")
    nr_detail, nr_conf, nr_leak = _groups_detail(near, lab, spl, f"near-identical faces ({how} of 64 bits)")
    in_ex, in_nr = np.flatnonzero(ex >= 0).astype(np.int32), np.flatnonzero(near >= 0).astype(np.int32)
    ge, gn = ex[in_ex], near[in_nr]
    ex_group = out.group_names("exact", len(ex_detail)) + ge
    nr_group = out.group_names("near", len(nr_detail)) + gn
    ex_text = out.detail_codes(ex_detail)[ge]
    nr_text = out.detail_codes(nr_detail)[gn]
    nr_score = (1.0 - nearest[in_nr] / 64.0).astype(np.float32)
    # conflicts and leaks are named at the widest group a row belongs to (near, else exact)
    for issue, ex_flag, nr_flag in (("label_conflict", ex_conf, nr_conf), ("split_leak", ex_leak, nr_leak)):
        e = ex_flag[ge] & (near[in_ex] < 0)
        n = nr_flag[gn]
        out.add(*_kept(e, in_ex), issue, 1.0, *_kept(e, ex_group, ex_text))
        out.add(*_kept(n, in_nr), issue, *_kept(n, nr_score, nr_group, nr_text))
    out.add(in_ex, "exact_duplicate", 1.0, ex_group, ex_text)
    out.add(in_nr, "near_duplicate", nr_score, nr_group, nr_text)

    quality = (
        ("blank", s["std"] < t.blank_std, 1.0 - s["std"] / max(t.blank_std, 1e-9) / 2,
         lambda r: f"near-constant image (luminance spread {r['std']:.1f} of 255, under {t.blank_std:g})"),
        ("dark", s["p99"] < t.dark_p99, 1.0 - s["p99"] / 255.0,
         lambda r: f"too dark (99 % of pixels at luminance ≤ {r['p99']:.0f}, under {t.dark_p99:g}; "
                   f"mean {r['mean']:.0f})"),
        ("bright", s["p01"] > t.bright_p01, s["p01"] / 255.0,
         lambda r: f"too bright (99 % of pixels at luminance ≥ {r['p01']:.0f}, over {t.bright_p01:g}; "
                   f"mean {r['mean']:.0f})"),
        ("low_information", s["entropy"] < t.low_entropy, 1.0 - s["entropy"] / 8.0,
         lambda r: f"low information ({r['entropy']:.2f} bits of luminance entropy, under {t.low_entropy:g})"),
        ("blurry", s["sharpness"] < t.blurry, 1.0 / (1.0 + s["sharpness"] / max(t.blurry, 1e-9)),
         lambda r: f"blurry (variance of the Laplacian {r['sharpness']:.1f}, under {t.blurry:g})"),
    )
    exposure = (s["p99"] < t.dark_p99) | (s["p01"] > t.bright_p01)
    for issue, flag, score, text in quality:
        if issue != "blank":
            flag = flag & ~blank       # a blank image is dark/low-information/blurry too: say it once
        if issue == "blurry":
            flag = flag & ~exposure    # the Laplacian's variance scales with contrast: dark is said once
        rows = np.flatnonzero(flag)
        out.add(rows, issue, np.clip(np.asarray(score)[rows], 0, 1), 0,
                out.detail_codes([text(s[r]) for r in rows]))
    return out


def counts(issues: pd.DataFrame) -> dict[str, int]:
    """Rows per issue type, every type named (0 when absent), in ISSUES order."""
    vc = issues["issue"].value_counts() if len(issues) else pd.Series(dtype=int)
    return {k: int(vc.get(k, 0)) for k in ISSUES}
