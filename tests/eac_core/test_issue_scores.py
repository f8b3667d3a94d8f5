"""Model-level issues: kNN outliers in the embedding, ambiguity of the probabilities, and their columns
in build_scores."""
from __future__ import annotations

import numpy as np
import pandas as pd

from eac_core.issue_scores import LABEL_PRIOR, ambiguity_score, ambiguous_between, outlier_score, vote_probs
from eac_core.scores import build_scores


def test_planted_outliers_rank_first():
    rng = np.random.default_rng(0)
    centre = rng.normal(size=16)
    inliers = centre + 0.1 * rng.normal(size=(200, 16))
    planted = rng.normal(size=(5, 16)) * 3            # other directions: far after L2 normalisation
    s = outlier_score(np.vstack([inliers, planted]), k=10)
    assert set(np.argsort(-s)[:5]) == set(range(200, 205))
    assert s[200:].min() > 3 * np.median(s[:200])


def test_a_cluster_of_outliers_smaller_than_k_is_found():
    """20 planted images alike (a burst of blank frames) among 500 faces: with k = 10 each has its 19
    siblings for neighbours and looks typical; the default k (50) reaches the faces and finds all 20."""
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(5, 16))
    inliers = centres[rng.integers(0, 4, 500)] + 0.25 * rng.normal(size=(500, 16))   # four expressions
    cluster = centres[4] + 0.05 * rng.normal(size=(20, 16))                          # one other look, 20 times
    f = np.vstack([inliers, cluster])
    assert not set(np.argsort(-outlier_score(f, k=10))[:20]) & set(range(500, 520))
    s = outlier_score(f)
    alone = outlier_score(f, isolation=0)               # the isolation lift raises a few faces, no member
    assert set(np.argsort(-s)[:20]) == set(range(500, 520)) and np.allclose(s[500:], alone[500:])
    assert s[500:].min() > 1.2 * s[:500].max() and alone[500:].min() > 1.4 * alone[:500].max()


def test_a_stray_image_between_tight_subjects_is_found():
    """JAFFE's shape: ten subjects of 20 near-identical photos each, and one image of a look of its own
    that lies among the subjects. At k = 50 every face reaches other subjects, so the stray's mean
    distance is ordinary (69 faces score higher); its 10 nearest are farther than any face's (theirs are
    their own subject), and the isolation lift puts it first."""
    rng = np.random.default_rng(3)
    expression = rng.normal(size=(1, 16))
    subjects = expression + 0.5 * rng.normal(size=(10, 16))
    faces = np.repeat(subjects, 20, 0) + 0.12 * rng.normal(size=(200, 16))
    stray = expression + 0.2 * rng.normal(size=(1, 16))
    f = np.vstack([faces, stray])
    distance = outlier_score(f, isolation=0)
    assert (distance[:200] >= distance[200]).sum() == 69
    s = outlier_score(f)
    assert np.argmax(s) == 200 and (s[:200] >= s[200]).sum() == 0


def test_a_stray_image_beside_a_far_subject_is_lifted_by_its_isolation():
    """JAFFE's miss before the lift: one subject's 20 photos lie far from the other nine, so their mean
    distance to 50 neighbours is the largest (LOF's density ratio to the power 1/4, the score before,
    left them all above the stray). The stray's 10 nearest are farther than those of 90 % of the rows
    (theirs are their own subject's), and that lift puts it first."""
    rng = np.random.default_rng(0)
    expression = rng.normal(size=(1, 16))
    subjects = expression + 0.5 * rng.normal(size=(10, 16))
    subjects[0] = expression + 2.0 * rng.normal(size=(1, 16))       # the far subject: faces 0..19
    faces = np.repeat(subjects, 20, 0) + 0.12 * rng.normal(size=(200, 16))
    stray = expression + 0.3 * rng.normal(size=(1, 16))
    f = np.vstack([faces, stray])
    distance = outlier_score(f, isolation=0)
    assert (distance[:200] >= distance[200]).sum() == 21 and set(np.argsort(-distance)[:20]) == set(range(20))
    s = outlier_score(f)
    assert np.argmax(s) == 200 and (s[:200] >= s[200]).sum() == 0
    lifted = s > outlier_score(f, isolation=0) * (1 + 1e-6)
    assert lifted.sum() == 20 and lifted[200]          # a tenth of the rows (the 90 % quantile), the stray one


