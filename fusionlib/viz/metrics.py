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
                         blur_max: float = 4.0, noise_max: float = 0.2, seed: int = 0):
    """A widget panel: sliders for blur, noise and contrast; shows the degraded image (PNG) and the
    table ``score(degraded)`` (a callable, e.g. ``lambda x: fl.metrics.evaluate(...)``).

    Built from ``ipywidgets`` only (image and HTML widgets updated by ``observe``), so it renders the
    same in a live kernel and in an executed notebook (the static page shows the initial state).
    """
    import io

    import ipywidgets as w

    sliders = {"blur": w.FloatSlider(min=0.0, max=blur_max, step=0.25, value=0.0, description="blur"),
               "noise": w.FloatSlider(min=0.0, max=noise_max, step=0.01, value=0.0, description="noise"),
               "contrast": w.FloatSlider(min=0.2, max=1.5, step=0.05, value=1.0, description="contrast")}
    picture = w.Image(format="png", width=256)
    table = w.HTML()

    def update(_change=None):
        x = degrade(image, **{k: s.value for k, s in sliders.items()}, seed=seed)
        buf = io.BytesIO()
        a = to_display(x)
        plt.imsave(buf, a, cmap="gray" if a.ndim == 2 else None, vmin=0, vmax=1, format="png")
        picture.value = buf.getvalue()
        rows = "".join(f"<tr><td>{k}</td><td style='text-align:right'>{v:.4g}</td></tr>"
                       for k, v in score(x).items())
        table.value = f"<table><tr><th>metric</th><th>value</th></tr>{rows}</table>"

    for s_ in sliders.values():
        s_.observe(update, names="value")
    update()
    return w.VBox([w.HBox(list(sliders.values())), w.HBox([picture, table])])
