"""Error and structural-similarity metrics: PSNR, RMSE, SSIM and the SSIM-based fusion metrics
Q_Y (Yang), Q_C (Cvejic), Q_W and Q_E (Piella).

Everything is computed on the 0..255 scale (``x * 255 / data_range``).
"""
from __future__ import annotations

import math
from typing import Any

import torch

from ..filters import gaussian_kernel1d
from ..filters import filter2d
from ._common import (CHUNK, check_preset, finish, matlab_gray, prepare_sources, prepare_sq_diff,
                      safe_moments, sq_diff_sum, weight_ratio, window_moments)
from ._registry import register_metric

__all__ = ["psnr", "fusion_rmse", "ssim", "q_y", "q_c", "q_w", "q_e"]

_VIFB = "Zhang, Ye, Xiao, VIFB, CVPRW 2020, arXiv:2002.03322; xingchenzhang/VIFB metrics/*.m"
_WANG = ("Wang, Bovik, Sheikh, Simoncelli, IEEE TIP 13 (2004) 600-612, doi:10.1109/TIP.2003.819861")


# --------------------------------------------------------------------------- PSNR / RMSE
def _pseudo_mse(f: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """VIFB 'mse': sqrt(sum (S - F)^2) / (HW), mean over sources -> (B, C)."""
    h, w = f.shape[-2:]
    m = torch.sqrt((s - f.unsqueeze(1)).pow(2).sum(dim=(-2, -1))) / (h * w)
    return m.mean(dim=1)


def _psnr(f: torch.Tensor, s: torch.Tensor, preset: str) -> torch.Tensor:
    if preset in ("vifb", "mefb"):
        m = _pseudo_mse(f, s)
        return (20.0 * torch.log10(255.0 / torch.sqrt(m))).mean(dim=1)
    mse = sq_diff_sum(f, s).mean(dim=1) / f[0].numel()
    return 10.0 * torch.log10(255.0 ** 2 / mse)


@register_metric("psnr", full_name="Peak signal-to-noise ratio (PSNR)", higher_is_better=True,
                 inputs="sources", range=(0.0, float("inf")), units="dB",
                 presets=("default", "vifb", "mefb"),
                 references=("Jagalingam, Hegde, Aquatic Procedia 4 (2015) 133-142, "
                             "doi:10.1016/j.aqpro.2015.02.019", _VIFB))
def psnr(fused: Any, sources: Any, *, preset: str = "default", data_range: float = 1.0) -> Any:
    """Peak signal-to-noise ratio (PSNR) of the fused image against the sources (or one reference).

    ``'default'``: PSNR = 10 log10(255^2 / MSE), MSE = mean over sources of mean (S - F)^2 over all
    pixels and channels (textbook; equals ``skimage.metrics.peak_signal_noise_ratio`` for one source).

    Parameters
    ----------
    fused : (H, W), (C, H, W) or (B, C, H, W)
    sources : list of images (one image = a reference) or (B, N, C, H, W)
    preset : {'default', 'vifb', 'mefb'}
        ``'vifb'``/``'mefb'``: the benchmarks' pseudo-MSE m = sqrt(sum (S - F)^2) / (HW) averaged over the
        sources, PSNR = 20 log10(255 / sqrt(m)) per channel, then the channel mean (hence 55-65 dB).
    data_range : float

    Returns
    -------
    float or (B,)
        dB; higher is better; ``inf`` for identical images (never NaN).
    """
    where = "psnr"
    check_preset(where, preset)
    if preset == "default":  # 10 log10(255^2 / MSE_255) = 10 log10(data_range^2 / MSE)
        sq, m, origin = prepare_sq_diff(fused, sources, where=where, data_range=data_range)
        mse = sq.mean(dim=1) / m
        return finish(10.0 * torch.log10(255.0 ** 2 / mse) - 20.0 * math.log10(255.0 / data_range), origin)
    f, s, origin = prepare_sources(fused, sources, where=where, data_range=data_range, min_size=1,
                                   min_count=1)
    return finish(_psnr(f, s, preset), origin)


@register_metric("fusion_rmse", full_name="Root mean square error to the sources (RMSE)",
                 higher_is_better=False, inputs="sources", range=(0.0, 255.0), units="grey levels",
                 presets=("default", "vifb"), ideal=0.0,
                 references=("Jagalingam, Hegde, Aquatic Procedia 4 (2015) 133-142", _VIFB))
def fusion_rmse(fused: Any, sources: Any, *, preset: str = "default", data_range: float = 1.0) -> Any:
    """Root mean square error (RMSE) of the fused image to the sources, averaged over the sources.

    ``'default'``: mean_S sqrt(mean (S - F)^2) over pixels and channels, on the 0..255 scale.

    Parameters
    ----------
    fused, sources : see :func:`psnr`.
    preset : {'default', 'vifb'}
        ``'vifb'``: VIFB's "RMSE" is its pseudo-MSE m = sqrt(sum (S - F)^2) / (HW) averaged over the
        sources, per channel, then the channel mean (about 0.05-0.2).
    data_range : float

    Returns
    -------
    float or (B,)
        Grey levels; lower is better; 0 for identical images.

    Notes
    -----
    Named ``fusion_rmse`` because ``rmse`` (per band, against a reference) belongs to the
    pansharpening metrics.
    """
    where = "fusion_rmse"
    check_preset(where, preset)
    if preset == "default":  # on the 0..255 scale: the data-unit RMSE times 255 / data_range
        sq, m, origin = prepare_sq_diff(fused, sources, where=where, data_range=data_range)
        return finish(torch.sqrt(sq / m).mean(dim=1) * (255.0 / data_range), origin)
    f, s, origin = prepare_sources(fused, sources, where=where, data_range=data_range, min_size=1,
                                   min_count=1)
    return finish(_pseudo_mse(f, s).mean(dim=1), origin)  # 'vifb'


# --------------------------------------------------------------------------- SSIM
def _local_moments(x: torch.Tensor, y: torch.Tensor, k1d: torch.Tensor, border: str):
    """Local means, variances and covariance with a separable window (B, C, H, W)."""
    m = window_moments(x, y, k1d, border)
    c = x.shape[1]
    mx, my, mxx, myy, mxy = m.split(c, dim=1)
    return mx, my, mxx - mx * mx, myy - my * my, mxy - mx * my


def ssim_map(x: torch.Tensor, y: torch.Tensor, *, sigma: float = 1.5, size: int = 11,
             k1: float = 0.01, k2: float = 0.03, peak: float = 255.0, border: str = "valid"
             ) -> torch.Tensor:
    """Private kernel: Wang's SSIM map of (B, C, H, W) tensors (no validation)."""
    k = gaussian_kernel1d(sigma, size, dtype=x.dtype, device=x.device)
    mx, my, vx, vy, cxy = _local_moments(x, y, k, border)
    c1, c2 = (k1 * peak) ** 2, (k2 * peak) ** 2
    return ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))


