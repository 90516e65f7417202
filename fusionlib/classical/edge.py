"""Edge-preserving two-scale fusion: cross bilateral filter (CBF) and anisotropic diffusion (ADF)."""
from __future__ import annotations

import math

import torch

from .._checks import check_int, check_positive
from ..filters import gaussian_kernel2d, pad
from ._registry import MAX_ITER, MAX_SCALE, MAX_SIGMA, MAX_WINDOW, MIN_SCALE, MIN_SIGMA, register_method
from .._checks import choice_param, float_param, int_param


def _others_mean(x: torch.Tensor) -> torch.Tensor:
    n = x.shape[1]
    return (x.sum(1, keepdim=True) - x) / (n - 1)


def cross_bilateral(x: torch.Tensor, guide: torch.Tensor, sigma_s: float, sigma_r: float,
                    ksize: int, border: str = "symmetric") -> torch.Tensor:
    """Cross (joint) bilateral filter of ``x`` with range weights from ``guide`` (same shape).

    ``y(p) = sum_q g_s(p - q) g_r(G(q) - G(p)) x(q) / sum_q g_s g_r`` over a
    ``ksize x ksize`` window; ``g_s`` Gaussian of ``sigma_s`` pixels, ``g_r``
    Gaussian of ``sigma_r`` (intensity units of the data). Loops over window
    offsets, so memory stays O(image).
    """
    r = ksize // 2
    gs = gaussian_kernel2d(sigma_s, ksize, dtype=x.dtype, device=x.device)
    xp = pad(x, (r, r, r, r), border)
    gp = pad(guide, (r, r, r, r), border)
    h, w = x.shape[-2:]
    num = torch.zeros_like(x)
    den = torch.zeros_like(x)
    inv = -1.0 / (2.0 * sigma_r * sigma_r)
    for dy in range(ksize):
        for dx in range(ksize):
            gq = gp[..., dy:dy + h, dx:dx + w]
            wgt = torch.exp((gq - guide).square() * inv) * gs[dy, dx]
            num += wgt * xp[..., dy:dy + h, dx:dx + w]
            den += wgt
    return num / den


def _trace_cov(d: torch.Tensor, w: int, border: str = "symmetric") -> torch.Tensor:
    """``trace(cov(X)) + trace(cov(X^T))`` of the w x w neighbourhood X of every pixel.

    ``trace(cov(X))`` = sum over the w columns of the unbiased variance of the
    column (rows are observations), i.e. ``(sum x^2 - sum_cols (col sum)^2 / w) / (w - 1)``.
    """
    r = w // 2
    dp = pad(d, (r, r, r, r), border)
    h, wd = d.shape[-2:]
    ones = torch.ones(1, 1, w, 1, dtype=d.dtype, device=d.device)
    b, c = dp.shape[:2]
    z = dp.reshape(b * c, 1, *dp.shape[-2:])
    col = torch.nn.functional.conv2d(z, ones)                 # vertical sums (H, W + 2r)
    row = torch.nn.functional.conv2d(z, ones.transpose(-1, -2))  # horizontal sums (H + 2r, W)
    sq = torch.nn.functional.conv2d(torch.nn.functional.conv2d(z * z, ones), ones.transpose(-1, -2))
    col2 = torch.nn.functional.conv2d(col * col, ones.transpose(-1, -2))
    row2 = torch.nn.functional.conv2d(row * row, ones)
    t = (2 * sq - (col2 + row2) / w) / (w - 1)
    return t.reshape(b, c, h, wd)


