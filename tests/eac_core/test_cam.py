"""CAMs and the flip algebra (eac_core/cam.py), with hand-computed values."""
from __future__ import annotations

import pytest
import torch

from eac_core.cam import (attention_consistency_loss, compute_cams, flip_cams, flip_consistency,
                          flip_consistency_of_class, flip_consistency_of_features)
from eac_core.models import ARCHS, build_model


def test_cam_equals_definition():
    g = torch.Generator().manual_seed(0)
    f = torch.randn(2, 5, 3, 4, generator=g)
    w = torch.randn(3, 5, generator=g)
    m = compute_cams(f, w)
    assert m.shape == (2, 3, 3, 4)
    ref = torch.zeros(2, 3, 3, 4)
    for n in range(2):
        for k in range(3):
            for c in range(5):
                ref[n, k] += w[k, c] * f[n, c]
    torch.testing.assert_close(m, ref)
    # hand-computed: one channel pair, one pixel
    f1 = torch.tensor([1.0, 2.0]).view(1, 2, 1, 1)
    w1 = torch.tensor([[3.0, -1.0], [0.5, 0.5]])
    assert compute_cams(f1, w1).flatten().tolist() == [1.0, 1.5]   # 3*1 - 1*2, 0.5*1 + 0.5*2


@pytest.mark.parametrize("arch", ARCHS)
def test_pooled_cam_plus_bias_is_logits(arch):
    """Linearity: mean over (i, j) of the CAM + bias == logits, for every class, every backbone."""
    torch.manual_seed(0)
    model = build_model(arch, 7).eval()
    with torch.no_grad():
        model.fc.bias.normal_()
        logits, feats = model(torch.randn(2, 3, 64, 64))
    cams = compute_cams(feats, model.fc.weight)
    torch.testing.assert_close(cams.mean(dim=(2, 3)) + model.fc.bias, logits, rtol=1e-4, atol=1e-4)


def test_flip_is_a_width_mirror_and_an_involution():
    m = torch.arange(6.0).view(1, 1, 2, 3)              # [[0,1,2],[3,4,5]]
    assert flip_cams(m).flatten().tolist() == [2, 1, 0, 5, 4, 3]
    assert torch.equal(flip_cams(flip_cams(m)), m)


def test_map_against_mirror_of_its_own_mirror_is_zero():
    """If the mirrored image's CAM is exactly flip(M) (a mirror-equivariant network), the error is 0."""
    m = torch.randn(3, 7, 5, 5, generator=torch.Generator().manual_seed(1))
    assert torch.equal(flip_consistency(m, flip_cams(m)), torch.zeros(3))
    assert attention_consistency_loss(m, flip_cams(m)).item() == 0.0
    assert torch.equal(flip_consistency_of_class(m, flip_cams(m), torch.tensor([0, 3, 6])), torch.zeros(3))


def test_asymmetric_map_hand_computed():
    """The mirrored image gives the SAME asymmetric map (the network did not mirror its attention):
    M = [[1, 2], [3, 4]]: flip(M) = [[2, 1], [4, 3]], M - flip(M) = [[-1, 1], [-1, 1]], mean square 1.
    M = [[0, 1, 3]]: flip(M) = [[3, 1, 0]], M - flip(M) = [-3, 0, 3], mean square (9 + 0 + 9) / 3 = 6."""
    a = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).view(1, 1, 2, 2)
    assert flip_consistency(a, a).tolist() == [1.0]
    b = torch.tensor([[0.0, 1.0, 3.0]]).view(1, 1, 1, 3)
    assert flip_consistency(b, b).tolist() == [6.0]
    # against a genuine mirror map it is zero, against a shifted one it is the squared shift
    assert flip_consistency(b, flip_cams(b)).tolist() == [0.0]
    assert flip_consistency(b, flip_cams(b) + 2.0).tolist() == [4.0]
    # the batch loss is the mean over (n, k, i, j): two samples with errors 1 and 4 -> 2.5
    m1 = torch.cat([a, torch.zeros(1, 1, 2, 2)])
    m2 = torch.cat([a, torch.full((1, 1, 2, 2), 2.0)])
    assert flip_consistency(m1, m2).tolist() == [1.0, 4.0]
    assert attention_consistency_loss(m1, m2).item() == 2.5


def test_flip_consistency_of_class_picks_the_class():
    """Class 0 symmetric (error 0), class 1 = [[1, 2], [3, 4]] (error 1), class 2 = [[0, 0], [0, 4]]
    (flip -> [[0, 0], [4, 0]], diff [0, 0, -4, 4], mean square 32 / 4 = 8). All classes: (0+1+8)/3 = 3."""
    sym = torch.tensor([[5.0, 5.0], [1.0, 1.0]])
    asym = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    corner = torch.tensor([[0.0, 0.0], [0.0, 4.0]])
    m = torch.stack([sym, asym, corner]).unsqueeze(0).repeat(3, 1, 1, 1)    # (3, 3, 2, 2)
    got = flip_consistency_of_class(m, m, torch.tensor([0, 1, 2]))
    assert got.tolist() == [0.0, 1.0, 8.0]
    assert flip_consistency_of_class(m, m, torch.tensor([2, 2, 0])).tolist() == [8.0, 8.0, 0.0]
    assert flip_consistency(m, m).tolist() == [3.0, 3.0, 3.0]


@pytest.mark.parametrize("k,chunk", [(200, 64), (7, 64), (130, 1)])
def test_flip_consistency_of_features_equals_all_class_maps(k, chunk):
    """The all-class error from the features (chunked over classes, no (N, K, h, w) maps) is the
    error of the full maps, for 200 classes as for 7."""
    g = torch.Generator().manual_seed(k)
    f1, f2 = torch.randn(3, 16, 4, 5, generator=g, dtype=torch.float64), torch.randn(3, 16, 4, 5, generator=g, dtype=torch.float64)
    w = torch.randn(k, 16, generator=g, dtype=torch.float64)
    ref = flip_consistency(compute_cams(f1, w), compute_cams(f2, w))
    got = flip_consistency_of_features(f1, f2, w, chunk=chunk)
    assert got.shape == (3,)
    torch.testing.assert_close(got, ref, rtol=1e-12, atol=1e-12)
    assert flip_consistency_of_features(f1, f1.flip(-1), w).tolist() == [0.0, 0.0, 0.0]
