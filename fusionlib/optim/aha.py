"""AHA: artificial hummingbird algorithm (Zhao, Wang & Mirjalili 2022), as in ``AHA.m``.

Flight skills (Eqs. 1-3): diagonal (a random subset of 2..D-1 dimensions), omnidirectional (all),
axial (one dimension), each with probability 1/3. Guided foraging v = x_tar + a D ⊙ (x_i - x_tar)
(Eq. 6) towards the food source the bird has not visited for longest (ties: the best one);
territorial foraging v = x_i + b D ⊙ x_i (Eq. 9); a, b ~ N(0, 1) scalars; greedy replacement
(Eqs. 7, 10) with the visit-table updates; migration every 2N iterations: the worst source is
replaced by a random one (Eq. 11). Out-of-box coordinates are redrawn uniformly.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._base import Optimizer, State, best_of, best_of_batch, draw, register
from ._problem import Problem, repair_bounds

__all__ = ["AHA", "aha_directions", "aha_candidates"]


def aha_directions(u_type: np.ndarray, keys: np.ndarray, u_num: np.ndarray) -> np.ndarray:
    """Direction switch vectors D (P, D) of 0/1 (Eqs. 1-3).

    ``u_type`` (P,): < 1/3 diagonal, > 2/3 omnidirectional, else axial; ``keys`` (P, D) uniform
    (a random permutation of the dimensions); ``u_num`` (P,) uniform (how many dimensions).
    Any leading (runs) axes are allowed: ``u_type``, ``u_num`` (R, P), ``keys`` (R, P, D).
    """
    D = keys.shape[-1]
    rank = np.argsort(np.argsort(keys, axis=-1), axis=-1)
    n_diag = np.ceil(u_num * (D - 2) + 1) if D >= 3 else np.ceil(u_num * (D - 1) + 1)
    diag = rank < n_diag[..., None]
    axial_dim = np.maximum(np.ceil(u_num * D), 1).astype(int) - 1
    axial = np.arange(D) == axial_dim[..., None]
    omni = np.ones(keys.shape, dtype=bool)
    t = u_type[..., None]
    return np.where(t < 1 / 3, diag, np.where(t > 2 / 3, omni, axial)).astype(np.float64)


def aha_candidates(X: np.ndarray, targets: np.ndarray, guided: np.ndarray, Dir: np.ndarray,
                   a: np.ndarray) -> np.ndarray:
    """Guided (Eq. 6) or territorial (Eq. 9) candidates; ``a`` (P,) standard normals. Unrepaired.

    Any leading (runs) axes are allowed: ``X``, ``Dir`` (R, P, D), ``targets``, ``guided``, ``a`` (R, P).
    """
    # Xt[i] = X[targets[i]] (plain indexing for one run: the same gather, less overhead)
    Xt = X[targets] if X.ndim == 2 else np.take_along_axis(X, targets[..., None], axis=-2)
    return _moves(X, Xt, guided, Dir, a)


def _moves(X: np.ndarray, Xt: np.ndarray, guided: np.ndarray, Dir: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Eqs. 6 and 9 from the targets' positions ``Xt`` (like ``X``); any leading axes."""
    a = a[..., None]
    g = Xt + a * Dir * (X - Xt)
    terr = X + a * Dir * X
    return np.where(guided[..., None], g, terr)


def _target(VT: np.ndarray, f: np.ndarray, i: int) -> int:
    row = VT[i]
    m = np.nanmax(row)
    ties = np.flatnonzero(row == m)
    return int(ties[np.argmin(f[ties])]) if ties.size > 1 else int(ties[0])


def _targets_batch(VT: np.ndarray, f: np.ndarray) -> np.ndarray:
    """:func:`_target` for every bird of every run: ``VT`` (R, P, P), ``f`` (R, P) -> (R, P) ints.

    The longest-unvisited source, ties -> the first best one (``np.fmax`` ignores the NaN diagonal
    as ``np.nanmax`` does: the same maximum)."""
    tie = VT == np.fmax.reduce(VT, axis=-1)[..., None]
    targets = np.argmin(np.where(tie, f[..., None, :], np.inf), axis=-1)
    miss = ~np.take_along_axis(tie, targets[..., None], axis=-1)[..., 0]
    if miss.any():   # every tied source has f = +inf: the first tie, as _target
        targets = np.where(miss, np.argmax(tie, axis=-1), targets)
    return targets


