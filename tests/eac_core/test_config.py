"""The training config: the command line derived from its fields, presets, the command a user would type."""
from __future__ import annotations

import sys
from dataclasses import fields

import pytest

from eac_core import config
from eac_core.config import ConfigError, TrainConfig, build_parser, resolve, train_command


def test_every_flag_field_is_a_flag_and_nothing_else():
    parser_dests = {a.dest for a in build_parser()._actions if a.dest != "help"}
    flag_names = {f.name for f in config.flag_fields()}
    assert parser_dests == flag_names
    assert {f.name for f in fields(TrainConfig)} - flag_names == {"preprocessing", "code_version"}
    assert "gauss_noise_p" in flag_names and "budget_minutes" in flag_names


def test_parser_types_and_defaults_none():
    a = build_parser().parse_args(["--dataset", "d", "--out", "o", "--erase-scale", "0.1", "0.2", "--resume",
                                   "--epochs", "3", "--gauss-noise-p", "0.25", "--optimizer", "sgd"])
    assert a.erase_scale == [0.1, 0.2] and a.resume is True and a.epochs == 3 and a.gauss_noise_p == 0.25
    assert a.optimizer == "sgd" and a.lr is None and a.schedule is None
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--dataset", "d", "--out", "o", "--schedule", "linear"])


def test_train_command_round_trips_through_the_parser():
    argv = train_command("ds", "runs/x", mode="ce", epochs=3, erase_scale=(0.02, 0.3), resume=True,
                         pretrained=None, score_every=False)
    assert argv == [sys.executable, "-m", "eac_core.train", "--dataset", "ds", "--out", "runs/x", "--mode", "ce",
                    "--epochs", "3", "--erase-scale", "0.02", "0.3", "--resume"]
    a = build_parser().parse_args(argv[3:])
    assert (a.mode, a.epochs, a.erase_scale, a.resume) == ("ce", 3, [0.02, 0.3], True)
    with pytest.raises(ValueError, match="'colour' is not a training option"):
        train_command("ds", "o", colour="red")


@pytest.mark.parametrize("fmt,device,preset", [("demo", "cpu", "demo"), ("csv", "cpu", "cpu"), ("folders", "cpu", "cpu")])
def test_auto_preset(fmt, device, preset):
    a = build_parser().parse_args(["--dataset", "d", "--out", "o", "--device", device])
    cfg = resolve(a, fmt)
    assert cfg.preset == preset
    if preset == "cpu":
        assert (cfg.mode, cfg.arch, cfg.width, cfg.optimizer, cfg.schedule, cfg.crop_pad, cfg.hflip_p) == \
            ("ce", "cnn", 1.0, "sgd", "onecycle", 4, 0.5)
    else:
        assert (cfg.mode, cfg.arch, cfg.optimizer, cfg.schedule) == ("eac", "compact", "adam", "exp")


def test_explicit_flags_beat_the_preset():
    a = build_parser().parse_args(["--dataset", "d", "--out", "o", "--preset", "cpu", "--arch", "compact", "--lr", "0.05",
                                   "--mode", "eac"])
    cfg = resolve(a, "csv")
    assert (cfg.arch, cfg.lr, cfg.optimizer, cfg.mode) == ("compact", 0.05, "sgd", "eac")


@pytest.mark.parametrize("flag,value,msg", [("--hflip-p", "1.5", "--hflip-p must be in 0..1"),
                                             ("--crop-pad", "40", "--crop-pad must be in 0..24"),
                                             ("--dropout", "1", "--dropout must be in"),
                                             ("--momentum", "1", "--momentum must be in"),
                                             ("--budget-minutes", "-1", "--budget-minutes must be >= 0"),
                                             ("--width", "0", r"--width must be in 0.25..8 \(got 0.0\)"),
                                             ("--neck", "-8", r"--neck must be in 0..8192 channels \(got -8\)")])
def test_bad_values_are_named(flag, value, msg):
    a = build_parser().parse_args(["--dataset", "d", "--out", "o", "--preset", "cpu", flag, value])
    with pytest.raises(ConfigError, match=msg):
        resolve(a, "csv")
