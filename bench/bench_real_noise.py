"""Real-noise benchmark (issue 7): how well each ranking finds the REAL label errors of FER2013.

fer2013_dev (../shared/data/fer2013_dev) is imported through the project's CSV importer as a user would,
the product trains on its train split, and the ranking of the 1,680 determined rows of the ranked slice
(FER2013 PublicTest-A) is scored against the FER+ 10-annotator majority in `truth.csv` (scoring only:
the truth never reaches training or ranking). In the same invocation, on the same data:

  * anchor 1: a plain 5-conv CE CNN trained once (3x3 conv-BN-ReLU 32-64-128-256-256, first conv
    stride 2, three max-pools, FC 2304-256-7 with dropout 0.4; SGD Nesterov 0.9, wd 5e-4, batch 128,
    OneCycle to 0.1, 16 epochs, random 48-px crop from 4-px padding + mirror), ranked by its in-sample loss;
  * anchor 2: cleanlab on that CNN's 4-fold out-of-sample probabilities (normalized_margin and
    self_confidence);
  * the product's default run (`python -m eac_core.train`, trainer defaults) ranked by `suspicion`,
    and the product in CE mode (`--mode ce`), with every signal column scored too;
AUROC, AP, precision@k (k = number of mislabeled determined rows), test accuracy against the FER+
majority (test split) and CPU seconds of each. Prints markdown tables; writes bench/results/<name>.md.

Anchors are trained in this process, fp32 on CPU: bf16 autocast measured 4-14x SLOWER than fp32 on this
AVX2-only CPU (no AVX512-BF16 / AMX); bf16 is used on CUDA. Finished parts are kept in --work and
reused by a later invocation with the same settings (delete the folder to start over).

  python bench/bench_real_noise.py                                  # full fer2013_dev (slow on 2 cores)
  python bench/bench_real_noise.py --train-rows 4000 --name real_noise_4k   # 4,000 Training rows + the slice
  python bench/bench_real_noise.py --modes ce --product-args "" --product-args "--erase-p 0"   # variants
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _benchlib import DEFAULT_WORK, log, write_result  # noqa: E402
from data_tools.manifest import load_dataset  # noqa: E402
from data_tools.rundir import RunDir
from eac_core.data import epoch_generator, epoch_order, batches, load_cached, make_splits, normalise, shift_and_mirror  # noqa: E402
from eac_core.preprocess import Preprocessing  # noqa: E402
from eac_core.scores import CANDIDATES, DEFAULT_SUSPICION, cleanlab_suspicion  # noqa: E402

from eac_core.metrics import detection_metrics  # noqa: E402

DEV = ROOT.parent / "shared" / "data" / "fer2013_dev"


# ------------------------------------------------------------------------------------------ data

def prepare(work: Path, train_rows: int, seed: int) -> Path:
    """fer2013_dev (or a seeded subset of its Training rows, the ranked slice and test split kept whole)
    imported with `python -m data_tools import --format csv`."""
    out = work / "dataset"
    if (out / "dataset.json").is_file():
        return out
    labels = pd.read_csv(DEV / "labels.csv", dtype=str, keep_default_na=False)
    truth_paths = set(pd.read_csv(DEV / "truth.csv", dtype=str)["path"])
    csv = DEV / "labels.csv"
    if train_rows:
        training = labels[(labels["split"] == "train") & ~labels["path"].isin(truth_paths)]
        keep = set(training.sample(n=min(train_rows, len(training)), random_state=seed)["path"])
        sub = labels[(labels["split"] != "train") | labels["path"].isin(truth_paths) | labels["path"].isin(keep)]
        csv = work / "labels_subset.csv"
        work.mkdir(parents=True, exist_ok=True)
        sub.to_csv(csv, index=False)
    cmd = [sys.executable, "-m", "data_tools", "import", "--format", "csv", "--csv", str(csv), "--root", str(DEV),
           "--out", str(out)]
    log("$ " + shlex.join(cmd))
    subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return out


def truth_mask(train_frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(row positions in the train split of the determined slice rows, mislabeled bool) from truth.csv."""
    truth = pd.read_csv(DEV / "truth.csv", dtype={"path": str})
    truth = truth[truth["mislabeled"].isin([0, 1])]
    pos = pd.Series(np.arange(len(train_frame)), index=train_frame["path"].astype(str))
    truth = truth[truth["path"].isin(pos.index)]
    return pos[truth["path"]].to_numpy(), truth["mislabeled"].to_numpy().astype(bool)


# ------------------------------------------------------------------------------------- anchor CNN

