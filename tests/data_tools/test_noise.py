"""Noise injection: exact counts, never the same class, uniform targets, repeatable, train split only;
and the same statistics as the EAC paper's RAF-DB noise files."""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data_tools import noise
from data_tools.classes import BASIC7
from data_tools.manifest import DatasetInfo, ManifestError, load_dataset, write_dataset

RAFDB = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "rafdb_labels"


def labels(n: int, k: int = 7, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, k, n)


# ---- symmetric -------------------------------------------------------------------------------

@pytest.mark.parametrize("n,rate,want", [(1000, 0.0, 0), (1000, 0.1, 100), (1000, 0.333, 333),
                                         (10, 0.25, 3), (10, 0.35, 4), (7, 1.0, 7), (0, 0.5, 0)])
def test_symmetric_flips_exactly_round_rate_n_and_never_to_own_class(n, rate, want):
    y = labels(n)
    z = noise.inject_symmetric(y, 7, rate, seed=3)
    changed = z != y
    assert changed.sum() == want
    assert z.dtype == np.int64 and z.shape == y.shape
    assert ((z >= 0) & (z < 7)).all()


def test_symmetric_per_class_flips_round_rate_nc_in_each_class():
    y = np.repeat(np.arange(4), [10, 25, 3, 62])
    z = noise.inject_symmetric(y, 4, 0.3, seed=0, per_class=True)
    flipped = [(z[y == c] != c).sum() for c in range(4)]
    assert flipped == [3, 8, 1, 19]  # round(3.0), round(7.5), round(0.9), round(18.6)


def test_symmetric_is_seeded_and_repeatable():
    y = labels(500)
    a = noise.inject_symmetric(y, 7, 0.2, seed=5)
    b = noise.inject_symmetric(y, 7, 0.2, seed=5)
    c = noise.inject_symmetric(y, 7, 0.2, seed=6)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert np.array_equal(y, labels(500))  # input untouched


def test_symmetric_targets_are_uniform_over_the_other_classes():
    y = np.zeros(60000, np.int64)
    z = noise.inject_symmetric(y, 4, 1.0, seed=0)
    counts = np.bincount(z, minlength=4)
    assert counts[0] == 0
    assert counts[1:].sum() == 60000
    assert np.abs(counts[1:] / 60000 - 1 / 3).max() < 0.01
    assert noise.noise_stats(y, z, 4)["target_uniform_p"] > 0.001


@pytest.mark.parametrize("bad,msg", [
    (dict(labels=np.array([0, 1, 7]), num_classes=7, rate=0.1), "0..6"),
    (dict(labels=np.array([0.0, 1.0]), num_classes=7, rate=0.1), "integer"),
    (dict(labels=np.array([0, 1]), num_classes=7, rate=1.5), "between 0 and 1"),
    (dict(labels=np.array([0, 0]), num_classes=1, rate=0.1), "at least 2"),
])
def test_symmetric_rejects_bad_input(bad, msg):
    with pytest.raises(ValueError, match=msg):
        noise.inject_symmetric(bad["labels"], bad["num_classes"], bad["rate"], seed=0)


# ---- asymmetric ------------------------------------------------------------------------------

def test_confusable_transition_pairs_the_confusable_expressions():
    t = noise.confusable_transition(BASIC7)
    pos = {c: i for i, c in enumerate(BASIC7)}
    assert np.allclose(t.sum(axis=1), 1.0) and np.allclose(np.diag(t), 0.0)
    best = {c: BASIC7[int(t[pos[c]].argmax())] for c in BASIC7}
    assert best["fear"] == "surprise" and best["surprise"] == "fear"
    assert best["sad"] == "neutral" and best["neutral"] == "sad"
    assert best["disgust"] == "angry" and best["angry"] == "disgust"


def test_confusable_transition_follows_any_class_order_and_subset():
    t = noise.confusable_transition(["surprise", "happy", "fear"])
    assert np.allclose(t, [[0, 0.2 / 0.85, 0.65 / 0.85], [1, 0, 0], [1, 0, 0]])
    # no listed target present: uniform over the others
    assert np.allclose(noise.confusable_transition(["fear", "happy", "contempt"])[0], [0, 0.5, 0.5])


