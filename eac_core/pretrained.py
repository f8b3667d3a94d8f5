"""Loading pretrained weights into a CamNet, safely.

Two kinds of file are accepted:

(a) Files written by ``torch.save``: a torchvision-format state dict (``conv1.weight``,
    ``layer1.0.conv1.weight``, ``fc.weight`` ...), a CamNet state dict (``features.0.weight`` ...),
    or a full checkpoint wrapping one of those under ``"state_dict"`` or ``"model"`` (our own
    ``checkpoint.pt`` included). ``DataParallel``/DDP ``module.`` prefixes are stripped. These are
    always read with ``torch.load(..., weights_only=True)``.

(b) The face-pretrained ResNet-50 of VGGFace2 / MS-Celeb-1M distributed as
    ``resnet50_ft_weight.pkl``: a Python pickle (protocol 2, written by Python 2 / numpy 1) of a dict
    parameter name -> numpy array. Its names are either torchvision-style or the Caffe layer names
    of the original model (``conv1_7x7_s2``, ``conv2_1_1x1_reduce_bn``, ``conv2_1_1x1_proj``,
    ``classifier`` ...); both are understood. A pickle can run arbitrary code while it is read, so it
    is read with a restricted unpickler that only resolves numpy's array-reconstruction globals
    and rejects everything else (``UnsafePickleError``) *before* anything is called.

The source classifier (8,631 identities for the face model, 1,000 ImageNet classes, ...) is dropped
whenever its shape differs from our head: the head keeps its own class count. Every other missing,
unexpected or mis-shaped tensor is an error that names the tensors (``PretrainedError``).

Caffe layout: the face ResNet-50 comes from Caffe, where a bottleneck block that downsamples puts
its stride on the first 1x1 convolution (torchvision puts it on the 3x3) and the stem max-pool uses
no padding and ceil rounding. The weights have the same shapes either way, but the features are
only the pretrained ones with the Caffe layout, so loading such a file switches the model to it
(``apply_layout(model, "caffe")``); ``layout_of(model)`` tells which layout a model has, so a
checkpoint can record it and a later loader can rebuild the same network.
"""
from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch
from torch import Tensor, nn

from data_tools.rundir import RunDir
from data_tools.safepickle import RestrictedUnpickler, UnsafePickleError, read_numpy_pickle

from .preprocess import VGGFACE2_CAFFE, Preprocessing
from .checkpoint import CheckpointError, load_torch_file

__all__ = ["PretrainedError", "UnsafePickleError", "load_pretrained", "read_state_dict", "resolve_source",
           "source_config", "IMAGENET_FILES",
           "read_numpy_pickle", "checkpoint_layout", "caffe_to_torchvision", "torchvision_to_camnet", "apply_layout",
           "layout_of", "LAYOUTS"]

LAYOUTS = ("torchvision", "caffe")


class PretrainedError(ValueError):
    """The weights do not fit the model (names and shapes in the message) or cannot be read."""


# ----------------------------------------------------------------------------- restricted unpickler
# One restricted unpickler for every pickle the project reads (data_tools.safepickle); its names stay
# importable from here.
_RestrictedUnpickler = RestrictedUnpickler


# ----------------------------------------------------------------------------- reading files
_TORCH_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


def _looks_like_torch_legacy(path: Path) -> bool:
    """Legacy (pre-zip) torch.save files begin with a pickled magic number."""
    with open(path, "rb") as f:
        head = f.read(64)
    try:
        return _RestrictedUnpickler(io.BytesIO(head), encoding="latin1").load() == _TORCH_LEGACY_MAGIC
    except Exception:
        return False


def read_state_dict(path: str | Path) -> tuple[dict[str, Tensor | np.ndarray], str, dict]:
    """Read a weight file -> (flat name -> tensor/array, kind, meta).

    kind is "torch" for torch.save files (weights_only=True) and "pickle" for numpy pickles; meta
    holds the other top-level entries of a wrapping checkpoint ("preprocessing", "arch", "layout",
    ...), empty for a bare state dict."""
    path = Path(path)
    if not path.is_file():
        raise PretrainedError(f"pretrained weights not found: {path}")
    meta: dict = {}
    if zipfile.is_zipfile(path) or _looks_like_torch_legacy(path):
        try:
            obj = load_torch_file(path, what="weights file")
        except CheckpointError as e:  # weights_only refuses code, and corrupt archives land here too
            raise PretrainedError(f"{e} (read as torch weights with weights_only=True)") from None
        kind = "torch"
    else:
        try:
            obj = read_numpy_pickle(path)
        except UnsafePickleError:
            raise
        except Exception as e:
            raise PretrainedError(f"cannot read {path} as a pickle of numpy arrays: "
                                  f"{type(e).__name__}: {e}") from e
        kind = "pickle"
    if isinstance(obj, Mapping):
        for wrapper in ("state_dict", "model", "model_state_dict", "net"):
            inner = obj.get(wrapper)
            if isinstance(inner, Mapping):
                meta = {k: v for k, v in obj.items() if k != wrapper}
                obj = inner
                break
    if not isinstance(obj, Mapping):
        raise PretrainedError(f"{path} does not hold a dict of parameters (found {type(obj).__name__})")
    flat: dict[str, Tensor | np.ndarray] = {}
    bad = []
    for k, v in obj.items():
        if not isinstance(k, str):
            bad.append(repr(k))
            continue
        while k.startswith("module."):
            k = k[len("module."):]
        if isinstance(v, (Tensor, np.ndarray)):
            flat[k] = v
        elif isinstance(v, (int, float, np.number)) and k.endswith("num_batches_tracked"):
            flat[k] = torch.tensor(int(v))
        else:
            bad.append(k)
    if bad:
        raise PretrainedError(f"{path}: entries that are not arrays: {_names(bad)}")
    if not flat:
        raise PretrainedError(f"{path} holds no parameters")
    return flat, kind, meta


