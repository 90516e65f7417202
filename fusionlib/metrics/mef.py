"""MEF-SSIM: the multi-exposure fusion quality model of Ma, Zeng and Wang (2015).

The fused image is compared, patch by patch, with a *desired* patch built from the exposures: its
signal strength is the largest source contrast, its structure a weighted mean of the sources'
normalised structures, with weights that favour strong contrast more when the sources' structures agree
(the "structural consistency" R). Conventions follow the authors' MATLAB code as shipped with MEFB
(``metrics/mef_ssim.m``, ``mef_ms_ssim.m``, ``metricsMEF_SSIM.m``; read, not copied).

No installable independent implementation exists (the PyTorch "MEF-SSIM" losses of MEF networks are a
different, colour/luminance variant); correctness rests on a literal per-patch transcription of the
authors' loops in the tests and on closed-form properties (F = every source gives ~1, symmetry in the
sources, the flat-image value).
"""
from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from .._checks import check_positive
from ..filters import gaussian_kernel1d, pad, rgb2gray_8bit, rgb_to_gray, sep_filter2d
from ._common import check_preset, finish, prepare_sources
from ._registry import register_metric

__all__ = ["mef_ssim"]

_MA = ("Ma, Zeng, Wang, Perceptual quality assessment for multi-exposure image fusion, IEEE TIP 24 (2015) "
       "3345-3356, doi:10.1109/TIP.2015.2442920")
_MEFB = "Zhang, MEFB, Information Fusion 74 (2021), doi:10.1016/j.inffus.2021.02.005; xingchenzhang/MEFB"

_EPS = 2.220446049250313e-16  # MATLAB eps
#: MS-SSIM weights of the three finest scales (Wang, Simoncelli, Bovik 2003), renormalised to sum 1.
SCALE_WEIGHTS = (0.0448, 0.2856, 0.3001)
_WIN = 11


def _pairs(k: int) -> list[tuple[int, int]]:
    return [(i, j) for i in range(k) for j in range(i, k)]


def _sym(flat: torch.Tensor, k: int) -> torch.Tensor:
    """(B, K(K+1)/2, h, w) upper-triangle maps -> symmetric (B, K, K, h, w)."""
    b, _, h, w = flat.shape
    out = flat.new_empty(b, k, k, h, w)
    for n, (i, j) in enumerate(_pairs(k)):
        out[:, i, j] = flat[:, n]
        out[:, j, i] = flat[:, n]
    return out


