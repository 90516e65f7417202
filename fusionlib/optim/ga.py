"""GA: a real-coded genetic algorithm (Holland 1975) as coded in the released IAOA code's ``GA.m``.

Per generation: N children, each from two roulette-selected parents; crossover (probability pc)
copies one gene of the mother into the father's copy; mutation (probability pm) resets one gene
from a uniform vector drawn once per generation; the children replace the population (no elitism).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._base import Optimizer, State, best_of, best_of_batch, register, roulette
from ._problem import Problem

__all__ = ["GA", "ga_offspring", "selection_probabilities"]


def selection_probabilities(f: np.ndarray, mode: str) -> np.ndarray:
    """Roulette probabilities.

    ``faithful``: p_i = f_i / Σ f (∝ **cost**, GA.m's quirk: bad individuals are favoured in a
    minimisation; needs f >= 0). ``corrected``: p_i ∝ max f - f_i (uniform when all are equal).
    Non-finite costs (rows beyond a budget) count as the largest finite cost.

    ``f`` (P,), or (R, P) for R independent runs (each row as in a 1-D call, same values).
    """
    if f.ndim > 1:
        return _selection_probabilities_rows(f, mode)
    if np.isfinite(f).all():  # the usual case, without the NaN round trip below
        fmax = f.max()
    else:
        f = np.where(np.isfinite(f), f, np.nan)
        fmax = np.nanmax(f) if np.isfinite(f).any() else 0.0
        f = np.nan_to_num(f, nan=fmax)
    if mode == "faithful":
        if np.any(f < 0):
            raise ValueError("GA: faithful mode selects with probability proportional to the cost and "
                             f"needs costs >= 0; got min cost {f.min():g} (use mode='corrected')")
        w = f
    else:
        w = fmax - f
    s = w.sum()
    return w / s if s > 0 else np.full(f.size, 1.0 / f.size)


def _selection_probabilities_rows(f: np.ndarray, mode: str) -> np.ndarray:
    """:func:`selection_probabilities` of every row of ``f`` (..., P) at once (the same operations
    per row: the max, the row sum along the last axis, one division)."""
    finite = np.isfinite(f)
    if finite.all():
        fmax = f.max(axis=-1, keepdims=True)
    else:  # per row: the largest finite cost (0 when none is finite) replaces the non-finite ones
        fmax = np.where(finite, f, -np.inf).max(axis=-1, keepdims=True)
        fmax[~finite.any(axis=-1)] = 0.0
        f = np.where(finite, f, fmax)
    if mode == "faithful":
        if np.any(f < 0):
            raise ValueError("GA: faithful mode selects with probability proportional to the cost and "
                             f"needs costs >= 0; got min cost {f.min():g} (use mode='corrected')")
        w = f
    else:
        w = fmax - f
    s = w.sum(axis=-1, keepdims=True)
    pos = s > 0
    if pos.all():
        return w / s
    return np.where(pos, w / np.where(pos, s, 1.0), 1.0 / f.shape[-1])


def _roulette_rows(cum_p: np.ndarray, u: np.ndarray) -> np.ndarray:
    """:func:`~fusionlib.optim._base.roulette` with one cumulative distribution per row: ``cum_p``
    (R, P), ``u`` (R, K) → (R, K) indices.

    ``searchsorted(c, v, 'left')`` on a non-decreasing ``c`` (a cumsum of p >= 0) is the number of
    entries of ``c`` below ``v``, which is one vectorised comparison count for all rows; rows holding
    a NaN (where searchsorted's NaN ordering applies) are done one by one with ``roulette``."""
    v = u * cum_p[..., -1:]
    idx = (cum_p[..., None, :] < v[..., :, None]).sum(axis=-1)
    np.minimum(idx, cum_p.shape[-1] - 1, out=idx)
    bad = np.isnan(cum_p[..., -1])      # a NaN anywhere in a row reaches its last cumsum entry
    if bad.any():
        for r in np.flatnonzero(bad):
            idx[r] = roulette(cum_p[r], u[r])
    return idx


def ga_offspring(X: np.ndarray, p: np.ndarray, u_father: np.ndarray, u_mother: np.ndarray,
                 u_cross: np.ndarray, cross_pos: np.ndarray, u_mut: np.ndarray, mut_pos: np.ndarray,
                 mut_vector: np.ndarray, pc: float, pm: float) -> np.ndarray:
    """N children (all random numbers injected, one entry per child).

    father = X[roulette(p, u_father)], mother = X[roulette(p, u_mother)];
    child = father; child[cross_pos] = mother[cross_pos] if u_cross < pc;
    child[mut_pos] = mut_vector[mut_pos] if u_mut < pm.

    Leading (runs) axes are allowed: ``X`` (R, N, D), ``p`` and the per-child arrays (R, N),
    ``mut_vector`` (R, D); every run picks and copies from its own population (the same values as
    R separate calls).
    """
    if X.ndim > 2:
        return _ga_offspring_runs(X, p, u_father, u_mother, u_cross, cross_pos, u_mut, mut_pos, mut_vector,
                                  pc, pm)
    cp = np.cumsum(p)
    fa, mo = roulette(cp, u_father), roulette(cp, u_mother)
    C = X[fa].copy()
    rows = np.arange(len(C))
    cx = u_cross < pc
    C[rows[cx], cross_pos[cx]] = X[mo[cx], cross_pos[cx]]
    mx = u_mut < pm
    C[rows[mx], mut_pos[mx]] = mut_vector[mut_pos[mx]]
    return C


def _ga_offspring_runs(X, p, u_father, u_mother, u_cross, cross_pos, u_mut, mut_pos, mut_vector, pc, pm):
    """:func:`ga_offspring` for (..., N, D) populations: the runs flattened, each run's rows offset
    by its index times N, so parents, crossover genes and mutation genes are gathered at once."""
    lead, (n, d) = X.shape[:-2], X.shape[-2:]
    R = math.prod(lead)
    cp = np.cumsum(p.reshape(R, n), axis=-1)
    k = u_father.shape[-1]
    parents = _roulette_rows(cp, np.concatenate([u_father.reshape(R, k), u_mother.reshape(R, k)], axis=-1))
    parents += (np.arange(R) * n)[:, None]                     # rows of Xf
    fa, mo = parents[:, :k], parents[:, k:]
    Xf = X.reshape(R * n, d)
    C = Xf[fa.ravel()]                                         # a new array: the fathers
    child = np.arange(C.shape[0])
    cx = (u_cross < pc).ravel()
    cpos = cross_pos.ravel()[cx]
    C[child[cx], cpos] = Xf[mo.ravel()[cx], cpos]
    mx = (u_mut < pm).ravel()
    mpos = mut_pos.ravel()[mx]
    C[child[mx], mpos] = mut_vector.reshape(R, d)[child[mx] // fa.shape[1], mpos]
    return C.reshape(lead + (fa.shape[1], d))


@register("ga", full_name="Genetic Algorithm (real-coded, roulette selection)", year=1975,
          doi="10.7551/mitpress/1090.001.0001", evals_per_iter=lambda n: n, matlab_evals=lambda n, t: n * t,
          reference="J. H. Holland, Adaptation in Natural and Artificial Systems, 1975 (MIT Press ed. 1992)")
@dataclass(frozen=True)
class GA(Optimizer):
    """Genetic algorithm as in GA.m.

    Parameters
    ----------
    pop_size : int >= 2
    mode : {'corrected', 'faithful'}
        ``faithful`` keeps GA.m's quirks: roulette ∝ cost (favours bad individuals in a
        minimisation), crossover position drawn from genes 2..D (gene 1 never crossed), and its
        loop evaluates at the top, so T iterations cost N·T evaluations (50 for N=5, T=10).
        ``corrected``: roulette ∝ (max cost - cost), crossover position from all D genes,
        N + N·T evaluations.
    pc, pm : float in [0, 1]
        Crossover and mutation probabilities (0.8, 0.8).

    Notes
    -----
    No elitism (the best-so-far is tracked separately). Children stay in the box by construction.
    Both modes batch (:func:`fusionlib.optim.run_batch`).
    """
    faithful_eval_first = True
    batch_faithful = True
    pop_size: int = 5
    mode: str = "corrected"
    pc: float = 0.8
    pm: float = 0.8

    def __post_init__(self):
        self._validate_common()
        for name in ("pc", "pm"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not 0.0 <= v <= 1.0:
                raise ValueError(f"GA: `{name}` must be a probability in [0, 1]; got {v!r}")

    def step(self, state: State, problem: Problem, rng: np.random.Generator) -> State:
        X, f = state.positions, state.fitness
        n, d = X.shape
        p = selection_probabilities(f, self.mode)
        first = 1 if (self.mode == "faithful" and d >= 2) else 0
        cross_pos = rng.integers(first, d, n)
        mut_vector = problem.lower + rng.random(d) * (problem.upper - problem.lower)
        C = ga_offspring(X, p, rng.random(n), rng.random(n), rng.random(n), cross_pos, rng.random(n),
                         rng.integers(0, d, n), mut_vector, self.pc, self.pm)
        fc = problem.evaluate(C)
        bx, bf = best_of(C, fc, state.best_x, state.best_f)
        return state.replace(positions=C, fitness=fc, best_x=bx, best_f=bf, n_evals=problem.n_evals,
                             iteration=state.iteration + 1)

    def step_batch(self, state: State, problem, rngs) -> State:
        """:meth:`step` for R runs at once (``fusionlib.optim.run_batch``), in both modes (GA.m builds
        all N children from the population of the pass, so faithful differs only in the roulette
        weights and the crossover positions, as in :meth:`step`)."""
        X, f = state.positions, state.fitness
        R, n, d = X.shape
        p = selection_probabilities(f, self.mode)
        first = 1 if (self.mode == "faithful" and d >= 2) else 0
        # per run, step's draws in step's order: cross_pos integers(first, d, n); then random(d) for the
        # mutation vector and four random(n) (father, mother, crossover, mutation), consecutive
        # doubles of the stream, so one random() call here; then mut_pos integers(0, d, n)
        u = np.empty((R, d + 4 * n))
        cross_pos, mut_pos = np.empty((R, n), dtype=np.int64), np.empty((R, n), dtype=np.int64)
        for k, g in enumerate(rngs):
            cross_pos[k] = g.integers(first, d, n)   # ~6-11 us a call (NumPy 1.26): most of this loop
            g.random(out=u[k])
            mut_pos[k] = g.integers(0, d, n)
        mut_vector = problem.lower + u[:, :d] * (problem.upper - problem.lower)
        uf, um, uc, uu = u[:, d:].reshape(R, 4, n).transpose(1, 0, 2)
        C = ga_offspring(X, p, uf, um, uc, cross_pos, uu, mut_pos, mut_vector, self.pc, self.pm)
        fc = problem.evaluate(C)
        bx, bf = best_of_batch(C, fc, state.best_x, state.best_f)
        return state.replace(positions=C, fitness=fc, best_x=bx, best_f=bf, n_evals=problem.n_evals,
                             iteration=state.iteration + 1)
