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


# -- issue 22 item 6: line breaks and bidi overrides in sample_id and path, refused once, for every reader
@pytest.mark.parametrize("column", ["sample_id", "path"])
@pytest.mark.parametrize("char, name", [("\n", "U+000A"), ("\r", "U+000D"), ("\u2028", "U+2028"),
                                        ("\u2029", "U+2029"), ("\u0085", "U+0085"), ("\x0b", "U+000B"),
                                        ("\u202e", "U+202E"), ("\u2066", "U+2066")])
def test_line_breaks_and_bidi_overrides_are_refused(column, char, name):
    values = ["001", "002", "003"] if column == "sample_id" else ["a.png", "b.png", "c.png"]
    values[1] = values[1][:1] + char + values[1][1:]
    with pytest.raises(ManifestError) as e:
        validate_manifest(frame(**{column: values}), CLASSES)
    kind = "a bidi control" if name in ("U+202E", "U+2066") else "a line break"
    assert str(e.value) == f"manifest.csv row 3: {column} contains {kind} ({name})"


def test_load_dataset_refuses_a_forged_row_from_a_line_break(tmp_path):
    """The issue's cell: a RAF-DB-bound sample id holding a line break and a formula."""
    write_dataset(tmp_path / "ds", frame(), DatasetInfo(classes=CLASSES, image_root=".", format="test"))
    text = (tmp_path / "ds" / "manifest.csv").read_text()
    text = text.replace("002,b.png", '"a.jpg 1\n=HYPERLINK(""http:evil"",""click"") 2",b.png')
    (tmp_path / "ds" / "manifest.csv").write_text(text)
    with pytest.raises(ManifestError) as e:
        load_dataset(tmp_path / "ds")
    assert str(e.value) == f"{tmp_path / 'ds' / 'manifest.csv'} row 3: sample_id contains a line break (U+000A)"
    assert "\n" not in str(e.value)


# -- issue 22 item 9: dataset.json validated once, at the reader: one line naming the file and the field
GOOD_INFO = {"classes": ["happy", "sad"], "image_root": ".", "format": "test"}


@pytest.mark.parametrize("raw, message", [
    ([], "not a JSON object (a list)"),
    ("x", "not a JSON object (a string)"),
    (5, "not a JSON object (a number)"),
    (None, "not a JSON object (null)"),
    ({**GOOD_INFO, "classes": [1, 2]}, "field 'classes': item 1 is a number, not a class name"),
    ({**GOOD_INFO, "classes": "happy"}, "field 'classes' must be a list of class names, not a string"),
    ({**GOOD_INFO, "classes": []}, "field 'classes' is empty"),
    ({**GOOD_INFO, "classes": ["happy", "happy"]}, "field 'classes': 'happy' is listed twice"),
    ({**GOOD_INFO, "classes": ["happy", "s\u202ead"]},
     "field 'classes': item 2 contains a control character (U+202E)"),
    ({**GOOD_INFO, "image_root": None}, "field 'image_root' must be a path (text), not null"),
    ({**GOOD_INFO, "image_root": 3}, "field 'image_root' must be a path (text), not a number"),
    ({**GOOD_INFO, "image_root": ["a"]}, "field 'image_root' must be a path (text), not a list"),
    ({**GOOD_INFO, "image_root": ""}, "field 'image_root' is empty"),
    ({**GOOD_INFO, "image_root": "a\x00b"}, "field 'image_root' contains a NUL character"),
    ({**GOOD_INFO, "extra": []}, "field 'extra' must be an object, not a list"),
    ({**GOOD_INFO, "counts": "3"}, "field 'counts' must be an object, not a string"),
    ({**GOOD_INFO, "format": 7}, "field 'format' must be text, not a number"),
    ({**GOOD_INFO, "name": None}, "field 'name' must be text, not null"),
    ({"image_root": ".", "format": "test"}, "field 'classes' is missing"),
    ({"classes": ["happy"], "format": "test"}, "field 'image_root' is missing"),
])
def test_a_bad_dataset_json_is_named_with_its_field(tmp_path, raw, message):
    import json
    write_dataset(tmp_path / "ds", frame(label=["happy"] * 3),
                  DatasetInfo(classes=["happy", "sad"], image_root=".", format="test"))
    (tmp_path / "ds" / "dataset.json").write_text(json.dumps(raw))
    with pytest.raises(ManifestError) as e:
        load_dataset(tmp_path / "ds")
    assert str(e.value) == f"{tmp_path / 'ds' / 'dataset.json'}: {message}"
