"""Gradient and texture metrics: SD, SF, AG, EI, Brenner, Q^{AB/F} (Xydeas-Petrovic), N^{AB/F}.

Values are on the 0..255 grey-level scale (``x * 255 / data_range``), as VIFB and MEFB report them.
"""
from __future__ import annotations

import math
from typing import Any

import torch

from ..filters import filter2d
from ._common import (batch_step, check_preset, finish, matlab_gray, prepare_fused, prepare_plane_var,
                      prepare_sources)
from ._registry import register_metric

__all__ = ["standard_deviation", "spatial_frequency", "average_gradient", "edge_intensity", "brenner",
           "qabf", "nabf"]

_VIFB = "Zhang, Ye, Xiao, VIFB, CVPRW 2020, arXiv:2002.03322; xingchenzhang/VIFB metrics/*.m"

# Sobel pair of Xydeas-Petrovic / VIFB's metricsQabf.m (h3: x response, h1: y response)
_H3 = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
_H1 = torch.tensor([[1.0, 2.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -2.0, -1.0]])
_SOBEL = torch.tensor([[1.0, 2.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -2.0, -1.0]])  # fspecial('sobel')


# --------------------------------------------------------------------------- SD
@register_metric("standard_deviation", full_name="Standard deviation (SD)", higher_is_better=True,
                 inputs="none", range=(0.0, 127.5), units="grey levels",
                 presets=("default", "vifb", "mefb"),
                 references=("Rao, Meas. Sci. Technol. 8 (1997) 355, doi:10.1088/0957-0233/8/4/002", _VIFB))
def standard_deviation(fused: Any, *, preset: str = "default", data_range: float = 1.0) -> Any:
    """Standard deviation (SD; VIFB calls it "Variance").

    SD = sqrt(mean((F - mean F)^2)) per channel on the 0..255 scale, then the channel mean.

    Parameters
    ----------
    fused : (H, W), (C, H, W) or (B, C, H, W), values in [0, data_range]
    preset : {'default', 'vifb', 'mefb'}
        Same rule in all.
    data_range : float

    Returns
    -------
    float or (B,)
        Grey levels in [0, 127.5]; higher is better. 0 for a constant image.

    Examples
    --------
    >>> import numpy as np
    >>> round(standard_deviation(np.array([[0.0, 1.0]])), 4)
    127.5
    """
    where = "standard_deviation"
    check_preset(where, preset)
    var, origin = prepare_plane_var(fused, where=where, data_range=data_range)
    return finish(var.sqrt().mean(dim=1) * (255.0 / data_range), origin)


# --------------------------------------------------------------------------- SF
def _sf(f: torch.Tensor, seams: bool) -> torch.Tensor:
    b, c, h, w = f.shape
    if seams:  # MATLAB [m, n] = size(H x W x 3) -> an H x 3W matrix
        f = f.permute(0, 2, 1, 3).reshape(b, 1, h, c * w)
    n = f.shape[-2] * f.shape[-1]
    rf = (f[..., :, 1:] - f[..., :, :-1]).pow(2).sum(dim=(-2, -1)) / n
    cf = (f[..., 1:, :] - f[..., :-1, :]).pow(2).sum(dim=(-2, -1)) / n
    return torch.sqrt(rf + cf).mean(dim=1)


@register_metric("spatial_frequency", full_name="Spatial frequency (SF)", higher_is_better=True,
                 inputs="none", range=(0.0, float("inf")), units="grey levels",
                 presets=("default", "vifb", "mefb"),
                 references=("Eskicioglu, Fisher, IEEE Trans. Commun. 43 (1995) 2959-2965, "
                             "doi:10.1109/26.477498", _VIFB))
