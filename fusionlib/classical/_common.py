"""Small shared kernels of the classical methods (private; no validation)."""
from __future__ import annotations

import torch

from ..filters import pad


def select_max_abs(c: torch.Tensor, dim: int = 1, activity: torch.Tensor | None = None) -> torch.Tensor:
    """Pick, per position, the entry along ``dim`` with the largest activity (default ``|c|``).

    Ties go to the first source. A running ``where`` over the N sources (N is small), which on
    the CPU is several times faster than ``argmax`` + ``gather`` along a non-last axis.
    """
    act = c.abs() if activity is None else activity
    best = c.select(dim, 0)
    best_act = act.select(dim, 0)
    for i in range(1, c.shape[dim]):
        a_i = act.select(dim, i)
        m = a_i > best_act
        best = torch.where(m, c.select(dim, i), best)
        best_act = torch.where(m, a_i, best_act)
    return best


def argmax_sources(act: torch.Tensor, dim: int = 1) -> torch.Tensor:
    """Index of the largest entry along ``dim`` (keepdim), ties to the first; see :func:`select_max_abs`."""
    best = act.select(dim, 0)
    idx = torch.zeros(best.shape, dtype=torch.long, device=act.device)
    for i in range(1, act.shape[dim]):
        a_i = act.select(dim, i)
        m = a_i > best
        best = torch.where(m, a_i, best)
        idx = torch.where(m, torch.full_like(idx, i), idx)
    return idx.unsqueeze(dim)


def pad_to_multiple(x: torch.Tensor, m: int, border: str = "symmetric") -> torch.Tensor:
    """Pad bottom/right so H and W are multiples of ``m``."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % m, (-w) % m
    if ph or pw:
        x = pad(x, (0, pw, 0, ph), border)
    return x
