"""Figures and widgets for the metrics chapter (matplotlib / ipywidgets only; no fusionlib.metrics import:
scores come in through callables or arrays)."""
from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from .core import to_display

__all__ = ["degrade", "plot_degradation_curves", "plot_correlation_heatmap", "plot_reproduction_errors",
           "degradation_explorer"]


def degrade(image: Any, *, blur: float = 0.0, noise: float = 0.0, contrast: float = 1.0,
            seed: int = 0) -> np.ndarray:
    """Gaussian blur (sigma in px), additive Gaussian noise (sd on [0, 1]) and a contrast gain about the
    mean, then clipping to [0, 1] and 8-bit quantisation. ``image`` is (C, H, W) or (H, W) in [0, 1]."""
    from scipy import ndimage as ndi

    x = np.asarray(image, dtype=np.float64)
    if blur > 0:
        sig = (0,) * (x.ndim - 2) + (blur, blur)
        x = ndi.gaussian_filter(x, sig, mode="reflect")
    if contrast != 1.0:
        x = x.mean() + contrast * (x - x.mean())
    if noise > 0:
        x = x + np.random.default_rng(seed).normal(0.0, noise, x.shape)
    return (np.round(np.clip(x, 0.0, 1.0) * 255) / 255).astype(np.float32)


def plot_degradation_curves(levels: Mapping[str, Sequence[float]],
                            values: Mapping[str, Mapping[str, Sequence[float]]],
                            *, higher_is_better: Mapping[str, bool] | None = None, title: str = ""):
    """One panel per degradation (blur, noise, contrast): every metric normalised to its value at the
    first level (so that curves share an axis), lower-is-better metrics dashed."""
    kinds = list(levels)
    fig, axes = plt.subplots(1, len(kinds), figsize=(4.2 * len(kinds), 3.4), squeeze=False)
    for ax, kind in zip(axes[0], kinds):
        x = np.asarray(levels[kind], dtype=float)
        for name, v in values[kind].items():
            v = np.asarray(v, dtype=float)
            ref = v[0] if v[0] != 0 else 1.0
            style = "-" if higher_is_better is None or higher_is_better.get(name, True) else "--"
            ax.plot(x, v / ref, style, marker="o", ms=3, label=name)
        ax.set_xlabel(kind)
        ax.set_ylabel("value / value at first level")
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_correlation_heatmap(matrix: Any, *, labels: Sequence[str] | None = None, title: str = "",
                             fmt: str = "{:.2f}"):
    """Annotated heatmap of a square correlation matrix (DataFrame or array), colour range [-1, 1]."""
    if hasattr(matrix, "columns"):
        labels = list(matrix.columns) if labels is None else labels
        matrix = matrix.to_numpy()
    m = np.asarray(matrix, dtype=float)
    labels = labels or [str(i) for i in range(m.shape[0])]
    fig, ax = plt.subplots(figsize=(0.55 * len(labels) + 2.5, 0.55 * len(labels) + 1.8))
    im = ax.imshow(m, cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            ax.text(j, i, fmt.format(m[i, j]), ha="center", va="center", fontsize=6,
                    color="white" if abs(m[i, j]) > 0.6 else "black")
    fig.colorbar(im, ax=ax, fraction=0.046)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_reproduction_errors(worst: Mapping[str, float], *, tolerance: float = 1e-3, title: str = ""):
    """Bar chart (log scale) of the worst relative error per metric against a tolerance line."""
    names = list(worst)
    vals = np.maximum(np.asarray([worst[n] for n in names], dtype=float), 1e-12)
    fig, ax = plt.subplots(figsize=(0.5 * len(names) + 2.5, 3.2))
    ax.bar(range(len(names)), vals, color=["C0" if v <= tolerance else "C3" for v in vals])
    ax.axhline(tolerance, color="k", ls="--", lw=1, label=f"tolerance {tolerance:g}")
    ax.set_yscale("log")
    ax.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("worst relative error")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def degradation_explorer(image: Any, score: Callable[[np.ndarray], Mapping[str, float]], *,
                         blur_max: float = 3.0, noise_max: float = 0.2, seed: int = 0, mode: str = "auto",
                         grid: Any = "auto", fmt: str = "png", width: int | None = 256):
    """Sliders for blur, noise and contrast over the degraded ``image`` (see :func:`degrade`) and the table
    ``score(degraded)`` (a callable, e.g. ``lambda x: fl.metrics.evaluate(...)``).

    A :func:`fusionlib.widgets.explorer`: blur in steps of 0.5 px up to ``blur_max``, noise in 5 steps up to
    ``noise_max``, contrast gains 0.25 ... 1.5. In a live kernel every combination is computed on demand;
    executed for the book (``FUSIONLIB_WIDGETS=static``) it embeds the states one slider at a time (the
    others at 0, 0 and 1), which the static page switches between with no kernel.
    """
    from fusionlib import widgets

    if not callable(score):
        raise TypeError(f"degradation_explorer: `score` must be callable; got {type(score).__name__}")
    for name, v in (("blur_max", blur_max), ("noise_max", noise_max)):
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not np.isfinite(v) or v <= 0:
            raise ValueError(f"degradation_explorer: `{name}` must be a positive number; got {v!r}")
    base = np.asarray(image)

    def render(blur: float, noise: float, contrast: float):
        x = degrade(base, blur=blur, noise=noise, contrast=contrast, seed=seed)
        return x, dict(score(x))

    axes = {"blur": widgets.slider(np.round(np.arange(0.0, blur_max + 1e-9, 0.5), 6), value=0.0),
            "noise": widgets.slider(np.round(np.linspace(0.0, noise_max, 5), 6), value=0.0),
            "contrast": widgets.slider([0.25, 0.5, 0.75, 1.0, 1.25, 1.5], value=1.0)}
    return widgets.explorer(render, axes, mode=mode, grid=grid, fmt=fmt, width=width)
