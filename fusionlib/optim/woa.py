"""WOA: whale optimization algorithm (Mirjalili & Lewis 2016), as in ``WOA.m``.

Encircling X ← X* - A·|C X* - X| (Eqs. 2.1-2.2) when p < 0.5 and |A| < 1; search for prey
X ← X_rand - A·|C X_rand - X| (Eqs. 2.7-2.8) when p < 0.5 and |A| >= 1 (a random whale drawn per
dimension, as in WOA.m); spiral X ← |X* - X| e^{bl} cos(2πl) + X* (Eq. 2.5) when p >= 0.5. A = 2a r1
- a, C = 2 r2 (Eqs. 2.3-2.4) per whale; a: 2 → 0 and a2: -1 → -2 linearly; l = (a2 - 1) r + 1; b = 1.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._checks import check_positive
from ._base import Optimizer, State, best_of, best_of_batch, draw, register
from ._problem import Problem, _uclip

__all__ = ["WOA", "woa_update"]


def woa_update(X: np.ndarray, Xsrc: np.ndarray, leader: np.ndarray, A: np.ndarray, C: np.ndarray,
               l: np.ndarray, p: np.ndarray, k: np.ndarray, b: float = 1.0) -> np.ndarray:
    """WOA moves for the rows of ``X`` (P, D).

    ``A``, ``C``, ``l``, ``p`` are (P,) per-whale numbers; ``k`` (P, D) int indices of the random
    whales in ``Xsrc`` (one per dimension); ``leader`` (D,). Unclipped. Any leading (runs) axes are
    allowed: ``X``, ``Xsrc``, ``k`` (R, P, D), per-whale numbers (R, P), ``leader`` (R, D).
    """
    return _woa_move(X, Xsrc, leader[..., None, :], k, *_woa_coefficients(A, C, l, p, b))


def _woa_coefficients(A, C, l, p, b):
    """Per-whale (search, K1, K2, M) of :func:`woa_update` (they do not depend on the positions).

    Every move has the form X' = B + K |M B - X| with a per-whale base B, factor K and multiplier M:
    search B = X_rand, K = -A, M = C; encircling B = X*, K = -A, M = C; spiral B = X*, K = e^{bl} cos 2πl,
    M = 1 (x - y = x + (-y) and 1·y = y exactly, so the values are those of the three separate forms).
    K = K1·K2 is applied as two factors: spiral (|X* - X| e^{bl}) cos 2πl, in that order (rounding as
    in Eq. 2.5)."""
    shrink = p < 0.5
    search = shrink & (np.abs(A) >= 1.0)
    K1 = np.where(shrink, -A, np.exp(b * l))[..., None]
    K2 = np.where(shrink, 1.0, np.cos(2.0 * np.pi * l))[..., None]
    M = np.where(shrink, C, 1.0)[..., None]
    return search, K1, K2, M


def _woa_move(X, Xsrc, leader, k, search, K1, K2, M):
    """B + K1 K2 |M B - X| (see :func:`_woa_coefficients`); ``leader`` (..., 1, D)."""
    if search.any():
        if Xsrc.ndim == 2:
            Xr = Xsrc[k, np.arange(X.shape[-1])]              # Xr[i, j] = Xsrc[k[i, j], j]
        else:
            Xr = np.take_along_axis(Xsrc, k, axis=-2)
        B = np.where(search[..., None], Xr, leader)
    else:
        B = np.broadcast_to(leader, X.shape)
    D = np.multiply(M, B)
    D -= X
    np.abs(D, out=D)
    D *= K1
    D *= K2
    D += B
    return D


@register("woa", full_name="Whale Optimization Algorithm", year=2016, doi="10.1016/j.advengsoft.2016.01.008",
          evals_per_iter=lambda n: n, matlab_evals=lambda n, t: n * t,
          reference="S. Mirjalili, A. Lewis, Adv. Eng. Softw. 95, 51-67, 2016")
@dataclass(frozen=True)
class WOA(Optimizer):
    """Whale optimization algorithm.

    Parameters
    ----------
    pop_size : int >= 2
    mode : {'corrected', 'faithful'}
        ``faithful``: whales move in place one after the other (a random whale may already have
        moved this iteration) and the loop evaluates at the top (T iterations = N·T evaluations).
        ``corrected``: synchronous moves; N + N·T evaluations.
    b : float
        Spiral shape constant (1).

    Notes
    -----
    Bounds: ``clip`` before evaluation. The leader X* is the best-so-far. Both modes batch
    (:func:`fusionlib.optim.run_batch`).
    """
    faithful_eval_first = True
    batch_faithful = True
    pop_size: int = 5
    mode: str = "corrected"
    b: float = 1.0

    def __post_init__(self):
        self._validate_common()
        check_positive("WOA", "b", self.b)

    def step(self, state: State, problem: Problem, rng: np.random.Generator) -> State:
        X = state.positions
        n, d = X.shape
        it = min(state.iteration, state.n_iter - 1)
        a = 2.0 - it * 2.0 / state.n_iter
        a2 = -1.0 - it / state.n_iter
        r1, r2, rl, p = rng.random((4, n))
        A, C, l = 2.0 * a * r1 - a, 2.0 * r2, (a2 - 1.0) * rl + 1.0
        k = rng.integers(0, n, n * d).reshape(n, d)  # = integers(0, n, (n, d)), half the call overhead
        if self.mode == "corrected":
            X = woa_update(X, X, state.best_x, A, C, l, p, k, self.b)
        else:
            # moved in place, whale by whale: woa_update's operations on one row at a time (the
            # coefficients do not depend on the positions, so they are formed once)
            X = X.copy()
            search, K1, K2, M = _woa_coefficients(A, C, l, p, self.b)
            cols = np.arange(d)
            leader = state.best_x
            for i in range(n):
                B = X[k[i], cols] if search[i] else leader
                D = np.multiply(M[i], B)
                D -= X[i]
                np.abs(D, out=D)
                D *= K1[i]
                D *= K2[i]
                D += B
                X[i] = D
        X = _uclip(X, problem.lower, problem.upper, out=X)  # X is a new array in both modes
        f = problem.evaluate(X)
        bx, bf = best_of(X, f, state.best_x, state.best_f)
        return state.replace(positions=X, fitness=f, best_x=bx, best_f=bf, n_evals=problem.n_evals,
                             iteration=state.iteration + 1)

    def step_batch(self, state: State, problem, rngs) -> State:
        """:meth:`step` for R runs at once (``fusionlib.optim.run_batch``), in both modes.

        ``faithful``: whale ``i`` of every run moves (in place, seeing the whales moved before it in
        its own run) with one set of array operations on the runs axis, ``i = 0 .. N-1`` in order; the
        draws are those of :meth:`step` (taken before the moves in both modes)."""
        X = state.positions
        _, n, d = X.shape
        it = min(state.iteration, state.n_iter - 1)
        a = 2.0 - it * 2.0 / state.n_iter
        a2 = -1.0 - it / state.n_iter
        r1, r2, rl, p = draw(rngs, "random", (4, n)).transpose(1, 0, 2)
        A, C, l = 2.0 * a * r1 - a, 2.0 * r2, (a2 - 1.0) * rl + 1.0
        k = draw(rngs, "integers", 0, n, n * d).reshape(-1, n, d)
        if self.mode == "corrected":
            X = woa_update(X, X, state.best_x, A, C, l, p, k, self.b)
        else:
            # moved in place, whale by whale (all runs at once): step's per-whale operations on (R, D)
            X = X.copy()
            R = X.shape[0]
            search, K1, K2, M = _woa_coefficients(A, C, l, p, self.b)
            Xf = X.reshape(R * n, d)                                  # a view: rows of every run
            rows = k + (np.arange(R) * n)[:, None, None]              # k[r, i, j] as a row of Xf
            cols = np.arange(d)
            leader = state.best_x
            for i in range(n):
                si = search[:, i]
                B = np.where(si[:, None], Xf[rows[:, i], cols], leader) if si.any() else leader
                D = np.multiply(M[:, i], B)
                D -= X[:, i]
                np.abs(D, out=D)
                D *= K1[:, i]
                D *= K2[:, i]
                D += B
                X[:, i] = D
        X = _uclip(X, problem.lower, problem.upper, out=X)
        f = problem.evaluate(X)
        bx, bf = best_of_batch(X, f, state.best_x, state.best_f)
        return state.replace(positions=X, fitness=f, best_x=bx, best_f=bf, n_evals=problem.n_evals,
                             iteration=state.iteration + 1)
