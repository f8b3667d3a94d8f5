"""Which 2-D projection makes the embedding map separate the classes (issue 11 §7): PCA, t-SNE
(scikit-learn) and UMAP (umap-learn), measured on the pooled clean-view features of real runs.

Features come from the runs' checkpoints without retraining: the checkpoint is loaded as the app
loads it (eac_core.infer.Explainer.load), the training images from the run's decoded-image cache
(eac_core.data.load_cached) and the features from the trainer's own scoring pass
(eac_core.engine.score_clean, `features` = the pooled last feature map). As a check, a PCA of these
features is compared with the run's embedding.parquet (written by the trainer at the end of training).

Runs: a fresh demo run (the demo dataset, 3,000 train faces, `--preset demo --epochs 3`, made under
--work unless --demo-run names one) and, when present, fer2013_dev product runs (folders with
checkpoint.pt and config.json, default .cache/bench/rn3k/product_ce).

Per run and method:
  knn_given   leave-one-out 10-NN vote of the neighbours' given labels in the map == the face's given label
  knn_true    the same vote == the face's TRUE label, on the faces whose truth is known (the demo: true_label;
              fer2013_dev: the determined rows of truth.csv's ranked slice, FER+ majority)
  knn_true_wrong  knn_true on the faces whose given label is wrong only: does the map put a mislabeled face
              among faces labelled with its true class (what a reviewer looking at the map needs)
  trust       sklearn.manifold.trustworthiness (10 neighbours) on a seeded subsample of --trust-n faces
  seconds     wall seconds of the projection (the features' PCA to 50 dimensions included)
The same 10-NN votes in the full feature space (cosine) are the reference row "features".

Scale: seconds of each method at N = 2,000 and 5,000 (fer2013_dev features, resampled with a small
jitter where N exceeds the run), and at --scale-n (30,000 by default) for PCA, UMAP and the shipped
eac_core.embedding.project_2d (UMAP fitted on a subsample above FIT_MAX, the rest transformed); t-SNE at
--scale-n is extrapolated from 2k and 5k (n log n), not run, unless --tsne-scale. Also the cold start of
project_2d in a fresh process (import of umap-learn and numba's compilation on a first call) on the
demo run's 3,000 features: what the trainer's final ranking pays once.

  nice -n 10 python bench/bench_embedding.py                  # demo run + fer2013_dev product_ce
  nice -n 10 python bench/bench_embedding.py --demo-run DIR --fer-run DIR --scale-n 30000
"""
from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _benchlib import DEFAULT_WORK, ROOT, log, sh, write_result  # noqa: E402
from data_tools.manifest import load_dataset  # noqa: E402
from eac_core.embedding import FIT_MAX, PCA_DIMS, project_2d  # noqa: E402
from data_tools.rundir import RunDir  # noqa: E402

DEV = ROOT.parent / "shared" / "data" / "fer2013_dev"
K = 10


# ------------------------------------------------------------------------------------------ features

def run_features(run: Path, work: Path) -> dict:
    """Pooled clean-view features of a run's training faces from its checkpoint (cached under `work`),
    with the given labels, the true labels (-1 unknown) and the class names."""
    cache = work / f"features_{run.name}.npz"
    if cache.is_file():
        z = np.load(cache, allow_pickle=False)
        return {k: z[k] for k in z.files} | {"classes": list(z["classes"])}
    import torch
    from eac_core.data import load_cached, make_splits
    from eac_core.engine import StepContext, score_clean
    from eac_core.infer import Explainer
    rd = RunDir(run)
    cfg = rd.read_config()
    ex = Explainer.load(run, device="cpu")
    ds = load_dataset(cfg["dataset"])
    train, _ = make_splits(ds, int(cfg.get("limit") or 0))
    images = load_cached(ds, train, ex.image_size, Path(cfg["cache_dir"]) if cfg.get("cache_dir") else rd.path_of("cache"))
    torch.set_num_threads(2)
    t0 = time.perf_counter()
    out = score_clean(ex.model, images, train.labels, batch_size=256,
                      ctx=StepContext(device=torch.device("cpu"), spec=ex.preprocessing))
    log(f"{run.name}: features {out['features'].shape} in {time.perf_counter() - t0:.1f}s")
    true = truth_labels(train.frame, ds.classes, train.true_labels)
    res = {"features": out["features"].astype(np.float32), "labels": train.labels, "true": true,
           "classes": np.array(ds.classes)}
    if rd.has("embedding"):                 # the trainer's own map: the features must reproduce it
        emb = rd.read_embedding().set_index("sample_id").loc[train.sample_ids]
        res["stored_xy"] = emb[["x", "y"]].to_numpy(np.float32)
    work.mkdir(parents=True, exist_ok=True)
    np.savez(cache, **res)
    return res | {"classes": list(ds.classes)}


