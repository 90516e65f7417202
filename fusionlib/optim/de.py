"""DE: differential evolution, DE/rand/1/bin (Storn & Price 1997), as in Yarpiz ``DE.m``.

Mutation v = x_a + F ⊙ (x_b - x_c) (Storn & Price Eq. 2) with F ~ U(F_min, F_max) drawn per
dimension (the released code's ``beta``), the mutant clipped to the box, binomial crossover
(their Eq. 4: u_j = v_j if r_j <= CR or j = j0, else x_j) and greedy selection (their Eq. 5).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._checks import check_positive
from ._base import Optimizer, State, best_of, best_of_batch, greedy, register
from ._problem import Problem, _uclip

__all__ = ["DE", "de_update", "distinct_donors"]


def distinct_donors(keys: np.ndarray, k: int = 3) -> np.ndarray:
    """For row i of the uniform ``keys`` (P, P), the indices of the k smallest keys excluding i:
    k distinct donors different from i (MATLAB ``randperm`` without i). Returns (P, k).

    Any leading (runs) axes are allowed: ``keys`` (R, P, P) gives (R, P, k), each run's rows as in
    a 2-D call (every row is sorted on its own)."""
    keys = keys.copy()
    n = keys.shape[-1]
    if keys.ndim == 2:
        np.fill_diagonal(keys, np.inf)
    else:
        keys[..., np.arange(n), np.arange(n)] = np.inf
    if n <= 48:
        return np.argsort(keys, axis=-1)[..., :k]
    # large populations: k passes of argmin beat sorting every row (same indices; ties between
    # uniform doubles have probability ~ n^2 2^-53)
    out = np.empty(keys.shape[:-1] + (k,), dtype=np.intp)
    flat = keys.reshape(-1, n)                              # a view of the copy
    rows = np.arange(flat.shape[0])
    for j in range(k):
        i = keys.argmin(axis=-1)
        out[..., j] = i
        flat[rows, i.ravel()] = np.inf
    return out


def de_update(X: np.ndarray, Xsrc: np.ndarray, donors: np.ndarray, F: np.ndarray, r: np.ndarray,
              j0: np.ndarray, cr: float, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """DE/rand/1/bin trial vectors.

    Parameters
    ----------
    X : (P, D) targets x_i; Xsrc : (M, D) population the donors are taken from
    donors : (P, 3) int indices a, b, c into ``Xsrc``
    F : (P, D) scale factors; r : (P, D) uniform; j0 : (P,) int forced crossover dimension
    cr : crossover rate

    Returns
    -------
    (P, D) trial vectors u.

    Any leading (runs) axes are allowed: ``X``, ``F``, ``r`` (R, P, D), ``Xsrc`` (R, M, D),
    ``donors`` (R, P, 3), ``j0`` (R, P); donors index their own run's ``Xsrc``. The arithmetic is
    the same element-wise sequence, so each run's values are those of a 2-D call.
    """
    mask = r <= cr
    if Xsrc.ndim == 2:
        Xa, Xb, Xc = np.take(Xsrc, donors.T, axis=0)      # rows x_a, x_b, x_c, each (P, D)
        mask[np.arange(mask.shape[0]), j0] = True
    else:  # one gather over the flattened runs: donor j of run r is row r*M + j
        lead, (m, d) = Xsrc.shape[:-2], Xsrc.shape[-2:]
        donors = donors + (np.arange(math.prod(lead)) * m).reshape(lead + (1, 1))
        Xa, Xb, Xc = np.take(Xsrc.reshape(-1, d), np.moveaxis(donors, -1, 0), axis=0)  # each (..., P, D)
        mask.reshape(-1, d)[np.arange(j0.size), j0.ravel()] = True  # mask is new and contiguous: a view
    v = np.subtract(Xb, Xc, out=Xb)
    v *= F
    v += Xa
    v = _uclip(v, lower, upper, out=v)
    return np.where(mask, v, X)


@register("de", full_name="Differential Evolution (DE/rand/1/bin)", year=1997, doi="10.1023/A:1008202821328",
          evals_per_iter=lambda n: n, matlab_evals=lambda n, t: n + n * t,
          reference="R. Storn, K. Price, J. Global Optim. 11, 341-359, 1997")
@dataclass(frozen=True)
class DE(Optimizer):
    """Differential evolution DE/rand/1/bin.

    Parameters
    ----------
    pop_size : int >= 4
    mode : {'corrected', 'faithful'}
        ``faithful``: individuals are processed one by one and a successful trial replaces its
        target at once, so later individuals draw donors from the partly updated population
        (DE.m). ``corrected``: synchronous generation (donors from the population at its start).
    f_min, f_max : float
        F ~ U(f_min, f_max) per dimension (0.2, 0.8).
    cr : float in [0, 1]
        Crossover rate (0.2).

    Notes
    -----
    Budget N + N·T. Bounds: the mutant is ``clip``-ped. Both modes batch
    (:func:`fusionlib.optim.run_batch`).
    """
    min_pop = 4
    batch_faithful = True
    pop_size: int = 5
    mode: str = "corrected"
    f_min: float = 0.2
    f_max: float = 0.8
    cr: float = 0.2

    def __post_init__(self):
        self._validate_common()
        check_positive("DE", "f_min", self.f_min, strict=False)
        check_positive("DE", "f_max", self.f_max, strict=False)
        if self.f_min > self.f_max:
            raise ValueError(f"DE: `f_min` must be <= `f_max`; got {self.f_min} > {self.f_max}")
        if not 0.0 <= self.cr <= 1.0:
            raise ValueError(f"DE: `cr` must lie in [0, 1]; got {self.cr}")

    def step(self, state: State, problem: Problem, rng: np.random.Generator) -> State:
        lo, hi = problem.lower, problem.upper
        X, f = state.positions, state.fitness
        bx, bf = state.best_x, state.best_f
        n, d = X.shape
        if self.mode == "corrected":
            donors = distinct_donors(rng.random((n, n)))
            F = rng.uniform(self.f_min, self.f_max, (n, d))
            U = de_update(X, X, donors, F, rng.random((n, d)), rng.integers(0, d, n), self.cr, lo, hi)
            fu = problem.evaluate(U)
            X, f = greedy(X, f, U, fu)
            bx, bf = best_of(X, f, bx, bf)
        else:
            X, f = X.copy(), f.copy()  # replaced in place, individual by individual
            scale = self.f_max - self.f_min
            for i in range(n):
                # DE.m's draws for individual i: keys random(n), F uniform(f_min, f_max, (1, d)), r random((1, d))
                # (consecutive doubles: one random(n + 2d) call, F = f_min + (f_max - f_min) u as uniform
                # forms it), then j0 integers(0, d, 1) (drawn as the scalar integers(0, d): the same C fill
                # of one value); tests/optim/test_batch_de.py checks both equivalences
                v = rng.random(n + 2 * d)
                keys = v[:n]
                keys[i] = np.inf
                donors = np.argsort(keys)[:3][None, :]
                F = self.f_min + scale * v[None, n:n + d]
                j0 = np.array([rng.integers(0, d)])
                u = de_update(X[i:i + 1], X, donors, F, v[None, n + d:], j0, self.cr, lo, hi)
                fu = problem.evaluate(u)[0]
                if fu < f[i]:
                    X[i], f[i] = u[0], fu
                    if fu < bf:
                        bx, bf = X[i].copy(), float(fu)
        return state.replace(positions=X, fitness=f, best_x=bx, best_f=bf, n_evals=problem.n_evals,
                             iteration=state.iteration + 1)

    def step_batch(self, state: State, problem, rngs) -> State:
        """:meth:`step` for R runs at once (``fusionlib.optim.run_batch``), in both modes.

        ``faithful``: individual ``i`` of every run builds its trial from its run's partly updated
        population, is evaluated (one objective call of R rows) and replaces its target (and its
        run's best) at once, ``i = 0 .. N-1`` in order. The draws of :meth:`step` do not depend on
        the data, so each run's are taken at the start of the step, in step's order."""
        X, f = state.positions, state.fitness
        R, n, d = X.shape
        if self.mode == "faithful":
            return self._step_batch_faithful(state, problem, rngs)
        # One pass over the runs, each generator drawing what step draws, in step's order: keys
        # random((n, n)), F uniform((n, d)), r random((n, d)), then j0 integers(0, d, n). The first
        # three are consecutive doubles of the stream, so they are one random() call here, and F is
        # formed as uniform forms it (f_min + (f_max - f_min) u: NumPy's random_uniform, checked bit
        # for bit by tests/optim/test_batch_de.py).
        nn, nd = n * n, n * d
        u = np.empty((R, nn + 2 * nd))
        j0 = np.empty((R, n), dtype=np.int64)
        for k, g in enumerate(rngs):
            g.random(out=u[k])
            j0[k] = g.integers(0, d, n)   # ~6-11 us a call (NumPy 1.26): most of this loop's time
        keys = u[:, :nn].reshape(R, n, n)
        F = self.f_min + (self.f_max - self.f_min) * u[:, nn:nn + nd].reshape(R, n, d)
        r = u[:, nn + nd:].reshape(R, n, d)
        U = de_update(X, X, distinct_donors(keys), F, r, j0, self.cr, problem.lower, problem.upper)
        fu = problem.evaluate(U)
        X, f = greedy(X, f, U, fu)
        bx, bf = best_of_batch(X, f, state.best_x, state.best_f)
        return state.replace(positions=X, fitness=f, best_x=bx, best_f=bf, n_evals=problem.n_evals,
                             iteration=state.iteration + 1)

    def _step_batch_faithful(self, state: State, problem, rngs) -> State:
        X, f = state.positions.copy(), state.fitness.copy()  # replaced in place, individual by individual
        bx, bf = state.best_x.copy(), state.best_f.copy()
        R, n, d = X.shape
        # step's draws for individual i: keys random(n), F uniform((1, d)), r random((1, d)) (consecutive
        # doubles: one random(n + 2d) call here, F = f_min + (f_max - f_min) u as uniform forms it),
        # then j0 integers(0, d, 1); per run, i = 0 .. N-1. The scalar form integers(0, d) fills the one
        # value with the same bounded generator (NumPy's random_bounded_uint64_fill, count 1): same
        # stream, checked by tests/optim/test_batch_de.py.
        u = np.empty((R, n, n + 2 * d))
        j0 = np.empty((R, n), dtype=np.int64)
        for k, g in enumerate(rngs):
            uk, jk = u[k], j0[k]
            for i in range(n):
                g.random(out=uk[i])
                jk[i] = g.integers(0, d)   # = integers(0, d, 1)[0]: the same C fill of one value, 4 us not 20
        keys = u[:, :, :n]
        keys[:, np.arange(n), np.arange(n)] = np.inf              # keys[i] = inf (not itself)
        donors = np.argsort(keys, axis=-1)[..., :3]               # (R, n, 3): each row as step's argsort
        F = self.f_min + (self.f_max - self.f_min) * u[:, :, n:n + d]
        r = u[:, :, n + d:]
        lo, hi = problem.lower, problem.upper
        for i in range(n):
            s = slice(i, i + 1)
            ui = de_update(X[:, s], X, donors[:, s], F[:, s], r[:, s], j0[:, s], self.cr, lo, hi)[:, 0]
            fu = problem.evaluate(ui[:, None])[:, 0]
            better = fu < f[:, i]
            X[:, i] = np.where(better[:, None], ui, X[:, i])
            f[:, i] = np.where(better, fu, f[:, i])
            gb = better & (fu < bf)
            bx = np.where(gb[:, None], ui, bx)
            bf = np.where(gb, fu, bf)
        return state.replace(positions=X, fitness=f, best_x=bx, best_f=bf, n_evals=problem.n_evals,
                             iteration=state.iteration + 1)
