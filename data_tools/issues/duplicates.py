"""Exact and near-duplicate groups from the per-image hashes (cleanlab style: arrays in, arrays out).

Exact duplicates share the 128-bit pixel hash. Near duplicates are images whose 64-bit perceptual
hashes differ in at most `radius` bits, or (shifted and cropped copies) one of whose keypoint-aligned
hashes (`image.keypoint_hashes`) is within `shift_radius` bits of one of the other's unzoomed ones,
grouped transitively (connected components, scipy, over the images and the distinct hash values, so
a million copies of one image are a million edges, not a million squared). The pairs within a radius
are found by multi-index hashing (Norouzi et al. 2012): the 64 bits are cut into radius + 1 chunks,
two hashes within the radius agree exactly on at least one chunk (pigeonhole), so only hashes sharing
a chunk value are compared: sub-quadratic, exact (no pair within the radius is missed), and identical
hashes are collapsed first.
"""
from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

BLOCK = 2048        # a bucket larger than this is compared block by block (bounded memory)
SMALL = 16          # buckets up to this size are compared all at once, by offsets in the sorted order


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

    def keep(a: np.ndarray, b: np.ndarray) -> None:
        close = hamming(h[a], h[b]) <= radius
        a, b = a[close], b[close]
        out_i.append(np.minimum(a, b))
        out_j.append(np.maximum(a, b))

    for lo, hi in zip(bounds[:-1], bounds[1:]):
        key = (h >> np.uint64(lo)) & np.uint64((1 << (hi - lo)) - 1)
        order = np.argsort(key, kind="stable")
        ks = key[order]
        starts = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]])
        sizes = np.diff(np.r_[starts, len(ks)])
        # small buckets, vectorised: position p and p + t in the sorted order, same bucket
        size_at = np.repeat(sizes, sizes)
        small = size_at <= SMALL
        for t in range(1, int(min(sizes.max(initial=1), SMALL))):
            p = np.flatnonzero(small[:-t] & (ks[:-t] == ks[t:]))
            if not len(p):
                break
            keep(order[p], order[p + t])
        for s, n in zip(starts[sizes > SMALL], sizes[sizes > SMALL]):
            members = order[s:s + n]
            for b0 in range(0, n, BLOCK):
                rows = members[b0:b0 + BLOCK]
                d = hamming(h[rows][:, None], h[members][None, :])
                r, c = np.nonzero(d <= radius)
                a, b = rows[r], members[c]
                sel = a < b
                out_i.append(a[sel])
                out_j.append(b[sel])
    if not out_i:
        empty = np.zeros(0, np.int64)
        return empty, empty, empty
    pairs = np.unique(np.stack([np.concatenate(out_i), np.concatenate(out_j)], 1).astype(np.int64), axis=0)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    return pairs[:, 0], pairs[:, 1], hamming(h[pairs[:, 0]], h[pairs[:, 1]])


