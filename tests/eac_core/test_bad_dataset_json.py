"""Issue 22 item 9: a dataset.json of the wrong shape (a list, a string, classes holding numbers,
image_root null / a number / a list, extra a list) gets one `error:` line naming the file and the
field from every command that reads a dataset, never a traceback. The check is one function at the
reader (data_tools.manifest.check_info); these run the commands' main functions."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from data_tools.manifest import DatasetInfo, write_dataset

GOOD = {"classes": ["happy", "sad"], "image_root": ".", "format": "test"}
BAD = {
    "a list": ([GOOD], "not a JSON object (a list)"),
    "a string": ("datasets/x", "not a JSON object (a string)"),
    "numeric classes": ({**GOOD, "classes": [0, 1]}, "field 'classes': item 1 is a number, not a class name"),
    "null image_root": ({**GOOD, "image_root": None}, "field 'image_root' must be a path (text), not null"),
    "numeric image_root": ({**GOOD, "image_root": 1}, "field 'image_root' must be a path (text), not a number"),
    "list image_root": ({**GOOD, "image_root": ["."]}, "field 'image_root' must be a path (text), not a list"),
    "list extra": ({**GOOD, "extra": ["noise"]}, "field 'extra' must be an object, not a list"),
}


@pytest.fixture
def broken(tmp_path):
    """make(raw) -> a dataset folder (4 faces) whose dataset.json holds `raw`."""
    def make(raw):
        ds = tmp_path / "ds"
        m = pd.DataFrame({"sample_id": ["a", "b", "c", "d"], "path": ["a.png", "b.png", "c.png", "d.png"],
                          "label": ["happy", "sad", "happy", "sad"], "split": ["train", "train", "test", "test"]})
        write_dataset(ds, m, DatasetInfo(classes=["happy", "sad"], image_root=".", format="test"))
        (ds / "dataset.json").write_text(json.dumps(raw))
        return ds
    return make


def _one_error_line(capsys, code: int, expected_code: int) -> str:
    err = capsys.readouterr().err
    assert code == expected_code, err
    assert "Traceback" not in err and err.startswith("error: ") and err.count("\n") == 1, err
    return err.strip()


@pytest.mark.parametrize("case", list(BAD))
def test_noise_command(broken, tmp_path, capsys, case):
    from data_tools.__main__ import main
    raw, message = BAD[case]
    ds = broken(raw)
    code = main(["noise", "--dataset", str(ds), "--rate", "0.5", "--out", str(tmp_path / "noisy")])
    assert _one_error_line(capsys, code, 2) == f"error: {ds / 'dataset.json'}: {message}"
    assert not (tmp_path / "noisy").exists()


@pytest.mark.parametrize("case", list(BAD))
def test_train_command(broken, tmp_path, capsys, case):
    from eac_core.train import main
    raw, message = BAD[case]
    ds = broken(raw)
    code = main(["--dataset", str(ds), "--out", str(tmp_path / "run"), "--epochs", "1", "--device", "cpu"])
    assert _one_error_line(capsys, code, 1) == f"error: {ds / 'dataset.json'}: {message}"


@pytest.mark.parametrize("case", list(BAD))
def test_import_predictions_command(broken, tmp_path, capsys, case):
    from eac_core.import_predictions import main
    raw, message = BAD[case]
    ds = broken(raw)
    probs = tmp_path / "probs.csv"
    probs.write_text("sample_id,happy,sad\na,0.9,0.1\nb,0.2,0.8\n")
    code = main(["--dataset", str(ds), "--probs", str(probs), "--out", str(tmp_path / "run")])
    assert _one_error_line(capsys, code, 2) == f"error: {ds}: not a dataset folder ({ds / 'dataset.json'}: {message})"


@pytest.mark.parametrize("case", list(BAD))
def test_export_command(broken, tmp_path, capsys, case):
    from data_tools.__main__ import main
    from data_tools.audit import Audit
    raw, message = BAD[case]
    ds = broken(raw)
    audit = Audit.open(tmp_path / "runs" / "r" / "audit.sqlite", dataset=str(ds))
    out = tmp_path / "out.csv"
    code = main(["export", "--audit", str(audit.path), "--format", "csv", "--out", str(out)])
    assert _one_error_line(capsys, code, 2) == f"error: {ds / 'dataset.json'}: {message}"
    assert not out.exists()
