"""eac_core.metrics: detection metrics, the truth rule and noise mask, the per-signal table, confusion
and the estimated noise transition."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from eac_core import metrics

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


def test_detection_metrics_known_values():
    s = np.array([0.9, 0.8, 0.7, 0.1, 0.2, 0.3])
    y = np.array([1, 1, 0, 0, 1, 0], bool)
    m = metrics.detection_metrics(s, y)
    # positives 0.9, 0.8, 0.2 vs negatives 0.7, 0.1, 0.3: 3 + 3 + 1 of 9 pairs ordered right
    assert m["auroc"] == pytest.approx(7 / 9)
    assert m["p_at_k"] == pytest.approx(2 / 3) and m["k"] == 3
    assert metrics.detection_metrics(s, np.zeros(6, bool))["k"] == 0


def test_precision_at_k_table():
    s = np.array([0.9, 0.8, 0.7, 0.1, 0.2, 0.3])
    y = np.array([1, 1, 0, 0, 1, 0], bool)
    t = metrics.precision_at_k(s, y, [1, 3, 6]).set_index("k")
    assert t["precision"].tolist() == pytest.approx([1.0, 2 / 3, 0.5])
    assert t["recall"].tolist() == pytest.approx([1 / 3, 2 / 3, 1.0])


def test_signal_table_finds_planted_noise():
    rng = np.random.default_rng(1)
    n = 200
    noisy = rng.random(n) < 0.2
    t = pd.DataFrame({"loss": np.where(noisy, 2.0, 0.5) + rng.normal(0, 0.3, n),
                      "aum": np.where(noisy, -1.0, 1.0) + rng.normal(0, 0.3, n), "suspicion": rng.random(n)})
    table = metrics.signal_table(t, noisy).set_index("signal")
    assert table.loc["neg_aum", "auroc"] > 0.95 and table.loc["loss", "auroc"] > 0.95
    assert table.loc["fused_aum_loss", "auroc"] > 0.97
    assert 0.35 < table.loc["suspicion", "auroc"] < 0.65


def test_noise_mask():
    t = pd.DataFrame({"label": ["a", "b", "c"], "true_label": ["a", "c", "c"]})
    assert metrics.noise_mask(t).tolist() == [False, True, False]
    assert metrics.noise_mask(t.drop(columns="true_label")) is None


def test_the_truth_rule_true_label_then_source_label():
    t = pd.DataFrame({"label": ["a", "b", "c"], "true_label": ["a", "c", "c"], "source_label": ["b", "b", "c"]})
    assert metrics.truth_column(t) == "true_label"
    src = t.drop(columns="true_label")
    assert metrics.truth_column(src) == "source_label"
    assert metrics.noise_mask(src).tolist() == [True, False, False]
    partly = t.assign(true_label=["a", "", "c"])                      # not known on every row: next column
    assert metrics.truth_column(partly) == "source_label"
    assert metrics.truth_column(partly.drop(columns="source_label")) is None
    assert metrics.noise_mask(t, "source_label").tolist() == [True, False, False]   # a named column wins


def test_confusion_counts():
    m = metrics.confusion(pd.Series(["angry", "happy", "happy"]), pd.Series(["angry", "sad", "happy"]), CLASSES)
    assert m.tolist() == [[1, 0, 0], [0, 1, 1], [0, 0, 0]]
    assert metrics.confusion(["x", "angry"], ["angry", "y"], CLASSES).tolist() == [[0] * 3] * 3   # unknown labels
    assert metrics.confusion([], [], CLASSES).shape == (3, 3)


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
    d = metrics.detection_report(s, "true_label")
    assert d["auc"] > 0.9
    pak = d["precision_at_k"].set_index("k")["precision"]
    assert pak[10] >= 0.9


def test_detection_report_is_detection_metrics_plus_curves():
    """One computation: the report's AUROC, AP and precision@(number noisy) are detection_metrics'."""
    s = _noisy_scores(seed=3)
    d = metrics.detection_report(s)                                    # truth found by the rule
    m = metrics.detection_metrics(s["suspicion"], metrics.noise_mask(s))
    assert (d["auc"], d["ap"]) == (m["auroc"], m["ap"])
    assert d["precision_at_k"].set_index("k").loc[m["k"], "precision"] == m["p_at_k"]
    assert d["n"] == len(s) and d["n_noisy"] == m["k"] and len(d["fpr"]) == len(d["tpr"])
    clean = s.assign(label=s["true_label"])
    assert metrics.detection_report(clean)["degenerate"] is True
    with pytest.raises(ValueError, match="not known"):
        metrics.detection_report(s.drop(columns="true_label"))


def test_top_pairs_are_the_largest_off_diagonal_cells():
    m = np.array([[50, 3, 0, 7],
                  [3, 40, 2, 0],
                  [0, 9, 10, 0],
                  [0, 0, 0, 0]])
    names = ["a", "b", "c", "d"]
    t = metrics.top_pairs(m, names, names, n=3)
    assert t["row"].tolist() == ["c", "a", "a"] and t["col"].tolist() == ["b", "d", "b"]
    assert t["value"].tolist() == [9, 7, 3]
    assert t["row_share"].tolist() == pytest.approx([9 / 19, 7 / 60, 3 / 60])
    everything = metrics.top_pairs(m, names, names, n=100)              # zeros and the diagonal left out
    assert everything["value"].tolist() == [9, 7, 3, 3, 2]
    assert everything[["row", "col"]].values.tolist()[3:] == [["b", "a"], ["b", "c"]]   # ties: row-major
    assert metrics.top_pairs(np.eye(200) * 5, [str(i) for i in range(200)], [str(i) for i in range(200)]).empty
