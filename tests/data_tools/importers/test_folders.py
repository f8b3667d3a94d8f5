"""Folders: <class>/<file> or <split>/<class>/<file>; seeded, stratified or group-disjoint splits."""
from __future__ import annotations

import os
import shutil

import pytest

from data_tools.importers import ImportFailure
from data_tools.importers.splits import assign_splits


def _tree(root, files, src):
    for rel in files:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, root / rel)
    return root


CK_LIKE = [f"{cls}/S{s:03d}_00{q}_0000000{f}.png" for cls in ("anger", "happy", "sadness")
           for s in range(1, 11) for q in (1,) for f in (1, 2)]


def test_class_folders_with_a_group_disjoint_split(run_import, tmp_path, special_images, check_counts):
    root = _tree(tmp_path / "ck", CK_LIKE, special_images["rgb_png"])
    (root / "SOURCE.md").write_text("not a sample")
    res = run_import("folders", root, group_regex=r"^(S\d+)_", test_fraction=0.3)
    check_counts(res)
    m = res.manifest
    assert len(m) == 60 and res.info.classes == ["angry", "happy", "sad"]
    assert m.loc[0, "sample_id"] == "anger/S001_001_00000001" and m.loc[0, "group"] == "S001"
    by_group = m.groupby("group")["split"].nunique()
    assert (by_group == 1).all()  # no subject in two splits
    assert 15 <= (m["split"] == "test").sum() <= 24
    again = run_import("folders", root, group_regex=r"^(S\d+)_", test_fraction=0.3)
    assert list(again.manifest["split"]) == list(m["split"])  # seeded: the same split again
    other = run_import("folders", root, group_regex=r"^(S\d+)_", test_fraction=0.3, seed=1)
    assert list(other.manifest["split"]) != list(m["split"])


def test_stratified_split_without_groups(run_import, tmp_path, special_images):
    root = _tree(tmp_path / "ck", CK_LIKE, special_images["rgb_png"])
    res = run_import("folders", root, test_fraction=0.25, val_fraction=0.25)
    counts = res.manifest.groupby(["label", "split"]).size().unstack()
    assert counts.to_dict() == {"test": {"angry": 5, "happy": 5, "sad": 5},
                                "train": {"angry": 10, "happy": 10, "sad": 10},
                                "val": {"angry": 5, "happy": 5, "sad": 5}}


def test_group_regex_that_does_not_match_is_reported(run_import, tmp_path, special_images, reasons):
    root = _tree(tmp_path / "ck", CK_LIKE[:4] + ["happy/other.png"], special_images["rgb_png"])
    res = run_import("folders", root, group_regex=r"^(S\d+)_")
    assert reasons(res) == {"happy/other.png": r"file name does not match --group-regex '^(S\d+)_'"}


def test_split_folders(run_import, tmp_path, special_images, reasons, check_counts):
    files = ["train/happy/a.png", "train/Sad/b.png", "Test/happy/c.png", "val/surprised/d.png",
             "train/e.png", "train/happy/notes.txt", "train/happy/.DS_Store", "train/grumpy/f.png"]
    root = _tree(tmp_path / "split", files, special_images["rgb_png"])
    res = run_import("folders", root)
    check_counts(res)
    assert dict(zip(res.manifest["path"], zip(res.manifest["label"], res.manifest["split"]))) == {
        "train/happy/a.png": ("happy", "train"), "train/Sad/b.png": ("sad", "train"),
        "Test/happy/c.png": ("happy", "test"), "val/surprised/d.png": ("surprise", "val")}
    assert reasons(res) == {"train/e.png": "not inside a <split>/<class>/ folder",
                            "train/happy/notes.txt": "not an image file name (extension '.txt')",
                            "train/grumpy/f.png": "label 'grumpy' is not one of: happy, sad, surprise"}


def test_same_stem_keeps_extensions_in_ids(run_import, tmp_path, special_images):
    root = _tree(tmp_path / "stem", ["happy/x.png", "happy/x.jpg", "sad/y.png"], special_images["rgb_png"])
    res = run_import("folders", root, test_fraction=0)
    assert sorted(res.manifest["sample_id"]) == ["happy/x.jpg", "happy/x.png", "sad/y"]


def test_symlinked_folder_leading_outside_is_reported(run_import, tmp_path, special_images, reasons):
    root = _tree(tmp_path / "t", ["happy/a.png"], special_images["rgb_png"])
    _tree(tmp_path / "elsewhere", ["b.png"], special_images["rgb_png"])
    os.symlink(tmp_path / "elsewhere", root / "happy" / "more")
    os.symlink(tmp_path / "elsewhere" / "b.png", root / "happy" / "b.png")
    res = run_import("folders", root)
    assert reasons(res) == {"happy/more": "symlink leads outside the root",
                            "happy/b.png": "symlink leads outside the root"}


