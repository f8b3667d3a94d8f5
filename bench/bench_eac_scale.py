"""How big is EAC's consistency term against the cross-entropy, per backbone and image size, before any
EAC training? (issue 20's first suspect: the paper's lambda = 5 was set for one network's scale.)

For each backbone / size / starting weights: one forward pass of the same seeded batch of CK+48 training
faces (erased, then mirrored, as the trainer makes EAC's two views), in train mode as a training step
sees it, and prints the CE, the paper's L_att (mean squared CAM difference), the relative L_att (the same
over the maps' energy), the CAM energy, the map size, and lambda * L_att / CE at the paper's lambda = 5.
Nothing is trained; the FER-pretrained `cnn` is bench_pretrained.py's cached backbone when present.

    python bench/bench_eac_scale.py [--batch 32] [--seeds 0,1,2] [--name eac_scale]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _benchlib import CKPLUS, ROOT, write_result  # noqa: E402
from eac_core.cam import attention_consistency_loss, compute_cams  # noqa: E402
from eac_core.data import AugmentSpec, epoch_generator, make_views  # noqa: E402
from eac_core.models import build_model  # noqa: E402
from eac_core.preprocess import Preprocessing, resize_uint8  # noqa: E402
from eac_core.pretrained import load_pretrained  # noqa: E402

PRETRAINED = ROOT / ".cache" / "bench" / "pretrained" / "fer_cnn_ce8" / "checkpoint.pt"


def faces(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n seeded CK+48 faces (uint8 48x48x3) and their class indices."""
    from data_tools.images import load_image
    classes = sorted(p.name for p in CKPLUS.iterdir() if p.is_dir())
    files = [(f, i) for i, c in enumerate(classes) for f in sorted((CKPLUS / c).glob("*.png"))]
    pick = np.random.default_rng(seed).choice(len(files), n, replace=False)
    imgs, labels = [], []
    for j in pick:
        img = load_image(files[j][0])
        imgs.append(np.repeat(img[:, :, None], 3, 2) if img.ndim == 2 else img[:, :, :3])
        labels.append(files[j][1])
    return np.stack(imgs), np.array(labels)


def probe(arch: str, size: int, start: str, x48: np.ndarray, y: np.ndarray, seed: int) -> dict:
    torch.manual_seed(seed)
    model = build_model(arch, 7)
    spec = Preprocessing()
    if start.startswith("FER-pretrained"):
        # "FER head": the pretrained head kept (what the loader does for the same classes); "fresh head": a
        # new head (another class set, e.g. CK+48's contempt for FER's neutral)
        spec = load_pretrained(model, PRETRAINED, classes=None if "FER head" in start else [f"c{i}" for i in range(7)])
    x = torch.from_numpy(np.stack([resize_uint8(im, size) for im in x48]) if size != 48 else x48)
    v1, v2, _ = make_views(x, spec, AugmentSpec(erase_p=0.5, noise_std=0.0), epoch_generator(seed, 1, stream=1001),
                           torch.device("cpu"), True)
    model.train()
    with torch.no_grad():
        logits, feats = model(torch.cat([v1, v2]))
        n = v1.shape[0]
        w = model.fc.weight
        m1, m2 = compute_cams(feats[:n], w), compute_cams(feats[n:], w)
        ce = F.cross_entropy(logits[:n], torch.from_numpy(y)).item()
        paper = attention_consistency_loss(m1, m2, "paper").item()
        rel = attention_consistency_loss(m1, m2, "relative").item()
    return {"backbone": arch, "size": size, "map": f"{m1.shape[-2]}×{m1.shape[-1]}", "channels": feats.shape[1],
            "start": start, "CE": ce, "L_att paper": paper, "L_att relative": rel, "CAM energy": m1.pow(2).mean().item(),
            "5·L_att/CE (paper)": 5 * paper / ce, "5·L_att/CE (relative)": 5 * rel / ce}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--name", default="eac_scale")
    ap.add_argument("--backbones", default="compact,cnn,resnet18,resnet50", help="which backbones to probe")
    a = ap.parse_args(argv)
    if not CKPLUS.is_dir():
        print(f"skipped: {CKPLUS} not found")
        return 0
    torch.set_num_threads(2)
    grid = [("compact", 48, "scratch"), ("cnn", 48, "scratch"), ("cnn", 47, "scratch"), ("resnet18", 112, "scratch"),
            ("resnet18", 224, "scratch"), ("resnet50", 112, "scratch"), ("resnet50", 224, "scratch")]
    if PRETRAINED.is_file():
        grid[2:2] = [("cnn", 48, "FER-pretrained, FER head"), ("cnn", 48, "FER-pretrained, fresh head")]
    grid = [g for g in grid if g[0] in a.backbones.split(",")]
    rows = []
    for seed in [int(s) for s in a.seeds.split(",")]:
        x, y = faces(a.batch, seed)
        rows += [probe(arch, size, start, x, y, seed) for arch, size, start in grid]
    df = pd.DataFrame(rows)
    keys = ["backbone", "size", "map", "channels", "start"]
    num = [c for c in df.columns if c not in keys]
    agg = df.groupby(keys, sort=False)[num].agg(["mean", "std"])
    out = df.groupby(keys, sort=False)[num].mean().reset_index()
    for c in num:
        out[c] = [f"{m:.3g} ± {s:.2g}" for m, s in zip(agg[(c, "mean")], agg[(c, "std")])]
    cmd = "python bench/bench_eac_scale.py " + " ".join(argv if argv is not None else sys.argv[1:])
    write_result(a.name, f"# {a.name}\n\n`{cmd}`\n\nOne train-mode forward pass of {a.batch} CK+48 faces "
                 f"(erased p 0.5, then mirrored), seeds {a.seeds} (mean ± sd); ImageNet or face weights for the "
                 f"ResNets are not on this machine, so they start from scratch here.\n\n"
                 + out.to_markdown(index=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
