"""Edge-preserving-filter fusion: guided filtering (GFF) and multi-scale guided filtering (MGFF)."""
from __future__ import annotations

from typing import Any

import torch

from .._checks import check_int, check_positive
from .._convert import as_tensor, restore, stack_sources
from ..filters import box_filter, gaussian_blur
from ._common import guided_filter as _gf
from ._common import laplacian
from ._registry import register_method

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
    sal = gaussian_blur(laplacian(x).abs(), lap_sigma, lap_size, border="replicate")
    idx = sal.argmax(dim=1, keepdim=True)
    p = torch.zeros_like(x).scatter_(1, idx, 1.0)
    wb = _gf(p, x, r1, eps1)
    wd = _gf(p, x, r2, eps2)
    wb = wb / _safe(wb.sum(1, keepdim=True))
    wd = wd / _safe(wd.sum(1, keepdim=True))
    return p, wb, wd


def _safe(s: torch.Tensor) -> torch.Tensor:
    tiny = torch.finfo(s.dtype).eps
    return torch.where(s.abs() < tiny, torch.full_like(s, tiny), s)


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
                 reference="Li, Kang, Hu, IEEE TIP 22(7) 2013 2864-2875, doi:10.1109/TIP.2013.2244222")
def _gff(x: torch.Tensor, *, r1: int = 45, eps1: float = 0.3, r2: int = 7, eps2: float = 1e-6,
         base_size: int = 31, lap_sigma: float = 5.0, lap_size: int = 11) -> torch.Tensor:
    """Guided filtering fusion (Li, Kang, Hu 2013).

    Two-scale split ``B_n = I_n * Z`` (mean filter of ``base_size``), ``D_n = I_n - B_n``;
    saliency ``S_n = |I_n * Lap| * g_{r_g, sigma_g}``; winner-take-all maps
    ``P_n``; weights ``W^B_n = GF_{r1, eps1}(P_n, I_n)``, ``W^D_n = GF_{r2, eps2}(P_n, I_n)``
    normalised over n; ``F = sum_n W^B_n B_n + W^D_n D_n``.

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
    colour); ties in ``P`` go to the first source.
    """
    r1 = check_int("gff", "r1", r1, minimum=1)
    r2 = check_int("gff", "r2", r2, minimum=1)
    base_size = check_int("gff", "base_size", base_size, minimum=1)
    eps1 = check_positive("gff", "eps1", eps1)
    eps2 = check_positive("gff", "eps2", eps2)
    base = box_filter(x, base_size // 2, border="replicate")
    detail = x - base
    _, wb, wd = _gff_weights(x, r1, eps1, r2, eps2, float(lap_sigma), int(lap_size))
    return (wb * base + wd * detail).sum(1, keepdim=True)
