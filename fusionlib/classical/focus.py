"""Multi-focus fusion by a focus-measure decision map with consistency verification."""
from __future__ import annotations

from typing import Any

import torch

from .._checks import check_choice, check_int
from .._convert import stack_sources
from ..filters import box_sum, pad
from ._common import argmax_sources
from ._registry import MAX_WINDOW, register_method
from .._checks import choice_param, int_param

__all__ = ["focus_measure", "focus_decision_map"]

FOCUS_MEASURES = ("sml", "eol", "variance")


def _focus(x: torch.Tensor, measure: str, window: int) -> torch.Tensor:
    r = window // 2
    if measure == "variance":
        m = box_sum(x, r) / window ** 2
        return box_sum(x * x, r) / window ** 2 - m * m
    p = pad(x, (1, 1, 1, 1), "replicate")
    h, w = x.shape[-2:]
    c = p[..., 1:1 + h, 1:1 + w]
    dxx = 2 * c - p[..., 1:1 + h, 0:w] - p[..., 1:1 + h, 2:2 + w]
    dyy = 2 * c - p[..., 0:h, 1:1 + w] - p[..., 2:2 + h, 1:1 + w]
    if measure == "sml":
        return box_sum(dxx.abs() + dyy.abs(), r)
    return box_sum((dxx + dyy).square(), r)


def _decision(x: torch.Tensor, measure: str, window: int, consistency: int) -> torch.Tensor:
    """(B, N, H, W) -> index map (B, 1, H, W)."""
    fm = _focus(x, measure, window)
    idx = argmax_sources(fm)
    if consistency > 1:
        onehot = torch.zeros_like(x).scatter_(1, idx, 1.0)
        idx = argmax_sources(box_sum(onehot, consistency // 2))
    return idx


def focus_measure(sources: Any, *, measure: str = "sml", window: int = 7):
    """Focus measure of every source, (N, H, W) or (B, N, H, W) (gray or luminance-averaged)."""
    check_choice("focus_measure", "measure", measure, FOCUS_MEASURES)
    window = check_int("focus_measure", "window", window, minimum=1)
    x, o = stack_sources(sources, where="focus_measure", name="sources")
    fm = _focus(x.mean(2), measure, window)
    fm = fm[0] if o.rank < 4 else fm
    return fm.cpu().numpy() if o.numpy else fm


def focus_decision_map(sources: Any, *, measure: str = "sml", window: int = 7, consistency: int = 7):
    """Index of the chosen source per pixel, (H, W) or (B, H, W) int64."""
    check_choice("focus_decision_map", "measure", measure, FOCUS_MEASURES)
    x, o = stack_sources(sources, where="focus_decision_map", name="sources")
    d = _decision(x.mean(2), measure, window, consistency)[:, 0]
    d = d[0] if o.rank < 4 else d
    return d.cpu().numpy() if o.numpy else d


@register_method("focus_map", full_name="Focus-measure decision map with consistency verification",
                 tasks=("multi-focus",),
                 reference="Huang & Jing, Pattern Recognit. Lett. 28(4) 2007 493-500, "
                           "doi:10.1016/j.patrec.2006.09.005 (focus measures); Li, Manjunath, Mitra, "
                           "Graph. Models Image Process. 57(3) 1995, doi:10.1006/gmip.1995.1022 "
                           "(consistency verification)",
                 params=dict(
                     measure=choice_param(*FOCUS_MEASURES),
                     window=int_param(1, MAX_WINDOW),
                     consistency=int_param(1, MAX_WINDOW)))
def _focus_map(x: torch.Tensor, *, measure: str = "sml", window: int = 7,
               consistency: int = 7) -> torch.Tensor:
    """Multi-focus fusion by a decision map.

    Focus measure ``FM_i`` over a ``window^2`` neighbourhood (``'sml'``: sum of the
    modified Laplacian ``|2I - I_l - I_r| + |2I - I_u - I_d|``; ``'eol'``: energy
    of the Laplacian; ``'variance'``: local variance), decision ``d = argmax_i FM_i``,
    consistency verification: majority vote of d in a ``consistency^2`` window
    (1 = off); ``F = I_d`` pixel-wise.

    Parameters
    ----------
    measure : {'sml', 'eol', 'variance'}, default 'sml'
        SML was the best measure in Huang & Jing's comparison.
    window : int, default 7
    consistency : int, default 7

    Notes
    -----
    Conventions: windows truncated at the border (zero-padded sums), replicate
    borders for the Laplacian, ties go to the first source.
    """
    check_choice("focus_map", "measure", measure, FOCUS_MEASURES)
    window = check_int("focus_map", "window", window, minimum=1)
    consistency = check_int("focus_map", "consistency", consistency, minimum=1)
    idx = _decision(x, measure, window, consistency)
    return torch.gather(x, 1, idx)
