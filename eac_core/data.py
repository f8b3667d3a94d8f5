"""Training data: the manifest's splits, a decoded-image cache at the training resolution, the
erasing / flip / noise augmentation (vectorised on the device), and seeded batch orders.

Augmentation randomness and data order are functions of (seed, epoch, step) only, so a resumed
run sees exactly the batches an uninterrupted run would have seen."""
from __future__ import annotations

import hashlib
import json
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from data_tools import atomic
from data_tools.images import load_image
from data_tools.manifest import MANIFEST, Dataset
from data_tools.paths import PathEscapeError
from eac_core.preprocess import Preprocessing, resize_uint8


class DataError(ValueError):
    """A dataset that cannot be trained on; the message names the row or the file."""


@dataclass
class Split:
    """Rows of one split: ids, integer labels (given and, when known, true), cached uint8 images."""
    name: str
    frame: pd.DataFrame              # manifest rows of this split, original columns (str)
    rows: np.ndarray                 # manifest row numbers (header = row 1) for messages
    labels: np.ndarray               # (N,) int64 given labels
    true_labels: np.ndarray | None   # (N,) int64 or None; -1 where unknown
    images: np.ndarray | None = None  # (N, S, S, 3) uint8 (possibly a memmap)

    @property
    def sample_ids(self) -> list[str]:
        return self.frame["sample_id"].tolist()

    def __len__(self) -> int:
        return len(self.frame)


def _label_array(values: pd.Series, classes: list[str], column: str, rows: np.ndarray,
                 allow_missing: bool) -> np.ndarray:
    index = {c: i for i, c in enumerate(classes)}
    out = np.empty(len(values), dtype=np.int64)
    for j, (v, r) in enumerate(zip(values, rows)):
        if v in index:
            out[j] = index[v]
        elif allow_missing and v == "":
            out[j] = -1
        else:
            raise DataError(f"manifest.csv row {r}: {column} '{v}' is not one of: {', '.join(classes)}")
    return out


def make_splits(ds: Dataset, limit: int = 0) -> tuple[Split, Split | None]:
    """(train, eval) splits; eval is `test`, else `val`, else None. `limit` keeps the first N train rows."""
    m = ds.manifest.copy()
    m["_row"] = np.arange(2, len(m) + 2)

    def split(name: str, frame: pd.DataFrame) -> Split:
        rows = frame["_row"].to_numpy()
        f = frame.drop(columns="_row").reset_index(drop=True)
        labels = _label_array(f["label"], ds.classes, "label", rows, False)
        true = (_label_array(f["true_label"], ds.classes, "true_label", rows, True)
                if "true_label" in f.columns else None)
        return Split(name, f, rows, labels, true)

    tr = m[m["split"] == "train"]
    if limit:
        tr = tr.iloc[:limit]
    if len(tr) == 0:
        raise DataError(f"{ds.root / 'manifest.csv'}: no rows with split 'train'")
    ev = None
    for name in ("test", "val"):
        part = m[m["split"] == name]
        if len(part):
            ev = split(name, part)
            break
    return split("train", tr), ev


