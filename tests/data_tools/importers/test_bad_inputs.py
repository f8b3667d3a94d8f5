"""The bad-input corpus of issue 2 section 3: each input gets an exact report reason or a one-line
error naming the file (and row); nothing is lost silently."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from data_tools.importers import ImportFailure
from data_tools.importers.base import read_table

LABELS7 = "angry, disgust, fear, happy, neutral, sad, surprise"


@pytest.fixture
def class_tree(tmp_path, special_images):
    """A folders dataset: every special image kind under happy/, a plain image under sad/."""
    root = tmp_path / "tree"
    for path in special_images.values():
        (root / "happy").mkdir(parents=True, exist_ok=True)
        shutil.copy(path, root / "happy" / path.name)
    (root / "sad").mkdir()
    shutil.copy(special_images["rgb_png"], root / "sad" / "plain.png")
    return root


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_image_corpus_through_an_import(run_import, class_tree, reasons, check_counts):
    res = run_import("folders", class_tree)
    check_counts(res)
    assert reasons(res) == {
        "happy/zero.jpg": "unreadable image: empty file (0 bytes)",
        "happy/truncated.jpg": "unreadable image: truncated image data",
        "happy/text.jpg": "unreadable image: not an image (format not recognised)",
        "happy/bomb.png": "unreadable image: declares 400,000,000 pixels, over the limit of 89,478,485 "
                          "(refused as a possible decompression bomb)",
        "happy/bomb_moderate.png": "unreadable image: declares 10000x10000 = 100,000,000 pixels, over the "
                                   "limit of 89,478,485 (refused as a possible decompression bomb)",
    }
    # decoded correctly, not rejected
    assert sorted(res.manifest["path"]) == sorted([
        "happy/rgb.png", "happy/alpha.png", "happy/gray16.png", "happy/palette.tiff", "happy/cmyk.jpg",
        "happy/exif_rotated.jpg", "happy/gray.jpg", "sad/plain.png"])


def _csv(root: Path, text: str, name: str = "labels.csv", encoding: str = "utf-8") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / name).write_bytes(text.encode(encoding, "surrogateescape"))
    return root / name


@pytest.fixture
def img_root(tmp_path, special_images):
    root = tmp_path / "csvroot"
    (root / "img").mkdir(parents=True)
    for n in ("a", "b", "c", "d"):
        shutil.copy(special_images["rgb_png"], root / "img" / f"{n}.png")
    return root


def test_label_rules(run_import, img_root, reasons, check_counts):
    _csv(img_root, "path,label\nimg/a.png,happy\nimg/b.png,hapy\nimg/c.png,\nimg/d.png,Sadness\n")
    res = run_import("csv", img_root, classes=["happy", "sad"], test_fraction=0)
    check_counts(res)
    assert reasons(res) == {"img/b.png": "label 'hapy' is not one of: happy, sad",
                            "img/c.png": "empty label"}
    assert dict(zip(res.manifest["path"], res.manifest["label"])) == {"img/a.png": "happy", "img/d.png": "sad"}


def test_label_not_in_the_class_list(run_import, img_root, reasons):
    _csv(img_root, "path,label\nimg/a.png,happy\nimg/b.png,contempt\n")
    res = run_import("csv", img_root, classes=["happy", "sad"])
    assert reasons(res) == {"img/b.png": "label 'contempt' is not one of: happy, sad"}


def test_numeric_label_out_of_range(run_import, tmp_path, reasons, check_counts):
    root = tmp_path / "raf"
    _csv(root, "train_00001.jpg 5\ntrain_00002.jpg 8\ntest_00001.jpg 0\ntest_00002.jpg x\n",
         name="list_patition_label.txt")
    res = run_import("rafdb", root, labels_only=True)
    check_counts(res)
    assert reasons(res) == {"train_00002.jpg": "label 8 is out of range 1..7",
                            "test_00001.jpg": "label 0 is out of range 1..7",
                            "test_00002.jpg": "label 'x' is not a number in 1..7"}


def test_duplicate_sample_id(run_import, img_root, reasons, check_counts):
    _csv(img_root, "sample_id,path,label\ns1,img/a.png,happy\ns1,img/b.png,sad\ns2,img/c.png,sad\n")
    res = run_import("csv", img_root)
    check_counts(res)
    assert reasons(res) == {"img/b.png": "duplicate sample_id 's1' (first at row 2)"}


def test_same_image_with_two_labels_is_a_conflict(run_import, img_root, reasons, check_counts):
    _csv(img_root, "path,label\nimg/a.png,happy\nimg/b.png,sad\nimg/a.png,sad\n")
    res = run_import("csv", img_root)
    check_counts(res)
    assert list(res.report["reason"]) == ["conflict: the same image is also listed as 'sad' (row 4)",
                                          "conflict: the same image is also listed as 'happy' (row 2)"]
    assert list(res.report["row"]) == [2, 4]
    assert list(res.manifest["path"]) == ["img/b.png"]


def test_same_image_twice_with_the_same_label_keeps_the_first(run_import, img_root, reasons):
    _csv(img_root, "path,label\nimg/a.png,happy\n./img/a.png,Happiness\n")
    res = run_import("csv", img_root)
    assert list(res.report["reason"]) == ["duplicate: the same image is already listed (row 2)"]
    assert list(res.manifest["path"]) == ["img/a.png"]


def test_paths_that_leave_the_root(run_import, tmp_path, img_root, reasons, check_counts):
    outside = tmp_path / "outside.png"
    shutil.copy(img_root / "img" / "a.png", outside)
    os.symlink(outside, img_root / "img" / "link.png")
    os.symlink(tmp_path, img_root / "updir")
    _csv(img_root, f"path,label\n../outside.png,happy\nimg/../../outside.png,sad\n{outside},sad\n"
                   f"img/link.png,happy\nupdir/outside.png,sad\n{img_root / 'img' / 'a.png'},happy\n")
    res = run_import("csv", img_root)
    check_counts(res)
    assert list(res.report["reason"]) == ["path leaves the root through '..'"] * 2 + [
        "absolute path outside the root", "symlink leads outside the root", "symlink leads outside the root"]
    assert list(res.manifest["path"]) == ["img/a.png"]  # an absolute path inside the root is fine


def test_missing_file(run_import, img_root, reasons):
    _csv(img_root, "path,label\nimg/a.png,happy\nimg/nope.png,sad\n")
    assert reasons(run_import("csv", img_root)) == {"img/nope.png": "missing file"}


def test_a_file_name_too_long_is_one_rejected_row(run_import, img_root, reasons):
    """A name over the file system's 255 bytes made the file check raise (ENAMETOOLONG), and the whole
    import failed with no dataset written; it is now that row's reason."""
    long = "img/" + "x" * 300 + ".png"
    _csv(img_root, f"path,label\nimg/a.png,happy\n{long},sad\n")
    res = run_import("csv", img_root)
    assert reasons(res) == {long: "file name too long"}
    assert list(res.manifest["path"]) == ["img/a.png"]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("rows", [2, 600])     # checked in the main process; in worker processes (>= 500 rows)
