"""Any CSV: columns by option, the only *.csv by default, extra columns kept."""
from __future__ import annotations

import shutil

import pytest

from data_tools.importers import ImportFailure


@pytest.fixture
def root(tmp_path, special_images):
    r = tmp_path / "data"
    (r / "imgs").mkdir(parents=True)
    for n in ("a", "b", "c"):
        shutil.copy(special_images["rgb_png"], r / "imgs" / f"{n}.png")
    return r


def test_columns_split_and_extras(run_import, root, check_counts):
    (root / "meta.csv").write_text("file,emotion,part,subject,true_label,note\n"
                                   "imgs/a.png,Happy,Training,s1,happy,ok\n"
                                   "imgs\\b.png,anger,PrivateTest,s2,sadness,=1+1\n")
    res = run_import("csv", root, path_col="file", label_col="emotion", split_col="part")
    check_counts(res)
    m = res.manifest
    assert list(m["sample_id"]) == ["imgs/a", "imgs/b"]
    assert list(m["path"]) == ["imgs/a.png", "imgs/b.png"]  # a Windows separator is accepted
    assert list(m["label"]) == ["happy", "angry"] and list(m["split"]) == ["train", "test"]
    assert list(m["true_label"]) == ["happy", "sad"]  # label columns are normalised too
    assert list(m["subject"]) == ["s1", "s2"] and list(m["note"]) == ["ok", "=1+1"]


def test_bad_split_and_bad_true_label(run_import, root, reasons):
    (root / "x.csv").write_text("path,label,split,true_label\nimgs/a.png,happy,train,happy\n"
                                "imgs/b.png,sad,holdout,sad\nimgs/c.png,sad,test,meh\n")
    res = run_import("csv", root)
    assert reasons(res) == {"imgs/b.png": "split 'holdout' is not one of: train, val, test",
                            "imgs/c.png": "true_label: label 'meh' is not one of: happy, sad"}


def test_which_csv(run_import, root):
    with pytest.raises(ImportFailure, match=r"no \*\.csv file \(name one with --csv\)"):
        run_import("csv", root)
    (root / "one.csv").write_text("path,label\nimgs/a.png,happy\n")
    (root / "two.csv").write_text("path,label\nimgs/b.png,sad\n")
    with pytest.raises(ImportFailure, match=r"2 CSV files \(one.csv, two.csv\); name one with --csv"):
        run_import("csv", root)
    res = run_import("csv", root, csv="two.csv")
    assert list(res.manifest["label"]) == ["sad"]


def test_group_column_keeps_groups_apart(run_import, root):
    rows = "".join(f"imgs/a.png,happy,g{i % 3}\n".replace("a.png", f"{n}.png") for i, n in enumerate("abc"))
    (root / "g.csv").write_text("path,label,group\n" + rows)
    res = run_import("csv", root, test_fraction=0.34)
    assert list(res.manifest["group"]) == ["g0", "g1", "g2"]
    assert (res.manifest["split"] == "test").sum() == 1


def test_numeric_labels(run_import, root):
    (root / "n.csv").write_text("path,label\nimgs/a.png,3\nimgs/b.png,6\n")
    res = run_import("csv", root, numeric_labels="fer2013", test_fraction=0)
    assert list(res.manifest["label"]) == ["happy", "neutral"]
