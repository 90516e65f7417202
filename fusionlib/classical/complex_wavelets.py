"""Dual-tree complex wavelet transform (DT-CWT, Kingsbury) in torch, and DT-CWT fusion.

Batched 2-D forward and inverse transform on any device, with the level-1
biorthogonal filters ``near_sym_b`` and the level >= 2 Q-shift filters
``qshift_b``. Conventions (filter alignment, half-sample symmetric extension,
quad-to-complex mapping, order of the six subbands, extension of odd sizes and
of levels whose size is not a multiple of 4) are those of Kingsbury's MATLAB
DT-CWT toolbox as documented by the ``dtcwt`` Python package
(``dtcwt.Transform2d``), with which the coefficients agree to rounding.

Subbands of a level, in the package's order: index 0..5 point at about
15, 45, 75, 105, 135, 165 degrees (0 and 5: horizontal pair, 1 and 4: diagonal
pair, 2 and 3: vertical pair).
"""
from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import torch

from .._checks import ShapeError, check_choice, check_int
from .._convert import as_tensor, restore
from ._common import select_max_abs
from ._registry import MAX_LEVELS, register_method
from .._checks import int_param

__all__ = ["dtcwt_forward", "dtcwt_inverse", "dtcwt_filters"]

# ----------------------------------------------------------------------------- filter banks
# Published coefficients (facts): N. G. Kingsbury, "Complex wavelets for shift invariant
# analysis and filtering of signals", Appl. Comput. Harmon. Anal. 10(3) (2001) 234-253,
# doi:10.1006/acha.2000.0343 (Q-shift design), and the filter tables distributed with
# Kingsbury's DT-CWT toolbox and the `dtcwt` package (`dtcwt.coeffs.biort('near_sym_b')`,
# `dtcwt.coeffs.qshift('qshift_b')`). Only the independent filters are written out; the
# others follow from the standard relations in `_bank`.

# near_sym_b: 13-tap analysis lowpass h0o and 19-tap synthesis lowpass g0o (near-symmetric,
# biorthogonal; Kingsbury 1999/2001).
_NEAR_SYM_B_H0O = (
    -0.0017578125, 0.0, 0.022265625, -0.046875, -0.0482421875, 0.296875, 0.55546875,
    0.296875, -0.0482421875, -0.046875, 0.022265625, 0.0, -0.0017578125)
_NEAR_SYM_B_G0O = (
    7.062639508928571e-05, 0.0, -0.0013419015066964285, -0.0018833705357142855,
    0.007156808035714285, 0.023856026785714284, -0.05564313616071428, -0.05168805803571428,
    0.29975760323660716, 0.5594308035714286, 0.29975760323660716, -0.05168805803571428,
    -0.05564313616071428, 0.023856026785714284, 0.007156808035714285, -0.0018833705357142855,
    -0.0013419015066964285, 0.0, 7.062639508928571e-05)
# qshift_b: 14-tap tree-a analysis lowpass h0a (quarter-sample shift; Kingsbury 2001, Table 2).
_QSHIFT_B_H0A = (
    0.003253142763653182, -0.00388321199915849, 0.03466034684485349, -0.03887280126882779,
    -0.11720388769911527, 0.27529538466888204, 0.7561456438925225, 0.5688104207121227,
    0.011866092033797, -0.1067118046866654, 0.023825384794920298, 0.01702522388155399,
    -0.005439475937274115, -0.004556895628475491)

BIORT = ("near_sym_b",)
QSHIFT = ("qshift_b",)


@lru_cache(maxsize=4)
def _bank_tuples(biort: str, qshift: str) -> dict[str, tuple[float, ...]]:
    """All filters from the independent ones.

    Level 1 (biorthogonal, odd length): ``h1o[n] = (-1)^(n+1) g0o[n]``,
    ``g1o[n] = (-1)^n h0o[n]``. Levels >= 2 (Q-shift, even length m):
    ``h0b = reverse(h0a)``, ``g0a = h0b``, ``g0b = h0a``, ``h1a[n] = (-1)^n h0b[n]``,
    ``h1b = reverse(h1a)``, ``g1a = h1b``, ``g1b = h1a`` (tree b is the time reverse of
    tree a; synthesis filters are the time reverses of the analysis ones).
    """
    h0o, g0o, h0a = _NEAR_SYM_B_H0O, _NEAR_SYM_B_G0O, _QSHIFT_B_H0A
    h1o = tuple((-1.0) ** (n + 1) * v for n, v in enumerate(g0o))
    g1o = tuple((-1.0) ** n * v for n, v in enumerate(h0o))
    h0b = h0a[::-1]
    h1a = tuple((-1.0) ** n * v for n, v in enumerate(h0b))
    h1b = h1a[::-1]
    return {"h0o": h0o, "g0o": g0o, "h1o": h1o, "g1o": g1o,
            "h0a": h0a, "h0b": h0b, "g0a": h0b, "g0b": h0a,
            "h1a": h1a, "h1b": h1b, "g1a": h1b, "g1b": h1a}


