"""Issue 24 item 5 outside the Review page: the Insights tables (the measured error not cut on the
right, an unscored accuracy not shown as `None`), the Gallery's count ("1 face"), the loss chart of a CE
run (no flat att_loss line, never cam_energy)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from app.components import charts, wording
from support.apptest import audit_of, scores_of


def _summary() -> pd.DataFrame:
    return pd.DataFrame({"epoch": [1, 2, 3], "loss": [1.9, 1.5, 1.2], "ce_loss": [1.9, 1.5, 1.2],
                         "att_loss": [0.0, 0.0, 0.0], "cam_energy": [np.nan] * 3, "train_acc": [0.2, 0.4, 0.6],
                         "test_acc": [0.2, 0.3, 0.5], "lr": [0.1, 0.05, 0.01]})


@pytest.mark.parametrize("mode, drawn", [("ce", False), ("eac", True), (None, False)])
def test_the_loss_chart_draws_att_loss_for_an_eac_run_only(mode, drawn):
    fig = charts.curves(_summary(), mode=mode)
    names = [t.name for t in fig.data]
    assert names == ["loss", "ce_loss"] + (["att_loss"] if drawn else []) + ["train_acc", "test_acc"]


def test_the_loss_chart_of_an_unknown_mode_draws_a_consistency_loss_that_is_not_zero():
    s = _summary().assign(att_loss=[0.3, 0.2, 0.1], cam_energy=[5.0, 4.0, 3.0])
    assert [t.name for t in charts.curves(s).data] == ["loss", "ce_loss", "att_loss", "train_acc", "test_acc"]


def test_counts_in_words():
    assert [wording.count(n, "face") for n in (0, 1, 2, 1204)] == ["0 faces", "1 face", "2 faces", "1,204 faces"]
    assert wording.count(1, "class", "classes") == "1 class" and wording.count(3, "class", "classes") == "3 classes"


def _gallery(home):
    from streamlit import config
    from streamlit.testing.v1 import AppTest
    config.set_option("server.address", "127.0.0.1")
    return AppTest.from_file(str(Path(__file__).resolve().parents[2] / "app" / "views" / "gallery.py"),
                             default_timeout=60)


def test_the_gallery_counts_one_face_in_the_singular(project):
    from data_tools.audit import Audit, Decision
    s = scores_of(project)
    audit = Audit.open(audit_of(project).path)
    audit.record_many([Decision(sid, "keep", None, "ana") for sid in s["sample_id"].iloc[1:]])
    at = _gallery(project)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    bar = [m.value for m in at.markdown if "selected**" in m.value]
    assert bar == ["**1 face** · **0 selected**"]


def test_insights_tables_fit_and_say_not_scored(project, app):
    """The reviewer's accuracy per action: unsure says 'not scored' (was the word None). The measured
    error of the noise-share estimator is a table that wraps to the page (a dataframe was cut)."""
    from data_tools.audit import Audit, Decision
    s = scores_of(project)
    a, b = s["sample_id"].iloc[:2]
    Audit.open(audit_of(project).path).record_many([Decision(a, "keep", None, "ana"),
                                                    Decision(b, "unsure", None, "ana")])
    app.run()
    app.switch_page("views/insights.py").run()
    assert not app.exception, [e.value for e in app.exception]
    acc = [d.value for d in app.dataframe if "accuracy" in d.value.columns]
    assert len(acc) == 1
    acc = acc[0].set_index("action")
    assert acc.loc["unsure", "accuracy"] == "not scored"
    assert acc.loc["keep", "accuracy"] in ("0.000", "1.000")
    assert "None" not in acc["accuracy"].astype(str).tolist()
    from eac_core import noise_share as ns
    if ns.measured_error() is None:
        pytest.skip("bench/results/noise_share.json not written (python bench/bench_noise_share.py)")
    assert not [d for d in app.dataframe if "error" in d.value.columns]        # no scrolling frame
    tables = [t.value for t in app.table]
    assert len(tables) == 1
    assert list(tables[0].columns) == ["data", "probabilities", "model test acc", "truth", "estimate (interval)",
                                       "error"]
    assert not tables[0].isin(["None", "nan"]).any().any()
