"""`python -m eac_core.train` end to end on a tiny learnable dataset: the run directory contract, the
ranking of injected noise, and every way a run can fail before or during training."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import torch

from eac_core import metrics, train
from data_tools.rundir import RunDir
from eac_core.models import build_model
from eac_core.preprocess import Preprocessing
from support.shapes import make_shapes_dataset

pytestmark = pytest.mark.slow

FAST = ["--preset", "demo", "--image-size", "32", "--batch-size", "16", "--threads", "1", "--lr", "1e-3"]
CONTRACT = ["sample_id", "label", "pred", "p_label", "p_pred", "margin", "loss", "flip_consistency", "flip_agree",
            "suspicion", "rank", "provisional", "split", "true_label"]


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    return make_shapes_dataset(tmp_path_factory.mktemp("shapes"), n_train=200, n_test=30, size=32, noise=0.2)


@pytest.fixture(scope="module")
def run(shapes, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "r"
    rc = train.main(["--dataset", str(shapes), "--out", str(out), "--epochs", "6", *FAST])
    assert rc == 0
    return out


def test_run_directory_contract(run, shapes):
    for f in ("config.json", "progress.json", "summary.csv", "scores.parquet", "embedding.parquet", "checkpoint.pt",
              "train.log"):
        assert (run / f).is_file(), f
    s = RunDir(run).read_scores()
    manifest = pd.read_csv(shapes / "manifest.csv", dtype=str)
    assert sorted(s["sample_id"]) == sorted(manifest.loc[manifest.split == "train", "sample_id"])
    for c in CONTRACT + ["prob_circle", "prob_square", "prob_triangle"]:
        assert c in s.columns, c
    assert not s["provisional"].any()
    assert sorted(s["rank"]) == list(range(1, 201))
    np.testing.assert_allclose(s[["prob_circle", "prob_square", "prob_triangle"]].sum(axis=1), 1.0, rtol=1e-5)
    assert np.isfinite(s[["p_label", "margin", "loss", "flip_consistency", "aum", "erase_sensitivity"]]).all().all()
    summ = RunDir(run).read_summary()
    assert summ["epoch"].tolist() == [1, 2, 3, 4, 5, 6]
    assert summ["lr"].tolist() == pytest.approx([1e-3 * 0.9 ** e for e in range(6)])
    assert (summ["att_loss"] > 0).all() and summ["train_acc_true"].notna().all()
    prog = RunDir(run).read_progress()
    assert prog["state"] == "done" and prog["epoch"] == 6 and prog["epochs"] == 6
    cfg = RunDir(run).read_config()
    assert cfg["seed"] == 0 and cfg["dataset"] == str(shapes.resolve()) and cfg["code_version"]
    assert cfg["mode"] == "eac" and cfg["lam"] == 5.0
    emb = RunDir(run).read_embedding()
    assert sorted(emb["sample_id"]) == sorted(s["sample_id"]) and np.isfinite(emb[["x", "y"]]).all().all()
    assert RunDir(run).history_epochs() == [1, 2, 3, 4, 5, 6]
    assert RunDir(run).is_finished()


def test_suspicion_ranks_injected_noise(run):
    s = RunDir(run).read_scores()
    m = metrics.detection_metrics(s["suspicion"].to_numpy(), metrics.noise_mask(s))
    assert m["k"] > 20
    assert m["auroc"] > 0.7, m


def test_checkpoint_rebuilds_the_model(run):
    ck = torch.load(run / "checkpoint.pt", weights_only=True)
    assert (ck["arch"], ck["num_classes"], ck["image_size"], ck["epoch"]) == ("compact", 3, 32, 6)
    assert ck["classes"] == ["circle", "square", "triangle"] and ck["config"]["epochs"] == 6
    assert {"optimizer", "scheduler", "rng"} <= set(ck)
    model = build_model(ck["arch"], ck["num_classes"])
    model.load_state_dict(ck["model"])
    model.eval()
    from eac_core.data import load_cached, make_splits
    from data_tools.manifest import load_dataset
    ds = load_dataset(ck["config"]["dataset"])
    tr, _ = make_splits(ds)
    x = load_cached(ds, tr, 32, run / "cache")[:8]
    from eac_core.preprocess import to_tensor
    t = to_tensor(x, Preprocessing.from_dict(ck["preprocessing"]))
    with torch.no_grad():      # the stored prediction: the mean of the face's and its mirror's logits
        p = ((model(t)[0] + model(t.flip(3))[0]) / 2).softmax(1).numpy()
    s = RunDir(run).read_scores().iloc[:8]
    np.testing.assert_allclose(p[:, 0], s["prob_circle"], rtol=1e-4, atol=1e-6)


def test_resume_on_finished_run_exits_0(run, capsys):
    before = (run / "checkpoint.pt").stat().st_mtime
    assert train.main(["--dataset", str(RunDir(run).read_config()["dataset"]), "--out", str(run), "--resume"]) == 0
    assert "already finished" in capsys.readouterr().err
    assert (run / "checkpoint.pt").stat().st_mtime == before


def test_out_holding_a_run_needs_resume(run, capsys):
    before = RunDir(run).progress_path.read_bytes()
    assert train.main(["--dataset", RunDir(run).read_config()["dataset"], "--out", str(run)]) == 1
    assert "--resume" in capsys.readouterr().err
    assert RunDir(run).progress_path.read_bytes() == before            # refused: the run is left as it was


def test_out_holding_imported_predictions_is_refused_untouched(shapes, tmp_path, capsys):
    """Issue 21 item 5: a run folder holds results when it has weights or a ranking; a ranking made from
    imported predictions (scores, no checkpoint) was trained over before."""
    out = RunDir(tmp_path / "imported")
    out.path.mkdir()
    out.write_scores(pd.DataFrame({"sample_id": ["a"], "suspicion": [0.5]}))
    out.write_progress({"state": "done"})
    files = {p.name: p.read_bytes() for p in out.path.iterdir()}
    assert train.main(["--dataset", str(shapes), "--out", str(out), *FAST]) == 1
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"error: --out {out.path}: already holds a run (use --resume, or another --out)")
    assert {p.name: p.read_bytes() for p in out.path.iterdir()} == files


def _last_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    return err[-1]


def test_bad_manifest_row_named_before_training(shapes, tmp_path, capsys):
    bad = tmp_path / "bad"
    shutil.copytree(shapes, bad)
    m = pd.read_csv(bad / "manifest.csv", dtype=str)
    m.loc[2, "label"] = "hexagon"
    m.to_csv(bad / "manifest.csv", index=False)
    assert train.main(["--dataset", str(bad), "--out", str(tmp_path / "o"), *FAST]) == 1
    line = _last_line(capsys)
    assert line.startswith("error:") and "row 4" in line and "hexagon" in line
    assert not (tmp_path / "o" / "checkpoint.pt").exists()


def test_unreadable_image_named_before_training(shapes, tmp_path, capsys):
    bad = tmp_path / "bad"
    shutil.copytree(shapes, bad)
    m = pd.read_csv(bad / "manifest.csv", dtype=str)
    (bad / m.loc[5, "path"]).write_bytes(b"\x89PNG broken")
    out = tmp_path / "o"
    assert train.main(["--dataset", str(bad), "--out", str(out), *FAST]) == 1
    line = _last_line(capsys)
    assert "row 7" in line and m.loc[5, "sample_id"] in line
    assert RunDir(out).read_progress()["state"] == "failed" and not (out / "checkpoint.pt").exists()


def test_non_finite_loss_fails_with_epoch_and_step(shapes, tmp_path, capsys):
    out = tmp_path / "nan"
    rc = train.main(["--dataset", str(shapes), "--out", str(out), "--epochs", "2", *FAST[:-2], "--lr", "1e30"])
    assert rc == 1
    prog = RunDir(out).read_progress()
    assert prog["state"] == "failed"
    assert prog["error"].startswith("non-finite loss at epoch 1 step ")
    assert int(prog["error"].rsplit(" ", 1)[1]) >= 2


@pytest.mark.parametrize("argv, words", [
    (["--epochs", "0"], "--epochs"),
    (["--erase-scale", "0.3", "0.1"], "--erase-scale"),
    (["--pretrained", "/nonexistent.pth"], "no such file"),
])
def test_bad_options_one_line(shapes, tmp_path, capsys, argv, words):
    assert train.main(["--dataset", str(shapes), "--out", str(tmp_path / "o"), *argv]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0]


def test_bad_pretrained_file_reported(shapes, tmp_path, capsys):
    junk = tmp_path / "w.pth"
    junk.write_bytes(b"definitely not weights")
    assert train.main(["--dataset", str(shapes), "--out", str(tmp_path / "o"), "--pretrained", str(junk),
                       *FAST]) == 1
    line = _last_line(capsys)
    assert line.startswith("error:") and "w.pth" in line


def test_ce_mode_and_folds(shapes, tmp_path):
    out = tmp_path / "ce"
    assert train.main(["--dataset", str(shapes), "--out", str(out), "--mode", "ce", "--epochs", "1", "--folds", "2",
                       "--limit", "60", *FAST]) == 0
    s = RunDir(out).read_scores()
    assert len(s) == 60
    assert (RunDir(out).read_summary()["att_loss"] == 0).all()
    oos = s[["oos_prob_circle", "oos_prob_square", "oos_prob_triangle"]].to_numpy()
    assert np.isfinite(oos).all()
    np.testing.assert_allclose(oos.sum(1), 1.0, rtol=1e-5)
    assert set(s["oos_fold"]) == {0, 1} and "oos_self_confidence" in s and "oos_label_issue" in s
    assert json.loads((out / "config.json").read_text())["folds"] == 2


def test_epochs_within_a_budget():
    assert train.epochs_within(10, 0.5, 100) == 9          # 55 s per epoch, 600 s, one kept for scoring
    assert train.epochs_within(0.01, 0.5, 100) == 1        # never below one epoch
    assert train.epochs_within(1e6, 0.001, 10) == 500      # nor above 500


def test_budget_minutes_sets_the_epochs(shapes, tmp_path, capsys):
    out = tmp_path / "b"
    assert train.main(["--dataset", str(shapes), "--out", str(out), "--budget-minutes", "0.2", *FAST]) == 0
    cfg = RunDir(out).read_config()
    line = [x for x in capsys.readouterr().err.splitlines() if x.startswith("budget 0.2 min")][-1]   # last plan
    assert line.endswith(f": {cfg['epochs']} epochs") and cfg["budget_minutes"] == 0.2
    assert len(RunDir(out).read_summary()) == cfg["epochs"]
    prog = RunDir(out).read_progress()                    # issue 24 item 1: was the preset's epochs ("83/16")
    assert (prog["state"], prog["epoch"], prog["epochs"]) == ("done", cfg["epochs"], cfg["epochs"])


def test_a_budget_is_kept_when_the_steps_are_slower_than_measured(shapes, tmp_path, capsys, monkeypatch):
    """Issue 24 item 1: a --budget-minutes 4 run took 292.6 s (+22 %) and progress.json kept the preset's
    16 epochs while config.json said 83. Steps made slower than the calibration measured them (the
    test hook sleeps 0.15 s per step, not during the calibration): the epochs are planned again after
    each epoch, and the run ends no more than 10 % over its budget, every file saying the same epochs."""
    monkeypatch.setenv("EAC_TEST_STEP_DELAY", "0.15")
    out = tmp_path / "slow"
    assert train.main(["--dataset", str(shapes), "--out", str(out), "--budget-minutes", "0.5", *FAST]) == 0
    err = [x for x in capsys.readouterr().err.splitlines() if x.startswith("budget 0.5 min")]
    first = int(err[0].rsplit(": ", 1)[1].split()[0])
    cfg, prog = RunDir(out).read_config(), RunDir(out).read_progress()
    assert len(err) >= 2 and cfg["epochs"] < first                     # re-planned down
    assert err[-1].endswith(f": {cfg['epochs']} epochs")
    assert (prog["state"], prog["epoch"], prog["epochs"]) == ("done", cfg["epochs"], cfg["epochs"])
    assert RunDir(out).read_summary()["epoch"].tolist() == list(range(1, cfg["epochs"] + 1))
    # never over by more than 10 %; the lower bound is looser here because the hook slows the training
    # steps only, so the final pass's reserve (1.75 slowed epochs) is pessimistic (on CK+48: README)
    assert 0.8 * 30 <= prog["elapsed_sec"] <= 1.1 * 30, prog["elapsed_sec"]


def test_epochs_and_budget_together_are_refused(shapes, tmp_path, capsys):
    rc = train.main(["--dataset", str(shapes), "--out", str(tmp_path / "c"), "--budget-minutes", "1", "--epochs", "2", *FAST])
    assert rc == 1 and "give --epochs or --budget-minutes, not both" in capsys.readouterr().err


def test_resume_without_a_run_is_refused(shapes, tmp_path, capsys):
    rc = train.main(["--dataset", str(shapes), "--out", str(tmp_path / "empty"), "--resume", *FAST])
    assert rc == 1 and "holds no run to resume" in capsys.readouterr().err
    assert not (tmp_path / "empty" / "checkpoint.pt").exists()


def test_cpu_preset_onecycle_schedule_and_resume_keeps_it(shapes, tmp_path):
    out = tmp_path / "oc"
    args = ["--dataset", str(shapes), "--out", str(out), "--preset", "cpu", "--epochs", "3", "--image-size", "32",
            "--batch-size", "32", "--threads", "1"]
    assert train.main(args) == 0
    summ = RunDir(out).read_summary()
    lr = summ["lr"].tolist()          # OneCycle per step, logged at each epoch's end: past the peak (30 %
    assert 0.09 < lr[0] <= 0.1 and lr[0] > lr[1] > lr[2] and lr[2] < 0.01    # of 21 steps), annealed to ~0
    cfg = RunDir(out).read_config()
    assert (cfg["arch"], cfg["optimizer"], cfg["schedule"]) == ("cnn", "sgd", "onecycle")
    assert train.main(args[:4] + ["--resume", "--epochs", "5"]) == 1      # the schedule was planned for 3


def test_resuming_a_copied_run_writes_into_the_copy(run, shapes, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    assert train.main(["--dataset", str(shapes), "--out", str(copy), "--resume", "--epochs", "7"]) == 0
    assert RunDir(copy).read_summary()["epoch"].tolist() == [1, 2, 3, 4, 5, 6, 7]
    assert RunDir(run).read_summary()["epoch"].tolist() == [1, 2, 3, 4, 5, 6]       # the original is untouched
    assert RunDir(copy).read_config()["out"] == str(copy.resolve())


def test_budget_on_a_set_smaller_than_the_timed_steps_is_still_measured(shapes, tmp_path, capsys):
    out = tmp_path / "tiny"                      # 20 rows = 2 batches: the timed part used to be empty (-> 500)
    assert train.main(["--dataset", str(shapes), "--out", str(out), "--budget-minutes", "0.02", "--limit", "20",
                       *FAST]) == 0
    line = [x for x in capsys.readouterr().err.splitlines() if x.startswith("budget")][0]   # the first plan
    per_step = float(line.split(" at ")[1].split(" s/step")[0])
    epochs = int(line.rsplit(": ", 1)[1].split()[0])
    assert RunDir(out).read_config()["epochs"] <= epochs         # re-planned after an epoch: fewer, if any
    assert per_step > 0 and epochs < 500
    # the echoed speed is rounded to 0.01 s, so the measured one lies within ± 0.005 s of it
    assert train.epochs_within(0.02, per_step + 0.005, 2) <= epochs <= train.epochs_within(0.02, per_step - 0.005, 2)
