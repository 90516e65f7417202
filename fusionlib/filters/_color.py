"""Colour conversions: the one home of BT.601 luma, MATLAB ``rgb2gray`` and Y'CbCr (kernels on
``(B, 3, H, W)`` tensors, re-exported by :mod:`fusionlib.filters`).

Two BT.601 luma weightings are in use, on purpose:

* :data:`BT601_LUMA` ``(0.299, 0.587, 0.114)``: the rounded Rec. 601 coefficients of JPEG/OpenCV
  Y'CbCr (:func:`luma`, :func:`rgb_to_ycbcr`; the colour rule of ``classical.fuse`` and the embedded
  data sets' gray renderings).
* :data:`RGB2GRAY_WEIGHTS` ``(0.298936..., 0.587043..., 0.114020...)``: MATLAB ``rgb2gray`` (the first
  row of the inverse of the NTSC YIQ matrix), used by the metric toolboxes (VIFB, MEFB, Liu 2020):
  :func:`rgb_to_gray`, and :func:`rgb2gray_8bit` for ``rgb2gray`` of ``uint8`` images (computed in
  double and rounded to an integer level, as MATLAB does); :func:`rgb2gray_array` is the same rounded
  ``rgb2gray`` at the array boundary (NumPy or torch, any rank, 8-bit data in [0, 1] or ``uint8``).

The deliberate fixed-point reproductions of OpenCV/PIL for the network peers stay with the peers.
"""
from __future__ import annotations

from typing import Any

import torch

from .._checks import ShapeError
from .._convert import as_tensor, restore

__all__ = ["BT601_LUMA", "RGB2GRAY_WEIGHTS", "luma", "rgb_to_gray", "rgb2gray_8bit", "rgb2gray_array",
           "rgb_to_ycbcr", "ycbcr_to_rgb"]

#: Rec. 601 luma coefficients (R, G, B) as JPEG / OpenCV ``cvtColor`` Y'CbCr write them.
BT601_LUMA = (0.299, 0.587, 0.114)
#: MATLAB ``rgb2gray`` weights (R, G, B).
RGB2GRAY_WEIGHTS = (0.298936021293775, 0.587043074451121, 0.114020904255103)


def luma(x: torch.Tensor) -> torch.Tensor:
    """BT.601 luma ``0.299 R + 0.587 G + 0.114 B`` (:data:`BT601_LUMA`) of (B, 3, H, W) -> (B, 1, H, W),
    in the input's scale and dtype (the Y of :func:`rgb_to_ycbcr`)."""
    kr, kg, kb = BT601_LUMA
    return kr * x[:, 0:1] + kg * x[:, 1:2] + kb * x[:, 2:3]


def rgb_to_gray(x: torch.Tensor, *, rounding: bool = False) -> torch.Tensor:
    """ITU-R BT.601 luma, as MATLAB ``rgb2gray`` (0.2989, 0.5870, 0.1140).

    ``x`` is (B, 3, H, W) (a 1-channel input is returned unchanged).
    ``rounding=True`` rounds on the 0..255 scale, as ``rgb2gray`` on uint8 does.
    """
    if x.shape[1] == 1:
        return x
    if x.shape[1] != 3:
        raise ValueError(f"rgb_to_gray: input must have 1 or 3 channels; got {x.shape[1]}")
    w = torch.tensor(RGB2GRAY_WEIGHTS, dtype=x.dtype, device=x.device).reshape(1, 3, 1, 1)
    y = (x * w).sum(dim=1, keepdim=True)
    if rounding:
        y = torch.round(y * 255.0) / 255.0
    return y


def rgb_to_ycbcr(x: torch.Tensor) -> torch.Tensor:
    """Full-range JPEG (BT.601) Y'CbCr of an RGB tensor in [0, 1]; Cb, Cr centred at 0.5."""
    r, g, b = x[:, 0:1], x[:, 1:2], x[:, 2:3]
    y = luma(x)
    cb = 0.5 + (b - y) * 0.564
    cr = 0.5 + (r - y) * 0.713
    return torch.cat([y, cb, cr], dim=1)


