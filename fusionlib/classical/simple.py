"""Pixel-wise rules: average and choose-max."""
from __future__ import annotations

import torch

from ._registry import register_method

_ALL = ("infrared-visible", "multi-focus", "multi-exposure", "medical")


@register_method("average", full_name="Pixel-wise average", tasks=_ALL,
                 reference="Baseline rule; e.g. Zhang et al., VIFB, CVPRW 2020, arXiv:2002.03322")
def _average(x: torch.Tensor) -> torch.Tensor:
    """Average fusion: ``F = (1/N) sum_i I_i``.

    Notes
    -----
    Conventions: any number of sources; luminance only (chroma by the weighted
    rule of :func:`fuse_chroma`).
    """
    out = x[:, :1].clone() if x.shape[1] == 1 else torch.add(x[:, :1], x[:, 1:2])
    for i in range(2, x.shape[1]):      # source by source: faster on the CPU than mean(dim=1)
        out.add_(x[:, i:i + 1])
    return out.div_(x.shape[1])


@register_method("max", full_name="Pixel-wise choose-max", tasks=_ALL,
                 reference="Baseline rule; e.g. Piella, Information Fusion 4 (2003) 259-280, "
                           "doi:10.1016/S1566-2535(03)00046-0")
def _max(x: torch.Tensor) -> torch.Tensor:
    """Choose-max fusion: ``F = max_i I_i`` (pixel-wise maximum of the luminance)."""
    out = x[:, :1].clone() if x.shape[1] == 1 else torch.maximum(x[:, :1], x[:, 1:2])
    for i in range(2, x.shape[1]):      # source by source: faster on the CPU than amax(dim=1)
        torch.maximum(out, x[:, i:i + 1], out=out)
    return out
