"""Hostile CSVs, generated (issue 9, "Proof in CI"): whatever bytes a label CSV holds, the import either
fails with one line naming the file, or imports with every row accounted for (imported + rejected =
read, on disk too); never another exception. 1,000 fixed (derandomized) cases, ~35 s; 3,000 random
ones passed when it was written (set derandomize=False and raise max_examples to hunt further)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from data_tools.importers import ImportFailure, import_dataset

ANY_TEXT = st.one_of(
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12),
    st.binary(max_size=8).map(lambda b: b.decode("utf-8", "surrogateescape")))
# per column: mostly values that get far into the checks, sometimes anything at all
COLUMN_VALUES = {
    "path": ["img/a.png", "img/b.png", "./img/a.png", "img//b.png", "../x.png", "/etc/passwd", "img",
             "img/a\r.png", "img/b\n.png", "img/\x00.png", "img/a.png\t", " img/b.png", "=img/a.png", ""],
    "label": ["happy", "sad", "Sadness", "7", "-1", "", " happy", "hap\rpy", "=1+1", "contempt", "é"],
    "split": ["train", "test", "val", "Training", "PublicTest", "", "x"],
    "sample_id": ["s1", "s2", "007", "s\r1", "s\n2", "", " ", "=s", "s1"],
    "group": ["g1", "g2", "", "g\r"],
    "true_label": ["happy", "sad", "", "nope"],
}
CELLS = st.sampled_from(sorted({v for vs in COLUMN_VALUES.values() for v in vs})) | ANY_TEXT
HEADERS = st.sampled_from(["path,label", "path,label,split", "sample_id,path,label", "path;label",
                           "path\tlabel", "\ufeffpath,label", "label,path,group", "path,label,true_label"])
ENDINGS = st.sampled_from(["\n", "\r\n", "\r"])


def _quoted(cell: str, delim: str) -> str:
    return '"' + cell.replace('"', '""') + '"'


@st.composite
def csv_bytes(draw) -> bytes:
    header = draw(HEADERS)
    delim = ";" if ";" in header else "\t" if "\t" in header else ","
    columns = [c.lstrip("\ufeff") for c in header.split(delim)]
    end = draw(ENDINGS)
    lines = [header]
    for _ in range(draw(st.integers(0, 8))):
        cells = [draw(st.sampled_from(COLUMN_VALUES[c]) | CELLS) for c in columns]
        if draw(st.integers(0, 9)) == 0:                      # a field too many or too few
            cells = cells[:-1] if draw(st.booleans()) else cells + [draw(CELLS)]
        quote = draw(st.booleans())
        lines.append(delim.join(_quoted(c, delim) if quote else c for c in cells))
    text = end.join(lines) + draw(st.sampled_from(["", end]))
    data = text.encode("utf-8", "surrogateescape")
    if draw(st.integers(0, 3)) == 0:                          # a stray byte anywhere, header included
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=3)) + data[at:]
    return data


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    from PIL import Image
    r = tmp_path_factory.mktemp("fuzzroot")
    (r / "img").mkdir()
    for n in ("a", "b"):
        Image.new("RGB", (8, 8), (200, 40, 10)).save(r / "img" / f"{n}.png")
    return r


@settings(max_examples=1000, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=csv_bytes(), labels_only=st.booleans())
@example(data=b'path,label\n"img/a\r.png",happy\nimg/b.png,sad\n', labels_only=True)    # found by this test
@example(data=b'path,label,"x\ry"\nimg/a.png,happy,1\n', labels_only=False)
@example(data=b'path,label,caf\xe9\nimg/a.png,happy,1\n', labels_only=False)       # issue 9, hole 5
def test_any_csv_is_imported_or_refused_in_one_line(root, tmp_path_factory, data, labels_only):
    (root / "labels.csv").write_bytes(data)
    out = tmp_path_factory.mktemp("out") / "ds"
    try:
        res = import_dataset("csv", root, out, labels_only=labels_only, test_fraction=0.0)
    except ImportFailure as e:
        msg = str(e)
        assert "\n" not in msg and msg.encode("utf-8")      # printable, one line
        assert str(root) in msg or "no rows imported" in msg or "--" in msg, msg
        return
    man = pd.read_csv(out / "manifest.csv", dtype=str, keep_default_na=False)
    rep = pd.read_csv(out / "report.csv", dtype=str, keep_default_na=False)
    assert len(man) == len(res.manifest) and len(rep) == len(res.report)
    assert res.counts["read"] == len(man) + len(rep)
    assert man["sample_id"].tolist() == res.manifest["sample_id"].astype(str).tolist()