def test_asymmetric_exact_count_targets_follow_the_matrix():
    t = np.array([[0, 1, 0], [0, 0, 1], [0.5, 0.5, 0]])
    y = np.repeat(np.arange(3), [100, 100, 100])
    z = noise.inject_asymmetric(y, t, 0.2, seed=0, per_class=True)
    assert [(z[y == c] != c).sum() for c in range(3)] == [20, 20, 20]
    assert set(z[(y == 0) & (z != 0)]) == {1}
    assert set(z[(y == 1) & (z != 1)]) == {2}
    assert set(z[(y == 2) & (z != 2)]) == {0, 1}
    assert (noise.inject_asymmetric(y, t, 0.2, seed=0) != y).sum() == 60


def test_asymmetric_never_flips_a_class_without_targets_and_refuses_impossible_rates():
    t = np.array([[0, 1], [0, 0]])  # class 1 stays
    y = np.array([0] * 10 + [1] * 10)
    z = noise.inject_asymmetric(y, t, 0.4, seed=1)
    assert (z[10:] == 1).all() and (z[:10] != 0).sum() == 8
    with pytest.raises(ValueError, match="asks for 12 flips"):
        noise.inject_asymmetric(y, t, 0.6, seed=1)
    with pytest.raises(ValueError, match="square"):
        noise.inject_asymmetric(y, np.ones((2, 3)), 0.1, seed=1)
    with pytest.raises(ValueError, match="non-negative"):
        noise.inject_asymmetric(y, np.array([[0, -1], [1, 0]]), 0.1, seed=1)


def test_read_transition_csv(tmp_path):
    f = tmp_path / "t.csv"
    f.write_text("from,fear,surprise,sad\nfear,0,3,1\nsurprise,2,5,\n", encoding="utf-8")
    t = noise.read_transition_csv(f, ["sad", "fear", "surprise"])
    assert np.allclose(t, [[0, 0, 0], [0.25, 0, 0.75], [0, 1, 0]])
    f.write_text("from,fear,happy\nfear,0,x\n", encoding="utf-8")
    with pytest.raises(ManifestError, match=r"t\.csv row 2: 'x' in column 'happy' is not a number"):
        noise.read_transition_csv(f, ["fear", "happy"])
    f.write_text("from,fear,happy\nangry,0,1\n", encoding="utf-8")
    with pytest.raises(ManifestError, match="row 2: class 'angry'"):
        noise.read_transition_csv(f, ["fear", "happy"])


def test_noise_stats_exact_values():
    s = noise.noise_stats(np.array([0, 0, 1, 1, 2, 2]), np.array([0, 1, 1, 0, 0, 2]), 3)
    assert s["n_flipped"] == 3 and s["rate"] == 0.5
    assert s["per_class_flipped"].tolist() == [1, 1, 1]
    assert s["counts"].tolist() == [[1, 1, 0], [1, 1, 0], [1, 0, 1]]
    assert s["per_class_rate_spread"] == 0.0


# ---- dataset folders and the command -------------------------------------------------------

def _tiny_dataset(root: Path, with_true: bool = False) -> Path:
    n_train, n_test = 20, 6
    lab = [BASIC7[i % 7] for i in range(n_train + n_test)]
    df = pd.DataFrame({"sample_id": [f"{i:04d}" for i in range(n_train + n_test)],
                       "path": [f"img/{i}.png" for i in range(n_train + n_test)], "label": lab,
                       "split": ["train"] * n_train + ["test"] * n_test})
    if with_true:
        df["true_label"] = "neutral"
    info = DatasetInfo(classes=list(BASIC7), image_root="images", format="folders")
    return write_dataset(root / "src", df, info)