def spatial_frequency(fused: Any, *, preset: str = "default", data_range: float = 1.0) -> Any:
    """Spatial frequency (SF).

    RF^2 = sum (F[i, j] - F[i, j-1])^2 / (HW), CF^2 = sum (F[i, j] - F[i-1, j])^2 / (HW),
    SF = sqrt(RF^2 + CF^2), on the 0..255 scale.

    Parameters
    ----------
    fused : (H, W), (C, H, W) or (B, C, H, W)
    preset : {'default', 'vifb', 'mefb'}
        ``'default'`` and ``'mefb'``: per channel, then the channel mean. ``'vifb'``: VIFB's
        ``[m, n] = size(fused)`` turns an H x W x 3 image into an H x 3W matrix, so the three channels are
        laid side by side (seams included) and the sums are divided by 3HW.
    data_range : float

    Returns
    -------
    float or (B,)
        Grey levels; higher is better; 0 for a constant image.
    """
    where = "spatial_frequency"
    check_preset(where, preset)
    f, origin = prepare_fused(fused, where=where, data_range=data_range, min_size=2, rescale=False)
    return finish(_sf(f, preset == "vifb") * (255.0 / data_range), origin)


# --------------------------------------------------------------------------- AG
def _grad2(x: torch.Tensor, out: torch.Tensor, dim: int) -> torch.Tensor:
    """Twice MATLAB's ``gradient`` along ``dim`` (-1 or -2): x[k+1] - x[k-1] inside, 2 (x[1] - x[0]) and
    2 (x[-1] - x[-2]) at the ends, written into ``out`` by slicing (no convolution, no division)."""
    n = x.shape[dim]
    torch.sub(x.narrow(dim, 2, n - 2), x.narrow(dim, 0, n - 2), out=out.narrow(dim, 1, n - 2))
    torch.sub(x.narrow(dim, 1, 1), x.narrow(dim, 0, 1), out=out.narrow(dim, 0, 1)).mul_(2.0)
    torch.sub(x.narrow(dim, n - 1, 1), x.narrow(dim, n - 2, 1), out=out.narrow(dim, n - 1, 1)).mul_(2.0)
    return out


def _ag(f: torch.Tensor) -> torch.Tensor:
    b, c, h, w = f.shape
    # with G = 2 * gradient: sqrt((gx^2 + gy^2) / 2) = sqrt(Gx^2 + Gy^2) / sqrt(8)
    sums = torch.empty(b, c, dtype=f.dtype, device=f.device)
    step = batch_step(f)
    bufs = torch.empty((2, min(step, b), c, h, w), dtype=f.dtype, device=f.device)  # reused, in cache
    for i in range(0, b, step):
        x = f[i:i + step]
        gx = _grad2(x, bufs[0, :x.shape[0]], -1)
        gy = _grad2(x, bufs[1, :x.shape[0]], -2)
        sums[i:i + step] = gx.mul_(gx).addcmul_(gy, gy).sqrt_().sum(dim=(-2, -1))
    return (sums / (math.sqrt(8.0) * (h - 1) * (w - 1))).mean(dim=1)


@register_metric("average_gradient", full_name="Average gradient (AG)", higher_is_better=True,
                 inputs="none", range=(0.0, float("inf")), units="grey levels / pixel",
                 presets=("default", "vifb", "mefb"),
                 references=("Cui et al., Optics Communications 341 (2015) 199-209, "
                             "doi:10.1016/j.optcom.2014.12.032", _VIFB))
def average_gradient(fused: Any, *, preset: str = "default", data_range: float = 1.0) -> Any:
    """Average gradient (AG).

    AG = sum_all sqrt((g_x^2 + g_y^2) / 2) / ((H - 1)(W - 1)), with MATLAB ``gradient`` (central
    differences inside, one-sided at the border; equal to ``numpy.gradient``), on the 0..255 scale,
    per channel then the channel mean.

    Parameters
    ----------
    fused : (H, W), (C, H, W) or (B, C, H, W); at least 2 x 2
    preset : {'default', 'vifb', 'mefb'}
        Same rule in all.
    data_range : float

    Returns
    -------
    float or (B,)
        Higher is better; 0 for a constant image. Papers using forward differences get other values.
    """
    where = "average_gradient"
    check_preset(where, preset)
    f, origin = prepare_fused(fused, where=where, data_range=data_range, min_size=2, rescale=False)
    return finish(_ag(f) * (255.0 / data_range), origin)


