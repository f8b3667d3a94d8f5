"""Safe image decoding: special kinds decode right, bad files give one-line errors naming the file."""
from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from data_tools.images import ImageError, image_size, load_image, probe_image, write_image


def test_plain_png_round_trips(special_images):
    arr = load_image(special_images["rgb_png"])
    assert arr.shape == (20, 30, 3) and arr.dtype == np.uint8 and arr.flags["C_CONTIGUOUS"]
    assert tuple(arr[0, 0]) == (200, 40, 10) and tuple(arr[0, 29]) == (0, 0, 0)


def test_alpha_png_is_composited_on_white(special_images):
    arr = load_image(special_images["alpha_png"])
    assert arr.shape == (10, 10, 3)
    assert tuple(arr[0, 0]) == (255, 255, 255)  # transparent -> white background
    assert tuple(arr[0, 9]) == (255, 0, 0)      # opaque red stays red


def test_16bit_png_is_scaled_not_clipped(special_images):
    assert Image.open(special_images["png16"]).mode.startswith("I")
    arr = load_image(special_images["png16"])
    assert arr.shape == (16, 16, 3)
    assert arr[0, 0, 0] == 0 and arr[0, 1, 0] == 1 and arr[15, 15, 0] == 255
    assert (arr[..., 0] == arr[..., 2]).all()
    assert len(np.unique(arr)) == 256  # a clip to 255 would leave almost everything white


def test_palette_tiff_is_converted(special_images):
    assert Image.open(special_images["palette_tiff"]).mode == "P"
    arr = load_image(special_images["palette_tiff"])
    assert arr.shape == (20, 30, 3)
    assert np.abs(arr[0, 0].astype(int) - (200, 40, 10)).max() <= 8
    assert arr[0, 29].max() <= 8


def test_cmyk_jpeg_keeps_its_colours(special_images):
    assert Image.open(special_images["cmyk_jpg"]).mode == "CMYK"
    arr = load_image(special_images["cmyk_jpg"])
    assert arr.shape == (20, 30, 3)
    assert np.abs(arr[10, 3].astype(int) - (200, 40, 10)).max() <= 12
    assert arr[10, 27].max() <= 12


def test_exif_rotation_is_applied(special_images):
    arr = load_image(special_images["exif_jpg"])
    assert arr.shape == (30, 20, 3)  # stored 30 wide x 20 high, shown rotated 90 degrees clockwise
    # the stored left (red) half is now the top half
    assert arr[3, 10, 0] > 150 and arr[26, 10, 0] < 40


def test_grayscale_jpeg_becomes_three_equal_channels(special_images):
    arr = load_image(special_images["gray_jpg"])
    assert arr.shape == (20, 30, 3)
    assert (arr[..., 0] == arr[..., 1]).all() and (arr[..., 1] == arr[..., 2]).all()


@pytest.mark.parametrize("kind, reason", [
    ("zero_byte", "empty file (0 bytes)"),
    ("truncated_jpg", "truncated image data"),
    ("text_jpg", "not an image (format not recognised)"),
])
def test_bad_files_raise_one_line_error_naming_the_file(special_images, kind, reason):
    path = special_images[kind]
    with pytest.raises(ImageError) as err:
        load_image(path)
    assert err.value.reason == reason
    assert str(err.value) == f"{path}: {reason}"
    assert "\n" not in str(err.value)
    assert probe_image(path) == reason


def test_missing_file(tmp_path):
    with pytest.raises(ImageError, match="no such file") as err:
        load_image(tmp_path / "nope.png")
    assert str(err.value) == f"{tmp_path / 'nope.png'}: no such file"
    assert probe_image(tmp_path / "nope.png") == "no such file"


def test_folder_is_not_an_image(tmp_path):
    assert probe_image(tmp_path) == "is a folder, not an image file"


def test_absurd_declared_size_is_refused_before_decoding(special_images):
    # 20000 x 20000: Pillow's own guard already refuses at open (over twice its limit)
    with pytest.raises(ImageError) as err:
        load_image(special_images["bomb_png"])
    assert err.value.reason == ("declares 400,000,000 pixels, over the limit of 89,478,485 "
                                "(refused as a possible decompression bomb)")


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_our_limit_is_checked_from_the_header(special_images):
    # 10000 x 10000 = 100 million: over our 89,478,485 limit, under Pillow's hard one. The data
    # holds 64 bytes, so decoding would fail as truncated: the bomb message proves no decoding ran.
    path = special_images["bomb_moderate_png"]
    with pytest.raises(ImageError) as err:
        load_image(path)
    assert err.value.reason == ("declares 10000x10000 = 100,000,000 pixels, over the limit of 89,478,485 "
                                "(refused as a possible decompression bomb)")
    assert probe_image(path) == err.value.reason


