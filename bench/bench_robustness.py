"""Benchmark 4 (issue 3 §4): test accuracy (against the clean test labels) of EAC and plain CE with
0 / 10 / 20 / 30 % symmetric label noise on the training split, on the synthetic demo and on CK+48
(subject-disjoint 80/20 split, subject = the `S###` prefix of the file name). Noise seed = training
seed; mean ± sd over the seeds; accuracy is the test accuracy after the last epoch (no early stopping,
no model selection on the test set).

Runs are reused: a finished run directory under <work>/runs is not trained again, and the CE/EAC demo
runs at 20 % that bench_detection.py made (same dataset, seed and settings; the CE main model of a
`--folds 4` run is the same model as a plain CE run) count here.

  python bench/bench_robustness.py                          # demo + CK+48, 3 seeds, CPU preset
  python bench/bench_robustness.py --seeds 0 --datasets demo --rates 0 0.3
  python bench/bench_robustness.py --device cuda --jobs 1 --threads 8 --ck-epochs 60
"""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _benchlib import (CKPLUS, DEFAULT_WORK, ckplus, demo_clean, finished, log, mean_sd, noisy,  # noqa: E402
                       run_pool, write_result)
from data_tools.rundir import RunDir


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--rates", type=float, nargs="+", default=[0.0, 0.1, 0.2, 0.3])
    ap.add_argument("--datasets", nargs="+", default=["demo", "ckplus48"], choices=["demo", "ckplus48"])
    ap.add_argument("--demo-epochs", type=int, default=None, help="default: the trainer's preset (8 on CPU)")
    ap.add_argument("--ck-epochs", type=int, default=None, help="default: the trainer's preset (8 on CPU)")
    ap.add_argument("--limit", type=int, default=None, help="demo: use only the first N training rows")
    ap.add_argument("--ckplus-root", type=Path, default=CKPLUS)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--work", type=Path, default=DEFAULT_WORK)
    ap.add_argument("--train-args", default="", help="extra trainer arguments for every run")
    ap.add_argument("--report-only", action="store_true", help="make the table from the finished runs only")
    ap.add_argument("--name", default="robustness")
    a = ap.parse_args(argv)

    cleans = {"demo": demo_clean(a.work) if "demo" in a.datasets else None,
              "ckplus48": ckplus(a.work, a.ckplus_root) if "ckplus48" in a.datasets else None}
    runs = a.work / "runs"
    jobs, cells = [], {}
    for s in a.seeds:                       # seed-major: every cell gets seed 0 before any gets seed 1
        for dname in a.datasets:
            extra = shlex.split(a.train_args)
            ep = a.demo_epochs if dname == "demo" else a.ck_epochs
            if ep:
                extra += ["--epochs", str(ep)]
            if a.limit and dname == "demo":
                extra += ["--limit", str(a.limit)]
            tag = "".join(f"_{x.strip('-')}" for x in extra) + ("_cuda" if a.device == "cuda" else "")
            for rate in sorted(a.rates, key=lambda r: (r != max(a.rates), r)):   # the highest noise first
                ds = noisy(cleans[dname], rate, s)
                for mode in ("ce", "eac"):
                    out = runs / f"{ds.name}_{mode}_seed{s}{tag}"
                    if mode == "ce":
                        alt = runs / f"{ds.name}_ce_folds4_seed{s}{tag}"   # bench_detection's run
                        if finished(alt) and not finished(out):
                            out = alt
                    cells[(dname, rate, mode, s)] = out
                    if not a.report_only:
                        jobs.append(((dname, rate, mode, s), ds, out, ["--mode", mode, "--seed", str(s), *extra]))
    if jobs:
        run_pool(jobs, a.jobs, device=a.device, threads=a.threads)

    rows = []
    for (dname, rate, mode, s), out in cells.items():
        if not finished(out):
            continue
        summ = RunDir(out).read_summary()
        cfg = RunDir(out).read_config()
        rows.append({"dataset": dname, "rate": rate, "mode": mode, "seed": s, "acc": float(summ["test_acc"].iloc[-1]),
                     "best": float(summ["test_acc"].max()), "epochs": cfg["epochs"], "arch": cfg["arch"],
                     "size": cfg["image_size"], "n_train": int(len(RunDir(out).read_scores()))})
    if not rows:
        log("no finished run")
        return 1
    df = pd.DataFrame(rows)
    L = ["## Benchmark 4: robustness to symmetric label noise (test accuracy vs clean test labels)\n"]
    for dname in a.datasets:
        d = df[df.dataset == dname]
        if d.empty:
            continue
        L.append(f"Dataset `{dname}`: {d['n_train'].iloc[0]} training rows, arch `{d['arch'].iloc[0]}`, "
                 f"{d['size'].iloc[0]} px, {d['epochs'].iloc[0]} epochs (trainer's CPU preset otherwise), "
                 f"device {a.device}.")
    args = [x for x in (argv if argv is not None else sys.argv[1:]) if x != "--report-only"]
    L.append(f"\nCommand: `python bench/bench_robustness.py {' '.join(args)}`"
             + (" (this table: remade with `--report-only` from the finished runs)" if a.report_only else "") + "\n")
    L.append("Final-epoch test accuracy in %, mean ± sd over the seeds run (n = seeds per cell; noise seed = training "
             "seed). Δ = EAC − CE in points (mean of per-seed differences).\n")
    L.append("| dataset | noise | CE | EAC | Δ (EAC − CE) | n |\n|---|---|---|---|---|---|")
    summary = []
    for dname in a.datasets:
        for rate in sorted(a.rates):
            d = df[(df.dataset == dname) & (df.rate == rate)]
            ce = d[d["mode"] == "ce"].set_index("seed")["acc"]
            ea = d[d["mode"] == "eac"].set_index("seed")["acc"]
            both = ce.index.intersection(ea.index)
            diff = (ea[both] - ce[both]) * 100
            L.append(f"| {dname} | {rate:.0%} | {mean_sd(ce, 100, 1)} | {mean_sd(ea, 100, 1)} | "
                     f"{mean_sd(diff, 1, 1)} | {len(ce)}/{len(ea)} |")
            summary.append((dname, rate, diff.mean() if len(diff) else float("nan")))
    L.append("")
    top = max(a.rates)
    for dname, rate, dm in summary:
        if rate == top:
            L.append(f"- Target (EAC ≥ CE + 3 points at {top:.0%} noise) on `{dname}`: Δ = {dm:+.1f} points → "
                     f"{'met' if dm >= 3 else 'MISSED'}")
    write_result(a.name, "\n".join(L) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
