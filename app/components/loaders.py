"""Cached loaders: every cache key includes the file's modification time, so a rewritten file (a new
epoch's scores, a re-imported dataset) is read again and an unchanged one costs nothing.

Big read-only frames use st.cache_resource (no copy per rerun): callers must not mutate them."""
from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pandas as pd
import streamlit as st

from app.components.project import check_path, runs_dir
from eac_core import rundir


def mtime(path: str | os.PathLike) -> float:
    """Modification time in ns (0 when missing): a cache key that changes whenever the file does."""
    try:
        return float(os.stat(path).st_mtime_ns)
    except OSError:
        return 0.0


# -- runs -----------------------------------------------------------------------------------------
def list_run_dirs() -> list[Path]:
    """Run folders under runs/, most recent first (by their newest contract file)."""
    root = runs_dir()
    if not root.is_dir():
        return []
    runs = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")
            and any((p / f).exists() for f in ("config.json", "config.yaml", "progress.json", "job.json",
                                                 "scores.parquet"))]

    def newest(p: Path) -> float:
        return max(mtime(p / f) for f in ("config.json", "config.yaml", "progress.json", "job.json",
                                          "scores.parquet", "summary.csv"))
    return sorted(runs, key=newest, reverse=True)


@st.cache_resource(max_entries=4, show_spinner=False)
def _scores(path: str, mt: float) -> pd.DataFrame:
    df = rundir.read_scores(Path(path))
    df["sample_id"] = df["sample_id"].astype(str)
    if "rank" not in df.columns and "suspicion" in df.columns:
        df["rank"] = df["suspicion"].rank(ascending=False, method="first").astype(int)
    return df


def load_scores(run: Path) -> pd.DataFrame | None:
    """The run's scores.parquet (None when not written yet). Read-only."""
    f = Path(run) / "scores.parquet"
    if not f.is_file():
        return None
    return _scores(str(run), mtime(f))


@st.cache_resource(max_entries=4, show_spinner=False)
def _scores_by_id(path: str, mt: float) -> pd.DataFrame:
    return _scores(path, mt).set_index("sample_id", drop=False)


def load_scores_by_id(run: Path) -> pd.DataFrame | None:
    """load_scores indexed by sample_id (kept as a column too). Read-only."""
    f = Path(run) / "scores.parquet"
    if not f.is_file():
        return None
    return _scores_by_id(str(run), mtime(f))


@st.cache_data(max_entries=8, show_spinner=False)
def _summary(path: str, mt: float) -> pd.DataFrame:
    return rundir.read_summary(Path(path))


def load_summary(run: Path) -> pd.DataFrame:
    f = Path(run) / "summary.csv"
    if not f.is_file():
        return pd.DataFrame()
    return _summary(str(run), mtime(f))


def load_progress(run: Path) -> dict | None:
    """progress.json as a dict (not cached: small and polled)."""
    try:
        return rundir.read_progress(Path(run))
    except (OSError, ValueError):
        return None


def load_config(run: Path) -> dict:
    try:
        cfg = rundir.read_config(Path(run))
    except (OSError, ValueError):
        return {}
    return dict(cfg) if cfg else {}


@st.cache_data(max_entries=4, show_spinner=False)
def _embedding(path: str, mt: float) -> pd.DataFrame:
    df = rundir.read_embedding(Path(path))
    df["sample_id"] = df["sample_id"].astype(str)
    return df


def load_embedding(run: Path) -> pd.DataFrame | None:
    f = Path(run) / "embedding.parquet"
    if not f.is_file():
        return None
    return _embedding(str(run), mtime(f))


def sample_history(run: Path, sample_id: str) -> pd.DataFrame:
    """p(given) and friends across epochs for one sample (empty when the run keeps no history)."""
    try:
        return _history(str(run), str(sample_id), _history_mtime(Path(run)))
    except (OSError, ValueError, KeyError):
        return pd.DataFrame()


def _history_mtime(run: Path) -> float:
    return max([mtime(run / "summary.csv"), mtime(run / "scores.parquet")])


@st.cache_data(max_entries=256, show_spinner=False)
def _history(run: str, sample_id: str, mt: float) -> pd.DataFrame:
    return rundir.sample_history(Path(run), sample_id)