def test_outlier_edge_cases():
    assert np.isnan(outlier_score(np.ones((1, 4)))).all()
    f = np.vstack([np.eye(3), np.full((1, 3), np.nan)])
    s = outlier_score(f, k=10)                          # k capped at the 2 other finite rows
    assert np.isnan(s[3]) and np.allclose(s[:3], np.sqrt(2))            # all equally far: none above the quantile
    same = np.vstack([np.tile([1.0, 0.0], (12, 1)), [[0.0, 1.0]]])      # 12 identical rows and one other
    s = outlier_score(same, k=50)
    assert np.allclose(s[:12], 1 / 12 * np.sqrt(2)) and s[12] > s[0]   # most rows copies: quantile 0, no lift
    assert np.allclose(s, outlier_score(same, k=50, isolation=0))


def test_ambiguity_values_and_candidates():
    p = np.array([[0.45, 0.45, 0.10], [0.9, 0.05, 0.05], [0.2, 0.3, 0.5]])
    assert np.allclose(ambiguity_score(p), [1.0, 0.15, 0.8])
    assert ambiguous_between(p, ["happy", "sad", "fear"]).tolist() == ["happy/sad", "", ""]
    assert ambiguous_between(p, ["happy", "sad", "fear"], threshold=0.79).tolist() == ["happy/sad", "", "fear/sad"]


def test_the_given_label_counts_as_one_vote_beside_five_of_the_model():
    assert LABEL_PRIOR == 5.0
    p = np.array([[0.45, 0.45, 0.10], [0.9, 0.05, 0.05], [0.2, 0.3, 0.5], [0.6, 0.4, 0.0], [0.2, 0.3, 0.5]])
    labels = np.array([0, 1, 0, 1, -1])                 # -1: no given label, p as it is
    q = vote_probs(p, labels)
    assert np.allclose(q, [[3.25 / 6, 2.25 / 6, 0.5 / 6], [4.5 / 6, 1.25 / 6, 0.25 / 6], [2 / 6, 1.5 / 6, 2.5 / 6],
                           [0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])
    # 1 - (q1 - q2): 1 - 1/6, 1 - 3.25/6, 1 - 0.5/6, a tie, and row 4 without a vote
    assert np.allclose(ambiguity_score(p, labels), [5 / 6, 2.75 / 6, 5.5 / 6, 1.0, 0.8])
    assert ambiguous_between(p, ["happy", "sad", "fear"], labels).tolist() == [
        "happy/sad", "", "fear/happy", "happy/sad", ""]
    # the weight of the model's vote: prior 1 puts the label level with the model
    assert np.allclose(ambiguity_score(p[:2], labels[:2], prior=1.0), [1 - (0.725 - 0.225), 1 - (0.525 - 0.45)])


def test_ambiguity_of_non_finite_rows_is_nan_and_names_nothing():
    p = np.array([[np.nan, 0.5, 0.5], [0.5, 0.5, 0.0]])
    labels = np.array([0, 2])
    a = ambiguity_score(p, labels)
    assert np.isnan(a[0]) and a[1] == np.float32(1.0)    # q = (2.5, 2.5, 1) / 6: a tie
    assert ambiguous_between(p, ["happy", "sad", "fear"], labels).tolist() == ["", "happy/sad"]


def test_build_scores_has_issue_columns():
    rng = np.random.default_rng(1)
    n, k = 30, 3
    probs = rng.dirichlet(np.ones(k), n)
    labels = rng.integers(0, k, n)
    frame = pd.DataFrame({"sample_id": [f"s{i}" for i in range(n)], "label": np.array(["a", "b", "c"])[labels]})
    signals = {"probs": probs, "pred": probs.argmax(1), "p_label": probs[np.arange(n), labels],
               "loss": -np.log(probs[np.arange(n), labels]), "margin": np.zeros(n),
               "flip_consistency": np.zeros(n), "flip_agree": np.ones(n), "features": rng.normal(size=(n, 8))}
    t = build_scores(frame, ["a", "b", "c"], labels, signals, provisional=False)
    assert np.allclose(t["ambiguity"], ambiguity_score(probs, labels))
    assert not np.allclose(t["ambiguity"], ambiguity_score(probs))          # the given label took part
    assert np.allclose(t["outlier"], outlier_score(signals["features"]))
    assert set(t["ambiguous_between"]) <= {""} | {f"{x}/{y}" for x in "abc" for y in "abc" if x != y}
    del signals["features"]
    assert build_scores(frame, ["a", "b", "c"], labels, signals, provisional=False)["outlier"].isna().all()
