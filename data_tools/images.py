"""Safe image decoding for the whole product: any common file in, HxWx3 uint8 RGB out.

The declared size is read from the header before any pixel is decoded, so a file that claims an
absurd size (a decompression bomb) is refused without allocating memory for it.
"""
from __future__ import annotations

import os
import re
import stat
import struct
import warnings
import zlib
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

# Pillow's own default (1024 * 1024 * 1024 // 4 // 3); Pillow refuses twice this by itself.
MAX_PIXELS = 89_478_485
IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".bmp", ".dib", ".tif", ".tiff",
                              ".gif", ".webp", ".ppm", ".pgm", ".pbm", ".pnm", ".tga", ".jp2"})
_ORIENTATION = 0x0112
# Pillow warns when it opens a header over its limit; load_image refuses such files itself with a
# clear error, so the warning would only repeat it (Pillow's hard error above twice the limit stays).
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)


class ImageError(ValueError):
    """An image file that cannot be used; `reason` says why, str() names the file too."""

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(f"{printable(self.path)}: {reason}")


def printable(text: str) -> str:
    """`text` made safe to print or write as UTF-8: undecodable bytes shown as \\xNN, one line."""
    text = str(text).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return text.replace("\r", "\\r").replace("\n", "\\n")


def is_image_name(name: str) -> bool:
    """True for a file name with a common image extension."""
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def _stat(p: str) -> os.stat_result:
    """The file's stat; ImageError for a missing, unreadable, folder or empty path."""
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise ImageError(p, "no such file") from None
    except OSError as e:
        raise ImageError(p, f"cannot be read ({e.strerror or e})") from None
    if stat.S_ISDIR(st.st_mode):
        raise ImageError(p, "is a folder, not an image file")
    if st.st_size == 0:
        raise ImageError(p, "empty file (0 bytes)")
    return st


def _open(p: str, max_pixels: int) -> Image.Image:
    """Open `p` (past `_stat`) with Pillow, reading only its header; refuse non-image and oversized files."""
    try:
        im = Image.open(p)
    except Image.DecompressionBombError as e:  # over Pillow's own hard limit (twice ours by default)
        m = re.search(r"\((\d+) pixels\)", str(e))
        declared = f"{int(m.group(1)):,} pixels" if m else "too many pixels"
        raise ImageError(p, f"declares {declared}, over the limit of {min(max_pixels, _pillow_limit()):,} "
                            "(refused as a possible decompression bomb)") from None
    except UnidentifiedImageError:
        raise ImageError(p, "not an image (format not recognised)") from None
    except PermissionError:
        raise ImageError(p, "cannot be read (permission denied)") from None
    except (OSError, SyntaxError, ValueError) as e:  # Pillow plugins raise any of these on bad headers
        raise ImageError(p, f"broken image header ({_one_line(e)})") from None
    w, h = im.size
    if w <= 0 or h <= 0:
        im.close()
        raise ImageError(p, f"declares an empty size {w}x{h}")
    if w * h > max_pixels:
        im.close()
        raise ImageError(p, f"declares {w}x{h} = {w * h:,} pixels, over the limit of {max_pixels:,} "
                            "(refused as a possible decompression bomb)")
    return im


def _pillow_limit() -> int:
    return 2 * int(Image.MAX_IMAGE_PIXELS) if Image.MAX_IMAGE_PIXELS else MAX_PIXELS


def _one_line(e: BaseException) -> str:
    text = str(e).strip() or type(e).__name__
    return printable(text.splitlines()[0])


def image_size(path: str | os.PathLike, *, max_pixels: int = MAX_PIXELS) -> tuple[int, int]:
    """(width, height) as declared in the header, without decoding; ImageError when unusable."""
    p = os.fspath(path)
    _stat(p)
    with _open(p, max_pixels) as im:
        return im.size