def _visit_update(VT: np.ndarray, i: int, tar: int | None, improved: bool) -> None:
    """AHA.m's visit-table bookkeeping (in place)."""
    VT[i, :] += 1
    if tar is not None:
        VT[i, tar] = 0
    if improved:
        VT[:, i] = np.nanmax(VT, axis=1) + 1
        VT[i, i] = np.nan


def _visit_update_batch(VT: np.ndarray, i: int, tar: np.ndarray, guided: np.ndarray, improved: np.ndarray) -> None:
    """:func:`_visit_update` of bird ``i`` in every run (in place): ``VT`` (R, P, P); ``tar``,
    ``guided``, ``improved`` (R,) (a run's target counts only where it foraged guided)."""
    Vi = VT[:, i]                                            # row i of every run (a view)
    Vi += 1
    Vi[guided, tar[guided]] = 0
    if improved.any():   # the diagonal is NaN throughout, so setting it again changes no other run
        VT[:, :, i] = np.where(improved[:, None], np.fmax.reduce(VT, axis=-1) + 1, VT[:, :, i])
        VT[:, i, i] = np.nan


@register("aha", full_name="Artificial Hummingbird Algorithm", year=2022, doi="10.1016/j.cma.2021.114194",
          evals_per_iter=lambda n: n, matlab_evals=lambda n, t: n + n * t + t // (2 * n),
          reference="W. Zhao, L. Wang, S. Mirjalili, Comput. Methods Appl. Mech. Eng. 388, 114194, 2022")
