"""Atomic file writes: write to a temporary name in the same folder, then rename into place."""
from __future__ import annotations

import json
import os
import stat
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pandas as pd


def _umask() -> int:
    """The process's umask, read without changing it where Linux tells it (/proc), else set and restored."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _mode_for(path: Path) -> int:
    """The mode the file would have if written in place: its current one, else 0666 less the umask
    (mkstemp's 0600 would hide a shared dataset or export from the user's group)."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return 0o666 & ~_umask()


@contextmanager
def created_folders(folder: str | os.PathLike) -> Iterator[Path]:
    """Create `folder` (with its parents) and yield it; if the body fails, the folders this call
    created are removed again where they are still empty, so a failed write leaves no trace."""
    folder = Path(folder)
    missing = [f for f in [folder, *folder.parents] if not f.exists()]
    folder.mkdir(parents=True, exist_ok=True)
    try:
        yield folder
    except BaseException:
        for f in missing:                       # deepest first
            try:
                f.rmdir()
            except OSError:
                break
        raise


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to `path`; on success it is renamed onto `path`, on error removed.
    The file gets the mode a plain write would give it. An OSError (a full disk, a read-only folder)
    is raised again naming `path`, since the failing write() or fsync() names no file."""
    path = Path(path)
    try:
        with created_folders(path.parent):
            with _temporary(path) as tmp_path:
                yield tmp_path
    except OSError as e:
        if e.errno is None:
            raise OSError(f"{path}: {e}") from None
        raise OSError(e.errno, e.strerror or str(e), str(path)) from None


@contextmanager
def _temporary(path: Path) -> Iterator[Path]:
    tmp_path: Path | None = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        tmp_path = Path(tmp)
        try:
            os.fchmod(fd, _mode_for(path))
        finally:
            os.close(fd)
        yield tmp_path
        with open(tmp_path, "rb+") as f:  # the data must be on disk before the rename makes it visible
            os.fsync(f.fileno())
        os.replace(tmp_path, path)
    except BaseException:
        if tmp_path is not None:
            tmp_path.unlink(missing_ok=True)
        raise


def write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding=encoding)


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_json(path: str | os.PathLike, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, default=str) + "\n")


def write_csv(path: str | os.PathLike, df: pd.DataFrame, **kwargs: Any) -> None:
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, **kwargs)


def write_parquet(path: str | os.PathLike, df: pd.DataFrame) -> None:
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)
