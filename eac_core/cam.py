"""Class activation maps and the flip-consistency error, as pure functions of tensors."""
from __future__ import annotations

import torch
from torch import Tensor


def compute_cams(features: Tensor, weight: Tensor) -> Tensor:
    """CAMs for every class: (N, C, h, w) features and (K, C) classifier weight -> (N, K, h, w).

    M[n,k,i,j] = sum_c W[k,c] F[n,c,i,j]; no bias, no ReLU, no normalisation (EAC.md)."""
    return torch.einsum("nchw,kc->nkhw", features, weight)


def flip_cams(cams: Tensor) -> Tensor:
    """Mirror maps left-right (reverse the width axis)."""
    return cams.flip(-1)


def flip_consistency(cams: Tensor, cams_of_flipped: Tensor) -> Tensor:
    """Per-sample flip-consistency error (N,): mean over (k, i, j) of (M1 - flip(M2))^2,
    where M2 are the CAMs of the mirrored image."""
    return (cams - flip_cams(cams_of_flipped)).pow(2).flatten(1).mean(1)


def flip_consistency_of_class(cams: Tensor, cams_of_flipped: Tensor, cls: Tensor) -> Tensor:
    """Per-sample error (N,) restricted to one class per sample (cls: (N,) long), e.g. the given label."""
    idx = torch.arange(cams.shape[0], device=cams.device)
    d = cams[idx, cls] - flip_cams(cams_of_flipped)[idx, cls]
    return d.pow(2).flatten(1).mean(1)


ATT_FORMS = ("paper", "relative")


def attention_consistency_loss(cams: Tensor, cams_of_flipped: Tensor, form: str = "paper") -> Tensor:
    """EAC's L_att (a scalar). `paper`: mean over (n, k, i, j) of (M1 - flip(M2))^2, whose size follows the
    backbone's feature and weight scale (so one lambda means different things on different networks, and
    a network can lower it by shrinking its maps). `relative`: the same squared difference divided by the
    maps' mean energy (M1^2 + M2^2) / 2 over the batch, both sums over (n, k, i, j): scale-free, 0 when the
    maps mirror exactly, about 2 when they are unrelated, and not lowered by shrinking the maps (the
    denominator is not detached)."""
    diff = (cams - flip_cams(cams_of_flipped)).pow(2)
    if form == "paper":
        return diff.mean()
    if form != "relative":
        raise ValueError(f"unknown attention-consistency form '{form}' (one of {', '.join(ATT_FORMS)})")
    energy = (cams.pow(2).mean() + cams_of_flipped.pow(2).mean()) / 2
    return diff.mean() / energy.clamp_min(torch.finfo(energy.dtype).tiny)


def flip_consistency_of_features(features: Tensor, features_of_flipped: Tensor, weight: Tensor, *,
                                 chunk: int = 64) -> Tensor:
    """`flip_consistency` of the CAMs of every class, (N,), from the features (N, C, h, w) of the image
    and of its mirror and the (K, C) classifier weight, without holding the (N, K, h, w) maps of all K
    classes: CAMs are linear in the features, so M1 - flip(M2) = W . (F1 - flip(F2)), reduced `chunk`
    classes at a time."""
    return flip_consistency_of_difference(features - features_of_flipped.flip(-1), weight, chunk=chunk)


def flip_consistency_of_difference(d: Tensor, weight: Tensor, *, chunk: int = 64) -> Tensor:
    """`flip_consistency_of_features` from d = F1 - flip(F2) (N, C, h, w), for a caller that needs d
    for something else too (the scoring pass: the given class's error)."""
    total = torch.zeros(d.shape[0], dtype=d.dtype, device=d.device)
    for w in weight.split(chunk):
        total = total + compute_cams(d, w).pow(2).flatten(1).sum(1)
    return total / (weight.shape[0] * d.shape[-2] * d.shape[-1])