def checkpoint_layout(meta: Mapping[str, Any], arch: str | None = None) -> str:
    """The layout a checkpoint's model was built with: its "layout" entry (top level or in "config")
    if any, else "caffe" for a ResNet-50 whose preprocessing is the face model's (what
    load_pretrained does to a ResNet-50 given the face pickle), else "torchvision"."""
    layout = meta.get("layout") or (meta.get("config") or {}).get("layout")
    if layout:
        if layout not in LAYOUTS:
            raise PretrainedError(f"unknown layout '{layout}' (one of: {', '.join(LAYOUTS)})")
        return str(layout)
    prep = meta.get("preprocessing")
    arch = arch or meta.get("arch")
    if arch == "resnet50" and isinstance(prep, Mapping) and prep.get("source") == VGGFACE2_CAFFE.source:
        return "caffe"
    return "torchvision"


# ----------------------------------------------------------------------------- name mapping
_CAFFE_PARAM = {"weight": "weight", "bias": "bias", "running_mean": "running_mean",
                "running_var": "running_var", "num_batches_tracked": "num_batches_tracked",
                "mean": "running_mean", "var": "running_var", "variance": "running_var",
                "gamma": "weight", "scale": "weight", "beta": "bias"}
_CAFFE_BLOCK = re.compile(r"^conv(?P<stage>[2-5])_(?P<block>\d+)_(?P<op>1x1_reduce|3x3|1x1_increase|1x1_proj)"
                          r"(?P<bn>_bn)?$")
_CAFFE_OP = {"1x1_reduce": ("conv1", "bn1"), "3x3": ("conv2", "bn2"), "1x1_increase": ("conv3", "bn3"),
             "1x1_proj": ("downsample.0", "downsample.1")}


def _caffe_layer(layer: str) -> str | None:
    layer = layer.replace("/", "_")
    if layer == "conv1_7x7_s2":
        return "conv1"
    if layer == "conv1_7x7_s2_bn":
        return "bn1"
    if layer in ("classifier", "fc", "fc1000", "fc8"):
        return "fc"
    m = _CAFFE_BLOCK.match(layer)
    if not m:
        return None
    conv, bn = _CAFFE_OP[m["op"]]
    return f"layer{int(m['stage']) - 1}.{int(m['block']) - 1}.{bn if m['bn'] else conv}"


def is_caffe_named(keys) -> bool:
    return any(k.replace("/", "_").startswith(("conv1_7x7_s2", "conv2_1_")) for k in keys)


def caffe_to_torchvision(sd: Mapping[str, Any]) -> dict[str, Any]:
    """Caffe ResNet-50 names -> torchvision resnet50 names.

    conv1_7x7_s2 -> conv1, conv1_7x7_s2_bn -> bn1; conv{s}_{b}_1x1_reduce / _3x3 / _1x1_increase
    (+ ``_bn``) -> layer{s-1}.{b-1}.conv1 / conv2 / conv3 (bn1 / bn2 / bn3); conv{s}_{b}_1x1_proj(_bn)
    -> layer{s-1}.{b-1}.downsample.0 (.1); classifier -> fc. A name that matches none of these is
    an error (listed)."""
    out: dict[str, Any] = {}
    unknown = []
    for key, v in sd.items():
        layer, _, param = key.replace("/", "_").rpartition(".") if "." in key else (key, "", "")
        tv_layer = _caffe_layer(layer)
        tv_param = _CAFFE_PARAM.get(param)
        if tv_layer is None or tv_param is None:
            unknown.append(key)
            continue
        out[f"{tv_layer}.{tv_param}"] = v
    if unknown:
        raise PretrainedError(f"unrecognised Caffe ResNet-50 parameter names: {_names(unknown)}")
    return out


