"""Benchmark 3 (issue 3 §4): how well the ranking finds injected label noise.

Demo dataset with symmetric noise (default 20 %, noise seed = run seed), per seed:
  * one EAC run (the trainer's defaults: the CPU preset on CPU, the paper preset with --device cuda
    on a non-demo dataset); AUROC, average precision and precision@k (k = number of flipped labels)
    of every signal column (eac_core.metrics.signal_table) and of `suspicion`;
  * the anchor: the same backbone and epochs trained with plain cross-entropy in 4-fold
    cross-validation (`--mode ce --folds 4`): cleanlab's self-confidence ranking
    (cleanlab.rank.get_label_quality_scores(..., method="self_confidence")) and
    cleanlab.filter.find_label_issues, both computed here from the out-of-sample `oos_prob_*` columns;
  * the training compute of each: process CPU seconds of the EAC run ÷ CPU seconds of the 4 folds
    (wall seconds too).
Mean ± sd over the seeds. Prints a markdown table and writes bench/results/detection.md.

  python bench/bench_detection.py                      # 3 seeds, default demo (3000 train), CPU preset
  python bench/bench_detection.py --seeds 0 --limit 1000 --epochs 4   # quick
  python bench/bench_detection.py --device cuda --jobs 1 --threads 8  # on a GPU machine
"""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _benchlib import DEFAULT_WORK, demo_clean, log, mean_sd, noisy, run_pool, write_result  # noqa: E402
from data_tools.rundir import RunDir
from eac_core.metrics import detection_metrics, noise_mask, signal_table  # noqa: E402
from eac_core.probabilities import label_probabilities  # noqa: E402


