"""Issue 24 item 6: after a folders import and `data_tools noise`, the sample id (`happy/S072_...`) showed
the class a face came from next to its flipped label. Where the truth is known (source_label /
true_label), the pages draw the parts of an id that name a class as '…'; files and the audit keep the
real id."""
from __future__ import annotations

import json
from pathlib import Path

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
    from support.foldered import fold_ids
    fold_ids(project / "datasets" / "demo", run_path(project))
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


def _keys(at) -> list[str]:
    """Every user key on the page (widgets, keyed tables and containers): each reaches the browser
    (a widget id, an `st-key-<key>` CSS class)."""
    return [str(e.key) for block in (at.main, at.sidebar) for e in block if getattr(e, "key", None)]


def _url(at) -> str:
    v = at.query_params["sample"]
    return v[0] if isinstance(v, list) else v


def test_the_review_pages_url_and_keys_carry_no_masked_id_and_links_still_open(foldered, app):
    """Issue 24 item 6: the URL carried the real id (`?sample=happy/S072_...`), and the queue table and
    the class picker were keyed by it. Now the URL holds a link token (a keyed hash where the id's drawn
    form is masked) that opens the same face, and no key holds an id's text."""
    from app.components.display_ids import TOKEN, for_columns
    s = scores_of(foldered)
    ids = s["sample_id"].tolist()
    truths = set(s["source_label"])
    app.run()
    first_url = _url(app)
    assert first_url.startswith(TOKEN) and len(first_url) == len(TOKEN) + 16
    assert not any(t in first_url for t in truths) and "/" not in first_url
    keys = _keys(app)
    assert any(k.startswith("review_queue_table_") for k in keys)
    assert [k for k in keys if "/" in k or any(sid in k for sid in ids)] == []
    app.button(key="act_keep").click().run()                       # the next face: its own token in the URL
    second_url = _url(app)
    assert second_url.startswith(TOKEN) and second_url != first_url
    assert [k for k in _keys(app) if "/" in k or any(sid in k for sid in ids)] == []
    # the faces like this carry tokens too, never an id's text
    html = " ".join(m.value for m in app.main.markdown if "fer-like" in m.value)
    assert html and not any(sid in html for sid in ids)
    # a link with the token opens that face (a refresh, a shared link); a typed real id still does
    shown = for_columns(s.columns, json.loads((foldered / "datasets" / "demo" / "dataset.json").read_text())["classes"])
    from streamlit.testing.v1 import AppTest
    from support.apptest import MAIN
    for link, want in ((shown.token(ids[5]), ids[5]), (ids[7], ids[7])):
        tab = AppTest.from_file(MAIN, default_timeout=60)
        tab.query_params["sample"] = link
        tab.run()
        assert not tab.exception
        heads = [h.value for h in tab.subheader if h.value.startswith("Sample ")]
        assert heads == ["Sample …/" + want.split("/", 1)[1]]
        assert _url(tab) == shown.token(want)
    tab = AppTest.from_file(MAIN, default_timeout=60)
    tab.query_params["sample"] = TOKEN + "0" * 16                   # no such face: said, no traceback
    tab.run()
    assert not tab.exception
    assert [w.value for w in tab.warning] == [f"Sample {TOKEN}{'0' * 16} is not in this run's ranking; showing the queue instead."]


def test_link_tokens_are_keyed_by_the_projects_secret(tmp_path, monkeypatch):
    from app.components import display_ids, project
    monkeypatch.setenv("FER_AUDIT_HOME", str(tmp_path / "one"))
    (tmp_path / "one").mkdir()
    shown = display_ids.Shown(["happy", "sad"], active=True)
    t1 = shown.token("happy/x")
    assert t1.startswith(display_ids.TOKEN) and shown.token("plain_x") == "plain_x"      # unmasked: the id
    assert (tmp_path / "one" / project.LINK_KEY_FILE).is_file()
    assert shown.token("happy/x") == t1 and shown.token("sad/x") != t1
    assert shown.find(t1, ["sad/x", "happy/x"]) == "happy/x" and shown.find("happy/x", ["happy/x"]) == "happy/x"
    assert shown.find(t1, ["sad/x"]) is None and display_ids.Shown().find(t1, ["happy/x"]) is None
    assert shown.ids_of([t1, "plain_x"], ["happy/x", "sad/x", "plain_x"]) == {"happy/x", "plain_x"}
    project._LINK_KEYS.clear()                                       # a restarted server: the same token
    assert shown.token("happy/x") == t1
    monkeypatch.setenv("FER_AUDIT_HOME", str(tmp_path / "two"))      # another project: another secret
    (tmp_path / "two").mkdir()
    assert shown.token("happy/x") != t1
    # the plain SHA-256 of a guessed id does not give the token away
    import hashlib
    assert hashlib.sha256(b"happy/x").hexdigest()[:16] not in (t1, shown.token("happy/x"))