def dtcwt_filters(biort: str = "near_sym_b", qshift: str = "qshift_b") -> dict[str, Any]:
    """The filter bank as NumPy arrays, keyed as in Kingsbury's toolbox
    (``h0o, g0o, h1o, g1o`` for level 1; ``h0a, h0b, g0a, g0b, h1a, h1b, g1a, g1b`` for
    levels >= 2)."""
    import numpy as np

    check_choice("dtcwt_filters", "biort", biort, BIORT)
    check_choice("dtcwt_filters", "qshift", qshift, QSHIFT)
    return {k: np.asarray(v) for k, v in _bank_tuples(biort, qshift).items()}


# ----------------------------------------------------------------------------- 1-D filtering
def _sym_index(n: int, before: int, after: int, device) -> torch.Tensor:
    """Indices of a half-sample symmetric extension (end samples repeated: ... 1 0 | 0 1 ...
    n-1 | n-1 n-2 ...), periodic with period 2n so any extension length works."""
    i = torch.arange(-before, n + after, device=device)
    m = torch.remainder(i, 2 * n)
    return torch.where(m >= n, 2 * n - 1 - m, m)


def _sym_extend(x: torch.Tensor, dim: int, before: int, after: int) -> torch.Tensor:
    """``x`` extended along ``dim`` by :func:`_sym_index` (flipped slices when they suffice)."""
    n = x.shape[dim]
    if before <= n and after <= n:
        parts = [x.narrow(dim, 0, before).flip(dim)] if before else []
        parts.append(x)
        if after:
            parts.append(x.narrow(dim, n - after, after).flip(dim))
        return torch.cat(parts, dim=dim)
    return x.index_select(dim, _sym_index(n, before, after, x.device))


def _rows(fn):
    """Run a 1-D filter along the last axis as along the rows of the transposed array
    (strided slices of whole rows vectorise; strided columns do not)."""
    def wrapped(x, *args):
        *rest, dim = args
        if dim % x.ndim == x.ndim - 1:
            return fn(x.transpose(-1, -2).contiguous(), *rest, -2).transpose(-1, -2)
        return fn(x, *rest, dim)
    wrapped.__doc__ = fn.__doc__
    wrapped.__name__ = fn.__name__
    return wrapped


def _take(x: torch.Tensor, dim: int, start: int, count: int, step: int = 1) -> torch.Tensor:
    idx = [slice(None)] * x.ndim
    idx[dim] = slice(start, start + step * (count - 1) + 1, step)
    return x[tuple(idx)]


def _conv_valid(xe: torch.Tensor, dim: int, h: tuple[float, ...], base: int, step: int,
                count: int) -> torch.Tensor:
    """``y[i] = sum_k h[k] xe[base + step (i + L - 1 - k)]`` along ``dim`` (a convolution,
    i = 0 .. count-1), as L strided slices accumulated in place."""
    L = len(h)
    out = None
    for k in range(L):
        if h[k] == 0.0:
            continue
        v = _take(xe, dim, base + step * (L - 1 - k), count, step)
        if out is None:
            out = v * h[k]
        else:
            out.add_(v, alpha=h[k])
    return out


def _interleave(parts: list[torch.Tensor], dim: int) -> torch.Tensor:
    """``out[p + len(parts) i] = parts[p][i]`` along ``dim``."""
    d = dim % parts[0].ndim
    z = torch.stack(parts, dim=d + 1)
    shape = list(parts[0].shape)
    shape[d] *= len(parts)
    return z.reshape(shape)


