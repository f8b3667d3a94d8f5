"""The dataset folder contract: manifest.csv, dataset.json and report.csv (see docs/ARCHITECTURE.md)."""
from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from data_tools import atomic
from data_tools import classes as C
from data_tools.paths import RootGuard

REQUIRED_COLUMNS = ["sample_id", "path", "label", "split"]
SPLITS = ("train", "val", "test")
REPORT_COLUMNS = ["file", "row", "sample_id", "path", "label", "reason"]
MANIFEST, INFO, REPORT = "manifest.csv", "dataset.json", "report.csv"


class ManifestError(ValueError):
    """A dataset folder that does not satisfy the contract; the message names file and row."""


# What a sample_id or path may not hold: a line break (every separator str.splitlines knows: a written
# list such as RAF-DB's would gain a forged row) or a bidi control (it makes two ids look alike).
LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_FORBIDDEN = re.compile("[" + re.escape(LINE_BREAKS + "".join(sorted(C.BIDI))) + "]")


def text_problem(value: str) -> str | None:
    """'contains a line break (U+000A)' or 'contains a bidi control (U+202E)' for a sample_id or
    path that a manifest row cannot hold, else None."""
    m = _FORBIDDEN.search(value)
    if m is None:
        return None
    ch = m.group()
    return f"contains {'a line break' if ch in LINE_BREAKS else 'a bidi control'} (U+{ord(ch):04X})"


@dataclass
class DatasetInfo:
    """What dataset.json holds."""
    classes: list[str]
    image_root: str                      # absolute, or relative to the dataset folder
    format: str
    counts: dict[str, Any] = field(default_factory=dict)
    name: str = ""
    source: str = ""                     # where it was imported from
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Dataset:
    """A loaded dataset folder."""
    root: Path
    info: DatasetInfo
    manifest: pd.DataFrame
    _guard: tuple[Path, RootGuard] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def classes(self) -> list[str]:
        return self.info.classes

    @property
    def image_root(self) -> Path:
        return resolve_image_root(self.root, self.info.image_root)

    def image_path(self, rel: str, dirs: dict[str, str] | None = None) -> Path:
        """The image a manifest path names, inside the image root: the one check every reader (the
        trainer, the app, the export) uses. PathEscapeError (a ValueError) when `rel` leaves the root
        through '..', an absolute path or a symlink. `dirs`: see RootGuard.join (one pass over many rows)."""
        root = self.image_root
        if self._guard is None or self._guard[0] != root:
            self._guard = (root, RootGuard(root))
        return self._guard[1].join(rel, dirs)


def resolve_image_root(dataset_dir: Path, image_root: str) -> Path:
    p = Path(image_root)
    if p.is_absolute():
        return p
    p = Path(dataset_dir) / p
    try:
        return p.resolve()
    except (RuntimeError, OSError):     # a symlink loop or an unreadable link: as written (issue 22 item 12);
        return Path(os.path.abspath(p))     # reading an image under it then fails for that image only


def read_manifest_csv(path: str | Path) -> pd.DataFrame:
    """Read a manifest keeping every cell a string (sample ids keep leading zeros; no NaN)."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            return _parse_manifest(f, path)
    except FileNotFoundError:
        raise ManifestError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ManifestError(f"{path}: is a folder, not a file") from None


def _parse_manifest(f, path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(f, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8")
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as e:
        raise ManifestError(f"{path}: cannot be read as CSV ({str(e).splitlines()[0]})") from None


def validate_manifest(df: pd.DataFrame, classes: list[str], source: str = MANIFEST) -> None:
    """Raise ManifestError naming the first bad row (rows counted from 2, the header is row 1).
    Column-wise, so 300k rows take milliseconds."""
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise ManifestError(f"{source}: missing column(s) {', '.join(missing)}")
    sid, path, label, split = (df[c].astype(str).to_numpy() for c in REQUIRED_COLUMNS)
    checks = [
        (sid == "", lambda i: "empty sample_id"),
        (pd.Series(sid).str.contains(_FORBIDDEN).to_numpy(dtype=bool),
         lambda i: f"sample_id {text_problem(sid[i])}"),
        (pd.Series(sid).duplicated().to_numpy(),
         lambda i: f"duplicate sample_id '{sid[i]}' (first on row {int(np.argmax(sid == sid[i])) + 2})"),
        (path == "", lambda i: "empty path"),
        (pd.Series(path).str.contains(_FORBIDDEN).to_numpy(dtype=bool),
         lambda i: f"path {text_problem(path[i])}"),
        (~np.isin(label, list(classes)),
         lambda i: f"label '{label[i]}' is not one of: {', '.join(classes)}"),
        (~np.isin(split, list(SPLITS)),
         lambda i: f"split '{split[i]}' is not one of: {', '.join(SPLITS)}"),
    ]
    bad = [(int(np.argmax(mask)), message) for mask, message in checks if mask.any()]
    if bad:
        i, message = min(bad, key=lambda b: b[0])
        raise ManifestError(f"{source} row {i + 2}: {message(i)}")


def _kind(value: Any) -> str:
    """What a JSON value is, for a message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return {str: "a string", list: "a list", dict: "an object"}.get(type(value), type(value).__name__)


