"""Figures of data samples, and a pair browser that works in the static book.

``show_sample`` draws one :class:`fusionlib.data.Sample` (sources, then the
reference when there is one); ``show_samples`` draws one row per sample.
``pair_browser`` is a :func:`fusionlib.widgets.explorer` (Dropdown: data set,
slider: pair) over thumbnails, pre-rendered when the chapter is executed for
the book, so the saved widget state keeps working on the static page.
"""
from __future__ import annotations

import html
from typing import Any, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from .core import figure_grid, to_display

__all__ = ["show_sample", "show_samples", "sample_montage", "pair_browser"]


def _titles(sample: Any) -> list[str]:
    meta = getattr(sample, "meta", {}) or {}
    mods = list(meta.get("modalities") or [])
    out = []
    for k, s in enumerate(sample.sources):
        name = mods[k] if k < len(mods) else f"source {k + 1}"
        out.append(f"{name}\n{s.shape[-2]}×{s.shape[-1]}, C={s.shape[0]}")
    return out


def _panels(sample: Any, reference: bool) -> tuple[list[np.ndarray], list[str]]:
    imgs = list(sample.sources)
    titles = _titles(sample)
    if reference and getattr(sample, "reference", None) is not None:
        imgs.append(sample.reference)
        r = sample.reference
        titles.append(f"reference\n{r.shape[-2]}×{r.shape[-1]}, C={r.shape[0]}")
    return imgs, titles


def _display(img: Any) -> np.ndarray:
    a = np.asarray(img)
    if a.dtype == np.uint8:
        a = a.astype(np.float32) / 255.0
    return to_display(a)            # 4-band MS shows bands 0..2 (R, G, B in fusionlib's order)


def show_sample(sample: Any, *, reference: bool = True, size: float = 2.6, title: str | None = None):
    """Draw a sample's sources (and reference) side by side; returns the figure.

    Titles give the modality and ``H×W, C``. A 4-band MS image is shown as RGB
    from its first three bands (R, G, B). Low-resolution MS is drawn at its own
    pixel size, so the ratio to the PAN is visible.
    """
    if not hasattr(sample, "sources"):
        raise TypeError(f"show_sample: `sample` must be a fusionlib.data.Sample; got {type(sample).__name__}")
    imgs, titles = _panels(sample, reference)
    fig, axes = figure_grid(len(imgs), ncols=len(imgs), size=size)
    for ax, img, t in zip(axes, imgs, titles):
        a = _display(img)
        ax.imshow(a, cmap="gray" if a.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(t, fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    sup = title if title is not None else f"{sample.meta.get('dataset', '')} · {sample.id}".strip(" ·")
    if sup:
        fig.suptitle(sup, fontsize=10)
    fig.tight_layout()
    return fig


def show_samples(samples: Sequence[Any], *, reference: bool = True, size: float = 2.0,
                 row_titles: Sequence[str] | None = None):
    """One row per sample (sources, then reference); returns the figure."""
    samples = list(samples)
    if not samples:
        raise ValueError("show_samples: `samples` must not be empty")
    rows = [_panels(s, reference) for s in samples]
    ncols = max(len(r[0]) for r in rows)
    fig, axes = plt.subplots(len(rows), ncols, figsize=(size * ncols, size * len(rows)), squeeze=False)
    for i, (imgs, titles) in enumerate(rows):
        for j in range(ncols):
            ax = axes[i, j]
            ax.set_xticks([])
            ax.set_yticks([])
            if j >= len(imgs):
                ax.axis("off")
                continue
            a = _display(imgs[j])
            ax.imshow(a, cmap="gray" if a.ndim == 2 else None, vmin=0, vmax=1)
            ax.set_title(titles[j].split("\n")[0], fontsize=8)
        label = row_titles[i] if row_titles is not None else samples[i].id
        axes[i, 0].set_ylabel(label, fontsize=8)
    fig.tight_layout()
    return fig


def _resize_height(a: np.ndarray, height: int) -> np.ndarray:
    from skimage.transform import resize
    h, w = a.shape[:2]
    out_w = max(1, int(round(w * height / h)))
    order = 0 if h < height else 1          # nearest when enlarging (low-res MS stays blocky)
    return resize(a, (height, out_w) + a.shape[2:], order=order, anti_aliasing=h > height,
                  preserve_range=True)


def sample_montage(sample: Any, *, height: int = 128, reference: bool = True, gap: int = 4) -> np.ndarray:
    """Sources (and reference) resized to ``height`` and put side by side: uint8 ``(H, W, 3)``."""
    imgs, _ = _panels(sample, reference)
    tiles = []
    for img in imgs:
        a = _display(img)
        if a.ndim == 2:
            a = np.repeat(a[..., None], 3, axis=2)
        tiles.append(_resize_height(a, height))
        tiles.append(np.ones((height, gap, 3)))
    m = np.concatenate(tiles[:-1], axis=1)
    return np.rint(np.clip(m, 0, 1) * 255).astype(np.uint8)


def pair_browser(datasets: Mapping[str, Any], *, n: int | None = 8, height: int = 128,
                 reference: bool = True, fmt: str = "jpeg", mode: str = "auto"):
    """A Dropdown (data set) + slider (pair index) browser over pair thumbnails.

    Parameters
    ----------
    datasets : mapping name -> Dataset
        The data sets to browse (first ``n`` samples of each).
    n : int or None
        Samples per data set (None: all; mind the notebook size). Data sets with fewer pairs show a
        note for the missing ones.
    height : int
        Thumbnail height in pixels.
    fmt : {'jpeg', 'png'}
        Thumbnail encoding; JPEG (quality 85) keeps the saved widget state, and so
        the committed notebook, small.
    mode : {'auto', 'live', 'static'}
        See :func:`fusionlib.widgets.explorer`; executed for the book, every (data set, pair) thumbnail
        is embedded and the static page switches between them with no kernel.

    Returns
    -------
    fusionlib.widgets.Explorer
    """
    from fusionlib import widgets

    if not datasets:
        raise ValueError("pair_browser: `datasets` must not be empty")
    if fmt not in ("jpeg", "png"):
        raise ValueError(f"pair_browser: `fmt` must be 'jpeg' or 'png'; got {fmt!r}")
    if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n < 1):
        raise ValueError(f"pair_browser: `n` must be None or an integer >= 1; got {n!r}")
    counts = {name: len(ds) if n is None else min(n, len(ds)) for name, ds in datasets.items()}
    if max(counts.values()) < 1:
        raise ValueError("pair_browser: the data sets hold no pair")

    def render(dataset: str, pair: int):
        ds = datasets[dataset]
        if pair >= counts[dataset]:
            return f"<i>{html.escape(dataset)} has {counts[dataset]} pair(s) here</i>"
        s = ds[pair]
        mods = " | ".join(s.meta.get("modalities") or [])
        return (sample_montage(s, height=height, reference=reference),
                f"<b>{html.escape(dataset)}</b><br>{html.escape(str(s.id))}<br>{html.escape(mods)}")

    axes = {"dataset": widgets.dropdown(list(datasets), description="data set"),
            "pair": widgets.slider(range(max(counts.values())))}
    return widgets.explorer(render, axes, mode=mode, grid="product", fmt=fmt, width=None,
                            max_states=max(64, len(datasets) * max(counts.values())))
