"""The optimisation problem: a whole-population objective, box bounds, an exact evaluation budget.

A :class:`Problem` maps a population ``X`` of shape ``(P, D)`` to fitness values ``(P,)`` in
**one call** (pymoo's ``Problem._evaluate`` design). It counts every evaluation made through it
and, when given ``max_evals``, never evaluates more than that: rows of a request beyond the
budget are *not* passed to the objective and come back as ``+inf`` (so greedy selection never
accepts them and they can never become the best).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .._checks import ShapeError, check_choice, check_int

try:  # the clip ufunc itself: one call, the same values as np.minimum(np.maximum(x, lo), hi)
    from numpy._core.umath import clip as _uclip  # NumPy >= 2
except ImportError:  # pragma: no cover - NumPy 1.x
    from numpy.core.umath import clip as _uclip

__all__ = ["Problem", "elementwise", "repair_bounds", "BOUND_POLICIES"]

#: Bound-handling policies understood by :func:`repair_bounds`.
BOUND_POLICIES = ("clip", "random")


def repair_bounds(x: np.ndarray, lower: np.ndarray, upper: np.ndarray, policy: str = "clip",
                  u: np.ndarray | None = None) -> np.ndarray:
    """Bring candidate solutions back into the box ``[lower, upper]``.

    Policies
    --------
    ``"clip"``
        *saturation*: every coordinate outside the box is set to the nearest bound,
        ``min(max(x, lower), upper)``; MATLAB ``max(min(x, UB), LB)`` as used by PSO, ACOR, DE,
        GWO, WOA, EO, AOA and IAOA in the released IAOA code.
    ``"random"``
        *uniform re-draw*: every coordinate outside the box is replaced by
        ``lower + u * (upper - lower)`` (AHA's ``SpaceBound``). ``u`` holds uniform [0, 1)
        numbers of the shape of ``x`` (injectable; required for this policy).

    Parameters
    ----------
    x : ndarray (..., D)
    lower, upper : ndarray (D,)
    policy : {'clip', 'random'}
    u : ndarray like ``x``, optional
        Uniform numbers for ``policy="random"``.

    Returns
    -------
    ndarray like ``x`` (a new array), inside the box.
    """
    if policy == "clip":
        return _uclip(x, lower, upper)
    if policy == "random":
        if u is None:
            raise ValueError("repair_bounds: `u` (uniform numbers) is required for policy 'random'")
        out = (x < lower) | (x > upper)
        return np.where(out, lower + u * (upper - lower), x)
    check_choice("repair_bounds", "policy", policy, BOUND_POLICIES)
    raise AssertionError("unreachable")


def elementwise(f: Callable[[np.ndarray], float]) -> Callable[[np.ndarray], np.ndarray]:
    """Adapt a scalar function ``f(x: (D,)) -> float`` to the population form ``(P, D) -> (P,)``.

    The adapter loops in Python; prefer a vectorised objective where possible.

    Examples
    --------
    >>> import numpy as np
    >>> g = elementwise(lambda x: float(np.sum(x ** 2)))
    >>> g(np.array([[1.0, 2.0], [0.0, 3.0]]))
    array([5., 9.])
    """
    if not callable(f):
        raise TypeError(f"elementwise: `f` must be callable; got {type(f).__name__}")

    def objective(X: np.ndarray) -> np.ndarray:
        return np.fromiter((f(x) for x in X), dtype=np.float64, count=len(X))

    objective.__name__ = getattr(f, "__name__", "objective")
    objective.__wrapped__ = f
    return objective


def _as_bound(where: str, name: str, b) -> np.ndarray:
    try:
        arr = np.array(b, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{where}: `{name}` must be a number or a 1-D array of numbers; "
                        f"got {type(b).__name__}") from None
    if arr.ndim > 1:
        raise ShapeError(f"{where}: `{name}` must be a scalar or have shape (D,); got shape {arr.shape}",
                         expected="(D,)", actual=arr.shape)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{where}: `{name}` must be finite; got {arr}")
    return arr


class Problem:
    """A box-bounded minimisation problem with a whole-population objective.

    Parameters
    ----------
    objective : callable ``(P, D) float64 -> (P,)``
        Evaluates a whole population in one call. Wrap a scalar function with
        :func:`elementwise`. NaN values are refused; ``+inf`` is accepted (e.g. a penalty).
    lower, upper : float or array (D,)
        The box; ``lower < upper`` element-wise. Scalars need ``dim``.
    dim : int, optional
        Number of variables when both bounds are scalars.
    max_evals : int, optional
        Exact evaluation budget (see the module docstring).
    record : bool
        Keep every evaluated fitness value in evaluation order (``trace``), used for
        best-per-evaluation convergence curves.

    Raises
    ------
    TypeError, ValueError, ShapeError
        Non-callable objective, non-finite or inverted bounds, mismatched bound shapes.
    """

    def __init__(self, objective: Callable[[np.ndarray], np.ndarray], lower, upper, *,
                 dim: int | None = None, max_evals: int | None = None, record: bool = True):
        where = "Problem"
        if not callable(objective):
            raise TypeError(f"{where}: `objective` must be callable (P, D) -> (P,); "
                            f"got {type(objective).__name__}")
        lo = _as_bound(where, "lower", lower)
        hi = _as_bound(where, "upper", upper)
        if lo.ndim == 1 and hi.ndim == 1 and lo.shape != hi.shape:
            raise ShapeError(f"{where}: `lower` and `upper` must have the same shape; "
                             f"got {lo.shape} and {hi.shape}", expected=lo.shape, actual=hi.shape)
        if lo.ndim == 0 and hi.ndim == 0:
            if dim is None:
                raise ValueError(f"{where}: `dim` is required when `lower` and `upper` are scalars; "
                                 f"got dim=None (or pass arrays of shape (D,))")
        if dim is not None:
            dim = check_int(where, "dim", dim, minimum=1)
            for name, arr in (("lower", lo), ("upper", hi)):
                if arr.ndim == 1 and arr.shape[0] != dim:
                    raise ShapeError(f"{where}: `{name}` must have shape ({dim},) for dim={dim}; "
                                     f"got {arr.shape}", expected=(dim,), actual=arr.shape)
        d = dim if dim is not None else (lo.shape[0] if lo.ndim == 1 else hi.shape[0])
        if d < 1:
            raise ValueError(f"{where}: the problem needs at least one variable; got D={d}")
        lo = np.broadcast_to(lo, (d,)).copy()
        hi = np.broadcast_to(hi, (d,)).copy()
        bad = np.flatnonzero(~(lo < hi))
        if bad.size:
            j = int(bad[0])
            raise ValueError(f"{where}: `lower` must be < `upper` in every dimension; got "
                             f"lower[{j}]={lo[j]:g} >= upper[{j}]={hi[j]:g} "
                             f"({bad.size} inverted or empty dimension(s))")
        lo.setflags(write=False)
        hi.setflags(write=False)
        if max_evals is not None:
            max_evals = check_int(where, "max_evals", max_evals, minimum=1)
        self.objective = objective
        self.lower = lo
        self.upper = hi
        self.dim = d
        self.max_evals = max_evals
        self.record = bool(record)
        self.n_evals = 0
        self.n_calls = 0
        self._trace: list[np.ndarray] = []

    # -- budget ---------------------------------------------------------------------------------
    def fresh(self, max_evals: int | None = None) -> "Problem":
        """A copy with the counter at 0 (and the given budget); the objective is shared."""
        return Problem(self.objective, self.lower, self.upper, max_evals=max_evals, record=self.record)

    @property
    def remaining(self) -> float:
        """Evaluations left in the budget (``inf`` without a budget)."""
        return np.inf if self.max_evals is None else self.max_evals - self.n_evals

    @property
    def exhausted(self) -> bool:
        return self.max_evals is not None and self.n_evals >= self.max_evals

    @property
    def trace(self) -> np.ndarray:
        """Every evaluated fitness value, in evaluation order (``record=True``); ``(R, n_evals)`` when
        the problem is evaluated through a :class:`~fusionlib.optim.BatchProblem`."""
        return np.concatenate(self._trace, axis=-1) if self._trace else np.zeros(0)

    # -- evaluation -----------------------------------------------------------------------------
    def evaluate(self, X: np.ndarray) -> np.ndarray:
        """Fitness of the rows of ``X`` ``(k, D)``; rows beyond the budget come back as ``+inf``."""
        if type(X) is not np.ndarray or X.dtype != np.float64:
            X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.dim:
            raise ShapeError(f"Problem.evaluate: `X` must have shape (k, {self.dim}); got {X.shape}",
                             expected=("k", self.dim), actual=X.shape)
        return self._evaluate_within_budget(X)

    def _evaluate_within_budget(self, X: np.ndarray) -> np.ndarray:
        """The budget truncation of :meth:`evaluate` and ``BatchProblem.evaluate``: ``X`` is
        ``(..., k, D)`` (any leading runs axes, all runs at the same count); the first ``n`` of the
        ``k`` candidates the budget allows are evaluated in one objective call, the others come back
        ``+inf``; the counter grows by ``n`` (per run) and the trace by the ``n`` values."""
        *lead, k, d = X.shape
        n = k if self.max_evals is None else max(0, min(k, self.max_evals - self.n_evals))
        if n == k:
            f = self._call(X.reshape(-1, d)).reshape(*lead, k)
        else:
            f = np.full((*lead, k), np.inf)
            if n == 0:
                return f
            f[..., :n] = self._call(X[..., :n, :].reshape(-1, d)).reshape(*lead, n)
        if self.record:
            self._trace.append(f[..., :n].copy())
        self.n_evals += n
        self.n_calls += 1
        return f

    def _call(self, X: np.ndarray) -> np.ndarray:
        k = X.shape[0]
        out = self.objective(X.copy())
        try:
            f = np.array(out, dtype=np.float64)  # a copy: never alias the caller's buffer
        except (TypeError, ValueError):
            raise TypeError(f"Problem: the objective must return a numeric array of shape ({k},); "
                            f"got {type(out).__name__}") from None
        if f.shape != (k,):
            raise ShapeError(f"Problem: the objective must map (P, D) -> (P,), i.e. return shape ({k},) "
                             f"for a population of {k}; got shape {f.shape}"
                             + (" (a scalar objective? wrap it with fusionlib.optim.elementwise)"
                                if f.ndim == 0 else ""),
                             expected=(k,), actual=f.shape)
        s = f.sum()
        if s != s and np.isnan(f).any():     # cheap test first: NaN (or +inf - inf) in the sum
            rows = np.flatnonzero(np.isnan(f))
            raise ValueError(f"Problem: the objective returned NaN for {rows.size} of {k} candidates "
                             f"(rows {rows[:5].tolist()}{'...' if rows.size > 5 else ''}); first one: "
                             f"x={X[rows[0]].tolist()}")
        return f

    def __repr__(self) -> str:
        name = getattr(self.objective, "__name__", "objective")
        return (f"Problem({name}, D={self.dim}, lower={self.lower.min():g}.., upper={self.upper.max():g}.., "
                f"max_evals={self.max_evals}, n_evals={self.n_evals})")
