"""Discrete wavelet transform in torch with PyWavelets' filter banks, and DWT fusion.

Conventions: ``mode="periodization"`` of PyWavelets (circular extension,
``ceil(n / 2)`` coefficients per axis; an odd axis is first extended by
repeating its last sample, as PyWavelets does). Subbands come back in
PyWavelets order ``(cA, [(cH, cV, cD) coarsest ... finest])`` and agree with
``pywt.wavedec2(x, wavelet, mode="periodization", level=n)`` to rounding.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

import torch
import torch.nn.functional as F

from .._checks import ShapeError, check_int, check_type
from .._convert import as_tensor, restore
from ..filters import window_sum_small
from ._common import select_max_abs
from ._registry import MAX_LEVELS, MAX_WINDOW, register_method
from .._checks import choice_param, int_param

__all__ = ["wavedec2", "waverec2"]


@lru_cache(maxsize=32)
def _filters(wavelet: str) -> tuple[tuple[float, ...], ...]:
    import pywt

    try:
        w = pywt.Wavelet(wavelet)
    except ValueError:
        raise ValueError(f"wavedec2: `wavelet` must be a discrete PyWavelets name "
                         f"(e.g. 'db2', 'sym4', 'bior2.2'); got {wavelet!r}") from None
    return tuple(w.dec_lo), tuple(w.dec_hi), tuple(w.rec_lo), tuple(w.rec_hi)


def _bank(wavelet: str, x: torch.Tensor):
    dl, dh, rl, rh = (torch.tensor(f, dtype=x.dtype, device=x.device) for f in _filters(wavelet))
    return dl, dh, rl, rh


def _dwt_axis(x: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, axis: int) -> torch.Tensor:
    """(M, 1, H, W) -> (M, 2, H', W'): analysis along ``axis`` (-1 = W, -2 = H).

    ``c[n] = sum_j f[L-1-j] xe[2n + j - (L/2 - 1)]`` (circular), i.e. PyWavelets'
    periodization; computed as L strided slices (no convolution call).
    """
    n = x.shape[axis]
    if n % 2:
        x = torch.cat([x, x.narrow(axis, n - 1, 1)], dim=axis)
        n += 1
    L = lo.numel()
    xp = _circ_pad(x, L // 2 - 1, L // 2, axis)
    half = n // 2
    flo, fhi = lo.flip(0).tolist(), hi.flip(0).tolist()
    ax = axis % x.ndim
    out_lo = out_hi = None
    for j in range(L):
        sl = [slice(None)] * x.ndim
        sl[ax] = slice(j, j + 2 * half - 1, 2)
        v = xp[tuple(sl)]
        if out_lo is None:
            out_lo, out_hi = v * flo[j], v * fhi[j]
        else:                                        # in place: no temporary per tap
            out_lo.add_(v, alpha=flo[j])
            out_hi.add_(v, alpha=fhi[j])
    return torch.cat([out_lo, out_hi], dim=1)


def _circ_pad(x: torch.Tensor, left: int, right: int, axis: int) -> torch.Tensor:
    n = x.shape[axis]
    if left <= n and right <= n:       # concatenated slices: cheaper than a gather on the CPU
        parts = [x.narrow(axis, n - left, left)] if left else []
        parts.append(x)
        if right:
            parts.append(x.narrow(axis, 0, right))
        return torch.cat(parts, dim=axis)
    idx = torch.arange(-left, n + right, device=x.device) % n
    return x.index_select(axis, idx)


def _idwt_axis(c: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, axis: int) -> torch.Tensor:
    """(M, 2, H, W) (low, high) -> (M, 1, H or 2H, W or 2W): synthesis along ``axis``.

    Zero insertion, circular padding by (L/2, L/2 - 1) and correlation with the reversed
    synthesis filters (the adjoint of :func:`_dwt_axis` for orthogonal banks; PyWavelets'
    ``idwt`` periodization in general), computed in polyphase form: output sample ``2n + p``
    only meets the taps ``j`` with ``j + p - L/2`` even, which read ``c[n + (j + p - L/2) / 2]``
    (circular), so no zeros are multiplied.
    """
    L = lo.numel()
    ax = axis % c.ndim
    h = c.shape[ax]
    flo, fhi = lo.flip(0).tolist(), hi.flip(0).tolist()
    offs = [(j + p - L // 2) // 2 for p in (0, 1) for j in range(L) if (j + p - L // 2) % 2 == 0]
    left, right = max(0, -min(offs)), max(0, max(offs))
    cp = _circ_pad(c, left, right, axis)
    phases = []
    for p in (0, 1):
        out = None
        for j in range(L):
            if (j + p - L // 2) % 2:
                continue
            v = cp.narrow(ax, left + (j + p - L // 2) // 2, h)
            if out is None:
                out = v[:, 0:1] * flo[j]
            else:
                out.add_(v[:, 0:1], alpha=flo[j])
            out.add_(v[:, 1:2], alpha=fhi[j])
        phases.append(out)
    z = torch.stack(phases, dim=ax + 1)
    shape = list(z.shape)
    shape[ax:ax + 2] = [2 * h]
    return z.reshape(shape)


def _dwt2(x: torch.Tensor, wavelet: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, C, H, W) -> cA (B, C, h, w), details (B, C, 3, h, w) as (cH, cV, cD)."""
    b, c, h, w = x.shape
    dl, dh, _, _ = _bank(wavelet, x)
    z = _dwt_axis(x.reshape(b * c, 1, h, w), dl, dh, -1)          # (M, 2[w-band], H, w')
    z = _dwt_axis(z.reshape(b * c * 2, 1, h, z.shape[-1]), dl, dh, -2)  # (M*2, 2[h-band], h', w')
    z = z.reshape(b, c, 2, 2, z.shape[-2], z.shape[-1])             # [w-band, h-band]
    ca = z[:, :, 0, 0]
    # pywt: cH = low along W (axis 1), high along H (axis 0); cV = high along W, low along H
    det = torch.stack([z[:, :, 0, 1], z[:, :, 1, 0], z[:, :, 1, 1]], dim=2)
    return ca, det