@register_method("cbf", full_name="Cross bilateral filter fusion (CBF)",
                 tasks=("infrared-visible", "multi-focus", "medical"),
                 reference="Shreyamsha Kumar, Signal Image Video Process. 9 (2015) 1193-1204, "
                           "doi:10.1007/s11760-013-0556-9",
                 min_size=lambda p: (max(int(p["ksize"]) // 2 + 1, int(p["cov_window"]) // 2 + 1),
                                     "filter windows"),
                 params=dict(
                     sigma_s=float_param(MIN_SIGMA, MAX_SIGMA),
                     sigma_r=float_param(MIN_SCALE, MAX_SCALE),
                     ksize=int_param(1, MAX_WINDOW, odd=True),
                     cov_window=int_param(3, MAX_WINDOW, odd=True)))
def _cbf(x: torch.Tensor, *, sigma_s: float = 1.8, sigma_r: float = 25.0 / 255.0, ksize: int = 11,
         cov_window: int = 5) -> torch.Tensor:
    """Cross bilateral filter fusion (Shreyamsha Kumar 2015).

    ``D_i = I_i - CBF(I_i; guide = I_j)``; per-pixel weight
    ``w_i = trace(cov(X_i)) + trace(cov(X_i^T))`` of the ``cov_window^2``
    neighbourhood ``X_i`` of ``D_i`` (horizontal plus vertical detail
    strength: the sum of the covariance eigenvalues);
    ``F = sum_i w_i I_i / sum_i w_i``.

    Parameters
    ----------
    sigma_s : float, default 1.8
        Spatial sigma in pixels.
    sigma_r : float, default 25/255
        Range sigma; the paper's 25 on 0-255 data.
    ksize : int, default 11
        Bilateral window side (odd).
    cov_window : int, default 5
        Side of the covariance neighbourhood (odd).

    Notes
    -----
    Conventions: with N > 2 sources the range guide of source i is the mean of
    the others (two sources: the other one, as in the paper). Half-sample
    symmetric borders. Zero weights are replaced by machine epsilon as in the
    authors' code, so flat regions are averaged.
    """
    ksize = check_int("cbf", "ksize", ksize, minimum=1)
    cov_window = check_int("cbf", "cov_window", cov_window, minimum=2)
    sigma_s = check_positive("cbf", "sigma_s", sigma_s)
    sigma_r = check_positive("cbf", "sigma_r", sigma_r)
    if ksize % 2 == 0 or cov_window % 2 == 0:
        raise ValueError(f"cbf: `ksize` and `cov_window` must be odd; got {ksize}, {cov_window}")
    filt = cross_bilateral(x, _others_mean(x), sigma_s, sigma_r, ksize)
    # detail strength in float64 on the CPU: in flat regions it is a difference of nearly
    # equal sums, and float32 noise there would decide between the sources
    d = x - filt
    acc = torch.float64 if d.device.type == "cpu" else d.dtype
    wts = _trace_cov(d.to(acc), cov_window).clamp_min(0.0).to(x.dtype)
    wts = torch.where(wts == 0, torch.full_like(wts, torch.finfo(wts.dtype).eps), wts)
    return (wts * x).sum(1, keepdim=True) / wts.sum(1, keepdim=True)


_PM_OFFSETS = [(-1, 0, 1.0), (1, 0, 1.0), (0, -1, 1.0), (0, 1, 1.0),
               (-1, 1, 0.5), (1, 1, 0.5), (1, -1, 0.5), (-1, -1, 0.5)]


def anisotropic_diffusion(x: torch.Tensor, n_iter: int, delta_t: float, kappa: float,
                          option: int = 1) -> torch.Tensor:
    """Perona-Malik diffusion with 8 neighbours (weights 1 and 1/dd^2 = 1/2 for diagonals).

    ``I <- I + dt sum_d c(nabla_d I) nabla_d I / |d|^2``, ``c = exp(-(g/kappa)^2)``
    (option 1) or ``1 / (1 + (g/kappa)^2)`` (option 2); differences to
    neighbours outside the image are 0 (zero-padded ``conv2(..., 'same')``
    differences read as Neumann here: replicate borders).
    """
    h, w = x.shape[-2:]
    for _ in range(n_iter):
        xp = pad(x, (1, 1, 1, 1), "replicate")
        upd = torch.zeros_like(x)
        inv_k2 = 1.0 / (kappa * kappa)
        for dy, dx, wt in _PM_OFFSETS:
            g = xp[..., 1 + dy:1 + dy + h, 1 + dx:1 + dx + w] - x
            q = g * g
            if option == 1:
                c = q.mul_(-inv_k2).exp_()
            else:
                c = q.mul_(inv_k2).add_(1.0).reciprocal_()
            upd.addcmul_(c, g, value=wt)
        x = x + delta_t * upd
    return x


@register_method("adf", full_name="Anisotropic diffusion and Karhunen-Loeve fusion (ADF)",
                 tasks=("infrared-visible", "medical"),
                 reference="Bavirisetti & Dhuli, IEEE Sensors J. 16(1) (2016) 203-209, "
                           "doi:10.1109/JSEN.2015.2478655",
                 params=dict(
                     n_iter=int_param(0, MAX_ITER),
                     delta_t=float_param(0, 1, open_low=True),
                     kappa=float_param(MIN_SCALE, MAX_SCALE),
                     option=choice_param(1, 2)))
def _adf(x: torch.Tensor, *, n_iter: int = 10, delta_t: float = 0.15, kappa: float = 30.0 / 255.0,
         option: int = 1) -> torch.Tensor:
    """Anisotropic diffusion fusion (Bavirisetti & Dhuli 2016).

    Base ``A_i`` = Perona-Malik diffusion of ``I_i``; detail ``D_i = I_i - A_i``;
    KL transform: ``xi`` = eigenvector of the largest eigenvalue of the N x N
    covariance of the details, ``k = xi / sum(xi)``;
    ``F = mean_i A_i + sum_i k_i D_i``.

    Parameters
    ----------
    n_iter : int, default 10
    delta_t : float, default 0.15
    kappa : float, default 30/255
        Conduction threshold (the authors' 30 on 0-255 data).
    option : {1, 2}
        Perona-Malik conduction function.

    Notes
    -----
    Conventions: covariance over all pixels of one image (per batch item);
    replicate borders for the diffusion. Where the details have no variance
    (constant images) the detail weights are 1/N.
    """
    n_iter = check_int("adf", "n_iter", n_iter, minimum=0)
    delta_t = check_positive("adf", "delta_t", delta_t)
    kappa = check_positive("adf", "kappa", kappa)
    if option not in (1, 2):
        raise ValueError(f"adf: `option` must be 1 or 2; got {option!r}")
    base = anisotropic_diffusion(x, n_iter, delta_t, kappa, option)
    d = x - base
    b, n = d.shape[:2]
    flat = d.reshape(b, n, -1)
    flat = flat - flat.mean(-1, keepdim=True)
    cov = flat @ flat.transpose(-1, -2) / max(flat.shape[-1] - 1, 1)
    _, vecs = torch.linalg.eigh(cov)
    xi = vecs[..., -1]                                     # largest eigenvalue
    tot = xi.sum(-1, keepdim=True)
    ok = tot.abs() > 1e-12
    k = torch.where(ok, xi / torch.where(ok, tot, torch.ones_like(tot)), torch.full_like(xi, 1.0 / n))
    return base.mean(1, keepdim=True) + (k[..., None, None] * d).sum(1, keepdim=True)
