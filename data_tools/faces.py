"""Face detection and cropping with OpenCV's bundled Haar cascades (for uncropped photos)."""
from __future__ import annotations

import os
import threading

import cv2
import numpy as np

Box = tuple[int, int, int, int]  # x, y, width, height in pixels

# Tried in order until one finds a face: the default cascade is precise, alt2 finds more.
CASCADES = ("haarcascade_frontalface_default.xml", "haarcascade_frontalface_alt2.xml")
_local = threading.local()  # CascadeClassifier objects are not shared between threads


class FaceDetectorError(RuntimeError):
    """OpenCV's cascades cannot be loaded (e.g. an OpenCV build without them)."""


def _cascades() -> list[cv2.CascadeClassifier]:
    found = getattr(_local, "cascades", None)
    if found is None:
        folder = getattr(getattr(cv2, "data", None), "haarcascades", None)
        if not folder or not hasattr(cv2, "CascadeClassifier"):
            raise FaceDetectorError("this OpenCV has no Haar cascades (install opencv-python-headless<5)")
        found = []
        for name in CASCADES:
            c = cv2.CascadeClassifier(os.path.join(folder, name))
            if c.empty():
                raise FaceDetectorError(f"cannot load {os.path.join(folder, name)}")
            found.append(c)
        _local.cascades = found
    return found


def detector_ready() -> None:
    """Raise FaceDetectorError now (not per image) when the cascades cannot be loaded."""
    _cascades()


def detect_faces(rgb: np.ndarray, *, min_size_frac: float = 0.15, max_side: int = 160) -> list[Box]:
    """Face boxes in an HxWx3 (or HxW) uint8 image, largest first; [] when none is found.

    Detection runs on a copy scaled down to `max_side` pixels (faces filling a fair part of the
    picture are still found, several times faster); boxes are in the original's pixels.
    """
    gray = rgb if rgb.ndim == 2 else cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    scale = min(1.0, max_side / max(gray.shape[:2]))
    if scale < 1.0:
        gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    gray = cv2.equalizeHist(gray)
    side = max(12, int(min(gray.shape[:2]) * min_size_frac))
    for cascade in _cascades():
        boxes = cascade.detectMultiScale(gray, scaleFactor=1.15, minNeighbors=5, minSize=(side, side))
        if len(boxes):
            found = [tuple(int(round(v / scale)) for v in b) for b in boxes]
            return sorted(found, key=lambda b: -b[2] * b[3])  # type: ignore[return-value]
    return []


def crop_box(rgb: np.ndarray, box: Box, *, margin: float = 0.0, square: bool = False) -> np.ndarray:
    """The part of `rgb` inside `box`, grown by `margin` x its size on each side, clipped to the image.

    Raises ValueError for a box with no area inside the image.
    """
    h, w = rgb.shape[:2]
    x, y, bw, bh = (float(v) for v in box)
    if bw <= 0 or bh <= 0:
        raise ValueError(f"face box {box} has no area")
    cx, cy = x + bw / 2, y + bh / 2
    if square:
        bw = bh = max(bw, bh)
    bw, bh = bw * (1 + 2 * margin), bh * (1 + 2 * margin)
    x0, y0 = int(round(max(0.0, cx - bw / 2))), int(round(max(0.0, cy - bh / 2)))
    x1, y1 = int(round(min(float(w), cx + bw / 2))), int(round(min(float(h), cy + bh / 2)))
    if x1 - x0 < 2 or y1 - y0 < 2:
        raise ValueError(f"face box {tuple(box)} lies outside the {w}x{h} image")
    return np.ascontiguousarray(rgb[y0:y1, x0:x1])


def crop_face(rgb: np.ndarray, *, margin: float = 0.15) -> np.ndarray | None:
    """A square crop around the largest face (grown by `margin`), or None when no face is found."""
    faces = detect_faces(rgb)
    if not faces:
        return None
    return crop_box(rgb, faces[0], margin=margin, square=True)
