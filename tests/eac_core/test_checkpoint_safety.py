"""Hostile checkpoint files (issue 9, hole 5): a checkpoint.pt that holds code, or no checkpoint at all,
is answered with one line that never passes on torch's advice to retry with weights_only=False, and
nothing in the file runs. Covers the trainer (--resume), eac_core.checkpoint, the app's explainer and --pretrained."""
from __future__ import annotations

import json
import os
import shutil
import zipfile
from pathlib import Path

import pytest
import torch

from data_tools.rundir import RunDir
from eac_core import train
from eac_core.checkpoint import CheckpointError, read_checkpoint, write_checkpoint
from eac_core.infer import Explainer
from eac_core.models import build_model
from eac_core.pretrained import PretrainedError, load_pretrained
from support.shapes import make_shapes_dataset

FAST = ["--preset", "demo", "--image-size", "32", "--batch-size", "16", "--threads", "1", "--epochs", "1"]


class _Evil:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _hostile(path: Path, kind: str, marker: Path) -> str:
    """Write a hostile checkpoint of `kind` at `path`; returns the reason the message must give."""
    if kind == "code":
        torch.save({"model": {}, "epoch": 1, "x": _Evil(marker)}, path)
        return ("refused to load: it holds Python code or objects (posix.system), which a checkpoint never "
                "holds; nothing in it was run")
    if kind == "garbage":
        path.write_bytes(b"this is not a torch file at all")
        return "not a checkpoint this tool can read"
    if kind == "empty":
        path.write_bytes(b"")
        return "not a checkpoint this tool can read"
    good = path.with_suffix(".good")
    torch.save({"model": {"w": torch.zeros(1000)}, "epoch": 1}, good)
    path.write_bytes(good.read_bytes()[:300])
    good.unlink()
    return "not a checkpoint this tool can read"


KINDS = ["code", "garbage", "empty", "truncated"]


@pytest.mark.parametrize("kind", KINDS)
def test_read_checkpoint_one_line_no_unsafe_advice(tmp_path, kind):
    run = RunDir(tmp_path / "run")
    run.path.mkdir()
    marker = tmp_path / "pwned"
    reason = _hostile(run.checkpoint_path, kind, marker)
    with pytest.raises(CheckpointError) as e:
        read_checkpoint(run)
    msg = str(e.value)
    assert isinstance(e.value, ValueError)
    assert msg.startswith(f"{run.checkpoint_path}: {reason}")
    assert "\n" not in msg and "weights_only" not in msg and "trusted" not in msg.lower()
    assert not marker.exists()
    with pytest.raises(ValueError) as e2:            # the app's explainer reads the same file
        Explainer.load(run.path)
    assert "weights_only" not in str(e2.value) and "\n" not in str(e2.value) and reason in str(e2.value)
    with pytest.raises(PretrainedError) as e3:       # and --pretrained
        load_pretrained(build_model("compact", 3), run.checkpoint_path)
    assert "weights_only=False" not in str(e3.value) and "\n" not in str(e3.value)
    assert not marker.exists()


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("ckpt")
    ds = make_shapes_dataset(base / "ds", n_train=12, n_test=3)
    out = base / "run"
    assert train.main(["--dataset", str(ds), "--out", str(out), *FAST]) == 0
    return ds, out


def _copy_run(done: Path, run: Path) -> None:
    """A copy of a run that resumes into itself (the config names its own folder)."""
    shutil.copytree(done, run)
    config = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**config, "out": str(run)}))


def test_resume_on_a_malicious_checkpoint_is_one_line(finished_run, tmp_path, capsys):
    ds, done = finished_run
    run = tmp_path / "run"
    _copy_run(done, run)
    marker = tmp_path / "pwned"
    reason = _hostile(run / "checkpoint.pt", "code", marker)
    capsys.readouterr()
    assert train.main(["--dataset", str(ds), "--out", str(run), "--resume", *FAST]) == 1
    err = capsys.readouterr().err
    assert err == f"error: {run / 'checkpoint.pt'}: {reason}\n"
    assert not marker.exists()


