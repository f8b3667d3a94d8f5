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

import codecs
import errno
import os
import pickle
import re
import stat
import tempfile
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, fields
from functools import cached_property
from itertools import islice
from operator import attrgetter
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from data_tools import faces, issues, malloc, manifest, readahead
from data_tools.images import ImageError, load_image, printable, probe_image, write_image
from data_tools.importers.base import Collected, ImportFailure, ImportOptions, Record, fingerprint, is_utf8
from data_tools.importers.splits import assign_splits
from data_tools.paths import PathEscapeError, RootGuard

CROPS = "crops"  # folder in the dataset folder for face crops
# A metadata cell that is not UTF-8 (one column of a spreadsheet saved as Latin-1) is read as
# Windows-1252, the five bytes it leaves undefined as Latin-1; dataset.json's extra.recoded_cells
# counts them. Paths, sample ids and labels are not recoded: they are rejected with their row.
RECODE_AS = "cp1252"
codecs.register_error("data_tools_latin1", lambda e: (e.object[e.start:e.end].decode("latin-1"), e.end))


def recoded(text: str) -> str:
    """`text` read with surrogateescape and holding undecodable bytes, decoded as Windows-1252."""
    return text.encode("utf-8", "surrogateescape").decode(RECODE_AS, "data_tools_latin1")


@dataclass
class ImportResult:
    """What an import wrote: the folder, its counts, and its manifest and report (read from the folder
    when first asked for: a large import is never held in memory whole)."""
    out: Path
    info: manifest.DatasetInfo

    @property
    def counts(self) -> dict:
        return self.info.counts

    @cached_property
    def manifest(self) -> pd.DataFrame:
        return manifest.read_manifest_csv(self.out / manifest.MANIFEST)

    @cached_property
    def report(self) -> pd.DataFrame:
        report = manifest.read_manifest_csv(self.out / manifest.REPORT)
        report["row"] = [int(r) if r.isdigit() else r for r in report["row"]]
        return report


def _where(row: int | str, path: str) -> str:
    return f"row {row}" if row != "" else f"'{path}'"


class _Checker:
    """The checks of one row (rules 1-4 and 6 above); the rules across rows are in `check_and_write`."""

    def __init__(self, col: Collected, opts: ImportOptions):
        self.col, self.opts = col, opts
        self.guard = RootGuard(col.image_root) if col.image_root is not None else None
        self.dirs: dict[str, str] = {}   # resolved folders, for the guard (one pass)
        self.group_rx = None
        if opts.group_regex:
            try:
                self.group_rx = re.compile(opts.group_regex)
            except re.error as e:
                raise ImportFailure(f"--group-regex '{opts.group_regex}' is not a valid regular "
                                    f"expression ({e})") from None
        self.checks_images = col.materialize is not None or (col.image_root is not None and not opts.labels_only)
        # the import writes each row's image into the dataset folder (a crop, FER2013 pixels, ...)
        self.writes_images = col.image_root is None or opts.crop_faces or col.materialize is not None

    def row(self, rec: Record) -> tuple[str | None, dict[str, str]]:
        """(reason, {}) for a row that breaks rules 1-4, else (None, its label columns resolved).
        The path becomes its checked form relative to the image root; the group may come from the name."""
        if rec.reason:
            return rec.reason, {}
        spec = self.col.labels
        name, why = spec.resolve(rec.label)
        if why:
            return why, {}
        resolved = {"label": name}
        for column in self.col.label_columns:
            if column in rec.extras:
                other, why = spec.resolve(rec.extras[column])
                if why:
                    return f"{column}: {why}", {}
                resolved[column] = other
        if not rec.sample_id.strip():
            return "empty sample_id", {}
        if not is_utf8(rec.path) or not is_utf8(rec.sample_id):
            return "file name is not valid UTF-8", {}
        for what, value in (("sample_id", rec.sample_id), ("path", rec.path)):
            problem = manifest.text_problem(value)
            if problem is not None and problem.startswith("contains a line break"):
                return f"{what} contains a line break (a manifest row cannot hold it)", {}
            if problem is not None:
                return f"{what} {problem}: it can make two names look alike", {}
        if not rec.path.strip():
            return "empty path", {}
        if self.guard is not None:
            try:
                rec.path = self.guard.relative(rec.path, self.dirs)
            except PathEscapeError as e:
                return e.reason, {}
        if self.group_rx is not None and not rec.extras.get("group"):
            m = self.group_rx.search(os.path.basename(rec.path))
            if not m:
                return f"file name does not match --group-regex '{self.opts.group_regex}'", {}
            rec.extras["group"] = m.group(1) if self.group_rx.groups else m.group(0)
        return None, resolved

    def image(self, rec: Record) -> tuple[str, str | None]:
        """(the row's path in the dataset, None) or (its path, the reason its image is refused)."""
        col, opts = self.col, self.opts
        if not self.writes_images:
            return rec.path, source_problem(col.image_root / rec.path)
        src = None
        if col.image_root is not None:
            src = col.image_root / rec.path
            if why := _missing(src):
                return rec.path, why
        try:
            if col.materialize is not None:
                return col.materialize(rec, src, opts.out), None
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
            return rec.path, _cannot_process(e)


