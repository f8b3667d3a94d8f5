"""Review and Insights with 200 classes (issue 10 §2): digit keys for the face's most probable classes,
the type-ahead class picker, the probability bars' top classes, the most confused pairs."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest


from support import browser as bs
from support.many_class_project import class_names, make_many_class_project

from app.components import charts  # noqa: E402
from app.components.decisions import DIGIT_KEYS, digit_classes, key_legend, picker_key  # noqa: E402

K = 200
NAMES = class_names(K)


# -- the pure pieces -------------------------------------------------------------------------------
def test_digit_keys_are_the_classes_up_to_nine_then_the_top_suggestions():
    seven = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
    assert digit_classes(seven, pd.Series({"prob_sad": 0.9})) == seven
    probs = np.zeros(K)
    probs[[150, 3, 77, 42, 199, 0, 12, 13, 100, 101]] = [0.3, 0.2, 0.1, 0.1, 0.09, 0.08, 0.05, 0.04, 0.03, 0.01]
    row = pd.Series({f"prob_{c}": p for c, p in zip(NAMES, probs)})
    assert digit_classes(NAMES, row) == ["class150", "class003", "class042", "class077", "class199", "class000",
                                         "class012", "class013", "class100"]     # ties (0.1) in class order
    assert digit_classes(NAMES, None) == NAMES[:DIGIT_KEYS]
    assert "`1`–`7` relabel to class i" in key_legend(7)
    assert "`1`–`9` relabel to this face's 9 most probable classes" in key_legend(K) and "picker" in key_legend(K)


def test_probability_bars_show_the_top_ten_and_the_given_class():
    probs = {c: (K - i) / (K * (K + 1) / 2) for i, c in enumerate(NAMES)}          # class000 most probable
    html = charts.probability_bars_html(probs, NAMES, given="class150", pred="class000")
    assert "Class probabilities (top 10 of 200)" in html
    shown = [c for c in NAMES if f">{c}" in html]
    assert shown == NAMES[:10] + ["class150"]
    rest = sum(p for c, p in probs.items() if c not in shown)
    assert f"189 more classes: {rest:.2f} together" in html
    small = charts.probability_bars_html({"a": 0.7, "b": 0.3}, ["a", "b"], "a", "a")
    assert "Class probabilities</div>" in small and "more classes" not in small


def test_pairs_bar_orders_the_largest_pair_on_top():
    pairs = pd.DataFrame({"row": ["a", "c"], "col": ["b", "a"], "value": [5, 2], "row_share": [0.5, 0.2]})
    fig = charts.pairs_bar(pairs, "t", x_title="faces")
    assert list(fig.data[0].y) == ["a → b", "c → a"] and list(fig.data[0].x) == [5, 2]
    assert fig.layout.yaxis.autorange == "reversed"


# -- the pages on a real 200-class run -------------------------------------------------------------
@pytest.fixture(scope="module")
def trained_many(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("many_home")
    make_many_class_project(home, K, train_per_class=2, size=16)
    return home


@pytest.fixture()
def many(trained_many, tmp_path, monkeypatch) -> Path:
    home = bs.copy_project(trained_many, tmp_path / "home")
    monkeypatch.setenv("FER_AUDIT_HOME", str(home))
    return home


def _scores(home: Path) -> pd.DataFrame:
    from data_tools.rundir import RunDir
    return RunDir(home / "runs" / "many").read_scores().set_index("sample_id")


def _sample(at) -> str:
    return next(s.value for s in at.subheader if s.value.startswith("Sample "))[len("Sample "):]


@pytest.mark.slow
def test_review_digits_follow_the_face_and_the_picker_relabels(many, app):
    from data_tools.audit import Audit
    s = _scores(many)
    app.run()
    assert not app.exception
    sid = _sample(app)
    row = s.loc[sid]
    top = digit_classes(NAMES, row)
    labels = {b.key: b.label for b in app.button if b.key and b.key.startswith("act_relabel_")}
    assert labels == {f"act_relabel_{i}": f"{i} · {c} ({row[f'prob_{c}']:.2f})" for i, c in enumerate(top, start=1)}
    assert any(key_legend(K) == c.value for c in app.caption)
    picker = app.selectbox(key=picker_key(sid))
    assert list(picker.options) == NAMES and picker.value is None
    target = next(c for c in reversed(NAMES) if c not in top and c != row["label"])
    picker.select(target).run()
    assert not app.exception
    d = Audit(many / "runs" / "many" / "audit.sqlite").decision(sid)
    assert (d["action"], d["new_label"]) == ("relabel", target)
    second = _sample(app)
    assert second != sid and app.selectbox(key=picker_key(second)).value is None    # a fresh picker per face
    best = digit_classes(NAMES, s.loc[second])[0]
    app.button(key="act_relabel_1").click().run()                     # key 1: this face's most probable class
    d2 = Audit(many / "runs" / "many" / "audit.sqlite").decision(second)
    want = ("keep", None) if best == s.loc[second, "label"] else ("relabel", best)
    assert (d2["action"], d2["new_label"]) == want


@pytest.mark.slow
def test_insights_shows_the_most_confused_pairs(many, app):
    from eac_core import metrics
    s = _scores(many).reset_index()
    app.run()
    app.switch_page("views/insights.py").run()
    assert not app.exception
    want = metrics.top_pairs(metrics.confusion(s["label"], s["pred"], NAMES), NAMES, NAMES, 20)
    got = next(d.value for d in app.dataframe if "predicted" in d.value.columns)   # the dataframes have no key here
    assert list(got.columns) == ["given", "predicted", "faces", "share of the given class"]
    assert got["given"].tolist() == want["row"].tolist() and got["faces"].tolist() == want["value"].tolist()
    assert len(got) == 20
    flips = next(d.value for d in app.dataframe if "true (estimated)" in d.value.columns)
    want = metrics.top_pairs(metrics.noise_joint(s, NAMES).T, NAMES, NAMES, 20)
    assert flips["true (estimated)"].tolist() == want["row"].tolist() and flips["given"].tolist() == want["col"].tolist()
    assert flips["share of all labels"].to_numpy() == pytest.approx(want["value"].to_numpy())
