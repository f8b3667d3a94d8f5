"""A run from your own model's predictions, without training here (issue 11 item 8).

  python -m eac_core.import_predictions --dataset datasets/NAME --probs FILE --out runs/NAME

FILE (CSV or Parquet) has a `sample_id` column (the dataset's manifest ids) and one probability column
per class of the dataset, named `prob_<class>` or just `<class>`; every row sums to 1 (±0.001). They
should be out-of-sample probabilities (each face scored by a model that did not train on it: K-fold
cross-validation, as cleanlab expects). Optional `emb_<anything>` columns hold an embedding of each
face: the run's embedding map is their 2-D projection (eac_core.embedding.project_2d) and the kNN
label agreement (`knn_p_label`) is computed from them. Faces of the dataset that FILE does not list are not in the run.

The run directory is written through data_tools.rundir.RunDir like a trained one: `config.json`
(`mode` = "imported", the probability file), `progress.json` (done), `scores.parquet` (the contract
columns: `prob_<class>` and `oos_prob_<class>` both hold FILE's probabilities, `pred`, `p_label`, `loss`
= -log p_label, `margin` = p_label - the largest other probability, cleanlab's label-quality scores,
`suspicion` = one of them, `rank`) and `embedding.parquet` when embeddings were given. No checkpoint:
the Review page shows no class activation maps for such a run (`RunDir.has_checkpoint()`).

Bad input gets one `error: ...` line naming the file and its line (CSV: the header is line 1) or row
(Parquet: the first row is row 1), exit 2: an unknown or repeated sample id, a missing class column, a
value that is not a number, NaN, outside 0..1, or a row that does not sum to 1."""
from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from data_tools.rundir import PROB, RunDir

SUM_TOLERANCE = 1e-3
SCORES = {"self_confidence": "cleanlab_self_confidence", "normalized_margin": "cleanlab_normalized_margin"}
EMBEDDING_PREFIX = "emb_"


class PredictionsError(ValueError):
    """A predictions file or option that cannot make a run; the message names the file and row."""


def read_table(path: str | Path) -> pd.DataFrame:
    """The file as text-keyed columns (sample_id kept a string). CSV or Parquet, by suffix."""
    path = Path(path)
    if not path.is_file():
        raise PredictionsError(f"{path}: no such file")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            df = pd.read_parquet(path)
        else:
            df = pd.read_csv(path, dtype={"sample_id": str}, keep_default_na=False, na_values=[""],
                             encoding="utf-8-sig")
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as e:
        raise PredictionsError(f"{path}: cannot be read as {'Parquet' if path.suffix.lower() in ('.parquet', '.pq') else 'CSV'} "
                               f"({str(e).splitlines()[0] if str(e) else type(e).__name__})") from None
    df.columns = [str(c).strip() for c in df.columns]
    return df


def _where(path: Path, i: int, sid: str | None = None) -> str:
    """'FILE: line N' (CSV, header = line 1) or 'FILE: row N' (Parquet), with the sample id."""
    pos = f"row {i + 1}" if path.suffix.lower() in (".parquet", ".pq") else f"line {i + 2}"
    return f"{path}: {pos}" + (f" (sample_id {sid!r})" if sid is not None else "")


def validate(df: pd.DataFrame, classes: list[str], known_ids: set[str], path: str | Path,
             dataset_name: str = "the dataset") -> tuple[list[str], np.ndarray, np.ndarray | None]:
    """(sample ids, (N, K) probabilities in `classes` order, (N, D) embedding or None), or
    PredictionsError naming the first bad row."""
    path = Path(path)
    if "sample_id" not in df.columns:
        raise PredictionsError(f"{path}: no sample_id column (columns: {', '.join(df.columns[:12])})")
    if len(df) == 0:
        raise PredictionsError(f"{path}: no rows")
    cols, missing = [], []
    for c in classes:
        col = next((n for n in (f"{PROB}{c}", c) if n in df.columns), None)
        (cols if col else missing).append(col or c)
    if missing:
        raise PredictionsError(f"{path}: no probability column for class(es) {', '.join(missing)} (expected "
                               f"prob_<class> or <class> for each of: {', '.join(classes)})")
    stray = [c for c in df.columns if c.startswith(PROB) and c not in cols]
    if stray:
        raise PredictionsError(f"{path}: column {stray[0]} names no class of {dataset_name} "
                               f"(classes: {', '.join(classes)})")
    ids = df["sample_id"]
    empty = ids.isna() | (ids.astype(str).str.strip() == "")
    if empty.any():
        raise PredictionsError(f"{_where(path, int(np.flatnonzero(empty.to_numpy())[0]))}: empty sample_id")
    ids = ids.astype(str).str.strip()
    unknown = ~ids.isin(known_ids)
    if unknown.any():
        i = int(np.flatnonzero(unknown.to_numpy())[0])
        raise PredictionsError(f"{_where(path, i, ids.iloc[i])}: this sample_id is not in {dataset_name}"
                               + (f" ({int(unknown.sum())} unknown ids in all)" if unknown.sum() > 1 else ""))
    dup = ids.duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        first = int(np.flatnonzero((ids == ids.iloc[i]).to_numpy())[0])
        raise PredictionsError(f"{_where(path, i, ids.iloc[i])}: repeats the sample_id of "
                               f"{_where(path, first).split(': ', 1)[1]}")
    probs = _numbers(df, cols, path, ids, "probability")
    bad = (probs < 0) | (probs > 1)
    if bad.any():
        i, j = map(int, np.argwhere(bad)[0])
        raise PredictionsError(f"{_where(path, i, ids.iloc[i])}: {cols[j]} = {probs[i, j]:g} is outside 0..1")
    sums = probs.sum(axis=1)
    off = np.abs(sums - 1) > SUM_TOLERANCE
    if off.any():
        i = int(np.flatnonzero(off)[0])
        raise PredictionsError(f"{_where(path, i, ids.iloc[i])}: the probabilities sum to {sums[i]:.4g}, not 1 "
                               f"(tolerance {SUM_TOLERANCE:g}; {int(off.sum())} such row(s))")
    emb_cols = [c for c in df.columns if c.startswith(EMBEDDING_PREFIX)]
    emb = _numbers(df, emb_cols, path, ids, "embedding value") if emb_cols else None
    return ids.tolist(), probs / sums[:, None], emb


