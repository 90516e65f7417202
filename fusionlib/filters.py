"""Linear filtering on ``(B, C, H, W)`` tensors with explicit border modes.

Border modes (``border``):

* ``"symmetric"``: half-sample symmetric, MATLAB ``imfilter(..., 'symmetric')``,
  ``scipy.ndimage`` ``mode="reflect"``, NumPy ``pad(mode="symmetric")``.
* ``"reflect"``: whole-sample symmetric (edge not repeated), torch ``reflect``,
  ``scipy.ndimage`` ``mode="mirror"``.
* ``"replicate"``: edge value repeated (MATLAB ``'replicate'``).
* ``"zeros"``: zero padding (MATLAB ``imfilter`` default, ``filter2``).
* ``"circular"``: periodic.
* ``"valid"``: no padding; the output shrinks (MATLAB ``filter2(..., 'valid')``).

All kernels act channel-wise (depthwise) and keep the dtype and device of the input.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

BORDERS = ("symmetric", "reflect", "replicate", "zeros", "circular", "valid")


def _symmetric_pad(x: torch.Tensor, pad: tuple[int, int, int, int]) -> torch.Tensor:
    """Half-sample symmetric padding (left, right, top, bottom), any pad size."""
    left, right, top, bottom = pad
    h, w = x.shape[-2:]

    def idx(n: int, before: int, after: int, device) -> torch.Tensor:
        i = torch.arange(-before, n + after, device=device)
        period = 2 * n
        i = torch.remainder(i, period)
        return torch.where(i >= n, period - 1 - i, i)

    if top or bottom:
        x = x.index_select(-2, idx(h, top, bottom, x.device))
    if left or right:
        x = x.index_select(-1, idx(w, left, right, x.device))
    return x


def pad(x: torch.Tensor, pad: tuple[int, int, int, int], border: str = "symmetric") -> torch.Tensor:
    """Pad the last two axes by ``(left, right, top, bottom)`` with a named border mode."""
    if border == "symmetric":
        return _symmetric_pad(x, pad)
    if border == "reflect":
        h, w = x.shape[-2:]
        if max(pad[0], pad[1]) >= w or max(pad[2], pad[3]) >= h:
            # torch's reflect needs pad < size; fall back to an index construction
            i = _reflect_index(h, pad[2], pad[3], x.device)
            j = _reflect_index(w, pad[0], pad[1], x.device)
            return x.index_select(-2, i).index_select(-1, j)
        return F.pad(x, pad, mode="reflect")
    if border == "replicate":
        return F.pad(x, pad, mode="replicate")
    if border == "circular":
        return F.pad(x, pad, mode="circular")
    if border == "zeros":
        return F.pad(x, pad, mode="constant", value=0.0)
    if border == "valid":
        return x
    raise ValueError(f"pad: `border` must be one of {list(BORDERS)}; got {border!r}")


def _reflect_index(n: int, before: int, after: int, device) -> torch.Tensor:
    i = torch.arange(-before, n + after, device=device)
    if n == 1:
        return torch.zeros_like(i)
    period = 2 * (n - 1)
    i = torch.remainder(i, period)
    return torch.where(i >= n, period - i, i)


def filter2d(x: torch.Tensor, kernel: torch.Tensor, border: str = "symmetric") -> torch.Tensor:
    """Correlate every channel of ``x`` (B, C, H, W) with a 2-D ``kernel`` (kh, kw).

    This is correlation, as MATLAB ``imfilter``/``filter2`` compute; for odd
    kernels the output is centred. Even kernels follow MATLAB's centre
    ``floor((k + 1) / 2)``.
    """
    kernel = kernel.to(dtype=x.dtype, device=x.device)
    kh, kw = kernel.shape[-2:]
    b, c, h, w = x.shape
    if border != "valid":
        top = (kh - 1) // 2
        left = (kw - 1) // 2
        x = pad(x, (left, kw - 1 - left, top, kh - 1 - top), border)
    y = F.conv2d(x.reshape(b * c, 1, x.shape[-2], x.shape[-1]), kernel.reshape(1, 1, kh, kw))
    return y.reshape(b, c, y.shape[-2], y.shape[-1])


def sep_filter2d(x: torch.Tensor, kernel_y: torch.Tensor, kernel_x: torch.Tensor | None = None,
                 border: str = "symmetric") -> torch.Tensor:
    """Separable correlation: ``kernel_y`` along rows (H), then ``kernel_x`` along columns (W)."""
    kernel_x = kernel_y if kernel_x is None else kernel_x
    ky = kernel_y.to(dtype=x.dtype, device=x.device).reshape(-1)
    kx = kernel_x.to(dtype=x.dtype, device=x.device).reshape(-1)
    b, c = x.shape[:2]
    n_y, n_x = ky.numel(), kx.numel()
    if border != "valid":
        top, left = (n_y - 1) // 2, (n_x - 1) // 2
        x = pad(x, (left, n_x - 1 - left, top, n_y - 1 - top), border)
    z = x.reshape(b * c, 1, x.shape[-2], x.shape[-1])
    z = F.conv2d(z, ky.reshape(1, 1, n_y, 1))
    z = F.conv2d(z, kx.reshape(1, 1, 1, n_x))
    return z.reshape(b, c, z.shape[-2], z.shape[-1])


def gaussian_kernel1d(sigma: float, size: int | None = None, *, dtype=torch.float64,
                      device=None) -> torch.Tensor:
    """Normalised 1-D Gaussian of standard deviation ``sigma``.

    ``size`` defaults to ``2 * ceil(3 * sigma) + 1``. Matches the separable
    factor of MATLAB ``fspecial('gaussian', size, sigma)``.
    """
    if sigma <= 0:
        raise ValueError(f"gaussian_kernel1d: `sigma` must be > 0; got {sigma}")
    if size is None:
        size = 2 * math.ceil(3 * sigma) + 1
    r = (size - 1) / 2.0
    t = torch.arange(size, dtype=dtype, device=device) - r
    k = torch.exp(-(t * t) / (2 * sigma * sigma))
    return k / k.sum()


def gaussian_kernel2d(sigma: float, size: int | None = None, *, dtype=torch.float64,
                      device=None) -> torch.Tensor:
    """``fspecial('gaussian', size, sigma)``: the outer product of two 1-D Gaussians."""
    k = gaussian_kernel1d(sigma, size, dtype=dtype, device=device)
    return torch.outer(k, k)


def gaussian_blur(x: torch.Tensor, sigma: float, size: int | None = None,
                  border: str = "symmetric") -> torch.Tensor:
    """Separable Gaussian blur of every channel."""
    k = gaussian_kernel1d(sigma, size, dtype=x.dtype, device=x.device)
    return sep_filter2d(x, k, k, border)


def box_filter(x: torch.Tensor, radius: int, *, normalize: bool = True,
               border: str = "symmetric") -> torch.Tensor:
    """Mean (or sum) over a ``(2r+1) x (2r+1)`` window."""
    size = 2 * radius + 1
    k = torch.ones(size, dtype=x.dtype, device=x.device)
    if normalize:
        k = k / size
    return sep_filter2d(x, k, k, border)


SOBEL_X = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
SOBEL_Y = SOBEL_X.t().contiguous()


def sobel(x: torch.Tensor, border: str = "replicate") -> tuple[torch.Tensor, torch.Tensor]:
    """Sobel responses ``(gx, gy)`` by correlation (``gx`` responds to vertical edges)."""
    return filter2d(x, SOBEL_X, border), filter2d(x, SOBEL_Y, border)


def rgb_to_gray(x: torch.Tensor, *, rounding: bool = False) -> torch.Tensor:
    """ITU-R BT.601 luma, as MATLAB ``rgb2gray`` (0.2989, 0.5870, 0.1140).

    ``x`` is (B, 3, H, W) (a 1-channel input is returned unchanged).
    ``rounding=True`` rounds on the 0..255 scale, as ``rgb2gray`` on uint8 does.
    """
    if x.shape[1] == 1:
        return x
    if x.shape[1] != 3:
        raise ValueError(f"rgb_to_gray: input must have 1 or 3 channels; got {x.shape[1]}")
    w = torch.tensor([0.298936021293775, 0.587043074451121, 0.114020904255103],
                     dtype=x.dtype, device=x.device).reshape(1, 3, 1, 1)
    y = (x * w).sum(dim=1, keepdim=True)
    if rounding:
        y = torch.round(y * 255.0) / 255.0
    return y


def rgb_to_ycbcr(x: torch.Tensor) -> torch.Tensor:
    """Full-range JPEG (BT.601) Y'CbCr of an RGB tensor in [0, 1]; Cb, Cr centred at 0.5."""
    r, g, b = x[:, 0:1], x[:, 1:2], x[:, 2:3]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = 0.5 + (b - y) * 0.564
    cr = 0.5 + (r - y) * 0.713
    return torch.cat([y, cb, cr], dim=1)


def ycbcr_to_rgb(x: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`rgb_to_ycbcr`."""
    y, cb, cr = x[:, 0:1], x[:, 1:2] - 0.5, x[:, 2:3] - 0.5
    r = y + 1.403 * cr
    g = y - 0.714 * cr - 0.344 * cb
    b = y + 1.773 * cb
    return torch.cat([r, g, b], dim=1)
