"""The reviewer's accuracy against the truth (app.components.metrics); the run's own numbers are
tested in tests/eac_core/test_metrics.py."""
from __future__ import annotations

import numpy as np
import pandas as pd

from app.components import metrics


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


def test_reviewer_accuracy_without_decisions():
    s = pd.DataFrame({"sample_id": ["a"], "label": ["happy"], "true_label": ["happy"]})
    assert metrics.reviewer_accuracy(pd.DataFrame(columns=["sample_id", "action", "new_label"]), s, "true_label").empty
