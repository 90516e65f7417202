"""Figures for the pansharpening / IAOA chapters (matplotlib only)."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["rgb_composite", "plot_model_steps", "plot_convergence", "plot_metric_boxes", "plot_rank_radar",
           "plot_zoom_comparison", "plot_fitness_vs_reference", "plot_cd_diagram", "plot_run_times"]


def _np(x: Any) -> np.ndarray:
    try:
        import torch
        if isinstance(x, torch.Tensor):
            x = x.detach().cpu().numpy()
    except ImportError:  # pragma: no cover
        pass
    return np.asarray(x, dtype=np.float64)


def rgb_composite(x: Any, bands: Sequence[int] = (0, 1, 2), scale: float | None = 255.0) -> np.ndarray:
    """(C, H, W) or (1, C, H, W) multispectral -> HWC in [0, 1] from ``bands`` (divided by ``scale``,
    or stretched to the 1-99 % percentiles when ``scale`` is None)."""
    a = _np(x)
    if a.ndim == 4:
        a = a[0]
    if a.ndim == 2:
        a = a[None]
    a = a[list(bands)] if a.shape[0] >= 3 else a[[0, 0, 0]]
    if scale is None:
        lo, hi = np.percentile(a, [1, 99])
        a = (a - lo) / max(hi - lo, 1e-12)
    else:
        a = a / scale
    return np.clip(np.moveaxis(a, 0, -1), 0, 1)


def plot_model_steps(model: Any, x: Any, image: int = 0, band: int = 0, *, size: float = 2.4):
    """The adaptive model step by step: R, PAN, E_P, E_k, intensity, detail, W_k, F(x)."""
    m = model
    i = image
    fused = m.fuse(_np(x)[None] if _np(x).ndim == 1 else x, i)[0]
    sc = float(m.scale[i].max())
    panels = [
        (rgb_composite(m.target[i], scale=sc), "R = MS_up (target)"),
        (_np(m.pan_norm[i, 0]), "P = PAN / max"),
        (_np(m.edge_pan[i, 0]), "E_P (PAN edges)"),
        (_np(m.edge_ms[i, band]), f"E_{band + 1} (MS band edges)"),
        (_np(m.intensity[i, 0]), "I = sum alpha_k M_k"),
        (_np(m.detail[i, 0]), "D = P~ - I (detail)"),
        (_np(m.spectral_weights[i, band]), f"W_{band + 1} (spectral weight)"),
        (rgb_composite(fused, scale=sc), "F(x) fused"),
    ]
    fig, axes = plt.subplots(2, 4, figsize=(4 * size, 2 * size))
    for ax, (img, title) in zip(axes.ravel(), panels):
        if img.ndim == 2:
            lo, hi = np.percentile(img, [1, 99])
            ax.imshow(img, cmap="gray", vmin=lo, vmax=hi if hi > lo else lo + 1)
        else:
            ax.imshow(img)
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    return fig


def plot_convergence(df: Any, pair: str, *, optimum: float | None = None, log_gap: bool = True,
                     ax: Any = None):
    """Median (line) and IQR (band) over runs of the best fitness against evaluations, per optimiser.

    With ``optimum`` and ``log_gap`` the y axis is the gap ``best - optimum`` on a log scale.
    """
    g = df[df["pair"] == pair]
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.5, 4))
    else:
        fig = ax.figure
    for o, go in g.groupby("optimizer", sort=False):
        curves = list(go["curve"])
        n = max(len(c) for c in curves)
        C = np.vstack([np.pad(c, (0, n - len(c)), mode="edge") for c in curves])
        if optimum is not None and log_gap:
            C = np.maximum(C - optimum, 1e-12)
        q1, med, q3 = np.percentile(C, [25, 50, 75], axis=0)
        ev = np.arange(1, n + 1)
        lw = 2.2 if o == "iaoa" else 1.2
        ax.plot(ev, med, label=o, lw=lw)
        ax.fill_between(ev, q1, q3, alpha=0.15)
    if optimum is not None and log_gap:
        ax.set_yscale("log")
        ax.set_ylabel("fitness gap to the optimum")
    else:
        ax.set_ylabel("best fitness (ERGAS vs MS_up)")
        if optimum is not None:
            ax.axhline(optimum, color="k", ls="--", lw=1, label="closed-form optimum")
    ax.set_xscale("log")
    ax.set_xlabel("fitness evaluations")
    ax.set_title(f"Convergence: {pair}", fontsize=10)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def plot_metric_boxes(df: Any, metric: str = "ERGAS", pair: str | None = None, *, title: str | None = None,
                      ax: Any = None):
    """Box plot of ``metric`` over runs for each optimiser (one pair, or all pairs pooled)."""
    g = df if pair is None else df[df["pair"] == pair]
    names = list(dict.fromkeys(g["optimizer"]))
    data = [g[g["optimizer"] == o][metric].to_numpy() for o in names]
    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 3.6))
    else:
        fig = ax.figure
    ax.boxplot(data, showfliers=True)
    ax.set_xticks(range(1, len(names) + 1), names)
    ax.set_ylabel(metric)
    ax.set_title(title or f"{metric} over runs" + (f" ({pair})" if pair else ""), fontsize=10)
    ax.tick_params(axis="x", labelrotation=45)
    fig.tight_layout()
    return fig


def plot_rank_radar(ranks: Any, *, title: str = "Ranks per metric (1 = best)"):
    """Radar chart: ``ranks`` is a DataFrame (rows optimisers, columns metrics) of ranks."""
    labels = list(ranks.columns)
    angles = np.linspace(0, 2 * np.pi, len(labels), endpoint=False).tolist()
    angles += angles[:1]
    fig = plt.figure(figsize=(5.5, 5.5))
    ax = fig.add_subplot(111, polar=True)
    for name, row in ranks.iterrows():
        v = row.to_numpy(dtype=float).tolist()
        v += v[:1]
        ax.plot(angles, v, lw=2.2 if name == "iaoa" else 1.0, label=name)
    ax.set_xticks(angles[:-1])
    ax.set_xticklabels(labels)
    ax.set_ylim(0, float(np.nanmax(ranks.to_numpy())) + 0.5)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="upper right", bbox_to_anchor=(1.3, 1.1))
    fig.tight_layout()
    return fig


def plot_zoom_comparison(images: Mapping[str, Any], box: tuple[int, int, int] = (96, 96, 64), *,
                         scale: float = 255.0, size: float = 2.3):
    """Each image (C, H, W) in a column: the RGB composite with the box, and the zoomed box below."""
    y, x, s = box
    n = len(images)
    fig, axes = plt.subplots(2, n, figsize=(size * n, 2 * size), squeeze=False)
    for j, (name, img) in enumerate(images.items()):
        rgb = rgb_composite(img, scale=scale)
        axes[0, j].imshow(rgb)
        axes[0, j].add_patch(plt.Rectangle((x, y), s, s, fill=False, ec="yellow", lw=1.2))
        axes[0, j].set_title(name, fontsize=8)
        axes[1, j].imshow(rgb[y:y + s, x:x + s], interpolation="nearest")
        for a in axes[:, j]:
            a.axis("off")
    fig.tight_layout()
    return fig


def plot_fitness_vs_reference(df: Any, *, metric: str = "ERGAS", pair: str | None = None):
    """Scatter of the fitness (ERGAS vs MS_up) against a reference metric, per optimiser."""
    g = df if pair is None else df[df["pair"] == pair]
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for o, go in g.groupby("optimizer", sort=False):
        ax.scatter(go["best_f"], go[metric], s=10, label=o, alpha=0.7)
    ax.set_xlabel("fitness (ERGAS of F vs MS_up)")
    ax.set_ylabel(f"{metric} of F vs reference MS")
    ax.set_title("Fitness vs test metric" + (f" ({pair})" if pair else ""), fontsize=10)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def plot_cd_diagram(ranks: Any, cd: float, *, title: str = "Average ranks (Friedman / Nemenyi)"):
    """A critical-difference diagram: average ranks on an axis and a bar of length ``cd``."""
    r = ranks.sort_values()
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(r) + 1.2))
    ax.hlines(0, 1, max(len(r), float(r.max())), color="k", lw=1)
    for i, (name, v) in enumerate(r.items()):
        yy = -(i + 1) * 0.3
        ax.plot([v, v], [0, yy], color="k", lw=0.7)
        ax.text(v + 0.05, yy, f"{name} ({v:.2f})", va="center", fontsize=8)
    ax.plot([1, 1 + cd], [0.3, 0.3], color="tab:red", lw=3)
    ax.text(1, 0.45, f"CD = {cd:.2f}", color="tab:red", fontsize=8)
    ax.set_ylim(-(len(r) + 1) * 0.3, 0.8)
    ax.set_xlim(0.5, max(len(r), float(r.max())) + 1.5)
    ax.set_yticks([])
    ax.set_xlabel("average rank (lower is better)")
    ax.set_title(title, fontsize=10)
    for s in ("left", "right", "top"):
        ax.spines[s].set_visible(False)
    fig.tight_layout()
    return fig


def plot_run_times(df: Any, *, title: str = "Mean time per run"):
    """Bars of the mean wall time per run (ms) per optimiser, annotated with evaluations per run."""
    g = df.groupby("optimizer", sort=False).agg(t=("wall_time", "mean"), n=("n_evals", "mean"))
    fig, ax = plt.subplots(figsize=(7, 3.3))
    ax.bar(g.index, 1e3 * g["t"])
    for i, (t, n) in enumerate(zip(g["t"], g["n"])):
        ax.text(i, 1e3 * t, f"{n:.0f} ev", ha="center", va="bottom", fontsize=7)
    ax.set_ylabel("ms per run")
    ax.set_title(title, fontsize=10)
    ax.tick_params(axis="x", labelrotation=45)
    fig.tight_layout()
    return fig
