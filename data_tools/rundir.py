"""The run directory contract (docs/ARCHITECTURE.md "Run directory"): the one place that knows which
file of a run holds what, how the trainer writes it (always atomically) and how every reader gets it.

`RunDir(path)` is the object every reader uses (the app, the export, the explainer): paths of every
file, `read_*`, modification times, `dataset_dir()`, `classes()`; `list_runs(root)` is the one listing
of runs. It is a data contract (numpy, pandas, no torch), so it lives on the data floor where the export
reads it; the checkpoint's torch I/O is `eac_core.checkpoint`, beside the model.

Layout of runs/<name>/:
  config.json, progress.json, summary.csv, scores.parquet, embedding.parquet, checkpoint.pt, train.log,
  job.json, job.log                   a run started from the app: its process (pid, argv) and its output
  audit.sqlite                        the default audit database of the run (data_tools.audit)
  history/sample_ids.parquet          the fixed sample order (train split, manifest order)
  history/epoch_0001.npy              float16 (len(TRAIN_HISTORY), N): training-pass signals of epoch 1
  history/clean_0001.npy              float16 (len(CLEAN_HISTORY), N): clean-view pass after epoch 1 (if run)
                                      (runs written before float16 hold float32 files: both are read)
  cache/                              decoded images (uint8 .npy per split and size)
One .npy per epoch is memory-mapped on read, so one sample's 60-epoch history is 60 tiny reads."""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from data_tools import atomic
from data_tools.manifest import INFO as DATASET_INFO
from data_tools.manifest import ManifestError, read_info

CONFIG, PROGRESS, SUMMARY = "config.json", "progress.json", "summary.csv"
SCORES, EMBEDDING, CHECKPOINT, LOG, HISTORY = "scores.parquet", "embedding.parquet", "checkpoint.pt", "train.log", "history"
JOB, JOB_LOG, AUDIT, CACHE = "job.json", "job.log", "audit.sqlite", "cache"
FEATURES = "features.npy"       # the learned embedding for "faces like this" (eac_core.embedding.neighbour_features)
SAMPLE_IDS = "sample_ids.parquet"
FILES = {"config": CONFIG, "progress": PROGRESS, "summary": SUMMARY, "scores": SCORES, "embedding": EMBEDDING,
         "checkpoint": CHECKPOINT, "log": LOG, "history": HISTORY, "job": JOB, "job_log": JOB_LOG,
         "audit": AUDIT, "cache": CACHE, "features": FEATURES}
# The one rule of what a run folder holds. RESULTS: what training or an import of predictions leaves
# (weights, a ranking); a folder holding one is never started again without --resume (eac_core.train,
# eac_core.import_predictions, the app's launch). MARKERS: what makes a folder a run for the listing:
# RESULTS, or a file a run has from its first second (the app's job.json, written before the trainer
# starts; the trainer's config and progress). A run copied without its config still has its scores.
RESULTS = ("checkpoint", "scores")
MARKERS = ("config", "progress", "job") + RESULTS
# Files whose change means the run moved on (the listing puts the most recently active run first).
ACTIVITY = MARKERS + ("summary",)
SUMMARY_COLUMNS = ["epoch", "loss", "ce_loss", "att_loss", "cam_energy", "train_acc", "train_acc_true", "test_acc", "lr",
                   "seconds", "images_per_sec"]
TRAIN_HISTORY = ("loss", "p_label", "margin", "pred", "flip_consistency", "erased", "flip_agree")
CLEAN_HISTORY = ("clean_loss", "clean_p_label", "clean_margin", "clean_pred", "clean_flip_consistency",
                 "clean_flip_agree")
STATES = ("running", "done", "failed", "stopped")
# scores.parquet spells each class's probability column with these prefixes: prob_<class> (the final
# clean-view pass, or imported) and oos_prob_<class> (out-of-sample: --folds, or imported predictions)
PROB, OOS_PROB = "prob_", "oos_prob_"
# History files are float16: 300k samples x 60 epochs take 252 MB instead of 504 MB (float32). Measured on
# a demo run (3,000 samples, 8 epochs): relative error <= 4.9e-4 per value, class indices and 0/1 flags
# exact, AUM changed by <= 7e-4 and the default ranking's AP by 2e-5 (bench/README.md "Scale").
HISTORY_DTYPE = np.float16
_HISTORY_READ = (np.dtype(np.float16), np.dtype(np.float32))
_STR_COLUMNS = ("sample_id", "label", "pred", "true_label", "split")


