"""The app's inference helper: load a run's checkpoint, explain one image (eac_core/infer.py)."""
from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from eac_core.infer import Explainer, Explanation, read_image
from eac_core.models import CamNet, build_model
from eac_core.preprocess import VGGFACE2_CAFFE, Preprocessing
from eac_core.pretrained import apply_layout, layout_of

CLASSES = ["neutral", "happy", "sad", "surprise", "fear", "disgust", "anger"]
KEYS = {(v, w) for v in ("original", "flipped", "flipped_back") for w in ("given", "pred")}


def _checkpoint(model: CamNet, arch: str, size: int, prep: Preprocessing = Preprocessing(), **extra) -> dict:
    """What the trainer writes to run_dir/checkpoint.pt."""
    return {"model": model.state_dict(), "arch": arch, "classes": list(CLASSES), "num_classes": len(CLASSES),
            "image_size": size, "preprocessing": prep.to_dict(), "epoch": 3, "config": {"seed": 0}, **extra}


def _randomise(model: nn.Module, seed: int = 0) -> nn.Module:
    """Default init plus non-trivial BatchNorm statistics and head bias (as after some training)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if name.endswith("running_mean"):
                t.copy_(torch.randn(t.shape, generator=g) * 0.1)
            elif name.endswith("running_var"):
                t.copy_(torch.rand(t.shape, generator=g) + 0.5)
        model.fc.bias.copy_(torch.randn(model.fc.bias.shape, generator=g))
    return model


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("run")
    torch.save(_checkpoint(_randomise(build_model("compact", 7)), "compact", 64), d / "checkpoint.pt")
    return d


@pytest.fixture(scope="module")
def explainer(run_dir) -> Explainer:
    return Explainer.load(run_dir)


def _face(seed: int = 0, h: int = 120, w: int = 100) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_load(explainer):
    assert explainer.classes == CLASSES and explainer.image_size == 64
    assert not explainer.model.training
    assert explainer.preprocessing == Preprocessing()


def test_explain_values(explainer):
    ex = explainer.explain(_face(), "sad", display_size=160)
    assert isinstance(ex, Explanation)
    assert ex.probs.shape == (7,) and ex.probs.dtype == np.float32
    assert abs(float(ex.probs.sum()) - 1.0) < 1e-5 and abs(float(ex.probs_flipped.sum()) - 1.0) < 1e-5
    assert ex.pred_index == int(np.argmax(ex.probs)) and ex.pred == CLASSES[ex.pred_index]
    assert ex.given == "sad" and ex.given_index == 2
    assert ex.image.shape == (160, 160, 3) and ex.image.dtype == np.uint8
    assert np.array_equal(ex.flipped, ex.image[:, ::-1])
    assert set(ex.overlays) == KEYS and set(ex.cams) == KEYS
    for k, o in ex.overlays.items():
        assert o.shape == (160, 160, 3) and o.dtype == np.uint8, k
    for w in ("given", "pred"):
        orig, flip, back = ex.cams[("original", w)], ex.cams[("flipped", w)], ex.cams[("flipped_back", w)]
        assert orig.shape == (8, 8) and orig.dtype == np.float32
        assert np.array_equal(back, flip[:, ::-1])
    # one colour scale for all four panels: the extremes over both classes and both views
    allm = [ex.cams[(v, w)] for v in ("original", "flipped") for w in ("given", "pred")]
    assert ex.scales["given"] == ex.scales["pred"] == (min(m.min() for m in allm), max(m.max() for m in allm))
    # flip-consistency of the given class is mean (M - flip(M_flipped))^2 of the maps returned
    ref = float(np.mean((ex.cams[("original", "given")] - ex.cams[("flipped_back", "given")]) ** 2))
    assert ex.flip_consistency_given == pytest.approx(ref, rel=1e-5)
    assert ex.flip_consistency > 0 and np.isfinite(ex.flip_consistency)
    # the CAMs are the model's: pooled CAM + bias == logits of the original view
    b = explainer.model.fc.bias.detach().numpy()
    logit_given = ex.cams[("original", "given")].mean() + b[2]
    logp = np.log(ex.probs)
    assert logp[2] - logp[ex.pred_index] == pytest.approx(
        logit_given - (ex.cams[("original", "pred")].mean() + b[ex.pred_index]), abs=1e-4)


def test_given_forms(explainer):
    img = _face(1)
    by_name, by_index, by_case = (explainer.explain(img, g) for g in ("fear", 4, "FEAR"))
    assert by_name.given == by_index.given == by_case.given == "fear"
    assert by_name.flip_consistency_given == by_index.flip_consistency_given
    none = explainer.explain(img)
    assert none.given is None and none.given_index is None and none.flip_consistency_given is None
    assert set(none.overlays) == {k for k in KEYS if k[1] == "pred"} and set(none.scales) == {"pred"}
    np.testing.assert_array_equal(none.probs, by_name.probs)
    with pytest.raises(ValueError, match="unknown class 'joy'"):
        explainer.explain(img, "joy")
    with pytest.raises(ValueError, match="out of range"):
        explainer.explain(img, 7)


def test_path_and_array_agree(explainer, tmp_path):
    img = _face(2, 90, 130)
    p = tmp_path / "face.png"
    assert cv2.imwrite(str(p), img[:, :, ::-1])                    # lossless
    a, b = explainer.explain(img, "happy"), explainer.explain(p, "happy")
    c = explainer.explain(str(p), "happy")
    np.testing.assert_array_equal(a.probs, b.probs)
    np.testing.assert_array_equal(a.probs, c.probs)
    for k in a.overlays:
        np.testing.assert_array_equal(a.overlays[k], b.overlays[k])
    assert a.flip_consistency == b.flip_consistency


def test_image_forms(explainer, tmp_path):
    grey = np.random.default_rng(3).integers(0, 256, (70, 70), dtype=np.uint8)
    ex = explainer.explain(grey)
    np.testing.assert_array_equal(ex.probs, explainer.explain(np.stack([grey] * 3, 2)).probs)
    rgba = np.dstack([_face(4, 64, 64), np.full((64, 64), 255, np.uint8)])
    np.testing.assert_array_equal(explainer.explain(rgba).probs, explainer.explain(rgba[:, :, :3]).probs)
    with pytest.raises(ValueError, match="uint8"):
        read_image(np.zeros((8, 8, 3), np.float32))
    with pytest.raises(ValueError):
        explainer.explain(tmp_path / "missing.png")


def test_symmetric_input_views_coincide(explainer):
    """A mirror-symmetric image: both views are the same input, so the flipped view's CAM equals the
    original's, and the flipped-back CAM is the mirror of the original CAM."""
    half = _face(5, 64, 32)
    img = np.concatenate([half, half[:, ::-1]], axis=1)
    assert np.array_equal(img, img[:, ::-1])
    ex = explainer.explain(img, "anger", display_size=64)
    np.testing.assert_allclose(ex.cams[("flipped", "given")], ex.cams[("original", "given")], atol=1e-5)
    np.testing.assert_allclose(ex.cams[("flipped_back", "given")], ex.cams[("original", "given")][:, ::-1],
                               atol=1e-5)
    np.testing.assert_allclose(ex.probs_flipped, ex.probs, atol=1e-6)
    assert ex.flip_agree
    # the flipped image is the image, and its map is the same map: the two panels are identical
    assert np.array_equal(ex.flipped, ex.image)
    diff = np.abs(ex.overlays[("original", "given")].astype(int) - ex.overlays[("flipped", "given")])
    assert diff.max() <= 4                               # at most one colour-map level apart


