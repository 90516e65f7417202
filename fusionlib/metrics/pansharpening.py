"""Pansharpening quality indices: reduced resolution (with a reference) and full resolution (QNR).

Every index is a batched torch kernel on ``(B, C, H, W)`` tensors plus a public wrapper that
accepts NumPy or torch, validates, and returns one score per image (a float for one image). The
kernels run in float64, except ERGAS, SAM, RMSE and RASE, which keep float32 data in float32 for the
elementwise work and accumulate in float64 (per-plane sums in the data's dtype, then float64; SAM's
cosine and ``arccos`` in float64), chunked through reused buffers on CPU: values agree with float64 to ~1e-7.
On CPU, ERGAS, RMSE and RASE validate and sum in one sweep (each image is read from memory once; see
``_sweep``): a compiled loop (numba, sums in float64) or, without it, NumPy/BLAS over cache-sized pieces.

Presets (``preset=``):

* ``"default"``: the textbook definitions, computed on the full image in any scale. Data are
  checked against ``[0, data_range]`` with ``data_range = 1``.
* ``"vivone"``: the conventions of Vivone's pansharpening toolbox (Vivone et al., TGRS 2015;
  JSTARS 2021): Q_avg on sliding 32x32 windows, Q2n with the ``uint16`` cast (so data must be in
  digital numbers, DN), SCC as the cosine of Sobel-magnitude maps; ``data_range = 2**11``.
* ``"iaoa"``: the metric code of the IAOA release (starboot/IAOA-For-Image-Fusion,
  ``Objective_Evaluation``): full image, no clipping, one global UIQI over the flattened cube, and a
  CC that averages bands 1-3 only; ``data_range = 255`` (8-bit DN).

The fused image may overshoot the data range (unclipped fusion outputs do), but values beyond
``[-data_range, 2 data_range]`` are refused as a scale mismatch; the reference (or MS/PAN) must lie in
``[0, data_range]``. NaN/Inf are refused everywhere.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from scipy.linalg.blas import get_blas_funcs

from .. import _jit
from .._checks import (UINT_VIEW, ShapeError, _extremes, _raise_outside, all_in_nonneg_range,
                       check_finite, check_finite_range, check_int, check_positive, check_range,
                       nonneg_pattern_bound)
from .._convert import as_tensor, restore_scores
from ..filters import SENSOR_GAINS as _SENSOR_GAINS
from ..filters import filter2d, imresize_bicubic, interp23tap, mtf_filter, SOBEL_X, SOBEL_Y
from ._common import CHUNK
from ._registry import METRICS, check_preset, register_metric

__all__ = ["ergas", "sam", "rmse", "rase", "cc", "uiqi", "q2n", "scc", "d_lambda", "d_s", "qnr",
           "hqnr", "PRESETS_PS", "DATA_RANGE", "SENSOR_GAINS", "ergas_kernel", "sam_kernel",
           "rmse_kernel", "rase_kernel", "cc_kernel", "uiqi_kernel", "q2n_kernel", "scc_kernel",
           "iaoa_scores", "IAOA_METRICS"]

PRESETS_PS = ("default", "vivone", "iaoa")
#: Default data range per preset (the upper bound the reference is checked against).
DATA_RANGE = {"default": 1.0, "vivone": 2.0 ** 11, "iaoa": 255.0}
_EPS = torch.finfo(torch.float64).eps

#: MTF gains at the LR Nyquist frequency (Vivone's toolbox), band order B, G, R, NIR: the one sensor
#: table, :data:`fusionlib.filters.SENSOR_GAINS` (re-exported here).
SENSOR_GAINS = _SENSOR_GAINS

_REFS_VIVONE = ("G. Vivone et al., A critical comparison among pansharpening algorithms, IEEE TGRS 53(5), "
                "2015, doi:10.1109/TGRS.2014.2361734",)
_REFS_IAOA = ("X. Mi, Q. Luo, Y. Zhou, J. Intell. Fuzzy Syst. 46(4), 2024, doi:10.3233/JIFS-235607; "
              "starboot/IAOA-For-Image-Fusion@cce2a5c Objective_Evaluation",)


# ------------------------------------------------------------------------------------------------
# validation
# ------------------------------------------------------------------------------------------------

def _range_for(where: str, preset: str, data_range: float | None) -> float:
    """The preset checked against metric ``where``'s registration, and ``data_range`` or its default."""
    return METRICS[where].data_range_for(preset, data_range)


def _as_pair(where: str, fused: Any, reference: Any, ref_name: str = "reference"):
    """(fused, reference) as (B, C, H, W) tensors of the same shape, and the fused image's origin."""
    f, origin = as_tensor(fused, where=where, name="fused")
    r, _ = as_tensor(reference, where=where, name=ref_name)
    if f.shape != r.shape:
        raise ShapeError(f"{where}: `fused` and `{ref_name}` must have the same shape (bands and size); "
                         f"got {tuple(f.shape)} and {tuple(r.shape)}",
                         expected=tuple(r.shape), actual=tuple(f.shape))
    return f, r, origin


def _check_pair(where: str, f: torch.Tensor, r: torch.Tensor, dr: float, ref_name: str = "reference") -> None:
    """The exact checks of a (fused, reference) pair, with the error order of :func:`_prep_pair`."""
    f_in_range = f.numel() == 0 or all_in_nonneg_range(f, dr) is True  # finite and in [0, dr]
    if not f_in_range:
        f_lo, f_hi = _extremes(f)  # NaN anywhere makes both NaN, +-Inf shows in one of them
        if not (math.isfinite(f_lo) and math.isfinite(f_hi)):
            check_finite(where, "fused", f)  # raises with the counts
    check_finite_range(where, ref_name, r, 0.0, dr)
    if not f_in_range:
        _raise_outside(where, "fused", f_lo, f_hi, -dr, 2.0 * dr, 1e-6)


def _prep_pair(where: str, fused: Any, reference: Any, preset: str, data_range: float | None,
               ref_name: str = "reference", native: bool = False):
    """Validate a (fused, reference) pair; float64 tensors, or with ``native`` the inputs' own float
    dtype (float32 unless either is float64) for the kernels that accumulate their sums in float64.

    One pass over each image on CPU float data: the reference through
    :func:`~fusionlib._checks.check_finite_range`; the fused image through the one-pass test of
    ``[0, data_range]`` (which also rules out NaN/Inf), and only when that fails through its extremes
    (NaN/Inf counted, then ``[-data_range, 2 data_range]``). Errors come in the order fused NaN/Inf,
    reference NaN/Inf, reference range, fused range.
    """
    dr = _range_for(where, preset, data_range)
    f, r, origin = _as_pair(where, fused, reference, ref_name)
    _check_pair(where, f, r, dr, ref_name)
    if native:
        dt = torch.promote_types(f.dtype, r.dtype)
        return f.to(dt), r.to(dt), origin, dr
    return f.to(torch.float64), r.to(torch.float64), origin, dr


