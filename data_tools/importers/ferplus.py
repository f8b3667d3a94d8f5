"""FERPlus: `fer2013new.csv` (Usage, Image name, 10 vote columns), images in FER2013Train/Valid/Test."""
from __future__ import annotations

import argparse
from pathlib import Path

from data_tools import classes as C
from data_tools.importers.base import (
    Collected,
    ImportOptions,
    LabelSpec,
    Record,
    bad_row_records,
    display_path,
    read_table,
    require_columns,
)

NAME = "ferplus"
HELP = "FERPlus: fer2013new.csv with FER2013Train/, FER2013Valid/, FER2013Test/ (majority vote)"
CSV_NAME = "fer2013new.csv"
USAGE = {"Training": ("train", "FER2013Train"), "PublicTest": ("val", "FER2013Valid"),
         "PrivateTest": ("test", "FER2013Test")}
# FERPlus's own class order (its vote columns), canonical names
ORDER8 = [C.NEUTRAL, C.HAPPY, C.SURPRISE, C.SAD, C.ANGRY, C.DISGUST, C.FEAR, C.CONTEMPT]
VOTE_NAME = dict(zip(C.FERPLUS_VOTE_COLUMNS, ORDER8 + ["unknown", "nf"]))  # column -> vote_<name>


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("ferplus")
    g.add_argument("--ferplus-classes", type=int, choices=(7, 8), default=8,
                   help="8 keeps contempt (default); 7 leaves rows whose majority is contempt out")


def majority(votes: dict[str, int]) -> tuple[str | None, str | None]:
    """(column of the single most-voted class, None) or (None, reason the row has no majority)."""
    top = max(votes.values()) if votes else 0
    if top <= 0:
        return None, "no votes"
    best = [c for c, v in votes.items() if v == top]
    if len(best) > 1:
        return None, f"tie between {' and '.join(VOTE_NAME[c] for c in best)} ({top} votes each)"
    if best[0] == "unknown":
        return None, "majority vote is unknown"
    if best[0] == "NF":
        return None, "majority vote is not-a-face"
    return best[0], None


def spec(n_classes: int) -> LabelSpec:
    if n_classes == 7:
        return LabelSpec(classes=ORDER8[:7], excluded={C.CONTEMPT: "majority vote is contempt (excluded "
                                                                    "with --ferplus-classes 7)"})
    return LabelSpec(classes=list(ORDER8))


def collect(opts: ImportOptions) -> Collected:
    path = opts.locate(opts.csv if opts.csv is not None else Path(CSV_NAME))
    table = read_table(path)
    require_columns(table, "Usage", "Image name", *C.FERPLUS_VOTE_COLUMNS)
    shown = display_path(path, opts.root)
    records = bad_row_records(table, shown)
    for i, cells in table.rows:
        usage, name = cells["Usage"].strip(), cells["Image name"].strip()
        split, folder = USAGE.get(usage, (None, ""))
        rec = Record(file=shown, row=i, sample_id=name.rsplit(".", 1)[0], path=f"{folder}/{name}",
                     label="", split=split)
        votes: dict[str, int] = {}
        for col in C.FERPLUS_VOTE_COLUMNS:
            text = cells[col].strip()
            if not text.isdigit():
                rec.reason = f"vote column {col}: '{text}' is not a whole number"
                break
            votes[col] = int(text)
            rec.extras[f"vote_{VOTE_NAME[col]}"] = votes[col]
        if rec.reason is None:
            if split is None:
                rec.reason = f"Usage '{usage}' is not one of: {', '.join(USAGE)}"
            elif not name:
                rec.reason = "empty Image name (FERPlus left this image out)"
            else:
                col, why = majority(votes)
                rec.label, rec.reason = (VOTE_NAME[col], None) if col else ("", why)
        records.append(rec)
    return Collected(records=records, labels=spec(opts.ferplus_classes), image_root=opts.root.resolve(),
                     source=str(path), extra={"ferplus_classes": opts.ferplus_classes})
