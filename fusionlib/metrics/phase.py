"""Phase congruency (Kovesi) in PyTorch, and the phase-congruency fusion metric Q_P (Zhao et al. 2007).

Phase congruency PC measures how much the Fourier components of an image are in phase at a point; it
peaks on edges and lines whatever their contrast. Kovesi computes it with a bank of log-Gabor filters
built in the frequency domain (``nscale`` scales x ``norient`` orientations), compensates for noise
with a threshold estimated from the smallest-scale responses, and penalises narrow frequency spreads
with a sigmoid. The principal moments of the per-orientation PC covariance give an edge map M
(maximum moment) and a corner map m (minimum moment).

Two variants are implemented, sharing the filter bank and the energy computation:

* ``'liu'``: Zheng Liu's ``myphasecong3.m`` (2006, a revision of Kovesi's ``phasecong2``), which
  Zhao's Q_P uses in Liu's toolbox, MEFB (``metrics/myphasecong3.m``) and Liu 2020 (read, not copied):
  angular Gaussian spread, noise power from the median of |EO|^2 at the smallest scale with the
  filters' own noise energy (threshold divided by 1.7), width = sum An / max An / nscale, overall
  PC = sum_o W_o E_o / (sum_o sum_s An + eps), and ``covxy / norient`` in the moments (Kovesi later
  changed this factor to ``4 / norient``), a low-pass filter placed with ``fftshift``.
* ``'kovesi'``: Kovesi's ``phasecong3`` as ported by phasepack 1.5 (``noiseMethod=-1``): raised
  cosine angular spread, Rayleigh noise model from the median amplitude at the smallest scale,
  width = (sum An / max An - 1) / (nscale - 1), ``4 covxy / norient``. It is here to cross-check the
  shared machinery against an independent implementation (phasepack), which the tests do when
  phasepack is importable.

Default parameters are Kovesi's (phasecong2/phasecong3): nscale 4, norient 6, minimum wavelength 3,
mult 2.1, sigmaOnf 0.55, dThetaOnSigma 1.2, k 2, cutOff 0.5, g 10, epsilon 1e-4
(P. Kovesi, "Image features from phase congruency", Videre 1 (3), 1999; "Phase congruency detects
corners and edges", DICTA 2003).
"""
from __future__ import annotations

import math
from typing import Any, NamedTuple

import torch

from .._checks import check_choice, check_finite, check_int, check_positive
from .._convert import as_tensor, restore
from ..filters import gaussian_kernel1d, sep_filter2d
from ._common import check_preset, finish, matlab_gray, prepare_sources, _check_size
from ._registry import register_metric

__all__ = ["phase_congruency", "PhaseCongruency", "q_p"]

_KOVESI = ("Kovesi, Image features from phase congruency, Videre 1 (3) (1999); Kovesi, Phase congruency "
           "detects corners and edges, Proc. DICTA 2003")
_ZHAO = ("Zhao, Laganiere, Liu, Performance assessment of combinative pixel-level image fusion based on an "
         "absolute feature measurement, Int. J. Innovative Computing, Information and Control 3 (6A) (2007) "
         "1433-1447")
_LIU = ("Liu et al., IEEE TPAMI 34 (2012) 94-109, doi:10.1109/TPAMI.2011.109; Liu et al., Multi-focus image "
        "fusion: a survey, Information Fusion 64 (2020); yuliu316316/MFIF")
_MEFB = "Zhang, MEFB, Information Fusion 74 (2021), doi:10.1016/j.inffus.2021.02.005; xingchenzhang/MEFB"

VARIANTS = ("liu", "kovesi")
_EPSILON = 1e-4


class PhaseCongruency(NamedTuple):
    """Maps returned by :func:`phase_congruency`, each shaped like the input's (B, C, H, W) (or its kind).

    pc : overall phase congruency sum_o W_o E_o / (sum_o sum_s A_so + epsilon), in [0, 1]
    M : maximum moment of the PC covariance (edge strength)
    m : minimum moment (corner strength)
    pc_orient : per-orientation PC, with an extra leading axis of length ``norient``
    """

    pc: Any
    M: Any
    m: Any
    pc_orient: Any


