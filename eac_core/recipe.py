"""The training recipe of a config, in one place for the main run and the K-fold models: the model
(with pretrained weights and their preprocessing), the augmentation, the optimiser and the learning-rate
schedule (per epoch for `exp`, per optimiser step for `onecycle` and `cosine`)."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from eac_core.config import TrainConfig
from eac_core.data import AugmentSpec
from eac_core.models import build_model, scaled_widths
from eac_core.preprocess import Preprocessing
from eac_core.pretrained import load_pretrained


@dataclass
class Training:
    """What one model's training needs, built from the config."""
    model: nn.Module
    spec: Preprocessing
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    per_step: bool                     # scheduler.step() after every optimiser step (else after every epoch)
    aug: AugmentSpec

    @property
    def step_scheduler(self) -> torch.optim.lr_scheduler.LRScheduler | None:
        return self.scheduler if self.per_step else None

    def end_epoch(self) -> None:
        if not self.per_step:
            self.scheduler.step()


def augment_spec(cfg: TrainConfig) -> AugmentSpec:
    return AugmentSpec(cfg.erase_p, tuple(cfg.erase_scale), tuple(cfg.erase_ratio), cfg.gauss_noise_std,
                       cfg.gauss_noise_p, cfg.flip_order, cfg.crop_pad, cfg.hflip_p)


def build_training(cfg: TrainConfig, num_classes: int, steps_per_epoch: int, device: torch.device,
                   *, seed: int | None = None, classes: list[str] | None = None) -> Training:
    """Model (seeded with `seed`, default cfg.seed; pretrained weights loaded, their head kept only for the
    same `classes`), optimiser and schedule."""
    torch.manual_seed(cfg.seed if seed is None else seed)
    model = build_model(cfg.arch, num_classes, widths=scaled_widths(cfg.arch, cfg.width), dropout=cfg.dropout,
                        neck=cfg.neck)
    spec = load_pretrained(model, cfg.pretrained, classes=classes) if cfg.pretrained else Preprocessing()
    model.to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    if cfg.optimizer == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.momentum > 0,
                              weight_decay=cfg.weight_decay)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    total = max(1, cfg.epochs * steps_per_epoch)
    if cfg.schedule == "onecycle":
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=total)
    elif cfg.schedule == "cosine":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total)
    else:
        sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=cfg.lr_decay)
    return Training(model, spec, opt, sched, cfg.schedule != "exp", augment_spec(cfg))