def test_add_noise_to_dataset_writes_a_new_folder(tmp_path):
    src = _tiny_dataset(tmp_path)
    out = noise.add_noise_to_dataset(src, tmp_path / "noisy", rate=0.2, kind="symmetric", seed=0)
    before, after = load_dataset(src), load_dataset(out)
    b, a = before.manifest, after.manifest
    assert a["sample_id"].tolist() == b["sample_id"].tolist()  # ids kept as strings
    assert (a["source_label"] == b["label"]).all() and (a["true_label"] == b["label"]).all()
    train = a["split"] == "train"
    assert ((a["label"] != a["source_label"]) & train).sum() == 4  # round(0.2 * 20)
    assert (a.loc[~train, "label"] == b.loc[~train, "label"]).all()
    assert after.image_root == before.image_root == (tmp_path / "src" / "images").resolve()
    assert after.info.image_root == "../src/images"
    assert after.info.extra["noise"]["n_flipped"] == 4
    assert after.info.counts["imported"] == 26
    assert load_dataset(src).manifest.equals(b)  # source untouched
    again = noise.add_noise_to_dataset(src, tmp_path / "again", rate=0.2, kind="symmetric", seed=0)
    assert (again / "manifest.csv").read_bytes() == (out / "manifest.csv").read_bytes()


def test_add_noise_keeps_true_label_and_refuses_overwriting(tmp_path):
    src = _tiny_dataset(tmp_path, with_true=True)
    out = noise.add_noise_to_dataset(src, tmp_path / "n", rate=0.5, kind="asymmetric", seed=1, per_class=True)
    m = load_dataset(out).manifest
    assert (m["true_label"] == "neutral").all()
    assert ((m["label"] != m["source_label"]) & (m["split"] == "train")).sum() == 13  # 6 classes of 3: 2 each; 1 of 2: 1
    with pytest.raises(ValueError, match="new folder"):
        noise.add_noise_to_dataset(src, src, rate=0.1)
    with pytest.raises(ValueError, match="already holds a dataset"):
        noise.add_noise_to_dataset(src, out, rate=0.1)
    with pytest.raises(ValueError, match="only used with kind 'asymmetric'"):
        noise.add_noise_to_dataset(src, tmp_path / "x", rate=0.1, transition_file=tmp_path / "t.csv")


def test_noise_command(tmp_path, capsys):
    from data_tools.__main__ import main

    src = _tiny_dataset(tmp_path)
    t = tmp_path / "t.csv"
    t.write_text("from," + ",".join(BASIC7) + "\n" + "\n".join(
        f"{c}," + ",".join("1" if d == "neutral" and c != "neutral" else ("1" if c == "neutral" and d == "sad" else "0")
                           for d in BASIC7) for c in BASIC7) + "\n", encoding="utf-8")
    rc = main(["noise", "--dataset", str(src), "--out", str(tmp_path / "n"), "--rate", "0.25",
               "--kind", "asymmetric", "--seed", "2", "--transition", str(t)])
    assert rc == 0
    assert "flipped 5 of 20 train labels" in capsys.readouterr().out
    m = load_dataset(tmp_path / "n").manifest
    moved = m[m["label"] != m["source_label"]]
    assert len(moved) == 5
    assert all((s == "neutral") == (d == "sad") and (s == "neutral" or d == "neutral")
               for s, d in zip(moved["source_label"], moved["label"]))
    rc = main(["noise", "--dataset", str(tmp_path / "nothing"), "--out", str(tmp_path / "o"), "--rate", "0.1"])
    assert rc == 2
    assert capsys.readouterr().err.startswith("error: ")


# ---- the EAC paper's RAF-DB noise files ------------------------------------------------------

def _read_rafdb(name: str) -> dict[str, int]:
    out = {}
    for line in (RAFDB / name).read_text(encoding="utf-8").splitlines():
        if line.strip():
            file, lab = line.split()
            out[file] = int(lab) - 1
    return out


