"""Cached loaders: every cache key includes the file's modification time, so a rewritten file (a new
epoch's scores, a re-imported dataset) is read again and an unchanged one costs nothing.

Big read-only frames use st.cache_resource (no copy per rerun): callers must not mutate them."""
from __future__ import annotations

import base64
import os
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from app.components.project import check_path, runs_dir
from data_tools.manifest import INFO, MANIFEST, REPORT
from data_tools import rundir
from data_tools.rundir import RunDir


def mtime(path: str | os.PathLike) -> float:
    """Modification time in ns (0 when missing): a cache key that changes whenever the file does."""
    try:
        return float(os.stat(path).st_mtime_ns)
    except OSError:
        return 0.0


# -- runs (every file through data_tools.rundir.RunDir) -------------------------------------------
def list_runs() -> list[RunDir]:
    """The runs under runs/, the most recently active first (data_tools.rundir.list_runs: the one rule)."""
    return rundir.list_runs(runs_dir())


@st.cache_resource(max_entries=4, show_spinner=False)
def _scores(path: str, mt: float) -> pd.DataFrame:
    df = clean_scores(RunDir(path).read_scores())
    if "rank" not in df.columns and "suspicion" in df.columns:
        df["rank"] = df["suspicion"].rank(ascending=False, method="first").astype(int)
    return df


def clean_scores(df: pd.DataFrame) -> pd.DataFrame:
    """Scores the pages can draw (issue 22, smaller): a sample_id listed twice keeps its first row (the
    Gallery drew one widget per id), infinite values become missing (the queue's range slider and the
    Insights charts refused them), and faces without a finite suspicion are ranked last. What was done
    is in `df.attrs["notes"]` (sentences), shown by `ui.score_notes`."""
    notes: list[str] = []
    if "sample_id" in df.columns:
        dup = df["sample_id"].duplicated(keep="first")
        if dup.any():
            notes.append(f"{int(dup.sum()):,} row(s) of scores.parquet repeat a sample id "
                         f"('{str(df.loc[dup, 'sample_id'].iloc[0])[:60]}' first); the first row of each is used")
            df = df.loc[~dup].reset_index(drop=True)
    floats = [c for c in df.columns if pd.api.types.is_float_dtype(df[c])]
    if floats:
        inf = np.isinf(df[floats].to_numpy(dtype=float, na_value=np.nan))
        if inf.any():
            df = df.copy()
            df[floats] = df[floats].mask(inf)
    if "suspicion" in df.columns:
        sus = pd.to_numeric(df["suspicion"], errors="coerce")
        bad = ~np.isfinite(sus.to_numpy(dtype=float, na_value=np.nan))
        if bad.any():
            df = df.copy()
            df["suspicion"] = sus.where(~bad)
            key = df["rank"] if "rank" in df.columns else -sus
            order = pd.DataFrame({"bad": bad, "key": pd.to_numeric(key, errors="coerce")}).sort_values(
                ["bad", "key"], kind="stable").index
            rank = np.empty(len(df), dtype=np.int64)
            rank[order] = np.arange(1, len(df) + 1)
            df["rank"] = rank
            notes.append(f"{int(bad.sum()):,} face(s) have no finite suspicion score (NaN or infinite) and are "
                         "ranked last")
    df.attrs["notes"] = notes
    return df



def load_scores(run: Path | RunDir) -> pd.DataFrame | None:
    """The run's scores (None when not written yet). Read-only."""
    run = RunDir(run)
    if not run.has("scores"):
        return None
    return _scores(str(run), run.mtime("scores"))


@st.cache_resource(max_entries=4, show_spinner=False)
def _scores_by_id(path: str, mt: float) -> pd.DataFrame:
    return _scores(path, mt).set_index("sample_id", drop=False)


def load_scores_by_id(run: Path | RunDir) -> pd.DataFrame | None:
    """load_scores indexed by sample_id (kept as a column too). Read-only."""
    run = RunDir(run)
    if not run.has("scores"):
        return None
    return _scores_by_id(str(run), run.mtime("scores"))


@st.cache_resource(max_entries=8, show_spinner=False)
def _slim(run: str, mt: float, cols: tuple[str, ...], _scores: pd.DataFrame) -> pd.DataFrame:
    return _scores[list(cols)].copy()


def slim_scores(run: Path | RunDir, scores: pd.DataFrame, columns) -> pd.DataFrame:
    """Only `columns` of the run's scores (those it has), cached per scores version: the queue filters
    and sorts 300k rows of 7 columns, not 40. Read-only."""
    run = RunDir(run)
    cols = tuple(c for c in dict.fromkeys(columns) if c in scores.columns)
    return _slim(str(run), run.mtime("scores"), cols, scores)


