"""Real data in ../shared/data (CK+48, JAFFE, RAF-DB label lists); skipped where it is absent."""
from __future__ import annotations

import pytest

LISTS = "rafdb_labels"


def test_ckplus48_counts(run_import, shared_data, check_counts):
    res = run_import("folders", shared_data / "ckplus48")
    check_counts(res)
    assert len(res.manifest) == 981 and len(res.report) == 0
    assert res.manifest["label"].value_counts().to_dict() == {
        "surprise": 249, "happy": 207, "disgust": 177, "angry": 135, "sad": 84, "fear": 75, "contempt": 54}


def test_ckplus48_subject_disjoint_split(run_import, shared_data):
    res = run_import("folders", shared_data / "ckplus48", group_regex=r"^(S\d+)_", test_fraction=0.2)
    m = res.manifest
    assert len(m) == 981 and m["group"].nunique() == 118
    assert (m.groupby("group")["split"].nunique() == 1).all()
    test = (m["split"] == "test").sum()
    assert 180 <= test <= 240


def test_jaffe_labels_from_folder_names(run_import, shared_data):
    res = run_import("folders", shared_data / "jaffe", group_regex=r"^([A-Z]{2})\.")
    assert res.manifest["label"].value_counts().to_dict() == {
        "fear": 32, "happy": 31, "sad": 31, "angry": 30, "neutral": 30, "surprise": 30, "disgust": 29}
    assert res.manifest["group"].nunique() == 10


def test_jaffe_with_face_crops(run_import, shared_data, check_counts):
    res = run_import("folders", shared_data / "jaffe", crop_faces=True)
    check_counts(res)
    assert res.counts["read"] == 213
    assert len(res.manifest) >= 0.95 * 213  # faces found in at least 95 % (all 213 here)
    assert set(res.report["reason"]) <= {"no face found"}
    assert res.info.image_root == "."
    assert res.manifest["path"].str.startswith("crops/").all()
    from data_tools.images import load_image
    crop = load_image(res.out / res.manifest["path"].iloc[0])
    assert 100 <= crop.shape[0] <= 256 and crop.shape[0] == crop.shape[1]


def test_jaffe_palette_tiffs_decode(shared_data):
    from PIL import Image

    from data_tools.images import load_image
    tiffs = sorted((shared_data / "jaffe").glob("*/*.tiff"))
    palette = [p for p in tiffs if Image.open(p).mode == "P"]
    assert len(tiffs) == 213 and len(palette) == 23
    for p in palette:
        arr = load_image(p)
        assert arr.shape == (256, 256, 3) and arr.std() > 10


@pytest.mark.parametrize("noise, flipped", [(None, 0), ("noise01.txt", 1241), ("noise02.txt", 2498),
                                            ("noise03.txt", 3722)])
def test_rafdb_label_lists(run_import, shared_data, noise, flipped, check_counts):
    opts = {"noisy_list": shared_data / LISTS / noise} if noise else {}
    res = run_import("rafdb", shared_data / LISTS, labels_only=True, **opts)
    check_counts(res)
    m = res.manifest
    assert m["split"].value_counts().to_dict() == {"train": 12271, "test": 3068}
    assert len(res.report) == 0
    assert m["sample_id"].iloc[0] == "train_00001"
    if noise:
        assert (m["label"] != m["true_label"]).sum() == flipped
        assert (m.loc[m["split"] == "test", "label"] == m.loc[m["split"] == "test", "true_label"]).all()
        assert (m["source_label"] == m["true_label"]).all()
