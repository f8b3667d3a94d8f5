"""issues.parquet of a dataset folder: measure every image (streamed, a chunk at a time, in worker
processes), find the issues, write the table atomically. `python -m data_tools issues` and the import
both end here."""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from itertools import islice
from pathlib import Path
from typing import Iterable, Iterator

import cv2
import numpy as np
import pandas as pd

from data_tools import atomic, malloc, readahead
from data_tools.images import ImageError, load_image
from data_tools.issues.find import COLUMNS, ISSUES, Thresholds, counts, find_issues, found_rows
from data_tools.issues.image import signatures, signatures_of
from data_tools.manifest import MANIFEST, load_dataset

ISSUES_FILE = "issues.parquet"
CHUNK = 5_000
MIN_PROCESS_BATCH = 500


def measure(paths: list[str], ahead: list[str] | None = None) -> list[bytes]:
    """SIGNATURE records of the images at `paths` (measured together), b"" for one that cannot be
    decoded (the import reports those) or an empty path. `readahead` of `ahead` first (of `paths`
    when None)."""
    readahead.read_ahead(paths if ahead is None else ahead)
    images, where = [], []
    for i, path in enumerate(paths):
        try:
            if path:
                images.append(load_image(path))
                where.append(i)
        except (ImageError, cv2.error, MemoryError, OSError):
            pass
    out = [b""] * len(paths)
    for i, rec in zip(where, signatures_of(images)):
        out[i] = rec
    return out


def measure_all(paths: Iterable[str], *, jobs: int = 0) -> np.ndarray:
    """(N,) SIGNATURE records of the images at `paths`, a chunk at a time, in `jobs` processes
    (0: one per core); unreadable images get the EMPTY record (no issue)."""
    jobs = jobs or os.cpu_count() or 1
    out: list[np.ndarray] = []
    it = iter(paths)
    pool = None
    try:
        while chunk := list(islice(it, CHUNK)):
            batches = [chunk[i:i + 64] for i in range(0, len(chunk), 64)]
            if jobs > 1 and len(chunk) >= MIN_PROCESS_BATCH:
                pool = pool or ProcessPoolExecutor(jobs, initializer=malloc.keep_freed)
                done = pool.map(measure, batches, readahead.plan(batches, jobs))
                out.append(signatures([r for rs in done for r in rs]))
            else:
                out.append(signatures([r for b in batches for r in measure(b)]))
    finally:
        if pool is not None:
            pool.shutdown()
    return np.concatenate(out) if out else signatures([])


def issue_table(sample_ids, sig: np.ndarray, labels: np.ndarray, splits: np.ndarray, *,
                thresholds: Thresholds = Thresholds()) -> pd.DataFrame:
    """The issues.parquet table (COLUMNS) of rows given as parallel arrays (`sample_ids`: an array or
    a Series; issue, group and detail come back categorical)."""
    found = find_issues(sig, labels, splits, thresholds=thresholds)
    ids = pd.Series(sample_ids).iloc[found["row"].to_numpy()].reset_index(drop=True)
    table = found.drop(columns="row")
    table.insert(0, "sample_id", ids.astype(ids.dtype if ids.dtype != object else str))
    return table[COLUMNS]


_SCHEMA = None


def _schema():
    global _SCHEMA
    if _SCHEMA is None:
        import pyarrow as pa
        _SCHEMA = pa.schema([("sample_id", pa.string()), ("issue", pa.dictionary(pa.int8(), pa.string())),
                             ("score", pa.float32()), ("group", pa.dictionary(pa.int32(), pa.string())),
                             ("detail", pa.dictionary(pa.int32(), pa.string()))])
    return _SCHEMA


