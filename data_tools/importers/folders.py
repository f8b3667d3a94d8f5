"""One folder per class (`<class>/<file>`), optionally under split folders (`train/<class>/<file>`)."""
from __future__ import annotations

import argparse
import os
from collections import Counter
from pathlib import Path

from data_tools.images import is_image_name
from data_tools.importers.base import (
    Collected,
    ImportFailure,
    ImportOptions,
    Record,
    generic_spec,
    normalize_split,
    unique_ids,
)
from data_tools.paths import is_within

NAME = "folders"
HELP = "one folder per class, optionally under train/ val/ test/ (else a seeded --test-fraction split)"
IGNORED = {"__MACOSX", "Thumbs.db", "desktop.ini"}
SPLIT_DIRS = {"train", "training", "val", "valid", "validation", "test", "testing"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Folders use the shared split, group and class options."""


def _skip(name: str) -> bool:
    return name.startswith(".") or name in IGNORED


SYMLINKED_FOLDER = "symlinked folder (not followed: its images would be counted again, possibly under another class)"
SYMLINKED_FILE = "symlink to a file inside the root (not followed: the image would be counted twice, possibly " \
                 "under another class)"


def walk(root: Path, skip: Path | None = None) -> list[tuple[str, str | None]]:
    """(relative path, reason or None) for every file below `root`, sorted. Symlinked folders are
    not walked (issue 22: `happy/up -> ../sad` made sad images count as happy): each is listed once
    with its reason, so it is a report row. `skip` (the dataset folder being written, when it lies
    inside `root`) is not walked."""
    out: list[tuple[str, str | None]] = []
    seen: set[str] = {os.path.realpath(skip)} if skip is not None else set()
    for top, dirs, files in os.walk(root, followlinks=False):
        real = os.path.realpath(top)
        if real in seen:  # the dataset folder being written
            dirs[:] = []
            continue
        seen.add(real)
        rel_top = os.path.relpath(top, root)
        prefix = "" if rel_top == "." else rel_top.replace(os.sep, "/") + "/"

        def rel(name: str, prefix: str = prefix) -> str:
            return prefix + name
        keep = []
        for d in sorted(dirs):
            if _skip(d):
                continue
            if not os.path.islink(os.path.join(top, d)):
                keep.append(d)
            elif not is_within(os.path.join(top, d), [root]):
                out.append((rel(d), "symlink leads outside the root"))
            else:
                out.append((rel(d), SYMLINKED_FOLDER))
        dirs[:] = keep
        for f in files:
            if _skip(f):
                continue
            link = os.path.join(top, f)
            inside = os.path.islink(link) and is_within(link, [root])
            out.append((rel(f), SYMLINKED_FILE if inside else None))   # outside: the path check reports it
    return sorted(out)


def collect(opts: ImportOptions) -> Collected:
    root = opts.root
    if not root.is_dir():
        raise ImportFailure(f"{root}: no such folder")
    top_dirs = [d.name for d in root.iterdir() if d.is_dir() and not _skip(d.name)]
    split_layout = any(d.lower() in SPLIT_DIRS for d in top_dirs)
    entries = walk(root, skip=opts.out)
    records: list[Record] = []
    ids = unique_ids([p for p, _ in entries])
    for (rel, reason), sid in zip(entries, ids):
        parts = rel.split("/")
        depth = 3 if split_layout else 2
        is_image = is_image_name(parts[-1])
        if len(parts) < depth and not is_image and reason is None:
            continue  # README.md, SOURCE.md beside the class folders: not a sample
        split = normalize_split(parts[0]) if split_layout else None
        label = parts[depth - 2] if len(parts) >= depth else ""
        rec = Record(file=str(root), row="", sample_id=sid, path=rel, label=label, split=split,
                     reason=reason)
        if rec.reason is None:
            if len(parts) < depth:
                rec.reason = ("not inside a <split>/<class>/ folder" if split_layout
                              else "not inside a class folder")
            elif split_layout and (split is None or parts[0].lower() not in SPLIT_DIRS):
                rec.reason = f"folder '{parts[0]}' is not a split (train, val, test)"
            elif not is_image:
                rec.reason = f"not an image file name (extension '{os.path.splitext(parts[-1])[1]}')"
        records.append(rec)
    if not records:
        raise ImportFailure(f"{root}: no image files in class folders")
    spec = generic_spec(Counter(r.label for r in records if r.reason is None), opts)
    return Collected(records=records, labels=spec, image_root=root.resolve(), source=str(root),
                     extra={"layout": "split/class/file" if split_layout else "class/file"})