def _missing(src: str | os.PathLike) -> str | None:
    """"missing file", "not a file" (a folder, a FIFO that would block the decoder, a device), or None,
    from one stat (exists() then is_file() took two: 11 against 8 us a file). A path that cannot be
    looked up for another reason (permission denied) gets None here and its reason from load_image."""
    try:
        mode = os.stat(src).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return "missing file"
    except OSError as e:        # a name over the file system's limit once stopped the whole import
        return ("file name too long" if e.errno == errno.ENAMETOOLONG
                else "missing file" if e.errno in (errno.EBADF, errno.ELOOP) else None)
    return None if stat.S_ISREG(mode) else "not a file"


def _cannot_process(e: BaseException) -> str:
    return f"cannot process image ({type(e).__name__}: {printable(str(e).strip())[:200]})"


def source_problem(src: str | os.PathLike) -> str | None:
    """Why the image file `src` cannot be imported as it is (missing, not a file, does not decode),
    or None. A plain function of the path, so that worker processes can run it."""
    src = Path(src)
    try:
        if why := _missing(src):
            return why
        why = probe_image(src)
    except (cv2.error, MemoryError) as e:
        return _cannot_process(e)
    return f"unreadable image: {why}" if why else None


def _decoded(src: str | os.PathLike) -> tuple[str | None, np.ndarray | None]:
    try:
        if why := _missing(src):
            return why, None
        return None, load_image(src)
    except ImageError as e:
        return f"unreadable image: {e.reason}", None
    except (cv2.error, MemoryError) as e:
        return _cannot_process(e), None


def source_checks(srcs: list[str], ahead: list[str] | None = None) -> list[tuple[str | None, bytes]]:
    """`source_problem` of each image file and, for an image that decodes, its issue measurements
    (`issues.signatures_of`, measured together; b"" for the others), from one decode. `readahead` of
    `ahead` first (of `srcs` when None: a worker is handed the next batch's files to ask for)."""
    readahead.read_ahead(srcs if ahead is None else ahead)
    done = [_decoded(s) for s in srcs]
    ok = [i for i, (why, im) in enumerate(done) if why is None]
    try:
        measured = dict(zip(ok, issues.signatures_of([done[i][1] for i in ok])))
    except (cv2.error, MemoryError, ValueError):        # measurements are optional: the check stands
        measured = {}
    return [(why, measured.get(i, b"")) for i, (why, _) in enumerate(done)]


def source_check(src: str | os.PathLike) -> tuple[str | None, bytes]:
    """`source_checks` of one file."""
    return source_checks([str(src)])[0]


def _unmeasured(srcs: list[str], ahead: list[str] | None = None) -> list[tuple[str | None, bytes]]:
    """`source_checks` without the measurements (import --no-issues)."""
    readahead.read_ahead(srcs if ahead is None else ahead)
    return [(source_problem(s), b"") for s in srcs]


