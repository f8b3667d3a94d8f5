"""Pure image helpers for showing class activation maps: scale, colour map, blend, legend bar.

Every function takes and returns numpy arrays (RGB uint8 images, float32 maps) and keeps no state."""
from __future__ import annotations

import cv2
import numpy as np

COLORMAPS = {"jet": cv2.COLORMAP_JET, "turbo": cv2.COLORMAP_TURBO, "inferno": cv2.COLORMAP_INFERNO,
             "viridis": cv2.COLORMAP_VIRIDIS}
DEFAULT_COLORMAP = "jet"


def shared_scale(*maps: np.ndarray) -> tuple[float, float]:
    """One (vmin, vmax) over several maps, so they can be compared on the same colours."""
    if not maps:
        raise ValueError("shared_scale needs at least one map")
    vmin = min(float(np.min(m)) for m in maps)
    vmax = max(float(np.max(m)) for m in maps)
    return vmin, vmax


def normalize(cam: np.ndarray, vmin: float, vmax: float) -> np.ndarray:
    """Map values to [0, 1] with a fixed scale (clipped); a flat scale gives 0.5 everywhere."""
    cam = np.asarray(cam, dtype=np.float32)
    span = float(vmax) - float(vmin)
    if not np.isfinite(span) or span <= 1e-12:
        return np.full(cam.shape, 0.5, np.float32)
    return np.clip((cam - np.float32(vmin)) / np.float32(span), 0.0, 1.0)


def upsample(cam: np.ndarray, height: int, width: int | None = None) -> np.ndarray:
    """(h, w) float map -> (height, width) float32, bilinear (pixel centres aligned as cv2 does,
    which is mirror-symmetric: upsample(flip(m)) == flip(upsample(m)))."""
    width = height if width is None else width
    cam = np.ascontiguousarray(cam, dtype=np.float32)
    return cv2.resize(cam, (int(width), int(height)), interpolation=cv2.INTER_LINEAR)


def colormap(values01: np.ndarray, name: str = DEFAULT_COLORMAP) -> np.ndarray:
    """(H, W) values in [0, 1] -> (H, W, 3) RGB uint8 through an OpenCV colour map."""
    if name not in COLORMAPS:
        raise ValueError(f"unknown colormap '{name}' (one of: {', '.join(COLORMAPS)})")
    u8 = np.clip(np.rint(np.asarray(values01, np.float32) * 255.0), 0, 255).astype(np.uint8)
    bgr = cv2.applyColorMap(u8, COLORMAPS[name])
    return bgr[..., ::-1].copy()


def blend(image: np.ndarray, color: np.ndarray, alpha: float = 0.45) -> np.ndarray:
    """alpha * color + (1 - alpha) * image, both (H, W, 3) uint8 -> uint8."""
    if image.shape != color.shape:
        raise ValueError(f"blend: image {image.shape} and colour {color.shape} differ")
    return cv2.addWeighted(color, float(alpha), image, 1.0 - float(alpha), 0.0)


def overlay(image: np.ndarray, cam: np.ndarray, vmin: float, vmax: float, *, alpha: float = 0.45,
            cmap: str = DEFAULT_COLORMAP) -> np.ndarray:
    """A CAM (h, w) upsampled to the RGB uint8 image (H, W, 3), coloured on the fixed scale
    [vmin, vmax] and blended over the image -> (H, W, 3) RGB uint8."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"overlay needs an HxWx3 uint8 image, got {image.shape} {image.dtype}")
    big = upsample(cam, image.shape[0], image.shape[1])
    return blend(np.ascontiguousarray(image), colormap(normalize(big, vmin, vmax), cmap), alpha)


def legend_bar(length: int = 192, thickness: int = 12, *, vertical: bool = False,
               cmap: str = DEFAULT_COLORMAP, scale: tuple[float, float] | None = None) -> np.ndarray:
    """The colour scale as an RGB uint8 image: low values left (or bottom), high right (or top).
    Label its ends with the (vmin, vmax) of the maps it explains. With `scale` = (vmin, vmax) and 0
    inside it, a white line with black edges marks where 0 lies (left of it: evidence against the class)."""
    ramp = np.linspace(0.0, 1.0, int(length), dtype=np.float32)
    if vertical:
        values = np.repeat(ramp[::-1, None], int(thickness), axis=1)
    else:
        values = np.repeat(ramp[None, :], int(thickness), axis=0)
    bar = colormap(values, cmap)
    z = zero_position(*scale, int(length)) if scale is not None else None
    if z is not None:
        if vertical:
            z = int(length) - 1 - z
        lo, hi = max(z - 1, 0), min(z + 2, int(length))
        line = (slice(lo, hi), slice(None)) if vertical else (slice(None), slice(lo, hi))
        bar[line] = 0
        bar[(slice(z, z + 1), slice(None)) if vertical else (slice(None), slice(z, z + 1))] = 255
    return bar


def zero_position(vmin: float, vmax: float, length: int) -> int | None:
    """The pixel of a `length`-long legend where the value 0 lies, None when 0 is outside (vmin, vmax)."""
    if not (np.isfinite(vmin) and np.isfinite(vmax)) or not vmin < 0.0 < vmax:
        return None
    return int(round((0.0 - vmin) / (vmax - vmin) * (length - 1)))
