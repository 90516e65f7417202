"""Information-theoretic fusion metrics: EN, CE, MI, NMI (Hossny), Q_NCIE, TE (Tsallis).

All work on 256-level histograms of grey levels. Inputs are put on the 0..255 scale
(``x * 255 / data_range``) and must already be quantised to integer levels (an 8-bit image divided by
255 is), unless ``quantize=True`` asks to round them as an 8-bit image would be saved.
"""
from __future__ import annotations

import math
from typing import Any

import torch

from ._common import (CHUNK, check_preset, finish, matlab_gray, normalize1, prepare_fused, prepare_sources,
                      quantize as to_levels)
from ._hist import LEVELS, entropy_of, hist, joint_hist, mutual_info, plogp
from ._registry import register_metric

__all__ = ["entropy", "cross_entropy", "mutual_information", "nmi", "q_ncie", "tsallis_entropy"]

_VIFB = "Zhang, Ye, Xiao, VIFB, CVPRW 2020, arXiv:2002.03322; xingchenzhang/VIFB metrics/*.m"
_MEFB = "Zhang, MEFB, Information Fusion 74 (2021), doi:10.1016/j.inffus.2021.02.005; xingchenzhang/MEFB"
_LIU = "Liu et al., Multi-focus image fusion: a survey, Information Fusion 64 (2020); yuliu316316/MFIF"