@dataclass(frozen=True)
class RunDir:
    """One run directory. Cheap to create; holds nothing but its path, so every read sees the files as
    they are now (the trainer rewrites them while the app reads)."""
    path: Path

    def __init__(self, path: str | os.PathLike) -> None:
        object.__setattr__(self, "path", Path(os.fspath(path)))

    def __fspath__(self) -> str:
        return str(self.path)

    def __str__(self) -> str:
        return str(self.path)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def project(self) -> Path:
        """The project folder a run normally lives in (runs/<name>/ -> the folder above runs/)."""
        return self.path.parent.parent

    # -- where each file is -----------------------------------------------------------------------
    def path_of(self, what: str) -> Path:
        """The path of one contract file by its key in FILES ('scores', 'checkpoint', ...)."""
        try:
            return self.path / FILES[what]
        except KeyError:
            raise KeyError(f"unknown run file '{what}' (one of: {', '.join(FILES)})") from None

    config_path = property(lambda self: self.path_of("config"))
    progress_path = property(lambda self: self.path_of("progress"))
    summary_path = property(lambda self: self.path_of("summary"))
    scores_path = property(lambda self: self.path_of("scores"))
    embedding_path = property(lambda self: self.path_of("embedding"))
    checkpoint_path = property(lambda self: self.path_of("checkpoint"))
    log_path = property(lambda self: self.path_of("log"))
    history_dir = property(lambda self: self.path_of("history"))
    job_path = property(lambda self: self.path_of("job"))
    job_log_path = property(lambda self: self.path_of("job_log"))
    audit_path = property(lambda self: self.path_of("audit"))
    cache_dir = property(lambda self: self.path_of("cache"))

    def has(self, what: str) -> bool:
        """True when that file exists (a folder for 'history' and 'cache')."""
        return self.path_of(what).exists()

    def has_checkpoint(self) -> bool:
        """True when the run has model weights to explain a face with (class activation maps); a run
        made from imported predictions (eac_core.import_predictions) has none."""
        return self.has("checkpoint")

    def mtime(self, what: str) -> float:
        """Modification time of one file in ns, 0 when missing: a cache key that changes whenever the
        file is rewritten."""
        try:
            return float(os.stat(self.path_of(what)).st_mtime_ns)
        except OSError:
            return 0.0

    def activity(self) -> float:
        """The newest modification time of the files that change while a run lives (ns)."""
        return max(self.mtime(w) for w in ACTIVITY)

    def is_run(self) -> bool:
        """The one rule of the listing: a folder, not hidden, holding any of MARKERS."""
        return self.path.is_dir() and not self.name.startswith(".") and any(self.has(w) for w in MARKERS)

    def has_results(self) -> bool:
        """True when the folder holds a run's results (RESULTS: weights or a ranking), so that starting a
        run there (without --resume) would overwrite them."""
        return any(self.has(w) for w in RESULTS)

    # -- reading ------------------------------------------------------------------------------------
    def read_config(self) -> dict:
        """config.json as a dict ({} when absent; RunFileError, a ValueError naming the file, when it is
        not JSON or not a JSON object)."""
        f = self.config_path
        if not f.is_file():
            return {}
        raw, problem = _json_object(f)
        if problem:
            raise RunFileError(f"{f}: {problem}")
        return raw

    def read_progress(self) -> dict | None:
        """progress.json, or None when absent, half-written or not a JSON object (see `problem`)."""
        return _read_json(self.progress_path)

    def read_job(self) -> dict | None:
        """job.json (what the app launched here: pid, argv, dataset, ...), or None (as read_progress)."""
        return _read_json(self.job_path)

    def problem(self) -> str | None:
        """Why this run cannot be used, naming the file: a config.json, job.json or progress.json that
        is not a JSON object; None for a sound run. Listings show such a run as broken and skip it."""
        found = self._problem()
        return f"{found[0]}: {found[1]}" if found else None

    def _problem(self) -> tuple[Path, str] | None:
        for f in (self.config_path, self.job_path, self.progress_path):
            if f.is_file():
                _, problem = _json_object(f)
                if problem:
                    return f, problem
        return None

    def read_summary(self) -> pd.DataFrame:
        """summary.csv (one row per completed epoch); empty with the contract columns when absent."""
        f = self.summary_path
        if not f.is_file():
            return pd.DataFrame(columns=SUMMARY_COLUMNS)
        return pd.read_csv(f)

    def read_scores(self, columns: list[str] | None = None) -> pd.DataFrame:
        """scores.parquet (optionally only `columns`) with sample_id and the label columns as str."""
        df = pd.read_parquet(self.scores_path, columns=columns)
        for c in _STR_COLUMNS:
            if c in df.columns:
                df[c] = df[c].astype(str)
        return df

    def read_embedding(self) -> pd.DataFrame:
        """embedding.parquet: sample_id (str), x, y, and method (eac_core.embedding; absent in older runs)."""
        df = pd.read_parquet(self.embedding_path)
        df["sample_id"] = df["sample_id"].astype(str)
        return df

    def read_features(self) -> np.ndarray:
        """features.npy, memory-mapped: float16 (N, D), L2-normalised rows in the history's sample order
        (history_sample_ids). OSError/ValueError when missing or unreadable."""
        return np.load(self.path_of("features"), mmap_mode="r", allow_pickle=False)

    def final_test_acc(self) -> float | None:
        """The last measured test accuracy, or None."""
        acc = _test_acc(self.read_summary()).dropna()
        return float(acc.iloc[-1]) if len(acc) else None

    def log_tail(self, n: int = 30) -> str:
        """The last n lines of the job's output (job.log), else of train.log; '' when both are empty."""
        for f in (self.job_log_path, self.log_path):
            try:
                with open(f, "rb") as fh:
                    fh.seek(0, os.SEEK_END)
                    fh.seek(max(fh.tell() - 20000, 0))
                    text = fh.read().decode(errors="replace")
            except OSError:
                continue
            if text.strip():
                return "\n".join(text.splitlines()[-n:])
        return ""

    def is_finished(self) -> bool:
        """True when the run completed (progress state 'done' and final scores written)."""
        p = self.read_progress()
        return bool(p and p.get("state") == "done" and self.scores_path.is_file())

    # -- which dataset, which classes ---------------------------------------------------------------
    def dataset_ref(self) -> str | None:
        """The dataset as the run names it: config.json's 'dataset', else job.json's (a run launched
        from the app whose trainer has not written its config yet)."""
        try:
            ref = self.read_config().get("dataset")
        except (OSError, ValueError, AttributeError):
            ref = None
        if not ref:
            ref = (self.read_job() or {}).get("dataset")
        return str(ref) if ref else None

    def dataset_dir(self, ref: str | os.PathLike | None = None) -> Path | None:
        """The dataset folder of this run (None when nothing names one). `ref` overrides the run's own
        reference (an audit's meta). An absolute reference is taken as is; a relative one is looked up
        in the project folder (above runs/), then the working folder, then the run folder: the first
        that is a dataset folder wins, else the project's."""
        ref = ref or self.dataset_ref()
        if not ref:
            return None
        p = Path(ref)
        if p.is_absolute():
            return p
        candidates = [self.project / p, Path.cwd() / p, self.path / p]
        found = next((c for c in candidates if (c / DATASET_INFO).is_file()), candidates[0])
        return found.resolve()

    def classes(self) -> list[str]:
        """The run's ordered class list: the dataset's (dataset.json, read and checked by the manifest
        module), else the scores' prob_<class> columns, else the sorted labels of the scores; [] when the
        run has none of them."""
        ds = self.dataset_dir()
        if ds is not None and (ds / DATASET_INFO).is_file():
            try:
                return list(read_info(ds).classes)
            except ManifestError:         # a refused dataset.json: the scores still name the classes
                pass
        if not self.scores_path.is_file():
            return []
        import pyarrow.parquet as pq
        names = pq.read_schema(self.scores_path).names
        probs = [c[len(PROB):] for c in names if c.startswith(PROB)]
        if probs or "label" not in names:
            return probs
        return sorted(set(self.read_scores(["label"])["label"]))

    # -- per-epoch history -------------------------------------------------------------------------
    def history_epochs(self, kind: str = "epoch") -> list[int]:
        """Epochs with a history file of `kind` ('epoch' = training pass, 'clean' = clean-view pass)."""
        d = self.history_dir
        if not d.is_dir():
            return []
        return sorted(int(f.stem.split("_")[1]) for f in d.glob(f"{kind}_*.npy") if f.stem.split("_")[1].isdigit())

    def _history_file(self, kind: str, epoch: int) -> Path:
        return self.history_dir / f"{kind}_{epoch:04d}.npy"

    def history_sample_ids(self) -> pd.Index:
        """The fixed sample order of the history arrays."""
        f = self.history_dir / SAMPLE_IDS
        return _sample_index(str(f), f.stat().st_mtime)[0]

    def history_matrix(self, column: str) -> tuple[list[int], np.ndarray]:
        """(epochs, (E, N) float32) of one history column over all epochs that have it."""
        kind, names = ("clean", CLEAN_HISTORY) if column in CLEAN_HISTORY else ("epoch", TRAIN_HISTORY)
        if column not in names:
            raise KeyError(f"unknown history column '{column}' (one of: {', '.join(TRAIN_HISTORY + CLEAN_HISTORY)})")
        j = names.index(column)
        epochs = self.history_epochs(kind)
        mats = [np.asarray(np.load(self._history_file(kind, e), mmap_mode="r")[j], dtype=np.float32) for e in epochs]
        n = len(self.history_sample_ids()) if epochs else 0
        return epochs, (np.stack(mats) if mats else np.zeros((0, n), np.float32))

    def read_history(self, columns: Iterable[str] = ("loss", "margin", "p_label")) -> pd.DataFrame:
        """Long table: sample_id, epoch and the requested history columns (NaN where not logged)."""
        ids = self.history_sample_ids()
        columns = list(columns)
        epochs = sorted(set().union(*[set(self.history_matrix(c)[0]) for c in columns])) if columns else []
        out = pd.DataFrame({"sample_id": np.tile(ids.to_numpy(), len(epochs)),
                            "epoch": np.repeat(np.asarray(epochs, dtype=np.int32), len(ids))})
        for c in columns:
            ep, mat = self.history_matrix(c)
            full = np.full((len(epochs), len(ids)), np.nan, np.float32)
            for i, e in enumerate(ep):
                full[epochs.index(e)] = mat[i]
            out[c] = full.reshape(-1)
        return out

    def sample_history(self, sample_id: str) -> pd.DataFrame:
        """One sample's signals per epoch: epoch + TRAIN_HISTORY (+ CLEAN_HISTORY where a clean pass ran).
        Reads a few bytes per epoch file, so it stays fast for 300k samples x 60 epochs."""
        ids = self.history_sample_ids()
        try:
            j = ids.get_loc(str(sample_id))
        except KeyError:
            raise KeyError(f"sample_id '{sample_id}' is not in this run's training split") from None
        train_ep, clean_ep = self.history_epochs("epoch"), self.history_epochs("clean")
        epochs = sorted(set(train_ep) | set(clean_ep))
        row = {e: i for i, e in enumerate(epochs)}
        mat = np.full((len(epochs), len(TRAIN_HISTORY) + len(CLEAN_HISTORY)), np.nan, np.float32)
        for e in train_ep:
            mat[row[e], :len(TRAIN_HISTORY)] = _column_of(self._history_file("epoch", e), j)
        for e in clean_ep:
            mat[row[e], len(TRAIN_HISTORY):] = _column_of(self._history_file("clean", e), j)
        cols = {"epoch": np.asarray(epochs, dtype=np.int64)}
        cols.update({c: mat[:, i] for i, c in enumerate(TRAIN_HISTORY + CLEAN_HISTORY)})
        return pd.DataFrame(cols)

    # -- writing (atomic: temp file + rename) ---------------------------------------------------------
    def write_config(self, config: dict) -> None:
        atomic.write_json(self.config_path, config)

    def write_progress(self, progress: dict) -> None:
        atomic.write_json(self.progress_path, progress)

    def write_job(self, job: dict) -> None:
        atomic.write_json(self.job_path, job)

    def write_summary(self, rows: list[dict]) -> None:
        atomic.write_csv(self.summary_path, pd.DataFrame(rows, columns=SUMMARY_COLUMNS))

    def write_scores(self, table: pd.DataFrame) -> None:
        atomic.write_parquet(self.scores_path, table)

    def write_embedding(self, table: pd.DataFrame) -> None:
        atomic.write_parquet(self.embedding_path, table)

    def write_features(self, features: np.ndarray) -> None:
        """features.npy (float16 (N, D), rows in the history's sample order), atomically."""
        with atomic.atomic_path(self.path_of("features")) as tmp:
            with open(tmp, "wb") as fh:
                np.save(fh, np.ascontiguousarray(features, dtype=np.float16))

    def write_sample_ids(self, sample_ids: list[str]) -> None:
        atomic.write_parquet(self.history_dir / SAMPLE_IDS, pd.DataFrame({"sample_id": sample_ids}))

    def write_history(self, kind: str, epoch: int, signals: dict[str, np.ndarray]) -> None:
        """history/<kind>_<epoch>.npy: HISTORY_DTYPE (len(names), N) in the fixed sample order."""
        names = TRAIN_HISTORY if kind == "epoch" else CLEAN_HISTORY
        prefix = "" if kind == "epoch" else "clean_"
        n = len(next(iter(signals.values())))
        arr = np.stack([np.asarray(signals.get(k[len(prefix):], np.full(n, np.nan)), dtype=np.float32)
                        for k in names]).astype(HISTORY_DTYPE)
        with atomic.atomic_path(self._history_file(kind, epoch)) as tmp:
            with open(tmp, "wb") as fh:
                np.save(fh, arr)

    def truncate(self, epoch: int) -> None:
        """Cut summary.csv and the history back to `epoch` (for --resume), and remove the temp files a
        killed trainer left behind. The trainer calls it once as a run starts or resumes."""
        self.remove_orphan_temps()
        summ = self.read_summary()
        if len(summ):
            self.write_summary(summ[summ["epoch"] <= epoch].to_dict("records"))
        for kind in ("epoch", "clean"):
            for e in self.history_epochs(kind):
                if e > epoch:
                    self._history_file(kind, e).unlink(missing_ok=True)

    def remove_orphan_temps(self) -> list[Path]:
        """Delete the atomic-write temp files (`.<name>.<random>.tmp`) of the files only the trainer's
        main thread writes: checkpoint, scores, summary, embedding, config, history and cache. Safe only
        while no trainer writes (as a run starts); progress.json's belong to the live heartbeat, job.json's
        to the app, so those stay. Returns what was removed."""
        owned = [SCORES, EMBEDDING, CHECKPOINT, SUMMARY, CONFIG]
        found = [p for name in owned for p in self.path.glob(f".{name}.*.tmp")]
        for sub in (self.history_dir, self.path_of("cache")):
            found += list(sub.glob(".*.tmp")) if sub.is_dir() else []
        for p in found:
            p.unlink(missing_ok=True)
        return found


