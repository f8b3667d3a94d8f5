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
    with pytest.raises(pickle.UnpicklingError, match="persistent ids"):
        loads_restricted(b"\x80\x02X\x01\x00\x00\x00aQ.")


def test_eac_core_uses_the_same_unpickler():
    from eac_core import pretrained
    assert pretrained.UnsafePickleError is UnsafePickleError
    assert pretrained.read_numpy_pickle is read_numpy_pickle


@pytest.mark.parametrize("proto", [2, 3, 4, 5])
def test_arrays_round_trip_at_every_protocol(proto):
    cases = {"be": np.arange(6, dtype=">i4").reshape(2, 3), "f": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
             "s": np.array([b"ab", b"c"]), "u": np.array(["ab", "c"]), "empty": np.zeros((0, 3)),
             "c": np.arange(4, dtype=np.complex64), "h": np.array([1.5], dtype="<f2"),
             "scalar": np.float32(2.5), "i": np.int64(7), "flag": np.bool_(True), "nothing": b""}
    got = loads_restricted(pickle.dumps(cases, protocol=proto))
    for k, v in cases.items():
        assert type(got[k]) is type(v) and np.array_equal(got[k], v), k
        if isinstance(v, np.ndarray):
            assert got[k].dtype == v.dtype and got[k].shape == v.shape and got[k].flags.writeable, k
    assert got["f"].flags.f_contiguous


# numpy's dtype.__setstate__ trusts its input: this 60-byte state (a float where numpy expects None)
# crashed the interpreter (segfault, numpy 2.4) when the allow-list handed out numpy's own dtype
CRASHING_DTYPE = (b"\x80\x02cnumpy\ndtype\nX\x02\x00\x00\x00u1\x89\x88\x87R(K\x03X\x01\x00\x00\x00|N"
                  b"G\xbf\xf0\x00\x00\x00\x00\x00\x00J\xff\xff\xff\xffK\x00tb.")


def test_a_crafted_dtype_state_is_refused_not_a_crash():
    import subprocess
    import sys
    code = ("from data_tools.safepickle import loads_restricted, UnsafePickleError\n"
            f"try:\n    loads_restricted({CRASHING_DTYPE!r}, where='x.pkl')\n"
            "except UnsafePickleError as e:\n    print(e)\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, (run.returncode, run.stderr[-300:])
    assert run.stdout == ("x.pkl: refusing to load pickle: it builds a structured or sub-array dtype: only "
                          "plain numeric or byte-string dtypes are accepted\n")


@pytest.mark.parametrize("obj, message", [
    (np.zeros(2, dtype=[("a", "<i4"), ("b", "<f4")]), "structured or sub-array dtype"),
    (np.array([1, "x"], dtype=object), r"^pickle: refusing to load pickle: it builds dtype 'O8' \(O\): only plain "
                                       r"numeric or byte-string dtypes are accepted$"),
    (np.zeros(2, dtype="datetime64[s]"), r"it builds dtype 'M8' \(M\)"),
])
def test_other_dtypes_are_refused(obj, message):
    with pytest.raises(UnsafePickleError, match=message):
        loads_restricted(pickle.dumps(obj, protocol=2))


def test_array_data_must_match_its_shape():
    data = pickle.dumps(np.arange(4, dtype=np.uint8), protocol=2)
    bad = data.replace(b"K\x04\x85", b"K\x05\x85")   # shape (5,) with 4 bytes of data
    assert bad != data
    with pytest.raises(UnsafePickleError, match=r"array of shape \(5,\) and dtype uint8 4 bytes of data "
                                                r"\(it needs 5\)"):
        loads_restricted(bad)


def test_allowed_globals_cannot_be_rewritten():
    """A BUILD on an allowed function would set its __defaults__/__dict__ for every later load."""
    with pytest.raises(UnsafePickleError, match=r"^f: refusing to load pickle: it sets the state of _codecs\.encode$"):
        loads_restricted(b"\x80\x02c_codecs\nencode\n}b.", where="f")
    with pytest.raises(UnsafePickleError, match=r"it calls numpy\.ndarray"):
        loads_restricted(b"\x80\x02cnumpy\nndarray\n)R.")


def test_a_huge_memo_index_costs_nothing():
    """The C unpickler sizes its memo from the index: LONG_BINPUT 680825748 meant gigabytes and minutes."""
    import time
    start = time.perf_counter()
    assert loads_restricted(b"\x80\x02K\x07r\x94\xa1\x94(.") == 7
    assert time.perf_counter() - start < 1.0