def _cache_key(ds: Dataset, split: Split, size: int) -> str:
    h = hashlib.sha1()
    h.update(str(ds.image_root).encode())
    h.update(str(size).encode())
    for p in split.frame["path"]:
        h.update(p.encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def decode_split(ds: Dataset, split: Split, size: int, workers: int = 2) -> np.ndarray:
    """Decode and resize every image of a split -> (N, size, size, 3) uint8; the first bad row raises.
    Every path is checked against the image root (Dataset.image_path) before any image is decoded."""
    paths, dirs = [], {}
    for j, rel in enumerate(split.frame["path"]):
        try:
            paths.append(ds.image_path(rel, dirs))
        except PathEscapeError as e:
            raise DataError(f"{Path(ds.root) / MANIFEST} row {split.rows[j]} (sample_id "
                            f"'{split.frame['sample_id'].iat[j]}'): image path refused: {e}") from None

    def one(j: int) -> np.ndarray:
        try:
            img = load_image(paths[j])
        except (OSError, ValueError) as e:
            msg = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise DataError(f"manifest.csv row {split.rows[j]} (sample_id "
                            f"'{split.frame['sample_id'].iat[j]}'): cannot read image {paths[j]}: {msg}") from None
        if img.ndim == 2:
            img = np.repeat(img[:, :, None], 3, axis=2)
        return resize_uint8(np.ascontiguousarray(img[:, :, :3]), size)

    out = np.empty((len(paths), size, size, 3), dtype=np.uint8)
    with ThreadPoolExecutor(max(1, workers)) as pool:
        for j, img in enumerate(pool.map(one, range(len(paths)), chunksize=64)):
            out[j] = img
    return out


def load_cached(ds: Dataset, split: Split, size: int, cache_dir: Path, workers: int = 2) -> np.ndarray:
    """Images of a split from `<cache_dir>/<split>_<size>.npy` (keyed by dataset + paths + size),
    decoding once; later epochs and resumed runs never decode again."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    key = _cache_key(ds, split, size)
    npy, meta = cache_dir / f"{split.name}_{size}.npy", cache_dir / f"{split.name}_{size}.json"
    if npy.is_file() and meta.is_file():
        try:
            if json.loads(meta.read_text()).get("key") == key:
                arr = np.load(npy, mmap_mode="r")
                if arr.shape == (len(split), size, size, 3):
                    return np.array(arr) if arr.nbytes < 2 ** 31 else arr
        except (OSError, ValueError):
            pass
    arr = decode_split(ds, split, size, workers)
    with atomic.atomic_path(npy) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, arr)
    atomic.write_json(meta, {"key": key, "dataset": str(ds.root), "n": len(split), "size": size})
    return arr


# ----------------------------------------------------------------------------------- orders

def epoch_generator(seed: int, epoch: int, stream: int = 0) -> torch.Generator:
    """A CPU generator that depends only on (seed, epoch, stream)."""
    return torch.Generator().manual_seed(int(seed) * 1_000_003 + int(epoch) * 7919 + int(stream) * 104_729 + 17)


def epoch_order(n: int, seed: int, epoch: int, rank: int = 0, world: int = 1) -> np.ndarray:
    """This rank's sample indices for an epoch: a seeded permutation, padded (by wrapping) to a
    multiple of `world` like DistributedSampler, then strided by rank."""
    perm = torch.randperm(n, generator=epoch_generator(seed, epoch)).numpy()
    total = int(math.ceil(n / world)) * world
    if total > n:
        perm = np.concatenate([perm, perm[: total - n]])
    return perm[rank::world]


def batches(order: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Split an index order into batches (the last may be smaller)."""
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


class _BatchDataset(torch.utils.data.Dataset):
    """Dataset whose items are whole batches of uint8 images (for DataLoader workers + pinning)."""

    def __init__(self, images: np.ndarray, batch_list: list[np.ndarray]):
        self.images, self.batch_list = images, batch_list

    def __len__(self) -> int:
        return len(self.batch_list)

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor]:
        idx = np.sort(self.batch_list[i])
        order = np.argsort(np.argsort(self.batch_list[i]))
        return torch.from_numpy(np.asarray(self.images[idx])[order]), torch.from_numpy(self.batch_list[i])


def iterate_uint8(images: np.ndarray, batch_list: list[np.ndarray], workers: int = 0,
                  pin: bool = False) -> Iterator[tuple[Tensor, Tensor]]:
    """Yield (uint8 NHWC batch, indices) in the given order; workers > 0 uses a DataLoader."""
    if workers <= 0:
        for b in batch_list:
            x = torch.from_numpy(np.asarray(images[b]))
            yield (x.pin_memory() if pin else x), torch.from_numpy(b)
        return
    loader = torch.utils.data.DataLoader(_BatchDataset(images, batch_list), batch_size=None, shuffle=False,
                                         num_workers=workers, pin_memory=pin, persistent_workers=False,
                                         prefetch_factor=4)
    yield from loader


