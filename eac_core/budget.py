"""`--budget-minutes` as a promise (issue 24 item 1): the whole command, from its process's start
(Python's start-up and imports included; progress.json's `elapsed_sec` starts a little later, at the
trainer's setup) to the scores, the map and its exit, ends within ±10 % of the budget, under load too. The first plan comes from a few timed steps (`train.epochs_for_budget`); after every epoch the
epochs still to train are planned again from what the recent epochs really took (training, evaluation,
writing the epoch) and a reserve for the final scoring pass, so a slower machine (or one that gets
busier) trains fewer epochs and a faster one more. The learning-rate schedule follows: a per-step
schedule (OneCycle, cosine) is stretched or shrunk over the steps left, keeping the point of the curve
it has reached (`fit_schedule`), so the rate stays continuous and still anneals to its end.

The map's UMAP compiles its numba kernels the first time it runs in a process (20–30 s on a 2-core
machine, whatever the size); `warm_embedding` does that while calibrating, on 64 random points, so the
compile is inside the measured time and the final map takes seconds."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch

SLACK = 0.03              # a projected end within ±3 % of the budget keeps the plan
RECENT = 3                # epochs whose mean predicts the next ones (load changes)
SCORE_EPOCHS = 1.75       # the final clean-view pass, the score table and the map, in epochs (1.3-1.8 on CK+48)
MAX_EPOCHS = 500


def warm_embedding() -> float:
    """Compile the embedding's kernels now (a map of 64 random points); returns the seconds it took."""
    from eac_core.embedding import project_2d
    t0 = time.perf_counter()
    project_2d(np.random.default_rng(0).normal(size=(64, 16)).astype(np.float32), seed=0)
    return time.perf_counter() - t0


def replan(budget_s: float, elapsed_s: float, done: int, epochs: int, epoch_s: float) -> int:
    """Total epochs so that the run ends closest to `budget_s`: `done` epochs trained after `elapsed_s`
    seconds, each further epoch `epoch_s`, then the final pass (SCORE_EPOCHS epochs). The plan stays
    when its projected end is within ±SLACK of the budget; never fewer than `done` (a run already past
    its budget scores now), never more than MAX_EPOCHS."""
    epoch_s = max(epoch_s, 1e-9)
    projected = elapsed_s + (epochs - done + SCORE_EPOCHS) * epoch_s
    if abs(projected - budget_s) <= SLACK * budget_s:
        return epochs
    more = math.floor((budget_s - elapsed_s) / epoch_s - SCORE_EPOCHS + 0.5)
    return int(min(MAX_EPOCHS, max(done, done + more)))


@dataclass
class Budget:
    """The deadline of one run and the measured cost of its epochs. `t0` is the trainer's start
    (time.time(), as progress.json's elapsed_sec)."""
    minutes: float
    t0: float
    _last: float = 0.0
    _epoch_s: list[float] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return self.minutes * 60

    def start(self) -> None:
        """The epochs begin now (after the decoding, the calibration and the setup)."""
        self._last = time.time()

    def after_epoch(self, done: int, epochs: int) -> int:
        """The epochs to train in total, planned again after epoch `done` (see `replan`)."""
        now = time.time()
        self._epoch_s.append(now - self._last)
        self._last = now
        recent = self._epoch_s[-RECENT:]
        return replan(self.seconds, now - self.t0, done, epochs, sum(recent) / len(recent))


def _stretched_total(done: int, total: int, steps_left: int) -> int:
    """The schedule length that keeps the fraction done (to a step) and leaves `steps_left` steps."""
    new_total = max(1, done + steps_left if total <= done else round(steps_left * total / (total - done)))
    return max(new_total, steps_left)


def fit_schedule(scheduler: torch.optim.lr_scheduler.LRScheduler, steps_left: int) -> bool:
    """Stretch or shrink a per-step schedule so that it ends after `steps_left` more steps, from the
    point of its curve it has reached (the fraction done kept, to a step): OneCycle and cosine. Other
    schedules (per epoch, ×0.9) do not depend on the total and are left alone. Returns whether the
    schedule was changed. The optimiser's rate is set to the new schedule's value at the new step."""
    steps_left = max(0, int(steps_left))
    if isinstance(scheduler, torch.optim.lr_scheduler.OneCycleLR):
        done, total = scheduler.last_epoch, scheduler.total_steps
        if total - done == steps_left:
            return False
        new_total = _stretched_total(done, total, steps_left)
        phases = scheduler._schedule_phases                      # end_step = float(pct * total) - 1, ..., total - 1
        for ph in phases[:-1]:
            ph["end_step"] = (ph["end_step"] + 1) / total * new_total - 1
        phases[-1]["end_step"] = new_total - 1
        scheduler.total_steps = new_total
        scheduler.last_epoch = new_total - steps_left
    elif isinstance(scheduler, torch.optim.lr_scheduler.CosineAnnealingLR):
        done, total = scheduler.last_epoch, scheduler.T_max
        if total - done == steps_left:
            return False
        new_total = _stretched_total(done, total, steps_left)
        scheduler.T_max = new_total
        scheduler.last_epoch = new_total - steps_left
        eta_min = scheduler.eta_min
        lrs = [eta_min + (base - eta_min) * (1 + math.cos(math.pi * scheduler.last_epoch / new_total)) / 2
               for base in scheduler.base_lrs]
        for group, lr in zip(scheduler.optimizer.param_groups, lrs):
            group["lr"] = lr
        scheduler._last_lr = lrs
        return True
    else:
        return False
    with torch.optim.lr_scheduler._enable_get_lr_call(scheduler) if hasattr(
            torch.optim.lr_scheduler, "_enable_get_lr_call") else _nullcontext():
        lrs = scheduler.get_lr()
    for group, lr in zip(scheduler.optimizer.param_groups, lrs):
        group["lr"] = lr
    scheduler._last_lr = lrs
    return True


class _nullcontext:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
