"""Training, scoring and explaining with 120 classes (issue 10 §2): one tiny EAC run (2 images per class,
16 px, 1 epoch, 2 folds) and what the run directory and the explainer give back."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from eac_core import infer, train
from eac_core.cam import compute_cams, flip_consistency
from eac_core.infer import Explainer
from data_tools.rundir import RunDir
from support.many_classes import class_names, write_many_class_dataset

pytestmark = pytest.mark.slow

K = 120


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_many_class_dataset(tmp_path_factory.mktemp("many") / "ds", K, train_per_class=2,
                                    test_per_class=1, size=16)


@pytest.fixture(scope="module")
def run(dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "r"
    rc = train.main(["--dataset", str(dataset), "--out", str(out), "--preset", "demo", "--image-size", "16",
                     "--epochs", "1", "--batch-size", "32", "--threads", "1", "--folds", "2"])
    assert rc == 0
    return out


def test_scores_have_one_row_per_sample_and_a_column_per_class(run):
    s = RunDir(run).read_scores()
    names = class_names(K)
    assert len(s) == 2 * K
    probs = [c for c in s.columns if c.startswith("prob_")]
    assert probs == [f"prob_{c}" for c in names]                       # every class, in the dataset's order
    assert [c for c in s.columns if c.startswith("oos_prob_")] == [f"oos_prob_{c}" for c in names]
    p = s[probs].to_numpy(dtype="float64")
    np.testing.assert_allclose(p.sum(1), 1.0, rtol=1e-5)
    assert s["pred"].tolist() == [names[i] for i in p.argmax(1)]
    np.testing.assert_allclose(s["p_pred"], p.max(1), rtol=1e-6)
    given = s["label"].map({c: i for i, c in enumerate(names)}).to_numpy()
    np.testing.assert_allclose(s["p_label"], p[np.arange(len(s)), given], rtol=1e-5)
    assert sorted(s["rank"]) == list(range(1, 2 * K + 1))
    order = s.sort_values("rank")["suspicion"].to_numpy()
    assert (np.diff(order) <= 0).all()                                  # rank 1 = most suspicious
    assert np.isfinite(s[["loss", "margin", "flip_consistency", "flip_consistency_given", "aum",
                          "cleanlab_self_confidence", "oos_self_confidence"]].to_numpy()).all()
    assert set(s["oos_fold"]) == {0, 1} and not s["provisional"].any()
    assert RunDir(run).classes() == names


def test_explainer_draws_the_given_and_predicted_class_only(run, dataset, monkeypatch):
    seen: list[int] = []
    real = infer.compute_cams
    monkeypatch.setattr(infer, "compute_cams", lambda f, w: seen.append(w.shape[0]) or real(f, w))
    ex = Explainer.load(run)
    image = dataset / "img" / "train_00150.png"                       # class075 (class-major, 2 per class)
    e = ex.explain(image, "class075", display_size=32)
    assert seen == [1 if e.pred == "class075" else 2]                  # never the maps of all 120 classes
    assert e.probs.shape == (K,) and e.given == "class075" and e.given_index == 75
    assert e.pred == class_names(K)[int(np.argmax(e.probs))]
    panels = {("original", "given"), ("flipped", "given"), ("original", "pred"), ("flipped", "pred")}
    assert panels <= set(e.overlays)
    for key in panels:
        assert e.overlays[key].shape == (32, 32, 3) and e.cams[key].shape == (2, 2)   # 16 px, stride 8
    # the maps and errors are those of the full K-class computation
    x = infer.to_tensor(infer.resize_uint8(infer.read_image(image), 16)[None].copy(), ex.preprocessing)
    with torch.inference_mode():
        _, feats = ex.model(torch.cat([x, x.flip(-1)]))
        full = real(feats.float(), ex.model.fc.weight.float())          # (2, K, 2, 2)
    for which, idx in (("given", 75), ("pred", e.pred_index)):
        np.testing.assert_allclose(e.cams[("original", which)], full[0, idx].numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(e.cams[("flipped", which)], full[1, idx].numpy(), rtol=1e-5, atol=1e-6)
    assert e.flip_consistency == pytest.approx(float(flip_consistency(full[:1], full[1:])[0]), rel=1e-5)
    ref_given = float(((full[0, 75] - full[1, 75].flip(-1)) ** 2).mean())
    assert e.flip_consistency_given == pytest.approx(ref_given, rel=1e-5)
