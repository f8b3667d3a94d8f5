"""`--drop-issues`: a cleaned export without reviewing each flagged image. The dataset's issues.parquet
(data_tools.issues) says which rows have which issue; `issue_drops` decides which rows go:
- exact_duplicate, near_duplicate: all but one of each group (the keeper: its first train row in
  manifest order, else its first row), so the face stays once;
- split_leak: the group's rows outside train (the test copies of faces the model trains on);
- label_conflict: every row of the group (neither label can be trusted);
- blank, dark, bright, low_information, blurry: the row.
A row a person has decided on (keep, relabel, remove, unsure) keeps that decision; the drops apply to
undecided rows and are recorded as `remove` with the reason in `note`."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from data_tools import atomic
from data_tools.export.errors import ExportError
from data_tools.export.formulas import neutralize_frame
from data_tools.issues import ISSUES, ISSUES_FILE, read_issues
from data_tools.manifest import Dataset

DROPPED_COLUMNS = ["sample_id", "issue", "group", "detail", "applied"]
KEEP_ONE = ("exact_duplicate", "near_duplicate")


def parse_kinds(text: str) -> list[str]:
    """The issue types of a comma-separated --drop-issues value; ExportError naming an unknown one."""
    kinds = [k.strip() for k in text.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in ISSUES]
    if unknown or not kinds:
        raise ExportError(f"--drop-issues: {'unknown issue type ' + repr(unknown[0]) if unknown else 'no issue type'} "
                          f"(one or more of: {', '.join(ISSUES)})")
    return list(dict.fromkeys(kinds))


def issue_drops(dataset: Dataset, kinds: list[str], issues: pd.DataFrame | None = None) -> pd.DataFrame:
    """The rows to drop for `kinds` (sample_id, issue, group, detail), one per sample (the first kind in
    ISSUES order that drops it). `issues`: default the dataset's issues.parquet."""
    if issues is None:
        issues = read_issues(dataset.root)
        if issues is None:
            raise ExportError(f"{Path(dataset.root) / ISSUES_FILE}: no such file; compute it with "
                              f"python -m data_tools issues --dataset {dataset.root}")
    t = issues[issues["issue"].isin(kinds)].astype({"sample_id": str, "issue": str, "group": str, "detail": str})
    m = dataset.manifest
    order = pd.Series(np.arange(len(m)), index=m["sample_id"].astype(str))
    order = order[~order.index.duplicated()]
    split = pd.Series(m["split"].astype(str).to_numpy(), index=m["sample_id"].astype(str))
    split = split[~split.index.duplicated()]
    t = t[t["sample_id"].isin(order.index)].copy()
    t["_pos"] = order.reindex(t["sample_id"]).to_numpy()
    t["_train"] = split.reindex(t["sample_id"]).to_numpy() == "train"
    drop = []
    for kind, rows in t.groupby("issue", sort=False):
        if kind in KEEP_ONE:
            rows = rows.sort_values(["group", "_train", "_pos"], ascending=[True, False, True])
            drop.append(rows[rows.duplicated("group", keep="first")])
        elif kind == "split_leak":
            drop.append(rows[~rows["_train"]])
        else:
            drop.append(rows)
    if not drop:
        return pd.DataFrame(columns=DROPPED_COLUMNS[:-1])
    out = pd.concat(drop)
    out["_kind"] = out["issue"].map({k: i for i, k in enumerate(ISSUES)})
    out = out.sort_values(["_kind", "_pos"]).drop_duplicates("sample_id", keep="first").sort_values("_pos")
    return out[DROPPED_COLUMNS[:-1]].reset_index(drop=True)


def apply_drops(table: pd.DataFrame, drops: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the corrected table with undecided dropped rows set to remove, the drops with `applied`:
    'removed', or the person's decision that was kept instead)."""
    table = table.copy()
    reason = dict(zip(drops["sample_id"], "dropped: " + drops["issue"] + " (" + drops["detail"] + ")"))
    sid = table["sample_id"].astype(str)
    hit = sid.isin(reason.keys()).to_numpy()
    undecided = (table["action"] == "").to_numpy()
    apply = hit & undecided
    table.loc[apply, "action"] = "remove"
    table.loc[apply, "final_label"] = ""
    table.loc[apply, "note"] = sid[apply].map(reason).to_numpy()
    decided = dict(zip(sid[hit & ~undecided], table.loc[hit & ~undecided, "action"]))
    drops = drops.copy()
    drops["applied"] = [f"kept the decision '{decided[s]}'" if s in decided else "removed"
                        for s in drops["sample_id"]]
    return table, drops


def dropped_report_path(fmt: str, out: str | os.PathLike) -> Path:
    """Where the list of dropped rows goes: inside a manifest folder, else beside the file."""
    out = Path(out)
    return out / "dropped_issues.csv" if fmt == "manifest" else out.with_name(out.name + ".dropped_issues.csv")


def write_dropped(path: Path, drops: pd.DataFrame) -> Path:
    """The dropped rows as CSV (cells a spreadsheet would run as formulas neutralised)."""
    atomic.write_csv(path, neutralize_frame(drops[DROPPED_COLUMNS]))
    return path


def drop_summary(drops: pd.DataFrame) -> str:
    """One line: rows removed per issue type, and rows whose decision was kept."""
    removed = drops[drops["applied"] == "removed"]
    parts = [f"{k} {n}" for k, n in removed["issue"].value_counts().reindex(ISSUES).dropna().astype(int).items()]
    kept = int((drops["applied"] != "removed").sum())
    return (f"dropped {len(removed)} rows for their issues ({', '.join(parts) or 'none'})"
            + (f"; {kept} flagged rows kept their reviewed decision" if kept else ""))
