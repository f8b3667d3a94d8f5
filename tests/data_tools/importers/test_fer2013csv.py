"""FER2013 CSV: pixel strings written as PNG into the dataset folder, which is the image_root."""
from __future__ import annotations

import numpy as np
import pytest

from data_tools.classes import FER2013_ORDER
from data_tools.images import load_image
from data_tools.importers import ImportFailure
from data_tools.manifest import load_dataset


def _pixels(value: int, n: int = 2304) -> str:
    return " ".join(str((value + k) % 256) for k in range(n))


def test_writes_pngs(run_import, tmp_path, check_counts):
    root = tmp_path / "fer"
    root.mkdir()
    rows = [f"3,{_pixels(0)},Training", f"0,{_pixels(5)},PublicTest", f"6,{_pixels(9)},PrivateTest",
            f"7,{_pixels(1)},Training", f"2,{_pixels(0, 101)},Training", "2,1 2 x 4,Training",
            f"1,{_pixels(0, 4)[:-1]}300,Training", f"4,{_pixels(0)},Other"]
    (root / "fer2013.csv").write_text("emotion,pixels,Usage\n" + "\n".join(rows) + "\n")
    res = run_import("fer2013csv", root)
    check_counts(res)
    assert res.info.classes == FER2013_ORDER
    assert res.info.image_root == "."
    assert list(res.manifest["sample_id"]) == ["fer0000000", "fer0000001", "fer0000002"]
    assert list(res.manifest["label"]) == ["happy", "angry", "neutral"]
    assert list(res.manifest["split"]) == ["train", "val", "test"]
    ds = load_dataset(res.out)
    img = load_image(ds.image_path(ds.manifest["path"][1]))
    assert img.shape == (48, 48, 3)
    assert img[0, 0, 0] == 5 and img[0, 1, 0] == 6 and img[1, 0, 0] == (5 + 48) % 256
    assert list(zip(res.report["row"], res.report["reason"])) == [
        (5, "label 7 is out of range 0..6"),
        (6, "pixels: 101 values do not make a square image (48x48 needs 2304)"),
        (7, "pixels: not all values are whole numbers"),
        (8, "pixels: values outside 0..255"),
        (9, "Usage 'Other' is not one of: Training, PublicTest, PrivateTest")]
    assert not (res.out / "images" / "fer0000003.png").exists()


def test_no_usage_column_means_train(run_import, tmp_path):
    root = tmp_path / "fer"
    root.mkdir()
    (root / "train.csv").write_text(f"emotion,pixels\n1,{_pixels(0)}\n")
    res = run_import("fer2013csv", root)
    assert list(res.manifest["split"]) == ["train"] and list(res.manifest["label"]) == ["disgust"]


def test_labels_only_is_refused(run_import, tmp_path):
    (tmp_path / "fer").mkdir()
    with pytest.raises(ImportFailure, match="--labels-only does not apply to fer2013csv"):
        run_import("fer2013csv", tmp_path / "fer", labels_only=True)


def test_pixels_are_the_picture(run_import, tmp_path):
    root = tmp_path / "fer"
    root.mkdir()
    (root / "fer2013.csv").write_text("emotion,pixels,Usage\n0,0 64 128 255,Training\n")
    res = run_import("fer2013csv", root)
    img = load_image(res.out / res.manifest["path"][0])
    assert img[..., 0].tolist() == np.array([[0, 64], [128, 255]]).tolist()
