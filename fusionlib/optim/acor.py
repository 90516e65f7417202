"""ACOR: ant colony optimisation for continuous domains (Socha & Dorigo 2008).

As coded in the released IAOA MATLAB code (Yarpiz ``ACO.m``): an archive of N solutions sorted
by fitness, Gaussian kernels centred on them with rank weights (Socha & Dorigo Eq. 7 / "ω_l"),
widths from the mean distance to the other archive members (their Eq. 8, ζ = 1), N samples per
iteration, the kernel index drawn by roulette **per dimension**, samples clipped, archive ∪ samples
sorted and truncated to N. IAOA's DRST operator (``iaoa.md`` §4) is the same kernel sampler, so
these functions are shared with :mod:`fusionlib.optim.aoa`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .._checks import check_int, check_positive
from ._base import Optimizer, State, best_of, best_of_batch, register, roulette
from ._problem import Problem, repair_bounds

__all__ = ["ACOR", "acor_weights", "acor_widths", "acor_sample"]


def acor_weights(n: int, q: float) -> np.ndarray:
    """Kernel selection probabilities p_l ∝ exp(-(l-1)² / (2 q² n²)), l = 1..n (Socha & Dorigo Eq. 7)."""
    l = np.arange(n, dtype=np.float64)
    w = np.exp(-(l ** 2) / (2.0 * q * q * n * n)) / (q * n * np.sqrt(2 * np.pi))
    return w / w.sum()


def acor_widths(X: np.ndarray, zeta: float) -> np.ndarray:
    """σ_{l,j} = ζ Σ_r |X_{l,j} - X_{r,j}| / (n - 1) (Socha & Dorigo Eq. 8), shape (n, D).

    ``X`` (n, D), or (..., n, D) with leading (runs) axes: each run's widths from its own archive."""
    n = X.shape[-2]
    return zeta * np.abs(X[..., :, None, :] - X[..., None, :, :]).sum(axis=-2) / (n - 1)


def acor_sample(means: np.ndarray, widths: np.ndarray, p: np.ndarray, u: np.ndarray,
                normals: np.ndarray) -> np.ndarray:
    """Gaussian-kernel samples: per sample s and dimension j, l = roulette(p, u[s, j]) and
    z[s, j] = means[l, j] + widths[l, j] * normals[s, j].

    ``u`` (uniform) and ``normals`` (standard normal), both (S, D), are the injected random numbers;
    ``means``, ``widths`` are (n, D). Leading (runs) axes are allowed: ``means``, ``widths``
    (..., n, D) with ``u``, ``normals`` (..., S, D); ``p`` (n,) is shared.
    """
    cum_p = np.cumsum(p)
    n, d = means.shape[-2:]
    lead = means.shape[:-2]
    if not lead and u.ndim == 2:   # one run (the sequential steps): plain fancy indexing is cheapest
        l = roulette(cum_p, u)
        j = np.arange(d)
        return means[l, j] + widths[l, j] * normals
    fast = (n <= _FAST_N and widths.shape == means.shape and u.ndim == means.ndim and u.shape[:-2] == lead
            and u.shape[-1] == d and (p >= 0).all())
    if not fast:
        l = roulette(cum_p, u)
        return np.take_along_axis(means, l, axis=-2) + np.take_along_axis(widths, l, axis=-2) * normals
    # the same kernel indices as roulette (see _kernel_index), gathered through flat indices
    offset = np.arange(d)                     # flat index of (run, l, j): (run * n + l) * d + j
    if lead:
        offset = (np.arange(int(np.prod(lead))) * (n * d)).reshape(lead + (1, 1)) + offset
    idx = np.multiply(_kernel_index(cum_p, u), d, dtype=np.intp)
    idx += offset
    m = np.ascontiguousarray(means).reshape(-1)
    w = np.ascontiguousarray(widths).reshape(-1)
    return m[idx] + w[idx] * normals


_FAST_N = 32  # n - 1 full-array comparisons beat a binary search per element up to about here


def _kernel_index(cum_p: np.ndarray, u: np.ndarray) -> np.ndarray:
    """``roulette(cum_p, u)`` (uint8) for a non-decreasing ``cum_p`` of at most 255 entries (uint8 counts).

    ``searchsorted(cum_p, k, "left")`` is the number of ``cum_p[l] < k``; capped at n - 1 it is
    n - 1 minus the number of ``k <= cum_p[l]`` among the first n - 1 entries (``cum_p``
    non-decreasing; a NaN key compares False and gets n - 1, as NaN sorts last for searchsorted).
    n - 1 comparisons of the whole array cost far less than a binary search per element for the
    small archives used here.
    """
    key = u * cum_p[-1]
    acc = np.zeros(key.shape, dtype=np.uint8)
    for c in cum_p[:-1]:
        acc += np.less_equal(key, c).view(np.uint8)
    return np.subtract(cum_p.size - 1, acc, out=acc)


