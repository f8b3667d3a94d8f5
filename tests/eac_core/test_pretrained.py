"""Pretrained weights: the face ResNet-50 pickle (numpy 1 and numpy 2 flavours, Caffe and torchvision
names), torchvision state dicts, safety of the pickle reader, and errors that name tensors."""
from __future__ import annotations

import os
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision

from eac_core.models import build_model
from eac_core.preprocess import VGGFACE2_CAFFE, Preprocessing
from eac_core.pretrained import (PretrainedError, UnsafePickleError, caffe_to_torchvision, layout_of,
                                 load_pretrained, read_numpy_pickle)

try:
    from numpy._core.multiarray import _reconstruct as _np_reconstruct
except ImportError:  # numpy 1
    from numpy.core.multiarray import _reconstruct as _np_reconstruct


# ----------------------------------------------------------------------------- a faithful test file
_OPS = {"conv1": "1x1_reduce", "conv2": "3x3", "conv3": "1x1_increase"}
_BNS = {"bn1": "1x1_reduce_bn", "bn2": "3x3_bn", "bn3": "1x1_increase_bn"}


def _tv_to_caffe(name: str) -> str:
    """torchvision resnet50 name -> the Caffe layer name of the VGGFace2 model (written out
    independently of the loader's mapping, which goes the other way)."""
    layer, param = name.rsplit(".", 1)
    if layer == "conv1":
        return f"conv1_7x7_s2.{param}"
    if layer == "bn1":
        return f"conv1_7x7_s2_bn.{param}"
    if layer == "fc":
        return f"classifier.{param}"
    stage, block, *op = layer.split(".")
    prefix = f"conv{int(stage[5:]) + 1}_{int(block) + 1}"
    op = ".".join(op)
    if op == "downsample.0":
        return f"{prefix}_1x1_proj.{param}"
    if op == "downsample.1":
        return f"{prefix}_1x1_proj_bn.{param}"
    return f"{prefix}_{_OPS.get(op) or _BNS[op]}.{param}"


def _resnet50_shapes() -> dict[str, tuple]:
    with torch.device("meta"):                                    # shapes only, no init cost
        sd = torchvision.models.resnet50(weights=None).state_dict()
    return {k: tuple(v.shape) for k, v in sd.items() if not k.endswith("num_batches_tracked")}


def _camnet_name(tv_name: str) -> str:
    head, _, rest = tv_name.partition(".")
    idx = {"conv1": 0, "bn1": 1, "layer1": 4, "layer2": 5, "layer3": 6, "layer4": 7}[head]
    return f"features.{idx}.{rest}"


def _face_arrays(caffe_names: bool) -> dict[str, np.ndarray]:
    """Every tensor of a ResNet-50 with its real shape, the 8,631-way classifier, random float32
    (BatchNorm variances positive), no num_batches_tracked (Caffe has none)."""
    rng = np.random.default_rng(0)
    shapes = _resnet50_shapes()
    shapes["fc.weight"], shapes["fc.bias"] = (8631, 2048), (8631,)
    out = {}
    for k, shape in shapes.items():
        a = rng.random(shape, dtype=np.float32) - np.float32(0.5)
        if k.endswith("running_var"):
            a = np.abs(a) + np.float32(0.5)
        out[_tv_to_caffe(k) if caffe_names else k] = a
    return out


class _Numpy1Py2Pickler(pickle._Pickler):
    """Writes what Python 2 + numpy 1 wrote at protocol 2: byte strings and ASCII text as py2 `str`
    (BINSTRING, decoded by encoding='latin1' on reading), arrays through
    numpy.core.multiarray._reconstruct."""

    dispatch = dict(pickle._Pickler.dispatch)

    def _save_py2_str(self, raw: bytes, obj) -> None:
        n = len(raw)
        if n < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([n]) + raw)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", n) + raw)
        self.memoize(obj)

    def save_bytes(self, obj: bytes) -> None:
        self._save_py2_str(obj, obj)

    def save_str(self, obj: str) -> None:
        if obj.isascii():
            self._save_py2_str(obj.encode("ascii"), obj)
        else:
            pickle._Pickler.save_str(self, obj)

    def save_global(self, obj, name=None) -> None:
        if obj is _np_reconstruct:
            self.write(pickle.GLOBAL + b"numpy.core.multiarray\n_reconstruct\n")
            self.memoize(obj)
            return
        pickle._Pickler.save_global(self, obj, name)

    dispatch[bytes] = save_bytes
    dispatch[str] = save_str