def _numbers(df: pd.DataFrame, cols: list[str], path: Path, ids: pd.Series, what: str) -> np.ndarray:
    raw = df[cols]
    values = raw.apply(lambda s: pd.to_numeric(s, errors="coerce")).to_numpy(dtype="float64")
    bad = ~np.isfinite(values)
    if bad.any():
        i, j = map(int, np.argwhere(bad)[0])
        cell = raw.iloc[i, j]
        shown = "empty" if cell is None or (isinstance(cell, float) and np.isnan(cell)) or str(cell).strip() == "" \
            else f"{cell!r}, not a finite number"
        raise PredictionsError(f"{_where(path, i, ids.iloc[i])}: {what} {cols[j]} is {shown}")
    return values


def build_run(dataset_dir: str | Path, probs_path: str | Path, out: str | Path, *,
              score: str = "self_confidence") -> RunDir:
    """Validate the file against the dataset and write the run directory; returns it."""
    from data_tools.manifest import load_dataset
    from eac_core.folds import oos_columns
    from eac_core.scores import build_scores, knn_label_agreement
    if score not in SCORES:
        raise PredictionsError(f"--score {score}: one of {', '.join(SCORES)}")
    run = RunDir(out)
    if run.is_run():
        raise PredictionsError(f"{run.path}: already holds a run; choose another --out")
    try:
        ds = load_dataset(dataset_dir)
    except (OSError, ValueError) as e:
        raise PredictionsError(f"{dataset_dir}: not a dataset folder ({str(e).splitlines()[0]})") from None
    classes = list(ds.classes)
    m = ds.manifest.copy()
    m["sample_id"] = m["sample_id"].astype(str)
    path = Path(probs_path)
    ids, probs, emb = validate(read_table(path), classes, set(m["sample_id"]), path, f"{Path(dataset_dir)}/manifest.csv")
    order = pd.Series(np.arange(len(ids)), index=ids)
    frame = m[m["sample_id"].isin(order.index)].reset_index(drop=True)     # manifest order
    take = order[frame["sample_id"]].to_numpy()
    probs = probs[take]
    emb = emb[take] if emb is not None else None
    idx = {c: k for k, c in enumerate(classes)}
    labels = frame["label"].astype(str).map(idx)
    if labels.isna().any():
        i = int(np.flatnonzero(labels.isna().to_numpy())[0])
        raise PredictionsError(f"{dataset_dir}: manifest label {frame['label'].iloc[i]!r} of sample "
                               f"{frame['sample_id'].iloc[i]} is not one of its classes")
    labels = labels.to_numpy(dtype=int)
    n = len(labels)
    p_label = probs[np.arange(n), labels]
    other = probs.copy()
    other[np.arange(n), labels] = -np.inf
    signals = {"probs": probs, "pred": probs.argmax(1), "p_label": p_label,
               "loss": -np.log(np.clip(p_label, 1e-12, None)), "margin": p_label - other.max(1)}
    extra = {}
    if emb is not None and n > 1:
        extra["knn_p_label"] = knn_label_agreement(emb, labels)
    table = build_scores(frame, classes, labels, signals, extra, provisional=False, suspicion=SCORES[score])
    oos = oos_columns(probs, np.full(n, -1), labels, classes)
    oos.index = table.index
    table = pd.concat([table, oos], axis=1)
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    run.path.mkdir(parents=True, exist_ok=True)
    run.write_config({"dataset": str(Path(dataset_dir).resolve()), "out": str(run.path.resolve()), "mode": "imported",
                      "arch": "", "preset": "", "epochs": 0, "predictions": str(path.resolve()),
                      "suspicion": SCORES[score], "embedding_columns": int(emb.shape[1]) if emb is not None else 0,
                      "created_at": now})
    run.write_scores(table)
    if emb is not None:
        from eac_core.embedding import embedding_table, project_2d
        run.write_embedding(embedding_table(frame["sample_id"].to_numpy(), project_2d(emb, seed=0)))
    run.write_progress({"state": "done", "phase": "done", "epoch": 0, "epochs": 0, "step": 0, "steps": 0,
                        "error": None, "updated_at": now})
    return run


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m eac_core.import_predictions",
                                description="Make a run from your own model's out-of-sample class probabilities "
                                            "(no training): scores ranked by cleanlab's label-quality score.")
    p.add_argument("--dataset", required=True, help="dataset folder (made by python -m data_tools import)")
    p.add_argument("--probs", required=True, help="CSV or Parquet: sample_id, one prob_<class> (or <class>) column "
                                                  "per class, optional emb_* embedding columns")
    p.add_argument("--out", required=True, help="run folder to write (runs/<name>)")
    p.add_argument("--score", default="self_confidence", choices=list(SCORES),
                   help="cleanlab label-quality score that ranks the faces (default: cleanlab's own default)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        run = build_run(args.dataset, args.probs, args.out, score=args.score)
    except PredictionsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    n = len(run.read_scores(columns=["sample_id"]))
    print(f"wrote {run.path}: {n} faces ranked by cleanlab {args.score}"
          + (" with an embedding map" if run.has("embedding") else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
