"""CIFAR-100 (python version): Python 2 protocol-2 pickles read with the restricted unpickler, images
written as PNG, fine or coarse labels, the superclass kept."""
from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from data_tools.__main__ import main
from data_tools.images import load_image
from data_tools.importers import ImportFailure
from data_tools.manifest import load_dataset

FINE = ["apple", "mushroom", "aquarium_fish", "flatfish", "beaver", "dolphin"]
COARSE = ["fruit_and_vegetables", "fish", "aquatic_mammals"]
SUPER = [0, 0, 1, 1, 2, 2]   # fine -> coarse


def _images(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 3072), dtype=np.uint8)


def _batch(fine: list, coarse: list | None = None, seed: int = 0, **override) -> dict:
    coarse = [SUPER[f] if isinstance(f, int) and 0 <= f < len(SUPER) else 0 for f in fine] if coarse is None \
        else coarse
    d = {"filenames": [f"img_{seed}_{i}.png".encode() for i in range(len(fine))], "batch_label": b"training batch 1 of 1",
         "fine_labels": fine, "coarse_labels": coarse, "data": _images(len(fine), seed)}
    d.update(override)
    return d


def write_cifar(root, py2_pickle, train: dict, test: dict | None = None, *, sub: str = "cifar-100-python",
                train_numpy: str = "numpy.core.multiarray", test_numpy: str = "numpy._core.multiarray",
                fine=FINE, coarse=COARSE):
    folder = root / sub if sub else root
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "meta").write_bytes(py2_pickle({"fine_label_names": list(fine), "coarse_label_names": list(coarse)}))
    (folder / "train").write_bytes(py2_pickle(train, numpy_module=train_numpy))
    if test is not None:
        (folder / "test").write_bytes(py2_pickle(test, numpy_module=test_numpy))
    return folder


def test_fine_labels_from_both_numpy_spellings(run_import, tmp_path, py2_pickle, check_counts, reasons):
    train = _batch([0, 3, 5, 99, 2, 4, 1, 2], seed=1)
    train["coarse_labels"][4] = 2            # aquarium_fish put in aquatic_mammals: the files disagree
    train["coarse_labels"][5] = 7            # no such superclass
    test = _batch([5, 1, 0, 2], seed=2)
    folder = write_cifar(tmp_path / "c", py2_pickle, train, test)
    assert b"numpy.core.multiarray\n_reconstruct" in (folder / "train").read_bytes()
    assert b"numpy._core.multiarray\n_reconstruct" in (folder / "test").read_bytes()
    res = run_import("cifar100", tmp_path / "c")
    check_counts(res)
    assert res.info.classes == FINE and res.info.image_root == "." and res.info.format == "cifar100"
    assert res.info.extra["vocabulary"] == "open" and res.info.extra["cifar100_labels"] == "fine"
    assert res.info.extra["superclasses"] == {"apple": "fruit_and_vegetables", "mushroom": "fruit_and_vegetables",
                                              "aquarium_fish": "fish", "flatfish": "fish",
                                              "dolphin": "aquatic_mammals"}
    m = res.manifest
    assert list(m["sample_id"]) == ["train00000", "train00001", "train00002", "train00006", "train00007",
                                    "test00000", "test00001", "test00002", "test00003"]
    assert list(m["label"]) == ["apple", "flatfish", "dolphin", "mushroom", "aquarium_fish",
                                "dolphin", "mushroom", "apple", "aquarium_fish"]
    assert list(m["coarse_label"]) == ["fruit_and_vegetables", "fish", "aquatic_mammals", "fruit_and_vegetables",
                                       "fish", "aquatic_mammals", "fruit_and_vegetables", "fruit_and_vegetables",
                                       "fish"]
    assert list(m["split"]) == ["train"] * 5 + ["test"] * 4
    assert list(m["filename"])[:2] == ["img_1_0.png", "img_1_1.png"]
    assert list(zip(res.report["sample_id"], res.report["row"], res.report["reason"])) == [
        ("train00003", 3, "label 99 is out of range 0..5"),
        ("train00004", 4, "fine label 'aquarium_fish' is in superclass 'aquatic_mammals' here but in 'fish' in "
                          "2 other image(s)"),
        ("train00005", 5, "coarse_label 7 is not a number in 0..2")]
    assert set(res.report["file"]) == {"cifar-100-python/train"}
    # pixels: 1024 red, 1024 green, 1024 blue values, row-major
    ds = load_dataset(res.out)
    img = load_image(ds.image_path("images/train/00001.png"))
    planes = train["data"][1].reshape(3, 32, 32)
    assert img.shape == (32, 32, 3) and np.array_equal(img, planes.transpose(1, 2, 0))
    assert np.array_equal(load_image(ds.image_path("images/test/00002.png")),
                          test["data"][2].reshape(3, 32, 32).transpose(1, 2, 0))


