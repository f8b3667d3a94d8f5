"""eac_core.data: splits, the decoded-image cache, augmentation and seeded orders (on
support.shapes's dataset, which the other eac_core tests train on too)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from data_tools.manifest import load_dataset
from eac_core import data
from eac_core.preprocess import Preprocessing

from support.shapes import SHAPES, make_shapes_dataset


@pytest.fixture(scope="module")
def shapes(tmp_path_factory) -> Path:
    return make_shapes_dataset(tmp_path_factory.mktemp("shapes"), n_train=30, n_test=9)


def test_splits_and_labels(shapes):
    ds = load_dataset(shapes)
    train, test = data.make_splits(ds)
    assert (len(train), len(test)) == (30, 9)
    assert train.labels.tolist() == [SHAPES.index(v) for v in train.frame["label"]]
    assert test.true_labels.tolist() == [i % 3 for i in range(9)]
    train5, _ = data.make_splits(ds, limit=5)
    assert train5.sample_ids == [f"train{i:04d}" for i in range(5)]


def test_cache_decodes_once(shapes, tmp_path, monkeypatch):
    ds = load_dataset(shapes)
    train, _ = data.make_splits(ds)
    a = data.load_cached(ds, train, 16, tmp_path)
    assert a.shape == (30, 16, 16, 3) and a.dtype == np.uint8 and a.max() > 100
    monkeypatch.setattr(data, "decode_split", lambda *a, **k: pytest.fail("decoded again"))
    b = data.load_cached(ds, train, 16, tmp_path)
    np.testing.assert_array_equal(a, b)


def test_unreadable_image_names_row(shapes, tmp_path):
    ds = load_dataset(shapes)
    train, _ = data.make_splits(ds)
    (shapes / train.frame["path"].iat[3]).write_bytes(b"not an image")
    try:
        with pytest.raises(data.DataError, match=r"row 5 \(sample_id 'train0003'\)"):
            data.decode_split(ds, train, 16)
    finally:
        make_shapes_dataset(shapes, n_train=30, n_test=9)


def test_epoch_order_is_seeded_and_sharded():
    a, b = data.epoch_order(10, 0, 3), data.epoch_order(10, 0, 3)
    np.testing.assert_array_equal(a, b)
    assert sorted(a.tolist()) == list(range(10))
    assert not np.array_equal(a, data.epoch_order(10, 0, 4))
    r0, r1 = data.epoch_order(11, 0, 1, 0, 2), data.epoch_order(11, 0, 1, 1, 2)
    assert len(r0) == len(r1) == 6                        # padded like DistributedSampler
    assert set(r0) | set(r1) == set(range(11))


def test_erase_boxes_follow_the_spec():
    gen = torch.Generator().manual_seed(0)
    b = data.erase_boxes(2000, 40, 40, 0.5, (0.02, 0.25), (0.3, 3.3), gen)
    erased = b[:, 2] > 0
    assert 0.45 < erased.float().mean() < 0.55
    area = (b[erased, 2] * b[erased, 3]).float() / 1600
    assert area.min() > 0.01 and area.max() < 0.3
    assert ((b[:, 0] + b[:, 2]) <= 40).all() and ((b[:, 1] + b[:, 3]) <= 40).all()
    m = data.box_mask(torch.tensor([[1, 2, 2, 3]]), 5, 6, torch.device("cpu"))[0, 0]
    assert m.sum() == 6 and m[1, 2] and m[2, 4] and not m[3, 2] and not m[1, 5]


def test_views_erase_then_flip_and_flip_then_erase():
    x = torch.randint(0, 256, (8, 12, 12, 3), dtype=torch.uint8)
    aug = data.AugmentSpec(erase_p=1.0, noise_std=0.0)
    spec = Preprocessing()
    v1, v2, erased = data.make_views(x, spec, aug, torch.Generator().manual_seed(1), torch.device("cpu"), True)
    assert erased.all()
    torch.testing.assert_close(v2, v1.flip(3))
    assert (v1 == 0).any()
    aug2 = data.AugmentSpec(erase_p=1.0, noise_std=0.0, flip_order="flip-then-erase")
    w1, w2, _ = data.make_views(x, spec, aug2, torch.Generator().manual_seed(1), torch.device("cpu"), True)
    assert not torch.equal(w2, w1.flip(3))
    clean = data.normalise(x, spec, torch.device("cpu"))
    torch.testing.assert_close(clean, data.normalise(x, spec, torch.device("cpu")))
    ref = (x.permute(0, 3, 1, 2).float() / 255 - torch.tensor(spec.mean).view(1, 3, 1, 1)) / \
        torch.tensor(spec.std).view(1, 3, 1, 1)
    torch.testing.assert_close(clean, ref)
