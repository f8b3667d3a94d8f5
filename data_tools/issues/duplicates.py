"""Exact and near-duplicate groups from the per-image hashes (cleanlab style: arrays in, arrays out).

Exact duplicates share the 128-bit pixel hash. Near duplicates are images whose 64-bit perceptual
hashes differ in at most `radius` bits, grouped transitively (connected components, scipy). The pairs
within the radius are found by multi-index hashing (Norouzi et al. 2012): the 64 bits are cut into
radius + 1 chunks, two hashes within the radius agree exactly on at least one chunk (pigeonhole), so
only hashes sharing a chunk value are compared: sub-quadratic, exact (no pair within the radius is
missed), and identical hashes are collapsed first so a million copies of one image cost nothing.
"""
from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

BLOCK = 2048        # a bucket larger than this is compared block by block (bounded memory)


def exact_groups(exact: np.ndarray) -> np.ndarray:
    """(N,) int group of each row's pixel hash (`exact`: (N,) V16 or bytes); -1 for a hash no other row has."""
    _, inverse, counts = np.unique(np.asarray(exact).view(np.dtype((np.void, 16))), return_inverse=True,
                                   return_counts=True)
    inverse = inverse.ravel()
    dup = counts[inverse] > 1
    out = np.full(len(inverse), -1, np.int64)
    _, out[dup] = np.unique(inverse[dup], return_inverse=True)
    return out


_POPCOUNT8 = np.array([bin(i).count("1") for i in range(256)], np.uint8)


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Bitwise Hamming distance between uint64 arrays (broadcast)."""
    x = np.bitwise_xor(np.asarray(a, np.uint64), np.asarray(b, np.uint64))
    if hasattr(np, "bitwise_count"):          # numpy >= 2.0
        return np.bitwise_count(x).astype(np.int64)
    x = np.ascontiguousarray(x)
    return _POPCOUNT8[x.reshape(-1).view(np.uint8)].reshape(*x.shape, 8).sum(-1, dtype=np.int64)


def near_pairs(hashes: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(i, j, distance) with i < j for every pair of *distinct* uint64 hashes within `radius` bits.
    `hashes` should hold distinct values (equal ones are pairs at distance 0 the caller has already)."""
    h = np.asarray(hashes, np.uint64)
    chunks = radius + 1
    bounds = np.linspace(0, 64, chunks + 1).astype(int)
    out_i, out_j = [], []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        key = (h >> np.uint64(lo)) & np.uint64((1 << (hi - lo)) - 1)
        order = np.argsort(key, kind="stable")
        ks = key[order]
        starts = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]])
        sizes = np.diff(np.r_[starts, len(ks)])
        for s, n in zip(starts[sizes > 1], sizes[sizes > 1]):
            members = order[s:s + n]
            for b0 in range(0, n, BLOCK):
                rows = members[b0:b0 + BLOCK]
                d = hamming(h[rows][:, None], h[members][None, :])
                r, c = np.nonzero(d <= radius)
                a, b = rows[r], members[c]
                keep = a < b
                out_i.append(a[keep])
                out_j.append(b[keep])
    if not out_i:
        empty = np.zeros(0, np.int64)
        return empty, empty, empty
    pairs = np.unique(np.stack([np.concatenate(out_i), np.concatenate(out_j)], 1), axis=0)
    return pairs[:, 0], pairs[:, 1], hamming(h[pairs[:, 0]], h[pairs[:, 1]])


def near_groups(phash: np.ndarray, exact: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray]:
    """(group, nearest): each row's near-duplicate group, -1 unless its component (rows linked by
    perceptual hashes within `radius` bits, transitively) holds at least two *different* pixel contents;
    `nearest` the smallest distance in bits to another member (0 for an equal hash), -1 outside groups."""
    n = len(phash)
    uniq, inv = np.unique(np.asarray(phash, np.uint64), return_inverse=True)
    inv = inv.ravel()
    i, j, d = near_pairs(uniq, radius)
    m = len(uniq)
    graph = coo_matrix((np.ones(len(i)), (i, j)), shape=(m, m))
    _, comp_u = connected_components(graph, directed=False)
    comp = comp_u[inv]
    # a component counts when it holds two different pixel contents
    _, content = np.unique(np.asarray(exact).view(np.dtype((np.void, 16))), return_inverse=True)
    content = content.ravel()
    pairs = np.unique(np.stack([comp, content], 1), axis=0)
    kinds = np.bincount(pairs[:, 0], minlength=m)
    inside = kinds[comp] > 1
    group = np.full(n, -1, np.int64)
    if inside.any():
        _, group[inside] = np.unique(comp[inside], return_inverse=True)
    # nearest distance: 0 where the hash is shared by another row, else the smallest edge of its hash
    best = np.full(m, 65, np.int64)
    np.minimum.at(best, i, d)
    np.minimum.at(best, j, d)
    shared = np.bincount(inv, minlength=m)[inv] > 1
    nearest = np.where(shared, 0, best[inv])
    nearest[~inside] = -1
    return group, nearest
