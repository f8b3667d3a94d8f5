"""Backbones by name. Every model returns (logits, last feature map) so CAMs of all classes come
from one forward pass: features (N, C, h, w) -> global average pool -> linear head `fc`."""
from __future__ import annotations

from typing import Callable

import torchvision
from torch import Tensor, nn

from . import config


class CamNet(nn.Module):
    """Backbone + explicit global average pooling + linear classifier."""

    def __init__(self, features: nn.Module, num_features: int, num_classes: int, dropout: float = 0.0):
        super().__init__()
        self.features = features
        self.num_features = num_features
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc = nn.Linear(num_features, num_classes)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        f = self.features(x)
        logits = self.fc(self.drop(f.mean(dim=(2, 3))))
        return logits, f


def _conv_bn(cin: int, cout: int, stride: int = 1, kernel: int = 3) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


class _Residual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
        self.skip = (nn.Identity() if stride == 1 and cin == cout else
                     nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)))
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.body(x) + self.skip(x))


DEFAULT_WIDTHS = {"compact": (16, 32, 64, 128), "cnn": (32, 64, 128, 256, 256)}


def scaled_widths(arch: str, mult: float) -> tuple[int, ...] | None:
    """The stage widths of `arch` times `mult`, rounded to multiples of 8 (None: the defaults, or an
    architecture without width settings)."""
    if mult == 1 or arch not in DEFAULT_WIDTHS:
        return None
    if not mult > 0:
        raise ValueError(f"width multiplier must be > 0, got {mult}")
    return tuple(max(8, int(round(w * mult / 8)) * 8) for w in DEFAULT_WIDTHS[arch])


def compact_features(widths: tuple[int, int, int, int] = DEFAULT_WIDTHS["compact"]) -> tuple[nn.Module, int]:
    """A small residual network with total stride 8 (64 px in -> 8x8 CAM grid). The full-resolution
    stage is a single thin strided conv because that is what costs time on a CPU."""
    w0, w1, w2, w3 = widths
    net = nn.Sequential(
        _conv_bn(3, w0, stride=2),            # 1/2
        _Residual(w0, w1, stride=2),          # 1/4
        _Residual(w1, w2, stride=2),          # 1/8
        _Residual(w2, w3, stride=1),
    )
    return net, w3


def cnn_features(widths: tuple[int, ...] = DEFAULT_WIDTHS["cnn"]) -> tuple[nn.Module, int]:
    """A plain five-convolution network for small faces (3x3 conv, BatchNorm, ReLU; the first conv
    strided, max-pools after the second and third): total stride 8, so 48 px in -> a 6x6 CAM grid.
    Measured on FER2013 real noise it learns faces far better than `compact` on CPU (bench/README.md)."""
    w = tuple(widths)
    layers: list[nn.Module] = [_conv_bn(3, w[0], stride=2), _conv_bn(w[0], w[1]), nn.MaxPool2d(2),
                               _conv_bn(w[1], w[2]), nn.MaxPool2d(2)]
    layers += [_conv_bn(a, b) for a, b in zip(w[2:-1], w[3:])]
    return nn.Sequential(*layers), w[-1]


def _resnet_features(name: str) -> tuple[nn.Module, int]:
    net = getattr(torchvision.models, name)(weights=None)
    feats = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool,
                          net.layer1, net.layer2, net.layer3, net.layer4)
    return feats, net.fc.in_features


_FACTORY: dict[str, Callable[[], tuple[nn.Module, int]]] = {
    "compact": compact_features,
    "cnn": cnn_features,
    "resnet18": lambda: _resnet_features("resnet18"),
    "resnet34": lambda: _resnet_features("resnet34"),
    "resnet50": lambda: _resnet_features("resnet50"),
}
ARCHS = config.ARCHS              # spelled in config (no torch there); the factory must match it
if tuple(_FACTORY) != ARCHS:
    raise ImportError(f"eac_core.models builds {tuple(_FACTORY)} but eac_core.config.ARCHS is {ARCHS}")


WIDTH_KEYS = {   # the conv weights whose output channels are the stage widths (read back from checkpoints)
    "compact": ("features.0.0.weight", "features.1.body.0.weight", "features.2.body.0.weight",
                "features.3.body.0.weight"),
    "cnn": ("features.0.0.weight", "features.1.0.weight", "features.3.0.weight", "features.5.0.weight",
            "features.6.0.weight"),
}


def build_model(arch: str, num_classes: int, *, widths: tuple[int, ...] | None = None,
                dropout: float = 0.0, neck: int = 0) -> CamNet:
    """A CamNet by architecture name (one of ARCHS), randomly initialised; `widths` for compact / cnn;
    `dropout` before the linear head (the CAM uses the same head, so CAMs are unaffected); `neck` > 0
    appends a 1x1 conv-BN-ReLU of that many channels to the feature stack (a per-position MLP layer: the
    CAM stays linear in the last feature map, now the neck's output)."""
    if arch not in _FACTORY:
        raise ValueError(f"unknown architecture '{arch}' (one of: {', '.join(ARCHS)})")
    features, c = _FACTORY[arch](widths) if (arch in WIDTH_KEYS and widths) else _FACTORY[arch]()
    if neck:
        features.append(_conv_bn(c, int(neck), kernel=1))     # appended: the backbone's keys are unchanged
        c = int(neck)
    return CamNet(features, c, num_classes, dropout=dropout)


def model_for_state_dict(arch: str, num_classes: int, state_dict: dict) -> CamNet:
    """The CamNet that `state_dict` was saved from: the compact / cnn stage widths and the neck's channels
    are read from the weight shapes, so checkpoints keep loading when the defaults change."""
    widths = None
    keys = WIDTH_KEYS.get(arch, ())
    if keys and all(k in state_dict for k in keys):
        widths = tuple(int(state_dict[k].shape[0]) for k in keys)
    model = build_model(arch, num_classes, widths=widths)
    neck_key = f"features.{len(model.features)}.0.weight"          # the layer build_model appends
    if neck_key in state_dict:
        model = build_model(arch, num_classes, widths=widths, neck=int(state_dict[neck_key].shape[0]))
    return model
