"""Issue 22, smaller: on a full disk the trainer's error was torch's archive message ("PytorchStreamWriter
failed writing file data/3: file write failed") and progress.json stayed `running`, since the final
state could not be written atomically either. Now the error names the disk and the file, and
progress.json says `failed`."""
from __future__ import annotations

import json
import shutil
from collections import namedtuple
from pathlib import Path

import torch

from data_tools import atomic
from eac_core import train
from support.shapes import make_shapes_dataset

FAST = ["--preset", "demo", "--image-size", "32", "--batch-size", "16", "--threads", "1", "--epochs", "1"]


def test_a_full_disk_fails_the_run_with_a_clear_message(tmp_path, monkeypatch, capsys):
    ds = make_shapes_dataset(tmp_path / "ds", n_train=12, n_test=3)
    run = tmp_path / "run"
    full = {"now": False}
    real_write_text = atomic.write_text

    def save_on_a_full_disk(obj, f, *a, **k):
        full["now"] = True
        Path(f).write_bytes(b"PK\x03\x04")
        raise RuntimeError("[enforce fail at inline_container.cc:626] . PytorchStreamWriter failed writing "
                           "file data/3: file write failed")

    def write_text(path, text, *a, **k):
        if full["now"]:
            raise OSError(28, "No space left on device", str(path))
        return real_write_text(path, text, *a, **k)

    Usage = namedtuple("Usage", "total used free")
    monkeypatch.setattr(torch, "save", save_on_a_full_disk)
    monkeypatch.setattr(atomic, "write_text", write_text)
    monkeypatch.setattr(shutil, "disk_usage", lambda p: Usage(10 << 30, (10 << 30) - 4096, 4096))
    capsys.readouterr()
    assert train.main(["--dataset", str(ds), "--out", str(run), *FAST]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    why = ("OSError: [Errno 28] No space left on device (the checkpoint could not be written; 4,096 bytes free "
           f"on its disk): '{run / 'checkpoint.pt'}'")
    assert err == f"error: {why} (traceback in {run / 'train.log'})"
    progress = json.loads((run / "progress.json").read_text())
    assert progress["state"] == "failed" and progress["error"] == why
