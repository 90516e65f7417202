"""Standard pansharpening methods (batched torch), after the definitions in Vivone et al. 2015.

Component substitution (CS): ``F_k = M_k + g_k (P' - I)`` with an intensity ``I`` built from the
upsampled MS ``M`` and ``P'`` the PAN matched to ``I`` (mean and standard deviation):
GIHS (``I`` = band mean, ``g = 1``), Brovey (multiplicative, ``F_k = M_k P'/I``), PCA (PC1
substitution), GS (``I`` = band mean, ``g_k = cov(M_k, I)/var(I)``), GSA (``I`` = least-squares
combination of the bands fitted to the low-passed PAN), AIHS (``I`` = non-negative least-squares
combination of the bands fitted to the PAN, ``g = 1``).

Multiresolution analysis (MRA): ``F_k = M_k + (P_k - P_k^L)`` or ``F_k = M_k P_k / P_k^L`` with
``P_k`` the PAN matched to band ``k`` and ``P_k^L`` its low-pass version: HPF (box filter of side
``ratio``), SFIM (box, multiplicative), MTF-GLP (MTF-matched Gaussian filter, decimation and
23-tap re-interpolation) and MTF-GLP-HPM (multiplicative).

References: G. Vivone et al., "A critical comparison among pansharpening algorithms", IEEE TGRS
53(5), 2015, doi:10.1109/TGRS.2014.2361734; B. Aiazzi, S. Baronti, M. Selva, IEEE TGRS 45(10), 2007
(GSA); S. Rahmani et al., IEEE GRSL 7(4), 2010 (AIHS); T.-M. Tu et al., Inf. Fusion 2(3), 2001 (GIHS).
"""
from __future__ import annotations

import inspect
from typing import Any, Callable, Sequence

import numpy as np
import torch

from .._checks import ShapeError, check_finite, check_int
from .._convert import as_tensor, restore
from ..filters import filter2d, imresize_bicubic, interp23tap, mtf_filter
from ..registry import Registry

__all__ = ["METHODS", "pansharpen", "gihs", "brovey", "pca", "gs", "gsa", "aihs", "hpf", "sfim",
           "mtf_glp", "mtf_glp_hpm", "upsample_ms"]

METHODS: Registry[Callable] = Registry("pansharpening method")
#: The keywords each method kernel takes (read once at import; ``pansharpen`` passes only those).
_KEYWORDS: dict[str, frozenset[str]] = {}
_EPS = 1e-12


def _mean_std(x):
    return x.mean(dim=(-2, -1), keepdim=True), x.std(dim=(-2, -1), keepdim=True)


