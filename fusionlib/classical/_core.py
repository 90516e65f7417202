"""``fuse``: the one entry point for every registered method, with the colour rule."""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from .._checks import ShapeError, _extremes, all_in_nonneg_range, check_finite, check_range, check_type
from .._convert import Origin, as_tensor, restore, stack_sources
from ..filters import rgb_to_ycbcr, ycbcr_to_rgb
from ..utils import resolve_device
from ._registry import METHODS, MethodSpec


def fuse_chroma(chroma: torch.Tensor) -> torch.Tensor:
    """Weighted chroma rule for colour fusion (IFCNN / DeepFuse / MEF practice).

    .. math:: C_F = \\frac{\\sum_i C_i\\,|C_i - 0.5|}{\\sum_i |C_i - 0.5|}

    for each chroma plane C in {Cb, Cr} (full-range BT.601, centred at 0.5);
    where every source is neutral (denominator 0) the result is 0.5.

    Parameters
    ----------
    chroma : torch.Tensor, (B, N, 2, H, W)
        Cb and Cr of N sources, in [0, 1].

    Returns
    -------
    torch.Tensor, (B, 2, H, W)

    Notes
    -----
    Conventions: the 8-bit form is ``|C - 128|`` (Prabhakar et al. 2017,
    DeepFuse post-processing; Zhang et al. 2020, IFCNN ``fuse_cbcr``). A gray
    source has C = 0.5 and so weight 0: its colour never dilutes the others.

    References
    ----------
    K. R. Prabhakar, V. S. Srikar, R. V. Babu, "DeepFuse", ICCV 2017,
    doi:10.1109/ICCV.2017.505. Y. Zhang et al., "IFCNN", Information Fusion 54
    (2020) 99-118, doi:10.1016/j.inffus.2019.07.011.
    """
    w = (chroma - 0.5).abs()
    num = (chroma * w).sum(dim=1)
    den = w.sum(dim=1)
    half = torch.full_like(num, 0.5)
    return torch.where(den > 0, num / torch.where(den > 0, den, torch.ones_like(den)), half)