class _SymConv(nn.Conv2d):
    """A convolution whose kernels are left-right symmetric: it commutes with the mirror."""

    def forward(self, x):
        w = 0.5 * (self.weight + self.weight.flip(-1))
        return self._conv_forward(x, w, self.bias)


def test_equivariant_model_has_zero_flip_error():
    """Features that commute with the mirror (symmetric kernels, stride 1, 'same' padding, pooling
    windows that tile the width) make every CAM flip-consistent: error 0 for any image."""
    torch.manual_seed(0)
    feats = nn.Sequential(_SymConv(3, 8, 3, padding=1), nn.ReLU(), _SymConv(8, 16, 3, padding=1), nn.ReLU(),
                          nn.AvgPool2d(8))
    model = CamNet(feats, 16, len(CLASSES))
    ex = Explainer(model, CLASSES, 64).explain(_face(6), "happy")
    assert ex.cams[("original", "given")].shape == (8, 8)
    np.testing.assert_allclose(ex.cams[("flipped_back", "given")], ex.cams[("original", "given")], atol=1e-5)
    assert ex.flip_consistency < 1e-10 and ex.flip_consistency_given < 1e-10
    np.testing.assert_allclose(ex.probs_flipped, ex.probs, atol=1e-6)
    # the same image through the (non-equivariant) compact net is not flip-consistent
    assert Explainer(_randomise(build_model("compact", 7)), CLASSES, 64).explain(_face(6)).flip_consistency > 1e-6


