"""Edge-preserving-filter fusion: guided filtering (GFF) and multi-scale guided filtering (MGFF)."""
from __future__ import annotations

from typing import Any

import torch

from .._checks import check_int, check_positive
from .._convert import as_tensor, restore, stack_sources
from ..filters import box_mean_border, gaussian_kernel1d, laplacian, sep_correlate
from ..filters import guided_filter as _gf
from ._common import argmax_sources
from ._registry import (MAX_KERNEL, MAX_LEVELS, MAX_RADIUS, MAX_SCALE,
                        MAX_SIGMA, MIN_SCALE, MIN_SIGMA, register_method)
from .._checks import float_param, int_param

__all__ = ["guided_filter", "gff_weights"]


def guided_filter(p: Any, guide: Any, *, radius: int = 8, eps: float = 0.01) -> Any:
    """Guided filter with a gray guide (He, Sun, Tang 2013).

    ``q_i = mean_k(a_k) I_i + mean_k(b_k)`` with ``a_k = cov_k(I, p) / (var_k(I) + eps)``,
    ``b_k = mean_k(p) - a_k mean_k(I)`` over ``(2r+1)^2`` windows.

    Parameters
    ----------
    p : (H, W), (C, H, W) or (B, C, H, W)
        Image to filter (every channel filtered with the same guide).
    guide : same H, W; 1 channel (or as many as ``p``)
    radius : int >= 1
    eps : float > 0
        Regularisation, on the [0, 1] intensity scale.

    Notes
    -----
    Conventions: windows truncated at the border and normalised by the number
    of pixels inside (He's ``boxfilter``); cumulative sums, O(1) per pixel.

    References
    ----------
    K. He, J. Sun, X. Tang, "Guided image filtering", IEEE TPAMI 35(6) (2013)
    1397-1409, doi:10.1109/TPAMI.2012.213.
    """
    where = "guided_filter"
    pt, o = as_tensor(p, where=where, name="p")
    gt, _ = as_tensor(guide, where=where, name="guide", dtype=pt.dtype, device=pt.device)
    if gt.shape[-2:] != pt.shape[-2:]:
        from .._checks import ShapeError
        raise ShapeError(f"{where}: `guide` must have the size of `p` {tuple(pt.shape[-2:])}; "
                         f"got {tuple(gt.shape[-2:])}")
    radius = check_int(where, "radius", radius, minimum=1)
    eps = check_positive(where, "eps", eps)
    return restore(_gf(pt, gt, radius, eps), o)


def _gff_weights(x: torch.Tensor, r1: int, eps1: float, r2: int, eps2: float,
                 lap_sigma: float, lap_size: int):
    g = gaussian_kernel1d(lap_sigma, lap_size, dtype=x.dtype, device=x.device)
    sal = sep_correlate(laplacian(x).abs_(), g, border="replicate")
    idx = argmax_sources(sal)
    p = torch.zeros_like(x).scatter_(1, idx, 1.0)
    # clip to [0, 1] (the reference code's uint8 round trip), then normalise with a 1e-12 floor
    wb = _gf(p, x, r1, eps1).clamp(0.0, 1.0) + 1e-12
    wd = _gf(p, x, r2, eps2).clamp(0.0, 1.0) + 1e-12
    return p, wb / wb.sum(1, keepdim=True), wd / wd.sum(1, keepdim=True)


def gff_weights(sources: Any, *, r1: int = 45, eps1: float = 0.3, r2: int = 7, eps2: float = 1e-6,
                lap_sigma: float = 5.0, lap_size: int = 11) -> dict:
    """The inner maps of GFF for gray sources: decision maps ``P`` and the
    normalised base/detail weights ``W_B``, ``W_D`` (each (B, N, H, W) or (N, H, W))."""
    x, o = stack_sources(sources, where="gff_weights", name="sources")
    x = x[:, :, 0] if x.shape[2] == 1 else x.mean(2)
    p, wb, wd = _gff_weights(x, r1, eps1, r2, eps2, lap_sigma, lap_size)
    squeeze = (lambda t: t[0]) if o.rank < 4 else (lambda t: t)
    conv = (lambda t: squeeze(t).cpu().numpy()) if o.numpy else squeeze
    return {"P": conv(p), "W_B": conv(wb), "W_D": conv(wd)}


@register_method("gff", full_name="Image fusion with guided filtering (GFF)",
                 tasks=("infrared-visible", "multi-focus", "multi-exposure", "medical"),
                 reference="Li, Kang, Hu, IEEE TIP 22(7) 2013 2864-2875, doi:10.1109/TIP.2013.2244222",
                 params=dict(
                     r1=int_param(1, MAX_RADIUS),
                     eps1=float_param(MIN_SCALE, MAX_SCALE),
                     r2=int_param(1, MAX_RADIUS),
                     eps2=float_param(MIN_SCALE, MAX_SCALE),
                     base_size=int_param(1, 2 * MAX_RADIUS + 1),
                     lap_sigma=float_param(MIN_SIGMA, MAX_SIGMA),
                     lap_size=int_param(1, MAX_KERNEL)))
