"""near_groups and near_pairs against brute force (every pair of rows compared), on seeded hashes with
planted near copies: perceptual hashes a few bits apart, keypoint hashes stored or queried a few bits
from another row's stored ones, exact copies, and rows whose own two stored hashes are close (which
links them to nobody)."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse.csgraph import connected_components

from data_tools.issues import duplicates
from data_tools.issues.duplicates import contents, exact_groups, hamming, near_groups, near_pairs

FAR = 99


def flip(h: np.ndarray, bits: int, rng) -> np.ndarray:
    """`h` with `bits` distinct random bits flipped (per element)."""
    out = np.asarray(h, np.uint64).copy()
    for i in range(out.size):
        for b in rng.choice(64, bits, replace=False):
            out.flat[i] ^= np.uint64(1) << np.uint64(b)
    return out


def planted(n: int = 160, seed: int = 0):
    rng = np.random.default_rng(seed)
    ph = rng.integers(0, 2**63, n, dtype=np.uint64)
    sh = rng.integers(0, 2**63, (n, 4), dtype=np.uint64)
    exact = rng.integers(0, 256, (n, 16), dtype=np.uint8)
    for a in range(0, 40, 2):                      # perceptual near copies, 0..7 bits apart
        ph[a + 1] = flip(ph[a], a // 2 % 8, rng)
    for a in range(40, 70, 3):                     # a stored or a queried hash a few bits from a stored one
        src, dst = rng.integers(0, 2), rng.integers(0, 4)
        sh[a + 1, dst] = flip(sh[a, src], (a // 3) % 5, rng)
    for a in range(70, 90, 2):                     # exact copies (the same pixels: the same hashes)
        exact[a + 1], ph[a + 1], sh[a + 1] = exact[a], ph[a], sh[a]
    for a in range(90, 100):                       # its own two stored hashes close, or a queried one
        sh[a, 1] = flip(sh[a, 0], 1, rng)
        sh[a, 2] = flip(sh[a, 1], 1, rng)
    for a in range(90, 95):                        # ... and 3 bits from another row's perceptual hash
        ph[a + 60] = flip(ph[a], 3, rng)
    for a in range(100, 110):                      # queried hashes equal to another row's queried: no link
        sh[a + 10, 2] = sh[a, 3]
    chain = rng.integers(0, 2**63, dtype=np.uint64)  # a chain of perceptual hashes, each 3 bits on
    for a in range(130, 140):
        chain = flip(chain, 3, rng)
        ph[a] = chain
    return ph, exact.view("V16").ravel(), sh


def brute(ph, exact, radius, shift, shift_radius, stored):
    """(groups as a set of frozensets of rows, nearest) from every pair of rows."""
    n = len(ph)
    d = hamming(ph[:, None], ph[None, :])
    dist = np.where(d <= radius, d, FAR)
    if shift is not None:
        # any hash of row a against a stored hash of row b, both ways
        s = hamming(shift[:, None, :, None], shift[None, :, None, :stored]).min((2, 3))
        s = np.minimum(s, s.T)
        dist = np.minimum(dist, np.where(s <= shift_radius, s, FAR))
    np.fill_diagonal(dist, FAR)
    _, comp = connected_components(dist < FAR, directed=False)
    content = np.unique(exact, return_inverse=True)[1].ravel()
    groups = set()
    nearest = np.full(n, -1)
    for c in np.unique(comp):
        rows = np.flatnonzero(comp == c)
        if len(set(content[rows])) > 1:
            groups.add(frozenset(rows.tolist()))
            nearest[rows] = dist[rows].min(1)
    return groups, nearest


def as_sets(group: np.ndarray) -> set:
    return {frozenset(np.flatnonzero(group == k).tolist()) for k in set(group[group >= 0].tolist())}


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("radius,shift_radius,with_shift", [(4, 2, True), (2, 3, True), (6, 0, True), (4, 2, False)])
def test_near_groups_equal_brute_force(seed, radius, shift_radius, with_shift, monkeypatch):
    ph, exact, sh = planted(seed=seed)
    shift = sh if with_shift else None
    want_groups, want_nearest = brute(ph, exact, radius, shift, shift_radius, 2)
    assert len(want_groups) >= 8                  # the planted links do make groups
    monkeypatch.setattr(duplicates, "PAIR_BLOCK", 7)        # many blocks, and buckets split across them
    monkeypatch.setattr(duplicates, "QUERY_SLICE", 13)
    for collapse in (True, False):
        group, nearest = near_groups(ph, exact, radius, shift, shift_radius, 2, collapse=collapse)
        assert as_sets(group) == want_groups
        assert nearest.tolist() == want_nearest.tolist()


def test_own_close_hashes_link_nothing():
    """Rows 90-99 hold two stored hashes 1 bit apart and a queried one 1 bit from those: that links
    90-94 to nobody, so each is 3 bits from its perceptual copy (150-154), and 95-99 stay alone."""
    ph, exact, sh = planted()
    group, nearest = near_groups(ph, exact, 4, sh, 2, 2)
    assert (nearest[90:95] == 3).all() and (group[90:95] == group[150:155]).all() and (group[90:95] >= 0).all()
    assert (group[95:100] == -1).all() and (nearest[95:100] == -1).all()
    assert (group[100:120] == -1).all()          # queried hashes shared with queried ones only


@pytest.mark.parametrize("block", [1, 5, 1 << 21])
def test_near_pairs_both_ways_equal_brute_force(block, monkeypatch):
    monkeypatch.setattr(duplicates, "PAIR_BLOCK", block)
    monkeypatch.setattr(duplicates, "QUERY_SLICE", 17)
    rng = np.random.default_rng(5)
    a = rng.integers(0, 2**63, 120, dtype=np.uint64)
    b = np.r_[flip(a[:60], 1, rng), flip(a[60:90], 3, rng), a[90:100], rng.integers(0, 2**63, 30, dtype=np.uint64)]
    full = hamming(a[:, None], b[None, :])
    for radius in (0, 2, 3, 4, 6):          # 3 and up: pairs of chunks are the keys
        i, j, d = near_pairs(a, radius, b)
        want = np.argwhere(full <= radius)
        assert sorted(zip(i.tolist(), j.tolist())) == sorted(map(tuple, want.tolist()))
        assert (d == full[i, j]).all()
        # without `other`: each pair of distinct values once, i < j
        h = np.unique(np.r_[a, b])
        i, j, d = near_pairs(h, radius)
        self_full = hamming(h[:, None], h[None, :])
        assert sorted(zip(i.tolist(), j.tolist())) == sorted(map(tuple, np.argwhere(np.triu(self_full <= radius, 1)).tolist()))
        assert (d == self_full[i, j]).all()


def test_keys_are_chunks_or_pairs_of_chunks_that_cover_all_64_bits():
    for radius, keys, bits in ((2, 3, (21, 22)), (4, 15, (20, 22)), (6, 28, (16, 16))):
        masks = duplicates.key_masks(radius)
        widths = {bin(int(m)).count("1") for m in masks}
        assert len(masks) == keys and min(widths) >= bits[0] and max(widths) <= bits[1], (radius, widths)
        assert np.bitwise_or.reduce(np.array(masks, np.uint64)) == np.uint64(2**64 - 1)


def test_contents_and_exact_groups_match_numpy_unique():
    rng = np.random.default_rng(3)
    raw = rng.integers(0, 256, (50, 16), dtype=np.uint8)
    raw = raw[rng.integers(0, 50, 400)]
    raw[::7, 8:] = 0                              # contents that share their first 8 bytes
    raw[::11, :8] = 0                             # and their last 8
    exact = raw.view("V16").ravel()
    content, first, copies = contents(exact)
    _, want_first, want_inv, want_counts = np.unique(exact, return_index=True, return_inverse=True, return_counts=True)
    assert len(first) == len(want_first)
    # the same partition, each content's first row and its size
    assert sorted(zip(first.tolist(), copies.tolist())) == sorted(zip(want_first.tolist(), want_counts.tolist()))
    assert (exact[first][content] == exact).all()
    assert as_sets(exact_groups(exact)) == {frozenset(np.flatnonzero(want_inv == k).tolist())
                                             for k in np.flatnonzero(want_counts > 1)}
    assert exact_groups(exact[:0]).shape == (0,) and [a.shape for a in contents(exact[:0])] == [(0,)] * 3
