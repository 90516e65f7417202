"""Pansharpening indices at reduced resolution (against a reference): ERGAS, SAM, RMSE, RASE, CC, UIQI,
Q2n, SCC, their batched kernels, and the IAOA metric set in one batched call (:func:`iaoa_scores`).
"""
from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn.functional as F

from ..._checks import ShapeError, check_int, check_positive
from ..._convert import restore_scores
from ...filters import SOBEL_X, filter2d
from .._common import CHUNK
from .._registry import check_preset, register_metric
from .hypercomplex import q2n_kernel
from .validation import (DATA_RANGE, PRESETS_PS, _REFS_IAOA, _REFS_VIVONE, _band_sq_err, _band_sum, _prep_pair,
                         _prep_sums)

__all__ = ["rmse_kernel", "ergas_kernel", "rase_kernel", "sam_kernel", "cc_kernel", "uiqi_kernel", "scc_kernel", "ergas", "sam", "rmse", "rase", "cc", "uiqi", "q2n", "scc", "IAOA_METRICS", "iaoa_scores"]


def _rmse_from_sums(sq: torch.Tensor, n: int) -> torch.Tensor:
    return torch.sqrt(sq.sum(dim=1) / (sq.shape[1] * n))


def _exact_zero(rel: torch.Tensor, mse: torch.Tensor, defined: bool) -> torch.Tensor:
    """With ``defined``, a relative error 0/0 (zero reference mean, zero error) counts as 0, not NaN."""
    return torch.where(mse == 0, torch.zeros_like(rel), rel) if defined else rel


def _ergas_from_sums(sq: torch.Tensor, s: torch.Tensor, n: int, ratio: float,
                     defined: bool = False) -> torch.Tensor:
    mse, mu = sq / n, s / n
    return (100.0 / ratio) * torch.sqrt(_exact_zero(mse / mu ** 2, mse, defined).mean(dim=1))


def _rase_from_sums(sq: torch.Tensor, s: torch.Tensor, n: int, defined: bool = False) -> torch.Tensor:
    mse, mu = sq / n, s.mean(dim=1) / n
    return _exact_zero(100.0 / mu * torch.sqrt(mse.mean(dim=1)), mse.sum(dim=1), defined)


