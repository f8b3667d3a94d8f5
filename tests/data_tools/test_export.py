"""Corrected-label export: every format, round trips, formula neutralisation, atomic writes, the CLI."""
from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import pandas as pd
import pytest

import data_tools.__main__ as cli
from data_tools import export as ex
from data_tools.audit import Audit
from data_tools.classes import RAFDB_ORDER
from data_tools.manifest import DatasetInfo, load_dataset, read_manifest_csv, write_dataset

RAFDB_LIST = Path(__file__).resolve().parents[3] / "shared" / "data" / "rafdb_labels" / "list_patition_label.txt"
VOTES = ["neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt", "unknown", "NF"]


def _votes(**v: int) -> dict[str, str]:
    return {f"vote_{c}": str(v.get(c, 0)) for c in VOTES}


ROWS = [  # sample_id, path, label, split, votes
    ("007", "img/007.png", "happy", "train", _votes(happiness=8, neutral=2)),
    ("s2", "img/s2.png", "sad", "train", _votes(sadness=6, neutral=3, unknown=1)),
    ("s3", "img/s3.png", "fear", "train", _votes(fear=5, surprise=4, NF=1)),
    ("s4", "img/s4.png", "angry", "train", _votes(anger=9, disgust=1)),
    ("s5", "img/s5.png", "surprise", "val", _votes(surprise=10)),
    ("s6", "img/s6.png", "neutral", "test", _votes(neutral=7, sadness=3)),
]


@pytest.fixture
def ds(tmp_path) -> Path:
    m = pd.DataFrame([{"sample_id": s, "path": p, "label": l, "split": sp, **v} for s, p, l, sp, v in ROWS])
    m["true_label"] = m["label"]
    return write_dataset(tmp_path / "datasets" / "tiny", m,
                         DatasetInfo(classes=list(RAFDB_ORDER), image_root="../../images", format="ferplus"))


@pytest.fixture
def audited(ds, tmp_path):
    """keep 007, relabel s2 -> neutral, remove s3, unsure s4, relabel s5 then undo; s6 undecided."""
    a = Audit.open(tmp_path / "runs" / "r1" / "audit.sqlite", dataset=str(ds), run=str(tmp_path / "runs" / "r1"))
    a.record("007", "keep", reviewer="ann")
    a.record("s2", "relabel", "neutral", reviewer="ann", note="looks calm")
    a.record("s3", "remove", reviewer="bob", note="not a face")
    a.record("s4", "unsure", reviewer="bob")
    a.record("s5", "relabel", "fear", reviewer="bob")
    a.undo(reviewer="bob")
    pd.DataFrame({"sample_id": ["007", "s2", "s3", "s4"], "suspicion": [0.1, 0.9, -1.5, 0.25]}).to_parquet(
        a.path.parent / "scores.parquet")
    return a


def _table(ds, audit=None, scores=None):
    return ex.corrected_table(load_dataset(ds), audit.latest() if audit else None, scores,
                              audit.events() if audit else None)


def _read(path: Path) -> pd.DataFrame:
    return read_manifest_csv(path)


# -- formula neutralisation -------------------------------------------------------------------------
@pytest.mark.parametrize("cell, expected", [
    ("=HYPERLINK(\"http://x\",\"y\")", "'=HYPERLINK(\"http://x\",\"y\")"), ("@evil", "'@evil"),
    ("+cmd", "'+cmd"), ("-cmd", "'-cmd"), ("\tx", "'\tx"), ("\rx", "'\rx"), ("-1+1", "'-1+1"), ("-", "'-"),
    ("-1", "-1"), ("+0.5", "+0.5"), ("-3e-2", "-3e-2"), ("-.5", "-.5"), ("plain", "plain"), ("", ""),
    (-1, -1), (-2.5, -2.5), (None, None)])
def test_neutralize_cell(cell, expected):
    assert ex.neutralize_cell(cell) == expected


def test_neutralize_frame_leaves_numeric_columns_alone():
    df = pd.DataFrame({"n": [-1, 2], "x": [-1.5, 0.0], "t": ["-1", "=1+1"], "=h": ["a", "@b"]})
    out = ex.neutralize_frame(df)
    assert out.columns.tolist() == ["n", "x", "t", "'=h"]
    assert out["n"].tolist() == [-1, 2] and out["n"].dtype == df["n"].dtype
    assert out["x"].tolist() == [-1.5, 0.0]
    assert out["t"].tolist() == ["-1", "'=1+1"]
    assert out["'=h"].tolist() == ["a", "'@b"]
    assert df["t"].tolist() == ["-1", "=1+1"]                 # the input is not changed


# -- no decisions: every format reproduces the input labels ---------------------------------------
def test_no_decisions_reproduces_input(ds, tmp_path):
    t = _table(ds)
    assert t["final_label"].tolist() == [r[2] for r in ROWS] and set(t["action"]) == {""}
    src = read_manifest_csv(ds / "manifest.csv")
    out = ex.export_manifest(t, load_dataset(ds), tmp_path / "again")
    got = _read(out / "manifest.csv")
    assert got[src.columns.tolist()].equals(src)
    assert got["audit_action"].tolist() == [""] * 6
    fp = _read(ex.export_ferplus_csv(t, tmp_path / "fer.csv"))
    assert fp["Usage"].tolist() == ["Training"] * 4 + ["PublicTest", "PrivateTest"]
    assert fp["Image name"].tolist() == ["007.png", "s2.png", "s3.png", "s4.png", "s5.png", "s6.png"]
    assert fp[VOTES].values.tolist() == src[[f"vote_{c}" for c in VOTES]].values.tolist()
    assert ex.export_bytes("rafdb", t) == b"007.png 4\ns2.png 5\ns3.png 2\ns4.png 6\ns5.png 1\ns6.png 7\n"