# --------------------------------------------------------------------------- EI
def _ei(f: torch.Tensor) -> torch.Tensor:
    gx = filter2d(f, _SOBEL, "replicate")
    gy = filter2d(f, _SOBEL.t().contiguous(), "replicate")
    return torch.sqrt(gx * gx + gy * gy).mean(dim=(1, 2, 3))


@register_metric("edge_intensity", full_name="Edge intensity (EI)", higher_is_better=True,
                 inputs="none", range=(0.0, float("inf")), units="grey levels",
                 presets=("default", "vifb", "mefb"),
                 references=("Rajalingam, Priya, Int. J. Eng. Sci. Invention (2018)", _VIFB))
def edge_intensity(fused: Any, *, preset: str = "default", data_range: float = 1.0) -> Any:
    """Edge intensity (EI): the mean Sobel gradient magnitude.

    EI = mean sqrt(g_x^2 + g_y^2), with ``fspecial('sobel')`` and its transpose, 'replicate' border
    (MATLAB ``imfilter``), on the 0..255 scale, over all pixels and channels.

    Parameters
    ----------
    fused : (H, W), (C, H, W) or (B, C, H, W)
    preset : {'default', 'vifb', 'mefb'}
        Same rule in all.
    data_range : float

    Returns
    -------
    float or (B,)
        Higher is better; 0 for a constant image.
    """
    where = "edge_intensity"
    check_preset(where, preset)
    f, origin = prepare_fused(fused, where=where, data_range=data_range, min_size=1, rescale=False)
    return finish(_ei(f) * (255.0 / data_range), origin)


# --------------------------------------------------------------------------- Brenner
def _brenner(f: torch.Tensor, direction: str) -> torch.Tensor:
    dx = (f[..., :, 2:] - f[..., :, :-2]).pow(2).mean(dim=(-2, -1))
    if direction == "both":
        dy = (f[..., 2:, :] - f[..., :-2, :]).pow(2).mean(dim=(-2, -1))
        dx = dx + dy
    return dx.mean(dim=1)


@register_metric("brenner", full_name="Brenner gradient sharpness", higher_is_better=True,
                 inputs="none", range=(0.0, float("inf")), units="grey levels^2",
                 presets=("default",),
                 references=("Brenner et al., J. Histochem. Cytochem. 24 (1976) 100-111, "
                             "doi:10.1177/24.1.1254907",))
def brenner(fused: Any, *, direction: str = "horizontal", preset: str = "default",
            data_range: float = 1.0) -> Any:
    """Brenner gradient (focus/sharpness measure).

    BRENNER = mean over pixels of (F(x, y + 2) - F(x, y))^2 (``direction='horizontal'``), plus the same
    vertically for ``'both'``, on the 0..255 scale, channel mean.

    Parameters
    ----------
    fused : (H, W), (C, H, W) or (B, C, H, W); at least 3 x 3
    direction : {'horizontal', 'both'}
    preset : {'default'}
    data_range : float

    Returns
    -------
    float or (B,)
        Higher is sharper.

    Notes
    -----
    AE-Netv2 (Table VII) uses BRENNER without defining it; its direction and scaling are unknown, so
    this is a reconstruction (aenetv2 note §6). The absolute values of the table cannot be reproduced.
    """
    where = "brenner"
    check_preset(where, preset)
    if direction not in ("horizontal", "both"):
        raise ValueError(f"{where}: `direction` must be one of ['horizontal', 'both']; got {direction!r}")
    f, origin = prepare_fused(fused, where=where, data_range=data_range, min_size=3)
    return finish(_brenner(f, direction), origin)


# --------------------------------------------------------------------------- Q^{AB/F}
_TG, _KG, _DG = 0.9994, -15.0, 0.5
_TA, _KA, _DA = 0.9879, -22.0, 0.8


