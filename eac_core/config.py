"""Training configuration: one dataclass, presets, and the command-line parser that fills it.

Every command-line default is None so that an explicit flag always wins over the preset; `resolve`
fills the rest from the preset (`paper`: the EAC paper's ResNet settings at 224 px; `cpu`: a compact
network at small size that trains the demo in about 90 s on 2 cores)."""
from __future__ import annotations

import argparse
import os
import subprocess
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from eac_core.models import ARCHS

MODES = ("eac", "ce")
FLIP_ORDERS = ("erase-then-flip", "flip-then-erase")
PRESETS = ("auto", "paper", "cpu")


class ConfigError(ValueError):
    """A setting that cannot be used; the message says which and why."""


@dataclass
class TrainConfig:
    """Every setting of a run; serialised as config.json next to the results."""
    dataset: str = ""
    out: str = ""
    mode: str = "eac"
    arch: str = "resnet50"
    preset: str = "auto"
    epochs: int = 60
    image_size: int = 224
    batch_size: int = 32
    lr: float = 1e-4
    weight_decay: float = 1e-4
    lam: float = 5.0
    lam_warmup: float = 0.0               # epochs over which lambda ramps up from 0 (0: constant, as the paper)
    erase_p: float = 0.5
    erase_scale: tuple[float, float] = (0.02, 0.25)
    erase_ratio: tuple[float, float] = (0.3, 3.3)
    gauss_noise_std: float = 5.5          # grey levels (0..255), added to a random half of the images
    gauss_noise_p: float = 0.5
    flip_order: str = "erase-then-flip"
    lr_decay: float = 0.9                 # learning rate x this after every epoch
    seed: int = 0
    device: str = "auto"
    pretrained: str = ""
    resume: bool = False
    score_every: int = 0                  # clean-view scoring pass every K epochs (0: only at the end)
    erase_repeats: int = 3                # fixed random erasures for erase sensitivity
    folds: int = 0                        # K-fold out-of-sample scoring (0: off)
    workers: int = 0
    limit: int = 0                        # use only the first N training rows (0: all)
    threads: int = 0                      # torch CPU threads (0: the cores available)
    cache_dir: str = ""                   # decoded-image cache ("" : <out>/cache)
    concat_views: bool = True             # both EAC views go through the network as ONE batch
    preprocessing: dict[str, Any] = field(default_factory=dict)
    code_version: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        names = {f.name for f in fields(cls)}
        kw = {k: (tuple(v) if k in ("erase_scale", "erase_ratio") else v) for k, v in d.items() if k in names}
        return cls(**kw)


# Settings each preset fixes unless given on the command line.
PRESET_VALUES: dict[str, dict[str, Any]] = {
    "paper": dict(arch="resnet50", image_size=224, epochs=60, batch_size=32, lr=1e-4),
    # lambda stays the paper's 5, ramped up over 3 epochs: from scratch, a constant 5 keeps the compact
    # network at chance for 4+ epochs on the demo (measured), because consistency is trivially met early.
    "cpu": dict(arch="compact", image_size=48, epochs=8, batch_size=64, lr=1e-3, erase_repeats=2, lam_warmup=3.0),
}
PAPER_LR = {"resnet18": 2e-4}          # the paper's ResNet-18 learning rate


def cuda_available() -> bool:
    """True when torch sees a usable CUDA device."""
    import torch
    return torch.cuda.is_available()


def choose_preset(preset: str, device: str, dataset_format: str) -> str:
    """`auto` -> `cpu` when no GPU will be used or the dataset is the demo, else `paper`."""
    if preset != "auto":
        return preset
    if dataset_format == "demo":
        return "cpu"
    if device == "cpu" or (device == "auto" and not cuda_available()):
        return "cpu"
    return "paper"


