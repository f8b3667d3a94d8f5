"""The image-level issues of a dataset from its SIGNATURE records: which rows, which issue, how bad,
which group, and a reason a person can read. Functions over arrays: row indices in, rows out.

Issue types (ISSUES, in the order a reviewer should see them):
- label_conflict: a duplicate group (exact or near) whose members carry different labels;
- split_leak: a duplicate group spanning splits (a test face the model trained on);
- exact_duplicate: the same decoded pixels as another row;
- near_duplicate: a perceptual hash within NEAR_RADIUS bits of another row's, pixels not identical
  (resized, shifted, re-encoded, a burst of frames);
- blank, dark, bright, low_information, blurry: the image-quality checks (THRESHOLDS).
Scores: higher = worse, in 0..1 within a type.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from data_tools.issues.duplicates import exact_groups, near_groups

ISSUES = ("label_conflict", "split_leak", "exact_duplicate", "near_duplicate",
          "blank", "dark", "bright", "low_information", "blurry")
DUPLICATE_ISSUES = ("label_conflict", "split_leak", "exact_duplicate", "near_duplicate")
QUALITY_ISSUES = ("blank", "dark", "bright", "low_information", "blurry")
COLUMNS = ["sample_id", "issue", "score", "group", "detail"]


@dataclass(frozen=True)
class Thresholds:
    """Where an image becomes an issue (chosen by measurement: bench/results/issue_types.md)."""
    near_radius: int = 4         # perceptual-hash bits (of 64) within which two faces are near duplicates
    blank_std: float = 4.0       # luminance standard deviation (0..255) under which an image is near-constant
    dark_p99: float = 50.0       # 99th luminance percentile under which an image is too dark
    bright_p01: float = 200.0    # 1st luminance percentile over which an image is too bright
    low_entropy: float = 4.0     # bits of the 256-bin luminance histogram under which information is low
    blurry: float = 30.0         # variance of the Laplacian (64x64 luminance) under which an image is blurry


def _groups_detail(group: np.ndarray, labels: np.ndarray, splits: np.ndarray, what: str
                   ) -> tuple[dict[int, str], np.ndarray, np.ndarray]:
    """Per group: its readable detail, and per row whether its group mixes labels / spans splits."""
    rows = np.flatnonzero(group >= 0)
    g = group[rows]
    frame = pd.DataFrame({"g": g, "label": labels[rows], "split": splits[rows]})
    by = frame.groupby("g", sort=True)
    size = by.size()
    lab = by["label"].agg(lambda s: sorted(set(s)))
    spl = by["split"].agg(lambda s: sorted(set(s)))
    detail = {}
    for k in size.index:
        ls, ss = lab[k], spl[k]
        text = f"{size[k]} {what}; " + (f"labels {'/'.join(ls)} (label conflict)" if len(ls) > 1
                                        else f"label {ls[0]}")
        text += f"; splits {'/'.join(ss)} (leak)" if len(ss) > 1 else f"; split {ss[0]}"
        detail[int(k)] = text
    conflict = np.zeros(len(group), bool)
    leak = np.zeros(len(group), bool)
    conflict[rows] = (lab.map(len) > 1).reindex(g).to_numpy()
    leak[rows] = (spl.map(len) > 1).reindex(g).to_numpy()
    return detail, conflict, leak


def find_issues(sig: np.ndarray, labels: np.ndarray, splits: np.ndarray, *,
                thresholds: Thresholds = Thresholds()) -> pd.DataFrame:
    """The issue rows of a dataset: columns `row` (index into the inputs), `issue`, `score`, `group`,
    `detail`. `sig`: (N,) SIGNATURE; rows with NaN std were not measured and get no issue."""
    labels = np.asarray(labels, dtype=object).astype(str)
    splits = np.asarray(splits, dtype=object).astype(str)
    measured = np.isfinite(sig["std"])
    idx = np.flatnonzero(measured)
    s = sig[idx]
    parts: list[pd.DataFrame] = []

    def add(rows: np.ndarray, issue: str, score, group, detail) -> None:
        if len(rows):
            parts.append(pd.DataFrame({"row": idx[rows], "issue": issue, "score": score,
                                       "group": group, "detail": detail}))

    t = thresholds
    blank = s["std"] < t.blank_std
    ex = exact_groups(s["exact"])
    # the perceptual hash of a near-constant or two-tone image is degenerate (a few DCT terms over a
    # median of zeros), so such images would all be "near" each other: they are matched exactly only
    hashable = np.flatnonzero(~blank & (s["entropy"] >= t.low_entropy))
    near = np.full(len(s), -1, np.int64)
    nearest = np.full(len(s), -1, np.int64)
    near[hashable], nearest[hashable] = near_groups(s["phash"][hashable], s["exact"][hashable], t.near_radius)
    ex_detail, ex_conf, ex_leak = _groups_detail(ex, labels[idx], splits[idx], "faces with the same pixels")
    nr_detail, nr_conf, nr_leak = _groups_detail(
        near, labels[idx], splits[idx], f"near-identical faces (perceptual hash within "
                                        f"{t.near_radius} of 64 bits)")
    in_ex, in_nr = np.flatnonzero(ex >= 0), np.flatnonzero(near >= 0)
    ex_name = np.array([f"exact:{g}" for g in ex[in_ex]], dtype=object)
    nr_name = np.array([f"near:{g}" for g in near[in_nr]], dtype=object)
    ex_text = np.array([ex_detail[g] for g in ex[in_ex]], dtype=object)
    nr_text = np.array([nr_detail[g] for g in near[in_nr]], dtype=object)
    nr_score = 1.0 - nearest[in_nr] / 64.0
    # conflicts and leaks are named at the widest group a row belongs to (near, else exact)
    for issue, ex_flag, nr_flag in (("label_conflict", ex_conf, nr_conf), ("split_leak", ex_leak, nr_leak)):
        e = ex_flag[in_ex] & (near[in_ex] < 0)
        n = nr_flag[in_nr]
        add(in_ex[e], issue, 1.0, ex_name[e], ex_text[e])
        add(in_nr[n], issue, nr_score[n], nr_name[n], nr_text[n])
    add(in_ex, "exact_duplicate", 1.0, ex_name, ex_text)
    add(in_nr, "near_duplicate", nr_score, nr_name, nr_text)

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
        add(rows, issue, np.clip(np.asarray(score)[rows], 0, 1), "",
            [text(s[r]) for r in rows])
    if not parts:
        return pd.DataFrame({"row": np.zeros(0, np.int64), "issue": [], "score": np.zeros(0), "group": [],
                             "detail": []})
    out = pd.concat(parts, ignore_index=True)
    out["score"] = out["score"].astype("float32")
    out["_order"] = out["issue"].map({k: i for i, k in enumerate(ISSUES)})
    out = out.sort_values(["_order", "score", "group", "row"], ascending=[True, False, True, True],
                          kind="stable").drop(columns="_order")
    return out.reset_index(drop=True)


def counts(issues: pd.DataFrame) -> dict[str, int]:
    """Rows per issue type, every type named (0 when absent), in ISSUES order."""
    vc = issues["issue"].value_counts() if len(issues) else pd.Series(dtype=int)
    return {k: int(vc.get(k, 0)) for k in ISSUES}
