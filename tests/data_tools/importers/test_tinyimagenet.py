"""Tiny-ImageNet: a small tree in the real layout (JPEGs, wnids.txt, words.txt, val_annotations.txt)."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image

from data_tools.__main__ import main
from data_tools.importers import ImportFailure
from data_tools.manifest import load_dataset

WORDS = ("n00001740\tentity\n"
         "n01443537\tgoldfish, Carassius auratus\n"
         "n02012849\tcrane\n"
         "n03126707\tcrane\n"
         "n02124075\tEgyptian cat\n"
         "n09999999\tnot in this dataset\n")


def _jpeg(path, seed):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(path, "JPEG")


def make_tiny(root, *, wnids=("n02124075", "n01443537", "n02012849", "n03126707"), words=WORDS, per_class=2):
    root.mkdir(parents=True, exist_ok=True)
    (root / "wnids.txt").write_text("".join(w + "\n" for w in wnids))
    (root / "words.txt").write_text(words)
    for k, w in enumerate(wnids):
        for i in range(per_class):
            _jpeg(root / "train" / w / "images" / f"{w}_{i}.JPEG", seed=10 * k + i)
        (root / "train" / w / f"{w}_boxes.txt").write_text("".join(f"{w}_{i}.JPEG\t0\t0\t63\t63\n"
                                                                   for i in range(per_class)))
    for i, w in enumerate(wnids):
        _jpeg(root / "val" / "images" / f"val_{i}.JPEG", seed=100 + i)
    (root / "val" / "val_annotations.txt").write_text(
        "".join(f"val_{i}.JPEG\t{w}\t0\t32\t44\t62\n" for i, w in enumerate(wnids)))
    _jpeg(root / "test" / "images" / "test_0.JPEG", seed=999)
    return root


def test_imports_train_and_val(run_import, tmp_path, check_counts):
    root = make_tiny(tmp_path / "tiny-imagenet-200")
    res = run_import("tinyimagenet", tmp_path)      # found in tiny-imagenet-200/ below --root
    check_counts(res)
    # sorted wnids (ImageFolder's order), first synonym, duplicates told apart by wnid
    assert res.info.classes == ["goldfish", "crane (n02012849)", "Egyptian cat", "crane (n03126707)"]
    assert res.info.extra["wnids"] == {"goldfish": "n01443537", "crane (n02012849)": "n02012849",
                                       "Egyptian cat": "n02124075", "crane (n03126707)": "n03126707"}
    assert res.info.extra["unlabelled_test_images_not_imported"] == 1
    assert res.info.extra["vocabulary"] == "open" and len(res.report) == 0
    m = res.manifest.set_index("sample_id")
    assert len(m) == 12 and (m["split"] == "train").sum() == 8 and (m["split"] == "test").sum() == 4
    assert m.loc["n01443537_1", "path"] == "tiny-imagenet-200/train/n01443537/images/n01443537_1.JPEG"
    assert m.loc["n01443537_1", "label"] == "goldfish" and m.loc["n01443537_1", "wnid"] == "n01443537"
    assert m.loc["val_0", "label"] == "Egyptian cat" and m.loc["val_0", "split"] == "test"
    assert m.loc["val_3", "label"] == "crane (n03126707)"
    ds = load_dataset(res.out)
    assert ds.image_path(m.loc["val_0", "path"]) == (root / "val" / "images" / "val_0.JPEG").resolve()


def test_bad_rows_are_reported(run_import, tmp_path, special_images, check_counts, reasons):
    root = make_tiny(tmp_path / "t")
    (root / "val" / "images" / "val_1.JPEG").unlink()                           # listed, missing
    shutil.copy(special_images["truncated_jpg"], root / "train" / "n01443537" / "images" / "n01443537_1.JPEG")
    (root / "train" / "n01443537" / "images" / "notes.txt").write_text("x")
    _jpeg(root / "train" / "n04999999" / "images" / "n04999999_0.JPEG", seed=5)  # class not in wnids.txt
    _jpeg(root / "val" / "images" / "val_9.JPEG", seed=6)                        # not in the annotations
    with open(root / "val" / "val_annotations.txt", "a") as f:
        f.write("val_7.JPEG\tn07777777\t0\t0\t1\t1\nval_8.JPEG\n")
    res = run_import("tinyimagenet", root)
    check_counts(res)
    assert reasons(res) == {
        "val/images/val_1.JPEG": "missing file",
        "train/n01443537/images/n01443537_1.JPEG": "unreadable image: truncated image data",
        "train/n01443537/images/notes.txt": "not an image file name (extension '.txt')",
        "train/n04999999/images/n04999999_0.JPEG": "wnid 'n04999999' is not in wnids.txt",
        "val/images/val_7.JPEG": "wnid 'n07777777' is not in wnids.txt",
        "": "expected '<file> <wnid> ...' (file name and wnid)",
        "val/images/val_9.JPEG": "not listed in val/val_annotations.txt"}
    rows = dict(zip(res.report["reason"], res.report["row"]))
    assert rows["wnid 'n07777777' is not in wnids.txt"] == 5 and rows["expected '<file> <wnid> ...' (file name "
                                                                      "and wnid)"] == 6
    assert len(res.manifest) == 12 - 2


@pytest.mark.parametrize("change, message", [
    (lambda r: (r / "wnids.txt").write_text("n01443537\nn1443537\n"),
     r"wnids.txt line 2: 'n1443537' is not a WordNet id"),
    (lambda r: (r / "wnids.txt").write_text("n01443537\nn01443537\n"),
     r"wnids.txt line 2: 'n01443537' is listed twice \(also line 1\)"),
    (lambda r: (r / "wnids.txt").unlink(), r"no wnids.txt"),
    (lambda r: (r / "words.txt").unlink(), r"no words.txt"),
    (lambda r: (r / "words.txt").write_text("n01443537\tgold\x07fish\n"),
     r"words.txt line 1: class name 'gold\x07fish' contains a control character \(U\+0007\)"),
    (lambda r: (r / "val" / "val_annotations.txt").unlink(), r"val_annotations.txt: no such file"),
])
def test_bad_files_fail_in_one_line(run_import, tmp_path, change, message):
    root = make_tiny(tmp_path / "t", per_class=1)
    change(root)
    with pytest.raises(ImportFailure, match=message) as e:
        run_import("tinyimagenet", root)
    assert "\n" not in str(e.value)


def test_wnid_missing_from_words_keeps_its_id(run_import, tmp_path):
    root = make_tiny(tmp_path / "t", wnids=("n01443537", "n05555555"), per_class=1)
    res = run_import("tinyimagenet", root, labels_only=True)
    assert res.info.classes == ["goldfish", "n05555555"]


def test_cli(tmp_path, capsys):
    root = make_tiny(tmp_path / "t", per_class=1)
    assert main(["import", "--format", "tinyimagenet", "--root", str(root), "--out", str(tmp_path / "ds")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"imported 8 of 8 rows (0 rejected) into {tmp_path / 'ds'}: test 4, train 4"
    assert out[1] == "  4 classes (open vocabulary): goldfish, crane (n02012849), Egyptian cat, crane (n03126707)"
