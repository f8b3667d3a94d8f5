"""Image-level issues: planted duplicates (exact, resized, shifted, re-encoded), a leak, a label
conflict and unusable images are found, and nothing else; the issues command's one-line errors."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data_tools.__main__ import main as cli
from data_tools.issues import compute_issues, counts, find_issues, read_issues, signature, signatures
from data_tools.issues.duplicates import exact_groups, hamming, near_groups, near_pairs
from data_tools.issues.image import phash, luminance
from support.planted_issues import PLANTED, face, make_dataset


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    ds = make_dataset(tmp_path_factory.mktemp("planted"))
    return ds, compute_issues(ds, jobs=1)


def _flagged(table: pd.DataFrame, issue: str) -> set[str]:
    return set(table.loc[table["issue"] == issue, "sample_id"])


def test_every_planted_issue_is_found_and_nothing_else(planted):
    _, t = planted
    assert _flagged(t, "exact_duplicate") == PLANTED["exact"] | PLANTED["leak"] | PLANTED["conflict"]
    assert _flagged(t, "split_leak") == PLANTED["leak"]
    assert _flagged(t, "label_conflict") == PLANTED["conflict"]
    assert _flagged(t, "near_duplicate") == PLANTED["near"]
    for issue in ("blank", "dark", "bright", "low_information", "blurry"):
        assert _flagged(t, issue) == PLANTED[issue], issue
    assert not any(s.startswith("clean") for s in t["sample_id"])


def test_shifted_and_cropped_copies_are_found_a_crop_to_80_percent_is_not(planted):
    """A one-pixel shift moves the DCT hash by more than its radius; the keypoint-aligned hash finds the
    copy, and a 96 % crop resized back; a crop to 80 % of the side (zoom 1.25) is beyond both (measured)."""
    _, t = planted
    near = _flagged(t, "near_duplicate")
    assert {"d0", "d0_shift", "e0", "e0_crop"} <= near
    assert not PLANTED["missed"] & set(t["sample_id"])
    d = face(6, 50)
    a, b = luminance(d[1:49, 1:49].copy()), luminance(d[2:50, 1:49].copy())
    assert int(hamming(np.uint64(phash(a)), np.uint64(phash(b)))) > 4


def test_groups_and_details(planted):
    _, t = planted
    ex = t[t["issue"] == "exact_duplicate"]
    assert ex.groupby("group")["sample_id"].apply(frozenset).map(sorted).map(tuple).sort_values().tolist() == [
        ("a0", "a0_copy"), ("a1", "a1_test"), ("a2", "a2_sad")]
    leak = t[t["issue"] == "split_leak"].iloc[0]
    assert leak["detail"] == "2 faces with the same pixels; label happy; splits test/train (leak)"
    conflict = t[t["issue"] == "label_conflict"].iloc[0]
    assert conflict["detail"] == "2 faces with the same pixels; labels happy/sad (label conflict); split train"
    near = t[t["issue"] == "near_duplicate"]
    assert near.groupby("group")["sample_id"].apply(lambda s: tuple(sorted(s))).sort_values().tolist() == [
        ("b0", "b0_resized"), ("c0", "c0_jpeg"), ("d0", "d0_shift"), ("e0", "e0_crop")]
    assert (near["score"] <= 1).all() and (near["score"] >= 1 - 4 / 64).all()
    # conflicts and leaks come first in the file
    assert list(t["issue"].iloc[:4]) == ["label_conflict"] * 2 + ["split_leak"] * 2
    assert counts(t) == {"label_conflict": 2, "split_leak": 2, "exact_duplicate": 6, "near_duplicate": 8,
                         "blank": 1, "dark": 1, "bright": 1, "low_information": 1, "blurry": 1}


def test_issues_file_round_trips(planted):
    """The streamed writer (a chunk at a time) writes what issue_table builds in memory, in its order."""
    from data_tools.issues import issue_table, measure_all
    from data_tools.manifest import load_dataset
    ds, t = planted
    d = load_dataset(ds)
    sig = measure_all([str(d.image_path(p)) for p in d.manifest["path"]], jobs=1)
    whole = issue_table(d.manifest["sample_id"], sig, d.manifest["label"].to_numpy(), d.manifest["split"].to_numpy())
    pd.testing.assert_frame_equal(whole.astype(str), t.astype(str))
    back = read_issues(ds)
    assert list(back.columns) == ["sample_id", "issue", "score", "group", "detail"]
    pd.testing.assert_frame_equal(back.astype(str), t.reset_index(drop=True).astype(str))
    assert back["score"].dtype == np.float32


def test_phash_is_imagehash_algorithm():
    imagehash = pytest.importorskip("imagehash")
    from PIL import Image
    for seed in range(20):
        g = luminance(face(seed))
        theirs = np.uint64(int(str(imagehash.phash(Image.fromarray(g))), 16))
        assert int(hamming(theirs, np.uint64(phash(g)))) <= 6   # resampling filters differ (measured ≤ 4 on FER)


def test_exact_hash_sees_pixels_not_files():
    a = face(0)
    assert signature(a)["exact"] == signature(a.copy())["exact"]
    b = a.copy()
    b[0, 0, 0] ^= 1
    assert signature(a)["exact"] != signature(b)["exact"]
    assert signature(a)["exact"] != signature(a.reshape(24, 96, 3))["exact"]   # same bytes, other shape


def test_near_pairs_equal_brute_force():
    rng = np.random.default_rng(0)
    base = rng.integers(0, 2**63, 300, dtype=np.uint64)
    flips = np.uint64(1) << rng.integers(0, 64, (300, 3)).astype(np.uint64)
    h = np.unique(np.concatenate([base, base ^ flips[:, 0], base ^ flips[:, 0] ^ flips[:, 1] ^ flips[:, 2]]))
    for radius in (2, 4, 6):
        i, j, d = near_pairs(h, radius)
        full = hamming(h[:, None], h[None, :])
        bi, bj = np.nonzero(np.triu(full <= radius, 1))
        assert sorted(zip(i.tolist(), j.tolist())) == sorted(zip(bi.tolist(), bj.tolist()))
        assert (d == full[i, j]).all()


def test_near_groups_need_two_contents():
    exact = np.array([b"a" * 16, b"a" * 16, b"b" * 16, b"c" * 16], dtype="V16")
    ph = np.array([0, 0, 0b111, 0xFFFF_FFFF_FF00_0000], np.uint64)
    group, nearest = near_groups(ph, exact, 4)
    assert group.tolist() == [0, 0, 0, -1] and nearest.tolist() == [0, 0, 3, -1]
    assert exact_groups(exact).tolist() == [0, 0, -1, -1]
    # one content, many copies: an exact group, no near group
    group, _ = near_groups(np.zeros(5, np.uint64), np.array([b"z" * 16] * 5, dtype="V16"), 4)
    assert (group == -1).all()


def test_unmeasured_rows_get_no_issue():
    sig = signatures([b"", b""])
    assert len(find_issues(sig, np.array(["happy", "sad"]), np.array(["train", "test"]))) == 0


def test_command_writes_and_prints(planted, capsys):
    ds, _ = planted
    assert cli(["issues", "--dataset", str(ds), "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert "label_conflict 2, split_leak 2, exact_duplicate 6, near_duplicate 8" in out
    assert "(7 duplicate groups)" in out


@pytest.mark.parametrize("argv, message", [
    (["--dataset", "{missing}"], "not a dataset folder (no dataset.json)"),
    (["--dataset", "{ds}", "--jobs", "-1"], "--jobs -1: must be 0"),
])
def test_command_one_line_errors(planted, tmp_path, capsys, argv, message):
    ds, _ = planted
    argv = [a.format(missing=tmp_path / "nope", ds=ds) for a in argv]
    assert cli(["issues", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err


def test_command_broken_manifest_is_one_line(tmp_path, capsys):
    ds = tmp_path / "ds"
    ds.mkdir()
    (ds / "dataset.json").write_text("[1, 2]")
    (ds / "manifest.csv").write_text("sample_id,path,label,split\n")
    assert cli(["issues", "--dataset", str(ds)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "dataset.json" in err


def test_import_writes_issues(tmp_path):
    """The import measures each image in the worker that decodes it, and writes issues.parquet."""
    from data_tools.importers import import_dataset
    from support.planted_issues import make_dataset
    ds = make_dataset(tmp_path / "src")
    m = pd.read_csv(ds / "manifest.csv", dtype=str)
    m[["path", "label", "split"]].to_csv(tmp_path / "labels.csv", index=False)
    out = tmp_path / "imported"
    import_dataset("csv", tmp_path / "src" / "img", out, csv=str(tmp_path / "labels.csv"), jobs=1)
    t = read_issues(out)
    ids = dict(zip(pd.read_csv(out / "manifest.csv", dtype=str)["path"], pd.read_csv(out / "manifest.csv",
                                                                                      dtype=str)["sample_id"]))
    assert {p for p, s in ids.items() if s in _flagged(t, "split_leak")} == {"a1.png", "a1_test.png"}
    assert counts(t) == counts(compute_issues(ds, jobs=1))


def test_import_no_issues_writes_none(tmp_path, capsys):
    from support.planted_issues import make_dataset
    ds = make_dataset(tmp_path / "src")
    pd.read_csv(ds / "manifest.csv", dtype=str)[["path", "label", "split"]].to_csv(tmp_path / "src" / "img" / "l.csv",
                                                                                  index=False)
    out = tmp_path / "imported"
    assert cli(["import", "--format", "csv", "--root", str(tmp_path / "src" / "img"), "--csv", "l.csv",
                "--split-col", "split", "--out", str(out), "--no-issues"]) == 0
    assert (out / "manifest.csv").is_file() and read_issues(out) is None
    assert cli(["issues", "--dataset", str(out), "--jobs", "1"]) == 0
    assert counts(read_issues(out))["split_leak"] == 2


def test_measured_together_equals_one_at_a_time():
    """Images of one size are measured as arrays; the records equal those of each image alone, and
    the matrix resizes equal OpenCV's."""
    import cv2
    from data_tools.issues.image import _resize, signatures_of
    rng = np.random.default_rng(3)
    ims = [face(s) for s in range(5)] + [face(9, 64), rng.integers(0, 256, (300, 280, 3), dtype=np.uint8)]
    together = signatures_of(ims)
    alone = [signature(a).tobytes() for a in ims]
    a, b = signatures(together), signatures(alone)
    assert (a["exact"] == b["exact"]).all() and (a["phash"] == b["phash"]).all()
    for k in ("mean", "std", "p01", "p99", "entropy", "sharpness"):
        assert np.allclose(a[k], b[k], rtol=1e-5), k
    img = rng.random((48, 40)).astype(np.float32)
    for out in (32, 64):
        interp = cv2.INTER_AREA if out <= 40 else cv2.INTER_LINEAR
        if out > 48 or out <= 40:
            assert np.abs(_resize(img[None], out, out)[0] - cv2.resize(img, (out, out), interpolation=interp)).max() < 1e-5


