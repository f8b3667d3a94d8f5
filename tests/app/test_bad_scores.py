"""Issue 22, smaller holes: NaN or infinite suspicion made Review and Insights unusable for the run
("min_value (-inf) must be >= ...", "Input contains infinity"), and a sample id listed twice in the
scores broke the Gallery (two widgets with one key). Such faces are ranked last, a repeated id keeps its
first row, and the pages say how many."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from app.components.loaders import clean_scores
from support.apptest import run_path, scores_of


def test_clean_scores():
    df = pd.DataFrame({"sample_id": ["a", "b", "c", "b", "d"], "suspicion": [0.9, np.nan, np.inf, 0.1, 0.5],
                       "margin": [0.1, -np.inf, 0.3, 0.4, 0.5], "rank": [1, 2, 3, 4, 5]})
    out = clean_scores(df)
    assert out["sample_id"].tolist() == ["a", "b", "c", "d"]
    assert out.set_index("sample_id")["rank"].to_dict() == {"a": 1, "d": 2, "b": 3, "c": 4}
    assert np.isnan(out["suspicion"]).tolist() == [False, True, True, False]
    assert not np.isinf(out["margin"]).any()
    assert out.attrs["notes"] == ["1 row(s) of scores.parquet repeat a sample id ('b' first); the first row of "
                                  "each is used", "2 face(s) have no finite suspicion score (NaN or infinite) "
                                  "and are ranked last"]
    assert clean_scores(df.iloc[[0, 4]]).attrs["notes"] == []


@pytest.mark.parametrize("page", ["views/review.py", "views/insights.py", "views/gallery.py"])
def test_pages_work_with_bad_scores(project, app, page):
    from data_tools.rundir import RunDir
    s = scores_of(project)
    s.loc[0, "suspicion"], s.loc[1, "suspicion"], s.loc[2, "suspicion"] = np.nan, np.inf, -np.inf
    s.loc[4, "sample_id"] = s.loc[3, "sample_id"]
    RunDir(run_path(project)).write_scores(s)
    app.run()
    app.switch_page(page).run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    notes = [c.value for c in (app.sidebar.caption if page == "views/review.py" else app.caption)
             if c.value.startswith("Note: ")]
    assert notes == [f"Note: 1 row\\(s\\) of scores.parquet repeat a sample id \\('{s.loc[3, 'sample_id']}' "
                     "first\\); the first row of each is used.",
                     "Note: 3 face\\(s\\) have no finite suspicion score \\(NaN or infinite\\) and are ranked last."]
    if page == "views/review.py":            # the first face is the best finite suspect, not a NaN one
        assert [h.value for h in app.subheader][0] == f"Sample {s.loc[3, 'sample_id']}"
