"""Argument validation shared by every public function (after kornia.core.check).

Public functions validate with these helpers and then call private kernels,
which never re-validate. Messages follow the pattern
``"<function>: `<parameter>` <expected>; got <received>"``.
"""
from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np
import torch


class ShapeError(ValueError):
    """A tensor or array has the wrong shape; carries ``expected`` and ``actual``."""

    def __init__(self, message: str, expected: Any = None, actual: Any = None):
        super().__init__(message)
        self.expected = expected
        self.actual = actual


def check_type(where: str, name: str, value: Any, types: type | tuple[type, ...]) -> None:
    if not isinstance(value, types):
        names = types.__name__ if isinstance(types, type) else " or ".join(t.__name__ for t in types)
        raise TypeError(f"{where}: `{name}` must be {names}; got {type(value).__name__}")


def check_choice(where: str, name: str, value: Any, choices: Iterable[Any]) -> None:
    choices = list(choices)
    if value not in choices:
        raise ValueError(f"{where}: `{name}` must be one of {choices}; got {value!r}")


def check_int(where: str, name: str, value: Any, *, minimum: int | None = None,
              maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{where}: `{name}` must be an int; got {type(value).__name__}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{where}: `{name}` must be an int >= {minimum}; got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{where}: `{name}` must be an int <= {maximum}; got {value}")
    return value


def check_positive(where: str, name: str, value: Any, *, strict: bool = True) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{where}: `{name}` must be a number; got {type(value).__name__}") from None
    if not np.isfinite(v) or (v <= 0 if strict else v < 0):
        rel = "> 0" if strict else ">= 0"
        raise ValueError(f"{where}: `{name}` must be finite and {rel}; got {value!r}")
    return v


def check_rank(where: str, name: str, x: torch.Tensor, ranks: Sequence[int]) -> None:
    if x.ndim not in ranks:
        raise ShapeError(
            f"{where}: `{name}` must have {' or '.join(map(str, ranks))} dimensions; got shape {tuple(x.shape)}",
            expected=tuple(ranks), actual=tuple(x.shape))


def check_same_shape(where: str, names: Sequence[str], tensors: Sequence[torch.Tensor]) -> None:
    shapes = [tuple(t.shape) for t in tensors]
    if len(set(shapes)) > 1:
        desc = ", ".join(f"`{n}` {s}" for n, s in zip(names, shapes))
        raise ShapeError(f"{where}: inputs must have the same shape; got {desc}",
                         expected=shapes[0], actual=shapes)


def check_finite(where: str, name: str, x: torch.Tensor) -> None:
    if x.is_floating_point() and not bool(torch.isfinite(x).all()):
        n_nan = int(torch.isnan(x).sum())
        n_inf = int(torch.isinf(x).sum())
        raise ValueError(f"{where}: `{name}` contains {n_nan} NaN and {n_inf} Inf values")


def check_range(where: str, name: str, x: torch.Tensor, low: float, high: float,
                *, tol: float = 1e-6) -> None:
    """Refuse values outside ``[low, high]`` (e.g. 0-255 data declared as [0, 1])."""
    if x.numel() == 0:
        return
    lo, hi = float(x.min()), float(x.max())
    if lo < low - tol or hi > high + tol:
        hint = ""
        if high <= 1.0 and hi > 1.0 + tol and hi <= 255.0 + tol:
            hint = " (looks like 0-255 data: divide by 255 or pass data_range=255)"
        raise ValueError(
            f"{where}: `{name}` values must lie in [{low:g}, {high:g}]; got [{lo:.6g}, {hi:.6g}]{hint}")


def check_min_size(where: str, name: str, x: torch.Tensor, min_h: int, min_w: int | None = None,
                   *, why: str = "") -> None:
    min_w = min_h if min_w is None else min_w
    h, w = x.shape[-2], x.shape[-1]
    if h < min_h or w < min_w:
        extra = f" ({why})" if why else ""
        raise ShapeError(
            f"{where}: `{name}` must be at least {min_h}x{min_w} pixels{extra}; got {h}x{w}",
            expected=(min_h, min_w), actual=(h, w))
