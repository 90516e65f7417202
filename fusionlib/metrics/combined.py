"""E2, AE-Netv2's "Combined" evaluator (reconstructed; aenetv2 note §6), scoring sets of candidates.

AE-Netv2 labels each training pair with the candidate fused image that maximises "E2 [1]", which no
public source defines. The reconstruction, with every choice a parameter:

1. per candidate k of a pair, compute EN, AG, SSIM (mean over sources), VIF (pixel-domain, mean over
   sources; the paper prints the VIF ratio and calls it VIFF), NIQE, PSNR (mean over sources) and MI
   (sum over sources); BRENNER optionally;
2. orient: NIQE -> 1/NIQE (the paper's "reciprocal of NIQE"), other lower-is-better metrics -> negated;
3. normalise per pair across its K candidates: (s - min) / (max - min + 1e-12);
4. aggregate: weighted mean of the normalised scores (``'minmax'``), or Borda ranks, z-scores, or the raw
   oriented sum (``'sum'``, which reproduces Table VII's Brenner dominance);
5. the label is argmax_k E2.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch

from .._checks import ShapeError, check_choice, check_finite, check_positive, check_range
from .._convert import stack_sources
from ..filters import rgb_to_gray
from ._common import quantize as to_levels
from .gradient import _ag, _brenner
from .information import _entropy, _mutual_information
from .nss import _niqe, _to_gray
from .perceptual import _vif, _viff
from .structural import _psnr, _ssim

__all__ = ["e2", "E2Result", "E2_METRICS"]

#: Component metrics E2 knows, with their direction (True: higher is better).
E2_METRICS = {"entropy": True, "average_gradient": True, "ssim": True, "vif": True, "viff": True,
              "niqe": False,
              "psnr": True, "mutual_information": True, "brenner": True}
DEFAULT_E2 = ("entropy", "average_gradient", "ssim", "vif", "niqe", "psnr", "mutual_information")


@dataclass(frozen=True)
class E2Result:
    """Scores of K candidates for each of B pairs.

    Attributes
    ----------
    scores : (B, K) array or tensor
        E2 per candidate (higher is better).
    best : (B,) int array or tensor
        argmax_k of ``scores`` (the label).
    raw : dict of str -> (B, K)
        Each component metric, un-normalised (NIQE as NIQE, lower is better).
    normalized : (B, K, M)
        The oriented, per-pair normalised components that were aggregated (M = len(names)).
    names : tuple of str
        Component order of ``normalized``.
    """

    scores: Any
    best: Any
    raw: dict
    normalized: Any
    names: tuple


def _component(name: str, f: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """Raw metric of (M, C, H, W) candidates against (M, N, C, H, W) sources, 0..255 float64."""
    if name == "entropy":
        return _entropy(to_levels("e2", "candidates", f, True))
    if name == "average_gradient":
        return _ag(f)
    if name == "brenner":
        return _brenner(f, "horizontal")
    if name == "ssim":
        return _ssim(f, s, "default")
    if name == "vif":
        return _vif(f, s, "mean")
    if name == "viff":
        return _viff(f, s)
    if name == "psnr":
        return _psnr(f, s, "default").clamp(max=100.0)  # identical images: inf -> 100 dB
    if name == "mutual_information":
        return _mutual_information(to_levels("e2", "candidates", f, True),
                                   to_levels("e2", "sources", s, True), 2.0)
    if name == "niqe":
        return _niqe(_to_gray(f, "gray"))
    raise KeyError(name)


def _orient(name: str, v: torch.Tensor) -> torch.Tensor:
    if name == "niqe":
        return 1.0 / v.clamp_min(1e-12)
    return v if E2_METRICS[name] else -v


def _aggregate(o: torch.Tensor, w: torch.Tensor, how: str) -> tuple[torch.Tensor, torch.Tensor]:
    """o (B, K, M) oriented scores -> (normalised (B, K, M), E2 (B, K))."""
    if how == "minmax":
        lo = o.amin(dim=1, keepdim=True)
        hi = o.amax(dim=1, keepdim=True)
        n = (o - lo) / (hi - lo + 1e-12)
    elif how == "zscore":
        mu = o.mean(dim=1, keepdim=True)
        sd = o.std(dim=1, unbiased=False, keepdim=True)
        n = (o - mu) / (sd + 1e-12)
    elif how == "borda":  # rank 0 = worst .. K-1 = best; ties share the lower rank
        n = (o.unsqueeze(2) > o.unsqueeze(1)).sum(dim=2).to(o.dtype)
    else:  # "sum": raw oriented values
        n = o
    return n, (n * w).sum(dim=-1) / w.sum()


def e2(candidates: Any, sources: Any, *, metrics: Sequence[str] = DEFAULT_E2,
       weights: Sequence[float] | None = None, aggregation: str = "minmax", data_range: float = 1.0
       ) -> E2Result:
    """E2 ("Combined") scores of K candidate fused images per pair, and the best candidate.

    Parameters
    ----------
    candidates : (K, C, H, W) for one pair, or (B, K, C, H, W) for B pairs; values in [0, data_range]
    sources : list of N images (each (C, H, W) or (H, W)) for one pair, or (B, N, C, H, W)
    metrics : sequence of str
        Components, from ``E2_METRICS`` (default: EN, AG, SSIM, VIF, NIQE, PSNR, MI).
        NIQE needs at least 192 x 192 images.
    weights : sequence of float, optional
        One non-negative weight per component (default: equal).
    aggregation : {'minmax', 'borda', 'zscore', 'sum'}
    data_range : float

    Returns
    -------
    E2Result
        ``scores`` (B, K) or (K,), ``best`` (B,) or a single int, ``raw``, ``normalized``, ``names``;
        NumPy when ``candidates`` is NumPy, else tensors.

    Raises
    ------
    ValueError, ShapeError
        Unknown metrics or aggregation, bad weights, fewer than 2 candidates, shape mismatch,
        values outside [0, data_range], NaN/Inf, images too small for NIQE.

    Notes
    -----
    E2 is a reconstruction: the paper names it "E2 [1]" without a definition (aenetv2 note §6). All
    components are computed on the 0..255 scale with the ``'default'`` conventions of their metric
    functions, candidates batched in one call. PSNR is capped at 100 dB so that a candidate equal to a
    source does not make the normalisation infinite.
    """
    where = "e2"
    check_choice(where, "aggregation", aggregation, ("minmax", "borda", "zscore", "sum"))
    metrics = tuple(metrics)
    if not metrics:
        raise ValueError(f"{where}: `metrics` must name at least one metric")
    for m in metrics:
        check_choice(where, "metrics", m, tuple(E2_METRICS))
    if weights is None:
        w = torch.ones(len(metrics), dtype=torch.float64)
    else:
        w = torch.as_tensor(np.asarray(weights, dtype=np.float64))
        if w.shape != (len(metrics),) or not bool(torch.isfinite(w).all()) or bool((w < 0).any()) \
                or float(w.sum()) <= 0:
            raise ValueError(f"{where}: `weights` must be {len(metrics)} finite non-negative numbers "
                             f"with a positive sum; got {list(weights)}")
    data_range = check_positive(where, "data_range", data_range)
    is_numpy = isinstance(candidates, np.ndarray)
    if not isinstance(candidates, (np.ndarray, torch.Tensor)):
        raise TypeError(f"{where}: `candidates` must be a numpy.ndarray or torch.Tensor; "
                        f"got {type(candidates).__name__}")
    c = torch.from_numpy(np.ascontiguousarray(candidates)) if is_numpy else candidates
    if c.dtype == torch.uint8:
        c = c.double() / 255.0
    single = c.ndim == 4
    if c.ndim == 4:
        c = c.unsqueeze(0)
    if c.ndim != 5:
        raise ShapeError(f"{where}: `candidates` must be (K, C, H, W) or (B, K, C, H, W); got shape "
                         f"{tuple(c.shape)}", expected=(4, 5), actual=tuple(c.shape))
    b, k = c.shape[:2]
    if k < 2:
        raise ValueError(f"{where}: `candidates` needs at least 2 candidates per pair; got {k}")
    s, _ = stack_sources(sources if not (single and isinstance(sources, (list, tuple))) else
                         [x if (hasattr(x, "ndim") and x.ndim == 4) else x[None] if x.ndim == 3
                          else x[None, None] for x in sources], where=where, name="sources")
    s = s.to(c.device)
    if s.shape[0] != b:
        raise ShapeError(f"{where}: {b} pairs of candidates but sources for {s.shape[0]} pairs",
                         expected=b, actual=s.shape[0])
    if tuple(s.shape[-2:]) != tuple(c.shape[-2:]):
        raise ShapeError(f"{where}: candidates are {tuple(c.shape[-2:])} but sources are "
                         f"{tuple(s.shape[-2:])}", expected=tuple(c.shape[-2:]), actual=tuple(s.shape[-2:]))
    check_finite(where, "candidates", c)
    check_finite(where, "sources", s)
    check_range(where, "candidates", c, 0.0, data_range)
    check_range(where, "sources", s, 0.0, data_range)
    cc, cs = c.shape[2], s.shape[2]
    if cc != cs:
        if cs == 1:
            s = s.expand(-1, -1, cc, -1, -1)
        elif cc == 1 and cs == 3:
            n = s.shape[1]
            s = rgb_to_gray(s.reshape(b * n, 3, *s.shape[-2:])).reshape(b, n, 1, *s.shape[-2:])
        else:
            raise ShapeError(f"{where}: candidates have {cc} channels, sources {cs}")
    h, wd = c.shape[-2:]
    if "niqe" in metrics and (h < 192 or wd < 192):
        raise ShapeError(f"{where}: NIQE needs images of at least 192x192 (2 blocks of 96 per side); got "
                         f"{h}x{wd}; leave 'niqe' out of `metrics` for small images", actual=(h, wd))
    if min(h, wd) < 41 and ("vif" in metrics or "viff" in metrics):
        raise ShapeError(f"{where}: VIF needs images of at least 41x41; got {h}x{wd}", actual=(h, wd))
    scale = 255.0 / data_range
    dt = torch.float64 if c.dtype == torch.float64 else torch.float32
    f = c.to(dt).reshape(b * k, *c.shape[2:]) * scale
    ss = s.to(dt).unsqueeze(1).expand(b, k, *s.shape[1:]).reshape(b * k, *s.shape[1:]) * scale
    raw = {m: _component(m, f, ss).reshape(b, k) for m in metrics}
    oriented = torch.stack([_orient(m, raw[m]) for m in metrics], dim=-1)
    norm, scores = _aggregate(oriented, w.to(oriented.device), aggregation)
    best = scores.argmax(dim=1)

    def out(t):
        t = t[0] if single else t
        return t.detach().cpu().numpy() if is_numpy else t

    best_out = int(best[0]) if single else out(best)
    return E2Result(scores=out(scores), best=best_out, raw={m: out(v) for m, v in raw.items()},
                    normalized=out(norm), names=metrics)
