"""Reading pickles without running their code: a restricted unpickler for plain data and numpy arrays.

A pickle can call any importable function while it is read. The files this tool reads as pickles
(CIFAR-100's `train`/`test`/`meta`, the face-pretrained `resnet50_ft_weight.pkl`) hold only dicts,
lists, tuples, str/bytes, numbers and numpy arrays, so `find_class` resolves numpy's array / dtype /
scalar reconstruction globals under both module spellings (`numpy.core.multiarray`, written by
numpy 1 and Python 2; `numpy._core.multiarray`, written by numpy 2) and refuses every other global
(`UnsafePickleError`) before anything is called. Plain containers, strings and numbers need no
globals at all. Shared by the importers and the training core's weight loader (eac_core.pretrained).
"""
from __future__ import annotations

import pickle
from pathlib import Path
from typing import IO, Any

import numpy as np

__all__ = ["UnsafePickleError", "RestrictedUnpickler", "read_numpy_pickle", "loads_restricted"]


class UnsafePickleError(ValueError):
    """A pickle referenced a global outside the numpy-array allow-list (one line, naming the file)."""


def _np_core():
    try:
        from numpy._core import multiarray  # numpy >= 2
    except ImportError:  # pragma: no cover - numpy 1
        from numpy.core import multiarray
    return multiarray


def _latin1_encode(obj: Any, encoding: str = "utf-8", errors: str = "strict") -> bytes:
    """Stand-in for ``_codecs.encode`` (how Python 3 writes ``bytes`` at protocol < 3): only the
    latin-1 round trip numpy's array data needs, nothing else from the codec registry."""
    if not isinstance(obj, str) or encoding.lower().replace("_", "-") not in ("latin1", "latin-1",
                                                                              "iso-8859-1"):
        raise UnsafePickleError(f"pickle calls _codecs.encode with encoding {encoding!r}: only latin1 "
                                "byte strings are accepted")
    return obj.encode("latin1", errors)


def _allowed_globals() -> dict[tuple[str, str], Any]:
    ma = _np_core()
    allowed: dict[tuple[str, str], Any] = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): _latin1_encode,
    }
    for mod in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed[(mod, "_reconstruct")] = ma._reconstruct
        allowed[(mod, "scalar")] = ma.scalar
    return allowed


class RestrictedUnpickler(pickle.Unpickler):
    """Resolves only numpy's array / dtype / scalar reconstruction globals; anything else raises
    UnsafePickleError before it can be called. `where` names the file in the message."""

    _ALLOWED = _allowed_globals()

    def __init__(self, file: IO[bytes], *, encoding: str = "latin1", where: str = "pickle"):
        super().__init__(file, encoding=encoding)
        self._where = where

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self._ALLOWED[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"{self._where}: refusing to load pickle: it references the global '{module}.{name}', "
                "which is not a numpy array constructor (only numpy arrays in plain containers are accepted)"
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError(f"{self._where}: refusing to load pickle: it uses persistent ids "
                                "(not a plain numpy pickle)")


def read_numpy_pickle(path: str | Path, encoding: str = "latin1") -> Any:
    """Read a pickle of plain containers of numpy arrays (protocol <= 5) through the restricted
    unpickler. Python 2 `str` objects are decoded with `encoding`: "latin1" (the weight files) gives
    str keys, "bytes" (CIFAR-100, as its authors read it) keeps them bytes."""
    with open(path, "rb") as f:
        return RestrictedUnpickler(f, encoding=encoding, where=str(path)).load()


def loads_restricted(data: bytes, encoding: str = "latin1", where: str = "pickle") -> Any:
    """`read_numpy_pickle` for bytes in memory."""
    import io
    return RestrictedUnpickler(io.BytesIO(data), encoding=encoding, where=where).load()
