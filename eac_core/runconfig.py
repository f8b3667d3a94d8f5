"""A run's saved config.json, read back for `--resume` (issue 22 items 9 and 10): checked field by field
against `TrainConfig` (one line naming the file and the field, never a traceback), and every path it
names checked like a manifest path, since the trainer writes where it says:

- `cache_dir` (where decoded images are written) must be inside the run folder or inside a folder the
  user named on this command line (`--dataset`, `--out`, `--cache-dir`); `"cache_dir": "/etc"` wrote
  cache files into /etc before;
- `dataset` must be the folder `--dataset` names (symlinks resolved): a resumed run trains on the
  dataset its history was written for, and the user named it;
- `out` is replaced by the folder resumed (the caller does that); `pretrained` is read again through
  the bounded, code-refusing loaders of eac_core.checkpoint and data_tools.safepickle.
"""
from __future__ import annotations

import os
from dataclasses import fields
from pathlib import Path
from typing import Any

from data_tools.paths import is_within
from data_tools.rundir import RunDir, RunFileError
from eac_core.config import TrainConfig

_KIND = {bool: "true or false", int: "a whole number", float: "a number", str: "a text", list: "a list",
         dict: "an object", type(None): "null"}


def _kind(v: Any) -> str:
    return _KIND.get(type(v), type(v).__name__)


def _fits(annotation: str, v: Any) -> tuple[bool, str]:
    """(value fits the field's annotation, what the field must be)."""
    if annotation == "bool":
        return isinstance(v, bool), "true or false"
    if annotation == "int":
        return isinstance(v, int) and not isinstance(v, bool), "a whole number"
    if annotation == "float":
        return isinstance(v, (int, float)) and not isinstance(v, bool), "a number"
    if annotation == "str":
        return isinstance(v, str), "a text"
    if annotation.startswith("tuple"):
        return (isinstance(v, (list, tuple)) and len(v) == 2
                and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)), "two numbers"
    if annotation.startswith("dict"):
        return isinstance(v, dict), "an object"
    return True, ""


def check_config(raw: dict, path: Path) -> dict:
    """`raw` (config.json's object) when every TrainConfig field in it has its type and, for a flag with
    choices, one of them; RunFileError naming the file and the field otherwise."""
    for f in fields(TrainConfig):
        if f.name not in raw:
            continue
        v = raw[f.name]
        ok, must = _fits(str(f.type), v)
        if not ok:
            raise RunFileError(f"{path}: field '{f.name}' must be {must}, found {_kind(v)}")
        choices = f.metadata.get("choices")
        if choices and v not in choices:
            raise RunFileError(f"{path}: field '{f.name}' must be one of {', '.join(choices)}, found '{v}'")
    return raw


def _real(p: str | os.PathLike) -> str:
    try:
        return os.path.realpath(p)
    except OSError:
        return os.path.abspath(p)


def check_cache_dir(cache_dir: str, run: RunDir, named: list[str | os.PathLike], path: Path) -> None:
    """RunFileError unless `cache_dir` (empty: the run's own cache/) lies inside the run folder or one
    of the folders `named` on the command line, symlinks resolved."""
    if not cache_dir:
        return
    p = Path(cache_dir)
    if not p.is_absolute():
        raise RunFileError(f"{path}: field 'cache_dir' must be an absolute path, found '{cache_dir}'")
    roots = [run.path, *[Path(n) for n in named if n]]
    if not is_within(p, [_real(r) for r in roots]):
        raise RunFileError(f"{path}: field 'cache_dir' names {cache_dir}, outside the run folder and the folders "
                           "given on the command line; give --cache-dir to choose where the cache goes")


def saved_config(run: RunDir, dataset: str | os.PathLike, named: list[str | os.PathLike],
                 cache_dir: str | None = None) -> TrainConfig:
    """config.json of `run` as a TrainConfig, checked (`check_config`, `check_cache_dir`, the dataset is
    `dataset`); `cache_dir` given on the command line replaces the saved one. Every refusal is a
    RunFileError (a ValueError) whose one-line message names the file and the field."""
    path = run.config_path
    raw = check_config(run.read_config(), path)
    if cache_dir:
        raw = {**raw, "cache_dir": str(Path(cache_dir).absolute())}
    check_cache_dir(raw.get("cache_dir", ""), run, named, path)
    saved_ds = raw.get("dataset", "")
    if saved_ds and _real(saved_ds) != _real(dataset):
        raise RunFileError(f"{path}: field 'dataset' names {saved_ds}, but --dataset is {dataset}: a run resumes "
                           "on the dataset it was trained on")
    return TrainConfig.from_dict(raw)
