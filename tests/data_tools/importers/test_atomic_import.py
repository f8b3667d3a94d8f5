"""Issue 22 items 3 and 4 and the torn reads: an import writes its dataset folder beside the
destination and swaps it in, whole, only when it succeeded; replacing an existing dataset needs
--replace. A failed or interrupted import leaves the old dataset byte-identical and no other file."""
from __future__ import annotations

import errno
import hashlib
import re
import shutil
from pathlib import Path

import pytest

from data_tools import manifest
from data_tools.__main__ import main
from data_tools.importers import ImportFailure, import_dataset


def snapshot(folder: Path) -> dict[str, str]:
    """Every file below `folder` (relative path -> sha256 of its bytes)."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def tree(tmp_path, special_images):
    root = tmp_path / "tree"
    for rel in ("happy/a.png", "sad/b.png", "sad/c.png"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(special_images["rgb_png"], root / rel)
    return root


def _run(capsys, argv) -> tuple[int, str, str]:
    code = main(argv)
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def test_replacing_an_existing_dataset_needs_replace(tmp_path, tree, capsys):
    out = tmp_path / "datasets" / "faces"
    argv = ["import", "--format", "folders", "--root", str(tree), "--out", str(out), "--test-fraction", "0"]
    assert _run(capsys, argv)[0] == 0
    before = snapshot(out)
    (tree / "sad" / "c.png").unlink()
    code, _, err = _run(capsys, argv)
    assert code == 2
    assert err == (f"error: --out {out} already holds the dataset 'faces' (3 images); pass --replace to "
                   "replace it\n")
    assert snapshot(out) == before
    code, stdout, err = _run(capsys, [*argv, "--replace"])
    assert code == 0, err
    assert stdout.startswith(f"imported 2 of 2 rows (0 rejected) into {out}")
    assert manifest.load_dataset(out).manifest["path"].tolist() == ["happy/a.png", "sad/b.png"]
    assert sorted(p.name for p in out.parent.iterdir()) == ["faces"]        # nothing left beside it


def test_a_failed_import_leaves_the_old_dataset_byte_identical(tmp_path, tree, capsys):
    """The issue's case: a CSV whose rows are all rejected, imported under an existing name."""
    out = tmp_path / "datasets" / "faces"
    assert _run(capsys, ["import", "--format", "folders", "--root", str(tree), "--out", str(out)])[0] == 0
    before = snapshot(out)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "labels.csv").write_text("path,label\nmissing1.png,happy\nmissing2.png,sad\n")
    code, _, err = _run(capsys, ["import", "--format", "csv", "--root", str(bad), "--out", str(out), "--replace"])
    assert code == 2
    report = tmp_path / "datasets" / "faces.rejected.csv"
    assert err == (f"error: no rows imported from {bad / 'labels.csv'}: all 2 rows were rejected (reasons in "
                   f"{report}); {out} was not changed\n")
    assert snapshot(out) == before
    assert report.read_text().splitlines()[1:] == ["labels.csv,2,missing1,missing1.png,happy,missing file",
                                                   "labels.csv,3,missing2,missing2.png,sad,missing file"]
    assert sorted(p.name for p in out.parent.iterdir()) == ["faces", "faces.rejected.csv"]
    # a later import that succeeds takes the stale report of the failed one away
    assert _run(capsys, ["import", "--format", "folders", "--root", str(tree), "--out", str(out), "--replace"])[0] == 0
    assert sorted(p.name for p in out.parent.iterdir()) == ["faces"]


def test_a_failed_first_import_writes_no_dataset(tmp_path, capsys):
    bad = tmp_path / "bad"
    (bad / "happy").mkdir(parents=True)
    (bad / "happy" / "x.png").write_bytes(b"")
    out = tmp_path / "datasets" / "new"
    code, _, err = _run(capsys, ["import", "--format", "folders", "--root", str(bad), "--out", str(out)])
    assert code == 2 and err.startswith(f"error: no rows imported from {bad}: all 1 rows were rejected")
    assert not out.exists()
    assert sorted(p.name for p in out.parent.iterdir()) == ["new.rejected.csv"]


