"""Training configuration: one dataclass, presets, and the command-line parser that fills it.

Every command-line default is None so that an explicit flag always wins over the preset; `resolve`
fills the rest from the preset (`paper`: the EAC paper's ResNet settings at 224 px; `cpu`: a compact
network at small size that trains the demo in about 90 s on 2 cores)."""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

# The backbone names (eac_core.models.ARCHS, checked equal by a test), spelled here so that reading a config
# or building the command line does not import torch (the app's pages import this module: issue 9, Scale).
ARCHS = ("compact", "cnn", "resnet18", "resnet34", "resnet50")

MODES = ("eac", "ce")
FLIP_ORDERS = ("erase-then-flip", "flip-then-erase")
ATT_FORMS = ("paper", "relative")     # eac_core.cam.ATT_FORMS (checked equal by a test), spelled without torch
VIEWS = ("concat", "separate")
PRESETS = ("auto", "paper", "cpu", "demo", "finetune")
OPTIMIZERS = ("adam", "sgd")
SCHEDULES = ("exp", "onecycle", "cosine")


class ConfigError(ValueError):
    """A setting that cannot be used; the message says which and why."""


def flag(help: str, **argparse_kw: Any) -> Any:
    """Field metadata: the field is a command-line flag `--name-with-dashes` with this help."""
    return {"help": help, **argparse_kw}


