"""An import writes its dataset folder beside the destination and swaps it in, whole, only when it
succeeded (issue 22): a failed, interrupted (full disk) or refused import leaves the dataset that was
there byte-identical, and a reader never sees one folder's manifest.csv with the other's dataset.json.

The new folder is a hidden sibling, `.<name>.import-<pid>-<random>` (same file system, so the swap is a
rename). The swap keeps the folder's path, which runs and audits name: onto a missing (or empty)
destination it is one rename; onto an existing dataset (only with `replace`) it is one atomic
exchange of the two folders (Linux renameat2 RENAME_EXCHANGE), after which the old one is removed.
Where the exchange is not available it falls back to two renames (the path is missing for the
instant between them). A staging folder left by a killed import (its process gone) is removed by the
next import to the same destination.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from data_tools.atomic import _umask

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _libc_renameat2():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


_renameat2 = _libc_renameat2()


def exchange(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Atomically exchange the folders `a` and `b` (both must exist); False where the system cannot
    (no renameat2, or a file system without RENAME_EXCHANGE), OSError on any other failure."""
    if _renameat2 is None:
        return False
    rc = _renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), os.fspath(b))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:      # another user's process
        return True
    except (OverflowError, ValueError):
        return False
    return True


def remove_stale(out: Path) -> None:
    """Remove the staging folders of `out` whose import process no longer runs."""
    pattern = re.compile(r"\." + re.escape(out.name) + r"\.(?:import|old)-(\d+)-")
    try:
        siblings = list(out.parent.iterdir())
    except OSError:
        return
    for p in siblings:
        m = pattern.match(p.name)
        if m and p.is_dir() and not p.is_symlink() and not _alive(int(m.group(1))):
            shutil.rmtree(p, ignore_errors=True)


def unstaged(path: str, out: str | os.PathLike) -> str:
    """`path` with a staging folder of `out` named as `out` (for a message about a file of it)."""
    out = Path(out)
    return re.sub(re.escape(os.fspath(out.parent)) + r"/\." + re.escape(out.name) + r"\.import-\d+-[^/]+",
                  lambda m: os.fspath(out), path)


def destination(out: str | os.PathLike) -> Path:
    """The folder the dataset will be at: `out` with a symlinked destination resolved (the swap
    happens where the folder is, so the link keeps working)."""
    out = Path(os.path.abspath(out))
    return Path(os.path.realpath(out)) if out.is_symlink() else out


@contextmanager
def staged(out: str | os.PathLike, replace: bool = False) -> Iterator[Path]:
    """Yield an empty folder beside `out` to write the dataset into; when the block ends normally it
    becomes `out` (`swap_in`; an `out` holding files only with `replace`, else DestinationTaken),
    when it raises it is removed and `out` is untouched."""
    out = destination(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(out)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.import-{os.getpid()}-", dir=out.parent))
    try:
        try:
            mode = (out.stat().st_mode & 0o7777) if out.is_dir() else (0o777 & ~_umask())
        except OSError:
            mode = 0o777 & ~_umask()
        os.chmod(work, mode)   # mkdtemp's 0700 would hide a shared dataset from the user's group
        yield work
        swap_in(work, out, replace)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


class DestinationTaken(FileExistsError):
    """The destination holds something (another import finished first) and is not to be replaced."""


def swap_in(work: Path, out: Path, replace: bool) -> None:
    """Make the folder `work` the folder `out` (same parent). A missing or empty `out` is replaced by
    one rename; an existing one (when `replace`) by an atomic exchange, then removed."""
    try:
        os.rename(work, out)       # out missing, or an empty folder: atomic
        return
    except OSError as e:
        if e.errno not in (errno.ENOTEMPTY, errno.EEXIST):
            raise
    if not replace:
        raise DestinationTaken(errno.EEXIST, "already holds files", str(out))
    if exchange(work, out):
        shutil.rmtree(work, ignore_errors=True)     # `work` is the old dataset now
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-{os.getpid()}-", dir=out.parent))
    os.rename(out, old / "dataset")
    try:
        os.rename(work, out)
    except BaseException:
        os.rename(old / "dataset", out)             # put the old one back
        shutil.rmtree(old, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)