def _idwt2(ca: torch.Tensor, det: torch.Tensor, wavelet: str) -> torch.Tensor:
    b, c, h, w = ca.shape
    _, _, rl, rh = _bank(wavelet, ca)
    # stack as [w-band, h-band]
    z = torch.stack([torch.stack([ca, det[:, :, 0]], 2), torch.stack([det[:, :, 1], det[:, :, 2]], 2)], 2)
    z = _idwt_axis(z.reshape(b * c * 2, 2, h, w), rl, rh, -2)       # (M*2, 1, 2h, w)
    z = z.reshape(b * c, 2, 2 * h, w)
    z = _idwt_axis(z, rl, rh, -1)                                   # (M, 1, 2h, 2w)
    return z.reshape(b, c, 2 * h, 2 * w)


def _wavedec2(x: torch.Tensor, wavelet: str, n_levels: int):
    """-> (cA, details finest-first, input shapes per level)."""
    dets, shapes = [], []
    a = x
    for _ in range(n_levels):
        shapes.append(tuple(a.shape[-2:]))
        a, d = _dwt2(a, wavelet)
        dets.append(d)
    return a, dets, shapes


def _waverec2(ca: torch.Tensor, dets: list[torch.Tensor], shapes: list[tuple[int, int]],
              wavelet: str) -> torch.Tensor:
    a = ca
    for d, (h, w) in zip(reversed(dets), reversed(shapes)):
        a = _idwt2(a, d, wavelet)[..., :h, :w]
    return a


def _discrete_wavelets() -> tuple[str, ...]:
    """The discrete PyWavelets names (the declared choices of ``dwt``'s ``wavelet``)."""
    import pywt
    return tuple(pywt.wavelist(kind="discrete"))


def _check_wavelet(where: str, wavelet: Any) -> str:
    check_type(where, "wavelet", wavelet, str)
    try:
        _filters(wavelet)
    except ValueError:
        raise ValueError(f"{where}: `wavelet` must be a discrete PyWavelets name "
                         f"(e.g. 'db2', 'sym4', 'bior2.2'); got {wavelet!r}") from None
    return wavelet


