"""AffectNet: `training.csv` / `validation.csv` (subDirectory_filePath, face box, expression 0..10)."""
from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

from data_tools import classes as C
from data_tools.faces import crop_box
from data_tools.images import load_image, write_image
from data_tools.importers.base import (
    Collected,
    CsvStream,
    ImportFailure,
    ImportOptions,
    LabelSpec,
    Record,
    display_path,
    require_columns,
    stem_id,
)

NAME = "affectnet"
HELP = "AffectNet: training.csv and validation.csv (expression 0..10), images in Manually_Annotated_Images/"
COLUMNS = ["subDirectory_filePath", "face_x", "face_y", "face_width", "face_height", "facial_landmarks",
           "expression", "valence", "arousal"]
BOX = ["face_x", "face_y", "face_width", "face_height"]
IMAGE_DIRS = ("Manually_Annotated_Images", "Manually_Annotated/Manually_Annotated_Images")
NOT_EMOTIONS = ("none", "uncertain", "no-face")  # codes 8, 9, 10
CROPS = "crops"


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("affectnet")
    g.add_argument("--affectnet-classes", type=int, choices=(7, 8), default=7,
                   help="7 (default) leaves contempt (7) out, 8 keeps it; 8-10 are always left out")
    g.add_argument("--affectnet-val-split", choices=("val", "test"), default="test",
                   help="split for validation.csv rows (default test: AffectNet's test set is not public)")
    g.add_argument("--use-face-box", action="store_true",
                   help="crop each image to its face box; crops are written into the dataset folder")


def spec(n_classes: int) -> LabelSpec:
    excluded = {name: f"expression {8 + k} ({name}) is not an emotion class"
                for k, name in enumerate(NOT_EMOTIONS)}
    if n_classes == 7:
        excluded[C.CONTEMPT] = "expression 7 (contempt) is excluded with --affectnet-classes 7"
    return LabelSpec(classes=list(C.AFFECTNET_ORDER[:n_classes]),
                     numbers=tuple(C.AFFECTNET_ORDER) + NOT_EMOTIONS, base=0, names=False,
                     excluded=excluded)


def parse_box(cells: dict[str, str]) -> tuple[float, float, float, float]:
    """(x, y, width, height) from a row; ValueError when a value is missing or not a number."""
    try:
        box = tuple(float(cells[k]) for k in BOX)
    except (KeyError, ValueError):
        raise ValueError(f"face box: {', '.join(repr(cells.get(k, '')) for k in BOX)} are not numbers") from None
    return box  # type: ignore[return-value]


def _crop(rec: Record, src: Path | None, out: Path) -> str:
    crop = crop_box(load_image(src), rec.payload)
    new_path = f"{CROPS}/{rec.path}"
    write_image(out / new_path, crop)
    return new_path


def _tables(opts: ImportOptions) -> list[tuple[Path, str]]:
    if opts.csv is not None:
        path = opts.locate(opts.csv)
        return [(path, "test" if "valid" in path.name.lower() else "train")]
    found = [(opts.root / name, split) for name, split in
             (("training.csv", "train"), ("validation.csv", opts.affectnet_val_split))
             if (opts.root / name).is_file()]
    if not found:
        raise ImportFailure(f"{opts.root}: no training.csv or validation.csv (name one with --csv)")
    return found


def collect(opts: ImportOptions) -> Collected:
    """Streams the label CSVs (AffectNet's training.csv has 287,651 rows): the records are read as
    the validation consumes them."""
    if opts.use_face_box and opts.labels_only:
        raise ImportFailure("--use-face-box needs the images; it cannot be combined with --labels-only")
    image_root = next((opts.root / d for d in IMAGE_DIRS if (opts.root / d).is_dir()), opts.root)
    tables = []
    for path, split in _tables(opts):
        table = CsvStream(path, header=COLUMNS)
        if COLUMNS[0] in table.first_line:
            table = CsvStream(path)
        require_columns(table, "subDirectory_filePath", "expression")
        tables.append((table, display_path(path, opts.root), split))

    def records() -> Iterator[Record]:
        for table, shown, split in tables:
            read = 0
            for i, cells, why in table.rows():
                read += 1
                if cells is None:
                    yield Record(file=shown, row=i, sample_id="", path="", label="", reason=why)
                    continue
                rel = cells["subDirectory_filePath"].strip()
                rec = Record(file=shown, row=i, sample_id=stem_id(rel), path=rel,
                             label=cells["expression"], split=split)
                for k in BOX + ["valence", "arousal"]:
                    if k in cells:
                        rec.extras[k] = cells[k].strip()
                if opts.use_face_box:
                    try:
                        rec.payload = parse_box(cells)
                    except ValueError as e:
                        rec.reason = str(e)
                yield rec
            if not read:
                raise ImportFailure(f"{table.path}: header only, no data rows")

    return Collected(records=records(), labels=spec(opts.affectnet_classes), image_root=image_root.resolve(),
                     source=str(opts.root), materialize=_crop if opts.use_face_box else None,
                     extra={"affectnet_classes": opts.affectnet_classes})