def test_a_fifo_and_a_folder_are_rows_that_are_not_files(run_import, img_root, reasons, rows):
    """The read-ahead opens each batch's files before they are decoded: a FIFO must not block it (open
    waits for a writer) and neither must reach the decoder."""
    os.mkfifo(img_root / "img" / "pipe.png")
    (img_root / "img" / "dir.png").mkdir()
    for i in range(rows):
        shutil.copyfile(img_root / "img" / "a.png", img_root / "img" / f"copy{i}.png")
    extra = "".join(f"img/copy{i}.png,happy\n" for i in range(rows))
    _csv(img_root, f"path,label\nimg/pipe.png,happy\nimg/dir.png,sad\n{extra}")
    res = run_import("csv", img_root)
    assert reasons(res) == {"img/pipe.png": "not a file", "img/dir.png": "not a file"}
    assert len(res.manifest) == rows


def test_unicode_names_import_and_non_utf8_names_are_reported(run_import, tmp_path, special_images,
                                                              reasons, check_counts):
    root = tmp_path / "names"
    (root / "happy").mkdir(parents=True)
    shutil.copy(special_images["rgb_png"], root / "happy" / "笑顔 é.png")
    shutil.copy(special_images["rgb_png"], root / "happy" / b"caf\xe9.png".decode("utf-8", "surrogateescape"))
    res = run_import("folders", root, test_fraction=0)
    check_counts(res)
    assert list(res.manifest["path"]) == ["happy/笑顔 é.png"]
    assert list(res.manifest["sample_id"]) == ["happy/笑顔 é"]
    assert reasons(res) == {"happy/caf\\xe9.png": "file name is not valid UTF-8"}
    text = (res.out / "report.csv").read_text(encoding="utf-8")
    assert "happy/caf\\xe9.png" in text
    assert "笑顔 é" in (res.out / "manifest.csv").read_text(encoding="utf-8")


def test_non_utf8_bytes_inside_a_csv(run_import, img_root, reasons):
    _csv(img_root, "path,label\nimg/a.png,happy\nimg/caf\udce9.png,sad\n")
    assert reasons(run_import("csv", img_root)) == {"img/caf\\xe9.png": "file name is not valid UTF-8"}


