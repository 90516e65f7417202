"""PSO: particle swarm optimisation with Clerc-Kennedy constriction, as in Yarpiz ``PSO.m``.

Equations: velocity v ← w v + c1 r1 ⊙ (p_i - x) + c2 r2 ⊙ (g - x) and position x ← x + v (Kennedy &
Eberhart 1995, Eqs. 1-2 of Shi & Eberhart 1998 for the inertia w); constriction χ = 2 / (φ - 2 +
sqrt(φ² - 4φ)), φ = φ1 + φ2, w = χ, c_k = χ φ_k (Clerc & Kennedy 2002, Eq. 4.27).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .._checks import check_positive
from ._base import Optimizer, State, best_of, best_of_batch, register
from ._problem import Problem, _uclip, repair_bounds

__all__ = ["PSO", "pso_update", "constriction"]


def constriction(phi1: float, phi2: float) -> tuple[float, float, float]:
    """(w, c1, c2) = (χ, χ φ1, χ φ2) with χ = 2 / (φ - 2 + sqrt(φ² - 4 φ)), φ = φ1 + φ2 > 4."""
    phi = phi1 + phi2
    chi = 2.0 / (phi - 2.0 + np.sqrt(phi * phi - 4.0 * phi))
    return chi, chi * phi1, chi * phi2


def pso_update(X, V, pbest, gbest, r1, r2, w, c1, c2, vmax, lower, upper):
    """One PSO move (Yarpiz PSO.m order).

    1. V ← w V + c1 r1 ⊙ (pbest - X) + c2 r2 ⊙ (gbest - X)
    2. V ← clip(V, -vmax, vmax)
    3. X ← X + V
    4. velocity mirroring: V_j ← -V_j where X_j left the box
    5. X ← clip(X, lower, upper)

    ``r1``, ``r2`` (P, D) are injected uniform numbers; ``gbest`` (D,). Returns (X, V). Any leading
    (runs) axes are allowed: ``X``, ``V``, ``pbest``, ``r1``, ``r2`` (R, P, D) with ``gbest``
    (R, 1, D) (the same element-wise operations, so each run's values are those of a 2-D call).
    """
    V = w * V + c1 * r1 * (pbest - X) + c2 * r2 * (gbest - X)
    V = _uclip(V, -vmax, vmax, out=V)
    Xn = X + V
    Xc = repair_bounds(Xn, lower, upper, "clip")
    np.negative(V, out=V, where=Xc != Xn)  # mirror the coordinates that left the box
    return Xc, V


@register("pso", full_name="Particle Swarm Optimization (constriction)", year=1995,
          doi="10.1109/ICNN.1995.488968", evals_per_iter=lambda n: n, matlab_evals=lambda n, t: n + n * t,
          reference="J. Kennedy, R. Eberhart, Proc. ICNN'95, 1942-1948; M. Clerc, J. Kennedy, "
                    "IEEE TEVC 6(1), 2002 (doi 10.1109/4235.985692)")
@dataclass(frozen=True)
class PSO(Optimizer):
    """Particle swarm optimisation (Yarpiz PSO.m as used by the released IAOA code).

    Parameters
    ----------
    pop_size : int >= 2
    mode : {'corrected', 'faithful'}
        ``faithful``: particles move and are evaluated one by one, the global best is updated at
        once, and the MATLAB initialisation quirk is kept: the global best starts at cost 0 and is
        replaced by an initial particle only when that particle's cost is *larger* (">"), so for
        positive costs it becomes the **worst** initial particle (if no cost exceeds 0 it stays at
        the first particle with cost 0). Afterwards it changes only when a particle improves its own
        best. ``result.best_f`` is this reported best; ``history.best_per_eval`` shows the true one.
        ``corrected``: synchronous batched moves, global best = the best personal best.
    phi1, phi2 : float
        Constriction coefficients (2.05, 2.05 → w ≈ 0.7298, c1 = c2 ≈ 1.4962).
    w, c1, c2 : float, optional
        Override the constriction values (e.g. to match mealpy's ``OriginalPSO``).
    vmax_frac : float
        |v_j| ≤ vmax_frac · (upper_j - lower_j) (0.1 → 10 for bounds ±50).

    Notes
    -----
    Budget N + N·T. Bounds: velocity mirroring then ``clip``. Both modes batch
    (:func:`fusionlib.optim.run_batch`).
    """
    batch_faithful = True
    pop_size: int = 5
    mode: str = "corrected"
    phi1: float = 2.05
    phi2: float = 2.05
    w: float | None = None
    c1: float | None = None
    c2: float | None = None
    vmax_frac: float = 0.1

    def __post_init__(self):
        self._validate_common()
        check_positive("PSO", "phi1", self.phi1)
        check_positive("PSO", "phi2", self.phi2)
        if self.phi1 + self.phi2 <= 4 and None in (self.w, self.c1, self.c2):
            raise ValueError(f"PSO: constriction needs `phi1` + `phi2` > 4; got {self.phi1 + self.phi2}")
        for name in ("w", "c1", "c2"):
            if getattr(self, name) is not None:
                check_positive("PSO", name, getattr(self, name), strict=False)
        check_positive("PSO", "vmax_frac", self.vmax_frac)

    @functools.cached_property
    def coefficients(self) -> tuple[float, float, float]:
        w, c1, c2 = constriction(self.phi1, self.phi2) if self.phi1 + self.phi2 > 4 else (0.0, 0.0, 0.0)
        return (self.w if self.w is not None else w, self.c1 if self.c1 is not None else c1,
                self.c2 if self.c2 is not None else c2)

    def init_state(self, problem: Problem, rng: np.random.Generator, n_iter: int | None = None) -> State:
        s = super().init_state(problem, rng, n_iter)
        if self.mode == "faithful":
            # GlobalBest.Cost = 0 and the '>' comparison of the released code (see class docstring)
            bx, bf = s.positions[0].copy(), 0.0
            for i in range(self.pop_size):
                if s.fitness[i] > bf:
                    bx, bf = s.positions[i].copy(), float(s.fitness[i])
            s = s.replace(best_x=bx, best_f=bf)
        return s

    def init_batch(self, problem, rngs, n_iter: int | None = None) -> State:
        """:meth:`init_state` for R runs at once, the faithful initial-global-best quirk included.

        The quirk's loop (start at particle 0 with cost 0, take particle i when its cost is ``>`` the
        current one) ends at the **first** maximum of the initial costs when that maximum is > 0 and
        at particle 0 with cost 0 otherwise: that closed form is applied to every run."""
        s = super().init_batch(problem, rngs, n_iter)
        if self.mode == "faithful":
            rows = np.arange(s.fitness.shape[0])
            i = s.fitness.argmax(axis=1)                    # first maximum
            fi = s.fitness[rows, i]
            take = fi > 0.0
            bx = np.where(take[:, None], s.positions[rows, i], s.positions[:, 0])
            s = s.replace(best_x=bx, best_f=np.where(take, fi, 0.0))
        return s

    def _init_extras(self, X, f, problem, rng) -> dict:
        return {"velocity": np.zeros_like(X), "pbest_x": X.copy(), "pbest_f": f.copy()}

    def step(self, state: State, problem: Problem, rng: np.random.Generator) -> State:
        lo, hi = problem.lower, problem.upper
        w, c1, c2 = self.coefficients
        vmax = self.vmax_frac * (hi - lo)
        bx, bf = state.best_x, state.best_f
        n, d = state.positions.shape
        if self.mode == "corrected":  # new arrays throughout: the state's arrays are never written
            px, pf = state.extras["pbest_x"], state.extras["pbest_f"]
            r = rng.random((2, n, d))
            X, V = pso_update(state.positions, state.extras["velocity"], px, bx, r[0], r[1], w, c1, c2, vmax,
                              lo, hi)
            f = problem.evaluate(X)
            better = f < pf
            px, pf = np.where(better[:, None], X, px), np.where(better, f, pf)
            bx, bf = best_of(px, pf, bx, bf)
        else:
            X, V = state.positions.copy(), state.extras["velocity"].copy()
            f = state.fitness.copy()
            px, pf = state.extras["pbest_x"].copy(), state.extras["pbest_f"].copy()
            # PSO.m's draws, rand(1, D) twice per particle: one random((n, 2, 1, d)) call gives the same
            # consecutive doubles as n calls of random((2, 1, d)) (the draws do not depend on the data)
            rr = rng.random((n, 2, 1, d))
            for i in range(n):
                r = rr[i]
                xi, vi = pso_update(X[i:i + 1], V[i:i + 1], px[i], bx, r[0], r[1], w, c1, c2, vmax, lo, hi)
                X[i], V[i] = xi[0], vi[0]
                f[i] = problem.evaluate(xi)[0]
                if f[i] < pf[i]:
                    px[i], pf[i] = X[i], f[i]
                    if pf[i] < bf:
                        bx, bf = px[i].copy(), float(pf[i])
        return state.replace(positions=X, fitness=f, best_x=bx, best_f=bf, n_evals=problem.n_evals,
                             iteration=state.iteration + 1,
                             extras={"velocity": V, "pbest_x": px, "pbest_f": pf})

    def step_batch(self, state: State, problem, rngs) -> State:
        """:meth:`step` for R runs at once (``fusionlib.optim.run_batch``), in both modes.

        ``faithful``: particle ``i`` of every run moves, is evaluated (one objective call of R rows)
        and updates its personal best and its run's global best at once, ``i = 0 .. N-1`` in order,
        with the draws of :meth:`step` (one ``random((N, 2, 1, D))`` per run)."""
        lo, hi = problem.lower, problem.upper
        w, c1, c2 = self.coefficients
        vmax = self.vmax_frac * (hi - lo)
        R, n, d = state.positions.shape
        if self.mode == "faithful":
            return self._step_batch_faithful(state, problem, rngs, w, c1, c2, vmax)
        px, pf = state.extras["pbest_x"], state.extras["pbest_f"]
        r = np.empty((R, 2, n, d))
        for k, g in enumerate(rngs):                              # step's one random((2, n, d)) per run
            g.random(out=r[k])
        X, V = pso_update(state.positions, state.extras["velocity"], px, state.best_x[:, None, :],
                          r[:, 0], r[:, 1], w, c1, c2, vmax, lo, hi)
        f = problem.evaluate(X)
        better = f < pf
        px, pf = np.where(better[..., None], X, px), np.where(better, f, pf)
        bx, bf = best_of_batch(px, pf, state.best_x, state.best_f)
        return state.replace(positions=X, fitness=f, best_x=bx, best_f=bf, n_evals=problem.n_evals,
                             iteration=state.iteration + 1,
                             extras={"velocity": V, "pbest_x": px, "pbest_f": pf})

    def _step_batch_faithful(self, state: State, problem, rngs, w, c1, c2, vmax) -> State:
        lo, hi = problem.lower, problem.upper
        X, V = state.positions.copy(), state.extras["velocity"].copy()
        f = state.fitness.copy()
        px, pf = state.extras["pbest_x"].copy(), state.extras["pbest_f"].copy()
        bx, bf = state.best_x.copy(), state.best_f.copy()
        R, n, d = X.shape
        rr = np.empty((R, n, 2, 1, d))
        for k, g in enumerate(rngs):                          # step's one random((n, 2, 1, d)) per run
            g.random(out=rr[k])
        for i in range(n):
            s = slice(i, i + 1)
            r = rr[:, i]                                      # (R, 2, 1, D)
            xi, vi = pso_update(X[:, s], V[:, s], px[:, s], bx[:, None, :], r[:, 0], r[:, 1], w, c1, c2, vmax,
                                lo, hi)
            X[:, s], V[:, s] = xi, vi
            fi = problem.evaluate(xi)[:, 0]
            f[:, i] = fi
            better = fi < pf[:, i]                              # personal best, then the global best
            px[:, i] = np.where(better[:, None], xi[:, 0], px[:, i])
            pf[:, i] = np.where(better, fi, pf[:, i])
            gb = better & (pf[:, i] < bf)
            bx = np.where(gb[:, None], px[:, i], bx)
            bf = np.where(gb, pf[:, i], bf)
        return state.replace(positions=X, fitness=f, best_x=bx, best_f=bf, n_evals=problem.n_evals,
                             iteration=state.iteration + 1,
                             extras={"velocity": V, "pbest_x": px, "pbest_f": pf})
