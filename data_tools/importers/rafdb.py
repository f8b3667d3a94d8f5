"""RAF-DB basic emotions: `EmoLabel/list_patition_label.txt` (`train_00001.jpg 5`, labels 1..7)."""
from __future__ import annotations

import argparse
from pathlib import Path

from data_tools import classes as C
from data_tools.importers.base import (
    Collected,
    ImportFailure,
    ImportOptions,
    LabelSpec,
    Record,
    display_path,
    read_lines,
)

NAME = "rafdb"
HELP = "RAF-DB: EmoLabel/list_patition_label.txt with Image/aligned (or Image/original)"
LIST_NAMES = ("EmoLabel/list_patition_label.txt", "list_patition_label.txt")
SPEC = LabelSpec(classes=list(C.RAFDB_ORDER), numbers=tuple(C.RAFDB_ORDER), base=1, names=False)


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("rafdb")
    g.add_argument("--list", dest="rafdb_list", type=Path,
                   help="the label list (default: EmoLabel/list_patition_label.txt under --root, or "
                        "list_patition_label.txt in --root)")
    g.add_argument("--noisy-list", type=Path,
                   help="a noisy train list (e.g. the EAC paper's noise01.txt): its labels become "
                        "`label`, the clean ones `true_label` and `source_label`")


def parse_line(line: str) -> tuple[str, str]:
    """('train_00001.jpg', '5') from a list line; the label is '' when the line has none."""
    parts = line.rsplit(None, 1)
    return (parts[0], parts[1]) if len(parts) == 2 else (line, "")


def _find_list(opts: ImportOptions) -> Path:
    if opts.rafdb_list is not None:
        return opts.locate(opts.rafdb_list)
    for name in LIST_NAMES:
        if (opts.root / name).is_file():
            return opts.root / name
    raise ImportFailure(f"{opts.root}: no {' or '.join(LIST_NAMES)} (name the list with --list)")


def _image_path(root: Path, name: str) -> str:
    stem = name.rsplit(".", 1)[0]
    aligned = f"Image/aligned/{stem}_aligned.jpg"
    original = f"Image/original/{name}"
    if not (root / aligned).is_file() and (root / original).is_file():
        return original
    return aligned


def _noisy_labels(path: Path, known: set[str]) -> dict[str, str]:
    """file name -> noisy label; any bad line is a one-line error (the list must match the clean one)."""
    out: dict[str, str] = {}
    for i, line in read_lines(path):
        name, raw = parse_line(line)
        _, why = SPEC.resolve(raw)
        if why:
            raise ImportFailure(f"{path} line {i}: {why}")
        if name not in known:
            raise ImportFailure(f"{path} line {i}: '{name}' is not in the clean list")
        if name in out:
            raise ImportFailure(f"{path} line {i}: '{name}' is listed twice")
        out[name] = raw
    return out


def collect(opts: ImportOptions) -> Collected:
    list_path = _find_list(opts)
    lines = read_lines(list_path)
    has_images = (opts.root / "Image/aligned").is_dir() or (opts.root / "Image/original").is_dir()
    if not opts.labels_only and not has_images:
        raise ImportFailure(f"{opts.root}: no Image/aligned or Image/original folder (use --labels-only "
                            "to import the labels without images)")
    shown = display_path(list_path, opts.root)
    records = []
    for i, line in lines:
        name, raw = parse_line(line)
        split = "train" if name.startswith("train_") else "test" if name.startswith("test_") else None
        path = name if opts.labels_only else _image_path(opts.root, name)
        rec = Record(file=shown, row=i, sample_id=name.rsplit(".", 1)[0], path=path, label=raw, split=split)
        if split is None:
            rec.reason = "cannot tell the split from the file name (expected train_* or test_*)"
        records.append(rec)
    extra: dict = {"list": str(list_path)}
    label_columns: tuple[str, ...] = ()
    if opts.noisy_list is not None:
        noisy_path = opts.locate(opts.noisy_list)
        noisy = _noisy_labels(noisy_path, {parse_line(line)[0] for _, line in lines})
        missing = 0
        for rec, (_, line) in zip(records, lines):
            name = parse_line(line)[0]
            rec.extras["true_label"] = rec.label
            rec.extras["source_label"] = rec.label
            if name in noisy:
                rec.label = noisy[name]
            elif rec.split == "train":
                missing += 1
        extra.update(noisy_list=str(noisy_path), train_rows_missing_from_noisy_list=missing)
        label_columns = ("true_label", "source_label")
    return Collected(records=records, labels=SPEC, image_root=opts.root.resolve(), source=str(list_path),
                     label_columns=label_columns, extra=extra)
