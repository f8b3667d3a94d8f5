"""The restricted unpickler: plain data and numpy arrays in both module spellings; nothing else runs."""
from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from data_tools.safepickle import UnsafePickleError, loads_restricted, read_numpy_pickle


def test_plain_data_and_arrays_read(tmp_path):
    obj = {"a": [1, 2.5, "x", b"y", None, True], "t": (1, 2), "arr": np.arange(6, dtype=np.uint8).reshape(2, 3),
           "f": np.float32(1.5)}
    p = tmp_path / "ok.pkl"
    p.write_bytes(pickle.dumps(obj, protocol=2))
    got = read_numpy_pickle(p)
    assert got["a"] == [1, 2.5, "x", b"y", None, True] and got["t"] == (1, 2) and got["f"] == 1.5
    assert got["arr"].dtype == np.uint8 and got["arr"].tolist() == [[0, 1, 2], [3, 4, 5]]


@pytest.mark.parametrize("module", [b"numpy.core.multiarray", b"numpy._core.multiarray"])
def test_both_numpy_spellings_with_bytes_keys(tmp_path, py2_pickle, module):
    """CIFAR-100's files: Python 2 protocol-2 pickles, bytes keys with encoding='bytes'."""
    data = py2_pickle({"data": np.arange(12, dtype=np.uint8).reshape(2, 6), "fine_labels": [3, 7]},
                      numpy_module=module.decode())
    assert module + b"\n_reconstruct" in data and data[:2] == b"\x80\x02" and b"_codecs" not in data
    p = tmp_path / "train"
    p.write_bytes(data)
    got = read_numpy_pickle(p, encoding="bytes")
    assert set(got) == {b"data", b"fine_labels"}
    assert got[b"data"].tolist() == [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]] and got[b"fine_labels"] == [3, 7]
    # latin1 (the weight files' choice) turns the same py2 strings into str
    assert set(read_numpy_pickle(p)) == {"data", "fine_labels"}


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_code_is_refused_before_it_runs(tmp_path):
    marker = tmp_path / "pwned"
    p = tmp_path / "meta"
    p.write_bytes(pickle.dumps({b"fine_label_names": [b"apple"], b"x": _Evil(marker)}, protocol=2))
    with pytest.raises(UnsafePickleError) as e:
        read_numpy_pickle(p, encoding="bytes")
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith(f"{p}: refusing to load pickle")
    assert ("posix.system" in msg or "os.system" in msg) and not marker.exists()
    with pytest.raises(UnsafePickleError, match=r"^buf: .*builtins\.eval"):
        loads_restricted(b"\x80\x02cbuiltins\neval\nX\x06\x00\x00\x00print(1)\x85R.", where="buf")
    with pytest.raises(UnsafePickleError, match="persistent ids"):
        loads_restricted(b"\x80\x02X\x01\x00\x00\x00aQ.")


def test_eac_core_uses_the_same_unpickler():
    from eac_core import pretrained
    assert pretrained.UnsafePickleError is UnsafePickleError
    assert pretrained.read_numpy_pickle is read_numpy_pickle
