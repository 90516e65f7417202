"""Many independent runs of one optimiser in lockstep: a leading *runs* axis.

An experiment repeats every optimiser R times (30 in the IAOA paper) with different seeds. At the
paper's budget (N = 5 agents, T = 10 iterations) one run is a few hundred tiny NumPy operations, so
its time is interpreter overhead, not arithmetic. :func:`run_batch` advances all R runs together:
every array gets a leading axis of length R (positions ``(R, P, D)``, fitness ``(R, P)``, best
``(R, D)`` and ``(R,)``), each step is one set of array operations for all runs, and each generation
of all runs is evaluated in **one** objective call of ``R * P`` rows.

Exactness
---------
Run ``r`` draws from its own generator ``as_rng(seeds[r])`` exactly the numbers, in exactly the
order, that :func:`fusionlib.optim.run` draws for that seed, and the batched update equations are
the same element-wise operations. So run ``r`` of a batch returns the **same** result as
``run(..., seed=seeds[r])``: same best, same history (``tests/optim/test_batch.py`` checks every
optimiser bit for bit).

Scope
-----
``corrected`` mode of the optimisers that implement ``step_batch``, and ``faithful`` mode of those
that also declare ``batch_faithful = True`` (individuals still one at a time in MATLAB order inside
each run; the runs advance together, one objective call of R rows per individual). Other cases fall
back to one :func:`run` per seed, with identical results.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from .._checks import ShapeError
from ..utils import as_rng
from ._base import Optimizer, State, best_of_batch, draw  # noqa: F401  (draw, best_of_batch: public here)
from ._problem import Problem
from ._run import History, Result, _check_run_args, _drive, run

__all__ = ["BatchProblem", "run_batch", "draw", "best_of_batch", "supports_batch"]


def supports_batch(optimizer: Optimizer) -> bool:
    """True when ``optimizer`` can run a runs axis: it has a ``step_batch``, and the mode is
    ``corrected`` or the class also batches ``faithful`` mode (``batch_faithful = True``: the MATLAB
    order of individuals is kept inside every run, all runs advance individual by individual)."""
    cls = type(optimizer)
    if cls.step_batch is Optimizer.step_batch:
        return False
    return optimizer.mode == "corrected" or bool(getattr(cls, "batch_faithful", False))


class BatchProblem:
    """R copies of a :class:`Problem` evaluated together (the objective is called once per generation).

    Every run has the same evaluation count (the optimisers that batch spend a fixed number per step),
    so the budget ``max_evals`` binds at the same generation for all runs and truncates it the same
    way as :meth:`Problem.evaluate`: rows beyond the budget are not evaluated and come back ``+inf``.
    """

    def __init__(self, problem: Problem, n_runs: int, max_evals: int | None = None):
        self._p = problem.fresh(max_evals)  # the objective, its checks (NaN, shape), the budget, the counters
        self.n_runs = n_runs
        self.lower, self.upper, self.dim = self._p.lower, self._p.upper, self._p.dim
        self.max_evals = max_evals
        self.record = self._p.record

    @property
    def n_evals(self) -> int:
        """Evaluations per run."""
        return self._p.n_evals

    @property
    def n_calls(self) -> int:
        """Objective calls (each run would have made as many on its own)."""
        return self._p.n_calls

    @property
    def remaining(self) -> float:
        return self._p.remaining

    @property
    def exhausted(self) -> bool:
        return self._p.exhausted

    @property
    def trace(self) -> np.ndarray:
        """(R, n_evals) every evaluated fitness value of each run, in evaluation order."""
        return self._p.trace if self._p._trace else np.zeros((self.n_runs, 0))

    def evaluate(self, X: np.ndarray) -> np.ndarray:
        """Fitness ``(R, k)`` of the candidates ``X`` ``(R, k, D)`` of every run, in one objective call
        (the budget truncation of :meth:`Problem.evaluate`, per run)."""
        if type(X) is not np.ndarray or X.dtype != np.float64:
            X = np.asarray(X, dtype=np.float64)
        if X.ndim != 3 or X.shape[0] != self.n_runs or X.shape[2] != self.dim:
            raise ShapeError(f"BatchProblem.evaluate: `X` must have shape ({self.n_runs}, k, {self.dim}); "
                             f"got {X.shape}", expected=(self.n_runs, "k", self.dim), actual=X.shape)
        return self._p._evaluate_within_budget(X)


def _split_state(s: State, r: int) -> State:
    """Run ``r`` of a batched state as a single-run :class:`State` (extras have a leading runs axis)."""
    return State(s.positions[r], s.fitness[r], s.best_x[r].copy(), float(s.best_f[r]), int(s.n_evals),
                 s.iteration, s.n_iter, {k: v[r] for k, v in s.extras.items()})


def run_batch(problem: Problem, optimizer: Optimizer, seeds: Sequence, n_iter: int | None = None,
              max_evals: int | None = None, callback: Callable[[State], bool | None] | None = None,
              ) -> list:
    """Run ``optimizer`` on ``problem`` once per seed, all runs in lockstep.

    Parameters
    ----------
    problem : Problem
    optimizer : an instance of a registered optimiser class
    seeds : sequence of int or numpy.random.Generator
        One per run; run ``r`` equals ``run(problem, optimizer, n_iter, max_evals, seed=seeds[r])``.
    n_iter, max_evals : int, optional
        As in :func:`fusionlib.optim.run` (at least one of them).
    callback : callable(State) -> bool, optional
        Called after the initialisation and after every step with the **batched** state (arrays with
        a leading runs axis; ``best_f`` is ``(R,)``); returning True stops every run. On the fallback
        path (see :func:`supports_batch`) it is called per run with that run's state.

    Returns
    -------
    list of Result
        One per seed, in order. ``wall_time`` is the batch's wall time divided by the number of runs.

    Examples
    --------
    >>> import numpy as np
    >>> from fusionlib.optim import Problem, WOA, run
    >>> p = Problem(lambda X: (X ** 2).sum(1), -np.ones(3), np.ones(3))
    >>> res = run_batch(p, WOA(pop_size=5), seeds=[0, 1, 2], n_iter=10)
    >>> [r.best_f == run(p, WOA(pop_size=5), n_iter=10, seed=s).best_f for s, r in zip([0, 1, 2], res)]
    [True, True, True]
    """
    where = "run_batch"
    n_iter, max_evals = _check_run_args(where, problem, optimizer, n_iter, max_evals, callback)
    seeds = list(seeds)
    if not seeds:
        raise ValueError(f"{where}: `seeds` must hold at least one seed; got none")
    if not supports_batch(optimizer):
        if callback is None:
            return [run(problem, optimizer, n_iter=n_iter, max_evals=max_evals, seed=s) for s in seeds]
        return [run(problem, optimizer, n_iter=n_iter, max_evals=max_evals, seed=s, callback=callback)
                for s in seeds]
    rngs = [as_rng(s) for s in seeds]
    R = len(rngs)
    p = BatchProblem(problem, R, max_evals)
    state, rec, wall = _drive(optimizer, p, rngs, n_iter, callback, batch=True)
    best = np.stack(rec.best, axis=1)              # (R, K + 1)
    trace = p.trace
    curves = np.minimum.accumulate(trace, axis=1) if trace.shape[1] else trace
    width = p.upper - p.lower
    out = []
    for r, s in enumerate(seeds):
        hist = History(best=best[r], n_evals=rec.n_evals, evals_per_iter=rec.evals_per_iter,
                       best_per_eval=curves[r], _fitnesses=[f[r] for f in rec.fitness],
                       _positions=[x[r] for x in rec.positions], _width=width)
        out.append(Result(best_x=state.best_x[r].copy(), best_f=float(state.best_f[r]), history=hist,
                          n_evals=p.n_evals, wall_time=wall / R, n_iter=state.iteration, n_calls=p.n_calls,
                          optimizer=optimizer.key, mode=optimizer.mode, seed=s, state=_split_state(state, r)))
    return out