_TV_STEM = {"conv1": "features.0", "bn1": "features.1"}


def torchvision_to_camnet(sd: Mapping[str, Any]) -> dict[str, Any]:
    """torchvision ResNet names -> CamNet names: conv1 -> features.0, bn1 -> features.1,
    layer{i} -> features.{3+i}; fc stays fc. Names already in CamNet form pass through."""
    out: dict[str, Any] = {}
    for key, v in sd.items():
        head, _, rest = key.partition(".")
        if head in _TV_STEM:
            key = f"{_TV_STEM[head]}.{rest}"
        elif re.fullmatch(r"layer[1-4]", head):
            key = f"features.{3 + int(head[5:])}.{rest}"
        out[key] = v
    return out


# ----------------------------------------------------------------------------- layout
def _resnet_parts(model: nn.Module):
    feats = getattr(model, "features", None)
    if not isinstance(feats, nn.Sequential) or len(feats) != 8 or not isinstance(feats[3], nn.MaxPool2d):
        return None
    return feats


def _is_bottleneck(model: nn.Module) -> bool:
    feats = _resnet_parts(model)
    return feats is not None and hasattr(feats[4][0], "conv3")


def layout_of(model: nn.Module) -> str:
    """"caffe" if the ResNet's downsampling blocks stride in their first 1x1 conv, else "torchvision"."""
    feats = _resnet_parts(model)
    if feats is None:
        return "torchvision"
    block = feats[5][0]
    if hasattr(block, "conv3") and tuple(block.conv1.stride) == (2, 2):
        return "caffe"
    return "torchvision"


def apply_layout(model: nn.Module, layout: str) -> nn.Module:
    """Switch a ResNet CamNet between torchvision's layout and the Caffe one (in place; weights kept).
    Only bottleneck ResNets (resnet50) have a Caffe variant; other models accept "torchvision" only."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout '{layout}' (one of: {', '.join(LAYOUTS)})")
    feats = _resnet_parts(model)
    if not _is_bottleneck(model):
        if layout == "caffe":
            raise ValueError("the Caffe layout exists only for bottleneck ResNets (resnet50)")
        return model
    caffe = layout == "caffe"
    pool: nn.MaxPool2d = feats[3]
    pool.padding, pool.ceil_mode = (0, True) if caffe else (1, False)
    for stage in (feats[5], feats[6], feats[7]):
        block = stage[0]
        block.conv1.stride = (2, 2) if caffe else (1, 1)
        block.conv2.stride = (1, 1) if caffe else (2, 2)
    return model


# ----------------------------------------------------------------------------- where the weights are
# torchvision's ImageNet weights per backbone (the file names of their download addresses, which the hub cache
# keeps): the tool never downloads; `imagenet` finds them in the cache or says where to put them.
IMAGENET_FILES = {"resnet18": "resnet18-f37072fd.pth", "resnet34": "resnet34-b627a593.pth",
                  "resnet50": "resnet50-11ad3fa6.pth"}
IMAGENET_URL = "https://download.pytorch.org/models/"


def hub_checkpoint_dir() -> Path:
    """torch's hub cache folder of downloaded weights (torch.hub.get_dir()/checkpoints: $TORCH_HOME/hub, else
    $XDG_CACHE_HOME/torch/hub, else ~/.cache/torch/hub)."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def resolve_source(source: str | Path, arch: str) -> Path:
    """The weights file that `--pretrained source` names: a file as is; a run folder -> its checkpoint.pt;
    `imagenet` -> torchvision's ImageNet weights of `arch` in the hub cache. PretrainedError (one line)
    when there is none, saying which file to put where for `imagenet`."""
    text = str(source)
    if text.lower() == "imagenet":
        name = IMAGENET_FILES.get(arch)
        if name is None:
            raise PretrainedError(f"--pretrained imagenet: torchvision has ImageNet weights for "
                                  f"{', '.join(IMAGENET_FILES)}, not for --arch {arch}")
        path = hub_checkpoint_dir() / name
        if not path.is_file():
            raise PretrainedError(f"--pretrained imagenet: {path} not found; nothing is downloaded: place "
                                  f"{name} (from {IMAGENET_URL}{name}) there, or pass the file's path")
        return path
    path = Path(source)
    if path.is_dir():
        ckpt = RunDir(path).checkpoint_path
        if not ckpt.is_file():
            raise PretrainedError(f"--pretrained {path}: a folder, but not a run with a checkpoint.pt")
        return ckpt
    if not path.is_file():
        raise PretrainedError(f"--pretrained {path}: no such file or run folder")
    return path


