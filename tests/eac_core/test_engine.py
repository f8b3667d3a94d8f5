"""eac_core.engine: the EAC loss on hand-computed tensors, margins, and a tiny epoch's signals."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from eac_core.data import AugmentSpec, normalise
from eac_core.engine import Objective, StepContext, eac_loss, evaluate, margins, score_clean, train_one_epoch
from eac_core.models import build_model
from eac_core.preprocess import Preprocessing


def _tiny():
    # one sample, C=1 channel, a 1x2 map; K=2 classes with weight [[1], [2]]
    f1 = torch.tensor([[[[1.0, 2.0]]]], requires_grad=True)
    f2 = torch.tensor([[[[3.0, 5.0]]]], requires_grad=True)
    w = torch.tensor([[1.0], [2.0]], requires_grad=True)
    logits = torch.tensor([[0.0, math.log(3.0)]], requires_grad=True)
    return f1, f2, w, logits


def test_eac_loss_hand_computed():
    f1, f2, w, logits = _tiny()
    out = eac_loss(logits, f1, f2, w, torch.tensor([0]), lam=5.0)
    # M1 = [1,2] / [2,4]; flip(M2) = [5,3] / [10,6]; squared diffs 16, 1, 64, 4 -> mean 21.25
    assert out.att.item() == pytest.approx(21.25)
    # softmax([0, ln 3]) = [1/4, 3/4]; CE of class 0 = ln 4
    assert out.ce.item() == pytest.approx(math.log(4.0))
    assert out.total.item() == pytest.approx(math.log(4.0) + 5 * 21.25)
    assert out.flip_consistency.tolist() == pytest.approx([21.25])
    assert out.ce_per_sample.tolist() == pytest.approx([math.log(4.0)])


def test_classifier_weight_is_detached_in_the_consistency_term():
    f1, f2, w, logits = _tiny()
    out = eac_loss(logits, f1, f2, w, torch.tensor([0]), lam=5.0)
    out.att.backward()
    assert w.grad is None                                     # W learns from CE only
    # d/dF1 of mean (M1 - flip M2)^2 over 4 terms: sum_k W_k * 2 * diff_k / 4
    # position 0: (1*2*-4 + 2*2*-8)/4 = -10; position 1: (1*2*-1 + 2*2*-2)/4 = -2.5
    assert f1.grad.flatten().tolist() == pytest.approx([-10.0, -2.5])
    assert f2.grad is not None and f2.grad.abs().sum() > 0     # gradients reach both views


def test_ce_mode_has_no_consistency_term():
    f1, _, w, logits = _tiny()
    out = eac_loss(logits, f1, None, w, torch.tensor([1]), lam=5.0)
    assert out.att.item() == 0.0
    assert out.total.item() == pytest.approx(math.log(4.0 / 3.0))
    assert math.isnan(out.flip_consistency.item())


def test_label_smoothing_trains_on_soft_targets_and_logs_the_plain_loss():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 3.0]])
    labels = torch.tensor([0, 1])
    out = eac_loss(logits, logits, None, torch.zeros(3, 3), labels, lam=5.0, label_smoothing=0.3)
    logp = torch.log_softmax(logits, 1)
    plain = -logp[torch.arange(2), labels]
    soft = (0.7 * plain - 0.3 * logp.mean(1)).mean()      # (1 - eps) * CE + eps * CE against uniform
    assert torch.allclose(out.ce_per_sample, plain) and torch.allclose(out.total, soft)
    assert not torch.allclose(out.total, plain.mean())


def test_margins():
    logits = torch.tensor([[2.0, 1.0, 0.5], [2.0, 1.0, 0.5]])
    assert margins(logits, torch.tensor([0, 2])).tolist() == pytest.approx([1.0, -1.5])


@pytest.fixture(scope="module")
def tiny_epoch():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (10, 16, 16, 3), dtype=np.uint8)
    labels = rng.integers(0, 3, 10)
    model = build_model("compact", 3)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    ctx = StepContext(device=torch.device("cpu"), spec=Preprocessing())
    order = np.array([3, 1, 4, 0, 9, 2, 6, 5, 8, 7])
    res = train_one_epoch(model, opt, images, labels, order, epoch=1, seed=0, batch_size=4,
                          objective=Objective("eac", 5.0), aug=AugmentSpec(), ctx=ctx)
    return model, images, labels, ctx, res


def test_epoch_logs_every_sample(tiny_epoch):
    model, images, labels, ctx, res = tiny_epoch
    s = res.signals
    for k in ("loss", "p_label", "margin", "pred", "flip_consistency", "erased", "flip_agree"):
        assert s[k].shape == (10,) and np.isfinite(s[k]).all(), k
    assert s["probs"].shape == (10, 3)
    np.testing.assert_allclose(s["probs"][np.arange(10), labels], s["p_label"], rtol=1e-5)
    np.testing.assert_allclose(-np.log(s["p_label"]), s["loss"], rtol=1e-4)
    assert res.images == 10 and res.loss == pytest.approx(res.ce_loss + 5 * res.att_loss, rel=1e-5)


def test_clean_scoring_pass(tiny_epoch):
    model, images, labels, ctx, _ = tiny_epoch
    er = torch.zeros(10, 2, 4, dtype=torch.long)               # empty erasures -> zero sensitivity
    s = score_clean(model, images, labels, batch_size=4, ctx=ctx, erasures=er)
    assert s["probs"].shape == (10, 3) and s["features"].shape[0] == 10
    np.testing.assert_allclose(s["probs"].sum(1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(s["erase_sensitivity"], 0.0, atol=1e-6)
    np.testing.assert_allclose(s["p_label"], s["probs"][np.arange(10), labels], rtol=1e-6)
    np.testing.assert_allclose(s["loss"], -np.log(s["p_label"]), rtol=1e-4)
    # the prediction is the mean of the face's and its mirror's logits
    model.eval()
    with torch.no_grad():
        x = normalise(torch.from_numpy(images), ctx.spec, ctx.device)
        lm = (model(x)[0] + model(x.flip(3))[0]) / 2
    np.testing.assert_allclose(s["probs"], lm.softmax(1).numpy(), rtol=1e-4, atol=1e-6)
    # a mirrored copy of a sample scores the same as the original's mirror view, and its prediction,
    # loss and embedding are the original's (both views are averaged)
    mirrored = images[:, :, ::-1].copy()
    s2 = score_clean(model, mirrored, labels, batch_size=4, ctx=ctx)
    np.testing.assert_allclose(s2["flip_consistency"], s["flip_consistency"], rtol=1e-4, atol=1e-7)
    for k in ("probs", "loss", "margin", "features"):
        np.testing.assert_allclose(s2[k], s[k], rtol=1e-4, atol=1e-5, err_msg=k)
    assert set(np.unique(s["flip_agree"])) <= {0.0, 1.0}
    acc = evaluate(model, images, labels, batch_size=4, ctx=ctx)
    assert acc == pytest.approx(float(np.mean(s["pred"] == labels)))


def test_logging_off_trains_identically_and_returns_no_signals():
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (8, 16, 16, 3), dtype=np.uint8)
    labels = rng.integers(0, 3, 8)
    order = np.arange(8)
    runs = []
    for log in (True, False):
        torch.manual_seed(0)
        model = build_model("compact", 3)
        opt = torch.optim.Adam(model.parameters(), 1e-3)
        res = train_one_epoch(model, opt, images, labels, order, epoch=1, seed=0, batch_size=4,
                              objective=Objective("eac", 5.0), aug=AugmentSpec(), ctx=StepContext(device=torch.device("cpu"),
                                                                        spec=Preprocessing()), log_signals=log)
        runs.append((model, res))
    (m_log, r_log), (m_off, r_off) = runs
    assert r_off.signals is None and r_log.signals is not None
    assert r_off.loss == r_log.loss and r_off.att_loss == r_log.att_loss
    for a, b in zip(m_log.state_dict().values(), m_off.state_dict().values()):
        assert torch.equal(a, b)


def test_relative_consistency_is_scale_free_and_paper_form_is_not():
    """The relative form does not change when the maps are scaled (a network cannot lower it by shrinking
    its maps); the paper's form scales with the square."""
    from eac_core.cam import attention_consistency_loss
    g = torch.Generator().manual_seed(0)
    m1, m2 = torch.randn(4, 3, 5, 5, generator=g), torch.randn(4, 3, 5, 5, generator=g)
    for s in (0.01, 1.0, 30.0):
        assert attention_consistency_loss(s * m1, s * m2, "relative").item() == pytest.approx(
            attention_consistency_loss(m1, m2, "relative").item(), rel=1e-4)
        assert attention_consistency_loss(s * m1, s * m2, "paper").item() == pytest.approx(
            s * s * attention_consistency_loss(m1, m2, "paper").item(), rel=1e-4)
    # exact mirrors: 0; a map against its negated mirror: (2m)^2 / m^2 = 4 ... ; unrelated maps: about 2
    assert attention_consistency_loss(m1, m1.flip(-1), "relative").item() == pytest.approx(0.0, abs=1e-7)
    assert attention_consistency_loss(m1, -m1.flip(-1), "relative").item() == pytest.approx(4.0, rel=1e-5)
    big = torch.randn(64, 7, 6, 6, generator=g), torch.randn(64, 7, 6, 6, generator=g)
    assert attention_consistency_loss(*big, "relative").item() == pytest.approx(2.0, abs=0.1)
    # hand-computed: one pixel, m1 = 3, mirrored m2 = 1 -> (3 - 1)^2 / ((9 + 1) / 2) = 0.8
    a, b = torch.full((1, 1, 1, 1), 3.0), torch.full((1, 1, 1, 1), 1.0)
    assert attention_consistency_loss(a, b, "relative").item() == pytest.approx(0.8)
    assert attention_consistency_loss(a, b, "paper").item() == pytest.approx(4.0)
    with pytest.raises(ValueError, match="unknown attention-consistency form"):
        attention_consistency_loss(a, b, "other")