def _write_numpy1(path: Path, arrays: dict) -> None:
    with open(path, "wb") as f:
        _Numpy1Py2Pickler(f, protocol=2).dump(arrays)


@pytest.fixture(scope="module")
def face_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("face")
    arrays = _face_arrays(caffe_names=True)
    np1 = d / "resnet50_ft_weight.pkl"
    _write_numpy1(np1, arrays)
    np2 = d / "resnet50_ft_weight_np2.pkl"
    with open(np2, "wb") as f:
        pickle.dump(arrays, f, protocol=2)
    return arrays, np1, np2


def _spot_check(model, arrays, names):
    sd = model.state_dict()
    for ours, theirs in names.items():
        np.testing.assert_array_equal(sd[ours].numpy(), arrays[theirs], err_msg=ours)


_SPOTS = {
    "features.0.weight": "conv1_7x7_s2.weight",
    "features.1.running_mean": "conv1_7x7_s2_bn.running_mean",
    "features.1.running_var": "conv1_7x7_s2_bn.running_var",
    "features.4.0.downsample.0.weight": "conv2_1_1x1_proj.weight",
    "features.5.3.bn2.bias": "conv3_4_3x3_bn.bias",
    "features.6.5.conv1.weight": "conv4_6_1x1_reduce.weight",
    "features.7.0.downsample.1.running_mean": "conv5_1_1x1_proj_bn.running_mean",
    "features.7.2.conv3.weight": "conv5_3_1x1_increase.weight",
    "features.7.2.bn3.weight": "conv5_3_1x1_increase_bn.weight",
}


# ----------------------------------------------------------------------------- face pickle
def test_numpy1_file_is_faithful(face_files):
    _, np1, np2 = face_files
    data1, data2 = np1.read_bytes(), np2.read_bytes()
    assert data1[:2] == b"\x80\x02"                      # protocol 2
    assert b"numpy.core.multiarray\n_reconstruct" in data1
    assert b"numpy._core" not in data1
    assert b"_codecs" not in data1                       # py2 str, not py3 bytes
    assert b"conv2_1_1x1_reduce_bn" in data1 and b"classifier" in data1
    assert data2[:2] == b"\x80\x02" and b"numpy._core.multiarray\n_reconstruct" in data2


@pytest.mark.parametrize("which", ["numpy1", "numpy2"])
def test_face_pickle_loads_into_resnet50(face_files, which):
    arrays, np1, np2 = face_files
    model = build_model("resnet50", 7)
    fc_before = model.fc.weight.detach().clone()
    prep = load_pretrained(model, np1 if which == "numpy1" else np2)
    assert prep == VGGFACE2_CAFFE
    assert prep.color == "BGR" and prep.mean == (91.4953, 103.8827, 131.0912)
    _spot_check(model, arrays, _SPOTS)
    # every tensor arrived, not only the spot checks (53 convs + 53 BNs x 4 = 265, + classifier 2)
    sd = model.state_dict()
    tv_names = [k for k in _resnet50_shapes() if not k.startswith("fc.")]
    assert len(tv_names) == len(arrays) - 2 == 265
    for k in tv_names:
        assert np.array_equal(sd[_camnet_name(k)].numpy(), arrays[_tv_to_caffe(k)]), k
    # the 8,631-way classifier is dropped: our head keeps 7 classes and its own init
    assert model.fc.weight.shape == (7, 2048)
    assert torch.equal(model.fc.weight, fc_before)
    # Caffe layout: stride in the first 1x1 of a downsampling block, un-padded ceil max-pool
    assert layout_of(model) == "caffe"
    assert model.features[5][0].conv1.stride == (2, 2) and model.features[5][0].conv2.stride == (1, 1)
    assert model.features[3].ceil_mode and model.features[3].padding == 0
    logits, feats = model.eval()(torch.zeros(1, 3, 64, 64))
    assert logits.shape == (1, 7) and feats.shape == (1, 2048, 2, 2)


