"""AOA (Abualigah et al. 2021) and IAOA = AOA + opposition-based learning + dynamic random search
(Mi, Luo & Zhou 2024).

Equation numbers: AOA's are those of Abualigah et al. (2021): MOA Eq. (2), division/multiplication
exploration Eq. (3), MOP Eq. (4), subtraction/addition exploitation Eq. (5). The IAOA paper
(J. Intell. Fuzzy Syst. 46(4), 2024) restates them in its "The AOA Algorithm" section; its
extracted text has lost the equations, so IAOA's operators follow the released MATLAB code as
reconstructed in ``shared/notes/iaoa.md`` §4.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .._checks import check_int, check_positive
from ._base import Optimizer, State, best_of, best_of_batch, greedy, register
from ._problem import Problem, _uclip, repair_bounds
from .acor import _draw_into, acor_sample, acor_weights, acor_widths

__all__ = ["AOA", "IAOA", "aoa_schedules", "aoa_update", "opposite"]

EPS = np.finfo(np.float64).eps


def aoa_schedules(t: int, T: int, alpha: float, moa_min: float, moa_max: float) -> tuple[float, float]:
    """(MOP, MOA) at iteration t of T, as AOA.m computes them (t = 1..T).

    MOA(t) = MOA_min + t (MOA_max - MOA_min) / T        (Eq. 2)
    MOP(t) = 1 - t^(1/α) / T^(1/α)                       (Eq. 4)
    """
    mop = 1.0 - t ** (1.0 / alpha) / T ** (1.0 / alpha)
    moa = moa_min + t * (moa_max - moa_min) / T
    return mop, moa


def aoa_update(best: np.ndarray, r1: np.ndarray, r2: np.ndarray, r3: np.ndarray, mop: float, moa: float,
               lower: np.ndarray, upper: np.ndarray, mu: float, bracket: str = "aoa") -> np.ndarray:
    """AOA position update (Eqs. 3 and 5), before bound handling.

    With s = (UB - LB) μ + LB (``bracket="aoa"``, AOA.m and mealpy):

    * exploration (r1 > MOA):   y = b / (MOP + ε) · s  if r2 > 0.5,  else  y = b · MOP · s   (Eq. 3)
    * exploitation (r1 <= MOA): y = b - MOP · s        if r3 > 0.5,  else  y = b + MOP · s   (Eq. 5)

    ``bracket="iaoa"`` is IAOA.m's form, with LB added outside the product:
    y = b / (MOP + ε) · (UB - LB) μ + LB, and likewise for ·, - and +.

    Parameters
    ----------
    best : ndarray (D,) or (P, D)
        The best solution b; with leading (runs) axes, (R, 1, D) against ``r`` (R, P, D): any
        shape that broadcasts with ``r1`` (the operations are element-wise).
    r1, r2, r3 : ndarray (P, D) or (..., P, D)
        Uniform [0, 1) numbers (injectable).
    mop, moa : float
        From :func:`aoa_schedules`.
    lower, upper : ndarray (D,)
    mu : float
    bracket : {'aoa', 'iaoa'}

    Returns
    -------
    ndarray (P, D) (the broadcast shape of ``best`` and ``r1``)
    """
    if bracket == "aoa":
        s, shift = (upper - lower) * mu + lower, 0.0
    elif bracket == "iaoa":
        s, shift = (upper - lower) * mu, lower
    else:
        raise ValueError(f"aoa_update: `bracket` must be one of ['aoa', 'iaoa']; got {bracket!r}")
    div = best / (mop + EPS) * s + shift
    mul = best * mop * s + shift
    sub = best - mop * s + shift
    add = best + mop * s + shift
    return np.where(r1 > moa, np.where(r2 > 0.5, div, mul), np.where(r3 > 0.5, sub, add))


def opposite(x: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Opposition-based learning (Tizhoosh 2005): x° = UB + LB - x."""
    return upper + lower - x


