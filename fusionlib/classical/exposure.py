"""Exposure fusion (Mertens, Kautz, Van Reeth 2009)."""
from __future__ import annotations

import math
from typing import Any

import torch

from .._checks import check_int, check_positive
from .._convert import stack_sources
from ..filters import laplacian
from ._registry import MAX_EXPONENT, MAX_LEVELS, MAX_SIGMA, MIN_SIGMA, register_method
from .._checks import float_param, int_param
from .pyramids import _gaussian_pyramid, _laplacian_pyramid, _laplacian_reconstruct

__all__ = ["mertens_weights"]


def _weights(x: torch.Tensor, wc: float, ws: float, we: float, sigma: float) -> torch.Tensor:
    """(B, N, C, H, W) -> normalised weights (B, N, H, W)."""
    b, n, c, h, w = x.shape
    gray = x.mean(2) if c == 3 else x[:, :, 0]
    contrast = laplacian(gray).abs()
    wgt = contrast ** wc
    if c == 3 and ws != 0:
        wgt = wgt * x.std(dim=2, unbiased=False) ** ws
    expo = torch.exp(-0.5 * (x - 0.5).square() / (sigma * sigma)).prod(dim=2)
    wgt = wgt * expo ** we + 1e-12
    return wgt / wgt.sum(1, keepdim=True)


def _auto_levels(h: int, w: int) -> int:
    return max(1, int(math.floor(math.log2(min(h, w)))))


def mertens_weights(sources: Any, *, wc: float = 1.0, ws: float = 1.0, we: float = 1.0,
                    sigma: float = 0.2):
    """Normalised Mertens weight maps ``W_i = C_i^wc S_i^ws E_i^we / sum_j (...)``, (N, H, W) or (B, N, H, W)."""
    x, o = stack_sources(sources, where="mertens_weights", name="sources")
    wts = _weights(x, wc, ws, we, sigma)
    wts = wts[0] if o.rank < 4 else wts
    return wts.cpu().numpy() if o.numpy else wts


def _mertens_size(p):
    n = p["n_levels"]
    return (2 ** n if isinstance(n, int) and n >= 1 else 1), f"n_levels={n}"


@register_method("mertens", full_name="Exposure fusion (Mertens)",
                 tasks=("multi-exposure",), colour="native",
                 reference="Mertens, Kautz, Van Reeth, Comput. Graph. Forum 28(1) (2009) 161-171, "
                           "doi:10.1111/j.1467-8659.2008.01171.x",
                 min_size=_mertens_size,
                 params=dict(
                     wc=float_param(0, MAX_EXPONENT),
                     ws=float_param(0, MAX_EXPONENT),
                     we=float_param(0, MAX_EXPONENT),
                     sigma=float_param(MIN_SIGMA, MAX_SIGMA),
                     n_levels=int_param(1, MAX_LEVELS, none_ok=True)))
def _mertens(x: torch.Tensor, *, wc: float = 1.0, ws: float = 1.0, we: float = 1.0,
             sigma: float = 0.2, n_levels: int | None = None) -> torch.Tensor:
    """Exposure fusion (Mertens et al. 2009).

    Weights ``W_i = C_i^wc * S_i^ws * E_i^we`` (contrast ``|Laplacian(gray)|``,
    saturation = standard deviation over R, G, B, well-exposedness
    ``prod_c exp(-(I_c - 0.5)^2 / (2 sigma^2))``), normalised over i (+1e-12);
    blended in the pyramids: ``L^F_k = sum_i G_k(W_i) L_k(I_i)``.

    Parameters
    ----------
    wc, ws, we : float, default 1
        Exponents of contrast, saturation, well-exposedness (paper: all 1).
    sigma : float, default 0.2
    n_levels : int or None
        Pyramid levels; None = ``floor(log2(min(H, W)))``, the authors' choice.

    Notes
    -----
    Conventions: works on all channels (``colour="native"``); gray sources have
    no saturation term; the Laplacian is the 5-point one with replicate
    borders, the pyramids those of :mod:`fusionlib.classical.pyramids`.
    Identical sources get weights 1/N and are returned exactly.
    """
    b, n, c, h, w = x.shape
    lev = _auto_levels(h, w) if n_levels is None else check_int("mertens", "n_levels", n_levels, minimum=1)
    sigma = check_positive("mertens", "sigma", sigma)
    wts = _weights(x, wc, ws, we, sigma)
    gw = _gaussian_pyramid(wts, lev)
    lp = _laplacian_pyramid(x.reshape(b, n * c, h, w), lev)
    fused = []
    for g, l in zip(gw, lp):
        l = l.reshape(b, n, c, *l.shape[-2:])
        fused.append((g.unsqueeze(2) * l).sum(1))
    return _laplacian_reconstruct(fused)