def _scale_q(seq: torch.Tensor, f: torch.Tensor, c: float) -> torch.Tensor:
    """One scale: seq (B, K, H, W), f (B, 1, H, W) float64 on 0..255 -> mean quality (B,).

    Per 'valid' 11 x 11 position: mu_k = patch mean, ed_k = ||x_k - mu_k|| + 0.001 (signal strength),
    R = (||sum_k (x_k - mu_k)|| + eps) / (sum_k ||x_k - mu_k|| + eps) (1 - eps if above 1),
    p = min(tan(pi R / 2), 10), w_k = (ed_k / 11)^p + eps normalised over k,
    r = sum_k w_k (x_k - mu_k) / ed_k rescaled to norm max_k ed_k (left at 0 when it is 0), and
    q = (2 sigma_rf + C) / (sigma_r^2 + sigma_f^2 + C) with Gaussian (11, 1.5) weighted moments.

    The authors loop over patch vectors; r is linear in the centred patches, so every quantity is a
    combination of local second moments: box sums give the patch norms and R, Gaussian moments give
    sigma_r^2 = alpha^2 a^T Cg a, sigma_rf = alpha a^T cg_f (a_k = w_k / ed_k, alpha the rescaling).
    Box sums are formed as n S2 - S1 S1 so that they are exact on integer (8-bit) data; a source that
    is flat in a window (zero box variance) gets exactly zero Gaussian covariances there.
    """
    b, k, h, w = seq.shape
    n = float(_WIN * _WIN)
    ones = torch.ones(_WIN, dtype=seq.dtype, device=seq.device)
    g1 = gaussian_kernel1d(1.5, _WIN, dtype=seq.dtype, device=seq.device)
    pairs = _pairs(k)
    prods = [seq[:, i] * seq[:, j] for i, j in pairs]
    box = sep_filter2d(torch.cat([seq, torch.stack(prods, 1)], 1), ones, ones, "valid")
    s1, s2 = box[:, :k], _sym(box[:, k:], k)
    d = n * s2 - s1.unsqueeze(2) * s1.unsqueeze(1)  # n * centred cross-product sums, exact on integers
    diag = torch.diagonal(d, dim1=1, dim2=2).permute(0, 3, 1, 2)  # (B, K, h, w)
    flat = diag <= 1e-12 * n * torch.diagonal(s2, dim1=1, dim2=2).permute(0, 3, 1, 2)
    cb = d / n
    nrm = torch.where(flat, torch.zeros_like(diag), (diag / n).clamp_min(0.0).sqrt())
    ed = nrm + 0.001
    num = cb.sum(dim=(1, 2)).clamp_min(0.0).sqrt()
    rr = (num + _EPS) / (nrm.sum(dim=1) + _EPS)
    rr = torch.where(rr > 1, torch.full_like(rr, 1 - _EPS), rr)
    rr = torch.where(rr < 0, torch.full_like(rr, _EPS), rr)
    pw = torch.tan(math.pi / 2 * rr).clamp(max=10.0)
    wm = (ed / _WIN).pow(pw.unsqueeze(1)) + _EPS
    wm = wm / wm.sum(dim=1, keepdim=True)
    a = torch.where(flat, torch.zeros_like(wm), wm / ed)  # a flat source adds nothing to r
    nr2 = torch.einsum("bkhw,bklhw,blhw->bhw", a, cb, a)
    alpha = torch.where(nr2 > 0, ed.amax(dim=1) / torch.where(nr2 > 0, nr2, torch.ones_like(nr2)).sqrt(),
                        torch.zeros_like(nr2))

    gprods = prods + [seq[:, i] * f[:, 0] for i in range(k)] + [f[:, 0] * f[:, 0]]
    gm = sep_filter2d(torch.cat([seq, f, torch.stack(gprods, 1)], 1), g1, g1, "valid")
    m = gm[:, :k]
    mf = gm[:, k]
    o = k + 1
    npair = len(pairs)
    cg = _sym(gm[:, o:o + npair], k) - m.unsqueeze(2) * m.unsqueeze(1)
    cgf = gm[:, o + npair:o + npair + k] - m * mf.unsqueeze(1)
    vf = gm[:, -1] - mf * mf
    s_r = alpha * alpha * torch.einsum("bkhw,bklhw,blhw->bhw", a, cg, a)
    s_rf = alpha * (a * cgf).sum(dim=1)
    q = (2 * s_rf + c) / (s_r + vf + c)
    return q.mean(dim=(-2, -1))


def _downsample(x: torch.Tensor) -> torch.Tensor:
    """``imfilter(x, ones(2)/4, 'symmetric', 'same')`` then ``(1:2:end, 1:2:end)``: 2 x 2 block means,
    the last row/column repeated when the size is odd."""
    h, w = x.shape[-2:]
    x = pad(x, (0, w % 2, 0, h % 2), "symmetric")
    return F.avg_pool2d(x, 2)


