"""Argument validation shared by every public function (after kornia.core.check).

Public functions validate with these helpers and then call private kernels,
which never re-validate. Messages follow the pattern
``"<function>: `<parameter>` <expected>; got <received>"``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

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


def _extremes(x: torch.Tensor) -> tuple[float, float]:
    """``(min, max)`` of a non-empty tensor in one pass; a NaN anywhere makes both NaN."""
    if x.dtype == torch.bool:
        x = x.to(torch.uint8)
    lo, hi = torch.aminmax(x)
    return float(lo), float(hi)


#: Float dtype -> (unsigned integer of the same width, NumPy float type), for bit-pattern tests.
UINT_VIEW = {torch.float32: (np.uint32, np.float32), torch.float64: (np.uint64, np.float64)}


def nonneg_pattern_bound(dtype: torch.dtype, high: float):
    """Bit pattern, as the unsigned integer of :data:`UINT_VIEW`, of the largest ``dtype`` value
    <= ``high`` (``high`` >= 0): every value of that dtype whose pattern is at most this one is a
    number in [+0, ``high``] (see :func:`all_in_nonneg_range`)."""
    uint, flt = UINT_VIEW[dtype]
    b = flt(high)
    if float(b) > high:  # the float nearest to `high` is above it: take the one below
        b = np.nextafter(b, flt(0))
    return np.asarray(b).view(uint)[()]


def all_in_nonneg_range(x: torch.Tensor, high: float) -> bool | None:
    """One-pass test that every value of ``x`` is a number in [+0, ``high``] (``high`` >= 0).

    IEEE-754 floats of the same sign are ordered like their bit patterns read as unsigned integers,
    and every negative number, ``-0.0``, NaN (of either sign) and +Inf has a pattern above that of any
    ``high`` in [0, +Inf). So the largest pattern is <= pattern(high) exactly when all values are finite
    and in [+0, high]: a single integer max instead of separate min, max and isfinite passes.
    Returns None when the test does not apply (not a CPU float32/float64 tensor with unit stride on
    its last axis); False is not an error by itself (``-0.0`` fails it), the caller then runs the exact
    checks.
    """
    kinds = UINT_VIEW.get(x.dtype)
    if kinds is None or x.device.type != "cpu" or x.ndim == 0 or x.stride(-1) != 1 or high < 0:
        return None
    uint = kinds[0]
    if x.is_contiguous():  # flat: numpy's fast path (odd strides of size-1 axes would defeat it)
        x = x.view(-1)
    try:
        a = x.detach().numpy().view(uint)
    except (RuntimeError, ValueError):  # conjugate/negative views, odd layouts
        return None
    return bool(a.max() <= nonneg_pattern_bound(x.dtype, high))


def check_finite(where: str, name: str, x: torch.Tensor) -> None:
    if not x.is_floating_point() or x.numel() == 0:
        return
    lo, hi = _extremes(x)  # NaN propagates into both extremes, +-Inf shows up in one of them
    if math.isfinite(lo) and math.isfinite(hi):
        return
    n_nan = int(torch.isnan(x).sum())
    n_inf = int(torch.isinf(x).sum())
    raise ValueError(f"{where}: `{name}` contains {n_nan} NaN and {n_inf} Inf values")


def check_range(where: str, name: str, x: torch.Tensor, low: float, high: float,
                *, tol: float = 1e-6, data_range_hint: bool = True) -> None:
    """Refuse values outside ``[low, high]`` (e.g. 0-255 data declared as [0, 1]).

    ``data_range_hint``: whether the caller takes a ``data_range`` (the 0-255 hint offers it)."""
    if x.numel() == 0:
        return
    if low == 0.0 and all_in_nonneg_range(x, high + tol):
        return
    _raise_outside(where, name, *_extremes(x), low, high, tol, data_range_hint)


def _raise_outside(where: str, name: str, lo: float, hi: float, low: float, high: float,
                   tol: float, data_range_hint: bool = True) -> None:
    if lo < low - tol or hi > high + tol:
        hint = ""
        if high <= 1.0 and hi > 1.0 + tol and hi <= 255.0 + tol:
            hint = (" (looks like 0-255 data: divide by 255 or pass data_range=255)" if data_range_hint
                    else " (looks like 0-255 data: divide by 255, or pass uint8)")
        raise ValueError(
            f"{where}: `{name}` values must lie in [{low:g}, {high:g}]; got [{lo:.6g}, {hi:.6g}]{hint}")


def check_finite_range(where: str, name: str, x: torch.Tensor, low: float, high: float,
                       *, tol: float = 1e-6, data_range_hint: bool = True) -> None:
    """:func:`check_finite` and :func:`check_range` together, in one pass over ``x`` when possible.

    The messages are those of the two checks (NaN/Inf counts first, then the range with its hint).
    """
    if x.numel() == 0:
        return
    if low == 0.0 and all_in_nonneg_range(x, high + tol):
        return
    lo, hi = _extremes(x)
    if x.is_floating_point() and not (math.isfinite(lo) and math.isfinite(hi)):
        check_finite(where, name, x)  # raises with the counts
    _raise_outside(where, name, lo, hi, low, high, tol, data_range_hint)


def check_min_size(where: str, name: str, x: torch.Tensor, min_h: int, min_w: int | None = None,
                   *, why: str = "") -> None:
    min_w = min_h if min_w is None else min_w
    h, w = x.shape[-2], x.shape[-1]
    if h < min_h or w < min_w:
        extra = f" ({why})" if why else ""
        raise ShapeError(
            f"{where}: `{name}` must be at least {min_h}x{min_w} pixels{extra}; got {h}x{w}",
            expected=(min_h, min_w), actual=(h, w))


# ------------------------------------------------------------------------------------------------
# declared parameters: type and range in one place (the registries), one check for the API and CLI
# ------------------------------------------------------------------------------------------------

_NUMBER = (int, float, np.integer, np.floating)


@dataclass(frozen=True)
class Param:
    """Declared type and range of one method parameter.

    ``kind`` is ``'int'``, ``'float'`` (finite real) or ``'choice'``; ``low``/``high`` bound numbers
    (``None``: unbounded on that side, floats stay finite), ``open_low`` makes the lower bound
    strict (``> low``); ``odd`` asks for odd ints; ``none_ok`` also accepts None. Build them with
    :func:`int_param`, :func:`float_param`, :func:`choice_param`; :meth:`check` validates a value.
    """

    kind: str
    low: float | None = None
    high: float | None = None
    open_low: bool = False
    odd: bool = False
    choices: tuple = ()
    none_ok: bool = False

    def describe(self) -> str:
        if self.kind == "choice":
            shown = ", ".join(repr(c) for c in self.choices[:8])
            more = f", ... ({len(self.choices)} in all)" if len(self.choices) > 8 else ""
            text = f"one of {shown}{more}"
        else:
            lo = "-inf" if self.low is None else f"{self.low:g}"
            hi = "inf" if self.high is None else f"{self.high:g}"
            text = (f"{'an odd int' if self.odd else 'an int'}" if self.kind == "int" else "a finite number")
            left = "(" if self.open_low or self.low is None else "["
            text += f" in {left}{lo}, {hi}{']' if self.high is not None else ')'}"
        return text + (" or None" if self.none_ok else "")

    def check(self, where: str, name: str, value: Any) -> Any:
        """``value`` when it fits (ints as Python int), else ``TypeError``/``ValueError`` naming
        ``name`` and the declared type or range."""
        if value is None and self.none_ok:
            return None
        if self.kind == "choice":
            if not any(type(value) is type(c) and value == c for c in self.choices):
                raise ValueError(f"{where}: `{name}` must be {self.describe()}; got {value!r}")
            return value
        ok_type = (isinstance(value, (int, np.integer)) if self.kind == "int" else isinstance(value, _NUMBER))
        if isinstance(value, (bool, np.bool_)) or not ok_type:
            raise TypeError(f"{where}: `{name}` must be {self.describe()}; got {type(value).__name__} "
                            f"{value!r}")
        v = int(value) if self.kind == "int" else float(value)
        inside = (math.isfinite(v)
                  and (self.low is None or (v > self.low if self.open_low else v >= self.low))
                  and (self.high is None or v <= self.high) and (not self.odd or v % 2 == 1))
        if not inside:
            raise ValueError(f"{where}: `{name}` must be {self.describe()}; got {value!r}")
        return v if self.kind == "int" else value


def int_param(low: int | None = None, high: int | None = None, *, odd: bool = False,
              none_ok: bool = False) -> Param:
    return Param("int", low, high, odd=odd, none_ok=none_ok)


def float_param(low: float | None = None, high: float | None = None, *, open_low: bool = False) -> Param:
    return Param("float", low, high, open_low=open_low)


def choice_param(*choices: Any) -> Param:
    return Param("choice", choices=tuple(choices))


def check_params(where: str, declared: Mapping[str, Param], params: Mapping[str, Any]) -> dict[str, Any]:
    """Check ``params`` against ``declared``: an unknown name is a ``TypeError`` listing the valid
    ones, a value of the wrong type or outside its range the error of :meth:`Param.check`."""
    unknown = sorted(set(params) - set(declared))
    if unknown:
        raise TypeError(f"{where}: unknown parameter(s) {unknown}; valid parameters: {sorted(declared)}")
    return {k: declared[k].check(where, k, v) for k, v in params.items()}
