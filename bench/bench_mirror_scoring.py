"""Mirror-averaged scoring and the kNN neighbour count, side by side on the same trained models (issue 7).

The final clean pass (eac_core.engine.score_clean) scores every training face. Before: the original view's
logits and its pooled features, kNN with k = 10. Now: the mean of the face's and its mirror's logits
(`mirror_average`), features averaged over both views, k = eac_core.scores.knn_k (4 % of the average
class size, 3..25). Each finished run's final checkpoint is
re-scored both ways in this one process (the training dynamics in its history are shared) and the
default `suspicion` of every variant is measured:

  * real noise: the product runs of bench/bench_real_noise.py found in --real-work, on the determined rows
    of fer2013_dev's ranked slice against truth.csv (scoring only);
  * injected noise: bench/bench_signals.py's demo and CK+48 runs (20 % symmetric; trained if missing).

  python bench/bench_mirror_scoring.py --real-work .cache/bench/full --real-runs product_ce
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _benchlib import DEFAULT_WORK, injected_default_runs, log, write_result  # noqa: E402
from bench_real_noise import truth_mask  # noqa: E402
from data_tools.manifest import load_dataset  # noqa: E402
from eac_core.data import load_cached, make_splits  # noqa: E402
from eac_core.engine import StepContext, score_clean  # noqa: E402
from eac_core.infer import Explainer  # noqa: E402
from eac_core.metrics import detection_metrics, noise_mask  # noqa: E402
from data_tools.rundir import RunDir  # noqa: E402
from eac_core.scores import CANDIDATES, DEFAULT_SUSPICION  # noqa: E402
from eac_core.train import score_table  # noqa: E402

VARIANTS = (("original view, k = 10 (before)", False, 10), ("original view, k = 25", False, 25),
            ("mirror-averaged, k = 10", True, 10), ("mirror-averaged, k = 25", True, 25),
            ("mirror-averaged, k = knn_k (now)", True, None))


def rescore(run: RunDir, scored_rows, truth_of) -> list[dict]:
    """The default suspicion of every variant on one finished run: metrics over `scored_rows` of the
    train split against `truth_of(scores)` (bool per scored row)."""
    cfg = run.read_config()
    ds = load_dataset(cfg["dataset"])
    train, _ = make_splits(ds)
    cache = Path(cfg["cache_dir"]) if cfg.get("cache_dir") else run.path_of("cache")
    train.images = load_cached(ds, train, int(cfg["image_size"]), cache)
    ex = Explainer.load(run.path)
    ctx = StepContext(device=torch.device("cpu"), spec=ex.preprocessing)
    rows = []
    for mirror in (False, True):
        signals = score_clean(ex.model, train.images, train.labels, batch_size=256, ctx=ctx, mirror=mirror)
        for name, m, k in VARIANTS:
            if m != mirror:
                continue
            table = score_table(run, train, ex.classes, signals, provisional=False, knn_k=k)
            sel = scored_rows(table)
            truth = truth_of(table)[sel]
            rows.append({"variant": name, **detection_metrics(CANDIDATES[DEFAULT_SUSPICION](table)[sel], truth),
                         "loss AP": detection_metrics(table["loss"].to_numpy()[sel], truth)["ap"]})
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--real-work", type=Path, default=None, help="bench_real_noise.py's --work folder")
    ap.add_argument("--real-runs", default="product_ce", help="its product run folders to re-score")
    ap.add_argument("--work", type=Path, default=DEFAULT_WORK)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip", default="", help="comma list: demo,ckplus")
    ap.add_argument("--name", default="mirror_scoring")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    skip = set(filter(None, a.skip.split(",")))
    out_rows = []
    if a.real_work is not None:
        train, _ = make_splits(load_dataset(a.real_work / "dataset"))
        pos, is_noisy = truth_mask(train.frame)
        truth = np.zeros(len(train), bool)
        truth[pos] = is_noisy
        for name in filter(None, a.real_runs.split(",")):
            run = RunDir(a.real_work / name)
            if not run.is_finished():
                log(f"{run.path}: not finished, left out")
                continue
            log(f"re-scoring {run.path}")
            for r in rescore(run, lambda t: pos, lambda t: truth):
                out_rows.append({"data": f"fer2013_dev real ({name})", **r})
    for name, out in injected_default_runs(a.work, skip, a.threads):
        log(f"re-scoring {out}")
        for r in rescore(RunDir(out), lambda t: np.arange(len(t)), noise_mask):
            out_rows.append({"data": name, **r})
    if not out_rows:
        log("nothing to score")
        return 1
    table = pd.DataFrame(out_rows)
    text = ("# Mirror-averaged scoring and kNN k, the default suspicion re-scored on the same models\n\n"
            f"`python bench/bench_mirror_scoring.py {' '.join(argv if argv is not None else sys.argv[1:])}`, "
            f"`suspicion` = {DEFAULT_SUSPICION}; `loss AP` = the final clean-pass loss alone\n\n"
            + table.to_markdown(index=False, floatfmt=".3f") + "\n")
    write_result(a.name, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
