"""Figures of the AE-Netv2 experiment chapters (Figs. 4-11 of the paper, as measured by the book)."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from .core import to_display

__all__ = ["plot_fusion_grid", "plot_index_bars", "plot_mean_sd", "plot_bubble", "plot_transfer_matrix",
           "plot_significance"]


def plot_fusion_grid(rows: Mapping[str, Sequence[Any]], col_titles: Sequence[str], *, size: float = 2.0,
                     suptitle: str | None = None):
    """Qualitative grid (Figs. 4, 5, 7, 9): one row per image, one column per source/method.

    ``rows``: row label -> images (same length as ``col_titles``); ``None`` leaves a cell empty.
    """
    labels = list(rows)
    ncol = len(col_titles)
    fig, axes = plt.subplots(len(labels), ncol, figsize=(size * ncol, size * len(labels)), squeeze=False)
    for i, lab in enumerate(labels):
        imgs = list(rows[lab])
        if len(imgs) != ncol:
            raise ValueError(f"plot_fusion_grid: row {lab!r} has {len(imgs)} images; expected {ncol}")
        for j, img in enumerate(imgs):
            ax = axes[i, j]
            ax.set_xticks([])
            ax.set_yticks([])
            if img is None:
                ax.axis("off")
                continue
            a = to_display(img)
            ax.imshow(a, cmap="gray" if a.ndim == 2 else None, vmin=0, vmax=1)
            if i == 0:
                ax.set_title(col_titles[j], fontsize=8)
            if j == 0:
                ax.set_ylabel(lab, fontsize=8)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    return fig


def plot_index_bars(table, *, title: str = "Averaged objective indexes", highlight: str | None = None,
                    ax=None):
    """Fig. 6: grouped bars, one group per index (columns of ``table``), one bar per method (rows)."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * table.shape[1] * max(1, table.shape[0]) / 3), 3.6))
    else:
        fig = ax.figure
    n_m, n_i = table.shape
    width = 0.8 / max(n_m, 1)
    x = np.arange(n_i)
    cmap = plt.get_cmap("tab20")
    for k, (name, row) in enumerate(table.iterrows()):
        kw = {"edgecolor": "black", "linewidth": 1.2} if name == highlight else {}
        ax.bar(x - 0.4 + width * (k + 0.5), row.to_numpy(float), width, label=str(name), color=cmap(k % 20), **kw)
    ax.set_xticks(x)
    ax.set_xticklabels([str(c) for c in table.columns], rotation=20, fontsize=8)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, ncol=min(4, n_m), loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def plot_mean_sd(summary, metrics: Sequence[str], *, paper: Mapping[str, Mapping[str, float]] | None = None,
                 labels: Mapping[str, str] | None = None, ncols: int = 4, size: float = 2.4):
    """Table VII / Fig. 11: per index, the mean ± sd over seeds of every variant (bars with error bars);
    ``paper[metric][variant]`` values (if given) are drawn as black diamonds on a second axis."""
    n = len(metrics)
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols * 1.3, size * nrows), squeeze=False)
    names = list(summary.index)
    x = np.arange(len(names))
    for ax, m in zip(axes.ravel(), metrics):
        mu = summary[(m, "mean")].to_numpy(float)
        sd = np.nan_to_num(summary[(m, "sd")].to_numpy(float))
        ax.bar(x, mu, yerr=sd, color="tab:blue", alpha=0.8, capsize=2)
        lo, hi = np.nanmin(mu - sd), np.nanmax(mu + sd)
        pad = 0.15 * (hi - lo if hi > lo else abs(hi) + 1e-9)
        ax.set_ylim(lo - pad, hi + pad)
        if paper is not None and m in paper:
            pv = [paper[m].get(v, np.nan) for v in names]
            if np.isfinite(pv).any():
                ax2 = ax.twinx()
                ax2.plot(x, pv, "kD", ms=4, label="paper")
                ax2.tick_params(labelsize=6)
        ax.set_title(m, fontsize=9)
        ax.set_xticks(x)
        ax.set_xticklabels([(labels or {}).get(v, v) for v in names], rotation=60, fontsize=6, ha="right")
        ax.tick_params(axis="y", labelsize=7)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    fig.tight_layout()
    return fig


