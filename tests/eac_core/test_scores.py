"""eac_core.scores: the suspicion convention, cleanlab columns and dynamics (the detection metrics
are tested in test_metrics.py)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from eac_core import scores

CLASSES = ["a", "b", "c"]


def _signals(n: int = 6, seed: int = 0):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, 3))
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    labels = np.array([0, 1, 2, 0, 1, 2])[:n]
    p_label = probs[np.arange(n), labels]
    sig = {"probs": probs, "p_label": p_label, "loss": -np.log(p_label), "pred": probs.argmax(1).astype(float),
           "margin": rng.normal(size=n), "flip_consistency": rng.random(n), "flip_agree": np.ones(n)}
    frame = pd.DataFrame({"sample_id": [f"{i:03d}" for i in range(n)], "label": [CLASSES[k] for k in labels],
                          "split": "train", "true_label": [CLASSES[k] for k in labels]})
    return frame, labels, sig


def test_rank_of_orders_by_suspicion_with_nan_last():
    assert scores.rank_of(np.array([0.1, 0.9, np.nan, 0.5, 0.9])).tolist() == [4, 1, 5, 3, 2]


def test_rank_of_is_a_stable_descending_sort():
    """scipy's ordinal ranks (issue 21 item 9) against the definition: the position in a stable sort by
    descending suspicion, NaN and -inf last, on 20,000 values with many ties."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 50, 20_000).astype(float)
    x[::7], x[3::11] = np.nan, -np.inf
    order = np.argsort(-np.where(np.isnan(x), -np.inf, x), kind="stable")
    want = np.empty(len(x), np.int64)
    want[order] = np.arange(1, len(x) + 1)
    got = scores.rank_of(x)
    assert got.dtype == np.int64 and (got == want).all()
    assert scores.rank_of(np.array([])).tolist() == []


def test_dynamics_aum_and_forgetting():
    margin = np.array([[1.0, -1.0], [3.0, 1.0], [5.0, -3.0], [7.0, 3.0]])      # (E=4, N=2)
    erased = np.array([[1, 0], [0, 0], [1, 1], [0, 1]])
    pred = np.array([[0, 1], [0, 0], [0, 1], [1, 0]])
    d = scores.dynamics(margin, margin * 0 + 2, erased, pred, labels=np.array([0, 0]))
    assert d["aum"].tolist() == [4.0, 0.0]
    assert d["aum_late"].tolist() == [6.0, 0.0]
    assert d["aum_unerased"].tolist() == [5.0, 0.0]      # sample 0: epochs 2 and 4; sample 1: epochs 1, 2
    assert d["mean_train_loss"].tolist() == [2.0, 2.0]
    assert d["forgetting_events"].tolist() == [1.0, 1.0]


def test_build_scores_contract_and_cleanlab():
    from cleanlab.rank import get_label_quality_scores
    frame, labels, sig = _signals()
    dyn = {"aum": np.array([1.0, -2.0, 0.5, 3.0, 0.0, -1.0])}
    t = scores.build_scores(frame, CLASSES, labels, sig, dyn, provisional=True)
    for c in ["sample_id", "label", "pred", "p_label", "p_pred", "margin", "loss", "flip_consistency", "flip_agree",
              "suspicion", "rank", "prob_a", "prob_b", "prob_c", "split", "true_label", "provisional"]:
        assert c in t.columns, c
    assert t["sample_id"].tolist() == ["000", "001", "002", "003", "004", "005"]
    assert t["provisional"].all()
    q = get_label_quality_scores(labels, sig["probs"], method="self_confidence")
    np.testing.assert_allclose(t["cleanlab_self_confidence"], 1 - q, rtol=1e-5)
    # the default fuses AUM (low = suspicious), final loss (high = suspicious) and kNN disagreement by rank
    # average; without embedding features (a provisional pass) the kNN term is the neutral 0.5 for everyone
    expect = scores._rank01(-dyn["aum"]) + scores._rank01(sig["loss"]) + 0.5
    np.testing.assert_allclose(t["suspicion"], expect)
    assert t.loc[t["rank"] == 1, "suspicion"].item() == t["suspicion"].max()
    assert sorted(t["rank"]) == list(range(1, 7))


def test_knn_label_agreement_finds_the_label_that_disagrees_with_its_neighbourhood():
    from eac_core.scores import knn_label_agreement
    rng = np.random.default_rng(0)
    centres = np.eye(4)[:2] * 10                        # two tight clusters in 4-D
    f = np.concatenate([centres[0] + rng.normal(0, 0.1, (20, 4)), centres[1] + rng.normal(0, 0.1, (20, 4))])
    labels = np.array([0] * 20 + [1] * 20)
    labels[3] = 1                                       # one wrong label in cluster 0
    a = knn_label_agreement(f, labels, k=5)
    assert a[3] == 0.0                                  # none of its 5 neighbours (itself excluded) agrees
    assert a[20:].min() == 1.0 and np.sort(a[:20])[1] >= 0.8
    assert np.isnan(knn_label_agreement(f[:1], labels[:1])).all()


def test_knn_signal_is_a_candidate_column():
    from eac_core.scores import CANDIDATES
    t = pd.DataFrame({"knn_p_label": [1.0, 0.2], "aum": [2.0, -1.0], "loss": [0.1, 2.0]})
    np.testing.assert_allclose(CANDIDATES["knn_disagree"](t), [0.0, 0.8])
    assert CANDIDATES["fused_aum_loss_knn"](t)[1] > CANDIDATES["fused_aum_loss_knn"](t)[0]


def test_the_default_suspicion_fuses_aum_loss_and_knn():
    from eac_core.scores import CANDIDATES, DEFAULT_SUSPICION
    assert DEFAULT_SUSPICION == "fused_aum_loss_knn" and DEFAULT_SUSPICION in CANDIDATES
    t = pd.DataFrame({"aum": [3.0, 1.0, -1.0], "loss": [0.1, 0.5, 2.0], "knn_p_label": [1.0, np.nan, 0.0]})
    np.testing.assert_allclose(CANDIDATES[DEFAULT_SUSPICION](t), [1 / 3 + 1 / 3 + 0.5, 2 / 3 + 2 / 3 + 0.5, 3.0])


def test_knn_k_grows_with_the_class_size_between_3_and_25():
    from eac_core.scores import knn_k
    assert [knn_k(n, 7) for n in (20, 780, 3000, 30348)] == [3, 4, 17, 25]
    assert knn_k(50000, 100) == 20