@_rows
def _colfilter(x: torch.Tensor, h: tuple[float, ...], dim: int) -> torch.Tensor:
    """Filter along ``dim`` with an odd-length filter, symmetric extension, same size."""
    n = x.shape[dim]
    m = len(h)
    m2 = m // 2
    xe = _sym_extend(x, dim, m2, m2)
    return _conv_valid(xe, dim, h, 0, 1, n + 2 * m2 - m + 1)


@_rows
def _coldfilt(x: torch.Tensor, ha: tuple[float, ...], hb: tuple[float, ...], dim: int) -> torch.Tensor:
    """Q-shift analysis along ``dim``: filter with ``ha``/``hb`` on the two interleaved
    phases and decimate by 2 (length a multiple of 4 -> half of it).

    With the input symmetrically extended by m samples each side (``xe[j] = x[ext(j - m)]``),
    output pairs are ``ya[i] = sum_k ha[2k] xe[4 + 4(i + L-1-k)] + ha[2k+1] xe[2 + 4(...)]``
    and ``yb[i] = sum_k hb[2k] xe[5 + 4(...)] + hb[2k+1] xe[3 + 4(...)]`` (L = m/2), placed
    as (ya, yb) when ``sum(ha * hb) > 0`` and (yb, ya) otherwise.
    """
    n = x.shape[dim]
    m = len(ha)
    q = n // 4
    xe = _sym_extend(x, dim, m, m)
    ya = _conv_valid(xe, dim, ha[0::2], 4, 4, q).add_(_conv_valid(xe, dim, ha[1::2], 2, 4, q))
    yb = _conv_valid(xe, dim, hb[0::2], 5, 4, q).add_(_conv_valid(xe, dim, hb[1::2], 3, 4, q))
    same = sum(a * b for a, b in zip(ha, hb)) > 0
    return _interleave([ya, yb] if same else [yb, ya], dim)


@_rows
def _colifilt(x: torch.Tensor, ha: tuple[float, ...], hb: tuple[float, ...], dim: int) -> torch.Tensor:
    """Q-shift synthesis along ``dim``: interpolate by 2 with ``ha``/``hb`` (even length n ->
    2n), four output phases from the input extended by m/2 samples each side."""
    n = x.shape[dim]
    m = len(ha)
    m2 = m // 2
    xe = _sym_extend(x, dim, m2, m2)
    same = sum(a * b for a, b in zip(ha, hb)) > 0
    cnt = n // 2
    hao, hae, hbo, hbe = ha[0::2], ha[1::2], hb[0::2], hb[1::2]
    if m2 % 2 == 0:        # t = 3, 5, ...; phases read t-2 and t
        ta, tb = (3, 2) if same else (2, 3)
        parts = [_conv_valid(xe, dim, hae, tb - 2, 2, cnt), _conv_valid(xe, dim, hbe, ta - 2, 2, cnt),
                 _conv_valid(xe, dim, hao, tb, 2, cnt), _conv_valid(xe, dim, hbo, ta, 2, cnt)]
    else:                  # t = 2, 4, ...
        ta, tb = (2, 1) if same else (1, 2)
        parts = [_conv_valid(xe, dim, hao, tb, 2, cnt), _conv_valid(xe, dim, hbo, ta, 2, cnt),
                 _conv_valid(xe, dim, hae, tb, 2, cnt), _conv_valid(xe, dim, hbe, ta, 2, cnt)]
    return _interleave(parts, dim)


# ----------------------------------------------------------------------------- quads <-> complex
_S = math.sqrt(0.5)


