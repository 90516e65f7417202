"""Running an optimiser: termination by iterations or an exact evaluation budget."""
from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .._checks import check_choice, check_int, check_type
from ..utils import as_rng
from ._base import MODES, OPTIMIZERS, Optimizer, State
from ._problem import Problem

__all__ = ["History", "Result", "run", "minimize"]


@dataclass(frozen=True)
class History:
    """Per-iteration and per-evaluation records of one run (arrays only).

    Entry 0 of the per-iteration arrays is the initial population; entry ``k`` is after step ``k``.

    Attributes
    ----------
    best : ndarray (K+1,)
        The optimiser's best-so-far fitness after each iteration.
    mean : ndarray (K+1,)
        Mean fitness of the evaluated population members (``inf`` entries ignored).
    diversity : ndarray (K+1,)
        Mean over dimensions of the population's standard deviation divided by ``upper - lower``.
    n_evals : ndarray (K+1,) int
        Cumulative evaluations after each iteration.
    evals_per_iter : ndarray (K+1,) int
        Evaluations made by each iteration (entry 0: the initialisation).
    best_per_eval : ndarray (n_evals,)
        Best fitness among all points evaluated so far, after each evaluation (the curve to plot
        against evaluations; unlike ``best`` it is never worse than a point already evaluated).
    """
    best: np.ndarray
    n_evals: np.ndarray
    evals_per_iter: np.ndarray
    best_per_eval: np.ndarray
    # the recorded populations, summarised on first access (most runs never look at them)
    _fitnesses: list = field(default_factory=list, repr=False, compare=False)
    _positions: list = field(default_factory=list, repr=False, compare=False)
    _width: np.ndarray | None = field(default=None, repr=False, compare=False)

    @functools.cached_property
    def mean(self) -> np.ndarray:
        """(K+1,) mean fitness of the evaluated members of each recorded population."""
        return _means(self._fitnesses)

    @functools.cached_property
    def diversity(self) -> np.ndarray:
        """(K+1,) mean over dimensions of the population std divided by ``upper - lower``."""
        return _diversities(self._positions, self._width)


@dataclass(frozen=True)
class Result:
    """Outcome of :func:`run` / :func:`minimize` (``n_calls``: objective calls made;
    ``state``: the final :class:`State`)."""
    best_x: np.ndarray
    best_f: float
    history: History
    n_evals: int
    wall_time: float
    n_iter: int
    n_calls: int
    optimizer: str
    mode: str
    seed: object
    state: State


def _diversities(xs: list[np.ndarray], width: np.ndarray) -> np.ndarray:
    """Per record: mean over dimensions of std(X[:, j]) / width_j (population std, ddof = 0)."""
    if len({x.shape for x in xs}) == 1:
        return (np.stack(xs).std(axis=1) / width).mean(axis=1)
    return np.array([float((x.std(axis=0) / width).mean()) for x in xs])


def _means(fs: list[np.ndarray]) -> np.ndarray:
    """Per record: mean of the finite fitness values (+inf marks unevaluated candidates)."""
    if len({f.shape for f in fs}) == 1:
        F = np.stack(fs)
        ok = np.isfinite(F)
        n = ok.sum(axis=1)
        tot = np.where(ok, F, 0.0).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n > 0, tot / np.maximum(n, 1), np.inf)
    out = np.empty(len(fs))
    for k, f in enumerate(fs):
        ok = np.isfinite(f)
        out[k] = f[ok].mean() if ok.any() else np.inf
    return out


def _check_run_args(where: str, problem, optimizer, n_iter, max_evals, callback):
    """The checks shared by :func:`run` and :func:`~fusionlib.optim.run_batch`; returns (n_iter, max_evals)."""
    check_type(where, "problem", problem, Problem)
    check_type(where, "optimizer", optimizer, Optimizer)
    if n_iter is None and max_evals is None:
        raise ValueError(f"{where}: give `n_iter` and/or `max_evals`; got neither")
    if n_iter is not None:
        n_iter = check_int(where, "n_iter", n_iter, minimum=1)
    if max_evals is not None:
        max_evals = check_int(where, "max_evals", max_evals, minimum=1)
        if max_evals < optimizer.pop_size:
            raise ValueError(f"{where}: `max_evals` must be >= pop_size={optimizer.pop_size} (the initial "
                             f"population is evaluated first); got {max_evals}")
    if callback is not None and not callable(callback):
        raise TypeError(f"{where}: `callback` must be callable; got {type(callback).__name__}")
    return n_iter, max_evals


def run(problem: Problem, optimizer: Optimizer, n_iter: int | None = None, max_evals: int | None = None,
        seed=0, callback: Callable[[State], bool | None] | None = None) -> Result:
    """Run ``optimizer`` on ``problem`` from a fresh evaluation counter.

    Parameters
    ----------
    problem : Problem
    optimizer : an instance of a registered optimiser class
    n_iter : int, optional
        Number of iterations T (the schedules' horizon). In ``faithful`` mode the released MATLAB
        code's T loop passes are reproduced: for GA, GWO, WOA and EO, whose MATLAB loop evaluates
        at the top, that is the initialisation plus T - 1 steps.
    max_evals : int, optional
        Exact evaluation budget: the run stops when it is spent, and the generation that reaches it
        is truncated (its candidates beyond the budget are not evaluated and count as ``+inf``), so
        ``result.n_evals == max_evals`` whenever the budget binds. Without ``n_iter``, the schedule
        horizon is ``ceil((max_evals - pop_size) / evals_per_iter(pop_size))``.
    seed : int or numpy.random.Generator
        The only source of randomness.
    callback : callable(State) -> bool, optional
        Called after the initialisation and after every step; returning True stops the run.

    Returns
    -------
    Result
    """
    n_iter, max_evals = _check_run_args("run", problem, optimizer, n_iter, max_evals, callback)
    rng = as_rng(seed)
    p = problem.fresh(max_evals)
    state, rec, wall = _drive(optimizer, p, rng, n_iter, callback)
    trace = p.trace
    hist = History(best=np.asarray(rec.best), n_evals=rec.n_evals, evals_per_iter=rec.evals_per_iter,
                   best_per_eval=np.minimum.accumulate(trace) if trace.size else trace,
                   _fitnesses=rec.fitness, _positions=rec.positions, _width=p.upper - p.lower)
    return Result(best_x=state.best_x.copy(), best_f=float(state.best_f), history=hist, n_evals=p.n_evals,
                  wall_time=wall, n_iter=state.iteration, n_calls=p.n_calls, optimizer=optimizer.key,
                  mode=optimizer.mode, seed=seed, state=state)


