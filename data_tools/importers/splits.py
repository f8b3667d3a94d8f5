"""Seeded train/val/test splits: stratified by class, or group-disjoint (no subject in two splits)."""
from __future__ import annotations

import numpy as np

from data_tools.importers.base import ImportFailure


def assign_splits(labels: list[str], *, groups: list[str | None] | None = None, test_fraction: float = 0.2,
                  val_fraction: float = 0.0, seed: int = 0) -> list[str]:
    """A split name per row; the same inputs and seed always give the same splits.

    Without groups every class is split on its own (round(fraction x class size) rows to test, then
    to val). With groups whole groups are drawn in a seeded order until test (then val) holds at
    least round(fraction x N) rows, so no group appears in two splits.
    """
    if not (0 <= test_fraction < 1 and 0 <= val_fraction < 1 and test_fraction + val_fraction < 1):
        raise ImportFailure(f"--test-fraction {test_fraction} and --val-fraction {val_fraction} must be "
                            "at least 0 and add up to less than 1")
    rng = np.random.default_rng(seed)
    out = ["train"] * len(labels)
    if groups is None:
        for cls in sorted(set(labels)):
            idx = [i for i, lab in enumerate(labels) if lab == cls]
            order = rng.permutation(len(idx))
            n_test, n_val = round(test_fraction * len(idx)), round(val_fraction * len(idx))
            for k, j in enumerate(order):
                if k < n_test:
                    out[idx[j]] = "test"
                elif k < n_test + n_val:
                    out[idx[j]] = "val"
        return out
    members: dict[str, list[int]] = {}
    for i, g in enumerate(groups):
        members.setdefault(g if g is not None else f"\0row{i}", []).append(i)
    names = sorted(members)
    targets = [("test", round(test_fraction * len(labels))), ("val", round(val_fraction * len(labels)))]
    order = iter(rng.permutation(len(names)))
    for split, target in targets:
        taken = 0
        while taken < target:
            g = next(order, None)
            if g is None:
                break
            for i in members[names[g]]:
                out[i] = split
            taken += len(members[names[g]])
    return out