def test_classes_option_fixes_order_and_rejects_others(run_import, tmp_path, special_images, reasons):
    root = _tree(tmp_path / "t", ["happy/a.png", "sad/b.png", "fear/c.png"], special_images["rgb_png"])
    res = run_import("folders", root, classes=["sad", "happiness"])
    assert res.info.classes == ["sad", "happy"]
    assert reasons(res) == {"fear/c.png": "label 'fear' is not one of: sad, happy"}
    with pytest.raises(ImportFailure, match="--classes: 'grumpy' is not an expression class .*--vocabulary open"):
        run_import("folders", root, classes=["grumpy"], vocabulary="expression")
    # any other name opens the vocabulary: names as written, no folding of 'happiness'
    res = run_import("folders", root, classes=["fear", "grumpy"])
    assert res.info.classes == ["fear", "grumpy"] and res.info.extra["vocabulary"] == "open"
    assert reasons(res) == {"happy/a.png": "label 'happy' is not one of: fear, grumpy",
                            "sad/b.png": "label 'sad' is not one of: fear, grumpy"}


def test_empty_or_missing_root(run_import, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ImportFailure, match="no image files in class folders"):
        run_import("folders", tmp_path / "empty")
    with pytest.raises(ImportFailure, match="no such folder"):
        run_import("folders", tmp_path / "missing")


def test_bad_fractions(run_import, tmp_path, special_images):
    root = _tree(tmp_path / "t", ["happy/a.png"], special_images["rgb_png"])
    with pytest.raises(ImportFailure, match="must be at least 0 and add up to less than 1"):
        run_import("folders", root, test_fraction=0.6, val_fraction=0.5)


def test_assign_splits_groups_are_disjoint():
    labels = ["a"] * 10 + ["b"] * 10
    groups = [f"g{i // 4}" for i in range(20)]
    splits = assign_splits(labels, groups=groups, test_fraction=0.2, seed=3)
    for g in set(groups):
        assert len({s for s, gg in zip(splits, groups) if gg == g}) == 1
    assert splits.count("test") == 4


def test_dataset_folder_inside_the_root_is_not_walked(tmp_path, special_images):
    from data_tools.importers import import_dataset
    root = _tree(tmp_path / "t", ["happy/a.png", "sad/b.png"], special_images["rgb_png"])
    for again in (False, True):  # the second import must not see the first one's files or crops
        res = import_dataset("folders", root, root / "happy" / "ds", crop_faces=False, replace=again)
        assert len(res.manifest) == 2 and len(res.report) == 0


def test_numeric_folder_names_get_a_hint(run_import, tmp_path, special_images):
    root = _tree(tmp_path / "t", ["0/a.png", "3/b.png"], special_images["rgb_png"])
    with pytest.raises(ImportFailure, match=r"--numeric-labels fer2013\|rafdb\|affectnet"):
        run_import("folders", root)
    res = run_import("folders", root, numeric_labels="fer2013", test_fraction=0)
    assert list(res.manifest["label"]) == ["angry", "happy"]


def test_a_symlinked_folder_inside_the_root_is_not_followed(run_import, tmp_path, special_images, reasons,
                                                            check_counts):
    """Issue 22 item 5: `ln -s ../sad happy/up` made the sad images count as happy (happy/up/*) and
    the real sad/ folder vanish without a report line. Symlinked folders are not followed; each is
    a report row; imported + rejected = read."""
    root = _tree(tmp_path / "t", ["happy/a.png", "sad/b.png", "sad/c.png"], special_images["rgb_png"])
    os.symlink("../sad", root / "happy" / "up")
    os.symlink("..", root / "sad" / "loop")
    res = run_import("folders", root, test_fraction=0)
    check_counts(res)
    assert dict(zip(res.manifest["path"], res.manifest["label"])) == {
        "happy/a.png": "happy", "sad/b.png": "sad", "sad/c.png": "sad"}
    assert reasons(res) == {"happy/up": "symlinked folder (not followed: its images would be counted again, "
                                        "possibly under another class)",
                            "sad/loop": "symlinked folder (not followed: its images would be counted again, "
                                        "possibly under another class)"}
    assert res.counts["read"] == 5 and res.counts["imported"] == 3


def test_symlinked_split_or_class_folders_are_reported_too(run_import, tmp_path, special_images, reasons):
    root = _tree(tmp_path / "t", ["train/happy/a.png", "test/sad/b.png"], special_images["rgb_png"])
    os.symlink("../test/sad", root / "train" / "sad")
    res = run_import("folders", root)
    assert dict(zip(res.manifest["path"], res.manifest["split"])) == {"train/happy/a.png": "train",
                                                                      "test/sad/b.png": "test"}
    assert list(reasons(res)) == ["train/sad"]


def test_a_symlinked_file_inside_the_root_is_not_counted_twice(run_import, tmp_path, special_images, reasons):
    root = _tree(tmp_path / "t", ["happy/a.png", "sad/b.png"], special_images["rgb_png"])
    os.symlink("../sad/b.png", root / "happy" / "b.png")
    res = run_import("folders", root, test_fraction=0)
    assert dict(zip(res.manifest["path"], res.manifest["label"])) == {"happy/a.png": "happy", "sad/b.png": "sad"}
    assert reasons(res) == {"happy/b.png": "symlink to a file inside the root (not followed: the image would be "
                                           "counted twice, possibly under another class)"}
