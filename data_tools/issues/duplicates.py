"""Exact and near-duplicate groups from the per-image hashes (cleanlab style: arrays in, arrays out).

Exact duplicates share the 128-bit pixel hash. Near duplicates are images whose 64-bit perceptual
hashes differ in at most `radius` bits, or (shifted and cropped copies) one of whose keypoint-aligned
hashes (`image.keypoint_hashes`) is within `shift_radius` bits of one of the other's unzoomed ones,
grouped transitively (scipy's connected components over the rows: each distinct hash value is held by
its first row, and the rows sharing or near a value are linked to that row, so a million copies of one
hash are a million edges, not a million squared). The pairs within a radius are found by multi-index
hashing (Norouzi et al. 2012): the 64 bits are cut into chunks, two hashes within the radius agree
exactly on at least one chunk, or one pair of chunks (pigeonhole; `key_masks`), so only hashes sharing
such a key are compared:
sub-quadratic, exact (no pair within the radius is missed), compared PAIR_BLOCK candidates at a time
(memory bounded whatever the bucket sizes), each pair kept at the first key it agrees on (no pair twice).
"""
from __future__ import annotations

from itertools import combinations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

PAIR_BLOCK = 1 << 18    # candidate pairs compared at once (~20 MB of temporaries). On 2,000,000 distinct rows
                        # the issues step peaked at 740 MB and took 23 s with it, 937 MB and 31 s with 1 << 21
QUERY_SLICE = 1 << 20   # hashes looked up at once


def exact_groups(exact: np.ndarray) -> np.ndarray:
    """(N,) int group of each row's pixel hash (`exact`: (N,) V16 or bytes); -1 for a hash no other row has."""
    content, _, copies = contents(exact)
    dup = copies[content] > 1
    out = np.full(len(content), -1, np.int64)
    _, out[dup] = np.unique(content[dup], return_inverse=True)
    return out


