"""validate.check_and_write streams the rows a chunk at a time: the rules that span rows (the same image
twice, a sample_id twice, the seeded split) must give the same answer whichever chunk the rows fall in,
and memory must not grow with the rows held whole."""
from __future__ import annotations

import shutil
import tracemalloc
from pathlib import Path

import pytest

from data_tools.importers import validate

# (sample_id, path, label): rows 2..15 of the CSV (row 1 is the header)
ROWS = [
    ("s1", "img/a.png", "happy"),       # 2  kept
    ("s2", "img/c.png", "happy"),       # 3  conflict with row 12
    ("s3", "img/b.png", "sad"),         # 4  kept
    ("s2", "img/f.png", "sad"),         # 5  its sample_id repeats row 3's, which row 12 rejects: kept,
                                        #    its image (missing) checked after the pass -> missing file
    ("s4", "img/nope.png", "sad"),      # 6  missing file
    ("s5", "img/a.png", "Happiness"),   # 7  duplicate of row 2 (same label)
    ("s6", "img/d.png", "sad"),         # 8  kept
    ("s7", "img/e.png", "happy"),       # 9  kept (the first holder of s7)
    ("s7", "img/g.png", "sad"),         # 10 duplicate sample_id (first at row 9)
    ("s8", "img/x.png", "hapy"),        # 11 bad label
    ("s9", "img/c.png", "sad"),         # 12 conflict with row 3
    ("s3b", "img/h.png", "happy"),      # 13 kept
    ("s2", "img/i.png", "happy"),       # 14 sample_id s2 again: first holder is row 5 -> duplicate
    ("s10", "img/j.png", "sad"),        # 15 kept
]
WANT_REASONS = {
    3: "conflict: the same image is also listed as 'sad' (row 12)",
    5: "missing file",
    6: "missing file",
    7: "duplicate: the same image is already listed (row 2)",
    10: "duplicate sample_id 's7' (first at row 9)",
    11: "label 'hapy' is not one of: happy, sad",
    12: "conflict: the same image is also listed as 'happy' (row 3)",
    14: "duplicate sample_id 's2' (first at row 5)",
    16: "has 2 fields, the header has 3",
}
WANT_KEPT = ["s1", "s3", "s6", "s7", "s3b", "s10"]


@pytest.fixture
def tricky_csv(tmp_path, special_images) -> Path:
    root = tmp_path / "root"
    (root / "img").mkdir(parents=True)
    for name in "abcdeghij":
        shutil.copy(special_images["rgb_png"], root / "img" / f"{name}.png")
    lines = ["sample_id,path,label"] + [",".join(r) for r in ROWS] + ["s11,img/a.png"]
    (root / "labels.csv").write_text("\n".join(lines) + "\n")
    return root


@pytest.mark.parametrize("chunk", [1, 3, 7, 10_000])
def test_rules_across_rows_do_not_depend_on_the_chunk(run_import, tricky_csv, monkeypatch, chunk):
    monkeypatch.setattr(validate, "CHUNK", chunk)
    res = run_import("csv", tricky_csv, classes=["happy", "sad"], seed=3)
    assert dict(zip(res.report["row"], res.report["reason"])) == WANT_REASONS
    assert list(res.manifest["sample_id"]) == WANT_KEPT
    assert res.counts["read"] == 15 and res.counts["imported"] == 6 and res.counts["rejected"] == 9
    # the seeded split depends on the kept rows only
    monkeypatch.setattr(validate, "CHUNK", 10_000)
    again = run_import("csv", tricky_csv, classes=["happy", "sad"], seed=3)
    assert list(again.manifest["split"]) == list(res.manifest["split"])
    assert (res.out / "manifest.csv").read_bytes() == (again.out / "manifest.csv").read_bytes()


def _peak_of_labels_only_import(run_import, root: Path, rows: int) -> int:
    root.mkdir()
    with open(root / "labels.csv", "w") as f:
        f.write("path,label,split\n")
        for i in range(rows):
            f.write(f"img/{i // 1000:03d}/face_{i:06d}.png,{('happy', 'sad', 'angry')[i % 3]},"
                    f"{'test' if i % 10 == 0 else 'train'}\n")
    tracemalloc.start()
    try:
        res = run_import("csv", root, labels_only=True)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert res.counts["imported"] == rows
    return peak


