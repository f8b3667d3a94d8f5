"""The one place where rows are checked, rejected with a reason, split and written.

Order of checks (the first that fails gives the row's reason in report.csv):
1. the importer's own format rule (`Record.reason`, e.g. a FERPlus tie);
2. labels (`label` and any label column such as `true_label`);
3. sample_id and path: empty, not valid UTF-8, leaving the root (`..`, absolute, symlink);
4. file name against `--group-regex`;
5. the same image listed twice: with different labels every listing is rejected as a conflict
   (no label can be trusted over another); with the same label the first listing is kept and the
   others are reported as duplicates; then a sample_id used by two different images (first kept);
6. images (unless --labels-only): missing file, unreadable image, no face found (--crop-faces);
7. the seeded split of rows that have none.
Imported + rejected always equals read.
"""
from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import pandas as pd

from data_tools import faces, manifest
from data_tools.images import ImageError, load_image, printable, probe_image, write_image
from data_tools.importers.base import Collected, ImportFailure, ImportOptions, Record, is_utf8
from data_tools.importers.splits import assign_splits
from data_tools.paths import PathEscapeError, RootGuard

CROPS = "crops"  # folder in the dataset folder for face crops
_BREAK = re.compile(r"[\r\n]")


@dataclass
class ImportResult:
    """What an import wrote: the folder, its manifest and report, and the counts."""
    out: Path
    manifest: pd.DataFrame
    report: pd.DataFrame
    info: manifest.DatasetInfo

    @property
    def counts(self) -> dict:
        return self.info.counts


def _where(rec: Record) -> str:
    return f"row {rec.row}" if rec.row != "" else f"'{rec.path}'"


class _Checker:
    """Runs the checks over the records, keeping every rejected one with its reason."""

    def __init__(self, col: Collected, opts: ImportOptions):
        self.col, self.opts = col, opts
        self.rejected: dict[int, str] = {}    # record index -> reason
        self.labels: dict[int, dict[str, str]] = {}  # record index -> resolved label columns

    def alive(self) -> list[int]:
        return [i for i in range(len(self.col.records)) if i not in self.rejected]

    def reject(self, i: int, reason: str) -> None:
        self.rejected.setdefault(i, reason)

    def format_rules(self) -> None:
        for i, rec in enumerate(self.col.records):
            if rec.reason:
                self.reject(i, rec.reason)

    def labels_(self) -> None:
        spec = self.col.labels
        for i in self.alive():
            rec = self.col.records[i]
            name, why = spec.resolve(rec.label)
            if why:
                self.reject(i, why)
                continue
            resolved = {"label": name}
            for column in self.col.label_columns:
                if column in rec.extras:
                    other, why = spec.resolve(rec.extras[column])
                    if why:
                        self.reject(i, f"{column}: {why}")
                        break
                    resolved[column] = other
            self.labels[i] = resolved

    def ids_and_paths(self) -> None:
        guard = RootGuard(self.col.image_root) if self.col.image_root is not None else None
        for i in self.alive():
            rec = self.col.records[i]
            if not rec.sample_id.strip():
                self.reject(i, "empty sample_id")
            elif not is_utf8(rec.path) or not is_utf8(rec.sample_id):
                self.reject(i, "file name is not valid UTF-8")
            elif what := next((k for k, v in (("sample_id", rec.sample_id), ("path", rec.path))
                               if _BREAK.search(v)), None):
                self.reject(i, f"{what} contains a line break (a manifest row cannot hold it)")
            elif not rec.path.strip():
                self.reject(i, "empty path")
            elif guard is not None:
                try:
                    rec.path = guard.relative(rec.path)
                except PathEscapeError as e:
                    self.reject(i, e.reason)

    def groups(self) -> None:
        if not self.opts.group_regex:
            return
        try:
            rx = re.compile(self.opts.group_regex)
        except re.error as e:
            raise ImportFailure(f"--group-regex '{self.opts.group_regex}' is not a valid regular "
                                f"expression ({e})") from None
        for i in self.alive():
            rec = self.col.records[i]
            if rec.extras.get("group"):
                continue
            m = rx.search(os.path.basename(rec.path))
            if not m:
                self.reject(i, f"file name does not match --group-regex '{self.opts.group_regex}'")
            else:
                rec.extras["group"] = m.group(1) if rx.groups else m.group(0)

    def duplicates(self) -> None:
        recs = self.col.records
        by_path: dict[str, list[int]] = {}
        for i in self.alive():
            by_path.setdefault(recs[i].path, []).append(i)
        for idx in by_path.values():
            if len(idx) < 2:
                continue
            if len({self.labels[i]["label"] for i in idx}) > 1:
                for i in idx:
                    others = "; ".join(f"'{recs[j].label}' ({_where(recs[j])})" for j in idx if j != i)
                    self.reject(i, f"conflict: the same image is also listed as {others}")
            else:
                for i in idx[1:]:
                    self.reject(i, f"duplicate: the same image is already listed ({_where(recs[idx[0]])})")
        first: dict[str, int] = {}
        for i in self.alive():
            sid = recs[i].sample_id
            if sid in first:
                self.reject(i, f"duplicate sample_id '{sid}' (first at {_where(recs[first[sid]])})")
            else:
                first[sid] = i

    def images(self) -> None:
        col, opts = self.col, self.opts
        if col.image_root is None and col.materialize is None:
            return
        if col.image_root is not None and opts.labels_only:
            return
        todo = self.alive()
        workers = opts.jobs or min(8, 2 * (os.cpu_count() or 2))
        if len(todo) < 32:
            results = [self._image_task(col.records[i]) for i in todo]
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                results = list(pool.map(self._image_task, (col.records[i] for i in todo)))
        for i, (new_path, why) in zip(todo, results):
            if why:
                self.reject(i, why)
            else:
                col.records[i].path = new_path

    def _image_task(self, rec: Record) -> tuple[str, str | None]:
        col, opts = self.col, self.opts
        src = None
        if col.image_root is not None:
            src = col.image_root / rec.path
            if not src.exists():
                return rec.path, "missing file"
            if not src.is_file():
                return rec.path, "not a file"
        try:
            if col.materialize is not None:
                return col.materialize(rec, src, opts.out), None
            if not opts.crop_faces:
                why = probe_image(src)
                return rec.path, (f"unreadable image: {why}" if why else None)
            crop = faces.crop_face(load_image(src))
            if crop is None:
                return rec.path, "no face found"
            new_path = f"{CROPS}/{rec.path}"
            write_image(opts.out / new_path, crop)
            return new_path, None
        except ImageError as e:
            return rec.path, f"unreadable image: {e.reason}"
        except ValueError as e:  # a materialize rule (bad pixels, a face box outside the image)
            return rec.path, printable(str(e))
        except (cv2.error, MemoryError) as e:  # an image OpenCV or numpy cannot handle: this row only
            return rec.path, f"cannot process image ({type(e).__name__}: {printable(str(e).strip())[:200]})"


