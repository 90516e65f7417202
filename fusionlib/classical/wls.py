"""Infrared-visible fusion by visual saliency map and weighted least squares (VSMWLS; Ma et al. 2017)."""
from __future__ import annotations

from typing import Any

import torch

from .._checks import check_int, check_positive
from .._convert import as_tensor, restore
from ..filters import box_mean_border, gaussian_kernel1d, guided_filter, sep_correlate
from ._registry import MAX_SCALE, MAX_SIGMA, MAX_WINDOW, MIN_SCALE, MIN_SIGMA, register_method
from .._checks import float_param, int_param

__all__ = ["visual_saliency_map", "wls_decompose"]


def _gauss_window(sigma: float) -> int:
    """Side of the authors' Gaussian window, ``2 uint8(3 sigma) + 1`` (MATLAB ``uint8`` rounds
    half away from zero and saturates at 255)."""
    return 2 * min(int(3.0 * sigma + 0.5), 255) + 1


def _gauss(x: torch.Tensor, sigma: float, border: str, size: int | None = None) -> torch.Tensor:
    """``imfilter(x, fspecial('gaussian', size, sigma), border)`` (separable, normalised)."""
    size = _gauss_window(sigma) if size is None else size
    k = gaussian_kernel1d(sigma, size, dtype=x.dtype, device=x.device)
    return sep_correlate(x, k, border=border)


def _rolling_guidance(x: torch.Tensor, sigma_s: float, sigma_r: float, n_iter: int) -> torch.Tensor:
    """Rolling guidance filter (Zhang, Xu, Jia 2014) with a guided filter as the joint filter:
    ``J^0 = G_{sigma_s} * I``; ``J^{t+1} = GF(p=I, guide=J^t, r=sigma_s, eps=sigma_r^2)``."""
    j = _gauss(x, sigma_s, "replicate")
    r = max(1, int(round(sigma_s)))
    for _ in range(n_iter):
        j = guided_filter(x, j, r, sigma_r * sigma_r)
    return j


def _decompose(x: torch.Tensor, n_levels: int, sigma_s: float, sigma_r: float, n_iter: int,
               sigma_base: float) -> list[torch.Tensor]:
    """[d_1, ..., d_n_levels, base]: ``G_1 = I``, ``G_{k+1} = RGF_{2^(k-1) sigma_s}(G_k)``
    (k < n_levels), ``G_{n+1} = Gauss_{sigma_base}(G_n)``, ``d_k = G_k - G_{k+1}``."""
    levels = []
    g = x
    s = sigma_s
    for _ in range(n_levels - 1):
        nxt = _rolling_guidance(g, s, sigma_r, n_iter)
        levels.append(g - nxt)
        g = nxt
        s *= 2.0
    base = _gauss(g, sigma_base, "replicate")
    levels.append(g - base)
    levels.append(base)
    return levels


def _vsm(x: torch.Tensor) -> torch.Tensor:
    """Visual saliency map of Zhai & Shah (2006) on 8-bit levels, per (B, N) plane, scaled to
    [0, 1] by its own minimum and maximum (``mat2gray``; a constant map gives 0)."""
    lead, (h, w) = x.shape[:-2], x.shape[-2:]
    q = torch.floor(x.clamp(0.0, 1.0) * 255.0 + 0.5).to(torch.long).reshape(-1, h * w)
    m = q.shape[0]
    counts = torch.zeros(m, 256, dtype=torch.float64, device=x.device)
    counts.scatter_add_(1, q, torch.ones_like(q, dtype=torch.float64))
    levels = torch.arange(256, dtype=torch.float64, device=x.device)
    table = counts @ (levels[:, None] - levels[None, :]).abs()        # V(j) = sum_i n_i |j - i|
    v = torch.gather(table, 1, q)
    lo = v.amin(1, keepdim=True)
    hi = v.amax(1, keepdim=True)
    span = hi - lo
    v = torch.where(span > 0, (v - lo) / torch.where(span > 0, span, torch.ones_like(span)),
                    torch.zeros_like(v))
    return v.to(x.dtype).reshape(*lead, h, w)


