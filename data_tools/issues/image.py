"""Per-image measurements for the image-level issues, computed from the decoded pixels once (at import,
in the workers that decode the image anyway): a 128-bit hash of the pixels (exact duplicates), a 64-bit
perceptual hash (near duplicates) and the quality statistics of the luminance (dark, bright, blank, low
information, blurry). One record of `SIGNATURE` (40 bytes) per image, so 2,000,000 rows hold 80 MB.

The perceptual hash is the DCT hash of imagehash.phash (luminance resized to 32x32, 2-D DCT, the 8x8
lowest frequencies compared with their median) computed with OpenCV: imagehash's own phash measured
0.28 ms an image here against 0.03 ms for this one, and the import decodes 48-px images in 0.3 ms, so
imagehash's would cost the import most of its rate (bench/results/issue_types.md compares the two).
"""
from __future__ import annotations

import hashlib
import struct

import cv2
import numpy as np

SIGNATURE = np.dtype([("exact", "V16"), ("phash", "<u8"), ("mean", "<f4"), ("std", "<f4"),
                      ("p01", "<f4"), ("p99", "<f4"), ("entropy", "<f4"), ("sharpness", "<f4")])
EMPTY = np.zeros((), SIGNATURE)        # the record of a row whose image was not measured (std NaN)
EMPTY["std"] = np.nan
BLUR_SIDE = 64                         # sharpness is measured at one size, whatever the image's
_PACK = struct.Struct("<16sQ6f")
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


def phash(gray: np.ndarray) -> int:
    """64-bit DCT perceptual hash of an HxW uint8 image (imagehash.phash's algorithm, hash_size 8:
    the 8x8 lowest DCT frequencies of the 32x32 image against their median; bit 63 is the DC term)."""
    small = cv2.resize(gray, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32)
    low = cv2.dct(small)[:8, :8].ravel()
    mid = np.partition(low, (31, 32))
    bits = low > (mid[31] + mid[32]) / 2
    return int.from_bytes(np.packbits(bits).tobytes(), "big")


def signature_bytes(rgb: np.ndarray) -> bytes:
    """The SIGNATURE record of one HxWx3 uint8 RGB image, as its 40 raw bytes (cheap to send back
    from a worker process). Percentiles and entropy come from one 256-bin histogram."""
    gray = luminance(rgb)
    mean_sd = cv2.meanStdDev(gray)
    hist = cv2.calcHist([gray], [0], None, [256], [0, 256]).ravel()
    n = gray.size
    p01, p99 = np.searchsorted(np.cumsum(hist), (0.01 * n, 0.99 * n))
    if n < len(_CLOG):          # entropy from integer counts: log2(n) - sum(c log2 c) / n
        entropy = np.log2(n) - _CLOG[hist.astype(np.int64)].sum() / n
    else:
        q = hist[hist > 0] / n
        entropy = -(q * np.log2(q)).sum()
    small = min(gray.shape) < BLUR_SIDE
    side = cv2.resize(gray, (BLUR_SIDE, BLUR_SIDE),
                      interpolation=cv2.INTER_LINEAR if small else cv2.INTER_AREA)
    _, lap_sd = cv2.meanStdDev(cv2.Laplacian(side, cv2.CV_32F))
    return _PACK.pack(pixel_hash(rgb), phash(gray), float(mean_sd[0][0, 0]), float(mean_sd[1][0, 0]),
                      float(p01), float(p99), float(entropy), float(lap_sd[0, 0]) ** 2)


def signature(rgb: np.ndarray) -> np.ndarray:
    """The SIGNATURE record (a 0-d structured array) of one HxWx3 uint8 RGB image."""
    return np.frombuffer(signature_bytes(rgb), SIGNATURE)[0]


def signatures(records: list[bytes]) -> np.ndarray:
    """(N,) SIGNATURE array from `signature_bytes` results (b"" = not measured: EMPTY, sharpness NaN)."""
    out = np.zeros(len(records), SIGNATURE)
    blank = EMPTY.tobytes()
    out[:] = np.frombuffer(b"".join(r or blank for r in records), SIGNATURE)
    return out
