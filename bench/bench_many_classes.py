"""Benchmark (issue 10 §3): detection of injected label noise and test accuracy with 100 classes.

Synthetic data in the CIFAR-100 python layout (nothing can be downloaded here): 100 classes of 20 images
(16 train, 4 test), each class one combination of a shape (5), a colour (5) and a background texture
(4 of 8), drawn at 32 px with jittered position, size and pixel noise (tests/support/many_classes.py), written as `train`, `test` and `meta`
Python-2 protocol-2 pickles (tests/data_tools/conftest.py's writer, the layout the cifar100 tests use;
superclass = colour x texture, 20 of them) and imported as a user would:
`python -m data_tools import --format cifar100`. Then, per noise rate (symmetric, `python -m data_tools
noise`, noise seed = training seed), as bench_detection.py does:
  * the product in EAC mode (`--mode eac --erase-p 0.5`, the CPU preset otherwise) ranked by `suspicion`;
  * the product in CE mode with `--folds 4` (the CPU preset's own mode), ranked by `suspicion`, and
  * the anchor: cleanlab on that run's 4-fold out-of-sample CE probabilities (bench_detection.anchor_metrics);
AUROC, AP, precision@k (k = flipped labels; eac_core.metrics), test accuracy on the clean test split,
and process CPU seconds. Writes bench/results/<name>.md (default many_classes).

  nice -n 10 python bench/bench_many_classes.py                  # 100 classes x (16 train + 4 test), 6 epochs, 20 % and 40 %
  python bench/bench_many_classes.py --per-class 10 --epochs 2 --name many_classes_quick   # a smoke run
"""
from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))          # tests/support: the synthetic classes

from _benchlib import DEFAULT_WORK, log, mean_sd, noisy, run_pool, write_result  # noqa: E402
from bench_detection import anchor_metrics  # noqa: E402
from eac_core.metrics import detection_metrics, noise_mask  # noqa: E402
from data_tools.rundir import RunDir  # noqa: E402
from support.many_classes import COLOURS, SHAPES, make_images  # noqa: E402

COLOUR_NAMES = ("red", "green", "blue", "yellow", "white")
TEXTURE_NAMES = ("dark", "light", "hstripes", "vstripes", "checker", "diagonal", "wide_stripes", "dots")
assert len(COLOUR_NAMES) == len(COLOURS)


def fine_names(n: int) -> list[str]:
    """What each synthetic class draws, e.g. 'red_circle_on_dark' (class i: shape i % 5, colour (i // 5) % 5,
    texture i // 25)."""
    return [f"{COLOUR_NAMES[(i // 5) % 5]}_{SHAPES[i % 5]}_on_{TEXTURE_NAMES[i // 25]}" for i in range(n)]


