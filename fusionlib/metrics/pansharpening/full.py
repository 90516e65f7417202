"""Pansharpening indices at full resolution (no reference): D_lambda, D_s, QNR and HQNR.
"""
from __future__ import annotations

from typing import Any, Sequence

import torch

from ..._checks import ShapeError, check_finite, check_int, check_positive, check_range
from ..._convert import as_tensor, restore_scores
from ...filters import imresize_bicubic, interp23tap, mtf_filter
from .._registry import register_metric
from .hypercomplex import q2n_kernel
from .reduced import _q_blocks
from .validation import DATA_RANGE, PRESETS_PS, _REFS_VIVONE, _range_for

__all__ = ["d_lambda", "d_s", "qnr", "hqnr"]


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
