"""Aff-Wild2, expression track (ABAW layout): `annotations/EXPR_Set/{Train_Set,Validation_Set}/<video>.txt`
with frames in `cropped_aligned/<video>/<frame:05d>.jpg`.

An annotation file's first line lists the classes (`Neutral,Anger,Disgust,Fear,Happiness,Sadness,
Surprise,Other`); line 1 + i holds frame i's label (frames count from 1) as a number into that list,
-1 where the frame has no valid label. Every frame is a row: frames labelled -1, and frames without an
image (no face was found there), go to the report. Rows keep `video` and `frame`, and `group` = video:
frames of one video are near-duplicates, so the split is the official one, by video (Train_Set ->
train, Validation_Set -> --affwild2-val-split, test by default: the official test labels are not
public, as with AffectNet).
"""
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
    read_text,
)

NAME = "affwild2"
HELP = ("Aff-Wild2 expression track: annotations/EXPR_Set/{Train_Set,Validation_Set}/<video>.txt, "
        "frames in cropped_aligned/<video>/")
OTHER = "other"
ORDER = [C.NEUTRAL, C.ANGRY, C.DISGUST, C.FEAR, C.HAPPY, C.SAD, C.SURPRISE, OTHER]  # the header's order
ANNOTATION_DIRS = ("annotations/EXPR_Set", "EXPR_Set", "annotations/EXPR_Recognition_Challenge",
                   "annotations/EXPR_Classification_Challenge")
SETS = (("Train_Set", "train"), ("Validation_Set", None))   # None: --affwild2-val-split
FRAMES = "cropped_aligned"
NO_LABEL = "-1"
HEADER = "Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other"   # as the files write it


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("affwild2")
    g.add_argument("--affwild2-classes", type=int, choices=(7, 8), default=8,
                   help="8 keeps Other (default, as the ABAW challenge scores it); 7 leaves its frames out")
    g.add_argument("--affwild2-val-split", choices=("val", "test"), default="test",
                   help="split for Validation_Set videos (default test: the official test labels are not public)")


def spec(n_classes: int) -> LabelSpec:
    excluded = {OTHER: "label Other is excluded with --affwild2-classes 7"} if n_classes == 7 else {}
    return LabelSpec(classes=ORDER[:n_classes], excluded=excluded, vocabulary="expression")


def _annotation_dir(root: Path) -> Path:
    for rel in ANNOTATION_DIRS:
        if any((root / rel / s).is_dir() for s, _ in SETS):
            return root / rel
    raise ImportFailure(f"{root}: no annotations/EXPR_Set/Train_Set or Validation_Set folder "
                        "(the Aff-Wild2 expression annotations)")


def parse_header(line: str, path: Path, lineno: int) -> list[str]:
    """Class names of a header line, canonical ('Anger' -> angry, 'Other' -> other)."""
    names = []
    for raw in line.split(","):
        text = raw.strip()
        name = OTHER if text.lower() == OTHER else C.try_normalize(text)
        if name is None:
            raise ImportFailure(f"{path} line {lineno}: '{text}' in the header is not an expression class "
                                f"(expected {HEADER})")
        names.append(name)
    if len(set(names)) != len(names):
        raise ImportFailure(f"{path} line {lineno}: the header names a class twice ({line.strip()})")
    return names


def read_video(path: Path, opts: ImportOptions, video: str, split: str) -> list[Record]:
    """One record per frame line of an annotation file."""
    lines = read_text(path).splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    start = next((k for k, line in enumerate(lines) if line.strip()), None)
    if start is None:  # read_text refuses empty files; this is whitespace only
        raise ImportFailure(f"{path}: empty file")
    header = parse_header(lines[start], path, start + 1)
    shown = display_path(path, opts.root)
    records = []
    for k in range(start + 1, len(lines)):
        frame = k - start
        text = lines[k].strip()
        rec = Record(file=shown, row=k + 1, sample_id=f"{video}/{frame:05d}", path=f"{FRAMES}/{video}/{frame:05d}.jpg",
                     label="", split=split, extras={"video": video, "frame": frame, "group": video})
        if text == NO_LABEL:
            rec.reason = "label -1: the frame has no valid expression label"
        elif not text:
            rec.reason = "empty label"
        elif not text.isdecimal() or not 0 <= int(text) < len(header):
            rec.reason = f"label '{text}' is not -1 or a number in 0..{len(header) - 1}"
        else:
            rec.label = header[int(text)]
        records.append(rec)
    return records


def collect(opts: ImportOptions) -> Collected:
    if opts.crop_faces:
        raise ImportFailure("--crop-faces does not apply to affwild2: cropped_aligned/ holds face crops already")
    ann = _annotation_dir(opts.root)
    if not opts.labels_only and not (opts.root / FRAMES).is_dir():
        raise ImportFailure(f"{opts.root}: no {FRAMES}/ folder (use --labels-only to import the labels "
                            "without frames)")
    records: list[Record] = []
    seen: dict[str, str] = {}   # video -> the set it was first found in
    n_videos = {}
    for folder, split in SETS:
        files = sorted((ann / folder).glob("*.txt")) if (ann / folder).is_dir() else []
        n_videos[folder] = len(files)
        for path in files:
            video = path.stem
            recs = read_video(path, opts, video, split or opts.affwild2_val_split)
            if video in seen:
                for rec in recs:
                    rec.reason = rec.reason or (f"video '{video}' is also in {seen[video]} (a video belongs "
                                                "to one split)")
            seen.setdefault(video, folder)
            records += recs
    if not sum(n_videos.values()):
        raise ImportFailure(f"{ann}: no annotation files (<video>.txt) in Train_Set/ or Validation_Set/")
    if not records:
        raise ImportFailure(f"{ann}: the {sum(n_videos.values())} annotation file(s) list no frames (only a header)")
    return Collected(records=records, labels=spec(opts.affwild2_classes), image_root=opts.root.resolve(),
                     source=str(ann), extra={"affwild2_classes": opts.affwild2_classes,
                                             "videos": n_videos})