def visual_saliency_map(image: Any) -> Any:
    """Histogram-contrast visual saliency map (Zhai & Shah 2006), as used by VSMWLS.

    ``V(p) = sum_j n_j |I_p - j|`` over the 256 grey levels (``n_j``: histogram of the image
    quantised to 8 bits), then scaled to [0, 1] by its minimum and maximum.

    Parameters
    ----------
    image : (H, W), (C, H, W) or (B, C, H, W), values in [0, 1]
        Every channel is treated as its own image.

    Returns
    -------
    Same type and shape as ``image``.

    References
    ----------
    Y. Zhai, M. Shah, "Visual attention detection in video sequences using spatiotemporal
    cues", ACM Multimedia 2006, 815-824, doi:10.1145/1180639.1180824.
    """
    x, o = as_tensor(image, where="visual_saliency_map", name="image")
    return restore(_vsm(x), o)


def wls_decompose(image: Any, *, n_levels: int = 4, sigma_s: float = 2.0, sigma_r: float = 0.05,
                  n_iter: int = 4, sigma_base: float = 2.0) -> list:
    """VSMWLS multi-scale decomposition: ``[d_1 ... d_n_levels, base]``, summing to the image.

    Rolling-guidance layers at spatial scales ``sigma_s, 2 sigma_s, ...`` and a last
    Gaussian layer (see :func:`_decompose`).
    """
    where = "wls_decompose"
    x, o = as_tensor(image, where=where, name="image")
    n_levels = check_int(where, "n_levels", n_levels, minimum=1)
    n_iter = check_int(where, "n_iter", n_iter, minimum=0)
    sigma_s = check_positive(where, "sigma_s", sigma_s)
    sigma_r = check_positive(where, "sigma_r", sigma_r)
    sigma_base = check_positive(where, "sigma_base", sigma_base)
    return [restore(t, o) for t in _decompose(x, n_levels, sigma_s, sigma_r, n_iter, sigma_base)]


@register_method("vsmwls", full_name="Visual saliency map and weighted least squares fusion (VSMWLS)",
                 tasks=("infrared-visible",), min_inputs=2, max_inputs=2,
                 reference="Ma, Zhou, Wang, Zong, Infrared Phys. Technol. 82 (2017) 8-17, "
                           "doi:10.1016/j.infrared.2017.02.005",
                 params=dict(
                     n_levels=int_param(1, 8),  # scales sigma_s * 2^(k-1): 8 levels reach 128 sigma_s
                     sigma_s=float_param(MIN_SIGMA, MAX_SIGMA),
                     sigma_r=float_param(MIN_SCALE, MAX_SCALE),
                     n_iter=int_param(0, 100),  # rolling guidance converges in a few (paper: 4)
                     sigma_base=float_param(MIN_SIGMA, MAX_SIGMA),
                     sigma_c=float_param(MIN_SIGMA, MAX_SIGMA),
                     lam=float_param(MIN_SCALE, MAX_SCALE),
                     window=int_param(1, MAX_WINDOW, odd=True),
                     eps=float_param(MIN_SCALE, MAX_SCALE)))