def test_objective_lambda_ramp():
    o = Objective("eac", 5.0, lam_warmup=2.0)
    assert o.lam_at(1, 1, 10) == 0.0 and o.lam_at(2, 1, 10) == pytest.approx(2.5)
    assert o.lam_at(3, 1, 10) == 5.0 and Objective("eac", 5.0).lam_at(1, 1, 10) == 5.0


@pytest.mark.parametrize("views", ["concat", "separate"])
def test_views_concat_and_separate(views):
    """Both ways of sending EAC's two views train; they differ only through BatchNorm's batch statistics,
    so the first step's CE (view 1 alone in `separate`, both views in `concat`) differs and the att term is
    logged for both; the CAM energy is logged in EAC mode and NaN in CE mode."""
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, (8, 16, 16, 3), dtype=np.uint8)
    labels = rng.integers(0, 3, 8)
    torch.manual_seed(0)
    model = build_model("compact", 3)
    opt = torch.optim.SGD(model.parameters(), 0.0)            # lr 0: the same weights for every pass
    ctx = StepContext(device=torch.device("cpu"), spec=Preprocessing())
    res = train_one_epoch(model, opt, images, labels, np.arange(8), epoch=1, seed=0, batch_size=8,
                          objective=Objective("eac", 1.0, views=views, att_form="relative"), aug=AugmentSpec(), ctx=ctx)
    assert np.isfinite(res.att_loss) and 0 < res.att_loss < 4 and res.cam_energy > 0
    # view 1 alone through the network in train mode: the CE `separate` must reproduce
    model.train()
    from eac_core.data import epoch_generator, make_views
    v1, _, _ = make_views(torch.from_numpy(images), ctx.spec, AugmentSpec(), epoch_generator(0, 1, stream=1001),
                          ctx.device, True, False)
    with torch.no_grad():
        ce_alone = torch.nn.functional.cross_entropy(model(v1)[0], torch.from_numpy(labels)).item()
    if views == "separate":
        assert res.ce_loss == pytest.approx(ce_alone, rel=1e-4)
    else:
        assert res.ce_loss != pytest.approx(ce_alone, rel=1e-4)
    ce = train_one_epoch(model, opt, images, labels, np.arange(8), epoch=1, seed=0, batch_size=8,
                         objective=Objective("ce"), aug=AugmentSpec(), ctx=ctx)
    assert np.isnan(ce.cam_energy) and ce.att_loss == 0.0