class _ImageChecks:
    """Rule 6 for a chunk's rows. Decoding to check (the common case) runs in worker processes:
    it is CPU-bound and holds the GIL (threads measured 3x slower than one thread on 48-px PNGs).
    `submit` hands a chunk to the workers and returns at once (an iterator over their answers), so
    that the main process checks the next chunk's rows while they decode this one. Rows whose image the import
    writes (a face crop, an importer's own image) run in threads, since they call back into the
    importer, and are done within `submit`. Few rows run here, without workers."""
    MIN_PROCESS_BATCH = 500
    BATCH = 64          # files per worker task, measured together (16: 4x the tasks to send and collect)

    def __init__(self, chk: _Checker, jobs: int):
        self.chk = chk
        self.processes = jobs or 2 * (os.cpu_count() or 1)   # one reads a file while another decodes
        self.threads = jobs or min(8, 2 * (os.cpu_count() or 2))
        self.pool: Executor | None = None

    def submit(self, recs: list[Record]) -> Iterator[tuple[str, str | None, bytes]]:
        """(path in the dataset, reason or None, issue measurements or b"") of each record, in order:
        an iterator whose first step waits for the workers."""
        chk = self.chk
        if not chk.writes_images:
            root = str(chk.col.image_root)      # r.path is checked and normalised: a plain join
            srcs = [os.path.join(root, r.path) for r in recs]
            check = source_checks if chk.opts.issues else _unmeasured
            batches = [srcs[i:i + self.BATCH] for i in range(0, len(srcs), self.BATCH)]
            if len(recs) < self.MIN_PROCESS_BATCH or self.processes < 2:
                done: Iterable[list] = [check(b) for b in batches]
            else:
                self.pool = self.pool or ProcessPoolExecutor(self.processes, initializer=malloc.keep_freed)
                done = self.pool.map(check, batches, readahead.plan(batches, self.processes))   # collected when iterated
            return ((r.path, why, sig) for r, (why, sig) in zip(recs, (x for rs in done for x in rs)))
        if len(recs) < 32:
            written = [chk.image(r) for r in recs]
        else:
            self.pool = self.pool or ThreadPoolExecutor(self.threads)
            written = list(self.pool.map(chk.image, recs))
        return ((path, why, b"") for path, why in written)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()


@dataclass
class _Entry:
    """A row as it waits in the spool: the record after rules 1-4 and, if checked, its image."""
    rec: Record
    labels: dict[str, str]           # resolved label columns ({} when rejected by rules 1-4)
    path: str                        # the record's path in the dataset (a crop's or a written image's)


class _Ledger:
    """What must be known of every row across chunks, in a few bytes per row: fingerprints of its path
    and sample_id, its class, split, group and image state, and the reasons of rejected rows."""
    IMAGE_UNCHECKED, IMAGE_OK, IMAGE_BAD = 0, 1, 2

    def __init__(self) -> None:
        self.path_fp, self.id_fp = array("Q"), array("Q")
        self.label = array("i")       # class index; -1: rejected by rules 1-4
        self.split = array("b")       # index in manifest.SPLITS; -1: none given
        self.group = array("i")       # index in group_names; -1: none
        self.image = array("b")
        self.measured = bytearray()   # issues.SIGNATURE record per row (EMPTY: not measured)
        self.columns = array("i")     # index in column_sets: the extra manifest columns of the row
        self.group_names: dict[str, int] = {}
        self.column_sets: dict[tuple[str, ...], int] = {}
        self.reason: dict[int, str] = {}        # rules 1-4
        self.image_reason: dict[int, str] = {}  # rule 6

    def __len__(self) -> int:
        return len(self.label)

    def release(self) -> None:
        """Drop what only the pass and rule 5 needed (fingerprints, groups, column sets, reasons: 24 bytes
        a row, 48 MB at 2,000,000 rows by their sizes); `label`, `split`, `image` and `measured` stay for
        the issues step."""
        self.path_fp, self.id_fp, self.group, self.columns = array("Q"), array("Q"), array("i"), array("i")
        self.reason, self.image_reason, self.group_names, self.column_sets = {}, {}, {}, {}

    def add(self, rec: Record, why: str | None, labels: dict[str, str], classes: dict[str, int]) -> int:
        i = len(self)
        if why is not None:
            self.reason[i] = why
        self.path_fp.append(fingerprint(rec.path) if why is None else 0)
        self.id_fp.append(fingerprint(rec.sample_id) if why is None else 0)
        self.label.append(classes[labels["label"]] if why is None else -1)
        self.split.append(SPLIT_INDEX.get(rec.split, -1))
        group = rec.extras.get("group")
        self.group.append(-1 if group is None else self.group_names.setdefault(group, len(self.group_names)))
        self.image.append(self.IMAGE_UNCHECKED)
        self.measured += _UNMEASURED
        keys = tuple(k for k in (*rec.extras, *labels) if k not in manifest.REQUIRED_COLUMNS)
        self.columns.append(self.column_sets.setdefault(keys, len(self.column_sets)))
        return i


SPLIT_INDEX = {name: i for i, name in enumerate(manifest.SPLITS)}
_UNMEASURED = issues.EMPTY.tobytes()
_SIG = len(_UNMEASURED)
CHUNK = 5_000      # rows checked (and their images decoded in parallel) at a time


def _chunks(items: Iterable[Record]) -> Iterator[list[Record]]:
    it = iter(items)
    while chunk := list(islice(it, CHUNK)):
        yield chunk