# ----------------------------------------------------------------------------- augmentation

def normalise(x_uint8: Tensor, spec: Preprocessing, device: torch.device, channels_last: bool = False,
              noise: Tensor | None = None) -> Tensor:
    """(N, H, W, 3) uint8 -> (N, 3, H, W) float normalised per `spec` on `device`; `noise` (N,3,H,W)
    in grey levels is added before scaling."""
    x = x_uint8.to(device, non_blocking=True).permute(0, 3, 1, 2).float()
    if noise is not None:
        x = (x + noise).clamp_(0, 255)
    if spec.color == "BGR":
        x = x.flip(1)
    mean = torch.tensor(spec.mean, device=device).view(1, 3, 1, 1) / spec.scale
    std = torch.tensor(spec.std, device=device).view(1, 3, 1, 1) / spec.scale
    x = (x - mean) / std
    return x.contiguous(memory_format=torch.channels_last if channels_last else torch.contiguous_format)


def erase_boxes(n: int, h: int, w: int, p: float, scale: tuple[float, float], ratio: tuple[float, float],
                gen: torch.Generator, attempts: int = 10) -> Tensor:
    """Random-erasing rectangles (n, 4) = (top, left, height, width) as torchvision's RandomErasing
    draws them (10 attempts); height 0 means "not erased"."""
    apply = torch.rand(n, generator=gen) < p
    area = h * w * torch.empty(n, attempts).uniform_(scale[0], scale[1], generator=gen)
    logr = torch.empty(n, attempts).uniform_(math.log(ratio[0]), math.log(ratio[1]), generator=gen)
    r = torch.exp(logr)
    eh = torch.sqrt(area * r).round().long()
    ew = torch.sqrt(area / r).round().long()
    ok = (eh < h) & (ew < w) & (eh > 0) & (ew > 0)
    first = torch.where(ok.any(1), ok.float().argmax(1), torch.full((n,), -1))
    u = torch.rand(n, 2, generator=gen)
    boxes = torch.zeros(n, 4, dtype=torch.long)
    for_i = torch.arange(n)
    sel = (first >= 0) & apply
    bh = torch.where(sel, eh[for_i, first.clamp(min=0)], torch.zeros(n, dtype=torch.long))
    bw = torch.where(sel, ew[for_i, first.clamp(min=0)], torch.zeros(n, dtype=torch.long))
    boxes[:, 0] = (u[:, 0] * (h - bh + 1)).floor().long().clamp(max=h - 1)
    boxes[:, 1] = (u[:, 1] * (w - bw + 1)).floor().long().clamp(max=w - 1)
    boxes[:, 2], boxes[:, 3] = bh, bw
    return boxes


def box_mask(boxes: Tensor, h: int, w: int, device: torch.device) -> Tensor:
    """(n, 4) boxes -> (n, 1, h, w) bool mask of erased pixels."""
    b = boxes.to(device)
    ys = torch.arange(h, device=device).view(1, h)
    xs = torch.arange(w, device=device).view(1, w)
    my = (ys >= b[:, :1]) & (ys < b[:, :1] + b[:, 2:3])
    mx = (xs >= b[:, 1:2]) & (xs < b[:, 1:2] + b[:, 3:4])
    return (my[:, :, None] & mx[:, None, :]).unsqueeze(1)


def apply_erase(x: Tensor, boxes: Tensor) -> Tensor:
    """Fill the boxes with 0 (the normalised mean colour, as the paper's fill 0)."""
    m = box_mask(boxes, x.shape[2], x.shape[3], x.device)
    return x.masked_fill(m, 0.0)


@dataclass
class AugmentSpec:
    """The training augmentation of EAC.md, plus the random shift and mirror of small-image recipes
    (`crop_pad` > 0: a random crop of the original size from the image padded by that many pixels;
    `hflip_p`: mirror an image with that probability). Both are off by default (the paper's recipe)."""
    erase_p: float = 0.5
    erase_scale: tuple[float, float] = (0.02, 0.25)
    erase_ratio: tuple[float, float] = (0.3, 3.3)
    noise_std: float = 5.5
    noise_p: float = 0.5
    flip_order: str = "erase-then-flip"
    crop_pad: int = 0
    hflip_p: float = 0.0


