"""Input handling shared by the fusion metrics (validation lives only here and in the public functions).

Every public fusion metric goes through :func:`prepare_sources` (fused + sources) or
:func:`prepare_fused` (no-reference metrics). They return tensors on the **0..255 grey-level
scale** (float64 when given float64, else float32; histogram binning and NIQE always run in float64) (``x * 255 / data_range``): every benchmark the book reproduces (VIFB, MEFB, Z. Liu's toolbox,
AE-Netv2's tables) reports its numbers on that scale, so gradient, contrast and error metrics do too.

8-bit data stays exact where it matters: metrics that test exact equality (VIFB's Q^{AB/F} quirk) or
bin after a min-max rescaling (VIFB's MI) ask for values within 1e-4 grey levels of an integer level
(the float32 rounding of k/255) to be snapped to it, so that they behave as MATLAB on 8-bit data.
Histogram metrics round to levels anyway; the others are insensitive at the 1e-7 level.

Channel rule ("pc", VIFB): an RGB fused image is scored per channel against the matching source channel
(a gray source is reused for every channel) and the per-channel scores are averaged. A gray fused image
with RGB sources compares against the sources' ``rgb2gray`` luma (MATLAB weights).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .. import _jit
from .._checks import (UINT_VIEW, ShapeError, check_finite, check_finite_range,
                       check_positive, nonneg_pattern_bound)
from .._convert import Origin, as_tensor, stack_sources
from ..filters import moment_maps, rgb2gray_8bit, rgb_to_gray, sep_filter2d
from ._registry import check_preset  # noqa: F401  (re-exported for the metric modules)

GRAY = 255.0


def _scale(where: str, name: str, t: torch.Tensor, data_range: float, check: bool,
           snap: bool = False, rescale: bool = True) -> torch.Tensor:
    if check:  # one pass on CPU float data (see fusionlib._checks.check_finite_range)
        check_finite_range(where, name, t, 0.0, data_range)
    else:
        check_finite(where, name, t)
    t = t if t.dtype == torch.float64 else t.to(torch.float32)
    if not rescale:  # the caller rescales its (linear) score instead of every pixel
        return t
    if data_range != GRAY:
        t = t * (GRAY / data_range)
    if not snap:
        return t
    # undo the float32 rounding of k/255 (|error| <= 1.5e-5 grey levels) so that 8-bit data is exact
    r = torch.round(t)
    return torch.where((t - r).abs() < 1e-4, r, t)


def prepare_plane_var(fused: Any, *, where: str, data_range: float = 1.0) -> tuple[torch.Tensor, Origin]:
    """:func:`prepare_fused` (range checked, no rescaling, any size) and the population variance of
    every (H, W) plane in data units: ``(var (B, C) float64, origin)``.

    On CPU float data, one compiled two-pass loop (:func:`fusionlib._jit.plane_var`: float64 sums) that
    also gives the one-pass range test of :func:`fusionlib._checks.check_finite_range`; the exact
    check (same error) runs only where that test fails. Elsewhere the check, then :func:`plane_var`.
    """
    data_range = float(check_positive(where, "data_range", data_range))
    f, origin = as_tensor(fused, where=where, name="fused")
    _check_size(where, "fused", f, 1)
    jit = None
    if f.device.type == "cpu" and f.dtype in UINT_VIEW and f.numel() and not f.requires_grad:
        jit = _jit.plane_var()
    if jit is not None:
        x = f.detach().reshape(-1, f.shape[-2] * f.shape[-1]).numpy()
        var = np.empty(x.shape[0])
        uint = UINT_VIEW[f.dtype][0]
        if jit(x, x.view(uint), var) > nonneg_pattern_bound(f.dtype, data_range + 1e-6):
            _scale(where, "fused", f, data_range, True, rescale=False)  # raises, or accepts (-0.0)
        return torch.from_numpy(var).reshape(f.shape[:2]), origin
    f = _scale(where, "fused", f, data_range, True, rescale=False)
    return plane_var(f).to(torch.float64), origin


def prepare_fused(fused: Any, *, where: str, data_range: float = 1.0, check_range_: bool = True,
                  min_size: int = 2, name: str = "fused", rescale: bool = True
                  ) -> tuple[torch.Tensor, Origin]:
    """``fused`` -> (B, C, H, W) on the 0..255 scale (float64 kept, else float32), plus its origin.

    ``rescale=False`` skips the multiplication by 255 / data_range (for metrics linear in the data,
    which rescale their score instead).
    """
    data_range = check_positive(where, "data_range", data_range)
    f, origin = as_tensor(fused, where=where, name=name)
    _check_size(where, name, f, min_size)
    return _scale(where, name, f, data_range, check_range_, rescale=rescale), origin


def prepare_sources(fused: Any, sources: Any, *, where: str, data_range: float = 1.0,
                    min_size: int = 2, min_count: int = 2, max_count: int | None = None,
                    snap: bool = False, rescale: bool = True, check: bool = True
                    ) -> tuple[torch.Tensor, torch.Tensor, Origin]:
    """Fused (B, C, H, W) and sources (B, N, C, H, W), matched in size and channels, 0..255 scale.

    ``check=False`` (for :func:`prepare_sq_diff` only) returns them unscaled and unchecked: the caller
    must run the checks of :func:`_scale`."""
    data_range = check_positive(where, "data_range", data_range)
    f, origin = as_tensor(fused, where=where, name="fused")
    s, _ = stack_sources(sources, where=where, name="sources", min_count=min_count)
    if max_count is not None and s.shape[1] > max_count:
        raise ValueError(f"{where}: `sources` must hold at most {max_count} images; got {s.shape[1]}")
    s = s.to(f.device)
    if tuple(s.shape[-2:]) != tuple(f.shape[-2:]):
        raise ShapeError(f"{where}: `fused` and `sources` must have the same height and width; got "
                         f"fused {tuple(f.shape[-2:])} and sources {tuple(s.shape[-2:])}",
                         expected=tuple(f.shape[-2:]), actual=tuple(s.shape[-2:]))
    if s.shape[0] != f.shape[0]:
        if s.shape[0] == 1:
            s = s.expand(f.shape[0], *s.shape[1:])
        else:
            raise ShapeError(f"{where}: `fused` has batch {f.shape[0]} but `sources` has batch "
                             f"{s.shape[0]}", expected=f.shape[0], actual=s.shape[0])
    cf, cs = f.shape[1], s.shape[2]
    if cf != cs:
        if cs == 1:
            s = s.expand(-1, -1, cf, -1, -1)
        elif cf == 1 and cs == 3:
            b, n = s.shape[:2]
            s = rgb_to_gray(s.reshape(b * n, 3, *s.shape[-2:])).reshape(b, n, 1, *s.shape[-2:])
        else:
            raise ShapeError(f"{where}: `fused` has {cf} channels but `sources` have {cs} "
                             "(only gray/RGB combinations are matched)", expected=cf, actual=cs)
    _check_size(where, "fused", f, min_size)
    if not check:
        return f, s, origin
    f = _scale(where, "fused", f, data_range, True, snap, rescale)
    s = _scale(where, "sources", s, data_range, True, snap, rescale)
    return f, s, origin


def prepare_sq_diff(fused: Any, sources: Any, *, where: str, data_range: float = 1.0
                    ) -> tuple[torch.Tensor, int, Origin]:
    """:func:`prepare_sources` (checks included, no rescaling) and the sums over (C, H, W) of
    ``(S - F)^2`` per (image, source), in data units: ``(sq (B, N) float64, values per image, origin)``.

    On CPU, with fused and sources of one float dtype, one compiled pass per source
    (:func:`fusionlib._jit.pair_sums`) gives the sums in float64 and the one-pass range test of
    :func:`fusionlib._checks.check_finite_range`; the exact checks (same errors, same order) run only
    where that test fails. Elsewhere the checks, then :func:`sq_diff_sum` (cascade sums in the data's
    dtype).
    """
    f, s, origin = prepare_sources(fused, sources, where=where, data_range=data_range, min_size=1,
                                   min_count=1, rescale=False, check=False)
    data_range = float(data_range)
    m = f.shape[1] * f.shape[2] * f.shape[3]
    got = _jit_sq_diff(f, s, data_range + 1e-6) if f.numel() else None
    if got is not None and got[1]:
        return got[0], m, origin
    f = _scale(where, "fused", f, data_range, True, rescale=False)
    s = _scale(where, "sources", s, data_range, True, rescale=False)
    sq = got[0] if got is not None else sq_diff_sum(f, s).to(torch.float64)
    return sq, m, origin


def _jit_sq_diff(f: torch.Tensor, s: torch.Tensor, high: float):
    """``(sq, ok)`` by the compiled pass for CPU float f (B, C, H, W), s (B, N, C, H, W) of one dtype,
    ``ok`` whether every value of both is finite in [0, ``high``]; None where it does not apply."""
    kinds = UINT_VIEW.get(f.dtype)
    if (kinds is None or s.dtype != f.dtype or f.device.type != "cpu" or s.device.type != "cpu"
            or f.requires_grad or s.requires_grad):
        return None
    jit = _jit.pair_sums()
    if jit is None:
        return None
    uint = kinds[0]
    b, n = s.shape[:2]
    m = f[0].numel()
    bound = nonneg_pattern_bound(f.dtype, high)
    try:
        f2 = f.detach().reshape(b, m).numpy()
        sq = np.empty((b, n))
        tot = np.empty(b)
        ok = True
        for j in range(n):
            r2 = s[:, j].detach().reshape(b, m).numpy()
            mf, mr = jit(f2, r2, f2.view(uint), r2.view(uint), sq[:, j], tot)
            ok = ok and mf <= bound and mr <= bound
    except (RuntimeError, ValueError, TypeError):  # layouts NumPy cannot view as unsigned integers
        return None
    return torch.from_numpy(sq), bool(ok)


def prepare_reference(fused: Any, reference: Any, *, where: str, data_range: float = 1.0,
                      min_size: int = 2) -> tuple[torch.Tensor, torch.Tensor, Origin]:
    """Fused and reference (B, C, H, W), same shape, 0..255 scale."""
    data_range = check_positive(where, "data_range", data_range)
    f, origin = as_tensor(fused, where=where, name="fused")
    r, _ = as_tensor(reference, where=where, name="reference")
    r = r.to(f.device)
    if r.shape[0] == 1 and f.shape[0] > 1:
        r = r.expand(f.shape[0], -1, -1, -1)
    if r.shape[1] == 1 and f.shape[1] > 1:
        r = r.expand(-1, f.shape[1], -1, -1)
    if tuple(r.shape) != tuple(f.shape):
        raise ShapeError(f"{where}: `fused` and `reference` must have the same shape; got "
                         f"{tuple(f.shape)} and {tuple(r.shape)}", expected=tuple(f.shape),
                         actual=tuple(r.shape))
    _check_size(where, "fused", f, min_size)
    return (_scale(where, "fused", f, data_range, True), _scale(where, "reference", r, data_range, True),
            origin)


def _check_size(where: str, name: str, t: torch.Tensor, min_size: int) -> None:
    h, w = t.shape[-2:]
    if h < min_size or w < min_size:
        raise ShapeError(f"{where}: `{name}` must be at least {min_size}x{min_size} pixels for this "
                         f"metric's window; got {h}x{w}", expected=(min_size, min_size), actual=(h, w))


#: Elements per temporary in the chunked reductions below (1 MiB of float32): one buffer this small,
#: allocated once per call and reused, stays in the core's cache, where a whole-batch temporary costs
#: fresh pages and a pass through memory.
CHUNK = 1 << 18


def batch_step(x: torch.Tensor) -> int:
    """How many leading-axis entries of ``x`` make one chunk of about :data:`CHUNK` elements."""
    if x.device.type != "cpu":  # caching allocators make whole-batch temporaries cheap there
        return max(1, x.shape[0])
    per = max(1, x[0].numel()) if x.shape[0] else 1
    return max(1, CHUNK // per)


def sq_diff_sum(f: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """sum over (C, H, W) of (S - F)^2 for f (B, C, H, W), s (B, N, C, H, W) -> (B, N).

    Chunked over the batch into one reused buffer; cascade (pairwise) sums in the input dtype.
    """
    b, n = s.shape[:2]
    dt = torch.promote_types(f.dtype, s.dtype)
    out = torch.empty(b, n, dtype=dt, device=s.device)
    step = batch_step(s)
    buf = torch.empty((min(step, b), *s.shape[1:]), dtype=dt, device=s.device)
    for i in range(0, b, step):
        d = buf[:min(step, b - i)]
        torch.sub(s[i:i + step], f[i:i + step].unsqueeze(1), out=d)
        out[i:i + step] = d.square_().sum(dim=(2, 3, 4))
    return out


def plane_var(x: torch.Tensor) -> torch.Tensor:
    """Population variance of every (H, W) plane of x (B, C, H, W) -> (B, C), two-pass, chunked.

    The mean first, then sum (x - mean)^2: exact to the float rounding of the sums, unlike
    E[x^2] - E[x]^2, and several times faster than ``torch.var`` (Welford) on CPU.
    """
    b, c, h, w = x.shape
    mean = x.sum(dim=(2, 3), keepdim=True) / (h * w)
    out = torch.empty(b, c, dtype=x.dtype, device=x.device)
    step = batch_step(x)
    buf = torch.empty((min(step, b), c, h, w), dtype=x.dtype, device=x.device)
    for i in range(0, b, step):
        d = buf[:min(step, b - i)]
        torch.sub(x[i:i + step], mean[i:i + step], out=d)
        out[i:i + step] = d.square_().sum(dim=(2, 3))
    return out / (h * w)


def window_moments(x: torch.Tensor, y: torch.Tensor, k1d: torch.Tensor, border: str) -> torch.Tensor:
    """Window means of x, y, x^2, y^2, xy for (B, C, H, W) -> (B, 5C, H', W'), separable ``k1d``:
    :func:`moment_maps` on CPU without autograd in float32, else the filtered stack (differentiable,
    any device; in float64 on CPU oneDNN has no channels-last kernel, and the NCHW grouped convolution
    is about 6x faster)."""
    if (x.device.type == "cpu" and x.dtype != torch.float64
            and not (torch.is_grad_enabled() and (x.requires_grad or y.requires_grad))):
        return moment_maps(x, y, k1d, border)  # channels-last buffer, oneDNN depthwise convolution
    return sep_filter2d(torch.cat([x, y, x * x, y * y, x * y], dim=1), k1d, k1d, border)


def matlab_gray(f: torch.Tensor, s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """MATLAB ``rgb2gray`` of 8-bit images, as the Liu 2020 survey's ``evaluate_color.m`` applies it to
    A, B and F before every metric (:func:`fusionlib.filters.rgb2gray_8bit`: the ``rgb2gray`` luma in float64
    rounded to an integer grey level). ``f`` (B, 3, H, W), ``s`` (B, N, 3, H, W)
    on the 0..255 scale -> (B, 1, H, W), (B, N, 1, H, W) in ``f``'s dtype; inputs that are not RGB are
    returned as they are. The one rounded ``rgb2gray`` of the metrics (nmi, q_ncie, q_p, fmi, ...;
    MEF-SSIM's ``'mefb'`` preset uses the same helper)."""
    if f.shape[1] != 3:
        return f, s
    b, n = s.shape[:2]
    g = rgb2gray_8bit(f)
    gs = rgb2gray_8bit(s.reshape(b * n, 3, *s.shape[-2:]))
    return g.to(f.dtype), gs.reshape(b, n, 1, *s.shape[-2:]).to(s.dtype)


def flat_windows(x: torch.Tensor, size: int) -> torch.Tensor:
    """True at the 'valid' ``size`` x ``size`` window positions of x (B, C, H, W) where every pixel of
    the window has the same value (exactly: the window maximum equals its minimum). Separable running
    max/min by shifted slices (about 20x ``max_pool2d`` on CPU)."""
    def run(t: torch.Tensor, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
        m = t.shape[dim] - size + 1
        hi, lo = t.narrow(dim, 0, m).clone(), t.narrow(dim, 0, m).clone()
        for i in range(1, size):
            torch.maximum(hi, t.narrow(dim, i, m), out=hi)
            torch.minimum(lo, t.narrow(dim, i, m), out=lo)
        return hi, lo

    hi, lo = run(x, -1)
    return run(hi, -2)[0] == run(lo, -2)[1]


def safe_moments(x: torch.Tensor, y: torch.Tensor, k1d: torch.Tensor):
    """Local means, variances and covariance of x, y (B, C, H, W) in the 'valid' windows of the
    separable window ``k1d`` (every weight > 0), in float64, with the exact-arithmetic properties the
    fusion metrics' ratios rely on: variances >= 0, exactly 0 in a window whose pixels are all equal,
    and |sigma_xy| <= sigma_x sigma_y (Cauchy-Schwarz).

    E[x^2] - E[x]^2 loses those to rounding (in float32 on the 0..255 scale an error of ~1e-2 grey
    levels^2, of either sign, in a flat window), and a ratio such as sigma_A^2 / (sigma_A^2 + sigma_B^2)
    or (2 sigma_xy + C) / (sigma_x^2 + sigma_y^2 + C) with C ~ 1e-16 then takes any value (Q_Y of
    -2.5e9). MATLAB's double ``filter2`` of the benchmark codes is exact on 8-bit data for the box
    windows and within ~1e-11 for the Gaussian ones; these moments give the values of exact arithmetic,
    which those codes intend. Returns ``(mx, my, vx, vy, cxy)``, each (B, C, H', W') float64.
    """
    x, y = x.to(torch.float64), y.to(torch.float64)
    k = k1d.to(dtype=torch.float64, device=x.device)
    c = x.shape[1]
    mx, my, exx, eyy, exy = window_moments(x, y, k, "valid").split(c, dim=1)
    n = k.numel()
    zero = torch.zeros((), dtype=torch.float64, device=x.device)
    vx = torch.where(flat_windows(x, n), zero, (exx - mx * mx).clamp_min(0))
    vy = torch.where(flat_windows(y, n), zero, (eyy - my * my).clamp_min(0))
    bound = torch.sqrt(vx * vy)
    cxy = torch.minimum(torch.maximum(exy - mx * my, -bound), bound)
    return mx, my, vx, vy, cxy


def weight_ratio(num: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
    """num / (num + other) for non-negative weights, 1/2 where both are 0 (Z. Liu's toolbox adds 0.5
    to both there: ``metricPeilla.m``, Yu Liu's ``metricYang.m``); always in [0, 1]."""
    tot = num + other
    pos = tot > 0
    return torch.where(pos, num / torch.where(pos, tot, torch.ones_like(tot)), torch.full_like(tot, 0.5))


def quantize(where: str, name: str, x: torch.Tensor, allow_float: bool, *, scale: float = 1.0,
             dtype: torch.dtype = torch.int64) -> torch.Tensor:
    """Grey levels 0..255 of ``x * scale`` as ``dtype`` (int64, or uint8 for bincount), exactly as the
    image would be saved (round, clip).

    Unless ``allow_float``, refuse data that is not on the 1/255 grid (a histogram of unquantised floats
    depends on an arbitrary binning rule). Chunked over the leading axis into reused buffers.
    """
    out = torch.empty(x.shape, dtype=dtype, device=x.device)
    err = 0.0
    step = batch_step(x)
    n0 = x.shape[0]
    r_buf = torch.empty((min(step, n0), *x.shape[1:]), dtype=x.dtype, device=x.device)
    d_buf = torch.empty_like(r_buf) if not allow_float else None
    s_buf = torch.empty_like(r_buf) if scale != 1.0 else None
    for i in range(0, n0, step):  # x is (B, ...)
        xi = x[i:i + step]
        k = xi.shape[0]
        if s_buf is not None:
            xi = torch.mul(xi, scale, out=s_buf[:k])
        r = torch.round(xi, out=r_buf[:k])
        if d_buf is not None and xi.numel():
            err = max(err, float(torch.sub(xi, r, out=d_buf[:k]).abs_().max()))
        out[i:i + step] = r.clamp_(0, 255)
    if err > 1e-3:
        raise ValueError(f"{where}: `{name}` is not quantised to 256 grey levels (max distance "
                         f"{err * 1.0:.3g} grey levels from an integer level); pass quantize=True to "
                         "round it as an 8-bit image would be saved")
    return out


def round_half_away(x: torch.Tensor) -> torch.Tensor:
    """MATLAB ``round`` (ties away from zero), unlike ``torch.round`` (ties to even)."""
    return torch.sign(x) * torch.floor(x.abs() + 0.5)


def normalize1(x: torch.Tensor) -> torch.Tensor:
    """Z. Liu's ``normalize1``: per image/channel min-max to 0..255 and MATLAB-round.

    ``x`` is (..., H, W); an all-zero plane is returned as is, a constant non-zero one becomes NaN in
    MATLAB (0/0); here it becomes 0 so that scores stay defined (documented deviation).
    """
    dt = x.dtype
    x = x.to(torch.float64)
    lo = x.amin(dim=(-2, -1), keepdim=True)
    hi = x.amax(dim=(-2, -1), keepdim=True)
    span = hi - lo
    out = (x - lo) / torch.where(span > 0, span, torch.ones_like(span))
    return round_half_away(out * 255.0).to(dt)


def finish(v: torch.Tensor, origin: Origin) -> Any:
    """Per-image scores (B,) -> float for one image, else array/tensor of the caller's kind."""
    from .._convert import restore_scores
    if v.dtype != torch.float64:
        v = v.to(torch.float64)
    return restore_scores(v, origin)
