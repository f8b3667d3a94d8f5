"""eac_core.embedding.project_2d: the run's 2-D map (shape, seeded determinism, class separation kept)."""
from __future__ import annotations

import numpy as np
import pytest

from eac_core.embedding import MIN_UMAP, embedding_table, project_2d


def _blobs(n_per: int, classes: int, dims: int, seed: int, spread: float = 1.0):
    """`classes` Gaussian blobs in `dims` dimensions, centres 10 apart along random directions."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 10 / np.sqrt(dims), (classes, dims)) * np.sqrt(2) * 3
    y = np.repeat(np.arange(classes), n_per)
    return (centres[y] + rng.normal(0, spread, (len(y), dims))).astype(np.float32), y


def _knn_acc(x: np.ndarray, y: np.ndarray, k: int = 10) -> float:
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.model_selection import cross_val_score
    return float(cross_val_score(KNeighborsClassifier(k), x, y, cv=5).mean())


def test_separable_classes_stay_separated_and_the_seed_fixes_the_map():
    f, y = _blobs(60, 5, 64, seed=1)
    assert _knn_acc(f, y) == 1.0                       # separable in feature space
    a = project_2d(f, seed=3)
    assert a.method == "umap" and a.xy.shape == (300, 2) and a.xy.dtype == np.float32
    assert np.isfinite(a.xy).all()
    assert _knn_acc(a.xy, y) >= 0.98                   # and in the 2-D map
    assert np.array_equal(project_2d(f, seed=3).xy, a.xy)
    assert not np.allclose(project_2d(f, seed=4).xy, a.xy)


def test_large_n_fits_a_subsample_and_places_the_rest():
    f, y = _blobs(100, 4, 20, seed=2)
    p = project_2d(f, seed=0, fit_max=150)
    assert p.method == "umap-subsample" and p.xy.shape == (400, 2) and np.isfinite(p.xy).all()
    assert _knn_acc(p.xy, y) >= 0.98
    assert np.array_equal(project_2d(f, seed=0, fit_max=150).xy, p.xy)


def test_small_inputs_and_pca():
    f, y = _blobs(5, 3, 8, seed=0)                     # 15 < MIN_UMAP points: PCA
    assert len(f) < MIN_UMAP
    p = project_2d(f)
    assert p.method == "pca" and p.xy.shape == (15, 2)
    from sklearn.decomposition import PCA
    ref = PCA(2, random_state=0).fit_transform(f.astype(np.float64))
    assert np.allclose(np.abs(p.xy), np.abs(ref), atol=1e-4)
    assert project_2d(np.zeros((0, 5))).xy.shape == (0, 2)
    one = project_2d(np.array([[1.0], [2.0], [np.nan]]))
    assert one.method == "identity" and one.xy.tolist() == [[1.0, 0.0], [2.0, 0.0], [0.0, 0.0]]
    assert project_2d(np.ones((2, 6))).xy.tolist() == [[0.0, 0.0], [0.0, 0.0]]
    big, _ = _blobs(20, 2, 8, seed=0)
    assert project_2d(big, method="pca").method == "pca"
    with pytest.raises(ValueError, match="unknown projection method"):
        project_2d(big, method="tsne")
    with pytest.raises(ValueError, match="2-D array"):
        project_2d(np.ones(5))


def test_embedding_table_records_the_method():
    p = project_2d(np.array([[1.0, 2.0], [3.0, 4.0]]))
    t = embedding_table(["a", "b"], p)
    assert t.columns.tolist() == ["sample_id", "x", "y", "method"]
    assert t["sample_id"].tolist() == ["a", "b"] and t["x"].tolist() == [1.0, 3.0] and t["y"].tolist() == [2.0, 4.0]
    assert t["method"].astype(str).tolist() == ["identity", "identity"]
