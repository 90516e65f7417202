"""Basic figure helpers shared by every chapter."""
from __future__ import annotations

from typing import Any, Sequence



import matplotlib.pyplot as plt
import numpy as np  # noqa: E402

__all__ = ["to_display", "show_images", "figure_grid"]


def to_display(img: Any) -> np.ndarray:
    """Any (H, W), (C, H, W), (1, C, H, W) array or tensor -> HWC or HW float for imshow."""
    try:
        import torch
        if isinstance(img, torch.Tensor):
            img = img.detach().cpu().float().numpy()
    except ImportError:  # pragma: no cover
        pass
    a = np.asarray(img, dtype=np.float32)
    if a.ndim == 4:
        a = a[0]
    if a.ndim == 3:
        a = a[0] if a.shape[0] == 1 else np.moveaxis(a[:3], 0, -1)
    return np.clip(a, 0.0, 1.0)


def figure_grid(n: int, ncols: int = 4, size: float = 2.6):
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    return fig, axes.ravel()[:n]


def show_images(images: Sequence[Any], titles: Sequence[str] | None = None, *, ncols: int = 4,
                size: float = 2.6, suptitle: str | None = None):
    """Show images side by side (gray in gray colormap); returns the figure."""
    fig, axes = figure_grid(len(images), ncols=ncols, size=size)
    for i, (ax, img) in enumerate(zip(axes, images)):
        a = to_display(img)
        ax.imshow(a, cmap="gray" if a.ndim == 2 else None, vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
        if titles is not None:
            ax.set_title(titles[i], fontsize=9)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig
