"""Small shared kernels of the classical methods (private; no validation)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..filters import pad


def select_max_abs(c: torch.Tensor, dim: int = 1, activity: torch.Tensor | None = None) -> torch.Tensor:
    """Pick, per position, the entry along ``dim`` with the largest activity (default ``|c|``).

    Ties go to the first source. A running ``where`` over the N sources (N is small), which on
    the CPU is several times faster than ``argmax`` + ``gather`` along a non-last axis.
    """
    act = c.abs() if activity is None else activity
    best = c.select(dim, 0)
    best_act = act.select(dim, 0)
    for i in range(1, c.shape[dim]):
        a_i = act.select(dim, i)
        m = a_i > best_act
        best = torch.where(m, c.select(dim, i), best)
        best_act = torch.where(m, a_i, best_act)
    return best


def argmax_sources(act: torch.Tensor, dim: int = 1) -> torch.Tensor:
    """Index of the largest entry along ``dim`` (keepdim), ties to the first; see :func:`select_max_abs`."""
    best = act.select(dim, 0)
    idx = torch.zeros(best.shape, dtype=torch.long, device=act.device)
    for i in range(1, act.shape[dim]):
        a_i = act.select(dim, i)
        m = a_i > best
        best = torch.where(m, a_i, best)
        idx = torch.where(m, torch.full_like(idx, i), idx)
    return idx.unsqueeze(dim)


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


def box_sum(x: torch.Tensor, r: int) -> torch.Tensor:
    """Sum over the ``(2r+1)^2`` window, zero outside the image (He's ``boxfilter``).

    Cumulative sums (O(1) per pixel for any r), accumulated in float64 on the
    CPU so the variance terms of the guided filter keep their precision with
    float32 input. The image is written once into a zero buffer with ``r + 1``
    leading and ``r`` trailing zeros, so the truncated windows need no
    concatenation.
    """
    dt = x.dtype
    acc = torch.float64 if x.device.type == "cpu" else dt
    h, w = x.shape[-2:]
    buf = x.new_zeros(*x.shape[:-2], h + 2 * r + 1, w + 2 * r + 1, dtype=acc)
    buf[..., r + 1:r + 1 + h, r + 1:r + 1 + w] = x
    return _window_sums(buf, h, w, 2 * r + 1, dt)


def box_mean_border(x: torch.Tensor, r: int, border: str = "replicate") -> torch.Tensor:
    """Mean over the ``(2r+1)^2`` window with ``border`` extension (MATLAB
    ``imfilter(x, ones(2r+1)/(2r+1)^2, border)``), by cumulative sums in float64 on the CPU."""
    dt = x.dtype
    acc = torch.float64 if x.device.type == "cpu" else dt
    h, w = x.shape[-2:]
    xp = pad(x, (r, r, r, r), border)
    buf = x.new_zeros(*x.shape[:-2], h + 2 * r + 1, w + 2 * r + 1, dtype=acc)
    buf[..., 1:, 1:] = xp
    return _window_sums(buf, h, w, 2 * r + 1, dt).div_(float((2 * r + 1) ** 2))


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


def pad_to_multiple(x: torch.Tensor, m: int, border: str = "symmetric") -> torch.Tensor:
    """Pad bottom/right so H and W are multiples of ``m``."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % m, (-w) % m
    if ph or pw:
        x = pad(x, (0, pw, 0, ph), border)
    return x