def code_version() -> str:
    """`git describe` of the source tree, or the package version."""
    root = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty", "--tags"], cwd=root,
                             capture_output=True, text=True, timeout=5)
        if out.returncode == 0 and out.stdout.strip():
            return "git:" + out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        from importlib.metadata import version
        return "fer-label-audit " + version("fer-label-audit")
    except Exception:  # noqa: BLE001 - any metadata failure just means "unknown"
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    """The `python -m eac_core.train` argument parser (defaults None: the preset fills them)."""
    p = argparse.ArgumentParser(prog="python -m eac_core.train",
                                description="Train a classifier with Erasing Attention Consistency (EAC) "
                                            "on a dataset folder and write a run directory.")
    p.add_argument("--dataset", required=True, help="dataset folder (manifest.csv + dataset.json)")
    p.add_argument("--out", required=True, help="run directory to write")
    p.add_argument("--mode", choices=MODES, default=None, help="eac (default) or ce (plain cross-entropy)")
    p.add_argument("--arch", choices=ARCHS, default=None)
    p.add_argument("--preset", choices=PRESETS, default=None,
                   help="paper: ResNet-50 224 px 60 epochs; cpu: compact net, small images; auto (default)")
    p.add_argument("--epochs", type=int, default=None, help="total number of epochs")
    p.add_argument("--image-size", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--weight-decay", type=float, default=None)
    p.add_argument("--lam", type=float, default=None, help="weight of the attention consistency loss (5)")
    p.add_argument("--lam-warmup", type=float, default=None,
                   help="ramp lambda linearly from 0 over this many epochs (0 = constant, the paper)")
    p.add_argument("--erase-p", type=float, default=None)
    p.add_argument("--erase-scale", type=float, nargs=2, default=None, metavar=("MIN", "MAX"))
    p.add_argument("--erase-ratio", type=float, nargs=2, default=None, metavar=("MIN", "MAX"))
    p.add_argument("--gauss-noise-std", type=float, default=None, help="grey levels, on half the images")
    p.add_argument("--flip-order", choices=FLIP_ORDERS, default=None)
    p.add_argument("--lr-decay", type=float, default=None, help="learning rate factor per epoch (0.9)")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default=None)
    p.add_argument("--pretrained", default=None, help="weight file (torchvision state dict or resnet50_ft_weight.pkl)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--score-every", type=int, default=None, help="clean-view scoring pass every K epochs")
    p.add_argument("--erase-repeats", type=int, default=None, help="fixed erasures for erase sensitivity")
    p.add_argument("--folds", type=int, default=None, help="also K-fold out-of-sample scores (oos_ columns)")
    p.add_argument("--workers", type=int, default=None, help="DataLoader workers / decoding threads")
    p.add_argument("--limit", type=int, default=None, help="use only the first N training rows")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: cores available)")
    p.add_argument("--cache-dir", default=None, help="decoded-image cache folder (default: <out>/cache)")
    return p


def resolve(args: argparse.Namespace, dataset_format: str) -> TrainConfig:
    """Fill a TrainConfig from parsed arguments and the preset; raises ConfigError on bad values."""
    given = {k: v for k, v in vars(args).items() if v is not None and k != "resume"}
    cfg = TrainConfig()
    preset = choose_preset(given.get("preset", "auto"), given.get("device", "auto"), dataset_format)
    for k, v in PRESET_VALUES[preset].items():
        setattr(cfg, k, v)
    if preset == "paper" and "lr" not in given:
        cfg.lr = PAPER_LR.get(given.get("arch", cfg.arch), cfg.lr)
    for k, v in given.items():
        setattr(cfg, k, tuple(v) if isinstance(v, list) else v)
    cfg.preset = preset
    cfg.resume = bool(args.resume)
    cfg.dataset = str(Path(cfg.dataset).resolve())
    cfg.out = str(Path(cfg.out).resolve())
    cfg.code_version = code_version()
    validate(cfg)
    return cfg


def validate(cfg: TrainConfig) -> None:
    """Raise ConfigError for values that cannot work."""
    checks = [
        (cfg.epochs >= 1, f"--epochs must be >= 1 (got {cfg.epochs})"),
        (16 <= cfg.image_size <= 1024, f"--image-size must be in 16..1024 (got {cfg.image_size})"),
        (cfg.batch_size >= 2, f"--batch-size must be >= 2 (got {cfg.batch_size})"),
        (cfg.lr > 0, f"--lr must be > 0 (got {cfg.lr})"),
        (cfg.weight_decay >= 0, f"--weight-decay must be >= 0 (got {cfg.weight_decay})"),
        (cfg.lam >= 0, f"--lam must be >= 0 (got {cfg.lam})"),
        (cfg.lam_warmup >= 0, f"--lam-warmup must be >= 0 (got {cfg.lam_warmup})"),
        (0 <= cfg.erase_p <= 1, f"--erase-p must be in 0..1 (got {cfg.erase_p})"),
        (0 < cfg.erase_scale[0] <= cfg.erase_scale[1] < 1, f"--erase-scale must be 0 < MIN <= MAX < 1 (got {cfg.erase_scale})"),
        (0 < cfg.erase_ratio[0] <= cfg.erase_ratio[1], f"--erase-ratio must be 0 < MIN <= MAX (got {cfg.erase_ratio})"),
        (cfg.gauss_noise_std >= 0, f"--gauss-noise-std must be >= 0 (got {cfg.gauss_noise_std})"),
        (0 < cfg.lr_decay <= 1, f"--lr-decay must be in (0, 1] (got {cfg.lr_decay})"),
        (cfg.score_every >= 0, f"--score-every must be >= 0 (got {cfg.score_every})"),
        (cfg.erase_repeats >= 0, f"--erase-repeats must be >= 0 (got {cfg.erase_repeats})"),
        (cfg.folds == 0 or cfg.folds >= 2, f"--folds must be 0 (off) or >= 2 (got {cfg.folds})"),
        (cfg.workers >= 0, f"--workers must be >= 0 (got {cfg.workers})"),
        (cfg.limit >= 0, f"--limit must be >= 0 (got {cfg.limit})"),
        (cfg.threads >= 0, f"--threads must be >= 0 (got {cfg.threads})"),
        (not cfg.pretrained or Path(cfg.pretrained).is_file(), f"--pretrained {cfg.pretrained}: no such file"),
    ]
    for ok, msg in checks:
        if not ok:
            raise ConfigError(msg)


def available_cores() -> int:
    """CPU cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)