@dataclass
class TrainConfig:
    """Every setting of a run; serialised as config.json next to the results. Fields with a `flag`
    are the command line of `python -m eac_core.train` (build_parser, train_command derive from them)."""
    dataset: str = field(default="", metadata=flag("dataset folder (manifest.csv + dataset.json)", required=True))
    out: str = field(default="", metadata=flag("run directory to write", required=True))
    mode: str = field(default="eac", metadata=flag("eac (default) or ce (plain cross-entropy)", choices=MODES))
    arch: str = field(default="resnet50", metadata=flag("backbone", choices=ARCHS))
    preset: str = field(default="auto", metadata=flag(
        "paper: ResNet-50 224 px 60 epochs; cpu: 5-conv net at 48 px for real faces on a CPU; "
        "demo: the compact net for the demo; finetune: from --pretrained weights; "
        "auto (default): demo / finetune / cpu / paper by dataset, --pretrained and device",
        choices=PRESETS))
    epochs: int = field(default=60, metadata=flag("total number of epochs (default: the preset's, or from "
                                                  "--budget-minutes)"))
    width: float = field(default=1.0, metadata=flag(
        "multiplier of the compact / cnn networks' channel widths (1: their own)"))
    neck: int = field(default=0, metadata=flag(
        "channels of a 1x1 conv-BN-ReLU after the backbone's last layer; CAMs and the kNN embedding use its "
        "output (0: none)"))
    image_size: int = field(default=224, metadata=flag("input size in pixels"))
    batch_size: int = field(default=32, metadata=flag("images per step"))
    lr: float = field(default=1e-4, metadata=flag("learning rate (the peak for onecycle)"))
    weight_decay: float = field(default=1e-4, metadata=flag("weight decay"))
    lam: float = field(default=5.0, metadata=flag("weight of the attention consistency loss (5)"))
    lam_warmup: float = field(default=0.0, metadata=flag(
        "ramp lambda linearly from 0 over this many epochs (0 = constant, the paper)"))
    att_form: str = field(default="paper", metadata=flag(
        "form of the attention consistency loss: paper (mean squared CAM difference, scale follows the "
        "backbone) or relative (the same over the maps' energy: one lambda means the same on every backbone)",
        choices=ATT_FORMS))
    views: str = field(default="concat", metadata=flag(
        "EAC's two views through the network as one concatenated batch (BatchNorm sees both) or as two "
        "separate forward passes", choices=VIEWS))
    erase_p: float = field(default=0.5, metadata=flag("probability of random erasing"))
    erase_scale: tuple[float, float] = field(default=(0.02, 0.25), metadata=flag(
        "erased area fraction", nargs=2, metavar=("MIN", "MAX")))
    erase_ratio: tuple[float, float] = field(default=(0.3, 3.3), metadata=flag(
        "erased aspect ratio", nargs=2, metavar=("MIN", "MAX")))
    gauss_noise_std: float = field(default=5.5, metadata=flag("pixel noise in grey levels (0..255)"))
    gauss_noise_p: float = field(default=0.5, metadata=flag("share of images that get pixel noise"))
    flip_order: str = field(default="erase-then-flip", metadata=flag("how EAC's second view is made",
                                                                     choices=FLIP_ORDERS))
    lr_decay: float = field(default=0.9, metadata=flag("learning rate factor per epoch (schedule exp)"))
    optimizer: str = field(default="adam", metadata=flag("adam, or sgd (Nesterov with --momentum)",
                                                         choices=OPTIMIZERS))
    momentum: float = field(default=0.9, metadata=flag("SGD momentum"))
    schedule: str = field(default="exp", metadata=flag(
        "exp: x lr-decay per epoch; onecycle (to --lr) or cosine: per step", choices=SCHEDULES))
    crop_pad: int = field(default=0, metadata=flag("random crop from the image padded by this many pixels (0: off)"))
    hflip_p: float = field(default=0.0, metadata=flag("random left-right mirror of the training view (0: off)"))
    dropout: float = field(default=0.0, metadata=flag("dropout before the linear head"))
    label_smoothing: float = field(default=0.0, metadata=flag(
        "label smoothing of the training cross-entropy (0: off); the logged per-sample loss stays plain"))
    budget_minutes: float = field(default=0.0, metadata=flag(
        "choose the epochs so that training fits this many minutes at the measured speed (0: off)"))
    seed: int = field(default=0, metadata=flag("random seed"))
    device: str = field(default="auto", metadata=flag("auto, cpu or cuda", choices=("auto", "cpu", "cuda")))
    pretrained: str = field(default="", metadata=flag(
        "weights to start from: a file (torchvision state dict, resnet50_ft_weight.pkl, a checkpoint.pt), a "
        "finished run folder, or imagenet (torchvision's weights from the local torch hub cache); with "
        "--preset auto the fine-tuning recipe is used (preset finetune)"))
    resume: bool = field(default=False, metadata=flag("continue the run in --out from its last checkpoint",
                                                      action="store_true"))
    score_every: int = field(default=0, metadata=flag("clean-view scoring pass every K epochs (0: only at the end)"))
    erase_repeats: int = field(default=3, metadata=flag("fixed erasures for erase sensitivity"))
    folds: int = field(default=0, metadata=flag("also K-fold out-of-sample scores (oos_ columns; 0: off)"))
    workers: int = field(default=0, metadata=flag("DataLoader workers / decoding threads"))
    limit: int = field(default=0, metadata=flag("use only the first N training rows (0: all)"))
    threads: int = field(default=0, metadata=flag("torch CPU threads (0: the cores available)"))
    cache_dir: str = field(default="", metadata=flag("decoded-image cache folder (default: <out>/cache)"))
    preprocessing: dict[str, Any] = field(default_factory=dict)
    code_version: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        tuples = {f.name for f in fields(cls) if isinstance(f.default, tuple)}     # JSON gives lists back
        names = {f.name for f in fields(cls)}
        return cls(**{k: (tuple(v) if k in tuples else v) for k, v in d.items() if k in names})


def flag_fields() -> list:
    """The TrainConfig fields that are command-line flags, in declaration order."""
    return [f for f in fields(TrainConfig) if f.metadata.get("help")]


