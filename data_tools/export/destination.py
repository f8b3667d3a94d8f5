"""The destination guard: an export never overwrites what it reads, nor any run's or audit's files.

`check_destination` refuses, symlinks followed, a destination that is (or, for a manifest folder, holds
or writes into) the audit database, a file of the run, the dataset folder or its files, the file the
dataset was imported from, one of its images, or the scores file it reads; and, whatever the caller
names, any run folder or a contract file of one (data_tools.rundir), an SQLite database (an audit kept
anywhere), or another dataset's manifest.csv, dataset.json or report.csv. `export` writes one format
through it; `write_beside_dataset` puts an export next to the dataset folder."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

import pandas as pd

from data_tools.export.errors import ExportError
from data_tools.export.formats import (_FILE_RENDERERS, BESIDE_NAMES, FORMATS, _write, export_manifest,
                                       export_rafdb_list)
from data_tools.manifest import INFO, MANIFEST, REPORT, Dataset
from data_tools.rundir import FILES, RunDir


def _real(path: str | os.PathLike) -> Path:
    return Path(os.path.realpath(os.fspath(path)))


def _guarded_paths(dataset: Dataset, audit: str | os.PathLike | None, runs: Iterable[str | os.PathLike],
                   scores: str | os.PathLike | None = None) -> tuple[dict[Path, str], dict[Path, str]]:
    """(files, folders) an export reads or owns, as real paths -> what they are (for the message)."""
    files: dict[Path, str] = {}
    folders: dict[Path, str] = {}
    root = Path(dataset.root)
    folders[_real(root)] = "the dataset folder"
    for name in (MANIFEST, INFO, REPORT):
        files[_real(root / name)] = f"the dataset's {name}"
    extra = dataset.info.extra or {}
    for source in (dataset.info.source, extra.get("list"), extra.get("noisy_list")):
        if isinstance(source, str) and source and Path(source).is_file():
            files[_real(source)] = "the file the dataset was imported from"
    for r in runs:
        run = RunDir(r)
        folders[_real(run.path)] = "the run folder"
        for key, name in FILES.items():
            (folders if key in ("history", "cache") else files)[_real(run.path_of(key))] = f"the run's {name}"
    if audit is not None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            files[_real(f"{os.fspath(audit)}{suffix}")] = "the audit database"
    if scores is not None:
        files[_real(scores)] = "the scores file this export reads"
    return files, folders


_SQLITE_HEADER = b"SQLite format 3\x00"
_SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def _is_sqlite(path: Path) -> bool:
    """True for a regular file that starts with SQLite's header (an audit database, wherever it is)."""
    try:
        if not path.is_file():
            return False
        with open(path, "rb") as f:
            return f.read(len(_SQLITE_HEADER)) == _SQLITE_HEADER
    except OSError:
        return False


def _belongs_to_a_run_or_audit(target: Path) -> str | None:
    """What `target` (a real path) is when it is any run's folder or contract file, anything inside a
    run's history or cache folder, an SQLite database or one of its side files, or a contract file of
    a dataset folder; None otherwise. Needs nothing from the caller, so every export is guarded."""
    if RunDir(target).is_run():
        return f"the run folder {target.name}"
    parent = target.parent
    if target.name in FILES.values() and RunDir(parent).is_run():
        return f"run {parent.name}'s {target.name}"
    for folder in target.parents:
        if folder.name in (FILES["history"], FILES["cache"]) and RunDir(folder.parent).is_run():
            return f"inside run {folder.parent.name}'s {folder.name} folder"
    side = next((s for s in _SQLITE_SIDE_FILES if target.name.endswith(s)), "")
    if _is_sqlite(target) or (side and _is_sqlite(target.with_name(target.name[:-len(side)]))):
        return "an SQLite database (an audit?)"
    if target.name in (MANIFEST, INFO, REPORT) and (parent / INFO).is_file():
        return f"dataset {parent.name}'s {target.name}"
    return None


def check_destination(kind: str, out: str | os.PathLike, dataset: Dataset, *,
                      audit: str | os.PathLike | None = None, runs: Iterable[str | os.PathLike] = (),
                      scores: str | os.PathLike | None = None) -> None:
    """ExportError when writing `out` would overwrite (or `out` is a folder holding) the audit database,
    a file of the run, the dataset folder or its files, the file it was imported from, one of its
    images or the scores file; or when `out` is any run's folder or contract file, an SQLite database,
    or another dataset's contract file (see the module doc). Symlinks are followed, so a link to the
    audit is refused too."""
    files, folders = _guarded_paths(dataset, audit, runs, scores)
    real = _real(out)
    written = [real / n for n in (MANIFEST, INFO, REPORT)] if kind == "manifest" else [real]
    guarded = {**files, **folders}
    for target in [real, *written]:
        what = guarded.get(target)
        if what is None:
            holder = next((p for p in guarded if target in p.parents), None)
            inside = next((p for p in folders if p in target.parents and p.name in ("history", "cache")), None)
            what = (f"a folder holding {guarded[holder]}" if holder is not None and target == real
                    else guarded[inside] if inside is not None else None)
        if what is None:
            image_root = _real(dataset.image_root)
            if image_root in target.parents:
                rel = target.relative_to(image_root).as_posix()
                if (dataset.manifest["path"].astype(str).str.replace("\\", "/", regex=False) == rel).any():
                    what = "one of the dataset's images"
        if what is None and target == real:
            what = _belongs_to_a_run_or_audit(target)
        if what is not None:
            raise ExportError(f"{out}: is {what}; refusing to overwrite it (choose another --out)")


def export(kind: str, table: pd.DataFrame, dataset: Dataset, out: str | os.PathLike, *,
           audit_info: dict | None = None, audit: str | os.PathLike | None = None,
           runs: Iterable[str | os.PathLike] = (), scores: str | os.PathLike | None = None) -> Path:
    """Write one export format to `out` (a file; a folder for `manifest`) through check_destination.
    `audit`, `runs` and `scores` name what this export reads, refused as destinations like the dataset
    (with their own names in the message); any run's files and any audit are refused without them."""
    if kind not in FORMATS:
        raise ExportError(f"unknown export format '{kind}' (one of: {', '.join(FORMATS)})")
    out = Path(out)
    runs = list(runs) + ([Path(audit).parent] if audit is not None else [])
    check_destination(kind, out, dataset, audit=audit, runs=runs, scores=scores)
    if kind == "manifest":
        return export_manifest(table, dataset, out, audit_info=audit_info)
    if out.is_dir():
        raise ExportError(f"{out}: is a folder; give a file name for the {kind} export")
    if kind == "rafdb":
        return export_rafdb_list(table, out, dataset)
    return _write(out, _FILE_RENDERERS[kind](table))


def write_beside_dataset(kind: str, table: pd.DataFrame, dataset: Dataset, *,
                         audit_info: dict | None = None) -> Path:
    """Write an export next to the dataset folder: `<parent>/<name>-corrected...`."""
    root = Path(dataset.root).resolve()
    if kind not in BESIDE_NAMES:
        raise ExportError(f"unknown export format '{kind}' (one of: {', '.join(FORMATS)})")
    return export(kind, table, dataset, root.parent / BESIDE_NAMES[kind].format(name=root.name),
                  audit_info=audit_info)
