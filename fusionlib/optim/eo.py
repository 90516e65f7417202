"""EO: equilibrium optimizer (Faramarzi, Heidarinejad, Stephens & Mirjalili 2020), as in ``EO.m``.

Equilibrium pool = the four best candidates + their mean (Eq. 7); t = (1 - it/T)^(a2 it/T) (Eq. 9);
F = a1 sign(r - 0.5) ⊙ (e^{-λt} - 1) (Eq. 11); GCP = 0.5 r1 if r2 >= GP else 0 (Eq. 15);
G = GCP (C_eq - λ C) ⊙ F (Eqs. 13-14); C ← C_eq + (C - C_eq) ⊙ F + G / (λ V) ⊙ (1 - F) (Eq. 16);
memory saving: a particle keeps its previous position when that one was better.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._checks import check_positive
from ._base import Optimizer, State, draw, greedy, register
from ._leaders import empty_leaders, leaders_chain, leaders_chain_batch, leaders_topk, leaders_topk_batch
from ._problem import Problem, _uclip

__all__ = ["EO", "eo_update"]


def eo_update(C: np.ndarray, pool: np.ndarray, k: np.ndarray, lam: np.ndarray, r: np.ndarray,
              r1: np.ndarray, r2: np.ndarray, t: float, a1: float, gp: float, V: float) -> np.ndarray:
    """Eqs. 11-16 for all particles. ``pool`` (5, D) equilibrium candidates; ``k`` (P,) their
    indices; ``lam``, ``r`` (P, D) uniform; ``r1``, ``r2`` (P,) uniform. Unclipped.

    Any leading (runs) axes are allowed: ``C``, ``lam``, ``r`` (R, P, D), ``pool`` (R, 5, D),
    ``k``, ``r1``, ``r2`` (R, P) (the values of a 2-D call are unchanged)."""
    # Ceq[i] = pool[k[i]] (plain indexing for one run: the same gather, less overhead)
    Ceq = pool[k] if pool.ndim == 2 else np.take_along_axis(pool, k[..., None], axis=-2)
    F = np.subtract(r, 0.5)                                              # Eq. 11
    np.sign(F, out=F)
    F *= a1
    E = np.multiply(lam, -t)             # -lam t, exactly
    np.exp(E, out=E)
    E -= 1.0
    F *= E
    gcp = (0.5 * r1 * (r2 >= gp))[..., None]                              # Eq. 15
    G = np.multiply(lam, C)                                              # Eqs. 13-14
    np.subtract(Ceq, G, out=G)
    G *= gcp
    G *= F
    G /= lam if V == 1.0 else lam * V    # lam * 1.0 == lam exactly
    np.subtract(1.0, F, out=E)                                           # Eq. 16
    G *= E
    out = np.subtract(C, Ceq)
    out *= F
    out += Ceq
    out += G
    return out


@register("eo", full_name="Equilibrium Optimizer", year=2020, doi="10.1016/j.knosys.2019.105190",
          evals_per_iter=lambda n: n, matlab_evals=lambda n, t: n * t,
          reference="A. Faramarzi, M. Heidarinejad, B. Stephens, S. Mirjalili, Knowl.-Based Syst. 191, 105190, 2020")
@dataclass(frozen=True)
class EO(Optimizer):
    """Equilibrium optimizer.

    Parameters
    ----------
    pop_size : int >= 2
    mode : {'corrected', 'faithful'}
        ``faithful``: EO.m's pool update (the four C_eq filled by a sequential if-chain that does
        not shift members down; unfilled members sit at the origin) and its loop that evaluates at
        the top (T iterations = N·T evaluations). ``corrected``: the four best distinct points seen
        so far; N + N·T evaluations.
    a1, a2, gp, V : float
        2, 1, 0.5, 1 (the paper's values).

    Notes
    -----
    Bounds: ``clip`` before evaluation.
    """
    faithful_eval_first = True
    batch_faithful = True
    pop_size: int = 5
    mode: str = "corrected"
    a1: float = 2.0
    a2: float = 1.0
    gp: float = 0.5
    V: float = 1.0

    def __post_init__(self):
        self._validate_common()
        for name in ("a1", "a2", "V"):
            check_positive("EO", name, getattr(self, name))
        if not 0.0 <= self.gp <= 1.0:
            raise ValueError(f"EO: `gp` must lie in [0, 1]; got {self.gp}")

    def _update_pool(self, LX, Lf, X, f):
        return (leaders_chain if self.mode == "faithful" else leaders_topk)(LX, Lf, X, f)

    def _update_pool_batch(self, LX, Lf, X, f):
        return (leaders_chain_batch if self.mode == "faithful" else leaders_topk_batch)(LX, Lf, X, f)

    def _init_extras(self, X, f, problem, rng) -> dict:
        LX, Lf = self._update_pool(*empty_leaders(4, X.shape[1]), X, f)
        return {"eq_x": LX, "eq_f": Lf}

    def init_state(self, problem: Problem, rng: np.random.Generator, n_iter: int | None = None) -> State:
        s = super().init_state(problem, rng, n_iter)
        return s.replace(best_x=s.extras["eq_x"][0].copy(), best_f=float(s.extras["eq_f"][0]))

    def _init_extras_batch(self, X, f, problem, rngs) -> dict:
        LX, Lf = empty_leaders(4, X.shape[-1])
        r = X.shape[0]
        LX, Lf = self._update_pool_batch(np.broadcast_to(LX, (r,) + LX.shape), np.broadcast_to(Lf, (r, 4)), X, f)
        return {"eq_x": LX, "eq_f": Lf}

    def init_batch(self, problem, rngs, n_iter: int | None = None) -> State:
        s = super().init_batch(problem, rngs, n_iter)
        return s.replace(best_x=s.extras["eq_x"][:, 0].copy(), best_f=s.extras["eq_f"][:, 0].copy())

    def step(self, state: State, problem: Problem, rng: np.random.Generator) -> State:
        X, f = state.positions, state.fitness
        n, d = X.shape
        LX, Lf = state.extras["eq_x"], state.extras["eq_f"]
        pool = np.concatenate([LX, LX.mean(axis=0, keepdims=True)])          # Eq. 7
        it = min(state.iteration, state.n_iter - 1)
        t = (1.0 - it / state.n_iter) ** (self.a2 * it / state.n_iter)      # Eq. 9
        lam, r = rng.random((2, n, d))
        r1, r2 = rng.random((2, n))
        Xn = eo_update(X, pool, rng.integers(0, 5, n), lam, r, r1, r2, t, self.a1, self.gp, self.V)
        Xn = _uclip(Xn, problem.lower, problem.upper, out=Xn)
        fn = problem.evaluate(Xn)
        LX, Lf = self._update_pool(LX, Lf, Xn, fn)
        Xm, fm = greedy(X, f, Xn, fn)                                        # memory saving
        return state.replace(positions=Xm, fitness=fm, best_x=LX[0].copy(), best_f=float(Lf[0]),
                             n_evals=problem.n_evals, iteration=state.iteration + 1,
                             extras={"eq_x": LX, "eq_f": Lf})

    def step_batch(self, state: State, problem, rngs) -> State:
        """:meth:`step` for R runs at once (``fusionlib.optim.run_batch``), either mode: the faithful
        leader chain runs individual by individual inside each run, all runs together."""
        X, f = state.positions, state.fitness
        R, n, d = X.shape
        LX, Lf = state.extras["eq_x"], state.extras["eq_f"]
        pool = np.concatenate([LX, LX.mean(axis=-2, keepdims=True)], axis=-2)  # Eq. 7
        it = min(state.iteration, state.n_iter - 1)
        t = (1.0 - it / state.n_iter) ** (self.a2 * it / state.n_iter)      # Eq. 9
        u = draw(rngs, "random", 2 * n * d + 2 * n)   # = random((2, n, d)) then random((2, n)), per run
        lam, r = u[:, :2 * n * d].reshape(R, 2, n, d).transpose(1, 0, 2, 3)
        r1, r2 = u[:, 2 * n * d:].reshape(R, 2, n).transpose(1, 0, 2)
        k = draw(rngs, "integers", 0, 5, n)
        Xn = eo_update(X, pool, k, lam, r, r1, r2, t, self.a1, self.gp, self.V)
        Xn = _uclip(Xn, problem.lower, problem.upper, out=Xn)
        fn = problem.evaluate(Xn)
        LX, Lf = self._update_pool_batch(LX, Lf, Xn, fn)
        Xm, fm = greedy(X, f, Xn, fn)                                        # memory saving
        return state.replace(positions=Xm, fitness=fm, best_x=LX[:, 0].copy(), best_f=Lf[:, 0].copy(),
                             n_evals=problem.n_evals, iteration=state.iteration + 1,
                             extras={"eq_x": LX, "eq_f": Lf})