@pytest.mark.skipif(not RAFDB_LIST.is_file(), reason=f"real RAF-DB label list not found at {RAFDB_LIST}")
def test_rafdb_list_round_trip_is_byte_exact(tmp_path):
    from data_tools.importers import import_dataset
    ds = import_dataset("rafdb", RAFDB_LIST.parent, tmp_path / "rafdb", labels_only=True).out
    m = read_manifest_csv(ds / "manifest.csv")
    assert (m["split"] == "train").sum() == 12271 and (m["split"] == "test").sum() == 3068
    audit = Audit.open(tmp_path / "audit.sqlite", dataset=str(ds))
    out = tmp_path / "out" / "list_patition_label.txt"
    assert cli_main(["export", "--audit", str(audit.path), "--format", "rafdb", "--out", str(out)]) == 0
    assert out.read_bytes() == RAFDB_LIST.read_bytes()        # same order, LF, no final newline
    # with decisions, only the decided lines change
    audit.record("train_00001", "relabel", "neutral")
    audit.record("test_0001", "remove")
    audit.record("test_0002", "unsure")
    cli_main(["export", "--audit", str(audit.path), "--format", "rafdb", "--out", str(out)])
    src, got = RAFDB_LIST.read_text().splitlines(), out.read_text().splitlines()
    assert got[0] == "train_00001.jpg 7" and len(got) == len(src) - 1
    assert got[1:12271] == src[1:12271] and got[12271:] == src[12272:]


def test_rafdb_line_layout_is_kept_or_given(ds, tmp_path):
    d = load_dataset(ds)
    t = ex.corrected_table(d, None).head(2)
    crlf = tmp_path / "list.txt"
    crlf.write_bytes(b"a.jpg 1\r\nb.jpg 2\r\n")
    d.info.extra = {"list": str(crlf)}                        # sniffed from the imported list
    assert ex.export_bytes("rafdb", t, d) == b"007.png 4\r\ns2.png 5\r\n"
    d.info.extra = {"rafdb_list": {"newline": "\n", "final_newline": False}}   # recorded at import
    assert ex.export_bytes("rafdb", t, d) == b"007.png 4\ns2.png 5"
    assert ex.export_rafdb_list(t, tmp_path / "o.txt", d, final_newline=True).read_bytes() == \
        b"007.png 4\ns2.png 5\n"


# -- each decision, in every format ----------------------------------------------------------------
def test_corrected_table_columns_and_values(ds, audited):
    t = _table(ds, audited, ex.load_scores(audited.path.parent / "scores.parquet"))
    assert t.columns.tolist()[-9:] == ex.DECISION_COLUMNS
    assert t["sample_id"].tolist() == ["007", "s2", "s3", "s4", "s5", "s6"]
    assert t["original_label"].tolist() == ["happy", "sad", "fear", "angry", "surprise", "neutral"]
    assert t["final_label"].tolist() == ["happy", "neutral", "", "angry", "surprise", "neutral"]
    assert t["action"].tolist() == ["keep", "relabel", "remove", "unsure", "", ""]
    assert t["reviewer"].tolist() == ["ann", "ann", "bob", "bob", "", ""]
    assert t["note"].tolist() == ["", "looks calm", "not a face", "", "", ""]
    assert t["reviewers"].tolist() == ["ann", "ann", "bob", "bob", "", ""]       # one reviewer a face here
    assert t["agreement"].tolist() == [""] * 6
    assert t["suspicion"].tolist()[:4] == [0.1, 0.9, -1.5, 0.25] and t["suspicion"].iloc[4:].isna().all()
    assert (t["decided_at"].iloc[:4] != "").all() and (t["decided_at"].iloc[4:] == "").all()


def test_csv_label_is_the_corrected_label_and_removed_rows_are_dropped(ds, audited, tmp_path):
    """Issue 11 item 3: a file that drops into training code (label = corrected label, removed rows
    dropped like every other format), the original label and the decision kept beside it."""
    t = _table(ds, audited, ex.load_scores(audited.path.parent / "scores.parquet"))
    got = _read(ex.export_csv(t, tmp_path / "c.csv"))
    manifest_cols = read_manifest_csv(ds / "manifest.csv").columns.tolist()
    assert got.columns.tolist() == manifest_cols + ["original_label", "action", "suspicion", "decided_at",
                                                    "reviewer", "note", "reviewers", "agreement"]
    assert "final_label" not in got.columns
    assert got[["sample_id", "label", "original_label", "action", "suspicion", "reviewer",
                "note"]].values.tolist() == [
        ["007", "happy", "happy", "keep", "0.1", "ann", ""],
        ["s2", "neutral", "sad", "relabel", "0.9", "ann", "looks calm"],
        ["s4", "angry", "angry", "unsure", "0.25", "bob", ""],
        ["s5", "surprise", "surprise", "undecided", "", "", ""],
        ["s6", "neutral", "neutral", "undecided", "", "", ""]]
    # the same rows and labels as the manifest export (the file to retrain on)
    m = _read(ex.export_manifest(t, load_dataset(ds), tmp_path / "m") / "manifest.csv")
    assert got[["sample_id", "label"]].values.tolist() == m[["sample_id", "label"]].values.tolist()