def truth_labels(frame: pd.DataFrame, classes: list[str], true_labels: np.ndarray | None) -> np.ndarray:
    """True label index per training face, -1 where unknown: the manifest's truth column
    (eac_core.metrics.truth_column's rule), else fer2013_dev's truth.csv (determined rows)."""
    from eac_core.metrics import truth_column
    idx = {c: i for i, c in enumerate(classes)}
    col = truth_column(frame)
    if col is not None:
        return frame[col].astype(str).map(idx).fillna(-1).to_numpy(int)
    out = np.full(len(frame), -1)
    if (DEV / "truth.csv").is_file() and "path" in frame.columns:
        t = pd.read_csv(DEV / "truth.csv", dtype={"path": str})
        t = t[t["mislabeled"].isin([0, 1])]
        true = np.where(t["mislabeled"] == 1, t["ferplus_majority"], t["given"])   # FER label names
        lookup = dict(zip(t["path"], true))
        for j, p in enumerate(frame["path"].astype(str)):
            if p in lookup and lookup[p] in idx:
                out[j] = idx[lookup[p]]
    return out


# ------------------------------------------------------------------------------------------ methods

def pca50(f: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.decomposition import PCA
    return PCA(n_components=min(PCA_DIMS, f.shape[1], len(f)), random_state=seed).fit_transform(f) \
        if f.shape[1] > PCA_DIMS else f


def m_pca(f: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.decomposition import PCA
    return PCA(n_components=2, random_state=seed).fit_transform(f)


def m_tsne(f: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.manifold import TSNE
    return TSNE(n_components=2, perplexity=30, init="pca", learning_rate="auto", random_state=seed,
                n_jobs=1).fit_transform(pca50(f, seed).astype(np.float32))


def m_umap(f: np.ndarray, seed: int) -> np.ndarray:
    """project_2d's UMAP fitted on every point (no subsample)."""
    return project_2d(f, seed=seed, fit_max=10 ** 9).xy


def m_shipped(f: np.ndarray, seed: int) -> np.ndarray:
    return project_2d(f, seed=seed).xy


METHODS = {"pca": m_pca, "tsne": m_tsne, "umap": m_umap}


# ------------------------------------------------------------------------------------------ metrics

def knn_votes(x: np.ndarray, labels: np.ndarray, k: int = K, metric: str = "euclidean") -> np.ndarray:
    """Leave-one-out majority vote of the k nearest neighbours' labels (ties: the lowest class index)."""
    from sklearn.neighbors import NearestNeighbors
    nn = NearestNeighbors(n_neighbors=k + 1, metric=metric).fit(x)
    _, ind = nn.kneighbors(x)
    neigh = labels[ind[:, 1:]]
    counts = np.zeros((len(x), labels.max() + 1), int)
    np.add.at(counts, (np.repeat(np.arange(len(x)), k), neigh.ravel()), 1)
    return counts.argmax(1)


def quality(x: np.ndarray, feats: np.ndarray, labels: np.ndarray, true: np.ndarray, trust_n: int, seed: int,
            metric: str = "euclidean") -> dict:
    from sklearn.manifold import trustworthiness
    vote = knn_votes(x, labels, metric=metric)
    known = true >= 0
    wrong = known & (true != labels)
    row = {"knn_given": float(np.mean(vote == labels)),
           "knn_true": float(np.mean(vote[known] == true[known])) if known.any() else float("nan"),
           "knn_true_wrong": float(np.mean(vote[wrong] == true[wrong])) if wrong.any() else float("nan"),
           "n_true": int(known.sum()), "n_wrong": int(wrong.sum())}
    if x is not feats:
        sub = np.random.default_rng(seed).choice(len(x), min(trust_n, len(x)), replace=False)
        row["trust"] = float(trustworthiness(feats[sub], x[sub], n_neighbors=K))
    return row


def timed(fn, f: np.ndarray, seed: int) -> tuple[np.ndarray, float]:
    t0 = time.perf_counter()
    xy = fn(f, seed)
    return xy, time.perf_counter() - t0


def resample(f: np.ndarray, n: int, seed: int) -> np.ndarray:
    """`n` rows drawn from `f` (with replacement where n > len(f)) plus a jitter of 5 % of each
    dimension's spread, so repeats are distinct points that keep the classes' structure."""
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(f), n, replace=n > len(f))
    return (f[pick] + rng.normal(0, 0.05, (n, f.shape[1])) * f.std(0)).astype(np.float32)


def cold_start(feature_file: Path) -> float:
    """project_2d's wall seconds in a fresh process, `import umap` and numba's first-call work included."""
    code = ("import time, numpy as np; t0 = time.perf_counter(); from eac_core.embedding import project_2d; "
            f"f = np.load({str(feature_file)!r})['features']; project_2d(f, seed=0); "
            "print(time.perf_counter() - t0)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------------ runs

def demo_run(work: Path, epochs: int) -> Path:
    ds, run = work / "demo", work / "demo_run"
    if not (ds / "dataset.json").is_file():
        sh([sys.executable, "-m", "data_tools", "demo", "--out", str(ds), "--workers", "2"])
    if not RunDir(run).has("embedding"):
        sh([sys.executable, "-m", "eac_core.train", "--dataset", str(ds), "--out", str(run), "--preset", "demo",
            "--epochs", str(epochs)])
    return run


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=DEFAULT_WORK / "embedding")
    ap.add_argument("--demo-run", type=Path, default=None, help="a finished demo run (default: made under --work)")
    ap.add_argument("--demo-epochs", type=int, default=3)
    ap.add_argument("--fer-run", type=Path, action="append", default=None,
                    help="fer2013_dev run folder(s) (default .cache/bench/rn3k/product_ce when present)")
    ap.add_argument("--sizes", default="2000,5000")
    ap.add_argument("--scale-n", type=int, default=30000)
    ap.add_argument("--tsne-scale", action="store_true", help="run t-SNE at --scale-n instead of extrapolating")
    ap.add_argument("--umap-full-scale", action="store_true", help="also fit UMAP on all --scale-n points")
    ap.add_argument("--trust-n", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()

    runs = [a.demo_run or demo_run(a.work, a.demo_epochs)]
    fer = a.fer_run or [p for p in [ROOT / ".cache/bench/rn3k/product_ce"] if (p / "checkpoint.pt").is_file()]
    runs += [p for p in fer if (p / "checkpoint.pt").is_file()]

    rows, checks, data = [], [], {}
    for run in runs:
        d = run_features(run, a.work)
        data[run.name] = d
        f, y, t = d["features"], d["labels"], d["true"]
        if "stored_xy" in d:              # the trainer's map was a PCA (random_state 0) of these features
            xy = m_pca(f, 0)
            c = [abs(np.corrcoef(xy[:, i], d["stored_xy"][:, i])[0, 1]) for i in (0, 1)]
            checks.append(f"{run.name}: PCA of the recomputed features vs the run's embedding.parquet: "
                          f"|corr| x {c[0]:.6f}, y {c[1]:.6f}")
        rows.append({"run": run.name, "n": len(f), "dims": f.shape[1], "method": f"features ({f.shape[1]}-d, cosine)",
                     **quality(f, f, y, t, a.trust_n, a.seed, metric="cosine"), "trust": float("nan"),
                     "seconds": float("nan")})
        for name, fn in METHODS.items():
            log(f"{run.name}: {name} on {len(f)} x {f.shape[1]}")
            xy, s = timed(fn, f, a.seed)
            rows.append({"run": run.name, "n": len(f), "dims": f.shape[1], "method": name,
                         **quality(xy, f, y, t, a.trust_n, a.seed), "seconds": s})
            log(f"  {rows[-1]}")
    table = pd.DataFrame(rows)

    # scale: seconds per N on fer2013_dev features (the largest run), resampled with jitter
    base = max(data.values(), key=lambda d: len(d["features"]))["features"]
    sizes = [int(s) for s in a.sizes.split(",") if s]
    scale = []
    for n in sizes + [a.scale_n]:
        f = resample(base, n, a.seed)
        for name, fn in {**METHODS, "shipped": m_shipped}.items():
            if name == "tsne" and n == a.scale_n and not a.tsne_scale:
                continue
            if name == "umap" and n == a.scale_n and not a.umap_full_scale:
                continue
            if name == "shipped" and n <= FIT_MAX:
                continue               # the same as umap below FIT_MAX
            log(f"scale: {name} at {n}")
            _, s = timed(fn, f, a.seed)
            scale.append({"n": n, "method": name, "seconds": s, "measured": "yes"})
    sc = pd.DataFrame(scale)
    if not a.tsne_scale and len(sizes) >= 2:      # t-SNE extrapolated by n log n from the two largest sizes
        t2 = sc[(sc["method"] == "tsne") & (sc["n"] == sizes[-1])]["seconds"].iloc[0]
        est = t2 * (a.scale_n * math.log(a.scale_n)) / (sizes[-1] * math.log(sizes[-1]))
        scale.append({"n": a.scale_n, "method": "tsne", "seconds": est, "measured": "no (n log n from 5k)"})
        sc = pd.DataFrame(scale)

    demo_feats = a.work / f"features_{runs[0].name}.npz"
    cold = cold_start(demo_feats)
    _, warm = timed(m_umap, data[runs[0].name]["features"], a.seed)
    _, pca_s = timed(m_pca, data[runs[0].name]["features"], a.seed)

    L = ["# Embedding map: PCA vs t-SNE vs UMAP (issue 11 §7)", "",
         f"`nice -n 10 python bench/bench_embedding.py` — {time.strftime('%Y-%m-%d')}; 2 shared CPU cores "
         f"(other jobs running: wall seconds are inflated). 10-NN leave-one-out votes; trustworthiness on "
         f"{a.trust_n} seeded faces; seed {a.seed}.", "",
         "Runs: " + ", ".join(f"`{r}`" for r in runs), "", *[f"- {c}" for c in checks], "",
         "## Class separation in the map", "",
         table.to_markdown(index=False, floatfmt=".3f"), "",
         "## Seconds per N (fer2013_dev features resampled with 5 % jitter; PCA to 50 dims included)", "",
         sc.pivot_table(index="n", columns="method", values="seconds").to_markdown(floatfmt=".1f"), "",
         sc.to_markdown(index=False, floatfmt=".1f"), "",
         f"shipped = eac_core.embedding.project_2d: UMAP, fitted on {FIT_MAX:,} seeded faces above {FIT_MAX:,}, "
         "the rest transformed.", "",
         "## What the demo's final ranking pays (its 3,000 faces)", "",
         f"- project_2d in a fresh process (import umap-learn + numba's first-call work + UMAP): {cold:.1f} s",
         f"- project_2d again in the same process (warm): {warm:.1f} s",
         f"- the former PCA: {pca_s:.2f} s", ""]
    write_result("embedding", "\n".join(L))
    (a.work / "embedding.json").write_text(json.dumps({"quality": rows, "scale": scale, "cold_s": cold,
                                                       "warm_s": warm, "pca_s": pca_s}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