@pytest.fixture
def one_thread():
    """Tiny batches gain nothing from intra-op threads, and on a busy machine they only wait."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def test_no_state_leaks(explainer, one_thread):
    img = _face(7)
    for _ in range(10):
        explainer.explain(img, "sad")

    def rss() -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    before = rss()
    first = explainer.explain(img, "sad")
    for _ in range(100):
        last = explainer.explain(img, "sad")
    assert rss() - before < 16 * 2**20
    np.testing.assert_array_equal(first.probs, last.probs)
    m = explainer.model
    assert not any(mod._forward_hooks or mod._forward_pre_hooks for mod in m.modules())
    assert torch.is_grad_enabled() and not m.training
    assert all(p.grad is None for p in m.parameters())


def test_load_errors(tmp_path):
    with pytest.raises(ValueError, match="no checkpoint"):
        Explainer.load(tmp_path)
    (tmp_path / "checkpoint.pt").write_bytes(b"\x00garbage" * 10)
    with pytest.raises(ValueError, match="not a checkpoint this tool can read"):
        Explainer.load(tmp_path)
    ck = _checkpoint(build_model("compact", 5), "compact", 64)
    torch.save(ck, tmp_path / "checkpoint.pt")                  # 5-way head, 7 class names
    with pytest.raises(ValueError, match="does not rebuild"):
        Explainer.load(tmp_path)
    del ck["arch"]
    torch.save(ck, tmp_path / "checkpoint.pt")
    with pytest.raises(ValueError, match="lacks arch"):
        Explainer.load(tmp_path)


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_load_refuses_code(tmp_path):
    marker = tmp_path / "pwned"
    ck = _checkpoint(build_model("compact", 7), "compact", 64, extra=_Evil(marker))
    torch.save(ck, tmp_path / "checkpoint.pt")
    with pytest.raises(ValueError, match="refused to load: it holds Python code"):
        Explainer.load(tmp_path)
    assert not marker.exists()


def test_caffe_layout_round_trip(tmp_path):
    """A ResNet-50 trained from the face pickle (Caffe layout, BGR preprocessing) comes back with the
    same layout and gives the same logits."""
    torch.manual_seed(0)
    src = apply_layout(build_model("resnet50", 7), "caffe").eval()
    torch.save(_checkpoint(src, "resnet50", 64, VGGFACE2_CAFFE), tmp_path / "checkpoint.pt")
    ex = Explainer.load(tmp_path)
    assert layout_of(ex.model) == "caffe" and ex.preprocessing == VGGFACE2_CAFFE
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(ex.model(x)[0], src(x)[0])
    # an explicit layout in the checkpoint wins
    torch.save(_checkpoint(src, "resnet50", 64, VGGFACE2_CAFFE, layout="torchvision"), tmp_path / "checkpoint.pt")
    assert layout_of(Explainer.load(tmp_path).model) == "torchvision"
