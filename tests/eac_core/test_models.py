"""Backbone factory: feature-map (CAM grid) shapes per architecture and input size."""
from __future__ import annotations

import pytest
import torch

from eac_core.models import ARCHS, CamNet, build_model

# (arch, input px) -> CAM grid. compact and cnn: total stride 8; torchvision ResNets: stride 32.
GRID = {("compact", 48): 6, ("cnn", 48): 6, ("cnn", 64): 8, ("compact", 64): 8, ("resnet18", 64): 2, ("resnet34", 64): 2,
        ("resnet50", 64): 2, ("resnet18", 96): 3}
CHANNELS = {"cnn": 256, "resnet18": 512, "resnet34": 512, "resnet50": 2048}


def test_archs():
    assert set(ARCHS) == {"compact", "cnn", "resnet18", "resnet34", "resnet50"}
    with pytest.raises(ValueError, match="unknown architecture"):
        build_model("vgg", 7)


@pytest.mark.parametrize("arch,size", sorted(GRID))
def test_feature_grid(arch, size):
    torch.manual_seed(0)
    model = build_model(arch, 7).eval()
    assert isinstance(model, CamNet)
    with torch.no_grad():
        logits, feats = model(torch.randn(2, 3, size, size))
    g = GRID[(arch, size)]
    assert logits.shape == (2, 7)
    assert feats.shape == (2, model.num_features, g, g)
    assert model.fc.in_features == model.num_features
    if arch in CHANNELS:
        assert model.num_features == CHANNELS[arch]


def test_compact_has_stride_8_and_at_least_6x6_at_48px():
    model = build_model("compact", 3).eval()
    for size in (48, 56, 64, 96):
        with torch.no_grad():
            _, f = model(torch.zeros(1, 3, size, size))
        assert f.shape[-2:] == (size // 8, size // 8)
        assert f.shape[-1] >= 6


def test_resnet_state_dict_names():
    keys = build_model("resnet18", 7).state_dict().keys()
    for k in ("features.0.weight", "features.1.running_mean", "features.4.0.conv1.weight",
              "features.7.1.bn2.weight", "features.5.0.downsample.0.weight", "fc.weight", "fc.bias"):
        assert k in keys
    keys50 = build_model("resnet50", 7).state_dict().keys()
    assert "features.7.2.conv3.weight" in keys50 and "features.6.5.bn3.running_var" in keys50


def test_checkpoint_of_other_compact_widths_rebuilds():
    from eac_core.models import build_model, model_for_state_dict
    old = build_model("compact", 7, widths=(24, 48, 96, 192))
    rebuilt = model_for_state_dict("compact", 7, old.state_dict())
    rebuilt.load_state_dict(old.state_dict(), strict=True)
    assert rebuilt.num_features == 192
    assert [m.out_channels for m in rebuilt.modules() if isinstance(m, torch.nn.Conv2d)][:1] == [24]


def test_checkpoint_of_other_cnn_widths_rebuilds():
    from eac_core.models import model_for_state_dict
    old = build_model("cnn", 7, widths=(8, 16, 24, 40, 48), dropout=0.4)
    rebuilt = model_for_state_dict("cnn", 7, old.state_dict())
    rebuilt.load_state_dict(old.state_dict(), strict=True)
    assert rebuilt.num_features == 48
    assert [m.out_channels for m in rebuilt.modules() if isinstance(m, torch.nn.Conv2d)] == [8, 16, 24, 40, 48]


def test_width_multiplier_scales_the_stages_and_the_training_model():
    from eac_core.config import TrainConfig
    from eac_core.models import scaled_widths
    from eac_core.recipe import build_training
    assert scaled_widths("cnn", 1.5) == (48, 96, 192, 384, 384)
    assert scaled_widths("compact", 0.5) == (8, 16, 32, 64)
    assert scaled_widths("cnn", 1.0) is None and scaled_widths("resnet18", 2.0) is None
    cfg = TrainConfig(dataset="d", out="o", arch="cnn", width=1.5, optimizer="sgd", schedule="onecycle")
    tr = build_training(cfg, 7, steps_per_epoch=3, device=torch.device("cpu"))
    assert [m.out_channels for m in tr.model.modules() if isinstance(m, torch.nn.Conv2d)] == [48, 96, 192, 384, 384]
    assert tr.model.fc.in_features == 384


def test_neck_is_a_1x1_layer_the_cam_and_the_checkpoint_see():
    from eac_core.config import TrainConfig
    from eac_core.models import model_for_state_dict
    from eac_core.recipe import build_training
    cfg = TrainConfig(dataset="d", out="o", arch="cnn", neck=64, optimizer="sgd", schedule="onecycle")
    m = build_training(cfg, 7, steps_per_epoch=3, device=torch.device("cpu")).model
    convs = [(c.out_channels, c.kernel_size) for c in m.modules() if isinstance(c, torch.nn.Conv2d)]
    assert convs == [(32, (3, 3)), (64, (3, 3)), (128, (3, 3)), (256, (3, 3)), (256, (3, 3)), (64, (1, 1))]
    assert m.fc.in_features == 64 and m.num_features == 64
    m.eval()
    x = torch.randn(2, 3, 48, 48)
    with torch.no_grad():
        logits, feats = m(x)
        assert feats.shape == (2, 64, 6, 6)
        # the CAM stays linear in the last map: the logits are the head applied to its mean
        torch.testing.assert_close(logits, m.fc(feats.mean(dim=(2, 3))))
        rebuilt = model_for_state_dict("cnn", 7, m.state_dict())
        rebuilt.load_state_dict(m.state_dict(), strict=True)
        rebuilt.eval()
        torch.testing.assert_close(rebuilt(x)[0], logits)
    # a checkpoint without a neck still rebuilds without one
    assert model_for_state_dict("cnn", 7, build_model("cnn", 7).state_dict()).num_features == 256


def test_dropout_acts_in_training_only():
    torch.manual_seed(0)
    m = build_model("cnn", 3, dropout=0.5)
    x = torch.randn(4, 3, 48, 48)
    m.eval()
    with torch.no_grad():
        a, fa = m(x)
        b, _ = m(x)
    torch.testing.assert_close(a, b)
    m.train()
    with torch.no_grad():
        c, fc = m(x)
    assert not torch.allclose(m.fc(fc.mean((2, 3))), c)      # the head saw dropped features