def test_manifest_drops_removed_and_takes_final_label(ds, audited, tmp_path):
    t = _table(ds, audited)
    out = ex.export_manifest(t, load_dataset(ds), tmp_path / "elsewhere" / "cleaned", audit_info={"audit": "a"})
    got = _read(out / "manifest.csv")
    assert got[["sample_id", "label", "true_label", "label_before_audit", "audit_action"]].values.tolist() == [
        ["007", "happy", "happy", "happy", "keep"],
        ["s2", "neutral", "sad", "sad", "relabel"],
        ["s4", "angry", "angry", "angry", "unsure"],
        ["s5", "surprise", "surprise", "surprise", ""],
        ["s6", "neutral", "neutral", "neutral", ""]]
    new, old = load_dataset(out), load_dataset(ds)
    assert new.image_path("img/s2.png") == old.image_path("img/s2.png")   # images still resolve
    assert new.info.image_root == "../../images"
    info = json.loads((out / "dataset.json").read_text())
    assert info["extra"]["audit_export"]["decisions"] == {"keep": 1, "relabel": 1, "remove": 1, "undecided": 2,
                                                          "unsure": 1}
    assert info["extra"]["audit_export"]["audit"] == "a" and info["source"] == str(ds.resolve())
    assert info["counts"]["imported"] == 5


@pytest.fixture
def two_reviewers(ds, tmp_path):
    """Issue 24, two reviewers. ann: 007 keep, s2 relabel neutral, s3 remove, s4 keep.
    bob (a second pass): 007 keep (agreed), s2 relabel angry (disagreed), s3 unsure then undone (only
    ann's stands), s4 keep (agreed). cy (a third look): s2 relabel neutral, the decision that stands.
    s5: bob only; s6 undecided."""
    a = Audit.open(tmp_path / "runs" / "r1" / "audit.sqlite", dataset=str(ds), run=str(tmp_path / "runs" / "r1"))
    for sid, act, lab in [("007", "keep", None), ("s2", "relabel", "neutral"), ("s3", "remove", None),
                          ("s4", "keep", None)]:
        a.record(sid, act, lab, reviewer="ann", session="A")
    for sid, act, lab in [("007", "keep", None), ("s2", "relabel", "angry"), ("s4", "keep", None),
                          ("s5", "remove", None), ("s3", "unsure", None)]:
        a.record(sid, act, lab, reviewer="bob", session="B")
    a.undo(session="B", by="bob")                                     # bob's s3: undone
    a.record("s2", "relabel", "neutral", reviewer="cy", session="C")
    return a


def test_the_export_says_who_decided_and_whether_they_agreed(ds, two_reviewers, tmp_path, capsys, monkeypatch):
    t = _table(ds, two_reviewers)
    assert t[["sample_id", "action", "reviewer", "reviewers", "agreement"]].values.tolist() == [
        ["007", "keep", "bob", "ann;bob", "agreed"],
        ["s2", "relabel", "cy", "ann;bob;cy", "disagreed"],
        ["s3", "remove", "ann", "ann", ""],
        ["s4", "keep", "bob", "ann;bob", "agreed"],
        ["s5", "remove", "bob", "bob", ""],
        ["s6", "", "", "", ""]]
    # the command line: the CSV and the manifest carry them, the label files keep their fixed format
    monkeypatch.chdir(tmp_path)
    assert cli_main(["export", "--audit", str(two_reviewers.path), "--format", "csv", "--out", "o.csv"]) == 0
    got = _read(tmp_path / "o.csv")
    assert got.columns.tolist()[-3:] == ["note", "reviewers", "agreement"]
    assert got[["sample_id", "label", "reviewer", "reviewers", "agreement"]].values.tolist() == [
        ["007", "happy", "bob", "ann;bob", "agreed"],
        ["s2", "neutral", "cy", "ann;bob;cy", "disagreed"],
        ["s4", "angry", "bob", "ann;bob", "agreed"],
        ["s6", "neutral", "", "", ""]]
    assert cli_main(["export", "--audit", str(two_reviewers.path), "--format", "manifest", "--out", "m"]) == 0
    m = _read(tmp_path / "m" / "manifest.csv")
    assert m[["sample_id", "audit_action", "audit_reviewers", "audit_agreement"]].values.tolist() == [
        ["007", "keep", "ann;bob", "agreed"], ["s2", "relabel", "ann;bob;cy", "disagreed"],
        ["s4", "keep", "ann;bob", "agreed"], ["s6", "", "", ""]]
    assert "reviewers" not in m.columns and "agreement" not in m.columns
    info = json.loads((tmp_path / "m" / "dataset.json").read_text())
    assert info["extra"]["audit_export"]["agreement"] == {"agreed": 2, "disagreed": 1}
    assert cli_main(["export", "--audit", str(two_reviewers.path), "--format", "rafdb", "--out", "l.txt"]) == 0
    assert (tmp_path / "l.txt").read_text() == "007.png 4\ns2.png 7\ns4.png 6\ns6.png 7\n"
    assert cli_main(["export", "--audit", str(two_reviewers.path), "--format", "ferplus", "--out", "f.csv"]) == 0
    assert _read(tmp_path / "f.csv").columns.tolist() == ["Usage", "Image name"] + VOTES
    capsys.readouterr()


