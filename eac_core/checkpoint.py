"""Checkpoint I/O, beside the model: `checkpoint.pt` of a run (data_tools.rundir names the file) and any
weights file, read with torch.load(weights_only=True) and written atomically.

Every refusal is a `CheckpointError` (a ValueError) whose message is one line naming the file."""
from __future__ import annotations

import os
import pickle
import re
from typing import Any

from data_tools import atomic
from data_tools.rundir import RunDir
from eac_core import faults


class CheckpointError(ValueError):
    """A checkpoint (or weights file) that is refused; the message is one line naming the file."""


_GLOBAL = re.compile(r"unsupported GLOBAL ([\w.]+)")
_TORCH_ADVICE = re.compile(r"weights.only|Weights only|trusted source|file an issue|documentation of torch",
                           re.IGNORECASE)


def load_torch_file(path: str | os.PathLike, map_location: str = "cpu", what: str = "checkpoint") -> Any:
    """torch.load(path, weights_only=True), its failures answered with one line naming the file.
    torch's own message advises retrying with weights_only=False, which would run whatever code the
    file holds; that advice is never passed on: a file naming code is refused as hostile."""
    import torch
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
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


def read_checkpoint(run: RunDir | str | os.PathLike, map_location: str = "cpu") -> dict:
    """A run's checkpoint.pt loaded with weights_only=True; CheckpointError (one line) when it cannot be."""
    path = RunDir(run).checkpoint_path
    ckpt = load_torch_file(path, map_location)
    if not isinstance(ckpt, dict):
        raise CheckpointError(f"{path}: not a checkpoint this tool can read "
                              f"(it holds a {type(ckpt).__name__}, not a dict)")
    return ckpt


def write_checkpoint(run: RunDir | str | os.PathLike, checkpoint: dict) -> None:
    """Write a run's checkpoint.pt atomically (temp file + rename), so a reader never sees half of one."""
    import torch
    with atomic.atomic_path(RunDir(run).checkpoint_path) as tmp:
        torch.save(checkpoint, tmp)
        faults.point("checkpoint-written", checkpoint.get("epoch"))   # crash tests: complete, not renamed
