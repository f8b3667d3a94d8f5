"""`python -m data_tools import`: success prints a summary; every error is one line on stderr."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from data_tools.__main__ import main

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def tree(tmp_path, special_images):
    root = tmp_path / "tree"
    for rel in ("happy/a.png", "sad/b.png", "sad/c.png"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(special_images["rgb_png"], root / rel)
    shutil.copy(special_images["zero_byte"], root / "sad" / "zero.png")
    return root


def _one_line_error(capsys, argv) -> str:
    code = None
    try:
        code = main(argv)
    except SystemExit as e:  # argparse errors
        code = e.code
    err = capsys.readouterr().err
    assert code not in (0, None)
    assert err.count("\n") == 1 and err.startswith("error: "), err
    assert "Traceback" not in err
    return err.strip()


def test_success_prints_a_summary(tmp_path, tree, capsys):
    assert main(["import", "--format", "folders", "--root", str(tree), "--out", str(tmp_path / "ds"),
                 "--test-fraction", "0"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"imported 3 of 4 rows (1 rejected) into {tmp_path / 'ds'}: train 3"
    assert "rejected 1: unreadable image: empty file (0 bytes)" in out
    info = json.loads((tmp_path / "ds" / "dataset.json").read_text())
    assert info["format"] == "folders" and info["classes"] == ["happy", "sad"]
    assert info["counts"]["read"] == 4 and info["image_root"] == str(tree.resolve())


def test_reimport_into_the_same_dataset_folder_is_allowed_with_replace(tmp_path, tree, capsys):
    argv = ["import", "--format", "folders", "--root", str(tree), "--out", str(tmp_path / "ds")]
    assert main(argv) == 0 and main([*argv, "--replace"]) == 0
    assert _one_line_error(capsys, argv) == (f"error: --out {tmp_path / 'ds'} already holds the dataset 'ds' "
                                             "(3 images); pass --replace to replace it")


def test_one_line_errors(tmp_path, tree, capsys):
    out = str(tmp_path / "ds")
    (tmp_path / "hdr").mkdir()
    (tmp_path / "hdr" / "labels.csv").write_text("path,label\n")
    (tmp_path / "e").mkdir()
    (tmp_path / "e" / "labels.csv").write_text("")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "keep.txt").write_text("mine")
    cases = {
        ("--format", "csv", "--root", str(tmp_path / "hdr")):
            f"error: {tmp_path / 'hdr' / 'labels.csv'}: header only, no data rows",
        ("--format", "csv", "--root", str(tmp_path / "e")): f"error: {tmp_path / 'e' / 'labels.csv'}: empty file",
        ("--format", "folders", "--root", str(tmp_path / "nope")): f"error: {tmp_path / 'nope'}: no such folder",
    }
    for args, expected in cases.items():
        assert _one_line_error(capsys, ["import", *args, "--out", out]) == expected
    assert _one_line_error(capsys, ["import", "--format", "folders", "--root", str(tree), "--out",
                                    str(tmp_path / "busy")]).endswith(
        "is not empty and is not a dataset folder; choose a new folder")
    assert "invalid choice: 'xyz'" in _one_line_error(
        capsys, ["import", "--format", "xyz", "--root", str(tree), "--out", out])
    assert "the following arguments are required: --root" in _one_line_error(
        capsys, ["import", "--format", "folders", "--out", out])


def test_all_rows_rejected_writes_the_report_and_fails(tmp_path, capsys):
    root = tmp_path / "bad"
    (root / "happy").mkdir(parents=True)
    (root / "happy" / "x.png").write_bytes(b"")
    err = _one_line_error(capsys, ["import", "--format", "folders", "--root", str(root), "--out",
                                   str(tmp_path / "ds")])
    assert err == (f"error: no rows imported from {root}: all 1 rows were rejected "
                   f"(reasons in {tmp_path / 'ds.rejected.csv'}); no dataset was written")
    assert (tmp_path / "ds.rejected.csv").read_text().count("\n") == 2
    assert not (tmp_path / "ds").exists()     # issue 22: an import that imports nothing writes no dataset


def test_runs_as_a_module(tmp_path, tree):
    proc = subprocess.run([sys.executable, "-m", "data_tools", "import", "--format", "folders", "--root",
                           str(tree), "--out", str(tmp_path / "ds")], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("imported 3 of 4 rows")
