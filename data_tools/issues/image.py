"""Per-image measurements for the image-level issues, computed from the decoded pixels once (at import,
in the workers that decode the image anyway): a 128-bit hash of the pixels (exact duplicates), a 64-bit
perceptual hash (near duplicates) and the quality statistics of the luminance (dark, bright, blank, low
information, blurry). One record of `SIGNATURE` (40 bytes) per image, so 2,000,000 rows hold 80 MB.

The perceptual hash is the DCT hash of imagehash.phash (luminance resized to 32x32, 2-D DCT, the 8x8
lowest frequencies compared with their median). Images of one size are measured together, as arrays
(`signatures_batch`): OpenCV resizes the stacked images one axis at a time, the DCT is its orthonormal
basis as a matrix, the statistics come from one histogram per image.
"""
from __future__ import annotations

import hashlib
import struct
from collections import defaultdict
from functools import lru_cache

import cv2
import numpy as np

SIGNATURE = np.dtype([("exact", "V16"), ("phash", "<u8"), ("mean", "<f4"), ("std", "<f4"),
                      ("p01", "<f4"), ("p99", "<f4"), ("entropy", "<f4"), ("sharpness", "<f4")])
EMPTY = np.zeros((), SIGNATURE)        # the record of a row whose image was not measured (std NaN)
EMPTY["std"] = np.nan
BLUR_SIDE = 64                         # sharpness is measured at one size, whatever the image's
_PACK = struct.Struct("<16sQ6f")
_BITS = np.uint64(1) << np.arange(63, -1, -1, dtype=np.uint64)   # the 8x8 block's bits, DC term highest
BATCH_PIXELS = 256 * 256                 # images larger than this are measured one at a time
_CLOG = np.zeros(65_537)                         # c * log2(c) for integer counts c (0 log 0 = 0)
_CLOG[1:] = np.arange(1, 65_537) * np.log2(np.arange(1, 65_537))
assert _PACK.size == SIGNATURE.itemsize


def luminance(rgb: np.ndarray) -> np.ndarray:
    """HxW uint8 luminance (ITU-R BT.601, OpenCV's) of an HxWx3 uint8 RGB image."""
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def pixel_hash(rgb: np.ndarray) -> bytes:
    """16 bytes of blake2b over the shape and the decoded pixels: equal only for the same pixels."""
    h = hashlib.blake2b(np.asarray(rgb.shape, np.int64).tobytes(), digest_size=16)
    h.update(memoryview(np.ascontiguousarray(rgb)).cast("B"))
    return h.digest()


@lru_cache(maxsize=1)
def _dct8() -> np.ndarray:
    """The first 8 rows of the orthonormal 32-point DCT-II basis (cv2.dct's)."""
    k, x = np.arange(8)[:, None], np.arange(32)[None, :]
    d = np.cos(np.pi * (2 * x + 1) * k / 64) * np.sqrt(2 / 32)
    d[0] /= np.sqrt(2)
    return d.astype(np.float32)


def _resize(images: np.ndarray, h_out: int, w_out: int) -> np.ndarray:
    """(B, H, W) float32 -> (B, h_out, w_out) as cv2.resize of each (INTER_AREA shrinking, INTER_LINEAR
    growing, one axis at a time, both separable): two cv2.resize calls on the images stacked."""
    b, h, w = images.shape
    cols = cv2.resize(images.reshape(b * h, w), (w_out, b * h), interpolation=_interp(w, w_out))
    turned = np.ascontiguousarray(cols.reshape(b, h, w_out).transpose(0, 2, 1)).reshape(b * w_out, h)
    rows = cv2.resize(turned, (h_out, b * w_out), interpolation=_interp(h, h_out))
    return rows.reshape(b, w_out, h_out).transpose(0, 2, 1)


def _interp(n_in: int, n_out: int) -> int:
    return cv2.INTER_AREA if n_out <= n_in else cv2.INTER_LINEAR


def phash(gray: np.ndarray) -> int:
    """64-bit DCT perceptual hash of an HxW uint8 image (imagehash.phash's algorithm, hash_size 8:
    the 8x8 lowest DCT frequencies of the 32x32 image against their median; bit 63 is the DC term)."""
    return int(_phashes(gray[None].astype(np.float32))[0])