def near_groups(phash: np.ndarray, exact: np.ndarray, radius: int, shift: np.ndarray | None = None,
                shift_radius: int = 2, stored: int = 2, *, collapse: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(group, nearest): each row's near-duplicate group, -1 unless its component holds at least two
    *different* pixel contents; `nearest` the smallest distance in bits that links it to another row
    (0 for an equal hash), -1 outside groups. Rows are linked when their perceptual hashes are within
    `radius` bits, or, with `shift` (N, C) keypoint hashes, when one of a row's C hashes is within
    `shift_radius` of one of the other's first `stored` (the unzoomed patches; two zoomed ones are never
    compared with each other), transitively. `collapse` (the default; False only to check that it
    changes nothing) builds the graph over distinct pixel contents."""
    n = len(phash)
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    # rows of the same pixels have the same hashes: the graph is built over distinct contents, and each
    # row takes its content's group (a million copies of one image cost one node, in time and memory)
    _, first, inverse, copies = np.unique(np.asarray(exact).view(np.dtype((np.void, 16))).ravel(),
                                          return_index=True, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    if collapse and len(first) < n:
        g, near = near_groups(np.asarray(phash)[first], np.asarray(exact)[first], radius,
                              None if shift is None else np.asarray(shift)[first], shift_radius, stored)
        group = g[inverse]
        nearest = np.where(copies[inverse] > 1, 0, near[inverse])     # an equal hash: distance 0
        nearest[group < 0] = -1
        return group, nearest
    # nodes: the n rows, then each distinct perceptual hash, then each distinct keypoint hash
    rows_of, node_of, edge_a, edge_b, edge_d = [], [], [], [], []
    uniq, inv = np.unique(np.asarray(phash, np.uint64), return_inverse=True)
    inv = inv.ravel()
    base = n
    rows_of.append(np.arange(n))
    node_of.append(base + inv)
    i, j, d = near_pairs(uniq, radius)
    edge_a.append(base + i), edge_b.append(base + j), edge_d.append(d)
    base += len(uniq)
    if shift is not None and np.asarray(shift).size:
        sh = np.asarray(shift, np.uint64)
        c = sh.shape[1]
        vals, sinv = np.unique(sh.ravel(), return_inverse=True)
        sinv = sinv.reshape(n, c)
        m = len(vals)
        held = sinv[:, :stored].ravel()                      # row -> its stored values' nodes
        holder = np.repeat(np.arange(n), stored)
        rows_of.append(holder)
        node_of.append(base + held)
        held_by = np.bincount(held, minlength=m)
        one_holder = np.zeros(m, np.int64)
        one_holder[held] = holder                            # meaningful where held_by == 1
        i, j, d = near_pairs(vals, shift_radius)
        both = (held_by[i] > 0) & (held_by[j] > 0)           # stored near stored
        edge_a.append(base + i[both]), edge_b.append(base + j[both]), edge_d.append(d[both])
        # a queried value b links its row to every stored value a within the radius (a == b included);
        # queried values are never nodes, so two rows sharing only a queried value stay apart
        st = np.flatnonzero(held_by > 0)
        src = np.r_[i[held_by[j] > 0], j[held_by[i] > 0], st]
        dst = np.r_[j[held_by[j] > 0], i[held_by[i] > 0], st]
        dd = np.r_[d[held_by[j] > 0], d[held_by[i] > 0], np.zeros(len(st), np.int64)]
        order = np.argsort(src, kind="stable")
        src, dst, dd = src[order], dst[order], dd[order]
        qrow = np.repeat(np.arange(n), c - stored)
        qval = sinv[:, stored:].ravel()
        lo, hi = np.searchsorted(src, qval, "left"), np.searchsorted(src, qval, "right")
        k = hi - lo
        at = np.repeat(lo - np.r_[0, np.cumsum(k)[:-1]], k) + np.arange(int(k.sum()))
        er, ev, ed_ = np.repeat(qrow, k), dst[at], dd[at]
        own = (held_by[ev] == 1) & (one_holder[ev] == er)    # its own stored patch: no link
        edge_a.append(er[~own]), edge_b.append(base + ev[~own]), edge_d.append(ed_[~own])
        base += m
    r, v = np.concatenate(rows_of), np.concatenate(node_of)
    ea, eb, ed = np.concatenate(edge_a), np.concatenate(edge_b), np.concatenate(edge_d)
    graph = coo_matrix((np.ones(len(r) + len(ea)), (np.r_[r, ea], np.r_[v, eb])), shape=(base, base))
    _, comp_all = connected_components(graph, directed=False)
    comp = comp_all[:n]
    # a component counts when it holds two different pixel contents
    _, content = np.unique(np.asarray(exact).view(np.dtype((np.void, 16))), return_inverse=True)
    content = content.ravel()
    pairs = np.unique(np.stack([comp, content], 1), axis=0)
    kinds = np.bincount(pairs[:, 0], minlength=base)
    inside = kinds[comp] > 1
    group = np.full(n, -1, np.int64)
    if inside.any():
        _, group[inside] = np.unique(comp[inside], return_inverse=True)
    # nearest distance: 0 where a node of the row holds another row too, else its smallest edge
    used = np.bincount(v, minlength=base)
    best = np.full(base, 65, np.int64)
    np.minimum.at(best, ea, ed)
    np.minimum.at(best, eb, ed)
    per = np.where(used[v] > 1, 0, best[v])
    nearest = best[:n].copy()                  # a row's own edges (its queried hashes)
    np.minimum.at(nearest, r, per)
    nearest[~inside] = -1
    return group, nearest
