"""The share of wrong labels in a run's training set, estimated from its class probabilities, with a
bootstrap interval and the estimator's error measured on data whose truth is known.

Which probabilities: `eac_core.probabilities.label_probabilities`, the same as the Insights noise
matrix's: the out-of-sample ones (`oos_prob_<class>`, written by `--folds K` or by
`eac_core.import_predictions`) when the run has them, else the final clean-view pass's `prob_<class>`
(in-sample: each face was trained on, so its given label is favoured).

Estimators (all functions of the given labels and the probabilities, so a bootstrap can redo them):
  * `confident_joint`: cleanlab's `num_label_issues(estimation_method="off_diagonal")`, the
    off-diagonal count of the confident joint, over the number of faces;
  * `confident_joint_calibrated`: cleanlab's calibrated confident joint (`estimate_joint`),
    1 - its trace; what the Insights page showed before issue 11 (37.4 % on 20 % demo noise);
  * `loss_mixture`: the weight of the high-loss component of a two-component Gaussian mixture
    (scikit-learn) fitted to each face's loss -log p(given label).
Which one is the default, and each one's error against known truth, are measured by
`bench/bench_noise_share.py` (table in bench/README.md, numbers in bench/results/noise_share.json,
which the Insights page shows beside the estimate).

The interval is a percentile bootstrap over faces (resampled with replacement, the estimator redone):
it says how much the estimate moves with the sample, not how far the estimator is biased; the bias is
what the measured error says."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from eac_core.probabilities import label_probabilities, present_classes

MEASURED_FILE = Path(__file__).resolve().parent.parent / "bench" / "results" / "noise_share.json"
DEFAULT_METHOD = "loss_mixture"
N_BOOT = 100


@dataclass
class NoiseShare:
    estimate: float
    low: float
    high: float
    level: float
    method: str
    source: str          # "out-of-sample" or "in-sample"
    n: int
    n_boot: int


def _confident_joint(labels: np.ndarray, p: np.ndarray) -> float:
    from cleanlab.count import num_label_issues
    y, q = present_classes(labels, p)
    return float(num_label_issues(labels=y, pred_probs=q, estimation_method="off_diagonal")) / len(y)


def _confident_joint_calibrated(labels: np.ndarray, p: np.ndarray) -> float:
    from cleanlab.count import estimate_joint
    y, q = present_classes(labels, p)
    return float(1.0 - np.trace(estimate_joint(labels=y, pred_probs=q)))


def _loss_mixture(labels: np.ndarray, p: np.ndarray) -> float:
    from sklearn.mixture import GaussianMixture
    loss = -np.log(np.clip(p[np.arange(len(labels)), labels], 1e-12, None)).reshape(-1, 1)
    if len(loss) < 4 or np.ptp(loss) < 1e-9:
        return 0.0
    g = GaussianMixture(2, random_state=0, n_init=2).fit(loss)
    return float(g.weights_[int(np.argmax(g.means_.ravel()))])


ESTIMATORS = {"confident_joint": _confident_joint, "confident_joint_calibrated": _confident_joint_calibrated,
              "loss_mixture": _loss_mixture}
DESCRIPTIONS = {"confident_joint": "cleanlab's confident joint (off-diagonal count, num_label_issues)",
                "confident_joint_calibrated": "cleanlab's calibrated confident joint (1 - trace of estimate_joint)",
                "loss_mixture": "the high-loss component's weight of a two-component Gaussian mixture on each "
                                "face's loss -log p(given label)"}


def estimate(labels: np.ndarray, p: np.ndarray, method: str = DEFAULT_METHOD) -> float:
    """The estimated share of wrong labels among these faces."""
    if method not in ESTIMATORS:
        raise ValueError(f"unknown estimator '{method}' (one of: {', '.join(ESTIMATORS)})")
    return ESTIMATORS[method](np.asarray(labels, dtype=int), np.asarray(p, dtype="float64"))


def bootstrap(labels: np.ndarray, p: np.ndarray, method: str = DEFAULT_METHOD, *, n_boot: int = N_BOOT,
              level: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """(estimate, low, high): the estimate on all faces and a percentile bootstrap interval."""
    est = estimate(labels, p, method)
    rng = np.random.default_rng(seed)
    n = len(labels)
    reps = []
    for _ in range(n_boot):
        i = rng.integers(0, n, n)
        try:
            reps.append(estimate(labels[i], p[i], method))
        except ValueError:                 # a resample with one class: skip it
            continue
    if not reps:
        return est, float("nan"), float("nan")
    a = (1 - level) / 2
    lo, hi = np.quantile(reps, [a, 1 - a])
    return est, float(lo), float(hi)


def noise_share(scores: pd.DataFrame, classes: list[str], *, method: str = DEFAULT_METHOD,
                n_boot: int = N_BOOT, level: float = 0.95, seed: int = 0) -> NoiseShare:
    """The estimated share of wrong labels of a run's scores (out-of-sample probabilities when present)."""
    labels, p, source = label_probabilities(scores, classes)
    est, lo, hi = bootstrap(labels, p, method, n_boot=n_boot, level=level, seed=seed)
    return NoiseShare(est, lo, hi, level, method, source, int(len(labels)), int(n_boot))


def measured_error(path: str | Path = MEASURED_FILE) -> pd.DataFrame | None:
    """The bench's table (one row per dataset, probability source and estimator: truth, estimate,
    error) with its command and date in .attrs, or None when the bench has not written it."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    table = pd.DataFrame(data.get("rows", []))
    table.attrs.update({k: v for k, v in data.items() if k != "rows"})
    return table