def _gff(x: torch.Tensor, *, r1: int = 45, eps1: float = 0.3, r2: int = 7, eps2: float = 1e-6,
         base_size: int = 31, lap_sigma: float = 5.0, lap_size: int = 11) -> torch.Tensor:
    """Guided filtering fusion (Li, Kang, Hu 2013).

    Two-scale split ``B_n = I_n * Z`` (mean filter of ``base_size``), ``D_n = I_n - B_n``;
    saliency ``S_n = |I_n * Lap| * g_{r_g, sigma_g}``; winner-take-all maps
    ``P_n``; weights ``W^B_n = GF_{r1, eps1}(P_n, I_n)``, ``W^D_n = GF_{r2, eps2}(P_n, I_n)``
    clipped to [0, 1] and normalised over n; ``F = sum_n W^B_n B_n + W^D_n D_n``.

    Parameters
    ----------
    r1, eps1, r2, eps2 : int, float
        Guided-filter radii and regularisation (paper: 45, 0.3, 7, 1e-6 on [0, 1] data).
    base_size : int, default 31
        Side of the averaging filter of the two-scale split (paper: 31 x 31).
    lap_sigma, lap_size : float, int
        Gaussian smoothing of the Laplacian magnitude (paper: r_g = 5, sigma_g = 5,
        an 11 x 11 window).

    Notes
    -----
    Conventions: replicate borders for the mean, Laplacian and Gaussian filters
    (MATLAB ``imfilter(..., 'replicate')``), truncated windows for the guided
    filter; the guide is the luminance (the paper guides colour images by
    colour); ties in ``P`` go to the first source. The authors' code rounds the
    weights to 8 bits before normalising; we only clip them to [0, 1].
    """
    r1 = check_int("gff", "r1", r1, minimum=1)
    r2 = check_int("gff", "r2", r2, minimum=1)
    base_size = check_int("gff", "base_size", base_size, minimum=1)
    eps1 = check_positive("gff", "eps1", eps1)
    eps2 = check_positive("gff", "eps2", eps2)
    base = box_mean_border(x, base_size // 2, border="replicate")
    detail = x - base
    _, wb, wd = _gff_weights(x, r1, eps1, r2, eps2, float(lap_sigma), int(lap_size))
    return (wb * base + wd * detail).sum(1, keepdim=True)


def _others_mean(x: torch.Tensor) -> torch.Tensor:
    """For each source, the mean of the other sources ((B, N, H, W) -> (B, N, H, W))."""
    n = x.shape[1]
    return (x.sum(1, keepdim=True) - x) / (n - 1)


def _norm_weights(s: torch.Tensor) -> torch.Tensor:
    tot = s.sum(1, keepdim=True)
    eq = torch.full_like(s, 1.0 / s.shape[1])
    return torch.where(tot > 0, s / torch.where(tot > 0, tot, torch.ones_like(tot)), eq)


@register_method("mgff", full_name="Multi-scale guided image fusion (MGFF)",
                 tasks=("infrared-visible", "multi-focus", "medical"),
                 reference="Bavirisetti, Xiao, Zhao, Dhuli, Liu, Circuits Syst. Signal Process. 38 "
                           "(2019) 5576-5605, doi:10.1007/s00034-019-01131-z",
                 params=dict(
                     n_levels=int_param(1, MAX_LEVELS),
                     radius=int_param(1, MAX_RADIUS),
                     eps=float_param(MIN_SCALE, MAX_SCALE)))
def _mgff(x: torch.Tensor, *, n_levels: int = 4, radius: int = 9, eps: float = 1e3 / 255.0 ** 2
          ) -> torch.Tensor:
    """Multi-scale guided filter fusion (Bavirisetti et al. 2019).

    Cross-guided multi-scale split: ``A^k_i = GF_{r, eps}(guide=A^{k-1}_i,
    input=mean_{j != i} A^{k-1}_j)``, ``A^0_i = I_i``, details
    ``D^k_i = A^{k-1}_i - A^k_i``; saliency ``S^k_i = |D^k_i|``, weights
    ``w^k_i = S^k_i / sum_j S^k_j``;
    ``F = mean_i A^K_i + sum_k sum_i w^k_i D^k_i``.

    Parameters
    ----------
    n_levels : int, default 4
    radius : int, default 9
    eps : float, default 1e3 / 255^2
        The authors' ``r = 9, eps = 10^3`` on 0-255 data, here on [0, 1].

    Notes
    -----
    Conventions: follows the authors' code as distributed with VIFB (guide
    and input as there); with two sources the "other" mean is the other
    source, more sources are our generalisation. Where both saliencies are 0
    the details are averaged (the reference code gives NaN).
    """
    n_levels = check_int("mgff", "n_levels", n_levels, minimum=1)
    radius = check_int("mgff", "radius", radius, minimum=1)
    eps = check_positive("mgff", "eps", eps)
    a = x
    fused_detail = torch.zeros_like(x[:, :1])
    for _ in range(n_levels):
        nxt = _gf(_others_mean(a), a, radius, eps)
        d = a - nxt
        fused_detail = fused_detail + (_norm_weights(d.abs()) * d).sum(1, keepdim=True)
        a = nxt
    return a.mean(1, keepdim=True) + fused_detail
