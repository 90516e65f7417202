"""Batched histograms and entropies on integer grey levels (private kernels, no validation)."""
from __future__ import annotations

import math

import torch

LEVELS = 256


def hist(q: torch.Tensor, levels: int = LEVELS) -> torch.Tensor:
    """``q`` (M, P) int64 in [0, levels) -> probabilities (M, levels) float64."""
    m, p = q.shape
    offs = torch.arange(m, device=q.device).unsqueeze(1) * levels
    counts = torch.bincount((q + offs).reshape(-1), minlength=m * levels)
    return counts.reshape(m, levels).to(torch.float64) / p


def joint_hist(a: torch.Tensor, b: torch.Tensor, levels: int = LEVELS) -> torch.Tensor:
    """``a``, ``b`` (M, P) int64 -> joint probabilities (M, levels, levels), rows index ``a``."""
    m, p = a.shape
    offs = torch.arange(m, device=a.device).unsqueeze(1) * (levels * levels)
    idx = (a * levels + b + offs).reshape(-1)
    counts = torch.bincount(idx, minlength=m * levels * levels)
    return counts.reshape(m, levels, levels).to(torch.float64) / p


def plogp(p: torch.Tensor, base: float) -> torch.Tensor:
    """Elementwise p log p with 0 log 0 = 0, in the given log base."""
    safe = torch.where(p > 0, p, torch.ones_like(p))
    return p * torch.log(safe) / math.log(base)


def entropy_of(p: torch.Tensor, base: float = 2.0) -> torch.Tensor:
    """Entropy of probability vectors/matrices over all but the first axis."""
    return -plogp(p, base).reshape(p.shape[0], -1).sum(dim=1)


def mutual_info(a: torch.Tensor, b: torch.Tensor, base: float = 2.0
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """MI(a, b), H(a), H(b) from a 256x256 joint histogram; each (M,)."""
    pab = joint_hist(a, b)
    ha = entropy_of(pab.sum(dim=2), base)
    hb = entropy_of(pab.sum(dim=1), base)
    hab = entropy_of(pab, base)
    return ha + hb - hab, ha, hb
