"""Open class vocabulary for the generic importers (issue 10, section 2): any names, Unicode included;
the expression aliases still fold spellings when the labels are expression names."""
from __future__ import annotations

import json
import shutil

import pytest

from data_tools.__main__ import main
from data_tools.importers import ImportFailure
from data_tools.manifest import load_dataset


def _csv(root, text: str):
    root.mkdir(parents=True, exist_ok=True)
    (root / "labels.csv").write_bytes(text.encode("utf-8"))
    return root


def test_unicode_and_made_up_names_are_classes(run_import, tmp_path, reasons, check_counts):
    root = _csv(tmp_path / "u", "path,label\n"
                "a.png,Glück\nb.png,счастье\nc.png,class042\nd.png,Glu\u0308ck\ne.png, class042 \n"
                "f.png,bad\tname\ng.png,\nh.png,class7\n")
    res = run_import("csv", root, labels_only=True, test_fraction=0)
    check_counts(res)
    assert res.info.classes == ["class7", "class042", "Glück", "счастье"]
    assert res.info.extra["vocabulary"] == "open"
    assert dict(zip(res.manifest["path"], res.manifest["label"])) == {
        "a.png": "Glück", "b.png": "счастье", "c.png": "class042", "d.png": "Glück", "e.png": "class042",
        "h.png": "class7"}
    assert reasons(res) == {"f.png": "label 'bad\tname' contains a control character (U+0009)",
                            "g.png": "empty label"}
    ds = load_dataset(res.out)                       # the written folder satisfies the contract
    assert ds.classes == res.info.classes and json.loads((res.out / "dataset.json").read_text(
        encoding="utf-8"))["classes"][2] == "Glück"


def test_classes_option_takes_any_names(run_import, tmp_path, reasons):
    root = _csv(tmp_path / "c", "path,label\na.png,Glück\nb.png,счастье\nc.png,happy\n")
    res = run_import("csv", root, labels_only=True, classes=["Glück", "счастье"], test_fraction=0)
    assert res.info.classes == ["Glück", "счастье"] and res.info.extra["vocabulary"] == "open"
    assert reasons(res) == {"c.png": "label 'happy' is not one of: Glück, счастье"}
    with pytest.raises(ImportFailure, match=r"^--classes: 'a\tb' contains a control character \(U\+0009\)$"):
        run_import("csv", root, labels_only=True, classes=["Glück", "a\tb"])


def test_mostly_expression_labels_keep_the_expression_vocabulary(run_import, tmp_path, reasons):
    root = _csv(tmp_path / "e", "path,label\na.png,Happiness\nb.png,anger\nc.png,sad\nd.png,Glück\n")
    res = run_import("csv", root, labels_only=True, test_fraction=0)
    assert res.info.classes == ["angry", "happy", "sad"] and res.info.extra["vocabulary"] == "expression"
    assert reasons(res) == {"d.png": "label 'Glück' is not one of: angry, happy, sad"}
    # asked for, every label is a class as written (no folding of Happiness onto happy)
    res = run_import("csv", root, labels_only=True, test_fraction=0, vocabulary="open")
    assert res.info.classes == ["anger", "Glück", "Happiness", "sad"] and len(res.report) == 0


def test_half_expression_labels_tip_to_expression(run_import, tmp_path, reasons):
    root = _csv(tmp_path / "h", "path,label\na.png,happy\nb.png,Glück\n")
    res = run_import("csv", root, labels_only=True, test_fraction=0)
    assert res.info.classes == ["happy"] and reasons(res) == {"b.png": "label 'Glück' is not one of: happy"}


def test_numeric_labels_need_an_order_or_open(run_import, tmp_path):
    root = _csv(tmp_path / "n", "path,label\na.png,10\nb.png,2\nc.png,2\n")
    with pytest.raises(ImportFailure, match=r"every label is a number: name their order with --numeric-labels "
                                            r"fer2013\|rafdb\|affectnet, or keep the numbers as class names "
                                            r"with --vocabulary open"):
        run_import("csv", root, labels_only=True)
    res = run_import("csv", root, labels_only=True, vocabulary="open", test_fraction=0)
    assert res.info.classes == ["2", "10"] and list(res.manifest["label"]) == ["10", "2", "2"]
    with pytest.raises(ImportFailure, match="cannot be combined with --vocabulary open"):
        run_import("csv", root, labels_only=True, vocabulary="open", numeric_labels="fer2013")


def test_long_class_list_in_messages_is_shortened(run_import, tmp_path, reasons):
    names = [f"c{i}" for i in range(20)]
    root = _csv(tmp_path / "l", "path,label\n" + "".join(f"{n}.png,{n}\n" for n in names) + "x.png,other\n")
    res = run_import("csv", root, labels_only=True, classes=names, test_fraction=0)
    assert reasons(res) == {"x.png": "label 'other' is not one of: c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, "
                                     "c10, c11 and 8 more"}


def test_folders_with_unicode_class_folders(run_import, tmp_path, special_images, check_counts):
    root = tmp_path / "f"
    for rel in ("Glück/a.png", "счастье/b.png", "class042/c.png", "Glu\u0308ck/d.png"):  # macOS writes NFD
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(special_images["rgb_png"], root / rel)
    res = run_import("folders", root, test_fraction=0)
    check_counts(res)
    assert res.info.classes == ["class042", "Glück", "счастье"]
    assert dict(zip(res.manifest["path"], res.manifest["label"])) == {
        "Glück/a.png": "Glück", "счастье/b.png": "счастье", "class042/c.png": "class042",
        "Glu\u0308ck/d.png": "Glück"}


def test_cli_prints_classes_and_the_vocabulary_hint(tmp_path, capsys):
    root = _csv(tmp_path / "cli", "path,label\na.png,happy\nb.png,sad\nc.png,Glück\n")
    assert main(["import", "--format", "csv", "--root", str(root), "--out", str(tmp_path / "ds"),
                 "--labels-only", "--test-fraction", "0"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1] == "  2 classes (expression vocabulary): happy, sad"
    assert out[2] == "  rejected 1: label '...' is not one of: happy, sad"
    assert out[3].startswith("  (labels that are not expression names were rejected; --vocabulary open")
    assert main(["import", "--format", "csv", "--root", str(root), "--out", str(tmp_path / "ds2"),
                 "--labels-only", "--test-fraction", "0", "--classes", "Glück,happy,sad"]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == ["  3 classes (open vocabulary): Glück, happy, sad"]