def prob_columns(classes: Iterable[str], prefix: str = PROB) -> list[str]:
    """The scores' probability column of each class, in class order (prefix PROB or OOS_PROB)."""
    return [f"{prefix}{c}" for c in classes]


def _test_acc(summary: pd.DataFrame) -> pd.Series:
    """test_acc per completed epoch, numeric (NaN where not measured)."""
    return pd.to_numeric(summary.get("test_acc", pd.Series(dtype=float)), errors="coerce")


class RunFileError(ValueError):
    """A run file that cannot be used (not JSON, not a JSON object); the message names the file."""


_JSON_KIND = {list: "a list", str: "a string", int: "a number", float: "a number", bool: "true or false",
              type(None): "null"}


def _json_object(path: Path) -> tuple[dict, str | None]:
    """(content, None) for a file holding a JSON object, else ({}, why not)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        return {}, f"is not valid JSON (line {e.lineno}, column {e.colno})"
    except UnicodeDecodeError:
        return {}, "is not UTF-8 text"
    except OSError as e:
        return {}, f"cannot be read ({e.strerror or e})"
    if not isinstance(raw, dict):
        return {}, f"is not a JSON object ({_JSON_KIND.get(type(raw), type(raw).__name__)})"
    return raw, None


def _read_json(path: Path) -> dict | None:
    """A JSON object file's content, or None when absent, half-written or not an object."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return raw if isinstance(raw, dict) else None