def test_a_manifest_column_named_like_the_new_columns_is_kept(ds, two_reviewers):
    d = load_dataset(ds)
    d.manifest["agreement"] = "x"
    d.manifest["reviewers"] = "y"
    t = ex.corrected_table(d, two_reviewers.latest(), None, two_reviewers.events())
    assert t["manifest_agreement"].tolist() == ["x"] * 6 and t["manifest_reviewers"].tolist() == ["y"] * 6
    assert t["agreement"].tolist()[:2] == ["agreed", "disagreed"]
    m = ex.corrected_manifest(t)
    assert m["agreement"].tolist() == ["x"] * 4 and m["audit_agreement"].tolist() == ["agreed", "disagreed", "agreed", ""]


def test_manifest_keeps_absolute_image_root(ds, tmp_path):
    d = load_dataset(ds)
    d.info.image_root = str(tmp_path / "abs_images")
    out = ex.export_manifest(ex.corrected_table(d, None), d, tmp_path / "x")
    assert load_dataset(out).info.image_root == str(tmp_path / "abs_images")


def test_rafdb_list_drops_removed_keeps_unsure(ds, audited, tmp_path):
    t = _table(ds, audited)
    out = ex.export_rafdb_list(t, tmp_path / "l.txt")
    assert out.read_text() == "007.png 4\ns2.png 7\ns4.png 6\ns5.png 1\ns6.png 7\n"


def test_ferplus_votes_follow_the_final_label(ds, audited, tmp_path):
    t = _table(ds, audited)
    got = _read(ex.export_ferplus_csv(t, tmp_path / "f.csv"))
    assert got.columns.tolist() == ["Usage", "Image name"] + VOTES
    assert got.values.tolist() == [
        ["Training", "007.png", "2", "8", "0", "0", "0", "0", "0", "0", "0", "0"],
        ["Training", "s2.png", "10", "0", "0", "0", "0", "0", "0", "0", "0", "0"],   # relabelled: all votes
        ["Training", "s4.png", "0", "0", "0", "0", "9", "1", "0", "0", "0", "0"],    # unsure: as it was
        ["PublicTest", "s5.png", "0", "0", "10", "0", "0", "0", "0", "0", "0", "0"],
        ["PrivateTest", "s6.png", "7", "0", "0", "3", "0", "0", "0", "0", "0", "0"]]


def test_ferplus_relabel_back_to_the_vote_plurality_restores_votes(ds, tmp_path):
    d = load_dataset(ds)
    d.manifest.loc[d.manifest["sample_id"] == "s3", "label"] = "sad"     # as noise injection would
    d.manifest.loc[d.manifest["sample_id"] == "s6", ["vote_neutral", "vote_sadness"]] = ["5", "5"]  # a tie
    decisions = pd.DataFrame({"sample_id": ["s3"], "action": ["relabel"], "new_label": ["fear"]})
    t = ex.corrected_table(d, decisions)
    fp = pd.read_csv(io.BytesIO(ex.export_bytes("ferplus", t)))
    assert fp.loc[2, VOTES].tolist() == [0, 0, 4, 0, 0, 0, 5, 0, 0, 1]        # original votes back
    assert fp.loc[5, VOTES].tolist() == [10, 0, 0, 0, 0, 0, 0, 0, 0, 0]       # tie: votes go to the label
    no_votes = ex.corrected_table(load_dataset(ds), None)[["sample_id", "path", "label", "split", "action",
                                                          "final_label"]]
    fp = pd.read_csv(io.BytesIO(ex.export_bytes("ferplus", no_votes)))
    assert fp.loc[0, VOTES].tolist() == [0, 10, 0, 0, 0, 0, 0, 0, 0, 0]


def test_ferplus_round_trip_through_the_importer(tmp_path):
    from data_tools.importers import import_dataset
    header = "Usage,Image name," + ",".join(VOTES) + "\n"
    kept = ["Training,fer0000000.png,4,0,0,1,3,2,0,0,0,0", "Training,fer0000001.png,6,0,1,1,0,0,0,0,2,0",
            "PublicTest,fer0028709.png,0,10,0,0,0,0,0,0,0,0"]
    excluded = ["PrivateTest,fer0032220.png,0,0,0,0,0,0,0,2,0,8"]          # not-a-face: not imported
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "fer2013new.csv").write_text(header + "\n".join(kept + excluded) + "\n")
    d = load_dataset(import_dataset("ferplus", tmp_path / "src", tmp_path / "ds", labels_only=True).out)
    assert ex.export_bytes("ferplus", ex.corrected_table(d, None), d).decode() == header + "\n".join(kept) + "\n"
    t = ex.corrected_table(d, pd.DataFrame({"sample_id": ["fer0000000"], "action": ["relabel"],
                                            "new_label": ["angry"]}))
    assert ex.export_bytes("ferplus", t, d).decode().splitlines()[1] == "Training,fer0000000.png,0,0,0,0,10,0,0,0,0,0"


def test_labels_outside_the_target_format_are_refused(ds):
    d = load_dataset(ds)
    with pytest.raises(ex.ExportError, match="sample s2: relabelled to 'bored'"):
        ex.corrected_table(d, pd.DataFrame({"sample_id": ["s2"], "action": ["relabel"], "new_label": ["bored"]}))
    d.info.classes = d.info.classes + ["contempt"]
    t = ex.corrected_table(d, pd.DataFrame({"sample_id": ["s2"], "action": ["relabel"], "new_label": ["contempt"]}))
    with pytest.raises(ex.ExportError, match="sample s2: label 'contempt' has no RAF-DB number"):
        ex.export_bytes("rafdb", t)
    assert b"s2.png,0,0,0,0,0,0,0,10,0,0" in ex.export_bytes("ferplus", t)