def _match(p: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """PAN (B, 1, H, W) matched to each band of ``target`` (B, C, H, W) in mean and std."""
    mp, sp = _mean_std(p)
    mt, st = _mean_std(target)
    return (p - mp) * st / (sp + _EPS) + mt


def _cs(ms, pan, inten, gains):
    pm = _match(pan, inten)
    return ms + gains * (pm - inten)


def _cov_gains(ms, inten):
    mc = ms - ms.mean(dim=(-2, -1), keepdim=True)
    ic = inten - inten.mean(dim=(-2, -1), keepdim=True)
    return (mc * ic).mean(dim=(-2, -1), keepdim=True) / ((ic * ic).mean(dim=(-2, -1), keepdim=True) + _EPS)


@METHODS.register("gihs")
def _gihs(ms, pan):
    inten = ms.mean(1, keepdim=True)
    return _cs(ms, pan, inten, 1.0)


@METHODS.register("brovey")
def _brovey(ms, pan):
    inten = ms.mean(1, keepdim=True)
    pm = _match(pan, inten)
    return ms * pm / (inten + _EPS)


@METHODS.register("pca")
def _pca(ms, pan):
    b, c, h, w = ms.shape
    x = ms.reshape(b, c, -1)
    mu = x.mean(-1, keepdim=True)
    xc = x - mu
    cov = xc @ xc.transpose(1, 2) / (x.shape[-1] - 1)
    _, vecs = torch.linalg.eigh(cov)
    v1 = vecs[:, :, -1:]  # (B, C, 1): first principal axis
    pc1 = (v1.transpose(1, 2) @ xc).reshape(b, 1, h, w)
    p = pan.reshape(b, 1, h, w)
    sign = torch.sign((((p - p.mean((-2, -1), keepdim=True)) * pc1).sum((-2, -1), keepdim=True)))
    sign = torch.where(sign == 0, torch.ones_like(sign), sign)
    pc1 = pc1 * sign
    v1 = v1 * sign.reshape(b, 1, 1)
    pm = _match(p, pc1)
    return ms + (v1.reshape(b, c, 1, 1) * (pm - pc1))


@METHODS.register("gs")
def _gs(ms, pan):
    inten = ms.mean(1, keepdim=True)
    return _cs(ms, pan, inten, _cov_gains(ms, inten))


def _lowpass_pan(pan, ratio):
    h, w = pan.shape[-2:]
    if h % ratio or w % ratio:
        raise ShapeError(f"pansharpen: image sides must be multiples of `ratio`={ratio}; got {h}x{w}")
    return interp23tap(imresize_bicubic(pan, 1.0 / ratio), ratio)


def _regress_bands(ms: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The least-squares fit of ``target`` (B, 1, H, W) by the bands of ``ms`` (B, C, H, W) and a constant,
    (B, 1, H, W) in ``ms``'s dtype, solved in float64.

    On CPU by LAPACK's SVD driver ``gelsd``, which reads no input but the matrices: torch's default
    ``gelsy`` reads its column-pivoting array ``jpvt`` on entry and torch leaves it uninitialised (and
    carries it from one batch item to the next), so its solution changed from call to call with the
    same input, by ~1e-12 in float64 and, through a different rank decision, grossly in float32
    (pytorch/pytorch#71222, #187411). CUDA has only ``gels`` (QR, full rank)."""
    b, c, h, w = ms.shape
    x = ms.reshape(b, c, -1).to(torch.float64)
    X = torch.cat([x, torch.ones_like(x[:, :1])], 1).transpose(1, 2)  # (B, HW, C+1)
    driver = "gelsd" if X.device.type == "cpu" else None
    coef = torch.linalg.lstsq(X, target.reshape(b, -1, 1).to(torch.float64), driver=driver).solution
    return (X @ coef).reshape(b, 1, h, w).to(ms.dtype)


@METHODS.register("gsa")
def _gsa(ms, pan, ratio=4):
    inten = _regress_bands(ms, _lowpass_pan(pan, ratio))
    return _cs(ms, pan, inten, _cov_gains(ms, inten))


@METHODS.register("aihs")
def _aihs(ms, pan):
    from scipy.optimize import nnls
    b, c, h, w = ms.shape
    X = ms.reshape(b, c, -1).transpose(1, 2).cpu().numpy().astype(np.float64)
    y = pan.reshape(b, -1).cpu().numpy().astype(np.float64)
    alpha = torch.as_tensor(np.stack([nnls(X[i], y[i])[0] for i in range(b)]), dtype=ms.dtype, device=ms.device)
    inten = (alpha[:, :, None, None] * ms).sum(1, keepdim=True)
    return _cs(ms, pan, inten, 1.0)


def _box_lowpass(p, ratio):
    k = torch.ones(ratio, ratio, dtype=p.dtype, device=p.device) / (ratio * ratio)
    return filter2d(p, k, "replicate")


@METHODS.register("hpf")
def _hpf(ms, pan, ratio=4):
    pk = _match(pan, ms)
    return ms + (pk - _box_lowpass(pk, ratio))


@METHODS.register("sfim")
def _sfim(ms, pan, ratio=4):
    pk = _match(pan, ms)
    return ms * pk / (_box_lowpass(pk, ratio) + _EPS)


def _glp_lowpass(pk, ratio, gains):
    h, w = pk.shape[-2:]
    if h % ratio or w % ratio:
        raise ShapeError(f"pansharpen: image sides must be multiples of `ratio`={ratio}; got {h}x{w}")
    lp = mtf_filter(pk, gains, ratio)
    o = ratio // 2
    return interp23tap(lp[..., o::ratio, o::ratio], ratio)


@METHODS.register("mtf_glp")
def _mtf_glp(ms, pan, ratio=4, gains=(0.3,)):
    pk = _match(pan, ms)
    return ms + (pk - _glp_lowpass(pk, ratio, gains))


@METHODS.register("mtf_glp_hpm")
def _mtf_glp_hpm(ms, pan, ratio=4, gains=(0.3,)):
    pk = _match(pan, ms)
    return ms * pk / (_glp_lowpass(pk, ratio, gains) + _EPS)


def _keywords(key: str, fn: Callable) -> frozenset[str]:
    if key not in _KEYWORDS:
        _KEYWORDS[key] = frozenset(inspect.signature(fn).parameters) - {"ms", "pan"}
    return _KEYWORDS[key]


def upsample_ms(ms: torch.Tensor, ratio: int = 4, method: str = "interp23tap") -> torch.Tensor:
    """Upsample a (B, C, h, w) MS by ``ratio``: ``'interp23tap'`` (Vivone) or ``'bicubic'`` (MATLAB)."""
    if method == "interp23tap":
        return interp23tap(ms, ratio)
    if method == "bicubic":
        return imresize_bicubic(ms, float(ratio))
    raise ValueError(f"upsample_ms: `method` must be 'interp23tap' or 'bicubic'; got {method!r}")


def pansharpen(ms: Any, pan: Any, method: str = "gsa", *, ratio: int = 4, gains: Sequence[float] = (0.3,),
               upsample: str = "interp23tap") -> Any:
    """Pansharpen ``ms`` with ``pan`` by a standard method.

    Parameters
    ----------
    ms : array or tensor, (C, h, w) or (B, C, h, w)
        MS at low resolution (``h = H / ratio``, upsampled with ``upsample``) or already at the PAN
        size (used as is).
    pan : array or tensor, (H, W), (1, H, W) or (B, 1, H, W)
    method : {'gihs', 'brovey', 'pca', 'gs', 'gsa', 'aihs', 'hpf', 'sfim', 'mtf_glp', 'mtf_glp_hpm'}
    ratio : int
    gains : sequence of float
        MTF gains at Nyquist per band (one value = all bands) for the MTF-GLP family (sensor tables
        in :data:`fusionlib.filters.SENSOR_GAINS`, band order B, G, R, NIR; the IAOA data are R, G, B, NIR).

    Returns
    -------
    Fused image (B, C, H, W) in the input's units, same type and rank as ``ms``; not clipped.
    """
    where = "pansharpen"
    fn = METHODS[method]
    ratio = check_int(where, "ratio", ratio, minimum=1)
    m, origin = as_tensor(ms, where=where, name="ms")
    p, _ = as_tensor(pan, where=where, name="pan")
    dt = torch.promote_types(m.dtype, p.dtype)
    m, p = m.to(dt), p.to(dt)
    check_finite(where, "ms", m)
    check_finite(where, "pan", p)
    if p.shape[1] != 1:
        raise ShapeError(f"{where}: `pan` must have one band; got shape {tuple(p.shape)}")
    H, W = p.shape[-2:]
    if m.shape[-2:] == (H, W):
        mu = m
    elif (m.shape[-2] * ratio, m.shape[-1] * ratio) == (H, W):
        mu = upsample_ms(m, ratio, upsample)
    else:
        raise ShapeError(f"{where}: `ms` must be {H}x{W} or {H // ratio}x{W // ratio} for `pan` {H}x{W} and "
                         f"ratio {ratio}; got {m.shape[-2]}x{m.shape[-1]}")
    if p.shape[0] not in (1, mu.shape[0]):
        raise ShapeError(f"{where}: `pan` batch {p.shape[0]} does not match `ms` batch {mu.shape[0]}")
    p = p.expand(mu.shape[0], -1, -1, -1)
    kw = {k: v for k, v in (("ratio", ratio), ("gains", tuple(gains))) if k in _keywords(method, fn)}
    out = fn(mu, p, **kw)
    return restore(out, origin)


def _public(key):
    def f(ms, pan, **kw):
        return pansharpen(ms, pan, key, **kw)
    f.__name__ = key
    f.__doc__ = f"``pansharpen(ms, pan, {key!r}, ...)``; see :func:`pansharpen`."
    return f


gihs, brovey, pca, gs, gsa, aihs, hpf, sfim, mtf_glp, mtf_glp_hpm = (
    _public(k) for k in ("gihs", "brovey", "pca", "gs", "gsa", "aihs", "hpf", "sfim", "mtf_glp", "mtf_glp_hpm"))