_RECORD = attrgetter(*(f.name for f in fields(Record)))   # a Record's fields as a tuple, in order


def _spool(entries: list[_Entry], spool) -> None:
    """Append a chunk's entries to the spool as plain tuples: 0.7 + 2.8 us a row to write and read
    back, against 4.4 + 7.9 for the dataclasses (2,000,000 rows are read back after the pass)."""
    pickle.dump([(_RECORD(e.rec), e.labels, e.path) for e in entries], spool, protocol=pickle.HIGHEST_PROTOCOL)


def _spooled(spool) -> Iterator[_Entry]:
    spool.seek(0)
    while True:
        try:
            chunk = pickle.load(spool)
        except EOFError:
            return
        for rec, labels, path in chunk:
            yield _Entry(Record(*rec), labels, path)


def _repeated(fp: array, alive: np.ndarray) -> np.ndarray:
    """Indices (ascending) of the live rows whose fingerprint another live row shares."""
    idx = np.flatnonzero(alive)
    _, inverse, counts = np.unique(np.frombuffer(fp, np.uint64)[idx], return_inverse=True, return_counts=True)
    return idx[counts[inverse] > 1]


def _reason_kind(reason: str) -> str:
    kind = re.sub(r"row \d+", "row N", re.sub(r"'[^']*'", "'...'", reason))
    return re.sub(r"and [\d,]+ more listings$", "and N more listings", kind)


CONFLICT_EXAMPLES = 3   # other listings a conflicting row's reason names (the rest are counted)


def check_and_write(col: Collected, opts: ImportOptions, fmt: str, name: str = "") -> ImportResult:
    """Validate the collected rows, split them, and write the dataset folder `opts.out` (`name`: the
    dataset's name in dataset.json, when the folder is a staging folder named otherwise).

    One pass over the rows, a chunk at a time: rules 1-4, then the images of rows whose path and
    sample_id are new (a repeated one is rejected by rule 5 whatever its image), in parallel and while
    the next chunk's rows go through rules 1-4; the rows wait in an anonymous temporary file (the
    spool). Then rule 5 from the fingerprints (rows that share one are compared as text), the split,
    and a second pass over the spool writes the folder."""
    chk = _Checker(col, opts)
    led = _Ledger()
    classes = {c: k for k, c in enumerate(col.labels.classes)}
    seen_paths: set[int] = set()
    seen_ids: set[int] = set()
    images = _ImageChecks(chk, opts.jobs)

    def finish(entries: list[_Entry], todo: list[tuple[int, _Entry]], checked: Iterator) -> None:
        """Rule 6's answers for a chunk's rows, then the chunk into the spool."""
        for (i, entry), (path, why, sig) in zip(todo, checked):
            entry.path = path
            led.image[i] = led.IMAGE_BAD if why else led.IMAGE_OK
            if why:
                led.image_reason[i] = why
            elif sig:
                led.measured[i * _SIG:(i + 1) * _SIG] = sig
        _spool(entries, spool)

    with tempfile.TemporaryFile() as spool, closing(images):
        waiting = None          # the last chunk: its images are in the workers while this chunk's rows are checked
        for chunk in _chunks(col.records):
            entries, todo = [], []
            for rec in chunk:
                why, labels = chk.row(rec)
                i = led.add(rec, why, labels, classes)
                entries.append(_Entry(rec, labels, rec.path))
                if why is None and chk.checks_images:
                    new = led.path_fp[i] not in seen_paths and led.id_fp[i] not in seen_ids
                    seen_paths.add(led.path_fp[i])
                    seen_ids.add(led.id_fp[i])
                    if new:
                        todo.append((i, entries[-1]))
            checked = images.submit([e.rec for _, e in todo])
            if waiting:
                finish(*waiting)
            waiting = entries, todo, checked
        if waiting:
            finish(*waiting)
        del seen_paths, seen_ids, waiting
        duplicates, fixed = _rule5(led, spool, chk)
        kept, splits = _split(led, col, opts, duplicates)
        reasons = {**led.image_reason, **duplicates, **led.reason}
        info = _info(col, chk, fmt, led, kept, splits, reasons)
        info.name = name
        columns = list(manifest.REQUIRED_COLUMNS)
        kept_sets = np.frombuffer(led.columns, np.int32)[kept]
        sets, first = np.unique(kept_sets, return_index=True)
        names_of = {k: v for v, k in led.column_sets.items()}
        known = set(columns)         # a set: a list searched per column took time quadratic in the columns
        for s in sets[np.argsort(first)]:
            for k in names_of[int(s)]:
                if k not in known:
                    known.add(k)
                    columns.append(k)
        with manifest.writing_dataset(opts.out, columns, info) as add:
            recodes: dict = {"count": 0}
            for rows, report in _written(_spooled(spool), led, kept, splits, reasons, fixed, chk, recodes):
                add(pd.DataFrame(rows, columns=columns).fillna("") if rows else None,
                    pd.DataFrame(report, columns=manifest.REPORT_COLUMNS) if report else None)
            if recodes["count"]:
                info.extra["recoded_cells"] = {"count": recodes["count"], "encoding": RECODE_AS,
                                               "first": recodes["first"]}
    if chk.checks_images and opts.issues and kept.any():
        led.release()
        _write_issues(opts, led, kept, splits, col.labels.classes, chk.writes_images)
    return ImportResult(out=opts.out, info=info)


