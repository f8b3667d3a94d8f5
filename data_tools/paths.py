"""Paths that must stay inside a root: `..`, absolute paths and symlinks that leave it are refused."""
from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path


class PathEscapeError(ValueError):
    """A path that would leave the folder it must stay in; `reason` is the short rule it broke."""

    def __init__(self, message: str, reason: str = ""):
        super().__init__(message)
        self.reason = reason or message


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def is_within(path: str | os.PathLike, roots: Iterable[str | os.PathLike]) -> bool:
    """True when `path`, symlinks resolved, is one of `roots` or lies below one (roots resolved too).
    A path or root whose links cannot be read (realpath raises OSError, e.g. /proc/1/root) is not
    within anything."""
    try:
        real = os.path.realpath(os.fspath(path))
    except OSError:
        return False
    for r in roots:
        try:
            if _under(real, os.path.realpath(os.fspath(r))):
                return True
        except OSError:
            continue
    return False


class RootGuard:
    """Checks many paths against one root, resolving the root once."""

    def __init__(self, root: str | os.PathLike):
        self.root_abs = os.path.abspath(os.fspath(root))
        self.root_real = os.path.realpath(self.root_abs)

    def join(self, rel: str | os.PathLike, dirs: dict[str, str] | None = None) -> Path:
        """See `safe_join`. `dirs`, a dict kept by the caller for one pass over many paths, caches the
        resolved folders (a path whose last part is no symlink resolves as its folder does)."""
        return Path(self._checked(rel, dirs))

    def _checked(self, rel: str | os.PathLike, dirs: dict[str, str] | None) -> str:
        rel_s = os.fspath(rel)
        if "\x00" in rel_s:
            raise PathEscapeError(f"{rel_s!r} contains a NUL byte", "path contains a NUL byte")
        if not rel_s.strip():
            raise PathEscapeError("empty path", "empty path")
        cand = os.path.normpath(os.path.join(self.root_abs, rel_s))  # an absolute rel replaces root_abs
        if not (_under(cand, self.root_abs) or _under(cand, self.root_real)):
            reason = ("absolute path outside the root" if os.path.isabs(rel_s)
                      else "path leaves the root through '..'")
            raise PathEscapeError(f"'{rel_s}': {reason} ({self.root_abs})", reason)
        if dirs is None or os.path.islink(cand):
            real = os.path.realpath(cand)
        else:
            folder, name = os.path.split(cand)
            real_folder = dirs.get(folder)
            if real_folder is None:
                real_folder = dirs[folder] = os.path.realpath(folder)
            real = os.path.join(real_folder, name)
        if not _under(real, self.root_real):
            reason = "symlink leads outside the root"
            raise PathEscapeError(f"'{rel_s}': {reason} ({self.root_abs})", reason)
        return cand

    def relative(self, rel: str | os.PathLike, dirs: dict[str, str] | None = None) -> str:
        """See `relative_to_root`; `dirs` as for `join`."""
        full = self._checked(rel, dirs)
        base = self.root_abs if _under(full, self.root_abs) else self.root_real
        out = full[len(base.rstrip(os.sep)) + 1:]    # normalised and under base: the rest is relative
        if not out:
            raise PathEscapeError(f"'{os.fspath(rel)}' names the root itself, not a file",
                                  "path names the root itself, not a file")
        return out.replace(os.sep, "/")


def safe_join(root: str | os.PathLike, rel: str | os.PathLike) -> Path:
    """`root/rel` as a normalised absolute path, refusing anything that leaves `root`.

    `rel` may be relative (`..` allowed while it stays inside) or absolute (allowed when it names a
    place inside `root`). The normalised path must also stay inside once symlinks are resolved.
    Raises PathEscapeError; its `reason` names the rule that was broken.
    """
    return RootGuard(root).join(rel)


def relative_to_root(root: str | os.PathLike, rel: str | os.PathLike) -> str:
    """The checked, normalised form of `rel` relative to `root`, with '/' separators."""
    return RootGuard(root).relative(rel)
