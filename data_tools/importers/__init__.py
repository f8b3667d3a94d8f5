"""Dataset importers: each turns a dataset as distributed into a dataset folder (docs/ARCHITECTURE.md).

A format module reads its files into `Collected` rows (`collect(opts)`); `validate.check_and_write`
checks every row in one place, rejects bad ones with a reason in report.csv, and writes the folder.
"""
from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from types import ModuleType
from typing import Any

from data_tools import faces, manifest
from data_tools.importers import (affectnet, affwild2, cifar100, csvfile, fer2013csv, ferplus, folders, rafdb,
                                  staging, tinyimagenet)
from data_tools.importers.base import ImportFailure, ImportOptions
from data_tools.importers.validate import ImportResult, check_and_write

# format name -> module with NAME, HELP, add_arguments(parser) and collect(ImportOptions) -> Collected
FORMATS: dict[str, ModuleType] = {m.NAME: m for m in (rafdb, ferplus, affectnet, fer2013csv, folders, csvfile,
                                                      affwild2, cifar100, tinyimagenet)}

__all__ = ["FORMATS", "ImportFailure", "ImportOptions", "ImportResult", "NothingImported", "import_dataset"]


class NothingImported(ImportFailure):
    """Every row was rejected: no dataset is written (an existing one is left as it was); the rows
    and their reasons are in `rejected_report` beside the destination. `result` has the counts."""

    def __init__(self, message: str, result: ImportResult):
        super().__init__(message)
        self.result = result


def rejected_report_path(out: Path) -> Path:
    """Where an import that imported nothing leaves its report: `<out>.rejected.csv`, beside `out`."""
    return out.with_name(out.name + ".rejected.csv")


def _existing(out: Path) -> str:
    """'the dataset 'name' (N images)' for the dataset folder `out`, as far as its dataset.json tells."""
    try:
        info = manifest.read_info(out)
    except (OSError, ValueError):
        return "a dataset"
    n = info.counts.get("imported") if isinstance(info.counts, dict) else None
    return f"the dataset '{info.name or out.name}'" + (f" ({n:,} images)" if isinstance(n, int) else "")


def _check_out(opts: ImportOptions) -> None:
    out, root = opts.out.resolve(), opts.root.resolve()
    if out == root:
        raise ImportFailure(f"--out {opts.out} is the --root folder; choose a new folder for the dataset")
    if out.exists() and not out.is_dir():
        raise ImportFailure(f"--out {opts.out} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / manifest.INFO).is_file():
        raise ImportFailure(f"--out {opts.out} is not empty and is not a dataset folder; choose a new folder")
    if (out / manifest.INFO).is_file() and not opts.replace:
        raise ImportFailure(f"--out {opts.out} already holds {_existing(out)}; pass --replace to replace it")


def import_dataset(fmt: str, root: str | Path, out: str | Path, **options: Any) -> ImportResult:
    """Import `root` (a dataset in format `fmt`) into the dataset folder `out`.

    Options are ImportOptions fields. Raises ImportFailure (one line) when nothing can be imported
    (NothingImported when every row was rejected); rows that cannot be imported are listed in
    `out`/report.csv with their reason. The folder is written beside `out` and swapped in only when
    the import succeeded (`staging`); an existing dataset at `out` is replaced only with replace=True.
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
        {k: v for k, v in vars(opts).items() if k not in ("root", "out", "replace")}, default=str)))
    existed = (opts.out / manifest.INFO).is_file()
    rejected = rejected_report_path(opts.out)
    try:
        with staging.staged(opts.out, replace=opts.replace) as work:
            result = check_and_write(collected, dataclasses.replace(opts, out=work), fmt, name=opts.out.name)
            if result.counts["imported"] == 0:
                os.replace(work / manifest.REPORT, rejected)
                raise NothingImported(
                    f"no rows imported from {collected.source}: all {result.counts['read']} rows were rejected "
                    f"(reasons in {rejected}); "
                    + (f"{opts.out} was not changed" if existed else "no dataset was written"),
                    ImportResult(out=opts.out, info=result.info))
    except staging.DestinationTaken:
        raise ImportFailure(f"--out {opts.out} already holds {_existing(opts.out)} (written while this "
                            "import ran); pass --replace to replace it") from None
    except OSError as e:   # a full disk, a read-only folder: named as the file it was to become
        where = staging.unstaged(str(e.filename), opts.out) if e.filename else ""
        raise ImportFailure(f"{opts.out}: the import failed ({e.strerror or e}{': ' + where if where else ''}); "
                            + ("the dataset there was not changed" if existed else "no dataset was written")
                            ) from None
    rejected.unlink(missing_ok=True)      # the report of an earlier import that failed
    return ImportResult(out=opts.out, info=result.info)