def _ssim(f: torch.Tensor, s: torch.Tensor, preset: str) -> torch.Tensor:
    b, n, c, h, w = s.shape
    ff = f.unsqueeze(1).expand(b, n, c, h, w).reshape(b * n, c, h, w)
    ss = s.reshape(b * n, c, h, w)
    m = torch.empty(b * n, c, dtype=f.dtype, device=f.device)
    step = max(1, CHUNK // (c * h * w)) if f.device.type == "cpu" else b * n  # in-cache chunks
    for i in range(0, b * n, step):
        m[i:i + step] = ssim_map(ss[i:i + step], ff[i:i + step]).mean(dim=(-2, -1))
    per_source = m.reshape(b, n, c).mean(dim=2)  # channel mean
    return per_source.sum(dim=1) if preset == "vifb" else per_source.mean(dim=1)


@register_metric("ssim", full_name="Structural similarity (SSIM)", higher_is_better=True,
                 inputs="sources", range=(-1.0, 1.0), presets=("default", "vifb"), ideal=1.0,
                 preset_ranges={"vifb": (-2.0, 2.0)},
                 references=(_WANG, _VIFB))
def ssim(fused: Any, sources: Any, *, preset: str = "default", data_range: float = 1.0) -> Any:
    """Structural similarity (SSIM) of the fused image with the sources (or one reference).

    SSIM = mean over the 'valid' window positions of
    ((2 mu_x mu_y + C1)(2 sigma_xy + C2)) / ((mu_x^2 + mu_y^2 + C1)(sigma_x^2 + sigma_y^2 + C2)),
    11 x 11 Gaussian window with sigma 1.5 (normalised), C_i = (K_i 255)^2, K = (0.01, 0.03),
    population moments; per channel, then the channel mean.

    Parameters
    ----------
    fused : (H, W), (C, H, W) or (B, C, H, W); at least 11 x 11
    sources : list of images (one image = a reference) or (B, N, C, H, W)
    preset : {'default', 'vifb'}
        ``'default'``: the mean over the sources (in [-1, 1]); ``'vifb'``: the **sum** over the sources
        (VIFB's ``metricsSsim.m``; about 1-1.7 for two sources).
    data_range : float

    Returns
    -------
    float or (B,)
        Higher is better; 1 (``'default'``) for identical images.

    Notes
    -----
    Library conventions: ``skimage.metrics.structural_similarity`` equals this with
    ``gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255`` except that it
    crops (win_size - 1) / 2 = 5 pixels from the padded full map (same positions as 'valid'):
    agreement to ~1e-12. torchmetrics (1.9) pads by reflection and averages its **whole** map,
    border included (a different number; its map cropped by 5 pixels equals ours to ~1e-15).
    skimage's default (7 x 7 uniform window, sample covariance) and sewar's (uniform 11 x 11) differ.
    """
    where = "ssim"
    check_preset(where, preset)
    f, s, origin = prepare_sources(fused, sources, where=where, data_range=data_range, min_size=11,
                                   min_count=1)
    return finish(_ssim(f, s, preset), origin)


# --------------------------------------------------------------------------- Yang / Cvejic / Piella
def _ssim_from(mx, my, vx, vy, cxy, c1, c2):
    """SSIM from window moments; in [-1, 1] when vx, vy >= 0 and |cxy| <= sqrt(vx vy)
    (:func:`safe_moments`), since 2|mx my| <= mx^2 + my^2 and 2|cxy| <= vx + vy; C1 = C2 = C > 0 makes
    a window flat in both images give 1 (C / C) and one flat in one only give ~0, as in MATLAB."""
    return ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))