def _centred_grid(n: int, dtype, device) -> torch.Tensor:
    """Kovesi's normalised frequency coordinates along one axis (range about +-0.5, 0 at index n // 2)."""
    if n % 2:
        return torch.arange(-(n - 1) / 2, (n - 1) / 2 + 1, dtype=dtype, device=device) / max(n - 1, 1)
    return torch.arange(-n / 2, n / 2, dtype=dtype, device=device) / n


def _lowpass(rows: int, cols: int, variant: str, dtype, device) -> torch.Tensor:
    """Butterworth low-pass 1 / (1 + (r / 0.45)^30) with the frequency origin at the corners.

    ``'liu'`` builds it as ``myphasecong3.m``'s ``lowpassfilter``: coordinates (j - (fix(n/2) + 1)) / n
    and ``fftshift`` (for odd sizes this puts the origin one sample off the corner, as the MATLAB code
    does); ``'kovesi'`` as phasepack: the centred grid above and ``ifftshift``.
    """
    if variant == "liu":
        x = (torch.arange(1, cols + 1, dtype=dtype, device=device) - (cols // 2 + 1)) / cols
        y = (torch.arange(1, rows + 1, dtype=dtype, device=device) - (rows // 2 + 1)) / rows
    else:
        x = _centred_grid(cols, dtype, device)
        y = _centred_grid(rows, dtype, device)
    r = torch.sqrt(x.unsqueeze(0) ** 2 + y.unsqueeze(1) ** 2)
    f = 1.0 / (1.0 + (r / 0.45) ** 30)
    return torch.fft.fftshift(f) if variant == "liu" else torch.fft.ifftshift(f)


def _median_matlab(x: torch.Tensor) -> torch.Tensor:
    """Median over the last axis, averaging the two middle values for an even count (MATLAB, NumPy)."""
    n = x.shape[-1]
    hi = torch.kthvalue(x, n // 2 + 1, dim=-1).values
    if n % 2:
        return hi
    return 0.5 * (torch.kthvalue(x, n // 2, dim=-1).values + hi)


def _phasecong(img: torch.Tensor, *, variant: str = "liu", nscale: int = 4, norient: int = 6,
               min_wavelength: float = 3.0, mult: float = 2.1, sigma_onf: float = 0.55,
               d_theta_on_sigma: float = 1.2, k: float = 2.0, cutoff: float = 0.5, g: float = 10.0
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Private kernel: ``img`` (N, H, W) float64 -> pc, M, m (N, H, W) and per-orientation PC (O, N, H, W)."""
    n, rows, cols = img.shape
    dt, dev = img.dtype, img.device
    eps = _EPSILON
    imfft = torch.fft.fft2(img)

    x = _centred_grid(cols, dt, dev).unsqueeze(0).expand(rows, cols)
    y = _centred_grid(rows, dt, dev).unsqueeze(1).expand(rows, cols)
    radius = torch.sqrt(x * x + y * y).clone()
    radius[rows // 2, cols // 2] = 1.0  # no log(0) at the zero frequency (value undone below)
    theta = torch.atan2(-y, x)
    radius = torch.fft.ifftshift(radius)
    theta = torch.fft.ifftshift(theta)
    sintheta, costheta = torch.sin(theta), torch.cos(theta)

    lp = _lowpass(rows, cols, variant, dt, dev)
    log_gabor = []
    for s in range(nscale):
        fo = 1.0 / (min_wavelength * mult ** s)
        lg = torch.exp(-(torch.log(radius / fo)) ** 2 / (2.0 * math.log(sigma_onf) ** 2)) * lp
        lg[0, 0] = 0.0
        log_gabor.append(lg)

    zero = torch.zeros_like(img)
    total_energy, total_sum_an = zero.clone(), zero.clone()
    covx2, covy2, covxy = zero.clone(), zero.clone(), zero.clone()
    pcs = []
    theta_sigma = math.pi / norient / d_theta_on_sigma
    for o in range(norient):
        angl = o * math.pi / norient
        ds = sintheta * math.cos(angl) - costheta * math.sin(angl)
        dc = costheta * math.cos(angl) + sintheta * math.sin(angl)
        dtheta = torch.abs(torch.atan2(ds, dc))
        if variant == "liu":
            spread = torch.exp(-dtheta ** 2 / (2.0 * theta_sigma ** 2))
        else:
            spread = (torch.cos((dtheta * norient / 2.0).clamp(0.0, math.pi)) + 1.0) / 2.0
        filters = torch.stack([lg * spread for lg in log_gabor])  # (S, H, W)
        eo = torch.fft.ifft2(imfft.unsqueeze(0) * filters.unsqueeze(1))  # (S, N, H, W)
        an = eo.abs()
        sum_an = an.sum(dim=0)
        sum_e = eo.real.sum(dim=0)
        sum_o = eo.imag.sum(dim=0)
        max_an = an.amax(dim=0)
        xenergy = torch.sqrt(sum_e * sum_e + sum_o * sum_o) + eps
        mean_e, mean_o = sum_e / xenergy, sum_o / xenergy
        e_, o_ = eo.real, eo.imag
        energy = (e_ * mean_e + o_ * mean_o - torch.abs(e_ * mean_o - o_ * mean_e)).sum(dim=0)

        if variant == "liu":
            em_n = (filters[0] ** 2).sum()
            median_e2n = _median_matlab((an[0] ** 2).reshape(n, -1))
            noise_power = (-median_e2n / math.log(0.5)) / em_n  # (N,)
            ifft_filt = torch.fft.ifft2(filters.to(eo.dtype)).real * math.sqrt(rows * cols)  # (S, H, W)
            sum_an2 = (ifft_filt ** 2).sum()
            csum = ifft_filt.cumsum(dim=0)
            sum_aiaj = (ifft_filt[1:] * csum[:-1]).sum()  # sum over si < sj
            e2 = 2.0 * noise_power * sum_an2 + 4.0 * noise_power * sum_aiaj
            tau = torch.sqrt(e2 / 2.0)
            t = (tau * math.sqrt(math.pi / 2.0) + k * torch.sqrt((2.0 - math.pi / 2.0) * tau ** 2)) / 1.7
            width = sum_an / (max_an + eps) / nscale
        else:
            tau = _median_matlab(an[0].reshape(n, -1)) / math.sqrt(math.log(4.0))
            total_tau = tau * (1.0 - (1.0 / mult) ** nscale) / (1.0 - 1.0 / mult)
            t = torch.clamp(total_tau * math.sqrt(math.pi / 2.0)
                            + k * total_tau * math.sqrt((4.0 - math.pi) / 2.0), min=eps)
            width = (sum_an / (max_an + eps) - 1.0) / max(nscale - 1, 1)
        energy = torch.clamp(energy - t.view(n, 1, 1), min=0.0)
        weight = 1.0 / (1.0 + torch.exp((cutoff - width) * g))
        we = weight * energy
        total_sum_an = total_sum_an + sum_an
        total_energy = total_energy + we
        pc_o = torch.where(sum_an > 0, we / torch.where(sum_an > 0, sum_an, torch.ones_like(sum_an)),
                           torch.zeros_like(we))
        pcs.append(pc_o)
        cx, cy = pc_o * math.cos(angl), pc_o * math.sin(angl)
        covx2 = covx2 + cx * cx
        covy2 = covy2 + cy * cy
        covxy = covxy + cx * cy

    pc = total_energy / (total_sum_an + eps)
    covx2 = covx2 / (norient / 2.0)
    covy2 = covy2 / (norient / 2.0)
    covxy = covxy / norient if variant == "liu" else covxy * (4.0 / norient)
    denom = torch.sqrt(covxy ** 2 + (covx2 - covy2) ** 2) + eps
    big = (covy2 + covx2 + denom) / 2.0
    small = (covy2 + covx2 - denom) / 2.0
    return pc, big, small, torch.stack(pcs)


def _check_params(where: str, variant: str, nscale: int, norient: int, min_wavelength: float, mult: float,
                  sigma_onf: float, d_theta_on_sigma: float, k: float, cutoff: float, g: float) -> dict:
    check_choice(where, "variant", variant, VARIANTS)
    nscale = check_int(where, "nscale", nscale, minimum=2 if variant == "kovesi" else 1)
    norient = check_int(where, "norient", norient, minimum=1)
    min_wavelength = check_positive(where, "min_wavelength", min_wavelength)
    if min_wavelength < 2:
        raise ValueError(f"{where}: `min_wavelength` must be >= 2 (Kovesi); got {min_wavelength}")
    mult = check_positive(where, "mult", mult)
    sigma_onf = check_positive(where, "sigma_onf", sigma_onf)
    if sigma_onf >= 1:
        raise ValueError(f"{where}: `sigma_onf` must be in (0, 1); got {sigma_onf}")
    d_theta_on_sigma = check_positive(where, "d_theta_on_sigma", d_theta_on_sigma)
    k = check_positive(where, "k", k, strict=False)
    cutoff = float(cutoff)
    if not 0.0 <= cutoff <= 1.0:
        raise ValueError(f"{where}: `cutoff` must be in [0, 1]; got {cutoff}")
    g = check_positive(where, "g", g)
    return dict(variant=variant, nscale=nscale, norient=norient, min_wavelength=min_wavelength, mult=mult,
                sigma_onf=sigma_onf, d_theta_on_sigma=d_theta_on_sigma, k=k, cutoff=cutoff, g=g)


def phase_congruency(image: Any, *, variant: str = "liu", nscale: int = 4, norient: int = 6,
                     min_wavelength: float = 3.0, mult: float = 2.1, sigma_onf: float = 0.55,
                     d_theta_on_sigma: float = 1.2, k: float = 2.0, cutoff: float = 0.5, g: float = 10.0
                     ) -> PhaseCongruency:
    """Kovesi's phase congruency of every channel of an image or batch (log-Gabor filters, via the FFT).

    Parameters
    ----------
    image : (H, W), (C, H, W) or (B, C, H, W), any real values (PC is contrast invariant up to the
        epsilon terms; benchmarks pass 0..255 grey levels); at least 2 x 2
    variant : {'liu', 'kovesi'}
        ``'liu'``: Z. Liu's ``myphasecong3.m`` (used by Q_P). ``'kovesi'``: Kovesi's phasecong3 as in
        phasepack 1.5 (see the module docstring for the differences).
    nscale, norient : int
        Number of wavelet scales (4) and filter orientations (6).
    min_wavelength : float
        Wavelength of the smallest-scale filter in pixels (3).
    mult : float
        Scaling factor between successive filters (2.1).
    sigma_onf : float
        Ratio of the log-Gabor bandwidth (standard deviation of the Gaussian on log frequency) to the
        centre frequency (0.55, about two octaves).
    d_theta_on_sigma : float
        Angular spacing over the angular Gaussian's standard deviation (1.2; ``'liu'`` only).
    k : float
        Noise threshold in standard deviations of the noise energy above its mean (2).
    cutoff, g : float
        Frequency-spread cut-off (0.5) and sigmoid sharpness (10) of the spread weighting.

    Returns
    -------
    PhaseCongruency
        ``pc``, ``M``, ``m`` shaped like the input, ``pc_orient`` with a leading orientation axis;
        NumPy in, NumPy out. Computed in float64 (returned as float64).

    Notes
    -----
    The FFT treats the image as periodic, as Kovesi's code does (no padding). Where a per-orientation
    PC would be 0/0 (no filter response at all, e.g. a constant image) it is 0 here; the MATLAB code
    gives NaN there. A constant image has pc = 0, M = epsilon / 2, m = -epsilon / 2.

    Examples
    --------
    A vertical step edge centred on column 32 (a pixel-centred edge; a step between two pixels splits
    the congruency over both, about 0.72 each):

    >>> import numpy as np
    >>> step = np.zeros((64, 64)); step[:, 32:] = 1.0; step[:, 32] = 0.5
    >>> pc = phase_congruency(step).pc
    >>> round(float(pc[:, 32].min()), 3), bool(pc[:, 10:20].max() < 0.01)
    (0.935, True)
    """
    where = "phase_congruency"
    p = _check_params(where, variant, nscale, norient, min_wavelength, mult, sigma_onf, d_theta_on_sigma,
                      k, cutoff, g)
    x, origin = as_tensor(image, where=where, name="image")
    _check_size(where, "image", x, 2)
    check_finite(where, "image", x)
    b, c, h, w = x.shape
    pc, big, small, pco = _phasecong(x.to(torch.float64).reshape(b * c, h, w), **p)
    lead = {2: (), 3: (c,), 4: (b, c)}[origin.rank]
    maps = [restore(t.reshape(b, c, h, w), origin) for t in (pc, big, small)]
    pco = pco.reshape((pco.shape[0],) + lead + (h, w))
    pco = pco.cpu().numpy() if origin.numpy else pco.to(origin.device)
    return PhaseCongruency(*maps, pco)


# --------------------------------------------------------------------------- Q_P
def _corr_term(f1, f2, fmax, ff, m1, m2, m3, win, c=1e-4):
    """Zhao's masked correlation term for one feature (PC, M or m); all (N, 1, H, W) -> (N,) and A3 (N,)."""
    f1, f2, fmax = f1 * m1, f2 * m2, fmax * m3
    stack = torch.cat([f1, f2, fmax, ff, f1 * f1, f2 * f2, fmax * fmax, ff * ff, f1 * ff, f2 * ff, fmax * ff], 1)
    mom = sep_filter2d(stack, win, win, "zeros")  # filter2(window, ., 'same'), window separable
    mu1, mu2, mux, muf, e11, e22, exx, eff, e1f, e2f, exf = mom.split(1, dim=1)
    s1, s2, sx, sf = e11 - mu1 * mu1, e22 - mu2 * mu2, exx - mux * mux, eff - muf * muf
    s1f, s2f, sxf = e1f - mu1 * muf, e2f - mu2 * muf, exf - mux * muf

    def term(cov, va, mask):
        r = (cov + c) / (torch.sqrt(torch.abs(va * sf)) + c)
        return torch.where(mask, r, torch.zeros_like(r))

    res = torch.maximum(torch.maximum(term(s1f, s1, m1), term(s2f, s2, m2)), term(sxf, sx, m3))
    a3 = m3.sum(dim=(1, 2, 3)).to(res.dtype)
    total = res.sum(dim=(1, 2, 3))
    return torch.where(a3 > 0, total / torch.where(a3 > 0, a3, torch.ones_like(a3)), torch.ones_like(a3))


def _q_p(f: torch.Tensor, s: torch.Tensor, threshold: float = 0.1) -> torch.Tensor:
    """Kernel: f (B, C, H, W), s (B, 2, C, H, W) on 0..255 -> (B,) (channel mean)."""
    b, n, c, h, w = s.shape
    # candidates scored against the same sources (a broadcast batch): the sources' maps once
    shared = b > 1 and bool((s == s[:1]).all())
    sb = 1 if shared else b
    planes = torch.cat([s[:sb, 0].reshape(sb * c, h, w), s[:sb, 1].reshape(sb * c, h, w),
                        f.reshape(b * c, h, w)])
    pc, big, small, _ = _phasecong(planes.to(torch.float64), variant="liu")

    def split(t):
        ta, tb, tf = t.split([sb * c, sb * c, b * c])
        ta, tb = (x.expand(b, c, h, w) if shared else x for x in (ta.reshape(sb, c, h, w), tb.reshape(sb, c, h, w)))
        return torch.stack([ta.reshape(b * c, h, w), tb.reshape(b * c, h, w), tf]).reshape(3, b * c, 1, h, w)

    pc, big, small = split(pc), split(big), split(small)
    mask = pc[0] > pc[1]

    def pick(t):
        return torch.where(mask, t[0], t[1])

    m1, m2 = pc[0] > threshold, pc[1] > threshold
    pmax = pick(pc)
    m3 = pmax > threshold
    win = gaussian_kernel1d(1.5, 11, dtype=torch.float64, device=f.device)  # fspecial('gaussian', 11, 1.5)
    q = torch.ones(b * c, dtype=torch.float64, device=f.device)
    for t, tmax in ((pc, pmax), (big, pick(big)), (small, pick(small))):
        q = q * _corr_term(t[0], t[1], tmax, t[2], m1, m2, m3, win)
    return q.reshape(b, c).mean(dim=1)


@register_metric("q_p", full_name="Phase-congruency fusion metric (Q_P, Zhao)", higher_is_better=True,
                 inputs="sources", range=(-1.0, 1.0), presets=("default", "mefb", "liu2020"),
                 references=(_ZHAO, _KOVESI, _LIU, _MEFB))
def q_p(fused: Any, sources: Any, *, preset: str = "default", data_range: float = 1.0) -> Any:
    """Zhao's phase-congruency-based fusion metric Q_P (Liu's toolbox ``metricZhao``).

    With PC, M (max moment) and m (min moment) maps of A, B and F (:func:`phase_congruency`,
    ``variant='liu'``), the "max" source feature is taken where PC_A > PC_B (else B's) and feature masks
    are PC_A > 0.1, PC_B > 0.1, PC_max > 0.1. For each feature P in (PC, M, m) the masked source maps are
    compared with F's (unmasked) map by the local correlation
    C_xy = (sigma_xy + C) / (sqrt|sigma_x^2 sigma_y^2| + C), C = 1e-4, with an 11 x 11 Gaussian window
    (sigma 1.5) and zero padding ('same'); P_term = sum over pixels of max(C_AF, C_BF, C_maxF) (each
    counted only inside its own mask, else 0) divided by the number of pixels in the max mask. Then
    Q_P = P_pc P_M P_m (exponents 1).

    Parameters
    ----------
    fused : (H, W), (C, H, W) or (B, C, H, W); at least 11 x 11
    sources : exactly two images, or (B, 2, C, H, W)
    preset : {'default', 'mefb', 'liu2020'}
        ``'default'`` and ``'mefb'``: per channel, then the channel mean (MEFB ``metricsQp.m``; MEFB uses
        only F's first channel when both sources are gray: pass gray images for that). ``'liu2020'``:
        MATLAB ``rgb2gray`` rounded to integer levels first (``evaluate_color.m``).
    data_range : float

    Returns
    -------
    float or (B,)
        Higher is better; nominally in [-1, 1], in practice in [0, 1]. F = A = B does **not** give 1:
        the source maps are masked (set to 0 below the 0.1 threshold) while F's are not, and windows
        straddle the mask border. When no pixel of either source exceeds the threshold (e.g. constant
        sources) the normalising count is 0 and MATLAB returns NaN; here each such term is 1 (nothing
        to preserve), so constant sources give 1.

    Notes
    -----
    Correctness: the phase-congruency machinery (filter bank, energy, moments) is checked against
    phasepack's independent phasecong3 port through ``variant='kovesi'``; the ``'liu'`` differences
    (listed in :mod:`fusionlib.metrics.phase`) follow the benchmark's MATLAB line by line; Q_P itself
    is checked against a NumPy transcription of ``metricZhao`` in the tests, and against closed-form
    properties of PC (step edge ~1, contrast invariance, 0 on constant images). No published per-image
    Q_P values are used (none are available to the project).
    Computed in float64; the input is put on the 0..255 scale as in the benchmarks (PC is nearly
    contrast invariant, but its epsilon terms are not).
    """
    where = "q_p"
    check_preset(where, preset)
    f, s, origin = prepare_sources(fused, sources, where=where, data_range=data_range, min_size=11,
                                   max_count=2, snap=True)
    if preset == "liu2020":
        if s.shape[0] > 1 and bool((s == s[:1]).all()):  # keep a broadcast batch of sources broadcast
            g, gs = matlab_gray(f, s[:1])
            f, s = g, gs.expand(f.shape[0], *gs.shape[1:])
        else:
            f, s = matlab_gray(f, s)
    return finish(_q_p(f, s), origin)
