"""Shared pieces of every optimiser: the State, the base class, the registry.

Design (STYLE.md §7): an optimiser class holds only validated hyperparameters;
``init_state(problem, rng)`` and ``step(state, problem, rng)`` return a new :class:`State`;
the update equations are pure vectorised NumPy functions with injectable random arrays.

Modes
-----
``"corrected"``
    population-batched: every candidate of a generation is built from the same state and the whole
    generation is evaluated in one objective call; the quirks of the released MATLAB code listed in
    ``shared/notes/iaoa.md`` §4 are fixed.
``"faithful"``
    the released MATLAB code's behaviour: individuals are updated and evaluated one at a time in
    MATLAB order with the best updated at once (later individuals of the same iteration see it),
    and each algorithm's documented quirks are kept (see each class's Notes).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Sequence

import numpy as np

from .._checks import check_choice, check_int
from ..registry import Registry
from ._problem import Problem

__all__ = ["State", "Optimizer", "OptimizerInfo", "OPTIMIZERS", "register", "MODES", "best_of", "best_of_batch",
           "draw", "greedy", "roulette"]

MODES = ("corrected", "faithful")


@dataclass
class State:
    """The state of a population optimiser after ``iteration`` steps.

    Attributes
    ----------
    positions : ndarray (P, D)
    fitness : ndarray (P,)
        ``+inf`` marks a candidate not evaluated (budget exhausted, or not yet evaluated).
    best_x : ndarray (D,)
        The optimiser's best-so-far (for ``faithful`` PSO this is the MATLAB code's reported
        best, which can be worse than the best point evaluated).
    best_f : float
    n_evals : int
        Evaluations so far (the problem's counter after this state was built).
    iteration : int
        Completed steps (0 after ``init_state``).
    n_iter : int
        Planned number of steps T used by schedules (MOP, MOA, a in GWO/WOA, ...).
    extras : dict of arrays
        Algorithm-specific memory (velocities, personal bests, leaders, visit table, ...).
    """
    positions: np.ndarray
    fitness: np.ndarray
    best_x: np.ndarray
    best_f: float
    n_evals: int
    iteration: int
    n_iter: int
    extras: dict = field(default_factory=dict)

    def replace(self, **changes) -> "State":
        """A shallow copy with ``changes`` (``dataclasses.replace`` without re-running ``__init__``:
        steps call this once per iteration, so it is kept cheap)."""
        unknown = changes.keys() - self.__dict__.keys()
        if unknown:
            raise TypeError(f"State.replace: unknown field(s) {sorted(unknown)}; valid: {list(self.__dict__)}")
        new = object.__new__(State)
        d = self.__dict__.copy()
        d.update(changes)
        new.__dict__ = d
        return new


def best_of(X: np.ndarray, f: np.ndarray, best_x: np.ndarray | None, best_f: float):
    """Best-so-far after seeing candidates ``X`` with fitness ``f`` (ties keep the old best)."""
    if f.size:
        i = int(f.argmin())
        if best_x is None or f[i] < best_f:
            return X[i].copy(), float(f[i])
    return best_x, best_f


def best_of_batch(X: np.ndarray, f: np.ndarray, best_x: np.ndarray | None, best_f: np.ndarray | None):
    """Per run, the best-so-far after seeing candidates ``X`` (R, k, D) with fitness ``f`` (R, k).

    The batched form of :func:`best_of`: the first minimum of each run replaces the old best only when
    strictly better (ties keep the old best); ``best_x=None`` takes it as is.
    """
    rows = np.arange(f.shape[0])
    i = f.argmin(axis=1)
    fi, xi = f[rows, i], X[rows, i]
    if best_x is None:
        return xi.copy(), fi.copy()
    better = fi < best_f
    return np.where(better[:, None], xi, best_x), np.where(better, fi, best_f)


def draw(rngs: Sequence[np.random.Generator], method: str, *args, **kwargs) -> np.ndarray:
    """``np.stack([getattr(g, method)(*args, **kwargs) for g in rngs])``: one draw per run, stacked on
    a new leading axis. Each generator sees the call it would see in a single run.

    ``random`` and ``standard_normal`` with only a shape are written straight into one preallocated
    array (``out=``: the same numbers, no stacking copy)."""
    if method in ("random", "standard_normal") and len(args) == 1 and not kwargs:
        shape = tuple(args[0]) if isinstance(args[0], (tuple, list)) else (int(args[0]),)
        out = np.empty((len(rngs),) + shape)
        for r, g in enumerate(rngs):
            getattr(g, method)(out=out[r])
        return out
    return np.stack([getattr(g, method)(*args, **kwargs) for g in rngs])


def greedy(X_old, f_old, X_new, f_new):
    """Greedy (one-to-one) replacement: keep the new candidate only where it is strictly better.

    ``X`` (..., P, D), ``f`` (..., P): any leading (runs) axes."""
    better = f_new < f_old
    return np.where(better[..., None], X_new, X_old), np.where(better, f_new, f_old)


def roulette(cum_p: np.ndarray, u: np.ndarray) -> np.ndarray:
    """MATLAB ``find(u <= cumsum(p), 1)`` for each ``u``: indices drawn with probabilities ``p``."""
    idx = np.searchsorted(cum_p, u * cum_p[-1], side="left")
    return np.minimum(idx, cum_p.size - 1)


class Optimizer:
    """Base class: validated hyperparameters plus ``init_state``/``step``.

    Subclasses are frozen dataclasses with at least ``pop_size`` and ``mode`` fields.
    """
    key: ClassVar[str] = ""
    #: the MATLAB loop evaluates the population at the *top* of each of its T passes, so its T
    #: passes equal ``init_state`` + (T - 1) steps (GA, GWO, WOA, EO); used by ``run`` in
    #: faithful mode.
    faithful_eval_first: ClassVar[bool] = False
    #: smallest population the algorithm works with
    min_pop: ClassVar[int] = 2

    pop_size: int
    mode: str

    def _validate_common(self) -> None:
        name = type(self).__name__
        check_int(name, "pop_size", self.pop_size, minimum=self.min_pop)
        check_choice(name, "mode", self.mode, MODES)

    # -- shared helpers -------------------------------------------------------------------------
    def _uniform_population(self, problem: Problem, rng: np.random.Generator) -> np.ndarray:
        u = rng.random((self.pop_size, problem.dim))
        return problem.lower + u * (problem.upper - problem.lower)

    def evals_per_iter(self) -> int:
        """Evaluations one step makes with these hyperparameters (the registry formula by default)."""
        return OPTIMIZERS[self.key].evals_per_iter(self.pop_size)

    def _horizon(self, problem: Problem, n_iter: int | None) -> int:
        if n_iter is not None:
            return check_int(type(self).__name__, "n_iter", n_iter, minimum=1)
        if problem.max_evals is not None:
            per = max(1, self.evals_per_iter())
            return max(1, math.ceil((problem.max_evals - self.pop_size) / per))
        raise ValueError(f"{type(self).__name__}.init_state: `n_iter` is required when the problem "
                         f"has no `max_evals`")

    def init_state(self, problem: Problem, rng: np.random.Generator, n_iter: int | None = None) -> State:
        """Uniform random population in the box, evaluated in one call."""
        X = self._uniform_population(problem, rng)
        f = problem.evaluate(X)
        bx, bf = best_of(X, f, None, np.inf)
        return State(X, f, bx, bf, problem.n_evals, 0, self._horizon(problem, n_iter),
                     self._init_extras(X, f, problem, rng))

    def _init_extras(self, X, f, problem, rng) -> dict:
        return {}

    def step(self, state: State, problem: Problem, rng: np.random.Generator) -> State:  # pragma: no cover
        raise NotImplementedError

    # -- many runs in lockstep (fusionlib.optim.run_batch; corrected mode) ----------------------
    def init_batch(self, problem, rngs, n_iter: int | None = None) -> State:
        """:meth:`init_state` for R runs at once (``problem``: a ``BatchProblem``; ``rngs``: one
        generator per run). Arrays get a leading runs axis; the draws per generator are those of
        :meth:`init_state`."""
        X = problem.lower + draw(rngs, "random", (self.pop_size, problem.dim)) * (problem.upper - problem.lower)
        f = problem.evaluate(X)
        bx, bf = best_of_batch(X, f, None, None)
        return State(X, f, bx, bf, problem.n_evals, 0, self._horizon(problem, n_iter),
                     self._init_extras_batch(X, f, problem, rngs))

    def _init_extras_batch(self, X, f, problem, rngs) -> dict:
        """Per run :meth:`_init_extras` (same draws), each entry stacked on a leading runs axis."""
        per = [self._init_extras(X[r], f[r], problem, g) for r, g in enumerate(rngs)]
        return {k: np.stack([e[k] for e in per]) for k in per[0]} if per and per[0] else {}

    def step_batch(self, state: State, problem, rngs) -> State:  # pragma: no cover
        """One corrected-mode step of R runs at once (implemented by the optimisers that batch)."""
        raise NotImplementedError


@dataclass(frozen=True)
class OptimizerInfo:
    """Registry entry: the class plus bibliographic facts and budget formulas."""
    key: str
    cls: type
    full_name: str
    year: int
    doi: str
    evals_per_iter: Callable[[int], int]
    matlab_evals: Callable[[int, int], int] | None = None
    reference: str = ""

    def __call__(self, **hyper) -> Any:
        return self.cls(**hyper)


OPTIMIZERS: Registry[OptimizerInfo] = Registry("optimizer")


def register(key: str, *, full_name: str, year: int, doi: str, evals_per_iter: Callable[[int], int],
             matlab_evals: Callable[[int, int], int] | None = None, reference: str = ""):
    """Class decorator adding an optimiser to :data:`OPTIMIZERS`.

    ``evals_per_iter(N)`` is the number of evaluations one corrected-mode step makes with the
    default hyperparameters; ``matlab_evals(N, T)`` the total budget of the released MATLAB code
    (``shared/notes/iaoa.md`` §4), which faithful mode reproduces.
    """
    def deco(cls):
        cls.key = key
        OPTIMIZERS.add(key, OptimizerInfo(key, cls, full_name, year, doi, evals_per_iter,
                                          matlab_evals, reference))
        return cls
    return deco