#: Values per piece of one plane in :func:`_sweep` (256 KiB of float32, half as many float64): the
#: fused and reference pieces and their difference (768 KiB) stay in a core's L2 cache while five
#: passes read them.
SWEEP = CHUNK // 4

def _pieces(x, step: int) -> list:
    """The rows of ``x`` (P, N), a tensor or an array, cut into views of ``step`` values (and a
    shorter last one), row by row."""
    p, n = x.shape
    q, rem = divmod(n, step)
    if rem == 0:
        return list(x.reshape(p * q, step))
    main, tail = x[:, :q * step].reshape(p, q, step), x[:, q * step:]
    out = []
    for k in range(p):
        out.extend(main[k])
        out.append(tail[k])
    return out


def _sweep(f: torch.Tensor, r: torch.Tensor, dr: float, with_sum: bool):
    """Per-plane sums of a CPU pair in one sweep through cache-sized pieces, with the range test.

    For ``f``, ``r`` (B, C, H, W) of the same float dtype (float32 or float64), contiguous, on CPU.
    Where numba is available (:mod:`fusionlib._jit`), one compiled loop reads each value once and
    gives the sums in float64 (differences exact, relative error ~1e-15) and the range test below.
    Otherwise NumPy and BLAS:
    each piece of at most :data:`SWEEP` values of a plane is read from memory once (the work is
    bound by memory and cache bandwidth: four more passes over a piece cost less than one more
    pass over the images); while it is in cache, NumPy writes the difference ``f - r`` into one
    reused buffer, BLAS ``?dot`` of the buffer with itself gives the squared error and BLAS
    ``?asum`` the reference sum (sum of ``|r|``, equal to ``sum(r)`` once the range test passed),
    both in the data's dtype, and the largest bit patterns of both pieces read as unsigned integers
    give the test of :func:`fusionlib._checks.all_in_nonneg_range`: ``f`` finite in ``[0, dr]``
    and ``r`` finite in ``[0, dr + 1e-6]``. The pieces' sums are added in float64, as in
    :func:`_band_sq_err` (relative error ~1e-7 in float32). Planes smaller than a piece go in
    groups of whole planes through torch (difference, squares, cascade sums per plane).

    Returns ``(ok, sq, s)``: ``ok`` whether both tests passed (if not, the caller runs the exact
    checks, which raise or accept, e.g. ``-0.0`` or an overshooting fused image, and recomputes the
    reference sums), ``sq`` the (B, C) float64 sums of squared errors, ``s`` the (B, C) float64
    reference sums (None unless ``with_sum``). Returns None where the sweep does not apply (other
    devices or dtypes, mixed dtypes, non-contiguous or empty tensors); the caller then takes the
    general path.
    """
    kinds = UINT_VIEW.get(f.dtype)
    if (kinds is None or r.dtype != f.dtype or f.device.type != "cpu" or r.device.type != "cpu"
            or f.numel() == 0 or not (f.is_contiguous() and r.is_contiguous())):
        return None
    uint, flt = kinds
    b, c, h, w = f.shape
    p, n = b * c, h * w
    fl, rl = f.detach().reshape(p, n), r.detach().reshape(p, n)
    try:
        fu, ru = fl.numpy().view(uint), rl.numpy().view(uint)
    except (RuntimeError, ValueError, TypeError):  # conjugate/negative views
        return None
    step = SWEEP * 4 // f.element_size()
    mf = mr = uint(0)
    sq, s = [], []
    jit = _jit.pair_sums()
    if jit is not None:  # one compiled pass (numba): sums in float64, the same range test
        sq_a, s_a = np.empty(p), np.empty(p)
        mf, mr = jit(fl.numpy(), rl.numpy(), fu, ru, sq_a, s_a)
        sq_t, s_t = torch.from_numpy(sq_a), (torch.from_numpy(s_a) if with_sum else None)
    elif n >= step:  # pieces of one plane, all in NumPy/BLAS (no tensor per piece)
        dot, asum = get_blas_funcs(("dot", "asum"), dtype=flt)
        fa, ra = fl.numpy(), rl.numpy()
        bn = np.empty(step, dtype=flt)
        pieces = zip(_pieces(fa, step), _pieces(ra, step), _pieces(fu, step), _pieces(ru, step))
        mfs, mrs, amax = [], [], np.maximum.reduce  # (the ufunc itself: no wrapper per call)
        for fj, rj, fuj, ruj in pieces:
            d = np.subtract(fj, rj, out=bn if len(fj) == step else bn[:len(fj)])
            mfs.append(amax(fuj))
            mrs.append(amax(ruj))
            sq.append(dot(d, d))
            if with_sum:
                s.append(asum(rj))  # sum |r| = sum r when the range test passes (else not used)
        mf, mr = max(mfs), max(mrs)
        nch = len(sq) // p
        sq_t = torch.from_numpy(np.array(sq).reshape(p, nch).sum(axis=1))
        s_t = torch.from_numpy(np.array(s).reshape(p, nch).sum(axis=1)) if with_sum else None
    else:  # groups of g whole planes; squares summed per plane (cascade sums, in the data's dtype)
        g = step // n
        buf = torch.empty(g * n, dtype=f.dtype)
        for k in range(0, p, g):
            fj, rj = fl[k:k + g], rl[k:k + g]
            d = torch.sub(fj, rj, out=buf[:fj.numel()].view(fj.shape))
            mf = max(mf, fu[k:k + g].max())
            mr = max(mr, ru[k:k + g].max())
            sq.append(d.mul_(d).sum(dim=1))
            if with_sum:
                s.append(rj.sum(dim=1))
        sq_t = torch.cat(sq).to(torch.float64)
        s_t = torch.cat(s).to(torch.float64) if with_sum else None
    ok = (bool(mf <= nonneg_pattern_bound(f.dtype, dr))
          and bool(mr <= nonneg_pattern_bound(f.dtype, dr + 1e-6)))
    return ok, sq_t.reshape(b, c), (s_t.reshape(b, c) if with_sum else None)


