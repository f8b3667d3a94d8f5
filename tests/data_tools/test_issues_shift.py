"""Shifted and cropped copies (issue 23): the keypoint-aligned hashes on tiny synthetic images, and how
near_groups links rows by them (stored with stored or queried, never queried with queried)."""
from __future__ import annotations

import cv2
import numpy as np

from data_tools.issues import SIGNATURE, signature
from data_tools.issues.duplicates import hamming, near_groups, near_pairs
from data_tools.issues.image import SHIFT_STORED, _keypoints, keypoint_hashes, phash

YY, XX = np.mgrid[0:48, 0:48].astype(np.float32)
BLOBS = ((18, 20, 120), (31, 27, 80))          # x, y, depth: the first is the darker


def scene(shift: tuple[int, int] = (0, 0), texture: bool = True) -> np.ndarray:
    """48x48 float32: a flat grey background, a textured disk in the middle and two dark blobs, rolled by
    `shift` (x, y) pixels (the border stays flat, so the roll is a plain shift of the content)."""
    img = np.full((48, 48), 200, np.float32)
    if texture:
        tex = cv2.GaussianBlur(np.random.default_rng(0).normal(0, 12, (48, 48)).astype(np.float32), (0, 0), 1.0)
        img += tex * (((XX - 24) ** 2 + (YY - 24) ** 2) < 15 ** 2)
    for cx, cy, depth in BLOBS:
        img -= depth * np.exp(-((XX - cx) ** 2 + (YY - cy) ** 2) / (2 * 2.5 ** 2))
    img = np.clip(np.round(img), 0, 255)
    return np.roll(img, (shift[1], shift[0]), axis=(0, 1))


def test_keypoints_are_the_two_dark_blobs_darkest_first():
    kp = _keypoints(scene(texture=False)[None])
    # sub-pixel: within 0.05 px (the other blob's tail and the rounding to integers tilt each a little)
    np.testing.assert_allclose(kp[0], [[18.0, 20.0], [31.0, 27.0]], atol=0.05)


def test_a_shifted_copy_has_the_same_keypoint_hashes_and_another_phash():
    a, b = scene(), scene((2, -1))
    np.testing.assert_allclose(_keypoints(b[None])[0] - _keypoints(a[None])[0], [[2, -1], [2, -1]], atol=1e-4)
    ha, hb = keypoint_hashes(a[None]), keypoint_hashes(b[None])
    assert ha.shape == (1, 4) and ha.dtype == np.uint64
    assert (ha == hb).all()
    assert int(hamming(np.uint64(phash(a.astype(np.uint8))), np.uint64(phash(b.astype(np.uint8))))) == 8
    # the record carries them: stored (as they are) first, then zoomed in
    rgb = np.repeat(a.astype(np.uint8)[:, :, None], 3, axis=2)
    assert SIGNATURE.itemsize == 80 and SHIFT_STORED == 2
    assert signature(rgb)["shift"].tolist() == ha[0].tolist()


