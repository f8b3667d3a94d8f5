"""Per-image measurements for the image-level issues, computed from the decoded pixels once (at import,
in the workers that decode the image anyway): a 128-bit hash of the pixels (exact duplicates), a 64-bit
perceptual hash and four keypoint-aligned 64-bit hashes (near duplicates) and the quality statistics of
the luminance (dark, bright, blank, low information, blurry). One record of `SIGNATURE` (80 bytes) per
image, so 2,000,000 rows hold 160 MB.

The perceptual hash is the DCT hash of imagehash.phash (luminance resized to 32x32, 2-D DCT, the 8x8
lowest frequencies compared with their median). It does not survive a shift: one pixel of 48 moves
8 of its 64 bits, as far as two different faces. The `shift` hashes do (`keypoint_hashes`): the same
DCT hash of a patch centred on one of the image's two strongest dark blobs (difference of Gaussians on
the 48x48 luminance, away from the border, sub-pixel), so a shifted copy finds the same blob and the
same patch; each patch is hashed as it is and zoomed in by ZOOM (a copy cropped by up to ~5 % and resized
to the original size). Images of one size are measured together, as arrays (`signatures_batch`):
OpenCV resizes the stacked images one axis at a time, the DCT is its orthonormal basis as a
matrix (the patches' sampling too), the statistics come from one histogram per image.
"""
from __future__ import annotations

import hashlib
import struct
from collections import defaultdict
from functools import lru_cache

import cv2
import numpy as np

SIGNATURE = np.dtype([("exact", "V16"), ("phash", "<u8"), ("mean", "<f4"), ("std", "<f4"),
                      ("p01", "<f4"), ("p99", "<f4"), ("entropy", "<f4"), ("sharpness", "<f4"),
                      ("shift", "<u8", (4,))])
EMPTY = np.zeros((), SIGNATURE)        # the record of a row whose image was not measured (std NaN)
EMPTY["std"] = np.nan
BLUR_SIDE = 64                         # sharpness is measured at one size, whatever the image's
_PACK = struct.Struct("<16sQ6f4Q")
# keypoint-aligned hashes (`keypoint_hashes`; chosen on fer2013_dev, bench/results/issue_types.md section 5)
KP_SIDE = 48             # keypoints and patches on the luminance resized to this side
KP_SIGMAS = (2.0, 4.0)   # difference of Gaussians (pixels at KP_SIDE): blobs about 5-10 px across
KP_MARGIN = 0.2          # keypoints at least this share of the side from the border
KP_APART = 0.2           # the second keypoint at least this share of the side from the first (each axis)
KP_PATCH = 0.5           # the hashed patch's side, a share of the image's
ZOOM = 1.05              # the query patches' zoom (a copy cropped to 1/ZOOM of the side and resized)
SHIFT_STORED = 2         # shift[:, :2]: the two patches as they are; shift[:, 2:]: zoomed in by ZOOM
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


def _blur(images: np.ndarray, sigma: float) -> np.ndarray:
    """(B, H, W) float32 Gaussian-blurred per image (OpenCV, reflected border, 3 sigma)."""
    k = 2 * int(np.ceil(3 * sigma)) + 1
    out = np.empty_like(images)
    for i, im in enumerate(images):
        cv2.GaussianBlur(im, (k, k), sigma, dst=out[i], borderType=cv2.BORDER_REFLECT)
    return out


@lru_cache(maxsize=4)
def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    return np.divmod(np.arange(h * w), w)


def _keypoints(g: np.ndarray, k: int = SHIFT_STORED) -> np.ndarray:
    """(B, k, 2) x, y of the k strongest dark blobs of (B, S, S) float32 images: maxima of the difference
    of Gaussians at least KP_MARGIN of the side from the border, each next one outside a square of
    KP_APART around the ones before, refined to a sub-pixel position by a parabola on each axis."""
    b, side = len(g), g.shape[1]
    dog = _blur(g, KP_SIGMAS[1] * side / KP_SIDE) - _blur(g, KP_SIGMAS[0] * side / KP_SIDE)  # dark blob: > 0
    m = max(1, int(round(KP_MARGIN * side)))
    h = w = side - 2 * m
    left = dog[:, m:side - m, m:side - m].reshape(b, -1)
    ys, xs = _grid(h, w)
    apart = int(round(KP_APART * side))
    rows = np.arange(b)
    out = np.empty((b, k, 2), np.float32)
    for j in range(k):
        best = left.argmax(1)
        y, x = ys[best] + m, xs[best] + m
        lo = np.stack([dog[rows, y, x - 1], dog[rows, y - 1, x]], 1)          # neighbours on x, on y
        hi = np.stack([dog[rows, y, x + 1], dog[rows, y + 1, x]], 1)
        curve = lo - 2 * dog[rows, y, x][:, None] + hi
        step = np.zeros_like(curve)
        np.divide(0.5 * (lo - hi), curve, out=step, where=curve < 0)
        out[:, j] = np.stack([x, y], 1) + np.clip(step, -0.5, 0.5)
        if j + 1 < k:
            if j == 0:
                left = left.copy()
            left[(np.abs(ys[None] - (y - m)[:, None]) <= apart) & (np.abs(xs[None] - (x - m)[:, None]) <= apart)] = -np.inf
    return out