def _grad_xp(x: torch.Tensor, border: str, liu: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Sobel magnitude and orientation atan(gy / gx) (pi/2 where gx == 0; +1e-5 for Liu)."""
    gx = filter2d(x, _H3, border)
    gy = filter2d(x, _H1, border)
    g = torch.sqrt(gx * gx + gy * gy)
    zero = gx == 0
    if liu:
        a = torch.atan(gy / torch.where(zero, gx + 1e-5, gx))
    else:
        a = torch.where(zero, torch.full_like(gx, math.pi / 2),
                        torch.atan(gy / torch.where(zero, torch.ones_like(gx), gx)))
    return g, a


def _qabf(f: torch.Tensor, s: torch.Tensor, preset: str) -> torch.Tensor:
    """Kernel: f (B, C, H, W), s (B, N, C, H, W) on 0..255 -> (B,)."""
    b, n, c, h, w = s.shape
    border = "zeros"  # conv2(..., 'same') in every benchmark code
    liu = preset == "liu2020"
    quirk = preset in ("vifb", "mefb")
    gf, af = _grad_xp(f, border, liu)
    gs, as_ = _grad_xp(s.reshape(b * n, c, h, w), border, liu)
    gs, as_ = gs.reshape(b, n, c, h, w), as_.reshape(b, n, c, h, w)
    gf, af = gf.unsqueeze(1), af.unsqueeze(1)
    big = torch.maximum(gs, gf)
    small = torch.minimum(gs, gf)
    ratio = torch.where(big > 0, small / torch.where(big > 0, big, torch.ones_like(big)),
                        torch.ones_like(big))
    if quirk:  # VIFB/MEFB: G = gF where gS == gF (so it depends on the input scale)
        ratio = torch.where(gs == gf, gf, ratio)
    aa = 1.0 - (as_ - af).abs() / (math.pi / 2)
    qg = _TG / (1.0 + torch.exp(_KG * (ratio - _DG)))
    qa = _TA / (1.0 + torch.exp(_KA * (aa - _DA)))
    q = qg * qa
    num = (q * gs).sum(dim=(1, 3, 4))
    den = gs.sum(dim=(1, 3, 4))
    val = torch.where(den > 0, num / torch.where(den > 0, den, torch.ones_like(den)),
                      torch.zeros_like(den))
    return val.mean(dim=1)


@register_metric("qabf", full_name="Gradient-based fusion performance Q^{AB/F} (Xydeas-Petrovic)",
                 higher_is_better=True, inputs="sources", range=(0.0, 1.0),
                 presets=("default", "vifb", "mefb", "liu2020"),
                 references=("Xydeas, Petrovic, Electronics Letters 36 (2000) 308-309, "
                             "doi:10.1049/el:20000267", _VIFB))
def qabf(fused: Any, sources: Any, *, preset: str = "default", data_range: float = 1.0) -> Any:
    """Gradient-based fusion performance Q^{AB/F} of Xydeas and Petrovic.

    With Sobel magnitude g and orientation alpha = atan(g_y / g_x): G = min(g_S, g_F) / max(g_S, g_F),
    A = 1 - |alpha_S - alpha_F| / (pi/2), Q_g = 0.9994 / (1 + exp(-15 (G - 0.5))),
    Q_a = 0.9879 / (1 + exp(-22 (A - 0.8))), and
    Q^{AB/F} = sum_S sum Q_g Q_a g_S / sum_S sum g_S (L = 1).

    Parameters
    ----------
    fused, sources : see :func:`fusionlib.metrics.cross_entropy` (any number of sources).
    preset : {'default', 'vifb', 'mefb', 'liu2020'}
        - ``'default'``: zero padding (as every benchmark code; the border matters at the 1e-2
          level), alpha = pi/2 where g_x = 0, G = 1 where g_S = g_F.
        - ``'vifb'``, ``'mefb'``: zero padding (``conv2(..., 'same')``), alpha = pi/2 where g_x = 0, and
          their quirk G = g_F where g_S == g_F (instead of 1), on the 0..255 scale.
        - ``'liu2020'``: zero padding, 1e-5 added to g_x where it is 0, no quirk (``metricXydeas.m``
          with Yu Liu's fix); RGB inputs (A, B and F) are first converted to gray as the survey's
          ``evaluate_color.m`` does (MATLAB ``rgb2gray`` of the 8-bit images, rounded).
    data_range : float

    Returns
    -------
    float or (B,)
        In [0, 1]; higher is better. F = A = B with texture gives 0.99885 * 0.97592 = 0.9748 under
        'default' and 'liu2020' (the sigmoid ceilings), not 1. No source gradient at all gives 0.

    Notes
    -----
    Per channel then the channel mean (VIFB; not ``'liu2020'``, see above). Orientation uses atan of the ratio (not atan2), as all
    benchmark codes do, so opposite gradients count as equal orientation.
    """
    where = "qabf"
    check_preset(where, preset)
    f, s, origin = prepare_sources(fused, sources, where=where, data_range=data_range, min_size=3,
                                   snap=True)
    if preset == "liu2020":
        f, s = matlab_gray(f, s)
    return finish(_qabf(f, s, preset), origin)


# --------------------------------------------------------------------------- N^{AB/F}
def _nabf(f: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """Kumar's modified N^{AB/F} (Tang's evaluation code conventions, metrics note §2)."""
    b, n, c, h, w = s.shape
    kx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 8.0
    ky = kx.t().contiguous()

    def grad(x):
        gx = filter2d(x, kx, "circular")
        gy = filter2d(x, ky, "circular")
        g = torch.sqrt(gx * gx + gy * gy)
        a = torch.atan(gy / torch.where(gx == 0, torch.full_like(gx, 1e-10), gx))
        return g, a

    gf, af = grad(f)
    gs, as_ = grad(s.reshape(b * n, c, h, w))
    gs, as_ = gs.reshape(b, n, c, h, w), as_.reshape(b, n, c, h, w)
    gf, af = gf.unsqueeze(1), af.unsqueeze(1)
    big = torch.maximum(gs, gf)
    ratio = torch.where(big > 0, torch.minimum(gs, gf) / torch.where(big > 0, big, torch.ones_like(big)),
                        torch.ones_like(big))
    aa = 1.0 - (as_ - af).abs() / (math.pi / 2)
    qg = 0.9999 / (1.0 + torch.exp(-19.0 * (ratio - 0.5)))
    qa = 0.9995 / (1.0 + torch.exp(-22.0 * (aa - 0.5)))
    q = torch.sqrt(qg * qa)
    wgt = torch.where(gs >= 2.0, gs.pow(1.5), torch.full_like(gs, 0.001))
    artefact = (gf > gs).all(dim=1, keepdim=True).to(f.dtype)
    num = ((1.0 - q) * wgt * artefact).sum(dim=(1, 3, 4))
    den = wgt.sum(dim=(1, 3, 4))
    return (num / den).mean(dim=1)


@register_metric("nabf", full_name="Fusion artefacts N^{AB/F} (Kumar's modification)",
                 higher_is_better=False, inputs="sources", range=(0.0, 1.0), presets=("default",),
                 ideal=0.0,
                 references=("Petrovic, Xydeas, Proc. SPIE 5813 (2005); Kumar, Signal Image Video "
                             "Process. 7 (2013) 1125-1143, doi:10.1007/s11760-012-0361-x",
                             "Linfeng-Tang/Evaluation-for-Image-Fusion"))
def nabf(fused: Any, sources: Any, *, preset: str = "default", data_range: float = 1.0) -> Any:
    """Fusion artefacts N^{AB/F} in Kumar's modified form.

    Sobel/8 gradients with periodic extension; Q = sqrt(Q_g Q_a) with sigmoid constants
    (0.9999, 19, 0.5) and (0.9995, 22, 0.5); weights w = g_S^1.5 where g_S >= 2 else 0.001;
    N = sum_S sum (1 - Q_S) w_S [g_F > g_S for every S] / sum_S sum w_S.

    Parameters
    ----------
    fused, sources : see :func:`qabf`.
    preset : {'default'}
    data_range : float

    Returns
    -------
    float or (B,)
        In [0, 1]; lower is better (0: no added gradient anywhere, e.g. F equal to a source).
    """
    where = "nabf"
    check_preset(where, preset)
    f, s, origin = prepare_sources(fused, sources, where=where, data_range=data_range, min_size=3)
    return finish(_nabf(f, s), origin)
