"""Insights numbers: confusion, noise matrix, detection, reviewer accuracy."""
from __future__ import annotations

import numpy as np
import pandas as pd

from app.components import metrics

CLASSES = ["angry", "happy", "sad"]


def _noisy_scores(n=300, rate=0.2, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    true = rng.integers(0, 3, n)
    given = true.copy()
    flip = rng.random(n) < rate
    given[flip] = (true[flip] + 1) % 3
    logits = rng.normal(size=(n, 3))
    logits[np.arange(n), true] += 3
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    df = pd.DataFrame({"sample_id": [f"{i:04d}" for i in range(n)], "label": [CLASSES[i] for i in given],
                       "pred": [CLASSES[i] for i in p.argmax(1)], "true_label": [CLASSES[i] for i in true],
                       "suspicion": 1 - p[np.arange(n), given]})
    for i, c in enumerate(CLASSES):
        df[f"prob_{c}"] = p[:, i]
    return df


def test_confusion_counts():
    m = metrics.confusion(pd.Series(["angry", "happy", "happy"]), pd.Series(["angry", "sad", "happy"]), CLASSES)
    assert m.tolist() == [[1, 0, 0], [0, 1, 1], [0, 0, 0]]


def test_noise_matrix_finds_the_injected_rate():
    s = _noisy_scores()
    joint = metrics.noise_joint(s, CLASSES)
    assert abs(joint.sum() - 1) < 1e-6
    est = 1 - np.trace(joint)
    true_rate = (s["label"] != s["true_label"]).mean()
    assert abs(est - true_rate) < 0.08
    t = metrics.noise_transition(joint)
    assert np.allclose(t.sum(axis=0), 1)


def test_detection_and_precision_at_k():
    s = _noisy_scores()
    d = metrics.detection(s, "true_label")
    assert d["auc"] > 0.9
    pak = d["precision_at_k"].set_index("k")["precision"]
    assert pak[10] >= 0.9


def test_reviewer_accuracy():
    s = pd.DataFrame({"sample_id": ["a", "b", "c", "d"], "label": ["happy", "sad", "sad", "angry"],
                      "true_label": ["happy", "happy", "sad", "sad"]})
    latest = pd.DataFrame({"sample_id": ["a", "b", "c", "d"], "action": ["keep", "relabel", "remove", "unsure"],
                           "new_label": [None, "happy", None, None]})
    acc = metrics.reviewer_accuracy(latest, s, "true_label").set_index("action")
    assert acc.loc["keep", "correct"] == 1 and acc.loc["relabel", "correct"] == 1
    assert acc.loc["remove", "correct"] == 0
    assert np.isnan(acc.loc["unsure", "accuracy"])
    assert acc.loc["all scored", "decisions"] == 3 and acc.loc["all scored", "correct"] == 2