@pytest.fixture(scope="module")
def rafdb():
    if not (RAFDB / "list_patition_label.txt").is_file():
        pytest.skip(f"real RAF-DB label lists not found at {RAFDB}")
    clean = _read_rafdb("list_patition_label.txt")
    names = [f for f in clean if f.startswith("train_")]
    y = np.array([clean[f] for f in names])
    paper = {}
    for f in ("noise01.txt", "noise02.txt", "noise03.txt"):
        nz = _read_rafdb(f)
        paper[f] = np.array([nz[n] for n in names])
    return y, paper


@pytest.mark.parametrize("rate,paper_file,paper_flips", [(0.1, "noise01.txt", 1241), (0.2, "noise02.txt", 2498),
                                                         (0.3, "noise03.txt", 3722)])
def test_symmetric_noise_matches_the_paper_files_statistics(rafdb, rate, paper_file, paper_flips):
    y, paper = rafdb
    assert len(y) == 12271
    ref = noise.noise_stats(y, paper[paper_file], 7)
    assert ref["n_flipped"] == paper_flips
    z = noise.inject_symmetric(y, 7, rate, seed=0)
    ours = noise.noise_stats(y, z, 7)
    assert ours["n_flipped"] == round(rate * 12271) == {0.1: 1227, 0.2: 2454, 0.3: 3681}[rate]
    assert np.diag(ours["counts"]).sum() == 12271 - ours["n_flipped"]  # none kept its class
    assert (ours["per_class_n"] == np.bincount(y, minlength=7)).all()
    # flat per-class flip rates, as flat as the paper's (its spreads: 0.037, 0.036, 0.026)
    spreads = [noise.noise_stats(y, p, 7)["per_class_rate_spread"] for p in paper.values()]
    assert ours["per_class_rate_spread"] <= 1.5 * max(spreads)
    assert ours["per_class_flat_p"] > 0.001 and ref["per_class_flat_p"] > 0.001
    # targets uniform over the other six classes: chi-square does not reject, as for the paper file
    assert ours["target_uniform_p"] > 0.001 and ref["target_uniform_p"] > 0.001
    assert ours["target_dof"] == ref["target_dof"] == 35


def test_noisy_folder_elsewhere_points_at_the_images_by_absolute_path(tmp_path):
    src = _tiny_dataset(tmp_path / "a")
    out = noise.add_noise_to_dataset(src, tmp_path / "b" / "deep" / "n", rate=0.1, seed=0)
    ds = load_dataset(out)
    assert ds.info.image_root == str((tmp_path / "a" / "src" / "images").resolve())
    assert ds.image_root == load_dataset(src).image_root


# ---- many classes and CIFAR-100 superclasses (issue 10) -------------------------------------------

def test_symmetric_with_100_and_200_classes():
    for k in (100, 200):
        y = np.repeat(np.arange(k), 20)
        z = noise.inject_symmetric(y, k, 0.4, seed=0)
        assert (z != y).sum() == round(0.4 * len(y))
        assert z.min() >= 0 and z.max() < k
        assert len(set(z[z != y])) > k // 2          # flips spread over the other classes
        zc = noise.inject_symmetric(y, k, 0.2, seed=0, per_class=True)
        assert all((zc[y == c] != c).sum() == 4 for c in range(k))


def test_superclass_transition_is_the_next_class_of_the_superclass():
    classes = ["apple", "aquarium_fish", "baby", "flatfish", "mushroom", "boy", "ray", "loner", "stray"]
    sup = {"apple": "fruit", "mushroom": "fruit", "aquarium_fish": "fish", "flatfish": "fish", "ray": "fish",
           "baby": "people", "boy": "people", "loner": "alone"}
    t = noise.superclass_transition(classes, sup)
    pos = {c: i for i, c in enumerate(classes)}
    target = {classes[i]: classes[int(np.argmax(t[i]))] for i in range(len(classes)) if t[i].sum()}
    assert target == {"apple": "mushroom", "mushroom": "apple",
                      "aquarium_fish": "flatfish", "flatfish": "ray", "ray": "aquarium_fish",
                      "baby": "boy", "boy": "baby"}
    assert t[pos["loner"]].sum() == 0 and t[pos["stray"]].sum() == 0   # alone, or no superclass: never flipped
    assert set(np.unique(t)) == {0.0, 1.0}