def _reason_kind(reason: str) -> str:
    return re.sub(r"row \d+", "row N", re.sub(r"'[^']*'", "'...'", reason))


def check_and_write(col: Collected, opts: ImportOptions, fmt: str) -> ImportResult:
    """Validate the collected rows, split them, and write the dataset folder."""
    chk = _Checker(col, opts)
    chk.format_rules()
    chk.labels_()
    chk.ids_and_paths()
    chk.groups()
    chk.duplicates()
    chk.images()
    kept = chk.alive()
    recs = col.records
    needs_split = [i for i in kept if recs[i].split is None]
    if needs_split:
        groups = [recs[i].extras.get("group") for i in needs_split] if opts.group_regex or any(
            recs[i].extras.get("group") for i in needs_split) else None
        splits = assign_splits([chk.labels[i]["label"] for i in needs_split], groups=groups,
                               test_fraction=opts.test_fraction, val_fraction=opts.val_fraction,
                               seed=opts.seed)
        for i, s in zip(needs_split, splits):
            recs[i].split = s
    rows = []
    for i in kept:
        r = recs[i]
        row = {"sample_id": r.sample_id, "path": r.path, "label": chk.labels[i]["label"], "split": r.split}
        row.update({k: printable(v) if isinstance(v, str) else v for k, v in r.extras.items()})
        row.update(chk.labels[i])
        rows.append(row)
    man = pd.DataFrame(rows, columns=_columns(rows)).fillna("")
    report = pd.DataFrame(
        [{"file": printable(recs[i].file), "row": recs[i].row, "sample_id": printable(recs[i].sample_id),
          "path": printable(recs[i].path), "label": printable(recs[i].label), "reason": printable(why)}
         for i, why in sorted(chk.rejected.items())], columns=manifest.REPORT_COLUMNS)
    if len(man) + len(report) != len(recs):  # the promise of the report; never expected to break
        raise RuntimeError(f"internal: {len(man)} imported + {len(report)} rejected != {len(recs)} read")
    made_here = col.image_root is None or opts.crop_faces or col.materialize is not None
    image_root = "." if made_here else str(col.image_root)
    counts = manifest.counts_of(man, n_rejected=len(report))
    counts["rejected_by_reason"] = report["reason"].map(_reason_kind).value_counts().to_dict()
    info = manifest.DatasetInfo(classes=list(col.labels.classes), image_root=image_root, format=fmt,
                                counts=counts, source=col.source,
                                extra={"vocabulary": col.labels.vocabulary, **col.extra})
    manifest.write_dataset(opts.out, man, info, report)
    return ImportResult(out=opts.out, manifest=man, report=report, info=info)


def _columns(rows: list[dict]) -> list[str]:
    cols = list(manifest.REQUIRED_COLUMNS)
    for row in rows:
        cols.extend(k for k in row if k not in cols)
    return cols