def _aoa_branches(r: np.ndarray, mop: float, moa: float, lower: np.ndarray, upper: np.ndarray, mu: float,
                  bracket: str):
    """What :func:`aoa_update` needs from its random numbers, for many individuals at once.

    ``r`` (..., 3, D) holds (r1, r2, r3) per individual. Returns ``explore`` (r1 > MOA),
    ``branch`` (r2 > 0.5), ``step`` (-MOP·s where r3 > 0.5, else +MOP·s), each (..., D), and the
    additive ``shift``. :func:`_aoa_candidate` then gives :func:`aoa_update`'s values bit for bit:
    b - MOP·s is computed as b + (-(MOP·s)) (IEEE subtraction is the addition of the negation,
    exactly), and the common ``· s`` and ``+ shift`` are applied once after the selection (an
    element-wise operation applied to the selected value is the value the selected branch
    computes)."""
    if bracket == "aoa":
        s, shift = (upper - lower) * mu + lower, 0.0
    else:
        s, shift = (upper - lower) * mu, lower
    ms = mop * s
    r1, r2, r3 = r[..., 0, :], r[..., 1, :], r[..., 2, :]
    return r1 > moa, r2 > 0.5, np.where(r3 > 0.5, -ms, ms), (s, shift)


def _aoa_candidate(best: np.ndarray, explore: np.ndarray, branch: np.ndarray, step: np.ndarray, mop: float,
                   shift: tuple) -> np.ndarray:
    """:func:`aoa_update` (same values) from :func:`_aoa_branches`'s arrays and a best ``best`` that
    broadcasts with them: 7 element-wise operations instead of about 20."""
    s, add = shift
    y = np.where(explore, np.where(branch, best / (mop + EPS), best * mop) * s, best + step)
    y += add
    return y


def _check_aoa_hyper(name, alpha, mu, moa_min, moa_max):
    check_positive(name, "alpha", alpha)
    check_positive(name, "mu", mu)
    check_positive(name, "moa_min", moa_min, strict=False)
    check_positive(name, "moa_max", moa_max, strict=False)
    if not moa_min <= moa_max <= 1.0:
        raise ValueError(f"{name}: need 0 <= `moa_min` <= `moa_max` <= 1; got moa_min={moa_min}, "
                         f"moa_max={moa_max}")



def _replace_individual(X: np.ndarray, f: np.ndarray, i: int, y: np.ndarray, fy: np.ndarray,
                        bx: np.ndarray, bf: np.ndarray):
    """Faithful batched step, individual ``i`` of every run: the candidate ``y`` (R, D) with fitness
    ``fy`` (R,) replaces ``X[:, i]`` where strictly better (in place in ``X``, ``f``), and the best
    ``(bx, bf)`` is updated at once (AOA.m / IAOA.m order). Returns the new ``(bx, bf)``."""
    fi = f[:, i]
    better = fy < fi
    xi = np.where(better[:, None], y, X[:, i])
    fi = np.where(better, fy, fi)
    X[:, i], f[:, i] = xi, fi
    new = fi < bf
    return np.where(new[:, None], xi, bx), np.where(new, fi, bf)

@register("aoa", full_name="Arithmetic Optimization Algorithm", year=2021, doi="10.1016/j.cma.2020.113609",
          evals_per_iter=lambda n: n, matlab_evals=lambda n, t: n + n * t,
          reference="L. Abualigah, A. Diabat, S. Mirjalili, M. Abd Elaziz, A. H. Gandomi, "
                    "Comput. Methods Appl. Mech. Eng. 376, 113609, 2021")
