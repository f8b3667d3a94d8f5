"""Any CSV of image paths and labels (paths relative to --root; delimiter, BOM, line endings detected)."""
from __future__ import annotations

import argparse

from data_tools.importers.base import (
    Collected,
    ImportOptions,
    Record,
    bad_row_records,
    display_path,
    find_csv,
    generic_spec,
    normalize_split,
    read_table,
    require_columns,
    unique_ids,
)
from data_tools.paths import PathEscapeError, RootGuard

NAME = "csv"
HELP = "any CSV: --path-col, --label-col, optional --split-col (default: the only *.csv in --root)"
RESERVED = ("sample_id", "path", "label", "split", "group")
LABEL_COLUMNS = ("true_label", "source_label")


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("csv")
    g.add_argument("--path-col", default="path", help="column with image paths relative to --root (default path)")
    g.add_argument("--label-col", default="label", help="column with labels (default label)")
    g.add_argument("--split-col", help="column with train/val/test (default: 'split' if there is one, "
                                       "else a seeded --test-fraction split)")
    g.add_argument("--id-col", help="column with sample ids (default: 'sample_id' if there is one, else "
                                    "the path without its extension)")
    g.add_argument("--group-col", help="column naming each row's subject or video (splits keep groups apart)")


def _column(table_columns: list[str], given: str | None, default: str) -> str | None:
    return given if given else (default if default in table_columns else None)


def _relative(guard: RootGuard, path: str) -> str:
    """The path relative to --root where it names a place inside it (an absolute path too), so the
    sample_id made from it is the same however the CSV spells it; anything else as given (the
    validation rejects it with its reason)."""
    try:
        return guard.relative(path)
    except PathEscapeError:
        return path


def collect(opts: ImportOptions) -> Collected:
    path = find_csv(opts)
    table = read_table(path)
    split_col = _column(table.columns, opts.split_col, "split")
    id_col = _column(table.columns, opts.id_col, "sample_id")
    group_col = _column(table.columns, opts.group_col, "group")
    require_columns(table, *[c for c in (opts.path_col, opts.label_col, split_col, id_col, group_col) if c])
    used = {opts.path_col, opts.label_col, split_col, id_col, group_col}
    shown = display_path(path, opts.root)
    records = bad_row_records(table, shown)
    guard = RootGuard(opts.root.resolve())
    paths = [_relative(guard, cells[opts.path_col].strip().replace("\\", "/")) for _, cells in table.rows]
    for (i, cells), rel, sid in zip(table.rows, paths, unique_ids(paths)):
        rec = Record(file=shown, row=i, sample_id=cells[id_col].strip() if id_col else sid, path=rel,
                     label=cells[opts.label_col])
        if split_col:
            raw = cells[split_col]
            rec.split = normalize_split(raw)
            if rec.split is None:
                rec.reason = f"split '{raw.strip()}' is not one of: train, val, test"
        if group_col:
            rec.extras["group"] = cells[group_col].strip()
            if not rec.extras["group"] and not opts.group_regex:
                rec.reason = rec.reason or "empty group"
        for col, value in cells.items():
            if col not in used:
                rec.extras[f"orig_{col}" if col in RESERVED else col] = value
        records.append(rec)
    label_columns = tuple(c for c in LABEL_COLUMNS if c in table.columns and c not in used)
    found = [v for r in records if r.reason is None for v in [r.label] + [r.extras[c] for c in label_columns]]
    spec = generic_spec(found, opts)
    return Collected(records=records, labels=spec, image_root=opts.root.resolve(), source=str(path),
                     label_columns=label_columns)