def test_formulas_neutralised_in_csv_identifiers_verbatim_elsewhere(ds, tmp_path):
    d = load_dataset(ds)
    d.manifest.loc[0, "path"] = "+cmd.png"
    d.manifest["valence"] = ["-1", "0.5", "-0.25", "1", "=2+3", "0"]
    decisions = pd.DataFrame({"sample_id": ["007"], "action": ["keep"], "reviewer": ["@evil"],
                              "note": ["=HYPERLINK(\"http://evil\",\"x\")"], "decided_at": ["t"]})
    t = ex.corrected_table(d, decisions, pd.DataFrame({"sample_id": ["007"], "suspicion": [-2.0]}))
    row = (tmp_path / "c.csv")
    ex.export_csv(t, row)
    first = row.read_text().splitlines()[1]
    assert first.startswith("007,'+cmd.png,happy,train,")
    assert ",-1,happy,keep,-2.0,t,'@evil,\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\"" in first
    assert _read(row)["valence"].tolist() == ["-1", "0.5", "-0.25", "1", "'=2+3", "0"]
    # the manifest (read by the trainer): identifiers verbatim (an apostrophe would break image lookup)
    m = _read(ex.export_manifest(t, d, tmp_path / "m") / "manifest.csv")
    assert m["path"].iloc[0] == "+cmd.png" and "note" not in m.columns


@pytest.mark.parametrize("name", ["=cmd.png", "+1.png", "-2+3.png", "@SUM.png", "\tx.png", "\rx.png"])
@pytest.mark.parametrize("kind", ["rafdb", "ferplus"])
def test_formula_file_names_are_refused_in_the_dataset_formats(ds, kind, name):
    """RAF-DB's list and FERPlus's CSV name images, so a neutralised name would point at no file:
    a name a spreadsheet would run is refused with the sample named."""
    d = load_dataset(ds)
    d.manifest.loc[1, "path"] = f"img/{name}"
    with pytest.raises(ex.ExportError) as e:
        ex.export_bytes(kind, ex.corrected_table(d, None), d)
    assert str(e.value) == (f"sample s2: file name {name!r} starts with {name[0]!r}, which a spreadsheet "
                            "runs as a formula; rename the file, or export --format csv (formulas "
                            "neutralised) or manifest")


@pytest.mark.parametrize("kind", ["rafdb", "ferplus"])
def test_cli_formula_file_name_is_one_line_and_writes_nothing(ds, tmp_path, capsys, kind):
    m = read_manifest_csv(ds / "manifest.csv")
    m.loc[1, "path"] = "img/=cmd.png"
    m.to_csv(ds / "manifest.csv", index=False)
    audit = Audit.open(tmp_path / "runs" / "r9" / "audit.sqlite", dataset=str(ds))
    out = tmp_path / "out.txt"
    assert cli_main(["export", "--audit", str(audit.path), "--format", kind, "--out", str(out)]) == 2
    assert capsys.readouterr().err == ("error: sample s2: file name '=cmd.png' starts with '=', which a "
                                       "spreadsheet runs as a formula; rename the file, or export --format "
                                       "csv (formulas neutralised) or manifest\n")
    assert not out.exists()


def test_formula_usage_cell_is_refused_in_ferplus(ds):
    d = load_dataset(ds)
    d.manifest["Usage"] = ["Training", "=1+1", "Training", "Training", "PublicTest", "PrivateTest"]
    with pytest.raises(ex.ExportError, match=r"^sample s2: Usage '=1\+1' starts with '='"):
        ex.export_bytes("ferplus", ex.corrected_table(d, None), d)


# -- atomic writes -----------------------------------------------------------------------------------
def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.parametrize("kind", ["csv", "rafdb", "ferplus"])
def test_interrupted_export_keeps_previous_file(ds, audited, tmp_path, monkeypatch, kind):
    d, t = load_dataset(ds), _table(ds, audited)
    out = tmp_path / "exports" / f"out.{kind}"
    ex.export(kind, t, d, out)
    before = out.read_bytes()

    def half_then_fail(*args, **kwargs):
        yield b"half a file, then "
        raise KeyboardInterrupt

    target = {"csv": "render_csv", "rafdb": "render_rafdb_list", "ferplus": "render_ferplus_csv"}[kind]
    monkeypatch.setattr(ex.formats, target, half_then_fail)      # the writers look their renderer up there
    if kind in ex._FILE_RENDERERS:
        monkeypatch.setitem(ex._FILE_RENDERERS, kind, half_then_fail)
    with pytest.raises(KeyboardInterrupt):
        ex.export(kind, _table(ds), d, out)
    assert out.read_bytes() == before
    assert _leftovers(out.parent) == []


# -- bytes for the app, summary, beside the dataset ---------------------------------------------------
def test_export_bytes_match_written_files(ds, audited, tmp_path):
    d, t = load_dataset(ds), _table(ds, audited)
    for kind in ("csv", "rafdb", "ferplus"):
        assert ex.export(kind, t, d, tmp_path / kind).read_bytes() == ex.export_bytes(kind, t, d)
    z = zipfile.ZipFile(io.BytesIO(ex.export_bytes("manifest", t, d)))
    assert sorted(z.namelist()) == ["dataset.json", "manifest.csv"]
    zm = pd.read_csv(z.open("manifest.csv"), dtype=str, keep_default_na=False)
    assert zm["sample_id"].tolist() == ["007", "s2", "s4", "s5", "s6"]
    assert json.loads(z.read("dataset.json"))["image_root"] == str(d.image_root)
    with pytest.raises(ex.ExportError, match="unknown export format 'xml'"):
        ex.export_bytes("xml", t, d)