def test_the_zoomed_hash_of_the_original_matches_a_cropped_copy():
    """A copy cropped to 1/1.05 of the side around the image centre and resized back: its unzoomed
    hashes sit within the 2-bit radius of the original's zoomed ones, and far from the unzoomed ones."""
    a = scene().astype(np.uint8)
    c = 48 / 1.05
    lo = (48 - c) / 2
    m = np.float32([[1.05, 0, -lo * 1.05], [0, 1.05, -lo * 1.05]])
    b = cv2.warpAffine(a, m, (48, 48), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    ha, hb = keypoint_hashes(a[None].astype(np.float32))[0], keypoint_hashes(b[None].astype(np.float32))[0]
    zoomed = hamming(ha[2:], hb[:2])
    assert (zoomed <= 2).all(), zoomed
    assert (hamming(ha[:2], hb[:2]) > 2).any()


def _v(*bits: int) -> np.uint64:
    return np.uint64(sum(1 << b for b in bits))


def test_near_groups_link_stored_to_stored_or_queried_never_queried_to_queried():
    n = 8
    phash_ = np.array([np.uint64(0), _v(*range(8)), _v(*range(8, 16)), _v(*range(16, 24)), _v(*range(24, 32)),
                       _v(*range(32, 40)), _v(*range(40, 48)), _v(*range(48, 56))])      # 16 bits apart: unlinked
    u = list(np.random.default_rng(7).integers(0, 2**63, 40, dtype=np.uint64))
    assert min(int(hamming(a, b)) for k, a in enumerate(u) for b in u[k + 1:]) > 6      # far apart
    shift = np.array([
        [u[0], u[1], u[2], u[3]],
        [u[0] ^ _v(0, 1), u[4], u[5], u[6]],     # row 1: stored within 2 bits of row 0's stored -> linked
        [u[7], u[8], u[9], u[10]],
        [u[11], u[12], u[9], u[13]],             # row 3 shares only a queried hash with row 2 -> not linked
        [u[14], u[15], u[16], u[17]],
        [u[18], u[19], u[14] ^ _v(5, 6), u[20]],  # row 5's queried hash: 2 bits from row 4's stored -> linked
        [u[21], u[22], u[23], u[24]],
        [u[25], u[21] ^ _v(0, 1, 2, 3), u[26], u[27]],   # 4 bits from row 6's stored: beyond the radius
    ], dtype=np.uint64)
    exact = np.array([bytes([k]) * 16 for k in range(n)], dtype="V16")
    group, nearest = near_groups(phash_, exact, 4, shift, 2, 2)
    assert group.tolist() == [0, 0, -1, -1, 1, 1, -1, -1]
    assert nearest.tolist() == [2, 2, -1, -1, 2, 2, -1, -1]
    # a radius of 4 reaches row 7 too (4 bits from row 6's stored hash)
    assert near_groups(phash_, exact, 4, shift, 4, 2)[0].tolist() == [0, 0, -1, -1, 1, 1, 2, 2]
    # without the keypoint hashes nothing is linked
    assert (near_groups(phash_, exact, 4)[0] == -1).all()


def test_near_pairs_small_and_large_buckets_equal_brute_force():
    """Buckets of up to SMALL hashes are compared by offsets in the sorted order, larger ones block by
    block: both find every pair within the radius (a 200-hash bucket shares its low 16 bits)."""
    rng = np.random.default_rng(4)
    crowd = (rng.integers(0, 2**47, 200, dtype=np.uint64) << np.uint64(16)) | np.uint64(0xBEEF)
    loose = rng.integers(0, 2**63, 200, dtype=np.uint64)
    h = np.unique(np.concatenate([crowd, crowd ^ np.uint64(0b1000_0000_0000_0000_0000), loose, loose ^ np.uint64(3)]))
    for radius in (2, 3, 4):
        i, j, dist = near_pairs(h, radius)
        full = hamming(h[:, None], h[None, :])
        bi, bj = np.nonzero(np.triu(full <= radius, 1))
        assert sorted(zip(i.tolist(), j.tolist())) == sorted(zip(bi.tolist(), bj.tolist()))
        assert (dist == full[i, j]).all()


def test_copies_collapsed_to_one_node_give_the_same_groups():
    """near_groups builds its graph over distinct pixel contents (2,000,000 copies of one image cost one
    node); on the planted set with extra exact copies it returns what the graph over every row returns."""
    import tempfile
    from pathlib import Path

    from data_tools.issues.dataset import measure_all
    from data_tools.manifest import load_dataset
    from support.planted_issues import make_dataset
    ds = load_dataset(make_dataset(Path(tempfile.mkdtemp())))
    sig = measure_all([str(ds.image_path(p)) for p in ds.manifest["path"]], jobs=1)
    at = {sid: i for i, sid in enumerate(ds.manifest["sample_id"])}
    extra = [at[k] for k in ("b0", "b0", "d0_shift", "e0_crop", "clean0", "a0")]
    sig = np.concatenate([sig, sig[extra]])              # more copies, of near-group members and others
    args = (sig["phash"], sig["exact"], 4, sig["shift"], 2, SHIFT_STORED)
    g1, n1 = near_groups(*args)
    g0, n0 = near_groups(*args, collapse=False)
    assert (g1 >= 0).sum() == 12 and (n1 == n0).all()    # 4 planted near pairs + the 4 copies of members
    same = lambda g: {frozenset(np.flatnonzero(g == k)) for k in set(g[g >= 0])}  # noqa: E731
    assert same(g1) == same(g0)