@st.cache_data(max_entries=8, show_spinner=False)
def _summary(path: str, mt: float) -> pd.DataFrame:
    return RunDir(path).read_summary()


def load_summary(run: Path | RunDir) -> pd.DataFrame:
    run = RunDir(run)
    if not run.has("summary"):
        return pd.DataFrame()
    return _summary(str(run), run.mtime("summary"))


def load_progress(run: Path | RunDir) -> dict | None:
    """The run's progress as a dict (not cached: small and polled)."""
    return RunDir(run).read_progress()


def load_config(run: Path | RunDir) -> dict:
    try:
        cfg = RunDir(run).read_config()
    except (OSError, ValueError):
        return {}
    return dict(cfg) if cfg else {}


@st.cache_data(max_entries=4, show_spinner=False)
def _embedding(path: str, mt: float) -> pd.DataFrame:
    return RunDir(path).read_embedding()


def load_embedding(run: Path | RunDir) -> pd.DataFrame | None:
    run = RunDir(run)
    if not run.has("embedding"):
        return None
    return _embedding(str(run), run.mtime("embedding"))


def sample_history(run: Path | RunDir, sample_id: str) -> pd.DataFrame:
    """p(given) and friends across epochs for one sample (empty when the run keeps no history)."""
    run = RunDir(run)
    try:
        return _history(str(run), str(sample_id), max(run.mtime("summary"), run.mtime("scores")))
    except (OSError, ValueError, KeyError):
        return pd.DataFrame()


@st.cache_data(max_entries=256, show_spinner=False)
def _history(run: str, sample_id: str, mt: float) -> pd.DataFrame:
    return RunDir(run).sample_history(sample_id)


def run_dataset_dir(run: Path | RunDir) -> Path | None:
    """The dataset folder a run was trained on (RunDir.dataset_dir), or None. PathRefused when it lies
    outside the allowed roots (a run folder copied from elsewhere must not open other files)."""
    d = RunDir(run).dataset_dir()
    if d is not None:
        check_path(d, must_exist=False)
    return d


def run_classes(run: Path | RunDir) -> list[str]:
    """The run's class list (RunDir.classes), its dataset checked against the allowed roots first."""
    run_dataset_dir(run)
    return RunDir(run).classes()


# -- datasets -------------------------------------------------------------------------------------
@st.cache_resource(max_entries=6, show_spinner=False)
def _dataset(path: str, mt: tuple):
    from data_tools.manifest import load_dataset
    return load_dataset(path)  # validated column-wise: 300k rows in a fraction of a second


def load_dataset(dataset_dir: Path):
    """data_tools Dataset of a folder (validated); cached until manifest.csv or dataset.json changes."""
    d = Path(dataset_dir)
    return _dataset(str(d), (mtime(d / MANIFEST), mtime(d / INFO)))


# -- the dataset's image issues (issues.parquet, issue 23) ----------------------------------------
@st.cache_resource(max_entries=4, show_spinner=False)
def _issues(path: str, mt: float):
    from data_tools.issues import read_issues
    from data_tools.issues.by_sample import DuplicateGroups
    t = read_issues(path)
    return t, DuplicateGroups(t)


def _issues_of(dataset_dir: Path | None):
    from data_tools.issues import ISSUES_FILE
    if dataset_dir is None:
        return None, None
    d = Path(dataset_dir)
    try:
        return _issues(str(d), mtime(d / ISSUES_FILE))
    except (OSError, ValueError):            # an unreadable issues file: the faces are still reviewable
        return None, None


def duplicate_groups(dataset_dir: Path | None):
    """The dataset's DuplicateGroups (empty without an issues.parquet); cached until the file changes."""
    from data_tools.issues.by_sample import DuplicateGroups
    return _issues_of(dataset_dir)[1] or DuplicateGroups(None)


@st.cache_resource(max_entries=4, show_spinner=False)
def _issue_bits(ds: str, ds_mt: float, run: str, run_mt: float, _scores: pd.DataFrame) -> pd.Series:
    from data_tools.issues.by_sample import issue_bits
    return issue_bits(_issues_of(Path(ds))[0] if ds else None, _scores)


def issue_bits(run: Path | RunDir, dataset_dir: Path | None, scores: pd.DataFrame) -> pd.Series:
    """sample_id -> bit set of the face's issue types (data_tools.issues.by_sample: the dataset's
    issues.parquet and the run's `ambiguous` faces); cached per issues file and scores version."""
    from data_tools.issues import ISSUES_FILE
    run = RunDir(run)
    ds = str(dataset_dir) if dataset_dir is not None else ""
    ds_mt = mtime(Path(ds) / ISSUES_FILE) if ds else 0.0
    return _issue_bits(ds, ds_mt, str(run), run.mtime("scores"), scores)


