"""Controlled label noise: symmetric (as the EAC paper makes it), class-to-class (asymmetric), and
within superclasses (CIFAR-100, as the noisy-label literature makes it: each class flips to the next
class of its superclass, cyclically).

Functions over arrays in cleanlab's style: `labels` is an int array (N,) of class indices in 0..K-1,
`transition` a (K, K) array whose row c gives where a flipped label of class c goes. The number of
flipped labels is exact: round(rate * N) overall, or round(rate * n_c) in each class with
`per_class=True` (round half up). A flipped label never keeps its class. `add_noise_to_dataset` applies
this to a dataset folder's train split and writes a new folder (docs/ARCHITECTURE.md, "Dataset folder").
"""
from __future__ import annotations

import argparse
import math
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from data_tools.classes import ANGRY, CONTEMPT, DISGUST, FEAR, HAPPY, NEUTRAL, SAD, SURPRISE
from data_tools.manifest import MANIFEST, REPORT, ManifestError, load_dataset, read_manifest_csv, write_dataset

KINDS = ("symmetric", "asymmetric", "superclass")
SUPERCLASS_COLUMN = "coarse_label"  # where a manifest names each row's superclass (the cifar100 importer)

# Where a flipped label of each expression goes, by class name (weights are renormalised over the
# classes a dataset has; a class whose targets are all absent falls back to uniform over the others).
CONFUSABLE: dict[str, dict[str, float]] = {
    ANGRY: {DISGUST: 0.6, SAD: 0.15, FEAR: 0.1, NEUTRAL: 0.15},
    DISGUST: {ANGRY: 0.6, CONTEMPT: 0.15, SAD: 0.15, FEAR: 0.1},
    FEAR: {SURPRISE: 0.65, SAD: 0.2, ANGRY: 0.15},
    HAPPY: {NEUTRAL: 0.5, SURPRISE: 0.3, CONTEMPT: 0.2},
    SAD: {NEUTRAL: 0.6, FEAR: 0.2, ANGRY: 0.1, DISGUST: 0.1},
    SURPRISE: {FEAR: 0.65, HAPPY: 0.2, NEUTRAL: 0.15},
    NEUTRAL: {SAD: 0.6, CONTEMPT: 0.15, ANGRY: 0.1, HAPPY: 0.15},
    CONTEMPT: {DISGUST: 0.4, NEUTRAL: 0.3, HAPPY: 0.3},
}


def round_half_up(x: float) -> int:
    """round() as people mean it (2.5 -> 3), not Python's banker's rounding."""
    return int(math.floor(x + 0.5))


def n_flips(n: int, rate: float) -> int:
    """How many of n labels a given rate flips: round(rate * n)."""
    return round_half_up(rate * n)


def _check(labels: np.ndarray, num_classes: int, rate: float) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be a 1-D integer array, got shape {labels.shape} dtype {labels.dtype}")
    if num_classes < 2:
        raise ValueError(f"noise needs at least 2 classes, got {num_classes}")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels must lie in 0..{num_classes - 1}, found {labels.min()}..{labels.max()}")
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate must be between 0 and 1, got {rate}")
    return labels.astype(np.int64)


def _choose_flips(labels: np.ndarray, eligible: np.ndarray, rate: float, per_class: bool,
                  rng: np.random.Generator) -> np.ndarray:
    """Indices to flip: round(rate*N) among eligible rows, or round(rate*n_c) within each class."""
    groups = [np.flatnonzero(labels == c) for c in np.unique(labels)] if per_class else [np.arange(len(labels))]
    chosen = []
    for idx in groups:
        want = n_flips(len(idx), rate)
        pool = idx[eligible[idx]]
        if want > len(pool):
            where = f"class {labels[idx[0]]}" if per_class else "the labels"
            raise ValueError(f"rate {rate} asks for {want} flips in {where}, but only {len(pool)} "
                             "can change class under this transition matrix")
        chosen.append(rng.choice(pool, size=want, replace=False) if want else pool[:0])
    return np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, np.int64)


