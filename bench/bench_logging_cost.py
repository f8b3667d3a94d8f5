"""Benchmark 2 (issue 3 §4): what the per-sample logging of the training pass costs.

In one process, on the same data, model state and batches, epochs are timed alternately (ABBA order,
each epoch starting from the same saved model/optimizer state):
  * WITH logging: eac_core.engine.train_one_epoch as the trainer calls it (per step: per-sample loss,
    p_label, margin, prediction, flip-consistency error, erased flag, flip agreement and the
    probability vector collected; per epoch: concatenated and gathered by index), and optionally
    followed by the trainer's per-epoch persistence (rundir.write_history + the provisional
    scores.parquet of eac_core.train.write_scores);
  * WITHOUT logging: the same function with `log_signals=False` (no per-sample tensors, no per-sample
    flip-consistency error, no gather). Before timing, the script checks that both variants train
    identically: one epoch of each from the same state must give the same parameters.
Ratios use process CPU seconds (1 torch thread; robust to other load on the machine) and wall seconds;
the median over rounds is reported. Target: with ÷ without ≤ 1.03.

Also: the clean-view scoring pass (eac_core.engine.score_clean, as the trainer calls it at the end of
a run, with the fixed erasures) timed here as a fraction of the run it ends (epochs × epoch time +
evaluation + scoring), and, when bench_detection.py's runs exist, the measured fraction in those
complete runs (bench/_train_timed.py times the trainer's parts).

  python bench/bench_logging_cost.py                       # demo (3000 train), EAC and CE, 3 rounds
  python bench/bench_logging_cost.py --limit 1000 --rounds 2
  python bench/bench_logging_cost.py --device cuda --threads 8
"""
from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _benchlib import DEFAULT_WORK, demo_clean, log, noisy, write_result  # noqa: E402
from data_tools.manifest import load_dataset  # noqa: E402
from eac_core import engine  # noqa: E402
from data_tools.rundir import RunDir
from eac_core import train as train_mod  # noqa: E402
from eac_core.config import PRESET_VALUES  # noqa: E402
from eac_core.data import AugmentSpec, epoch_order, fixed_erasures, load_cached, make_splits  # noqa: E402
from eac_core.distributed import DistInfo  # noqa: E402
from eac_core.models import build_model  # noqa: E402
from eac_core.preprocess import Preprocessing  # noqa: E402