def plot_bubble(df, *, x: str, y: str, size: str, label: str, xlabel: str | None = None,
                ylabel: str | None = None, logy: bool = False, ax=None, max_area: float = 1500.0):
    """Fig. 10: quality (x) against time (y), bubble area proportional to the model size."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.0, 4.2))
    else:
        fig = ax.figure
    s = df[size].to_numpy(float)
    area = max_area * s / np.nanmax(s)
    ax.scatter(df[x], df[y], s=np.maximum(area, 12), alpha=0.45, color="tab:orange", edgecolor="k")
    for xi, yi, t in zip(df[x], df[y], df[label]):
        ax.annotate(str(t), (xi, yi), fontsize=7, ha="center", va="bottom")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel or x)
    ax.set_ylabel(ylabel or y)
    ax.set_title(f"bubble area ∝ {size}", fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def plot_transfer_matrix(matrix, *, title: str = "", fmt: str = "{:.3f}", cmap: str = "viridis",
                         higher_is_better: bool = True, ax=None):
    """Fig. 8 as numbers: train-task (rows) x test-task (columns) heat map; the best row per column boxed."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(1.3 * matrix.shape[1] + 2.5, 0.6 * matrix.shape[0] + 1.6))
    else:
        fig = ax.figure
    v = matrix.to_numpy(float)
    im = ax.imshow(v, cmap=cmap if higher_is_better else f"{cmap}_r", aspect="auto")
    for i in range(v.shape[0]):
        for j in range(v.shape[1]):
            if np.isfinite(v[i, j]):
                ax.text(j, i, fmt.format(v[i, j]), ha="center", va="center", fontsize=8, color="w")
    for j in range(v.shape[1]):
        col = v[:, j]
        if np.isfinite(col).any():
            i = int(np.nanargmax(col) if higher_is_better else np.nanargmin(col))
            ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, ec="red", lw=2))
    ax.set_xticks(range(v.shape[1]))
    ax.set_xticklabels([str(c) for c in matrix.columns], rotation=20, fontsize=8)
    ax.set_yticks(range(v.shape[0]))
    ax.set_yticklabels([str(r) for r in matrix.index], fontsize=8)
    ax.set_xlabel("test task")
    ax.set_ylabel("trained on")
    ax.set_title(title, fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.04)
    fig.tight_layout()
    return fig


def plot_significance(tests, *, groups: Sequence[str] | None = None, title: str = "", ax=None):
    """Matrix of Holm-adjusted p-values from ``paired_tests`` (lower triangle), significant cells marked."""
    groups = list(groups) if groups is not None else sorted(set(tests["a"]) | set(tests["b"]))
    k = len(groups)
    pos = {g: i for i, g in enumerate(groups)}
    p = np.full((k, k), np.nan)
    for a, b, ph in zip(tests["a"], tests["b"], tests["p_holm"]):
        i, j = sorted((pos[a], pos[b]), reverse=True)
        p[i, j] = ph
    if ax is None:
        fig, ax = plt.subplots(figsize=(0.55 * k + 2.2, 0.5 * k + 1.4))
    else:
        fig = ax.figure
    im = ax.imshow(-np.log10(np.clip(p, 1e-6, 1)), cmap="magma_r", vmin=0, vmax=4)
    for i in range(k):
        for j in range(k):
            if np.isfinite(p[i, j]):
                ax.text(j, i, f"{p[i, j]:.2g}" + ("*" if p[i, j] < 0.05 else ""), ha="center", va="center",
                        fontsize=6, color="k" if p[i, j] > 0.01 else "w")
    ax.set_xticks(range(k))
    ax.set_xticklabels(groups, rotation=60, fontsize=7, ha="right")
    ax.set_yticks(range(k))
    ax.set_yticklabels(groups, fontsize=7)
    ax.set_title(title or "Holm-adjusted p (* < 0.05)", fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.04, label="-log10 p")
    fig.tight_layout()
    return fig
