"""The tiny learnable dataset the trainer tests train on: coloured shapes (class = shape) with seeded
symmetric label noise and a true_label column."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

SHAPES = ["circle", "square", "triangle"]


def _draw(shape: str, size: int, rng: np.random.Generator) -> np.ndarray:
    img = np.full((size, size, 3), rng.integers(0, 80, 3), dtype=np.uint8)
    colour = tuple(int(c) for c in rng.integers(120, 256, 3))
    c = size // 2 + rng.integers(-size // 10, size // 10 + 1, 2)
    r = int(size * rng.uniform(0.25, 0.38))
    if shape == "circle":
        cv2.circle(img, (int(c[0]), int(c[1])), r, colour, -1)
    elif shape == "square":
        cv2.rectangle(img, (int(c[0] - r), int(c[1] - r)), (int(c[0] + r), int(c[1] + r)), colour, -1)
    else:
        pts = np.array([[c[0], c[1] - r], [c[0] - r, c[1] + r], [c[0] + r, c[1] + r]], np.int32)
        cv2.fillPoly(img, [pts], colour)
    return img


def make_shapes_dataset(out: Path, n_train: int = 120, n_test: int = 30, size: int = 32, noise: float = 0.2,
                        seed: int = 0) -> Path:
    """A dataset folder of coloured shapes (class = shape) with `noise` symmetric label flips and a
    true_label column."""
    rng = np.random.default_rng(seed)
    (out / "img").mkdir(parents=True, exist_ok=True)
    rows = []
    for split, n in (("train", n_train), ("test", n_test)):
        for i in range(n):
            true = SHAPES[i % len(SHAPES)]
            label = true
            if split == "train" and rng.random() < noise:
                label = str(rng.choice([s for s in SHAPES if s != true]))
            rel = f"img/{split}_{i:04d}.png"
            cv2.imwrite(str(out / rel), cv2.cvtColor(_draw(true, size, rng), cv2.COLOR_RGB2BGR))
            rows.append({"sample_id": f"{split}{i:04d}", "path": rel, "label": label, "split": split,
                         "true_label": true})
    pd.DataFrame(rows).to_csv(out / "manifest.csv", index=False)
    (out / "dataset.json").write_text(json.dumps({"classes": SHAPES, "image_root": ".", "format": "test"}))
    return out