def inject_symmetric(labels: np.ndarray, num_classes: int, rate: float, *, seed: int = 0,
                     per_class: bool = False) -> np.ndarray:
    """Noisy copy of labels (N,): exactly round(rate*N) flipped, each to a uniform *other* class."""
    labels = _check(labels, num_classes, rate)
    rng = np.random.default_rng(seed)
    idx = _choose_flips(labels, np.ones(len(labels), bool), rate, per_class, rng)
    noisy = labels.copy()
    # old + U{1..K-1} mod K is uniform over the K-1 other classes
    noisy[idx] = (labels[idx] + rng.integers(1, num_classes, size=len(idx))) % num_classes
    return noisy


def normalize_transition(transition: np.ndarray) -> np.ndarray:
    """Validate a (K, K) transition: non-negative; diagonal dropped; non-empty rows sum to 1."""
    t = np.asarray(transition, dtype=np.float64)
    if t.ndim != 2 or t.shape[0] != t.shape[1]:
        raise ValueError(f"transition must be a square (K, K) matrix, got shape {t.shape}")
    if not np.all(np.isfinite(t)) or (t < 0).any():
        raise ValueError("transition must hold finite, non-negative weights")
    t = t.copy()
    np.fill_diagonal(t, 0.0)  # a flip never keeps the class
    sums = t.sum(axis=1, keepdims=True)
    return np.divide(t, sums, out=np.zeros_like(t), where=sums > 0)


def inject_asymmetric(labels: np.ndarray, transition: np.ndarray, rate: float, *, seed: int = 0,
                      per_class: bool = False) -> np.ndarray:
    """Noisy copy of labels (N,): exactly round(rate*N) flipped, class c going to j with weight T[c, j].

    Rows of classes with no off-diagonal weight are never flipped (the count is drawn from the others).
    """
    t = normalize_transition(transition)
    labels = _check(labels, t.shape[0], rate)
    rng = np.random.default_rng(seed)
    eligible = t.sum(axis=1)[labels] > 0
    idx = _choose_flips(labels, eligible, rate, per_class, rng)
    noisy = labels.copy()
    for c in np.unique(labels[idx]):
        rows = idx[labels[idx] == c]
        noisy[rows] = rng.choice(t.shape[0], size=len(rows), p=t[c])
    return noisy


def confusable_transition(classes: list[str]) -> np.ndarray:
    """The built-in "confusable expressions" (K, K) transition for these class names, in their order."""
    k = len(classes)
    t = np.zeros((k, k))
    pos = {c: i for i, c in enumerate(classes)}
    for i, c in enumerate(classes):
        for target, w in CONFUSABLE.get(c, {}).items():
            if target in pos and target != c:
                t[i, pos[target]] = w
        if t[i].sum() == 0:
            t[i] = 1.0
            t[i, i] = 0.0
    return normalize_transition(t)


def superclass_transition(classes: list[str], superclass_of: dict[str, str]) -> np.ndarray:
    """The (K, K) "next class in the superclass" transition: within each superclass, taken in the
    order of `classes`, class i flips to the one after it and the last to the first (the CIFAR-100
    asymmetric noise of the noisy-label literature). Classes alone in their superclass, or without
    one, have no target (they are never flipped)."""
    k = len(classes)
    t = np.zeros((k, k))
    members: dict[str, list[int]] = {}
    for i, c in enumerate(classes):
        if c in superclass_of:
            members.setdefault(superclass_of[c], []).append(i)
    for idx in members.values():
        if len(idx) > 1:
            for a, b in zip(idx, idx[1:] + idx[:1]):
                t[a, b] = 1.0
    return t


def dataset_superclasses(ds: Any) -> dict[str, str]:
    """class -> superclass of a dataset folder: dataset.json's extra["superclasses"] (written by the
    cifar100 importer, kept by noised copies), else the manifest's coarse_label column read against
    the true labels (true_label, source_label or label). ValueError when neither says, or when the
    column puts one class in two superclasses."""
    known = ds.info.extra.get("superclasses")
    if isinstance(known, dict) and known:
        return {str(k): str(v) for k, v in known.items()}
    df = ds.manifest
    if SUPERCLASS_COLUMN not in df.columns:
        raise ValueError(f"{ds.root}: kind 'superclass' needs each class's superclass: dataset.json "
                         f"extra.superclasses or a '{SUPERCLASS_COLUMN}' column (the cifar100 importer "
                         "writes both)")
    truth = next(c for c in ("true_label", "source_label", "label") if c in df.columns)
    out: dict[str, str] = {}
    for row, (cls, sup) in enumerate(zip(df[truth], df[SUPERCLASS_COLUMN]), start=2):
        if sup and out.setdefault(cls, sup) != sup:
            raise ValueError(f"{ds.root / MANIFEST} row {row}: class '{cls}' is in superclass '{sup}' here "
                             f"but '{out[cls]}' above")
    return out


