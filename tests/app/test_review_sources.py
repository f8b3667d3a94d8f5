"""Issue 24 §2-§4 on the Review page (AppTest): one source per number (the heading's and the CAM
captions' "predicted" are the ranking's; the banner and the queue caption say the same ranking epoch,
from one read of progress.json), a newer ranking never moves the face on screen, and a new session
opens on the first undecided face."""
from __future__ import annotations

import json

import pytest

from support.apptest import audit_of, rerank, run_path, scores_of


def _sample(at) -> str:
    return next(s.value for s in at.subheader if s.value.startswith("Sample "))[len("Sample "):]


def _queue(at):
    return next(d.value for d in at.dataframe if "▶" in d.value.columns)


def _image_captions(at) -> list[str]:
    """The captions of every st.image on the page (AppTest has no typed accessor for images)."""
    return [img.caption for el in at.get("image") for img in el.proto.imgs]


def _progress(run, **fields) -> None:
    (run / "progress.json").write_text(json.dumps(fields))


def test_the_heading_and_the_cam_captions_name_the_same_predicted_class(project, app):
    from data_tools.rundir import RunDir
    from eac_core.infer import Explainer                  # imported here: the page draws the CAMs at once
    run = run_path(project)
    s = scores_of(project)
    first = s["sample_id"].iloc[0]
    ds = json.loads((project / "datasets" / "demo" / "dataset.json").read_text())
    import pandas as pd
    man = pd.read_csv(project / "datasets" / "demo" / "manifest.csv", dtype=str).set_index("sample_id")
    root = project / "datasets" / "demo" / ds.get("image_root", ".")
    ckpt_pred = Explainer.load(run).explain(str(root / man.loc[first, "path"])).pred
    other = next(c for c in ds["classes"] if c != ckpt_pred)
    # the ranking's suggestion differs from what the (newer) checkpoint predicts for this face
    rd = RunDir(run)
    full = rd.read_scores()
    full.loc[full["sample_id"].astype(str) == first, "pred"] = other
    rd.write_scores(full)
    app.run()
    assert not app.exception
    assert _sample(app) == first
    head = next(m.value for m in app.markdown if m.value.startswith("given "))
    assert f">{other}<" in head.split("predicted", 1)[1].split("·", 1)[0]
    caps = _image_captions(app)
    preds = [c for c in caps if c.startswith("predicted: ")]
    assert preds == [f"predicted: {other}", f"predicted: {other}"]          # both views, the heading's class
    line = " ".join(c.value for c in app.caption)
    assert (f"\"predicted\" on this page is the ranking's (**{other}**, ranking from epoch 1 of 1); the CAMs "
            f"are drawn by the checkpoint of epoch 1, which now predicts **{ckpt_pred}**.") in line


def test_the_banner_and_the_queue_caption_read_the_same_ranking_epoch(project, app):
    run = run_path(project)
    ids = scores_of(project)["sample_id"].tolist()
    rerank(run, ids, provisional=True)             # scores written after epoch 1's history
    # the trainer is in epoch 2's evaluation: the ranking on screen is still epoch 1's
    _progress(run, state="running", phase="evaluate", epoch=2, epochs=8, step=3, steps=3)
    app.run()
    assert not app.exception
    banner = next(w.value for w in app.warning if "Provisional ranking" in w.value)
    assert banner.startswith("**Provisional ranking**: ranking from epoch 1 of 8 (training running at epoch 2 "
                             "of 8, evaluate).")
    queue_head = next(m.value for m in app.markdown if m.value.startswith("**Queue**"))
    assert queue_head == f"**Queue** · {len(ids):,} of {len(ids):,} faces · ranking from epoch 1 of 8 (provisional)"
    assert not [b for b in app.button if b.key == "load_newer_scores"]      # nothing to click


def test_a_newer_ranking_keeps_the_face_on_screen_and_moves_the_queue(project, app):
    ids = scores_of(project)["sample_id"].tolist()
    rerank(run_path(project), ids, provisional=True)            # the provisional ranking on screen
    app.run()
    assert _sample(app) == ids[0]
    app.button(key="act_keep").click().run()           # decide rank 1, move to rank 2
    assert _sample(app) == ids[1]
    table_before = next(d for d in app.dataframe if "▶" in d.value.columns).proto.id
    # a newer ranking: the face on screen falls to rank 31, rank 1 is the face already decided
    new = [ids[0]] + ids[2:31] + [ids[1]] + ids[31:]
    rerank(run_path(project), new, provisional=True)
    app.run()                                          # what the banner's poll does when the file changes
    assert not app.exception
    assert _sample(app) == ids[1]                      # the face stays
    # a new table widget, so its default selection (the face) applies, not the face's old row
    assert next(d for d in app.dataframe if "▶" in d.value.columns).proto.id != table_before
    q = _queue(app)
    assert q["sample"].tolist()[:3] == new[28:31]      # the queue is the new one, around the face (rank 31)
    assert q["▶"].tolist()[:3] == ["", "", "▶"]
    info = " ".join(i.value for i in app.info)
    assert ("The newer provisional ranking arrived: the queue follows it; this face stays until you decide "
            "(rank 31 in it), then the review goes on from its best undecided suspect.") in info
    app.run()                                          # another poll, same file: still there
    assert _sample(app) == ids[1]
    app.button(key="act_keep").click().run()           # decided: the new ranking's best undecided suspect
    assert _sample(app) == new[1]
    assert not any("ranking arrived" in i.value for i in app.info)
    assert audit_of(project).latest()["sample_id"].tolist() == [ids[0], ids[1]]


def test_the_final_ranking_keeps_the_face_even_outside_the_filtered_queue(project, app):
    ids = scores_of(project)["sample_id"].tolist()
    rerank(run_path(project), ids, provisional=True)
    app.run()
    app.button(key="act_next").click().run()
    assert _sample(app) == ids[1]
    app.sidebar.radio(key="qf_status").set_value("undecided").run()
    assert _sample(app) == ids[1]
    from data_tools.audit import Audit
    Audit(run_path(project) / "audit.sqlite").record(ids[1], "keep", None, reviewer="other", note="",
                                                     via="review", session="elsewhere")
    rerank(run_path(project), list(reversed(ids)), provisional=False)
    app.run()                                          # decided elsewhere: not in the undecided queue any more
    assert _sample(app) == ids[1]
    assert any("The final ranking arrived" in i.value for i in app.info)


@pytest.mark.parametrize("decided_n", [1, 3])
def test_a_new_session_opens_on_the_first_undecided_face(project, app, decided_n):
    from streamlit.testing.v1 import AppTest
    from support.apptest import MAIN
    ids = scores_of(project)["sample_id"].tolist()
    app.run()
    assert _sample(app) == ids[0]
    for _ in range(decided_n):
        app.button(key="act_keep").click().run()
    fresh = AppTest.from_file(MAIN, default_timeout=60)        # another browser session
    fresh.run()
    assert not fresh.exception
    assert _sample(fresh) == ids[decided_n]


def test_a_new_session_opens_on_rank_1_when_everything_is_decided(project, app):
    from streamlit.testing.v1 import AppTest
    from support.apptest import MAIN
    ids = scores_of(project)["sample_id"].tolist()
    app.run()                                          # creates the audit database
    a = audit_of(project)
    for sid in ids:
        a.record(sid, "keep", None, reviewer="r", note="", via="review", session="s")
    fresh = AppTest.from_file(MAIN, default_timeout=60)
    fresh.run()
    assert _sample(fresh) == ids[0]
