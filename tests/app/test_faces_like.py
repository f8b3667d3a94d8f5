"""Issue 24, the FiftyOne / Cleanlab Studio views on the Review page (AppTest): "faces like this" (the
face's nearest neighbours in the learned embedding the trainer keeps in features.npy, with their given
labels: the evidence behind the kNN signal; the 2-D map, said so, for runs without it) and the zoom."""
from __future__ import annotations

import html
import re

import numpy as np

import eac_core.infer  # noqa: F401  (torch imported before the page's background import: no import race)
from support.apptest import run_path, scores_of


def _sample(at) -> str:
    return next(s.value for s in at.subheader if s.value.startswith("Sample "))[len("Sample "):]


def _like(at) -> tuple[str, list[str], list[str]]:
    """(the heading line, the neighbours' sample ids, their labels) of "Faces like this"."""
    head = next(m.value for m in at.markdown if m.value.startswith("**Faces like this**"))
    row = next(m.value for m in at.markdown if 'class="fer-like"' in m.value)
    ids = [html.unescape(x) for x in re.findall(r'class="fer-like" data-sample="([^"]*)"', row)]
    labels = [html.unescape(x) for x in re.findall(r'font-weight:600">([^<]*)</span><br>', row)]
    return head, ids, labels


def test_the_trainer_keeps_the_learned_embedding(project):
    from data_tools.rundir import RunDir
    rd = RunDir(run_path(project))
    f = rd.read_features()
    assert f.dtype == np.float16 and f.ndim == 2 and 0 < f.shape[1] <= 128
    assert len(f) == len(rd.history_sample_ids()) == 100                     # the demo's training faces
    assert np.allclose(np.linalg.norm(f.astype(np.float32), axis=1), 1.0, atol=2e-3)


def test_faces_like_this_are_the_nearest_in_the_learned_embedding(project, app):
    from data_tools.rundir import RunDir
    rd = RunDir(run_path(project))
    s = scores_of(project).set_index("sample_id")
    app.run()
    assert not app.exception
    sid = _sample(app)
    f = rd.read_features().astype(np.float32)
    ids = rd.history_sample_ids().astype(str)
    j = list(ids).index(sid)
    sims = f @ f[j]
    sims[j] = -np.inf
    want = [ids[i] for i in np.argsort(-sims, kind="stable")[:8]]
    head, got, labels = _like(app)
    assert got == want
    assert labels == [s.at[i, "label"] for i in want]
    given = s.at[sid, "label"]
    same = sum(lab == given for lab in labels)
    assert head.startswith(f"**Faces like this** · {same} of 8 nearest are labelled ")
    assert head.endswith("like this face · cosine similarity in the learned embedding")


def test_without_features_the_2d_map_is_used_and_said_so(project, app):
    from data_tools.rundir import RunDir
    rd = RunDir(run_path(project))
    rd.path_of("features").unlink()
    app.run()
    assert not app.exception
    sid = _sample(app)
    e = rd.read_embedding()
    xy = e[["x", "y"]].to_numpy(np.float32)
    j = e.index[e["sample_id"] == sid][0]
    d = np.linalg.norm(xy - xy[j], axis=1)
    d[j] = np.inf
    want = [e["sample_id"].iloc[i] for i in np.argsort(d, kind="stable")[:8]]
    head, got, _ = _like(app)
    assert got == want
    assert head.endswith("nearest on the 2-D map (this run has no features.npy: the map distorts distances, "
                         "a rough guide)")


def test_zoom_shows_the_face_at_its_own_resolution(project, app):
    app.run()
    assert not any(c.startswith("full size") for e in app.get("image") for c in [i.caption for i in e.proto.imgs])
    app.toggle(key="review_zoom").set_value(True).run()
    assert not app.exception
    caps = [i.caption for e in app.get("image") for i in e.proto.imgs]
    assert "full size: 48×48 px, shown ×10" in caps


def _caption(at, start: str) -> str:
    return next(c.value for c in at.caption if c.value.startswith(start))


def test_auto_fix_previews_count_changes_and_precision_then_applies_one_undoable_batch(project, app):
    from data_tools.rundir import RunDir
    from support.apptest import audit_of
    rd = RunDir(run_path(project))
    full = rd.read_scores()                      # a 1-epoch model is unsure of everything: spread its confidence
    full["p_pred"] = np.linspace(0.30, 0.99, len(full))
    rd.write_scores(full)
    s = scores_of(project).set_index("sample_id")
    app.run()
    differ = s[s["pred"] != s["label"]]
    thr = 0.75
    app.slider(key="autofix_thr").set_value(thr).run()
    want = differ[differ["p_pred"] >= thr]
    assert 0 < len(want) < len(differ)
    cap = _caption(app, f"{len(want):,} undecided face(s) with a different suggestion at confidence ≥ {thr:.2f}")
    assert f"expected precision {want['p_pred'].mean():.0%} (the mean confidence of these suggestions)." in cap
    app.button(key="autofix_preview_btn").click().run()
    head = next(m.value for m in app.markdown if m.value.startswith("**Auto-fix at confidence"))
    assert head.startswith(f"**Auto-fix at confidence ≥ {thr:.2f}: {len(want):,} face(s) will be relabelled; "
                           f"expected precision {want['p_pred'].mean():.0%}.**")
    changes = next(d.value for d in app.dataframe if list(d.value.columns) == ["from", "to", "faces"])
    got = {(r["from"], r["to"]): r["faces"] for r in changes.to_dict("records")}
    assert got == want.groupby(["label", "pred"]).size().to_dict()
    assert audit_of(project).latest().empty                  # nothing applied by the preview
    app.button(key="autofix_apply").click().run()
    assert not app.exception
    latest = audit_of(project).latest().set_index("sample_id")
    assert sorted(latest.index) == sorted(want.index)
    assert (latest["action"] == "relabel").all()
    assert latest["new_label"].to_dict() == want["pred"].to_dict()
    assert latest["via"].nunique() == 1 and latest["via"].iloc[0].startswith("batch:auto-fix:")
    app.button(key="act_undo").click().run()               # one undo reverts the whole auto-fix
    assert audit_of(project).latest().empty
    # the reviewer's own decisions on faces that met the rule are counted beside the expectation
    first = want.index[0]
    audit_of(project).record(first, "keep", None, reviewer="r", note="", via="review", session="s")
    app.run()
    cap = _caption(app, f"{len(want) - 1:,} undecided face(s) with a different suggestion")
    assert cap.endswith("; your own decisions on 1 such face(s) accepted the suggestion 0 time(s) (0%).")
