"""Atomic writes: the file appears whole or not at all, with the permissions of an ordinary file, and a
full disk is answered with the file it could not write."""
from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pandas as pd
import pytest

from data_tools import atomic


@pytest.fixture
def umask():
    def set_(mask: int) -> None:
        os.umask(mask)
    old = os.umask(0o022)
    os.umask(old)
    yield set_
    os.umask(old)


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_new_files_follow_the_umask(tmp_path, umask, mask, mode):
    umask(mask)
    atomic.write_text(tmp_path / "a.txt", "x")
    atomic.write_json(tmp_path / "b.json", {"a": 1})
    atomic.write_csv(tmp_path / "c.csv", pd.DataFrame({"a": [1]}))
    for name in ("a.txt", "b.json", "c.csv"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode, name


def test_replacing_a_file_keeps_its_mode(tmp_path, umask):
    umask(0o022)
    p = tmp_path / "shared.csv"
    p.write_text("old")
    p.chmod(0o664)
    atomic.write_text(p, "new")
    assert p.read_text() == "new" and stat.S_IMODE(p.stat().st_mode) == 0o664


def test_disk_full_names_the_file_and_keeps_the_old_one(tmp_path, monkeypatch):
    p = tmp_path / "out.csv"
    p.write_text("previous")

    def full(self, data, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", full)
    with pytest.raises(OSError) as e:
        atomic.write_text(p, "new contents")
    assert e.value.errno == errno.ENOSPC
    assert str(e.value) == f"[Errno 28] No space left on device: '{p}'"
    monkeypatch.undo()
    assert p.read_text() == "previous"
    assert sorted(x.name for x in tmp_path.iterdir()) == ["out.csv"]
