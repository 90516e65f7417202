"""Feature mutual information (FMI) of Haghighat et al., in its fast windowed form (fast-FMI).

The features of the fused image and of each source are compared in small sliding windows (3 x 3):
every window is turned into a 9-bin "pdf" (min-max scaled, then divided by its sum), the joint pdf of a
source window and the fused window is built with a copula-like mixture of Frechet's bound and the
product of the marginals (Nelsen's construction), and FMI = 2 MI / (H_A + H_F) per window.

Conventions (authors' ``fmi.m`` as shipped with MEFB ``metrics/metricsFMI.m``, which Tang's evaluation
also calls; read, not copied):

* feature ``'edge'`` (the default there): MATLAB ``edge(I)``, i.e. Sobel with an automatic threshold
  and edge thinning (see :func:`sobel_edges`);
* window w = 3, 'valid' positions only; window vectors in MATLAB's column-major order (the order
  matters: the cumulative distributions are taken along it);
* identical windows score 1; a constant window becomes all ones before normalising;
* per position (FMI_AF + FMI_BF) / 2, then the mean over positions.

Correctness: a literal per-window transcription of the authors' loops in the tests (all features, both
presets, 1e-10), ``scipy.ndimage.sobel`` for the edge gradients, closed-form window values, and one
independent implementation: the PyTorch port in cslib 0.1.0 (PyPI, C. Shan; float32, 'pixel' feature
only, its 'edge' lacks the thinning) agrees with ``feature='none'`` to 7e-8 on 24 x 24 noise images
(checked by hand, not in the test suite: cslib is not a dependency).
"""
from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from .._checks import check_choice, check_int
from ..filters import SOBEL_X, SOBEL_Y, filter2d
from ._common import check_preset, finish, matlab_gray, prepare_sources
from ._registry import register_metric

__all__ = ["fmi", "sobel_edges"]

_HAGHIGHAT = ("Haghighat, Aghagolzadeh, Seyedarabi, Computers & Electrical Engineering 37 (2011) 744-756, "
              "doi:10.1016/j.compeleceng.2011.07.012")
_FAST = ("Haghighat, Razian, Fast-FMI: non-reference image fusion metric, Proc. AICT 2014, "
         "doi:10.1109/ICAICT.2014.7036000")
_MEFB = "Zhang, MEFB, Information Fusion 74 (2021), doi:10.1016/j.inffus.2021.02.005; xingchenzhang/MEFB"

#: MATLAB ``eps`` (2^-52): ``edge`` compares |bx| >= |by| - 100 eps when thinning.
_EPS = 2.220446049250313e-16
FEATURES = ("edge", "gradient", "none")
_CHUNK = 16384  # windows per kernel call (bounds the (N, l, l) joint-pdf tensors to a few MB)


# --------------------------------------------------------------------------- features
def sobel_edges(x: torch.Tensor) -> torch.Tensor:
    """MATLAB ``edge(I)`` (Sobel, automatic threshold, thinning) of (M, 1, H, W) planes -> bool.

    bx, by = ``imfilter`` with ``fspecial('sobel') / 8`` (and its transpose), replicate border;
    b = bx^2 + by^2; cutoff = 4 mean(b) (per plane); a pixel is an edge where b > cutoff and it is a
    local maximum of b across the dominant gradient direction: horizontally
    (b(r, c-1) <= b(r, c) > b(r, c+1)) where |bx| >= |by| - 100 eps, or vertically where
    |by| >= |bx| - 100 eps (neighbours outside the image count as satisfied). Private kernel: float64
    recommended (ties between equal neighbours must be exact).
    """
    kx = (SOBEL_X / 8.0).to(x.dtype)
    ky = (SOBEL_Y / 8.0).to(x.dtype)
    bx = filter2d(x, kx, "replicate").abs()
    by = filter2d(x, ky, "replicate").abs()
    b = bx * bx + by * by
    cutoff = 4.0 * b.mean(dim=(-2, -1), keepdim=True)
    t = torch.ones_like(b, dtype=torch.bool)
    left, right, up, down = t.clone(), t.clone(), t.clone(), t
    left[..., :, 1:] = b[..., :, :-1] <= b[..., :, 1:]
    right = right.clone()
    right[..., :, :-1] = b[..., :, :-1] > b[..., :, 1:]
    up[..., 1:, :] = b[..., :-1, :] <= b[..., 1:, :]
    down = down.clone()
    down[..., :-1, :] = b[..., :-1, :] > b[..., 1:, :]
    tol = 100.0 * _EPS
    horiz = (bx >= by - tol) & left & right
    vert = (by >= bx - tol) & up & down
    return (b > cutoff) & (horiz | vert)


