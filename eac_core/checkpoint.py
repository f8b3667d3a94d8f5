"""Checkpoint I/O, beside the model: `checkpoint.pt` of a run (data_tools.rundir names the file) and any
weights file, read with torch.load(weights_only=True) and written atomically.

Every refusal is a `CheckpointError` (a ValueError) whose message is one line naming the file.

Bounded before anything is decompressed or unpickled (issue 22 item 8): only a regular file is opened
(a FIFO or a device named checkpoint.pt would block or never end), only torch's zip format is read (its
entries declare their sizes; the pre-1.6 format allocates whatever its pickle declares), and the
entries' declared uncompressed sizes together may be at most twice the file's size on disk (torch
writes them uncompressed, so a real checkpoint expands to about its own size: a deflated bomb, 6 MB
declaring 3 GB, is refused) and at most MAX_LOADED_BYTES. torch's reader allocates by the declared
sizes, so what is loaded is bounded by what was checked. `check_fields` checks the type of every field
the trainer and the explainer read."""
from __future__ import annotations

import io
import os
import pickle
import re
import stat
import zipfile
from collections.abc import Mapping
from typing import Any

from data_tools import atomic
from data_tools.rundir import RunDir
from eac_core import faults


class CheckpointError(ValueError):
    """A checkpoint (or weights file) that is refused; the message is one line naming the file."""


_GLOBAL = re.compile(r"unsupported GLOBAL ([\w.]+)")
_TORCH_ADVICE = re.compile(r"weights.only|Weights only|trusted source|file an issue|documentation of torch",
                           re.IGNORECASE)


MAX_LOADED_BYTES = 8 << 30      # 8 GiB: a ResNet-50 checkpoint with its Adam state is about 0.3 GB
EXPANSION = 2                    # declared uncompressed bytes per byte on disk (torch stores, never deflates)


def _open_bounded(path: str | os.PathLike, what: str) -> io.BufferedReader:
    """The file opened for reading once it is known to be a regular torch zip archive whose entries
    declare at most EXPANSION x its size (and MAX_LOADED_BYTES) in all; CheckpointError otherwise."""
    try:           # O_NONBLOCK: opening a FIFO without a writer returns at once instead of waiting forever
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such file") from None
    except OSError as e:
        raise CheckpointError(f"{path}: cannot be opened ({e.strerror or e})") from None
    f = os.fdopen(fd, "rb")
    try:
        st = os.fstat(fd)           # the file opened, not a name that could be swapped in between
        if not stat.S_ISREG(st.st_mode):
            kind = ("a FIFO" if stat.S_ISFIFO(st.st_mode) else "a folder" if stat.S_ISDIR(st.st_mode)
                    else "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
                    else "a socket" if stat.S_ISSOCK(st.st_mode) else "not a regular file")
            raise CheckpointError(f"{path}: not a {what} this tool can read (it is {kind}, not a regular file)")
        if getattr(os, "O_NONBLOCK", 0):
            os.set_blocking(fd, True)
        try:
            with zipfile.ZipFile(f) as z:
                declared = sum(i.file_size for i in z.infolist())
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError):
            raise CheckpointError(f"{path}: not a {what} this tool can read (not a torch zip archive; a file "
                                  "saved by torch before 1.6 cannot be size-checked: load and save it again "
                                  "with a current torch)") from None
        limit = min(EXPANSION * st.st_size, MAX_LOADED_BYTES)
        if declared > limit:
            raise CheckpointError(f"{path}: refused: its entries would expand to {declared:,} bytes, more than "
                                  f"{limit:,} (twice the file's {st.st_size:,} bytes, at most "
                                  f"{MAX_LOADED_BYTES >> 30} GiB); nothing was decompressed")
        f.seek(0)
        return f
    except BaseException:
        f.close()
        raise


def load_torch_file(path: str | os.PathLike, map_location: str = "cpu", what: str = "checkpoint") -> Any:
    """torch.load(path, weights_only=True), its failures answered with one line naming the file.
    torch's own message advises retrying with weights_only=False, which would run whatever code the
    file holds; that advice is never passed on: a file naming code is refused as hostile. The file is
    checked first (`_open_bounded`: a regular file, a zip archive of bounded declared size)."""
    import torch
    f = _open_bounded(path, what)
    try:
        return torch.load(f, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such file") from None
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError, AttributeError,
            ImportError, KeyError, TypeError, IndexError) as e:
        text = str(e)
        found = _GLOBAL.search(text)
        if found:
            raise CheckpointError(f"{path}: refused to load: it holds Python code or objects ({found.group(1)}), "
                                  f"which a {what} never holds; nothing in it was run") from None
        lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not _TORCH_ADVICE.search(ln)]
        detail = (lines[0] if lines else type(e).__name__)[:200]
        raise CheckpointError(f"{path}: not a {what} this tool can read ({detail})") from None
    finally:
        f.close()


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _tensor_dict(v: Any) -> bool:
    import torch
    return isinstance(v, Mapping) and all(isinstance(k, str) and isinstance(t, torch.Tensor) for k, t in v.items())


