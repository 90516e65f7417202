"""Gaussian, Laplacian, ratio-of-low-pass, contrast and gradient pyramids, and their fusion.

Conventions (all pyramids): the generating kernel is the binomial
``w = [1, 4, 6, 4, 1] / 16`` (Burt & Adelson's a = 0.375, as OpenCV ``pyrDown``
and kornia); REDUCE blurs with whole-sample symmetric borders (``"reflect"``,
OpenCV ``BORDER_REFLECT_101``) and keeps even samples, so a level of size n
gives ``ceil(n / 2)``; EXPAND inserts zeros, blurs with ``2 w`` per axis and
keeps the finer level's size. ``n_levels`` counts all levels including the
low-pass top, so ``n_levels=1`` is the image itself.
"""
from __future__ import annotations

import math
from typing import Any

import torch

from .._checks import check_int
from .._convert import as_tensor, restore
from ..filters import filter2d, pad, sep_filter2d
from ._common import select_max_abs
from ._registry import MAX_LEVELS, MAX_SCALE, MIN_SCALE, register_method
from .._checks import float_param, int_param

__all__ = ["gaussian_pyramid", "laplacian_pyramid", "laplacian_reconstruct",
           "ratio_pyramid", "ratio_reconstruct"]

_W5 = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0


def _reduce(x: torch.Tensor) -> torch.Tensor:
    """Blur with ``w`` (reflect borders) and keep even samples; only the kept samples are computed."""
    h, w = x.shape[-2:]
    ho, wo = (h + 1) // 2, (w + 1) // 2
    xp = pad(x, (2, 2, 2, 2), "reflect")
    k = _W5.tolist()
    t = sum(k[j] * xp[..., :, j:j + 2 * wo - 1:2] for j in range(5))
    return sum(k[j] * t[..., j:j + 2 * ho - 1:2, :] for j in range(5))


def _expand_axis(x: torch.Tensor, n: int, axis: int) -> torch.Tensor:
    """Polyphase EXPAND along ``axis`` to length ``n``: zero insertion + ``2 w`` blur with reflect
    borders, computed as even outputs ``(x[m-1] + 6 x[m] + x[m+1]) / 8`` and odd outputs
    ``(x[m] + x[m+1]) / 2`` (the reflected zero-inserted signal extends x by x[1] on the left and
    by x[h-1] (n even) or x[h-2] (n odd) on the right)."""
    h = x.shape[axis]
    left = x.narrow(axis, 1 if h > 1 else 0, 1)
    right = x.narrow(axis, h - 1 if (n % 2 == 0 or h == 1) else h - 2, 1)
    xe = torch.cat([left, x, right], dim=axis)
    a, b, c = xe.narrow(axis, 0, h), xe.narrow(axis, 1, h), xe.narrow(axis, 2, h)
    even = (a + 6.0 * b + c) * 0.125
    odd = (b + c) * 0.5
    ax = axis % x.ndim
    out = torch.stack([even, odd], dim=ax + 1)
    shape = list(x.shape)
    shape[ax] = 2 * h
    return out.reshape(shape).narrow(ax, 0, n)