def fuse(name: str, sources: Any, *, device: str | torch.device | None = None,
         **params: Any) -> Any:
    """Fuse N registered-input images with the method ``name``.

    Parameters
    ----------
    name : str
        A key of :data:`fusionlib.classical.METHODS` (``list_methods()``).
    sources : sequence of arrays/tensors or array/tensor (B, N, C, H, W)
        Each source ``(H, W)``, ``(C, H, W)`` or ``(B, C, H, W)`` with C in
        {1, 3}, float in [0, 1] (uint8/uint16 are scaled). Gray and RGB sources
        may mix (gray counts as neutral colour).
    device : str or torch.device, optional
        Where to compute (``"auto"``: CUDA when present); the result comes back
        on the caller's device.
    **params
        The method's parameters (``METHODS[name].defaults``); any other keyword
        raises ``TypeError``.

    Returns
    -------
    fused : same type as the first source
        ``(B, C, H, W)`` for batched input, else ``(C, H, W)`` / ``(H, W)``;
        RGB when any source is RGB; values clipped to [0, 1].

    Raises
    ------
    KeyError
        Unknown method (the message lists the valid ones).
    TypeError
        Unknown parameter, wrong source type or dtype.
    ValueError, ShapeError
        Fewer/more sources than the method takes, different sizes, channel
        counts other than gray/RGB, values outside [0, 1], NaN/Inf, or images
        too small for the requested decomposition depth.

    Notes
    -----
    Conventions: methods with ``colour="luminance"`` fuse Y of full-range
    BT.601 YCbCr and combine Cb/Cr by :func:`fuse_chroma`; gray sources are
    fused as they are. Pixel-wise rules (``METHODS[name].pixelwise``) on a
    list of gray CPU sources of one shape and dtype skip the stacking copy
    (:func:`_fuse_pixelwise`); the result is the same to the bit.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.zeros((8, 8), np.float32); b = np.ones((8, 8), np.float32)
    >>> float(fuse("average", [a, b]).mean())
    0.5
    """
    where = f"fuse[{name}]"
    check_type("fuse", "name", name, str)
    spec = METHODS[name]
    full = spec.check_params(params, where)
    if spec.pixelwise:
        fast = _fuse_pixelwise(where, spec, sources, device, full)
        if fast is not None:
            return fast
    x, origin = stack_sources(sources, where=where, name="sources", min_count=spec.min_inputs)
    n = x.shape[1]
    if spec.max_inputs is not None and n > spec.max_inputs:
        raise ValueError(f"{where}: `sources` takes at most {spec.max_inputs} images; got {n}")
    if x.shape[2] not in (1, 3):
        raise ShapeError(f"{where}: `sources` must have 1 (gray) or 3 (RGB) channels; got {x.shape[2]}",
                         expected=(1, 3), actual=x.shape[2])
    lo, hi = (float(v) for v in torch.aminmax(x))  # one pass; NaN/Inf show up in the extremes
    if not (math.isfinite(lo) and math.isfinite(hi)):
        check_finite(where, "sources", x)
    if lo < -1e-6 or hi > 1.0 + 1e-6:
        check_range(where, "sources", x, 0.0, 1.0, data_range_hint=False)
    min_side, why = spec.min_size(full)
    h, w = x.shape[-2:]
    if min(h, w) < min_side:
        raise ShapeError(f"{where}: `sources` must be at least {min_side}x{min_side} pixels"
                         f"{' (' + why + ')' if why else ''}; got {h}x{w}",
                         expected=(min_side, min_side), actual=(h, w))
    if device is not None:
        x = x.to(resolve_device(device))
    with torch.no_grad():
        out = _fuse_kernel(spec, x, full)
    lo, hi = _extremes(out)  # never hand back NaN: a kernel that breaks down is an error
    if not (math.isfinite(lo) and math.isfinite(hi)):
        changed = {k: v for k, v in full.items() if spec.defaults.get(k) != v}
        raise ValueError(f"{where}: the method produced NaN/Inf with parameters {changed or 'defaults'} "
                         "(a degenerate setting for these sources)")
    if origin.rank == 2 and out.shape[1] == 3:
        origin = Origin(origin.numpy, 3, origin.device)
    return restore(out, origin)


_FLOAT_NP = (np.dtype(np.float32), np.dtype(np.float64))
_FLOAT_TORCH = (torch.float32, torch.float64)


def _gray_cpu_arrays(where: str, sources: Any) -> list[np.ndarray] | None:
    """The sources as NumPy views (float32/float64 ones as they are, others converted by
    :func:`as_tensor`), when all are gray CPU images of one shape and dtype; else None."""
    arrays = []
    for i, s in enumerate(sources):
        try:
            if isinstance(s, np.ndarray) and s.dtype in _FLOAT_NP:
                a = s
            elif isinstance(s, torch.Tensor) and s.dtype in _FLOAT_TORCH and s.device.type == "cpu":
                a = s.detach().numpy()
            elif isinstance(s, (np.ndarray, torch.Tensor)):  # uint8, uint16, bool, float16 ...
                t, _ = as_tensor(s, where=where, name=f"sources[{i}]")
                if t.device.type != "cpu":
                    return None
                a = t.reshape(s.shape).numpy()
            else:
                return None
        except (RuntimeError, TypeError, ValueError):  # the general path raises the same error
            return None
        arrays.append(a)
    a0 = arrays[0]
    if not (a0.ndim == 2 or (a0.ndim == 3 and a0.shape[0] == 1) or (a0.ndim == 4 and a0.shape[1] == 1)):
        return None
    if a0.size == 0 or any(a.shape != a0.shape or a.dtype != a0.dtype for a in arrays[1:]):
        return None
    return arrays