def wavedec2(image: Any, *, wavelet: str = "db2", n_levels: int = 3):
    """Multi-level 2-D DWT (periodization), batched torch.

    Parameters
    ----------
    image : array or tensor, (H, W), (C, H, W) or (B, C, H, W)
    wavelet : str, default 'db2'
        Any discrete PyWavelets wavelet; the filter bank is PyWavelets'.
    n_levels : int >= 1
        Decomposition levels; every level must keep at least 1 pixel per axis.

    Returns
    -------
    list
        ``[cA_n, (cH_n, cV_n, cD_n), ..., (cH_1, cV_1, cD_1)]`` as
        ``pywt.wavedec2`` (same type and rank as ``image``).

    Notes
    -----
    Conventions: PyWavelets ``mode="periodization"``; reconstruct with
    :func:`waverec2` and ``shape=(H, W)`` to crop odd sizes back.

    Examples
    --------
    >>> import numpy as np, pywt
    >>> img = np.random.default_rng(0).random((16, 12))
    >>> ours = wavedec2(img, wavelet="db2", n_levels=2)
    >>> ref = pywt.wavedec2(img, "db2", mode="periodization", level=2)
    >>> bool(np.allclose(ours[0], ref[0]) and np.allclose(ours[1][2], ref[1][2]))
    True
    """
    where = "wavedec2"
    x, o = as_tensor(image, where=where, name="image")
    _check_wavelet(where, wavelet)
    n = check_int(where, "n_levels", n_levels, minimum=1)
    if min(x.shape[-2:]) < 2 ** n:
        raise ShapeError(f"{where}: image of {x.shape[-2]}x{x.shape[-1]} pixels is too small for "
                         f"n_levels={n} (needs at least {2 ** n}x{2 ** n})",
                         expected=(2 ** n, 2 ** n), actual=tuple(x.shape[-2:]))
    ca, dets, _ = _wavedec2(x, wavelet, n)
    out = [restore(ca, o)]
    for d in reversed(dets):
        out.append(tuple(restore(d[:, :, j], o) for j in range(3)))
    return out


def waverec2(coeffs: list, *, wavelet: str = "db2", shape: tuple[int, int] | None = None):
    """Inverse of :func:`wavedec2`; ``shape=(H, W)`` crops to the original size."""
    where = "waverec2"
    if not isinstance(coeffs, (list, tuple)) or len(coeffs) < 2:
        raise TypeError(f"{where}: `coeffs` must be a list [cA, (cH, cV, cD), ...]")
    _check_wavelet(where, wavelet)
    ca, o = as_tensor(coeffs[0], where=where, name="coeffs[0]")
    dets, shapes = [], []
    for i, trip in enumerate(coeffs[1:], 1):
        if not isinstance(trip, (list, tuple)) or len(trip) != 3:
            raise TypeError(f"{where}: `coeffs[{i}]` must be a (cH, cV, cD) tuple")
        d = torch.stack([as_tensor(t, where=where, name=f"coeffs[{i}]")[0] for t in trip], 2)
        dets.insert(0, d)
    # the approximation entering level k has the shape of level k's finer details
    shapes = [tuple(shape) if shape is not None else (2 * dets[0].shape[-2], 2 * dets[0].shape[-1])]
    shapes += [tuple(d.shape[-2:]) for d in dets[:-1]]
    return restore(_waverec2(ca, dets, shapes, wavelet), o)


def _dwt_size(p):
    n = p["n_levels"]
    return (2 ** n if isinstance(n, int) and n >= 1 else 1), f"n_levels={n}"


@register_method("dwt", full_name="Discrete wavelet transform fusion (DWT)",
                 tasks=("infrared-visible", "multi-focus", "medical"),
                 reference="Li, Manjunath, Mitra, Graph. Models Image Process. 57(3) 1995 235-245, "
                           "doi:10.1006/gmip.1995.1022",
                 min_size=_dwt_size,
                 params=dict(
                     wavelet=choice_param(*_discrete_wavelets()),
                     n_levels=int_param(1, MAX_LEVELS),
                     window=int_param(1, MAX_WINDOW, odd=True)))
def _dwt_fuse(x: torch.Tensor, *, wavelet: str = "db2", n_levels: int = 3,
              window: int = 3) -> torch.Tensor:
    """DWT fusion with window-based activity and choose-max.

    Detail subbands: ``D^F = D^{i*}`` with ``i* = argmax_i sum_{window} |D^i|``
    (area-based activity, Li et al. 1995); approximation: mean over sources.

    Parameters
    ----------
    wavelet : str, default 'db2'
    n_levels : int, default 3
    window : int, default 3
        Odd side of the activity window (1: pixel-wise max-abs).

    Notes
    -----
    Conventions: PyWavelets periodization; sizes that are not multiples of
    ``2**n_levels`` are handled level by level as PyWavelets does, and the
    result is cropped to the input size.
    """
    _check_wavelet("dwt", wavelet)
    n_levels = check_int("dwt", "n_levels", n_levels, minimum=1)
    window = check_int("dwt", "window", window, minimum=1)
    if window % 2 == 0:
        raise ValueError(f"dwt: `window` must be odd; got {window}")
    ca, dets, shapes = _wavedec2(x, wavelet, n_levels)
    fused = []
    r = window // 2
    for d in dets:
        act = window_sum_small(d.abs(), r) if r else d.abs()
        fused.append(select_max_abs(d, 1, activity=act).unsqueeze(1))
    return _waverec2(ca.mean(1, keepdim=True), fused, shapes, wavelet)