def _fer_csv(folder: Path, n: int, shift: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rows = [f"{k % 7},{' '.join(str((k * 7 + shift + j) % 256) for j in range(48 * 48))},Training" for k in range(n)]
    (folder / "fer2013.csv").write_text("emotion,pixels,Usage\n" + "\n".join(rows) + "\n")
    return folder


def test_an_interrupted_reimport_keeps_the_old_images_and_manifest(tmp_path, capsys, monkeypatch):
    """Item 4: a FER2013-CSV re-import into the same --out that runs out of disk space after 40
    images. Before: the old manifest with the new source's faces (old labels on the wrong images) and
    orphan PNGs."""
    from data_tools.importers import fer2013csv
    out = tmp_path / "datasets" / "fer"
    assert _run(capsys, ["import", "--format", "fer2013csv", "--root", str(_fer_csv(tmp_path / "a", 60, 0)),
                         "--out", str(out)])[0] == 0
    before = snapshot(out)
    assert len([k for k in before if k.startswith("images/")]) == 60
    real_write, written = fer2013csv.write_image, []

    def full_disk(path, rgb):
        if len(written) >= 40:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        written.append(path)
        real_write(path, rgb)

    monkeypatch.setattr(fer2013csv, "write_image", full_disk)
    code, _, err = _run(capsys, ["import", "--format", "fer2013csv", "--root", str(_fer_csv(tmp_path / "b", 90, 100)),
                                 "--out", str(out), "--replace"])
    assert code == 2
    assert re.fullmatch(rf"error: {re.escape(str(out))}: the import failed \(No space left on device: "
                        rf"{re.escape(str(out))}/images/fer00000\d\d\.png\); the dataset there was not "
                        r"changed\n", err), err
    assert len(written) == 40 and all(not Path(p).is_relative_to(out) for p in written)
    assert snapshot(out) == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["fer"]


def test_a_reader_never_pairs_the_new_manifest_with_the_old_dataset_json(tmp_path, tree, monkeypatch):
    """The torn read (7 in 8,157 reads under a racing re-import): a reader at the moment the import
    writes dataset.json sees the old dataset whole (the new one is still beside it)."""
    out = tmp_path / "ds"
    import_dataset("folders", tree, out, test_fraction=0)
    (tree / "sad" / "c.png").unlink()
    seen = []
    real = manifest.atomic.write_json

    def reading_first(path, obj):
        if Path(path).name == manifest.INFO:
            ds = manifest.load_dataset(out)
            seen.append((len(ds.manifest), ds.info.counts["imported"]))
        real(path, obj)

    monkeypatch.setattr(manifest.atomic, "write_json", reading_first)
    import_dataset("folders", tree, out, test_fraction=0, replace=True)
    assert seen == [(3, 3)]
    ds = manifest.load_dataset(out)
    assert (len(ds.manifest), ds.info.counts["imported"]) == (2, 2)


def test_a_swap_between_the_readers_two_files_is_not_seen(tmp_path, tree, monkeypatch):
    """A re-import swapping the folder in after the reader read dataset.json and before it read the
    manifest: the reader still gets one folder's files (the old one's)."""
    out = tmp_path / "ds"
    import_dataset("folders", tree, out, test_fraction=0)
    (tree / "sad" / "c.png").unlink()
    real_read_csv = manifest.pd.read_csv
    done = []

    class Pandas:
        def __getattr__(self, name):
            return getattr(manifest.pd_module, name)

        @staticmethod
        def read_csv(*args, **kwargs):
            if not done:
                done.append(1)
                import_dataset("folders", tree, out, test_fraction=0, replace=True)
            return real_read_csv(*args, **kwargs)

    monkeypatch.setattr(manifest, "pd_module", manifest.pd, raising=False)
    monkeypatch.setattr(manifest, "pd", Pandas())
    ds = manifest.load_dataset(out)
    assert done and (len(ds.manifest), ds.info.counts["imported"]) == (3, 3)
    monkeypatch.undo()
    ds = manifest.load_dataset(out)
    assert (len(ds.manifest), ds.info.counts["imported"]) == (2, 2)


def test_replace_keeps_the_folder_path_and_its_mode(tmp_path, tree):
    out = tmp_path / "ds"
    import_dataset("folders", tree, out)
    out.chmod(0o750)
    res = import_dataset("folders", tree, out, replace=True)
    assert res.out == out and res.info.name == "ds"
    assert manifest.load_dataset(out).info.name == "ds"
    assert out.stat().st_mode & 0o777 == 0o750


def test_the_library_refuses_too(tmp_path, tree):
    out = tmp_path / "ds"
    import_dataset("folders", tree, out)
    with pytest.raises(ImportFailure, match=r"already holds the dataset 'ds' \(3 images\); pass --replace"):
        import_dataset("folders", tree, out)


def test_leftovers_of_a_killed_import_are_removed(tmp_path, tree):
    """A staging folder whose import process is gone (SIGKILL) is removed by the next import there."""
    out = tmp_path / "datasets" / "ds"
    out.parent.mkdir()
    stale = out.parent / ".ds.import-999999999-abcd"
    (stale / "images").mkdir(parents=True)
    (stale / "dataset.json").write_text("{}")
    import_dataset("folders", tree, out)
    assert sorted(p.name for p in out.parent.iterdir()) == ["ds"]


def test_replace_without_an_atomic_exchange_falls_back_to_two_renames(tmp_path, tree, monkeypatch):
    """A file system without RENAME_EXCHANGE: the old folder is moved aside, the new one renamed in,
    the old one removed; the same path, nothing left beside it."""
    from data_tools.importers import staging
    out = tmp_path / "datasets" / "ds"
    import_dataset("folders", tree, out, test_fraction=0)
    (tree / "sad" / "c.png").unlink()
    monkeypatch.setattr(staging, "exchange", lambda a, b: False)
    import_dataset("folders", tree, out, test_fraction=0, replace=True)
    assert manifest.load_dataset(out).manifest["path"].tolist() == ["happy/a.png", "sad/b.png"]
    assert sorted(p.name for p in out.parent.iterdir()) == ["ds"]