def test_resume_without_a_config_is_refused_and_writes_nothing(finished_run, tmp_path, capsys):
    ds, _ = finished_run
    out = tmp_path / "no_config"
    out.mkdir()
    (out / "checkpoint.pt").write_bytes(b"keep me")
    assert train.main(["--dataset", str(ds), "--out", str(out), "--resume", *FAST]) == 1
    assert capsys.readouterr().err == (f"error: --resume: {out} holds no run to resume (no config); "
                                       "drop --resume to start one\n")
    assert (out / "checkpoint.pt").read_bytes() == b"keep me"
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.pt", "progress.json"]


# -- temp files a killed trainer left behind (issue 9, hole 9) ------------------------------------------
ORPHANS = [".checkpoint.pt.k1ll3d.tmp", ".scores.parquet.x9.tmp", "history/.epoch_0002.npy.ab.tmp",
           "cache/.train_32.npy.cd.tmp"]


def _plant_orphans(run: Path) -> None:
    for rel in ORPHANS + [".progress.json.live.tmp", "notes.tmp"]:
        (run / rel).parent.mkdir(parents=True, exist_ok=True)
        (run / rel).write_bytes(b"half a file")


def _left(run: Path) -> list[str]:
    return sorted(str(p.relative_to(run)) for p in run.rglob("*.tmp"))


def test_truncate_removes_the_trainers_orphan_temp_files(tmp_path):
    run = RunDir(tmp_path / "run")
    _plant_orphans(run.path)
    run.truncate(0)
    # progress.json is written by the heartbeat thread while the trainer runs, and notes.tmp is no temp
    # file of the run: both stay
    assert _left(run.path) == [".progress.json.live.tmp", "notes.tmp"]


def test_a_resumed_run_cleans_up_after_a_kill(finished_run, tmp_path, capsys):
    ds, done = finished_run
    run = tmp_path / "run"
    _copy_run(done, run)
    progress = json.loads((run / "progress.json").read_text())
    (run / "progress.json").write_text(json.dumps({**progress, "state": "running", "phase": "score"}))
    _plant_orphans(run)
    assert train.main(["--dataset", str(ds), "--out", str(run), "--resume", *FAST]) == 0
    assert _left(run) == [".progress.json.live.tmp", "notes.tmp"]
    assert RunDir(run).is_finished()


def test_a_full_disk_during_a_checkpoint_write_keeps_the_previous_one(tmp_path, monkeypatch):
    """Issue 9 ("Proof in CI"): the previous checkpoint stays whole and the message names the file."""
    run = RunDir(tmp_path / "run")
    write_checkpoint(run, {"model": {"w": torch.ones(3)}, "epoch": 1})

    def half_then_full(obj, f, *args, **kwargs):
        Path(f).write_bytes(b"PK\x03\x04 half a checkpoint")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", half_then_full)
    with pytest.raises(OSError) as e:
        write_checkpoint(run, {"model": {"w": torch.zeros(3)}, "epoch": 2})
    assert str(e.value) == f"[Errno 28] No space left on device: '{run.checkpoint_path}'"
    monkeypatch.undo()
    ckpt = read_checkpoint(run)
    assert ckpt["epoch"] == 1 and torch.equal(ckpt["model"]["w"], torch.ones(3))
    assert _left(run.path) == []