def rmse_kernel(f: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """Global RMSE over all pixels and bands; float32 data are summed per plane, then in float64."""
    return _rmse_from_sums(_band_sq_err(f, r), f.shape[2] * f.shape[3])


def ergas_kernel(f: torch.Tensor, r: torch.Tensor, ratio: float = 4.0) -> torch.Tensor:
    """(100/ratio) sqrt(mean_b MSE_b / mu_b^2), mu_b the reference band mean (sums as in rmse_kernel)."""
    return _ergas_from_sums(_band_sq_err(f, r), _band_sum(r), f.shape[2] * f.shape[3], ratio)


def rase_kernel(f: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """(100/mu) sqrt(mean_b MSE_b), mu the mean of the whole reference cube (global form)."""
    return _rase_from_sums(_band_sq_err(f, r), _band_sum(r), f.shape[2] * f.shape[3])


def sam_kernel(f: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """Mean spectral angle in degrees over pixels whose two spectra have nonzero norm.

    Pixels are taken in chunks of ``CHUNK / 4``: the per-pixel sums over bands ``<f, r>``, ``|f|^2``,
    ``|r|^2`` in the data's dtype (a few products each), then the cosine, ``arccos`` and the sums over
    pixels in float64 (so identical spectra give exactly 0 and float32 rounding enters only through
    the three per-pixel sums).
    """
    b, c, h, w = f.shape
    n = h * w
    dt = torch.promote_types(f.dtype, r.dtype)
    fl, rl = f.reshape(b, c, n).to(dt), r.reshape(b, c, n).to(dt)
    step = max(1, CHUNK // 4) if f.device.type == "cpu" else max(1, n)
    total = torch.zeros(b, dtype=torch.float64, device=f.device)
    count = torch.zeros(b, dtype=torch.float64, device=f.device)
    m0 = min(step, n)
    dot, nf, nr = (torch.empty(m0, dtype=dt, device=f.device) for _ in range(3))
    for bi in range(b):
        for i in range(0, n, step):
            m = min(step, n - i)
            d, a, q = dot[:m], nf[:m], nr[:m]
            f0, r0 = fl[bi, 0, i:i + m], rl[bi, 0, i:i + m]
            torch.mul(f0, r0, out=d)
            torch.mul(f0, f0, out=a)
            torch.mul(r0, r0, out=q)
            for ci in range(1, c):
                fc, rc = fl[bi, ci, i:i + m], rl[bi, ci, i:i + m]
                d.addcmul_(fc, rc)
                a.addcmul_(fc, fc)
                q.addcmul_(rc, rc)
            norm = (a.to(torch.float64) * q.to(torch.float64)).sqrt_()
            valid = norm > 0
            cos = d.to(torch.float64, copy=True).div_(torch.where(valid, norm, 1.0)).clamp_(-1.0, 1.0)
            ang = torch.arccos_(cos).masked_fill_(~valid, 0.0)
            total[bi] += ang.sum()
            count[bi] += valid.sum()
    return torch.rad2deg(total / count)


def _degenerate(ratio: torch.Tensor, den: torch.Tensor, same: torch.Tensor) -> torch.Tensor:
    """Where a correlation's denominator is 0 (a constant band, no gradient): 1 when the two are
    identical, else 0 (instead of 0/0 = NaN)."""
    return torch.where(den > 0, ratio, same.to(ratio.dtype))


def cc_kernel(f: torch.Tensor, r: torch.Tensor, bands: Sequence[int] | None = None,
              defined: bool = False) -> torch.Tensor:
    """Mean over ``bands`` of the per-band Pearson correlation (MATLAB ``corr2``; with ``defined``
    a band of zero variance gives 1 when the two bands are identical, else 0, not NaN)."""
    fc = f - f.mean(dim=(2, 3), keepdim=True)
    rc = r - r.mean(dim=(2, 3), keepdim=True)
    num = (fc * rc).sum(dim=(2, 3))
    den = torch.sqrt((fc * fc).sum(dim=(2, 3)) * (rc * rc).sum(dim=(2, 3)))
    c = num / den
    if defined:
        c = _degenerate(c, den, (f == r).all(dim=3).all(dim=2))
    if bands is not None:
        c = c[:, list(bands)]
    return c.mean(dim=1)


def _q_from_moments(mx, my, vx, vy, cxy):
    """Wang-Bovik Q from means, variances and covariance, with the special cases of ``img_qi``."""
    s2 = mx * mx + my * my
    d1 = vx + vy
    den = d1 * s2
    num = 4.0 * cxy * mx * my
    q = torch.ones_like(den)
    q = torch.where((d1 == 0) & (s2 != 0), 2.0 * mx * my / torch.where(s2 != 0, s2, torch.ones_like(s2)), q)
    q = torch.where(den != 0, num / torch.where(den != 0, den, torch.ones_like(den)), q)
    return q


def _q_sliding(x: torch.Tensor, y: torch.Tensor, s: int) -> torch.Tensor:
    """Q map on sliding ``s x s`` windows ('valid', stride 1): (B, C, H-s+1, W-s+1)."""
    b, c, h, w = x.shape
    xx = x.reshape(b * c, 1, h, w)
    yy = y.reshape(b * c, 1, h, w)
    pool = lambda t: F.avg_pool2d(t, s, stride=1)  # noqa: E731
    mx, my = pool(xx), pool(yy)
    vx = pool(xx * xx) - mx * mx
    vy = pool(yy * yy) - my * my
    cxy = pool(xx * yy) - mx * my
    q = _q_from_moments(mx, my, vx, vy, cxy)
    return q.reshape(b, c, q.shape[-2], q.shape[-1])


def _blocks(x: torch.Tensor, s: int) -> torch.Tensor:
    """(B, C, H, W) -> (B, nblocks, C, s*s) non-overlapping blocks (H, W multiples of s)."""
    b, c, h, w = x.shape
    t = x.reshape(b, c, h // s, s, w // s, s).permute(0, 2, 4, 1, 3, 5)
    return t.reshape(b, (h // s) * (w // s), c, s * s)


def _q_blocks(x: torch.Tensor, y: torch.Tensor, s: int) -> torch.Tensor:
    """Mean Q over non-overlapping ``s x s`` blocks, per band: (B, C)."""
    bx, by = _blocks(x, s), _blocks(y, s)
    mx, my = bx.mean(-1), by.mean(-1)
    vx = (bx * bx).mean(-1) - mx * mx
    vy = (by * by).mean(-1) - my * my
    cxy = (bx * by).mean(-1) - mx * my
    return _q_from_moments(mx, my, vx, vy, cxy).mean(dim=1)


def uiqi_kernel(f: torch.Tensor, r: torch.Tensor, mode: str = "sliding", block_size: int = 32) -> torch.Tensor:
    """UIQI: ``mode='sliding'`` (Q_avg, band mean) or ``'global'`` (one Q of the flattened cube)."""
    if mode == "global":
        b = f.shape[0]
        x, y = r.reshape(b, -1), f.reshape(b, -1)
        n = x.shape[1]
        mx, my = x.mean(1), y.mean(1)
        vx = ((x - mx[:, None]) ** 2).sum(1) / (n - 1)
        vy = ((y - my[:, None]) ** 2).sum(1) / (n - 1)
        cxy = ((x - mx[:, None]) * (y - my[:, None])).sum(1) / (n - 1)
        return _q_from_moments(mx, my, vx, vy, cxy)
    return _q_sliding(r, f, block_size).mean(dim=(1, 2, 3))


def scc_kernel(f: torch.Tensor, r: torch.Tensor, defined: bool = False) -> torch.Tensor:
    """Cosine of the Sobel-magnitude maps (1-px ring removed), summed over bands (toolbox SCC; with
    ``defined`` an all-zero gradient map gives 1 when both maps are zero, else 0, not NaN)."""
    def mag(x):
        gy = filter2d(x, SOBEL_X.t().contiguous(), "valid")  # fspecial('sobel') responds to rows
        gx = filter2d(x, SOBEL_X, "valid")
        return torch.sqrt(gx * gx + gy * gy)
    a, b = mag(f), mag(r)
    den = torch.sqrt((a * a).sum(dim=(1, 2, 3)) * (b * b).sum(dim=(1, 2, 3)))
    out = (a * b).sum(dim=(1, 2, 3)) / den
    if defined:
        out = _degenerate(out, den, (a == b).flatten(1).all(dim=1))
    return out


@register_metric("ergas", full_name="Erreur relative globale adimensionnelle de synthese (ERGAS)",
                 higher_is_better=False, inputs="reference", kind="pansharpening", units="",
                 presets=PRESETS_PS,
                 data_ranges=DATA_RANGE, references=("L. Wald, Data Fusion, 2002",) + _REFS_VIVONE, ideal=0.0)
def ergas(fused: Any, reference: Any, *, ratio: float = 4, preset: str = "default",
          data_range: float | None = None) -> Any:
    """Erreur relative globale adimensionnelle de synthese (ERGAS).

    ``ERGAS = (100 / ratio) * sqrt( (1/B) * sum_b MSE_b / mu_b^2 )`` with ``mu_b`` the mean of
    reference band ``b``.

    Parameters
    ----------
    fused, reference : array or tensor, (C, H, W) or (B, C, H, W), same shape
        Fused image and ground truth, in the same scale.
    ratio : float
        PAN/MS scale ratio in the ``100/ratio`` form (4 for 4:1 data; passing 1/4 here gives 16x).
    preset : {'default', 'vivone', 'iaoa'}
        The formula is the same in all three (the IAOA code uses ``100/4``); presets set ``data_range``.
    data_range : float, optional
        Upper bound of the reference values (default per preset: 1, 2048, 255).

    Returns
    -------
    float or (B,) array/tensor
        ERGAS, 0 is best; a reference band of mean 0 contributes 0 when the fused band equals it
        (so two all-zero images give 0) and ``inf`` otherwise. Never NaN.

    Notes
    -----
    Conventions: full image, no border cut (cut before calling for the toolbox's ``dim_cut``).
    sewar's ``ergas(GT, P, r=0.25)`` and torchmetrics' ``ratio=4`` give the same value.

    Examples
    --------
    >>> import numpy as np
    >>> r = np.full((2, 4, 4), 0.5); f = r.copy(); f[0] += 0.1
    >>> round(ergas(f, r), 6)
    3.535534
    """
    where = "ergas"
    check_positive(where, "ratio", ratio)
    sq, s, n, origin = _prep_sums(where, fused, reference, preset, data_range, with_sum=True)
    return restore_scores(_ergas_from_sums(sq, s, n, float(ratio), defined=True), origin)


@register_metric("sam", full_name="Spectral angle mapper (SAM)", higher_is_better=False, inputs="reference",
                 kind="pansharpening", range=(0.0, 180.0), units="degrees", presets=PRESETS_PS, data_ranges=DATA_RANGE,
                 references=_REFS_VIVONE, ideal=0.0)
def sam(fused: Any, reference: Any, *, preset: str = "default", data_range: float | None = None) -> Any:
    """Spectral angle mapper (SAM), in degrees.

    ``SAM = mean_p arccos(<x_p, y_p> / (|x_p| |y_p|))`` over pixels ``p`` whose two spectra both have
    nonzero norm (cosines clipped to [-1, 1], as MATLAB's ``real(acos(.))``).

    Returns degrees (torchmetrics and sewar return radians; torchmetrics gives NaN on zero norm).
    Identical in all presets. 0 is best. When no pixel has two nonzero spectra, two identical
    (all-zero) images give 0 and anything else is a ``ValueError``; never NaN.

    Examples
    --------
    >>> import numpy as np
    >>> r = np.zeros((2, 1, 1)); r[0] = 1.0; f = np.zeros((2, 1, 1)); f[:] = 0.5
    >>> round(sam(f, r), 4)
    45.0
    """
    f, r, origin, _ = _prep_pair("sam", fused, reference, preset, data_range, native=True)
    out = sam_kernel(f, r)
    none = torch.isnan(out)  # no pixel where both spectra are nonzero: the mean is over nothing
    if bool(none.any()):
        same = (f == r).flatten(1).all(dim=1)
        if bool((none & ~same).any()):
            i = int(torch.nonzero(none & ~same)[0])
            raise ValueError(f"sam: image {i} has no pixel where both spectra are nonzero (an all-zero "
                             "fused or reference image); the spectral angle is undefined")
        out = torch.where(none, torch.zeros_like(out), out)  # identical all-zero images: angle 0
    return restore_scores(out, origin)


@register_metric("rmse", full_name="Root mean square error (RMSE)", higher_is_better=False,
                 inputs="reference", kind="pansharpening", presets=PRESETS_PS,
                 data_ranges=DATA_RANGE, references=_REFS_IAOA,
                 ideal=0.0)
def rmse(fused: Any, reference: Any, *, preset: str = "default", data_range: float | None = None) -> Any:
    """Root mean square error (RMSE) over all pixels and bands, in the data's own units.

    Examples
    --------
    >>> import numpy as np
    >>> round(rmse(np.full((1, 2, 2), 0.3), np.full((1, 2, 2), 0.5)), 6)
    0.2
    """
    sq, _, n, origin = _prep_sums("rmse", fused, reference, preset, data_range, with_sum=False)
    return restore_scores(_rmse_from_sums(sq, n), origin)


@register_metric("rase", full_name="Relative average spectral error (RASE)", higher_is_better=False,
                 inputs="reference", kind="pansharpening", units="%", presets=PRESETS_PS, data_ranges=DATA_RANGE,
                 references=("M. Choi, IEEE TGRS 44(6), 2006, doi:10.1109/TGRS.2005.863308",) + _REFS_IAOA,
                 ideal=0.0)
def rase(fused: Any, reference: Any, *, preset: str = "default", data_range: float | None = None) -> Any:
    """Relative average spectral error (RASE), global form.

    ``RASE = (100 / mu) sqrt((1/B) sum_b MSE_b)``, ``mu`` the mean of the whole reference cube.
    sewar and torchmetrics compute a windowed (8x8) variant, which gives a different number.
    An all-zero reference gives 0 when the fused image is also all zero, else ``inf`` (never NaN).

    Examples
    --------
    >>> import numpy as np
    >>> round(rase(np.full((1, 2, 2), 0.3), np.full((1, 2, 2), 0.5)), 6)
    40.0
    """
    sq, s, n, origin = _prep_sums("rase", fused, reference, preset, data_range, with_sum=True)
    return restore_scores(_rase_from_sums(sq, s, n, defined=True), origin)


@register_metric("cc", full_name="Correlation coefficient (CC)", higher_is_better=True, inputs="reference",
                 kind="pansharpening", range=(-1.0, 1.0), presets=PRESETS_PS,
                 data_ranges=DATA_RANGE, references=_REFS_IAOA,
                 ideal=1.0)
def cc(fused: Any, reference: Any, *, preset: str = "default", data_range: float | None = None,
       bands: Sequence[int] | None = None) -> Any:
    """Correlation coefficient (CC): mean over bands of the per-band Pearson correlation.

    Under ``preset='iaoa'`` only bands 1-3 (0-based 0, 1, 2) are averaged, as the IAOA code divides
    by 3 (the NIR band is ignored). ``bands`` overrides the choice. A band that is constant in
    either image (zero variance, where MATLAB ``corr2`` gives NaN) counts as 1 when the two bands
    are identical and 0 otherwise, so CC is never NaN.
    """
    where = "cc"
    f, r, origin, _ = _prep_pair(where, fused, reference, preset, data_range)
    if bands is None and preset == "iaoa":
        if f.shape[1] < 3:
            raise ShapeError(f"{where}: preset 'iaoa' averages bands 1-3; got {f.shape[1]} bands")
        bands = (0, 1, 2)
    if bands is not None:
        bands = [check_int(where, "bands[i]", b, minimum=0, maximum=f.shape[1] - 1) for b in bands]
    return restore_scores(cc_kernel(f, r, bands, defined=True), origin)


@register_metric("uiqi", full_name="Universal image quality index (UIQI, Q)", higher_is_better=True,
                 inputs="reference", kind="pansharpening", range=(-1.0, 1.0), presets=PRESETS_PS,
                 data_ranges=DATA_RANGE,
                 references=("Z. Wang, A. C. Bovik, IEEE SPL 9(3), 2002, doi:10.1109/97.995823",)
                 + _REFS_VIVONE + _REFS_IAOA, ideal=1.0)
def uiqi(fused: Any, reference: Any, *, preset: str = "default", data_range: float | None = None,
         block_size: int = 32) -> Any:
    """Universal image quality index (UIQI, Wang-Bovik Q).

    ``Q = 4 s_xy mu_x mu_y / ((s_x^2 + s_y^2)(mu_x^2 + mu_y^2))``.

    * ``'default'``, ``'vivone'``: Q_avg, the Q map on sliding ``block_size`` windows (stride 1,
      'valid'), averaged over the map and then over the bands (toolbox ``img_qi``): where the
      variances sum to 0 but the means do not, ``Q = 2 mu_x mu_y / (mu_x^2 + mu_y^2)``; where all
      vanish, ``Q = 1``.
    * ``'iaoa'``: one global Q over the whole cube flattened to a vector.

    sewar's ``uqi`` (8x8 windows, and a means/sums mix-up) and torchmetrics' UQI (Gaussian 11/1.5
    window) are different numbers.
    """
    where = "uiqi"
    block_size = check_int(where, "block_size", block_size, minimum=2)
    f, r, origin, _ = _prep_pair(where, fused, reference, preset, data_range)
    if preset == "iaoa":
        return restore_scores(uiqi_kernel(f, r, "global"), origin)
    if min(f.shape[-2:]) < block_size:
        raise ShapeError(f"{where}: images must be at least `block_size`={block_size} pixels per side; "
                         f"got {tuple(f.shape[-2:])}")
    return restore_scores(uiqi_kernel(f, r, "sliding", block_size), origin)


@register_metric("q2n", full_name="Q2n hypercomplex quality index (Q4 / Q8)", higher_is_better=True,
                 inputs="reference", kind="pansharpening", range=(0.0, 1.0), presets=PRESETS_PS, data_ranges=DATA_RANGE,
                 references=("A. Garzelli, F. Nencini, IEEE GRSL 6(4), 2009, doi:10.1109/LGRS.2009.2022650",)
                 + _REFS_VIVONE, ideal=1.0)
def q2n(fused: Any, reference: Any, *, preset: str = "vivone", data_range: float | None = None,
        block_size: int = 32, shift: int | None = None) -> Any:
    """Q2n hypercomplex quality index (Q4 for 4 bands, Q8 for 8).

    The bands of each pixel form a Cayley-Dickson hypercomplex number (bands zero-padded to a
    power of 2). On each ``block_size`` block (step ``shift``, default = block size), every reference
    band is standardised to ``(x - mu)/sigma + 1`` (unbiased sigma, ``eps`` if 0) and the same
    ``mu, sigma`` are applied to the fused band; the fused number is conjugated, and
    ``Q2n_block = |s_z1z2| / (s_z1 s_z2) * 2 s_z1 s_z2 / (s_z1^2 + s_z2^2) * 2|m1||m2| / (|m1|^2 + |m2|^2)``
    with N/(N-1) moments. The index is the mean of the block moduli. 1 is best.

    Parameters
    ----------
    preset : {'vivone', 'iaoa', 'default'}
        ``'vivone'`` (the default here) casts both images to ``uint16`` first (round, saturate), as the
        toolbox does, so the data must be digital numbers: [0, 1] data are refused. ``'iaoa'`` is the
        same code (the IAOA release ships the toolbox's ``q2n``, never called) with 8-bit DN.
        ``'default'`` uses the values as given (sewar's ``q2n`` behaviour).

    Notes
    -----
    Conventions: bottom/right padding to a multiple of the block by mirroring with the edge sample
    repeated; the product ordering follows the toolbox's ``onion_mult`` recursion.
    """
    where = "q2n"
    check_preset(where, preset)
    block_size = check_int(where, "block_size", block_size, minimum=2)
    shift = block_size if shift is None else check_int(where, "shift", shift, minimum=1)
    f, r, origin, _ = _prep_pair(where, fused, reference, preset, data_range)
    if preset in ("vivone", "iaoa") and float(r.max()) <= 1.0:
        raise ValueError(f"{where}: preset {preset!r} casts to uint16 like the toolbox, so data must be "
                         f"digital numbers (DN); got reference values in [{float(r.min()):.3g}, "
                         f"{float(r.max()):.3g}] (looks like [0, 1] data: multiply by 2**L - 1 or use "
                         "preset='default')")
    if min(f.shape[-2:]) < block_size:
        raise ShapeError(f"{where}: images must be at least `block_size`={block_size} pixels per side; "
                         f"got {tuple(f.shape[-2:])}")
    return restore_scores(q2n_kernel(f, r, block_size, shift, cast_uint16=(preset != "default")), origin)


@register_metric("scc", full_name="Spatial correlation coefficient (SCC)", higher_is_better=True,
                 inputs="reference", kind="pansharpening", range=(0.0, 1.0), presets=PRESETS_PS, data_ranges=DATA_RANGE,
                 references=("J. Zhou, D. L. Civco, J. A. Silander, IJRS 19(4), 1998",) + _REFS_VIVONE,
                 ideal=1.0)
def scc(fused: Any, reference: Any, *, preset: str = "default", data_range: float | None = None) -> Any:
    """Spatial correlation coefficient (SCC), toolbox variant.

    The cosine similarity ``<G_F, G_R> / (|G_F| |G_R|)`` of the Sobel gradient-magnitude maps of all
    bands, on the image interior (a 1-px ring removed). sewar and torchmetrics instead correlate
    Laplacian high-pass images in 8x8 windows (a different number). The three presets share this
    definition (the IAOA release does not use SCC). When either gradient map is all zero (a
    constant image) SCC is 1 if both are, else 0 (the cosine would be 0/0), never NaN.
    """
    f, r, origin, _ = _prep_pair("scc", fused, reference, preset, data_range)
    if min(f.shape[-2:]) < 3:
        raise ShapeError(f"scc: images must be at least 3x3; got {tuple(f.shape[-2:])}")
    return restore_scores(scc_kernel(f, r, defined=True), origin)


#: The six indices of the IAOA tables, with "higher is better".
IAOA_METRICS = {"CC": True, "RMSE": False, "ERGAS": False, "UIQI": True, "SAM": False, "RASE": False}


def iaoa_scores(fused: torch.Tensor, reference: torch.Tensor, *, ratio: float = 4.0,
                bands: Sequence[int] | None = None) -> dict[str, torch.Tensor]:
    """The six IAOA indices of a (B, C, H, W) batch against a (1 or B, C, H, W) reference, as tensors (B,).

    Private-kernel path (no validation) for experiment loops; conventions of ``preset='iaoa'``.
    ``bands`` restricts every index to those bands (e.g. ``(0, 1, 2)`` for the visible bands).
    """
    f = fused.to(torch.float64)
    r = reference.to(torch.float64).expand_as(f)
    if bands is not None:
        f, r = f[:, list(bands)], r[:, list(bands)]
    ccb = (0, 1, 2) if bands is None and f.shape[1] >= 3 else None
    return {"CC": cc_kernel(f, r, ccb), "RMSE": rmse_kernel(f, r), "ERGAS": ergas_kernel(f, r, ratio),
            "UIQI": uiqi_kernel(f, r, "global"), "SAM": sam_kernel(f, r), "RASE": rase_kernel(f, r)}