def _cbr(cin: int, cout: int, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


def anchor_cnn(num_classes: int) -> nn.Module:
    """The issue's plain CE baseline: 1.57 M parameters at 48 px."""
    return nn.Sequential(*_cbr(3, 32, 2), *_cbr(32, 64), nn.MaxPool2d(2), *_cbr(64, 128), nn.MaxPool2d(2),
                         *_cbr(128, 256), *_cbr(256, 256), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(2304, 256), nn.ReLU(inplace=True), nn.Dropout(0.4), nn.Linear(256, num_classes))


def train_anchor(images: np.ndarray, labels: np.ndarray, num_classes: int, *, epochs: int, seed: int,
                 device: torch.device, build=anchor_cnn) -> nn.Module:
    """The anchor's training loop; `build(num_classes)` -> a module returning logits (bench_heads.py
    passes other heads)."""
    torch.manual_seed(seed)
    model = build(num_classes).to(device)
    spec = Preprocessing()
    steps = -(-len(labels) // 128)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=epochs * steps)
    y_all = torch.from_numpy(labels)
    for epoch in range(1, epochs + 1):
        model.train()
        for step, idx in enumerate(batches(epoch_order(len(labels), seed, epoch), 128), start=1):
            gen = epoch_generator(seed, epoch, stream=step)
            xb = shift_and_mirror(torch.from_numpy(np.asarray(images[idx])), 4, 0.5, gen)
            x = normalise(xb, spec, device)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                logits = model(x)
            loss = F.cross_entropy(logits.float(), y_all[idx].to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    return model


@torch.no_grad()
def predict(model: nn.Module, images: np.ndarray, device: torch.device) -> np.ndarray:
    model.eval()
    out = []
    for i in range(0, len(images), 512):
        x = normalise(torch.from_numpy(np.asarray(images[i:i + 512])), Preprocessing(), device)
        out.append(model(x).float().softmax(1).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 0))


def run_anchors(ds_dir: Path, work: Path, epochs: int, folds: int, seed: int) -> dict:
    """Anchor 1 (in-sample loss) and anchor 2 (cleanlab on K-fold out-of-sample probabilities), cached."""
    cache = work / "anchors.npz"
    meta_f = work / "anchors.json"
    if cache.is_file() and meta_f.is_file():
        return {**json.loads(meta_f.read_text()), **dict(np.load(cache))}
    from sklearn.model_selection import StratifiedKFold
    ds = load_dataset(ds_dir)
    train, test = make_splits(ds)
    train.images = load_cached(ds, train, 48, work / "cache")
    test.images = load_cached(ds, test, 48, work / "cache")
    device = torch.device("cpu")
    k = len(ds.classes)
    first = work / "anchor1.npz"                 # anchor 1 kept on its own: the folds take three times longer
    if first.is_file():
        a1 = np.load(first)
        probs, test_acc, cpu1 = a1["probs"], float(a1["test_acc"]), float(a1["cpu"])
        log(f"anchor 1 reused from {first}")
    else:
        log(f"anchor 1: plain CE CNN on {len(train)} rows, {epochs} epochs")
        t0 = time.process_time()
        m = train_anchor(train.images, train.labels, k, epochs=epochs, seed=seed, device=device)
        probs = predict(m, train.images, device)
        test_acc = float((predict(m, test.images, device).argmax(1) == test.labels).mean())
        cpu1 = time.process_time() - t0
        np.savez(first, probs=probs, test_acc=test_acc, cpu=cpu1)
        log(f"anchor 1 done: {cpu1:.0f} CPU-s, test acc {test_acc:.3f}")
    oos = np.zeros_like(probs)
    test_p = np.zeros((len(test), k))
    t0 = time.process_time()
    for f, (tr, held) in enumerate(StratifiedKFold(folds, shuffle=True, random_state=seed)
                                   .split(np.zeros(len(train)), train.labels)):
        log(f"anchor 2: fold {f + 1}/{folds}")
        mf = train_anchor(train.images[tr], train.labels[tr], k, epochs=epochs, seed=seed + f + 1, device=device)
        oos[held] = predict(mf, train.images[held], device)
        test_p += predict(mf, test.images, device)
    cpu2 = time.process_time() - t0
    test_acc2 = float((test_p.argmax(1) == test.labels).mean())
    log(f"anchor 2 done: {cpu2:.0f} CPU-s, test acc (fold ensemble) {test_acc2:.3f}")
    meta = {"cpu_in_sample": cpu1, "test_acc_in_sample": test_acc, "cpu_folds": cpu2, "test_acc_folds": test_acc2}
    np.savez(cache, probs=probs, oos=oos, labels=train.labels)
    meta_f.write_text(json.dumps(meta, indent=1))
    return {**meta, "probs": probs, "oos": oos, "labels": train.labels}


# -------------------------------------------------------------------------------------- product

def run_product(ds_dir: Path, out: Path, args: list[str], threads: int) -> dict:
    """One trainer run (cached when finished): its process CPU seconds from wait4."""
    t_file = out / "bench_timing.json"
    if t_file.is_file() and RunDir(out).is_finished():
        return json.loads(t_file.read_text())
    if out.exists():
        import shutil
        shutil.rmtree(out)
    cmd = [sys.executable, "-m", "eac_core.train", "--dataset", str(ds_dir), "--out", str(out),
           "--threads", str(threads), "--cache-dir", str(out.parent / "cache_product"), *args]
    log("$ " + shlex.join(cmd[1:]))
    t0 = time.perf_counter()
    with open(str(out) + ".stderr.log", "w") as err:
        p = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"},
                             stdout=subprocess.DEVNULL, stderr=err)
        _, status, ru = os.wait4(p.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"trainer failed: see {out}.stderr.log")
    timing = {"cpu_s": ru.ru_utime + ru.ru_stime, "wall_s": time.perf_counter() - t0, "args": args}
    t_file.write_text(json.dumps(timing, indent=1))
    log(f"done {out.name}: {timing['wall_s']:.0f} s wall, {timing['cpu_s']:.0f} CPU-s")
    return timing


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train-rows", type=int, default=0, help="Training rows to keep (0: all 28,558)")
    ap.add_argument("--anchor-epochs", type=int, default=16)
    ap.add_argument("--folds", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--product-args", action="append", default=None,
                    help="extra trainer flags of a product variant (repeat for several variants; default: none)")
    ap.add_argument("--modes", default="eac,ce", help="product modes to run for each variant")
    ap.add_argument("--skip", default="", help="comma list of parts to skip: anchors")
    ap.add_argument("--work", type=Path, default=None)
    ap.add_argument("--name", default="real_noise")
    a = ap.parse_args(argv)
    if not (DEV / "truth.csv").is_file():
        print(f"error: {DEV} not found (the real-noise development set)", file=sys.stderr)
        return 2
    torch.set_num_threads(a.threads)
    work = a.work or DEFAULT_WORK / f"real_noise_{a.train_rows or 'all'}_s{a.seed}"
    work.mkdir(parents=True, exist_ok=True)
    skip = set(filter(None, a.skip.split(",")))
    ds_dir = prepare(work, a.train_rows, a.seed)
    ds = load_dataset(ds_dir)
    train, _ = make_splits(ds)
    pos, noisy = truth_mask(train.frame)
    k = int(noisy.sum())
    rows, signal_rows = [], []

    def add(name: str, suspicion: np.ndarray, test_acc: float, cpu: float) -> None:
        rows.append({"ranking": name, **detection_metrics(np.asarray(suspicion)[pos], noisy),
                     "test_acc": test_acc, "cpu_s": cpu})

    if "anchors" not in skip:
        an = run_anchors(ds_dir, work, a.anchor_epochs, a.folds, a.seed)
        p = np.clip(an["probs"], 1e-12, None)
        add("anchor: plain CE CNN, in-sample loss", -np.log(p[np.arange(len(p)), an["labels"]]),
            an["test_acc_in_sample"], an["cpu_in_sample"])
        for method in ("normalized_margin", "self_confidence"):
            add(f"anchor: cleanlab {method}, {a.folds}-fold CE CNN out of sample",
                cleanlab_suspicion(an["labels"], an["oos"], method), an["test_acc_folds"], an["cpu_folds"])
    for variant in a.product_args or [""]:
        extra = shlex.split(variant)
        for mode in filter(None, a.modes.split(",")):
            out = work / f"product_{mode}{'_' + '_'.join(x.strip('-') for x in extra) if extra else ''}"
            timing = run_product(ds_dir, out, ["--mode", mode, *extra], a.threads)
            run = RunDir(out)
            scores, cfg = run.read_scores(), run.read_config()
            test_acc = float(run.read_summary()["test_acc"].iloc[-1])
            label = (f"product {cfg['mode']} ({cfg['preset']} preset: {cfg['arch']} x{cfg.get('width', 1.0):g}, "
                     f"{cfg['epochs']} ep, {'neck %s, ' % cfg['neck'] if cfg.get('neck') else ''}"
                     f"erase p {cfg['erase_p']}, pixel noise {cfg['gauss_noise_std']}, lam {cfg['lam']})")
            # `suspicion` as the CURRENT default defines it (a function of the stored columns)
            add(f"{label}, `suspicion` = {DEFAULT_SUSPICION}", CANDIDATES[DEFAULT_SUSPICION](scores), test_acc,
                timing["cpu_s"])
            sub = scores.iloc[pos]
            for name, fn in CANDIDATES.items():
                v = fn(sub)
                if np.isfinite(v).sum() == len(v):
                    signal_rows.append({"mode": label, "signal": name, **detection_metrics(v, noisy)})
    table = pd.DataFrame(rows)
    n_train = len(train)
    head = (f"# Real-noise detection on fer2013_dev ({n_train} training rows"
            f"{'' if not a.train_rows else f': {a.train_rows} sampled Training rows + the ranked slice'}; "
            f"{len(pos)} determined slice rows, k = {k} mislabeled; random AP = {noisy.mean():.3f})\n\n"
            f"`python bench/bench_real_noise.py {shlex.join(argv if argv is not None else sys.argv[1:])}`, "
            f"{a.threads} threads, seed {a.seed}, {time.strftime('%Y-%m-%d')}\n\n")
    text = head + table.to_markdown(index=False, floatfmt=".3f") + "\n"
    if signal_rows:
        sig = pd.DataFrame(signal_rows).pivot_table(index="signal", columns="mode", values=["ap", "auroc"])
        sig.columns = [f"{m}: {c}" for c, m in sig.columns]
        sig = sig.sort_values(sig.columns[0], ascending=False)
        text += "\n## Every signal column of the product runs (same slice)\n\n" + sig.to_markdown(floatfmt=".3f") + "\n"
    write_result(a.name, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