def test_face_pickle_with_torchvision_names(tmp_path, face_files):
    """Some copies of the file carry torchvision names (conv1.weight, layer1.0.conv1.weight, fc ...)."""
    caffe_arrays = face_files[0]
    arrays = {k: caffe_arrays[_tv_to_caffe(k)] for k in _resnet50_shapes()}
    p = tmp_path / "tv_names.pkl"
    _write_numpy1(p, arrays)
    model = build_model("resnet50", 7)
    assert load_pretrained(model, p) == VGGFACE2_CAFFE
    _spot_check(model, arrays, {"features.1.running_mean": "bn1.running_mean",
                                "features.7.2.conv3.weight": "layer4.2.conv3.weight"})


def test_caffe_name_mapping():
    m = caffe_to_torchvision({k: 0 for k in ["conv1_7x7_s2.weight", "conv1_7x7_s2_bn.running_var",
                                               "conv2_1_1x1_proj_bn.bias", "conv4_6_3x3.weight",
                                               "conv1/7x7_s2/bn.weight", "classifier.weight"]})
    assert set(m) == {"conv1.weight", "bn1.running_var", "layer1.0.downsample.1.bias",
                      "layer3.5.conv2.weight", "bn1.weight", "fc.weight"}
    with pytest.raises(PretrainedError, match="conv9_1_foo.weight"):
        caffe_to_torchvision({"conv9_1_foo.weight": 0})


# ----------------------------------------------------------------------------- safety
class _Evil:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_pickle_rejected_without_running(tmp_path):
    marker = tmp_path / "pwned"
    p = tmp_path / "resnet50_ft_weight.pkl"
    p.write_bytes(pickle.dumps({"conv1_7x7_s2.weight": np.zeros(3, np.float32), "x": _Evil(marker)},
                               protocol=2))
    assert b"system" in p.read_bytes()
    with pytest.raises(UnsafePickleError, match=r"(posix|nt|os)\.system"):
        load_pretrained(build_model("resnet50", 7), p)
    with pytest.raises(UnsafePickleError):
        read_numpy_pickle(p)
    assert not marker.exists()
    assert issubclass(UnsafePickleError, ValueError)


def test_other_globals_rejected(tmp_path):
    p = tmp_path / "eval.pkl"
    p.write_bytes(b"\x80\x02cbuiltins\neval\nX\x06\x00\x00\x00print(1)\x85R.")
    with pytest.raises(UnsafePickleError, match=r"builtins\.eval"):
        read_numpy_pickle(p)
    # _codecs.encode is allowed only for the latin-1 bytes of array data
    p.write_bytes(b"\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00aX\x04\x00\x00\x00zlib\x86R.")
    with pytest.raises(UnsafePickleError, match="latin1"):
        read_numpy_pickle(p)


def test_malicious_torch_file_rejected(tmp_path):
    marker = tmp_path / "pwned"
    p = tmp_path / "evil.pt"
    torch.save({"state_dict": {"x": _Evil(marker)}}, p)
    with pytest.raises(PretrainedError, match="weights_only"):
        load_pretrained(build_model("resnet18", 7), p)
    assert not marker.exists()


# ----------------------------------------------------------------------------- torch files
def test_torchvision_state_dict_round_trip(tmp_path):
    torch.manual_seed(0)
    tv = torchvision.models.resnet18(weights=None)   # 1000-way ImageNet head, torchvision names
    with torch.no_grad():
        tv.bn1.running_mean.normal_()
        tv.layer4[1].bn2.running_var.uniform_(0.5, 2)
    p = tmp_path / "resnet18.pth"
    torch.save(tv.state_dict(), p)
    model = build_model("resnet18", 7)
    prep = load_pretrained(model, p)
    assert prep == Preprocessing()                   # ImageNet convention
    sd = model.state_dict()
    assert torch.equal(sd["features.0.weight"], tv.conv1.weight)
    assert torch.equal(sd["features.1.running_mean"], tv.bn1.running_mean)
    assert torch.equal(sd["features.7.1.bn2.running_var"], tv.layer4[1].bn2.running_var)
    assert torch.equal(sd["features.6.0.downsample.0.weight"], tv.layer3[0].downsample[0].weight)
    assert model.fc.weight.shape == (7, 512)         # 1000-way head dropped
    assert layout_of(model) == "torchvision"
    tv.eval(), model.eval()
    x = torch.randn(2, 3, 64, 64)
    _, feats = model(x)
    ref = torch.nn.Sequential(*list(tv.children())[:-2])(x)
    torch.testing.assert_close(feats, ref)


