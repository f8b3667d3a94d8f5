"""`python -m data_tools import --format FORMAT --root DIR --out DIR [...]`."""
from __future__ import annotations

import argparse
import sys
import types
from pathlib import Path

from data_tools import classes as C
from data_tools.importers import FORMATS, NothingImported, import_dataset
from data_tools.importers.base import NUMERIC_ORDERS, ImportOptions, listed


GENERIC = ("folders", "csv")  # the formats --classes and --vocabulary apply to


def _one_line_error(self: argparse.ArgumentParser, message: str) -> None:
    print(f"error: {message} (see {self.prog} --help)", file=sys.stderr)
    sys.exit(2)


def _classes(text: str) -> list[str]:
    return [c.strip() for c in text.split(",") if c.strip()]


def configure_parser(p: argparse.ArgumentParser) -> None:
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.epilog = "formats:\n" + "\n".join(f"  {name:11} {m.HELP}" for name, m in FORMATS.items())
    p.error = types.MethodType(_one_line_error, p)  # type: ignore[method-assign]
    p.add_argument("--format", required=True, choices=list(FORMATS), help="how the dataset is distributed")
    p.add_argument("--root", required=True, type=Path, help="the dataset as distributed")
    p.add_argument("--out", required=True, type=Path, help="the dataset folder to write (datasets/<name>)")
    p.add_argument("--replace", action="store_true",
                   help="replace the dataset --out holds (runs and audits that use it then read the new one); "
                        "the new folder is written beside it and swapped in only when the import succeeds")
    p.add_argument("--labels-only", action="store_true",
                   help="import the labels without checking images (rows keep their file names)")
    p.add_argument("--no-issues", dest="issues", action="store_false",
                   help="do not measure the images for issues.parquet (duplicates, leaks, unusable images); "
                        "faster on millions of rows; `python -m data_tools issues --dataset D` writes it later")
    p.add_argument("--crop-faces", action="store_true",
                   help="detect the largest face (OpenCV Haar cascade) and write crops into the dataset "
                        "folder; rows without a face go to the report")
    p.add_argument("--csv", type=Path, help="the label CSV (relative to --root); default depends on the format")
    p.add_argument("--classes", type=_classes,
                   help="comma-separated class list and order (folders, csv); any names, Unicode included")
    p.add_argument("--vocabulary", choices=("auto", *C.VOCABULARIES), default="auto",
                   help="folders/csv: 'expression' folds spellings onto the expression names (Anger -> "
                        "angry) and rejects other labels; 'open' keeps every label as a class name as "
                        "written; 'auto' (default) is expression when most labels (or all --classes) are "
                        "expression names")
    p.add_argument("--numeric-labels", choices=list(NUMERIC_ORDERS),
                   help="folders/csv: numeric labels are codes in this dataset's order")
    p.add_argument("--test-fraction", type=float, default=0.2,
                   help="fraction for test when the data has no split (default 0.2)")
    p.add_argument("--val-fraction", type=float, default=0.0, help="fraction for val (default 0)")
    p.add_argument("--group-regex", help=r"subject or video from the file name, e.g. '^(S\d+)_' for CK+; "
                                         "kept as `group`, splits keep groups apart")
    p.add_argument("--seed", type=int, default=0, help="seed of the split (default 0)")
    p.add_argument("--jobs", type=int, default=0, help="image-checking workers (default: twice the cores for decoding, processes; threads where the import writes the images)")
    for module in FORMATS.values():
        module.add_arguments(p)


def main(args: argparse.Namespace) -> int:
    fields = set(ImportOptions.__dataclass_fields__) - {"root", "out"}
    options = {k: v for k, v in vars(args).items() if k in fields and v is not None}
    try:
        result = import_dataset(args.format, args.root, args.out, **options)
    except NothingImported as e:
        _summary(args, e.result)
        raise
    _summary(args, result)
    return 0


def _summary(args: argparse.Namespace, result) -> None:
    c = result.counts
    splits = ", ".join(f"{s} {sum(n.values())}" for s, n in sorted(c["per_split"].items()))
    print(f"imported {c['imported']} of {c['read']} rows ({c['rejected']} rejected)"
          + (f" into {result.out}" if c["imported"] else "") + (f": {splits}" if splits else ""))
    classes, vocabulary = result.info.classes, result.info.extra.get("vocabulary", "expression")
    print(f"  {len(classes)} classes ({vocabulary} vocabulary): {listed(classes, 10)}")
    for reason, n in list(c.get("rejected_by_reason", {}).items())[:8]:
        print(f"  rejected {n}: {reason}")
    recoded = result.info.extra.get("recoded_cells")
    if recoded:
        print(f"  {recoded['count']:,} metadata cell(s) were not UTF-8: read as Windows-1252 (first: "
              f"{recoded['first']}; see dataset.json extra.recoded_cells)")
    if (args.format in GENERIC and vocabulary == "expression" and args.vocabulary == "auto"
            and any(r.startswith("label '...' is not one of") for r in c.get("rejected_by_reason", {}))):
        print("  (labels that are not expression names were rejected; --vocabulary open keeps every "
              "label as a class name)")
