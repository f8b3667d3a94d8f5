"""CIFAR-100 as distributed for Python: `train`, `test`, `meta` (in --root or its cifar-100-python/).

Each is a pickled dict written by Python 2 (protocol 2, byte-string keys): `data` an (N, 3072) uint8
array (1024 red, 1024 green, 1024 blue values of a 32x32 image), `fine_labels` and `coarse_labels`
lists of N numbers, `filenames`; `meta` holds `fine_label_names` (100) and `coarse_label_names` (20).
They are read with the restricted unpickler (data_tools.safepickle), never plain pickle.load, and
the images are written as PNG into the dataset folder. Fine labels by default, the 20 superclasses
with --cifar100-labels coarse. The other label is kept as a column (`coarse_label` / `fine_label`)
and dataset.json's extra["superclasses"] maps each fine class to its superclass (for noise within
superclasses, data_tools.noise).
"""
from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from data_tools import classes as C
from data_tools.images import write_image
from data_tools.importers.base import Collected, ImportFailure, ImportOptions, LabelSpec, Record, display_path
from data_tools.safepickle import UnsafePickleError, read_numpy_pickle

NAME = "cifar100"
HELP = "CIFAR-100 (python version): train, test, meta pickles; images written as PNG (fine or coarse labels)"
SUBDIR = "cifar-100-python"
SPLITS = (("train", "train"), ("test", "test"))   # file -> split
SIDE = 32
IMAGES = "images"


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("cifar100")
    g.add_argument("--cifar100-labels", choices=("fine", "coarse"), default="fine",
                   help="fine: the 100 classes (default); coarse: the 20 superclasses")


def _folder(root: Path) -> Path:
    for d in (root, root / SUBDIR):
        if (d / "meta").is_file():
            return d
    raise ImportFailure(f"{root}: no CIFAR-100 'meta' file (expected train, test and meta in --root or "
                        f"in {SUBDIR}/)")