def contents(exact: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Of (N,) 128-bit pixel hashes: each row's content (C distinct, in hash order), the first row of
    each content and its number of rows (np.unique's answer with int32 indices)."""
    words = np.asarray(exact).view(np.dtype((np.void, 16))).ravel().view("<u8").reshape(-1, 2)
    order = _index(np.lexsort((words[:, 1], words[:, 0])))
    w = words[order]
    new = np.ones(len(order), bool)
    new[1:] = (w[1:] != w[:-1]).any(1)
    del w
    content, first = _runs(order, new)
    return content, first, np.diff(np.r_[np.flatnonzero(new), len(order)])


def _index(order: np.ndarray) -> np.ndarray:
    """A sort order as int32 where it fits (half the memory of numpy's int64)."""
    return order.astype(np.int32 if len(order) < 2**31 else np.int64, copy=False)


def _runs(order: np.ndarray, new: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Of a sort order and the mask of its positions that start a new value: each element's value index
    and each value's first element (a stable sort: its first occurrence)."""
    inverse = np.empty(len(order), order.dtype)
    inverse[order] = np.cumsum(new, dtype=order.dtype) - 1
    return inverse, order[new]


_POPCOUNT8 = np.array([bin(i).count("1") for i in range(256)], np.uint8)


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Bitwise Hamming distance between uint64 arrays (broadcast)."""
    x = np.bitwise_xor(np.asarray(a, np.uint64), np.asarray(b, np.uint64))
    if hasattr(np, "bitwise_count"):          # numpy >= 2.0
        return np.bitwise_count(x).astype(np.int64)
    x = np.ascontiguousarray(x)
    return _POPCOUNT8[x.reshape(-1).view(np.uint8)].reshape(*x.shape, 8).sum(-1, dtype=np.int64)


def near_pairs(hashes: np.ndarray, radius: int, other: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(i, j, distance) for every pair within `radius` bits. Without `other`: pairs of `hashes` with
    i < j (distinct values: equal ones are pairs at distance 0 the caller has already). With `other`:
    every (hashes[i], other[j]) within the radius, equal values included."""
    h = np.asarray(hashes, np.uint64)
    o = h if other is None else np.asarray(other, np.uint64)
    masks = key_masks(radius)
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for c, mask in enumerate(masks):
        order, ko = _sorted_by(o & mask)
        # queries in key order (a binary search after the previous one stays in cache), a slice at a time
        qorder, kq = (order, ko) if other is None else _sorted_by(h & mask)
        for lo in range(0, len(qorder), QUERY_SLICE):
            keys = kq[lo:lo + QUERY_SLICE]
            if other is None:        # sorted position p meets positions p+1 .. its bucket's end
                start = np.arange(lo + 1, lo + len(keys) + 1)
            else:
                start = np.searchsorted(ko, keys, "left")
            count = np.searchsorted(ko, keys, "right") - start
            _compare(h, o, qorder[lo:lo + QUERY_SLICE], order, start, count, radius, masks[:c], found,
                     self_pairs=other is None)
    if not found:
        empty = np.zeros(0, np.int64)
        return empty, empty, empty
    return tuple(np.concatenate(x).astype(np.int64) for x in zip(*found))


KEY_BITS = 20     # the fewest bits of a single chunk used as a key; below it, pairs of chunks are keys


def key_masks(radius: int) -> list[np.uint64]:
    """The bit masks of the keys two hashes within `radius` bits must agree on in full for at least one:
    the 64 bits cut into m chunks, and every combination of m - radius chunks (two hashes differ in at
    most `radius` chunks, so they agree on all the chunks of at least one combination). m = radius + 1
    (each chunk a key) while a chunk holds KEY_BITS bits, else radius + 2 (each pair of chunks a key): at
    radius 4, 15 keys of 20-22 bits instead of 5 of 12-13, whose buckets made about 600 candidate pairs a row
    on 2,000,000 random hashes."""
    m = radius + 1 if 64 // (radius + 1) >= KEY_BITS else radius + 2
    bounds = np.linspace(0, 64, m + 1).astype(int)
    chunks = [((1 << (hi - lo)) - 1) << lo for lo, hi in zip(bounds[:-1], bounds[1:])]
    return [np.uint64(sum(c)) for c in combinations(chunks, m - radius)]


def _sorted_by(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = _index(np.argsort(key, kind="stable"))
    return order, key[order]


def _compare(h, o, query, order, start, count, radius, earlier, found, *, self_pairs: bool) -> None:
    """Compare h[query[k]] with o[order[start[k]:start[k] + count[k]]] for every k, PAIR_BLOCK candidate
    pairs at a time; keep the pairs within `radius` that agree on none of the `earlier` chunk masks."""
    done = np.r_[0, np.cumsum(count)]
    lo = 0
    while lo < len(query):
        hi = max(lo + 1, int(np.searchsorted(done, done[lo] + PAIR_BLOCK, "right")) - 1)
        k, total = count[lo:hi], int(done[hi] - done[lo])
        if total:
            qi = np.repeat(query[lo:hi], k)
            tj = order[np.repeat(start[lo:hi] - (done[lo:hi] - done[lo]), k) + np.arange(total)]
            x = h[qi] ^ o[tj]
            d = hamming(x, 0)
            keep = d <= radius
            for mask in earlier:         # agreeing on an earlier chunk: found there already
                keep &= (x & mask) != 0
            qi, tj = qi[keep], tj[keep]
            if self_pairs:
                qi, tj = np.minimum(qi, tj), np.maximum(qi, tj)
            found.append((qi, tj, d[keep]))
        lo = hi


def _held(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Of (N, K) hash values held by N rows: the distinct values (V), each (row, k)'s value index
    (N, K), the first row holding each value (V) and how many distinct rows hold it (V). (np.unique's
    answer with int32 indices: on 4,000,000 values its peak was 132 MB against np.unique's 217 MB.)"""
    n, k = values.shape
    flat = values.ravel()
    order, ordered = _sorted_by(flat)
    new = np.ones(len(order), bool)
    new[1:] = ordered[1:] != ordered[:-1]
    vals = ordered[new]
    del ordered
    inv, first = _runs(order, new)
    del order, new
    inv, first = inv.reshape(n, k), first // k
    holders = np.zeros(len(vals), np.int32)
    for c in range(k):           # a row holding one value twice counts once
        again = np.zeros(n, bool)
        for e in range(c):
            again |= inv[:, c] == inv[:, e]
        holders += np.bincount(inv[~again, c], minlength=len(vals)).astype(np.int32)
    return vals, inv, first, holders


def near_groups(phash: np.ndarray, exact: np.ndarray, radius: int, shift: np.ndarray | None = None,
                shift_radius: int = 2, stored: int = 2, *, collapse: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(group, nearest): each row's near-duplicate group, -1 unless its component holds at least two
    *different* pixel contents; `nearest` the smallest distance in bits that links it to another row
    (0 for an equal hash), -1 outside groups. Rows are linked when their perceptual hashes are within
    `radius` bits, or, with `shift` (N, C) keypoint hashes, when one of a row's C hashes is within
    `shift_radius` of one of the other's first `stored` (the unzoomed patches; two zoomed ones are never
    compared with each other), transitively. `collapse` (the default; False only to check that it
    changes nothing) measures distinct pixel contents once."""
    n = len(phash)
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    # rows of the same pixels have the same hashes: the graph is built over distinct contents, and each
    # row takes its content's group (a million copies of one image cost one node, in time and memory)
    content, first, copies = contents(exact)
    if collapse and len(first) < n:
        g, near = near_groups(np.asarray(phash)[first], np.asarray(exact)[first], radius,
                              None if shift is None else np.asarray(shift)[first], shift_radius, stored)
        group = g[content]
        nearest = np.where(copies[content] > 1, 0, near[content])     # an equal hash: distance 0
        nearest[group < 0] = -1
        return group, nearest
    del first, copies
    edge_a, edge_b = [], []
    nearest = np.full(n, 65, np.int8)

    def by_value(inv: np.ndarray, holder: np.ndarray, holders: np.ndarray, i: np.ndarray, j: np.ndarray,
                 d: np.ndarray) -> None:
        """Link the rows sharing a value to its first holder, and the first holders of values within
        the radius (i, j, d) to each other; each row's nearest distance from its values'."""
        alone = (holders[i] == 1) & (holders[j] == 1) & (holder[i] == holder[j])   # one row's own two values
        i, j, d = i[~alone], j[~alone], d[~alone]
        shared = holders[inv] > 1
        rows = np.broadcast_to(np.arange(n)[:, None], inv.shape)[shared]
        edge_a.append(rows), edge_b.append(holder[inv[shared]])
        best = np.where(holders > 1, 0, 65).astype(np.int8)
        np.minimum.at(best, i, d.astype(np.int8))
        np.minimum.at(best, j, d.astype(np.int8))
        np.minimum(nearest, best[inv].min(1), out=nearest)
        edge_a.append(holder[i]), edge_b.append(holder[j])

    vals, inv, holder, holders = _held(np.asarray(phash, np.uint64)[:, None])
    by_value(inv, holder, holders, *near_pairs(vals, radius))
    if shift is not None and np.asarray(shift).size:
        sh = np.asarray(shift, np.uint64)
        vals, inv, holder, holders = _held(sh[:, :stored])
        by_value(inv, holder, holders, *near_pairs(vals, shift_radius))
        # a queried hash links its row to the holders of every stored value within the radius (an equal
        # one included), never to another queried hash: (row, stored value) pairs, a row's own skipped
        best = np.full(len(vals), 65, np.int8)
        for c in range(stored, sh.shape[1]):          # a column at a time: half the memory of both at once
            row, v, d = near_pairs(sh[:, c], shift_radius, vals)
            own = (holders[v] == 1) & (holder[v] == row)
            row, v, d = row[~own], v[~own], d[~own].astype(np.int8)
            edge_a.append(row), edge_b.append(holder[v])
            np.minimum.at(nearest, row, d)
            np.minimum.at(best, v, d)
        np.minimum(nearest, best[inv].min(1), out=nearest)
    a = np.concatenate(edge_a).astype(np.int32)
    b = np.concatenate(edge_b).astype(np.int32)
    graph = coo_matrix((np.ones(len(a), np.float32), (a, b)), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    # a component counts when it holds two different pixel contents
    lo = np.full(n, n, np.int64)
    hi = np.full(n, -1, np.int64)
    np.minimum.at(lo, comp, content)
    np.maximum.at(hi, comp, content)
    inside = lo[comp] != hi[comp]
    group = np.full(n, -1, np.int64)
    if inside.any():
        _, group[inside] = np.unique(comp[inside], return_inverse=True)
    out = nearest.astype(np.int64)
    out[~inside] = -1
    return group, out
