"""config.json read back on --resume (issue 22 items 9 and 10): a list, a string or a field of the wrong
type is one `error:` line naming the file (was a traceback), and the paths it names are checked: with
`"cache_dir": "/etc"` the resumed run wrote its cache files into /etc."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from data_tools.rundir import RunDir, RunFileError
from eac_core import train
from eac_core.runconfig import saved_config
from support.shapes import make_shapes_dataset

FAST = ["--preset", "demo", "--image-size", "32", "--batch-size", "16", "--threads", "1", "--epochs", "1"]


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("runconfig")
    ds = make_shapes_dataset(base / "ds", n_train=12, n_test=3)
    out = base / "run"
    assert train.main(["--dataset", str(ds), "--out", str(out), *FAST]) == 0
    return ds, out


def _copy(done: Path, run: Path, **change) -> Path:
    shutil.copytree(done, run, ignore=shutil.ignore_patterns("cache"))
    cfg = json.loads((run / "config.json").read_text())
    cfg = {**cfg, "out": str(run), **change}
    (run / "config.json").write_text(json.dumps(cfg))
    (run / "progress.json").write_text(json.dumps({"state": "stopped"}))     # unfinished: resume trains
    return run


@pytest.mark.parametrize("content, why", [
    ("[]", "is not a JSON object (a list)"),
    ('"x"', "is not a JSON object (a string)"),
    ('{"epochs": "abc"}', "field 'epochs' must be a whole number, found a text"),
    ('{"epochs": [3]}', "field 'epochs' must be a whole number, found a list"),
    ('{"mode": "zz"}', "field 'mode' must be one of eac, ce, found 'zz'"),
    ('{"erase_scale": 0.5}', "field 'erase_scale' must be two numbers, found a number"),
    ('{"resume": "yes"}', "field 'resume' must be true or false, found a text"),
])
def test_a_bad_config_is_one_error_line(finished, tmp_path, capsys, content, why):
    ds, done = finished
    run = _copy(done, tmp_path / "run")
    (run / "config.json").write_text(content)
    capsys.readouterr()
    assert train.main(["--dataset", str(ds), "--out", str(run), "--resume", *FAST]) == 1
    assert capsys.readouterr().err == f"error: {run / 'config.json'}: {why}\n"


def test_resume_writes_no_cache_outside_the_run_or_the_named_folders(finished, tmp_path, capsys):
    ds, done = finished
    elsewhere = tmp_path / "etc"
    elsewhere.mkdir()
    run = _copy(done, tmp_path / "run", cache_dir=str(elsewhere))
    capsys.readouterr()
    assert train.main(["--dataset", str(ds), "--out", str(run), "--resume", *FAST[:-2], "--epochs", "2"]) == 1
    assert capsys.readouterr().err == (
        f"error: {run / 'config.json'}: field 'cache_dir' names {elsewhere}, outside the run folder and the "
        "folders given on the command line; give --cache-dir to choose where the cache goes\n")
    assert list(elsewhere.iterdir()) == []
    # named on the command line, the same folder is the user's choice
    assert train.main(["--dataset", str(ds), "--out", str(run), "--resume", "--cache-dir", str(elsewhere),
                       *FAST[:-2], "--epochs", "2"]) == 0
    assert sorted(p.suffix for p in elsewhere.iterdir()) == [".json", ".json", ".npy", ".npy"]


def test_saved_config_checks(tmp_path):
    run = RunDir(tmp_path / "run")
    run.path.mkdir()
    ds = tmp_path / "ds"
    ds.mkdir()
    run.write_config({"dataset": str(ds), "cache_dir": str(run.path / "cache"), "epochs": 3})
    assert saved_config(run, ds, [ds]).epochs == 3
    run.write_config({"dataset": str(tmp_path / "other"), "epochs": 3})
    with pytest.raises(RunFileError, match="field 'dataset' names .*other, but --dataset is"):
        saved_config(run, ds, [ds])
    run.write_config({"dataset": str(ds), "cache_dir": "cache"})
    with pytest.raises(RunFileError, match="field 'cache_dir' must be an absolute path, found 'cache'"):
        saved_config(run, ds, [ds])
    (run.path / "up").symlink_to("/etc")
    run.write_config({"dataset": str(ds), "cache_dir": str(run.path / "up")})
    with pytest.raises(RunFileError, match="outside the run folder"):      # through a symlink too
        saved_config(run, ds, [ds])
