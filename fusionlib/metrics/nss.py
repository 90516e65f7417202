"""NIQE (Mittal, Soundararajan, Bovik 2013) with the original LIVE pristine model, batched.

Follows the official MATLAB release (``computequality.m``, ``computefeature.m``,
``estimateggdparam.m``, ``estimateaggdparam.m``) step by step (metrics note §5):

1. grey image as double 0..255 (RGB -> MATLAB ``rgb2gray`` of the 8-bit image, rounded);
2. crop to whole 96 x 96 blocks;
3. two scales; the second is MATLAB ``imresize(I, 0.5)`` (bicubic, antialiased);
4. MSCN coefficients (I - mu) / (sigma + 1) with the 7 x 7 Gaussian of the model file, 'replicate' border;
   where I - mu is below the rounding error of the 49-term filter sum (``FLAT_TOL``, flat or exactly
   symmetric windows, whose exact value is 0) it is set to 0. Otherwise its sign is rounding noise that
   depends on the summation order of the machine's convolution kernel, and it decides which AGGD side a
   pixel counts on: a 1e-9 perturbation of the input moved NIQE of a blurred 256 x 256 image from 11.57
   to 11.68. MATLAB's own values carry that noise (see ``tests/metrics/test_niqe.py``);
5. per block 18 features per scale: an AGGD fit of the MSCN values gives (alpha, (beta_l + beta_r) / 2);
   AGGD fits of the products with the four neighbours made by **circular** shifts inside the block
   (shifts [0 1], [1 0], [1 1], [1 -1]) give (alpha, (beta_r - beta_l) G(2/alpha) / G(1/alpha), beta_l,
   beta_r); shapes by moment matching over the grid 0.2:0.001:10 (first minimum). (The metrics note
   describes BRISQUE's GGD/variance features; the NIQE release uses these, and only these reproduce the
   published MATLAB values.)
6. MVG fit (NaN-aware mean, covariance over complete rows);
7. sqrt((nu_p - nu)' pinv((Sigma_p + Sigma) / 2) (nu_p - nu)).

The model file ``fusionlib/resources/niqe_pris_params.npz`` equals LIVE's ``modelparameters.mat``
(see ``fusionlib/resources/NIQE_ATTRIBUTION.md``).
"""
from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._checks import ShapeError
from ..filters import rgb_to_gray
from ..filters import sep_filter2d
from ._common import check_preset, finish, prepare_fused
from ._registry import register_metric

__all__ = ["niqe", "imresize_half", "aggd_fit"]

_MODEL = Path(__file__).resolve().parents[1] / "resources" / "niqe_pris_params.npz"
#: |I - mu| below this (on the 0..255 scale) is the rounding error of the 7 x 7 filter sum, not signal:
#: the sum's error is at most 49 u 255 = 2.8e-12 (u = 2**-53); the smallest non-zero |I - mu| of an 8-bit
#: image is far larger (a one-level step weighted by the Gaussian's smallest tap, ~1e-4)
FLAT_TOL = 1e-9
_GAM = np.arange(0.2, 10.0 + 1e-9, 0.001)  # MATLAB 0.2:0.001:10 (9801 values)


@lru_cache(maxsize=1)
def _model() -> dict[str, np.ndarray]:
    with np.load(_MODEL) as d:
        return {k: d[k].astype(np.float64) for k in d.files}


@lru_cache(maxsize=1)
def _tables() -> tuple[np.ndarray, np.ndarray]:
    from scipy.special import gamma as g
    r_ggd = g(1.0 / _GAM) * g(3.0 / _GAM) / g(2.0 / _GAM) ** 2  # decreasing in gam
    r_aggd = g(2.0 / _GAM) ** 2 / (g(1.0 / _GAM) * g(3.0 / _GAM))  # increasing in gam
    return r_ggd, r_aggd


