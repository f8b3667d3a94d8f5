"""The dataset folder contract: validation messages name the row; sample ids stay strings."""
import pandas as pd
import pytest

from data_tools.manifest import DatasetInfo, ManifestError, load_dataset, validate_manifest, write_dataset

CLASSES = ["happy", "sad"]


def frame(**overrides):
    df = pd.DataFrame({"sample_id": ["001", "002", "003"], "path": ["a.png", "b.png", "c.png"],
                       "label": ["happy", "sad", "happy"], "split": ["train", "train", "test"]})
    for k, v in overrides.items():
        df[k] = v
    return df


@pytest.mark.parametrize("overrides, message", [
    ({"sample_id": ["001", "002", "001"]}, "manifest.csv row 4: duplicate sample_id '001' (first on row 2)"),
    ({"sample_id": ["001", "", "003"]}, "manifest.csv row 3: empty sample_id"),
    ({"path": ["a.png", "b.png", ""]}, "manifest.csv row 4: empty path"),
    ({"label": ["happy", "hapy", "happy"]}, "manifest.csv row 3: label 'hapy' is not one of: happy, sad"),
    ({"split": ["train", "tset", "test"]}, "manifest.csv row 3: split 'tset' is not one of: train, val, test"),
])
def test_first_bad_row_is_named(overrides, message):
    with pytest.raises(ManifestError) as e:
        validate_manifest(frame(**overrides), CLASSES)
    assert str(e.value) == message


def test_the_earliest_problem_wins():
    df = frame(label=["happy", "happy", "angry"], split=["train", "bad", "test"])
    with pytest.raises(ManifestError, match="row 3: split 'bad'"):
        validate_manifest(df, CLASSES)


def test_missing_column():
    with pytest.raises(ManifestError, match="missing column"):
        validate_manifest(frame().drop(columns=["split"]), CLASSES)


def test_round_trip_keeps_leading_zeros_and_counts(tmp_path):
    write_dataset(tmp_path / "ds", frame(), DatasetInfo(classes=CLASSES, image_root=".", format="test"))
    ds = load_dataset(tmp_path / "ds")
    assert list(ds.manifest["sample_id"]) == ["001", "002", "003"]
    assert ds.info.counts == {"read": 3, "imported": 3, "rejected": 0,
                              "per_split": {"test": {"happy": 1}, "train": {"happy": 1, "sad": 1}}}
    assert ds.image_path("a.png") == (tmp_path / "ds" / "a.png").resolve()