def source_config(path: str | Path) -> dict:
    """The training config stored in a weights file written by this tool (checkpoint.pt: arch, width, neck,
    image_size, classes ...), {} for any other file (torchvision state dicts, the face pickle)."""
    path = Path(path)
    if not zipfile.is_zipfile(path):
        return {}
    try:
        obj = load_torch_file(path, what="weights file")
    except CheckpointError as e:
        raise PretrainedError(str(e)) from None
    if not isinstance(obj, Mapping) or not isinstance(obj.get("config"), Mapping):
        return {}
    cfg = dict(obj["config"])
    if isinstance(obj.get("classes"), list):
        cfg["classes"] = list(obj["classes"])
    return cfg


# ----------------------------------------------------------------------------- loading
def _names(names, limit: int = 12) -> str:
    names = list(names)
    shown = ", ".join(names[:limit])
    return shown + (f" ... (+{len(names) - limit} more)" if len(names) > limit else "")


def load_pretrained(model: nn.Module, path: str | Path, *, caffe_layout: bool | None = None,
                    classes: list[str] | None = None) -> Preprocessing:
    """Copy the weights in `path` into `model` (a CamNet) and return the input Preprocessing they expect.

    The source classifier is kept only when its shape equals our head's; otherwise (the 8,631-way
    face-identity layer, ImageNet's 1,000 classes) the head keeps its fresh initialisation. Missing,
    unexpected or mis-shaped tensors raise PretrainedError naming them (BatchNorm's
    num_batches_tracked may be absent). Numpy pickles are the face-pretrained Caffe ResNet-50: they
    switch a resnet50 to the Caffe layout (``caffe_layout=False`` keeps torchvision's) and return
    VGGFACE2_CAFFE. Torch files return the preprocessing stored in the checkpoint, else ImageNet's.
    `classes` (the dataset's, in order) and a checkpoint that names its own: the same classes in another
    order have the head's rows reordered to match; other classes leave the head freshly initialised
    (a head trained for other classes is not a start for these, even when the count is the same)."""
    sd, kind, meta = read_state_dict(path)
    if kind == "pickle" and is_caffe_named(sd):
        sd = caffe_to_torchvision(sd)
    sd = torchvision_to_camnet(sd)
    src = meta.get("classes")
    if classes is not None and isinstance(src, list) and list(src) != list(classes):
        if sorted(map(str, src)) == sorted(classes) and len(set(classes)) == len(classes):
            order = [list(src).index(c) for c in classes]
            for k in ("fc.weight", "fc.bias"):
                if k in sd:
                    sd[k] = sd[k][order]
        else:
            for k in [k for k in sd if k.startswith("fc.")]:
                sd.pop(k)

    target = model.state_dict()
    dropped_head = False
    fc_src = {k: v for k, v in sd.items() if k.startswith("fc.")}
    if fc_src and any(k not in target or tuple(v.shape) != tuple(target[k].shape) for k, v in fc_src.items()):
        for k in fc_src:
            sd.pop(k)
        dropped_head = True

    unexpected = [k for k in sd if k not in target]
    missing = [k for k in target if k not in sd and not k.endswith("num_batches_tracked")
               and not (k.startswith("fc.") and (dropped_head or not fc_src))]
    mismatched = [f"{k} {tuple(sd[k].shape)} vs model {tuple(target[k].shape)}"
                  for k in sd if k in target and tuple(sd[k].shape) != tuple(target[k].shape)]
    if missing or unexpected or mismatched:
        parts = []
        if mismatched:
            parts.append(f"shape mismatch: {_names(mismatched)}")
        if missing:
            parts.append(f"missing: {_names(missing)}")
        if unexpected:
            parts.append(f"unexpected: {_names(unexpected)}")
        raise PretrainedError(f"{Path(path).name} does not fit the model; " + "; ".join(parts))

    with torch.no_grad():
        for k, v in sd.items():
            t = torch.as_tensor(np.ascontiguousarray(v)) if isinstance(v, np.ndarray) else v
            target[k].copy_(t.to(dtype=target[k].dtype))
    # state_dict() tensors share storage with the parameters and buffers: copy_ above wrote them.

    if kind == "pickle":          # the face ResNet-50 (Caffe)
        layout = "torchvision" if caffe_layout is False else "caffe"
        prep = VGGFACE2_CAFFE
    else:                         # a checkpoint fine-tuned from the face weights keeps their layout
        layout = checkpoint_layout(meta) if caffe_layout is None else ("caffe" if caffe_layout else "torchvision")
        p = meta.get("preprocessing")
        prep = Preprocessing.from_dict(p) if isinstance(p, Mapping) else Preprocessing()
    if _is_bottleneck(model):
        apply_layout(model, layout)
    elif caffe_layout:
        raise PretrainedError("the Caffe layout exists only for bottleneck ResNets (resnet50)")
    return prep