def _rng_ok(v: Any) -> bool:
    import torch
    if not isinstance(v, Mapping) or not isinstance(v.get("torch"), torch.Tensor):
        return False
    n, py = v.get("numpy"), v.get("python")
    return (isinstance(n, Mapping) and isinstance(n.get("keys"), torch.Tensor) and _is_int(n.get("pos"))
            and _is_int(n.get("has_gauss")) and isinstance(n.get("cached"), (int, float))
            and isinstance(py, (list, tuple)) and len(py) == 3 and _is_int(py[0])
            and isinstance(py[1], (list, tuple)) and all(_is_int(x) for x in py[1])
            and (py[2] is None or isinstance(py[2], (int, float))))


# field -> (what it must be, check); the trainer's checkpoint() writes every one of them
_FIELDS = {
    "epoch": ("a whole number >= 0", lambda v: _is_int(v) and v >= 0),
    "model": ("a state dict (names -> tensors)", _tensor_dict),
    "arch": ("a text", lambda v: isinstance(v, str)),
    "classes": ("a list of class names", lambda v: isinstance(v, list) and bool(v) and all(isinstance(c, str) for c in v)),
    "num_classes": ("a whole number", _is_int),
    "image_size": ("a whole number > 0", lambda v: _is_int(v) and v > 0),
    "layout": ("a text", lambda v: isinstance(v, str)),
    "preprocessing": ("a dict", lambda v: isinstance(v, Mapping)),
    "optimizer": ("an optimiser state dict", lambda v: isinstance(v, Mapping)),
    "scheduler": ("a scheduler state dict", lambda v: isinstance(v, Mapping)),
    "rng": ("the RNG states (torch, numpy, python)", _rng_ok),
    "config": ("a dict", lambda v: isinstance(v, Mapping)),
}
RESUME_FIELDS = ("epoch", "model", "optimizer", "scheduler", "rng")
EXPLAIN_FIELDS = ("model", "arch", "classes", "image_size")


def check_fields(ckpt: Any, path: str | os.PathLike, need: tuple[str, ...] = RESUME_FIELDS) -> dict:
    """`ckpt` when it is a dict holding every field of `need` and every present known field has its
    type; CheckpointError (one line naming the file and the field) otherwise."""
    if not isinstance(ckpt, dict):
        raise CheckpointError(f"{path}: not a checkpoint this tool can read "
                              f"(it holds a {type(ckpt).__name__}, not a dict)")
    for key in need:
        if key not in ckpt:
            raise CheckpointError(f"{path}: not a checkpoint this tool can read (field '{key}' is missing)")
    for key, (must, ok) in _FIELDS.items():
        if key in ckpt and not ok(ckpt[key]):
            raise CheckpointError(f"{path}: not a checkpoint this tool can read "
                                  f"(field '{key}' must be {must}, found {type(ckpt[key]).__name__})")
    return ckpt


def read_checkpoint(run: RunDir | str | os.PathLike, map_location: str = "cpu",
                    need: tuple[str, ...] = ("epoch", "model")) -> dict:
    """A run's checkpoint.pt loaded with weights_only=True, holding the fields `need` (--resume:
    RESUME_FIELDS), every known field of its type; CheckpointError (one line) when it cannot be."""
    path = RunDir(run).checkpoint_path
    return check_fields(load_torch_file(path, map_location), path, need)


def write_checkpoint(run: RunDir | str | os.PathLike, checkpoint: dict) -> None:
    """Write a run's checkpoint.pt atomically (temp file + rename), so a reader never sees half of one."""
    import torch
    with atomic.atomic_path(RunDir(run).checkpoint_path) as tmp:
        try:
            torch.save(checkpoint, tmp)
        except RuntimeError as e:       # torch's zip writer reports a failed write() as an archive error
            raise _write_failure(tmp, e) from None
        faults.point("checkpoint-written", checkpoint.get("epoch"))   # crash tests: complete, not renamed


FULL_BELOW = 64 << 20     # bytes free under which a failed write is put down to a full disk


def _write_failure(tmp: os.PathLike, e: RuntimeError) -> Exception:
    """torch's "[enforce fail at inline_container.cc] PytorchStreamWriter failed writing file data/3: file
    write failed" as the OSError it is, saying how much room the disk has (atomic_path adds the file)."""
    import errno
    import shutil
    text = str(e)
    if "PytorchStreamWriter" not in text and "file write failed" not in text and "unexpected pos" not in text:
        return e
    try:
        free = shutil.disk_usage(os.path.dirname(os.fspath(tmp)) or ".").free
    except OSError:
        free = None
    room = "" if free is None else f"; {free:,} bytes free on its disk"
    if free is not None and free < FULL_BELOW:
        return OSError(errno.ENOSPC, f"No space left on device (the checkpoint could not be written{room})")
    return OSError(errno.EIO, f"the checkpoint could not be written ({text.splitlines()[0][-120:]}){room}")