def _to_rgb(im: Image.Image) -> np.ndarray:
    mode = im.mode
    if mode == "RGB":
        return np.asarray(im)
    if mode.startswith("I;16") or mode in ("I", "F"):
        arr = np.asarray(im)
        if mode.startswith("I;16") or (mode == "I" and arr.size and arr.max() > 255):
            arr = (arr.astype(np.uint32) + 128) // 257  # 16-bit range onto 8 bits (Pillow would clip)
        elif mode == "F":
            lo, hi = (float(arr.min()), float(arr.max())) if arr.size else (0.0, 1.0)
            arr = (arr - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(arr)
        gray = np.clip(arr, 0, 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif mode == "L":            # the grey faces of most expression datasets: 7.6 against 11.2 us at 48 px
        return cv2.cvtColor(np.asarray(im), cv2.COLOR_GRAY2RGB)
    elif mode == "1":
        return np.asarray(im.convert("RGB"))
    if im.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(background, rgba).convert("RGB"))
    return np.asarray(im.convert("RGB"))  # CMYK (Adobe inversion handled by Pillow), YCbCr, LAB, ...


_PNG = b"\x89PNG\r\n\x1a\n"
_PNG_MIN = 57                    # bytes: the signature, IHDR and IEND
# Chunks that change nothing Pillow decodes (colour-space hints, resolution, time). A PNG holding any
# other (tRNS, PLTE, eXIf, zTXt and iTXt that may carry "Raw profile type exif", iCCP, on which libpng
# prints warnings) goes to Pillow.
_PLAIN_CHUNKS = frozenset({b"IHDR", b"IDAT", b"IEND", b"gAMA", b"cHRM", b"sRGB", b"pHYs", b"tIME", b"tEXt"})
_CHUNK = struct.Struct(">I4s")
_FILTERS = bytes(range(5))       # the filter types a PNG row may start with


def _plain_png(data: bytes, max_pixels: int) -> np.ndarray | None:
    """The pixels of `data` as HxWx3 RGB when it is a whole, plain PNG, decoded by libpng through
    OpenCV; None for any other file, which Pillow then decodes or refuses with its reason.

    Plain: 8-bit grey or RGB, not interlaced, only `_PLAIN_CHUNKS`, every CRC right, IEND reached, and
    the image data inflating to exactly one filter byte (0-4) and one row of pixels per row: libpng
    then has nothing to refuse or to print a warning about. A 48-px face: 47 us here (libpng and the
    colour conversion 30-33 of it, the checks the rest), 83-85 us through Pillow (the import decodes
    2,000,000 of them); the pixels are the same (a lossless format; the tests hold the two to equality
    on every real face and on damaged files)."""
    if len(data) < _PNG_MIN or not data.startswith(_PNG):
        return None
    view = memoryview(data)
    pos, end, idat = 8, len(data), []
    while True:
        if pos + 12 > end:
            return None                                      # truncated: Pillow says so
        length, kind = _CHUNK.unpack_from(data, pos)
        stop = pos + 12 + length
        if kind not in _PLAIN_CHUNKS or stop > end or \
                zlib.crc32(view[pos + 4:stop - 4]) != int.from_bytes(view[stop - 4:stop], "big"):
            return None
        if pos == 8:
            if kind != b"IHDR" or length != 13:
                return None
            w, h, depth, colour, method, filters, interlace = struct.unpack_from(">IIBBBBB", data, 16)
            if depth != 8 or colour not in (0, 2) or method or filters or interlace or not 0 < w * h <= max_pixels:
                return None
        elif kind == b"IDAT":
            idat.append(view[pos + 8:stop - 4])
        elif kind == b"IHDR" or (kind == b"tEXt" and view[pos + 8:stop - 4].tobytes().startswith(b"Raw profile")):
            return None
        if kind == b"IEND":
            break
        pos = stop
    stride = 1 + w * (1 if colour == 0 else 3)
    inflate = zlib.decompressobj()
    try:
        rows = inflate.decompress(idat[0] if len(idat) == 1 else b"".join(idat), stride * h + 1)
    except zlib.error:
        return None
    if not inflate.eof or inflate.unused_data or len(rows) != stride * h or \
            rows[::stride].translate(None, _FILTERS):
        return None
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None or arr.dtype != np.uint8 or arr.shape[:2] != (h, w):
        return None
    if arr.ndim == 2:
        return cv2.cvtColor(arr, cv2.COLOR_GRAY2RGB)
    return cv2.cvtColor(arr, cv2.COLOR_BGR2RGB) if arr.shape[2] == 3 else None


def _read_plain_png(p: str, st: os.stat_result, max_pixels: int) -> np.ndarray | None:
    """`_plain_png` of the regular file `p` (stat `st`) when it is named .png and its first bytes are a
    PNG's, else None. The name is looked at first so that other images (JPEG datasets) are not opened
    twice (7.5 us a file); a PNG named otherwise is decoded by Pillow, as before."""
    if p[-4:].lower() != ".png" or not stat.S_ISREG(st.st_mode) or st.st_size < _PNG_MIN:
        return None
    try:
        with open(p, "rb") as f:
            if f.peek(8)[:8] != _PNG:
                return None
            data = f.read()
    except OSError:
        return None                     # Pillow opens it again and names the problem
    return _plain_png(data, max_pixels)


def load_image(path: str | os.PathLike, *, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode any common image file to HxWx3 uint8 RGB with EXIF rotation applied.

    Transparent pixels are composited on white; 16-bit images are scaled to 8 bits; palette, CMYK
    and grayscale images are converted. Raises ImageError (one line naming the file) for missing,
    empty, truncated, non-image and oversized files. A plain 8-bit PNG is decoded by libpng
    (`_plain_png`), anything else by Pillow.
    """
    p = os.fspath(path)
    plain = _read_plain_png(p, _stat(p), max_pixels)
    if plain is not None:
        return plain
    im = _open(p, max_pixels)
    try:
        with im:
            im.load()
            if im.getexif().get(_ORIENTATION, 1) not in (1, None):
                im = ImageOps.exif_transpose(im)
            w, h = im.size
            if w * h > max_pixels:  # a rotation cannot grow the image, but a plugin might lie
                raise ImageError(path, f"decodes to {w}x{h} pixels, over the limit of {max_pixels:,}")
            arr = _to_rgb(im)
    except ImageError:
        raise
    except Image.DecompressionBombError as e:
        raise ImageError(path, f"refused as a possible decompression bomb ({_one_line(e)})") from None
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as e:
        msg = _one_line(e)
        if "truncated" in msg.lower():
            raise ImageError(path, "truncated image data") from None
        raise ImageError(path, f"cannot be decoded ({msg})") from None
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8:
        raise ImageError(path, f"decoded to an unexpected array {arr.shape} {arr.dtype}")
    return np.ascontiguousarray(arr)


def probe_image(path: str | os.PathLike, *, max_pixels: int = MAX_PIXELS) -> str | None:
    """Why the image at `path` cannot be used (a short reason), or None when it decodes fine."""
    try:
        load_image(path, max_pixels=max_pixels)
    except ImageError as e:
        return e.reason
    return None


def write_image(path: str | os.PathLike, rgb: np.ndarray) -> None:
    """Write an HxWx3 (or HxW) uint8 array; the format follows the extension, grayscale kept gray."""
    arr = np.asarray(rgb)
    if arr.ndim == 3 and arr.shape[2] == 3 and (arr[..., 0] == arr[..., 1]).all() \
            and (arr[..., 1] == arr[..., 2]).all():
        arr = arr[..., 0]
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    im = Image.fromarray(np.ascontiguousarray(arr))
    suffix = p.suffix.lower()
    kwargs = ({"quality": 95} if suffix in (".jpg", ".jpeg", ".jpe", ".jfif")
              else {"compress_level": 1} if suffix == ".png" else {})  # fast; small images anyway
    im.save(p, **kwargs)
