"""How pixels become network input. One spec per weight file, stored in every checkpoint."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np
import torch
from torch import Tensor

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Preprocessing:
    """Input convention of a model: channel order, scale and normalisation.

    ImageNet/torchvision weights: RGB, pixels/255, ImageNet mean/std.
    The face-pretrained Caffe ResNet-50 (resnet50_ft_weight.pkl): BGR, 0..255, mean-subtracted
    (mean = (91.4953, 103.8827, 131.0912) in BGR order, std 1)."""
    color: str = "RGB"                               # "RGB" or "BGR"
    scale: float = 1.0 / 255.0
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    source: str = "imagenet"                         # free text: where this convention comes from

    def to_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> "Preprocessing":
        return cls(color=d["color"], scale=float(d["scale"]), mean=tuple(d["mean"]), std=tuple(d["std"]),
                   source=d.get("source", ""))


VGGFACE2_CAFFE = Preprocessing(color="BGR", scale=1.0, mean=(91.4953, 103.8827, 131.0912),
                               std=(1.0, 1.0, 1.0), source="VGGFace2 Caffe ResNet-50 (BGR, mean-subtracted)")


def resize_uint8(image: np.ndarray, size: int) -> np.ndarray:
    """HxWx3 uint8 RGB -> size x size x 3 uint8 (area interpolation when shrinking)."""
    if image.shape[0] == size and image.shape[1] == size:
        return image
    interp = cv2.INTER_AREA if image.shape[0] > size else cv2.INTER_LINEAR
    return cv2.resize(image, (size, size), interpolation=interp)


def to_tensor(images: np.ndarray | Tensor, spec: Preprocessing) -> Tensor:
    """(N, H, W, 3) uint8 RGB (numpy or tensor) -> (N, 3, H, W) float32 normalised per `spec`."""
    x = torch.as_tensor(images)
    if x.ndim == 3:
        x = x.unsqueeze(0)
    x = x.permute(0, 3, 1, 2).float()
    if spec.color == "BGR":
        x = x.flip(1)
    x = x * spec.scale
    mean = torch.tensor(spec.mean, dtype=torch.float32, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(spec.std, dtype=torch.float32, device=x.device).view(1, 3, 1, 1)
    return (x - mean) / std