# Settings each preset fixes unless given on the command line.
PRESET_VALUES: dict[str, dict[str, Any]] = {
    "paper": dict(arch="resnet50", image_size=224, epochs=60, batch_size=32, lr=1e-4),
    # lambda stays the paper's 5, ramped up over 3 epochs: from scratch, a constant 5 keeps the compact
    # network at chance for 4+ epochs on the demo (measured), because consistency is trivially met early.
    # real faces on a CPU, chosen on FER2013 real noise (bench/bench_real_noise.py, bench/README.md): plain CE,
    # because EAC with lambda 5 collapsed this from-scratch SGD recipe (training accuracy 0.22-0.25 for 4-7 epochs)
    # width 1 (32-64-128-256-256): width 1.5 (2.2 M parameters) ranked no better on fer2013_dev's real noise
    # (AUROC/AP/P@k 0.853/0.715/0.668 vs 0.855/0.721/0.677) at 1.7x the CPU (bench/README.md)
    "cpu": dict(mode="ce", arch="cnn", width=1.0, image_size=48, epochs=16, batch_size=128, optimizer="sgd", lr=0.1, weight_decay=5e-4,
                schedule="onecycle", crop_pad=4, hflip_p=0.5, dropout=0.4, erase_repeats=2, lam_warmup=4.0,
                erase_p=0.0, gauss_noise_std=0.0),   # CE without erasing / pixel noise: test acc 0.598 vs 0.573, AP higher
    "demo": dict(arch="compact", image_size=48, epochs=8, batch_size=64, lr=1e-3, erase_repeats=2, lam_warmup=3.0),
    # fine-tuning pretrained weights (--pretrained with --preset auto), chosen on bench/bench_pretrained.py
    # (CK+48 and JAFFE fine-tuned from a FER2013-pretrained cnn, 30 % symmetric noise, 3 seeds; bench/README.md):
    # plain CE with random erasing. Test accuracy CK+48 / JAFFE: CE + erasing 0.811 / 0.647, CE 0.829 / 0.587,
    # EAC relative lambda 1 0.804 / 0.520, EAC paper lambda 5 0.760 / 0.183; detection AP ties (0.989 / 0.935 vs
    # 0.991 / 0.932). With --mode eac the relative form at lambda 1 applies, which measured better than the
    # paper's form at lambda 5.
    "finetune": dict(mode="ce", att_form="relative", lam=1.0, lam_warmup=0.0, epochs=30, batch_size=64,
                     optimizer="sgd", lr=0.01, weight_decay=5e-4, schedule="onecycle", hflip_p=0.5, dropout=0.4,
                     erase_p=0.5, gauss_noise_std=0.0, erase_repeats=2),
}
# What --pretrained weights of this tool's own runs fix unless given: the network they fit and its input size.
INHERITED = ("arch", "width", "neck", "image_size")
PAPER_LR = {"resnet18": 2e-4}          # the paper's ResNet-18 learning rate


def cuda_available() -> bool:
    """True when torch sees a usable CUDA device."""
    import torch
    return torch.cuda.is_available()


def choose_preset(preset: str, device: str, dataset_format: str, pretrained: bool = False) -> str:
    """`auto` -> `demo` for the demo dataset, `finetune` with pretrained weights, `cpu` when no GPU will be
    used, else `paper`."""
    if preset != "auto":
        return preset
    if dataset_format == "demo":
        return "demo"
    if pretrained:
        return "finetune"
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
    """The `python -m eac_core.train` argument parser, derived from TrainConfig's flag fields (defaults
    None, so that an explicit flag always wins over the preset)."""
    p = argparse.ArgumentParser(prog="python -m eac_core.train",
                                description="Train a classifier with Erasing Attention Consistency (EAC) "
                                            "on a dataset folder and write a run directory.")
    for f in flag_fields():
        kw = dict(f.metadata)
        if kw.get("action") != "store_true":
            scalar = type(f.default[0]) if isinstance(f.default, tuple) else type(f.default)
            kw.setdefault("type", scalar)
            kw["default"] = None
        p.add_argument("--" + f.name.replace("_", "-"), **kw)
    return p


def train_command(dataset: str | os.PathLike, out: str | os.PathLike, **options: Any) -> list[str]:
    """The exact argv that trains `dataset` into `out`: [python, -m, eac_core.train, --dataset, ..., --opt, val].
    Options are TrainConfig flag fields (erase_scale=(0.02, 0.25), resume=True); None/False are omitted;
    an unknown option is a ValueError."""
    known = {f.name for f in flag_fields()}
    argv = [sys.executable, "-m", "eac_core.train", "--dataset", str(dataset), "--out", str(out)]
    for k, v in options.items():
        if k not in known:
            raise ValueError(f"train_command: '{k}' is not a training option")
        if v is None or v is False:
            continue
        name = "--" + k.replace("_", "-")
        if v is True:
            argv.append(name)
        elif isinstance(v, (list, tuple)):
            argv += [name, *[str(x) for x in v]]
        else:
            argv += [name, str(v)]
    return argv


