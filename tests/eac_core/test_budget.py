"""eac_core.budget: re-planning the epochs of a --budget-minutes run from the measured epochs, and
stretching a per-step schedule over the steps left (issue 24 item 1: 'Epoch 83/16', +22 % over budget)."""
from __future__ import annotations

import math
import warnings

import pytest
import torch

from eac_core.budget import MAX_EPOCHS, SCORE_EPOCHS, SLACK, fit_schedule, replan


def test_replan_keeps_a_plan_that_ends_on_time():
    # 10 s spent, 5 epochs done of 10, 10 s each: 10 + (5 + 1.5) * 10 = 75 s for a 75 s budget
    assert replan(75, 10, 5, 10, 10.0) == 10
    assert replan(75 * (1 + SLACK * 0.9), 10, 5, 10, 10.0) == 10        # within the slack: no change


def test_replan_trains_fewer_epochs_when_they_take_longer():
    # 240 s budget, epoch 1 took 6 s after 10 s of setup, planned 83: (240 - 16) / 6 - 1.75 = 35.6 -> 1 + 36
    assert replan(240, 16, 1, 83, 6.0) == 37
    end = 16 + (37 - 1 + SCORE_EPOCHS) * 6.0
    assert abs(end - 240) <= 6.0 / 2                                     # within half an epoch of the budget


def test_replan_trains_more_epochs_when_they_are_faster():
    assert replan(240, 16, 1, 10, 2.0) == 1 + math.floor((240 - 16) / 2.0 - SCORE_EPOCHS + 0.5)


def test_replan_past_the_budget_stops_now_and_never_exceeds_the_cap():
    assert replan(60, 70, 3, 10, 5.0) == 3
    assert replan(1e6, 1, 1, 10, 0.01) == MAX_EPOCHS


def _stepped(kind: str, total: int, done: int):
    m = torch.nn.Linear(2, 2)
    opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    s = (torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=total) if kind == "onecycle"
         else torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total))
    for _ in range(done):
        opt.step()
        s.step()
    return opt, s


@pytest.mark.parametrize("kind", ["onecycle", "cosine"])
@pytest.mark.parametrize("left", [20, 70, 140, 700])
def test_fit_schedule_keeps_the_rate_and_ends_after_the_steps_left(kind, left):
    """The rate stays where it was (to one step of the old or the new curve: the point reached is kept to
    a step) and the schedule anneals to its end after exactly `left` more steps, as one planned for
    that many would."""
    opt, s = _stepped(kind, 100, 30)
    before = opt.param_groups[0]["lr"]
    old_step = abs(before - _stepped(kind, 100, 31)[0].param_groups[0]["lr"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fit_schedule(s, left) == (left != 70)
    after = opt.param_groups[0]["lr"]
    lrs = []
    for _ in range(left):
        opt.step()
        s.step()
        lrs.append(opt.param_groups[0]["lr"])
    assert abs(after - before) <= max(old_step, abs(lrs[0] - after)) + 1e-12
    assert lrs[-1] < 0.01 * 0.1                                          # annealed
    assert all(a >= b - 1e-12 for a, b in zip(lrs[:-1], lrs[1:-1]))      # past the peak: only down
    with pytest.raises(ValueError) if kind == "onecycle" else warnings.catch_warnings():
        opt.step()
        s.step()                                                          # OneCycle refuses a step past its end


def test_fit_schedule_leaves_a_per_epoch_schedule_alone():
    m = torch.nn.Linear(2, 2)
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    s = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.9)
    s.step()
    assert fit_schedule(s, 50) is False and opt.param_groups[0]["lr"] == pytest.approx(9e-4)
