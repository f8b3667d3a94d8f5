"""Issue 24 item 6: after a folders import and `data_tools noise`, the sample id (`happy/S072_...`) showed
the class a face came from next to its flipped label. Where the truth is known (source_label /
true_label), the pages draw the parts of an id that name a class as '…'; files and the audit keep the
real id."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from app.components import display_ids
from support.apptest import audit_of, run_path, scores_of


def test_class_names_in_ids_are_drawn_neutral_only_where_the_truth_is_known():
    shown = display_ids.Shown(["happy", "sad", "contempt"], active=True)
    assert [shown(s) for s in ("happy/S072_006_00000021", "Happiness/x", "train/sad/y", "S010_contempt_1",
                               "plain", "happy")] == [
        "…/S072_006_00000021", "…/x", "train/…/y", "S010_contempt_1", "plain", "…"]
    assert display_ids.for_columns(["sample_id", "label"], ["happy"])("happy/x") == "happy/x"
    assert display_ids.for_columns(["sample_id", "label", "source_label"], ["happy"])("happy/x") == "…/x"
    assert display_ids.for_columns(["sample_id", "label", "true_label"], ["Glück"])("glück/x") == "…/x"


@pytest.fixture()
def foldered(project):
    """The trained demo project with folders-import ids: '<source_label>/<id>' everywhere a run or the
    dataset names a sample."""
    run = run_path(project)
    ds = project / "datasets" / "demo"
    m = pd.read_csv(ds / "manifest.csv", dtype=str, keep_default_na=False)
    new = dict(zip(m["sample_id"], m["source_label"] + "/" + m["sample_id"]))
    m["sample_id"] = m["sample_id"].map(new)
    m.to_csv(ds / "manifest.csv", index=False)
    for f in [run / "scores.parquet", run / "embedding.parquet", run / "history" / "sample_ids.parquet"]:
        if f.is_file():
            t = pd.read_parquet(f)
            t["sample_id"] = t["sample_id"].map(new)
            t.to_parquet(f, index=False)
    return project


def test_the_review_page_draws_no_class_from_the_id(foldered, app):
    s = scores_of(foldered)
    first = s["sample_id"].iloc[0]
    assert "/" in first and first.split("/")[0] in set(s["source_label"])
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    heads = [h.value for h in app.subheader if h.value.startswith("Sample ")]
    assert heads == ["Sample …/" + first.split("/", 1)[1]]
    queue = [d.value for d in app.dataframe if "sample" in d.value.columns][0]
    assert len(queue) > 0 and all(v.startswith("…/") for v in queue["sample"])
    app.button(key="act_keep").click().run()
    assert list(audit_of(foldered).latest()["sample_id"]) == [first]          # the real id is recorded


def test_the_gallery_draws_no_class_from_the_id(foldered):
    from streamlit import config
    from streamlit.testing.v1 import AppTest
    config.set_option("server.address", "127.0.0.1")
    at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "app" / "views" / "gallery.py"),
                           default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    labels = [c.label for c in at.checkbox if c.key.startswith("gal_box_")]
    assert labels and all(lab.startswith("…/") for lab in labels), labels[:3]
