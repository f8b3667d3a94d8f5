"""Any CSV of image paths and labels (paths relative to --root; delimiter, BOM, line endings detected)."""
from __future__ import annotations

import argparse
import os
from array import array
from collections import Counter
from collections.abc import Iterator

import numpy as np

from data_tools.importers.base import (
    Collected,
    CsvStream,
    ImportFailure,
    ImportOptions,
    Record,
    display_path,
    find_csv,
    fingerprint,
    generic_spec,
    normalize_split,
    require_columns,
    stem_id,
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
    if path and not os.path.isabs(path) and os.path.normpath(path) == path and not path.startswith(".."):
        return path   # already in the form (the validation still checks where it leads)
    try:
        return guard.relative(path)
    except PathEscapeError:
        return path


def collect(opts: ImportOptions) -> Collected:
    """Reads the CSV twice, row by row, so that memory stays bounded however long it is: once for the
    label list and for file names shared by two extensions (x.png, x.jpg keep their extension in the
    sample_id), then as the stream of records the validation consumes."""
    path = find_csv(opts)
    table = CsvStream(path)
    split_col = _column(table.columns, opts.split_col, "split")
    id_col = _column(table.columns, opts.id_col, "sample_id")
    group_col = _column(table.columns, opts.group_col, "group")
    require_columns(table, *[c for c in (opts.path_col, opts.label_col, split_col, id_col, group_col) if c])
    used = {opts.path_col, opts.label_col, split_col, id_col, group_col}
    label_columns = tuple(c for c in LABEL_COLUMNS if c in table.columns and c not in used)
    shown = display_path(path, opts.root)
    guard = RootGuard(opts.root.resolve())

    def path_of(cells: dict[str, str]) -> str:
        return _relative(guard, cells[opts.path_col].strip().replace("\\", "/"))

    def split_and_reason(cells: dict[str, str]) -> tuple[str | None, str | None]:
        """(the row's split or None, the reason a format rule excludes the row or None)."""
        split = why = None
        if split_col:
            raw = cells[split_col]
            split = normalize_split(raw)
            if split is None:
                why = f"split '{raw.strip()}' is not one of: train, val, test"
        if group_col and not cells[group_col].strip() and not opts.group_regex:
            why = why or "empty group"
        return split, why

    def record(i: int, cells: dict[str, str]) -> Record:
        rec = Record(file=shown, row=i, sample_id=cells[id_col].strip() if id_col else "", path=path_of(cells),
                     label=cells[opts.label_col])
        rec.split, rec.reason = split_and_reason(cells)
        if group_col:
            rec.extras["group"] = cells[group_col].strip()
        for col, value in cells.items():
            if col not in used:
                rec.extras[f"orig_{col}" if col in RESERVED else col] = value
        return rec

    # the first pass: the label list and the stems two paths share, without building the records
    labels: Counter[str] = Counter()
    stems, paths = array("Q"), array("Q")
    n_rows = 0
    for i, cells, _ in table.rows():
        n_rows += 1
        if cells is None:
            continue
        rel = path_of(cells)
        if split_and_reason(cells)[1] is None:
            labels[cells[opts.label_col]] += 1
            for c in label_columns:
                labels[cells[c]] += 1
        stems.append(fingerprint(stem_id(rel)))
        paths.append(fingerprint(rel))
    if not n_rows:
        raise ImportFailure(f"{path}: header only, no data rows")
    shared = _shared_stems(stems, paths)
    del stems, paths

    def records() -> Iterator[Record]:
        for i, cells, why in table.rows():
            if cells is None:
                yield Record(file=shown, row=i, sample_id="", path="", label="", reason=why)
                continue
            rec = record(i, cells)
            if not id_col:
                stem = stem_id(rec.path)
                rec.sample_id = rec.path if fingerprint(stem) in shared else stem   # path: "/" already
            yield rec

    return Collected(records=records(), labels=generic_spec(labels, opts), image_root=opts.root.resolve(),
                     source=str(path), label_columns=label_columns)


def _shared_stems(stems: array, paths: array) -> set[int]:
    """Fingerprints of the stems that two different paths share."""
    pairs = np.unique(np.stack([np.frombuffer(stems, np.uint64), np.frombuffer(paths, np.uint64)], axis=1), axis=0)
    first = pairs[:, 0]
    return {int(s) for s in first[1:][first[1:] == first[:-1]]}