def _prep_sums(where: str, fused: Any, reference: Any, preset: str, data_range: float | None,
               with_sum: bool):
    """Validate a (fused, reference) pair as :func:`_prep_pair` does and return its per-plane sums:
    ``(sq, s, n, origin)`` with ``sq`` the (B, C) float64 sums of squared errors, ``s`` the (B, C)
    float64 reference sums (None unless ``with_sum``) and ``n`` the pixels per plane.

    On CPU, through :func:`_sweep` (each image read from memory once), and where its range test
    fails through the exact checks of :func:`_prep_pair` (same errors, same order); elsewhere
    :func:`_prep_pair` and the sums of :func:`_band_sq_err` and :func:`_band_sum`.
    """
    dr = _range_for(where, preset, data_range)
    f, r, origin = _as_pair(where, fused, reference)
    n = f.shape[2] * f.shape[3]
    got = _sweep(f, r, dr, with_sum)
    if got is None:
        _check_pair(where, f, r, dr)
        dt = torch.promote_types(f.dtype, r.dtype)
        f, r = f.to(dt), r.to(dt)
        return _band_sq_err(f, r), (_band_sum(r) if with_sum else None), n, origin
    ok, sq, s = got
    if not ok:
        _check_pair(where, f, r, dr)  # raises with the exact message, or accepts (-0.0, overshoot)
        if with_sum:  # the sweep's sums of |r| may differ from sum r for a tolerated -1e-6 <= r < 0
            s = _band_sum(r)
    return sq, s, n, origin


# ------------------------------------------------------------------------------------------------
# kernels (B, C, H, W) float -> (B,)
# ------------------------------------------------------------------------------------------------

