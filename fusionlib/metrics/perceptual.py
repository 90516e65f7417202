"""Perceptual fusion metrics: Q_CB (Chen-Blum), Q_CV (Chen-Varshney), VIF (Sheikh-Bovik, pixel domain).

Q_CB and Q_CV follow Z. Liu's implementations (``metricChenBlum.m``, ``metricChen.m``), which VIFB,
MEFB and the Liu 2020 survey all use: every image plane is first min-max scaled to 0..255 and rounded
(``normalize1``), the contrast-sensitivity filters are applied in the frequency domain on MATLAB's
``freqspace`` grid.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .. import _jit
from ..filters import gaussian_kernel1d
from ..filters import filter2d, sep_filter2d
from ._common import (check_preset, finish, matlab_gray, normalize1, prepare_sources,
                      window_moments)
from ._registry import register_metric

__all__ = ["qcb", "qcv", "vif", "viff"]

_ZLIU = ("Liu et al., Objective assessment of multiresolution image fusion algorithms, IEEE TPAMI 34 "
         "(2012) 94-109, doi:10.1109/TPAMI.2011.109; zhengliu6699/imageFusionMetrics")
_VIFB = "Zhang, Ye, Xiao, VIFB, CVPRW 2020, arXiv:2002.03322; xingchenzhang/VIFB metrics/*.m"


def _freqspace(n: int, scale: float, dtype, device) -> torch.Tensor:
    """MATLAB ``freqspace(n)`` ((0:n-1) - floor(n/2)) * 2/n, times ``scale``, then ``ifftshift``-ed."""
    f = (torch.arange(n, dtype=dtype, device=device) - (n // 2)) * (2.0 / n) * scale
    return torch.fft.ifftshift(f)


def _radial(h: int, w: int, div: float, dtype, device) -> torch.Tensor:
    """r = sqrt(u^2 + v^2) on the unshifted FFT grid, u = (W/div) freqspace(W), v = (H/div) freqspace(H)."""
    u = _freqspace(w, w / div, dtype, device)
    v = _freqspace(h, h / div, dtype, device)
    return torch.sqrt(u.unsqueeze(0) ** 2 + v.unsqueeze(1) ** 2)


def _freq_filter(x: torch.Tensor, hf: torch.Tensor) -> torch.Tensor:
    """ifft2(fft2(x) .* H), real part (H is symmetric, so the imaginary part is rounding noise)."""
    return torch.fft.ifft2(torch.fft.fft2(x) * hf).real


def _gauss31(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """``filter2(G, x, 'same')`` with the unnormalised 31 x 31 Gaussian of metricChenBlum (zero border)."""
    t = torch.arange(-15, 16, dtype=x.dtype, device=x.device)
    k = torch.exp(-(t * t) / (2 * sigma * sigma))
    return sep_filter2d(x, k, k, "zeros") / (2 * math.pi * sigma * sigma)


# --------------------------------------------------------------------------- Q_CB
def _qcb(f: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """Kernel for two sources: f (B, C, H, W), s (B, 2, C, H, W) on any scale -> (B,)."""
    b, n, c, h, w = s.shape
    planes = torch.cat([s.reshape(b, n * c, h, w), f], dim=1)  # (B, (N+1)C, H, W)
    planes = normalize1(planes)
    r = _radial(h, w, 30.0, planes.dtype, planes.device)
    sd = torch.exp(-(r / 15.3870) ** 2) - 0.7622 * torch.exp(-(r / 1.3456) ** 2)
    filt = _freq_filter(planes, sd)
    g2, g4 = _gauss31(filt, 2.0), _gauss31(filt, 4.0)
    live = g4 != 0  # MATLAB: G2 / G4 = NaN or Inf there (a plane that is 0 over a 31 x 31 area)
    con = torch.where(live, g2 / torch.where(live, g4, torch.ones_like(g4)) - 1.0, torch.zeros_like(g4)).abs()
    cp = con ** 3 / (con ** 2 + 1e-4)  # k = h = 1, p = 3, q = 2, Z = 1e-4
    cp = cp.reshape(b, n + 1, c, h, w)
    c1, c2, cf = cp[:, 0], cp[:, 1], cp[:, 2]

    def pres(ci):
        lo, hi = torch.minimum(ci, cf), torch.maximum(ci, cf)
        return torch.where(hi > 0, lo / torch.where(hi > 0, hi, torch.ones_like(hi)), torch.ones_like(hi))

    q1, q2 = pres(c1), pres(c2)
    den = c1 * c1 + c2 * c2
    lam = torch.where(den > 0, c1 * c1 / torch.where(den > 0, den, torch.ones_like(den)),
                      torch.full_like(den, 0.5))
    q = lam * q1 + (1 - lam) * q2
    return q.mean(dim=(-2, -1)).mean(dim=1)


@register_metric("qcb", full_name="Chen-Blum human-perception fusion metric (Q_CB)",
                 higher_is_better=True, inputs="sources", range=(0.0, 1.0),
                 presets=("default", "vifb", "mefb", "liu2020"), ideal=1.0,
                 references=("Chen, Blum, Image and Vision Computing 27 (2009) 1421-1432, "
                             "doi:10.1016/j.imavis.2007.12.002", _ZLIU, _VIFB))
def qcb(fused: Any, sources: Any, *, preset: str = "default", data_range: float = 1.0) -> Any:
    """Chen-Blum perceptual fusion metric Q_CB.

    Each plane is ``normalize1``-ed, filtered by the CSF S(r) = exp(-(r/f0)^2) - a exp(-(r/f1)^2)
    (f0 = 15.3870, f1 = 1.3456, a = 0.7622, r in cycles/image / 15), local contrast
    C = |G_2 * I / G_4 * I - 1| (31 x 31 unnormalised Gaussians, zero border), masked
    C' = C^3 / (C^2 + 1e-4); Q_SF = min/max ratio of C'_S and C'_F; saliency
    lambda_A = C'_A^2 / (C'_A^2 + C'_B^2); Q_CB = mean(lambda_A Q_AF + lambda_B Q_BF).

    Parameters
    ----------
    fused, sources : exactly two sources.
    preset : {'default', 'vifb', 'mefb', 'liu2020'}
        All Z. Liu's code (``metricChenBlum.m``). ``'default'``, ``'vifb'``, ``'mefb'``: per channel
        then the channel mean. ``'liu2020'``: RGB inputs (A, B and F) are first converted to gray as
        the survey's ``evaluate_color.m`` does (MATLAB ``rgb2gray`` of the 8-bit images, rounded).
    data_range : float

    Returns
    -------
    float or (B,)
        In [0, 1]; higher is better; 1 for F = A = B.

    Notes
    -----
    Where MATLAB would divide 0 by 0 (no contrast anywhere) the ratio is taken as 1 and the saliency as
    1/2, so constant images give a defined value. Where the local contrast itself is undefined
    (G_4 * I = 0, e.g. a normalised plane that is 0 over a 31 x 31 area, or a blank image; MATLAB gives
    NaN there and a NaN score) it is taken as 0 (no signal, no contrast): a blank fused image scores 0
    against sources with contrast (it used to score 1 through the NaN), and Q_CB stays in [0, 1].
    """
    where = "qcb"
    check_preset(where, preset)
    f, s, origin = prepare_sources(fused, sources, where=where, data_range=data_range, min_size=2,
                                   max_count=2)
    if preset == "liu2020":
        f, s = matlab_gray(f, s)
    return finish(_qcb(f, s), origin)


# --------------------------------------------------------------------------- Q_CV
def _block_sum(x: torch.Tensor, size: int) -> torch.Tensor:
    """``blkproc`` with zero padding to whole blocks: per-block sums (B, C, nH, nW)."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % size, (-w) % size
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph))
    b, c = x.shape[:2]
    y = x.reshape(b, c, x.shape[-2] // size, size, x.shape[-1] // size, size)
    return y.sum(dim=(3, 5))


_FLT1 = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
_FLT2 = torch.tensor([[-1.0, -2.0, -1.0], [0.0, 0.0, 0.0], [1.0, 2.0, 1.0]])


def _qcv(f: torch.Tensor, s: torch.Tensor, window: int = 16, alpha: float = 5.0) -> torch.Tensor:
    b, n, c, h, w = s.shape
    planes = normalize1(torch.cat([s.reshape(b, n * c, h, w), f], dim=1))
    gx = filter2d(planes[:, : n * c], _FLT1, "zeros")
    gy = filter2d(planes[:, : n * c], _FLT2, "zeros")
    g = torch.sqrt(gx * gx + gy * gy)
    lam = _block_sum(g ** alpha, window).reshape(b, n, c, -1)
    diff = planes[:, : n * c].reshape(b, n, c, h, w) - planes[:, n * c:].unsqueeze(1)
    r = _radial(h, w, 8.0, planes.dtype, planes.device)
    theta = 2.6 * (0.0192 + 0.144 * r) * torch.exp(-((0.144 * r) ** 1.1))  # Mannos-Sakrison
    df = _freq_filter(diff.reshape(b, n * c, h, w), theta)
    d = (_block_sum(df * df, window) / (window * window)).reshape(b, n, c, -1)
    num = (lam * d).sum(dim=(1, 3))
    den = lam.sum(dim=(1, 3))
    q = torch.where(den > 0, num / torch.where(den > 0, den, torch.ones_like(den)), d.mean(dim=(1, 3)))
    return q.mean(dim=1)


@register_metric("qcv", full_name="Chen-Varshney human-perception fusion metric (Q_CV)",
                 higher_is_better=False, inputs="sources", range=(0.0, float("inf")),
                 presets=("default", "vifb", "mefb", "liu2020"), ideal=0.0,
                 references=("Chen, Varshney, Information Fusion 8 (2007) 193-207, "
                             "doi:10.1016/j.inffus.2005.10.001", _ZLIU, _VIFB))
def qcv(fused: Any, sources: Any, *, preset: str = "default", data_range: float = 1.0) -> Any:
    """Chen-Varshney perceptual fusion metric Q_CV (a weighted distortion: lower is better).

    On ``normalize1`` planes: regional saliency lambda_S(w) = sum_w g_S^5 (Sobel magnitude, zero
    border) over 16 x 16 blocks; D_S(w) = mean_w of (CSF * (S - F))^2 with the Mannos-Sakrison filter
    2.6 (0.0192 + 0.144 r) exp(-(0.144 r)^1.1) (r in cycles/image / 4);
    Q_CV = sum_w sum_S lambda_S D_S / sum_w sum_S lambda_S.

    Parameters
    ----------
    fused, sources : see :func:`qcb` (any number of sources).
    preset : {'default', 'vifb', 'mefb', 'liu2020'}
        All Z. Liu's code (``metricChen.m``). ``'default'``, ``'vifb'``, ``'mefb'``: per channel then
        the channel mean. ``'liu2020'``: RGB inputs (A, B and F) are first converted to gray as the
        survey's ``evaluate_color.m`` does (MATLAB ``rgb2gray`` of the 8-bit images, rounded).
    data_range : float

    Returns
    -------
    float or (B,)
        >= 0; lower is better; 0 for F = A = B.

    Notes
    -----
    Partial blocks are zero-padded as MATLAB ``blkproc`` does (so their mean divides by 256). With no
    source gradient at all, the unweighted block mean is returned instead of 0/0.
    """
    where = "qcv"
    check_preset(where, preset)
    f, s, origin = prepare_sources(fused, sources, where=where, data_range=data_range, min_size=2)
    if preset == "liu2020":
        f, s = matlab_gray(f, s)
    return finish(_qcv(f, s), origin)


# --------------------------------------------------------------------------- VIF
def _vif_moments(ref: torch.Tensor, dist: torch.Tensor):
    """Per scale (1..4): the window means (B, 5C, H', W') of (ref, dist, ref^2, dist^2, ref dist) of
    pixel-domain VIF, Gaussian windows N = 2^(5-s) + 1, sigma = N/5, 'valid', both images filtered
    and decimated by 2 before scales 2..4 (:func:`window_moments`: channels-last on CPU)."""
    for scale in range(1, 5):
        n = 2 ** (5 - scale) + 1
        k = gaussian_kernel1d(n / 5.0, n, dtype=ref.dtype, device=ref.device)
        if scale > 1:
            both = sep_filter2d(torch.cat([ref, dist], 1), k, k, "valid")[..., ::2, ::2]
            ref, dist = both.split(ref.shape[1], dim=1)
        yield window_moments(ref, dist, k, "valid")


def _vif_info(m: torch.Tensor, c: int, sigma_nsq: float):
    """The per-pixel information maps (num, den) and the gain g of one scale from its moments."""
    mu1, mu2, e11, e22, e12 = m.split(c, dim=1)
    s1 = (e11 - mu1 * mu1).clamp_min(0)
    s2 = (e22 - mu2 * mu2).clamp_min(0)
    s12 = e12 - mu1 * mu2
    g = s12 / (s1 + 1e-10)
    sv = s2 - g * s12
    low1 = s1 < 1e-10
    g = torch.where(low1, torch.zeros_like(g), g)
    sv = torch.where(low1, s2, sv)
    s1 = torch.where(low1, torch.zeros_like(s1), s1)
    low2 = s2 < 1e-10
    g = torch.where(low2, torch.zeros_like(g), g)
    sv = torch.where(low2, torch.zeros_like(sv), sv)
    neg = g < 0
    sv = torch.where(neg, s2, sv)
    g = g.clamp_min(0)
    sv = sv.clamp_min(1e-10)
    return torch.log10(1 + g * g * s1 / (sv + sigma_nsq)), torch.log10(1 + s1 / sigma_nsq), g


def _vif_scales(ref: torch.Tensor, dist: torch.Tensor, sigma_nsq: float):
    """Per scale (1..4): the per-pixel information maps (num, den) and the gain g of pixel-domain VIF.

    ``ref``, ``dist`` are (B, C, H, W) on the 0..255 scale, H, W >= 41 (4 scales, 'valid' windows);
    the statistics follow Sheikh and Bovik's ``vifvec``/``vifp_mscale`` release.
    """
    for m in _vif_moments(ref, dist):
        yield _vif_info(m, ref.shape[1], sigma_nsq)


def vif_terms(ref: torch.Tensor, dist: torch.Tensor, sigma_nsq: float = 2.0
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """Private kernel: numerator and denominator of pixel-domain VIF summed over scales, each (B, C).

    On CPU without autograd, each scale's terms come from one compiled pass over its moments
    (:func:`fusionlib._jit.vif_sums`: per-pixel statistics in the data's dtype, sums in float64)
    where numba is available; otherwise from the torch maps of :func:`_vif_scales` (summed in the
    data's dtype).
    """
    jit = None
    if ref.device.type == "cpu" and not (torch.is_grad_enabled() and (ref.requires_grad or dist.requires_grad)):
        jit = _jit.vif_sums()
    if jit is not None:
        num, den = np.zeros(ref.shape[:2]), np.zeros(ref.shape[:2])
        dt = np.float64 if ref.dtype == torch.float64 else np.float32
        consts = (dt(sigma_nsq), dt(1e-10), dt(0), dt(1))
        for m in _vif_moments(ref, dist):
            jit(m.detach().permute(0, 2, 3, 1).numpy(), ref.shape[1], *consts, num, den)
        return torch.from_numpy(num), torch.from_numpy(den)
    num = torch.zeros(ref.shape[:2], dtype=ref.dtype, device=ref.device)
    den = torch.zeros_like(num)
    for nm, dm, _ in _vif_scales(ref, dist, sigma_nsq):
        num = num + nm.sum(dim=(-2, -1))
        den = den + dm.sum(dim=(-2, -1))
    return num, den


_VIFF_W = (1.0 / 2.15, 0.0, 0.15 / 2.15, 1.0 / 2.15)


def _viff(f: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """Han et al.'s VIFF for two sources: per pixel the source with the smaller gain g, per-scale ratios
    weighted (1, 0, 0.15, 1) / 2.15, noise 0.005 * 255^2, C = 1e-7 per pixel; channel mean."""
    b, n, c, h, w = s.shape
    sq = 0.005 * 255.0 * 255.0
    ff = f.unsqueeze(1).expand(b, n, c, h, w).reshape(b * n, c, h, w)
    total = torch.zeros(b, c, dtype=f.dtype, device=f.device)
    for i, (nm, dm, g) in enumerate(_vif_scales(s.reshape(b * n, c, h, w), ff, sq)):
        nm, dm, g = (t.reshape(b, n, c, *t.shape[-2:]) for t in (nm, dm, g))
        first = g[:, 0] < g[:, 1]  # MATLAB: L = G1 < G2 -> source 1, else source 2
        z = torch.where(first, nm[:, 0], nm[:, 1])
        m = torch.where(first, dm[:, 0], dm[:, 1])
        vid = (z + 1e-7).sum(dim=(-2, -1))
        vind = (m + 1e-7).sum(dim=(-2, -1))
        total = total + _VIFF_W[i] * vid / vind
    return total.mean(dim=1)


def _vif(f: torch.Tensor, s: torch.Tensor, combine: str) -> torch.Tensor:
    b, n, c, h, w = s.shape
    ff = f.unsqueeze(1).expand(b, n, c, h, w).reshape(b * n, c, h, w)
    num, den = vif_terms(s.reshape(b * n, c, h, w), ff)
    num, den = num.sum(dim=1), den.sum(dim=1)  # all channels pooled in one ratio
    v = torch.where(den > 0, num / torch.where(den > 0, den, torch.ones_like(den)),
                    torch.ones_like(den)).reshape(b, n)
    return v.sum(dim=1) if combine == "sum" else v.mean(dim=1)


@register_metric("vif", full_name="Visual information fidelity, pixel domain (VIF)",
                 higher_is_better=True, inputs="sources", range=(0.0, float("inf")),
                 presets=("default", "tang"),
                 references=("Sheikh, Bovik, IEEE TIP 15 (2006) 430-444, doi:10.1109/TIP.2005.859378",
                             "Linfeng-Tang/Evaluation-for-Image-Fusion (VIF summed over sources)"))
def vif(fused: Any, sources: Any, *, combine: str = "sum", preset: str = "default",
        data_range: float = 1.0) -> Any:
    """Visual information fidelity in the pixel domain (VIF, Sheikh-Bovik "vifp").

    Four scales s = 1..4 with Gaussian windows N = 2^(5-s) + 1, sigma = N/5 ('valid'), decimation by 2
    after filtering, noise variance sigma_n^2 = 2 on the **0..255** scale; per source
    VIF = sum log10(1 + g^2 s1 / (sv + sigma_n^2)) / sum log10(1 + s1 / sigma_n^2) over scales and
    pixels (one ratio; the channels are pooled). The source is the reference, the fused image the
    distorted one.

    Parameters
    ----------
    fused : (H, W), (C, H, W) or (B, C, H, W); at least 41 x 41
    sources : list of images (one image = a reference) or (B, N, C, H, W)
    combine : {'sum', 'mean'}
        How the per-source values are combined: Tang's fusion VIF is the sum.
    preset : {'default', 'tang'}
    data_range : float

    Returns
    -------
    float or (B,)
        Higher is better; 1 per source for F = S. A constant source (zero denominator) counts as 1.

    Notes
    -----
    ``torchmetrics.functional.image.visual_information_fidelity`` and ``sewar.vifp`` compute the same
    quantity but do not rescale: feed them 0..255 data (on [0, 1] data they return about 1 whatever
    the quality, metrics note §4). torchmetrics works per channel and averages the channel ratios;
    here the channels are pooled (identical for gray images).
    """
    where = "vif"
    check_preset(where, preset)
    if combine not in ("sum", "mean"):
        raise ValueError(f"{where}: `combine` must be one of ['sum', 'mean']; got {combine!r}")
    f, s, origin = prepare_sources(fused, sources, where=where, data_range=data_range, min_size=41,
                                   min_count=1)
    return finish(_vif(f, s, combine), origin)


@register_metric("viff", full_name="Visual information fidelity for fusion (VIFF, Han et al.)",
                 higher_is_better=True, inputs="sources", range=(0.0, float("inf")),
                 presets=("default", "mefb"), ideal=1.0,
                 references=("Han, Cai, Cao, Xu, Information Fusion 14 (2013) 127-135, "
                             "doi:10.1016/j.inffus.2011.08.002",
                             "Zhang, MEFB, Information Fusion 74 (2021); xingchenzhang/MEFB metricsVIF.m"))
def viff(fused: Any, sources: Any, *, preset: str = "default", data_range: float = 1.0) -> Any:
    """Visual information fidelity for fusion (VIFF) of Han et al. (MEFB's "VIF").

    Pixel-domain VIF statistics (four scales, Gaussian windows N = 2^(5-s) + 1, sigma = N/5) with a
    visual noise variance 0.005 * 255^2; at every pixel of every scale the source with the smaller gain
    g supplies the information with (VID) and without (VIND) distortion; per scale
    F_s = sum (VID + 1e-7) / sum (VIND + 1e-7); VIFF = sum_s p_s F_s with p = (1, 0, 0.15, 1) / 2.15.

    Parameters
    ----------
    fused : (H, W), (C, H, W) or (B, C, H, W); at least 41 x 41
    sources : exactly two sources
    preset : {'default', 'mefb'}
        Per channel, then the channel mean, in both. MEFB converts RGB to CIE L* (``makecform``) and,
        when both sources are gray but F is RGB, uses F's first channel: pass gray images (or the L*
        channel) to reproduce it.
    data_range : float

    Returns
    -------
    float or (B,)
        Higher is better; about 1 for F = A = B.

    Notes
    -----
    AE-Netv2 writes "VIFF" but prints the Sheikh-Bovik VIF ratio (:func:`vif`); both are offered.
    """
    where = "viff"
    check_preset(where, preset)
    f, s, origin = prepare_sources(fused, sources, where=where, data_range=data_range, min_size=41,
                                   max_count=2)
    return finish(_viff(f, s), origin)
