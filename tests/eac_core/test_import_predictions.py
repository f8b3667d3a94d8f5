"""Issue 11 item 8: a run from your own model's out-of-sample probabilities (no training), and bad files
answered with one line naming the file and row."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data_tools.manifest import DatasetInfo, write_dataset
from eac_core import import_predictions as ip
from data_tools.rundir import RunDir

CLASSES = ["happy", "sad", "angry"]


@pytest.fixture
def ds(tmp_path) -> Path:
    rng = np.random.default_rng(0)
    labels = [CLASSES[i % 3] for i in range(30)]
    m = pd.DataFrame({"sample_id": [f"{i:03d}" for i in range(30)], "path": [f"img/{i:03d}.png" for i in range(30)],
                      "label": labels, "split": ["train"] * 24 + ["test"] * 6})
    m["true_label"] = m["label"]
    m.loc[[1, 4], "label"] = "angry"          # two known wrong labels (their true class is sad)
    del rng
    return write_dataset(tmp_path / "datasets" / "tiny", m, DatasetInfo(classes=CLASSES, image_root="img",
                                                                         format="csv"))


def _probs(ds: Path, n: int = 24) -> pd.DataFrame:
    """A confident model that predicts each face's true class (so the two wrong labels stand out)."""
    m = pd.read_csv(ds / "manifest.csv", dtype=str).head(n)
    rows = []
    for sid, true in zip(m["sample_id"], m["true_label"]):
        p = {c: 0.05 for c in CLASSES}
        p[true] = 0.9
        rows.append({"sample_id": sid, **{f"prob_{c}": v for c, v in p.items()},
                     "emb_0": float(CLASSES.index(true)), "emb_1": float(int(sid) % 2), "emb_2": 0.5})
    return pd.DataFrame(rows)


def test_cli_makes_a_ranked_run_without_a_checkpoint(ds, tmp_path, capsys):
    f = tmp_path / "p.parquet"
    _probs(ds).to_parquet(f)
    out = tmp_path / "runs" / "mine"
    assert ip.main(["--dataset", str(ds), "--probs", str(f), "--out", str(out)]) == 0
    assert capsys.readouterr().out == f"wrote {out}: 24 faces ranked by cleanlab self_confidence with an embedding map\n"
    run = RunDir(out)
    assert run.is_finished() and run.is_run() and not run.has_checkpoint()
    assert run.dataset_dir() == ds.resolve() and run.classes() == CLASSES
    s = run.read_scores()
    assert len(s) == 24 and s["sample_id"].tolist() == [f"{i:03d}" for i in range(24)]
    assert set(s.sort_values("rank")["sample_id"].head(2)) == {"001", "004"}      # the two wrong labels first
    assert s["rank"].min() == 1 and sorted(s["rank"]) == list(range(1, 25))
    assert np.allclose(s.set_index("sample_id").loc["001", [f"oos_prob_{c}" for c in CLASSES]].astype(float),
                       [0.05, 0.9, 0.05], atol=1e-6)
    assert s.set_index("sample_id").loc["001", "pred"] == "sad"
    assert (s["suspicion_signal"] == "cleanlab_self_confidence").all()
    emb = run.read_embedding()
    assert len(emb) == 24 and {"x", "y"} <= set(emb.columns)


def test_csv_with_bare_class_columns(ds, tmp_path):
    df = _probs(ds, 6).rename(columns={f"prob_{c}": c for c in CLASSES}).drop(columns=["emb_0", "emb_1", "emb_2"])
    f = tmp_path / "p.csv"
    df.to_csv(f, index=False)
    run = ip.build_run(ds, f, tmp_path / "runs" / "r", score="normalized_margin")
    s = run.read_scores()
    assert s["sample_id"].tolist() == ["000", "001", "002", "003", "004", "005"]   # leading zeros kept
    assert not run.has("embedding")


def _bad(ds, tmp_path, df, capsys, name="p.csv") -> str:
    f = tmp_path / name
    df.to_parquet(f) if name.endswith(".parquet") else df.to_csv(f, index=False)
    assert ip.main(["--dataset", str(ds), "--probs", str(f), "--out", str(tmp_path / "runs" / "x")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "runs" / "x" / "scores.parquet").exists()
    return err.strip()


def test_bad_files_get_one_line_naming_file_and_row(ds, tmp_path, capsys):
    f = tmp_path / "p.csv"
    df = _probs(ds, 5)
    unknown = df.copy()
    unknown.loc[3, "sample_id"] = "ghost"
    assert _bad(ds, tmp_path, unknown, capsys) == (f"error: {f}: line 5 (sample_id 'ghost'): this sample_id is not "
                                                   f"in {ds}/manifest.csv")
    assert _bad(ds, tmp_path, df.drop(columns=["prob_sad"]), capsys) == (
        f"error: {f}: no probability column for class(es) sad (expected prob_<class> or <class> for each of: "
        "happy, sad, angry)")
    off = df.copy()
    off.loc[2, "prob_happy"] = 0.5
    assert _bad(ds, tmp_path, off, capsys) == (f"error: {f}: line 4 (sample_id '002'): the probabilities sum to "
                                               "1.45, not 1 (tolerance 0.001; 1 such row(s))")
    nan = df.copy()
    nan.loc[1, "prob_angry"] = np.nan
    assert _bad(ds, tmp_path, nan, capsys) == f"error: {f}: line 3 (sample_id '001'): probability prob_angry is empty"
    text = df.astype(object)
    text.loc[0, "prob_sad"] = "abc"
    assert _bad(ds, tmp_path, text, capsys) == (f"error: {f}: line 2 (sample_id '000'): probability prob_sad is "
                                                "'abc', not a finite number")
    dup = pd.concat([df, df.iloc[[1]]], ignore_index=True)
    assert _bad(ds, tmp_path, dup, capsys) == f"error: {f}: line 7 (sample_id '001'): repeats the sample_id of line 3"
    neg = df.copy()
    neg.loc[4, ["prob_happy", "prob_sad"]] = [-0.1, 1.05]
    pq = tmp_path / "p.parquet"
    assert _bad(ds, tmp_path, neg, capsys, "p.parquet") == (f"error: {pq}: row 5 (sample_id '004'): prob_happy = "
                                                            "-0.1 is outside 0..1")
    stray = df.assign(prob_fear=0.0)
    assert _bad(ds, tmp_path, stray, capsys) == (f"error: {f}: column prob_fear names no class of {ds}/manifest.csv "
                                                 "(classes: happy, sad, angry)")
    assert ip.main(["--dataset", str(ds), "--probs", str(tmp_path / "none.csv"), "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err == f"error: {tmp_path / 'none.csv'}: no such file\n"


def test_refuses_an_existing_run(ds, tmp_path, capsys):
    f = tmp_path / "p.parquet"
    _probs(ds).to_parquet(f)
    out = tmp_path / "runs" / "mine"
    assert ip.main(["--dataset", str(ds), "--probs", str(f), "--out", str(out)]) == 0
    capsys.readouterr()
    assert ip.main(["--dataset", str(ds), "--probs", str(f), "--out", str(out)]) == 2
    assert capsys.readouterr().err == f"error: {out}: already holds a run; choose another --out\n"
