"""Figures for the classical fusion chapter: pyramids, wavelet subbands, weight maps, result grids."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from .core import figure_grid, to_display

__all__ = ["plot_pyramid", "plot_subbands", "plot_dtcwt_subbands", "plot_weight_maps", "plot_classical_grid"]


def _arr(x: Any) -> np.ndarray:
    try:
        import torch
        if isinstance(x, torch.Tensor):
            x = x.detach().cpu().numpy()
    except ImportError:  # pragma: no cover
        pass
    a = np.asarray(x, dtype=np.float64)
    while a.ndim > 2:
        a = a[0]
    return a


def plot_pyramid(levels: Sequence[Any], *, title: str = "Laplacian pyramid", size: float = 2.4):
    """Levels of a pyramid, finest first; detail levels shown as ``|L|`` scaled to their maximum."""
    fig, axes = figure_grid(len(levels), ncols=len(levels), size=size)
    for k, (ax, lev) in enumerate(zip(axes, levels)):
        a = _arr(lev)
        top = k == len(levels) - 1
        shown = a if top else np.abs(a) / (np.abs(a).max() + 1e-12)
        ax.imshow(shown, cmap="gray" if top else "magma", vmin=0, vmax=1 if not top else None)
        ax.set_title(f"{'top G' if top else '|L|'}{k}  {a.shape[0]}x{a.shape[1]}", fontsize=8)
        ax.set_xticks([]); ax.set_yticks([])
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_subbands(coeffs: Sequence[Any], *, title: str = "DWT subbands", size: float = 2.0):
    """``[cA, (cH, cV, cD) coarsest, ..., finest]`` as a grid: one row per level, |coefficients|."""
    n_lev = len(coeffs) - 1
    fig, axes = plt.subplots(n_lev, 4, figsize=(4 * size, n_lev * size), squeeze=False)
    for row in range(n_lev):
        bands = [coeffs[0] if row == 0 else None] + list(coeffs[1 + row])
        for col, (ax, band, name) in enumerate(zip(axes[row], bands, ["cA", "cH", "cV", "cD"])):
            ax.set_xticks([]); ax.set_yticks([])
            if band is None:
                ax.axis("off")
                continue
            a = _arr(band)
            ax.imshow(a if col == 0 else np.abs(a), cmap="gray" if col == 0 else "magma")
            ax.set_title(f"level {n_lev - row}: {name}", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


DTCWT_ANGLES = (15, 45, 75, 105, 135, 165)


def plot_dtcwt_subbands(highpasses: Sequence[Any], *, levels: Sequence[int] | None = None,
                        title: str = "DT-CWT subbands (|coefficients|)", size: float = 1.9):
    """The six oriented complex subbands of each DT-CWT level: one row per level, ``|w|``.

    ``highpasses`` as :func:`fusionlib.classical.dtcwt_forward` returns them for NumPy input
    (level l: ``(h, w, 6)``, finest first); columns at about 15 ... 165 degrees.
    """
    levels = list(range(len(highpasses))) if levels is None else list(levels)
    fig, axes = plt.subplots(len(levels), 6, figsize=(6 * size, len(levels) * size), squeeze=False)
    for row, lev in enumerate(levels):
        hp = np.asarray(highpasses[lev])
        while hp.ndim > 3:
            hp = hp[0]
        mag = np.abs(hp)
        top = float(mag.max()) or 1.0
        for k in range(6):
            ax = axes[row, k]
            ax.imshow(mag[..., k] / top, cmap="magma", vmin=0, vmax=1)
            ax.set_title(f"level {lev + 1}: {DTCWT_ANGLES[k]}\N{DEGREE SIGN}", fontsize=8)
            ax.set_xticks([]); ax.set_yticks([])
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_weight_maps(maps: Sequence[Any], titles: Sequence[str], *, ncols: int = 4, size: float = 2.6,
                     cmap: str = "viridis", suptitle: str | None = None):
    """Decision or weight maps with a shared [0, 1] colour scale (an index map is scaled by its max)."""
    fig, axes = figure_grid(len(maps), ncols=ncols, size=size)
    im = None
    for ax, m, t in zip(axes, maps, titles):
        a = _arr(m)
        if a.max() > 1:
            a = a / a.max()
        im = ax.imshow(a, cmap=cmap, vmin=0, vmax=1)
        ax.set_title(t, fontsize=9)
        ax.set_xticks([]); ax.set_yticks([])
    if im is not None:
        fig.colorbar(im, ax=list(axes), shrink=0.8)
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def plot_classical_grid(sources: Sequence[Any], results: Mapping[str, Any], *, ncols: int = 5,
                     size: float = 2.4, suptitle: str | None = None):
    """Sources first, then one panel per method."""
    items = [(f"source {i + 1}", s) for i, s in enumerate(sources)] + list(results.items())
    fig, axes = figure_grid(len(items), ncols=ncols, size=size)
    for ax, (name, img) in zip(axes, items):
        a = to_display(img)
        ax.imshow(a, cmap="gray" if a.ndim == 2 else None, vmin=0, vmax=1)
        ax.set_title(name, fontsize=9)
        ax.set_xticks([]); ax.set_yticks([])
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig
