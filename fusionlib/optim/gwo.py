"""GWO: grey wolf optimizer (Mirjalili, Mirjalili & Lewis 2014), as in ``GWO.m``.

A = 2a r1 - a, C = 2 r2 (Eqs. 3.3-3.4); D_k = |C_k X_k - X|, X_k' = X_k - A_k D_k for the leaders
k ∈ {α, β, δ} (Eqs. 3.5-3.6); X ← (X_α' + X_β' + X_δ') / 3 (Eq. 3.7); a decreases linearly from 2
to 0: a = 2 - 2l/T, l = 0..T-1.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._base import Optimizer, State, draw, register
from ._leaders import empty_leaders, leaders_chain, leaders_chain_batch, leaders_topk, leaders_topk_batch
from ._problem import Problem, _uclip

__all__ = ["GWO", "gwo_update"]


def gwo_update(X: np.ndarray, leaders: np.ndarray, a: float, r1: np.ndarray, r2: np.ndarray) -> np.ndarray:
    """Eqs. 3.3-3.7 for all wolves; ``leaders`` (3, D); ``r1``, ``r2`` (3, P, D) uniform. Unclipped.

    Any leading (runs) axes are allowed: ``X`` (R, P, D), ``leaders`` (R, 3, D), ``r1``, ``r2``
    (R, 3, P, D) (the values of a 2-D call are unchanged).
    """
    A = 2.0 * a * r1
    A -= a
    L = leaders[..., :, None, :]
    Dk = np.multiply(2.0, r2)
    Dk *= L
    Dk -= X[..., None, :, :]
    np.abs(Dk, out=Dk)
    Dk *= A
    np.subtract(L, Dk, out=Dk)
    # the mean over the three leaders as np.mean computes it (a sum, then one division)
    return np.true_divide(np.add.reduce(Dk, axis=-3), 3.0)


@register("gwo", full_name="Grey Wolf Optimizer", year=2014, doi="10.1016/j.advengsoft.2013.12.007",
          evals_per_iter=lambda n: n, matlab_evals=lambda n, t: n * t,
          reference="S. Mirjalili, S. M. Mirjalili, A. Lewis, Adv. Eng. Softw. 69, 46-61, 2014")
@dataclass(frozen=True)
class GWO(Optimizer):
    """Grey wolf optimizer.

    Parameters
    ----------
    pop_size : int >= 2
    mode : {'corrected', 'faithful'}
        ``faithful``: GWO.m's leader update (individual by individual; a new α does not push the
        old one down to β; unfilled leaders sit at the origin) and its loop that evaluates at the
        top (T iterations = N·T evaluations). ``corrected``: α, β, δ = the three best distinct
        points seen so far; N + N·T evaluations.

    Notes
    -----
    Bounds: ``clip`` before evaluation. The best is α.
    """
    faithful_eval_first = True
    batch_faithful = True
    pop_size: int = 5
    mode: str = "corrected"

    def __post_init__(self):
        self._validate_common()

    def _update_leaders(self, LX, Lf, X, f):
        return (leaders_chain if self.mode == "faithful" else leaders_topk)(LX, Lf, X, f)

    def _update_leaders_batch(self, LX, Lf, X, f):
        return (leaders_chain_batch if self.mode == "faithful" else leaders_topk_batch)(LX, Lf, X, f)

    def _init_extras(self, X, f, problem, rng) -> dict:
        LX, Lf = self._update_leaders(*empty_leaders(3, X.shape[1]), X, f)
        return {"leaders_x": LX, "leaders_f": Lf}

    def init_state(self, problem: Problem, rng: np.random.Generator, n_iter: int | None = None) -> State:
        s = super().init_state(problem, rng, n_iter)
        return s.replace(best_x=s.extras["leaders_x"][0].copy(), best_f=float(s.extras["leaders_f"][0]))

    def _init_extras_batch(self, X, f, problem, rngs) -> dict:
        LX, Lf = empty_leaders(3, X.shape[-1])
        r = X.shape[0]
        LX, Lf = self._update_leaders_batch(np.broadcast_to(LX, (r,) + LX.shape), np.broadcast_to(Lf, (r, 3)), X, f)
        return {"leaders_x": LX, "leaders_f": Lf}

    def init_batch(self, problem, rngs, n_iter: int | None = None) -> State:
        s = super().init_batch(problem, rngs, n_iter)
        return s.replace(best_x=s.extras["leaders_x"][:, 0].copy(), best_f=s.extras["leaders_f"][:, 0].copy())

    def step(self, state: State, problem: Problem, rng: np.random.Generator) -> State:
        X = state.positions
        n, d = X.shape
        a = 2.0 - 2.0 * min(state.iteration, state.n_iter - 1) / state.n_iter
        LX, Lf = state.extras["leaders_x"], state.extras["leaders_f"]
        Xn = gwo_update(X, LX, a, rng.random((3, n, d)), rng.random((3, n, d)))
        Xn = _uclip(Xn, problem.lower, problem.upper, out=Xn)
        fn = problem.evaluate(Xn)
        LX, Lf = self._update_leaders(LX, Lf, Xn, fn)
        return state.replace(positions=Xn, fitness=fn, best_x=LX[0].copy(), best_f=float(Lf[0]),
                             n_evals=problem.n_evals, iteration=state.iteration + 1,
                             extras={"leaders_x": LX, "leaders_f": Lf})

    def step_batch(self, state: State, problem, rngs) -> State:
        """:meth:`step` for R runs at once (``fusionlib.optim.run_batch``), either mode: the faithful
        leader chain runs individual by individual inside each run, all runs together."""
        X = state.positions
        _, n, d = X.shape
        a = 2.0 - 2.0 * min(state.iteration, state.n_iter - 1) / state.n_iter
        LX, Lf = state.extras["leaders_x"], state.extras["leaders_f"]
        r = draw(rngs, "random", (6, n, d))       # = random((3, n, d)) twice, per run
        Xn = gwo_update(X, LX, a, r[:, :3], r[:, 3:])
        Xn = _uclip(Xn, problem.lower, problem.upper, out=Xn)
        fn = problem.evaluate(Xn)
        LX, Lf = self._update_leaders_batch(LX, Lf, Xn, fn)
        return state.replace(positions=Xn, fitness=fn, best_x=LX[:, 0].copy(), best_f=Lf[:, 0].copy(),
                             n_evals=problem.n_evals, iteration=state.iteration + 1,
                             extras={"leaders_x": LX, "leaders_f": Lf})