@dataclass(frozen=True)
class AOA(Optimizer):
    """Arithmetic Optimization Algorithm, as in AOA.m of the released IAOA code.

    Parameters
    ----------
    pop_size : int >= 2
    mode : {'corrected', 'faithful'}
        ``faithful``: individuals are updated and evaluated one by one, and the best is updated at
        once, so later individuals of an iteration use the new best (AOA.m). ``corrected``: one
        batched generation per iteration built from the best at its start.
    alpha : float
        Sensitive exploitation parameter α (5).
    mu : float
        Control parameter μ (0.499 in AOA.m; mealpy uses 0.5).
    moa_min, moa_max : float
        MOA range (0.2 → 0.9 in the code; the IAOA paper's text quotes 1 and 0.2).

    Notes
    -----
    Budget: N + N·T evaluations (55 for N = 5, T = 10). Bounds: ``clip``. The iteration counter
    t of the schedules runs 1..T as in AOA.m (mealpy indexes MOA from 0: a one-step offset).
    """
    pop_size: int = 5
    mode: str = "corrected"
    alpha: float = 5.0
    mu: float = 0.499
    moa_min: float = 0.2
    moa_max: float = 0.9
    #: faithful mode batches too (run_batch): individuals in MATLAB order inside each run
    batch_faithful: ClassVar[bool] = True

    def __post_init__(self):
        self._validate_common()
        _check_aoa_hyper("AOA", self.alpha, self.mu, self.moa_min, self.moa_max)

    def step(self, state: State, problem: Problem, rng: np.random.Generator) -> State:
        t = state.iteration + 1
        mop, moa = aoa_schedules(min(t, state.n_iter), state.n_iter, self.alpha, self.moa_min, self.moa_max)
        lo, hi = problem.lower, problem.upper
        X, f = state.positions, state.fitness
        bx, bf = state.best_x, state.best_f
        n, d = X.shape
        if self.mode == "corrected":
            r = rng.random((3, n, d))
            Y = aoa_update(bx, r[0], r[1], r[2], mop, moa, lo, hi, self.mu)
            Y = _uclip(Y, lo, hi, out=Y)
            fy = problem.evaluate(Y)
            X, f = greedy(X, f, Y, fy)
            bx, bf = best_of(X, f, bx, bf)
        else:
            X, f = X.copy(), f.copy()  # updated in place, individual by individual
            # AOA.m draws (3, 1, D) uniforms per individual and nothing else in the loop: one draw of
            # (N, 3, D) is the same numbers; _aoa_candidate gives aoa_update's values in fewer operations
            explore, branch, step, shift = _aoa_branches(rng.random((n, 3, d)), mop, moa, lo, hi, self.mu, "aoa")
            for i in range(n):
                y = _aoa_candidate(bx, explore[i], branch[i], step[i], mop, shift)
                y = _uclip(y, lo, hi, out=y)
                fy = problem.evaluate(y[None])[0]
                if fy < f[i]:
                    X[i], f[i] = y, fy
                if f[i] < bf:
                    bx, bf = X[i].copy(), float(f[i])
        return state.replace(positions=X, fitness=f, best_x=bx, best_f=bf, n_evals=problem.n_evals,
                             iteration=t)

    def step_batch(self, state: State, problem, rngs) -> State:
        """:meth:`step` for R runs at once (``fusionlib.optim.run_batch``): per run the same draws
        and the same values.

        ``corrected``: one uniform (3, N, D) draw, one generation. ``faithful`` (AOA.m): individual
        i = 0..N-1 in turn inside each run, its candidate evaluated (one objective call of R rows,
        individual i of every run), greedy replacement of X_i and the best updated at once, so
        individual i + 1 moves around the new best. AOA.m draws uniform (3, 1, D) per individual,
        nothing else in between; the sequential step draws them as one (N, 3, D) block, and so does
        this one per run (the same numbers in the same order)."""
        if self.mode == "faithful":
            return self._step_batch_faithful(state, problem, rngs)
        t = state.iteration + 1
        mop, moa = aoa_schedules(min(t, state.n_iter), state.n_iter, self.alpha, self.moa_min, self.moa_max)
        lo, hi = problem.lower, problem.upper
        X, f = state.positions, state.fitness
        _, n, d = X.shape
        r = _draw_into(rngs, "random", (3, n, d))
        Y = aoa_update(state.best_x[:, None, :], r[:, 0], r[:, 1], r[:, 2], mop, moa, lo, hi, self.mu)
        Y = _uclip(Y, lo, hi, out=Y)
        fy = problem.evaluate(Y)
        X, f = greedy(X, f, Y, fy)
        bx, bf = best_of_batch(X, f, state.best_x, state.best_f)
        return state.replace(positions=X, fitness=f, best_x=bx, best_f=bf, n_evals=problem.n_evals,
                             iteration=t)

    def _step_batch_faithful(self, state: State, problem, rngs) -> State:
        t = state.iteration + 1
        mop, moa = aoa_schedules(min(t, state.n_iter), state.n_iter, self.alpha, self.moa_min, self.moa_max)
        lo, hi = problem.lower, problem.upper
        X, f = state.positions.copy(), state.fitness.copy()
        bx, bf = state.best_x, state.best_f
        R, n, d = X.shape
        r = _draw_into(rngs, "random", (n, 3, d))
        explore, branch, step, shift = _aoa_branches(r, mop, moa, lo, hi, self.mu, "aoa")
        for i in range(n):
            y = _aoa_candidate(bx, explore[:, i], branch[:, i], step[:, i], mop, shift)
            y = _uclip(y, lo, hi, out=y)                    # (R, D)
            fy = problem.evaluate(y[:, None])[:, 0]
            bx, bf = _replace_individual(X, f, i, y, fy, bx, bf)
        return state.replace(positions=X, fitness=f, best_x=bx, best_f=bf, n_evals=problem.n_evals,
                             iteration=t)