@pytest.mark.parametrize("wrap", ["state_dict", "model", "module"])
def test_checkpoint_wrappers(tmp_path, wrap):
    src = build_model("compact", 7)
    with torch.no_grad():
        for p_ in src.parameters():
            p_.normal_()
    sd = src.state_dict()
    if wrap == "module":
        obj = {f"module.{k}": v for k, v in sd.items()}
    else:
        obj = {wrap: sd, "preprocessing": VGGFACE2_CAFFE.to_dict(), "epoch": 3, "classes": list("abcdefg")}
    p = tmp_path / "ckpt.pt"
    torch.save(obj, p)
    dst = build_model("compact", 7)
    prep = load_pretrained(dst, p)
    for k, v in dst.state_dict().items():
        assert torch.equal(v, sd[k]), k
    # same-shape head is kept; the checkpoint's recorded preprocessing comes back
    assert prep == (Preprocessing() if wrap == "module" else VGGFACE2_CAFFE)


def test_shape_mismatch_named(tmp_path):
    sd = build_model("resnet18", 7).state_dict()
    sd["features.4.1.conv2.weight"] = torch.zeros(64, 64, 1, 1)
    del sd["features.7.0.bn1.bias"]
    sd["features.9.extra"] = torch.zeros(1)
    p = tmp_path / "bad.pt"
    torch.save(sd, p)
    with pytest.raises(PretrainedError) as e:
        load_pretrained(build_model("resnet18", 7), p)
    msg = str(e.value)
    assert "\n" not in msg
    assert "features.4.1.conv2.weight (64, 64, 1, 1) vs model (64, 64, 3, 3)" in msg
    assert "missing: features.7.0.bn1.bias" in msg and "unexpected: features.9.extra" in msg


def test_wrong_architecture_and_missing_file(tmp_path):
    p = tmp_path / "resnet50_ft_weight.pkl"         # a ResNet-50 (bottleneck) tensor into a ResNet-18
    _write_numpy1(p, {"conv2_1_1x1_reduce.weight": np.zeros((64, 64, 1, 1), np.float32)})
    with pytest.raises(PretrainedError, match=r"shape mismatch: features\.4\.0\.conv1\.weight"):
        load_pretrained(build_model("resnet18", 7), p)
    with pytest.raises(PretrainedError, match="not found"):
        load_pretrained(build_model("resnet18", 7), tmp_path / "nope.pkl")
    p = tmp_path / "garbage.pt"
    p.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(PretrainedError):
        load_pretrained(build_model("compact", 7), p)


def test_checkpoint_fine_tuned_from_face_weights_keeps_layout(tmp_path):
    """Our own checkpoint of a ResNet-50 trained from the face pickle: loading it as --pretrained
    restores the Caffe layout and BGR preprocessing (from "layout" or, absent that, the preprocessing)."""
    from eac_core.pretrained import apply_layout, checkpoint_layout
    src = apply_layout(build_model("resnet50", 7), "caffe")
    p = tmp_path / "checkpoint.pt"
    torch.save({"model": src.state_dict(), "arch": "resnet50", "preprocessing": VGGFACE2_CAFFE.to_dict()}, p)
    dst = build_model("resnet50", 7)
    assert load_pretrained(dst, p) == VGGFACE2_CAFFE and layout_of(dst) == "caffe"
    assert checkpoint_layout({"arch": "resnet50", "layout": "torchvision",
                              "preprocessing": VGGFACE2_CAFFE.to_dict()}) == "torchvision"
    assert checkpoint_layout({"arch": "resnet50", "preprocessing": Preprocessing().to_dict()}) == "torchvision"
    with pytest.raises(PretrainedError, match="unknown layout"):
        checkpoint_layout({"layout": "mxnet"})
    with pytest.raises(PretrainedError, match="bottleneck"):
        load_pretrained(build_model("compact", 7), _compact_ckpt(tmp_path), caffe_layout=True)


def _compact_ckpt(tmp_path) -> Path:
    p = tmp_path / "compact.pt"
    torch.save(build_model("compact", 7).state_dict(), p)
    return p
