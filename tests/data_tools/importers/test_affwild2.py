"""Aff-Wild2 expression track: a tiny ABAW tree (per-video annotation files, cropped_aligned frames)."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from data_tools.__main__ import main
from data_tools.importers import ImportFailure

def _jpeg(path, seed):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (24, 24, 3), dtype=np.uint8)).save(path, "JPEG")


HEADER = "Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other\n"


def make_affwild2(root, videos: dict[str, tuple[str, list[str], list[int]]]):
    """videos: name -> (set folder, label lines, frames that have an image)."""
    for video, (folder, labels, frames) in videos.items():
        ann = root / "annotations" / "EXPR_Set" / folder / f"{video}.txt"
        ann.parent.mkdir(parents=True, exist_ok=True)
        ann.write_text(HEADER + "".join(f"{x}\n" for x in labels))
        for f in frames:
            _jpeg(root / "cropped_aligned" / video / f"{f:05d}.jpg", seed=f)
    return root


VIDEOS = {
    "1-30-1280x720": ("Train_Set", ["0", "4", "-1", "4", "7"], [1, 2, 3, 5]),        # frame 4 has no image
    "video2": ("Train_Set", ["5", "1", "9"], [1, 2, 3]),
    "118-30-640x480_left": ("Validation_Set", ["6", "3", "x"], [1, 2, 3]),
}


def test_frames_videos_and_splits(run_import, tmp_path, check_counts):
    root = make_affwild2(tmp_path / "aw", VIDEOS)
    res = run_import("affwild2", root)
    check_counts(res)
    assert res.info.classes == ["neutral", "angry", "disgust", "fear", "happy", "sad", "surprise", "other"]
    assert res.info.extra["videos"] == {"Train_Set": 2, "Validation_Set": 1}
    m = res.manifest
    assert list(m["sample_id"]) == ["1-30-1280x720/00001", "1-30-1280x720/00002", "1-30-1280x720/00005",
                                    "video2/00001", "video2/00002", "118-30-640x480_left/00001",
                                    "118-30-640x480_left/00002"]
    assert list(m["label"]) == ["neutral", "happy", "other", "sad", "angry", "surprise", "fear"]
    assert list(m["frame"].astype(int)) == [1, 2, 5, 1, 2, 1, 2]
    assert list(m["path"])[2] == "cropped_aligned/1-30-1280x720/00005.jpg"
    # the split is the official folder, so every video is in one split (frames are near-duplicates)
    assert m.groupby("video")["split"].nunique().max() == 1 and (m["group"] == m["video"]).all()
    assert dict(zip(m["video"], m["split"])) == {"1-30-1280x720": "train", "video2": "train",
                                                 "118-30-640x480_left": "test"}
    rep = res.report
    assert list(zip(rep["file"], rep["row"], rep["sample_id"], rep["reason"])) == [
        ("annotations/EXPR_Set/Train_Set/1-30-1280x720.txt", 4, "1-30-1280x720/00003",
         "label -1: the frame has no valid expression label"),
        ("annotations/EXPR_Set/Train_Set/1-30-1280x720.txt", 5, "1-30-1280x720/00004", "missing file"),
        ("annotations/EXPR_Set/Train_Set/video2.txt", 4, "video2/00003", "label '9' is not -1 or a number in 0..7"),
        ("annotations/EXPR_Set/Validation_Set/118-30-640x480_left.txt", 4, "118-30-640x480_left/00003",
         "label 'x' is not -1 or a number in 0..7")]


def test_seven_classes_val_split_and_labels_only(run_import, tmp_path, reasons):
    root = make_affwild2(tmp_path / "aw", VIDEOS)
    res = run_import("affwild2", root, affwild2_classes=7, affwild2_val_split="val", labels_only=True)
    assert res.info.classes == ["neutral", "angry", "disgust", "fear", "happy", "sad", "surprise"]
    assert reasons(res)["cropped_aligned/1-30-1280x720/00005.jpg"] == "label Other is excluded with --affwild2-classes 7"
    assert "cropped_aligned/1-30-1280x720/00004.jpg" not in reasons(res)     # --labels-only: no image checks
    assert set(res.manifest.loc[res.manifest["video"] == "118-30-640x480_left", "split"]) == {"val"}


def test_a_video_in_both_sets_keeps_its_train_frames(run_import, tmp_path, reasons):
    root = make_affwild2(tmp_path / "aw", {"v": ("Train_Set", ["0"], [1])})
    make_affwild2(root, {"v": ("Validation_Set", ["1"], [1])})
    res = run_import("affwild2", root)
    assert list(res.manifest["split"]) == ["train"]
    assert list(res.report["reason"]) == ["video 'v' is also in Train_Set (a video belongs to one split)"]


@pytest.mark.parametrize("write, message", [
    (lambda r: (r / "annotations/EXPR_Set/Train_Set/v.txt").write_text("Neutral,Glee\n0\n"),
     r"v.txt line 1: 'Glee' in the header is not an expression class \(expected Neutral,Anger,"),
    (lambda r: (r / "annotations/EXPR_Set/Train_Set/v.txt").write_text("Neutral,Anger,Neutral\n0\n"),
     r"v.txt line 1: the header names a class twice"),
    (lambda r: (r / "annotations/EXPR_Set/Train_Set/v.txt").write_text(""), r"v.txt: empty file"),
    (lambda r: (r / "annotations/EXPR_Set/Train_Set/v.txt").write_text("Neutral,Anger\n"),
     r"EXPR_Set: the 1 annotation file\(s\) list no frames \(only a header\)"),
])
def test_bad_annotation_files_fail_in_one_line(run_import, tmp_path, write, message):
    root = make_affwild2(tmp_path / "aw", {"v": ("Train_Set", ["0"], [1])})
    write(root)
    with pytest.raises(ImportFailure, match=message) as e:
        run_import("affwild2", root)
    assert "\n" not in str(e.value)


def test_missing_folders(run_import, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ImportFailure, match="no annotations/EXPR_Set/Train_Set or Validation_Set folder"):
        run_import("affwild2", tmp_path / "empty")
    root = make_affwild2(tmp_path / "aw", {"v": ("Train_Set", ["0"], [])})
    with pytest.raises(ImportFailure, match=r"no cropped_aligned/ folder \(use --labels-only"):
        run_import("affwild2", root)


def test_cli(tmp_path, capsys):
    root = make_affwild2(tmp_path / "aw", VIDEOS)
    assert main(["import", "--format", "affwild2", "--root", str(root), "--out", str(tmp_path / "ds")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"imported 7 of 11 rows (4 rejected) into {tmp_path / 'ds'}: test 2, train 5"
    assert "  rejected 1: label -1: the frame has no valid expression label" in out