def read_report(dataset_dir: Path) -> pd.DataFrame:
    f = Path(dataset_dir) / REPORT
    if not f.is_file():
        return pd.DataFrame()
    return pd.read_csv(f, dtype=str, keep_default_na=False)


# -- images ---------------------------------------------------------------------------------------
def image_file(dataset, rel: str) -> Path:
    """A manifest path resolved under the dataset's image root (refusing '..' and symlink escapes)."""
    return dataset.image_path(rel)


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


# -- per-dataset lookups of the Review page (cached per manifest version) ---------------------------
def dataset_key(dataset) -> tuple[str, float]:
    """A cache key that changes whenever the dataset's manifest does."""
    return str(dataset.root), mtime(Path(dataset.root) / MANIFEST)


@st.cache_resource(max_entries=4, show_spinner=False)
def _path_index(key: tuple[str, float], _manifest: pd.DataFrame) -> pd.Series:
    s = pd.Series(_manifest["path"].to_numpy(), index=_manifest["sample_id"].to_numpy())
    return s[~s.index.duplicated()]


def path_index(dataset) -> pd.Series:
    """sample_id -> manifest path (a Series: building it for 300k rows is ~10x faster than a dict)."""
    return _path_index(dataset_key(dataset), dataset.manifest)


@st.cache_resource(max_entries=4, show_spinner=False)
def _label_split(key: tuple[str, float], _manifest: pd.DataFrame) -> pd.DataFrame:
    m = _manifest.drop_duplicates("sample_id").set_index("sample_id")
    return pd.DataFrame({"label": m["label"].astype(str), "split": m["split"].astype(str)})


def label_split(dataset) -> pd.DataFrame:
    """sample_id -> the manifest's label and split (every face, the test split's too)."""
    return _label_split(dataset_key(dataset), dataset.manifest)


def image_paths(dataset, sample_ids) -> list[Path | None]:
    """The image file of each sample (None where it has no row, or its path is refused)."""
    m = path_index(dataset)
    out = []
    for sid in sample_ids:
        rel = m.get(sid)
        try:
            out.append(image_file(dataset, rel) if rel else None)
        except ValueError:
            out.append(None)
    return out


@st.cache_data(max_entries=64, show_spinner=False)
def _thumbs(key: tuple[str, float], sample_ids: tuple[str, ...], _dataset) -> list[str | None]:
    return [thumbnail_url(p, 48) if p is not None else None for p in image_paths(_dataset, sample_ids)]


def thumbs(dataset, sample_ids: tuple[str, ...]) -> list[str | None]:
    """Data URLs of 48-px thumbnails (one cache lookup for a whole page of the queue)."""
    return _thumbs(dataset_key(dataset), sample_ids, dataset)


@st.cache_resource(max_entries=2, show_spinner=False)
def _votes(key: tuple[str, float], _dataset, cols: tuple[str, ...]) -> pd.DataFrame:
    m = _dataset.manifest
    v = m[list(cols)].apply(pd.to_numeric, errors="coerce").fillna(0)
    v.index = m["sample_id"].astype(str)
    return v


def votes(dataset) -> pd.DataFrame | None:
    """The annotators' vote_<class> columns indexed by sample_id (numbers), None without votes."""
    if dataset is None:
        return None
    cols = [c for c in dataset.manifest.columns if c.startswith("vote_")]
    return _votes(dataset_key(dataset), dataset, tuple(cols)) if cols else None


# -- the explainer (CAMs) -------------------------------------------------------------------------
_PREWARMED = False
_MODEL_CODE = threading.Event()      # set once the prewarm thread has imported torch and the explainer


def prewarm_model_code() -> None:
    """Import torch and the explainer in a background thread (once per server), so that neither the
    first face after training starts nor the first page of a fresh server waits for the import."""
    global _PREWARMED
    if _PREWARMED:
        return
    _PREWARMED = True

    def work() -> None:
        try:
            __import__("eac_core.infer")
        finally:
            _MODEL_CODE.set()
    threading.Thread(target=work, name="prewarm-torch", daemon=True).start()


def model_code_ready() -> bool:
    """True when torch and the explainer code are imported: by the prewarm thread, or fully by anyone
    before it started (a module in sys.modules while the prewarm thread runs may be half imported)."""
    if _MODEL_CODE.is_set():
        return True
    return not _PREWARMED and "eac_core.infer" in sys.modules


@st.cache_resource(max_entries=2, show_spinner="Loading the model…")
def _explainer(run: str, mt: float):
    import torch
    # one face = one forward of 2 small images: extra threads only add contention
    # (measured on 2 busy cores: 1 thread 45 ms, 2 threads 600 ms)
    torch.set_num_threads(1)
    from eac_core.infer import Explainer
    return Explainer.load(Path(run), device="cpu")


