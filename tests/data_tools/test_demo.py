"""The embedded demo dataset: contract, exact counts and noise, determinism, clean regeneration."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from data_tools import demo
from data_tools.classes import BASIC7
from data_tools.manifest import load_dataset

SMALL = dict(n_train=56, n_test=14, image_size=48, noise_rate=0.2, seed=7)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return demo.generate_demo(tmp_path_factory.mktemp("demo") / "d", workers=1, **SMALL)


def test_demo_is_a_valid_dataset_with_exact_counts_and_noise(tiny):
    ds = load_dataset(tiny)
    m = ds.manifest
    assert ds.classes == BASIC7 and ds.info.image_root == "." and ds.info.format == "demo"
    assert list(m.columns[:4]) == ["sample_id", "path", "label", "split"]
    assert {"source_label", "true_label", "group", "intensity"} <= set(m.columns)
    train, test = m[m["split"] == "train"], m[m["split"] == "test"]
    assert len(train) == 56 and len(test) == 14
    assert train["true_label"].value_counts().to_dict() == {c: 8 for c in BASIC7}   # balanced
    assert test["true_label"].value_counts().to_dict() == {c: 2 for c in BASIC7}
    assert (m["source_label"] == m["true_label"]).all()
    assert (train["label"] != train["true_label"]).sum() == 11                      # round(0.2 * 56)
    assert (test["label"] == test["true_label"]).all()
    assert ds.info.extra["noise"]["n_flipped"] == 11
    assert not set(train["group"]) & set(test["group"])                             # unseen people in test
    assert train["sample_id"].iloc[0] == "train_00000" and test["path"].iloc[0] == "images/test/test_00000.png"
    inten = m["intensity"].astype(float)
    neutral = m["true_label"] == "neutral"
    assert (inten[neutral] == 0).all() and (inten[~neutral] >= 0.25).all() and (inten <= 1).all()


def test_demo_images_exist_at_the_requested_size(tiny):
    ds = load_dataset(tiny)
    paths = [ds.image_path(p) for p in ds.manifest["path"]]
    assert all(p.is_file() for p in paths)
    assert sorted(p.name for p in (tiny / "images" / "train").iterdir()) == [f"train_{i:05d}.png" for i in range(56)]
    img = cv2.imread(str(paths[0]), cv2.IMREAD_UNCHANGED)
    assert img.shape == (48, 48, 3) and img.dtype == np.uint8
    assert img.std() > 10  # a drawing, not a flat fill


def test_demo_is_deterministic_by_seed_whatever_the_number_of_workers(tiny, tmp_path):
    again = demo.generate_demo(tmp_path / "again", workers=2, **SMALL)
    assert (again / "manifest.csv").read_bytes() == (tiny / "manifest.csv").read_bytes()
    for name in ("train/train_00000.png", "train/train_00055.png", "test/test_00013.png"):
        a = cv2.imread(str(tiny / "images" / name))
        b = cv2.imread(str(again / "images" / name))
        assert np.array_equal(a, b)
    other = demo.generate_demo(tmp_path / "other", workers=1, **{**SMALL, "seed": 8})
    assert (other / "manifest.csv").read_bytes() != (tiny / "manifest.csv").read_bytes()
    assert not np.array_equal(cv2.imread(str(other / "images/train/train_00000.png")),
                              cv2.imread(str(tiny / "images/train/train_00000.png")))


def test_render_is_pure_and_expressions_change_the_face():
    a, meta = demo.render(0, "train", 3, "surprise", 5, 64)
    b, _ = demo.render(0, "train", 3, "surprise", 5, 64)
    c, _ = demo.render(0, "train", 3, "neutral", 5, 64)
    assert np.array_equal(a, b) and a.shape == (64, 64, 3)
    assert meta["intensity"] > 0
    diff = np.abs(a.astype(int) - c.astype(int)).sum(axis=2) > 40
    ys, xs = np.nonzero(diff)
    assert diff.sum() > 60                       # the same person and pose, another expression
    assert 8 < ys.mean() < 56 and 8 < xs.mean() < 56  # ... changes the middle of the face


def test_regenerating_smaller_removes_stale_images(tmp_path):
    out = demo.generate_demo(tmp_path / "d", n_train=14, n_test=7, image_size=32, seed=0, workers=1)
    demo.generate_demo(out, n_train=7, n_test=0, image_size=32, seed=0, workers=1)
    assert len(list((out / "images" / "train").glob("*.png"))) == 7
    assert not list((out / "images" / "test").glob("*.png"))
    assert len(load_dataset(out).manifest) == 7


def test_demo_command(tmp_path, capsys):
    from data_tools.__main__ import main

    rc = main(["demo", "--out", str(tmp_path / "d"), "--n-train", "14", "--n-test", "7", "--size", "32",
               "--noise", "0.5", "--seed", "1", "--workers", "1"])
    assert rc == 0
    assert "21 images at 32x32" in capsys.readouterr().out
    m = load_dataset(tmp_path / "d").manifest
    assert (m["label"] != m["true_label"]).sum() == 7
    assert main(["demo", "--out", str(tmp_path / "e"), "--size", "8"]) == 2
    assert "image size must be between 16 and 512" in capsys.readouterr().err


def test_demo_faces_are_not_mirror_symmetric():
    """Issue 11 §5: head turns, lopsided mouths, side light and one-sided occluders, so that a face and
    its mirror image differ (the flip comparison has something to show); recorded as metadata."""
    metas = [demo.render(0, "train", i, demo.BASIC7[i % 7], i % 40, 48)[1] for i in range(120)]
    turns = [m["head_turn"] for m in metas]
    assert set(turns) == {"frontal", "left", "right"}
    assert 0.25 < sum(t != "frontal" for t in turns) / len(turns) < 0.75
    assert 0.25 < sum(m["side_light"] for m in metas) / len(metas) < 0.55
    assert {"hand", "hair"} <= {m["occluder"] for m in metas}
    a, meta = demo.render(0, "train", 7, "happy", 3, 64)
    assert not np.array_equal(a, a[:, ::-1])