def check_info(raw: Any, source: str | os.PathLike = INFO) -> DatasetInfo:
    """dataset.json's parsed content as a DatasetInfo, every field's type checked: the one validation
    of that file, used by every reader (`load_dataset`, `read_info`). ManifestError naming `source`
    and the field otherwise. Unknown keys are ignored (a newer version may add some)."""
    def bad(message: str) -> ManifestError:
        return ManifestError(f"{source}: {message}")

    if not isinstance(raw, dict):
        raise bad(f"not a JSON object ({_kind(raw)})")
    for key in ("classes", "image_root", "format"):
        if key not in raw:
            raise bad(f"field '{key}' is missing")
    classes = raw["classes"]
    if not isinstance(classes, list):
        raise bad(f"field 'classes' must be a list of class names, not {_kind(classes)}")
    if not classes:
        raise bad("field 'classes' is empty")
    for k, c in enumerate(classes, start=1):
        if not isinstance(c, str):
            raise bad(f"field 'classes': item {k} is {_kind(c)}, not a class name")
        problem = C.name_problem(c)
        if problem is not None:   # the reason without the quoted name (it may hold what it names)
            for shown in (f"'{c}' ", f"'{c[:20]}...' "):
                problem = problem.removeprefix(shown)
            raise bad(f"field 'classes': item {k} {problem}")
    seen: set[str] = set()
    for c in classes:
        if c in seen:
            raise bad(f"field 'classes': '{c}' is listed twice")
        seen.add(c)
    root = raw["image_root"]
    if not isinstance(root, str):
        raise bad(f"field 'image_root' must be a path (text), not {_kind(root)}")
    if not root:
        raise bad("field 'image_root' is empty")
    if "\x00" in root:
        raise bad("field 'image_root' contains a NUL character")
    for key in ("format", "name", "source"):
        if key in raw and not isinstance(raw[key], str):
            raise bad(f"field '{key}' must be text, not {_kind(raw[key])}")
    for key in ("counts", "extra"):
        if key in raw and not isinstance(raw[key], dict):
            raise bad(f"field '{key}' must be an object, not {_kind(raw[key])}")
    return DatasetInfo(**{k: v for k, v in raw.items() if k in DatasetInfo.__dataclass_fields__})


