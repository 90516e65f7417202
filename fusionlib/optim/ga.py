"""GA: a real-coded genetic algorithm (Holland 1975) as coded in the released IAOA code's ``GA.m``.

Per generation: N children, each from two roulette-selected parents; crossover (probability pc)
copies one gene of the mother into the father's copy; mutation (probability pm) resets one gene
from a uniform vector drawn once per generation; the children replace the population (no elitism).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._base import Optimizer, State, best_of, register, roulette
from ._problem import Problem

__all__ = ["GA", "ga_offspring", "selection_probabilities"]


def selection_probabilities(f: np.ndarray, mode: str) -> np.ndarray:
    """Roulette probabilities.

    ``faithful``: p_i = f_i / Σ f (∝ **cost**, GA.m's quirk: bad individuals are favoured in a
    minimisation; needs f >= 0). ``corrected``: p_i ∝ max f - f_i (uniform when all are equal).
    """
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


def ga_offspring(X: np.ndarray, p: np.ndarray, u_father: np.ndarray, u_mother: np.ndarray,
                 u_cross: np.ndarray, cross_pos: np.ndarray, u_mut: np.ndarray, mut_pos: np.ndarray,
                 mut_vector: np.ndarray, pc: float, pm: float) -> np.ndarray:
    """N children (all random numbers injected, one entry per child).

    father = X[roulette(p, u_father)], mother = X[roulette(p, u_mother)];
    child = father; child[cross_pos] = mother[cross_pos] if u_cross < pc;
    child[mut_pos] = mut_vector[mut_pos] if u_mut < pm.
    """
    cp = np.cumsum(p)
    fa, mo = roulette(cp, u_father), roulette(cp, u_mother)
    C = X[fa].copy()
    rows = np.arange(len(C))
    cx = u_cross < pc
    C[rows[cx], cross_pos[cx]] = X[mo[cx], cross_pos[cx]]
    mx = u_mut < pm
    C[rows[mx], mut_pos[mx]] = mut_vector[mut_pos[mx]]
    return C


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
    """
    faithful_eval_first = True
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
