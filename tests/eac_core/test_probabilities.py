"""eac_core.probabilities: the one function that turns prob_<class> / oos_prob_<class> columns into a
matrix; the Insights noise matrix (metrics.noise_joint) and the share (noise_share) use the same one."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from eac_core import metrics, noise_share
from eac_core.probabilities import label_probabilities, normalize, present_classes

CLASSES = ["a", "b", "c"]


def _run_scores(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """In-sample probabilities that trust every given label; out-of-sample ones that see 20 % flips."""
    rng = np.random.default_rng(seed)
    true = rng.integers(0, 3, n)
    flip = rng.random(n) < 0.2
    given = np.where(flip, (true + 1) % 3, true)
    ins = np.full((n, 3), 0.05)
    ins[np.arange(n), given] = 0.9
    oos = np.full((n, 3), 0.1) + rng.uniform(0, 0.05, (n, 3))
    oos[np.arange(n), true] = 0.8
    oos /= oos.sum(1, keepdims=True)
    df = pd.DataFrame({"label": [CLASSES[i] for i in given]})
    for k, c in enumerate(CLASSES):
        df[f"prob_{c}"], df[f"oos_prob_{c}"] = ins[:, k], oos[:, k]
    return df


def test_insights_matrix_and_share_come_from_the_same_probabilities():
    from cleanlab.count import estimate_joint
    s = _run_scores()
    labels, p, source = label_probabilities(s, CLASSES)
    assert source == "out-of-sample"
    assert np.allclose(p, s[[f"oos_prob_{c}" for c in CLASSES]].to_numpy())
    joint = metrics.noise_joint(s, CLASSES)
    assert np.allclose(joint, estimate_joint(labels=labels, pred_probs=p))
    assert 0.12 < 1 - np.trace(joint) < 0.3                   # the out-of-sample view sees the flips
    in_sample = estimate_joint(labels=labels, pred_probs=normalize(s[[f"prob_{c}" for c in CLASSES]].to_numpy()))
    assert 1 - np.trace(in_sample) < 0.01 and not np.allclose(joint, in_sample)
    assert noise_share.noise_share(s, CLASSES, n_boot=5).source == source


def test_label_probabilities_in_sample_refusals_and_normalisation():
    s = _run_scores(30).drop(columns=[f"oos_prob_{c}" for c in CLASSES])
    s["prob_a"] *= 2                                           # rows no longer sum to 1
    labels, p, source = label_probabilities(s, CLASSES)
    assert source == "in-sample" and np.allclose(p.sum(1), 1) and labels.tolist() == \
        [CLASSES.index(x) for x in s["label"]]
    with pytest.raises(ValueError, match=r"no prob_<class> \(or oos_prob_<class>\) column for every class"):
        label_probabilities(s.drop(columns="prob_b"), CLASSES)
    with pytest.raises(ValueError, match="label 'z' is not one of the classes"):
        label_probabilities(s.assign(label=["z"] + s["label"].tolist()[1:]), CLASSES)


def test_normalize_and_present_classes():
    assert np.allclose(normalize(np.array([[2.0, 2.0], [0.0, 0.0]])), [[0.5, 0.5], [0.5, 0.5]])
    y, q = present_classes(np.array([0, 2, 2]), np.array([[0.5, 0.2, 0.3], [0.1, 0.1, 0.8], [0.2, 0.2, 0.6]]))
    assert y.tolist() == [0, 1, 1] and np.allclose(q, [[0.625, 0.375], [1 / 9, 8 / 9], [0.25, 0.75]])
    with pytest.raises(ValueError, match="at least two classes"):
        present_classes(np.array([1, 1]), np.full((2, 3), 1 / 3))