def run_dataset_dir(run: Path) -> Path | None:
    """The dataset folder a run was trained on (from its config), or None. PathRefused when the config
    points outside the allowed roots (a run folder copied from elsewhere must not open other files)."""
    d = _run_dataset_dir(run)
    if d is not None:
        check_path(d, must_exist=False)
    return d


def _run_dataset_dir(run: Path) -> Path | None:
    cfg = load_config(run)
    ds = cfg.get("dataset")
    if not ds:  # training not started yet: the job file names the dataset
        try:
            ds = json.loads((Path(run) / "job.json").read_text(encoding="utf-8")).get("dataset")
        except (OSError, ValueError, AttributeError):
            ds = None
    if not ds:
        return None
    p = Path(ds)
    if not p.is_absolute():
        for base in (Path(run).parent.parent, Path.cwd()):
            if (base / p / "dataset.json").is_file():
                return (base / p).resolve()
        return (Path(run).parent.parent / p).resolve()
    return p


# -- datasets -------------------------------------------------------------------------------------
@st.cache_resource(max_entries=6, show_spinner=False)
def _dataset(path: str, mt: tuple):
    from data_tools.manifest import load_dataset
    return load_dataset(path)  # validated column-wise: 300k rows in a fraction of a second


def load_dataset(dataset_dir: Path):
    """data_tools Dataset of a folder (validated); cached until manifest.csv or dataset.json changes."""
    d = Path(dataset_dir)
    return _dataset(str(d), (mtime(d / "manifest.csv"), mtime(d / "dataset.json")))


def read_report(dataset_dir: Path) -> pd.DataFrame:
    f = Path(dataset_dir) / "report.csv"
    if not f.is_file():
        return pd.DataFrame()
    return pd.read_csv(f, dtype=str, keep_default_na=False)


def read_info(dataset_dir: Path) -> dict:
    try:
        return json.loads((Path(dataset_dir) / "dataset.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}


# -- images ---------------------------------------------------------------------------------------
def image_file(dataset, rel: str) -> Path:
    """A manifest path resolved under the dataset's image root (refusing '..' and symlink escapes)."""
    from data_tools.paths import safe_join
    return safe_join(dataset.image_root, rel)


@st.cache_data(max_entries=20000, show_spinner=False)
def _thumb_png(path: str, size: int, mt: float) -> bytes:
    import cv2
    from data_tools.images import load_image
    img = load_image(path)
    img = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA if img.shape[0] > size else cv2.INTER_LINEAR)
    ok, buf = cv2.imencode(".png", img[:, :, ::-1])
    return buf.tobytes() if ok else b""


def thumbnail(path: Path, size: int = 64) -> bytes | None:
    """PNG bytes of a square thumbnail, or None for a file that cannot be read."""
    try:
        return _thumb_png(str(path), size, mtime(path))
    except (OSError, ValueError):
        return None


def thumbnail_url(path: Path, size: int = 48) -> str | None:
    """A data: URL of the thumbnail (for st.column_config.ImageColumn)."""
    png = thumbnail(path, size)
    return "data:image/png;base64," + base64.b64encode(png).decode() if png else None


# -- the explainer (CAMs) -------------------------------------------------------------------------
_PREWARMED = False


def prewarm_model_code() -> None:
    """Import torch and the explainer in a background thread (once per server), so the first face
    after training starts does not wait for the import."""
    global _PREWARMED
    if _PREWARMED:
        return
    _PREWARMED = True
    import threading
    threading.Thread(target=lambda: __import__("eac_core.infer"), name="prewarm-torch", daemon=True).start()


@st.cache_resource(max_entries=2, show_spinner="Loading the model…")
def _explainer(run: str, mt: float):
    import torch
    # one face = one forward of 2 small images: extra threads only add contention
    # (measured on 2 busy cores: 1 thread 45 ms, 2 threads 600 ms)
    torch.set_num_threads(1)
    from eac_core.infer import Explainer
    return Explainer.load(Path(run), device="cpu")


def explainer(run: Path):
    """The run's Explainer (model loaded once per checkpoint version), or None without a checkpoint."""
    f = Path(run) / "checkpoint.pt"
    if not f.is_file():
        return None
    return _explainer(str(run), mtime(f))
