"""Pure image helpers for CAM display (eac_core/overlay.py)."""
from __future__ import annotations

import numpy as np
import pytest

from eac_core import overlay as ov


def test_colormap_values():
    c = ov.colormap(np.array([[0.0, 1.0]], np.float32), "jet")
    assert c.dtype == np.uint8 and c.shape == (1, 2, 3)
    assert c[0, 0].tolist() == [0, 0, 128]      # jet: low = dark blue (RGB order)
    assert c[0, 1].tolist() == [128, 0, 0]      # high = dark red
    with pytest.raises(ValueError, match="unknown colormap"):
        ov.colormap(np.zeros((2, 2)), "rainbowish")


def test_normalize_and_shared_scale():
    a = np.array([[-1.0, 0.0], [1.0, 3.0]], np.float32)
    b = np.array([[5.0]], np.float32)
    assert ov.shared_scale(a, b) == (-1.0, 5.0)
    n = ov.normalize(a, -1.0, 3.0)
    assert n.dtype == np.float32 and n.tolist() == [[0.0, 0.25], [0.5, 1.0]]
    assert ov.normalize(a, 0.0, 1.0).tolist() == [[0.0, 0.0], [1.0, 1.0]]    # clipped
    assert ov.normalize(a, 2.0, 2.0).tolist() == [[0.5, 0.5], [0.5, 0.5]]    # flat scale
    with pytest.raises(ValueError):
        ov.shared_scale()


def test_upsample_is_mirror_symmetric():
    m = np.random.default_rng(0).random((3, 5)).astype(np.float32)
    up = ov.upsample(m, 96, 80)
    assert up.shape == (96, 80) and up.dtype == np.float32
    np.testing.assert_allclose(ov.upsample(m[:, ::-1], 96, 80), up[:, ::-1], atol=1e-6)
    assert ov.upsample(np.full((2, 2), 7.0), 16).tolist() == np.full((16, 16), 7.0).tolist()


def test_overlay_blend():
    img = np.full((32, 32, 3), 200, np.uint8)
    cam = np.array([[0.0, 1.0], [0.0, 1.0]], np.float32)
    out = ov.overlay(img, cam, 0.0, 1.0)
    assert out.shape == (32, 32, 3) and out.dtype == np.uint8
    assert np.array_equal(ov.overlay(img, cam, 0.0, 1.0, alpha=0.0), img)
    full = ov.overlay(img, cam, 0.0, 1.0, alpha=1.0)
    assert np.array_equal(full, ov.colormap(ov.normalize(ov.upsample(cam, 32), 0.0, 1.0)))
    assert full[0, 0].tolist() == [0, 0, 128] and full[0, -1].tolist() == [128, 0, 0]
    # half blend of 200 grey with dark blue (0, 0, 128) at the left edge: (100, 100, 164)
    assert ov.overlay(img, cam, 0.0, 1.0, alpha=0.5)[0, 0].tolist() == [100, 100, 164]
    with pytest.raises(ValueError, match="uint8"):
        ov.overlay(img.astype(np.float32), cam, 0.0, 1.0)


def test_legend_bar():
    bar = ov.legend_bar(100, 10)
    assert bar.shape == (10, 100, 3) and bar.dtype == np.uint8
    assert bar[0, 0].tolist() == [0, 0, 128] and bar[0, -1].tolist() == [128, 0, 0]
    v = ov.legend_bar(50, 8, vertical=True)
    assert v.shape == (50, 8, 3)
    assert v[0, 0].tolist() == [128, 0, 0] and v[-1, 0].tolist() == [0, 0, 128]   # high at the top


def test_legend_marks_zero_where_it_lies():
    # -2.7 … 9.9: 0 lies at 2.7 / 12.6 of the way, pixel round(0.2143 * 99) = 21
    assert ov.zero_position(-2.7, 9.9, 100) == 21
    assert ov.zero_position(0.5, 9.9, 100) is None and ov.zero_position(-3.0, -0.5, 100) is None
    bar = ov.legend_bar(100, 10, scale=(-2.7, 9.9))
    assert bar[:, 21].tolist() == [[255, 255, 255]] * 10                 # white line at 0
    assert bar[:, 20].tolist() == bar[:, 22].tolist() == [[0, 0, 0]] * 10  # black edges
    assert np.array_equal(bar[:, :19], ov.legend_bar(100, 10)[:, :19])  # the ramp elsewhere unchanged
    assert np.array_equal(ov.legend_bar(100, 10, scale=(1.0, 2.0)), ov.legend_bar(100, 10))  # no 0: no line
    v = ov.legend_bar(100, 6, vertical=True, scale=(-2.7, 9.9))
    assert v[99 - 21].tolist() == [[255, 255, 255]] * 6                   # vertical: low at the bottom