def _mef_ssim(seq: torch.Tensor, f: torch.Tensor, k: float = 0.03, levels: int = 3
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """Kernel: seq (B, K, H, W), f (B, 1, H, W) float64 gray on 0..255 -> (score (B,), per-scale (B, L))."""
    c = (k * 255.0) ** 2
    wts = torch.tensor(SCALE_WEIGHTS[:levels], dtype=seq.dtype, device=seq.device)
    wts = wts / wts.sum()
    qs = []
    for lev in range(levels):
        qs.append(_scale_q(seq, f, c))
        if lev < levels - 1:
            seq, f = _downsample(seq), _downsample(f)
    q = torch.stack(qs, dim=1)
    return torch.prod(q.clamp_min(0.0).pow(wts), dim=1), q


def _gray(x: torch.Tensor, rounding: bool) -> torch.Tensor:
    """(M, C, H, W) float64 on 0..255 -> (M, 1, H, W): MATLAB ``rgb2gray`` for RGB (``rounding``: of
    ``uint8`` images, :func:`~fusionlib.filters.rgb2gray_8bit`, as MEFB reads them), as is for gray."""
    if x.shape[1] == 1:
        return x
    if rounding:
        return rgb2gray_8bit(x)
    return rgb_to_gray(x / 255.0) * 255.0


@register_metric("mef_ssim", full_name="Multi-exposure fusion SSIM (MEF-SSIM)", higher_is_better=True,
                 inputs="sources", range=(0.0, 1.0), presets=("default", "mefb"), ideal=1.0,
                 references=(_MA, _MEFB))
def mef_ssim(fused: Any, sources: Any, *, preset: str = "default", k: float = 0.03,
             data_range: float = 1.0) -> Any:
    """MEF-SSIM of Ma, Zeng and Wang (2015): SSIM-like comparison with a desired patch built from the sources.

    Every image is converted to gray (MATLAB ``rgb2gray`` weights). At each 'valid' 11 x 11 position the
    desired patch r has the largest source contrast max_k ||x_k - mu_k|| (+0.001) as its strength and the
    structure sum_k w_k (x_k - mu_k) / ||x_k - mu_k||, with weights w_k proportional to
    (||x_k - mu_k|| / 11)^p, where p = tan(pi R / 2) (capped at 10) grows with the structural
    consistency R = ||sum_k (x_k - mu_k)|| / sum_k ||x_k - mu_k|| (consistent structures: close to a
    max; inconsistent ones, e.g. motion: a plain average). The local score is the structure term of
    SSIM, q = (2 sigma_rF + C) / (sigma_r^2 + sigma_F^2 + C), with an 11 x 11 Gaussian window
    (sigma 1.5) for the moments and C = (K 255)^2; Q_l is the mean of q at scale l. Three scales
    (2 x 2 mean and decimation between them) are combined as prod_l Q_l^beta_l with the MS-SSIM weights
    beta = (0.0448, 0.2856, 0.3001) / 0.6305.

    Parameters
    ----------
    fused : (H, W), (C, H, W) or (B, C, H, W); at least 44 x 44 (the coarsest scale must hold the window)
    sources : list of images (the exposures), or (B, N, C, H, W); two or more
    preset : {'default', 'mefb'}
        ``'default'``: gray = unrounded luma. ``'mefb'``: luma rounded to integer grey levels, as MATLAB
        ``rgb2gray`` gives on the uint8 images MEFB reads (``metricsMEF_SSIM.m``). Identical for gray inputs.
    k : float
        The SSIM constant K (0.03).
    data_range : float

    Returns
    -------
    float or (B,)
        In [0, 1]; higher is better. F equal to every source gives 1 up to ~1e-8 (the desired patch
        carries the +0.001 strength offset). Constant images give 1 (q = C / C).

    Raises
    ------
    ValueError
        Images smaller than 44 x 44, fewer than two sources, values outside [0, data_range], NaN/Inf,
        an unknown preset, a non-positive ``k``.

    Notes
    -----
    Computed in float64 from local moments (exact box sums on 8-bit data) rather than the authors'
    per-patch loops: agreement with a literal transcription of the loops is ~1e-8 (tests). A source
    that is flat in a window gets exactly zero contrast there, where the loops see rounding noise
    (their effect is below 1e-8). Deviation: a negative
    per-scale score (possible only for anti-correlated images) is clipped to 0 before the weighted
    product, where MATLAB would return a complex number. The weighting exponent is the authors' code's
    p = tan(pi R / 2) capped at 10 (adaptive, not a fixed power).

    References
    ----------
    K. Ma, K. Zeng, Z. Wang, IEEE TIP 24 (11) (2015) 3345-3356, doi:10.1109/TIP.2015.2442920;
    MEFB ``metrics/mef_ms_ssim.m`` (K = 0.03, 3 levels, Gaussian 11/1.5 window, weights above).
    """
    where = "mef_ssim"
    check_preset(where, preset)
    kk = check_positive(where, "k", k)
    f, s, origin = prepare_sources(fused, sources, where=where, data_range=data_range,
                                   min_size=_WIN * 4, snap=True)
    b, n = s.shape[:2]
    rounding = preset == "mefb"
    fg = _gray(f.to(torch.float64), rounding)
    sg = _gray(s.to(torch.float64).reshape(b * n, *s.shape[2:]), rounding).reshape(b, n, *s.shape[-2:])
    score, _ = _mef_ssim(sg, fg, kk)
    return finish(score, origin)