def test_changes_summary(ds, audited):
    s = ex.changes_summary(_table(ds, audited), RAFDB_ORDER).set_index("class")
    assert s.index.tolist() == RAFDB_ORDER + ["total"]
    assert s.loc["sad"].tolist() == [1, 0, 1, 0, 0, 0, 0, 0]
    assert s.loc["neutral"].tolist() == [1, 0, 0, 1, 0, 0, 1, 2]
    assert s.loc["fear"].tolist() == [1, 0, 0, 0, 1, 0, 0, 0]
    assert s.loc["total"].tolist() == [6, 1, 1, 1, 1, 1, 2, 5]


def test_write_beside_dataset(ds, audited):
    d, t = load_dataset(ds), _table(ds, audited)
    assert ex.write_beside_dataset("csv", t, d) == ds.parent.resolve() / "tiny-corrected.csv"
    out = ex.write_beside_dataset("manifest", t, d)
    assert out == ds.parent.resolve() / "tiny-corrected"
    assert load_dataset(out).image_path("a.png") == d.image_path("a.png")
    with pytest.raises(ex.ExportError, match="refusing to overwrite"):
        ex.export("manifest", t, d, ds)
    with pytest.raises(ex.ExportError, match="refusing to overwrite"):
        ex.export("csv", t, d, ds / "manifest.csv")


# -- the command line ---------------------------------------------------------------------------------
def cli_main(argv: list[str]) -> int:
    """data_tools.__main__.main, with only the export subcommand registered (the others import
    modules this test does not need)."""
    saved = cli.COMMANDS
    cli.COMMANDS = {"export": saved["export"]}
    try:
        return cli.main(argv)
    finally:
        cli.COMMANDS = saved


def test_cli_end_to_end_with_defaults(ds, audited, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out.csv"
    assert cli_main(["export", "--audit", str(audited.path), "--format", "csv", "--out", str(out)]) == 0
    assert capsys.readouterr().out == (f"wrote {out}: 5 of 6 samples (relabelled 1, removed 1, kept 1, "
                                       "unsure 1, undecided 2)\n")
    got = _read(out)
    assert got["suspicion"].tolist() == ["0.1", "0.9", "0.25", "", ""]   # scores found beside the audit
    assert cli_main(["export", "--audit", str(audited.path), "--format", "manifest", "--out", "cleaned"]) == 0
    assert _read(tmp_path / "cleaned" / "manifest.csv")["label"].tolist() == [
        "happy", "neutral", "angry", "surprise", "neutral"]


def test_cli_relative_dataset_and_explicit_options(ds, tmp_path, capsys, monkeypatch):
    run = tmp_path / "runs" / "r2"
    audit = Audit.open(run / "audit.sqlite", dataset="datasets/tiny")       # relative to the project
    audit.record("s6", "remove")
    audit.record("ghost", "keep")
    monkeypatch.chdir(run)
    assert cli_main(["export", "--audit", "audit.sqlite", "--format", "rafdb", "--out", "l.txt"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("warning: 1 decision(s) name samples not in") and "(first: ghost)" in err
    assert (run / "l.txt").read_text().splitlines()[-1] == "s5.png 1"
    assert cli_main(["export", "--audit", "audit.sqlite", "--format", "csv", "--out", "c.csv",
                     "--dataset", str(ds), "--scores", str(run / "missing.parquet")]) == 2
    assert capsys.readouterr().err == f"error: {run / 'missing.parquet'}: no such scores file\n"


def test_cli_uses_the_paths_the_audit_recorded(ds, tmp_path, capsys, monkeypatch):
    """An audit that records its dataset and run needs no search: it may live anywhere, the export may
    run from anywhere, and the scores come from the recorded run."""
    run = tmp_path / "runs" / "r3"
    run.mkdir(parents=True)
    pd.DataFrame({"sample_id": ["s2"], "suspicion": [0.75]}).to_parquet(run / "scores.parquet")
    audit = Audit.open(tmp_path / "elsewhere" / "a.sqlite", dataset=str(ds), run="r3", run_dir=run)
    audit.record("s2", "relabel", "neutral")
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert cli_main(["export", "--audit", "a.sqlite", "--format", "csv", "--out", "o.csv"]) == 0
    got = _read(tmp_path / "elsewhere" / "o.csv").set_index("sample_id")
    assert (got.loc["s2", "label"], got.loc["s2", "original_label"], got.loc["s2", "suspicion"]) == (
        "neutral", "sad", "0.75")


def test_cli_old_audit_without_paths_falls_back_to_the_runs_config(ds, tmp_path, capsys, monkeypatch):
    """Audits made before dataset_path was recorded: the run's own config names the dataset
    (RunDir.dataset_dir: relative to the project folder above runs/)."""
    run = tmp_path / "runs" / "r4"
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"dataset": "datasets/tiny"}))
    audit = Audit.open(run / "audit.sqlite")
    audit.record("s3", "remove")
    monkeypatch.chdir(run)
    assert cli_main(["export", "--audit", "audit.sqlite", "--format", "csv", "--out", "o.csv"]) == 0
    assert "s3" not in _read(run / "o.csv")["sample_id"].tolist()            # removed: dropped
    audit.set_meta(dataset="datasets/missing")
    assert cli_main(["export", "--audit", "audit.sqlite", "--format", "csv", "--out", "o.csv"]) == 2
    assert capsys.readouterr().err.endswith("its dataset datasets/missing does not exist; pass --dataset DIR\n")