def _phashes(gray: np.ndarray) -> np.ndarray:
    small = _resize(gray, 32, 32)
    d = _dct8()
    low = (d @ small @ d.T).reshape(len(gray), 64)
    mid = np.partition(low, (31, 32), axis=1)
    return (low > ((mid[:, 31] + mid[:, 32]) / 2)[:, None]).astype(np.uint64) @ _BITS


def signatures_batch(rgbs: list[np.ndarray]) -> list[bytes]:
    """SIGNATURE records (40 raw bytes each) of HxWx3 uint8 RGB images that share one size."""
    b = len(rgbs)
    if not b:
        return []
    h, w = rgbs[0].shape[:2]
    n = h * w
    gray = cv2.cvtColor(np.concatenate(rgbs, 0), cv2.COLOR_RGB2GRAY).reshape(b, h, w)
    hist = np.bincount((gray.reshape(b, n) + (256 * np.arange(b, dtype=np.int64))[:, None]).ravel(),
                       minlength=256 * b).reshape(b, 256)
    levels = np.arange(256.0)
    mean = hist @ levels / n
    std = np.sqrt(np.maximum(hist @ (levels * levels) / n - mean * mean, 0.0))
    cdf = hist.cumsum(1)
    p01, p99 = (cdf < 0.01 * n).sum(1), (cdf < 0.99 * n).sum(1)       # = searchsorted, side left
    if n < len(_CLOG):          # entropy from integer counts: log2(n) - sum(c log2 c) / n
        entropy = np.log2(n) - _CLOG[hist].sum(1) / n
    else:
        q = hist / n
        entropy = -(np.where(q > 0, q * np.log2(np.where(q > 0, q, 1)), 0)).sum(1)
    g = gray.astype(np.float32)
    ph = _phashes(g)
    # sharpness: variance of the Laplacian (cv2's 3x3, reflected border) at BLUR_SIDE x BLUR_SIDE
    k = BLUR_SIDE + 2
    side = np.empty((b, k, k), np.float32)
    side[:, 1:-1, 1:-1] = _resize(g, BLUR_SIDE, BLUR_SIDE)
    side[:, 0], side[:, -1] = side[:, 2], side[:, -3]              # reflected border (cv2's default)
    side[:, :, 0], side[:, :, -1] = side[:, :, 2], side[:, :, -3]
    lap = cv2.Laplacian(side.reshape(b * k, k), cv2.CV_32F).reshape(b, k, k)[:, 1:-1, 1:-1]
    sharp = lap.reshape(b, -1).astype(np.float64).var(1)
    return [_PACK.pack(pixel_hash(rgbs[i]), int(ph[i]), mean[i], std[i], float(p01[i]), float(p99[i]),
                       entropy[i], sharp[i]) for i in range(b)]


def signatures_of(rgbs: list[np.ndarray]) -> list[bytes]:
    """`signatures_batch` of images of any sizes: those of one size measured together (large ones alone)."""
    out: list[bytes] = [b""] * len(rgbs)
    by_size: dict[tuple, list[int]] = defaultdict(list)
    for i, im in enumerate(rgbs):
        by_size[im.shape if im.shape[0] * im.shape[1] <= BATCH_PIXELS else ("alone", i)].append(i)
    for idx in by_size.values():
        for i, rec in zip(idx, signatures_batch([rgbs[i] for i in idx])):
            out[i] = rec
    return out


def signature_bytes(rgb: np.ndarray) -> bytes:
    """The SIGNATURE record of one HxWx3 uint8 RGB image, as its 40 raw bytes."""
    return signatures_batch([rgb])[0]


def signature(rgb: np.ndarray) -> np.ndarray:
    """The SIGNATURE record (a 0-d structured array) of one HxWx3 uint8 RGB image."""
    return np.frombuffer(signature_bytes(rgb), SIGNATURE)[0]


def signatures(records: list[bytes]) -> np.ndarray:
    """(N,) SIGNATURE array from `signature_bytes` results (b"" = not measured: EMPTY, sharpness NaN)."""
    out = np.zeros(len(records), SIGNATURE)
    blank = EMPTY.tobytes()
    out[:] = np.frombuffer(b"".join(r or blank for r in records), SIGNATURE)
    return out