def _flat(x: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B*C, H*W)."""
    return x.reshape(x.shape[0] * x.shape[1], -1)


# --------------------------------------------------------------------------- EN
def _entropy(f: torch.Tensor) -> torch.Tensor:
    """Kernel: ``f`` (B, C, H, W) int64 or uint8 levels -> (B,) bits, mean over channels.

    uint8 levels are counted plane by plane (``bincount`` on bytes is several times faster than on
    int64 indices with plane offsets).
    """
    b, c = f.shape[:2]
    if f.dtype == torch.uint8:
        flat = _flat(f)
        counts = torch.stack([torch.bincount(row, minlength=LEVELS) for row in flat])
        p = counts.to(torch.float64) / flat.shape[1]
    else:
        p = hist(_flat(f))
    return entropy_of(p, 2.0).reshape(b, c).mean(dim=1)


@register_metric("entropy", full_name="Entropy (EN)", higher_is_better=True, inputs="none",
                 range=(0.0, 8.0), units="bits", presets=("default", "vifb", "mefb", "liu2020"),
                 references=("Roberts, van Aardt, Ahmed, J. Appl. Remote Sens. 2 (2008) 023522, "
                             "doi:10.1117/1.2945910", _VIFB))
def entropy(fused: Any, *, preset: str = "default", data_range: float = 1.0,
            quantize: bool = False) -> Any:
    """Entropy (EN) of the grey-level histogram.

    EN = -sum_g p_g log2 p_g over the 256 grey levels g.

    Parameters
    ----------
    fused : array or tensor, (H, W), (C, H, W) or (B, C, H, W), float in [0, data_range] or uint8
    preset : {'default', 'vifb', 'mefb', 'liu2020'}
        All use the same rule (256 bins, log2, per channel then the channel mean, as VIFB does).
    data_range : float
        Value of white (1 for [0, 1] data, 255 for 0..255 data).
    quantize : bool
        Round unquantised data to 256 levels instead of refusing it.

    Returns
    -------
    float or (B,) array/tensor
        Bits in [0, 8]; higher is better.

    Raises
    ------
    ValueError
        Values outside [0, data_range], NaN/Inf, or unquantised data without ``quantize``.

    Notes
    -----
    Conventions: VIFB bins ``floor`` of the value; on quantised data this equals the rounded level used
    here. ``skimage.measure.shannon_entropy`` counts unique values, which equals this for uint8 data.
    A constant image has EN = 0.

    Examples
    --------
    >>> import numpy as np
    >>> round(entropy(np.array([[0, 0], [255, 255]], dtype=np.uint8)), 6)
    1.0
    """
    where = "entropy"
    check_preset(where, preset)
    f, origin = prepare_fused(fused, where=where, data_range=data_range, min_size=1, rescale=False)
    levels = to_levels(where, "fused", f, quantize_flag(quantize), scale=255.0 / data_range,
                       dtype=torch.uint8)
    return finish(_entropy(levels), origin)


def quantize_flag(q: Any) -> bool:
    if not isinstance(q, bool):
        raise TypeError(f"`quantize` must be a bool; got {type(q).__name__}")
    return q


# --------------------------------------------------------------------------- CE
def _cross_entropy(f: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """Kernel: f (B, C, H, W), s (B, N, C, H, W) int64 -> (B,) mean over sources and channels."""
    b, n, c = s.shape[:3]
    pf = hist(_flat(f)).reshape(b, 1, c, LEVELS)
    ps = hist(s.reshape(b * n * c, -1)).reshape(b, n, c, LEVELS)
    ok = (ps > 0) & (pf > 0)
    ratio = torch.where(ok, ps / torch.where(ok, pf, torch.ones_like(pf)), torch.ones_like(ps))
    ce = (ps * torch.log2(ratio)).sum(dim=-1)  # (b, n, c)
    return ce.mean(dim=1).mean(dim=1)


@register_metric("cross_entropy", full_name="Cross entropy (CE)", higher_is_better=False,
                 inputs="sources", range=(0.0, float("inf")), units="bits",
                 presets=("default", "vifb", "mefb"), ideal=0.0,
                 references=("Bulanon, Burks, Alchanatis, Biosystems Eng. 103 (2009) 12-22, "
                             "doi:10.1016/j.biosystemseng.2009.02.009", _VIFB))
def cross_entropy(fused: Any, sources: Any, *, preset: str = "default", data_range: float = 1.0,
                  quantize: bool = False) -> Any:
    """Cross entropy (CE) between the sources' and the fused grey-level histograms.

    CE = mean_S sum_g p_S(g) log2(p_S(g) / p_F(g)), over the levels where both are non-zero.

    Parameters
    ----------
    fused : (H, W), (C, H, W) or (B, C, H, W)
    sources : list of images, or (B, N, C, H, W)
    preset : {'default', 'vifb', 'mefb'}
        Same rule in all (mean over sources, per channel then channel mean).
    data_range, quantize : see :func:`entropy`.

    Returns
    -------
    float or (B,)
        Bits, >= 0 in practice; lower is better.

    Notes
    -----
    Conventions: the Kullback-Leibler divergence restricted to common support, as VIFB's
    ``metricsCross_entropy.m`` computes it (so it is not infinite when F misses a level).
    Identical images give 0.
    """
    where = "cross_entropy"
    check_preset(where, preset)
    f, s, origin = prepare_sources(fused, sources, where=where, data_range=data_range, min_size=1)
    qf = to_levels(where, "fused", f, quantize_flag(quantize))
    qs = to_levels(where, "sources", s, quantize)
    return finish(_cross_entropy(qf, qs), origin)


# --------------------------------------------------------------------------- MI
def _vifb_levels(x: torch.Tensor) -> torch.Tensor:
    """VIFB ``mutinf`` binning: min-max to [0, 1] per plane, ``int16(x*255)`` (round half away)."""
    x = x.to(torch.float64)
    lo = x.amin(dim=(-2, -1), keepdim=True)
    hi = x.amax(dim=(-2, -1), keepdim=True)
    span = hi - lo
    y = torch.where(span > 0, (x - lo) / torch.where(span > 0, span, torch.ones_like(span)),
                    torch.zeros_like(x))
    return torch.floor(y * 255.0 + 0.5).to(torch.int64)


def _mutual_information(f: torch.Tensor, s: torch.Tensor, base: float) -> torch.Tensor:
    """Kernel: int64 levels f (B, C, H, W), s (B, N, C, H, W) -> (B,) sum over sources, channel mean.

    From the joint counts c of each (source, fused) plane pair of P pixels, with
    S(c) = sum c ln c: H = ln P - S(c) / P for every histogram, hence
    MI = H(S) + H(F) - H(S, F) = ln P - (S(c_S) + S(c_F) - S(c_SF)) / P (in nats, then / ln base).
    Chunked over the batch so that the bin indices stay in cache.
    """
    b, n, c, h, w = s.shape
    p = h * w
    bins = LEVELS * LEVELS
    out = torch.empty(b, n, c, dtype=torch.float64, device=s.device)
    step = max(1, CHUNK // (n * c * (p + bins))) if s.device.type == "cpu" else max(1, b)
    for i in range(0, b, step):
        si, fi = s[i:i + step], f[i:i + step].unsqueeze(1)
        k = si.shape[0]
        m = k * n * c
        idx = si * LEVELS  # rows: source level, columns: fused level
        idx.add_(fi).add_((torch.arange(m, device=s.device) * bins).reshape(k, n, c, 1, 1))
        cnt = torch.bincount(idx.reshape(-1), minlength=m * bins).reshape(m, LEVELS, LEVELS)
        cnt = cnt.to(torch.float64)
        s_joint = torch.special.xlogy(cnt, cnt).sum(dim=(1, 2))
        cs, cf = cnt.sum(dim=2), cnt.sum(dim=1)
        s_marg = torch.special.xlogy(cs, cs).sum(dim=1) + torch.special.xlogy(cf, cf).sum(dim=1)
        out[i:i + step] = (math.log(p) - (s_marg - s_joint) / p).reshape(k, n, c)
    return (out / math.log(base)).sum(dim=1).mean(dim=1)


@register_metric("mutual_information", full_name="Mutual information (MI)", higher_is_better=True,
                 inputs="sources", range=(0.0, float("inf")), units="bits (nats under 'vifb')",
                 presets=("default", "vifb", "mefb", "liu2020"),
                 references=("Qu, Zhang, Yan, Electronics Letters 38 (2002) 313-315, "
                             "doi:10.1049/el:20020212", _VIFB, _MEFB))
def mutual_information(fused: Any, sources: Any, *, preset: str = "default", data_range: float = 1.0,
                       quantize: bool = False) -> Any:
    """Mutual information (MI) of the fused image with the sources, summed over the sources.

    MI = sum_S [H(S) + H(F) - H(S, F)], from 256 x 256 joint histograms.

    Parameters
    ----------
    fused, sources : see :func:`cross_entropy`; one source is allowed (MI(S, F) alone).
    preset : {'default', 'vifb', 'mefb', 'liu2020'}
        - ``'default'``: log2 on the grey levels as given (must be quantised, or ``quantize=True``).
        - ``'vifb'``: natural log; each image plane min-max scaled to 0..255 and rounded (VIFB
          ``metricsMutinf.m``); a constant plane becomes all zeros.
        - ``'mefb'``, ``'liu2020'``: log2 on ``normalize1`` images (min-max to 0..255, rounded).
    data_range, quantize : see :func:`entropy` (unused by the min-max presets).

    Returns
    -------
    float or (B,)
        Bits (nats for ``'vifb'``); higher is better. MI(X, X) = H(X).
    """
    where = "mutual_information"
    check_preset(where, preset)
    # min-max presets need 8-bit levels exact before rescaling; 'default' rounds to levels anyway
    f, s, origin = prepare_sources(fused, sources, where=where, data_range=data_range, min_size=1,
                                   min_count=1, snap=preset != "default")
    if preset == "default":
        qf = to_levels(where, "fused", f, quantize_flag(quantize))
        qs = to_levels(where, "sources", s, quantize)
        return finish(_mutual_information(qf, qs, 2.0), origin)
    if preset == "vifb":
        return finish(_mutual_information(_vifb_levels(f), _vifb_levels(s), math.e), origin)
    return finish(_mutual_information(normalize1(f).to(torch.int64), normalize1(s).to(torch.int64), 2.0),
                  origin)


# --------------------------------------------------------------------------- NMI (Hossny)
def _nmi(f: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    b, n, c = s.shape[:3]
    ff = f.unsqueeze(1).expand(b, n, c, *f.shape[-2:]).reshape(b * n * c, -1)
    mi, hs, hf = mutual_info(s.reshape(b * n * c, -1), ff, 2.0)
    denom = hs + hf
    r = torch.where(denom > 0, mi / torch.where(denom > 0, denom, torch.ones_like(denom)),
                    torch.ones_like(denom))
    return (2.0 * r).reshape(b, n, c).sum(dim=1).mean(dim=1)


@register_metric("nmi", full_name="Normalised mutual information (NMI, Q_MI, Hossny)",
                 higher_is_better=True, inputs="sources", range=(0.0, 2.0),
                 presets=("default", "mefb", "liu2020"),
                 references=("Hossny, Nahavandi, Creighton, Electronics Letters 44 (2008) 1066-1067, "
                             "doi:10.1049/el:20081754", _MEFB, _LIU))
def nmi(fused: Any, sources: Any, *, preset: str = "default", data_range: float = 1.0) -> Any:
    """Normalised mutual information (NMI / Q_MI) of Hossny et al.

    Q_MI = 2 [MI(A, F) / (H(A) + H(F)) + MI(B, F) / (H(B) + H(F))], on ``normalize1`` images
    (each plane min-max scaled to 0..255 and MATLAB-rounded), log base irrelevant (a ratio).

    Parameters
    ----------
    fused, sources : see :func:`cross_entropy` (any number of sources; the terms are summed).
    preset : {'default', 'mefb', 'liu2020'}
        ``'default'`` and ``'mefb'``: per channel then channel mean; ``'liu2020'``: MATLAB ``rgb2gray`` of
        every image first.

    Returns
    -------
    float or (B,)
        In [0, 2] for two sources (2 when F = A = B); higher is better.

    Notes
    -----
    Not ``skimage.metrics.normalized_mutual_information``, which is (H(A) + H(B)) / H(A, B) with 100 bins
    (range [1, 2]). A constant pair (all entropies 0) is given the ratio 1.
    """
    where = "nmi"
    check_preset(where, preset)
    f, s, origin = prepare_sources(fused, sources, where=where, data_range=data_range, min_size=1)
    if preset == "liu2020":
        f, s = matlab_gray(f, s)
    return finish(_nmi(normalize1(f).to(torch.int64), normalize1(s).to(torch.int64)), origin)


# --------------------------------------------------------------------------- Q_NCIE
def _q_ncie(f: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """Kernel for exactly two sources; int64 levels -> (B,) (channel mean)."""
    b, n, c = s.shape[:3]
    a = s[:, 0].reshape(b * c, -1)
    bb = s[:, 1].reshape(b * c, -1)
    ff = f.reshape(b * c, -1)
    norm = math.log2(LEVELS)

    def ncc(x, y):
        mi, _, _ = mutual_info(x, y, 2.0)
        return mi / norm

    r_ab, r_af, r_bf = ncc(a, bb), ncc(a, ff), ncc(bb, ff)
    one = torch.ones_like(r_ab)
    rmat = torch.stack([torch.stack([one, r_ab, r_af], -1), torch.stack([r_ab, one, r_bf], -1),
                        torch.stack([r_af, r_bf, one], -1)], -2)
    lam = torch.linalg.eigvalsh(rmat).clamp_min(0.0) / 3.0
    q = 1.0 + plogp(lam, LEVELS).sum(dim=-1)
    return q.reshape(b, c).mean(dim=1)


@register_metric("q_ncie", full_name="Nonlinear correlation information entropy (Q_NCIE)",
                 higher_is_better=True, inputs="sources", range=(0.0, 1.0),
                 presets=("default", "liu2020"),
                 references=("Wang, Shen, Jin, Proc. ICPR 2005 / Int. J. Image Data Fusion; "
                             "Liu et al., IEEE TPAMI 34 (2012) 94-109, doi:10.1109/TPAMI.2011.109", _LIU))
def q_ncie(fused: Any, sources: Any, *, preset: str = "default", data_range: float = 1.0) -> Any:
    """Nonlinear correlation information entropy Q_NCIE (Wang et al.).

    NCC(X, Y) = [H(X) + H(Y) - H(X, Y)] / log2(256) (normalised MI, 256 levels); R is the 3 x 3 matrix
    with unit diagonal and the NCCs of (A, B), (A, F), (B, F); with its eigenvalues lambda_i,
    Q_NCIE = 1 + sum_i (lambda_i / 3) log_256(lambda_i / 3).

    Parameters
    ----------
    fused, sources : exactly two sources.
    preset : {'default', 'liu2020'}
        Both on ``normalize1`` images; ``'liu2020'`` converts RGB to gray first, ``'default'`` is per
        channel.

    Returns
    -------
    float or (B,)
        In [1 - log_256 3, 1] (about [0.80, 1]); higher is better; 1 when A = B = F have a flat
        256-level histogram (then every NCC is 1); for identical images with less entropy it is < 1.
    """
    where = "q_ncie"
    check_preset(where, preset)
    f, s, origin = prepare_sources(fused, sources, where=where, data_range=data_range, min_size=1,
                                   max_count=2)
    if preset == "liu2020":
        f, s = matlab_gray(f, s)
    return finish(_q_ncie(normalize1(f).to(torch.int64), normalize1(s).to(torch.int64)), origin)


# --------------------------------------------------------------------------- TE
def _tsallis(f: torch.Tensor, s: torch.Tensor, q: float, swapped: bool) -> torch.Tensor:
    b, n, c = s.shape[:3]
    ff = f.unsqueeze(1).expand(b, n, c, *f.shape[-2:]).reshape(b * n * c, -1)
    pxf = joint_hist(s.reshape(b * n * c, -1), ff)  # rows: source level i, cols: fused level j
    px = pxf.sum(dim=2)
    pf = pxf.sum(dim=1)
    if swapped:  # MEFB: p_F(i) * p_X(j)
        denom = pf.unsqueeze(2) * px.unsqueeze(1)
    else:
        denom = px.unsqueeze(2) * pf.unsqueeze(1)
    ok = (pxf > 0) & (denom > 0)
    terms = torch.where(ok, pxf.pow(q) / torch.where(ok, denom, torch.ones_like(denom)).pow(q - 1.0),
                        torch.zeros_like(pxf))
    t = (1.0 - terms.sum(dim=(1, 2))) / (1.0 - q)
    return t.reshape(b, n, c).sum(dim=1).mean(dim=1)


@register_metric("tsallis_entropy", full_name="Tsallis entropy metric (TE)", higher_is_better=True,
                 inputs="sources", range=(float("-inf"), float("inf")), presets=("default", "mefb"),
                 references=("Cvejic, Canagarajah, Bull, Electronics Letters 42 (2006) 626-627, "
                             "doi:10.1049/el:20060693", _MEFB))
def tsallis_entropy(fused: Any, sources: Any, *, q: float = 1.85, preset: str = "default",
                    data_range: float = 1.0) -> Any:
    """Tsallis-entropy fusion metric (TE) of Cvejic et al.

    T_q(X, F) = (1 - sum_ij h(i, j)^q / (p_X(i) p_F(j))^(q - 1)) / (1 - q), TE = sum_S T_q(S, F),
    with the joint histogram h of ``normalize1`` images (256 levels) and q = 1.85.

    Parameters
    ----------
    fused, sources : see :func:`cross_entropy`.
    q : float
        Tsallis order (1.85 in MEFB).
    preset : {'default', 'mefb'}
        ``'mefb'`` reproduces MEFB's index swap of the marginals, p_F(i) p_X(j) (metrics note §2).

    Returns
    -------
    float or (B,)
        Higher is better.
    """
    where = "tsallis_entropy"
    check_preset(where, preset)
    if not isinstance(q, (int, float)) or q == 1.0 or not math.isfinite(q):
        raise ValueError(f"{where}: `q` must be a finite number != 1; got {q!r}")
    f, s, origin = prepare_sources(fused, sources, where=where, data_range=data_range, min_size=1)
    return finish(_tsallis(normalize1(f).to(torch.int64), normalize1(s).to(torch.int64), float(q),
                           preset == "mefb"), origin)