def test_coarse_labels_keep_the_fine_class(run_import, tmp_path, py2_pickle, check_counts):
    write_cifar(tmp_path / "c", py2_pickle, _batch([0, 3, 5], seed=3), sub="")
    res = run_import("cifar100", tmp_path / "c", cifar100_labels="coarse")
    check_counts(res)
    assert res.info.classes == COARSE
    assert list(res.manifest["label"]) == ["fruit_and_vegetables", "fish", "aquatic_mammals"]
    assert list(res.manifest["fine_label"]) == ["apple", "flatfish", "dolphin"]
    assert "coarse_label" not in res.manifest.columns


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_pickle_that_runs_code_is_refused(run_import, tmp_path, py2_pickle):
    folder = write_cifar(tmp_path / "c", py2_pickle, _batch([0, 1]))
    marker = tmp_path / "pwned"
    (folder / "train").write_bytes(pickle.dumps({b"data": _Evil(marker)}, protocol=2))
    with pytest.raises(ImportFailure) as e:
        run_import("cifar100", tmp_path / "c")
    msg = str(e.value)
    assert msg.startswith(f"{folder / 'train'}: refusing to load pickle: it references the global ")
    assert "system" in msg and "\n" not in msg and not marker.exists()


@pytest.mark.parametrize("damage, message", [
    (lambda f, p: (f / "train").write_bytes((f / "train").read_bytes()[:3000]),   # cut inside the pixels
     r"train: not a readable CIFAR pickle \(EOFError: the file ends before the pickle does\)$"),
    (lambda f, p: (f / "train").write_bytes(b"PK\x03\x04 a zip file?"),
     r"train: not a readable CIFAR pickle \(UnpicklingError: it uses persistent ids"),
    (lambda f, p: (f / "train").write_bytes(p([1, 2, 3])), r"train: holds a list, not the dict"),
    (lambda f, p: (f / "train").write_bytes(p({"data": _images(2, 0), "fine_labels": [0, 1]})),
     r"train: no 'coarse_labels' entry \(entries: data, fine_labels\)"),
    (lambda f, p: (f / "train").write_bytes(p(_batch([0, 1], data=np.zeros((2, 1024), np.uint8)))),
     r"train: 'data' is \(2, 1024\), not an \(N, 3072\) array of 32x32 RGB images"),
    (lambda f, p: (f / "train").write_bytes(p(_batch([0, 1], data=np.zeros((2, 3072), np.float32)))),
     r"train: 'data' holds float32, not uint8 pixels"),
    (lambda f, p: (f / "train").write_bytes(p(_batch([0, 1], coarse=[0]))), r"train: 2 images but 1 coarse_labels"),
    (lambda f, p: (f / "meta").write_bytes(p({"fine_label_names": ["a", "a"], "coarse_label_names": ["x"]})),
     r"meta: fine_label_names\[1\]: 'a' is listed twice \(also fine_label_names\[0\]\)"),
    (lambda f, p: (f / "meta").write_bytes(p({"fine_label_names": ["a", "b\tc"], "coarse_label_names": ["x"]})),
     r"meta: fine_label_names\[1\]: 'b\tc' contains a control character \(U\+0009\)"),
    (lambda f, p: (f / "meta").unlink(), r"no CIFAR-100 'meta' file"),
    (lambda f, p: (f / "train").unlink(), r"no 'train' or 'test' file beside 'meta'"),
])
def test_bad_files_fail_in_one_line(run_import, tmp_path, py2_pickle, damage, message):
    folder = write_cifar(tmp_path / "c", py2_pickle, _batch([0, 1]))
    damage(folder, py2_pickle)
    with pytest.raises(ImportFailure, match=message) as e:
        run_import("cifar100", tmp_path / "c")
    assert "\n" not in str(e.value)


def test_options_that_do_not_apply(run_import, tmp_path, py2_pickle):
    write_cifar(tmp_path / "c", py2_pickle, _batch([0, 1]))
    with pytest.raises(ImportFailure, match="--labels-only does not apply to cifar100"):
        run_import("cifar100", tmp_path / "c", labels_only=True)


def test_cli(tmp_path, py2_pickle, capsys):
    write_cifar(tmp_path / "c", py2_pickle, _batch([0, 3, 5, 1]), _batch([2], seed=5))
    assert main(["import", "--format", "cifar100", "--root", str(tmp_path / "c"), "--out", str(tmp_path / "ds"),
                 "--cifar100-labels", "coarse"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"imported 5 of 5 rows (0 rejected) into {tmp_path / 'ds'}: test 1, train 4"
    assert out[1] == "  3 classes (open vocabulary): fruit_and_vegetables, fish, aquatic_mammals"