def train_one_epoch_nolog(model, optimizer, images, labels, order, **kw):
    """The trainer's own epoch with its per-sample logging switched off (same views, loss and steps)."""
    return engine.train_one_epoch(model, optimizer, images, labels, order, log_signals=False, **kw)


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def measure(mode: str, a, ds, train, test, device, classes) -> dict:
    pre = PRESET_VALUES["cpu"] if device.type == "cpu" else PRESET_VALUES["paper"]
    arch, size, bs, lr = a.arch or pre["arch"], a.image_size or pre["image_size"], pre["batch_size"], pre["lr"]
    cache = a.work / "cache" / ds.root.name
    train.images = load_cached(ds, train, size, cache, 2)
    test.images = load_cached(ds, test, size, cache, 2)
    torch.manual_seed(0)
    model = build_model(arch, len(classes)).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=1e-4)
    aug = AugmentSpec(0.5, (0.02, 0.25), (0.3, 3.3), 5.5, 0.5, "erase-then-flip")
    ctx = engine.StepContext(device=device, spec=Preprocessing(), dist=DistInfo(), amp=device.type == "cuda",
                             channels_last=False)
    kw = dict(batch_size=bs, objective=engine.Objective(mode, 5.0), aug=aug, ctx=ctx)
    # warm-up epoch (also a realistic, partly trained state), then save the state every variant starts from
    warm = engine.train_one_epoch(model, opt, train.images, train.labels, epoch_order(len(train), 0, 1), epoch=1,
                                  seed=0, **kw)
    state = (copy.deepcopy(model.state_dict()), copy.deepcopy(opt.state_dict()))

    def restore():
        model.load_state_dict(state[0])
        opt.load_state_dict(copy.deepcopy(state[1]))   # load_state_dict keeps (and then mutates) the tensors
        torch.manual_seed(1234)             # the global RNG too (dropout etc.), so variants see the same draws

    order = epoch_order(len(train), 0, 2)
    # equivalence: the no-logging loop trains exactly like the logging one
    restore()
    engine.train_one_epoch(model, opt, train.images, train.labels, order, epoch=2, seed=0, **kw)
    p_log = [p.detach().clone() for p in model.parameters()]
    restore()
    engine.train_one_epoch(model, opt, train.images, train.labels, order, epoch=2, seed=0, **kw)
    self_diff = max(float((p - q).abs().max()) for p, q in zip(model.parameters(), p_log))
    restore()
    train_one_epoch_nolog(model, opt, train.images, train.labels, order, epoch=2, seed=0, **kw)
    diff = max(float((p - q).abs().max()) for p, q in zip(model.parameters(), p_log))

    tmp = Path(tempfile.mkdtemp(prefix="bench_logging_"))
    RunDir(tmp).write_sample_ids(train.sample_ids)
    RunDir(tmp).write_history("epoch", 1, warm.signals)        # untimed: pays the one-off imports (cleanlab, ...)
    train_mod.write_scores(tmp, train, classes, warm.signals, provisional=True)
    erasures = fixed_erasures(len(train), size, size, pre.get("erase_repeats", 3), 0)
    t = {"log": [], "nolog": [], "persist": [], "log_wall": [], "nolog_wall": [], "persist_wall": []}

    def timed(fn):
        _sync(device)
        c, w = time.process_time(), time.perf_counter()
        r = fn()
        _sync(device)
        return r, time.process_time() - c, time.perf_counter() - w

    for r in range(a.rounds):
        for variant in (("log", "nolog") if r % 2 == 0 else ("nolog", "log")):
            restore()
            if variant == "log":
                res, c, w = timed(lambda: engine.train_one_epoch(model, opt, train.images, train.labels, order,
                                                                 epoch=2, seed=0, true_labels=train.true_labels, **kw))
                _, pc, pw = timed(lambda: (RunDir(tmp).write_history("epoch", 2 + r, res.signals),
                                           train_mod.write_scores(tmp, train, classes, res.signals, provisional=True)))
                t["persist"].append(pc)
                t["persist_wall"].append(pw)
            else:
                _, c, w = timed(lambda: train_one_epoch_nolog(model, opt, train.images, train.labels, order,
                                                              epoch=2, seed=0, **kw))
            t[variant].append(c)
            t[variant + "_wall"].append(w)
            log(f"{mode} round {r} {variant}: {c:.2f} CPU s, {w:.2f} wall s")
    # clean-view scoring pass and test evaluation, as the trainer runs them at the end
    _, sc, sw = timed(lambda: engine.score_clean(model, train.images, train.labels, batch_size=bs, ctx=ctx,
                                                 erasures=erasures))
    _, ec, ew = timed(lambda: engine.evaluate(model, test.images, test.labels, batch_size=bs, ctx=ctx))
    log(f"{mode}: max abs parameter difference log vs nolog {diff:.2e}, log vs log {self_diff:.2e}")
    return {"mode": mode, "arch": arch, "size": size, "bs": bs, "n": len(train), "diff": diff, "self_diff": self_diff, **t,
            "score": sc, "score_wall": sw, "eval": ec, "eval_wall": ew, "repeats": int(erasures.shape[1])}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--modes", nargs="+", default=["eac", "ce"], choices=["eac", "ce"])
    ap.add_argument("--rounds", type=int, default=4, help="ABBA rounds (each: one epoch with, one without)")
    ap.add_argument("--limit", type=int, default=0, help="use only the first N training rows (0: all)")
    ap.add_argument("--epochs", type=int, default=None, help="run length for the scoring fraction (preset: 8)")
    ap.add_argument("--arch", default=None)
    ap.add_argument("--image-size", type=int, default=None)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--work", type=Path, default=DEFAULT_WORK)
    ap.add_argument("--name", default="logging_cost")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    device = torch.device(a.device)
    ds = load_dataset(noisy(demo_clean(a.work), 0.2, 0))
    classes = ds.classes
    rows = []
    for mode in a.modes:
        train, test = make_splits(ds, a.limit)
        rows.append(measure(mode, a, ds, train, test, device, classes))
    epochs = a.epochs or (PRESET_VALUES["cpu"]["epochs"] if a.device == "cpu" else PRESET_VALUES["paper"]["epochs"])
    med = statistics.median
    L = ["## Benchmark 2: cost of the per-sample logging of the training pass\n",
         f"Demo with 20 % noise, {rows[0]['n']} training rows, arch `{rows[0]['arch']}`, {rows[0]['size']} px, batch "
         f"{rows[0]['bs']}, device {a.device}, {a.threads} torch thread(s); {a.rounds} interleaved rounds (ABBA) per mode, "
         f"every timed epoch starts from the same model/optimizer state (after 1 warm-up epoch); median over rounds.\n",
         f"Command: `python bench/bench_logging_cost.py {' '.join(argv if argv is not None else sys.argv[1:])}`\n",
         "| mode | epoch without logging (CPU s) | with in-pass logging (CPU s) | ratio CPU | ratio wall | "
         "+ per-epoch persistence (CPU s) | ratio incl. persistence (CPU) | same parameters? |",
         "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        rc = med([x / y for x, y in zip(r["log"], r["nolog"])])
        rw = med([x / y for x, y in zip(r["log_wall"], r["nolog_wall"])])
        rp = med([(x + p) / y for x, p, y in zip(r["log"], r["persist"], r["nolog"])])
        r.update(rc=rc, rw=rw, rp=rp)
        same = "yes (identical)" if r["diff"] == 0 else \
            f"max abs diff {r['diff']:.1e} (logging run vs itself: {r['self_diff']:.1e})"
        L.append(f"| {r['mode']} | {med(r['nolog']):.2f} | {med(r['log']):.2f} | {rc:.3f} | {rw:.3f} | "
                 f"{med(r['persist']):.2f} | {rp:.3f} | {same} |")
    L.append("\n(in-pass logging = what train_one_epoch collects per sample; persistence = the trainer's per-epoch "
             "rundir.write_history + provisional scores.parquet (train.write_scores), done after every epoch.)\n")
    L.append("### Clean-view scoring pass as a fraction of a run\n")
    L.append(f"Timed here: one score_clean pass (clean view + mirror + {rows[0]['repeats']} fixed erasures) vs a "
             f"{epochs}-epoch run estimated as {epochs} × epoch (with logging + persistence) + {epochs} × test "
             f"evaluation + the final scoring pass.\n")
    L.append("| mode | scoring pass (CPU s) | epoch (CPU s) | fraction of the run |\n|---|---|---|---|")
    for r in rows:
        ep = med(r["log"]) + med(r["persist"])
        run = epochs * (ep + r["eval"]) + r["score"]
        L.append(f"| {r['mode']} | {r['score']:.2f} | {ep:.2f} | {r['score'] / run:.1%} |")
    measured = []
    for p in sorted((a.work / "runs").glob("demo_n20_s*_eac_seed*")) if (a.work / "runs").is_dir() else []:
        tj = p / "bench_timing.json"
        if tj.is_file() and p.is_dir():
            j = json.loads(tj.read_text())
            if j.get("rc") == 0:
                measured.append((p.name, j))
    if measured:
        L.append("\nMeasured in complete trainer runs (bench_detection.py's EAC runs; bench/_train_timed.py times the "
                 "trainer's calls; process CPU seconds):\n")
        L.append("| run | whole run CPU s | training epochs | test evaluation | clean-view scoring | scoring fraction |")
        L.append("|---|---|---|---|---|---|")
        for name, j in measured:
            cp = j["cpu_parts"]
            L.append(f"| {name} | {j['cpu_s']:.1f} | {cp['train_epoch']:.1f} | {cp['evaluate']:.1f} | "
                     f"{cp['score_clean']:.1f} | {cp['score_clean'] / j['cpu_s']:.1%} |")
    L.append("")
    for r in rows:
        L.append(f"- Target (with ÷ without ≤ 1.03), {r['mode']}: in-pass {r['rc']:.3f} → {'met' if r['rc'] <= 1.03 else 'MISSED'}; "
                 f"including per-epoch persistence {r['rp']:.3f} → {'met' if r['rp'] <= 1.03 else 'MISSED'}")
    write_result(a.name, "\n".join(L) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
