"""Evaluation protocols by name: ``iaoa``, ``vivone_rr`` (Wald's reduced resolution) and ``vivone_fr``.

* ``iaoa``: the IAOA release; GT = MS; input ``MS_up = imresize(imresize(MS, 1/r), r)`` (MATLAB
  bicubic); PAN as given (it has the MS size in the IAOA data, and is gray(GT): not Wald's protocol).
* ``vivone_rr``: Wald's protocol as in Vivone's toolbox: ``MS_LR`` = MTF-filtered MS (sensor gains,
  replicate border) sampled at rows/columns ``r/2 + r i`` (MATLAB ``imresize(., 1/r, 'nearest')``);
  ``PAN_LR`` = ``imresize(PAN, 1/r)`` (bicubic) or MTF-filtered PAN (``pan_degradation='mtf'``);
  ``EXP = interp23tap(MS_LR)``; GT = MS; indices after the ``dim_cut`` border cut.
* ``vivone_fr``: no degradation; ``EXP = interp23tap(MS)``; no-reference indices (QNR, HQNR).

Sensor MTF gains (band order B, G, R, NIR in the toolbox) are in the one sensor table
:data:`fusionlib.filters.SENSOR_GAINS`; :func:`sensor_gains` (from :mod:`fusionlib.filters`)
reorders them for the IAOA data (R, G, B, NIR). Gaofen has no toolbox entry: the generic 0.3 / 0.15 is an assumption.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import torch

from .._checks import ShapeError, check_choice, check_int
from .._convert import as_tensor
from ..filters import imresize_bicubic, interp23tap, mtf_filter, sensor_gains

__all__ = ["PROTOCOLS", "ProtocolData", "prepare_protocol", "sensor_gains", "dim_cut", "degrade_wald"]

PROTOCOLS = ("iaoa", "vivone_rr", "vivone_fr")


def dim_cut(x: torch.Tensor, d: int) -> torch.Tensor:
    """MATLAB ``I(d:end-d, d:end-d, :)`` on (..., H, W): drops d-1 leading and d trailing pixels."""
    if d <= 0:
        return x
    return x[..., d - 1:x.shape[-2] - d, d - 1:x.shape[-1] - d]


def degrade_wald(ms: torch.Tensor, gains: Sequence[float], ratio: int = 4) -> torch.Tensor:
    """MTF filter then 'nearest' decimation keeping rows/columns ``ratio//2 + ratio*i`` (0-based)."""
    o = ratio // 2
    return mtf_filter(ms, gains, ratio)[..., o::ratio, o::ratio]


@dataclass(frozen=True)
class ProtocolData:
    """What a protocol hands to a fusion method and to the indices (float64 tensors, DN)."""

    name: str
    ms: torch.Tensor       # the MS input of the method (LR for vivone_rr/fr, MS_up for iaoa)
    exp: torch.Tensor      # the upsampled MS (baseline "EXP" row)
    pan: torch.Tensor      # the PAN input of the method
    reference: torch.Tensor | None
    ratio: int
    cut: int


def prepare_protocol(name: str, ms: Any, pan: Any, *, ratio: int = 4, sensor: str = "generic",
                     band_order: str = "RGBN", pan_degradation: str = "bicubic", cut: int = 21) -> ProtocolData:
    """Build the inputs and the reference of a named protocol from an MS/PAN pair (DN, float).

    ``ms`` (C, h, w) with ``pan`` (1, H, W) where ``H = h`` (IAOA data) or ``H = ratio h``.
    """
    where = "prepare_protocol"
    check_choice(where, "name", name, PROTOCOLS)
    check_choice(where, "pan_degradation", pan_degradation, ("bicubic", "mtf"))
    ratio = check_int(where, "ratio", ratio, minimum=2)
    m, _ = as_tensor(ms, where=where, name="ms", dtype=torch.float64)
    p, _ = as_tensor(pan, where=where, name="pan", dtype=torch.float64)
    h, w = m.shape[-2:]
    if h % ratio or w % ratio:
        raise ShapeError(f"{where}: `ms` sides must be multiples of `ratio`={ratio}; got {h}x{w}")
    if p.shape[-2:] not in ((h, w), (h * ratio, w * ratio)):
        raise ShapeError(f"{where}: `pan` must be {h}x{w} or {h * ratio}x{w * ratio}; got "
                         f"{p.shape[-2]}x{p.shape[-1]}")
    gains, pan_gain = sensor_gains(sensor, band_order)
    gains = gains[:m.shape[1]] if len(gains) >= m.shape[1] else (gains[0],) * m.shape[1]
    if name == "iaoa":
        if p.shape[-2:] != (h, w):
            p = imresize_bicubic(p, 1.0 / ratio)
        up = imresize_bicubic(imresize_bicubic(m, 1.0 / ratio), float(ratio))
        return ProtocolData(name, up, up, p, m, ratio, 0)
    if name == "vivone_rr":
        lr = degrade_wald(m, gains, ratio)
        if p.shape[-2:] == (h, w):  # PAN already at the GT scale (IAOA data): used as is
            plr = p
        elif pan_degradation == "bicubic":
            plr = imresize_bicubic(p, 1.0 / ratio)
        else:
            plr = degrade_wald(p, (pan_gain,), ratio)
        return ProtocolData(name, lr, interp23tap(lr, ratio), plr, m, ratio, cut)
    if p.shape[-2:] != (h * ratio, w * ratio):
        raise ShapeError(f"{where}: 'vivone_fr' needs a PAN {ratio}x larger than the MS; got "
                         f"{p.shape[-2]}x{p.shape[-1]} for MS {h}x{w}")
    return ProtocolData(name, m, interp23tap(m, ratio), p, None, ratio, 0)
