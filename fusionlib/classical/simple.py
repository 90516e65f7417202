"""Pixel-wise rules: average and choose-max.

Both kernels take the N luminance planes either stacked, ``(B, N, H, W)``, or
as a sequence of N ``(B, 1, H, W)`` tensors (``pixelwise=True``: ``fuse``
passes the caller's gray CPU sources that way, without a stacking copy). The
same operations run in the same order on the same values in both forms, so
the results are bit-identical.
"""
from __future__ import annotations

from typing import Optional, Sequence, Union

import numpy as np
import torch

from ._registry import register_method

_ALL = ("infrared-visible", "multi-focus", "multi-exposure", "medical")

Planes = Union[torch.Tensor, Sequence[torch.Tensor]]


def _planes(x: Planes) -> list[torch.Tensor]:
    """The N sources as ``(B, 1, H, W)`` views: slices of a stacked tensor, or the sequence itself."""
    if isinstance(x, torch.Tensor):
        return [x[:, i:i + 1] for i in range(x.shape[1])]
    return list(x)


@register_method("average", full_name="Pixel-wise average", tasks=_ALL, pixelwise=True,
                 reference="Baseline rule; e.g. Zhang et al., VIFB, CVPRW 2020, arXiv:2002.03322")
def _average(x: Planes) -> torch.Tensor:
    """Average fusion: ``F = (1/N) sum_i I_i``.

    Notes
    -----
    Conventions: any number of sources; luminance only (chroma by the weighted
    rule of :func:`fuse_chroma`). Summed source by source (faster on the CPU
    than ``mean(dim=1)``), then divided by N (for N a power of two as a
    multiplication by 1/N, which is exact and about twice as fast).
    """
    p = _planes(x)
    n = len(p)
    out = p[0].clone() if n == 1 else torch.add(p[0], p[1])
    for q in p[2:]:
        out.add_(q)
    if n & (n - 1) == 0:  # 1/N exact: x * (1/N) has the exact value x / N, so the same rounding
        return out.mul_(1.0 / n)
    return out.div_(n)


# IEEE-754 bit patterns read as unsigned integers: (integer view, float type, pattern of 1.0)
_BITS = {torch.float32: (np.uint32, np.float32, np.float32(1.0).view(np.uint32)),
         torch.float64: (np.uint64, np.float64, np.float64(1.0).view(np.uint64))}


def _max_checked(planes: Sequence[torch.Tensor]) -> Optional[torch.Tensor]:
    """Choose-max of CPU float planes with the [0, 1] check folded in (one pass fewer per source).

    Non-negative IEEE-754 floats are ordered like their bit patterns read as unsigned integers,
    and every negative number, ``-0.0``, NaN and +Inf has a pattern above that of 1.0 (the
    argument of :func:`fusionlib._checks.all_in_nonneg_range`). So the pixel-wise maximum of
    the patterns is at most pattern(1.0) everywhere exactly when every value of every source is
    a number in [+0, 1]; and then it is the pattern of the float maximum, bit for bit what
    :func:`_max` computes. Returns None (the caller takes the general path, with its exact
    checks and messages) when that test fails or the planes are not CPU float32/float64 arrays
    NumPy can view.
    """
    kinds = _BITS.get(planes[0].dtype)
    if kinds is None:
        return None
    uint, flt, one = kinds
    try:
        u = [p.detach().numpy().view(uint) for p in planes]
    except (RuntimeError, TypeError, ValueError):  # not a plain CPU array
        return None
    out = u[0].copy() if len(u) == 1 else np.maximum(u[0], u[1])
    for v in u[2:]:
        np.maximum(out, v, out=out)
    if out.size == 0 or out.max() > one:
        return None
    return torch.from_numpy(out.view(flt))


@register_method("max", full_name="Pixel-wise choose-max", tasks=_ALL, pixelwise=True,
                 checked_kernel=_max_checked,
                 reference="Baseline rule; e.g. Piella, Information Fusion 4 (2003) 259-280, "
                           "doi:10.1016/S1566-2535(03)00046-0")
def _max(x: Planes) -> torch.Tensor:
    """Choose-max fusion: ``F = max_i I_i`` (pixel-wise maximum of the luminance).

    Notes
    -----
    Source by source into one buffer (faster on the CPU than ``amax(dim=1)``).
    ``fuse`` runs :func:`_max_checked` (the same bits) on gray CPU sources.
    """
    p = _planes(x)
    out = p[0].clone() if len(p) == 1 else torch.maximum(p[0], p[1])
    for q in p[2:]:
        torch.maximum(out, q, out=out)
    return out