def read_pickle(path: Path) -> dict[bytes, Any]:
    """One of the CIFAR-100 files as a dict with bytes keys; ImportFailure (one line) for anything else."""
    try:
        obj = read_numpy_pickle(path, encoding="bytes")
    except UnsafePickleError as e:
        raise ImportFailure(str(e)) from None
    except FileNotFoundError:
        raise ImportFailure(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImportFailure(f"{path}: is a folder, not a file") from None
    except Exception as e:  # a damaged pickle can fail in many ways; none of them may escape as a traceback
        detail = str(e) or ("the file ends before the pickle does" if isinstance(e, EOFError) else "no detail")
        raise ImportFailure(f"{path}: not a readable CIFAR pickle ({type(e).__name__}: {detail})") from None
    if not isinstance(obj, dict):
        raise ImportFailure(f"{path}: holds a {type(obj).__name__}, not the dict CIFAR-100 pickles hold")
    return {k.encode("latin1") if isinstance(k, str) else k: v for k, v in obj.items()}


def _field(d: dict[bytes, Any], key: str, path: Path) -> Any:
    if key.encode() not in d:
        keys = ", ".join(k.decode("latin1") if isinstance(k, bytes) else repr(k) for k in d)
        raise ImportFailure(f"{path}: no '{key}' entry (entries: {keys})")
    return d[key.encode()]


def _names(meta: dict[bytes, Any], key: str, path: Path) -> list[str]:
    raw = _field(meta, key, path)
    if not isinstance(raw, (list, tuple)) or not raw:
        raise ImportFailure(f"{path}: '{key}' is not a list of names")
    names = []
    for i, n in enumerate(raw):
        try:
            text = n.decode("utf-8") if isinstance(n, bytes) else n
        except UnicodeDecodeError:
            raise ImportFailure(f"{path}: {key}[{i}] is not valid UTF-8") from None
        if not isinstance(text, str):
            raise ImportFailure(f"{path}: {key}[{i}] is a {type(n).__name__}, not a name")
        name = C.clean_name(text)
        problem = C.name_problem(name)
        if problem:
            raise ImportFailure(f"{path}: {key}[{i}]: {problem}")
        if name in names:
            raise ImportFailure(f"{path}: {key}[{i}]: '{name}' is listed twice (also {key}[{names.index(name)}])")
        names.append(name)
    return names


def _labels(d: dict[bytes, Any], key: str, n: int, path: Path) -> list[Any]:
    raw = _field(d, key, path)
    values = raw.tolist() if isinstance(raw, np.ndarray) else raw
    if not isinstance(values, (list, tuple)):
        raise ImportFailure(f"{path}: '{key}' is not a list of labels")
    if len(values) != n:
        raise ImportFailure(f"{path}: {n} images but {len(values)} {key}")
    return list(values)


def _code(value: Any) -> int | None:
    """A label number as an int; None for anything that is not a whole number (bool included)."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, np.integer)):
        return int(value)
    return None


def _write(rec: Record, _src: Path | None, out: Path) -> str:
    rgb = np.asarray(rec.payload, dtype=np.uint8).reshape(3, SIDE, SIDE).transpose(1, 2, 0)
    write_image(out / rec.path, rgb)
    return rec.path


def collect(opts: ImportOptions) -> Collected:
    if opts.labels_only:
        raise ImportFailure("--labels-only does not apply to cifar100: its images are in the pickles")
    if opts.crop_faces:
        raise ImportFailure("--crop-faces does not apply to cifar100: its images are not faces")
    folder = _folder(opts.root)
    meta_path = folder / "meta"
    meta = read_pickle(meta_path)
    fine_names = _names(meta, "fine_label_names", meta_path)
    coarse_names = _names(meta, "coarse_label_names", meta_path)
    use_coarse = opts.cifar100_labels == "coarse"
    classes = coarse_names if use_coarse else fine_names
    files = [(folder / name, split) for name, split in SPLITS if (folder / name).is_file()]
    if not files:
        raise ImportFailure(f"{folder}: no 'train' or 'test' file beside 'meta'")
    records: list[Record] = []
    pairs: list[tuple[int, int]] = []   # (fine, coarse) per record, (-1, -1) where one is not a label
    for path, split in files:
        d = read_pickle(path)
        data = _field(d, "data", path)
        if not isinstance(data, np.ndarray) or data.ndim != 2 or data.shape[1] != 3 * SIDE * SIDE:
            shape = getattr(data, "shape", type(data).__name__)
            raise ImportFailure(f"{path}: 'data' is {shape}, not an (N, {3 * SIDE * SIDE}) array of 32x32 "
                                "RGB images")
        if data.dtype != np.uint8:
            raise ImportFailure(f"{path}: 'data' holds {data.dtype}, not uint8 pixels")
        n = len(data)
        raw = {"fine_label": _labels(d, "fine_labels", n, path), "coarse_label": _labels(d, "coarse_labels", n, path)}
        names = {"fine_label": fine_names, "coarse_label": coarse_names}
        label_col, other_col = ("coarse_label", "fine_label") if use_coarse else ("fine_label", "coarse_label")
        fnames = d.get(b"filenames")
        fnames = fnames if isinstance(fnames, (list, tuple)) and len(fnames) == n else None
        shown = display_path(path, opts.root)
        for i in range(n):
            code = {col: _code(values[i]) for col, values in raw.items()}
            label = code[label_col]
            rec = Record(file=shown, row=i, sample_id=f"{split}{i:05d}", path=f"{IMAGES}/{split}/{i:05d}.png",
                         label=str(label) if label is not None else str(raw[label_col][i]), split=split,
                         payload=data[i])
            other = code[other_col]
            if other is None or not 0 <= other < len(names[other_col]):
                rec.reason = f"{other_col} {raw[other_col][i]!r} is not a number in 0..{len(names[other_col]) - 1}"
            else:
                rec.extras[other_col] = names[other_col][other]
            if fnames is not None:
                rec.extras["filename"] = (fnames[i].decode("utf-8", "replace") if isinstance(fnames[i], bytes)
                                          else str(fnames[i]))
            ok = rec.reason is None and label is not None and 0 <= label < len(classes)
            pairs.append((code["fine_label"], code["coarse_label"]) if ok else (-1, -1))
            records.append(rec)
    superclass_of = _superclasses(records, pairs, fine_names, coarse_names)
    spec = LabelSpec(classes=list(classes), numbers=tuple(classes), base=0, names=False, vocabulary="open")
    return Collected(records=records, labels=spec, image_root=None, source=str(folder), materialize=_write,
                     extra={"cifar100_labels": opts.cifar100_labels,
                            "superclasses": superclass_of})


def _superclasses(records: list[Record], pairs: list[tuple[int, int]], fine_names: list[str],
                  coarse_names: list[str]) -> dict[str, str]:
    """fine class name -> superclass name, each fine class's most frequent superclass; rows that put
    a fine class in another superclass are rejected with their reason (the files disagree with
    themselves)."""
    votes: dict[int, Counter] = {}
    for f, c in pairs:
        if f >= 0:
            votes.setdefault(f, Counter())[c] += 1
    best = {f: v.most_common(1)[0][0] for f, v in votes.items()}
    for rec, (f, c) in zip(records, pairs):
        if f >= 0 and c != best[f]:
            rec.reason = (f"fine label '{fine_names[f]}' is in superclass '{coarse_names[c]}' here but in "
                          f"'{coarse_names[best[f]]}' in {votes[f][best[f]]} other image(s)")
    return {fine_names[f]: coarse_names[best[f]] for f in sorted(best)}
