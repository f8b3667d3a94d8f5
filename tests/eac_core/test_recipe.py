"""eac_core.recipe: one config -> model, optimiser, schedule and augmentation (main run and folds alike)."""
from __future__ import annotations

import pytest
import torch

from eac_core.config import TrainConfig
from eac_core.recipe import build_training

CPU = torch.device("cpu")


def _cfg(**kw) -> TrainConfig:
    return TrainConfig(dataset="d", out="o", arch="compact", epochs=3, **kw)


def test_exp_schedule_steps_per_epoch_and_decays_the_rate():
    t = build_training(_cfg(optimizer="adam", lr=1e-3, lr_decay=0.5, schedule="exp"), 4, steps_per_epoch=10,
                       device=CPU)
    assert isinstance(t.optimizer, torch.optim.Adam) and not t.per_step and t.step_scheduler is None
    t.end_epoch()
    t.end_epoch()
    assert t.optimizer.param_groups[0]["lr"] == pytest.approx(1e-3 * 0.25)


def test_onecycle_steps_per_optimiser_step_over_the_whole_run():
    t = build_training(_cfg(optimizer="sgd", lr=0.1, momentum=0.9, weight_decay=5e-4, schedule="onecycle"), 4,
                       steps_per_epoch=10, device=CPU)
    opt = t.optimizer
    assert isinstance(opt, torch.optim.SGD) and t.per_step and t.step_scheduler is t.scheduler
    g = opt.param_groups[0]
    assert (g["nesterov"], g["weight_decay"]) == (True, 5e-4)      # momentum: OneCycle cycles it (0.95 first)
    assert t.scheduler.total_steps == 3 * 10
    before = g["lr"]
    t.end_epoch()                                   # per-step schedules ignore the epoch boundary
    assert g["lr"] == before
    assert build_training(_cfg(optimizer="sgd", momentum=0.0), 4, 10, CPU).optimizer.param_groups[0]["nesterov"] is False


def test_the_seed_fixes_the_initial_weights_and_the_augmentation_follows_the_config():
    cfg = _cfg(erase_p=0.7, hflip_p=0.25, crop_pad=4)
    a, b = build_training(cfg, 4, 10, CPU), build_training(cfg, 4, 10, CPU)
    c = build_training(cfg, 4, 10, CPU, seed=cfg.seed + 1)
    wa, wb, wc = (next(t.model.parameters()).detach() for t in (a, b, c))
    assert torch.equal(wa, wb) and not torch.equal(wa, wc)
    assert (a.aug.erase_p, a.aug.hflip_p, a.aug.crop_pad) == (0.7, 0.25, 4)
    assert a.spec.to_dict() == b.spec.to_dict()           # no pretrained weights: the default preprocessing
