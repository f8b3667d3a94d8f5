"""`python -m eac_core.train`: train with Erasing Attention Consistency on a dataset folder and write
the run directory (see rundir.py). A thin loop over engine.train_one_epoch / evaluate / score_clean.

In EAC mode both views (the erased image and its mirror) go through the network as ONE concatenated
batch, so BatchNorm sees both views at once (config `concat_views`)."""
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

from data_tools import atomic
from data_tools.manifest import ManifestError, load_dataset
from eac_core import rundir
from eac_core.config import ConfigError, TrainConfig, available_cores, build_parser, cuda_available, resolve
from eac_core.data import AugmentSpec, DataError, epoch_order, fixed_erasures, load_cached, make_splits
from eac_core.distributed import DistInfo, barrier, init_from_env, shutdown
from eac_core.engine import NonFiniteLoss, StepContext, Stopped, evaluate, score_clean, train_one_epoch, unwrap
from eac_core.models import build_model
from eac_core.pretrained import layout_of, load_pretrained
from eac_core.preprocess import Preprocessing
from eac_core.progress import Progress, StopFlag
from eac_core.scores import build_scores, dynamics

log = logging.getLogger("eac_core.train")


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


def setup_logging(out: Path, enabled: bool) -> None:
    log.setLevel(logging.INFO)
    log.handlers.clear()
    log.propagate = False
    if enabled:
        h = logging.FileHandler(out / rundir.LOG, encoding="utf-8")
        h.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(h)


def prepare(args) -> tuple[TrainConfig, dict | None]:
    """Config for this invocation (the saved one on --resume) and the checkpoint to resume from."""
    ds = load_dataset(args.dataset)
    out = Path(args.out)
    if args.resume and (out / rundir.CONFIG).is_file():
        saved = TrainConfig.from_dict(rundir.read_config(out))
        for k in ("epochs", "device", "workers", "threads"):
            if getattr(args, k) is not None:
                setattr(saved, k, getattr(args, k))
        saved.resume = True
        ckpt = rundir.read_checkpoint(out) if (out / rundir.CHECKPOINT).is_file() else None
        return saved, ckpt
    cfg = resolve(args, ds.info.format)
    if not args.resume and (out / rundir.CHECKPOINT).is_file():
        raise ConfigError(f"--out {out}: already holds a run (use --resume, or another --out)")
    return cfg, None


def run(cfg: TrainConfig, ckpt: dict | None, info: DistInfo, device: torch.device) -> int:
    """Train and score; returns the exit status. Setup errors propagate after the heartbeat stopped."""
    progress = Progress(Path(cfg.out), cfg.epochs, enabled=info.is_main).start()
    stop = StopFlag().install()
    try:
        return _run(cfg, ckpt, info, device, progress, stop)
    finally:
        progress.stop()
        stop.restore()


