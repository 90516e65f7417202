"""The fast CPU paths of :mod:`fusionlib.filters` (private; no validation; ``(B, C, H, W)`` tensors).

Box sums and means by cumulative sums, short separable kernels and the 5-point Laplacian by shifted
slices, the gray-guide guided filter, and the five local-moment maps of the SSIM-type metrics in one
channels-last buffer. Each equals the grouped convolution of :func:`fusionlib.filters.sep_filter2d` /
:func:`~fusionlib.filters.filter2d` up to float rounding (``tests/core/test_filters.py``) and is what
the classical methods and the metrics call.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from . import pad

__all__ = ["box_sum", "box_mean", "box_mean_border", "window_sum_small", "sep_correlate", "laplacian",
           "LAPLACIAN_3x3", "guided_filter", "moment_maps"]


def _window_index(n: int, r: int, device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    i = torch.arange(n, device=device)
    hi = (i + r).clamp(max=n - 1) + 1
    lo = (i - r).clamp(min=0)
    return hi, lo, (hi - lo)


def _window_sums(buf: torch.Tensor, h: int, w: int, size: int, dtype: torch.dtype) -> torch.Tensor:
    """Sums over ``size x size`` windows of a float buffer ``(..., h + size, w + size)`` whose
    first row and column are zeros (the buffer is consumed), as a contiguous ``dtype`` tensor.

    Both cumulative sums run along the last axis (several times faster on the CPU than along
    rows): the second one on the transposed differences, transposed back while converting.
    """
    c = buf.cumsum_(-1)
    z = (c[..., size:size + w] - c[..., :w]).transpose(-1, -2).contiguous()
    z = z.cumsum_(-1)
    d = (z[..., size:size + h] - z[..., :h]).transpose(-1, -2)
    return torch.empty(d.shape, dtype=dtype, device=d.device).copy_(d)


def box_sum(x: torch.Tensor, r: int, border: str = "zeros") -> torch.Tensor:
    """Sum over the ``(2r+1)^2`` window with ``border`` extension; ``"zeros"`` (the default) is He's
    ``boxfilter`` (zero outside the image).

    Cumulative sums (O(1) per pixel for any r), accumulated in float64 on the CPU so the variance
    terms of the guided filter keep their precision with float32 input. The (padded) image is
    written once into a zero buffer with one leading zero row and column, so the truncated windows
    need no concatenation (with ``"zeros"`` the image itself goes at offset ``r + 1``: the same
    buffer without a padded copy).
    """
    dt = x.dtype
    acc = torch.float64 if x.device.type == "cpu" else dt
    h, w = x.shape[-2:]
    buf = x.new_zeros(*x.shape[:-2], h + 2 * r + 1, w + 2 * r + 1, dtype=acc)
    if border == "zeros":
        buf[..., r + 1:r + 1 + h, r + 1:r + 1 + w] = x
    else:
        buf[..., 1:, 1:] = pad(x, (r, r, r, r), border)
    return _window_sums(buf, h, w, 2 * r + 1, dt)


def box_mean_border(x: torch.Tensor, r: int, border: str = "replicate") -> torch.Tensor:
    """Mean over the ``(2r+1)^2`` window with ``border`` extension (MATLAB
    ``imfilter(x, ones(2r+1)/(2r+1)^2, border)``): :func:`box_sum` divided by the window size."""
    return box_sum(x, r, border).div_(float((2 * r + 1) ** 2))


def sep_correlate(x: torch.Tensor, k: torch.Tensor, border: str = "replicate") -> torch.Tensor:
    """Separable correlation with the same odd 1-D kernel ``k`` along H then W, ``border``
    extension, by shifted slices (for short kernels several times faster on the CPU than a
    grouped convolution; equal to :func:`fusionlib.filters.sep_filter2d` up to float rounding)."""
    n = k.numel()
    r = (n - 1) // 2
    h, w = x.shape[-2:]
    kk = [float(v) for v in k.reshape(-1).tolist()]
    xp = pad(x, (0, 0, r, n - 1 - r), border)
    y = xp[..., 0:h, :] * kk[0]
    for j in range(1, n):
        y.add_(xp[..., j:j + h, :], alpha=kk[j])
    yp = pad(y, (r, n - 1 - r, 0, 0), border)
    z = yp[..., 0:w] * kk[0]
    for j in range(1, n):
        z.add_(yp[..., j:j + w], alpha=kk[j])
    return z


def window_sum_small(x: torch.Tensor, r: int) -> torch.Tensor:
    """Zero-padded ``(2r+1)^2`` window sum by shifted slices in the input dtype (for small r,
    where cumulative sums and their float64 round trip cost more than they save)."""
    h, w = x.shape[-2:]
    xp = torch.nn.functional.pad(x, (r, r, r, r))
    rows = sum(xp[..., j:j + h, :] for j in range(2 * r + 1))
    return sum(rows[..., j:j + w] for j in range(2 * r + 1))


def box_mean(x: torch.Tensor, r: int) -> torch.Tensor:
    """Mean over the window truncated at the image border (He et al.'s normalisation)."""
    h, w = x.shape[-2:]
    nh = _window_index(h, r, x.device)[2].to(x.dtype)
    nw = _window_index(w, r, x.device)[2].to(x.dtype)
    return box_sum(x, r) / (nh[:, None] * nw[None, :])


def guided_filter(p: torch.Tensor, guide: torch.Tensor, r: int, eps: float) -> torch.Tensor:
    """Gray-guide guided filter (He, Sun, Tang 2013, Eq. 5-8), channel-wise on (B, C, H, W).

    ``q = mean(a) * I + mean(b)``, ``a = cov(I, p) / (var(I) + eps)``,
    ``b = mean(p) - a mean(I)``, means over ``(2r+1)^2`` windows truncated at
    the border. doi:10.1109/TPAMI.2012.213.
    """
    mi = box_mean(guide, r)
    mp = box_mean(p, r)
    cov = box_mean(guide * p, r) - mi * mp
    var = box_mean(guide * guide, r) - mi * mi
    a = cov / (var + eps)
    b = mp - a * mi
    return box_mean(a, r) * guide + box_mean(b, r)


LAPLACIAN_3x3 = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


def laplacian(x: torch.Tensor, border: str = "replicate") -> torch.Tensor:
    """5-point Laplacian, MATLAB ``fspecial('laplacian', 0)`` (``LAPLACIAN_3x3``), by shifted slices."""
    h, w = x.shape[-2:]
    p = pad(x, (1, 1, 1, 1), border)
    out = p[..., 0:h, 1:w + 1] + p[..., 2:h + 2, 1:w + 1]
    return out.add_(p[..., 1:h + 1, 0:w]).add_(p[..., 1:h + 1, 2:w + 2]).sub_(x, alpha=4.0)


def moment_maps(x: torch.Tensor, y: torch.Tensor, k1d: torch.Tensor, border: str) -> torch.Tensor:
    """Window means of x, y, x^2, y^2, xy for (B, C, H, W) -> (B, 5C, H', W'), separable ``k1d``.

    The five maps are built in one channels-last buffer and filtered by two depthwise convolutions:
    on CPU, channels-last depthwise convolution runs oneDNN's vectorised kernel (several times faster
    than the NCHW grouped convolution of :func:`fusionlib.filters.sep_filter2d`, same sums). Not for
    autograd (it writes into a buffer).
    """
    b, c = x.shape[:2]
    if border != "valid":
        n = k1d.numel()
        top = (n - 1) // 2
        x = pad(x, (top, n - 1 - top, top, n - 1 - top), border)
        y = pad(y, (top, n - 1 - top, top, n - 1 - top), border)
    h, w = x.shape[-2:]
    st = torch.empty((b, 5 * c, h, w), dtype=x.dtype, device=x.device, memory_format=torch.channels_last)
    st[:, :c] = x
    st[:, c:2 * c] = y
    torch.mul(x, x, out=st[:, 2 * c:3 * c])
    torch.mul(y, y, out=st[:, 3 * c:4 * c])
    torch.mul(x, y, out=st[:, 4 * c:])
    k = k1d.to(dtype=x.dtype, device=x.device).reshape(-1)
    n = k.numel()
    wv = k.reshape(1, 1, n, 1).expand(5 * c, 1, n, 1).contiguous()
    wh = k.reshape(1, 1, 1, n).expand(5 * c, 1, 1, n).contiguous()
    return F.conv2d(F.conv2d(st, wv, groups=5 * c), wh, groups=5 * c)