# -- bounded before anything is decompressed (issue 22 item 8) ------------------------------------------
def _zip_bomb(path: Path, declared: int = 3 << 30) -> None:
    """A torch-looking zip whose one deflated entry declares `declared` bytes (written in 64 MiB steps,
    so the test itself never holds it)."""
    good = path.with_suffix(".good")
    torch.save({"model": {"w": torch.zeros(4)}, "epoch": 1}, good)
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
        prefix = src.infolist()[0].filename.split("/")[0]
        with dst.open(f"{prefix}/data/9", "w", force_zip64=True) as big:
            block = bytes(64 << 20)
            for _ in range(declared // len(block)):
                big.write(block)
    good.unlink()


@pytest.mark.slow
def test_a_deflated_bomb_is_refused_before_it_is_decompressed(tmp_path):
    run = RunDir(tmp_path / "run")
    run.path.mkdir()
    _zip_bomb(run.checkpoint_path)
    size = run.checkpoint_path.stat().st_size
    assert size < 8 << 20                        # a few MB on disk, 3 GiB declared
    import resource
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(CheckpointError) as e:
        read_checkpoint(run)
    assert str(e.value) == (f"{run.checkpoint_path}: refused: its entries would expand to "
                            f"{(3 << 30) + sum(i.file_size for i in zipfile.ZipFile(run.checkpoint_path).infolist()) - (3 << 30):,}"
                            f" bytes, more than {2 * size:,} (twice the file's {size:,} bytes, at most 8 GiB); "
                            "nothing was decompressed")
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000      # KiB: nothing inflated
    with pytest.raises(ValueError, match="refused: its entries would expand"):   # the explainer, --pretrained
        Explainer.load(run.path)
    with pytest.raises(PretrainedError, match="refused: its entries would expand"):
        load_pretrained(build_model("compact", 3), run.checkpoint_path)


def test_a_fifo_named_checkpoint_is_refused_at_once(finished_run, tmp_path, capsys):
    """A FIFO named checkpoint.pt hung --resume forever (open() waits for a writer)."""
    import threading
    ds, done = finished_run
    run = tmp_path / "run"
    _copy_run(done, run)
    (run / "checkpoint.pt").unlink()
    os.mkfifo(run / "checkpoint.pt")
    capsys.readouterr()
    result = []
    t = threading.Thread(target=lambda: result.append(train.main(["--dataset", str(ds), "--out", str(run),
                                                                  "--resume", *FAST])), daemon=True)
    t.start()
    t.join(60)
    if t.is_alive():                # unblock the hung open so the thread ends
        with open(run / "checkpoint.pt", "wb"):
            pass
        t.join(10)
        pytest.fail("--resume on a FIFO named checkpoint.pt did not return within 60 s")
    assert result == [1]
    assert capsys.readouterr().err == (f"error: {run / 'checkpoint.pt'}: not a checkpoint this tool can read "
                                       "(it is a FIFO, not a regular file)\n")


@pytest.mark.parametrize("change, field, must, found", [
    ({"epoch": None}, "epoch", None, None),
    ({"epoch": [1]}, "epoch", "a whole number >= 0", "list"),
    ({"epoch": "1"}, "epoch", "a whole number >= 0", "str"),
    ({"epoch": True}, "epoch", "a whole number >= 0", "bool"),
    ({"rng": {"torch": 1}}, "rng", "the RNG states (torch, numpy, python)", "dict"),
    ({"model": [1, 2]}, "model", "a state dict (names -> tensors)", "list"),
    ({"classes": "abc"}, "classes", "a list of class names", "str"),
])
def test_resume_checks_every_checkpoint_field(finished_run, tmp_path, capsys, change, field, must, found):
    """A checkpoint without `epoch`, or with `epoch: [1]`, printed a traceback (train.py, a regression)."""
    ds, done = finished_run
    run = tmp_path / "run"
    _copy_run(done, run)
    ckpt = read_checkpoint(run)
    for k, v in change.items():
        if v is None:
            del ckpt[k]
        else:
            ckpt[k] = v
    torch.save(ckpt, run / "checkpoint.pt")
    capsys.readouterr()
    assert train.main(["--dataset", str(ds), "--out", str(run), "--resume", *FAST]) == 1
    why = f"field '{field}' is missing" if must is None else f"field '{field}' must be {must}, found {found}"
    assert capsys.readouterr().err == f"error: {run / 'checkpoint.pt'}: not a checkpoint this tool can read ({why})\n"


def test_the_explainer_checks_field_types(finished_run, tmp_path):
    _, done = finished_run
    run = tmp_path / "run"
    _copy_run(done, run)
    ckpt = read_checkpoint(run)
    ckpt["classes"] = 7
    torch.save(ckpt, run / "checkpoint.pt")
    with pytest.raises(CheckpointError) as e:
        Explainer.load(run)
    assert str(e.value) == (f"{run / 'checkpoint.pt'}: not a checkpoint this tool can read "
                            "(field 'classes' must be a list of class names, found int)")