def anchor_metrics(scores: pd.DataFrame, is_noisy: np.ndarray, classes: list[str]) -> dict[str, dict]:
    """cleanlab on the out-of-sample probabilities of the K-fold CE models."""
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores
    labels, probs, source = label_probabilities(scores, classes)        # rows normalised, as cleanlab needs
    if source != "out-of-sample":
        raise SystemExit("anchor_metrics needs a run with out-of-sample probabilities (--folds)")
    quality = get_label_quality_scores(labels, probs, method="self_confidence")
    out = {"cleanlab self-confidence (4-fold CE, out of sample)": detection_metrics(1.0 - quality, is_noisy)}
    flags = find_label_issues(labels, probs, n_jobs=1)             # default filter_by="prune_by_noise_rate"
    n = int(flags.sum())
    tp = int((flags & is_noisy).sum())
    out["_flags"] = {"flagged": n, "precision": tp / n if n else float("nan"), "recall": tp / max(1, is_noisy.sum())}
    ranked = find_label_issues(labels, probs, return_indices_ranked_by="self_confidence", n_jobs=1)
    # as a ranking: the flagged samples first (in cleanlab's order), then the rest by self-confidence
    score = 1.0 - quality
    score[ranked] = 2.0 + np.linspace(1, 0, len(ranked))
    out["cleanlab find_label_issues, then self-confidence"] = detection_metrics(score, is_noisy)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--rate", type=float, default=0.2, help="symmetric noise rate (0.2)")
    ap.add_argument("--folds", type=int, default=4)
    ap.add_argument("--epochs", type=int, default=None, help="default: the trainer's preset")
    ap.add_argument("--limit", type=int, default=None, help="use only the first N training rows")
    ap.add_argument("--n-train", type=int, default=None, help="generate a demo of this size (default 3000)")
    ap.add_argument("--dataset", type=Path, default=None, help="a clean dataset with true labels instead of the demo")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--jobs", type=int, default=2, help="trainer processes at a time")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per process (CPU)")
    ap.add_argument("--work", type=Path, default=DEFAULT_WORK)
    ap.add_argument("--train-args", default="", help="extra trainer arguments for both runs")
    ap.add_argument("--name", default="detection")
    a = ap.parse_args(argv)

    clean = a.dataset or demo_clean(a.work, a.n_train)
    extra = shlex.split(a.train_args)
    if a.epochs:
        extra += ["--epochs", str(a.epochs)]
    if a.limit:
        extra += ["--limit", str(a.limit)]
    tag = "".join(f"_{x.strip('-')}" for x in extra).replace(" ", "") if extra else ""
    tag += "_cuda" if a.device == "cuda" else ""
    runs = a.work / "runs"
    jobs, dirs = [], {}
    for s in a.seeds:
        ds = noisy(clean, a.rate, s)
        dirs[s] = {"eac": runs / f"{ds.name}_eac_seed{s}{tag}",
                   "ce": runs / f"{ds.name}_ce_folds{a.folds}_seed{s}{tag}"}
        jobs.append((("eac", s), ds, dirs[s]["eac"], ["--mode", "eac", "--seed", str(s), *extra]))
        jobs.append((("ce", s), ds, dirs[s]["ce"], ["--mode", "ce", "--folds", str(a.folds), "--seed", str(s), *extra]))
    timing = run_pool(jobs, a.jobs, device=a.device, threads=a.threads)

    sig_rows, anc_rows, ce_rows, flags, comp, cfg = [], [], [], [], [], None
    for s in a.seeds:
        if ("eac", s) not in timing or ("ce", s) not in timing:
            log(f"seed {s}: incomplete, left out")
            continue
        eac = RunDir(dirs[s]["eac"]).read_scores()
        cfg = RunDir(dirs[s]["eac"]).read_config()
        y = noise_mask(eac)
        t = signal_table(eac, y)
        t["seed"] = s
        sig_rows.append(t)
        ce = RunDir(dirs[s]["ce"]).read_scores()
        yc = noise_mask(ce)
        tc = signal_table(ce, yc)
        tc["seed"] = s
        ce_rows.append(tc)
        am = anchor_metrics(ce, yc, cfg["classes"])
        flags.append({**am.pop("_flags"), "seed": s})
        for name, m in am.items():
            anc_rows.append({"signal": name, **m, "seed": s})
        te, tc_ = timing[("eac", s)], timing[("ce", s)]
        ce_full = tc_.get("rusage_cpu_s", tc_["cpu_s"])
        comp.append({"seed": s, "eac_cpu": te.get("rusage_cpu_s", te["cpu_s"]), "eac_wall": te["wall_s"],
                     "eac_train_cpu": sum(te["cpu_parts"][k] for k in ("train_epoch", "evaluate", "score_clean")),
                     "folds_cpu": tc_["cpu_parts"]["folds"], "folds_wall": tc_["wall_parts"]["folds"],
                     "ce_main_cpu": ce_full - tc_["cpu_parts"]["folds"],
                     "eac_acc": float(RunDir(dirs[s]["eac"]).read_summary()["test_acc"].iloc[-1]),
                     "ce_acc": float(RunDir(dirs[s]["ce"]).read_summary()["test_acc"].iloc[-1]),
                     "k": int(y.sum()), "n": len(y)})
    if not sig_rows:
        log("no complete seed")
        return 1
    seeds_done = [c["seed"] for c in comp]
    sig, anc, cet, cp = pd.concat(sig_rows), pd.DataFrame(anc_rows), pd.concat(ce_rows), pd.DataFrame(comp)
    fl = pd.DataFrame(flags)

    def agg(df: pd.DataFrame, order=None) -> list[str]:
        lines = []
        names = order or list(dict.fromkeys(df["signal"]))
        for name in names:
            d = df[df["signal"] == name]
            lines.append(f"| {name} | {mean_sd(d['auroc'])} | {mean_sd(d['ap'])} | {mean_sd(d['p_at_k'])} |")
        return lines

    mean_auroc = sig.groupby("signal")["auroc"].mean().sort_values(ascending=False)
    order = [n for n in mean_auroc.index if n != "suspicion"]
    sus_name = eac["suspicion_signal"].iloc[0]
    ratio_cpu = cp["eac_cpu"] / cp["folds_cpu"]
    ratio_wall = cp["eac_wall"] / cp["folds_wall"]
    ratio_train = cp["eac_train_cpu"] / cp["folds_cpu"]
    sus = sig[sig["signal"] == "suspicion"]
    anchor_ap = anc[anc["signal"].str.startswith("cleanlab self")]["ap"].to_numpy()
    L = []
    L.append("## Benchmark 3: detection of injected label noise\n")
    L.append(f"Dataset: `{clean.name}` ({cp['n'].iloc[0]} training rows) with {a.rate:.0%} symmetric noise "
             f"(`data_tools noise --kind symmetric --seed S`), k = flipped labels = {', '.join(str(k) for k in cp['k'])}. "
             f"Seeds {seeds_done} (noise seed = training seed); mean ± sd over {len(seeds_done)} seed(s). "
             f"Trainer: arch `{cfg['arch']}`, {cfg['image_size']} px, {cfg['epochs']} epochs, batch {cfg['batch_size']}, "
             f"lr {cfg['lr']}, lam {cfg['lam']} (warm-up {cfg['lam_warmup']} epochs), device {a.device}, "
             f"{a.threads} thread(s)/process, {a.jobs} processes at a time"
             + (f", extra args `{' '.join(extra)}`" if extra else "") + ".\n")
    L.append(f"Command: `python bench/bench_detection.py {' '.join(argv if argv is not None else sys.argv[1:])}`\n")
    L.append(f"### EAC single run: every signal (sorted by mean AUROC); `suspicion` = `{sus_name}`\n")
    L.append("| signal | AUROC | AP | precision@k |\n|---|---|---|---|")
    L += agg(sig, ["suspicion"] + order)
    L.append("")
    L.append(f"### Anchor: plain CE, same backbone and epochs, {a.folds}-fold out-of-sample probabilities + cleanlab\n")
    L.append("| ranking | AUROC | AP | precision@k |\n|---|---|---|---|")
    L += agg(anc)
    L.append(f"\n`cleanlab.filter.find_label_issues` (prune_by_noise_rate) flags {mean_sd(fl['flagged'], digits=0)} "
             f"samples: precision {mean_sd(fl['precision'])}, recall {mean_sd(fl['recall'])}.\n")
    L.append("### For reference: the CE model's own single-run (in-sample) signals, top 5 by AUROC + suspicion\n")
    ce_order = cet[cet["signal"] != "suspicion"].groupby("signal")["auroc"].mean().sort_values(ascending=False).index[:5]
    L.append("| signal | AUROC | AP | precision@k |\n|---|---|---|---|")
    L += agg(cet, ["suspicion"] + list(ce_order))
    L.append("")
    L.append("### Training compute (process CPU seconds, 1 torch thread; wall seconds under the shared load)\n")
    L.append("| seed | EAC run CPU s (whole process) | EAC training+eval+scoring CPU s | 4-fold CE CPU s | ratio CPU (whole) | "
             "ratio CPU (training parts) | EAC wall s | 4-fold CE wall s | ratio wall | EAC test acc | CE test acc |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|")
    for r, rc, rt, rw in zip(cp.to_dict("records"), ratio_cpu, ratio_train, ratio_wall):
        L.append(f"| {r['seed']} | {r['eac_cpu']:.0f} | {r['eac_train_cpu']:.0f} | {r['folds_cpu']:.0f} | {rc:.2f} | {rt:.2f} | "
                 f"{r['eac_wall']:.0f} | {r['folds_wall']:.0f} | {rw:.2f} | {r['eac_acc']:.3f} | {r['ce_acc']:.3f} |")
    L.append(f"| mean | {cp['eac_cpu'].mean():.0f} | {cp['eac_train_cpu'].mean():.0f} | {cp['folds_cpu'].mean():.0f} | "
             f"{mean_sd(ratio_cpu, digits=2)} | {mean_sd(ratio_train, digits=2)} | "
             f"{cp['eac_wall'].mean():.0f} | {cp['folds_wall'].mean():.0f} | {mean_sd(ratio_wall, digits=2)} | "
             f"{mean_sd(cp['eac_acc'])} | {mean_sd(cp['ce_acc'])} |")
    L.append("\n(EAC run = the whole `python -m eac_core.train` process incl. start-up, decoding, evaluation and the final "
             "clean-view scoring; training parts = its epochs + per-epoch test evaluation + clean-view scoring; "
             "4-fold CE = the `--folds` phase only, i.e. the 4 CE models and their held-out scoring. CPU seconds are "
             "comparable under load; wall seconds depend on what else ran on the 2 shared cores. "
             "Test acc = final epoch, against the clean test labels; CE = the `--folds` run's main model.)\n")
    ok_auc = sus["auroc"].mean() >= 0.97
    ok_pk = sus["p_at_k"].mean() >= 0.90
    ok_ap = sus["ap"].mean() >= anchor_ap.mean()
    ok_cmp = ratio_cpu.mean() < 1
    L.append("### Targets\n")
    L.append(f"- `suspicion` AUROC ≥ 0.97: {sus['auroc'].mean():.3f} → {'met' if ok_auc else 'MISSED'}")
    L.append(f"- `suspicion` precision@k ≥ 0.90: {sus['p_at_k'].mean():.3f} → {'met' if ok_pk else 'MISSED'}")
    L.append(f"- EAC single-run AP ≥ anchor AP: {sus['ap'].mean():.3f} vs {anchor_ap.mean():.3f} → {'met' if ok_ap else 'MISSED'}")
    L.append(f"- with less training compute: CPU ratio {ratio_cpu.mean():.2f} → {'met' if ok_cmp else 'MISSED'}\n")
    write_result(a.name, "\n".join(L) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
