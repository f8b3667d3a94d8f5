"""The 2-D embedding map of a run: one projection of per-sample feature vectors, shared by the trainer
(eac_core.train.write_embedding, the pooled clean-view features) and the predictions importer
(eac_core.import_predictions, the `emb_*` columns).

``project_2d(features, seed=0)`` -> ``Projection(xy, method)``:
- UMAP (umap-learn) of the features, after a seeded PCA to PCA_DIMS dimensions when they have more.
  Chosen by bench/bench_embedding.py (bench/results/embedding.md): on a demo run and a fer2013_dev run
  the 10-NN accuracy of the given label in the map is 0.395 / 0.528 (PCA 0.319 / 0.444, t-SNE 0.402 /
  0.540) and of the true label 0.463 / 0.561 (PCA 0.371 / 0.468, t-SNE 0.472 / 0.570): t-SNE's
  separation within 0.012, at a tenth of its time from 5,000 faces up, and UMAP places new points
  into a fitted map, which large datasets need.
- Above FIT_MAX points, UMAP is fitted on a seeded subsample of FIT_MAX points and the others are
  placed with the fitted model's transform (30,000 faces: 12 s measured; t-SNE on all of them: about
  190 s, extrapolated).
- Below UMAP_EXACT_BELOW points (umap-learn's own threshold for exact neighbours), UMAP gets the
  euclidean distance matrix from scikit-learn (`metric="precomputed"`): the same neighbours as umap-learn
  would find itself, without its one-Python-call-per-pair matrix (a fresh process, 3,000 × 50 seeded features:
  27.4 s → 18.1 s; most of what is left is numba compiling umap-learn's kernels).
- Fewer than MIN_UMAP points: PCA (a neighbour graph of a handful of points says nothing).
  Features of one or two dimensions are drawn as given (padded with zeros to two).
- Seeded (`seed`): the same features give the same map, in this process and the next.
  Only the same features: UMAP is not continuous in them (features changed by 1e-6 moved points of
  a 48-point map by up to 8.5 units), unlike the PCA it replaced.

`method` is what was used: "umap", "umap-subsample" (fitted on FIT_MAX points, the rest transformed),
"pca", "identity" or "none" (no points); the run's embedding.parquet keeps it in its `method` column.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Projection", "project_2d", "embedding_table", "PCA_DIMS", "FIT_MAX", "UMAP_EXACT_BELOW", "MIN_UMAP", "UMAP_NEIGHBORS", "UMAP_MIN_DIST", "UMAP_EPOCHS"]

PCA_DIMS = 50            # UMAP runs on at most this many principal components
UMAP_NEIGHBORS = 15      # umap-learn's default
UMAP_MIN_DIST = 0.1      # umap-learn's default
UMAP_EPOCHS = 200        # umap-learn uses 500 below 10,000 points: 200 measured as good at about a third of the time
MIN_UMAP = 32            # below this many points: PCA
FIT_MAX = 5_000          # above this many points: fit on a seeded subsample of FIT_MAX, transform the rest
UMAP_EXACT_BELOW = 4096  # umap-learn's own threshold for exact neighbours: below it we pass the distance matrix


@dataclass
class Projection:
    xy: np.ndarray       # (N, 2) float32
    method: str          # "umap", "umap-subsample", "pca", "identity" or "none"


def _pca(f: np.ndarray, dims: int, seed: int) -> np.ndarray:
    from sklearn.decomposition import PCA
    return PCA(n_components=dims, random_state=seed).fit_transform(f)


def project_2d(features, *, seed: int = 0, method: str = "umap", fit_max: int = FIT_MAX) -> Projection:
    """(N, D) features -> a seeded 2-D map. `method` "umap" (the default, with the fallbacks described
    in the module docstring) or "pca"; `fit_max` is the subsample size above which UMAP is fitted on a
    subsample and the rest transformed."""
    if method not in ("umap", "pca"):
        raise ValueError(f"unknown projection method {method!r} (umap or pca)")
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2:
        raise ValueError(f"features must be a 2-D array (N, D), got shape {f.shape}")
    f = np.nan_to_num(f, nan=0.0, posinf=0.0, neginf=0.0)
    n, d = f.shape
    if n == 0:
        return Projection(np.zeros((0, 2), np.float32), "none")
    if d <= 2:
        return Projection(np.pad(f, ((0, 0), (0, 2 - d))).astype(np.float32), "identity")
    if n < 3:
        return Projection(np.zeros((n, 2), np.float32), "pca")
    if method == "pca" or n < MIN_UMAP:
        return Projection(_pca(f, 2, seed).astype(np.float32), "pca")
    if d > PCA_DIMS:
        f = _pca(f, min(PCA_DIMS, n), seed)
    f = f.astype(np.float32)
    import umap                                     # numba: imported only when a map is drawn
    # umap-learn finds a small set's neighbours exactly, from a distance matrix it builds one pair per Python
    # call; scikit-learn's vectorised matrix gives the same neighbours (no transform needed on this path)
    exact = n <= fit_max and n < UMAP_EXACT_BELOW
    reducer = umap.UMAP(n_components=2, n_neighbors=UMAP_NEIGHBORS, min_dist=UMAP_MIN_DIST, n_epochs=UMAP_EPOCHS,
                        random_state=seed, n_jobs=1, metric="precomputed" if exact else "euclidean")
    if n <= fit_max:
        import warnings
        from sklearn.metrics import pairwise_distances
        with warnings.catch_warnings():           # "inverse_transform will be unavailable": never used here
            warnings.filterwarnings("ignore", message=".*precomputed metric.*")
            xy = reducer.fit_transform(pairwise_distances(f, metric="euclidean") if exact else f)
        return Projection(xy.astype(np.float32), "umap")
    fit = np.sort(np.random.default_rng(seed).choice(n, fit_max, replace=False))
    rest = np.setdiff1d(np.arange(n), fit)
    xy = np.empty((n, 2), np.float32)
    xy[fit] = reducer.fit_transform(f[fit])
    xy[rest] = reducer.transform(f[rest])
    return Projection(xy, "umap-subsample")


def embedding_table(sample_ids, proj: Projection):
    """embedding.parquet's table: sample_id, x, y (float32) and method (the projection used, every row)."""
    import pandas as pd
    return pd.DataFrame({"sample_id": np.asarray(sample_ids), "x": proj.xy[:, 0], "y": proj.xy[:, 1],
                         "method": pd.Categorical([proj.method] * len(proj.xy))})


def neighbour_features(features, *, seed: int = 0, dims: int = 128) -> np.ndarray:
    """The learned embedding kept for "faces like this" (features.npy): the pooled features L2-normalised
    (cosine, as eac_core.scores.knn_label_agreement), reduced by a seeded PCA to `dims` dimensions when
    wider (300,000 faces x 128 x float16 = 77 MB), normalised again, float16."""
    f = np.nan_to_num(np.asarray(features, dtype=np.float32))
    f /= np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-12)
    if f.ndim == 2 and f.shape[1] > dims and len(f) > dims:
        from sklearn.decomposition import PCA
        f = PCA(n_components=dims, random_state=seed).fit_transform(f).astype(np.float32)
        f /= np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-12)
    return f.astype(np.float16)

