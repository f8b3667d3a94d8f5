"""How far the estimated share of wrong labels (eac_core.noise_share) is from the truth (issue 11 item 4).

Cases, each with every estimator of eac_core.noise_share.ESTIMATORS and its 95 % bootstrap interval:
  * demo (20 % symmetric injected noise; truth = true_label): one product run (demo preset) with
    `--folds 2`, so the same run gives the in-sample probabilities (`prob_*`) and the 2-fold
    out-of-sample ones (`oos_prob_*`); made here when --demo-run does not exist (`python -m data_tools
    demo`, then `python -m eac_core.train --folds 2`; about 40 minutes on 2 cores shared with other jobs);
  * fer2013_dev (real noise; truth = the FER+ 10-annotator majority of the 1,680 determined rows of the
    ranked slice, truth.csv): the real-noise bench's work folder (bench_real_noise.py --train-rows N)
    gives the product's default run (`product_ce`, in-sample probabilities) and the anchor CE CNN's
    4-fold out-of-sample probabilities (`anchors.npz`). The estimate is made on the whole training set
    (whose truth share is not known) and on the slice rows alone (whose share is); both are compared
    with the slice's share.
Prints a markdown table, writes bench/results/noise_share.md and bench/results/noise_share.json (what
the Insights page shows as the measured error).

  python bench/bench_noise_share.py --demo-run .cache/bench/noise_share/demo_folds --real-work .cache/bench/rn3k
"""
from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _benchlib import DEFAULT_WORK, RESULTS, log  # noqa: E402
from eac_core import noise_share as ns  # noqa: E402
from eac_core.metrics import noise_mask  # noqa: E402
from eac_core.probabilities import label_probabilities  # noqa: E402
from data_tools.rundir import RunDir  # noqa: E402

DEV = ROOT.parent / "shared" / "data" / "fer2013_dev"


def make_demo_run(run: Path, threads: int) -> None:
    ds = run.parent / "demo"
    if not (ds / "dataset.json").is_file():
        cmd = [sys.executable, "-m", "data_tools", "demo", "--out", str(ds), "--workers", str(threads)]
        log("$ " + shlex.join(cmd[1:]))
        subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    cmd = [sys.executable, "-m", "eac_core.train", "--dataset", str(ds), "--out", str(run), "--folds", "2",
           "--threads", str(threads)]
    log("$ " + shlex.join(cmd[1:]))
    subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def rows_for(case: str, probs_name: str, labels: np.ndarray, p: np.ndarray, truth: float, n_boot: int,
             test_acc: float | None = None) -> list[dict]:
    out = []
    for method in ns.ESTIMATORS:
        t0 = time.perf_counter()
        est, lo, hi = ns.bootstrap(labels, p, method, n_boot=n_boot)
        out.append({"dataset": case, "probabilities": probs_name,
                    "model_test_acc": None if test_acc is None else round(float(test_acc), 3),
                    "estimator": method, "n": int(len(labels)),
                    "truth": round(float(truth), 4), "estimate": round(est, 4), "low": round(lo, 4),
                    "high": round(hi, 4), "error": round(est - float(truth), 4),
                    "seconds": round(time.perf_counter() - t0, 1)})
        log(f"{case} / {probs_name} / {method}: {est:.3f} [{lo:.3f}, {hi:.3f}] vs truth {truth:.3f}")
    return out


def demo_rows(run_dir: Path, n_boot: int) -> list[dict]:
    run = RunDir(run_dir)
    scores, classes = run.read_scores(), run.classes()
    truth = float(noise_mask(scores).mean())
    out = []
    for prefix, name in (("prob_", "in-sample"), ("oos_prob_", "out-of-sample (2 folds)")):
        sub = scores.drop(columns=[c for c in scores.columns if c.startswith("oos_prob_")]) if prefix == "prob_" else scores
        labels, p, source = label_probabilities(sub, classes)
        assert source.startswith(name.split(" ")[0])
        # the main model's test accuracy; the fold models' is not recorded by the trainer
        out += rows_for("demo, 20 % injected", name, labels, p, truth, n_boot,
                        run.final_test_acc() if prefix == "prob_" else None)
    return out


def real_rows(work: Path, n_boot: int) -> list[dict]:
    run = RunDir(work / "product_ce")
    scores, classes = run.read_scores(), run.classes()
    truth = pd.read_csv(DEV / "truth.csv", dtype={"path": str})
    truth = truth[truth["mislabeled"].isin([0, 1])]
    sid = truth["path"].str.rsplit(".", n=1).str[0]          # the csv importer's sample_id: path without suffix
    pos = pd.Series(np.arange(len(scores)), index=scores["sample_id"].astype(str))
    keep = sid.isin(pos.index).to_numpy()
    rows, share = pos[sid[keep]].to_numpy(), float(truth["mislabeled"].to_numpy()[keep].mean())
    labels, p_in, _ = label_probabilities(scores, classes)
    anchors = np.load(work / "anchors.npz")
    if not (anchors["labels"] == labels).all():
        raise SystemExit(f"{work / 'anchors.npz'}: its label order is not the product run's")
    oos = anchors["oos"].astype("float64")
    anchor_acc = json.loads((work / "anchors.json").read_text()).get("test_acc_folds")
    case = f"fer2013_dev subset ({len(labels)} train faces), real noise"
    out = []
    for name, p, acc in (("in-sample (product default run)", p_in, run.final_test_acc()),
                         ("out-of-sample (4-fold CE CNN anchor)", oos, anchor_acc)):
        out += rows_for(case + ", all faces", name, labels, p, share, n_boot, acc)
        out += rows_for(f"fer2013_dev slice ({len(rows)} determined faces), real noise", name, labels[rows],
                        p[rows], share, n_boot, acc)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--demo-run", type=Path, default=DEFAULT_WORK / "noise_share" / "demo_folds")
    ap.add_argument("--real-work", type=Path, default=DEFAULT_WORK / "rn3k")
    ap.add_argument("--n-boot", type=int, default=ns.N_BOOT)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args(argv)
    if not RunDir(a.demo_run).is_finished():
        make_demo_run(a.demo_run, a.threads)
    rows = demo_rows(a.demo_run, a.n_boot)
    if (a.real_work / "anchors.npz").is_file() and (a.real_work / "product_ce" / "scores.parquet").is_file():
        rows += real_rows(a.real_work, a.n_boot)
    else:
        log(f"{a.real_work}: no real-noise work folder (run bench_real_noise.py first); fer2013_dev skipped")
    table = pd.DataFrame(rows)
    command = "python bench/bench_noise_share.py " + shlex.join(argv if argv is not None else sys.argv[1:])
    date = time.strftime("%Y-%m-%d")
    text = (f"# Estimated share of wrong labels against the truth\n\n`{command}`, {date}, {a.n_boot} bootstrap "
            "resamples (95 % interval)\n\n" + table.to_markdown(index=False, floatfmt=".3f") + "\n")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "noise_share.md").write_text(text)
    (RESULTS / "noise_share.json").write_text(json.dumps(
        {"command": command.strip(), "date": date, "default": ns.DEFAULT_METHOD, "rows": rows}, indent=1) + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
