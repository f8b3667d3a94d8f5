"""eac_core.folds: seeded (stratified) folds and the out-of-sample columns written from their probabilities."""
from __future__ import annotations

import numpy as np
import pytest

from eac_core.folds import fold_ids, oos_columns


def test_folds_are_stratified_seeded_and_cover_every_sample():
    labels = np.repeat([0, 1, 2], [30, 21, 12])
    f = fold_ids(labels, 3, seed=0)
    assert f.shape == labels.shape and set(f) == {0, 1, 2}
    for c in range(3):                                 # every class spread evenly over the folds
        counts = np.bincount(f[labels == c], minlength=3)
        assert counts.max() - counts.min() <= 1 and counts.sum() == (labels == c).sum()
    assert (fold_ids(labels, 3, seed=0) == f).all() and not (fold_ids(labels, 3, seed=1) == f).all()


def test_a_class_smaller_than_k_falls_back_to_plain_folds():
    labels = np.array([0] * 20 + [1] * 2)              # class 1 has fewer samples than k = 4
    sizes = np.bincount(fold_ids(labels, 4, seed=0), minlength=4)
    assert sizes.tolist() == [6, 6, 5, 5]


def test_oos_columns_values():
    classes = ["a", "b", "c"]
    probs = np.array([[2.0, 1.0, 1.0], [0.1, 0.7, 0.2], [0.2, 0.2, 0.6], [0.5, 0.4, 0.1]], dtype=np.float32)
    labels = np.array([0, 0, 2, 1])
    folds = np.array([0, 1, 0, 1])
    t = oos_columns(probs, folds, labels, classes)
    assert t["oos_prob_a"].tolist() == pytest.approx([2.0, 0.1, 0.2, 0.5])      # as given (a fold model's)
    assert t["oos_pred"].tolist() == ["a", "b", "c", "a"]
    assert t["oos_p_label"].tolist() == pytest.approx([0.5, 0.1, 0.6, 0.4])      # normalised rows
    assert t["oos_self_confidence"].tolist() == pytest.approx([0.5, 0.9, 0.4, 0.6], abs=1e-6)
    assert t["oos_fold"].tolist() == [0, 1, 0, 1] and t["oos_label_issue"].dtype == bool
