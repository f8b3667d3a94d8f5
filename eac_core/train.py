"""`python -m eac_core.train`: train with Erasing Attention Consistency on a dataset folder and write
the run directory (see data_tools/rundir.py): its setup and resume (`prepare`), the epoch loop over
engine.train_one_epoch / evaluate / score_clean (`_run`), per-epoch persistence and failure reporting.

In EAC mode both views (the erased image and its mirror) go through the network as ONE concatenated
batch, so BatchNorm sees both views at once (always)."""
from __future__ import annotations

import logging
import os
import random
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from data_tools.manifest import ManifestError, load_dataset
from data_tools.rundir import RunDir
from eac_core import faults
from eac_core.checkpoint import RESUME_FIELDS, read_checkpoint, write_checkpoint
from eac_core.runconfig import saved_config
from eac_core.config import ConfigError, TrainConfig, available_cores, build_parser, cuda_available, resolve
from eac_core.data import DataError, epoch_order, fixed_erasures, load_cached, make_splits
from eac_core.distributed import DistInfo, barrier, ddp, init_from_env, reduce_max, shutdown
from eac_core.embedding import embedding_table, neighbour_features, project_2d
from eac_core.engine import NonFiniteLoss, Objective, StepContext, Stopped, evaluate, score_clean, train_one_epoch, unwrap
from eac_core.pretrained import layout_of
from eac_core.budget import Budget, fit_schedule, warm_embedding
from eac_core.progress import Progress, StopFlag
from eac_core.recipe import Training, build_training
from eac_core.scores import build_scores, dynamics, knn_label_agreement

log = logging.getLogger("eac_core.train")
STARTED: float | None = None     # when the command's process started (set when run as a command): a budget's clock


def process_started() -> float | None:
    """The start time of this process (time.time() scale; Python's start-up and imports included), or None."""
    try:
        import psutil
        return float(psutil.Process().create_time())
    except Exception:  # noqa: BLE001 - no start time: the budget counts from the trainer's start
        return None


class TrainingFailed(RuntimeError):
    """An unexpected error during training (progress.json already says 'failed')."""


def resolve_device(name: str) -> torch.device:
    """auto -> cuda when available, else cpu; cuda without a GPU is a ConfigError."""
    if name == "cuda" and not cuda_available():
        raise ConfigError("--device cuda: no CUDA device is available (use --device cpu)")
    return torch.device("cuda" if name == "cuda" or (name == "auto" and cuda_available()) else "cpu")


def rng_state() -> dict:
    """torch / numpy / python RNG states as tensors and lists (loadable with weights_only=True)."""
    st = np.random.get_state()
    py = random.getstate()
    return {"torch": torch.get_rng_state(), "numpy": {"keys": torch.from_numpy(st[1].astype(np.int64)),
            "pos": int(st[2]), "has_gauss": int(st[3]), "cached": float(st[4])},
            "python": [py[0], list(py[1]), py[2]]}