@pytest.mark.parametrize("make, message", [
    (lambda p: None, "{p}: no such audit file"),
    (lambda p: p.write_text("hello"), "{p}: not an audit database (not an SQLite file)")])
def test_cli_bad_audit_is_a_one_line_error(tmp_path, capsys, make, message):
    p = tmp_path / "audit.sqlite"
    make(p)
    assert cli_main(["export", "--audit", str(p), "--format", "csv", "--out", str(tmp_path / "o.csv")]) == 2
    captured = capsys.readouterr()
    assert captured.err == "error: " + message.format(p=p) + "\n" and captured.out == ""
    assert not (tmp_path / "o.csv").exists()


def test_cli_audit_without_dataset(tmp_path, capsys):
    audit = Audit.open(tmp_path / "audit.sqlite")
    assert cli_main(["export", "--audit", str(audit.path), "--format", "csv", "--out", "o.csv"]) == 2
    assert capsys.readouterr().err == f"error: {audit.path}: the audit names no dataset; pass --dataset DIR\n"


# -- destinations that would destroy what the export reads (issue 9, hole 1) --------------------------
def _protected_targets(ds: Path, audit: Audit) -> dict[str, tuple[str, ...]]:
    """--out values that name something the export reads, with the formats to try them with."""
    run = audit.path.parent
    every = ex.FORMATS
    return {str(audit.path): every, str(run / "scores.parquet"): every, str(run / "config.json"): every,
            str(run / "checkpoint.pt"): every, str(run / "history" / "epoch_0001.npy"): every,
            str(ds / "manifest.csv"): every, str(ds / "dataset.json"): every, str(ds / "report.csv"): every,
            str(ds): every, str(run): every, str(ds.parent): ("manifest",), str(run.parent): ("manifest",),
            str(ds.parent.parent / "images" / "img" / "s2.png"): every}


def test_cli_refuses_to_write_over_what_it_reads(ds, audited, tmp_path, capsys):
    run = audited.path.parent
    (run / "config.json").write_text(json.dumps({"dataset": str(ds)}))
    (run / "history").mkdir()
    (run / "history" / "epoch_0001.npy").write_bytes(b"history")
    image = tmp_path / "images" / "img" / "s2.png"
    image.parent.mkdir(parents=True)
    image.write_bytes(b"an image")
    watched = [audited.path, run / "scores.parquet", run / "config.json", run / "history" / "epoch_0001.npy",
               ds / "manifest.csv", ds / "dataset.json", ds / "report.csv", image]
    before = {p: p.read_bytes() for p in watched}
    tried = 0
    for out, kinds in _protected_targets(ds, audited).items():
        for kind in kinds:
            rc = cli_main(["export", "--audit", str(audited.path), "--format", kind, "--out", out])
            err = capsys.readouterr().err
            assert rc == 2, (kind, out, err)
            assert err.startswith(f"error: {out}: ") and "refusing to overwrite" in err and err.count("\n") == 1, err
            tried += 1
    assert tried == 11 * 4 + 2
    assert {p: p.read_bytes() for p in watched} == before
    assert audited.latest()["sample_id"].tolist() == ["007", "s2", "s3", "s4"]
    assert sorted(p.name for p in ds.iterdir()) == ["dataset.json", "manifest.csv", "report.csv"]


def test_cli_refuses_another_runs_files_and_the_scores_it_reads(ds, audited, tmp_path, capsys):
    """Issue 22 hole 11: the files of ANY run, any audit database, another dataset's files and the
    --scores file are refused, not only the exported run's (which the caller names)."""
    other = tmp_path / "runs" / "other"
    other_audit = Audit.open(other / "audit.sqlite", dataset=str(ds))
    other_audit.record("s6", "keep", reviewer="eve")
    (other / "config.json").write_text(json.dumps({"dataset": str(ds)}))
    pd.DataFrame({"sample_id": ["s6"], "suspicion": [0.5]}).to_parquet(other / "scores.parquet")
    (other / "checkpoint.pt").write_bytes(b"weights")
    (other / "history").mkdir()
    (other / "history" / "epoch_0001.npy").write_bytes(b"history")
    loose = Audit.open(tmp_path / "loose" / "notes.db")                  # an audit outside any run folder
    loose.record("s2", "remove")
    scores = tmp_path / "elsewhere" / "my_scores.parquet"
    scores.parent.mkdir()
    pd.DataFrame({"sample_id": ["s2"], "suspicion": [0.75]}).to_parquet(scores)
    second = write_dataset(tmp_path / "datasets" / "second", load_dataset(ds).manifest,
                           DatasetInfo(classes=list(RAFDB_ORDER), image_root="../../images", format="csv"))
    watched = [other / "audit.sqlite", other / "config.json", other / "scores.parquet", other / "checkpoint.pt",
               other / "history" / "epoch_0001.npy", loose.path, scores, second / "manifest.csv",
               second / "dataset.json"]
    before = {p: p.read_bytes() for p in watched}
    every = ex.FORMATS
    targets = {other / "audit.sqlite": (every, "run other's audit.sqlite"),
               other / "config.json": (every, "run other's config.json"),
               other / "scores.parquet": (every, "run other's scores.parquet"),
               other / "checkpoint.pt": (every, "run other's checkpoint.pt"),
               other / "summary.csv": (every, "run other's summary.csv"),                 # not written yet
               other / "history" / "epoch_0001.npy": (every, "inside run other's history folder"),
               other: (every, "the run folder other"),
               loose.path: (every, "an SQLite database (an audit?)"),
               scores: (every, "the scores file this export reads"),
               second / "manifest.csv": (every, "dataset second's manifest.csv")}
    tried = 0
    for out, (kinds, what) in targets.items():
        for kind in kinds:
            rc = cli_main(["export", "--audit", str(audited.path), "--format", kind, "--out", str(out),
                           "--scores", str(scores)])
            err = capsys.readouterr().err
            assert (rc, err) == (2, f"error: {out}: is {what}; refusing to overwrite it (choose another --out)\n"), \
                (kind, out)
            tried += 1
    assert tried == 10 * 4
    assert {p: p.read_bytes() for p in watched} == before
    assert other_audit.latest()["sample_id"].tolist() == ["s6"] and loose.latest()["sample_id"].tolist() == ["s2"]
    assert sorted(p.name for p in other.iterdir()) == ["audit.sqlite", "checkpoint.pt", "config.json", "history",
                                                       "scores.parquet"]
    # the library function refuses them by default too: no caller has to name what to protect
    d, t = load_dataset(ds), _table(ds, audited)
    with pytest.raises(ex.ExportError, match=r"is run other's audit\.sqlite; refusing"):
        ex.export("csv", t, d, other / "audit.sqlite")
    with pytest.raises(ex.ExportError, match=r"is the run folder other; refusing"):
        ex.export("manifest", t, d, other)
    # a new file in a folder that is not a run, and a re-export over an earlier export, stay allowed
    assert ex.export("csv", t, d, tmp_path / "elsewhere" / "corrected.csv").is_file()
    assert ex.export("csv", t, d, tmp_path / "elsewhere" / "corrected.csv").is_file()