def read_transition_csv(path: str | Path, classes: list[str]) -> np.ndarray:
    """Read a transition CSV: first column the source class, one column per target class name."""
    path = Path(path)
    df = read_manifest_csv(path)  # every cell a string; same error handling
    if df.shape[1] < 2:
        raise ManifestError(f"{path}: expected a first column of source classes and one column per class")
    src_col, pos = df.columns[0], {c: i for i, c in enumerate(classes)}
    for col in df.columns[1:]:
        if col not in pos:
            raise ManifestError(f"{path}: column '{col}' is not one of the dataset's classes: {', '.join(classes)}")
    t = np.zeros((len(classes), len(classes)))
    for row, rec in enumerate(df.to_dict("records"), start=2):
        src = rec[src_col]
        if src not in pos:
            raise ManifestError(f"{path} row {row}: class '{src}' is not one of: {', '.join(classes)}")
        for col in df.columns[1:]:
            cell = rec[col].strip()
            try:
                w = float(cell) if cell else 0.0
            except ValueError:
                raise ManifestError(f"{path} row {row}: '{cell}' in column '{col}' is not a number") from None
            if not math.isfinite(w) or w < 0:
                raise ManifestError(f"{path} row {row}: weight {cell} in column '{col}' must be >= 0")
            t[pos[src], pos[col]] = w
    return normalize_transition(t)


def noise_stats(true: np.ndarray, noisy: np.ndarray, num_classes: int) -> dict[str, Any]:
    """How labels (N,) were changed: flip count and rate, per-class flip rates (and a chi-square p-value
    that they are equal), the (K, K) count matrix, and a chi-square p-value that flipped labels go
    uniformly to the other K-1 classes."""
    from scipy.stats import chi2, chi2_contingency
    from sklearn.metrics import confusion_matrix

    true, noisy = np.asarray(true, np.int64), np.asarray(noisy, np.int64)
    if true.shape != noisy.shape:
        raise ValueError(f"true and noisy labels differ in shape: {true.shape} vs {noisy.shape}")
    k = num_classes
    counts = (confusion_matrix(true, noisy, labels=np.arange(k)).astype(np.int64) if len(true)
              else np.zeros((k, k), np.int64))
    n_c = counts.sum(axis=1)
    flipped_c = n_c - np.diag(counts)
    rate_c = np.divide(flipped_c, n_c, out=np.full(k, np.nan), where=n_c > 0)
    # uniformity of targets within each source class, pooled: sum of chi2 stats, df = sum(K-2)
    stat, dof = 0.0, 0
    for c in range(k):
        if flipped_c[c] == 0:
            continue
        obs = np.delete(counts[c], c)
        exp = flipped_c[c] / (k - 1)
        stat += float(((obs - exp) ** 2 / exp).sum())
        dof += k - 2
    n_flipped = int(flipped_c.sum())
    valid = rate_c[~np.isnan(rate_c)]
    # flat per-class flip rates: chi-square test of homogeneity over the classes present
    present = n_c > 0
    table = np.stack([flipped_c[present], (n_c - flipped_c)[present]])
    flat_p = (float(chi2_contingency(table)[1])
              if present.sum() > 1 and (table.sum(axis=1) > 0).all() else 1.0)
    return {
        "n": int(len(true)), "n_flipped": n_flipped,
        "rate": n_flipped / len(true) if len(true) else 0.0,
        "per_class_n": n_c, "per_class_flipped": flipped_c, "per_class_rate": rate_c,
        "per_class_rate_spread": float(valid.max() - valid.min()) if valid.size else 0.0,
        "per_class_flat_p": flat_p,
        "counts": counts,
        "target_chi2": stat, "target_dof": dof,
        "target_uniform_p": float(chi2.sf(stat, dof)) if dof else 1.0,
    }


