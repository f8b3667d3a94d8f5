"""A tiny seeded dataset folder with known image issues planted (duplicates of every kind, a leak, a
label conflict, blank/dark/bright/low-information/blurry images): shared by the issues and export tests."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from PIL import Image

from data_tools.manifest import DatasetInfo, write_dataset

CLASSES = ["happy", "sad", "neutral"]


def face(seed: int, size: int = 48) -> np.ndarray:
    """A seeded textured grayscale picture, sharp and of full contrast (HxWx3 uint8)."""
    rng = np.random.default_rng(seed)
    low = cv2.resize(rng.normal(0, 1, (6, 6)).astype(np.float32), (size, size), interpolation=cv2.INTER_CUBIC)
    fine = rng.normal(0, 0.35, (size, size)).astype(np.float32)
    x = low + fine
    x = (x - x.min()) / (x.max() - x.min()) * 255
    return np.repeat(x.astype(np.uint8)[:, :, None], 3, axis=2)


# sample_id -> (label, split, how the image is made); PLANTED says what each row must be flagged as
ROWS: dict[str, tuple[str, str]] = {}
PLANTED = {
    "exact": {"a0", "a0_copy"},             # same pixels, same label, same split
    "leak": {"a1", "a1_test"},              # same pixels, train and test
    "conflict": {"a2", "a2_sad"},           # same pixels, happy and sad
    "near": {"b0", "b0_resized", "c0", "c0_jpeg", "d0", "d0_shift", "e0", "e0_crop"},
    "missed": {"f0", "f0_crop80"},          # cropped to 80 % of the side: beyond both hashes (measured)
    "blank": {"blank"}, "dark": {"dark"}, "bright": {"bright"}, "low_information": {"twotone"},
    "blurry": {"blurry"},
}


def make_dataset(root: Path) -> Path:
    """Write the planted dataset under `root` (images in root/'img', the folder root/'ds'); returns the folder."""
    img = root / "img"
    img.mkdir(parents=True, exist_ok=True)
    rows = []

    def put(sid: str, arr: np.ndarray, label: str = "happy", split: str = "train", ext: str = "png",
            **save) -> None:
        Image.fromarray(arr).save(img / f"{sid}.{ext}", **save)
        rows.append({"sample_id": sid, "path": f"{sid}.{ext}", "label": label, "split": split})

    for k in range(12):                                   # clean, distinct faces
        put(f"clean{k}", face(100 + k), CLASSES[k % 3], "test" if k % 4 == 0 else "train")
    put("a0", face(1)); put("a0_copy", face(1))
    put("a1", face(2)); put("a1_test", face(2), split="test")
    put("a2", face(3)); put("a2_sad", face(3), label="sad")
    put("b0", face(4)); put("b0_resized", cv2.resize(face(4), (96, 96), interpolation=cv2.INTER_CUBIC))
    put("c0", face(5)); put("c0_jpeg", face(5), ext="jpg", quality=75)
    d = face(6, 50)
    put("d0", d[1:49, 1:49].copy()); put("d0_shift", d[2:50, 1:49].copy())   # one pixel down (keypoint hash)
    e = face(12)
    put("e0", e); put("e0_crop", cv2.resize(e[0:46, 2:48], (48, 48), interpolation=cv2.INTER_LINEAR))  # 96 %
    put("f0", face(13)); put("f0_crop80", cv2.resize(face(13)[5:43, 5:43], (48, 48), interpolation=cv2.INTER_LINEAR))
    put("blank", np.full((48, 48, 3), 128, np.uint8))
    put("dark", (face(7).astype(np.float32) * 0.12).astype(np.uint8))
    put("bright", (255 - face(8).astype(np.float32) * 0.12).astype(np.uint8))
    two = np.zeros((48, 48, 3), np.uint8)
    two[:, 24:] = 255
    put("twotone", two)
    put("blurry", cv2.GaussianBlur(face(9), (0, 0), 3.0))
    out = root / "ds"
    write_dataset(out, pd.DataFrame(rows), DatasetInfo(classes=CLASSES, image_root=str(img), format="test"))
    return out