def _matlab_gradient_x(x: torch.Tensor) -> torch.Tensor:
    """First output of MATLAB ``gradient(I)``: d/dx along columns, central inside, one-sided at borders."""
    g = torch.empty_like(x)
    if x.shape[-1] == 1:
        return torch.zeros_like(x)
    g[..., 1:-1] = (x[..., 2:] - x[..., :-2]) / 2.0
    g[..., 0] = x[..., 1] - x[..., 0]
    g[..., -1] = x[..., -1] - x[..., -2]
    return g


def _features(x: torch.Tensor, feature: str) -> torch.Tensor:
    if feature == "edge":
        return sobel_edges(x).to(x.dtype)
    if feature == "gradient":
        return _matlab_gradient_x(x)
    return x


# --------------------------------------------------------------------------- per-window kernel
def _entropy_bits(p: torch.Tensor, dims) -> torch.Tensor:
    """sum -p log2 |p| over ``dims`` skipping zeros (MATLAB ``real(-p log2 p)`` for negative p)."""
    a = p.abs()
    safe = torch.where(a > 0, a, torch.ones_like(a))
    return -(p * torch.log2(safe)).sum(dim=dims)


def fmi_windows(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """FMI of paired, *different* window vectors ``x``, ``f`` (N, l) -> (N,) (the authors' rule).

    Vectors must already be in the order the cumulative distributions run along (MATLAB column-major
    for image windows). Float64 is expected. Identical windows score 1 by definition: the caller
    applies that rule (see :func:`_score`), this kernel evaluates the formula.
    """
    n, l = x.shape
    xn, fn = _unit_rows(x), _unit_rows(f)
    px = xn / xn.sum(dim=1, keepdim=True)
    pf = fn / fn.sum(dim=1, keepdim=True)
    cx = torch.cumsum(px, dim=1)
    cf = torch.cumsum(pf, dim=1)

    xt = px - px.mean(dim=1, keepdim=True)
    ft = pf - pf.mean(dim=1, keepdim=True)
    num = (xt * ft).sum(dim=1)
    den = torch.sqrt((xt * xt).sum(dim=1) * (ft * ft).sum(dim=1))
    c = torch.where(num == 0, torch.zeros_like(num), num / torch.where(den > 0, den, torch.ones_like(den)))

    idx = torch.arange(1, l + 1, dtype=x.dtype, device=x.device)
    sdx = torch.sqrt(((idx * idx * px).sum(1) - (idx * px).sum(1) ** 2).clamp_min(0.0))
    sdf = torch.sqrt(((idx * idx * pf).sum(1) - (idx * pf).sum(1) ** 2).clamp_min(0.0))

    # Frechet bounds of the joint cdf, rows: fused index i, columns: source index j
    ci = cf.unsqueeze(2)
    cj = cx.unsqueeze(1)
    pos = (c >= 0).view(n, 1, 1)
    bound = torch.where(pos, torch.minimum(ci, cj), (ci + cj - 1.0).clamp_min(0.0))
    cov = (bound - ci * cj).sum(dim=(1, 2))
    sds = sdf * sdx
    ok = (c != 0) & (sds > 0) & (cov != 0)
    k = torch.where(ok, c * sds / torch.where(ok, cov, torch.ones_like(cov)), torch.zeros_like(c))
    # mass of the bound on each cell: 2-D difference with a zero row/column in front
    bp = F.pad(bound, (1, 0, 1, 0))
    mass = bp[:, 1:, 1:] - bp[:, :-1, 1:] - bp[:, 1:, :-1] + bp[:, :-1, :-1]
    kk = k.view(n, 1, 1)
    jpdf = kk * mass + (1.0 - kk) * pf.unsqueeze(2) * px.unsqueeze(1)

    h_joint = _entropy_bits(jpdf, (1, 2))
    hx = _entropy_bits(px, 1)
    hf = _entropy_bits(pf, 1)
    # k = 0: the joint pdf is the product of the marginals and MI is 0 exactly (not +-1e-16)
    mi = torch.where(k == 0, torch.zeros_like(hx), hx + hf - h_joint)
    hs = hx + hf
    good = (mi != 0) & (hs > 0)
    return torch.where(good, 2.0 * mi / torch.where(hs > 0, hs, torch.ones_like(hs)), torch.zeros_like(mi))


def _unit_rows(v: torch.Tensor) -> torch.Tensor:
    """The authors' window normalisation: min-max to [0, 1], a constant window becomes all ones."""
    lo = v.amin(dim=-1, keepdim=True)
    span = v.amax(dim=-1, keepdim=True) - lo
    ok = span > 0
    return torch.where(ok, (v - lo) / torch.where(ok, span, torch.ones_like(span)), torch.ones_like(v))


def _chunked(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    if x.shape[0] <= _CHUNK:
        return fmi_windows(x, f)
    return torch.cat([fmi_windows(x[i:i + _CHUNK], f[i:i + _CHUNK]) for i in range(0, x.shape[0], _CHUNK)])


def _windows(x: torch.Tensor, w: int) -> torch.Tensor:
    """(M, 1, H, W) -> (M, P, w*w) 'valid' windows, each in MATLAB column-major order."""
    cols = F.unfold(x, w)  # (M, w*w, P), row-major within the window
    p = torch.arange(w * w, device=x.device)
    perm = (p % w) * w + p // w  # column-major position -> row-major index
    return cols[:, perm, :].transpose(1, 2)


def _formula(ws: torch.Tensor, wf: torch.Tensor, binary: bool) -> torch.Tensor:
    """:func:`fmi_windows` on (P, l) windows, each distinct binary pattern pair scored once."""
    l = ws.shape[1]
    if not (binary and 2 * l <= 62):
        return _chunked(ws, wf)
    bits = torch.pow(2, torch.arange(l, device=ws.device, dtype=torch.int64))
    key = ((ws > 0.5).to(torch.int64) * bits).sum(1) * (1 << l) + ((wf > 0.5).to(torch.int64) * bits).sum(1)
    uniq, inv = torch.unique(key, return_inverse=True)
    us = ((uniq >> l).unsqueeze(1) & bits) > 0
    uf = ((uniq & ((1 << l) - 1)).unsqueeze(1) & bits) > 0
    return _chunked(us.to(ws.dtype), uf.to(wf.dtype))[inv]


def _score_plane(src: torch.Tensor, fus: torch.Tensor, w: int, binary: bool, quirk: bool) -> torch.Tensor:
    """Mean FMI over the windows of one fused plane (1, 1, H, W) and its N sources (N, 1, H, W) -> (N,).

    ``quirk``: the authors' loop normalises the fused window in place while scoring source 1, so from
    source 2 on the "identical window" test compares against the normalised fused window whenever an
    earlier source differed (MEFB/Tang numbers; see :func:`fmi`).
    """
    wf = _windows(fus, w)[0]  # (P, l)
    ws = _windows(src, w)     # (N, P, l)
    wf_unit = _unit_rows(wf) if quirk else wf
    out = []
    differed = torch.zeros(wf.shape[0], dtype=torch.bool, device=wf.device)
    for k in range(ws.shape[0]):
        cmp = torch.where(differed.unsqueeze(1), wf_unit, wf) if quirk else wf
        same = (ws[k] == cmp).all(dim=1)
        val = torch.ones(wf.shape[0], dtype=wf.dtype, device=wf.device)
        todo = ~same
        if bool(todo.any()):
            val[todo] = _formula(ws[k][todo], wf[todo], binary)
        out.append(val.mean())
        differed = differed | todo
    return torch.stack(out)


def _fmi(f: torch.Tensor, s: torch.Tensor, feature: str, w: int, quirk: bool = False) -> torch.Tensor:
    """Kernel: f (B, C, H, W), s (B, N, C, H, W) on 0..255 -> (B,): mean over sources and channels."""
    b, n, c, h, wd = s.shape
    ff = _features(f.to(torch.float64).reshape(b * c, 1, h, wd), feature)
    fs = _features(s.to(torch.float64).transpose(1, 2).reshape(b * c * n, 1, h, wd), feature)
    fs = fs.reshape(b * c, n, 1, h, wd)
    vals = torch.stack([_score_plane(fs[i], ff[i:i + 1], w, feature == "edge", quirk) for i in range(b * c)])
    return vals.reshape(b, c, n).mean(dim=2).mean(dim=1)


@register_metric("fmi", full_name="Feature mutual information (FMI, fast-FMI)", higher_is_better=True,
                 inputs="sources", range=(0.0, 1.0), presets=("default", "mefb", "tang"), ideal=1.0,
                 references=(_HAGHIGHAT, _FAST, _MEFB,
                             "Tang et al. Evaluation-for-Image-Fusion (Linfeng-Tang), FMI_pixel"))
def fmi(fused: Any, sources: Any, *, feature: str = "edge", window: int = 3, preset: str = "default",
        data_range: float = 1.0) -> Any:
    """Feature mutual information (FMI) of Haghighat et al., fast windowed form.

    For every w x w window position and every source S, the source and fused feature windows become
    pdfs p_S, p_F over the w^2 cells (min-max scaled, divided by their sum; a constant window is all
    ones); their cdfs are cumulated in column-major order. The joint pdf is
    p(i, j) = k Delta^2 B(i, j) + (1 - k) p_F(i) p_S(j), where B is Frechet's upper bound
    min(C_F(i), C_S(j)) with k = phi = r / r_up when the Pearson correlation r of the two pdf vectors
    is >= 0, or the lower bound max(C_F(i) + C_S(j) - 1, 0) with k = theta = r / r_lo when r < 0;
    r_up and r_lo are the correlations of the cell indices under the bounds (Hoeffding's covariance
    over the population standard deviations of the indices). Then
    FMI_SF = 2 MI / (H_S + H_F), MI = H_S + H_F - H_joint (bits), with FMI_SF = 1 for identical
    windows and 0 when MI = 0. The score is the mean over positions and sources of FMI_SF.

    Parameters
    ----------
    fused : (H, W), (C, H, W) or (B, C, H, W); at least ``window`` x ``window``
    sources : list of images, or (B, N, C, H, W); two or more
    feature : {'edge', 'gradient', 'none'}
        ``'edge'`` (default; MEFB, Tang): binary MATLAB ``edge(I)`` maps (:func:`sobel_edges`).
        ``'gradient'``: the first output of MATLAB ``gradient(I)``, i.e. the horizontal derivative
        only, as the authors' code uses it. ``'none'``: the pixels themselves.
    window : int
        Window side w (odd, >= 3; 3 in every benchmark).
    preset : {'default', 'mefb', 'tang'}
        ``'default'``: the rule above, symmetric in the sources; per channel, then the channel mean.
        ``'mefb'``: the authors' code as MEFB runs it (``metricsFMI.m``), per channel then the channel
        mean, with its in-place quirk: while scoring source A the fused window is min-max normalised
        in place (an all-zero edge window becomes all ones), and the "identical window" test for
        source B then compares against that normalised window. Where A's window differs from F's,
        an all-zero F window no longer equals an all-zero B window and FMI_BF drops from 1 to 0
        (so the score depends on the order of the sources). MEFB also uses only F's first channel
        when both sources are gray: pass gray images for that.
        ``'tang'``: the same code (Tang's evaluation calls the authors' ``fmi.m``, per the metrics
        note; his copy was not available to read) after MATLAB ``rgb2gray`` (rounded, as on uint8) of
        every RGB image.
    data_range : float

    Returns
    -------
    float or (B,)
        Higher is better; 1 when F equals every source (all windows identical). The registry range
        [0, 1] is the nominal one: a single window can score slightly above 1 (up to about 1.1 on
        random windows) when the mixture weight k exceeds 1, which makes some joint-pdf cells
        negative; the authors' code accepts this (it takes ``real(-p log2 p)``) and so does this one.
        Image means stay within [0, 1] on every image tried.

    Raises
    ------
    ValueError
        Unknown ``feature``/``preset``, even or too small ``window``, images smaller than the window,
        fewer than two sources, values outside [0, data_range], NaN/Inf.

    Notes
    -----
    Computed in float64 whatever the input dtype (the edge detector compares equal neighbours, and
    8-bit data must give MATLAB's ties). Binary feature windows (``'edge'``) are scored once per
    distinct (source pattern, fused pattern) pair, which gives exactly the per-window values.
    Deviation: where the authors' code would divide by zero (never for ``'edge'``), the window scores 0.
    The metric is expensive for ``'none'``/``'gradient'`` on large images (81 joint-pdf cells per
    window and source, chunked).

    References
    ----------
    Haghighat, Aghagolzadeh, Seyedarabi (2011), doi:10.1016/j.compeleceng.2011.07.012;
    Haghighat, Razian (2014), fast-FMI; MEFB ``metrics/metricsFMI.m`` (conventions).
    """
    where = "fmi"
    check_preset(where, preset)
    check_choice(where, "feature", feature, FEATURES)
    w = check_int(where, "window", window, minimum=3)
    if w % 2 == 0:
        raise ValueError(f"{where}: `window` must be odd; got {w}")
    f, s, origin = prepare_sources(fused, sources, where=where, data_range=data_range, min_size=w,
                                   snap=True)
    if preset == "tang":
        f, s = matlab_gray(f, s)
    return finish(_fmi(f, s, feature, w, quirk=preset != "default"), origin)