def add_noise_to_dataset(dataset_dir: str | Path, out_dir: str | Path, *, rate: float,
                         kind: str = "symmetric", seed: int = 0, per_class: bool = False,
                         transition_file: str | Path | None = None) -> Path:
    """Write a new dataset folder: same images, the train split's labels noised, `source_label` kept."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got '{kind}'")
    if transition_file is not None and kind != "asymmetric":
        raise ValueError("a transition file is only used with kind 'asymmetric'")
    src, out = Path(dataset_dir), Path(out_dir)
    if out.resolve() == src.resolve():
        raise ValueError(f"{out}: the noisy dataset must go to a new folder, not over its source")
    if (out / MANIFEST).exists():
        raise ValueError(f"{out}: already holds a dataset; choose a new folder")
    ds = load_dataset(src)
    classes, df = ds.classes, ds.manifest.copy()
    pos = {c: i for i, c in enumerate(classes)}
    labels = np.array([pos[x] for x in df["label"]], np.int64)
    train = (df["split"] == "train").to_numpy()
    if kind == "symmetric":
        noisy_train = inject_symmetric(labels[train], len(classes), rate, seed=seed, per_class=per_class)
    elif kind == "superclass":
        t = superclass_transition(classes, dataset_superclasses(ds))
        noisy_train = inject_asymmetric(labels[train], t, rate, seed=seed, per_class=per_class)
    else:
        t = (read_transition_csv(transition_file, classes) if transition_file is not None
             else confusable_transition(classes))
        noisy_train = inject_asymmetric(labels[train], t, rate, seed=seed, per_class=per_class)
    noisy = labels.copy()
    noisy[train] = noisy_train

    if "true_label" not in df.columns:
        # a dataset noised before knows its truth as that source_label
        df["true_label"] = df["source_label"] if "source_label" in df.columns else df["label"]
    df["source_label"] = df["label"]
    df["label"] = [classes[i] for i in noisy]

    # the images stay where they are: point at them from the new folder, relatively when they sit
    # beside it (datasets/demo -> datasets/demo_noisy: "../demo"), else by absolute path
    image_root = ds.image_root
    beside = image_root.is_relative_to(out.resolve().parent)
    root_str = os.path.relpath(image_root, out.resolve()) if beside else str(image_root)
    stats = noise_stats(labels[train], noisy_train, len(classes))
    noise_info = {"kind": kind, "rate": rate, "seed": seed, "per_class": per_class,
                  "transition_file": str(transition_file) if transition_file else None,
                  "source_dataset": str(src.resolve()), "n_train": stats["n"],
                  "n_flipped": stats["n_flipped"]}
    info = replace(ds.info, image_root=root_str, counts={}, name=out.name,
                   extra={**ds.info.extra, "noise": noise_info})
    report = read_manifest_csv(src / REPORT) if (src / REPORT).is_file() else None
    return write_dataset(out, df, info, report)


def configure_parser(p: argparse.ArgumentParser) -> None:
    """Arguments of `python -m data_tools noise`."""
    p.add_argument("--dataset", required=True, help="dataset folder to read (not changed)")
    p.add_argument("--out", required=True, help="new dataset folder to write")
    p.add_argument("--rate", type=float, required=True, help="fraction of train labels to flip, 0..1")
    p.add_argument("--kind", choices=KINDS, default="symmetric",
                   help="symmetric: uniform over the other classes; asymmetric: a transition matrix; "
                        "superclass: to the next class of the same superclass, cyclically (CIFAR-100)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--per-class", action="store_true", help="flip round(rate * n) within every class")
    p.add_argument("--transition", default=None, metavar="FILE.csv",
                   help="asymmetric transition CSV (first column: source class; one column per target "
                        "class); default: the built-in confusable-expressions matrix")


def main(args: argparse.Namespace) -> int:
    """Run the noise command; prints what was flipped."""
    out = add_noise_to_dataset(args.dataset, args.out, rate=args.rate, kind=args.kind, seed=args.seed,
                               per_class=args.per_class, transition_file=args.transition)
    ds = load_dataset(out, validate=False)
    n = ds.info.extra["noise"]
    print(f"{out}: flipped {n['n_flipped']} of {n['n_train']} train labels ({args.kind}, rate {args.rate}, "
          f"seed {args.seed})")
    return 0