def explainer(run: Path | RunDir):
    """The run's Explainer (model loaded once per checkpoint version), or None without a checkpoint."""
    run = RunDir(run)
    if not run.has("checkpoint"):
        return None
    return _explainer(str(run), run.mtime("checkpoint"))


# -- which epoch the ranking is from (issue 24 §2: one source per number on the Review page) ----------
def ranking_epoch(run: Path | RunDir) -> int | None:
    """The epoch whose training pass the run's scores.parquet follows: the newest history/epoch_NNNN.npy
    written before it (the trainer writes an epoch's history, then its scores, then the next epoch's
    history). None without history (a run from imported predictions)."""
    run = RunDir(run)
    s_mt = run.mtime("scores")
    for e in reversed(run.history_epochs("epoch")):
        if mtime(run.history_dir / f"epoch_{e:04d}.npy") <= s_mt:
            return e
    return None


def ranking_status(run: Path | RunDir) -> dict:
    """What the Review page says about its ranking and the training, from ONE read of progress.json,
    drawn by the provisional banner and the queue caption alike: `ranking_epoch` (the scores' epoch),
    `epochs` (planned: progress.json's, else config.json's), `training_epoch`, `phase`, `state`."""
    run = RunDir(run)
    prog = run.read_progress() or {}
    epochs = prog.get("epochs")
    if not isinstance(epochs, int) or isinstance(epochs, bool):
        epochs = load_config(run).get("epochs")
        epochs = epochs if isinstance(epochs, int) and not isinstance(epochs, bool) else None
    te = prog.get("epoch")
    return {"ranking_epoch": ranking_epoch(run), "epochs": epochs,
            "training_epoch": te if isinstance(te, int) and not isinstance(te, bool) else None,
            "phase": str(prog.get("phase") or ""), "state": str(prog.get("state") or "")}


def ranking_text(status: dict) -> str:
    """'ranking from epoch 3 of 8' (or 'of 8 planned'), the same words wherever the page says it."""
    e, n = status.get("ranking_epoch"), status.get("epochs")
    if e is None:
        return "ranking from imported predictions" if n is None else "ranking of an unknown epoch"
    return f"ranking from epoch {e} of {n}" if n else f"ranking from epoch {e}"


# -- "faces like this" (issue 24: the evidence behind the kNN signal) -------------------------------
@st.cache_resource(max_entries=2, show_spinner=False)
def _features(run: str, mt: float) -> tuple[np.ndarray, pd.Index] | None:
    rd = RunDir(run)
    try:
        f, ids = rd.read_features(), rd.history_sample_ids()
    except (OSError, ValueError):
        return None
    if f.ndim != 2 or len(f) != len(ids):
        return None
    return f, pd.Index(ids.astype(str))


@st.cache_resource(max_entries=2, show_spinner=False)
def _map(run: str, mt: float) -> tuple[np.ndarray, pd.Index] | None:
    try:
        e = RunDir(run).read_embedding()
    except (OSError, ValueError):
        return None
    if not {"x", "y"} <= set(e.columns):
        return None
    return e[["x", "y"]].to_numpy(np.float32), pd.Index(e["sample_id"])


def faces_like(run: Path | RunDir, sid: str, k: int = 8) -> tuple[pd.DataFrame | None, str]:
    """The k faces nearest to `sid` (itself excluded), nearest first: (sample_id, similarity), and where
    they come from: "features" (features.npy, cosine in the learned embedding: the neighbours behind the
    kNN signal), "map" (embedding.parquet's 2-D map, Euclidean: runs written before features.npy; the
    map distorts distances, which the page says) or "" (neither; frame None)."""
    run = RunDir(run)
    got = _features(str(run), run.mtime("features"))
    if got is not None and sid in got[1]:
        f, ids = got
        q = np.asarray(f[ids.get_loc(sid)], dtype=np.float32)
        sims = np.concatenate([np.asarray(f[i:i + 65536], dtype=np.float32) @ q for i in range(0, len(f), 65536)])
        how, score = "features", sims
    else:
        got = _map(str(run), run.mtime("embedding"))
        if got is None or sid not in got[1]:
            return None, ""
        xy, ids = got
        score = -np.linalg.norm(xy - xy[ids.get_loc(sid)], axis=1)
        how = "map"
    score = score.copy()
    score[ids.get_loc(sid)] = -np.inf
    k = min(k, len(score) - 1)
    if k <= 0:
        return None, how
    top = np.argpartition(-score, k - 1)[:k]
    top = top[np.argsort(-score[top], kind="stable")]
    return pd.DataFrame({"sample_id": ids[top].to_numpy(), "similarity": score[top]}), how
