"""One epoch of EAC (or plain CE) training, evaluation, and the clean-view scoring pass.
Every pass returns per-sample signals keyed by the sample's index in its split."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from eac_core.cam import (attention_consistency_loss, compute_cams, flip_consistency,
                          flip_consistency_of_difference)
from eac_core.data import AugmentSpec, apply_erase, batches, epoch_generator, iterate_uint8, make_views, normalise
from eac_core.distributed import DistInfo, any_flag, gather_by_index
from eac_core.preprocess import Preprocessing


class NonFiniteLoss(RuntimeError):
    """The loss became NaN or infinite; the message names epoch and step."""


class Stopped(RuntimeError):
    """Training was asked to stop (SIGTERM / SIGINT)."""


def unwrap(model: nn.Module) -> nn.Module:
    """The CamNet inside a DistributedDataParallel wrapper (or the model itself)."""
    return model.module if hasattr(model, "module") else model


def margins(logits: Tensor, labels: Tensor) -> Tensor:
    """Logit of the given class minus the largest other logit, (N,) (the AUM margin)."""
    given = logits.gather(1, labels[:, None]).squeeze(1)
    other = logits.scatter(1, labels[:, None], float("-inf")).amax(1)
    return given - other


@dataclass(frozen=True)
class Objective:
    """What a training step minimises: plain CE (`mode` ce) or EAC's CE on view 1 + lam * L_att.
    `lam_warmup` > 0 ramps lambda linearly from 0 over that many epochs (0: the paper's constant);
    `att_form` is L_att's form (cam.ATT_FORMS: `paper`, the mean squared CAM difference; `relative`, the
    same over the maps' energy); `views` `concat` sends both views through the network as one batch
    (BatchNorm sees both), `separate` as two forward passes (the authors' code); `label_smoothing`
    softens the CE that trains (the logged per-sample loss stays plain)."""
    mode: str = "eac"
    lam: float = 5.0
    lam_warmup: float = 0.0
    att_form: str = "paper"
    views: str = "concat"
    label_smoothing: float = 0.0

    @property
    def two_views(self) -> bool:
        return self.mode == "eac"

    def lam_at(self, epoch: int, step: int, steps: int) -> float:
        """Lambda at `step` (1-based) of `steps` in `epoch` (1-based), after the warm-up ramp."""
        if self.lam_warmup <= 0:
            return self.lam
        return self.lam * min(1.0, (epoch - 1 + (step - 1) / steps) / self.lam_warmup)

    @classmethod
    def from_config(cls, cfg) -> "Objective":
        return cls(cfg.mode, cfg.lam, cfg.lam_warmup, cfg.att_form, cfg.views, cfg.label_smoothing)


@dataclass
class EacLoss:
    """Loss terms of one step: total, CE, attention consistency, the CAM energy (mean M1^2 over
    (n, k, i, j); NaN in CE mode) and per-sample signals (detached)."""
    total: Tensor
    ce: Tensor
    att: Tensor
    ce_per_sample: Tensor
    flip_consistency: Tensor     # (N,) NaN in CE mode
    cam_energy: Tensor


def eac_loss(logits1: Tensor, feats1: Tensor, feats2: Tensor | None, weight: Tensor, labels: Tensor,
             lam: float, *, per_sample: bool = True, label_smoothing: float = 0.0, att_form: str = "paper") -> EacLoss:
    """EAC's imbalanced loss: CE on view 1 only + lam * L_att(M1, flip(M2)) (cam.attention_consistency_loss,
    form `att_form`), with CAMs from the classifier weight DETACHED (L_att trains the backbone only).
    feats2=None -> plain CE. `label_smoothing` softens the CE that trains; `ce_per_sample` (what is
    logged) stays the plain CE."""
    ce_per = F.cross_entropy(logits1.float(), labels, reduction="none")
    ce = (F.cross_entropy(logits1.float(), labels, label_smoothing=label_smoothing) if label_smoothing
          else ce_per.mean())
    if feats2 is None:
        nan = torch.full_like(ce_per, float("nan"))
        return EacLoss(ce, ce, torch.zeros_like(ce), ce_per.detach(), nan, torch.full_like(ce, float("nan")))
    w = weight.detach().float()
    m1, m2 = compute_cams(feats1.float(), w), compute_cams(feats2.float(), w)
    att = attention_consistency_loss(m1, m2, att_form)
    fc = flip_consistency(m1.detach(), m2.detach()) if per_sample else torch.full_like(ce_per, float("nan"))
    return EacLoss(ce + lam * att, ce, att, ce_per.detach(), fc, m1.detach().pow(2).mean())


@dataclass
class EpochResult:
    """Epoch means (over this process's steps) and the per-sample signals gathered on rank 0."""
    loss: float = 0.0
    ce_loss: float = 0.0
    att_loss: float = 0.0
    cam_energy: float = float("nan")
    train_acc: float = float("nan")
    train_acc_true: float = float("nan")
    images: int = 0
    seconds: float = 0.0
    signals: dict[str, np.ndarray] | None = field(default=None, repr=False)

    @property
    def images_per_sec(self) -> float:
        return self.images / self.seconds if self.seconds > 0 else 0.0


@dataclass
class StepContext:
    """What a pass needs besides the model: device, precision, preprocessing, process group."""
    device: torch.device
    spec: Preprocessing
    dist: DistInfo = field(default_factory=DistInfo)
    amp: bool = False               # bf16 autocast (CUDA)
    channels_last: bool = False
    workers: int = 0
    should_stop: Callable[[], bool] = lambda: False
    on_step: Callable[[int, int, int], None] = lambda step, steps, images: None

    def autocast(self):
        return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16, enabled=self.amp)


def train_one_epoch(model: nn.Module, optimizer: torch.optim.Optimizer, images: np.ndarray, labels: np.ndarray,
                    order: np.ndarray, *, epoch: int, seed: int, batch_size: int, objective: Objective,
                    aug: AugmentSpec, ctx: StepContext, true_labels: np.ndarray | None = None,
                    log_signals: bool = True,
                    step_scheduler: torch.optim.lr_scheduler.LRScheduler | None = None) -> EpochResult:
    """Train over `order` (this rank's indices) on `objective`; returns means and per-sample signals (loss,
    p_label, margin, pred, flip_consistency, erased, flip_agree, probs (N, K)) gathered by index on rank 0.
    `log_signals=False` skips the per-sample signals (signals None): what the logging-cost benchmark compares.
    `step_scheduler` (OneCycle, cosine) is stepped after every optimiser step."""
    model.train()
    two = objective.two_views
    head = unwrap(model).fc
    y_all = torch.from_numpy(labels)
    blist = batches(order, batch_size)
    steps, t0, seen = len(blist), time.perf_counter(), 0
    sums = torch.zeros(4, dtype=torch.float64)          # loss, CE, att, CAM energy (per-sample weighted)
    collected: list[tuple[Tensor, ...]] = []
    for step, (xb, idx) in enumerate(iterate_uint8(images, blist, ctx.workers, pin=ctx.device.type == "cuda"),
                                     start=1):
        gen = epoch_generator(seed, epoch, stream=1000 + step)
        y = y_all[idx].to(ctx.device, non_blocking=True)
        v1, v2, erased = make_views(xb, ctx.spec, aug, gen, ctx.device, two, ctx.channels_last)
        n = v1.shape[0]
        with ctx.autocast():
            if two and objective.views == "separate":
                # two forward passes: BatchNorm normalises each view by its own batch statistics. The second
                # goes through the bare module (its gradients join the same backward, so DDP still reduces once)
                logits, feats = model(v1)
                logits2, feats2 = unwrap(model)(v2)
                logits, feats = torch.cat([logits, logits2]), torch.cat([feats, feats2])
            else:
                logits, feats = model(torch.cat([v1, v2]) if two else v1)
        out = eac_loss(logits[:n], feats[:n], feats[n:] if two else None, head.weight, y,
                       objective.lam_at(epoch, step, steps), per_sample=log_signals,
                       label_smoothing=objective.label_smoothing, att_form=objective.att_form)
        optimizer.zero_grad(set_to_none=True)
        lv = out.total.detach().float()
        nonfinite, stop = any_flag(ctx.dist, not bool(torch.isfinite(lv)), ctx.should_stop(), device=ctx.device)
        if nonfinite:
            raise NonFiniteLoss(f"non-finite loss at epoch {epoch} step {step}")
        if stop:
            raise Stopped(f"stopped at epoch {epoch} step {step}")
        out.total.backward()
        optimizer.step()
        if step_scheduler is not None:
            step_scheduler.step()
        with torch.no_grad():
            sums += torch.stack([lv, out.ce.detach().float(), out.att.detach().float(),
                                 out.cam_energy.float()]).cpu().double() * n
            if log_signals:
                lg = logits[:n].detach().float()
                p = lg.softmax(1)
                agree = ((lg.argmax(1) == logits[n:].detach().float().argmax(1)).float() if two
                         else torch.full_like(out.ce_per_sample, float("nan")))
                collected.append((idx, out.ce_per_sample, p.gather(1, y[:, None]).squeeze(1), margins(lg, y),
                                  lg.argmax(1).float(), out.flip_consistency, erased.float().to(lg.device), agree,
                                  p))
        seen += n
        ctx.on_step(step, steps, seen)
    seconds = time.perf_counter() - t0
    res = EpochResult(*(sums / max(seen, 1)).tolist(), images=seen, seconds=seconds)
    res.loss = res.ce_loss + objective.lam * res.att_loss if two else res.ce_loss   # the objective at full lambda
    if not log_signals:
        return res
    names = ("loss", "p_label", "margin", "pred", "flip_consistency", "erased", "flip_agree", "probs")
    index = torch.cat([c[0] for c in collected]).numpy()
    arrays = {k: torch.cat([c[i + 1].cpu() for c in collected]).float().numpy() for i, k in enumerate(names)}
    res.signals = gather_by_index(ctx.dist, len(labels), index, arrays)
    if res.signals is not None:
        pred = res.signals["pred"]
        res.train_acc = float(np.nanmean(pred == labels)) if len(labels) else float("nan")
        if true_labels is not None and (true_labels >= 0).any():
            known = true_labels >= 0
            res.train_acc_true = float(np.mean(pred[known] == true_labels[known]))
    return res


@torch.no_grad()
def _forward_batches(model: nn.Module, images: np.ndarray, index: np.ndarray, batch_size: int, ctx: StepContext,
                     fn: Callable[[Tensor, Tensor], dict[str, Tensor]]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    outs: list[dict[str, Tensor]] = []
    for xb, idx in iterate_uint8(images, batches(index, batch_size), ctx.workers, pin=ctx.device.type == "cuda"):
        x = normalise(xb, ctx.spec, ctx.device, ctx.channels_last)
        outs.append({k: v.float().cpu() for k, v in fn(x, idx).items()})
        if ctx.should_stop():
            raise Stopped("stopped while scoring")
    if not outs:
        return index, {}
    return index, {k: torch.cat([o[k] for o in outs]).numpy() for k in outs[0]}


def mirror_average(logits: Tensor) -> Tensor:
    """(2n, K) logits of n faces followed by their mirror images -> (n, K): the mean logits, i.e. the
    normalised geometric mean of the two views' probabilities. This is the product's prediction for a face
    (test accuracy, the clean-view signals): a face and its mirror show the same expression, and on
    fer2013_dev averaging the two raised the final-loss ranking's AP from 0.693 to 0.708 (bench/README.md)."""
    n = logits.shape[0] // 2
    return (logits[:n] + logits[n:2 * n]) / 2


def evaluate(model: nn.Module, images: np.ndarray, labels: np.ndarray, *, batch_size: int,
             ctx: StepContext) -> float:
    """Accuracy of the model's mirror-averaged prediction against `labels` (-1 = unknown, skipped)."""
    net = unwrap(model).eval()

    def fn(x: Tensor, idx: Tensor) -> dict[str, Tensor]:
        with ctx.autocast():
            logits, _ = net(torch.cat([x, x.flip(3)]))
        return {"pred": mirror_average(logits.float()).argmax(1)}

    index = np.arange(len(labels))[ctx.dist.rank::ctx.dist.world]
    idx, arrs = _forward_batches(net, images, index, batch_size * 2, ctx, fn)
    full = gather_by_index(ctx.dist, len(labels), idx, arrs)
    if full is None:
        return float("nan")
    known = labels >= 0
    return float(np.mean(full["pred"][known] == labels[known])) if known.any() else float("nan")


def score_clean(model: nn.Module, images: np.ndarray, labels: np.ndarray, *, batch_size: int, ctx: StepContext,
                erasures: Tensor | None = None, mirror: bool = True) -> dict[str, np.ndarray] | None:
    """Clean-view pass (no erasing, no noise) over every sample and its mirror image: probs (N, K), loss,
    margin, pred and p_label of the mirror-averaged logits (`mirror_average`); flip_agree (the two views'
    predictions agree), flip_consistency (all classes), flip_consistency_given; erase_sensitivity (the
    original view's p_label minus its mean under the fixed `erasures` (N, R, 4)); features (N, C): the
    pooled last feature map averaged over both views (the kNN embedding). `mirror=False`: the original
    view's alone (what bench/bench_mirror_scoring.py compares). Gathered on rank 0 (None elsewhere)."""
    net = unwrap(model).eval()
    y_all = torch.from_numpy(labels)
    w = net.fc.weight.detach().float()

    def fn(x: Tensor, idx: Tensor) -> dict[str, Tensor]:
        n = x.shape[0]
        y = y_all[idx].to(ctx.device)
        views = [x, x.flip(3)]
        if erasures is not None and erasures.shape[1]:
            views += [apply_erase(x, erasures[idx, r]) for r in range(erasures.shape[1])]
        with ctx.autocast():
            logits, feats = net(torch.cat(views))
        logits, feats = logits.float(), feats.float()
        lo, lf = logits[:n], logits[n:2 * n]
        lm = mirror_average(logits[:2 * n]) if mirror else lo
        p = lm.softmax(1)
        p_label = p.gather(1, y[:, None]).squeeze(1)
        f1, f2 = feats[:n], feats[n:2 * n]
        # no (n, K, h, w) maps: the given class's map here, every class's error in chunks (cam.py)
        d = f1 - f2.flip(-1)                   # CAMs are linear in the features: one difference serves both
        d_given = torch.einsum("nchw,nc->nhw", d, w[y])
        out = {"probs": p, "loss": F.cross_entropy(lm, y, reduction="none"), "margin": margins(lm, y),
               "pred": lm.argmax(1).float(), "p_label": p_label,
               "flip_agree": (lo.argmax(1) == lf.argmax(1)).float(),
               "flip_consistency": flip_consistency_of_difference(d, w),
               "flip_consistency_given": d_given.pow(2).flatten(1).mean(1),
               "features": (f1.mean((2, 3)) + f2.mean((2, 3))) / 2 if mirror else f1.mean((2, 3))}
        if len(views) > 2:
            pe = logits[2 * n:].softmax(1).view(len(views) - 2, n, -1)
            pe_label = pe.gather(2, y.view(1, n, 1).expand(len(views) - 2, n, 1)).squeeze(2).mean(0)
            out["erase_sensitivity"] = lo.softmax(1).gather(1, y[:, None]).squeeze(1) - pe_label
        else:
            out["erase_sensitivity"] = torch.full_like(p_label, float("nan"))
        return out

    index = np.arange(len(labels))[ctx.dist.rank::ctx.dist.world]
    idx, arrs = _forward_batches(net, images, index, batch_size, ctx, fn)
    return gather_by_index(ctx.dist, len(labels), idx, arrs)