def test_memory_does_not_grow_with_the_rows_held_whole(run_import, tmp_path):
    """Labels-only imports of 10,000 and 30,000 rows: the Python heap's peak grows by a few bytes a row
    (fingerprints, codes), not by the rows themselves (about 1.3 KB a row when every row was held
    whole: 26 MB more for the larger import)."""
    small = _peak_of_labels_only_import(run_import, tmp_path / "small", 10_000)
    large = _peak_of_labels_only_import(run_import, tmp_path / "large", 30_000)
    assert large - small < 6 * 2**20, f"peak {small / 2**20:.1f} MB -> {large / 2**20:.1f} MB"


def test_many_images_are_checked_in_worker_processes(run_import, tmp_path, special_images, monkeypatch):
    """Over _ImageChecks.MIN_PROCESS_BATCH rows a chunk: the images decode in worker processes, and
    every bad one still gets its exact reason on its own row."""
    monkeypatch.setattr(validate, "CHUNK", 700)   # two chunks: the pool is reused
    root = tmp_path / "many"
    (root / "img").mkdir(parents=True)
    lines = ["path,label"]
    for i in range(1200):
        if i % 300 != 7:
            shutil.copy(special_images["rgb_png"], root / "img" / f"{i}.png")
        lines.append(f"img/{i}.png,{'happy' if i % 2 else 'sad'}")
    shutil.copy(special_images["text_jpg"], root / "img" / "607.png")
    (root / "labels.csv").write_text("\n".join(lines) + "\n")
    made = []

    class Pool(validate.ProcessPoolExecutor):
        def __init__(self, *args, **kwargs):
            made.append(self)
            super().__init__(*args, **kwargs)
    monkeypatch.setattr(validate, "ProcessPoolExecutor", Pool)
    res = run_import("csv", root, jobs=2)
    assert len(made) == 1
    assert dict(zip(res.report["row"], res.report["reason"])) == {
        9: "missing file", 309: "missing file",
        609: "unreadable image: not an image (format not recognised)", 909: "missing file"}
    assert res.counts["imported"] == 1196


def test_measurements_land_on_their_rows_across_chunks(run_import, tmp_path, monkeypatch):
    """The workers decode one chunk while the next chunk's rows are checked: each row's measurements
    still reach that row. 1,200 different pictures in chunks of 500, row 100's picture copied to rows
    700 and 1,150 (other chunks), a blank picture at row 550: exactly those groups and rows come back."""
    import cv2
    import numpy as np
    from data_tools.issues import read_issues
    monkeypatch.setattr(validate, "CHUNK", 500)
    root = tmp_path / "distinct"
    (root / "img").mkdir(parents=True)
    rng = np.random.default_rng(0)
    lines = ["path,label,sample_id"]
    for i in range(1200):
        small = rng.integers(0, 256, (12, 12), dtype=np.uint8)
        im = cv2.resize(small, (48, 48), interpolation=cv2.INTER_LINEAR)
        if i in (700, 1150):
            im = cv2.imread(str(root / "img" / "100.png"), cv2.IMREAD_GRAYSCALE)
        elif i == 550:
            im = np.full((48, 48), 128, np.uint8)
        cv2.imwrite(str(root / "img" / f"{i}.png"), im)
        lines.append(f"img/{i}.png,{'happy' if i % 2 else 'sad'},s{i}")
    (root / "labels.csv").write_text("\n".join(lines) + "\n")
    res = run_import("csv", root, jobs=2)
    assert res.counts["imported"] == 1200
    t = read_issues(res.out)
    exact = t[t["issue"] == "exact_duplicate"]
    assert sorted(exact["sample_id"]) == ["s100", "s1150", "s700"] and exact["group"].nunique() == 1
    assert t.loc[t["issue"] == "blank", "sample_id"].tolist() == ["s550"]