@dataclass
class _Records:
    """What :func:`_drive` records after the initialisation and after every step (references to the
    states' arrays: steps never modify the arrays of a state they return, so keeping them is safe;
    mean and diversity are computed from them on first access)."""
    best: list = field(default_factory=list)
    ev: list = field(default_factory=list)
    positions: list = field(default_factory=list)
    fitness: list = field(default_factory=list)

    def add(self, s: State) -> None:
        self.best.append(s.best_f)
        self.ev.append(s.n_evals)
        self.positions.append(s.positions)
        self.fitness.append(s.fitness)

    @functools.cached_property
    def n_evals(self) -> np.ndarray:
        return np.asarray(self.ev, dtype=np.int64)

    @functools.cached_property
    def evals_per_iter(self) -> np.ndarray:
        return np.diff(self.n_evals, prepend=0)


def _drive(optimizer: Optimizer, p, rng, n_iter: int | None, callback, batch: bool = False):
    """The driver loop of :func:`run` (``p`` a fresh :class:`Problem`, ``rng`` a generator) and of
    :func:`~fusionlib.optim.run_batch` (``batch=True``: a ``BatchProblem``, one generator per run,
    ``init_batch``/``step_batch``): initialise, record, step until the callback stops, the budget is
    spent or the horizon is reached. Returns ``(state, records, wall seconds)``."""
    init, step = (optimizer.init_batch, optimizer.step_batch) if batch else (optimizer.init_state, optimizer.step)
    t0 = time.perf_counter()
    state = init(p, rng, n_iter=n_iter)
    n_steps = state.n_iter
    if n_iter is not None and optimizer.mode == "faithful" and optimizer.faithful_eval_first:
        n_steps = n_iter - 1   # the MATLAB loop evaluates at the top: T passes = init + T - 1 steps
    rec = _Records()
    rec.add(state)
    stop = bool(callback(state)) if callback is not None else False
    # without n_iter the budget decides; the cap only guards against a step that evaluates nothing
    cap = n_steps if n_iter is not None else 10 * n_steps + 10
    while not stop and not p.exhausted and state.iteration < cap:
        state = step(state, p, rng)
        rec.add(state)
        if callback is not None and callback(state):
            stop = True
    return state, rec, time.perf_counter() - t0


def minimize(name: str, fitness: Callable[[np.ndarray], np.ndarray], lower, upper, pop_size: int,
             iterations: int | None, max_evals: int | None = None, seed=0, mode: str = "corrected",
             callback: Callable[[State], bool | None] | None = None, **hyper) -> Result:
    """Minimise ``fitness`` over the box ``[lower, upper]`` with the registered optimiser ``name``.

    Parameters
    ----------
    name : str
        A key of :data:`fusionlib.optim.OPTIMIZERS` (``"pso"``, ``"aoa"``, ``"iaoa"``, ...).
    fitness : callable ``(P, D) -> (P,)``
        Whole-population objective (wrap scalar functions with :func:`elementwise`).
    lower, upper : array (D,)
        The box (scalars are refused: the dimension would be ambiguous).
    pop_size : int
    iterations : int or None
        Iterations T; None to run on the budget alone.
    max_evals : int, optional
        Exact evaluation budget (see :func:`run`: the last generation is truncated so that
        ``n_evals == max_evals``).
    seed : int or numpy.random.Generator
    mode : {'corrected', 'faithful'}
    callback : callable(State) -> bool, optional
    **hyper
        Hyperparameters of the optimiser class (unknown names raise ``TypeError``).

    Returns
    -------
    Result
        ``best_x``, ``best_f``, ``history``, ``n_evals``, ``wall_time`` (seconds, for information).

    Examples
    --------
    >>> import numpy as np
    >>> r = minimize("pso", lambda X: (X ** 2).sum(1), -np.ones(2), np.ones(2), pop_size=10,
    ...              iterations=50, seed=0)
    >>> bool(r.best_f < 1e-6), r.n_evals
    (True, 510)
    """
    where = "minimize"
    check_type(where, "name", name, str)
    info = OPTIMIZERS[name]
    check_choice(where, "mode", mode, MODES)
    if np.ndim(lower) == 0 and np.ndim(upper) == 0:
        raise ValueError(f"{where}: `lower` and `upper` must be arrays of shape (D,); got scalars "
                         f"{lower!r}, {upper!r} (use np.full(D, value))")
    problem = Problem(fitness, lower, upper)
    try:
        optimizer = info.cls(pop_size=pop_size, mode=mode, **hyper)
    except TypeError as e:
        if "unexpected keyword" in str(e):
            import dataclasses
            valid = [f.name for f in dataclasses.fields(info.cls)]
            raise TypeError(f"{where}: unknown hyperparameter for {name!r}: {e}; valid: {valid}") from None
        raise
    return run(problem, optimizer, n_iter=iterations, max_evals=max_evals, seed=seed, callback=callback)