def test_refusal_names_what_the_destination_is(ds, audited, tmp_path):
    d, t = load_dataset(ds), _table(ds, audited)
    with pytest.raises(ex.ExportError, match=r"audit\.sqlite: is the audit database"):
        ex.export("csv", t, d, audited.path, audit=audited.path)
    link = tmp_path / "innocent.csv"
    link.symlink_to(ds / "manifest.csv")
    with pytest.raises(ex.ExportError, match=r"innocent\.csv: is the dataset's manifest\.csv"):
        ex.export("csv", t, d, link)
    # a new file beside the run's files, or a new folder inside the run folder, is fine
    assert ex.export("csv", t, d, audited.path.parent / "corrected.csv", audit=audited.path).is_file()
    assert ex.export("manifest", t, d, audited.path.parent / "clean", audit=audited.path).is_dir()


# -- a full disk (issue 9, hole 9) -----------------------------------------------------------------------
def _disk_full(*args, **kwargs):
    raise OSError(28, "No space left on device")


@pytest.mark.parametrize("kind", ex.FORMATS)
def test_cli_disk_full_names_the_file_keeps_the_old_one_and_leaves_no_folder(ds, audited, tmp_path, capsys,
                                                                             monkeypatch, kind):
    old = tmp_path / "old"
    out = old / ("manifest" if kind == "manifest" else f"out.{kind}")
    assert cli_main(["export", "--audit", str(audited.path), "--format", kind, "--out", str(out)]) == 0
    written = out / "manifest.csv" if kind == "manifest" else out
    before = written.read_bytes()
    capsys.readouterr()
    monkeypatch.setattr(os, "fsync", _disk_full)
    assert cli_main(["export", "--audit", str(audited.path), "--format", kind, "--out", str(out)]) == 2
    assert capsys.readouterr().err == f"error: [Errno 28] No space left on device: '{written}'\n"
    assert written.read_bytes() == before
    fresh = tmp_path / "new" / "deeper" / ("manifest" if kind == "manifest" else f"out.{kind}")
    assert cli_main(["export", "--audit", str(audited.path), "--format", kind, "--out", str(fresh)]) == 2
    assert capsys.readouterr().err.startswith("error: [Errno 28] No space left on device: ")
    assert not (tmp_path / "new").exists()
    assert sorted(p.name for p in written.parent.iterdir() if p.name.endswith(".tmp")) == []


@pytest.mark.parametrize("name, what", [("my face.jpg", "a space (U+0020)"), ("a\u00a0b.jpg", "white space (U+00A0)"),
                                        ('a.jpg 1\n=HYPERLINK("http:evil","click") 2', "a space (U+0020)"),
                                        ("a.jpg\n=cmd 2", "a line break (U+000A)"),
                                        ("a.jpg\u2028x.jpg", "a line break (U+2028)")])
def test_rafdb_list_refuses_file_names_with_white_space(ds, name, what):
    """Issue 22 item 6: a file name with a space broke the `<file> <label>` list, one with a line
    break forged a row (a kept `file` column is not a path, so the manifest's check does not cover it)."""
    d = load_dataset(ds)
    d.manifest["file"] = [f"{k}.jpg" for k in range(len(d.manifest))]
    d.manifest.loc[1, "file"] = name
    with pytest.raises(ex.ExportError) as e:
        ex.export_bytes("rafdb", ex.corrected_table(d, None), d)
    assert str(e.value) == (f"sample s2: file name {name!r} contains {what}, which the RAF-DB list ('<file> "
                            "<label>' per line) cannot hold; rename the file, or export --format csv or manifest")
    assert "\n" not in str(e.value)