def test_max_pixels_is_a_parameter(special_images):
    with pytest.raises(ImageError, match=r"declares 30x20 = 600 pixels, over the limit of 500"):
        load_image(special_images["rgb_png"], max_pixels=500)
    assert load_image(special_images["rgb_png"], max_pixels=600).shape == (20, 30, 3)


def test_image_size_reads_only_the_header(special_images):
    assert image_size(special_images["rgb_png"]) == (30, 20)


def test_non_utf8_file_name_gives_printable_error(tmp_path):
    bad = tmp_path / b"\xff\xfe.jpg".decode("utf-8", "surrogateescape")
    bad.write_bytes(b"")
    with pytest.raises(ImageError) as err:
        load_image(bad)
    message = str(err.value)
    assert message.endswith("\\xff\\xfe.jpg: empty file (0 bytes)")
    message.encode("utf-8")  # printable: no lone surrogates


def test_write_image_keeps_gray_gray(tmp_path):
    gray = np.repeat(np.arange(12, dtype=np.uint8).reshape(3, 4)[:, :, None], 3, axis=2)
    write_image(tmp_path / "sub" / "g.png", gray)
    assert Image.open(tmp_path / "sub" / "g.png").mode == "L"
    assert (load_image(tmp_path / "sub" / "g.png") == gray).all()


# --- plain PNGs are decoded by libpng (images._plain_png), everything else by Pillow -----------------

def _pillow(path) -> np.ndarray:
    """What Pillow alone gives for `path` (load_image before the libpng path)."""
    from data_tools import images
    with images._open(str(path), images.MAX_PIXELS) as im:
        im.load()
        return images._to_rgb(im)


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    out, pos = [], 8
    while pos < len(data):
        n, kind = struct.unpack_from(">I4s", data, pos)
        out.append((kind, data[pos + 8:pos + 8 + n]))
        pos += 12 + n
    return out


def _png(chunks: list[tuple[bytes, bytes]]) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + b"".join(struct.pack(">I", len(d)) + k + d + struct.pack(">I", zlib.crc32(k + d))
                                           for k, d in chunks)


@pytest.mark.parametrize("channels", [1, 3])
def test_a_plain_png_takes_the_libpng_path_and_decodes_as_pillow_does(tmp_path, channels):
    from data_tools.images import MAX_PIXELS, _plain_png
    arr = np.random.default_rng(channels).integers(0, 256, (17, 23, 3), dtype=np.uint8)
    arr = arr[..., 0] if channels == 1 else arr
    path = tmp_path / "plain.png"
    Image.fromarray(arr).save(path)
    fast = _plain_png(path.read_bytes(), MAX_PIXELS)
    assert fast is not None and fast.shape == (17, 23, 3) and fast.flags["C_CONTIGUOUS"]
    expected = np.repeat(arr[..., None], 3, axis=2) if channels == 1 else arr
    assert np.array_equal(fast, expected) and np.array_equal(load_image(path), expected)
    assert np.array_equal(_pillow(path), expected)