def _sampling(coords: np.ndarray, side: int) -> np.ndarray:
    """(n, S) coordinates -> (n, S, side) linear-interpolation weights (coordinates reflected into 0..side-1)."""
    period = 2 * (side - 1)
    c = np.abs(np.mod(coords, period))
    c = np.where(c > side - 1, period - c, c)
    x0 = np.minimum(np.floor(c).astype(np.int64), side - 2)
    f = (c - x0).astype(np.float32)
    n, s = c.shape
    w = np.zeros((n, s, side), np.float32)
    ni, si = np.arange(n)[:, None], np.arange(s)[None, :]
    w[ni, si, x0] = 1 - f
    w[ni, si, x0 + 1] = f
    return w


def keypoint_hashes(gray: np.ndarray) -> np.ndarray:
    """(B, 4) uint64 of (B, H, W) float32 luminance images: the DCT hash (as `phash`) of the 32x32 patch
    of side KP_PATCH centred on each of the two keypoints (`_keypoints`), then of the same patches
    zoomed in by ZOOM. Resampled once: the patch's DCT is (D Wy) G (D Wx)^T with Wx, Wy the sampling
    weights."""
    g = gray if gray.shape[1:] == (KP_SIDE, KP_SIDE) else _resize(gray, KP_SIDE, KP_SIDE)
    g = np.ascontiguousarray(g, np.float32)
    b = len(g)
    kp = _keypoints(g)
    zooms = np.array([1.0, ZOOM], np.float32)
    u = (np.arange(32, dtype=np.float32) - 15.5) * (KP_PATCH * KP_SIDE / 32)
    step = u[None, :, None, None] / zooms[None, None, :, None]                      # (1, 32, zooms, 1)
    cx = (kp[:, None, None, :, 0] + step).transpose(0, 2, 3, 1).reshape(-1, 32)    # (b * zooms * k, 32)
    cy = (kp[:, None, None, :, 1] + step).transpose(0, 2, 3, 1).reshape(-1, 32)
    d = _dct8()
    c = len(zooms) * SHIFT_STORED
    ax, ay = d @ _sampling(cx, KP_SIDE), d @ _sampling(cy, KP_SIDE)                # (b * c, 8, side)
    # G (D Wx)^T for the c patches of an image at once, then (D Wy) on each
    right = g @ ax.reshape(b, c * 8, KP_SIDE).transpose(0, 2, 1)                    # (b, side, c * 8)
    low = (ay.reshape(b, c, 8, KP_SIDE) @ right.reshape(b, KP_SIDE, c, 8).transpose(0, 2, 1, 3)).reshape(-1, 64)
    mid = np.partition(low, (31, 32), axis=1)
    bits = (low > ((mid[:, 31] + mid[:, 32]) / 2)[:, None]).astype(np.uint64) @ _BITS
    return bits.reshape(b, c)


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
    """SIGNATURE records (80 raw bytes each) of HxWx3 uint8 RGB images that share one size."""
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
    kh = keypoint_hashes(g)
    # sharpness: variance of the Laplacian (cv2's 3x3, reflected border) at BLUR_SIDE x BLUR_SIDE
    k = BLUR_SIDE + 2
    side = np.empty((b, k, k), np.float32)
    side[:, 1:-1, 1:-1] = _resize(g, BLUR_SIDE, BLUR_SIDE)
    side[:, 0], side[:, -1] = side[:, 2], side[:, -3]              # reflected border (cv2's default)
    side[:, :, 0], side[:, :, -1] = side[:, :, 2], side[:, :, -3]
    lap = cv2.Laplacian(side.reshape(b * k, k), cv2.CV_32F).reshape(b, k, k)[:, 1:-1, 1:-1]
    sharp = lap.var(axis=(1, 2), dtype=np.float64)     # as float64 values; 5 against 33 us an image (astype first)
    return [_PACK.pack(pixel_hash(rgbs[i]), int(ph[i]), mean[i], std[i], float(p01[i]), float(p99[i]),
                       entropy[i], sharp[i], *map(int, kh[i])) for i in range(b)]


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
    """The SIGNATURE record of one HxWx3 uint8 RGB image, as its 80 raw bytes."""
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
