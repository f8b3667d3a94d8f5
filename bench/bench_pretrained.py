"""The EAC paper's regime on data that is here: fine-tune a face-pretrained backbone under injected label
noise, CE against EAC, and the same without the pretrained backbone beside it.

1. Pretrain once: the product's own trainer on fer2013_dev's training split (`--preset cpu`, plain CE,
   `--pretrain-epochs`, default 8), cached in the work folder; its `checkpoint.pt` is the backbone.
2. Fine-tune with `--pretrained <that checkpoint>` on CK+48 (subject split, 20 % of subjects for test)
   and JAFFE (faces cropped by the importer's face detector, subject split, 3 of 10 subjects for test),
   each with symmetric or asymmetric noise injected by `python -m data_tools noise` on the train rows.
3. Print, per dataset / noise kind / rate and variant: test accuracy against the clean labels (mean ± sd
   over the seeds), the per-seed difference to the `ce` variant of the same seed, detection AUROC / AP of
   the run's `suspicion` on the flipped rows, the CPU seconds of the run, and the consistency term's size
   against the CE at the first and last epoch (summary.csv: att_loss, ce_loss, cam_energy).

Every run goes through `python -m eac_core.train` (bench/_train_timed.py), so what is measured is what a
user runs. Finished runs are reused (the work folder is a cache): add seeds or variants and run again.

    python bench/bench_pretrained.py                                   # the default grid (see --help)
    python bench/bench_pretrained.py --datasets ckplus --rates 0.3 --kinds symmetric \\
        --variants ce,ce_erase,eac_paper,eac_rel1 --seeds 0,1,2 --scratch --name pretrained_ck30
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _benchlib import CKPLUS, ROOT, finished, log, mean_sd, run_pool, sh, train_job, write_result  # noqa: E402
from data_tools.rundir import RunDir  # noqa: E402
from eac_core.metrics import detection_metrics, noise_mask  # noqa: E402

DEV = ROOT.parent / "shared" / "data" / "fer2013_dev"
JAFFE = ROOT.parent / "shared" / "data" / "jaffe"

# The fine-tuning recipe every variant shares (the issue's: cnn at 48 px, batch 64, SGD Nesterov with
# OneCycle to lr 0.01, 30 epochs, the cpu preset's crop / mirror / dropout), then each variant's own flags.
BASE = ["--preset", "cpu", "--epochs", "30", "--batch-size", "64", "--lr", "0.01", "--lam-warmup", "0"]
VARIANTS: dict[str, list[str]] = {
    "ce": ["--mode", "ce", "--erase-p", "0"],
    "ce_erase": ["--mode", "ce", "--erase-p", "0.5"],
    "eac_paper": ["--mode", "eac", "--erase-p", "0.5", "--lam", "5", "--att-form", "paper"],
    "eac_paper_sep": ["--mode", "eac", "--erase-p", "0.5", "--lam", "5", "--att-form", "paper", "--views", "separate"],
    "eac_paper_l1": ["--mode", "eac", "--erase-p", "0.5", "--lam", "1", "--att-form", "paper"],
    "eac_paper_l05": ["--mode", "eac", "--erase-p", "0.5", "--lam", "0.5", "--att-form", "paper"],
    "eac_rel05": ["--mode", "eac", "--erase-p", "0.5", "--lam", "0.5", "--att-form", "relative"],
    "eac_rel025": ["--mode", "eac", "--erase-p", "0.5", "--lam", "0.25", "--att-form", "relative"],
    "eac_rel1": ["--mode", "eac", "--erase-p", "0.5", "--lam", "1", "--att-form", "relative"],
    "eac_rel2": ["--mode", "eac", "--erase-p", "0.5", "--lam", "2", "--att-form", "relative"],
    "eac_rel5": ["--mode", "eac", "--erase-p", "0.5", "--lam", "5", "--att-form", "relative"],
    # the authors' noisy-label runs: the raw image mirrored, then erased independently (the views hide
    # different regions, so consistency asks the maps to survive erasing, not only mirroring)
    "eac_paper_fte": ["--mode", "eac", "--erase-p", "0.5", "--lam", "5", "--att-form", "paper",
                      "--flip-order", "flip-then-erase"],
    "eac_rel1_fte": ["--mode", "eac", "--erase-p", "0.5", "--lam", "1", "--att-form", "relative",
                     "--flip-order", "flip-then-erase"],
    "eac_rel2_fte": ["--mode", "eac", "--erase-p", "0.5", "--lam", "2", "--att-form", "relative",
                     "--flip-order", "flip-then-erase"],
    "eac_rel5_fte": ["--mode", "eac", "--erase-p", "0.5", "--lam", "5", "--att-form", "relative",
                     "--flip-order", "flip-then-erase"],
    # the paper's optimiser: Adam lr 1e-4, x 0.9 per epoch, batch 32
    "ce_adam": ["--mode", "ce", "--erase-p", "0", "--optimizer", "adam", "--lr", "1e-4", "--schedule", "exp",
                "--lr-decay", "0.9", "--batch-size", "32", "--weight-decay", "1e-4"],
    "eac_paper_adam": ["--mode", "eac", "--erase-p", "0.5", "--lam", "5", "--att-form", "paper", "--optimizer", "adam",
                       "--lr", "1e-4", "--schedule", "exp", "--lr-decay", "0.9", "--batch-size", "32",
                       "--weight-decay", "1e-4"],
    # the trainer's own choice with --pretrained and --preset auto (the fine-tuning recipe): no BASE flags
    "product": [],
}


# ------------------------------------------------------------------------------------------ data

def pretrain(work: Path, epochs: int, threads: int) -> Path:
    """The FER-pretrained backbone: fer2013_dev imported with the CSV importer, trained by the product's
    `cpu` preset for `epochs` epochs; returns its checkpoint (cached)."""
    ds = work / "fer2013_dev"
    if not (ds / "dataset.json").is_file():
        sh([sys.executable, "-m", "data_tools", "import", "--format", "csv", "--csv", str(DEV / "labels.csv"),
            "--root", str(DEV), "--out", str(ds)])
    out = work / f"fer_cnn_ce{epochs}"
    ckpt = RunDir(out).checkpoint_path
    if not (ckpt.is_file() and RunDir(out).is_finished()):
        train_job(ds, out, ["--preset", "cpu", "--epochs", str(epochs)], device="cpu", threads=threads)
    return ckpt


def import_dataset(work: Path, name: str) -> Path:
    """CK+48 (subject split 80/20) or JAFFE (faces cropped, subject split 70/30), imported once."""
    out = work / name
    if (out / "dataset.json").is_file():
        return out
    if name == "ckplus":
        sh([sys.executable, "-m", "data_tools", "import", "--format", "folders", "--root", str(CKPLUS), "--out",
            str(out), "--group-regex", r"^(S\d+)_", "--test-fraction", "0.2", "--seed", "0"])
    elif name == "jaffe":
        sh([sys.executable, "-m", "data_tools", "import", "--format", "folders", "--root", str(JAFFE), "--out",
            str(out), "--crop-faces", "--group-regex", r"^([A-Z]{2})\.", "--test-fraction", "0.3", "--seed", "0"])
    else:
        raise SystemExit(f"unknown dataset {name}")
    return out


def noisy(clean: Path, kind: str, rate: float, seed: int) -> Path:
    """`clean` with `rate` of its train labels flipped (`kind` noise, noise seed = `seed`); rate 0: clean."""
    if rate <= 0:
        return clean
    out = clean.parent / f"{clean.name}_{kind[:4]}{round(rate * 100)}_s{seed}"
    if not (out / "dataset.json").is_file():
        sh([sys.executable, "-m", "data_tools", "noise", "--dataset", str(clean), "--rate", str(rate), "--kind", kind,
            "--seed", str(seed), "--out", str(out)])
    return out


# ------------------------------------------------------------------------------------------ results

def run_result(out: Path) -> dict:
    """Test accuracy, detection, CPU seconds and the consistency term's size of one finished run."""
    run = RunDir(out)
    summ = run.read_summary()
    scores = run.read_scores()
    y = noise_mask(scores)
    det = detection_metrics(scores["suspicion"].to_numpy(float), y) if y is not None else {}
    timing = json.loads((out / "bench_timing.json").read_text())
    cfg = run.read_config()
    first, last = summ.iloc[0], summ.iloc[-1]
    lam = float(cfg.get("lam", 0)) if cfg.get("mode") == "eac" else 0.0

    def ratio(row):     # lam * L_att / CE: how much of the objective the consistency term is
        return lam * float(row["att_loss"]) / float(row["ce_loss"]) if lam else float("nan")

    return {"test_acc": float(last["test_acc"]), "auroc": det.get("auroc", np.nan), "ap": det.get("ap", np.nan),
            "cpu_s": float(timing.get("rusage_cpu_s", timing["cpu_s"])), "ratio_first": ratio(first),
            "ratio_last": ratio(last), "att_first": float(first["att_loss"]), "att_last": float(last["att_loss"]),
            "energy_first": float(first.get("cam_energy", np.nan)), "energy_last": float(last.get("cam_energy", np.nan)),
            "train_acc_true": float(last["train_acc_true"]), "mode": cfg.get("mode"), "lam": cfg.get("lam"),
            "att_form": cfg.get("att_form", "paper"), "lr": cfg.get("lr"), "epochs": cfg.get("epochs")}


