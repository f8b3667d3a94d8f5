"""Fixtures that make images of every special kind at run time (never committed)."""
from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

# ../shared/data from the project root; SHARED_DATA_DIR overrides it (e.g. to check the skips)
SHARED_DATA = Path(os.environ.get("SHARED_DATA_DIR") or Path(__file__).resolve().parents[2].parent / "shared" / "data")


def rgb_pattern(h: int = 24, w: int = 32, seed: int = 0) -> np.ndarray:
    """A small seeded HxWx3 uint8 picture."""
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def png_declaring(width: int, height: int) -> bytes:
    """A PNG whose header declares width x height but whose data is a few bytes (a 'bomb')."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


def write_png(path: Path, arr: np.ndarray | None = None, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb_pattern(seed=seed) if arr is None else arr).save(path)
    return path


def make_special_images(folder: Path) -> dict[str, Path]:
    """Every special and bad image kind of the bad-input corpus, written into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    f: dict[str, Path] = {}
    base = np.zeros((20, 30, 3), np.uint8)
    base[:, :15] = (200, 40, 10)  # left half red-ish, right half black

    f["rgb_png"] = write_png(folder / "rgb.png", base)
    rgba = np.zeros((10, 10, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[:, 5:, 3] = 255  # left half fully transparent -> white, right half opaque red
    Image.fromarray(rgba, "RGBA").save(folder / "alpha.png")
    f["alpha_png"] = folder / "alpha.png"

    ramp = (np.arange(16 * 16, dtype=np.uint32).reshape(16, 16) * 257).astype(np.uint16)
    Image.fromarray(ramp).save(folder / "gray16.png")  # I;16: 0, 257, 514, ... -> 0, 1, 2, ...
    f["png16"] = folder / "gray16.png"

    Image.fromarray(base).convert("P", palette=Image.Palette.ADAPTIVE, colors=4).save(folder / "palette.tiff")
    f["palette_tiff"] = folder / "palette.tiff"

    Image.fromarray(base).convert("CMYK").save(folder / "cmyk.jpg", quality=100)
    f["cmyk_jpg"] = folder / "cmyk.jpg"

    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: rotate 90 degrees clockwise to display
    Image.fromarray(base).save(folder / "exif_rotated.jpg", quality=100, exif=exif)
    f["exif_jpg"] = folder / "exif_rotated.jpg"

    Image.fromarray(base[..., 0]).save(folder / "gray.jpg", quality=100)
    f["gray_jpg"] = folder / "gray.jpg"

    (folder / "zero.jpg").write_bytes(b"")
    f["zero_byte"] = folder / "zero.jpg"

    Image.fromarray(rgb_pattern(64, 64)).save(folder / "full.jpg", quality=90)
    data = (folder / "full.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (folder / "full.jpg").unlink()
    f["truncated_jpg"] = folder / "truncated.jpg"

    (folder / "text.jpg").write_text("this is not an image\n")
    f["text_jpg"] = folder / "text.jpg"

    (folder / "bomb.png").write_bytes(png_declaring(20000, 20000))  # 400 million pixels
    f["bomb_png"] = folder / "bomb.png"
    (folder / "bomb_moderate.png").write_bytes(png_declaring(10000, 10000))  # 100 million
    f["bomb_moderate_png"] = folder / "bomb_moderate.png"
    return f


@pytest.fixture
def special_images(tmp_path: Path) -> dict[str, Path]:
    return make_special_images(tmp_path / "special")


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real test data not found at {SHARED_DATA} (../shared/data from the project root)")
    return SHARED_DATA


@pytest.fixture
def run_import(tmp_path):
    """import_dataset into a fresh folder under tmp_path; returns the ImportResult."""
    from data_tools.importers import import_dataset
    made = []

    def run(fmt: str, root: Path, **options):
        out = tmp_path / f"dataset{len(made)}"
        made.append(out)
        return import_dataset(fmt, root, out, **options)
    return run


def _reasons(result) -> dict[str, str]:
    """report.csv as {path: reason}."""
    return dict(zip(result.report["path"], result.report["reason"]))


def _check_counts(result) -> None:
    """The promise of every import: read = imported + rejected, as written to disk too."""
    import json

    import pandas as pd
    info = json.loads((result.out / "dataset.json").read_text())
    man = pd.read_csv(result.out / "manifest.csv", dtype=str, keep_default_na=False)
    rep = pd.read_csv(result.out / "report.csv", dtype=str, keep_default_na=False)
    assert info["counts"]["imported"] == len(man) == len(result.manifest)
    assert info["counts"]["rejected"] == len(rep) == len(result.report)
    assert info["counts"]["read"] == len(man) + len(rep)
    assert list(rep.columns) == ["file", "row", "sample_id", "path", "label", "reason"]


@pytest.fixture
def reasons():
    """report.csv of an ImportResult as {path: reason}."""
    return _reasons


@pytest.fixture
def check_counts():
    """Asserts read = imported + rejected for an ImportResult, on disk too."""
    return _check_counts


def py2_pickle_bytes(obj, numpy_module: str = "numpy.core.multiarray") -> bytes:
    """`obj` pickled as Python 2 + numpy 1 wrote it (CIFAR-100's files, the face weights): protocol 2,
    every ASCII str and every bytes as a py2 `str` (SHORT_BINSTRING/BINSTRING, no `_codecs`), arrays
    through `numpy_module`._reconstruct ("numpy._core.multiarray" for files re-pickled by numpy 2)."""
    import io
    import pickle

    class Py2Pickler(pickle._Pickler):  # the pure-Python pickler takes per-type dispatch entries
        dispatch = dict(pickle._Pickler.dispatch)

        def save_py2str(self, obj):
            if isinstance(obj, str) and not obj.isascii():
                return self.save_str(obj)
            data = obj.encode("ascii") if isinstance(obj, str) else obj
            n = len(data)
            self.write(pickle.SHORT_BINSTRING + bytes([n]) + data if n < 256
                       else pickle.BINSTRING + n.to_bytes(4, "little") + data)
            self.memoize(obj)
        dispatch[bytes] = save_py2str
        dispatch[str] = save_py2str

    buf = io.BytesIO()
    Py2Pickler(buf, protocol=2).dump(obj)
    data = buf.getvalue()
    for spelling in (b"numpy._core.multiarray", b"numpy.core.multiarray"):
        data = data.replace(spelling + b"\n", numpy_module.encode() + b"\n")
    return data


@pytest.fixture
def py2_pickle():
    """py2_pickle(obj, numpy_module=...) -> bytes: see py2_pickle_bytes."""
    return py2_pickle_bytes