def _expand(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return _expand_axis(_expand_axis(x, size[0], -2), size[1], -1)


def _gaussian_pyramid(x: torch.Tensor, n_levels: int) -> list[torch.Tensor]:
    pyr = [x]
    for _ in range(n_levels - 1):
        pyr.append(_reduce(pyr[-1]))
    return pyr


def _laplacian_pyramid(x: torch.Tensor, n_levels: int) -> list[torch.Tensor]:
    g = _gaussian_pyramid(x, n_levels)
    return [g[k] - _expand(g[k + 1], g[k].shape[-2:]) for k in range(n_levels - 1)] + [g[-1]]


def _laplacian_reconstruct(pyr: list[torch.Tensor]) -> torch.Tensor:
    x = pyr[-1]
    for lev in reversed(pyr[:-1]):
        x = lev + _expand(x, lev.shape[-2:])
    return x


def _ratio_pyramid(x: torch.Tensor, n_levels: int, eps: float) -> list[torch.Tensor]:
    g = _gaussian_pyramid(x + eps, n_levels)
    return [g[k] / _expand(g[k + 1], g[k].shape[-2:]) for k in range(n_levels - 1)] + [g[-1]]


def _ratio_reconstruct(pyr: list[torch.Tensor], eps: float) -> torch.Tensor:
    x = pyr[-1]
    for lev in reversed(pyr[:-1]):
        x = lev * _expand(x, lev.shape[-2:])
    return x - eps


def _min_size(n_levels: int) -> int:
    return 2 ** (n_levels - 1) * 2 if n_levels > 1 else 1


def _check_levels(where: str, n_levels: Any, x: torch.Tensor) -> int:
    n = check_int(where, "n_levels", n_levels, minimum=1)
    need = _min_size(n)
    h, w = x.shape[-2:]
    if min(h, w) < need:
        from .._checks import ShapeError
        raise ShapeError(f"{where}: image of {h}x{w} pixels is too small for n_levels={n} "
                         f"(needs at least {need}x{need}; use n_levels <= "
                         f"{max(1, int(math.log2(min(h, w))))})", expected=(need, need), actual=(h, w))
    return n


def gaussian_pyramid(image: Any, *, n_levels: int = 4) -> list[Any]:
    """Gaussian pyramid ``G_0 = I``, ``G_{k+1} = REDUCE(G_k)``.

    Parameters
    ----------
    image : array or tensor, (H, W), (C, H, W) or (B, C, H, W)
    n_levels : int >= 1
        Number of levels, the image included.

    Returns
    -------
    list of arrays/tensors, finest first, each of the input's type and rank.

    Raises
    ------
    ShapeError
        When ``min(H, W) < 2 ** n_levels`` (the top level would be < 2 pixels).

    References
    ----------
    P. J. Burt, E. H. Adelson, "The Laplacian pyramid as a compact image code",
    IEEE Trans. Commun. 31(4) (1983) 532-540, doi:10.1109/TCOM.1983.1095851.
    """
    x, o = as_tensor(image, where="gaussian_pyramid", name="image")
    n = _check_levels("gaussian_pyramid", n_levels, x)
    return [restore(g, o) for g in _gaussian_pyramid(x, n)]


def laplacian_pyramid(image: Any, *, n_levels: int = 4) -> list[Any]:
    """Laplacian pyramid ``L_k = G_k - EXPAND(G_{k+1})`` (k < n-1), ``L_{n-1} = G_{n-1}``.

    Exactly invertible by :func:`laplacian_reconstruct`
    (``G_k = L_k + EXPAND(G_{k+1})``). Parameters as :func:`gaussian_pyramid`.

    References
    ----------
    Burt & Adelson (1983), doi:10.1109/TCOM.1983.1095851.

    Examples
    --------
    >>> import numpy as np
    >>> img = np.arange(64, dtype=np.float64).reshape(8, 8) / 64
    >>> pyr = laplacian_pyramid(img, n_levels=3)
    >>> [p.shape for p in pyr]
    [(8, 8), (4, 4), (2, 2)]
    >>> bool(np.allclose(laplacian_reconstruct(pyr), img))
    True
    """
    x, o = as_tensor(image, where="laplacian_pyramid", name="image")
    n = _check_levels("laplacian_pyramid", n_levels, x)
    return [restore(g, o) for g in _laplacian_pyramid(x, n)]


def laplacian_reconstruct(pyramid: list[Any]) -> Any:
    """Inverse of :func:`laplacian_pyramid` (finest level first)."""
    if not isinstance(pyramid, (list, tuple)) or not pyramid:
        raise TypeError("laplacian_reconstruct: `pyramid` must be a non-empty list of levels")
    ts = [as_tensor(p, where="laplacian_reconstruct", name=f"pyramid[{i}]") for i, p in enumerate(pyramid)]
    return restore(_laplacian_reconstruct([t for t, _ in ts]), ts[0][1])


def ratio_pyramid(image: Any, *, n_levels: int = 4, eps: float = 1.0 / 255) -> list[Any]:
    """Ratio-of-low-pass pyramid ``R_k = G_k / EXPAND(G_{k+1})`` of ``I + eps``; top ``G_{n-1}``.

    ``eps`` (default one 8-bit grey level) keeps the ratios finite on black
    pixels; :func:`ratio_reconstruct` removes it again.

    References
    ----------
    A. Toet, "Image fusion by a ratio of low-pass pyramid", Pattern Recognit.
    Lett. 9(4) (1989) 245-253, doi:10.1016/0167-8655(89)90003-2.
    """
    x, o = as_tensor(image, where="ratio_pyramid", name="image")
    n = _check_levels("ratio_pyramid", n_levels, x)
    return [restore(g, o) for g in _ratio_pyramid(x, n, float(eps))]


def ratio_reconstruct(pyramid: list[Any], *, eps: float = 1.0 / 255) -> Any:
    """Inverse of :func:`ratio_pyramid`: ``G_k = R_k * EXPAND(G_{k+1})``, minus ``eps``."""
    if not isinstance(pyramid, (list, tuple)) or not pyramid:
        raise TypeError("ratio_reconstruct: `pyramid` must be a non-empty list of levels")
    ts = [as_tensor(p, where="ratio_reconstruct", name=f"pyramid[{i}]") for i, p in enumerate(pyramid)]
    return restore(_ratio_reconstruct([t for t, _ in ts], float(eps)), ts[0][1])


def _levels_size(p):
    n = p["n_levels"]
    return _min_size(int(n)) if isinstance(n, int) and n >= 1 else 1, f"n_levels={n}"


# --------------------------------------------------------------------------- fusion methods

@register_method("lp", full_name="Laplacian pyramid fusion (LP)",
                 tasks=("infrared-visible", "multi-focus", "multi-exposure", "medical"),
                 reference="Burt & Adelson, IEEE Trans. Commun. 31(4) 1983, doi:10.1109/TCOM.1983.1095851",
                 min_size=_levels_size,
                 params=dict(n_levels=int_param(1, MAX_LEVELS)))
def _lp(x: torch.Tensor, *, n_levels: int = 4) -> torch.Tensor:
    """Laplacian pyramid fusion.

    ``L^F_k = L^{i*}_k`` with ``i* = argmax_i |L^i_k|`` for the detail levels,
    ``L^F_{top} = mean_i L^i_{top}``; ``F = reconstruct(L^F)``.

    Parameters
    ----------
    n_levels : int, default 4
        Pyramid levels including the top (4 as in the VIFB/MST toolboxes' LP).

    Notes
    -----
    Conventions: see the module docstring; any number of sources.
    """
    pyr = _laplacian_pyramid(x, n_levels)
    fused = [select_max_abs(lev, 1).unsqueeze(1) for lev in pyr[:-1]] + [pyr[-1].mean(1, keepdim=True)]
    return _laplacian_reconstruct(fused)


@register_method("rp", full_name="Ratio of low-pass pyramid fusion (RP)",
                 tasks=("infrared-visible", "medical"),
                 reference="Toet, Pattern Recognit. Lett. 9(4) 1989, doi:10.1016/0167-8655(89)90003-2",
                 min_size=_levels_size,
                 params=dict(n_levels=int_param(1, MAX_LEVELS), eps=float_param(MIN_SCALE, MAX_SCALE)))
def _rp(x: torch.Tensor, *, n_levels: int = 4, eps: float = 1.0 / 255) -> torch.Tensor:
    """Ratio-of-low-pass pyramid fusion.

    ``R^F_k = max_i R^i_k`` (the brightest local luminance contrast, Toet's rule
    for thermal targets), top level averaged, ``F = reconstruct(R^F)``.

    Parameters
    ----------
    n_levels : int, default 4
    eps : float, default 1/255
        Offset added before the ratios and removed after reconstruction.
    """
    pyr = _ratio_pyramid(x, n_levels, eps)
    fused = [lev.amax(1, keepdim=True) for lev in pyr[:-1]] + [pyr[-1].mean(1, keepdim=True)]
    return _ratio_reconstruct(fused, eps)


@register_method("contrast_pyramid", full_name="Contrast pyramid fusion",
                 tasks=("infrared-visible", "medical"),
                 reference="Toet, van Ruyven, Valeton, Opt. Eng. 28(7) 1989 789-792, doi:10.1117/12.7977034",
                 min_size=_levels_size,
                 params=dict(n_levels=int_param(1, MAX_LEVELS), eps=float_param(MIN_SCALE, MAX_SCALE)))
def _contrast(x: torch.Tensor, *, n_levels: int = 4, eps: float = 1.0 / 255) -> torch.Tensor:
    """Contrast pyramid fusion.

    Luminance contrast ``C_k = G_k / EXPAND(G_{k+1}) - 1``; the source with the
    largest ``|C_k|`` wins per pixel and level, the top level is averaged.

    Parameters
    ----------
    n_levels : int, default 4
    eps : float, default 1/255
    """
    pyr = _ratio_pyramid(x, n_levels, eps)
    fused = [select_max_abs(lev - 1.0, 1).unsqueeze(1) + 1.0 for lev in pyr[:-1]]
    fused.append(pyr[-1].mean(1, keepdim=True))
    return _ratio_reconstruct(fused, eps)


_S2 = 1.0 / math.sqrt(2.0)
_GRAD_FILTERS = [torch.tensor([[1.0, -1.0]], dtype=torch.float64),
                 torch.tensor([[0.0, -_S2], [_S2, 0.0]], dtype=torch.float64),
                 torch.tensor([[-1.0], [1.0]], dtype=torch.float64),
                 torch.tensor([[-_S2, 0.0], [0.0, _S2]], dtype=torch.float64)]
_W3 = torch.tensor([1.0, 2.0, 1.0]) / 4.0


def gradient_salience(level: torch.Tensor) -> torch.Tensor:
    """Sum over the 4 orientations of ``|d_l * (G + w' * G)|`` (Burt & Kolczynski's gradient pyramid).

    ``d_1 = [1, -1]``, ``d_2 = [[0, -1], [1, 0]] / sqrt 2``, ``d_3 = [-1, 1]^T``,
    ``d_4 = [[-1, 0], [0, 1]] / sqrt 2`` (correlation, replicate border at the
    bottom/right), ``w' = [1, 2, 1]^T [1, 2, 1] / 16`` (reflect border);
    computed with shifted slices.
    """
    h, w = level.shape[-2:]
    p = pad(level, (1, 1, 1, 1), "reflect")
    t = 0.25 * p[..., :, 0:w] + 0.5 * p[..., :, 1:w + 1] + 0.25 * p[..., :, 2:w + 2]
    g = level + (0.25 * t[..., 0:h, :] + 0.5 * t[..., 1:h + 1, :] + 0.25 * t[..., 2:h + 2, :])
    q = pad(g, (0, 1, 0, 1), "replicate")
    a, r = q[..., :h, :w], q[..., :h, 1:w + 1]
    d, dr = q[..., 1:h + 1, :w], q[..., 1:h + 1, 1:w + 1]
    return (a - r).abs() + (d - a).abs() + _S2 * ((d - r).abs() + (dr - a).abs())


@register_method("gradient_pyramid", full_name="Gradient pyramid fusion",
                 tasks=("infrared-visible", "multi-focus", "medical"),
                 reference="Burt & Kolczynski, ICCV 1993 173-182, doi:10.1109/ICCV.1993.378222",
                 min_size=_levels_size,
                 params=dict(n_levels=int_param(1, MAX_LEVELS)))
def _gradient(x: torch.Tensor, *, n_levels: int = 4) -> torch.Tensor:
    """Gradient pyramid fusion.

    At each level k the oriented gradient pyramid ``D_kl = d_l * (G_k + w' * G_k)``
    (4 orientations) measures salience ``S_k = sum_l |D_kl|``; the Laplacian
    coefficient of the most salient source is kept, the top is averaged.

    Notes
    -----
    Conventions (reconstruction): Burt & Kolczynski rebuild the image from the
    fused gradient planes through the filter-subtract-decimate Laplacian
    ``L = -1/8 sum_l d_l * D_l``, which is not exactly invertible; here the
    gradient pyramid only decides, and the exact Laplacian pyramid carries the
    coefficients, so fusing an image with itself returns it.
    """
    g = _gaussian_pyramid(x, n_levels)
    fused = []
    for k in range(n_levels - 1):
        lap = g[k] - _expand(g[k + 1], g[k].shape[-2:])
        fused.append(select_max_abs(lap, 1, activity=gradient_salience(g[k])).unsqueeze(1))
    fused.append(g[-1].mean(1, keepdim=True))
    return _laplacian_reconstruct(fused)
