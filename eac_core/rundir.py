"""The run directory contract (ARCHITECTURE.md "Run directory"): where each file lives, how the
trainer writes it (always atomically) and how the app reads it.

Layout of runs/<name>/:
  config.json, progress.json, summary.csv, scores.parquet, embedding.parquet, checkpoint.pt, train.log,
  history/sample_ids.parquet          the fixed sample order (train split, manifest order)
  history/epoch_0001.npy              float32 (len(TRAIN_HISTORY), N): training-pass signals of epoch 1
  history/clean_0001.npy              float32 (len(CLEAN_HISTORY), N): clean-view pass after epoch 1 (if run)
  cache/                              decoded images (uint8 .npy per split and size)
One .npy per epoch is memory-mapped on read, so one sample's 60-epoch history is 60 tiny reads."""
from __future__ import annotations

import json
import os
import sys
import time
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from data_tools import atomic

CONFIG, PROGRESS, SUMMARY = "config.json", "progress.json", "summary.csv"
SCORES, EMBEDDING, CHECKPOINT, LOG, HISTORY = "scores.parquet", "embedding.parquet", "checkpoint.pt", "train.log", "history"
SUMMARY_COLUMNS = ["epoch", "loss", "ce_loss", "att_loss", "train_acc", "train_acc_true", "test_acc", "lr",
                   "seconds", "images_per_sec"]
TRAIN_HISTORY = ("loss", "p_label", "margin", "pred", "flip_consistency", "erased", "flip_agree")
CLEAN_HISTORY = ("clean_loss", "clean_p_label", "clean_margin", "clean_pred", "clean_flip_consistency",
                 "clean_flip_agree")
STATES = ("running", "done", "failed", "stopped")


def _p(run: str | os.PathLike) -> Path:
    return Path(run)


# ---------------------------------------------------------------------------------- reading

def read_config(run: str | os.PathLike) -> dict:
    """config.json as a dict ({} when absent)."""
    f = _p(run) / CONFIG
    return json.loads(f.read_text(encoding="utf-8")) if f.is_file() else {}