def write_cifar_layout(folder: Path, n_classes: int, per_class: int, test_per_class: int, seed: int) -> Path:
    """train / test / meta pickles of the synthetic classes in CIFAR-100's python layout."""
    sys.path.insert(0, str(HERE.parent / "tests" / "data_tools"))
    from conftest import py2_pickle_bytes          # the writer the cifar100 importer's tests use
    folder.mkdir(parents=True, exist_ok=True)
    names = fine_names(n_classes)
    coarse = sorted({i // 5 for i in range(n_classes)})
    coarse_names = [f"{COLOUR_NAMES[c % 5]}_on_{TEXTURE_NAMES[c // 5]}" for c in coarse]
    for split, per, s in (("train", per_class, seed), ("test", test_per_class, seed + 1)):
        images, labels = make_images(n_classes, per, 32, s)
        order = np.random.default_rng(s).permutation(len(labels))          # CIFAR's files are not class-sorted
        images, labels = images[order], labels[order]
        batch = {"batch_label": f"{split} batch 1 of 1",
                 "filenames": [f"synthetic_{split}_{i:05d}.png" for i in range(len(labels))],
                 "fine_labels": [int(c) for c in labels], "coarse_labels": [coarse.index(int(c) // 5) for c in labels],
                 "data": np.ascontiguousarray(images.transpose(0, 3, 1, 2).reshape(len(labels), -1))}
        (folder / split).write_bytes(py2_pickle_bytes(batch))
    (folder / "meta").write_bytes(py2_pickle_bytes({"fine_label_names": names, "coarse_label_names": coarse_names}))
    return folder


def import_clean(work: Path, n_classes: int, per_class: int, test_per_class: int, seed: int) -> Path:
    out = work / f"synthetic{n_classes}_{per_class}_clean"
    if not (out / "dataset.json").is_file():
        raw = write_cifar_layout(work / f"synthetic{n_classes}_{per_class}_raw" / "cifar-100-python", n_classes,
                                 per_class, test_per_class, seed)
        cmd = [sys.executable, "-m", "data_tools", "import", "--format", "cifar100", "--root", str(raw.parent),
               "--out", str(out)]
        log("$ " + shlex.join(cmd))
        subprocess.run(cmd, check=True, cwd=HERE.parent, stdout=subprocess.DEVNULL)
    return out


def test_acc(run: Path) -> float:
    return float(RunDir(run).read_summary()["test_acc"].iloc[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--classes", type=int, default=100)
    ap.add_argument("--per-class", type=int, default=16, help="training images per class (16)")
    ap.add_argument("--test-per-class", type=int, default=4)
    ap.add_argument("--rates", type=float, nargs="+", default=[0.2, 0.4])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--folds", type=int, default=4)
    ap.add_argument("--image-size", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=6, help="6 (the CPU preset has 16; 6 keeps the run within 25 minutes here)")
    ap.add_argument("--jobs", type=int, default=2, help="trainer processes at a time")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per process")
    ap.add_argument("--work", type=Path, default=DEFAULT_WORK)
    ap.add_argument("--name", default="many_classes")
    a = ap.parse_args(argv)

    clean = import_clean(a.work, a.classes, a.per_class, a.test_per_class, seed=1000)
    extra = ["--image-size", str(a.image_size)] + (["--epochs", str(a.epochs)] if a.epochs else [])
    tag = "".join(f"_{x.strip('-')}" for x in extra)
    runs = a.work / "runs"
    jobs, dirs = [], {}
    for rate in a.rates:
        for s in a.seeds:
            ds = noisy(clean, rate, s)
            dirs[rate, s] = {"eac": runs / f"{ds.name}_eac_seed{s}{tag}",
                             "ce": runs / f"{ds.name}_ce_folds{a.folds}_seed{s}{tag}"}
            jobs.append((("eac", rate, s), ds, dirs[rate, s]["eac"],
                         ["--mode", "eac", "--erase-p", "0.5", "--seed", str(s), *extra]))
            jobs.append((("ce", rate, s), ds, dirs[rate, s]["ce"],
                         ["--mode", "ce", "--folds", str(a.folds), "--seed", str(s), *extra]))
    timing = run_pool(jobs, a.jobs, device="cpu", threads=a.threads)

    rows, cfg = [], None
    for (rate, s), d in dirs.items():
        if ("eac", rate, s) not in timing or ("ce", rate, s) not in timing:
            log(f"rate {rate} seed {s}: incomplete, left out")
            continue
        eac, ce = RunDir(d["eac"]).read_scores(), RunDir(d["ce"]).read_scores()
        cfg = RunDir(d["ce"]).read_config()
        y, yc = noise_mask(eac), noise_mask(ce)
        te, tc = timing[("eac", rate, s)], timing[("ce", rate, s)]
        folds_cpu = tc["cpu_parts"]["folds"]
        ce_cpu = tc.get("rusage_cpu_s", tc["cpu_s"])
        base = {"rate": rate, "seed": s, "n": len(y), "k": int(y.sum())}
        rows.append({**base, "method": "product, EAC mode", **detection_metrics(eac["suspicion"], y),
                     "test_acc": test_acc(d["eac"]), "cpu_s": te.get("rusage_cpu_s", te["cpu_s"])})
        rows.append({**base, "method": "product, CE mode", **detection_metrics(ce["suspicion"], yc),
                     "test_acc": test_acc(d["ce"]), "cpu_s": ce_cpu - folds_cpu})
        am = anchor_metrics(ce, yc, cfg["classes"])
        flags = am.pop("_flags")
        for name, m in am.items():
            rows.append({**base, "method": f"anchor: {name}", **m, "test_acc": float("nan"), "cpu_s": folds_cpu,
                         "flagged": flags["flagged"]})
    if not rows:
        log("nothing finished")
        return 1
    t = pd.DataFrame(rows)
    info = RunDir(next(iter(dirs.values()))["ce"]).read_config()
    L = ["## Many classes: 100-class synthetic CIFAR-100 layout, symmetric noise\n"]
    L.append(f"Dataset: {a.classes} synthetic classes (shape x colour x texture, 32 px), {a.per_class} training and "
             f"{a.test_per_class} test images per class ({t['n'].iloc[0]} training rows), written as CIFAR-100 python "
             f"pickles and imported with `python -m data_tools import --format cifar100`; symmetric noise from "
             f"`python -m data_tools noise --kind symmetric --seed S` on the training labels; seeds {a.seeds} "
             f"(mean ± sd where more than one). Trainer: the CPU preset (arch `{info['arch']}`, {info['image_size']} px, "
             f"{info['epochs']} epochs, batch {info['batch_size']}, SGD OneCycle to {info['lr']}); EAC mode adds "
             f"`--mode eac --erase-p 0.5` (lambda {info['lam']}, ramped over {info['lam_warmup']} epochs). "
             f"{a.jobs} trainer processes at a time, {a.threads} torch thread each, on the shared 2-core machine.\n")
    L.append(f"Command: `{' '.join(['python bench/bench_many_classes.py', *(argv if argv is not None else sys.argv[1:])])}`\n")
    L.append("| noise | ranking | AUROC | AP | precision@k | k | test acc | CPU s |\n|---|---|---|---|---|---|---|---|")
    for (rate, method), g in t.groupby(["rate", "method"], sort=False):
        acc = mean_sd(g["test_acc"]) if g["test_acc"].notna().any() else "–"
        L.append(f"| {rate:.0%} | {method} | {mean_sd(g['auroc'])} | {mean_sd(g['ap'])} | {mean_sd(g['p_at_k'])} | "
                 f"{int(g['k'].mean())} | {acc} | {g['cpu_s'].mean():.0f} |")
    L.append("\nCPU s: process CPU seconds of the EAC run (whole process); of the CE run without its `--folds` phase; "
             "for the anchor, the `--folds` phase alone (4 CE models and their held-out scoring). Test acc: final "
             "epoch on the clean test split (the anchor has no single model). precision@k: k = the number of "
             "flipped labels.\n")
    write_result(a.name, "\n".join(L) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