def _yang_window(dtype, device):
    """1-D factor of the 7 x 7 Gaussian window (sigma 1.5) of Yang's and Cvejic's metrics."""
    return gaussian_kernel1d(1.5, 7, dtype=dtype, device=device)


def _two(f: torch.Tensor, s: torch.Tensor):
    b, n, c, h, w = s.shape
    a = s[:, 0].reshape(b * c, 1, h, w)
    bb = s[:, 1].reshape(b * c, 1, h, w)
    return a, bb, f.reshape(b * c, 1, h, w), b, c


def _q_y(f: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    a, bb, ff, b, c = _two(f, s)
    win = _yang_window(torch.float64, f.device)
    eps = 2e-16
    ma, mb, va, vb, cab = safe_moments(a, bb, win)
    _, mf, _, vf, caf = safe_moments(a, ff, win)
    _, _, _, _, cbf = safe_moments(bb, ff, win)
    s_ab = _ssim_from(ma, mb, va, vb, cab, eps, eps)
    s_af = _ssim_from(ma, mf, va, vf, caf, eps, eps)
    s_bf = _ssim_from(mb, mf, vb, vf, cbf, eps, eps)
    lam = weight_ratio(va, vb)
    q = torch.where(s_ab >= 0.75, lam * s_af + (1 - lam) * s_bf, torch.maximum(s_af, s_bf))
    return q.mean(dim=(1, 2, 3)).reshape(b, c).mean(dim=1)


_LIU_TOOLBOX = ("Liu, Wang, Cheng, Li, Chen, Multi-focus image fusion: a survey of the state of the art, "
                "Information Fusion 64 (2020) 71-91, doi:10.1016/j.inffus.2020.06.013; yuliu316316/MFIF "
                "@ 267c081 evaluation/evaluate_color.m and objective_metrics/*.m (Z. Liu's toolbox)")


@register_metric("q_y", full_name="Yang's structural-similarity fusion metric (Q_Y)",
                 higher_is_better=True, inputs="sources", range=(-1.0, 1.0),
                 presets=("default", "liu2020"), ideal=1.0,
                 references=("Yang, Zhang, Wu, Li, Information Fusion 9 (2008) 156-160, "
                             "doi:10.1016/j.inffus.2006.09.001", _LIU_TOOLBOX))
def q_y(fused: Any, sources: Any, *, preset: str = "default", data_range: float = 1.0) -> Any:
    """Yang's SSIM-based fusion metric Q_Y.

    With a 7 x 7 Gaussian window (sigma 1.5) and constants 2e-16 (so SSIM is effectively UIQI):
    where SSIM(A, B | w) >= 0.75, Q = lambda SSIM(A, F | w) + (1 - lambda) SSIM(B, F | w) with
    lambda = sigma_A^2 / (sigma_A^2 + sigma_B^2); elsewhere Q = max(SSIM(A, F | w), SSIM(B, F | w));
    Q_Y = mean Q over the 'valid' windows.

    Parameters
    ----------
    fused, sources : exactly two sources; at least 7 x 7.
    preset : {'default', 'liu2020'}
        ``'default'``: per channel, then the channel mean. {_LIU_COLOUR}
    data_range : float

    Returns
    -------
    float or (B,)
        In [-1, 1] (negative only for a fused image anti-correlated with the sources); higher is
        better; 1 when F = A = B.

    Notes
    -----
    Conventions (``metricYang.m`` with Yu Liu's fix, Liu 2020): a window where sigma_A^2 + sigma_B^2 = 0
    gets lambda = 1/2 (the toolbox adds 0.5 to both variances there); SSIM with C = 2e-16 is 1 in a
    window flat in both images and ~0 where only one is flat. The local moments are computed in float64
    with exact zeros in flat windows and the Cauchy-Schwarz bound (:func:`safe_moments`): float32
    rounding of sigma^2 = E[x^2] - E[x]^2 used to make lambda and SSIM unbounded there (|Q_Y| up to
    1e20 on Liu 2020's g_04 results).
    """
    where = "q_y"
    check_preset(where, preset)
    f, s, origin = prepare_sources(fused, sources, where=where, data_range=data_range, min_size=7,
                                   max_count=2)
    if preset == "liu2020":
        f, s = matlab_gray(f, s)
    return finish(_q_y(f, s), origin)


def _q_c(f: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    a, bb, ff, b, c = _two(f, s)
    win = _yang_window(torch.float64, f.device)
    eps = 2e-16
    ma, mf, va, vf, caf = safe_moments(a, ff, win)
    mb, _, vb, _, cbf = safe_moments(bb, ff, win)
    s_af = _ssim_from(ma, mf, va, vf, caf, eps, eps)
    s_bf = _ssim_from(mb, mf, vb, vf, cbf, eps, eps)
    den = caf + cbf
    mu = torch.where(den != 0, caf / torch.where(den != 0, den, torch.ones_like(den)),
                     torch.full_like(den, 0.5)).clamp(0.0, 1.0)
    q = mu * s_af + (1 - mu) * s_bf
    return q.mean(dim=(1, 2, 3)).reshape(b, c).mean(dim=1)


@register_metric("q_c", full_name="Cvejic's fusion metric (Q_C)", higher_is_better=True,
                 inputs="sources", range=(-1.0, 1.0), presets=("default", "mefb"), ideal=1.0,
                 references=("Cvejic, Loza, Bull, Canagarajah, Int. J. Signal Process. 2 (2005) "
                             "178-182",))
def q_c(fused: Any, sources: Any, *, preset: str = "default", data_range: float = 1.0) -> Any:
    """Cvejic's covariance-weighted fusion metric Q_C.

    Q = mu SSIM(A, F | w) + (1 - mu) SSIM(B, F | w), mu = sigma_AF / (sigma_AF + sigma_BF) clipped to
    [0, 1] (0.5 where both covariances vanish); 7 x 7 Gaussian window (sigma 1.5), tiny constants;
    Q_C = the mean over the 'valid' windows.

    Parameters
    ----------
    fused, sources : exactly two sources; at least 7 x 7.
    preset : {'default', 'mefb'}
        Both per channel with the channel mean (MEFB converts to gray first: pass gray images).
    data_range : float

    Returns
    -------
    float or (B,)
        Higher is better.
    """
    where = "q_c"
    check_preset(where, preset)
    f, s, origin = prepare_sources(fused, sources, where=where, data_range=data_range, min_size=7,
                                   max_count=2)
    return finish(_q_c(f, s), origin)


def _piella(a, bb, ff, block: int, k: float, toolbox: bool):
    """Piella's weighted fusion quality (variant 2 of ``metricPeilla.m``) on (M, 1, H, W) -> (M,).

    Local UIQI (SSIM with C = (k 255)^2) in ``block`` x ``block`` box windows, lambda = s_A / (s_A + s_B)
    (1/2 where both are 0), weights c_w = max(s_A, s_B) / sum_w max(s_A, s_B). ``toolbox``: Z. Liu's
    code adds 0.5 to both variances of a window where both are 0 *before* taking c_w, so such windows
    weigh 0.5 grey levels^2 instead of 0.
    """
    win = torch.ones(block, dtype=torch.float64, device=a.device) / block
    c = (k * 255.0) ** 2 if k > 0 else 0.0
    ma, mf, va, vf, caf = safe_moments(a, ff, win)
    mb, _, vb, _, cbf = safe_moments(bb, ff, win)
    qa = _ssim_from(ma, mf, va, vf, caf, c, c)
    qb = _ssim_from(mb, mf, vb, vf, cbf, c, c)
    lam = weight_ratio(va, vb)
    q = lam * qa + (1 - lam) * qb
    cw = torch.maximum(va, vb)
    if toolbox:
        cw = torch.where(va + vb == 0, torch.full_like(cw, 0.5), cw)
    norm = cw.sum(dim=(1, 2, 3), keepdim=True)
    wgt = torch.where(norm > 0, cw / torch.where(norm > 0, norm, torch.ones_like(norm)),
                      torch.full_like(cw, 1.0 / cw[0].numel()))
    return (wgt * q).sum(dim=(1, 2, 3))


def _q_w(f, s, block=8, k=1e-6, toolbox=False):
    a, bb, ff, b, c = _two(f, s)
    return _piella(a, bb, ff, block, k, toolbox).reshape(b, c).mean(dim=1)


_EDGE_X = torch.tensor([[-1.0, 0.0, 1.0], [-1.0, 0.0, 1.0], [-1.0, 0.0, 1.0]])


def _edges(x, border: str):
    """Magnitude of the 3 x 3 Prewitt responses (``metricPeilla.m`` flt1, flt2) with ``border``."""
    x = x.to(torch.float64)
    gx = filter2d(x, _EDGE_X.to(torch.float64), border)
    gy = filter2d(x, _EDGE_X.t().contiguous().to(torch.float64), border)
    return torch.sqrt(gx * gx + gy * gy)


def _q_e(f, s, block=8, k=1e-6, alpha=1.0, toolbox=False):
    a, bb, ff, b, c = _two(f, s)
    border = "zeros" if toolbox else "symmetric"
    q1 = _piella(a, bb, ff, block, k, toolbox)
    q2 = _piella(_edges(a, border), _edges(bb, border), _edges(ff, border), block, k, toolbox)
    q = q1 * torch.sign(q2) * q2.abs().pow(alpha)
    return q.reshape(b, c).mean(dim=1)


_PIELLA = ("Piella, Heijmans, Proc. ICIP 2003, doi:10.1109/ICIP.2003.1247209",
           "Liu et al., IEEE TPAMI 34 (2012) 94-109 (variant 3, 8x8 box)", _LIU_TOOLBOX)


def _block_arg(where: str, block: Any) -> int:
    if not isinstance(block, int) or block < 2:
        raise ValueError(f"{where}: `block` must be an int >= 2; got {block!r}")
    return block


@register_metric("q_w", full_name="Piella's weighted fusion quality index (Q_W)", higher_is_better=True,
                 inputs="sources", range=(-1.0, 1.0), presets=("default", "liu2020"), ideal=1.0,
                 references=_PIELLA)
def q_w(fused: Any, sources: Any, *, block: int = 8, preset: str = "default",
        data_range: float = 1.0) -> Any:
    """Piella's weighted fusion quality index Q_W.

    Local UIQI Q(S, F | w) in ``block`` x ``block`` box windows ('valid'), combined as
    lambda Q(A, F | w) + (1 - lambda) Q(B, F | w) with lambda = s_A / (s_A + s_B) (saliency = local
    variance; 1/2 where both are 0), weighted by c(w) = max(s_A, s_B) / sum_w max(s_A, s_B).

    Parameters
    ----------
    fused, sources : exactly two sources; at least ``block`` x ``block``.
    block : int
        Window side (8 in Liu 2020 / Z. Liu's toolbox, with K = 1e-6, i.e. effectively UIQI).
    preset : {'default', 'liu2020'}
        ``'default'``: per channel, then the channel mean; a window flat in both sources weighs 0.
        ``'liu2020'`` (``metricPeilla.m``, variant 2): such a window weighs 0.5 (the toolbox adds 0.5 to
        both variances there before taking the maximum), and RGB inputs (A, B and F) are first
        converted to gray as the survey's ``evaluate_color.m`` does (MATLAB ``rgb2gray`` of the 8-bit
        images, rounded).
    data_range : float

    Returns
    -------
    float or (B,)
        In [-1, 1]; higher is better; 1 for F = A = B.

    Notes
    -----
    Local moments in float64, exact in flat windows (:func:`safe_moments`). MEFB's Q_W uses its
    ``ssim_index`` defaults (another window), so its numbers differ.
    """
    where = "q_w"
    check_preset(where, preset)
    block = _block_arg(where, block)
    f, s, origin = prepare_sources(fused, sources, where=where, data_range=data_range, min_size=block,
                                   max_count=2)
    if preset == "liu2020":
        f, s = matlab_gray(f, s)
    return finish(_q_w(f, s, block, toolbox=preset == "liu2020"), origin)


@register_metric("q_e", full_name="Piella's edge-dependent fusion quality index (Q_E)",
                 higher_is_better=True, inputs="sources", range=(-1.0, 1.0),
                 presets=("default", "liu2020"), ideal=1.0, references=_PIELLA)
def q_e(fused: Any, sources: Any, *, block: int = 8, alpha: float = 1.0, preset: str = "default",
        data_range: float = 1.0) -> Any:
    """Piella's edge-dependent fusion quality index Q_E = Q_W(images) * Q_W(edge images)^alpha.

    Edge images are the magnitudes of the 3 x 3 Prewitt responses ([1 0 -1] rows and its transpose).

    Parameters
    ----------
    fused, sources : exactly two sources; at least ``block`` x ``block``.
    block : int
    alpha : float
        Exponent of the edge term (1).
    preset : {'default', 'liu2020'}
        ``'default'``: edge images with a half-sample symmetric border; per channel, then the channel
        mean. ``'liu2020'`` follows ``metricPeilla.m`` (variant 3) as the survey calls it: edge images by
        ``filter2(..., 'same')`` (zero border), windows flat in both sources weighted 0.5 in both Q_W
        terms (see :func:`q_w`), and RGB inputs (A, B and F) first converted to gray as the survey's
        ``evaluate_color.m`` does (MATLAB ``rgb2gray`` of the 8-bit images, rounded).
    data_range : float

    Returns
    -------
    float or (B,)
        In [-1, 1]; higher is better; 1 for F = A = B.
    """
    where = "q_e"
    check_preset(where, preset)
    block = _block_arg(where, block)
    f, s, origin = prepare_sources(fused, sources, where=where, data_range=data_range, min_size=block,
                                   max_count=2)
    if preset == "liu2020":
        f, s = matlab_gray(f, s)
    return finish(_q_e(f, s, block, 1e-6, float(alpha), toolbox=preset == "liu2020"), origin)