def _vsmwls(x: torch.Tensor, *, n_levels: int = 4, sigma_s: float = 2.0, sigma_r: float = 0.05,
            n_iter: int = 4, sigma_base: float = 2.0, sigma_c: float = 2.0, lam: float = 0.01,
            window: int = 7, eps: float = 1e-6) -> torch.Tensor:
    """Infrared-visible fusion by visual saliency map and weighted least squares (Ma et al. 2017).

    Sources: ``x[:, 0]`` infrared, ``x[:, 1]`` visible.

    1. Decomposition (:func:`wls_decompose`): ``d^i_1 .. d^i_K`` and base ``b^i``.
    2. Base: ``B = (1 + V_1 - V_2)/2 b^1 + (1 + V_2 - V_1)/2 b^2`` with ``V_i`` the visual
       saliency maps of the sources (:func:`visual_saliency_map`).
    3. Finest detail ``k = 1``: choose-max ``|d|`` (ties to the infrared source).
    4. Details ``k >= 2``: ``C = G_{sigma_c} * [|d^1_k| < |d^2_k|]``,
       ``M = C d^2_k + (1 - C) d^1_k``, then the WLS problem
       ``min_D sum_p (D_p - M_p)^2 + lam a_p (D_p - d^1_{k,p})^2`` with
       ``a_p = 1 / (|mean_{window}(d^2_k)|_p + eps)``.
    5. ``F = B + sum_k D_k``.

    The WLS energy has no term coupling neighbouring pixels, so its normal equations
    ``(2 I + lam (A + A^T)) D = 2 M + lam (A + A^T) d^1`` (``A = diag(a)``, the authors'
    sparse system) are diagonal, and the exact solution is pointwise:
    ``D = (M + lam a d^1) / (1 + lam a)``.

    Parameters
    ----------
    n_levels : int, default 4
        Detail layers (the paper's 4: three rolling-guidance layers and one Gaussian layer).
    sigma_s : float, default 2
        Spatial scale of the first rolling-guidance layer, doubled per layer (guided-filter
        radius ``round(sigma_s)``).
    sigma_r : float, default 0.05
        Range scale (guided-filter ``eps = sigma_r^2``).
    n_iter : int, default 4
        Rolling-guidance iterations.
    sigma_base : float, default 2
        Gaussian of the last split.
    sigma_c : float, default 2
        Gaussian smoothing of the detail decision maps (``2 round(3 sigma_c) + 1`` window,
        symmetric borders).
    lam : float, default 0.01
        WLS weight lambda.
    window : int, default 7
        Side of the box mean of the visible detail in ``a_p`` (replicate borders).
    eps : float, default 1e-6
        Floor of ``a_p``'s denominator.

    Notes
    -----
    Conventions: follow the authors' MATLAB code as distributed with VIFB (Gaussian windows
    ``2 uint8(3 sigma) + 1`` with replicate borders; He's guided filter with truncated box
    windows; ``a_p`` from the box mean, not sum, of the visible detail). RGB sources are
    fused on the luminance (the library's colour rule); the authors' VIFB interface fuses
    each RGB channel separately.

    References
    ----------
    J. Ma, Z. Zhou, B. Wang, H. Zong, "Infrared and visible image fusion based on visual
    saliency map and weighted least square optimization", Infrared Physics & Technology 82
    (2017) 8-17, doi:10.1016/j.infrared.2017.02.005.
    Q. Zhang, X. Shen, L. Xu, J. Jia, "Rolling guidance filter", ECCV 2014,
    doi:10.1007/978-3-319-10578-9_53.
    """
    where = "vsmwls"
    n_levels = check_int(where, "n_levels", n_levels, minimum=1)
    n_iter = check_int(where, "n_iter", n_iter, minimum=0)
    window = check_int(where, "window", window, minimum=1)
    if window % 2 == 0:
        raise ValueError(f"{where}: `window` must be odd; got {window}")
    sigma_s, sigma_r, sigma_base, sigma_c, lam, eps = (
        check_positive(where, n, v) for n, v in (("sigma_s", sigma_s), ("sigma_r", sigma_r),
                                                 ("sigma_base", sigma_base), ("sigma_c", sigma_c),
                                                 ("lam", lam), ("eps", eps)))
    # both sources decomposed together (the filters act per plane)
    layers = _decompose(x, n_levels, sigma_s, sigma_r, n_iter, sigma_base)
    v = _vsm(x)
    v1, v2 = v[:, 0:1], v[:, 1:2]
    base = layers[-1]
    fused = (0.5 + 0.5 * (v1 - v2)) * base[:, 0:1] + (0.5 + 0.5 * (v2 - v1)) * base[:, 1:2]
    d = layers[0]
    d1, d2 = d[:, 0:1], d[:, 1:2]
    fused = fused + torch.where(d1.abs() < d2.abs(), d2, d1)
    for d in layers[1:-1]:
        d1, d2 = d[:, 0:1], d[:, 1:2]
        c = _gauss((d1.abs() < d2.abs()).to(x.dtype), sigma_c, "symmetric")
        m = c * d2 + (1.0 - c) * d1
        a = 1.0 / (box_mean_border(d2, window // 2, "replicate").abs() + eps)
        fused = fused + (m + lam * a * d1) / (1.0 + lam * a)
    return fused