def _run(cfg: TrainConfig, ckpt: dict | None, info: DistInfo, device: torch.device, progress: Progress,
         stop: StopFlag) -> int:
    out = Path(cfg.out)
    main_rank = info.is_main
    ds = load_dataset(cfg.dataset)
    classes = ds.classes
    train, test = make_splits(ds, cfg.limit)
    cache = Path(cfg.cache_dir) if cfg.cache_dir else out / "cache"
    progress.update(phase="decode")
    t_start = time.perf_counter()
    if main_rank:
        train.images = load_cached(ds, train, cfg.image_size, cache, max(2, cfg.workers))
        if test is not None:
            test.images = load_cached(ds, test, cfg.image_size, cache, max(2, cfg.workers))
    barrier(info)
    if not main_rank:
        train.images = load_cached(ds, train, cfg.image_size, cache)
        if test is not None:
            test.images = load_cached(ds, test, cfg.image_size, cache)
    log.info("decoded %d train / %d eval images at %d px in %.1fs", len(train), len(test) if test else 0,
             cfg.image_size, time.perf_counter() - t_start)

    torch.manual_seed(cfg.seed)
    model = build_model(cfg.arch, len(classes))
    spec = load_pretrained(model, cfg.pretrained) if cfg.pretrained else Preprocessing()
    cfg.preprocessing = spec.to_dict()
    cuda = device.type == "cuda"
    model.to(device)
    if cuda:
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=cfg.lr_decay)
    start = 0
    if ckpt is not None:
        if ckpt.get("layout", "torchvision") != "torchvision":
            from eac_core.pretrained import apply_layout
            apply_layout(model, ckpt["layout"])
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        set_rng_state(ckpt["rng"])
        start = int(ckpt["epoch"])
    if main_rank:
        created = rundir.read_config(out).get("created_at") if cfg.resume else None
        atomic.write_json(out / rundir.CONFIG, {**cfg.to_dict(), "created_at": created or time.strftime("%Y-%m-%dT%H:%M:%S"),
                                                "world_size": info.world, "device_used": str(device),
                                                "classes": classes})
        rundir.truncate(out, start)
        rundir.write_sample_ids(out, train.sample_ids)
    net = model
    if info.enabled:
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[info.local_rank] if cuda else None)

    steps_per_epoch = -(-len(epoch_order(len(train), cfg.seed, 1, info.rank, info.world)) // cfg.batch_size)
    progress.update(steps=steps_per_epoch, epoch=start)
    t_train = [time.perf_counter(), 0]

    def on_step(step: int, steps: int, images: int) -> None:
        t_train[1] += 1
        rate = t_train[1] / max(time.perf_counter() - t_train[0], 1e-9)
        left = (cfg.epochs - epoch) * steps + (steps - step)
        progress.update(step=step, steps=steps, images_per_sec=round(images * info.world / max(
            time.perf_counter() - t_epoch, 1e-9), 1), eta_sec=round(left / rate * 1.1, 1))
        if bar is not None:
            bar.update(1)
        if step_delay:
            time.sleep(step_delay)

    step_delay = float(os.environ.get("EAC_TEST_STEP_DELAY", "0") or 0)   # test hook: slow steps down
    ctx = StepContext(device=device, spec=spec, dist=info, amp=cuda, channels_last=cuda, workers=cfg.workers,
                      should_stop=stop, on_step=on_step)
    aug = AugmentSpec(cfg.erase_p, tuple(cfg.erase_scale), tuple(cfg.erase_ratio), cfg.gauss_noise_std,
                      cfg.gauss_noise_p, cfg.flip_order)
    erasures = fixed_erasures(len(train), cfg.image_size, cfg.image_size, cfg.erase_repeats, cfg.seed)
    summary = rundir.read_summary(out).to_dict("records") if main_rank and start else []
    test_labels = None
    if test is not None:
        test_labels = np.where(test.true_labels >= 0, test.true_labels, test.labels) if test.true_labels is not None \
            else test.labels
    bar = None
    epoch = start
    try:
        for epoch in range(start + 1, cfg.epochs + 1):
            t_epoch = time.perf_counter()
            progress.update(phase="train", epoch=epoch, step=0)
            bar = _bar(main_rank, steps_per_epoch, f"epoch {epoch}/{cfg.epochs}")
            order = epoch_order(len(train), cfg.seed, epoch, info.rank, info.world)
            res = train_one_epoch(net, optimizer, train.images, train.labels, order, epoch=epoch, seed=cfg.seed,
                                  batch_size=cfg.batch_size, mode=cfg.mode, lam=cfg.lam, lam_warmup=cfg.lam_warmup, aug=aug, ctx=ctx,
                                  true_labels=train.true_labels)
            if bar is not None:
                bar.close()
            lr = optimizer.param_groups[0]["lr"]
            scheduler.step()
            progress.update(phase="evaluate")
            test_acc = evaluate(net, test.images, test_labels, batch_size=cfg.batch_size, ctx=ctx) \
                if test is not None else float("nan")
            clean = None
            if cfg.score_every and epoch % cfg.score_every == 0 and epoch < cfg.epochs:
                progress.update(phase="score")
                clean = score_clean(net, train.images, train.labels, batch_size=cfg.batch_size, ctx=ctx,
                                    erasures=erasures)
            seconds = time.perf_counter() - t_epoch
            if main_rank:
                rundir.write_history(out, "epoch", epoch, res.signals)
                if clean is not None:
                    rundir.write_history(out, "clean", epoch, clean)
                summary.append({"epoch": epoch, "loss": res.loss, "ce_loss": res.ce_loss, "att_loss": res.att_loss,
                                "train_acc": res.train_acc, "train_acc_true": res.train_acc_true,
                                "test_acc": test_acc, "lr": lr, "seconds": round(seconds, 3),
                                "images_per_sec": round(res.images_per_sec * info.world, 1)})
                rundir.write_summary(out, summary)
                write_scores(out, train, classes, res.signals, provisional=True)
                rundir.write_checkpoint(out, checkpoint(model, optimizer, scheduler, cfg, classes, spec, epoch))
                log.info("epoch %d: loss %.4f (ce %.4f att %.5f) train_acc %.3f test_acc %.3f lr %.2e %.1fs",
                         epoch, res.loss, res.ce_loss, res.att_loss, res.train_acc, test_acc, lr, seconds)
                _echo(main_rank, f"epoch {epoch}: loss {res.loss:.3f} train_acc {res.train_acc:.3f} "
                                 f"test_acc {test_acc:.3f} ({seconds:.1f}s)")
        progress.update(phase="score", step=0)
        if start >= cfg.epochs and main_rank and rundir.is_finished(out):
            progress.close(state="done", phase="done")
            return 0
        clean = score_clean(net, train.images, train.labels, batch_size=cfg.batch_size, ctx=ctx, erasures=erasures)
        if main_rank:
            rundir.write_history(out, "clean", cfg.epochs, clean)
            write_scores(out, train, classes, clean, provisional=False)
            write_embedding(out, train.sample_ids, clean["features"])
        if cfg.folds:
            from eac_core.folds import run_folds
            progress.update(phase="folds")
            run_folds(cfg, train, classes, spec, ctx, out if main_rank else None, progress)
    except NonFiniteLoss as e:
        log.error(str(e))
        progress.close(state="failed", error=str(e), phase="failed")
        _echo(main_rank, f"error: {e}")
        return 1
    except Stopped as e:
        log.info(str(e))
        progress.close(state="stopped", phase="stopped", error=None)
        _echo(main_rank, f"stopped (signal {stop.signum}); resume with --resume")
        return 0
    except Exception as e:
        log.exception("training failed")
        msg = f"{type(e).__name__}: {e}".splitlines()[0]
        progress.close(state="failed", error=msg, phase="failed")
        raise TrainingFailed(f"{msg} (traceback in {out / rundir.LOG})") from e
    finally:
        if bar is not None:
            bar.close()
    log.info("done in %.1fs", time.perf_counter() - t_start)
    progress.close(state="done", phase="done", eta_sec=0.0, step=steps_per_epoch, epoch=cfg.epochs)
    return 0


def checkpoint(model, optimizer, scheduler, cfg: TrainConfig, classes: list[str], spec: Preprocessing,
               epoch: int) -> dict:
    """The plain-dict checkpoint (loadable with weights_only=True)."""
    sd = {k: v.detach().cpu() for k, v in unwrap(model).state_dict().items()}
    return {"model": sd, "arch": cfg.arch, "layout": layout_of(unwrap(model)), "classes": list(classes), "num_classes": len(classes),
            "image_size": cfg.image_size, "preprocessing": spec.to_dict(), "epoch": epoch,
            "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "rng": rng_state(),
            "config": cfg.to_dict()}


def write_scores(out: Path, train, classes: list[str], signals: dict, provisional: bool) -> pd.DataFrame:
    """scores.parquet from one pass's signals plus the training dynamics in the history."""
    extra = {}
    for col in ("margin", "loss", "erased", "pred"):
        extra[col] = rundir.history_matrix(out, col)[1]
    dyn = dynamics(extra["margin"], extra["loss"], extra["erased"], extra["pred"], train.labels)
    _, clean_margin = rundir.history_matrix(out, "clean_margin")
    if len(clean_margin):
        dyn["aum_clean"] = np.nanmean(clean_margin, 0)
    else:
        dyn["aum_clean"] = dyn.get("aum", np.full(len(train), np.nan))
    table = build_scores(train.frame, classes, train.labels, signals, dyn, provisional=provisional)
    atomic.write_parquet(out / rundir.SCORES, table)
    return table


def write_embedding(out: Path, sample_ids: list[str], features: np.ndarray) -> None:
    """embedding.parquet: 2-D PCA of the pooled clean-view features."""
    from sklearn.decomposition import PCA
    f = np.nan_to_num(np.asarray(features, dtype=np.float64))
    xy = PCA(n_components=2, random_state=0).fit_transform(f) if len(f) >= 2 else np.zeros((len(f), 2))
    atomic.write_parquet(out / rundir.EMBEDDING, pd.DataFrame({"sample_id": sample_ids, "x": xy[:, 0].astype("float32"),
                                                              "y": xy[:, 1].astype("float32")}))


def _bar(enabled: bool, total: int, desc: str):
    if not enabled:
        return None
    from tqdm import tqdm
    return tqdm(total=total, desc=desc, unit="step", file=sys.stderr, leave=False, dynamic_ncols=True,
                mininterval=0.5)


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
        out = Path(cfg.out)
        if info.is_main:
            out.mkdir(parents=True, exist_ok=True)
        barrier(info)
        setup_logging(out, info.is_main)
        if args.resume and ckpt is not None and int(ckpt["epoch"]) >= cfg.epochs and rundir.is_finished(out):
            print(f"{out}: already finished ({cfg.epochs} epochs); nothing to do", file=sys.stderr)
            return 0
        return run(cfg, ckpt, info, device)
    except TrainingFailed as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except (ConfigError, ManifestError, DataError, ValueError, FileNotFoundError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        print(f"error: {msg}", file=sys.stderr)
        out = Path(args.out)
        if info.is_main and out.is_dir():
            rundir.write_progress(out, {"state": "failed", "error": msg, "phase": "setup", "pid": None,
                                        "updated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
        return 1
    finally:
        shutdown(info)


if __name__ == "__main__":
    sys.exit(main())