def shift_and_mirror(xb: Tensor, pad: int, hflip_p: float, gen: torch.Generator) -> Tensor:
    """(N, H, W, C) uint8 -> the same shape: a random H x W crop of the zero-padded image (offsets
    0..2*pad per sample), then a left-right mirror with probability `hflip_p` per sample."""
    n, h, w = xb.shape[0], xb.shape[1], xb.shape[2]
    if pad > 0:
        padded = torch.nn.functional.pad(xb.permute(0, 3, 1, 2), (pad, pad, pad, pad)).permute(0, 2, 3, 1)
        off = torch.randint(0, 2 * pad + 1, (n, 2), generator=gen)
        rows = off[:, :1] + torch.arange(h)
        cols = off[:, 1:] + torch.arange(w)
        xb = padded[torch.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]
    if hflip_p > 0:
        mirror = (torch.rand(n, generator=gen) < hflip_p).view(n, 1, 1, 1)
        xb = torch.where(mirror, xb.flip(2), xb)
    return xb


def make_views(xb: Tensor, spec: Preprocessing, aug: AugmentSpec, gen: torch.Generator, device: torch.device,
               two_views: bool, channels_last: bool = False) -> tuple[Tensor, Tensor | None, Tensor]:
    """Uint8 batch -> (view1, view2 or None, erased (n,) bool). view1 = erase(noise(shift_mirror(x)));
    erase-then-flip: view2 = flip(view1); flip-then-erase: view2 = erase'(flip(noise(x)))."""
    n, h, w = xb.shape[0], xb.shape[1], xb.shape[2]
    if aug.crop_pad > 0 or aug.hflip_p > 0:
        xb = shift_and_mirror(xb, aug.crop_pad, aug.hflip_p, gen)
    noise = None
    if aug.noise_std > 0 and aug.noise_p > 0:
        pick = (torch.rand(n, generator=gen) < aug.noise_p).float().view(n, 1, 1, 1)
        if device.type == "cuda":     # draw the pixels on the GPU from a generator seeded by this step's
            dev_gen = torch.Generator(device=device).manual_seed(int(torch.randint(0, 2 ** 62, (1,), generator=gen)))
            noise = torch.randn(n, 3, h, w, generator=dev_gen, device=device) * aug.noise_std * pick.to(device)
        else:
            noise = torch.randn(n, 3, h, w, generator=gen) * aug.noise_std * pick
    x = normalise(xb, spec, device, channels_last=False, noise=noise)
    boxes = erase_boxes(n, h, w, aug.erase_p, aug.erase_scale, aug.erase_ratio, gen)
    v1 = apply_erase(x, boxes)
    v2 = None
    if two_views:
        if aug.flip_order == "erase-then-flip":
            v2 = v1.flip(3)
        else:
            boxes2 = erase_boxes(n, h, w, aug.erase_p, aug.erase_scale, aug.erase_ratio, gen)
            v2 = apply_erase(x.flip(3), boxes2)
    if channels_last:
        v1 = v1.contiguous(memory_format=torch.channels_last)
        v2 = v2.contiguous(memory_format=torch.channels_last) if v2 is not None else None
    return v1, v2, boxes[:, 2] > 0


def fixed_erasures(n: int, h: int, w: int, repeats: int, seed: int) -> Tensor:
    """(n, repeats, 4) erasure boxes per sample, fixed for the whole run (erase sensitivity)."""
    gen = epoch_generator(seed, -1, stream=3)
    out = torch.zeros(n, max(repeats, 0), 4, dtype=torch.long)
    for r in range(repeats):
        out[:, r] = erase_boxes(n, h, w, 1.0, (0.02, 0.25), (0.3, 3.3), gen)
    return out
