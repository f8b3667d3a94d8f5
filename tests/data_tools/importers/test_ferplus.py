"""FERPlus: majority vote over the 10 vote columns, ties / unknown / not-a-face left out and counted."""
from __future__ import annotations

import pytest

from data_tools.importers.ferplus import ORDER8, majority

HEADER = "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF\n"
ROWS = [
    "Training,fer0000000.png,4,0,0,1,3,2,0,0,0,0",     # neutral
    "Training,fer0000001.png,0,10,0,0,0,0,0,0,0,0",    # happy
    "PublicTest,fer0000002.png,0,0,6,0,0,0,4,0,0,0",   # surprise, val
    "PrivateTest,fer0000003.png,2,0,0,0,0,0,0,6,2,0",  # contempt, test
    "Training,fer0000004.png,5,5,0,0,0,0,0,0,0,0",     # tie
    "Training,fer0000005.png,1,0,0,0,0,0,0,0,9,0",     # unknown
    "Training,,0,0,0,0,0,0,0,0,0,10",                  # not a face, no image name
    "Training,fer0000007.png,0,0,0,0,0,0,0,0,0,0",     # no votes
]


@pytest.fixture
def ferplus_root(tmp_path, special_images):
    root = tmp_path / "ferplus"
    for folder in ("FER2013Train", "FER2013Valid", "FER2013Test"):
        (root / folder).mkdir(parents=True)
    png = special_images["rgb_png"].read_bytes()
    for row in ROWS:
        usage, name = row.split(",")[:2]
        folder = {"Training": "FER2013Train", "PublicTest": "FER2013Valid", "PrivateTest": "FER2013Test"}[usage]
        if name:
            (root / folder / name).write_bytes(png)
    (root / "fer2013new.csv").write_text(HEADER + "\n".join(ROWS) + "\n")
    return root


def test_majority_rules():
    assert majority({"neutral": 4, "anger": 3}) == ("neutral", None)
    assert majority({"neutral": 5, "happiness": 5}) == (None, "tie between neutral and happy (5 votes each)")
    assert majority({"unknown": 6, "fear": 4}) == (None, "majority vote is unknown")
    assert majority({"NF": 6}) == (None, "majority vote is not-a-face")
    assert majority({"NF": 0}) == (None, "no votes")


def test_eight_classes(run_import, ferplus_root, reasons, check_counts):
    res = run_import("ferplus", ferplus_root)
    check_counts(res)
    assert res.info.classes == ORDER8
    m = res.manifest.set_index("sample_id")
    assert m["label"].to_dict() == {"fer0000000": "neutral", "fer0000001": "happy", "fer0000002": "surprise",
                                    "fer0000003": "contempt"}
    assert m["split"].to_dict() == {"fer0000000": "train", "fer0000001": "train", "fer0000002": "val",
                                    "fer0000003": "test"}
    assert m.loc["fer0000002", "path"] == "FER2013Valid/fer0000002.png"
    assert m.loc["fer0000000", ["vote_neutral", "vote_sad", "vote_angry", "vote_disgust"]].astype(int).tolist() \
        == [4, 1, 3, 2]
    assert {f"vote_{c}" for c in ORDER8} | {"vote_unknown", "vote_nf"} <= set(res.manifest.columns)
    assert list(zip(res.report["row"], res.report["reason"])) == [
        (6, "tie between neutral and happy (5 votes each)"),
        (7, "majority vote is unknown"),
        (8, "empty Image name (FERPlus left this image out)"),
        (9, "no votes")]


def test_seven_classes_leave_contempt_out(run_import, ferplus_root, check_counts):
    res = run_import("ferplus", ferplus_root, ferplus_classes=7)
    check_counts(res)
    assert res.info.classes == ORDER8[:7]
    assert "fer0000003" not in set(res.manifest["sample_id"])
    row = res.report.set_index("row").loc[5]
    assert row["reason"] == "majority vote is contempt (excluded with --ferplus-classes 7)"


def test_bad_vote_and_usage(run_import, ferplus_root, reasons):
    text = (ferplus_root / "fer2013new.csv").read_text()
    text += "Training,fer0000009.png,x,0,0,0,0,0,0,0,0,0\nValidation,fer0000010.png,9,0,0,0,0,0,0,0,0,0\n"
    (ferplus_root / "fer2013new.csv").write_text(text)
    res = run_import("ferplus", ferplus_root)
    by_row = dict(zip(res.report["row"], res.report["reason"]))
    assert by_row[10] == "vote column neutral: 'x' is not a whole number"
    assert by_row[11] == "Usage 'Validation' is not one of: Training, PublicTest, PrivateTest"