@lru_cache(maxsize=8)
def _sample_index(path: str, mtime: float) -> tuple[pd.Index, int]:
    ids = pd.read_parquet(path, columns=["sample_id"])["sample_id"].astype(str)
    return pd.Index(ids), len(ids)


@lru_cache(maxsize=64)
def _npy_layout(path: str, mtime: float) -> tuple[int, tuple[int, ...], np.dtype]:
    """(header bytes, shape, dtype) of a C-order float16 or float32 .npy file."""
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read(f)
        if fortran or dtype not in _HISTORY_READ:
            raise ValueError(f"{path}: unexpected history layout")
        return f.tell(), shape, np.dtype(dtype)


def _column_of(path: Path, j: int) -> np.ndarray:
    """Values of sample column j in every row of a (S, N) history file (S small preads), as float32.
    Measured faster than numpy's memory map (np.load(mmap_mode="r")[:, j]): 1.4 vs 15.0 ms for one sample
    of a 300,000-sample, 60-epoch run (bench/bench_history_read.py, bench/README.md)."""
    hdr, shape, dtype = _npy_layout(str(path), path.stat().st_mtime)
    size = dtype.itemsize
    fd = os.open(path, os.O_RDONLY)
    try:
        return np.array([np.frombuffer(os.pread(fd, size, hdr + (r * shape[1] + j) * size), dtype)[0]
                         for r in range(shape[0])], dtype=np.float32)
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------------- listing