@register("iaoa", full_name="Improved Arithmetic Optimization Algorithm (AOA + OBL + DRST)", year=2024,
          doi="10.3233/JIFS-235607", evals_per_iter=lambda n: 2 * n + 40,
          matlab_evals=lambda n, t: n + t * (2 * n + 40),
          reference="X. Mi, Q. Luo, Y. Zhou, J. Intell. Fuzzy Syst. 46(4), 2024")
@dataclass(frozen=True)
class IAOA(Optimizer):
    """IAOA: an AOA step, opposition-based learning (OBL) and the dynamic random search (DRST).

    Per iteration (``iaoa.md`` §4):

    1. AOA candidate y_i (:func:`aoa_update`), clipped, evaluated;
    2. OBL: y°_i = UB + LB - y_i evaluated, kept if better than y_i; then greedy replacement of
       X_i and best update;
    3. DRST: ``n_samples`` ACOR-style kernel samples (weights ∝ exp(-(l-1)²/(2q²N²)), widths
       ζ Σ_r |X_l - X_r| / (N - 1)) evaluated;
    4. merge: population ∪ samples sorted, best N kept, best updated.

    Budget N + T (2N + n_samples) (505 for N = 5, T = 10, 40 samples).

    Parameters
    ----------
    pop_size : int >= 2
    mode : {'corrected', 'faithful'}
        ``faithful`` keeps IAOA.m's behaviour: sequential AOA/OBL per individual with the best
        updated at once; the AOA bracket moved (``bracket="iaoa"``: LB added outside the product,
        so candidates mostly land on a bound); OBL and DRST samples not clipped; DRST widths from
        the population at the start of the iteration and means from the updated one, kernel weights
        by index (rank only from iteration 2 on); in iteration 1 the merge pool also holds
        N + n_samples - 1 stale copies of each initial particle (pre-allocation).
        ``corrected``: batched AOA (AOA's bracket) and OBL in one call, everything clipped, DRST on
        the updated population sorted by fitness, pool = population ∪ samples.
    alpha, mu, moa_min, moa_max : float
        AOA parameters (see :class:`AOA`).
    n_samples : int
        DRST samples per iteration (40).
    q, zeta : float
        DRST kernel parameters (0.5, 1).
    """
    pop_size: int = 5
    mode: str = "corrected"
    alpha: float = 5.0
    mu: float = 0.499
    moa_min: float = 0.2
    moa_max: float = 0.9
    n_samples: int = 40
    q: float = 0.5
    zeta: float = 1.0
    #: faithful mode batches too (run_batch): individuals in MATLAB order inside each run
    batch_faithful: ClassVar[bool] = True

    def __post_init__(self):
        self._validate_common()
        _check_aoa_hyper("IAOA", self.alpha, self.mu, self.moa_min, self.moa_max)
        check_int("IAOA", "n_samples", self.n_samples, minimum=1)
        check_positive("IAOA", "q", self.q)
        check_positive("IAOA", "zeta", self.zeta)

    def evals_per_iter(self) -> int:
        return 2 * self.pop_size + self.n_samples

    def _init_extras(self, X, f, problem, rng) -> dict:
        return {"initial_positions": X.copy(), "initial_fitness": f.copy()}

    def _init_extras_batch(self, X, f, problem, rngs) -> dict:
        return {"initial_positions": X.copy(), "initial_fitness": f.copy()}  # no draws: stacked already

    def step(self, state: State, problem: Problem, rng: np.random.Generator) -> State:
        t = state.iteration + 1
        mop, moa = aoa_schedules(min(t, state.n_iter), state.n_iter, self.alpha, self.moa_min, self.moa_max)
        lo, hi = problem.lower, problem.upper
        X0 = state.positions
        X, f = state.positions.copy(), state.fitness.copy()
        bx, bf = state.best_x, state.best_f
        n, d = X.shape
        faithful = self.mode == "faithful"
        # 1-2. AOA step + OBL
        if not faithful:
            r = rng.random((3, n, d))
            Y = repair_bounds(aoa_update(bx, r[0], r[1], r[2], mop, moa, lo, hi, self.mu), lo, hi, "clip")
            Yo = repair_bounds(opposite(Y, lo, hi), lo, hi, "clip")
            fboth = problem.evaluate(np.concatenate([Y, Yo]))
            fy, fo = fboth[:n], fboth[n:]
            Y, fy = greedy(Y, fy, Yo, fo)
            X, f = greedy(X, f, Y, fy)
            bx, bf = best_of(X, f, bx, bf)
        else:
            # IAOA.m draws (3, 1, D) uniforms per individual and nothing else in the loop: one draw of
            # (N, 3, D) is the same numbers; _aoa_candidate gives aoa_update's values in fewer operations
            explore, branch, step, shift = _aoa_branches(rng.random((n, 3, d)), mop, moa, lo, hi, self.mu, "iaoa")
            mirror = hi + lo
            for i in range(n):
                y = _aoa_candidate(bx, explore[i], branch[i], step[i], mop, shift)
                y = _uclip(y, lo, hi, out=y)
                fy = problem.evaluate(y[None])[0]
                yo = mirror - y  # opposite(y): not clipped in IAOA.m
                fo = problem.evaluate(yo[None])[0]
                if fo < fy:
                    y, fy = yo, fo
                if fy < f[i]:
                    X[i], f[i] = y, fy
                if f[i] < bf:
                    bx, bf = X[i].copy(), float(f[i])
        # 3. DRST (kernel sampling around the population)
        p = acor_weights(n, self.q)
        if faithful:
            means, widths = X, acor_widths(X0, self.zeta)
        else:
            order = np.argsort(f, kind="stable")
            means = X[order]
            widths = acor_widths(means, self.zeta)
        S = self.n_samples
        Z = acor_sample(means, widths, p, rng.random((S, d)), rng.standard_normal((S, d)))
        if not faithful:
            Z = repair_bounds(Z, lo, hi, "clip")
        fz = problem.evaluate(Z)
        # 4. merge and truncate
        pool_x, pool_f = [X, Z], [f, fz]
        if faithful and t == 1:
            k = n + S - 1
            pool_x.append(np.tile(state.extras["initial_positions"], (k, 1)))
            pool_f.append(np.tile(state.extras["initial_fitness"], k))
        pool_x, pool_f = np.concatenate(pool_x), np.concatenate(pool_f)
        keep = np.argsort(pool_f, kind="stable")[:n]
        X, f = pool_x[keep], pool_f[keep]
        bx, bf = best_of(X, f, bx, bf)
        return state.replace(positions=X, fitness=f, best_x=bx, best_f=bf, n_evals=problem.n_evals,
                             iteration=t)

    def step_batch(self, state: State, problem, rngs) -> State:
        """:meth:`step` for R runs at once (``fusionlib.optim.run_batch``): per run the same draws
        in the same order and the same values.

        ``corrected``: uniform (3, N, D), uniform (S, D), normal (S, D), each a whole-population
        operation. ``faithful``: see :meth:`_step_batch_faithful`."""
        if self.mode == "faithful":
            return self._step_batch_faithful(state, problem, rngs)
        t = state.iteration + 1
        mop, moa = aoa_schedules(min(t, state.n_iter), state.n_iter, self.alpha, self.moa_min, self.moa_max)
        lo, hi = problem.lower, problem.upper
        X, f = state.positions, state.fitness
        _, n, d = X.shape
        S = self.n_samples
        # 1-2. AOA step + OBL, both evaluated in one call
        r = _draw_into(rngs, "random", (3, n, d))
        Y = aoa_update(state.best_x[:, None, :], r[:, 0], r[:, 1], r[:, 2], mop, moa, lo, hi, self.mu)
        Y = _uclip(Y, lo, hi, out=Y)
        Yo = repair_bounds(opposite(Y, lo, hi), lo, hi, "clip")
        fboth = problem.evaluate(np.concatenate([Y, Yo], axis=-2))
        Y, fy = greedy(Y, fboth[:, :n], Yo, fboth[:, n:])
        X, f = greedy(X, f, Y, fy)
        bx, bf = best_of_batch(X, f, state.best_x, state.best_f)
        # 3. DRST around each run's population sorted by fitness
        order = np.argsort(f, axis=-1, kind="stable")
        means = np.take_along_axis(X, order[..., None], axis=-2)
        u = _draw_into(rngs, "random", (S, d))
        Z = acor_sample(means, acor_widths(means, self.zeta), acor_weights(n, self.q), u,
                        _draw_into(rngs, "standard_normal", (S, d)))
        Z = _uclip(Z, lo, hi, out=Z)
        fz = problem.evaluate(Z)
        # 4. merge and truncate
        pool_x, pool_f = np.concatenate([X, Z], axis=-2), np.concatenate([f, fz], axis=-1)
        keep = np.argsort(pool_f, axis=-1, kind="stable")[:, :n]
        X, f = np.take_along_axis(pool_x, keep[..., None], axis=-2), np.take_along_axis(pool_f, keep, axis=-1)
        bx, bf = best_of_batch(X, f, bx, bf)
        return state.replace(positions=X, fitness=f, best_x=bx, best_f=bf, n_evals=problem.n_evals,
                             iteration=t)

    def _step_batch_faithful(self, state: State, problem, rngs) -> State:
        """The faithful :meth:`step` (IAOA.m) for R runs at once.

        Inside each run the MATLAB order is kept: individual i = 0..N-1 in turn, its AOA candidate
        (moved bracket, clipped) evaluated, then its opposite (not clipped) evaluated, the better of
        the two replacing X_i greedily and the best updated at once, so individual i + 1 already
        moves around the new best. All runs advance together: individual i of every run is one
        set of array operations on the runs axis, and its R candidates (then its R opposites) are
        one objective call of R rows, so each run makes the calls, in the order, that it makes
        alone (2N + 1 per step). DRST and the merge (stale pool in iteration 1, unclipped samples,
        widths from the population at the start of the step) as in :meth:`step`.

        Draws: per run, IAOA.m draws uniform (3, 1, D) per individual, then uniform (S, D), then
        normal (S, D), nothing else in between (the sequential step takes the first N as one
        (N, 3, D) block). Consecutive ``random`` calls of a generator return consecutive doubles of
        its stream, so one uniform draw of N·3·D + S·D numbers per run is the same numbers in the
        same order (checked run against run, bit for bit, by ``tests/optim/test_batch.py`` and
        against IAOA.m's loop written out in ``tests/optim/test_batch_iaoa.py``).
        """
        t = state.iteration + 1
        mop, moa = aoa_schedules(min(t, state.n_iter), state.n_iter, self.alpha, self.moa_min, self.moa_max)
        lo, hi = problem.lower, problem.upper
        X0 = state.positions
        R, n, d = X0.shape
        S = self.n_samples
        X, f = X0.copy(), state.fitness.copy()
        bx, bf = state.best_x, state.best_f
        k = 3 * d
        u = _draw_into(rngs, "random", (n * k + S * d,))
        r = u[:, :n * k].reshape(R, n, 3, d)
        explore, branch, step, shift = _aoa_branches(r, mop, moa, lo, hi, self.mu, "iaoa")
        mirror = hi + lo
        # 1-2. AOA step + OBL, individual by individual (MATLAB order), all runs at once
        for i in range(n):
            y = _aoa_candidate(bx, explore[:, i], branch[:, i], step[:, i], mop, shift)
            y = _uclip(y, lo, hi, out=y)                    # (R, D)
            fy = problem.evaluate(y[:, None])[:, 0]
            yo = mirror - y                                 # opposite(y): not clipped in IAOA.m
            fo = problem.evaluate(yo[:, None])[:, 0]
            take = fo < fy
            y = np.where(take[:, None], yo, y)
            fy = np.where(take, fo, fy)
            bx, bf = _replace_individual(X, f, i, y, fy, bx, bf)
        # 3. DRST: means from the updated population, widths from the one at the start, unclipped
        Z = acor_sample(X, acor_widths(X0, self.zeta), acor_weights(n, self.q), u[:, n * k:].reshape(R, S, d),
                        _draw_into(rngs, "standard_normal", (S, d)))
        fz = problem.evaluate(Z)
        # 4. merge and truncate (iteration 1: the pre-allocated pool's stale copies of the initial population)
        pool_x, pool_f = [X, Z], [f, fz]
        if t == 1:
            c = n + S - 1
            pool_x.append(np.tile(state.extras["initial_positions"], (1, c, 1)))
            pool_f.append(np.tile(state.extras["initial_fitness"], (1, c)))
        pool_x, pool_f = np.concatenate(pool_x, axis=-2), np.concatenate(pool_f, axis=-1)
        keep = np.argsort(pool_f, axis=-1, kind="stable")[:, :n]
        X, f = np.take_along_axis(pool_x, keep[..., None], axis=-2), np.take_along_axis(pool_f, keep, axis=-1)
        bx, bf = best_of_batch(X, f, bx, bf)
        return state.replace(positions=X, fitness=f, best_x=bx, best_f=bf, n_evals=problem.n_evals,
                             iteration=t)
