"""`--folds K`: out-of-sample class probabilities by K-fold cross-validation (cleanlab's classic
setting): K models with the run's mode, backbone and epochs, each trained on K-1 folds and scoring the
held-out fold. Adds `oos_` columns to scores.parquet."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from data_tools.rundir import OOS_PROB, RunDir, prob_columns
from eac_core.config import TrainConfig
from eac_core.data import Split, epoch_order
from eac_core.distributed import ddp
from eac_core.engine import Objective, StepContext, score_clean, train_one_epoch
from eac_core.probabilities import normalize
from eac_core.recipe import build_training
from eac_core.preprocess import Preprocessing


def fold_ids(labels: np.ndarray, k: int, seed: int) -> np.ndarray:
    """(N,) fold of each sample, stratified by label when every class has at least k samples."""
    from sklearn.model_selection import KFold, StratifiedKFold
    counts = np.bincount(labels)
    splitter = (StratifiedKFold(k, shuffle=True, random_state=seed) if counts[counts > 0].min() >= k
                else KFold(k, shuffle=True, random_state=seed))
    out = np.empty(len(labels), dtype=np.int64)
    for f, (_, held) in enumerate(splitter.split(np.zeros(len(labels)), labels)):
        out[held] = f
    return out


def oos_probabilities(cfg: TrainConfig, images: np.ndarray, labels: np.ndarray, num_classes: int,
                      spec: Preprocessing, ctx: StepContext, progress=None,
                      classes: list[str] | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """(probs (N, K) out of sample, fold ids (N,)); None on ranks other than 0. `classes`: the dataset's,
    so that pretrained weights keep their head only for the same classes (recipe.build_training)."""
    folds = fold_ids(labels, cfg.folds, cfg.seed)
    probs = np.full((len(labels), num_classes), np.nan, dtype=np.float32)
    info = ctx.dist
    for f in range(cfg.folds):
        tr, held = np.flatnonzero(folds != f), np.flatnonzero(folds == f)
        steps = -(-len(epoch_order(len(tr), cfg.seed, 1, info.rank, info.world)) // cfg.batch_size)
        t = build_training(cfg, num_classes, steps, ctx.device, seed=cfg.seed + 1000 * (f + 1), classes=classes)
        net = ddp(t.model, info, ctx.device)
        x_tr, y_tr = images[tr], labels[tr]
        for epoch in range(1, cfg.epochs + 1):
            order = epoch_order(len(tr), cfg.seed + 7919 * (f + 1), epoch, info.rank, info.world)
            if progress is not None:  # a fold trains on fewer rows than the main run: its own step count
                progress.update(phase=f"folds {f + 1}/{cfg.folds}", epoch=epoch, step=0,
                                steps=-(-len(order) // cfg.batch_size))
            train_one_epoch(net, t.optimizer, x_tr, y_tr, order, epoch=epoch, seed=cfg.seed + 7919 * (f + 1),
                            batch_size=cfg.batch_size, objective=Objective.from_config(cfg), aug=t.aug,
                            ctx=ctx, step_scheduler=t.step_scheduler)
            t.end_epoch()
        res = score_clean(net, images[held], labels[held], batch_size=cfg.batch_size, ctx=ctx)
        if res is not None:
            probs[held] = res["probs"]
    return (probs, folds) if info.is_main else None


def oos_columns(probs: np.ndarray, folds: np.ndarray, labels: np.ndarray, classes: list[str]) -> pd.DataFrame:
    """oos_prob_<class>, oos_pred, oos_p_label, oos_self_confidence (1 - quality: higher = more
    suspicious), oos_label_issue (cleanlab.filter.find_label_issues) and oos_fold."""
    from cleanlab.filter import find_label_issues
    from eac_core.scores import cleanlab_suspicion
    p = normalize(probs)
    cols = {col: probs[:, k] for k, col in enumerate(prob_columns(classes, OOS_PROB))}
    cols["oos_pred"] = [classes[i] for i in p.argmax(1)]
    cols["oos_p_label"] = p[np.arange(len(labels)), labels].astype(np.float32)
    cols["oos_self_confidence"] = cleanlab_suspicion(labels, probs, "self_confidence").astype(np.float32)
    try:
        cols["oos_label_issue"] = find_label_issues(labels, p, filter_by="prune_by_noise_rate", n_jobs=1)
    except (ValueError, IndexError):       # too few samples per class for cleanlab's estimate
        cols["oos_label_issue"] = cols["oos_self_confidence"] > 0.5
    cols["oos_fold"] = folds
    return pd.DataFrame(cols)


def run_folds(cfg: TrainConfig, train: Split, classes: list[str], spec: Preprocessing, ctx: StepContext,
              out: Path | None, progress=None) -> None:
    """Compute the out-of-sample columns and add them to scores.parquet (rank 0 writes)."""
    res = oos_probabilities(cfg, train.images, train.labels, len(classes), spec, ctx, progress, classes=classes)
    if res is None or out is None:
        return
    table = RunDir(out).read_scores()
    extra = oos_columns(res[0], res[1], train.labels, classes)
    table = pd.concat([table.drop(columns=[c for c in extra.columns if c in table.columns]), extra], axis=1)
    RunDir(out).write_scores(table)