def write_found(dataset_dir: str | os.PathLike, sample_ids, sig: np.ndarray, labels: np.ndarray,
                splits: np.ndarray, *, thresholds: Thresholds = Thresholds()) -> dict[str, int]:
    """Find the issues and write issues.parquet a chunk at a time (atomically): memory stays bounded
    by a chunk and one issue type's codes, however many rows share one group. `sample_ids`: an Arrow
    string array, anything pandas turns into strings, or None: the folder's manifest's (`manifest_ids`),
    read once the issues are found, so that the ids and the find's peak are not held together (100 and
    ~400 MB at 2,000,000 rows). Returns the counts."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    found = found_rows(sig, labels, splits, thresholds=thresholds)
    malloc.trim()                   # the find's freed arrays, before the ids and the writer's buffers
    # the ids as one Arrow array, taken a chunk at a time (no Python string per row)
    if sample_ids is None:
        ids = manifest_ids(dataset_dir)
    elif isinstance(sample_ids, (pa.Array, pa.ChunkedArray)):
        ids = sample_ids
    else:
        ids = pa.array(pd.Series(sample_ids).astype(str).to_numpy(), pa.string())
    path = Path(dataset_dir) / ISSUES_FILE
    n = dict.fromkeys(ISSUES, 0)
    with atomic.atomic_path(path) as tmp, pq.ParquetWriter(tmp, _schema()) as writer:
        for chunk in found.chunks():
            frame = pd.DataFrame({"issue": chunk["issue"], "score": chunk["score"],
                                  "group": chunk["group"].cat.remove_unused_categories(),
                                  "detail": chunk["detail"].cat.remove_unused_categories()})
            table = pa.Table.from_pandas(frame, schema=pa.schema(list(_schema())[1:]), preserve_index=False)
            table = table.add_column(0, _schema().field("sample_id"), ids.take(pa.array(chunk["row"].to_numpy())))
            writer.write_table(table)
            n[str(chunk["issue"].iloc[0])] += len(chunk)
        if not len(found):
            writer.write_table(pa.Table.from_pylist([], schema=_schema()))
    return n


def manifest_ids(dataset_dir: str | os.PathLike):
    """The sample_id column of the folder's manifest.csv as one Arrow string array (pyarrow's CSV reader:
    no Python string per row)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    table = pacsv.read_csv(Path(dataset_dir) / MANIFEST, parse_options=pacsv.ParseOptions(newlines_in_values=True),
                           convert_options=pacsv.ConvertOptions(include_columns=["sample_id"],
                                                                column_types={"sample_id": pa.string()},
                                                                strings_can_be_null=False, quoted_strings_can_be_null=False))
    ids = table.column("sample_id").combine_chunks()
    del table
    pa.default_memory_pool().release_unused()   # the reader's buffers: 2,000,000 ids held 164 MB, not 100
    return ids


def write_issues(dataset_dir: str | os.PathLike, table: pd.DataFrame) -> Path:
    """Write `table` as the dataset folder's issues.parquet (atomically); returns its path."""
    path = Path(dataset_dir) / ISSUES_FILE
    atomic.write_parquet(path, table.reset_index(drop=True))
    return path


def read_issues(dataset_dir: str | os.PathLike) -> pd.DataFrame | None:
    """The dataset's issues.parquet, or None when it has none (imported before issues existed)."""
    path = Path(dataset_dir) / ISSUES_FILE
    if not path.is_file():
        return None
    t = pd.read_parquet(path)
    missing = [c for c in COLUMNS if c not in t.columns]
    if missing:
        raise ValueError(f"{path}: not an issues table (no column {', '.join(missing)})")
    return t


def issue_counts(dataset_dir: str | os.PathLike) -> dict[str, int] | None:
    """Rows per issue type (every type, ISSUES order) of the dataset's issues.parquet, reading its
    `issue` column only; None when the folder has no issues file."""
    path = Path(dataset_dir) / ISSUES_FILE
    if not path.is_file():
        return None
    return counts(pd.read_parquet(path, columns=["issue"]))


def issue_groups(dataset_dir: str | os.PathLike, issue_types: Iterable[str], limit: int = 50) -> pd.DataFrame:
    """One row per group (its first member) of the given duplicate issue types, worst first: `issue`,
    `group`, `detail`, `sample_id`; at most `limit` rows."""
    t = read_issues(dataset_dir)
    if t is None:
        return pd.DataFrame(columns=["issue", "group", "detail", "sample_id"])
    t = t[t["issue"].isin(list(issue_types))].astype({"issue": str, "group": str, "detail": str})
    return t.drop_duplicates(["issue", "group"]).head(limit)[["issue", "group", "detail", "sample_id"]]


def _paths(ds, rels: Iterable[str]) -> Iterator[str]:
    dirs: dict[str, str] = {}
    for rel in rels:
        try:
            yield str(ds.image_path(rel, dirs))
        except ValueError:      # a path leaving the image root: never opened, no issue
            yield ""


def compute_issues(dataset_dir: str | os.PathLike, *, jobs: int = 0, sig: np.ndarray | None = None,
                   thresholds: Thresholds = Thresholds()) -> pd.DataFrame:
    """Measure the dataset's images (unless `sig`, one record per manifest row, is given), write its
    issues.parquet and return the table."""
    ds = load_dataset(dataset_dir)
    m = ds.manifest
    if sig is None:
        sig = measure_all(_paths(ds, m["path"].astype(str)), jobs=jobs)
    if len(sig) != len(m):
        raise ValueError(f"{dataset_dir}: {len(sig)} image measurements for {len(m)} manifest rows")
    write_found(dataset_dir, m["sample_id"], sig, m["label"].to_numpy(), m["split"].to_numpy(),
                thresholds=thresholds)
    return read_issues(dataset_dir)


def summary(table: pd.DataFrame) -> str:
    """One line: rows per issue type (the ones found) and the groups of duplicates."""
    c = counts(table)
    found = [f"{k} {v:,}" for k, v in c.items() if v]
    groups = table.loc[table["group"] != "", "group"].nunique()
    return (", ".join(found) + f" ({groups:,} duplicate groups)") if found else "no image issues found"