@pytest.mark.parametrize("text", [
    "\ufeffpath,label\r\nimg/a.png,happy\r\nimg/b.png,sad\r\n",   # BOM and CRLF
    "path;label\nimg/a.png;happy\nimg/b.png;sad\n",               # ; delimiter
    "path\tlabel\nimg/a.png\thappy\n\nimg/b.png\tsad",            # tab, blank line, no final newline
])
def test_csv_dialects(run_import, img_root, text, check_counts):
    _csv(img_root, text)
    res = run_import("csv", img_root, test_fraction=0)
    check_counts(res)
    assert dict(zip(res.manifest["path"], res.manifest["label"])) == {"img/a.png": "happy", "img/b.png": "sad"}
    assert len(res.report) == 0


def test_csv_row_with_wrong_field_count_is_reported(run_import, img_root, reasons, check_counts):
    _csv(img_root, "path,label\nimg/a.png,happy\nimg/b.png,sad,extra\n")
    res = run_import("csv", img_root)
    check_counts(res)
    assert list(zip(res.report["row"], res.report["reason"])) == [(3, "has 3 fields, the header has 2")]


def test_header_only_csv_is_a_one_line_error(run_import, img_root):
    path = _csv(img_root, "path,label\r\n")
    with pytest.raises(ImportFailure) as err:
        run_import("csv", img_root)
    assert str(err.value) == f"{path}: header only, no data rows"


def test_empty_csv_is_a_one_line_error(run_import, img_root):
    path = _csv(img_root, "")
    with pytest.raises(ImportFailure) as err:
        run_import("csv", img_root)
    assert str(err.value) == f"{path}: empty file"
    with pytest.raises(ImportFailure, match=r": empty file$"):
        read_table(_csv(img_root, "\n\r\n  \n", name="blank.csv"))


def test_missing_column_is_a_one_line_error(run_import, img_root):
    path = _csv(img_root, "file,label\nimg/a.png,happy\n")
    with pytest.raises(ImportFailure) as err:
        run_import("csv", img_root)
    assert str(err.value) == f"{path}: no column 'path' (columns: file, label)"


def test_labels_only_skips_image_checks(run_import, img_root, reasons):
    _csv(img_root, "path,label\nimg/nope.png,happy\n../x.png,sad\n")
    res = run_import("csv", img_root, labels_only=True)
    assert list(res.manifest["path"]) == ["img/nope.png"]
    assert reasons(res) == {"../x.png": "path leaves the root through '..'"}  # still refused


# -- issue 9: holes 5 and 9 ---------------------------------------------------------------------------
@pytest.mark.parametrize("header", ["path,label,caf\udce9", "pa\udcfft\udcffh,label", "path,label\udc80"])
def test_non_utf8_byte_in_the_header_fails_with_the_file_named(run_import, img_root, header):
    """Hole 5: the import failed with no file named (CLI) or an uncaught UnicodeEncodeError (API)."""
    path = _csv(img_root, f"{header}\nimg/a.png,happy{',x' if header.count(',') == 2 else ''}\n")
    with pytest.raises(ImportFailure) as err:
        run_import("csv", img_root)
    shown = header.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    assert str(err.value) == (f"{path}: the header row is not valid UTF-8 ({shown}); save the file as "
                              "UTF-8 and import again")


def test_non_utf8_header_through_the_command_line(img_root, tmp_path, capsys):
    import data_tools.__main__ as cli
    path = _csv(img_root, "path,label,caf\udce9\nimg/a.png,happy,x\n")
    rc = cli.main(["import", "--format", "csv", "--root", str(img_root), "--out", str(tmp_path / "o")])
    assert rc == 2
    assert capsys.readouterr().err == (f"error: {path}: the header row is not valid UTF-8 "
                                       "(path,label,caf\\xe9); save the file as UTF-8 and import again\n")


def test_one_oversized_cell_rejects_only_its_row(run_import, img_root, reasons, check_counts):
    """Hole 9: one cell over the csv module's limit (131,072 characters) refused the whole CSV."""
    big = "x" * 200_000
    _csv(img_root, f"path,label,comment\nimg/a.png,happy,fine\nimg/b.png,sad,{big}\nimg/c.png,sad,ok\n"
                   f"img/d.png,\"{big}\",\n")
    res = run_import("csv", img_root, test_fraction=0)
    check_counts(res)
    assert list(zip(res.report["row"], res.report["reason"])) == [
        (3, "cell in column 'comment' has 200,000 characters (limit 131,072)"),
        (5, "cell in column 'label' has 200,000 characters (limit 131,072)")]
    assert list(res.manifest["path"]) == ["img/a.png", "img/c.png"]
    assert (res.out / "report.csv").stat().st_size < 2_000       # the huge cell is not copied into the report