def table(rows: pd.DataFrame, variants: list[str]) -> str:
    """One markdown block per (start, dataset, kind, rate): a row per variant."""
    out = []
    for (start, dsname, kind, rate), g in rows.groupby(["start", "dataset", "kind", "rate"], sort=False):
        out.append(f"\n**{dsname}, {kind} noise {round(rate * 100)} %, {start}** "
                   f"(seeds {', '.join(str(s) for s in sorted(g['seed'].unique()))})\n")
        ce = g[g["variant"] == "ce"].set_index("seed")["test_acc"]
        lines = []
        for v in variants:
            r = g[g["variant"] == v].set_index("seed")
            if r.empty:
                continue
            deltas = [(r.loc[s, "test_acc"] - ce.loc[s]) * 100 for s in r.index if s in ce.index]
            lines.append({
                "variant": v,
                "test acc": mean_sd(r["test_acc"]),
                "Δ vs ce (points, per seed)": ("–" if v == "ce" or not deltas else
                                               f"{np.mean(deltas):+.1f} ({', '.join(f'{d:+.1f}' for d in deltas)})"),
                "AUROC": mean_sd(r["auroc"]), "AP": mean_sd(r["ap"]),
                "fit to true labels": mean_sd(r["train_acc_true"]),
                "λ·att/CE first → last": ("–" if not np.isfinite(r["ratio_first"]).any() else
                                          f"{r['ratio_first'].mean():.2f} → {r['ratio_last'].mean():.3f}"),
                "CAM energy first → last": ("–" if not np.isfinite(r["energy_first"]).any() else
                                            f"{r['energy_first'].mean():.3g} → {r['energy_last'].mean():.3g}"),
                "CPU s": f"{r['cpu_s'].mean():.0f}"})
        out.append(pd.DataFrame(lines).to_markdown(index=False))
    return "\n".join(out) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=ROOT / ".cache" / "bench" / "pretrained")
    ap.add_argument("--datasets", default="ckplus,jaffe")
    ap.add_argument("--kinds", default="symmetric,asymmetric")
    ap.add_argument("--rates", default="0,0.1,0.2,0.3,0.5")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--variants", default="ce,eac_paper,product")
    ap.add_argument("--scratch", action="store_true", help="also every run without the pretrained backbone")
    ap.add_argument("--no-pretrained", action="store_true", help="only the runs without the pretrained backbone")
    ap.add_argument("--pretrain-epochs", type=int, default=8)
    ap.add_argument("--jobs", type=int, default=2, help="trainer processes at once")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per trainer process")
    ap.add_argument("--name", default="pretrained")
    a = ap.parse_args(argv)
    missing = [p for p in (DEV, CKPLUS, JAFFE) if not p.is_dir()]
    if missing:
        print(f"skipped: {', '.join(map(str, missing))} not found (../shared/data)")
        return 0
    variants = a.variants.split(",")
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        ap.error(f"unknown variants {unknown}; known: {', '.join(VARIANTS)}")
    a.work.mkdir(parents=True, exist_ok=True)
    ckpt = pretrain(a.work, a.pretrain_epochs, threads=2)
    starts = ([] if a.no_pretrained else ["fine-tuned from the FER-pretrained cnn"]) + \
             (["from scratch"] if a.scratch or a.no_pretrained else [])
    jobs, keys = [], []
    for dsname in a.datasets.split(","):
        clean = import_dataset(a.work, dsname)
        for kind in a.kinds.split(","):
            for rate in [float(r) for r in a.rates.split(",")]:
                if rate == 0 and kind != a.kinds.split(",")[0]:
                    continue                      # the clean set once
                for seed in [int(s) for s in a.seeds.split(",")]:
                    ds = noisy(clean, kind, rate, seed)
                    for start in starts:
                        pre = start.startswith("fine")
                        for v in variants:
                            args = ([] if v == "product" else BASE) + VARIANTS[v] + ["--seed", str(seed)]
                            if pre:
                                args += ["--pretrained", str(ckpt)]
                            out = a.work / "runs" / f"{ds.name}_{v}_{'ft' if pre else 'scratch'}_s{seed}"
                            key = (start, dsname, kind if rate else "none", rate, v, seed)
                            jobs.append((key, ds, out, args))
                            keys.append(key)
    log(f"{len(jobs)} runs ({sum(finished(o) for _, _, o, _ in jobs)} already finished)")
    run_pool(jobs, a.jobs, device="cpu", threads=a.threads)
    rows = []
    for key, _, out, _ in jobs:
        if finished(out):
            start, dsname, kind, rate, v, seed = key
            rows.append({"start": start, "dataset": dsname, "kind": kind, "rate": rate, "variant": v, "seed": seed,
                         **run_result(out)})
    df = pd.DataFrame(rows)
    df.to_csv(a.work / f"{a.name}.csv", index=False)
    cmd = "python bench/bench_pretrained.py " + shlex.join(argv if argv is not None else sys.argv[1:])
    head = (f"# {a.name}\n\n`{cmd}`\n\nPretrained backbone: `{ckpt.relative_to(ROOT) if ckpt.is_relative_to(ROOT) else ckpt}` "
            f"(fer2013_dev train split, cpu preset, {a.pretrain_epochs} epochs). Fine-tuning recipe shared by the variants: "
            f"`{' '.join(BASE)}` plus the variant's flags ({a.threads} thread(s) per run, {a.jobs} runs at once):\n\n"
            + "\n".join(f"- `{v}`: `{' '.join(VARIANTS[v]) or '(the trainer default with --pretrained)'}`" for v in variants)
            + "\n\nTest accuracy against the clean labels of the test subjects; AUROC/AP of `suspicion` on the "
              "flipped train rows; λ·att/CE = the consistency term's share of the objective (summary.csv, epoch 1 "
              "and the last); CAM energy = mean M² of view 1 (summary.csv).\n")
    write_result(a.name, head + (table(df, variants) if len(df) else "\n(no finished runs)\n"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
