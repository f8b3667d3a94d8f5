"""Fine-tuning as a first-class path: `--pretrained` takes a file, a run folder or `imagenet` (from the local
hub cache only, with a one-line answer when absent); with `--preset auto` it picks the `finetune` recipe and
inherits the network and input size of weights this tool wrote; the head is kept only for the same classes
(reordered when their order differs)."""
from __future__ import annotations

import pytest
import torch

from eac_core.cam import ATT_FORMS
from eac_core.config import ATT_FORMS as CONFIG_ATT_FORMS
from eac_core.config import PRESET_VALUES, ConfigError, build_parser, resolve
from eac_core.models import build_model, scaled_widths
from eac_core.pretrained import IMAGENET_FILES, load_pretrained


def _checkpoint(path, arch="cnn", classes=("a", "b", "c"), width=0.5, image_size=40, seed=0):
    torch.manual_seed(seed)
    model = build_model(arch, len(classes), widths=scaled_widths(arch, width))
    torch.save({"model": model.state_dict(), "arch": arch, "classes": list(classes), "epoch": 3,
                "config": {"arch": arch, "width": width, "neck": 0, "image_size": image_size}}, path)
    return model


def _resolve(*flags, fmt="folders"):
    return resolve(build_parser().parse_args(["--dataset", "d", "--out", "o", "--device", "cpu", *flags]), fmt)


def test_att_forms_spelled_once():
    assert CONFIG_ATT_FORMS == ATT_FORMS == ("paper", "relative")


def test_run_folder_picks_the_finetune_recipe_and_inherits_the_network(tmp_path):
    run = tmp_path / "pre"
    run.mkdir()
    _checkpoint(run / "checkpoint.pt")
    cfg = _resolve("--pretrained", str(run))
    assert cfg.preset == "finetune"
    assert cfg.pretrained == str((run / "checkpoint.pt").resolve())
    assert (cfg.arch, cfg.width, cfg.neck, cfg.image_size) == ("cnn", 0.5, 0, 40)
    for k, v in PRESET_VALUES["finetune"].items():
        assert getattr(cfg, k) == v, k
    # the recipe bench_pretrained.py measured best (bench/README.md), recorded in config.json as preset finetune
    assert (cfg.mode, cfg.erase_p, cfg.optimizer, cfg.schedule, cfg.lr, cfg.epochs, cfg.batch_size) == \
        ("ce", 0.5, "sgd", "onecycle", 0.01, 30, 64)
    assert cfg.to_dict()["preset"] == "finetune"
    # --mode eac on the recipe: the relative form at lambda 1
    eac = _resolve("--pretrained", str(run), "--mode", "eac")
    assert (eac.mode, eac.att_form, eac.lam, eac.erase_p) == ("eac", "relative", 1.0, 0.5)
    assert cfg.crop_pad == 3                       # 40 px / 12, the cpu preset's 4 px at 48 px in proportion
    # an explicit flag still wins, and the file itself works as well as its folder
    cfg = _resolve("--pretrained", str(run / "checkpoint.pt"), "--image-size", "48", "--mode", "ce")
    assert (cfg.image_size, cfg.mode, cfg.preset, cfg.crop_pad) == (48, "ce", "finetune", 4)
    # an explicit preset is kept
    assert _resolve("--pretrained", str(run), "--preset", "cpu").preset == "cpu"
    # the demo stays the demo
    assert _resolve("--pretrained", str(run), fmt="demo").preset == "demo"


def test_pretrained_sources_that_are_not_there(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(ConfigError, match=r"--pretrained imagenet: .*resnet18-f37072fd\.pth not found; nothing is "
                                          r"downloaded: place resnet18-f37072fd\.pth \(from https://download\.pytorch"
                                          r"\.org/models/resnet18-f37072fd\.pth\) there"):
        _resolve("--pretrained", "imagenet", "--arch", "resnet18")
    with pytest.raises(ConfigError, match="torchvision has ImageNet weights for resnet18, resnet34, resnet50, not for --arch cnn"):
        _resolve("--pretrained", "imagenet", "--arch", "cnn")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="a folder, but not a run with a checkpoint.pt"):
        _resolve("--pretrained", str(tmp_path / "empty"))
    with pytest.raises(ConfigError, match="no such file or run folder"):
        _resolve("--pretrained", str(tmp_path / "nothing.pt"))


def test_imagenet_is_found_in_the_hub_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    hub = tmp_path / "torch" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    torch.manual_seed(1)
    import torchvision
    torch.save(torchvision.models.resnet18(num_classes=1000).state_dict(), hub / IMAGENET_FILES["resnet18"])
    cfg = _resolve("--pretrained", "imagenet", "--arch", "resnet18", "--image-size", "64")
    assert cfg.pretrained == str((hub / IMAGENET_FILES["resnet18"]).resolve()) and cfg.preset == "finetune"
    assert (cfg.arch, cfg.image_size) == ("resnet18", 64)


def test_head_kept_for_the_same_classes_reordered_or_dropped(tmp_path):
    src = _checkpoint(tmp_path / "c.pt", width=1.0)
    w, b = src.fc.weight.detach(), src.fc.bias.detach()

    def loaded(classes, seed=5):
        torch.manual_seed(seed)
        m = build_model("cnn", 3)
        fresh = m.fc.weight.detach().clone()
        load_pretrained(m, tmp_path / "c.pt", classes=classes)
        return m, fresh

    m, _ = loaded(["a", "b", "c"])
    assert torch.equal(m.fc.weight, w) and torch.equal(m.fc.bias, b)
    m, _ = loaded(["c", "a", "b"])                    # same classes, another order: rows follow the names
    assert torch.equal(m.fc.weight, w[[2, 0, 1]]) and torch.equal(m.fc.bias, b[[2, 0, 1]])
    m, fresh = loaded(["a", "b", "x"])                # other classes, same count: the head starts fresh
    assert torch.equal(m.fc.weight, fresh) and not torch.equal(m.fc.weight, w)
    # the backbone is loaded in every case
    assert torch.equal(m.features[0][0].weight, src.features[0][0].weight)
