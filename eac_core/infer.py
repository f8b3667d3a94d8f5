"""Inference helper for the app: load a run's checkpoint and explain one image.

``Explainer.load(run_dir).explain(image, given="happy")`` runs the image and its mirror through the
network as ONE batch of two and returns the class probabilities, the CAMs of the given and the
predicted class for both views (only those two are computed, whatever the number of classes),
overlays ready to show, and the flip-consistency errors.

Conventions of an ``Explanation``:
- ``image`` is the input resized to display_size x display_size, ``flipped`` is ``image[:, ::-1]``.
- ``cams[("original", which)]`` is the class map of the image; ``cams[("flipped", which)]`` is the
  map computed FROM the flipped image, in the flipped image's frame (shown over ``flipped``);
  ``cams[("flipped_back", which)]`` is that map mirrored back into the original frame, so
  ``cams[("original", w)] - cams[("flipped_back", w)]`` is the asymmetry EAC penalises.
  ``which`` is "given" (only when a given label was passed) or "pred".
- Both views of one class share one colour scale, ``scales[which] = (vmin, vmax)``, so an
  asymmetry shows as a colour difference; ``overlay.legend_bar`` draws that scale.
- ``overlays`` has the same keys as ``cams``: RGB uint8 display_size^2 images, the original and
  flipped_back maps over ``image``, the flipped map over ``flipped``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from data_tools.rundir import RunDir

from . import overlay as ov
from .cam import compute_cams, flip_consistency, flip_consistency_of_features
from .checkpoint import check_fields, load_torch_file
from .models import CamNet, model_for_state_dict
from .preprocess import Preprocessing, resize_uint8, to_tensor
from .pretrained import apply_layout, checkpoint_layout

__all__ = ["Explainer", "Explanation", "read_image"]

VIEWS = ("original", "flipped", "flipped_back")


@dataclass
class Explanation:
    classes: list[str]
    probs: np.ndarray                      # (K,) float32, softmax of the original view, sums to 1
    probs_flipped: np.ndarray              # (K,) float32, of the mirrored view
    pred: str
    pred_index: int
    given: str | None
    given_index: int | None
    image: np.ndarray                      # (S, S, 3) uint8 RGB
    flipped: np.ndarray                    # (S, S, 3) uint8 RGB == image[:, ::-1]
    overlays: dict[tuple[str, str], np.ndarray] = field(repr=False)   # (view, which) -> (S, S, 3) uint8
    cams: dict[tuple[str, str], np.ndarray] = field(repr=False)       # (view, which) -> (h, w) float32
    scales: dict[str, tuple[float, float]] = field(default_factory=dict)  # which -> (vmin, vmax), one for all
    flip_consistency: float = float("nan")            # all classes: mean (M - flip(M_flipped))^2
    flip_consistency_given: float | None = None       # the given class only
    flip_consistency_pred: float = float("nan")       # the class of the "pred" CAMs only
    cam_pred: str | None = None                       # the class of the "pred" CAMs (pred unless asked otherwise)
    epoch: int | None = None                          # the checkpoint's epoch, when it says

    @property
    def flip_agree(self) -> bool:
        return int(np.argmax(self.probs_flipped)) == self.pred_index


def read_image(image: np.ndarray | str | Path) -> np.ndarray:
    """A path or an array -> HxWx3 uint8 RGB. Arrays: HxW grey, HxWx3 RGB or HxWx4 RGBA, uint8."""
    if isinstance(image, (str, Path)):
        from data_tools.images import load_image
        return load_image(image)
    a = np.asarray(image)
    if a.dtype != np.uint8:
        raise ValueError(f"image array must be uint8 (got {a.dtype})")
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    elif a.ndim == 3 and a.shape[2] == 4:
        a = a[:, :, :3]
    elif a.ndim == 3 and a.shape[2] == 1:
        a = np.repeat(a, 3, axis=2)
    if a.ndim != 3 or a.shape[2] != 3 or a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"image array must be HxW, HxWx3 or HxWx4 (got shape {a.shape})")
    return a


class Explainer:
    """A trained CamNet in eval mode plus what it needs to read an image (classes, size, preprocessing)."""

    def __init__(self, model: CamNet, classes: list[str], image_size: int,
                 preprocessing: Preprocessing | None = None, device: str | torch.device = "cpu"):
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.classes = [str(c) for c in classes]
        self.image_size = int(image_size)
        self.preprocessing = preprocessing or Preprocessing()
        self.epoch: int | None = None           # the checkpoint's epoch (set by load), None when unknown
        if self.model.fc.out_features != len(self.classes):
            raise ValueError(f"model has {self.model.fc.out_features} outputs but {len(self.classes)} classes")

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, run_dir: str | Path, device: str | torch.device = "cpu") -> "Explainer":
        """Read the run's checkpoint (RunDir.checkpoint_path; or a checkpoint file) with weights_only=True
        and rebuild the model in eval mode. ValueError with a one-line reason when missing or unusable."""
        p = Path(run_dir)
        path = p if p.is_file() else RunDir(p).checkpoint_path
        if not path.is_file():
            raise ValueError(f"no checkpoint found: {path} does not exist (has the run finished an epoch?)")
        ckpt = load_torch_file(path)               # CheckpointError (a ValueError): one line
        if not isinstance(ckpt, dict):
            raise ValueError(f"checkpoint {path} is not a dict (found {type(ckpt).__name__})")
        missing = [k for k in ("model", "arch", "classes", "image_size") if k not in ckpt]
        if missing:
            raise ValueError(f"checkpoint {path} lacks {', '.join(missing)}")
        check_fields(ckpt, path, need=())          # each field of its type: one line, never a TypeError
        classes = list(ckpt["classes"])
        num_classes = int(ckpt.get("num_classes", len(classes)))
        if num_classes != len(classes):
            raise ValueError(f"checkpoint {path}: num_classes {num_classes} but {len(classes)} class names")
        prep_d = ckpt.get("preprocessing")
        try:
            prep = Preprocessing.from_dict(prep_d) if isinstance(prep_d, dict) else Preprocessing()
            model = model_for_state_dict(str(ckpt["arch"]), num_classes, ckpt["model"])
            apply_layout(model, checkpoint_layout(ckpt, str(ckpt["arch"])))
            model.load_state_dict(ckpt["model"], strict=True)
        except (ValueError, KeyError, TypeError, RuntimeError) as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ValueError(f"checkpoint {path} does not rebuild its model: {first}") from None
        ex = cls(model, classes, int(ckpt["image_size"]), prep, device)
        ep = ckpt.get("epoch")
        ex.epoch = int(ep) if isinstance(ep, int) and not isinstance(ep, bool) else None
        return ex

    # ------------------------------------------------------------------ explaining
    def class_index(self, given: str | int) -> int:
        if isinstance(given, (bool, np.bool_)):
            raise ValueError(f"given label must be a class name or index, not {given!r}")
        if isinstance(given, (int, np.integer)):
            i = int(given)
            if not 0 <= i < len(self.classes):
                raise ValueError(f"class index {i} out of range 0..{len(self.classes) - 1}")
            return i
        name = str(given)
        if name in self.classes:
            return self.classes.index(name)
        lowered = [c.lower() for c in self.classes]
        if name.lower() in lowered:
            return lowered.index(name.lower())
        raise ValueError(f"unknown class '{name}' (one of: {', '.join(self.classes)})")

    def explain(self, image: np.ndarray | str | Path, given: str | int | None = None, *,
                display_size: int = 192, alpha: float = 0.45, cmap: str = ov.DEFAULT_COLORMAP,
                pred: str | int | None = None) -> Explanation:
        """Probabilities, CAMs and overlays of `image` (array or path) and its mirror; see the module doc.
        `pred`: the class of the "pred" CAMs when it is not this model's own prediction (the Review page
        draws the ranking's predicted class, so that every "predicted" on the page is one number);
        `Explanation.pred` stays this model's argmax, `cam_pred` names the class drawn."""
        if int(display_size) < 8:
            raise ValueError(f"display_size must be >= 8 (got {display_size})")
        rgb = read_image(image)
        gi = None if given is None else self.class_index(given)
        net_in = resize_uint8(rgb, self.image_size)
        if not net_in.flags.writeable:                          # decoded images may be read-only views
            net_in = net_in.copy()
        x = to_tensor(net_in[None], self.preprocessing)
        x = torch.cat([x, x.flip(-1)]).to(self.device)            # original + mirror: ONE forward pass
        with torch.inference_mode():
            logits, feats = self.model(x)
            feats, weight = feats.float(), self.model.fc.weight.float()
            probs_t = logits.float().softmax(1)
            argmax = int(probs_t[0].argmax())
            pi = argmax if pred is None else self.class_index(pred)
            picked = [i for i in dict.fromkeys((gi, pi)) if i is not None]   # the given and the predicted class
            cams_t = compute_cams(feats, weight[picked])                      # (2, len(picked), h, w), never all K
            fc_all = float(flip_consistency_of_features(feats[:1], feats[1:], weight)[0])
            fc_of = {i: float(flip_consistency(cams_t[:1, j:j + 1], cams_t[1:, j:j + 1])[0])
                     for j, i in enumerate(picked)}
            cams_np = cams_t.cpu().numpy()
            probs = probs_t.cpu().numpy()

        disp = resize_uint8(rgb, int(display_size))
        disp = np.ascontiguousarray(disp)
        flipped = np.ascontiguousarray(disp[:, ::-1])
        overlays: dict[tuple[str, str], np.ndarray] = {}
        cams: dict[tuple[str, str], np.ndarray] = {}
        scales: dict[str, tuple[float, float]] = {}
        shown = [(which, idx) for which, idx in (("given", gi), ("pred", pi)) if idx is not None]
        # ONE colour scale for every panel (both classes, both views): a given-class map whose values
        # are all negative must look cold beside a hot predicted-class map, not as hot (issue 11 §5)
        vmin, vmax = ov.shared_scale(*(cams_np[v, picked.index(idx)] for _, idx in shown for v in (0, 1)))
        for which, idx in shown:
            m_orig = np.ascontiguousarray(cams_np[0, picked.index(idx)])
            m_flip = np.ascontiguousarray(cams_np[1, picked.index(idx)])
            m_back = np.ascontiguousarray(m_flip[:, ::-1])
            scales[which] = (vmin, vmax)
            cams[("original", which)], cams[("flipped", which)], cams[("flipped_back", which)] = \
                m_orig, m_flip, m_back
            overlays[("original", which)] = ov.overlay(disp, m_orig, vmin, vmax, alpha=alpha, cmap=cmap)
            overlays[("flipped", which)] = ov.overlay(flipped, m_flip, vmin, vmax, alpha=alpha, cmap=cmap)
            overlays[("flipped_back", which)] = ov.overlay(disp, m_back, vmin, vmax, alpha=alpha, cmap=cmap)
        return Explanation(
            classes=list(self.classes), probs=probs[0], probs_flipped=probs[1],
            pred=self.classes[argmax], pred_index=argmax, cam_pred=self.classes[pi],
            given=None if gi is None else self.classes[gi], given_index=gi,
            image=disp, flipped=flipped, overlays=overlays, cams=cams, scales=scales,
            flip_consistency=fc_all, flip_consistency_given=None if gi is None else fc_of[gi],
            flip_consistency_pred=fc_of[pi], epoch=getattr(self, "epoch", None))
