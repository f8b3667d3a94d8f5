"""AffectNet: expression codes 0..10, 7- or 8-way, non-emotions counted, optional face-box crops."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from data_tools.classes import AFFECTNET_ORDER
from data_tools.images import load_image
from data_tools.importers import ImportFailure

HEADER = "subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,valence,arousal\n"


@pytest.fixture
def affect(tmp_path):
    root = tmp_path / "affectnet"
    img_dir = root / "Manually_Annotated_Images" / "12"
    img_dir.mkdir(parents=True)
    arr = np.zeros((40, 60, 3), np.uint8)
    arr[10:30, 20:40] = 255  # the 'face' is a white square
    for n in range(6):
        Image.fromarray(arr).save(img_dir / f"img{n}.jpg", quality=100)
    rows = ["12/img0.jpg,20,10,20,20,,1,0.5,0.2", "12/img1.jpg,20,10,20,20,,7,0,0",
            "12/img2.jpg,20,10,20,20,,8,0,0", "12/img3.jpg,20,10,20,20,,10,0,0",
            "12/img4.jpg,500,500,20,20,,0,0,0", "12/img5.jpg,a,b,c,d,,6,0,0", "12/img0.jpg,0,0,1,1,,11,0,0"]
    (root / "training.csv").write_text(HEADER + "\n".join(rows[:4]) + "\n")
    (root / "validation.csv").write_text("\n".join(rows[4:]) + "\n")  # distributed without a header
    return root


def test_seven_way(run_import, affect, check_counts):
    res = run_import("affectnet", affect)
    check_counts(res)
    assert res.info.classes == AFFECTNET_ORDER[:7]
    m = res.manifest.set_index("sample_id")
    assert m["label"].to_dict() == {"12/img0": "happy", "12/img4": "neutral", "12/img5": "angry"}
    assert m["split"].to_dict() == {"12/img0": "train", "12/img4": "test", "12/img5": "test"}
    assert m.loc["12/img0", "valence"] == "0.5"
    assert res.info.image_root.endswith("Manually_Annotated_Images")
    assert list(zip(res.report["file"], res.report["row"], res.report["reason"])) == [
        ("training.csv", 3, "expression 7 (contempt) is excluded with --affectnet-classes 7"),
        ("training.csv", 4, "expression 8 (none) is not an emotion class"),
        ("training.csv", 5, "expression 10 (no-face) is not an emotion class"),
        ("validation.csv", 3, "label 11 is out of range 0..10")]


def test_eight_way_keeps_contempt(run_import, affect):
    res = run_import("affectnet", affect, affectnet_classes=8, affectnet_val_split="val")
    assert res.info.classes == AFFECTNET_ORDER
    assert "contempt" in set(res.manifest["label"])
    assert set(res.manifest.loc[res.manifest["sample_id"] == "12/img4", "split"]) == {"val"}


def test_face_box_crops(run_import, affect, check_counts):
    res = run_import("affectnet", affect, use_face_box=True)
    check_counts(res)
    assert res.info.image_root == "."
    m = res.manifest.set_index("sample_id")
    assert m.loc["12/img0", "path"] == "crops/12/img0.jpg"
    crop = load_image(res.out / "crops" / "12" / "img0.jpg")
    assert crop.shape == (20, 20, 3) and crop.min() > 240
    by_row = dict(zip(zip(res.report["file"], res.report["row"]), res.report["reason"]))
    assert by_row[("validation.csv", 1)] == "face box (500.0, 500.0, 20.0, 20.0) lies outside the 60x40 image"
    assert by_row[("validation.csv", 2)] == "face box: 'a', 'b', 'c', 'd' are not numbers"


def test_face_box_needs_images(run_import, affect):
    with pytest.raises(ImportFailure, match="--use-face-box needs the images"):
        run_import("affectnet", affect, use_face_box=True, labels_only=True)