def _fuse_pixelwise(where: str, spec: MethodSpec, sources: Any,
                    device: str | torch.device | None, params: dict[str, Any]) -> Any:
    """``fuse`` for a pixel-wise rule on a list of gray CPU sources, without stacking them.

    Returns None (the caller then takes the general path, which also raises
    every error with its usual message) unless: ``sources`` is a list or tuple
    with an accepted number of images, all gray CPU images of one shape
    (``(H, W)``, ``(1, H, W)`` or ``(B, 1, H, W)``) and, after the dtype rule
    of :func:`as_tensor`, one dtype; ``device`` is None or the CPU; the size
    is accepted; and every value is a number in [+0, 1] (a value in the
    tolerance band of the exact checks, or -0.0, falls back and is clipped
    there as usual). The result has the shape of the sources and the type of
    the first one, as :func:`restore` gives it on the general path.

    The rule runs on the N planes as they are (NumPy views of the caller's
    arrays for float input), source by source into one new buffer (a
    ``pixelwise`` kernel never writes into its inputs): the method's
    ``checked_kernel`` when it has one (the [0, 1] test folded into the rule,
    block by block, so each source is read from memory once), else (or where
    that declines the layout) one :func:`all_in_nonneg_range` pass per
    source, then the kernel. No clipping: for values in [0, 1] the result is
    provably in [0, 1], because IEEE rounding is monotone. Choose-max returns
    one of the values. For the average, each partial sum of k values <= 1 is
    exactly <= k, and k is a representable float, so its rounding is <= k;
    the sum s <= N rounds to <= N, s/N <= 1 rounds to <= 1, and nothing is
    negative. So the general path's ``clamp_(0, 1)`` would change no bit.
    """
    if not isinstance(sources, (list, tuple)):
        return None
    n = len(sources)
    if n < spec.min_inputs or (spec.max_inputs is not None and n > spec.max_inputs):
        return None
    if device is not None and resolve_device(device).type != "cpu":
        return None
    arrays = _gray_cpu_arrays(where, sources)
    if arrays is None:
        return None
    min_side, _ = spec.min_size(params)
    if min(arrays[0].shape[-2:]) < min_side:
        return None
    out = spec.checked_kernel(arrays, **params) if spec.checked_kernel is not None else None
    if out is None:  # no checked kernel, a layout it declines, or a value outside [+0, 1]
        try:
            planes = [torch.from_numpy(a) for a in arrays]
        except ValueError:  # negative strides
            return None
        if not all(all_in_nonneg_range(t, 1.0) for t in planes):
            return None
        with torch.no_grad():
            out = spec.kernel(planes, **params).numpy()
    return out if isinstance(sources[0], np.ndarray) else torch.from_numpy(out)


def _clamp01(out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Clip to [0, 1], in place unless ``out`` shares memory with the sources ``x``."""
    if out.untyped_storage().data_ptr() == x.untyped_storage().data_ptr():
        return out.clamp(0.0, 1.0)
    return out.clamp_(0.0, 1.0)


def _fuse_kernel(spec: MethodSpec, x: torch.Tensor, params: dict[str, Any]) -> torch.Tensor:
    """Validated ``(B, N, C, H, W)`` in, ``(B, C, H, W)`` in [0, 1] out (no checks)."""
    b, n, c, h, w = x.shape
    if spec.colour == "native":
        return _clamp01(spec.kernel(x, **params), x)
    if c == 1:
        return _clamp01(spec.kernel(x[:, :, 0], **params), x)
    ycc = rgb_to_ycbcr(x.reshape(b * n, 3, h, w)).reshape(b, n, 3, h, w)
    y = spec.kernel(ycc[:, :, 0], **params)
    chroma = fuse_chroma(ycc[:, :, 1:])
    return ycbcr_to_rgb(torch.cat([y, chroma], dim=1), exact=True).clamp_(0.0, 1.0)