def set_rng_state(s: dict) -> None:
    torch.set_rng_state(s["torch"])
    n = s["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    random.setstate((s["python"][0], tuple(s["python"][1]), s["python"][2]))


def setup_logging(run_dir: RunDir, enabled: bool) -> None:
    log.setLevel(logging.INFO)
    log.handlers.clear()
    log.propagate = False
    if enabled:
        h = logging.FileHandler(run_dir.path_of("log"), encoding="utf-8")
        h.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(h)


class RunExists(ConfigError):
    """--out already holds a run's results (RunDir.has_results): refused, and that run left as it was."""


def prepare(args) -> tuple[TrainConfig, dict | None]:
    """Config for this invocation (the saved one on --resume) and the checkpoint to resume from."""
    ds = load_dataset(args.dataset)
    run = RunDir(args.out)
    if args.resume:
        if not run.has("config"):
            raise ConfigError(f"--resume: {run.path} holds no run to resume (no config); drop --resume to start one")
        saved = saved_config(run, args.dataset, [args.dataset, args.out, args.cache_dir], args.cache_dir)
        planned = saved.epochs
        saved.out = str(run.path.resolve())       # the folder resumed is the one named, also for a copied run
        for k in ("epochs", "device", "workers", "threads"):
            if getattr(args, k) is not None:
                setattr(saved, k, getattr(args, k))
        if saved.schedule != "exp" and saved.epochs != planned:
            raise ConfigError(f"--epochs: the {saved.schedule} schedule of {run.path} was planned for "
                              f"{planned} epochs and cannot change on --resume")
        saved.resume = True
        return saved, (read_checkpoint(run, need=RESUME_FIELDS) if run.has("checkpoint") else None)
    if args.budget_minutes is not None and args.epochs is not None:
        raise ConfigError("give --epochs or --budget-minutes, not both")
    cfg = resolve(args, ds.info.format)
    if run.has_results():
        raise RunExists(f"--out {run.path}: already holds a run (use --resume, or another --out)")
    return cfg, None


def run(cfg: TrainConfig, ckpt: dict | None, info: DistInfo, device: torch.device) -> int:
    """Train and score; returns the exit status. Errors during training are logged, recorded in
    progress.json and answered with one line; setup errors propagate after the heartbeat stopped."""
    run_dir = RunDir(cfg.out)
    progress = Progress(run_dir.path, cfg.epochs, enabled=info.is_main).start()
    stop = StopFlag().install()
    try:
        return _run(cfg, ckpt, info, device, progress, stop)
    except NonFiniteLoss as e:
        log.error(str(e))
        progress.close(state="failed", error=str(e), phase="failed")
        _echo(info.is_main, f"error: {e}")
        return 1
    except Stopped as e:
        log.info(str(e))
        progress.close(state="stopped", phase="stopped", error=None)
        _echo(info.is_main, f"stopped (signal {stop.signum}); resume with --resume")
        return 0
    except (ManifestError, ValueError, FileNotFoundError):    # bad input found while setting up: main's one line
        raise
    except Exception as e:
        log.exception("training failed")
        msg = f"{type(e).__name__}: {e}".splitlines()[0]
        progress.close(state="failed", error=msg, phase="failed")
        raise TrainingFailed(f"{msg} (traceback in {run_dir.path_of('log')})") from e
    finally:
        progress.stop()
        stop.restore()


def _run(cfg: TrainConfig, ckpt: dict | None, info: DistInfo, device: torch.device, progress: Progress,
         stop: StopFlag) -> int:
    run_dir, main_rank = RunDir(cfg.out), info.is_main
    ds = load_dataset(cfg.dataset)
    classes = ds.classes
    progress.update(phase="decode")
    train, test = load_splits(ds, cfg, info)
    steps = -(-len(epoch_order(len(train), cfg.seed, 1, info.rank, info.world)) // cfg.batch_size)
    if cfg.budget_minutes and ckpt is None:
        progress.update(phase="calibrate")
        if main_rank:
            log.info("embedding kernels compiled in %.1fs", warm_embedding())    # inside the budget's clock
        cfg.epochs = epochs_for_budget(cfg, train, len(classes), steps, device, info)
    budget = Budget(cfg.budget_minutes, min(STARTED or progress.t0, progress.t0)) \
        if cfg.budget_minutes and ckpt is None else None
    tr = build_training(cfg, len(classes), steps, device, classes=classes)
    cfg.preprocessing = tr.spec.to_dict()
    start = restore(tr, ckpt)
    if ckpt is not None and tr.per_step:      # a crash between a re-planned config and its checkpoint
        fit_schedule(tr.scheduler, (cfg.epochs - start) * steps)
    if main_rank:
        write_config(run_dir, cfg, info, device, classes)
        run_dir.truncate(start)
        run_dir.write_sample_ids(train.sample_ids)
    net = ddp(tr.model, info, device)
    reporter = Reporter(progress, cfg.epochs, steps, info.world, main_rank)
    ctx = StepContext(device=device, spec=tr.spec, dist=info, amp=device.type == "cuda", channels_last=device.type == "cuda",
                      workers=cfg.workers, should_stop=stop, on_step=reporter.on_step)
    erasures = fixed_erasures(len(train), cfg.image_size, cfg.image_size, cfg.erase_repeats, cfg.seed)
    summary = run_dir.read_summary().to_dict("records") if main_rank and start else []
    progress.update(steps=steps, epoch=start, epochs=cfg.epochs)      # the epochs planned, budget included
    if budget is not None:
        budget.start()
    epoch = start
    while epoch < cfg.epochs:                 # a budget re-plans cfg.epochs after every epoch
        epoch += 1
        reporter.begin_epoch(epoch)
        res = train_one_epoch(net, tr.optimizer, train.images, train.labels,
                              epoch_order(len(train), cfg.seed, epoch, info.rank, info.world), epoch=epoch,
                              seed=cfg.seed, batch_size=cfg.batch_size, objective=Objective.from_config(cfg),
                              aug=tr.aug, ctx=ctx, true_labels=train.true_labels, step_scheduler=tr.step_scheduler)
        reporter.end_epoch()
        lr = tr.optimizer.param_groups[0]["lr"]
        tr.end_epoch()
        progress.update(phase="evaluate")
        test_acc = evaluate(net, test.images, eval_labels(test), batch_size=cfg.batch_size, ctx=ctx) \
            if test is not None else float("nan")
        clean = None
        if cfg.score_every and epoch % cfg.score_every == 0 and epoch < cfg.epochs:
            progress.update(phase="score")
            clean = score_clean(net, train.images, train.labels, batch_size=cfg.batch_size, ctx=ctx, erasures=erasures)
        if main_rank:
            summary.append(summary_row(epoch, res, test_acc, lr, reporter.epoch_seconds(), info.world))
            persist_epoch(run_dir, train, classes, res.signals, clean, summary, checkpoint(tr, cfg, classes, epoch))
        if budget is not None and epoch < cfg.epochs:     # after the last epoch its schedule has ended
            replan_budget(budget, epoch, cfg, tr, steps, reporter, progress, run_dir, info)
    progress.update(phase="score", step=0)
    if start >= cfg.epochs and main_rank and run_dir.is_finished():
        progress.close(state="done", phase="done")
        return 0
    faults.point("score-start")
    clean = score_clean(net, train.images, train.labels, batch_size=cfg.batch_size, ctx=ctx, erasures=erasures)
    faults.point("scored")
    if main_rank:
        run_dir.write_history("clean", cfg.epochs, clean)
        write_scores(run_dir, train, classes, clean, provisional=False)
        faults.point("scores-written")
        write_embedding(run_dir, train.sample_ids, clean["features"], seed=cfg.seed)
        run_dir.write_features(neighbour_features(clean["features"], seed=cfg.seed))   # "faces like this"
    if cfg.folds:
        from eac_core.folds import run_folds
        progress.update(phase="folds")
        run_folds(cfg, train, classes, tr.spec, ctx, run_dir.path if main_rank else None, progress)
    log.info("done in %.1fs", time.perf_counter() - reporter.t0)
    progress.close(state="done", phase="done", eta_sec=0.0, step=steps, epoch=cfg.epochs)
    return 0


def load_splits(ds, cfg: TrainConfig, info: DistInfo):
    """The train and eval splits with their images decoded at the training size (rank 0 fills the cache)."""
    train, test = make_splits(ds, cfg.limit)
    cache = Path(cfg.cache_dir) if cfg.cache_dir else RunDir(cfg.out).path_of("cache")
    t0 = time.perf_counter()
    for turn in (True, False):                     # rank 0 decodes first, the others read its cache
        if info.is_main == turn:
            for split in (train, test):
                if split is not None:
                    split.images = load_cached(ds, split, cfg.image_size, cache, max(2, cfg.workers) if turn else 2)
        if turn:
            barrier(info)
    log.info("decoded %d train / %d eval images at %d px in %.1fs", len(train), len(test) if test else 0,
             cfg.image_size, time.perf_counter() - t0)
    return train, test


def eval_labels(test) -> np.ndarray | None:
    """The labels to measure test accuracy against: true labels where known, else the given ones."""
    if test is None:
        return None
    if test.true_labels is None:
        return test.labels
    return np.where(test.true_labels >= 0, test.true_labels, test.labels)


def restore(tr: Training, ckpt: dict | None) -> int:
    """Load a checkpoint into model, optimiser, schedule and RNGs; returns the epoch it ended."""
    if ckpt is None:
        return 0
    if ckpt.get("layout", "torchvision") != "torchvision":
        from eac_core.pretrained import apply_layout
        apply_layout(tr.model, ckpt["layout"])
    tr.model.load_state_dict(ckpt["model"])
    tr.optimizer.load_state_dict(ckpt["optimizer"])
    tr.scheduler.load_state_dict(ckpt["scheduler"])
    set_rng_state(ckpt["rng"])
    return int(ckpt["epoch"])


def write_config(run_dir: RunDir, cfg: TrainConfig, info: DistInfo, device: torch.device, classes: list[str]) -> None:
    created = run_dir.read_config().get("created_at") if cfg.resume else None
    run_dir.write_config({**cfg.to_dict(), "created_at": created or time.strftime("%Y-%m-%dT%H:%M:%S"),
                          "world_size": info.world, "device_used": str(device), "classes": classes})


def epochs_for_budget(cfg: TrainConfig, train, num_classes: int, steps: int, device: torch.device,
                      info: DistInfo) -> int:
    """Epochs that fit cfg.budget_minutes: a few timed steps of a throwaway copy of the recipe, the
    evaluation and logging overhead (10 %) and the final scoring pass (about one epoch) included."""
    probe = build_training(cfg, num_classes, steps, device)
    ctx = StepContext(device=device, spec=probe.spec, dist=info, amp=device.type == "cuda",
                      channels_last=device.type == "cuda")
    order = epoch_order(len(train), cfg.seed, 0)
    timed = [order[i:i + cfg.batch_size] for i in range(0, len(order), cfg.batch_size)][:6]
    kw = dict(epoch=1, seed=cfg.seed, batch_size=cfg.batch_size, objective=Objective.from_config(cfg), aug=probe.aug,
              ctx=ctx, log_signals=False)
    warm, timed = (timed[:2], timed[2:]) if len(timed) > 2 else (timed[:1], timed)   # tiny sets: time the warm-up too
    train_one_epoch(probe.model, probe.optimizer, train.images, train.labels, np.concatenate(warm), **kw)
    t0 = time.perf_counter()
    train_one_epoch(probe.model, probe.optimizer, train.images, train.labels, np.concatenate(timed), **kw)
    # every rank must plan the same schedule: the slowest rank's speed decides
    per_step, = reduce_max(info, (time.perf_counter() - t0) / len(timed))
    epochs = epochs_within(cfg.budget_minutes, per_step, steps)
    log.info("budget %.1f min: %.3f s/step, %d steps/epoch -> %d epochs", cfg.budget_minutes, per_step, steps, epochs)
    _echo(info.is_main, f"budget {cfg.budget_minutes:g} min at {per_step:.2f} s/step: {epochs} epochs")
    return epochs


def replan_budget(budget: Budget, epoch: int, cfg: TrainConfig, tr: Training, steps: int, reporter: "Reporter",
                  progress: Progress, run_dir: RunDir, info: DistInfo) -> None:
    """After `epoch`: the epochs that end the run at its budget (eac_core.budget), the slowest rank's
    plan on every rank; a new plan stretches the per-step schedule over the steps left and is written
    to config.json and progress.json at once."""
    planned = budget.after_epoch(epoch, cfg.epochs)
    planned = int(-reduce_max(info, -float(planned))[0])
    if planned == cfg.epochs:
        return
    log.info("budget %.1f min: after epoch %d at %.1fs, %d epochs instead of %d", cfg.budget_minutes, epoch,
             time.time() - budget.t0, planned, cfg.epochs)
    _echo(info.is_main, f"budget {cfg.budget_minutes:g} min after epoch {epoch} "
                        f"({time.time() - budget.t0:.0f} s): {planned} epochs")
    cfg.epochs = reporter.epochs = planned
    if tr.per_step:
        fit_schedule(tr.scheduler, (planned - epoch) * steps)
    if info.is_main:
        run_dir.write_config({**run_dir.read_config(), "epochs": planned})
    progress.update(epochs=planned)


def epochs_within(budget_minutes: float, seconds_per_step: float, steps_per_epoch: int) -> int:
    """Whole epochs (1..500) that fit the budget: each epoch's steps plus 10 % for evaluation and logging,
    and one epoch's worth kept for the final scoring pass."""
    epoch_s = max(seconds_per_step * steps_per_epoch * 1.1, 1e-9)
    return int(max(1, min(500, budget_minutes * 60 / epoch_s - 1)))


class Reporter:
    """Per-step progress of the training loop: progress.json fields (step, images/s, ETA) and the bar."""

    def __init__(self, progress: Progress, epochs: int, steps: int, world: int, enabled: bool):
        self.progress, self.epochs, self.steps, self.world, self.enabled = progress, epochs, steps, world, enabled
        self.t0 = time.perf_counter()
        self.done_steps, self.epoch, self.t_epoch, self.bar = 0, 0, self.t0, None
        self.delay = float(os.environ.get("EAC_TEST_STEP_DELAY", "0") or 0)   # test hook: slow steps down

    def begin_epoch(self, epoch: int) -> None:
        self.epoch, self.t_epoch = epoch, time.perf_counter()
        self.progress.update(phase="train", epoch=epoch, step=0)
        if self.enabled:
            from tqdm import tqdm
            self.bar = tqdm(total=self.steps, desc=f"epoch {epoch}/{self.epochs}", unit="step", file=sys.stderr,
                            leave=False, dynamic_ncols=True, mininterval=0.5)

    def on_step(self, step: int, steps: int, images: int) -> None:
        self.done_steps += 1
        now = time.perf_counter()
        rate = self.done_steps / max(now - self.t0, 1e-9)
        left = (self.epochs - self.epoch) * steps + (steps - step)
        self.progress.update(step=step, steps=steps, eta_sec=round(left / rate * 1.1, 1),
                             images_per_sec=round(images * self.world / max(now - self.t_epoch, 1e-9), 1))
        if self.bar is not None:
            self.bar.update(1)
        if self.delay:
            time.sleep(self.delay)
        faults.point("step", f"{self.epoch}.{step}")

    def epoch_seconds(self) -> float:
        return time.perf_counter() - self.t_epoch

    def end_epoch(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def summary_row(epoch: int, res, test_acc: float, lr: float, seconds: float, world: int) -> dict:
    """One summary.csv row (columns: RunDir's SUMMARY_COLUMNS)."""
    return {"epoch": epoch, "loss": res.loss, "ce_loss": res.ce_loss, "att_loss": res.att_loss,
            "cam_energy": res.cam_energy,
            "train_acc": res.train_acc, "train_acc_true": res.train_acc_true, "test_acc": test_acc, "lr": lr,
            "seconds": round(seconds, 3), "images_per_sec": round(res.images_per_sec * world, 1)}


def persist_epoch(run_dir: RunDir, train, classes: list[str], signals: dict, clean: dict | None,
                  summary: list[dict], ckpt: dict) -> None:
    """Everything an epoch leaves behind, each file atomically: history, summary, provisional scores,
    then the checkpoint last (a run resumes from the last epoch whose checkpoint was written)."""
    epoch, row = ckpt["epoch"], summary[-1]
    run_dir.write_history("epoch", epoch, signals)
    if clean is not None:
        run_dir.write_history("clean", epoch, clean)
    run_dir.write_summary(summary)
    write_scores(run_dir, train, classes, signals, provisional=True)
    faults.point("history-written", epoch)
    write_checkpoint(run_dir, ckpt)
    faults.point("checkpoint-renamed", epoch)
    log.info("epoch %d: loss %.4f (ce %.4f att %.5f) train_acc %.3f test_acc %.3f lr %.2e %.1fs", epoch,
             row["loss"], row["ce_loss"], row["att_loss"], row["train_acc"], row["test_acc"], row["lr"], row["seconds"])
    _echo(True, f"epoch {epoch}: loss {row['loss']:.3f} train_acc {row['train_acc']:.3f} "
                f"test_acc {row['test_acc']:.3f} ({row['seconds']:.1f}s)")


def checkpoint(tr: Training, cfg: TrainConfig, classes: list[str], epoch: int) -> dict:
    """The plain-dict checkpoint (loadable with weights_only=True)."""
    model = unwrap(tr.model)
    sd = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    return {"model": sd, "arch": cfg.arch, "layout": layout_of(model), "classes": list(classes), "num_classes": len(classes),
            "image_size": cfg.image_size, "preprocessing": tr.spec.to_dict(), "epoch": epoch,
            "optimizer": tr.optimizer.state_dict(), "scheduler": tr.scheduler.state_dict(), "rng": rng_state(),
            "config": cfg.to_dict()}


def write_scores(run_dir: RunDir, train, classes: list[str], signals: dict, provisional: bool) -> pd.DataFrame:
    """scores.parquet from one pass's signals plus the training dynamics in the history."""
    table = score_table(run_dir, train, classes, signals, provisional)
    run_dir.write_scores(table)
    return table


def score_table(run_dir: RunDir, train, classes: list[str], signals: dict, provisional: bool,
                knn_k: int | None = None) -> pd.DataFrame:
    """The scores table of one clean pass's signals and the run's training dynamics (knn_k: the kNN
    term's neighbour count, default knn_label_agreement's)."""
    extra = {col: run_dir.history_matrix(col)[1] for col in ("margin", "loss", "erased", "pred")}
    dyn = dynamics(extra["margin"], extra["loss"], extra["erased"], extra["pred"], train.labels)
    _, clean_margin = run_dir.history_matrix("clean_margin")
    if len(clean_margin):
        dyn["aum_clean"] = np.nanmean(clean_margin, 0)
    else:
        dyn["aum_clean"] = dyn.get("aum", np.full(len(train), np.nan))
    if "features" in signals:
        dyn["knn_p_label"] = knn_label_agreement(signals["features"], train.labels,
                                                 **({"k": knn_k} if knn_k else {}))
    return build_scores(train.frame, classes, train.labels, signals, dyn, provisional=provisional)


def write_embedding(run_dir: RunDir, sample_ids: list[str], features: np.ndarray, seed: int = 0) -> None:
    """embedding.parquet: the seeded 2-D map (eac_core.embedding.project_2d, UMAP) of the pooled clean-view
    features."""
    run_dir.write_embedding(embedding_table(sample_ids, project_2d(features, seed=seed)))


def _echo(enabled: bool, msg: str) -> None:
    if enabled:
        print(msg, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Entry point; every bad input exits non-zero with a one-line message."""
    args = build_parser().parse_args(argv)
    info = DistInfo()
    try:
        cfg, ckpt = prepare(args)
        device = resolve_device(cfg.device)
        info = init_from_env(device.type)
        if info.enabled and device.type == "cuda":
            device = torch.device("cuda", info.local_rank)
        if device.type == "cuda" and args.workers is None and not args.resume:
            cfg.workers = min(8, available_cores())          # keep the GPU fed
        cfg.threads = cfg.threads or max(1, available_cores() // (info.world if device.type == "cpu" else 1))
        torch.set_num_threads(cfg.threads)
        run_dir = RunDir(cfg.out)
        if info.is_main:
            run_dir.path.mkdir(parents=True, exist_ok=True)
        barrier(info)
        setup_logging(run_dir, info.is_main)
        if args.resume and ckpt is not None and int(ckpt["epoch"]) >= cfg.epochs and run_dir.is_finished():
            print(f"{run_dir.path}: already finished ({cfg.epochs} epochs); nothing to do", file=sys.stderr)
            return 0
        return run(cfg, ckpt, info, device)
    except TrainingFailed as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except (ConfigError, ManifestError, DataError, ValueError, FileNotFoundError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        print(f"error: {msg}", file=sys.stderr)
        run_dir = RunDir(args.out)
        if info.is_main and run_dir.path.is_dir() and not isinstance(e, RunExists):   # another run's: untouched
            run_dir.write_progress({"state": "failed", "error": msg, "phase": "setup", "pid": None,
                                        "updated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
        return 1
    finally:
        shutdown(info)


if __name__ == "__main__":
    STARTED = process_started()
    code = main()
    # every file is written and closed: skip the interpreter's teardown of torch (2-4 s under load on a
    # 2-core machine, after the run is done), which a --budget-minutes promise counts
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
