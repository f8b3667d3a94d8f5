"""Which classifier head closes the accuracy gap to the plain CE anchor on real noise (issue 7)?

The product's `cnn` pools its last feature map (global average pooling, GAP) into a linear layer: the
shape class activation maps need. The issue's anchor has the same five convolutions but a third
max-pool and an FC head (2304 -> 256 -> 7, dropout 0.4) that sees the face's layout. This trains each
head on the SAME data with the anchor's own loop (bench_real_noise.train_anchor: SGD Nesterov, OneCycle
to 0.1, batch 128, random crop + mirror), one after another in this process, and scores each model's
in-sample loss on fer2013_dev's ranked slice against truth.csv plus its test accuracy (FER+ majority):

  anchor_fc     the anchor: 3rd max-pool, flatten 2304 -> 256 -> ReLU -> dropout -> 7
  gap           the product's cnn head: GAP -> dropout 0.4 -> linear (CAM = W . f at each position)
  gap_neck      a 1x1 conv-BN-ReLU 256 -> 512 before GAP (still a linear CAM over the new features)
  spatial       flatten 6x6x256 -> dropout -> linear: one weight per position (the logit is the sum of a
                position-specific map, a CAM-like decomposition; not mirror-symmetric)

  python bench/bench_heads.py --train-rows 3000 --name heads_3k
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _benchlib import DEFAULT_WORK, log, write_result  # noqa: E402
from bench_real_noise import anchor_cnn, predict, prepare, train_anchor, truth_mask  # noqa: E402
from data_tools.manifest import load_dataset  # noqa: E402
from eac_core.data import load_cached, make_splits  # noqa: E402
from eac_core.metrics import detection_metrics  # noqa: E402
from eac_core.models import build_model  # noqa: E402


class LogitsOnly(nn.Module):
    """A CamNet seen as a plain classifier (the anchor loop wants logits only)."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x)[0]


def _cnn_with(head: nn.Module) -> nn.Module:
    return nn.Sequential(build_model("cnn", 7).features, head)     # the product's five convolutions


def _gap_neck(k: int) -> nn.Module:
    neck = nn.Sequential(nn.Conv2d(256, 512, 1, bias=False), nn.BatchNorm2d(512), nn.ReLU(inplace=True))
    return _cnn_with(nn.Sequential(neck, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.4), nn.Linear(512, k)))


def _spatial(k: int) -> nn.Module:
    return _cnn_with(nn.Sequential(nn.Flatten(), nn.Dropout(0.4), nn.Linear(256 * 6 * 6, k)))


HEADS = {
    "anchor_fc": anchor_cnn,
    "gap": lambda k: LogitsOnly(build_model("cnn", k, dropout=0.4)),
    "gap_neck": _gap_neck,
    "spatial": _spatial,
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train-rows", type=int, default=3000, help="Training rows to keep (0: all)")
    ap.add_argument("--epochs", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--heads", default=",".join(HEADS))
    ap.add_argument("--work", type=Path, default=None)
    ap.add_argument("--name", default="heads")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    work = a.work or DEFAULT_WORK / f"heads_{a.train_rows or 'all'}_s{a.seed}"
    ds_dir = prepare(work, a.train_rows, a.seed)
    ds = load_dataset(ds_dir)
    train, test = make_splits(ds)
    train.images = load_cached(ds, train, 48, work / "cache")
    test.images = load_cached(ds, test, 48, work / "cache")
    pos, noisy = truth_mask(train.frame)
    k = len(ds.classes)
    rows = []
    for name in a.heads.split(","):
        log(f"{name}: {len(train)} rows, {a.epochs} epochs")
        t0 = time.process_time()
        model = train_anchor(train.images, train.labels, k, epochs=a.epochs, seed=a.seed,
                             device=torch.device("cpu"), build=HEADS[name])
        probs = np.clip(predict(model, train.images, torch.device("cpu")), 1e-12, None)
        acc = float((predict(model, test.images, torch.device("cpu")).argmax(1) == test.labels).mean())
        cpu = time.process_time() - t0
        loss = -np.log(probs[np.arange(len(probs)), train.labels])
        rows.append({"head": name, "params": sum(p.numel() for p in model.parameters()),
                     **detection_metrics(loss[pos], noisy), "test_acc": acc, "cpu_s": cpu})
        log(f"{name}: test acc {acc:.3f}, AP {rows[-1]['ap']:.3f}, {cpu:.0f} CPU-s")
    head = (f"# Classifier heads on fer2013_dev real noise ({len(train)} training rows, in-sample loss on "
            f"{len(pos)} determined slice rows, k = {int(noisy.sum())})\n\n"
            f"`python bench/bench_heads.py {' '.join(argv if argv is not None else sys.argv[1:])}`, "
            f"{a.threads} threads, seed {a.seed}, {time.strftime('%Y-%m-%d')}\n\n")
    write_result(a.name, head + pd.DataFrame(rows).to_markdown(index=False, floatfmt=".3f") + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
