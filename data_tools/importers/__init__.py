"""Dataset importers: each turns a dataset as distributed into a dataset folder (docs/ARCHITECTURE.md).

A format module reads its files into `Collected` rows (`collect(opts)`); `validate.check_and_write`
checks every row in one place, rejects bad ones with a reason in report.csv, and writes the folder.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from types import ModuleType
from typing import Any

from data_tools import faces, manifest
from data_tools.importers import (affectnet, affwild2, cifar100, csvfile, fer2013csv, ferplus, folders, rafdb,
                                  tinyimagenet)
from data_tools.importers.base import ImportFailure, ImportOptions
from data_tools.importers.validate import ImportResult, check_and_write

# format name -> module with NAME, HELP, add_arguments(parser) and collect(ImportOptions) -> Collected
FORMATS: dict[str, ModuleType] = {m.NAME: m for m in (rafdb, ferplus, affectnet, fer2013csv, folders, csvfile,
                                                      affwild2, cifar100, tinyimagenet)}

__all__ = ["FORMATS", "ImportFailure", "ImportOptions", "ImportResult", "import_dataset"]


def _check_out(opts: ImportOptions) -> None:
    out, root = opts.out.resolve(), opts.root.resolve()
    if out == root:
        raise ImportFailure(f"--out {opts.out} is the --root folder; choose a new folder for the dataset")
    if out.exists() and not out.is_dir():
        raise ImportFailure(f"--out {opts.out} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / manifest.INFO).is_file():
        raise ImportFailure(f"--out {opts.out} is not empty and is not a dataset folder; choose a new folder")


def import_dataset(fmt: str, root: str | Path, out: str | Path, **options: Any) -> ImportResult:
    """Import `root` (a dataset in format `fmt`) into the dataset folder `out`.

    Options are ImportOptions fields. Raises ImportFailure (one line) when nothing can be imported;
    rows that cannot be imported are listed in `out`/report.csv with their reason.
    """
    if fmt not in FORMATS:
        raise ImportFailure(f"unknown format '{fmt}' (one of: {', '.join(FORMATS)})")
    opts = ImportOptions(root=Path(os.path.abspath(root)), out=Path(os.path.abspath(out)), **options)
    if not opts.root.exists():
        raise ImportFailure(f"{opts.root}: no such folder")
    if opts.crop_faces and opts.labels_only:
        raise ImportFailure("--crop-faces needs the images; it cannot be combined with --labels-only")
    if opts.crop_faces and opts.use_face_box:
        raise ImportFailure("--crop-faces and --use-face-box both crop; choose one")
    _check_out(opts)
    if opts.crop_faces:
        try:
            faces.detector_ready()
        except faces.FaceDetectorError as e:
            raise ImportFailure(f"--crop-faces: {e}") from None
    collected = FORMATS[fmt].collect(opts)
    collected.extra.setdefault("options", json.loads(json.dumps(
        {k: v for k, v in vars(opts).items() if k not in ("root", "out")}, default=str)))
    return check_and_write(collected, opts, fmt)
