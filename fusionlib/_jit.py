"""Compiled CPU loops (numba) for the few kernels that NumPy and BLAS cannot fuse into one pass.

A metric such as ERGAS reads two images once and needs, per plane, a sum of squared differences, a sum
of the reference and a range test of both images. NumPy and BLAS do that in five passes (difference,
two range tests, squares, sum); a loop compiled by numba does it in one, at the speed of reading memory.
Each loop here has a NumPy/BLAS twin in its caller that gives the same numbers (to the documented
float32 tolerance) and is used when the loop is not: numba cannot be imported, or the environment
variable ``FUSIONLIB_JIT`` is ``0`` (``off``, ``false``, ``no``).

numba is imported and each loop compiled on first use, not on ``import fusionlib`` (the compiled code
is cached on disk by numba, ``cache=True``, so a later process loads it in milliseconds). Loops never
run threads of their own.

Public functions here return the compiled function, or None where the fallback must be taken.
"""
from __future__ import annotations

import os
import warnings

import numpy as np

__all__ = ["enabled", "pair_sums", "plane_var", "vif_sums"]

_OFF = {"0", "off", "false", "no"}
_COMPILED: dict = {}


def enabled() -> bool:
    """True unless ``FUSIONLIB_JIT`` is 0/off/false/no, or numba failed to import (then warned once)."""
    if os.environ.get("FUSIONLIB_JIT", "1").strip().lower() in _OFF:
        return False
    if "numba" not in _COMPILED:
        try:
            import numba
        except Exception as exc:  # noqa: BLE001 - any import failure means: take the NumPy path
            warnings.warn(f"fusionlib: numba could not be imported ({exc!r}); using the NumPy paths "
                          "(same values, slower)", RuntimeWarning, stacklevel=3)
            numba = None
        _COMPILED["numba"] = numba
    return _COMPILED["numba"] is not None


def _pair_sums_py(f, r, fu, ru, sq, s):
    """One pass over a (fused, reference) pair of (P, N) planes.

    ``f``, ``r``: float32 or float64 (P, N), rows of unit stride, P, N >= 1; ``fu``, ``ru``: the same memory
    read as unsigned integers of the same width; ``sq``, ``s``: float64 (P,) outputs.
    Writes ``sq[p] = sum_i (f - r)^2`` and ``s[p] = sum_i r``, each difference and each sum in float64
    (the difference of two floats of the data's dtype is exact in float64), and returns the largest bit
    patterns ``(max fu, max ru)`` for the range test of
    :func:`fusionlib._checks.all_in_nonneg_range`. The sums are added in an order the compiler chooses
    (vector lanes): relative error ~1e-15, not bit-identical to NumPy's pairwise sums.
    """
    n_planes, n = f.shape
    mf = fu[0, 0]
    mr = ru[0, 0]
    for p in range(n_planes):
        fp, rp, fup, rup = f[p], r[p], fu[p], ru[p]
        a = 0.0
        b = 0.0
        for i in range(n):
            y = np.float64(rp[i])
            d = np.float64(fp[i]) - y
            a += d * d
            b += y
            mf = max(mf, fup[i])
            mr = max(mr, rup[i])
        sq[p] = a
        s[p] = b
    return mf, mr


def _plane_var_py(x, xu, var):
    """Population variance of every plane of ``x`` (P, N) float32/float64 (P, N >= 1), two passes in
    float64 (the mean, then the sum of squared deviations), into ``var`` (P,) float64; returns the
    largest bit pattern of ``xu`` (``x`` read as unsigned integers) for the range test of
    :func:`fusionlib._checks.all_in_nonneg_range`."""
    n_planes, n = x.shape
    mx = xu[0, 0]
    for p in range(n_planes):
        xp, xup = x[p], xu[p]
        s = 0.0
        for i in range(n):
            s += np.float64(xp[i])
            mx = max(mx, xup[i])
        mu = s / n
        q = 0.0
        for i in range(n):
            d = np.float64(xp[i]) - mu
            q += d * d
        var[p] = q / n
    return mx


def _vif_sums_py(m, c, sigma_nsq, eps, zero, one, num, den):
    """Pixel-domain VIF terms of one scale from its window moments, summed per plane.

    ``m``: (B, H, W, 5C) float32 or float64, the channels-last window means of (ref, dist, ref^2,
    dist^2, ref dist) in blocks of C channels (:func:`fusionlib.filters.moment_maps`);
    ``sigma_nsq``, ``eps`` (1e-10), ``zero``, ``one``: scalars of ``m``'s dtype; ``num``, ``den``:
    float64 (B, C), incremented by sum log10(1 + g^2 s1 / (sv + sigma_nsq)) and
    sum log10(1 + s1 / sigma_nsq). Per pixel the statistics of Sheikh and Bovik's ``vifvec``, with the
    guards of the torch kernel (``fusionlib.metrics.perceptual._vif_info``) and in the data's dtype as
    there (no fused multiply-add: e11 - mu1^2 of a flat window must cancel as in torch). The factors
    1 + ... are >= 1 and, on the 0..255 scale, below ~1e30, so the logs of a plane are taken as the
    float64 log of running products, renormalised before they could overflow: one log per several
    pixels instead of two per pixel (numba has no vectorised log10).
    """
    nb, h, w, _ = m.shape
    for b in range(nb):
        for ch in range(c):
            a = 0.0
            d = 0.0
            pa = 1.0
            pd = 1.0
            for i in range(h):
                for j in range(w):
                    mu1 = m[b, i, j, ch]
                    mu2 = m[b, i, j, c + ch]
                    s1 = max(m[b, i, j, 2 * c + ch] - mu1 * mu1, zero)
                    s2 = max(m[b, i, j, 3 * c + ch] - mu2 * mu2, zero)
                    s12 = m[b, i, j, 4 * c + ch] - mu1 * mu2
                    g = s12 / (s1 + eps)
                    sv = s2 - g * s12
                    if s1 < eps:
                        g = zero
                        sv = s2
                        s1 = zero
                    if s2 < eps:
                        g = zero
                        sv = zero
                    if g < zero:
                        sv = s2
                        g = zero
                    sv = max(sv, eps)
                    pa *= np.float64(one + g * g * s1 / (sv + sigma_nsq))
                    pd *= np.float64(one + s1 / sigma_nsq)
                    if pa > 1e200 or pd > 1e200:
                        a += np.log10(pa)
                        d += np.log10(pd)
                        pa = 1.0
                        pd = 1.0
            num[b, ch] += a + np.log10(pa)
            den[b, ch] += d + np.log10(pd)


def _compile(name: str, py_func, fastmath):
    if not enabled():
        return None
    fn = _COMPILED.get(name)
    if fn is None:
        fn = _COMPILED["numba"].njit(cache=True, nogil=True, fastmath=fastmath)(py_func)
        _COMPILED[name] = fn
    return fn


def vif_sums():
    """The compiled :func:`_vif_sums_py`, or None (use the torch kernel)."""
    return _compile("vif_sums", _vif_sums_py, False)  # exact IEEE order per pixel


def plane_var():
    """The compiled :func:`_plane_var_py`, or None (use :func:`fusionlib.metrics._common.plane_var`)."""
    return _compile("plane_var", _plane_var_py, {"reassoc", "contract"})


def pair_sums():
    """The compiled :func:`_pair_sums_py`, or None (use the NumPy/BLAS twin)."""
    # reassoc lets the float64 sums run in vector lanes; no nnan/ninf: NaN and Inf must propagate
    return _compile("pair_sums", _pair_sums_py, {"reassoc", "contract"})