def _write_issues(opts: ImportOptions, led: _Ledger, kept: np.ndarray, splits: np.ndarray,
                  classes: list[str], written: bool) -> None:
    """issues.parquet of the imported rows: from the measurements the decoding workers returned, or,
    where the import wrote the images itself (crops, FER2013 pixels), measured again from the folder."""
    if written:
        issues.compute_issues(opts.out, jobs=opts.jobs)
        return
    malloc.trim()                                   # what the pass freed, before the find's peak
    sig = np.frombuffer(led.measured, issues.SIGNATURE)
    sig = sig if kept.all() else sig[kept]          # every row kept: no 160 MB copy at 2,000,000 rows
    labels = np.asarray(classes, dtype=object)[np.frombuffer(led.label, np.int32)[kept]]
    split_names = np.asarray(manifest.SPLITS, dtype=object)[splits[kept]]
    issues.write_found(opts.out, None, sig, labels, split_names)     # ids read from the manifest after the find


def _rule5(led: _Ledger, spool, chk: _Checker) -> tuple[dict[int, str], dict[int, str]]:
    """Rule 5 (the same image twice, a sample_id twice) over every row: {index: reason} of the rows it
    rejects, and {index: path in the dataset} of kept rows whose image was not checked in the pass
    (their sample_id repeated one that rule 5 rejected) after checking it now."""
    alive = np.frombuffer(led.label, np.int32) >= 0
    by_path, by_id = _repeated(led.path_fp, alive), _repeated(led.id_fp, alive)
    if not len(by_path) and not len(by_id):
        return {}, {}
    wanted = set(by_path.tolist()) | set(by_id.tolist())
    rows = {i: e for i, e in enumerate(_spooled(spool)) if i in wanted}
    reason: dict[int, str] = {}

    def where(i: int) -> str:
        return _where(rows[i].rec.row, rows[i].rec.path)

    groups: dict[str, list[int]] = {}
    for i in by_path.tolist():
        groups.setdefault(rows[i].rec.path, []).append(i)
    for idx in groups.values():
        if len(idx) < 2:
            continue
        if len({led.label[i] for i in idx}) > 1:
            for i in idx:   # at most CONFLICT_EXAMPLES others each: 20,000 listings wrote a 1.15 GB report
                others = [j for j in islice((j for j in idx if j != i), CONFLICT_EXAMPLES)]
                shown = "; ".join(f"'{rows[j].rec.label}' ({where(j)})" for j in others)
                more = len(idx) - 1 - len(others)
                reason[i] = (f"conflict: the same image is also listed as {shown}"
                             + (f" and {more:,} more listings" if more else ""))
        else:
            for i in idx[1:]:
                reason[i] = f"duplicate: the same image is already listed ({where(idx[0])})"
    first: dict[str, int] = {}
    for i in by_id.tolist():
        if i in reason:
            continue
        sid = rows[i].rec.sample_id
        if sid in first:
            reason[i] = f"duplicate sample_id '{sid}' (first at {where(first[sid])})"
        else:
            first[sid] = i
    fixed: dict[int, str] = {}
    for i in sorted(wanted - set(reason)):
        if chk.checks_images and led.image[i] == led.IMAGE_UNCHECKED:
            path, why = chk.image(rows[i].rec)
            led.image[i] = led.IMAGE_BAD if why else led.IMAGE_OK
            if why:
                led.image_reason[i] = why
            else:
                fixed[i] = path
    return reason, fixed


