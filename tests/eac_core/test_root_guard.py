"""The trainer reads images only inside the dataset's image root (issue 9, hole 2): a manifest row whose
path leaves it through '..', an absolute path or a symlink is refused with one line naming the row, and
no image is decoded. The app and the trainer share the check (Dataset.image_path -> data_tools.paths)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from data_tools.manifest import load_dataset
from data_tools.paths import PathEscapeError
from eac_core import data, train
from support.shapes import make_shapes_dataset

FAST = ["--preset", "demo", "--image-size", "32", "--batch-size", "16", "--threads", "1", "--epochs", "1"]


@pytest.fixture(scope="module")
def shapes(tmp_path_factory) -> Path:
    return make_shapes_dataset(tmp_path_factory.mktemp("shapes") / "ds", n_train=12, n_test=3)


def _escaping(shapes: Path, tmp_path: Path, kind: str) -> tuple[Path, str]:
    """A copy of the dataset whose row 4 (sample train0002) points at an image outside its root."""
    ds = tmp_path / "ds"
    shutil.copytree(shapes, ds)
    outside = tmp_path / "outside" / "x.png"
    outside.parent.mkdir()
    cv2.imwrite(str(outside), np.full((32, 32, 3), 255, np.uint8))
    if kind == "dotdot":
        rel = "../outside/x.png"
    elif kind == "absolute":
        rel = str(outside)
    elif kind == "symlink":
        (ds / "img" / "link.png").symlink_to(outside)
        rel = "img/link.png"
    else:                                      # a folder inside that is a link to one outside
        (ds / "img" / "more").symlink_to(outside.parent, target_is_directory=True)
        rel = "img/more/x.png"
    m = pd.read_csv(ds / "manifest.csv", dtype=str, keep_default_na=False)
    m.loc[2, "path"] = rel
    m.to_csv(ds / "manifest.csv", index=False)
    return ds, rel


REASONS = {"dotdot": "path leaves the root through '..'", "absolute": "absolute path outside the root",
           "symlink": "symlink leads outside the root", "linked_folder": "symlink leads outside the root"}


@pytest.mark.parametrize("kind", list(REASONS))
def test_decode_split_refuses_paths_outside_the_root(shapes, tmp_path, monkeypatch, kind):
    ds_dir, rel = _escaping(shapes, tmp_path, kind)
    ds = load_dataset(ds_dir)
    train_split, _ = data.make_splits(ds)
    decoded = []
    monkeypatch.setattr(data, "load_image", lambda p: decoded.append(p) or np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(data.DataError) as e:
        data.decode_split(ds, train_split, 32)
    assert str(e.value) == (f"{ds_dir / 'manifest.csv'} row 4 (sample_id 'train0002'): image path refused: "
                            f"'{rel}': {REASONS[kind]} ({ds_dir})")
    assert decoded == []                       # checked before any image is decoded


@pytest.mark.parametrize("kind", list(REASONS))
def test_trainer_refuses_the_row_with_one_line(shapes, tmp_path, capsys, kind):
    ds_dir, rel = _escaping(shapes, tmp_path, kind)
    out = tmp_path / "run"
    assert train.main(["--dataset", str(ds_dir), "--out", str(out), *FAST]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == (f"error: {ds_dir / 'manifest.csv'} row 4 (sample_id 'train0002'): image path refused: "
                       f"'{rel}': {REASONS[kind]} ({ds_dir})")
    assert not (out / "checkpoint.pt").exists()
    assert not list((out / "cache").glob("*.npy")) if (out / "cache").exists() else True


def test_dataset_image_path_is_the_one_check(shapes):
    ds = load_dataset(shapes)
    assert ds.image_path("img/train_0000.png") == shapes.resolve() / "img" / "train_0000.png"
    assert ds.image_path("img/../img/train_0000.png") == shapes.resolve() / "img" / "train_0000.png"
    for rel in ("../x.png", "/etc/passwd", "img/\x00.png", ""):
        with pytest.raises(PathEscapeError):
            ds.image_path(rel)
