"""A learnable synthetic dataset with many classes (up to 200): each class is one combination of a
shape (5), a colour (5) and a background texture (8), drawn with jittered position, size and pixel
noise. Used by the many-class tests (eac_core, app) and by bench/bench_many_classes.py."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd

SHAPES = ("circle", "square", "triangle", "cross", "ring")
COLOURS = ((230, 40, 40), (40, 200, 60), (50, 90, 240), (240, 220, 40), (240, 240, 240))
TEXTURES = 8
MAX_CLASSES = len(SHAPES) * len(COLOURS) * TEXTURES      # 200


def class_names(n: int) -> list[str]:
    """class000, class001, ... (the names the generic importers are given)."""
    return [f"class{i:03d}" for i in range(n)]


def _background(t: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """Texture t (0..7) in two grey tones; the period scales with the image. No two textures are
    mirror images of each other (training mirrors the images)."""
    a, b = rng.integers(10, 50), rng.integers(90, 140)
    yy, xx = np.mgrid[0:size, 0:size]
    p = max(2, size // 8)
    pattern = [np.zeros((size, size), bool), np.ones((size, size), bool), (yy // p) % 2 == 0, (xx // p) % 2 == 0,
               ((yy // p) + (xx // p)) % 2 == 0, ((yy + xx) // p) % 2 == 0, (yy // (2 * p)) % 2 == 0,
               (yy % (2 * p) < p // 2 + 1) & (xx % (2 * p) < p // 2 + 1)][t]
    g = np.where(pattern, b, a).astype(np.uint8)
    return np.repeat(g[:, :, None], 3, axis=2)


def draw(cls: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """One RGB uint8 image of class `cls` (0..199)."""
    if not 0 <= cls < MAX_CLASSES:
        raise ValueError(f"class {cls} out of range 0..{MAX_CLASSES - 1}")
    shape, colour, texture = cls % 5, (cls // 5) % 5, cls // 25
    img = np.ascontiguousarray(_background(texture, size, rng))
    col = tuple(int(np.clip(v + rng.integers(-25, 26), 0, 255)) for v in COLOURS[colour])
    c = size // 2 + rng.integers(-size // 10, size // 10 + 1, 2)
    r = max(2, int(size * rng.uniform(0.22, 0.32)))
    cx, cy = int(c[0]), int(c[1])
    w = max(1, size // 10)
    if SHAPES[shape] == "circle":
        cv2.circle(img, (cx, cy), r, col, -1)
    elif SHAPES[shape] == "square":
        cv2.rectangle(img, (cx - r, cy - r), (cx + r, cy + r), col, -1)
    elif SHAPES[shape] == "triangle":
        cv2.fillPoly(img, [np.array([[cx, cy - r], [cx - r, cy + r], [cx + r, cy + r]], np.int32)], col)
    elif SHAPES[shape] == "cross":
        cv2.line(img, (cx - r, cy - r), (cx + r, cy + r), col, 2 * w)
        cv2.line(img, (cx - r, cy + r), (cx + r, cy - r), col, 2 * w)
    else:
        cv2.circle(img, (cx, cy), r, col, w + 1)
    noise = rng.normal(0, 8, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def make_images(n_classes: int, per_class: int, size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(n_classes * per_class, size, size, 3) uint8 images and their (N,) class indices, class-major."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(n_classes), per_class)
    return np.stack([draw(int(c), size, rng) for c in labels]), labels


def write_many_class_dataset(out: Path, n_classes: int, *, train_per_class: int, test_per_class: int = 1,
                             size: int = 16, seed: int = 0) -> Path:
    """A dataset folder (PNG files, manifest.csv through data_tools.manifest.write_dataset) with
    class names class000.. and a true_label column equal to the label (no noise)."""
    from data_tools.manifest import DatasetInfo, write_dataset
    out = Path(out)
    (out / "img").mkdir(parents=True, exist_ok=True)
    names = class_names(n_classes)
    rows = []
    for split, per, s in (("train", train_per_class, seed), ("test", test_per_class, seed + 1)):
        images, labels = make_images(n_classes, per, size, s)
        for i, (img, c) in enumerate(zip(images, labels)):
            rel = f"img/{split}_{i:05d}.png"
            cv2.imwrite(str(out / rel), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
            rows.append({"sample_id": f"{split}{i:05d}", "path": rel, "label": names[c], "split": split,
                         "true_label": names[c]})
    info = DatasetInfo(classes=names, image_root=".", format="test", name=out.name)
    return write_dataset(out, pd.DataFrame(rows), info)