def _draw_into(rngs, method: str, shape: tuple) -> np.ndarray:
    """``_batch.draw(rngs, method, shape)`` for the float64 methods that take ``out`` (``random``,
    ``standard_normal``): each generator fills its own row of one array (same numbers, no stack)."""
    out = np.empty((len(rngs),) + tuple(shape))
    for g, o in zip(rngs, out):
        getattr(g, method)(out=o)
    return out


@register("acor", full_name="Ant Colony Optimization for continuous domains (ACOR)", year=2008,
          doi="10.1016/j.ejor.2006.06.046", evals_per_iter=lambda n: n, matlab_evals=lambda n, t: n + n * t,
          reference="K. Socha, M. Dorigo, Eur. J. Oper. Res. 185(3), 1155-1173, 2008")
@dataclass(frozen=True)
class ACOR(Optimizer):
    """ACOR with archive size ``pop_size`` and ``n_samples`` new solutions per iteration.

    Parameters
    ----------
    pop_size : int >= 2
        Archive size N.
    mode : {'corrected', 'faithful'}
        Identical here (ACOR has no sequential update or quirk in the released code).
    n_samples : int, optional
        Samples per iteration (default N, as in the released code).
    q : float > 0
        Intensification factor (0.5).
    zeta : float > 0
        Deviation-distance ratio ζ (1.0).
    """
    pop_size: int = 5
    mode: str = "corrected"
    n_samples: int | None = None
    q: float = 0.5
    zeta: float = 1.0
    #: faithful mode batches too (run_batch): it is the same step (ACO.m samples, clips and
    #: merges the whole archive at once; nothing is sequential inside an iteration)
    batch_faithful: ClassVar[bool] = True

    def __post_init__(self):
        self._validate_common()
        if self.n_samples is not None:
            check_int("ACOR", "n_samples", self.n_samples, minimum=1)
        check_positive("ACOR", "q", self.q)
        check_positive("ACOR", "zeta", self.zeta)

    def evals_per_iter(self) -> int:
        return self.n_samples or self.pop_size

    def init_state(self, problem: Problem, rng: np.random.Generator, n_iter: int | None = None) -> State:
        s = super().init_state(problem, rng, n_iter)
        order = np.argsort(s.fitness, kind="stable")  # the archive is kept sorted
        return s.replace(positions=s.positions[order], fitness=s.fitness[order])

    def step(self, state: State, problem: Problem, rng: np.random.Generator) -> State:
        X, f = state.positions, state.fitness
        n, d = X.shape
        S = self.n_samples or n
        p = acor_weights(n, self.q)
        sigma = acor_widths(X, self.zeta)
        Z = acor_sample(X, sigma, p, rng.random((S, d)), rng.standard_normal((S, d)))
        Z = repair_bounds(Z, problem.lower, problem.upper, "clip")
        fz = problem.evaluate(Z)
        pool_x = np.concatenate([X, Z])
        pool_f = np.concatenate([f, fz])
        keep = np.argsort(pool_f, kind="stable")[:n]
        bx, bf = best_of(Z, fz, state.best_x, state.best_f)
        return state.replace(positions=pool_x[keep], fitness=pool_f[keep], best_x=bx, best_f=bf,
                             n_evals=problem.n_evals, iteration=state.iteration + 1)

    # -- many runs in lockstep (fusionlib.optim.run_batch) ------------------------------------
    def init_batch(self, problem, rngs, n_iter: int | None = None) -> State:
        """:meth:`init_state` for R runs at once: each run's archive sorted by fitness (stable)."""
        s = super().init_batch(problem, rngs, n_iter)
        order = np.argsort(s.fitness, axis=-1, kind="stable")
        return s.replace(positions=np.take_along_axis(s.positions, order[..., None], axis=-2),
                         fitness=np.take_along_axis(s.fitness, order, axis=-1))

    def step_batch(self, state: State, problem, rngs) -> State:
        """:meth:`step` for R runs at once (``fusionlib.optim.run_batch``); per run the same draws
        (uniform (S, D), then normal (S, D)) and the same values. Both modes: ACOR's faithful step
        is its corrected step (one generation of S samples per iteration in ACO.m)."""
        X, f = state.positions, state.fitness
        _, n, d = X.shape
        S = self.n_samples or n
        p = acor_weights(n, self.q)
        sigma = acor_widths(X, self.zeta)
        u = _draw_into(rngs, "random", (S, d))
        Z = acor_sample(X, sigma, p, u, _draw_into(rngs, "standard_normal", (S, d)))
        Z = repair_bounds(Z, problem.lower, problem.upper, "clip")
        fz = problem.evaluate(Z)
        pool_x = np.concatenate([X, Z], axis=-2)
        pool_f = np.concatenate([f, fz], axis=-1)
        keep = np.argsort(pool_f, axis=-1, kind="stable")[:, :n]
        bx, bf = best_of_batch(Z, fz, state.best_x, state.best_f)
        return state.replace(positions=np.take_along_axis(pool_x, keep[..., None], axis=-2),
                             fitness=np.take_along_axis(pool_f, keep, axis=-1), best_x=bx, best_f=bf,
                             n_evals=problem.n_evals, iteration=state.iteration + 1)