def test_import_keeps_awkward_sample_ids_in_issues(tmp_path):
    """The issues step reads the manifest's ids with pyarrow's CSV reader: ids that a CSV reader could
    turn into numbers, nulls or split fields ("007", "NA", a comma, quotes, non-ASCII) come back exactly
    in issues.parquet, on the rows they belong to (a line break is rejected by the import, with its row)."""
    from data_tools.importers import import_dataset
    from support.planted_issues import make_dataset
    ds = make_dataset(tmp_path / "src")
    m = pd.read_csv(ds / "manifest.csv", dtype=str)
    awkward = {"a1.png": "007", "a1_test.png": "NA", "a0.png": 'say "hi", twice', "a0_copy.png": "naïve; é"}
    m["sample_id"] = [awkward.get(p, f"id-{k}") for k, p in enumerate(m["path"])]
    m[["path", "label", "split", "sample_id"]].to_csv(tmp_path / "labels.csv", index=False)
    out = tmp_path / "imported"
    import_dataset("csv", tmp_path / "src" / "img", out, csv=str(tmp_path / "labels.csv"), jobs=1)
    t = read_issues(out)
    assert _flagged(t, "split_leak") == {"007", "NA"}
    assert {'say "hi", twice', "naïve; é"} <= _flagged(t, "exact_duplicate")
    assert set(t["sample_id"]) <= set(pd.read_csv(out / "manifest.csv", dtype=str, keep_default_na=False)["sample_id"])