@dataclass(frozen=True)
class AHA(Optimizer):
    """Artificial hummingbird algorithm.

    Parameters
    ----------
    pop_size : int >= 2
    mode : {'corrected', 'faithful'}
        ``faithful``: birds forage one after the other (targets, positions and the visit table
        see earlier birds' moves), one evaluation per call (AHA.m). ``corrected``: all candidates
        built from the state at the start of the iteration and evaluated in one call; the
        replacements and visit-table updates are then applied in bird order.

    Notes
    -----
    Budget N + N·T + ⌊T / 2N⌋ (one migration evaluation every 2N iterations; 56 for N=5, T=10).
    Bounds: ``random`` (uniform redraw of out-of-box coordinates). Not in mealpy 3.0.2.
    """
    batch_faithful = True
    pop_size: int = 5
    mode: str = "corrected"

    def __post_init__(self):
        self._validate_common()

    def _init_extras(self, X, f, problem, rng) -> dict:
        VT = np.zeros((len(X), len(X)))
        np.fill_diagonal(VT, np.nan)
        return {"visit_table": VT}

    def _init_extras_batch(self, X, f, problem, rngs) -> dict:
        R, n = f.shape
        VT = np.zeros((R, n, n))
        VT[:, np.arange(n), np.arange(n)] = np.nan
        return {"visit_table": VT}

    def step(self, state: State, problem: Problem, rng: np.random.Generator) -> State:
        lo, hi = problem.lower, problem.upper
        X, f = state.positions.copy(), state.fitness.copy()
        VT = state.extras["visit_table"].copy()
        n, d = X.shape
        t = state.iteration + 1
        Dir = aha_directions(rng.random(n), rng.random((n, d)), rng.random(n))
        guided = rng.random(n) < 0.5
        a = rng.standard_normal(n)
        U = rng.random((n, d))
        if self.mode == "corrected":
            targets = np.array([_target(VT, f, i) for i in range(n)])
            Y = repair_bounds(aha_candidates(X, targets, guided, Dir, a), lo, hi, "random", U)
            fy = problem.evaluate(Y)
            for i in range(n):
                improved = bool(fy[i] < f[i])
                if improved:
                    X[i], f[i] = Y[i], fy[i]
                _visit_update(VT, i, int(targets[i]) if guided[i] else None, improved)
        else:
            for i in range(n):
                tar = _target(VT, f, i)
                y = repair_bounds(aha_candidates(X, np.full(n, tar), guided, Dir, a)[i:i + 1], lo, hi,
                                  "random", U[i:i + 1])
                fy = problem.evaluate(y)[0]
                improved = bool(fy < f[i])
                if improved:
                    X[i], f[i] = y[0], fy
                _visit_update(VT, i, tar if guided[i] else None, improved)
        np.fill_diagonal(VT, np.nan)
        if t % (2 * n) == 0:                                   # migration (Eq. 11)
            w = int(np.argmax(f))
            X[w] = lo + rng.random(d) * (hi - lo)
            f[w] = problem.evaluate(X[w][None])[0]
            VT[w, :] += 1
            VT[:, w] = np.nanmax(VT, axis=1) + 1
            VT[w, w] = np.nan
        bx, bf = best_of(X, f, state.best_x, state.best_f)
        return state.replace(positions=X, fitness=f, best_x=bx, best_f=bf, n_evals=problem.n_evals,
                             iteration=t, extras={"visit_table": VT})

    def step_batch(self, state: State, problem, rngs) -> State:
        """:meth:`step` for R runs at once (``fusionlib.optim.run_batch``), either mode.

        The bird-order bookkeeping of the visit tables loops over the N birds, each bird's update
        applied to all runs at once; in ``faithful`` mode each bird also picks its target, moves and
        is evaluated (one call of R rows) after the previous birds of its run, as in :meth:`step`."""
        lo, hi = problem.lower, problem.upper
        X, f = state.positions.copy(), state.fitness.copy()
        VT = state.extras["visit_table"].copy()
        R, n, d = X.shape
        t = state.iteration + 1
        rows = np.arange(R)
        u = draw(rngs, "random", 3 * n + n * d)     # = random(n), random((n, d)), random(n), random(n)
        Dir = aha_directions(u[:, :n], u[:, n:n + n * d].reshape(R, n, d), u[:, n + n * d:2 * n + n * d])
        guided = u[:, 2 * n + n * d:] < 0.5
        a = draw(rngs, "standard_normal", n)
        U = draw(rngs, "random", (n, d))
        if self.mode == "corrected":
            targets = _targets_batch(VT, f)
            Y = repair_bounds(aha_candidates(X, targets, guided, Dir, a), lo, hi, "random", U)
            fy = problem.evaluate(Y)
            improved = fy < f
            X = np.where(improved[..., None], Y, X)
            f = np.where(improved, fy, f)
            for i in range(n):                               # _visit_update, bird by bird
                _visit_update_batch(VT, i, targets[:, i], guided[:, i], improved[:, i])
        else:
            for i in range(n):   # bird i of every run: target, candidate, one R-row call, bookkeeping
                Vi = VT[:, i]                    # _target: the longest unvisited, ties -> the first best
                tie = Vi == np.fmax.reduce(Vi, axis=-1)[:, None]
                tar = np.where(tie, f, np.inf).argmin(axis=-1)
                miss = ~tie[rows, tar]
                if miss.any():   # every tied source has f = +inf: the first tie (as _targets_batch)
                    tar = np.where(miss, tie.argmax(axis=-1), tar)
                y = _moves(X[:, i], X[rows, tar], guided[:, i], Dir[:, i], a[:, i])
                y = repair_bounds(y, lo, hi, "random", U[:, i])
                fy = problem.evaluate(y[:, None])[:, 0]
                imp = fy < f[:, i]
                X[imp, i], f[imp, i] = y[imp], fy[imp]
                _visit_update_batch(VT, i, tar, guided[:, i], imp)
        VT[:, np.arange(n), np.arange(n)] = np.nan
        if t % (2 * n) == 0:                                 # migration (Eq. 11)
            w = np.argmax(f, axis=-1)
            X[rows, w] = lo + draw(rngs, "random", d) * (hi - lo)
            f[rows, w] = problem.evaluate(X[rows, w][:, None, :])[:, 0]
            VT[rows, w, :] += 1
            VT[rows, :, w] = np.fmax.reduce(VT, axis=-1) + 1
            VT[rows, w, w] = np.nan
        bx, bf = best_of_batch(X, f, state.best_x, state.best_f)
        return state.replace(positions=X, fitness=f, best_x=bx, best_f=bf, n_evals=problem.n_evals,
                             iteration=t, extras={"visit_table": VT})
