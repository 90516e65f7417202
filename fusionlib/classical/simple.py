"""Pixel-wise rules: average and choose-max.

Both kernels take the N luminance planes either stacked, ``(B, N, H, W)``, or
as a sequence of N tensors of one shape (``pixelwise=True``). For gray CPU
sources ``fuse`` runs their ``checked_kernel`` instead, on the caller's arrays
as NumPy views: no stacking copy, the [0, 1] check folded in block by block
(each source read from memory once), the same IEEE operations in the same
order, so the same bits as the general path (tested).
"""
from __future__ import annotations

from typing import Optional, Sequence, Union

import numpy as np
import torch

from ._registry import register_method

_ALL = ("infrared-visible", "multi-focus", "multi-exposure", "medical")

Planes = Union[torch.Tensor, Sequence[torch.Tensor]]


def _planes(x: Planes) -> list[torch.Tensor]:
    """The N sources: ``(B, 1, H, W)`` slices of a stacked tensor, or the sequence itself."""
    if isinstance(x, torch.Tensor):
        return [x[:, i:i + 1] for i in range(x.shape[1])]
    return list(x)


# IEEE-754 bit patterns read as unsigned integers: dtype -> (integer view, pattern of 1.0)
_BITS = {np.dtype(np.float32): (np.uint32, np.float32(1.0).view(np.uint32)),
         np.dtype(np.float64): (np.uint64, np.float64(1.0).view(np.uint64))}
_BLOCK_BYTES = 1 << 18  # 256 KiB of each plane per block: checked, then fused while still in cache


def _flat_planes(planes: Sequence[np.ndarray]):
    """``(flat views, (uint, pattern of 1.0), block length)``, or None when the planes are not
    C-contiguous float32/float64 arrays of one shape and dtype (or are empty)."""
    a0 = planes[0]
    kinds = _BITS.get(a0.dtype)
    if kinds is None or a0.size == 0:
        return None
    for a in planes:
        if a.dtype != a0.dtype or a.shape != a0.shape or not a.flags.c_contiguous:
            return None
    return [a.reshape(-1) for a in planes], kinds, max(1, _BLOCK_BYTES // a0.itemsize)


def _average_checked(planes: Sequence[np.ndarray]) -> Optional[np.ndarray]:
    """:func:`_average` of N NumPy planes with the [0, 1] check folded in, block by block.

    Non-negative IEEE-754 floats are ordered like their bit patterns read as unsigned integers,
    and every negative number, ``-0.0``, NaN and +Inf has a pattern above that of 1.0 (the test of
    :func:`fusionlib._checks.all_in_nonneg_range`). Each block of each source is tested that way
    and, while it is still in cache, summed source by source into the result and scaled: the same
    IEEE operations in the same order as :func:`_average` (``x * (1/N)`` for N a power of two,
    ``x / N`` otherwise, in the planes' own precision), so the same bits. Each source is read from
    memory once. Returns None (``fuse`` then checks each source and runs :func:`_average`, or takes
    the general path with its exact checks and messages) when a value is not a number in [+0, 1] or
    the planes are not C-contiguous float32/float64 arrays of one shape.
    """
    got = _flat_planes(planes)
    if got is None:
        return None
    flat, (uint, one), step = got
    n = len(flat)
    flt = flat[0].dtype.type
    scale = flt(1.0 / n) if n & (n - 1) == 0 else None
    div = flt(n)
    out = np.empty_like(flat[0])
    for s in range(0, out.size, step):
        blk = [f[s:s + step] for f in flat]
        for b in blk:
            if b.view(uint).max() > one:
                return None
        o = out[s:s + step]
        if n == 1:
            np.copyto(o, blk[0])
        else:
            np.add(blk[0], blk[1], out=o)
        for b in blk[2:]:
            np.add(o, b, out=o)
        if scale is not None:
            np.multiply(o, scale, out=o)
        else:
            np.divide(o, div, out=o)
    return out.reshape(planes[0].shape)


def _max_checked(planes: Sequence[np.ndarray]) -> Optional[np.ndarray]:
    """:func:`_max` of N NumPy planes with the [0, 1] check folded in, block by block.

    With the bit order of :func:`_average_checked`: the pixel-wise maximum of the patterns is at
    most pattern(1.0) exactly when every value of every source is a number in [+0, 1], and then it
    is the pattern of the float maximum, bit for bit what :func:`_max` computes. So the rule runs
    on the patterns and one test of each result block checks all the sources. Returns None as
    :func:`_average_checked` does.
    """
    got = _flat_planes(planes)
    if got is None:
        return None
    flat, (uint, one), step = got
    u = [f.view(uint) for f in flat]
    out = np.empty_like(u[0])
    for s in range(0, out.size, step):
        o = out[s:s + step]
        if len(u) == 1:
            np.copyto(o, u[0][s:s + step])
        else:
            np.maximum(u[0][s:s + step], u[1][s:s + step], out=o)
        for v in u[2:]:
            np.maximum(o, v[s:s + step], out=o)
        if o.max() > one:
            return None
    return out.view(flat[0].dtype).reshape(planes[0].shape)


@register_method("average", full_name="Pixel-wise average", tasks=_ALL, pixelwise=True,
                 checked_kernel=_average_checked,
                 reference="Baseline rule; e.g. Zhang et al., VIFB, CVPRW 2020, arXiv:2002.03322")
def _average(x: Planes) -> torch.Tensor:
    """Average fusion: ``F = (1/N) sum_i I_i``.

    Notes
    -----
    Conventions: any number of sources; luminance only (chroma by the weighted
    rule of :func:`fuse_chroma`). Summed source by source (faster on the CPU
    than ``mean(dim=1)``), then divided by N (for N a power of two as a
    multiplication by 1/N, which is exact and about twice as fast).
    ``fuse`` runs :func:`_average_checked` (the same bits) on gray CPU sources.
    """
    p = _planes(x)
    n = len(p)
    out = p[0].clone() if n == 1 else torch.add(p[0], p[1])
    for q in p[2:]:
        out.add_(q)
    if n & (n - 1) == 0:  # 1/N exact: x * (1/N) has the exact value x / N, so the same rounding
        return out.mul_(1.0 / n)
    return out.div_(n)


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
