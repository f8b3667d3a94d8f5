"""The dataset folder contract: manifest.csv, dataset.json and report.csv (see docs/ARCHITECTURE.md)."""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from data_tools import atomic
from data_tools.paths import RootGuard

REQUIRED_COLUMNS = ["sample_id", "path", "label", "split"]
SPLITS = ("train", "val", "test")
REPORT_COLUMNS = ["file", "row", "sample_id", "path", "label", "reason"]
MANIFEST, INFO, REPORT = "manifest.csv", "dataset.json", "report.csv"


class ManifestError(ValueError):
    """A dataset folder that does not satisfy the contract; the message names file and row."""


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
    return p if p.is_absolute() else (Path(dataset_dir) / p).resolve()


def read_manifest_csv(path: str | Path) -> pd.DataFrame:
    """Read a manifest keeping every cell a string (sample ids keep leading zeros; no NaN)."""
    path = Path(path)
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
    except FileNotFoundError:
        raise ManifestError(f"{path}: no such file") from None
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as e:
        raise ManifestError(f"{path}: cannot be read as CSV ({str(e).splitlines()[0]})") from None
    return df


def validate_manifest(df: pd.DataFrame, classes: list[str], source: str = MANIFEST) -> None:
    """Raise ManifestError naming the first bad row (rows counted from 2, the header is row 1).
    Column-wise, so 300k rows take milliseconds."""
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise ManifestError(f"{source}: missing column(s) {', '.join(missing)}")
    sid, path, label, split = (df[c].astype(str).to_numpy() for c in REQUIRED_COLUMNS)
    checks = [
        (sid == "", lambda i: "empty sample_id"),
        (pd.Series(sid).duplicated().to_numpy(),
         lambda i: f"duplicate sample_id '{sid[i]}' (first on row {int(np.argmax(sid == sid[i])) + 2})"),
        (path == "", lambda i: "empty path"),
        (~np.isin(label, list(classes)),
         lambda i: f"label '{label[i]}' is not one of: {', '.join(classes)}"),
        (~np.isin(split, list(SPLITS)),
         lambda i: f"split '{split[i]}' is not one of: {', '.join(SPLITS)}"),
    ]
    bad = [(int(np.argmax(mask)), message) for mask, message in checks if mask.any()]
    if bad:
        i, message = min(bad, key=lambda b: b[0])
        raise ManifestError(f"{source} row {i + 2}: {message(i)}")


def load_dataset(dataset_dir: str | Path, validate: bool = True) -> Dataset:
    """Load and (by default) validate a dataset folder."""
    root = Path(dataset_dir)
    info_path = root / INFO
    if not info_path.is_file():
        raise ManifestError(f"{info_path}: no such file (is {root} a dataset folder?)")
    try:
        raw = json.loads(info_path.read_text(encoding="utf-8"))
        info = DatasetInfo(**{k: v for k, v in raw.items() if k in DatasetInfo.__dataclass_fields__})
    except (json.JSONDecodeError, TypeError) as e:
        raise ManifestError(f"{info_path}: not a valid dataset.json ({e})") from None
    df = read_manifest_csv(root / MANIFEST)
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
