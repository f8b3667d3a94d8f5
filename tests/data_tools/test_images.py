"""Safe image decoding: special kinds decode right, bad files give one-line errors naming the file."""
from __future__ import annotations

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
