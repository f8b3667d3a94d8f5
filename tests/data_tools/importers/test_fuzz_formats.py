"""Hostile files in the issue-10 formats, generated: whatever an Aff-Wild2 annotation file, a
Tiny-ImageNet label file or a CIFAR-100 pickle holds, the import either fails with one line naming
the file, or imports with every row accounted for (imported + rejected = read, on disk too); never
another exception. Fixed (derandomized) cases, a few seconds each."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data_tools.importers import ImportFailure, import_dataset

SETTINGS = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
LINES = st.sampled_from(["0", "7", "-1", "8", "", " 3 ", "x", "1.5", "-0", "٣", "Neutral,Anger", "\x00", "4\r"])
TEXT = st.one_of(st.lists(LINES, max_size=8).map("\n".join),
                 st.binary(max_size=40).map(lambda b: b.decode("utf-8", "surrogateescape")))


def _accounted(res, out: Path) -> None:
    man = pd.read_csv(out / "manifest.csv", dtype=str, keep_default_na=False)
    rep = pd.read_csv(out / "report.csv", dtype=str, keep_default_na=False)
    assert len(man) == len(res.manifest) and len(rep) == len(res.report)
    assert res.counts["read"] == len(man) + len(rep)


def _one_line(e: ImportFailure, *names: str) -> None:
    msg = str(e)
    assert "\n" not in msg and msg.encode("utf-8")
    assert any(n in msg for n in names), msg


@SETTINGS
@given(header=st.sampled_from(["Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other", "Neutral,Other",
                               "Anger", "", "Neutral,,Anger", "\ufeffNeutral,Anger"]), body=TEXT)
def test_any_affwild2_annotation(tmp_path_factory, header, body):
    root = tmp_path_factory.mktemp("aw")
    ann = root / "annotations" / "EXPR_Set" / "Train_Set"
    ann.mkdir(parents=True)
    (ann / "v.txt").write_bytes((header + "\n" + body).encode("utf-8", "surrogateescape"))
    out = tmp_path_factory.mktemp("out") / "ds"
    try:
        res = import_dataset("affwild2", root, out, labels_only=True)
    except ImportFailure as e:
        return _one_line(e, "v.txt", str(root))
    _accounted(res, out)


@SETTINGS
@given(wnids=st.one_of(st.just("n01443537\nn02124075\n"), TEXT), words=TEXT, val=TEXT)
def test_any_tinyimagenet_label_files(tmp_path_factory, wnids, words, val):
    root = tmp_path_factory.mktemp("tiny")
    (root / "train" / "n01443537" / "images").mkdir(parents=True)
    (root / "train" / "n01443537" / "images" / "n01443537_0.JPEG").write_bytes(b"")
    (root / "val" / "images").mkdir(parents=True)
    for name, text in (("wnids.txt", wnids), ("words.txt", "n01443537\tgoldfish\n" + words),
                       ("val/val_annotations.txt", "val_0.JPEG\tn01443537\n" + val)):
        (root / name).write_bytes(text.encode("utf-8", "surrogateescape"))
    out = tmp_path_factory.mktemp("out") / "ds"
    try:
        res = import_dataset("tinyimagenet", root, out, labels_only=True)
    except ImportFailure as e:
        return _one_line(e, "wnids.txt", "words.txt", "val_annotations.txt", str(root))
    _accounted(res, out)


@SETTINGS
@given(data=st.data())
def test_any_damage_to_a_cifar100_pickle(tmp_path_factory, py2_pickle, data):
    root = tmp_path_factory.mktemp("cifar")
    (root / "meta").write_bytes(py2_pickle({"fine_label_names": ["a", "b"], "coarse_label_names": ["x"]}))
    good = py2_pickle({"data": np.arange(2 * 3072, dtype=np.uint8).reshape(2, 3072) % 251,
                       "fine_labels": [0, 1], "coarse_labels": [0, 0], "filenames": [b"p.png", b"q.png"]})
    at = data.draw(st.integers(0, len(good) - 1))
    how = data.draw(st.sampled_from(["flip", "cut", "insert"]))
    junk = data.draw(st.binary(min_size=1, max_size=4))
    damaged = {"flip": good[:at] + junk + good[at + len(junk):], "cut": good[:at],
               "insert": good[:at] + junk + good[at:]}[how]
    (root / "train").write_bytes(damaged)
    out = tmp_path_factory.mktemp("out") / "ds"
    try:
        res = import_dataset("cifar100", root, out)
    except ImportFailure as e:
        return _one_line(e, str(root / "train"))
    _accounted(res, out)