def list_runs(runs_root: str | os.PathLike) -> list[RunDir]:
    """Every run under `runs_root` (RunDir.is_run), the most recently active first."""
    root = Path(runs_root)
    runs = [RunDir(d) for d in root.iterdir()] if root.is_dir() else []
    runs = [r for r in runs if r.is_run()]
    return sorted(runs, key=lambda r: (r.activity(), r.name), reverse=True)


RUNS_TABLE_COLUMNS = ["name", "path", "state", "dataset", "mode", "arch", "epochs_done", "epochs",
                      "best_test_acc", "created", "problem"]


def runs_table(runs_root: str | os.PathLike) -> pd.DataFrame:
    """list_runs as a table (one row per run, same order): state, dataset, mode, arch, epochs, best test
    accuracy, creation time; a broken run (RunDir.problem) has state 'broken' and its reason in
    `problem` (the file name and what is wrong), the other columns empty."""
    rows = []
    for r in list_runs(runs_root):
        problem = r._problem()
        if problem:
            rows.append({"name": r.name, "path": str(r.path), "state": "broken", "dataset": "", "mode": "",
                         "arch": "", "epochs_done": 0, "epochs": None, "best_test_acc": float("nan"),
                         "created": "", "problem": f"{problem[0].name} {problem[1]}"})
            continue
        try:
            cfg = r.read_config()
        except ValueError:
            cfg = {}
        prog = r.read_progress() or {}
        try:
            summ = r.read_summary()
        except (OSError, ValueError, pd.errors.ParserError):
            summ = pd.DataFrame(columns=SUMMARY_COLUMNS)
        acc = _test_acc(summ)
        created = cfg.get("created_at") or time.strftime(
            "%Y-%m-%dT%H:%M:%S", time.localtime((r.config_path if r.config_path.exists() else r.path).stat().st_mtime))
        rows.append({"name": r.name, "path": str(r.path), "state": prog.get("state", "unknown"),
                     "dataset": cfg.get("dataset", "") or r.dataset_ref() or "", "mode": cfg.get("mode", ""),
                     "arch": cfg.get("arch", ""), "epochs_done": int(len(summ)), "epochs": cfg.get("epochs"),
                     "best_test_acc": float(acc.max()) if acc.notna().any() else float("nan"), "created": created,
                     "problem": ""})
    return pd.DataFrame(rows, columns=RUNS_TABLE_COLUMNS)
