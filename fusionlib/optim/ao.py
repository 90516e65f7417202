"""AO: Aquila optimizer (Abualigah et al. 2021), as in ``AO.m``.

While t <= 2T/3 (exploration), with probability 1/2 each:
  expanded exploration   X1 = X_best (1 - t/T) + (X_M - X_best) r                     (Eqs. 3-4)
  narrowed exploration   X2 = X_best ⊙ Levy(D) + X_R + (y - x) r                      (Eqs. 5-10)
afterwards (exploitation):
  expanded exploitation  X3 = (X_best - X_M) α - r + ((UB - LB) r + LB) δ             (Eq. 13)
  narrowed exploitation  X4 = QF X_best - G2 X r - G1 Levy(D) + r G2                  (Eqs. 14-17)
with QF = t^{(2r - 1)/(1 - T)²}, G1 = 2(1 - t/T), G2 = 2r - 1, the spiral r_k = r0 + u k,
θ_k = -ω k + 3π/2, x = r_k sin θ_k, y = r_k cos θ_k (k = 1..D), and Levy(D) = 0.01 u σ / |v|^{1/β}
(Eq. 6, Mantegna). Every ``r`` is a scalar per candidate, as in AO.m.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from math import gamma, pi, sin

import numpy as np

from .._checks import check_positive
from ._base import Optimizer, State, best_of, best_of_batch, draw, greedy, register
from ._problem import Problem, _uclip, repair_bounds

__all__ = ["AO", "ao_update", "levy"]


def levy(u: np.ndarray, v: np.ndarray, beta: float = 1.5) -> np.ndarray:
    """Lévy flight steps 0.01 u σ / |v|^{1/β} from standard normals ``u``, ``v`` (Eq. 6)."""
    sigma = (gamma(1 + beta) * sin(pi * beta / 2) / (gamma((1 + beta) / 2) * beta * 2 ** ((beta - 1) / 2))) ** (1 / beta)
    return 0.01 * u * sigma / np.abs(v) ** (1.0 / beta)


@functools.lru_cache(maxsize=64)
def _spiral(D: int, r0: float, u: float, omega: float) -> tuple[np.ndarray, np.ndarray]:
    """The narrowed-exploration spiral x_k = r_k sin θ_k, y_k = r_k cos θ_k, k = 1..D (read-only)."""
    k = np.arange(1, D + 1)
    rad = r0 + u * k
    theta = -omega * k + 3 * pi / 2
    x, y = rad * np.sin(theta), rad * np.cos(theta)
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y


def ao_update(X: np.ndarray, best: np.ndarray, XM: np.ndarray, XR: np.ndarray, t: int, T: int,
              lower: np.ndarray, upper: np.ndarray, branch: np.ndarray, r: np.ndarray, L: np.ndarray,
              qf_u: float, g2_u: float, alpha: float, delta: float, r0: float = 10.0, u: float = 0.0265,
              omega: float = 0.005) -> np.ndarray:
    """AO candidates for the rows of ``X`` (P, D), unclipped.

    ``XM``: the mean used in Eqs. 3 and 13 ((P, 1) own-coordinate means in faithful mode, (D,)
    population means otherwise); ``XR`` (P, D) random population members; ``branch`` (P,) uniform
    (< 0.5 picks the expanded move); ``r`` (P, 4) uniform scalars per candidate; ``L`` (P, D) Lévy
    steps; ``qf_u``, ``g2_u`` uniform numbers drawn once per iteration.

    Any leading (runs) axes are allowed (the values of a one-run call are unchanged): ``X``, ``XR``,
    ``L`` (R, P, D), ``best`` and ``XM`` (R, 1, D), ``branch`` (R, P), ``r`` (R, P, 4), ``qf_u``,
    ``g2_u`` (R, 1, 1).
    """
    x, y = _spiral(X.shape[-1], r0, u, omega)                                  # Eqs. 9-10
    G2 = 2 * g2_u - 1                                                           # Eq. 16
    G1 = 2 * (1 - t / T)                                                        # Eq. 17
    if T <= 1:
        QF = 1.0
    elif np.ndim(qf_u):   # one per run: the scalar power of a one-run call, run by run
        e = (2 * qf_u - 1) / (1 - T) ** 2
        QF = np.array([t ** v for v in e.ravel()]).reshape(e.shape)
    else:
        QF = t ** ((2 * qf_u - 1) / (1 - T) ** 2)                               # Eq. 15
    r1, r2, r3, r4 = (r[..., j:j + 1] for j in range(4))
    if t <= 2 * T / 3:
        X1 = best * (1 - t / T) + (XM - best) * r1                              # Eq. 3
        X2 = best * L + XR + (y - x) * r2                                       # Eq. 5
        return np.where(branch[..., None] < 0.5, X1, X2)
    X3 = (best - XM) * alpha - r1 + ((upper - lower) * r3 + lower) * delta     # Eq. 13
    X4 = QF * best - G2 * X * r2 - G1 * L + r4 * G2                             # Eq. 14
    return np.where(branch[..., None] < 0.5, X3, X4)


@register("ao", full_name="Aquila Optimizer", year=2021, doi="10.1016/j.cie.2021.107250",
          evals_per_iter=lambda n: n, matlab_evals=lambda n, t: 2 * n * t,
          reference="L. Abualigah et al., Comput. Ind. Eng. 157, 107250, 2021")
@dataclass(frozen=True)
class AO(Optimizer):
    """Aquila optimizer.

    Parameters
    ----------
    pop_size : int >= 2
    mode : {'corrected', 'faithful'}
        ``faithful`` keeps AO.m's quirks: candidates are evaluated **unclipped** (outside the box)
        and replace their parent when better; Eq. 3 uses the mean of the individual's own
        coordinates instead of the population mean; the best is updated only when the population
        is re-clipped and re-evaluated at the top of every iteration (2·N·T evaluations, 100 for
        N=5, T=10; the last iteration's candidates never update the reported best); individuals
        are processed one by one (X_M and X_R see earlier replacements).
        ``corrected``: candidates clipped, population means, batched generation, best updated
        from every evaluation, N + N·T evaluations.
    alpha, delta : float
        Exploitation parameters (0.1, 0.1).
    beta : float
        Lévy exponent (1.5).
    """
    batch_faithful = True
    pop_size: int = 5
    mode: str = "corrected"
    alpha: float = 0.1
    delta: float = 0.1
    beta: float = 1.5

    def __post_init__(self):
        self._validate_common()
        check_positive("AO", "alpha", self.alpha)
        check_positive("AO", "delta", self.delta)
        if not 0.0 < self.beta <= 2.0:
            raise ValueError(f"AO: `beta` must lie in (0, 2]; got {self.beta}")

    def evals_per_iter(self) -> int:
        return 2 * self.pop_size if self.mode == "faithful" else self.pop_size

    def step(self, state: State, problem: Problem, rng: np.random.Generator) -> State:
        lo, hi = problem.lower, problem.upper
        t = state.iteration + 1
        T = state.n_iter
        tt = min(t, T)
        X, f = state.positions, state.fitness  # new arrays below; copied before any in-place update
        bx, bf = state.best_x, state.best_f
        n, d = X.shape
        if self.mode == "faithful" and t > 1:
            X = repair_bounds(X, lo, hi, "clip")      # top of AO.m's loop: clip and re-evaluate
            f = problem.evaluate(X)
            bx, bf = best_of(X, f, bx, bf)
        qf_u, g2_u = rng.random(2)
        branch = rng.random(n)
        r = rng.random((n, 4))
        L = levy(rng.standard_normal((n, d)), rng.standard_normal((n, d)), self.beta)
        kr = rng.integers(0, n, n)
        if self.mode == "corrected":
            Y = ao_update(X, bx, X.mean(axis=0), np.take(X, kr, axis=0), tt, T, lo, hi, branch, r, L, qf_u, g2_u,
                          self.alpha, self.delta)
            Y = _uclip(Y, lo, hi, out=Y)
            fy = problem.evaluate(Y)
            X, f = greedy(X, f, Y, fy)
            bx, bf = best_of(X, f, bx, bf)
        else:
            X, f = X.copy(), f.copy()
            explore = tt <= 2 * T / 3
            for i in range(n):   # X_M as np.mean computes it (its sum, one division), less overhead
                xm = np.add.reduce(X[i:i + 1], axis=1, keepdims=True) / d if explore else np.add.reduce(X, axis=0) / n
                y = ao_update(X[i:i + 1], bx, xm, X[kr[i]][None], tt, T, lo, hi, branch[i:i + 1], r[i:i + 1],
                              L[i:i + 1], qf_u, g2_u, self.alpha, self.delta)
                fy = problem.evaluate(y)[0]           # unclipped, as in AO.m
                if fy < f[i]:
                    X[i], f[i] = y[0], fy
        return state.replace(positions=X, fitness=f, best_x=bx, best_f=bf, n_evals=problem.n_evals,
                             iteration=t)

    def step_batch(self, state: State, problem, rngs) -> State:
        """:meth:`step` for R runs at once (``fusionlib.optim.run_batch``), either mode.

        ``faithful``: the re-clip and re-evaluation at the top of AO.m's loop is one call for all
        runs; then the individuals move one after the other as in :meth:`step` (X_M and X_R see the
        earlier replacements of their own run), individual i of every run in one call of R rows."""
        lo, hi = problem.lower, problem.upper
        t = state.iteration + 1
        T = state.n_iter
        tt = min(t, T)
        X, f = state.positions, state.fitness
        bx, bf = state.best_x, state.best_f
        R, n, d = X.shape
        faithful = self.mode == "faithful"
        if faithful and t > 1:
            X = _uclip(X, lo, hi)                     # top of AO.m's loop: clip and re-evaluate
            f = problem.evaluate(X)
            bx, bf = best_of_batch(X, f, bx, bf)
        u = draw(rngs, "random", 2 + 5 * n)      # = random(2), random(n), random((n, 4)), per run
        qf_u, g2_u = u[:, 0, None, None], u[:, 1, None, None]
        branch, r = u[:, 2:2 + n], u[:, 2 + n:].reshape(R, n, 4)
        z = draw(rngs, "standard_normal", 2 * n * d).reshape(R, 2, n, d)  # = two (n, d) draws
        L = levy(z[:, 0], z[:, 1], self.beta)
        kr = draw(rngs, "integers", 0, n, n)
        if faithful:
            X, f = X.copy(), f.copy()
            rows = np.arange(R)
            best = bx[:, None, :]
            explore = tt <= 2 * T / 3
            for i in range(n):
                xi = X[:, i:i + 1]
                xm = (np.add.reduce(xi, axis=-1, keepdims=True) / d if explore     # as np.mean
                      else np.add.reduce(X, axis=1, keepdims=True) / n)
                y = ao_update(xi, best, xm, X[rows, kr[:, i]][:, None], tt, T, lo, hi, branch[:, i:i + 1],
                              r[:, i:i + 1], L[:, i:i + 1], qf_u, g2_u, self.alpha, self.delta)
                fy = problem.evaluate(y)[:, 0]           # unclipped, as in AO.m
                better = fy < f[:, i]
                X[better, i], f[better, i] = y[better, 0], fy[better]
            return state.replace(positions=X, fitness=f, best_x=bx, best_f=bf, n_evals=problem.n_evals,
                                 iteration=t)
        Y = ao_update(X, bx[:, None, :], X.mean(axis=1, keepdims=True),
                      np.take_along_axis(X, kr[..., None], axis=-2), tt, T, lo, hi, branch, r, L, qf_u, g2_u,
                      self.alpha, self.delta)
        Y = _uclip(Y, lo, hi, out=Y)
        fy = problem.evaluate(Y)
        X, f = greedy(X, f, Y, fy)
        bx, bf = best_of_batch(X, f, bx, bf)
        return state.replace(positions=X, fitness=f, best_x=bx, best_f=bf, n_evals=problem.n_evals,
                             iteration=t)