def _nearest(table: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Index of the first minimum of |table - x| for an increasing ``table`` (NaN -> NaN shape)."""
    pos = torch.searchsorted(table, x.contiguous().clamp(min=float(table[0]), max=float(table[-1])))
    lo = (pos - 1).clamp(0, table.numel() - 1)
    hi = pos.clamp(0, table.numel() - 1)
    d_lo = (x - table[lo]).abs()
    d_hi = (table[hi] - x).abs()
    return torch.where(d_lo <= d_hi, lo, hi)


def ggd_fit(v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """GGD moment-matching fit over the last axis: (shape alpha, variance sigma^2) (``estimateggdparam``)."""
    r_ggd, _ = _tables()
    # table decreasing in gam -> search the reversed (increasing) table, prefer the lower gam on ties
    rev = torch.as_tensor(r_ggd[::-1].copy(), dtype=v.dtype, device=v.device)
    sig2 = v.pow(2).mean(dim=-1)
    e = v.abs().mean(dim=-1)
    rho = sig2 / (e * e)
    idx_rev = _nearest_last(rev, rho)
    gam = torch.as_tensor(_GAM, dtype=v.dtype, device=v.device)
    alpha = gam[rev.numel() - 1 - idx_rev]
    alpha = torch.where(torch.isnan(rho), torch.full_like(rho, float("nan")), alpha)
    return alpha, sig2


def _nearest_last(table: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """As :func:`_nearest` but preferring the larger index on ties (reversed tables)."""
    xs = x.contiguous().nan_to_num(nan=float(table[0])).clamp(min=float(table[0]), max=float(table[-1]))
    pos = torch.searchsorted(table, xs)
    lo = (pos - 1).clamp(0, table.numel() - 1)
    hi = pos.clamp(0, table.numel() - 1)
    return torch.where((xs - table[lo]).abs() < (table[hi] - xs).abs(), lo, hi)


def aggd_fit(v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """AGGD fit over the last axis: (alpha, beta_left, beta_right) (NIQE's ``estimateaggdparam``).

    alpha by moment matching (first minimum over 0.2:0.001:10), beta = std * sqrt(G(1/a) / G(3/a)) of
    the negative and the positive values. An empty side gives NaN, as MATLAB ``mean([])``.
    """
    _, r_aggd = _tables()
    tab = torch.as_tensor(r_aggd, dtype=v.dtype, device=v.device)
    neg = (v < 0).to(v.dtype)
    pos = (v > 0).to(v.dtype)
    left = torch.sqrt((v * v * neg).sum(-1) / neg.sum(-1))
    right = torch.sqrt((v * v * pos).sum(-1) / pos.sum(-1))
    gh = left / right
    rhat = v.abs().mean(-1) ** 2 / (v * v).mean(-1)
    rnorm = rhat * (gh ** 3 + 1) * (gh + 1) / (gh ** 2 + 1) ** 2
    gam = torch.as_tensor(_GAM, dtype=v.dtype, device=v.device)
    alpha = gam[_nearest(tab, rnorm.nan_to_num(nan=0.0))]
    alpha = torch.where(torch.isnan(rnorm), torch.full_like(rnorm, float("nan")), alpha)
    k = torch.exp(0.5 * (torch.lgamma(1 / alpha) - torch.lgamma(3 / alpha)))
    return alpha, left * k, right * k


def _cubic(x: np.ndarray) -> np.ndarray:
    ax = np.abs(x)
    ax2, ax3 = ax * ax, ax * ax * ax
    return ((1.5 * ax3 - 2.5 * ax2 + 1) * (ax <= 1)
            + (-0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2) * ((ax > 1) & (ax <= 2)))


@lru_cache(maxsize=64)
def _resize_matrix(n_in: int, scale: float = 0.5) -> np.ndarray:
    """MATLAB ``imresize`` bicubic weights (antialiased for scale < 1, symmetric border) as a matrix."""
    n_out = int(math.ceil(n_in * scale))
    width = 4.0 / scale
    x = np.arange(1, n_out + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(u - width / 2)
    p = int(math.ceil(width)) + 2
    idx = left[:, None] + np.arange(p)[None, :]
    w = scale * _cubic(scale * (u[:, None] - idx))
    w = w / w.sum(axis=1, keepdims=True)
    aux = np.concatenate([np.arange(n_in), np.arange(n_in - 1, -1, -1)])
    idx = aux[np.mod(idx.astype(np.int64) - 1, 2 * n_in)]
    mat = np.zeros((n_out, n_in))
    for j in range(p):
        np.add.at(mat, (np.arange(n_out), idx[:, j]), w[:, j])
    return mat


def imresize_half(x: torch.Tensor) -> torch.Tensor:
    """MATLAB ``imresize(x, 0.5)`` (bicubic, antialiasing) of (..., H, W) float tensors."""
    rh = torch.as_tensor(_resize_matrix(x.shape[-2]), dtype=x.dtype, device=x.device)
    rw = torch.as_tensor(_resize_matrix(x.shape[-1]), dtype=x.dtype, device=x.device)
    return rh @ x @ rw.t()


def _block_features(img: torch.Tensor, bs: int, window: torch.Tensor) -> torch.Tensor:
    """img (B, 1, H, W) on 0..255, H and W multiples of ``bs`` -> (B, nblocks, 18)."""
    k = window.sum(dim=1)  # the model's window is the outer product of this normalised 1-D Gaussian
    both = sep_filter2d(torch.cat([img, img * img], dim=1), k, k, "replicate")
    mu, m2 = both[:, :1], both[:, 1:]
    sigma = torch.sqrt((m2 - mu * mu).abs())
    centred = img - mu
    centred = torch.where(centred.abs() < FLAT_TOL, torch.zeros_like(centred), centred)
    sd = (centred / (sigma + 1))[:, 0]
    b, h, w = sd.shape
    blocks = sd.reshape(b, h // bs, bs, w // bs, bs).permute(0, 3, 1, 2, 4)  # MATLAB blkproc: column-major
    blocks = blocks.reshape(b, -1, bs, bs)
    flat = blocks.reshape(b, blocks.shape[1], -1)
    alpha, bl, br = aggd_fit(flat)
    feats = [alpha, (bl + br) / 2]
    for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):  # MATLAB circshift(structdis, shift)
        shifted = torch.roll(blocks, shifts=(dy, dx), dims=(-2, -1))
        alpha, bl, br = aggd_fit((blocks * shifted).reshape(b, blocks.shape[1], -1))
        mean = (br - bl) * torch.exp(torch.lgamma(2 / alpha) - torch.lgamma(1 / alpha))
        feats += [alpha, mean, bl, br]
    return torch.stack(feats, dim=-1)


def _niqe(img: torch.Tensor, block: int = 96) -> torch.Tensor:
    """Kernel: (B, 1, H, W) gray on 0..255 (H, W >= 2 blocks) -> (B,) NIQE."""
    m = _model()
    img = img.to(torch.float64)  # MATLAB parity: the moment matching is sensitive to rounding
    window = torch.as_tensor(m["gaussian_window"], dtype=img.dtype, device=img.device)
    h, w = img.shape[-2:]
    img = img[..., : (h // block) * block, : (w // block) * block]
    f1 = _block_features(img, block, window)
    f2 = _block_features(imresize_half(img), block // 2, window)
    feat = torch.cat([f1, f2], dim=-1)  # (B, nblocks, 36)
    mu_p = torch.as_tensor(m["mu_pris_param"], dtype=img.dtype, device=img.device).reshape(-1)
    cov_p = torch.as_tensor(m["cov_pris_param"], dtype=img.dtype, device=img.device)
    out = []
    for fb in feat:  # per image: NaN handling differs per image
        mu = torch.nanmean(fb, dim=0)
        if bool(torch.isnan(mu).any()):  # a feature undefined in every block (flat image)
            out.append(torch.tensor(float("inf"), dtype=img.dtype, device=img.device))
            continue
        ok = ~torch.isnan(fb).any(dim=1)
        rows = fb[ok]
        cov = torch.cov(rows.t()) if rows.shape[0] > 1 else torch.zeros_like(cov_p)
        d = (mu_p - mu).unsqueeze(1)
        inv = torch.linalg.pinv((cov_p + cov) / 2)
        out.append(torch.sqrt((d.t() @ inv @ d).reshape(())))
    return torch.stack(out)


def _to_gray(f: torch.Tensor, color: str) -> torch.Tensor:
    if f.shape[1] == 1:
        return f
    if f.shape[1] != 3:
        raise ShapeError(f"niqe: `fused` must have 1 or 3 channels; got {f.shape[1]}")
    if color == "y":  # MATLAB rgb2ycbcr Y (BasicSR / pyiqa convention), rounded
        w = torch.tensor([65.481, 128.553, 24.966], dtype=f.dtype, device=f.device).reshape(1, 3, 1, 1)
        return torch.round((f / 255.0 * w).sum(dim=1, keepdim=True) + 16.0)
    return rgb_to_gray(f / 255.0, rounding=True) * 255.0


@register_metric("niqe", full_name="Natural image quality evaluator (NIQE)", higher_is_better=False,
                 inputs="none", range=(0.0, float("inf")), presets=("default",),
                 references=("Mittal, Soundararajan, Bovik, IEEE Signal Process. Lett. 20 (2013) 209-212, "
                             "doi:10.1109/LSP.2012.2227726",
                             "LIVE NIQE release (MATLAB) and its modelparameters.mat"))
def niqe(fused: Any, *, color: str = "gray", block: int = 96, preset: str = "default",
         data_range: float = 1.0) -> Any:
    """Natural image quality evaluator (NIQE) with the original LIVE pristine model.

    NIQE = sqrt((nu_p - nu)^T pinv((Sigma_p + Sigma) / 2) (nu_p - nu)), the distance between the
    multivariate Gaussian of 36 natural-scene-statistics features of the image's 96 x 96 blocks
    (two scales) and the pristine model (nu_p, Sigma_p).

    Parameters
    ----------
    fused : (H, W), (C, H, W) or (B, C, H, W), 1 or 3 channels, at least 2 blocks per side (192 x 192)
    color : {'gray', 'y'}
        RGB conversion: ``'gray'`` MATLAB ``rgb2gray`` of the 8-bit image (the official code),
        ``'y'`` the rounded MATLAB ``rgb2ycbcr`` luma (BasicSR / pyiqa).
    block : int
        Block side (96 in the model; other values change the statistics and are for experiments).
    preset : {'default'}
    data_range : float

    Returns
    -------
    float or (B,)
        Lower is better (typically 2-10 for natural images; grows with blur and noise). ``inf`` when a
        feature is undefined in every block (e.g. a constant image: no natural-scene statistics).

    Raises
    ------
    ShapeError
        Fewer than 2 blocks per side (the block covariance degenerates).

    Notes
    -----
    The sharpness-based block selection (threshold 0.75) of the release is used only to fit the
    pristine model, not to score, so it is absent here. Checked against the MATLAB values published
    for five TID images (``tests/metrics/test_niqe.py``): equal to 1e-13 on an image without flat
    regions. In flat regions the MSCN coefficients are rounding noise of the window sums (|value| < 1e-8)
    whose signs depend on the floating-point summation order, and the AGGD fits of such blocks follow
    that noise: no port reproduces MATLAB there (measured 1e-5 to 3 %, growing with the flat fraction;
    reordering only our own sums moves the values as much).
    """
    where = "niqe"
    check_preset(where, preset)
    if color not in ("gray", "y"):
        raise ValueError(f"{where}: `color` must be one of ['gray', 'y']; got {color!r}")
    if not isinstance(block, int) or block < 8 or block % 2:
        raise ValueError(f"{where}: `block` must be an even int >= 8; got {block!r}")
    f, origin = prepare_fused(fused, where=where, data_range=data_range, min_size=1)
    if f.shape[-2] < 2 * block or f.shape[-1] < 2 * block:
        raise ShapeError(f"{where}: `fused` must be at least {2 * block}x{2 * block} pixels (2 blocks "
                         f"of {block} per side for a usable covariance); got "
                         f"{f.shape[-2]}x{f.shape[-1]}", expected=(2 * block, 2 * block),
                         actual=tuple(f.shape[-2:]))
    return finish(_niqe(_to_gray(f, color), block), origin)