def test_superclass_noise_exact_flips():
    classes = ["a1", "a2", "a3", "b1", "b2"]
    t = noise.superclass_transition(classes, {"a1": "A", "a2": "A", "a3": "A", "b1": "B", "b2": "B"})
    y = np.repeat(np.arange(5), 10)
    z = noise.inject_asymmetric(y, t, 0.3, seed=4, per_class=True)
    flipped = z != y
    assert [int(flipped[y == c].sum()) for c in range(5)] == [3, 3, 3, 3, 3]
    assert {(int(a), int(b)) for a, b in zip(y[flipped], z[flipped])} == {(0, 1), (1, 2), (2, 0), (3, 4), (4, 3)}


def test_superclass_noise_on_an_imported_cifar100(tmp_path, py2_pickle):
    from data_tools.importers import import_dataset
    fine = ["apple", "mushroom", "orange", "aquarium_fish", "flatfish"]
    coarse = ["fruit_and_vegetables", "fish"]
    sup = [0, 0, 0, 1, 1]
    y = [i % 5 for i in range(50)]
    folder = tmp_path / "cifar" / "cifar-100-python"
    folder.mkdir(parents=True)
    (folder / "meta").write_bytes(py2_pickle({"fine_label_names": fine, "coarse_label_names": coarse}))
    (folder / "train").write_bytes(py2_pickle({"data": np.zeros((50, 3072), np.uint8), "fine_labels": y,
                                               "coarse_labels": [sup[f] for f in y]}))
    src = import_dataset("cifar100", tmp_path / "cifar", tmp_path / "datasets" / "c100").out
    out = noise.add_noise_to_dataset(src, tmp_path / "datasets" / "c100_super", rate=0.2, kind="superclass",
                                     seed=1, per_class=True)
    ds = load_dataset(out)
    m = ds.manifest
    moved = m[m["label"] != m["true_label"]]
    assert len(moved) == 10 and moved["true_label"].value_counts().to_dict() == dict.fromkeys(fine, 2)
    nxt = {"apple": "mushroom", "mushroom": "orange", "orange": "apple", "aquarium_fish": "flatfish",
           "flatfish": "aquarium_fish"}
    assert all(nxt[t] == n for t, n in zip(moved["true_label"], moved["label"]))
    assert ds.info.extra["noise"]["kind"] == "superclass" and ds.info.extra["superclasses"]["orange"] == \
        "fruit_and_vegetables"
    # the map travels with noised copies; without it, the coarse_label column (read against true_label) serves
    again = noise.add_noise_to_dataset(out, tmp_path / "datasets" / "twice", rate=0.1, kind="superclass", seed=2)
    assert load_dataset(again).info.extra["superclasses"] == ds.info.extra["superclasses"]
    info = load_dataset(src).info
    info.extra.pop("superclasses")
    write_dataset(tmp_path / "nomap", load_dataset(src).manifest, info)
    assert noise.dataset_superclasses(load_dataset(tmp_path / "nomap")) == {
        "apple": "fruit_and_vegetables", "mushroom": "fruit_and_vegetables", "orange": "fruit_and_vegetables",
        "aquarium_fish": "fish", "flatfish": "fish"}


def test_superclass_noise_needs_superclasses(tmp_path):
    src = _tiny_dataset(tmp_path)
    with pytest.raises(ValueError, match="kind 'superclass' needs each class's superclass"):
        noise.add_noise_to_dataset(src, tmp_path / "n", rate=0.1, kind="superclass")
    df = load_dataset(src).manifest
    df["coarse_label"] = ["x"] * (len(df) - 1) + ["y"]   # the last row (sad, 25 % 7 = 4) contradicts the others
    write_dataset(tmp_path / "bad", df, load_dataset(src).info)
    with pytest.raises(ValueError, match=r"manifest.csv row 27: class 'sad' is in superclass 'y' here but 'x'"):
        noise.dataset_superclasses(load_dataset(tmp_path / "bad"))
