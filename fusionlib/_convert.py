"""The one place where NumPy and torch meet, and where ranks are normalised.

Public functions accept ``np.ndarray`` or ``torch.Tensor`` shaped ``(H, W)``,
``(C, H, W)`` or ``(B, C, H, W)``; kernels see ``(B, C, H, W)``. Results go
back as the type and rank the caller gave.

Dtype rule: ``uint8`` -> float / 255, ``uint16`` -> float / 65535, ``bool`` ->
0/1, other integers are refused; float32 and float64 are kept as they are.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ._checks import ShapeError

_INT_SCALE = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}
_TORCH_INT_SCALE = {torch.uint8: 255.0}


@dataclass(frozen=True)
class Origin:
    """How the caller passed an array: enough to give the result back in kind."""

    numpy: bool
    rank: int
    device: torch.device


def as_tensor(x: Any, *, where: str = "fusionlib", name: str = "input",
              dtype: torch.dtype | None = None, device: torch.device | str | None = None
              ) -> tuple[torch.Tensor, Origin]:
    """Convert ``x`` to a float ``(B, C, H, W)`` tensor and remember where it came from."""
    if isinstance(x, np.ndarray):
        is_numpy = True
        arr = x
        if arr.dtype == np.bool_:
            arr = arr.astype(np.float32)
        elif arr.dtype in _INT_SCALE:
            arr = arr.astype(np.float32) / _INT_SCALE[arr.dtype]
        elif np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"{where}: `{name}` has integer dtype {arr.dtype}; only uint8 and uint16 "
                            "are converted (by /255 and /65535); convert it to float yourself")
        elif not np.issubdtype(arr.dtype, np.floating):
            raise TypeError(f"{where}: `{name}` has unsupported dtype {arr.dtype}")
        t = torch.from_numpy(np.ascontiguousarray(arr))
    elif isinstance(x, torch.Tensor):
        is_numpy = False
        t = x
        if t.dtype == torch.bool:
            t = t.float()
        elif t.dtype in _TORCH_INT_SCALE:
            t = t.float() / _TORCH_INT_SCALE[t.dtype]
        elif not t.is_floating_point():
            raise TypeError(f"{where}: `{name}` has integer dtype {t.dtype}; only uint8 is converted")
    else:
        raise TypeError(f"{where}: `{name}` must be a numpy.ndarray or torch.Tensor; got {type(x).__name__}")
    rank = t.ndim
    if rank == 2:
        t = t[None, None]
    elif rank == 3:
        t = t[None]
    elif rank != 4:
        raise ShapeError(f"{where}: `{name}` must be (H, W), (C, H, W) or (B, C, H, W); got shape "
                         f"{tuple(t.shape)}", expected=(2, 3, 4), actual=tuple(t.shape))
    if t.numel() == 0:
        raise ShapeError(f"{where}: `{name}` is empty (shape {tuple(x.shape)}): it needs at least one image "
                         "of at least one channel and one pixel", expected="non-empty", actual=tuple(x.shape))
    if t.dtype == torch.float16 or t.dtype == torch.bfloat16:
        t = t.float()
    if dtype is not None:
        t = t.to(dtype)
    if device is not None:
        t = t.to(device)
    return t, Origin(is_numpy, rank, x.device if isinstance(x, torch.Tensor) else torch.device("cpu"))


def restore(t: torch.Tensor, origin: Origin) -> Any:
    """Give a ``(B, C, H, W)`` result back with the caller's rank and type."""
    out = t
    if origin.rank == 2 and out.ndim == 4 and out.shape[0] == 1 and out.shape[1] == 1:
        out = out[0, 0]
    elif origin.rank == 3 and out.ndim == 4 and out.shape[0] == 1:
        out = out[0]
    if origin.numpy:
        return out.detach().cpu().numpy()
    return out.to(origin.device)


def restore_scores(v: torch.Tensor, origin: Origin) -> Any:
    """Per-image scores ``(B,)``: a float for one image, else an array/tensor."""
    if origin.rank < 4 and v.numel() == 1:
        return float(v.reshape(()))
    if origin.numpy:
        return v.detach().cpu().numpy()
    return v


def stack_sources(sources: Any, *, where: str = "fusionlib", name: str = "sources",
                  dtype: torch.dtype | None = None, device: torch.device | str | None = None,
                  min_count: int = 2) -> tuple[torch.Tensor, Origin]:
    """Sources as ``(B, N, C, H, W)``.

    ``sources`` is a sequence of arrays (each ``(H, W)``, ``(C, H, W)`` or
    ``(B, C, H, W)``) or one array already shaped ``(B, N, C, H, W)``.
    Gray and RGB sources may mix: gray ones are repeated to 3 channels.
    """
    if isinstance(sources, (np.ndarray, torch.Tensor)):
        t, origin = as_tensor(sources[0] if sources.ndim == 5 else sources, where=where, name=name)
        if sources.ndim != 5:
            raise ShapeError(f"{where}: `{name}` as one array must be (B, N, C, H, W); got shape "
                             f"{tuple(sources.shape)}; pass a list of images instead",
                             expected=5, actual=tuple(sources.shape))
        full = sources
        if isinstance(full, np.ndarray):
            full = torch.from_numpy(np.ascontiguousarray(full))
            if sources.dtype == np.uint8:
                full = full.float() / 255.0
        out = full if full.is_floating_point() else full.float()
        out = out.to(dtype=dtype or out.dtype, device=device or out.device)
        if out.shape[1] < min_count:
            raise ValueError(f"{where}: `{name}` needs at least {min_count} sources; got {out.shape[1]}")
        return out, Origin(isinstance(sources, np.ndarray), 4, origin.device)
    if not isinstance(sources, (list, tuple)):
        raise TypeError(f"{where}: `{name}` must be a list of images or a (B, N, C, H, W) array; "
                        f"got {type(sources).__name__}")
    if len(sources) < min_count:
        raise ValueError(f"{where}: `{name}` needs at least {min_count} images; got {len(sources)}")
    ts, origins = [], []
    for i, s in enumerate(sources):
        t, o = as_tensor(s, where=where, name=f"{name}[{i}]", dtype=dtype, device=device)
        ts.append(t)
        origins.append(o)
    hw = {tuple(t.shape[-2:]) for t in ts}
    if len(hw) > 1:
        sizes = ", ".join(f"{name}[{i}] {t.shape[-2]}x{t.shape[-1]}" for i, t in enumerate(ts))
        raise ShapeError(f"{where}: all sources must have the same height and width "
                         f"(nothing is resized); got {sizes}", actual=sizes)
    batches = {t.shape[0] for t in ts}
    if len(batches) > 1:
        raise ShapeError(f"{where}: sources have different batch sizes {sorted(batches)}")
    channels = {t.shape[1] for t in ts}
    if len(channels) > 1:
        if channels == {1, 3}:
            ts = [t.expand(-1, 3, -1, -1) if t.shape[1] == 1 else t for t in ts]
        else:
            raise ShapeError(f"{where}: sources have incompatible channel counts "
                             f"{[t.shape[1] for t in ts]} (only gray and RGB may mix)")
    if len(ts) == 1:  # one source: a view, no copy
        return ts[0].unsqueeze(1), origins[0]
    dt = ts[0].dtype
    for t in ts[1:]:
        dt = torch.promote_types(dt, t.dtype)
    out = torch.stack([t.to(dt) for t in ts], dim=1)
    return out, origins[0]