def ycbcr_to_rgb(x: torch.Tensor, *, exact: bool = False) -> torch.Tensor:
    """Inverse of :func:`rgb_to_ycbcr`.

    ``exact=False`` uses OpenCV's published inverse coefficients (1.403, 0.714, 0.344, 1.773),
    the convention of networks whose pipelines go through ``cv2.cvtColor`` (IFCNN); they
    invert the forward transform only to about 3e-4. ``exact=True`` applies the exact matrix
    inverse, so ``ycbcr_to_rgb(rgb_to_ycbcr(x), exact=True) == x`` to rounding (what fusion
    methods need for ``fuse(a, a) == a`` on colour images).
    """
    if exact:
        m = _ycbcr_inverse().to(dtype=x.dtype, device=x.device)
        centred = torch.cat([x[:, :1], x[:, 1:] - 0.5], dim=1)
        return torch.einsum("ij,bjhw->bihw", m, centred)
    y, cb, cr = x[:, 0:1], x[:, 1:2] - 0.5, x[:, 2:3] - 0.5
    r = y + 1.403 * cr
    g = y - 0.714 * cr - 0.344 * cb
    b = y + 1.773 * cb
    return torch.cat([r, g, b], dim=1)


def _ycbcr_inverse() -> torch.Tensor:
    """Exact inverse of the matrix of :func:`rgb_to_ycbcr` (Y; Cb - 0.5; Cr - 0.5 from R, G, B)."""
    kr, kg, kb = BT601_LUMA
    fwd = torch.tensor([[kr, kg, kb],
                        [-0.564 * kr, -0.564 * kg, 0.564 * (1 - kb)],
                        [0.713 * (1 - kr), -0.713 * kg, -0.713 * kb]], dtype=torch.float64)
    return torch.linalg.inv(fwd)


def rgb2gray_8bit(x: torch.Tensor) -> torch.Tensor:
    """MATLAB ``rgb2gray`` of a ``uint8`` image given on the 0..255 scale: the :data:`RGB2GRAY_WEIGHTS`
    luma computed in float64 and rounded to an integer level; (B, 3, H, W) -> (B, 1, H, W) float64
    (1-channel input: rounded as it is). On 8-bit data it equals ``rgb_to_gray(x / 255, rounding=True)
    * 255`` in float64 for every one of the 2**24 colours (``tests/core/test_filters.py``)."""
    return torch.round(rgb_to_gray(x.to(torch.float64)))


def rgb2gray_array(x: Any) -> Any:
    """MATLAB ``rgb2gray`` of an 8-bit image at the array boundary, as the metric toolboxes (MEFB, Liu 2020)
    apply it to ``uint8`` images: :func:`rgb2gray_8bit` of the grey levels, in [0, 1].

    ``x`` is a ``np.ndarray`` or ``torch.Tensor`` shaped (3, H, W) or (B, 3, H, W) holding 8-bit data:
    ``uint8``, or float in [0, 1] on the levels k / 255 (float32 ones too). The levels k are recovered
    exactly (``round(255 x)``) before the float64 luma, so the result is MATLAB's for every one of the
    2**24 colours whatever the input dtype (``tests/core/test_filters.py``). Returns float64 in [0, 1] on
    the levels k / 255, one channel, of the caller's type and rank ((3, H, W) -> (1, H, W)); a
    one-channel input ((H, W), (1, H, W), (B, 1, H, W)) is already gray and comes back as its levels.

    Raises ``ValueError`` for values that are not 8-bit levels (off k / 255 by more than 1e-3 / 255,
    outside [0, 1], NaN) and ``ShapeError`` for other channel counts than 1 and 3.

    >>> import numpy as np
    >>> rgb = np.array([255, 128, 0], dtype=np.uint8).reshape(3, 1, 1)   # orange
    >>> g = rgb2gray_array(rgb)
    >>> g.shape, g.dtype, round(float(g[0, 0, 0]) * 255, 6)   # 0.2989 * 255 + 0.5870 * 128 = 151.37 -> 151
    ((1, 1, 1), dtype('float64'), 151.0)
    """
    where = "rgb2gray_array"
    t, origin = as_tensor(x, where=where, name="x")
    if t.shape[1] not in (1, 3):
        raise ShapeError(f"{where}: `x` must have 1 or 3 channels (RGB); got shape {tuple(x.shape)}",
                         expected="(3, H, W) or (B, 3, H, W)", actual=tuple(x.shape))
    scaled = t.to(torch.float64) * 255.0
    levels = torch.round(scaled)
    if not bool(((scaled - levels).abs() <= 1e-3).all() and levels.min() >= 0 and levels.max() <= 255):
        raise ValueError(f"{where}: `x` must hold 8-bit data (uint8, or float in [0, 1] on the levels k / 255); "
                         f"got values in [{float(t.min()):.6g}, {float(t.max()):.6g}] that are not all such levels")
    return restore(rgb2gray_8bit(levels) / 255.0, origin)
