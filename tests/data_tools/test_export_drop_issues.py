"""export --drop-issues: a cleaned set without reviewing each flagged row; exactly the planted rows go,
duplicates keep one face per group, leaks lose their test copy, reviewed rows keep their decision."""
from __future__ import annotations

import pandas as pd
import pytest

from data_tools.__main__ import main as cli
from data_tools.audit import Audit
from data_tools.issues import compute_issues
from support.planted_issues import make_dataset


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    root = tmp_path_factory.mktemp("drop")
    ds = make_dataset(root)
    compute_issues(ds, jobs=1)
    return root, ds


def _audit(root, ds, name, decisions=()):
    a = Audit.open(root / name / "audit.sqlite", dataset=str(ds), run=str(root / name))
    for sid, action in decisions:
        a.record(sid, action, reviewer="ann")
    return a.path


def _export(audit, out, kinds, fmt="csv"):
    return cli(["export", "--audit", str(audit), "--format", fmt, "--out", str(out), "--drop-issues", kinds])


def test_drops_exactly_the_planted_rows(planted, capsys):
    root, ds = planted
    audit = _audit(root, ds, "r1")
    out = root / "clean.csv"
    kinds = "label_conflict,split_leak,exact_duplicate,near_duplicate,blank,dark,bright,low_information,blurry"
    assert _export(audit, out, kinds) == 0
    kept = set(pd.read_csv(out, dtype=str)["sample_id"])
    every = set(pd.read_csv(ds / "manifest.csv", dtype=str)["sample_id"])
    dropped = {"a0_copy",                 # exact duplicate: one copy kept (a0, first in the manifest)
               "a1_test",                 # the leak's test copy (a1 stays in train)
               "a2", "a2_sad",            # label conflict: neither label can be trusted
               "b0_resized", "c0_jpeg",   # near duplicates: the first of each pair stays
               "d0_shift", "e0_crop",
               "blank", "dark", "bright", "twotone", "blurry"}
    assert every - kept == dropped
    report = pd.read_csv(root / "clean.csv.dropped_issues.csv", dtype=str)
    assert set(report["sample_id"]) == dropped and set(report["applied"]) == {"removed"}
    assert report.set_index("sample_id").loc["a2_sad", "issue"] == "label_conflict"
    assert report.set_index("sample_id").loc["a1_test", "issue"] == "split_leak"
    out_text = capsys.readouterr().out
    assert "dropped 13 rows for their issues (label_conflict 2, split_leak 1, exact_duplicate 1, " \
           "near_duplicate 4, blank 1, dark 1, bright 1, low_information 1, blurry 1)" in out_text


def test_only_the_named_types_and_reviewed_rows_win(planted, capsys):
    root, ds = planted
    audit = _audit(root, ds, "r2", [("blank", "keep")])
    out = root / "clean2.csv"
    assert _export(audit, out, "blank,exact_duplicate") == 0
    table = pd.read_csv(out, dtype=str)
    gone = set(pd.read_csv(ds / "manifest.csv", dtype=str)["sample_id"]) - set(table["sample_id"])
    assert gone == {"a0_copy", "a1_test", "a2_sad"}      # one of each exact group; blank was reviewed: kept
    report = pd.read_csv(root / "clean2.csv.dropped_issues.csv", dtype=str).set_index("sample_id")
    assert report.loc["blank", "applied"] == "kept the decision 'keep'"
    assert "; 1 flagged rows kept their reviewed decision" in capsys.readouterr().out


def test_manifest_export_lists_drops_in_the_folder(planted):
    root, ds = planted
    audit = _audit(root, ds, "r3")
    out = root / "clean_ds"
    assert _export(audit, out, "split_leak", fmt="manifest") == 0
    assert set(pd.read_csv(out / "dropped_issues.csv", dtype=str)["sample_id"]) == {"a1_test"}
    assert "a1_test" not in set(pd.read_csv(out / "manifest.csv", dtype=str)["sample_id"])


@pytest.mark.parametrize("kinds, message", [
    ("blank,dusty", "--drop-issues: unknown issue type 'dusty' (one or more of: label_conflict"),
    (",", "--drop-issues: no issue type"),
])
def test_bad_types_are_one_line(planted, capsys, kinds, message):
    root, ds = planted
    assert _export(_audit(root, ds, "r4"), root / "x.csv", kinds) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert not (root / "x.csv").exists()


def test_missing_issues_file_is_one_line(tmp_path, capsys):
    ds = make_dataset(tmp_path)
    assert _export(_audit(tmp_path, ds, "r"), tmp_path / "x.csv", "blank") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "issues.parquet: no such file; compute it with python -m data_tools issues" in err
