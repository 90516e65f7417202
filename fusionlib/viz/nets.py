"""Figures of the networks chapter: training curves, Algorithm 1 candidates, complexity."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from .core import to_display

__all__ = ["plot_history", "plot_label_candidates", "plot_complexity"]


def plot_history(history: Any, *, title: str | None = None, smooth: int = 1):
    """Loss per optimiser step (light) and per epoch (train, and validation when present); the
    validation curve every ``val_every`` steps and its best step when the run recorded them.

    ``history``: a :class:`fusionlib.nets.TrainHistory` or its ``as_dict()``.
    """
    h = history.as_dict() if hasattr(history, "as_dict") else dict(history)
    fig, ax = plt.subplots(figsize=(6.0, 3.4))
    steps = np.asarray(h.get("step_loss", []), float)
    if steps.size:
        if smooth > 1 and steps.size >= smooth:
            steps = np.convolve(steps, np.ones(smooth) / smooth, mode="valid")
        ax.plot(np.arange(1, steps.size + 1), steps, color="0.7", lw=1, label="step loss")
    per_epoch = np.cumsum(np.asarray(h.get("steps", []), float))
    if per_epoch.size:
        ax.plot(per_epoch, h["train_loss"], "o-", color="C0", label="train (epoch mean)")
        val = np.asarray(h.get("val_loss", []), float)
        if val.size and np.isfinite(val).any():
            ax.plot(per_epoch, val, "s--", color="C1", label="validation")
        lrs = h.get("lr", [])
        for i in range(1, len(lrs)):
            if lrs[i] != lrs[i - 1]:
                ax.axvline(per_epoch[i - 1], color="k", lw=0.8, ls=":")
                ax.text(per_epoch[i - 1], ax.get_ylim()[1], f" lr {lrs[i]:g}", va="top", fontsize=8)
    if h.get("val_curve"):
        ax.plot(h["val_step"], h["val_curve"], "d-", color="C3", ms=3, label="validation (every k steps)")
        if h.get("best_step") is not None:
            ax.axvline(h["best_step"], color="C3", lw=0.8, ls="--")
    ax.set_xlabel("optimiser step")
    ax.set_ylabel("loss")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_label_candidates(sources: Sequence[Any], candidates: Mapping[str, Any], scores: Mapping[str, float],
                          chosen: str, *, title: str | None = None, size: float = 2.3):
    """Sources, every library candidate with its E2 score, the chosen label outlined."""
    items = [(f"source {i + 1}", s, None) for i, s in enumerate(sources)]
    items += [(f"{k}\nE2 = {scores[k]:.3f}", v, k) for k, v in candidates.items()]
    n = len(items)
    fig, axes = plt.subplots(1, n, figsize=(size * n, size * 1.15), squeeze=False)
    for ax, (lab, img, key) in zip(axes[0], items):
        a = to_display(img)
        ax.imshow(a, cmap="gray" if a.ndim == 2 else None, vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(lab + ("  <- O" if key == chosen else ""), fontsize=8,
                     color="C3" if key == chosen else "k")
        if key == chosen:
            for sp in ax.spines.values():
                sp.set_color("C3")
                sp.set_linewidth(3)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_complexity(labels: Sequence[str], params: Sequence[float], flops: Sequence[float],
                    paper_flops: Sequence[float | None] | None = None, *, title: str | None = None):
    """Parameters and Table VI FLOPs (log scale) per network; the paper's values as markers."""
    x = np.arange(len(labels))
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    axes[0].bar(x, params, color="C0")
    axes[0].set_ylabel("parameters")
    axes[1].bar(x, np.asarray(flops) / 1e9, color="C2", label="counted here")
    if paper_flops is not None:
        pf = np.array([np.nan if v is None else v / 1e9 for v in paper_flops])
        axes[1].plot(x, pf, "k_", ms=18, mew=2, label="Table VI")
        axes[1].legend(fontsize=8)
    axes[1].set_ylabel("GFLOPs per 400x400 pass (Table VI rule)")
    for ax in axes:
        ax.set_yscale("log")
        ax.set_xticks(x)
        ax.set_xticklabels(labels, rotation=60, ha="right", fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
