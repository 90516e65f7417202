"""Figures for optimiser runs: convergence curves and box plots of final values (matplotlib only).

Inputs are mappings ``label -> sequence of runs``; a run is a :class:`fusionlib.optim.Result`
(anything with ``.history`` and ``.best_f``) or, for the box plot, a plain number.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["plot_convergence", "plot_final_values", "plot_diversity"]


def _check_runs(where: str, runs: Any) -> None:
    if not isinstance(runs, Mapping) or not runs:
        raise TypeError(f"{where}: `runs` must be a non-empty mapping label -> sequence of results; "
                        f"got {type(runs).__name__}")
    for k, v in runs.items():
        if isinstance(v, (str, bytes)) or not isinstance(v, Sequence) or len(v) == 0:
            raise ValueError(f"{where}: `runs[{k!r}]` must be a non-empty sequence of results")


def _curves(seq, x: str) -> tuple[np.ndarray, np.ndarray]:
    """Stack the runs' best-so-far curves, padding shorter runs with their last value."""
    if x == "evals":
        ys = [np.asarray(r.history.best_per_eval, dtype=float) for r in seq]
    else:
        ys = [np.asarray(r.history.best, dtype=float) for r in seq]
    n = max(len(y) for y in ys)
    Y = np.stack([np.concatenate([y, np.full(n - len(y), y[-1])]) for y in ys])
    xs = np.arange(1, n + 1) if x == "evals" else np.arange(n)
    return xs, Y


def plot_convergence(runs: Mapping[str, Sequence[Any]], *, x: str = "evals", optimum: float | None = None,
                     log: bool = True, band: bool = True, ax=None, title: str | None = None):
    """Median best-so-far against evaluations (or iterations) per label, with the IQR as a band.

    Parameters
    ----------
    runs : mapping label -> sequence of Result
    x : {'evals', 'iterations'}
        ``evals`` plots ``history.best_per_eval`` (the fair axis when budgets per iteration differ);
        ``iterations`` plots ``history.best`` (entry 0 = the initial population).
    optimum : float, optional
        A known optimum f*: the curves show the gap f - f* instead.
    log : bool
        Logarithmic y axis (non-positive values are clipped to the smallest positive one).
    band : bool
        Shade the interquartile range.

    Returns
    -------
    matplotlib.figure.Figure
    """
    where = "plot_convergence"
    _check_runs(where, runs)
    if x not in ("evals", "iterations"):
        raise ValueError(f"{where}: `x` must be one of ['evals', 'iterations']; got {x!r}")
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(6, 4))
    for label, seq in runs.items():
        xs, Y = _curves(seq, x)
        if optimum is not None:
            Y = Y - optimum
        if log:
            pos = Y[Y > 0]
            Y = np.maximum(Y, pos.min() if pos.size else 1e-300)
        med = np.median(Y, axis=0)
        line, = ax.plot(xs, med, label=f"{label} (n={len(seq)})")
        if band and len(seq) > 1:
            q1, q3 = np.percentile(Y, [25, 75], axis=0)
            ax.fill_between(xs, q1, q3, color=line.get_color(), alpha=0.2, linewidth=0)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("function evaluations" if x == "evals" else "iteration")
    ax.set_ylabel("best-so-far " + ("gap f - f*" if optimum is not None else "fitness") + " (median, IQR)")
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_final_values(runs: Mapping[str, Sequence[Any]], *, optimum: float | None = None, log: bool = True,
                      ax=None, title: str | None = None):
    """Box plot of the final best values per label (individual runs overlaid as dots).

    ``runs`` maps labels to sequences of Result (``best_f`` is used) or of numbers.
    """
    where = "plot_final_values"
    _check_runs(where, runs)
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(max(4, 0.7 * len(runs) + 2), 4))
    data = []
    for seq in runs.values():
        v = np.array([getattr(r, "best_f", r) for r in seq], dtype=float)
        if optimum is not None:
            v = v - optimum
        data.append(v)
    if log:
        allpos = np.concatenate([d[d > 0] for d in data]) if any((d > 0).any() for d in data) else np.array([1e-300])
        data = [np.maximum(d, allpos.min()) for d in data]
    ax.boxplot(data, showfliers=False)
    rng = np.random.default_rng(0)  # jitter only
    for i, d in enumerate(data, start=1):
        ax.plot(i + rng.uniform(-0.15, 0.15, d.size), d, ".", color="k", alpha=0.5, markersize=4)
    ax.set_xticks(range(1, len(data) + 1), list(runs), rotation=45, ha="right")
    if log:
        ax.set_yscale("log")
    ax.set_ylabel("final " + ("gap f - f*" if optimum is not None else "best fitness"))
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_diversity(runs: Mapping[str, Sequence[Any]], *, ax=None, title: str | None = None):
    """Median population diversity (mean std / box width) per iteration."""
    where = "plot_diversity"
    _check_runs(where, runs)
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(6, 4))
    for label, seq in runs.items():
        ds = [np.asarray(r.history.diversity, dtype=float) for r in seq]
        n = max(len(d) for d in ds)
        D = np.stack([np.concatenate([d, np.full(n - len(d), d[-1])]) for d in ds])
        ax.plot(np.arange(n), np.median(D, axis=0), label=label)
    ax.set_xlabel("iteration")
    ax.set_ylabel("diversity (mean std / (upper - lower))")
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