def resolve(args: argparse.Namespace, dataset_format: str) -> TrainConfig:
    """Fill a TrainConfig from parsed arguments and the preset; raises ConfigError on bad values."""
    given = {k: v for k, v in vars(args).items() if v is not None and k != "resume"}
    cfg = TrainConfig()
    preset = choose_preset(given.get("preset", "auto"), given.get("device", "auto"), dataset_format,
                           bool(given.get("pretrained")))
    for k, v in PRESET_VALUES[preset].items():
        setattr(cfg, k, v)
    if preset == "paper" and "lr" not in given:
        cfg.lr = PAPER_LR.get(given.get("arch", cfg.arch), cfg.lr)
    if given.get("pretrained"):
        given["pretrained"] = pretrained_file(given, cfg)
    for k, v in given.items():
        setattr(cfg, k, tuple(v) if isinstance(v, list) else v)
    if preset == "finetune" and "crop_pad" not in given:
        cfg.crop_pad = max(1, round(cfg.image_size / 12))      # the cpu preset's 4 px at 48 px, in proportion
    cfg.preset = preset
    cfg.resume = bool(args.resume)
    cfg.dataset = str(Path(cfg.dataset).resolve())
    cfg.out = str(Path(cfg.out).resolve())
    cfg.code_version = code_version()
    validate(cfg)
    return cfg


def pretrained_file(given: dict[str, Any], cfg: TrainConfig) -> str:
    """The absolute weights file `--pretrained` names (a file, a run folder, `imagenet`), after filling
    `cfg` with what weights of this tool's own runs fix (INHERITED: the network and input size they were
    trained with) unless given; ConfigError (one line) when there is no such file."""
    from eac_core.pretrained import PretrainedError, resolve_source, source_config
    try:
        path = resolve_source(given["pretrained"], given.get("arch", cfg.arch))
        src = source_config(path)
    except PretrainedError as e:
        raise ConfigError(str(e)) from None
    for k in INHERITED:
        if k not in given and k in src:
            setattr(cfg, k, src[k])
    return str(path.resolve())


def validate(cfg: TrainConfig) -> None:
    """Raise ConfigError for values that cannot work."""
    checks = [
        (cfg.epochs >= 1, f"--epochs must be >= 1 (got {cfg.epochs})"),
        (0.25 <= cfg.width <= 8, f"--width must be in 0.25..8 (got {cfg.width})"),
        (0 <= cfg.neck <= 8192, f"--neck must be in 0..8192 channels (got {cfg.neck})"),
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
        (0 <= cfg.momentum < 1, f"--momentum must be in [0, 1) (got {cfg.momentum})"),
        (0 <= cfg.crop_pad <= cfg.image_size // 2, f"--crop-pad must be in 0..{cfg.image_size // 2} (got {cfg.crop_pad})"),
        (0 <= cfg.hflip_p <= 1, f"--hflip-p must be in 0..1 (got {cfg.hflip_p})"),
        (0 <= cfg.dropout < 1, f"--dropout must be in [0, 1) (got {cfg.dropout})"),
        (cfg.budget_minutes >= 0, f"--budget-minutes must be >= 0 (got {cfg.budget_minutes})"),
        (0 <= cfg.label_smoothing < 1, f"--label-smoothing must be in [0, 1) (got {cfg.label_smoothing})"),
        (cfg.score_every >= 0, f"--score-every must be >= 0 (got {cfg.score_every})"),
        (cfg.erase_repeats >= 0, f"--erase-repeats must be >= 0 (got {cfg.erase_repeats})"),
        (cfg.folds == 0 or cfg.folds >= 2, f"--folds must be 0 (off) or >= 2 (got {cfg.folds})"),
        (cfg.workers >= 0, f"--workers must be >= 0 (got {cfg.workers})"),
        (cfg.limit >= 0, f"--limit must be >= 0 (got {cfg.limit})"),
        (cfg.threads >= 0, f"--threads must be >= 0 (got {cfg.threads})"),
        (not cfg.pretrained or Path(cfg.pretrained).is_file(), f"--pretrained {cfg.pretrained}: no such file"),
        (cfg.att_form in ATT_FORMS, f"--att-form must be one of {', '.join(ATT_FORMS)} (got {cfg.att_form})"),
        (cfg.views in VIEWS, f"--views must be one of {', '.join(VIEWS)} (got {cfg.views})"),
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
