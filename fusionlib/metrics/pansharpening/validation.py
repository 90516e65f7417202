"""Pansharpening indices: presets, data ranges and the validation of the inputs.

The checks of a (fused, reference) pair (:func:`_prep_pair`) and, for ERGAS, RMSE and RASE, their
per-plane sums in one sweep over each image (:func:`_sweep`, :func:`_prep_sums`): a compiled loop
(numba, :mod:`fusionlib._jit`) or NumPy/BLAS over cache-sized pieces.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from scipy.linalg.blas import get_blas_funcs

from ... import _jit
from ..._checks import (UINT_VIEW, ShapeError, _extremes, _raise_outside, all_in_nonneg_range,
                        check_finite, check_finite_range, nonneg_pattern_bound)
from ..._convert import as_tensor
from ...filters import SENSOR_GAINS as _SENSOR_GAINS
from .._common import CHUNK
from .._registry import METRICS

__all__ = ["PRESETS_PS", "DATA_RANGE", "SENSOR_GAINS", "SWEEP"]


PRESETS_PS = ("default", "vivone", "iaoa")


#: Default data range per preset (the upper bound the reference is checked against).
DATA_RANGE = {"default": 1.0, "vivone": 2.0 ** 11, "iaoa": 255.0}


#: MTF gains at the LR Nyquist frequency (Vivone's toolbox), band order B, G, R, NIR: the one sensor
#: table, :data:`fusionlib.filters.SENSOR_GAINS` (re-exported here).
SENSOR_GAINS = _SENSOR_GAINS


_REFS_VIVONE = ("G. Vivone et al., A critical comparison among pansharpening algorithms, IEEE TGRS 53(5), "
                "2015, doi:10.1109/TGRS.2014.2361734",)


_REFS_IAOA = ("X. Mi, Q. Luo, Y. Zhou, J. Intell. Fuzzy Syst. 46(4), 2024, doi:10.3233/JIFS-235607; "
              "starboot/IAOA-For-Image-Fusion@cce2a5c Objective_Evaluation",)


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