def test_absolute_paths_under_the_root_get_relative_sample_ids(run_import, img_root, check_counts):
    """Hole 9: a CSV naming images by absolute paths inside --root got absolute sample_ids."""
    _csv(img_root, f"path,label\n{img_root / 'img' / 'a.png'},happy\n{img_root}/img/../img/b.png,sad\n"
                   "img/c.png,sad\n")
    res = run_import("csv", img_root, test_fraction=0)
    check_counts(res)
    assert list(res.manifest["sample_id"]) == ["img/a", "img/b", "img/c"]
    assert list(res.manifest["path"]) == ["img/a.png", "img/b.png", "img/c.png"]


def test_line_breaks_inside_ids_and_paths_reject_the_row(run_import, img_root, reasons, check_counts):
    """Found by tests/data_tools/importers/test_fuzz.py: a quoted path or sample_id holding a carriage
    return was written raw into manifest.csv, which then read back as extra, broken rows."""
    _csv(img_root, 'sample_id,path,label\ns1,"img/a\r.png",happy\n"s\n2",img/b.png,sad\ns3,img/c.png,sad\n')
    res = run_import("csv", img_root, labels_only=True, test_fraction=0)
    check_counts(res)
    assert list(zip(res.report["row"], res.report["reason"])) == [
        (2, "path contains a line break (a manifest row cannot hold it)"),
        (3, "sample_id contains a line break (a manifest row cannot hold it)")]
    assert res.manifest["sample_id"].tolist() == ["s3"]


def test_a_line_break_in_a_column_name_is_a_one_line_error(run_import, img_root):
    path = _csv(img_root, 'path,label,"no\rte"\nimg/a.png,happy,x\n')
    with pytest.raises(ImportFailure) as err:
        run_import("csv", img_root)
    assert str(err.value) == f"{path}: column name 'no\\rte' in the header contains a line break"


def test_other_line_separators_and_bidi_controls_reject_the_row(run_import, img_root, check_counts):
    """Issue 22 item 6: U+2028, U+2029, U+0085 and the bidi overrides, which the manifest refuses on
    every read, are rejected here with their row instead of failing the whole import."""
    _csv(img_root, "sample_id,path,label\ns\u20281,img/a.png,happy\ns2,img/b\u2029.png,sad\n"
                   "s\u00853,img/c.png,sad\ns\u202e4,img/d.png,sad\ns5,img/a.png,happy\n")
    res = run_import("csv", img_root, labels_only=True, test_fraction=0)
    check_counts(res)
    assert list(zip(res.report["row"], res.report["reason"])) == [
        (2, "sample_id contains a line break (a manifest row cannot hold it)"),
        (3, "path contains a line break (a manifest row cannot hold it)"),
        (4, "sample_id contains a line break (a manifest row cannot hold it)"),
        (5, "sample_id contains a bidi control (U+202E): it can make two names look alike")]
    assert res.manifest["sample_id"].tolist() == ["s5"]


def test_latin1_bytes_in_metadata_cells_are_read_as_windows_1252(run_import, img_root, check_counts):
    """Issue 22: a metadata cell saved as Latin-1 / Windows-1252 in an otherwise UTF-8 CSV was stored
    as the literal text `Montr\\xe9al`. Such a cell is decoded as Windows-1252 (Latin-1 for the five
    bytes it leaves undefined), and dataset.json says how many cells were and where the first is."""
    _csv(img_root, "path,label,city,quote\nimg/a.png,happy,Montr\udce9al,ok\nimg/b.png,sad,Zürich,\udc93hi\udc94\n"
                   "img/c.png,sad,caf\udce9 \udc81,plain\n")
    res = run_import("csv", img_root, test_fraction=0)
    check_counts(res)
    assert res.manifest["city"].tolist() == ["Montréal", "Zürich", "café \x81"]
    assert res.manifest["quote"].tolist() == ["ok", "\u201chi\u201d", "plain"]
    assert res.info.extra["recoded_cells"] == {"count": 3, "encoding": "cp1252",
                                               "first": "labels.csv row 2, column 'city'"}
    from data_tools.manifest import load_dataset
    assert load_dataset(res.out).info.extra["recoded_cells"]["count"] == 3


def test_a_utf8_csv_records_no_recoded_cells(run_import, img_root):
    _csv(img_root, "path,label,city\nimg/a.png,happy,Zürich\n")
    res = run_import("csv", img_root, test_fraction=0)
    assert "recoded_cells" not in res.info.extra and res.manifest["city"].tolist() == ["Zürich"]