def _split(led: _Ledger, col: Collected, opts: ImportOptions, duplicates: dict[int, str]
           ) -> tuple[np.ndarray, np.ndarray]:
    """The kept rows (mask) and each row's split index (given, or the seeded split of rule 7)."""
    labels = np.frombuffer(led.label, np.int32)
    kept = (labels >= 0) & (np.frombuffer(led.image, np.int8) != led.IMAGE_BAD)
    kept[list(duplicates)] = False
    splits = np.frombuffer(led.split, np.int8).astype(np.int64)
    needs = np.flatnonzero(kept & (splits < 0))
    if len(needs):
        names = list(led.group_names)
        codes = np.frombuffer(led.group, np.int32)[needs]
        groups = [names[g] if g >= 0 else None for g in codes.tolist()]
        given = bool(opts.group_regex) or any(groups)
        assigned = assign_splits([col.labels.classes[k] for k in labels[needs].tolist()],
                                 groups=groups if given else None, test_fraction=opts.test_fraction,
                                 val_fraction=opts.val_fraction, seed=opts.seed)
        splits[needs] = [SPLIT_INDEX[s] for s in assigned]
    return kept, splits


def _info(col: Collected, chk: _Checker, fmt: str, led: _Ledger, kept: np.ndarray, splits: np.ndarray,
          reasons: dict[int, str]) -> manifest.DatasetInfo:
    """dataset.json: classes, where the images are, and the counts (read = imported + rejected)."""
    n_kept = int(kept.sum())
    if n_kept + len(reasons) != len(led):  # the promise of the report; never expected to break
        raise RuntimeError(f"internal: {n_kept} imported + {len(reasons)} rejected != {len(led)} read")
    per_split: dict[str, dict[str, int]] = {}
    labels = np.frombuffer(led.label, np.int32)[kept]
    pairs, counts = np.unique(np.stack([splits[kept], labels]), axis=1, return_counts=True)
    order = sorted(range(len(counts)), key=lambda k: (manifest.SPLITS[pairs[0, k]], col.labels.classes[pairs[1, k]]))
    for k in order:
        per_split.setdefault(manifest.SPLITS[pairs[0, k]], {})[col.labels.classes[pairs[1, k]]] = int(counts[k])
    by_reason = Counter(_reason_kind(r) for _, r in sorted(reasons.items()))
    counts_ = {"read": len(led), "imported": n_kept, "rejected": len(reasons), "per_split": per_split,
               "rejected_by_reason": dict(by_reason.most_common())}
    return manifest.DatasetInfo(classes=list(col.labels.classes),
                                image_root="." if chk.writes_images else str(col.image_root),
                                format=fmt, counts=counts_, source=col.source,
                                extra={"vocabulary": col.labels.vocabulary, **col.extra})


def _written(entries: Iterator[_Entry], led: _Ledger, kept: np.ndarray, splits: np.ndarray,
             reasons: dict[int, str], fixed: dict[int, str], chk: _Checker, recodes: dict
             ) -> Iterator[tuple[list, list]]:
    """(manifest rows, report rows) a chunk at a time, in the order the rows were read. A file the
    import wrote for a row it then rejected (a crop of a conflicting listing) is removed. Metadata
    cells that are not UTF-8 are decoded as Windows-1252 and counted in `recodes` (count, first)."""
    def cell(r: Record, column: str, v):
        if not isinstance(v, str):
            return v
        if not is_utf8(v):
            v = recoded(v)
            recodes["count"] += 1
            recodes.setdefault("first", f"{printable(r.file)} row {r.row}, column '{printable(column)}'")
        return printable(v)
    rows: list[dict] = []
    report: list[dict] = []
    image = np.frombuffer(led.image, np.int8)
    for i, e in enumerate(entries):
        r = e.rec
        if kept[i]:
            row = {"sample_id": r.sample_id, "path": fixed.get(i, e.path), "label": e.labels["label"],
                   "split": manifest.SPLITS[splits[i]]}
            row.update({k: cell(r, k, v) for k, v in r.extras.items()})
            row.update(e.labels)
            rows.append(row)
        else:
            if chk.writes_images and image[i] == _Ledger.IMAGE_OK:
                Path(chk.opts.out, e.path).unlink(missing_ok=True)
            report.append({"file": printable(r.file), "row": r.row, "sample_id": printable(r.sample_id),
                           "path": printable(r.path), "label": printable(r.label), "reason": printable(reasons[i])})
        if len(rows) + len(report) >= CHUNK:
            yield rows, report
            rows, report = [], []
    if rows or report:
        yield rows, report