def read_progress(run: str | os.PathLike) -> dict | None:
    """progress.json, or None when absent or half-written."""
    f = _p(run) / PROGRESS
    try:
        return json.loads(f.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def read_summary(run: str | os.PathLike) -> pd.DataFrame:
    """summary.csv (one row per completed epoch); empty with the contract columns when absent."""
    f = _p(run) / SUMMARY
    if not f.is_file():
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    return pd.read_csv(f)


def read_scores(run: str | os.PathLike) -> pd.DataFrame:
    """scores.parquet with sample_id (and label columns) as str."""
    df = pd.read_parquet(_p(run) / SCORES)
    for c in ("sample_id", "label", "pred", "true_label", "split"):
        if c in df.columns:
            df[c] = df[c].astype(str)
    return df


def read_embedding(run: str | os.PathLike) -> pd.DataFrame:
    """embedding.parquet: sample_id (str), x, y."""
    df = pd.read_parquet(_p(run) / EMBEDDING)
    df["sample_id"] = df["sample_id"].astype(str)
    return df


def history_epochs(run: str | os.PathLike, kind: str = "epoch") -> list[int]:
    """Epochs with a history file of `kind` ('epoch' = training pass, 'clean' = clean-view pass)."""
    d = _p(run) / HISTORY
    if not d.is_dir():
        return []
    return sorted(int(f.stem.split("_")[1]) for f in d.glob(f"{kind}_*.npy") if f.stem.split("_")[1].isdigit())


@lru_cache(maxsize=8)
def _sample_index(path: str, mtime: float) -> tuple[pd.Index, int]:
    ids = pd.read_parquet(path, columns=["sample_id"])["sample_id"].astype(str)
    return pd.Index(ids), len(ids)


def history_sample_ids(run: str | os.PathLike) -> pd.Index:
    """The fixed sample order of the history arrays."""
    f = _p(run) / HISTORY / "sample_ids.parquet"
    return _sample_index(str(f), f.stat().st_mtime)[0]


def _load(path: Path) -> np.ndarray:
    return np.load(path, mmap_mode="r")


def history_matrix(run: str | os.PathLike, column: str) -> tuple[list[int], np.ndarray]:
    """(epochs, (E, N) float32) of one history column over all epochs that have it."""
    kind, names = ("clean", CLEAN_HISTORY) if column in CLEAN_HISTORY else ("epoch", TRAIN_HISTORY)
    if column not in names:
        raise KeyError(f"unknown history column '{column}' (one of: {', '.join(TRAIN_HISTORY + CLEAN_HISTORY)})")
    j = names.index(column)
    epochs = history_epochs(run, kind)
    d = _p(run) / HISTORY
    mats = [np.asarray(_load(d / f"{kind}_{e:04d}.npy")[j]) for e in epochs]
    n = len(history_sample_ids(run)) if epochs else 0
    return epochs, (np.stack(mats) if mats else np.zeros((0, n), np.float32))


def read_history(run: str | os.PathLike, columns: Iterable[str] = ("loss", "margin", "p_label")) -> pd.DataFrame:
    """Long table: sample_id, epoch and the requested history columns (NaN where not logged)."""
    ids = history_sample_ids(run)
    columns = list(columns)
    epochs = sorted(set().union(*[set(history_matrix(run, c)[0]) for c in columns])) if columns else []
    out = pd.DataFrame({"sample_id": np.tile(ids.to_numpy(), len(epochs)),
                        "epoch": np.repeat(np.asarray(epochs, dtype=np.int32), len(ids))})
    for c in columns:
        ep, mat = history_matrix(run, c)
        full = np.full((len(epochs), len(ids)), np.nan, np.float32)
        for i, e in enumerate(ep):
            full[epochs.index(e)] = mat[i]
        out[c] = full.reshape(-1)
    return out


@lru_cache(maxsize=64)
def _npy_layout(path: str, mtime: float) -> tuple[int, tuple[int, ...]]:
    """(header bytes, shape) of a C-order float32 .npy file."""
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read(f)
        if fortran or dtype != np.float32:
            raise ValueError(f"{path}: unexpected history layout")
        return f.tell(), shape


def _column_of(path: Path, j: int) -> np.ndarray:
    """Values of sample column j in every row of a (S, N) float32 history file (S small preads)."""
    hdr, shape = _npy_layout(str(path), path.stat().st_mtime)
    fd = os.open(path, os.O_RDONLY)
    try:
        return np.array([np.frombuffer(os.pread(fd, 4, hdr + (r * shape[1] + j) * 4), np.float32)[0]
                         for r in range(shape[0])], dtype=np.float32)
    finally:
        os.close(fd)


def sample_history(run: str | os.PathLike, sample_id: str) -> pd.DataFrame:
    """One sample's signals per epoch: epoch + TRAIN_HISTORY (+ CLEAN_HISTORY where a clean pass ran).
    Reads a few bytes per epoch file, so it stays fast for 300k samples x 60 epochs."""
    ids = history_sample_ids(run)
    try:
        j = ids.get_loc(str(sample_id))
    except KeyError:
        raise KeyError(f"sample_id '{sample_id}' is not in this run's training split") from None
    d = _p(run) / HISTORY
    train_ep, clean_ep = history_epochs(run, "epoch"), history_epochs(run, "clean")
    epochs = sorted(set(train_ep) | set(clean_ep))
    row = {e: i for i, e in enumerate(epochs)}
    mat = np.full((len(epochs), len(TRAIN_HISTORY) + len(CLEAN_HISTORY)), np.nan, np.float32)
    for e in train_ep:
        mat[row[e], :len(TRAIN_HISTORY)] = _column_of(d / f"epoch_{e:04d}.npy", j)
    for e in clean_ep:
        mat[row[e], len(TRAIN_HISTORY):] = _column_of(d / f"clean_{e:04d}.npy", j)
    cols = {"epoch": np.asarray(epochs, dtype=np.int64)}
    cols.update({c: mat[:, i] for i, c in enumerate(TRAIN_HISTORY + CLEAN_HISTORY)})
    return pd.DataFrame(cols)


def is_finished(run: str | os.PathLike) -> bool:
    """True when the run completed (progress state 'done' and final scores written)."""
    p = read_progress(run)
    return bool(p and p.get("state") == "done" and (_p(run) / SCORES).is_file())


def list_runs(runs_root: str | os.PathLike) -> pd.DataFrame:
    """One row per run directory under `runs_root`, newest first."""
    cols = ["name", "path", "state", "dataset", "mode", "arch", "epochs_done", "epochs", "best_test_acc", "created"]
    rows = []
    root = _p(runs_root)
    for d in sorted(root.iterdir()) if root.is_dir() else []:
        if not d.is_dir() or not ((d / CONFIG).is_file() or (d / PROGRESS).is_file()):
            continue
        try:
            cfg = read_config(d)
        except ValueError:
            cfg = {}
        prog = read_progress(d) or {}
        try:
            summ = read_summary(d)
        except (OSError, ValueError, pd.errors.ParserError):
            summ = pd.DataFrame(columns=SUMMARY_COLUMNS)
        acc = pd.to_numeric(summ.get("test_acc", pd.Series(dtype=float)), errors="coerce")
        created = cfg.get("created_at") or time.strftime(
            "%Y-%m-%dT%H:%M:%S", time.localtime((d / CONFIG if (d / CONFIG).exists() else d).stat().st_mtime))
        rows.append({"name": d.name, "path": str(d), "state": prog.get("state", "unknown"),
                     "dataset": cfg.get("dataset", ""), "mode": cfg.get("mode", ""), "arch": cfg.get("arch", ""),
                     "epochs_done": int(len(summ)), "epochs": cfg.get("epochs"),
                     "best_test_acc": float(acc.max()) if acc.notna().any() else float("nan"), "created": created})
    return pd.DataFrame(rows, columns=cols).sort_values("created", ascending=False, ignore_index=True)


def train_command(dataset: str | os.PathLike, out: str | os.PathLike, **options: Any) -> list[str]:
    """The exact argv that trains `dataset` into `out`: [python, -m, eac_core.train, --dataset, ..., --opt, val].
    Options use the flag names with '_' (erase_scale=(0.02, 0.25), resume=True); None/False are omitted."""
    argv = [sys.executable, "-m", "eac_core.train", "--dataset", str(dataset), "--out", str(out)]
    for k, v in options.items():
        if v is None or v is False:
            continue
        flag = "--" + k.replace("_", "-")
        if v is True:
            argv.append(flag)
        elif isinstance(v, (list, tuple)):
            argv += [flag, *[str(x) for x in v]]
        else:
            argv += [flag, str(v)]
    return argv


# ---------------------------------------------------------------------------------- writing

def write_progress(run: str | os.PathLike, progress: dict) -> None:
    atomic.write_json(_p(run) / PROGRESS, progress)


def write_summary(run: str | os.PathLike, rows: list[dict]) -> None:
    atomic.write_csv(_p(run) / SUMMARY, pd.DataFrame(rows, columns=SUMMARY_COLUMNS))


def write_sample_ids(run: str | os.PathLike, sample_ids: list[str]) -> None:
    atomic.write_parquet(_p(run) / HISTORY / "sample_ids.parquet", pd.DataFrame({"sample_id": sample_ids}))


def write_history(run: str | os.PathLike, kind: str, epoch: int, signals: dict[str, np.ndarray]) -> None:
    """history/<kind>_<epoch>.npy: float32 (len(names), N) in the fixed sample order."""
    names = TRAIN_HISTORY if kind == "epoch" else CLEAN_HISTORY
    prefix = "" if kind == "epoch" else "clean_"
    n = len(next(iter(signals.values())))
    arr = np.stack([np.asarray(signals.get(k[len(prefix):], np.full(n, np.nan)), dtype=np.float32)
                    for k in names])
    f = _p(run) / HISTORY / f"{kind}_{epoch:04d}.npy"
    with atomic.atomic_path(f) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, arr)


def truncate(run: str | os.PathLike, epoch: int) -> None:
    """Cut summary.csv and the history back to `epoch` (for --resume)."""
    summ = read_summary(run)
    if len(summ):
        write_summary(run, summ[summ["epoch"] <= epoch].to_dict("records"))
    for kind in ("epoch", "clean"):
        for e in history_epochs(run, kind):
            if e > epoch:
                (_p(run) / HISTORY / f"{kind}_{e:04d}.npy").unlink(missing_ok=True)


def write_checkpoint(run: str | os.PathLike, checkpoint: dict) -> None:
    import torch
    with atomic.atomic_path(_p(run) / CHECKPOINT) as tmp:
        torch.save(checkpoint, tmp)


def read_checkpoint(run: str | os.PathLike, map_location: str = "cpu") -> dict:
    """checkpoint.pt loaded with weights_only=True."""
    import torch
    return torch.load(_p(run) / CHECKPOINT, map_location=map_location, weights_only=True)