def test_pngs_pillow_must_decode_do_not_take_the_libpng_path(tmp_path, special_images):
    from data_tools.images import MAX_PIXELS, _plain_png
    grey = np.arange(12 * 8, dtype=np.uint8).reshape(8, 12)
    plain = tmp_path / "grey.png"
    Image.fromarray(grey).save(plain)
    data = plain.read_bytes()
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(grey).save(tmp_path / "exif.png", exif=exif)           # an eXIf chunk: rotated
    adam7 = b"".join(b"".join(b"\0" + row.tobytes() for row in grey[y::dy, x::dx]) for x, y, dx, dy in (
        (0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
        if grey[y::dy, x::dx].size)
    (tmp_path / "interlaced.png").write_bytes(_png([(b"IHDR", struct.pack(">IIBBBBB", 12, 8, 8, 0, 0, 0, 1)),
                                                    (b"IDAT", zlib.compress(adam7)), (b"IEND", b"")]))
    Image.fromarray(grey).save(tmp_path / "transparent.png", transparency=0)
    Image.fromarray(grey).convert("P").save(tmp_path / "palette.png")
    Image.fromarray(grey > 100).save(tmp_path / "bilevel.png")
    raw = b"\nexif\n    12\n" + (b"Exif\0\0" + exif.tobytes()).hex().encode()  # ImageMagick's EXIF in text
    (tmp_path / "raw_exif.png").write_bytes(_png([c for c in _chunks(data) if c[0] != b"IEND"]
                                                 + [(b"tEXt", b"Raw profile type exif\0" + raw), (b"IEND", b"")]))
    for name in ("exif", "interlaced", "transparent", "palette", "bilevel", "raw_exif"):
        path = tmp_path / f"{name}.png"
        assert _plain_png(path.read_bytes(), MAX_PIXELS) is None, name
        if "exif" in name:                  # orientation 6: Pillow turns the picture 90 degrees clockwise
            assert np.array_equal(load_image(path)[..., 0], np.rot90(grey, -1)), name
        else:
            assert np.array_equal(load_image(path), _pillow(path)), name
    assert np.array_equal(load_image(tmp_path / "interlaced.png")[..., 0], grey)
    assert _plain_png(special_images["rgb_png"].read_bytes(), MAX_PIXELS) is not None
    for name in ("alpha_png", "png16", "bomb_png", "bomb_moderate_png"):
        assert _plain_png(special_images[name].read_bytes(), MAX_PIXELS) is None, name
    assert _plain_png(special_images["rgb_png"].read_bytes(), 500) is None     # over max_pixels: Pillow refuses


def test_a_damaged_png_gets_pillows_reason_and_libpng_prints_nothing(tmp_path, capfd):
    from data_tools.images import MAX_PIXELS, _plain_png
    path = tmp_path / "ok.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (32, 32), dtype=np.uint8)).save(path)
    chunks = _chunks(path.read_bytes())
    k = next(i for i, (kind, _) in enumerate(chunks) if kind == b"IDAT")
    idat = bytearray(chunks[k][1])
    idat[-3] ^= 0x40                                    # the zlib checksum: inflating fails
    filters = bytearray(zlib.decompress(chunks[k][1]))
    filters[33 * 5] = 9                                 # row 5's filter type: no such filter
    cases = {
        "bad_crc.png": path.read_bytes()[:-20] + b"\0" + path.read_bytes()[-19:],   # IDAT's CRC no longer matches
        "bad_zlib.png": _png(chunks[:k] + [(b"IDAT", bytes(idat))] + chunks[k + 1:]),  # CRC made right
        "bad_filter.png": _png(chunks[:k] + [(b"IDAT", zlib.compress(bytes(filters)))] + chunks[k + 1:]),
        "short.png": _png(chunks[:k] + [(b"IDAT", zlib.compress(bytes(filters[:33 * 20])))] + chunks[k + 1:]),
        "truncated.png": path.read_bytes()[:-30],
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        assert _plain_png(data, MAX_PIXELS) is None, name
        with pytest.raises(ImageError) as err:
            load_image(tmp_path / name)
        assert err.value.reason == probe_image(tmp_path / name), name
        assert err.value.reason.startswith(("cannot be decoded", "truncated image data", "broken image header")), \
            (name, err.value.reason)
    rows = zlib.decompress(chunks[k][1])
    accepted = {      # Pillow decodes these; libpng would too, printing a warning
        "extra_zlib.png": _png(chunks[:k] + [(b"IDAT", zlib.compress(rows) + b"junk")] + chunks[k + 1:]),
        "extra_rows.png": _png(chunks[:k] + [(b"IDAT", zlib.compress(rows + b"\0" * 33))] + chunks[k + 1:]),
    }
    for name, data in accepted.items():
        (tmp_path / name).write_bytes(data)
        assert _plain_png(data, MAX_PIXELS) is None, name
        assert np.array_equal(load_image(tmp_path / name), _pillow(path)), name
    assert "libpng" not in capfd.readouterr().err


def test_every_real_png_decodes_the_same_through_libpng_and_pillow(shared_data):
    from data_tools.images import MAX_PIXELS, _plain_png
    paths = sorted(shared_data.glob("ckplus48/**/*.png"))[:400] + sorted(shared_data.glob("fer2013_dev/**/*.png"))[:400]
    if not paths:
        pytest.skip("no PNG faces under ../shared/data")
    plain = 0
    for path in paths:
        fast = _plain_png(path.read_bytes(), MAX_PIXELS)
        plain += fast is not None
        assert np.array_equal(load_image(path), _pillow(path)), path
        assert fast is None or np.array_equal(fast, _pillow(path)), path
    assert plain == len(paths)            # every face of CK+48 and FER2013 is a plain 8-bit PNG


def test_only_files_named_png_are_tried_by_libpng(tmp_path, monkeypatch):
    from data_tools import images
    arr = np.random.default_rng(7).integers(0, 256, (9, 11, 3), dtype=np.uint8)
    tried = []
    real = images._plain_png
    monkeypatch.setattr(images, "_plain_png", lambda data, limit: tried.append(1) or real(data, limit))
    for name, libpng in (("upper.PNG", True), ("png_named.jpg", False)):
        Image.fromarray(arr).save(tmp_path / name, format="PNG")
        tried.clear()
        assert np.array_equal(load_image(tmp_path / name), arr), name
        assert bool(tried) == libpng, name
    Image.fromarray(arr).save(tmp_path / "photo.jpg", quality=95)
    tried.clear()
    load_image(tmp_path / "photo.jpg")
    assert not tried                                    # a JPEG is opened once, by Pillow