def _parse_info(data: bytes, info_path: Path) -> DatasetInfo:
    try:
        raw = json.loads(data.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as e:
        raise ManifestError(f"{info_path}: not a valid dataset.json ({str(e).splitlines()[0]})") from None
    return check_info(raw, info_path)


def read_info(dataset_dir: str | os.PathLike) -> DatasetInfo:
    """A dataset folder's dataset.json, checked (`check_info`); ManifestError naming the file."""
    info_path = Path(dataset_dir) / INFO
    if not info_path.is_file():
        raise ManifestError(f"{info_path}: no such file (is {Path(dataset_dir)} a dataset folder?)")
    try:
        data = info_path.read_bytes()
    except OSError as e:
        raise ManifestError(f"{info_path}: cannot be read ({e.strerror or e})") from None
    return _parse_info(data, info_path)


def _read_folder(root: Path) -> tuple[DatasetInfo, pd.DataFrame]:
    """dataset.json and manifest.csv of one folder, read through one handle on the folder: an import
    that swaps a new folder in at the same path (`importers.staging`) between the two reads cannot
    pair one folder's dataset.json with the other's manifest. Retried when the folder was swapped and
    the old one removed under the reader."""
    info_path, man_path = root / INFO, root / MANIFEST
    if os.open not in os.supports_dir_fd or not hasattr(os, "O_DIRECTORY"):
        return read_info(root), read_manifest_csv(man_path)
    for attempt in range(5):
        try:
            dfd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            return read_info(root), read_manifest_csv(man_path)   # its own message names the file
        try:
            def opener(name: str, flags: int) -> int:
                return os.open(name, flags, dir_fd=dfd)
            try:
                with open(INFO, "rb", opener=opener) as f:
                    info = _parse_info(f.read(), info_path)
                with open(MANIFEST, "rb", opener=opener) as f:
                    return info, _parse_manifest(f, man_path)
            except (FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError):
                try:
                    swapped = os.stat(root).st_ino != os.fstat(dfd).st_ino
                except OSError:
                    swapped = True
                if not swapped or attempt == 4:
                    return read_info(root), read_manifest_csv(man_path)
        finally:
            os.close(dfd)
    raise AssertionError("unreachable")


def load_dataset(dataset_dir: str | Path, validate: bool = True) -> Dataset:
    """Load and (by default) validate a dataset folder: dataset.json checked field by field
    (`check_info`), manifest.csv column-wise (`validate_manifest`)."""
    root = Path(dataset_dir)
    info, df = _read_folder(root)
    if validate:
        validate_manifest(df, info.classes, source=str(root / MANIFEST))
    return Dataset(root=root, info=info, manifest=df)


def write_dataset(out_dir: str | Path, manifest: pd.DataFrame, info: DatasetInfo,
                  report: pd.DataFrame | None = None) -> Path:
    """Write manifest.csv, dataset.json and report.csv atomically; returns the folder."""
    validate_manifest(manifest.astype(str), info.classes, source=str(Path(out_dir) / MANIFEST))
    if report is None:
        report = pd.DataFrame(columns=REPORT_COLUMNS)
    if not info.counts:
        info.counts = counts_of(manifest, n_rejected=len(report))
    with writing_dataset(out_dir, list(manifest.columns), info) as add:
        add(manifest, report)
    return Path(out_dir)


@contextmanager
def writing_dataset(out_dir: str | Path, columns: list[str], info: DatasetInfo
                    ) -> Iterator[Callable[[pd.DataFrame | None, pd.DataFrame | None], None]]:
    """`write_dataset` for a manifest too large to hold: yields add(manifest rows, report rows), which
    appends chunks as they come; each file appears whole (renamed into place) when the block ends,
    dataset.json (with `info`, counts filled by the caller) last. Each chunk is validated on its own:
    the caller guarantees what spans chunks (sample_ids unique)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cols = REQUIRED_COLUMNS + [c for c in columns if c not in REQUIRED_COLUMNS]
    with atomic.atomic_path(out / MANIFEST) as man_tmp, atomic.atomic_path(out / REPORT) as rep_tmp, \
            open(man_tmp, "w", encoding="utf-8", newline="") as man_f, \
            open(rep_tmp, "w", encoding="utf-8", newline="") as rep_f:
        pd.DataFrame(columns=cols).to_csv(man_f, index=False)
        pd.DataFrame(columns=REPORT_COLUMNS).to_csv(rep_f, index=False)

        def add(manifest: pd.DataFrame | None, report: pd.DataFrame | None) -> None:
            if manifest is not None and len(manifest):
                manifest = manifest.reindex(columns=cols)
                validate_manifest(manifest.astype(str), info.classes, source=str(out / MANIFEST))
                manifest.to_csv(man_f, index=False, header=False)
            if report is not None and len(report):
                report.reindex(columns=REPORT_COLUMNS).to_csv(rep_f, index=False, header=False)

        yield add
    if not info.name:
        info.name = out.name
    atomic.write_json(out / INFO, asdict(info))


def counts_of(manifest: pd.DataFrame, n_rejected: int = 0) -> dict[str, Any]:
    """Counts per split and class, and read = imported + rejected."""
    by = manifest.groupby(["split", "label"]).size()
    per_split: dict[str, dict[str, int]] = {}
    for (split, label), n in by.items():
        per_split.setdefault(split, {})[label] = int(n)
    return {"read": int(len(manifest) + n_rejected), "imported": int(len(manifest)),
            "rejected": int(n_rejected), "per_split": per_split}