def _band_sq_err(f: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """sum over (H, W) of (f - r)^2 per band, (B, C) float64.

    On CPU, in pieces of at most ``CHUNK`` values of one plane: the difference into one reused buffer
    (which stays in cache), then its dot product with itself (BLAS, in the data's dtype: relative error
    ~1e-7 in float32); the pieces are added in float64.
    """
    b, c, h, w = f.shape
    n = h * w
    if f.device.type != "cpu" or n == 0:
        return ((f - r) ** 2).sum(dim=(2, 3)).to(torch.float64)
    dt = torch.promote_types(f.dtype, r.dtype)
    fl, rl = f.reshape(b * c, n).to(dt), r.reshape(b * c, n).to(dt)
    step = min(n, CHUNK)
    buf = torch.empty(step, dtype=dt)
    parts = []
    for k in range(b * c):
        for i in range(0, n, step):
            rk = rl[k, i:i + step]
            d = torch.sub(fl[k, i:i + step], rk, out=buf[:rk.numel()])
            parts.append(torch.dot(d, d))
    return torch.stack(parts).to(torch.float64).reshape(b, c, -(-n // step)).sum(dim=2)


def _band_sum(x: torch.Tensor) -> torch.Tensor:
    """sum over (H, W) per band, (B, C) float64 (cascade sum per plane in the data's dtype)."""
    return x.sum(dim=(2, 3)).to(torch.float64)


def _rmse_from_sums(sq: torch.Tensor, n: int) -> torch.Tensor:
    return torch.sqrt(sq.sum(dim=1) / (sq.shape[1] * n))


def _exact_zero(rel: torch.Tensor, mse: torch.Tensor, defined: bool) -> torch.Tensor:
    """With ``defined``, a relative error 0/0 (zero reference mean, zero error) counts as 0, not NaN."""
    return torch.where(mse == 0, torch.zeros_like(rel), rel) if defined else rel


def _ergas_from_sums(sq: torch.Tensor, s: torch.Tensor, n: int, ratio: float,
                     defined: bool = False) -> torch.Tensor:
    mse, mu = sq / n, s / n
    return (100.0 / ratio) * torch.sqrt(_exact_zero(mse / mu ** 2, mse, defined).mean(dim=1))


def _rase_from_sums(sq: torch.Tensor, s: torch.Tensor, n: int, defined: bool = False) -> torch.Tensor:
    mse, mu = sq / n, s.mean(dim=1) / n
    return _exact_zero(100.0 / mu * torch.sqrt(mse.mean(dim=1)), mse.sum(dim=1), defined)


def rmse_kernel(f: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """Global RMSE over all pixels and bands; float32 data are summed per plane, then in float64."""
    return _rmse_from_sums(_band_sq_err(f, r), f.shape[2] * f.shape[3])


def ergas_kernel(f: torch.Tensor, r: torch.Tensor, ratio: float = 4.0) -> torch.Tensor:
    """(100/ratio) sqrt(mean_b MSE_b / mu_b^2), mu_b the reference band mean (sums as in rmse_kernel)."""
    return _ergas_from_sums(_band_sq_err(f, r), _band_sum(r), f.shape[2] * f.shape[3], ratio)


def rase_kernel(f: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """(100/mu) sqrt(mean_b MSE_b), mu the mean of the whole reference cube (global form)."""
    return _rase_from_sums(_band_sq_err(f, r), _band_sum(r), f.shape[2] * f.shape[3])


def sam_kernel(f: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """Mean spectral angle in degrees over pixels whose two spectra have nonzero norm.

    Pixels are taken in chunks of ``CHUNK / 4``: the per-pixel sums over bands ``<f, r>``, ``|f|^2``,
    ``|r|^2`` in the data's dtype (a few products each), then the cosine, ``arccos`` and the sums over
    pixels in float64 (so identical spectra give exactly 0 and float32 rounding enters only through
    the three per-pixel sums).
    """
    b, c, h, w = f.shape
    n = h * w
    dt = torch.promote_types(f.dtype, r.dtype)
    fl, rl = f.reshape(b, c, n).to(dt), r.reshape(b, c, n).to(dt)
    step = max(1, CHUNK // 4) if f.device.type == "cpu" else max(1, n)
    total = torch.zeros(b, dtype=torch.float64, device=f.device)
    count = torch.zeros(b, dtype=torch.float64, device=f.device)
    m0 = min(step, n)
    dot, nf, nr = (torch.empty(m0, dtype=dt, device=f.device) for _ in range(3))
    for bi in range(b):
        for i in range(0, n, step):
            m = min(step, n - i)
            d, a, q = dot[:m], nf[:m], nr[:m]
            f0, r0 = fl[bi, 0, i:i + m], rl[bi, 0, i:i + m]
            torch.mul(f0, r0, out=d)
            torch.mul(f0, f0, out=a)
            torch.mul(r0, r0, out=q)
            for ci in range(1, c):
                fc, rc = fl[bi, ci, i:i + m], rl[bi, ci, i:i + m]
                d.addcmul_(fc, rc)
                a.addcmul_(fc, fc)
                q.addcmul_(rc, rc)
            norm = (a.to(torch.float64) * q.to(torch.float64)).sqrt_()
            valid = norm > 0
            cos = d.to(torch.float64, copy=True).div_(torch.where(valid, norm, 1.0)).clamp_(-1.0, 1.0)
            ang = torch.arccos_(cos).masked_fill_(~valid, 0.0)
            total[bi] += ang.sum()
            count[bi] += valid.sum()
    return torch.rad2deg(total / count)


def _degenerate(ratio: torch.Tensor, den: torch.Tensor, same: torch.Tensor) -> torch.Tensor:
    """Where a correlation's denominator is 0 (a constant band, no gradient): 1 when the two are
    identical, else 0 (instead of 0/0 = NaN)."""
    return torch.where(den > 0, ratio, same.to(ratio.dtype))


def cc_kernel(f: torch.Tensor, r: torch.Tensor, bands: Sequence[int] | None = None,
              defined: bool = False) -> torch.Tensor:
    """Mean over ``bands`` of the per-band Pearson correlation (MATLAB ``corr2``; with ``defined``
    a band of zero variance gives 1 when the two bands are identical, else 0, not NaN)."""
    fc = f - f.mean(dim=(2, 3), keepdim=True)
    rc = r - r.mean(dim=(2, 3), keepdim=True)
    num = (fc * rc).sum(dim=(2, 3))
    den = torch.sqrt((fc * fc).sum(dim=(2, 3)) * (rc * rc).sum(dim=(2, 3)))
    c = num / den
    if defined:
        c = _degenerate(c, den, (f == r).all(dim=3).all(dim=2))
    if bands is not None:
        c = c[:, list(bands)]
    return c.mean(dim=1)


def _q_from_moments(mx, my, vx, vy, cxy):
    """Wang-Bovik Q from means, variances and covariance, with the special cases of ``img_qi``."""
    s2 = mx * mx + my * my
    d1 = vx + vy
    den = d1 * s2
    num = 4.0 * cxy * mx * my
    q = torch.ones_like(den)
    q = torch.where((d1 == 0) & (s2 != 0), 2.0 * mx * my / torch.where(s2 != 0, s2, torch.ones_like(s2)), q)
    q = torch.where(den != 0, num / torch.where(den != 0, den, torch.ones_like(den)), q)
    return q


def _q_sliding(x: torch.Tensor, y: torch.Tensor, s: int) -> torch.Tensor:
    """Q map on sliding ``s x s`` windows ('valid', stride 1): (B, C, H-s+1, W-s+1)."""
    b, c, h, w = x.shape
    xx = x.reshape(b * c, 1, h, w)
    yy = y.reshape(b * c, 1, h, w)
    pool = lambda t: F.avg_pool2d(t, s, stride=1)  # noqa: E731
    mx, my = pool(xx), pool(yy)
    vx = pool(xx * xx) - mx * mx
    vy = pool(yy * yy) - my * my
    cxy = pool(xx * yy) - mx * my
    q = _q_from_moments(mx, my, vx, vy, cxy)
    return q.reshape(b, c, q.shape[-2], q.shape[-1])


def _blocks(x: torch.Tensor, s: int) -> torch.Tensor:
    """(B, C, H, W) -> (B, nblocks, C, s*s) non-overlapping blocks (H, W multiples of s)."""
    b, c, h, w = x.shape
    t = x.reshape(b, c, h // s, s, w // s, s).permute(0, 2, 4, 1, 3, 5)
    return t.reshape(b, (h // s) * (w // s), c, s * s)


def _q_blocks(x: torch.Tensor, y: torch.Tensor, s: int) -> torch.Tensor:
    """Mean Q over non-overlapping ``s x s`` blocks, per band: (B, C)."""
    bx, by = _blocks(x, s), _blocks(y, s)
    mx, my = bx.mean(-1), by.mean(-1)
    vx = (bx * bx).mean(-1) - mx * mx
    vy = (by * by).mean(-1) - my * my
    cxy = (bx * by).mean(-1) - mx * my
    return _q_from_moments(mx, my, vx, vy, cxy).mean(dim=1)


def uiqi_kernel(f: torch.Tensor, r: torch.Tensor, mode: str = "sliding", block_size: int = 32) -> torch.Tensor:
    """UIQI: ``mode='sliding'`` (Q_avg, band mean) or ``'global'`` (one Q of the flattened cube)."""
    if mode == "global":
        b = f.shape[0]
        x, y = r.reshape(b, -1), f.reshape(b, -1)
        n = x.shape[1]
        mx, my = x.mean(1), y.mean(1)
        vx = ((x - mx[:, None]) ** 2).sum(1) / (n - 1)
        vy = ((y - my[:, None]) ** 2).sum(1) / (n - 1)
        cxy = ((x - mx[:, None]) * (y - my[:, None])).sum(1) / (n - 1)
        return _q_from_moments(mx, my, vx, vy, cxy)
    return _q_sliding(r, f, block_size).mean(dim=(1, 2, 3))


def _conj(v: torch.Tensor) -> torch.Tensor:
    return torch.cat([v[..., :1], -v[..., 1:]], dim=-1)


def _onion(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cayley-Dickson product of hypercomplex numbers stored on the last axis (toolbox convention)."""
    n = x.shape[-1]
    if n == 1:
        return x * y
    h = n // 2
    a, b = x[..., :h], _conj(x[..., h:])
    c, d = y[..., :h], _conj(y[..., h:])
    if n == 2:
        return torch.cat([a * c - d * b, a * d + c * b], dim=-1)
    return torch.cat([_onion(a, c) - _onion(d, _conj(b)), _onion(_conj(a), d) + _onion(c, b)], dim=-1)


def _pad_to_blocks(x: torch.Tensor, s: int, shift: int) -> torch.Tensor:
    h, w = x.shape[-2:]
    sx, sy = math.ceil(h / shift), math.ceil(w / shift)
    e1, e2 = (sx - 1) * shift + s - h, (sy - 1) * shift + s - w
    if e2 > 0:
        x = torch.cat([x, x[..., :, w - e2:].flip(-1)], dim=-1)
    if e1 > 0:
        x = torch.cat([x, x[..., h - e1:, :].flip(-2)], dim=-2)
    return x


def q2n_kernel(f: torch.Tensor, r: torch.Tensor, block_size: int = 32, shift: int | None = None,
               cast_uint16: bool = True) -> torch.Tensor:
    """Q2n of fused ``f`` against reference ``r`` (Garzelli-Nencini); (B,)."""
    s = block_size
    shift = s if shift is None else shift
    r = _pad_to_blocks(r, s, shift)
    f = _pad_to_blocks(f, s, shift)
    if cast_uint16:  # MATLAB uint16(): round half away from zero, saturate
        r = torch.floor(r.clamp(0, 65535) + 0.5)
        f = torch.floor(f.clamp(0, 65535) + 0.5)
    b, c, h, w = r.shape
    n2 = 1 << (c - 1).bit_length()
    if n2 > c:
        z = r.new_zeros(b, n2 - c, h, w)
        r, f = torch.cat([r, z], 1), torch.cat([f, z], 1)
    # blocks: (B, nb, n2, s*s) with the given shift
    ur = r.unfold(2, s, shift).unfold(3, s, shift)  # B, n2, ny, nx, s, s
    uf = f.unfold(2, s, shift).unfold(3, s, shift)
    ny, nx = ur.shape[2], ur.shape[3]
    ur = ur.permute(0, 2, 3, 1, 4, 5).reshape(b, ny * nx, n2, s * s)
    uf = uf.permute(0, 2, 3, 1, 4, 5).reshape(b, ny * nx, n2, s * s)
    npx = s * s
    mu = ur.mean(-1, keepdim=True)
    sd = ur.std(-1, keepdim=True)  # N-1, as std2
    sd = torch.where(sd == 0, torch.full_like(sd, _EPS), sd)
    z1 = (ur - mu) / sd + 1.0
    z2 = torch.where(mu == 0, uf + 1.0, (uf - mu) / sd + 1.0)
    z2 = _conj(z2.transpose(-1, -2))  # (B, nb, npx, n2), conjugated
    z1 = z1.transpose(-1, -2)
    m1, m2 = z1.mean(-2), z2.mean(-2)  # (B, nb, n2)
    k = npx / (npx - 1.0)
    q1m2, q2m2 = (m1 ** 2).sum(-1), (m2 ** 2).sum(-1)
    int1 = k * (z1 ** 2).sum(-1).mean(-1)
    int2 = k * (z2 ** 2).sum(-1).mean(-1)
    t3 = int1 + int2 - k * (q1m2 + q2m2)
    mean_bias = 2.0 * torch.sqrt(q1m2 * q2m2) / (q1m2 + q2m2)
    qu = _onion(z1, z2).mean(-2)
    qm = _onion(m1, m2)
    qv = k * qu - k * qm
    safe = torch.where(t3 == 0, torch.ones_like(t3), t3)
    qmod = torch.linalg.vector_norm(qv, dim=-1) * mean_bias * 2.0 / safe.abs()
    qmod = torch.where(t3 == 0, mean_bias, qmod)
    return qmod.mean(dim=1)


def scc_kernel(f: torch.Tensor, r: torch.Tensor, defined: bool = False) -> torch.Tensor:
    """Cosine of the Sobel-magnitude maps (1-px ring removed), summed over bands (toolbox SCC; with
    ``defined`` an all-zero gradient map gives 1 when both maps are zero, else 0, not NaN)."""
    def mag(x):
        gy = filter2d(x, SOBEL_X.t().contiguous(), "valid")  # fspecial('sobel') responds to rows
        gx = filter2d(x, SOBEL_X, "valid")
        return torch.sqrt(gx * gx + gy * gy)
    a, b = mag(f), mag(r)
    den = torch.sqrt((a * a).sum(dim=(1, 2, 3)) * (b * b).sum(dim=(1, 2, 3)))
    out = (a * b).sum(dim=(1, 2, 3)) / den
    if defined:
        out = _degenerate(out, den, (a == b).flatten(1).all(dim=1))
    return out


# ------------------------------------------------------------------------------------------------
# public reduced-resolution indices
# ------------------------------------------------------------------------------------------------

@register_metric("ergas", full_name="Erreur relative globale adimensionnelle de synthese (ERGAS)",
                 higher_is_better=False, inputs="reference", kind="pansharpening", units="",
                 presets=PRESETS_PS,
                 data_ranges=DATA_RANGE, references=("L. Wald, Data Fusion, 2002",) + _REFS_VIVONE, ideal=0.0)
def ergas(fused: Any, reference: Any, *, ratio: float = 4, preset: str = "default",
          data_range: float | None = None) -> Any:
    """Erreur relative globale adimensionnelle de synthese (ERGAS).

    ``ERGAS = (100 / ratio) * sqrt( (1/B) * sum_b MSE_b / mu_b^2 )`` with ``mu_b`` the mean of
    reference band ``b``.

    Parameters
    ----------
    fused, reference : array or tensor, (C, H, W) or (B, C, H, W), same shape
        Fused image and ground truth, in the same scale.
    ratio : float
        PAN/MS scale ratio in the ``100/ratio`` form (4 for 4:1 data; passing 1/4 here gives 16x).
    preset : {'default', 'vivone', 'iaoa'}
        The formula is the same in all three (the IAOA code uses ``100/4``); presets set ``data_range``.
    data_range : float, optional
        Upper bound of the reference values (default per preset: 1, 2048, 255).

    Returns
    -------
    float or (B,) array/tensor
        ERGAS, 0 is best; a reference band of mean 0 contributes 0 when the fused band equals it
        (so two all-zero images give 0) and ``inf`` otherwise. Never NaN.

    Notes
    -----
    Conventions: full image, no border cut (cut before calling for the toolbox's ``dim_cut``).
    sewar's ``ergas(GT, P, r=0.25)`` and torchmetrics' ``ratio=4`` give the same value.

    Examples
    --------
    >>> import numpy as np
    >>> r = np.full((2, 4, 4), 0.5); f = r.copy(); f[0] += 0.1
    >>> round(ergas(f, r), 6)
    3.535534
    """
    where = "ergas"
    check_positive(where, "ratio", ratio)
    sq, s, n, origin = _prep_sums(where, fused, reference, preset, data_range, with_sum=True)
    return restore_scores(_ergas_from_sums(sq, s, n, float(ratio), defined=True), origin)


@register_metric("sam", full_name="Spectral angle mapper (SAM)", higher_is_better=False, inputs="reference",
                 kind="pansharpening", range=(0.0, 180.0), units="degrees", presets=PRESETS_PS, data_ranges=DATA_RANGE,
                 references=_REFS_VIVONE, ideal=0.0)
def sam(fused: Any, reference: Any, *, preset: str = "default", data_range: float | None = None) -> Any:
    """Spectral angle mapper (SAM), in degrees.

    ``SAM = mean_p arccos(<x_p, y_p> / (|x_p| |y_p|))`` over pixels ``p`` whose two spectra both have
    nonzero norm (cosines clipped to [-1, 1], as MATLAB's ``real(acos(.))``).

    Returns degrees (torchmetrics and sewar return radians; torchmetrics gives NaN on zero norm).
    Identical in all presets. 0 is best. When no pixel has two nonzero spectra, two identical
    (all-zero) images give 0 and anything else is a ``ValueError``; never NaN.

    Examples
    --------
    >>> import numpy as np
    >>> r = np.zeros((2, 1, 1)); r[0] = 1.0; f = np.zeros((2, 1, 1)); f[:] = 0.5
    >>> round(sam(f, r), 4)
    45.0
    """
    f, r, origin, _ = _prep_pair("sam", fused, reference, preset, data_range, native=True)
    out = sam_kernel(f, r)
    none = torch.isnan(out)  # no pixel where both spectra are nonzero: the mean is over nothing
    if bool(none.any()):
        same = (f == r).flatten(1).all(dim=1)
        if bool((none & ~same).any()):
            i = int(torch.nonzero(none & ~same)[0])
            raise ValueError(f"sam: image {i} has no pixel where both spectra are nonzero (an all-zero "
                             "fused or reference image); the spectral angle is undefined")
        out = torch.where(none, torch.zeros_like(out), out)  # identical all-zero images: angle 0
    return restore_scores(out, origin)


@register_metric("rmse", full_name="Root mean square error (RMSE)", higher_is_better=False,
                 inputs="reference", kind="pansharpening", presets=PRESETS_PS,
                 data_ranges=DATA_RANGE, references=_REFS_IAOA,
                 ideal=0.0)
def rmse(fused: Any, reference: Any, *, preset: str = "default", data_range: float | None = None) -> Any:
    """Root mean square error (RMSE) over all pixels and bands, in the data's own units.

    Examples
    --------
    >>> import numpy as np
    >>> round(rmse(np.full((1, 2, 2), 0.3), np.full((1, 2, 2), 0.5)), 6)
    0.2
    """
    sq, _, n, origin = _prep_sums("rmse", fused, reference, preset, data_range, with_sum=False)
    return restore_scores(_rmse_from_sums(sq, n), origin)


@register_metric("rase", full_name="Relative average spectral error (RASE)", higher_is_better=False,
                 inputs="reference", kind="pansharpening", units="%", presets=PRESETS_PS, data_ranges=DATA_RANGE,
                 references=("M. Choi, IEEE TGRS 44(6), 2006, doi:10.1109/TGRS.2005.863308",) + _REFS_IAOA,
                 ideal=0.0)
def rase(fused: Any, reference: Any, *, preset: str = "default", data_range: float | None = None) -> Any:
    """Relative average spectral error (RASE), global form.

    ``RASE = (100 / mu) sqrt((1/B) sum_b MSE_b)``, ``mu`` the mean of the whole reference cube.
    sewar and torchmetrics compute a windowed (8x8) variant, which gives a different number.
    An all-zero reference gives 0 when the fused image is also all zero, else ``inf`` (never NaN).

    Examples
    --------
    >>> import numpy as np
    >>> round(rase(np.full((1, 2, 2), 0.3), np.full((1, 2, 2), 0.5)), 6)
    40.0
    """
    sq, s, n, origin = _prep_sums("rase", fused, reference, preset, data_range, with_sum=True)
    return restore_scores(_rase_from_sums(sq, s, n, defined=True), origin)


@register_metric("cc", full_name="Correlation coefficient (CC)", higher_is_better=True, inputs="reference",
                 kind="pansharpening", range=(-1.0, 1.0), presets=PRESETS_PS,
                 data_ranges=DATA_RANGE, references=_REFS_IAOA,
                 ideal=1.0)
def cc(fused: Any, reference: Any, *, preset: str = "default", data_range: float | None = None,
       bands: Sequence[int] | None = None) -> Any:
    """Correlation coefficient (CC): mean over bands of the per-band Pearson correlation.

    Under ``preset='iaoa'`` only bands 1-3 (0-based 0, 1, 2) are averaged, as the IAOA code divides
    by 3 (the NIR band is ignored). ``bands`` overrides the choice. A band that is constant in
    either image (zero variance, where MATLAB ``corr2`` gives NaN) counts as 1 when the two bands
    are identical and 0 otherwise, so CC is never NaN.
    """
    where = "cc"
    f, r, origin, _ = _prep_pair(where, fused, reference, preset, data_range)
    if bands is None and preset == "iaoa":
        if f.shape[1] < 3:
            raise ShapeError(f"{where}: preset 'iaoa' averages bands 1-3; got {f.shape[1]} bands")
        bands = (0, 1, 2)
    if bands is not None:
        bands = [check_int(where, "bands[i]", b, minimum=0, maximum=f.shape[1] - 1) for b in bands]
    return restore_scores(cc_kernel(f, r, bands, defined=True), origin)


@register_metric("uiqi", full_name="Universal image quality index (UIQI, Q)", higher_is_better=True,
                 inputs="reference", kind="pansharpening", range=(-1.0, 1.0), presets=PRESETS_PS,
                 data_ranges=DATA_RANGE,
                 references=("Z. Wang, A. C. Bovik, IEEE SPL 9(3), 2002, doi:10.1109/97.995823",)
                 + _REFS_VIVONE + _REFS_IAOA, ideal=1.0)
def uiqi(fused: Any, reference: Any, *, preset: str = "default", data_range: float | None = None,
         block_size: int = 32) -> Any:
    """Universal image quality index (UIQI, Wang-Bovik Q).

    ``Q = 4 s_xy mu_x mu_y / ((s_x^2 + s_y^2)(mu_x^2 + mu_y^2))``.

    * ``'default'``, ``'vivone'``: Q_avg, the Q map on sliding ``block_size`` windows (stride 1,
      'valid'), averaged over the map and then over the bands (toolbox ``img_qi``): where the
      variances sum to 0 but the means do not, ``Q = 2 mu_x mu_y / (mu_x^2 + mu_y^2)``; where all
      vanish, ``Q = 1``.
    * ``'iaoa'``: one global Q over the whole cube flattened to a vector.

    sewar's ``uqi`` (8x8 windows, and a means/sums mix-up) and torchmetrics' UQI (Gaussian 11/1.5
    window) are different numbers.
    """
    where = "uiqi"
    block_size = check_int(where, "block_size", block_size, minimum=2)
    f, r, origin, _ = _prep_pair(where, fused, reference, preset, data_range)
    if preset == "iaoa":
        return restore_scores(uiqi_kernel(f, r, "global"), origin)
    if min(f.shape[-2:]) < block_size:
        raise ShapeError(f"{where}: images must be at least `block_size`={block_size} pixels per side; "
                         f"got {tuple(f.shape[-2:])}")
    return restore_scores(uiqi_kernel(f, r, "sliding", block_size), origin)


@register_metric("q2n", full_name="Q2n hypercomplex quality index (Q4 / Q8)", higher_is_better=True,
                 inputs="reference", kind="pansharpening", range=(0.0, 1.0), presets=PRESETS_PS, data_ranges=DATA_RANGE,
                 references=("A. Garzelli, F. Nencini, IEEE GRSL 6(4), 2009, doi:10.1109/LGRS.2009.2022650",)
                 + _REFS_VIVONE, ideal=1.0)
def q2n(fused: Any, reference: Any, *, preset: str = "vivone", data_range: float | None = None,
        block_size: int = 32, shift: int | None = None) -> Any:
    """Q2n hypercomplex quality index (Q4 for 4 bands, Q8 for 8).

    The bands of each pixel form a Cayley-Dickson hypercomplex number (bands zero-padded to a
    power of 2). On each ``block_size`` block (step ``shift``, default = block size), every reference
    band is standardised to ``(x - mu)/sigma + 1`` (unbiased sigma, ``eps`` if 0) and the same
    ``mu, sigma`` are applied to the fused band; the fused number is conjugated, and
    ``Q2n_block = |s_z1z2| / (s_z1 s_z2) * 2 s_z1 s_z2 / (s_z1^2 + s_z2^2) * 2|m1||m2| / (|m1|^2 + |m2|^2)``
    with N/(N-1) moments. The index is the mean of the block moduli. 1 is best.

    Parameters
    ----------
    preset : {'vivone', 'iaoa', 'default'}
        ``'vivone'`` (the default here) casts both images to ``uint16`` first (round, saturate), as the
        toolbox does, so the data must be digital numbers: [0, 1] data are refused. ``'iaoa'`` is the
        same code (the IAOA release ships the toolbox's ``q2n``, never called) with 8-bit DN.
        ``'default'`` uses the values as given (sewar's ``q2n`` behaviour).

    Notes
    -----
    Conventions: bottom/right padding to a multiple of the block by mirroring with the edge sample
    repeated; the product ordering follows the toolbox's ``onion_mult`` recursion.
    """
    where = "q2n"
    check_preset(where, preset)
    block_size = check_int(where, "block_size", block_size, minimum=2)
    shift = block_size if shift is None else check_int(where, "shift", shift, minimum=1)
    f, r, origin, _ = _prep_pair(where, fused, reference, preset, data_range)
    if preset in ("vivone", "iaoa") and float(r.max()) <= 1.0:
        raise ValueError(f"{where}: preset {preset!r} casts to uint16 like the toolbox, so data must be "
                         f"digital numbers (DN); got reference values in [{float(r.min()):.3g}, "
                         f"{float(r.max()):.3g}] (looks like [0, 1] data: multiply by 2**L - 1 or use "
                         "preset='default')")
    if min(f.shape[-2:]) < block_size:
        raise ShapeError(f"{where}: images must be at least `block_size`={block_size} pixels per side; "
                         f"got {tuple(f.shape[-2:])}")
    return restore_scores(q2n_kernel(f, r, block_size, shift, cast_uint16=(preset != "default")), origin)


@register_metric("scc", full_name="Spatial correlation coefficient (SCC)", higher_is_better=True,
                 inputs="reference", kind="pansharpening", range=(0.0, 1.0), presets=PRESETS_PS, data_ranges=DATA_RANGE,
                 references=("J. Zhou, D. L. Civco, J. A. Silander, IJRS 19(4), 1998",) + _REFS_VIVONE,
                 ideal=1.0)
def scc(fused: Any, reference: Any, *, preset: str = "default", data_range: float | None = None) -> Any:
    """Spatial correlation coefficient (SCC), toolbox variant.

    The cosine similarity ``<G_F, G_R> / (|G_F| |G_R|)`` of the Sobel gradient-magnitude maps of all
    bands, on the image interior (a 1-px ring removed). sewar and torchmetrics instead correlate
    Laplacian high-pass images in 8x8 windows (a different number). The three presets share this
    definition (the IAOA release does not use SCC). When either gradient map is all zero (a
    constant image) SCC is 1 if both are, else 0 (the cosine would be 0/0), never NaN.
    """
    f, r, origin, _ = _prep_pair("scc", fused, reference, preset, data_range)
    if min(f.shape[-2:]) < 3:
        raise ShapeError(f"scc: images must be at least 3x3; got {tuple(f.shape[-2:])}")
    return restore_scores(scc_kernel(f, r, defined=True), origin)


# ------------------------------------------------------------------------------------------------
# full resolution (no reference)
# ------------------------------------------------------------------------------------------------

def _prep_fr(where: str, fused: Any, ms: Any, pan: Any, ratio: int, block_size: int, preset: str,
             data_range: float | None, need_pan: bool):
    dr = _range_for(where, preset, data_range)
    ratio = check_int(where, "ratio", ratio, minimum=1)
    block_size = check_int(where, "block_size", block_size, minimum=2)
    f, origin = as_tensor(fused, where=where, name="fused")
    m, _ = as_tensor(ms, where=where, name="ms")
    f, m = f.to(torch.float64), m.to(torch.float64)
    for n, t in (("fused", f), ("ms", m)):
        check_finite(where, n, t)
    check_range(where, "ms", m, 0.0, dr)
    check_range(where, "fused", f, -dr, 2.0 * dr)
    if f.shape[:2] != m.shape[:2]:
        raise ShapeError(f"{where}: `fused` and `ms` must have the same batch and band counts; got "
                         f"{tuple(f.shape)} and {tuple(m.shape)}")
    H, W = f.shape[-2:]
    if m.shape[-2:] == (H, W):
        m_up = m
    elif (m.shape[-2] * ratio, m.shape[-1] * ratio) == (H, W):
        m_up = interp23tap(m, ratio)
    else:
        raise ShapeError(f"{where}: `ms` must be {H}x{W} (upsampled) or {H // ratio}x{W // ratio} "
                         f"(ratio {ratio}); got {m.shape[-2]}x{m.shape[-1]}")
    if H % block_size or W % block_size:
        raise ShapeError(f"{where}: image sides must be multiples of `block_size`={block_size}; got {H}x{W}")
    p = None
    if need_pan:
        if pan is None:
            raise ValueError(f"{where}: `pan` is required")
        p, _ = as_tensor(pan, where=where, name="pan")
        p = p.to(torch.float64)
        check_finite(where, "pan", p)
        check_range(where, "pan", p, 0.0, dr)
        if p.shape[1] != 1 or p.shape[-2:] != (H, W) or p.shape[0] not in (1, f.shape[0]):
            raise ShapeError(f"{where}: `pan` must be one band of {H}x{W}; got {tuple(p.shape)}")
        p = p.expand(f.shape[0], -1, -1, -1)
    return f, m_up, p, origin, ratio, block_size


def _d_lambda(f, m_up, s, p=1.0):
    c = f.shape[1]
    diffs = []
    for i in range(c):
        for j in range(i + 1, c):
            qf = _q_blocks(f[:, i:i + 1], f[:, j:j + 1], s)[:, 0]
            qm = _q_blocks(m_up[:, i:i + 1], m_up[:, j:j + 1], s)[:, 0]
            diffs.append((qf - qm).abs() ** p)
    return torch.stack(diffs, 1).mean(1) ** (1.0 / p)


def _pan_lr(pan, ratio):
    return interp23tap(imresize_bicubic(pan, 1.0 / ratio), ratio)


def _d_s(f, m_up, pan, pan_lr, s, q=1.0):
    c = f.shape[1]
    pe = pan.expand(-1, c, -1, -1)
    ple = pan_lr.expand(-1, c, -1, -1)
    qh = _q_blocks(f, pe, s)
    ql = _q_blocks(m_up, ple, s)
    return ((qh - ql).abs() ** q).mean(1) ** (1.0 / q)


@register_metric("d_lambda", full_name="Spectral distortion index (D_lambda)", higher_is_better=False,
                 inputs="ms_pan", kind="pansharpening", range=(0.0, 1.0), presets=PRESETS_PS, data_ranges=DATA_RANGE,
                 references=("L. Alparone et al., PE&RS 74(2), 2008, doi:10.14358/PERS.74.2.193",)
                 + _REFS_VIVONE, ideal=0.0)
def d_lambda(fused: Any, ms: Any, pan: Any = None, *, ratio: int = 4, block_size: int = 32, p: float = 1,
             preset: str = "default", data_range: float | None = None) -> Any:
    """Spectral distortion index D_lambda ("toolbox 1.0" form).

    ``D_lambda = (mean_{i<j} |Q(F_i, F_j) - Q(M_i, M_j)|^p)^(1/p)``, Q the plain UIQI averaged over
    non-overlapping ``block_size`` blocks, ``M`` the MS upsampled to the fused size (an LR ``ms`` is
    upsampled with ``interp23tap``; an already upsampled one is used as is). ``pan`` is ignored.
    0 is best.
    """
    where = "d_lambda"
    check_positive(where, "p", p)
    f, m, _, origin, ratio, s = _prep_fr(where, fused, ms, None, ratio, block_size, preset, data_range, False)
    return restore_scores(_d_lambda(f, m, s, float(p)), origin)


@register_metric("d_s", full_name="Spatial distortion index (D_s)", higher_is_better=False, inputs="ms_pan",
                 kind="pansharpening", range=(0.0, 1.0), presets=PRESETS_PS,
                 data_ranges=DATA_RANGE, references=_REFS_VIVONE,
                 ideal=0.0)
def d_s(fused: Any, ms: Any, pan: Any, *, pan_lr: Any = None, ratio: int = 4, block_size: int = 32,
        q: float = 1, preset: str = "default", data_range: float | None = None) -> Any:
    """Spatial distortion index D_s.

    ``D_s = (mean_i |Q(F_i, PAN) - Q(M_i, PAN_LR)|^q)^(1/q)`` with block Q as in :func:`d_lambda`;
    ``PAN_LR = interp23tap(imresize(PAN, 1/ratio, 'bicubic'))`` unless ``pan_lr`` (full size) is given.
    0 is best.
    """
    where = "d_s"
    check_positive(where, "q", q)
    f, m, p_, origin, ratio, s = _prep_fr(where, fused, ms, pan, ratio, block_size, preset, data_range, True)
    if pan_lr is None:
        pl = _pan_lr(p_, ratio)
    else:
        pl, _ = as_tensor(pan_lr, where=where, name="pan_lr")
        pl = pl.to(torch.float64).expand(f.shape[0], -1, -1, -1)
        if pl.shape != p_.shape:
            raise ShapeError(f"{where}: `pan_lr` must have the shape of `pan` {tuple(p_.shape)}; "
                             f"got {tuple(pl.shape)}")
    return restore_scores(_d_s(f, m, p_, pl, s, float(q)), origin)


@register_metric("qnr", full_name="Quality with no reference (QNR)", higher_is_better=True, inputs="ms_pan",
                 kind="pansharpening", range=(0.0, 1.0), presets=PRESETS_PS,
                 data_ranges=DATA_RANGE, references=_REFS_VIVONE,
                 ideal=1.0)
def qnr(fused: Any, ms: Any, pan: Any, *, ratio: int = 4, block_size: int = 32, alpha: float = 1,
        beta: float = 1, preset: str = "default", data_range: float | None = None) -> Any:
    """Quality with no reference: ``QNR = (1 - D_lambda)^alpha (1 - D_s)^beta`` (p = q = 1). 1 is best."""
    where = "qnr"
    f, m, p_, origin, ratio, s = _prep_fr(where, fused, ms, pan, ratio, block_size, preset, data_range, True)
    dl = _d_lambda(f, m, s)
    ds = _d_s(f, m, p_, _pan_lr(p_, ratio), s)
    return restore_scores((1 - dl) ** float(alpha) * (1 - ds) ** float(beta), origin)


@register_metric("hqnr", full_name="Hybrid quality with no reference (HQNR)", higher_is_better=True,
                 inputs="ms_pan", kind="pansharpening", range=(0.0, 1.0), presets=PRESETS_PS, data_ranges=DATA_RANGE,
                 references=("M. M. Khan et al., IEEE TGRS 47(11), 2009; Aiazzi et al., 2014",) + _REFS_VIVONE,
                 ideal=1.0)
def hqnr(fused: Any, ms: Any, pan: Any, *, ratio: int = 4, block_size: int = 32,
         gains: Sequence[float] = (0.3,), preset: str = "vivone", data_range: float | None = None) -> Any:
    """Hybrid QNR: ``(1 - D_lambda^K)(1 - D_s)``, ``D_lambda^K = 1 - Q2n(M, MTF(F))``.

    ``MTF(F)`` filters the fused image with the MS MTF filters (``gains`` per band; not decimated).
    Under ``preset='vivone'`` Q2n casts to uint16, so data must be DN.
    """
    where = "hqnr"
    f, m, p_, origin, ratio, s = _prep_fr(where, fused, ms, pan, ratio, block_size, preset, data_range, True)
    if preset != "default" and float(m.max()) <= 1.0:
        raise ValueError(f"{where}: preset {preset!r} needs DN data (Q2n casts to uint16); got [0, 1] values")
    dlk = 1 - q2n_kernel(mtf_filter(f, gains, ratio), m, s, s, cast_uint16=(preset != "default"))
    ds = _d_s(f, m, p_, _pan_lr(p_, ratio), s)
    return restore_scores((1 - dlk) * (1 - ds), origin)


# ------------------------------------------------------------------------------------------------
# the IAOA metric set in one batched call
# ------------------------------------------------------------------------------------------------

#: The six indices of the IAOA tables, with "higher is better".
IAOA_METRICS = {"CC": True, "RMSE": False, "ERGAS": False, "UIQI": True, "SAM": False, "RASE": False}


def iaoa_scores(fused: torch.Tensor, reference: torch.Tensor, *, ratio: float = 4.0,
                bands: Sequence[int] | None = None) -> dict[str, torch.Tensor]:
    """The six IAOA indices of a (B, C, H, W) batch against a (1 or B, C, H, W) reference, as tensors (B,).

    Private-kernel path (no validation) for experiment loops; conventions of ``preset='iaoa'``.
    ``bands`` restricts every index to those bands (e.g. ``(0, 1, 2)`` for the visible bands).
    """
    f = fused.to(torch.float64)
    r = reference.to(torch.float64).expand_as(f)
    if bands is not None:
        f, r = f[:, list(bands)], r[:, list(bands)]
    ccb = (0, 1, 2) if bands is None and f.shape[1] >= 3 else None
    return {"CC": cc_kernel(f, r, ccb), "RMSE": rmse_kernel(f, r), "ERGAS": ergas_kernel(f, r, ratio),
            "UIQI": uiqi_kernel(f, r, "global"), "SAM": sam_kernel(f, r), "RASE": rase_kernel(f, r)}
