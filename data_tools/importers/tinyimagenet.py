"""Tiny-ImageNet (tiny-imagenet-200): `wnids.txt`, `words.txt`, `train/<wnid>/images/*.JPEG`,
`val/images/*.JPEG` labelled by `val/val_annotations.txt` (in --root or its tiny-imagenet-200/).

Classes are the wnids of wnids.txt in sorted order (the order torchvision's ImageFolder gives), named by
the first synonym in words.txt ('goldfish, Carassius auratus' -> 'goldfish'); two wnids with the same
first synonym are told apart by their wnid ('crane (n02012849)'). The wnid stays a column and
dataset.json's extra["wnids"] maps each class name to its wnid. Validation images become the test
split (the test images have no public labels and are not imported).
"""
from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

from data_tools import classes as C
from data_tools.images import is_image_name
from data_tools.importers.base import (
    Collected,
    ImportFailure,
    ImportOptions,
    LabelSpec,
    Record,
    display_path,
    read_lines,
)

NAME = "tinyimagenet"
HELP = "Tiny-ImageNet: wnids.txt, words.txt, train/<wnid>/images/, val/val_annotations.txt (200 classes)"
SUBDIR = "tiny-imagenet-200"
VAL_SPLIT = "test"
_WNID = re.compile(r"n\d{8}")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Tiny-ImageNet takes no options of its own."""


def _folder(root: Path) -> Path:
    for d in (root, root / SUBDIR):
        if (d / "wnids.txt").is_file():
            return d
    raise ImportFailure(f"{root}: no wnids.txt (expected Tiny-ImageNet in --root or in {SUBDIR}/)")


def read_wnids(path: Path) -> list[str]:
    """The wnids of wnids.txt, each checked; ImportFailure naming the line of a bad or repeated one."""
    seen: dict[str, int] = {}
    for i, line in read_lines(path):
        if not _WNID.fullmatch(line):
            raise ImportFailure(f"{path} line {i}: '{line}' is not a WordNet id (n followed by 8 digits)")
        if line in seen:
            raise ImportFailure(f"{path} line {i}: '{line}' is listed twice (also line {seen[line]})")
        seen[line] = i
    return sorted(seen)


def class_names(wnids: list[str], words_path: Path) -> dict[str, str]:
    """wnid -> unique class name: the first synonym in words.txt, '<name> (<wnid>)' where two wnids
    share it, the wnid itself where words.txt has no line for it."""
    wanted = set(wnids)
    words: dict[str, tuple[int, str]] = {}
    for i, line in read_lines(words_path):
        wnid, _, text = line.partition("\t") if "\t" in line else line.partition(" ")
        if wnid in wanted and wnid not in words:
            words[wnid] = (i, C.clean_name(text.split(",")[0]))
    first = {w: words[w][1] if w in words and words[w][1] else w for w in wnids}
    for w, name in first.items():
        problem = C.name_problem(name)
        if problem:
            raise ImportFailure(f"{words_path} line {words[w][0]}: class name {problem}")
    counts: dict[str, int] = {}
    for name in first.values():
        counts[name] = counts.get(name, 0) + 1
    return {w: f"{name} ({w})" if counts[name] > 1 else name for w, name in first.items()}


def _images(folder: Path) -> list[str]:
    return sorted(f for f in os.listdir(folder) if not f.startswith(".")) if folder.is_dir() else []


def collect(opts: ImportOptions) -> Collected:
    if opts.crop_faces:
        raise ImportFailure("--crop-faces does not apply to tinyimagenet: its images are not faces")
    root = _folder(opts.root)
    wnids = read_wnids(root / "wnids.txt")
    words_path = root / "words.txt"
    if not words_path.is_file():
        raise ImportFailure(f"{root}: no words.txt (the class names)")
    name_of = class_names(wnids, words_path)
    if not (root / "train").is_dir() and not (root / "val").is_dir():
        raise ImportFailure(f"{root}: no train/ or val/ folder")
    prefix = "" if root == opts.root else f"{SUBDIR}/"
    records: list[Record] = []

    def record(file: str, row: int | str, rel: str, wnid: str, split: str) -> Record:
        rec = Record(file=file, row=row, sample_id=os.path.splitext(os.path.basename(rel))[0], path=prefix + rel,
                     label=name_of.get(wnid, wnid), split=split, extras={"wnid": wnid})
        if wnid not in name_of:
            rec.reason = f"wnid '{wnid}' is not in wnids.txt"
        elif not is_image_name(rel):
            rec.reason = f"not an image file name (extension '{os.path.splitext(rel)[1]}')"
        return rec

    train = root / "train"
    for wnid in _images(train):
        if not (train / wnid).is_dir():
            continue
        images = train / wnid / "images"   # beside it, <wnid>_boxes.txt (not needed)
        for f in _images(images):
            records.append(record(display_path(images, opts.root), "", f"train/{wnid}/images/{f}", wnid, "train"))
    ann = root / "val" / "val_annotations.txt"
    if (root / "val").is_dir():
        if not ann.is_file():
            raise ImportFailure(f"{ann}: no such file (the validation labels)")
        shown = display_path(ann, opts.root)
        listed = set()
        for i, line in read_lines(ann):
            parts = line.split("\t") if "\t" in line else line.split()
            if len(parts) < 2:
                records.append(Record(file=shown, row=i, sample_id="", path="", label="",
                                      reason="expected '<file> <wnid> ...' (file name and wnid)"))
                continue
            listed.add(parts[0])
            records.append(record(shown, i, f"val/images/{parts[0]}", parts[1].strip(), VAL_SPLIT))
        for f in _images(root / "val" / "images"):
            if f not in listed:
                rec = Record(file=display_path(root / "val" / "images", opts.root), row="",
                             sample_id=os.path.splitext(f)[0], path=f"{prefix}val/images/{f}", label="",
                             reason=f"not listed in {display_path(ann, opts.root)}")
                records.append(rec)
    if not records:
        raise ImportFailure(f"{root}: no images in train/<wnid>/images/ or val/images/")
    classes = [name_of[w] for w in wnids]
    spec = LabelSpec(classes=classes, names=True, vocabulary="open")
    n_test = len(_images(root / "test" / "images"))
    return Collected(records=records, labels=spec, image_root=opts.root.resolve(), source=str(root),
                     extra={"wnids": {name_of[w]: w for w in wnids}, "unlabelled_test_images_not_imported": n_test})
