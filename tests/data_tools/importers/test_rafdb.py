"""RAF-DB list import: labels 1..7 in RAF-DB's order, aligned images (original as fallback), noise overlay."""
from __future__ import annotations

import pytest

from data_tools.classes import RAFDB_ORDER
from data_tools.importers import ImportFailure

LIST = "train_00001.jpg 5\ntrain_00002.jpg 4\ntrain_00003.jpg 1\ntest_00001.jpg 7\nval_00001.jpg 2\n"


def _write(root, rel, text):
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_text(text)


@pytest.fixture
def raf(tmp_path, special_images):
    root = tmp_path / "RAF"
    _write(root, "EmoLabel/list_patition_label.txt", LIST)
    (root / "Image" / "aligned").mkdir(parents=True)
    (root / "Image" / "original").mkdir(parents=True)
    png = special_images["rgb_png"].read_bytes()
    for stem in ("train_00001", "test_00001"):
        (root / "Image" / "aligned" / f"{stem}_aligned.jpg").write_bytes(png)  # a PNG named .jpg decodes
    (root / "Image" / "original" / "train_00002.jpg").write_bytes(png)     # only the original
    return root


def test_images_aligned_with_original_fallback(run_import, raf, reasons, check_counts):
    res = run_import("rafdb", raf)
    check_counts(res)
    assert res.info.classes == RAFDB_ORDER
    m = res.manifest.set_index("sample_id")
    assert m.loc["train_00001", "path"] == "Image/aligned/train_00001_aligned.jpg"
    assert m.loc["train_00002", "path"] == "Image/original/train_00002.jpg"
    assert m.loc["train_00001", "label"] == "sad" and m.loc["train_00002", "label"] == "happy"
    assert m.loc["test_00001", "label"] == "neutral" and m.loc["test_00001", "split"] == "test"
    assert reasons(res) == {
        "Image/aligned/train_00003_aligned.jpg": "missing file",
        "Image/aligned/val_00001_aligned.jpg":
            "cannot tell the split from the file name (expected train_* or test_*)"}
    assert list(res.report["file"]) == ["EmoLabel/list_patition_label.txt"] * 2
    assert list(res.report["row"]) == [3, 5]


def test_labels_only_keeps_file_names(run_import, tmp_path, check_counts):
    root = tmp_path / "labels"
    _write(root, "list_patition_label.txt", LIST)
    res = run_import("rafdb", root, labels_only=True)
    check_counts(res)
    assert list(res.manifest["path"]) == ["train_00001.jpg", "train_00002.jpg", "train_00003.jpg",
                                          "test_00001.jpg"]
    assert list(res.manifest["label"]) == ["sad", "happy", "surprise", "neutral"]


def test_without_images_and_without_labels_only_is_a_clear_error(run_import, tmp_path):
    root = tmp_path / "labels"
    _write(root, "list_patition_label.txt", LIST)
    with pytest.raises(ImportFailure, match=r"no Image/aligned or Image/original folder \(use --labels-only"):
        run_import("rafdb", root)


def test_noisy_list_overlay(run_import, tmp_path):
    root = tmp_path / "labels"
    _write(root, "list_patition_label.txt", LIST.replace("val_00001.jpg 2\n", ""))
    _write(root, "noise.txt", "train_00001.jpg 5\ntrain_00002.jpg 7\ntrain_00003.jpg 1\n")
    res = run_import("rafdb", root, labels_only=True, noisy_list=root / "noise.txt")
    m = res.manifest.set_index("sample_id")
    assert m.loc["train_00002", ["label", "true_label", "source_label"]].tolist() == ["neutral", "happy", "happy"]
    assert m.loc["train_00001", ["label", "true_label", "source_label"]].tolist() == ["sad", "sad", "sad"]
    assert m.loc["test_00001", ["label", "true_label", "source_label"]].tolist() == ["neutral"] * 3
    assert (m["label"] != m["true_label"]).sum() == 1


@pytest.mark.parametrize("noise, message", [
    ("train_00001.jpg 9\n", "noise.txt line 1: label 9 is out of range 1..7"),
    ("train_09999.jpg 1\n", "noise.txt line 1: 'train_09999.jpg' is not in the clean list"),
    ("train_00001.jpg 1\ntrain_00001.jpg 2\n", "noise.txt line 2: 'train_00001.jpg' is listed twice"),
])
def test_bad_noisy_list_is_a_one_line_error(run_import, tmp_path, noise, message):
    root = tmp_path / "labels"
    _write(root, "list_patition_label.txt", LIST)
    _write(root, "noise.txt", noise)
    with pytest.raises(ImportFailure) as err:
        run_import("rafdb", root, labels_only=True, noisy_list="noise.txt")
    assert str(err.value).endswith(message) and "\n" not in str(err.value)


def test_no_list_is_a_one_line_error(run_import, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ImportFailure, match="no EmoLabel/list_patition_label.txt or list_patition_label.txt"):
        run_import("rafdb", tmp_path / "empty", labels_only=True)