def _q2c(y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(M, 2h, 2w) real quads -> the two complex subbands (M, h, w) of an orientation pair:
    with ``a, b, c, d`` the samples at (even, even), (even, odd), (odd, even), (odd, odd),
    ``p = (a + jb)/sqrt2``, ``q = (d - jc)/sqrt2``, subbands ``p - q`` and ``p + q``."""
    a = y[..., 0::2, 0::2]
    b = y[..., 0::2, 1::2]
    c = y[..., 1::2, 0::2]
    d = y[..., 1::2, 1::2]
    z1 = torch.complex((a - d) * _S, (b + c) * _S)
    z2 = torch.complex((a + d) * _S, (b - c) * _S)
    return z1, z2


def _c2q(w1: torch.Tensor, w2: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`_q2c`: ``P = (w1 + w2)/sqrt2``, ``Q = (w1 - w2)/sqrt2``, quads
    ``a = Re P``, ``b = Im P``, ``c = Im Q``, ``d = -Re Q``."""
    p = (w1 + w2) * _S
    q = (w1 - w2) * _S
    top = _interleave([p.real, p.imag], -1)
    bottom = _interleave([q.imag, -q.real], -1)
    return _interleave([top, bottom], -2)


# ----------------------------------------------------------------------------- 2-D transform
def _forward(x: torch.Tensor, n_levels: int, biort: str = "near_sym_b", qshift: str = "qshift_b"):
    """(M, H, W) real -> lowpass (M, h, w), highpasses [(M, 6, h_l, w_l) complex], finest first.

    Odd H or W: the last row/column is repeated first; a level whose size is not a multiple
    of 4 is extended by one repeated sample at each end (Kingsbury's convention).
    """
    f = _bank_tuples(biort, qshift)
    if x.shape[-2] % 2:
        x = torch.cat([x, x[..., -1:, :]], dim=-2)
    if x.shape[-1] % 2:
        x = torch.cat([x, x[..., -1:]], dim=-1)
    highs = []
    lo = _colfilter(x, f["h0o"], -2)
    hi = _colfilter(x, f["h1o"], -2)
    lolo = _colfilter(lo, f["h0o"], -1)
    bands = (_q2c(_colfilter(hi, f["h0o"], -1)), _q2c(_colfilter(hi, f["h1o"], -1)),
             _q2c(_colfilter(lo, f["h1o"], -1)))
    highs.append(_six(bands))
    for _ in range(1, n_levels):
        if lolo.shape[-2] % 4:
            lolo = torch.cat([lolo[..., :1, :], lolo, lolo[..., -1:, :]], dim=-2)
        if lolo.shape[-1] % 4:
            lolo = torch.cat([lolo[..., :1], lolo, lolo[..., -1:]], dim=-1)
        lo = _coldfilt(lolo, f["h0b"], f["h0a"], -2)
        hi = _coldfilt(lolo, f["h1b"], f["h1a"], -2)
        lolo = _coldfilt(lo, f["h0b"], f["h0a"], -1)
        bands = (_q2c(_coldfilt(hi, f["h0b"], f["h0a"], -1)), _q2c(_coldfilt(hi, f["h1b"], f["h1a"], -1)),
                 _q2c(_coldfilt(lo, f["h1b"], f["h1a"], -1)))
        highs.append(_six(bands))
    return lolo, highs


def _six(bands) -> torch.Tensor:
    """(horizontal pair, diagonal pair, vertical pair) -> subbands in the order 0..5:
    h1, d1, v1, v2, d2, h2."""
    (h1, h2), (d1, d2), (v1, v2) = bands
    return torch.stack([h1, d1, v1, v2, d2, h2], dim=-3)


def _inverse(lowpass: torch.Tensor, highs: list[torch.Tensor], biort: str = "near_sym_b",
             qshift: str = "qshift_b") -> torch.Tensor:
    """Inverse of :func:`_forward`; returns the even (extended) size of the level-1 input."""
    f = _bank_tuples(biort, qshift)
    z = lowpass
    for lev in range(len(highs) - 1, 0, -1):
        hb = highs[lev]
        lh = _c2q(hb[..., 0, :, :], hb[..., 5, :, :])
        hl = _c2q(hb[..., 2, :, :], hb[..., 3, :, :])
        hh = _c2q(hb[..., 1, :, :], hb[..., 4, :, :])
        y1 = _colifilt(z, f["g0b"], f["g0a"], -2).add_(_colifilt(lh, f["g1b"], f["g1a"], -2))
        y2 = _colifilt(hl, f["g0b"], f["g0a"], -2).add_(_colifilt(hh, f["g1b"], f["g1a"], -2))
        z = _colifilt(y1, f["g0b"], f["g0a"], -1).add_(_colifilt(y2, f["g1b"], f["g1a"], -1))
        th, tw = 2 * highs[lev - 1].shape[-2], 2 * highs[lev - 1].shape[-1]
        if z.shape[-2] != th:                       # undo the forward's one-sample extension
            z = z[..., 1:-1, :]
        if z.shape[-1] != tw:
            z = z[..., 1:-1]
        if z.shape[-2:] != (th, tw):
            raise ShapeError(f"dtcwt_inverse: highpasses of level {lev} do not fit level {lev + 1}",
                             expected=(th, tw), actual=tuple(z.shape[-2:]))
    hb = highs[0]
    lh = _c2q(hb[..., 0, :, :], hb[..., 5, :, :])
    hl = _c2q(hb[..., 2, :, :], hb[..., 3, :, :])
    hh = _c2q(hb[..., 1, :, :], hb[..., 4, :, :])
    y1 = _colfilter(z, f["g0o"], -2).add_(_colfilter(lh, f["g1o"], -2))
    y2 = _colfilter(hl, f["g0o"], -2).add_(_colfilter(hh, f["g1o"], -2))
    return _colfilter(y1, f["g0o"], -1).add_(_colfilter(y2, f["g1o"], -1))


def _check_size(where: str, h: int, w: int, n_levels: int) -> None:
    need = 2 ** n_levels
    if min(h, w) < need:
        raise ShapeError(f"{where}: image of {h}x{w} pixels is too small for n_levels={n_levels} "
                         f"(needs at least {need}x{need})", expected=(need, need), actual=(h, w))


def dtcwt_forward(image: Any, *, n_levels: int = 4, biort: str = "near_sym_b",
                  qshift: str = "qshift_b") -> tuple[Any, list[Any]]:
    """2-D dual-tree complex wavelet transform (Kingsbury), batched torch.

    Parameters
    ----------
    image : array or tensor, (H, W), (C, H, W) or (B, C, H, W)
        Real image(s); float64 is kept (use it to compare with other implementations).
    n_levels : int >= 1, default 4
    biort, qshift : str
        Level-1 and level >= 2 filters; ``'near_sym_b'`` and ``'qshift_b'``.

    Returns
    -------
    lowpass : same type as ``image``
        ``(..., h, w)`` real, the lowpass of the coarsest level.
    highpasses : list of arrays/tensors, finest first
        Level l: complex ``(..., h_l, w_l, 6)`` for NumPy input (``dtcwt``'s layout) and
        ``(..., 6, h_l, w_l)`` for torch input, subbands at about 15, 45, 75, 105, 135,
        165 degrees.

    Notes
    -----
    Conventions: Kingsbury's (``dtcwt.Transform2d().forward``): half-sample symmetric
    extension, odd sizes extended by repeating the last row/column, levels whose size is
    not a multiple of 4 extended by one sample at each end. Agrees with
    ``dtcwt.Transform2d('near_sym_b', 'qshift_b').forward(x, nlevels=n)`` to rounding.

    References
    ----------
    N. G. Kingsbury, "Complex wavelets for shift invariant analysis and filtering of
    signals", Appl. Comput. Harmon. Anal. 10(3) (2001) 234-253, doi:10.1006/acha.2000.0343.
    I. W. Selesnick, R. G. Baraniuk, N. G. Kingsbury, "The dual-tree complex wavelet
    transform", IEEE Signal Process. Mag. 22(6) (2005) 123-151, doi:10.1109/MSP.2005.1550194.

    Examples
    --------
    >>> import numpy as np
    >>> lo, hi = dtcwt_forward(np.random.default_rng(0).random((64, 48)), n_levels=3)
    >>> lo.shape, [h.shape for h in hi]
    ((16, 12), [(32, 24, 6), (16, 12, 6), (8, 6, 6)])
    """
    where = "dtcwt_forward"
    x, o = as_tensor(image, where=where, name="image")
    n = check_int(where, "n_levels", n_levels, minimum=1)
    check_choice(where, "biort", biort, BIORT)
    check_choice(where, "qshift", qshift, QSHIFT)
    b, c, h, w = x.shape
    _check_size(where, h, w, n)
    lo, highs = _forward(x.reshape(b * c, h, w), n, biort, qshift)
    lo = restore(lo.reshape(b, c, *lo.shape[-2:]), o)
    out = []
    for hb in highs:
        hb = hb.reshape(b, c, 6, *hb.shape[-2:])
        if o.numpy:
            hb = hb.movedim(2, -1)
        out.append(restore(hb, o) if o.rank == 4 or not o.numpy else _squeeze_np(hb, o))
    return lo, out


def _squeeze_np(hb: torch.Tensor, o) -> Any:
    # (B, C, h, w, 6) -> the caller's rank, as NumPy
    if o.rank == 2:
        hb = hb[0, 0]
    elif o.rank == 3:
        hb = hb[0]
    return hb.detach().cpu().numpy()


def dtcwt_inverse(lowpass: Any, highpasses: list[Any], *, biort: str = "near_sym_b",
                  qshift: str = "qshift_b", shape: tuple[int, int] | None = None) -> Any:
    """Inverse of :func:`dtcwt_forward` (perfect reconstruction up to rounding).

    Parameters
    ----------
    lowpass, highpasses
        As returned by :func:`dtcwt_forward` (NumPy: highpasses ``(..., h, w, 6)``;
        torch: ``(..., 6, h, w)``).
    shape : (H, W), optional
        Crop to the original size (odd sizes come back one row/column larger otherwise).
    """
    where = "dtcwt_inverse"
    check_choice(where, "biort", biort, BIORT)
    check_choice(where, "qshift", qshift, QSHIFT)
    if not isinstance(highpasses, (list, tuple)) or not highpasses:
        raise TypeError(f"{where}: `highpasses` must be a non-empty list of complex arrays")
    lo, o = as_tensor(lowpass, where=where, name="lowpass")
    b, c = lo.shape[:2]
    highs = []
    for i, hp in enumerate(highpasses):
        t = torch.from_numpy(hp) if not isinstance(hp, torch.Tensor) else hp
        if not t.is_complex():
            raise TypeError(f"{where}: `highpasses[{i}]` must be complex; got {t.dtype}")
        if o.numpy:
            t = t.movedim(-1, -3)
        if t.shape[-3] != 6:
            raise ShapeError(f"{where}: `highpasses[{i}]` must hold 6 subbands; got shape "
                             f"{tuple(t.shape)}", expected=6, actual=tuple(t.shape))
        highs.append(t.to(lo.device).reshape(b * c, 6, *t.shape[-2:]))
    z = _inverse(lo.reshape(b * c, *lo.shape[-2:]), highs, biort, qshift)
    if shape is not None:
        z = z[..., :shape[0], :shape[1]]
    return restore(z.reshape(b, c, *z.shape[-2:]), o)


# ----------------------------------------------------------------------------- fusion
def _dtcwt_size(p) -> tuple[int, str]:
    n = int(p.get("n_levels", 4))
    return 2 ** max(n, 1), f"n_levels={n}"


@register_method("dtcwt", full_name="Dual-tree complex wavelet transform fusion (DT-CWT)",
                 tasks=("infrared-visible", "multi-focus", "medical"),
                 reference="Lewis, O'Callaghan, Nikolov, Bull, Canagarajah, Information Fusion 8(2) "
                           "(2007) 119-130, doi:10.1016/j.inffus.2005.09.006",
                 min_size=_dtcwt_size,
                 params=dict(n_levels=int_param(1, MAX_LEVELS)))
def _dtcwt_fuse(x: torch.Tensor, *, n_levels: int = 4) -> torch.Tensor:
    """Pixel-based DT-CWT fusion (Lewis et al. 2007).

    Highpass: per subband and position, the complex coefficient of largest magnitude
    (``|w|``, ties to the first source); lowpass: mean over the sources; inverse DT-CWT.

    Parameters
    ----------
    n_levels : int, default 4
        Decomposition levels (Liu, Liu, Wang 2015 / VIFB use 4 with near_sym_b, qshift_b).

    Notes
    -----
    Conventions: ``near_sym_b`` level-1 and ``qshift_b`` filters (as in Liu et al.'s MST
    toolbox used by VIFB); the result is cropped to the input size.

    References
    ----------
    J. J. Lewis et al., "Pixel- and region-based image fusion with complex wavelets",
    Information Fusion 8(2) (2007) 119-130, doi:10.1016/j.inffus.2005.09.006.
    Y. Liu, S. Liu, Z. Wang, "A general framework for image fusion based on multi-scale
    transform and sparse representation", Information Fusion 24 (2015) 147-164,
    doi:10.1016/j.inffus.2014.09.004.
    """
    n_levels = check_int("dtcwt", "n_levels", n_levels, minimum=1)
    b, n, h, w = x.shape
    lo, highs = _forward(x.reshape(b * n, h, w), n_levels)
    lo = lo.reshape(b, n, *lo.shape[-2:]).mean(1)
    fused = []
    for hb in highs:
        hb = hb.reshape(b, n, *hb.shape[1:])
        fused.append(select_max_abs(hb, 1))
    out = _inverse(lo, fused)
    return out[:, None, :h, :w]
