"""Issue 11 item 4: the share of wrong labels from a run's probabilities (out-of-sample when present),
with a bootstrap interval, and the bench's measured error."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from eac_core import noise_share as ns
from eac_core.probabilities import label_probabilities

CLASSES = ["a", "b", "c"]


def _scores(n: int = 600, rate: float = 0.3, seed: int = 0) -> tuple[pd.DataFrame, float]:
    """A model that sees each face's true class (p = 0.8 with jitter); `rate` of the labels flipped."""
    rng = np.random.default_rng(seed)
    true = rng.integers(0, 3, n)
    flip = rng.random(n) < rate
    given = np.where(flip, (true + rng.integers(1, 3, n)) % 3, true)
    p = np.full((n, 3), 0.1) + rng.uniform(0, 0.05, (n, 3))
    p[np.arange(n), true] = 0.8
    p /= p.sum(1, keepdims=True)
    df = pd.DataFrame(p, columns=[f"prob_{c}" for c in CLASSES])
    df.insert(0, "label", [CLASSES[i] for i in given])
    return df, float(flip.mean())


def test_probabilities_prefer_out_of_sample():   # eac_core.probabilities, as the share reads them
    df, _ = _scores(30)
    assert label_probabilities(df, CLASSES)[2] == "in-sample"
    oos = df.rename(columns={f"prob_{c}": f"oos_prob_{c}" for c in CLASSES}).assign(prob_a=1.0, prob_b=0.0, prob_c=0.0)
    labels, p, source = label_probabilities(oos, CLASSES)
    assert source == "out-of-sample" and np.allclose(p, df[[f"prob_{c}" for c in CLASSES]].to_numpy())
    with pytest.raises(ValueError, match="no prob_<class>"):
        label_probabilities(df.drop(columns="prob_b"), CLASSES)
    bad = df.copy()
    bad.loc[3, "prob_a"] = np.nan
    with pytest.raises(ValueError, match="not finite"):
        label_probabilities(bad, CLASSES)


@pytest.mark.parametrize("method", list(ns.ESTIMATORS))
def test_every_estimator_finds_a_clear_noise_share(method):
    df, truth = _scores()
    labels, p, _ = label_probabilities(df, CLASSES)
    assert abs(ns.estimate(labels, p, method) - truth) < 0.03


def test_noise_share_interval_brackets_the_estimate():
    df, truth = _scores()
    share = ns.noise_share(df, CLASSES, n_boot=30)
    assert share.low <= share.estimate <= share.high and share.high - share.low < 0.15
    assert share.low <= truth <= share.high
    assert (share.method, share.source, share.n, share.n_boot) == (ns.DEFAULT_METHOD, "in-sample", 600, 30)


def test_measured_error_is_the_bench_output(tmp_path):
    assert ns.measured_error(tmp_path / "missing.json") is None
    table = ns.measured_error()
    if table is None:
        pytest.skip("bench/results/noise_share.json not written (python bench/bench_noise_share.py)")
    assert {"dataset", "probabilities", "estimator", "truth", "estimate", "error"} <= set(table.columns)
    assert np.allclose(table["estimate"] - table["truth"], table["error"], atol=2e-4)
    assert ns.DEFAULT_METHOD in set(table["estimator"]) and table.attrs["command"].startswith("python bench/")
