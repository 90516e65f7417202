"""AE-Netv2 studies: the paper's indexes per fused image, the Combined index and Fig. 6's normalisation.

Split out of :mod:`fusionlib.experiments.aenet_study` (which re-exports every name here):
:func:`score_fused` / :func:`score_batch` (NIQE, SSIM, EN, PSNR, BRENNER, VIFF, AG, MI),
:func:`evaluate_method` (fuse and score every test pair, cached as CSV), :func:`add_combined` (E2) and
:func:`normalize_indexes`.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from .._checks import check_choice
from ..utils import CacheEntryError, atomic_path, discard_corrupt, progress
from .aenet_data import SampleRef, load_pair

__all__ = ["INDEXES", "LOWER_IS_BETTER", "PAPER_TABLE7", "SCORE_NAMES", "score_fused", "score_batch", "evaluate_method", "add_combined", "normalize_indexes"]


#: The eight indexes of Table VII / Fig. 6 computed per image (time and size are per model).
INDEXES = ("combined", "niqe", "ssim", "en", "psnr", "brenner", "viff")


#: Indexes where lower is better.
LOWER_IS_BETTER = frozenset({"niqe", "time_ms", "size_kb"})


#: Table VII of the paper, as printed (Combined, NIQE, SSIM, EN, PSNR, BRENNER, VIFF, ms, MB).
PAPER_TABLE7 = {
    "regular": (1.35, 0.72, 0.63, 6.42, 0.48, 5.63, 0.32, 10.17, 0.48),
    "gcb": (1.29, 0.70, 0.62, 6.42, 0.48, 5.20, 0.34, 9.83, 0.07),
    "inception": (1.33, 0.69, 0.63, 6.30, 0.48, 5.55, 0.34, 10.83, 0.91),
    "separable": (1.42, 0.64, 0.64, 6.31, 0.48, 6.15, 0.33, 9.67, 0.11),
    "squeeze": (1.61, 0.65, 0.63, 6.29, 0.48, 7.53, 0.32, 9.83, 0.25),
    "gcb_inception": (1.26, 0.69, 0.63, 6.46, 0.48, 5.00, 0.35, 11.67, 0.11),
    "squeeze_gcb": (1.61, 0.66, 0.63, 6.29, 0.48, 7.48, 0.32, 9.83, 0.08),
    "squeeze2_gcb": (1.67, 0.63, 0.62, 6.33, 0.48, 7.97, 0.31, 13.83, 0.10),
}


def _metric_fns() -> dict[str, Callable[[np.ndarray, list], float]]:
    from .. import metrics as m
    return {
        "niqe": lambda f, s: m.niqe(f),
        "ssim": lambda f, s: m.ssim(f, s),
        "en": lambda f, s: m.entropy(f, quantize=True),
        "psnr": lambda f, s: m.psnr(f, s),
        "brenner": lambda f, s: m.brenner(f),
        "viff": lambda f, s: m.vif(f, s, combine="mean"),
        "ag": lambda f, s: m.average_gradient(f),
        "mi": lambda f, s: m.mutual_information(f, s, quantize=True),
    }


#: What :func:`score_fused` computes by default (``ag`` and ``mi`` are E2 inputs, notes §6).
SCORE_NAMES = ("niqe", "ssim", "en", "psnr", "brenner", "viff", "ag", "mi")


def score_fused(fused: np.ndarray, sources: Sequence[np.ndarray], names: Sequence[str] = SCORE_NAMES,
                fns: Mapping[str, Callable] | None = None) -> dict[str, float]:
    """Per-image indexes of one fused image ``(1, H, W)`` against its gray sources.

    Conventions (reconstruction, notes §6): SSIM and PSNR are the mean over the two sources
    (``preset='default'``, 8-bit peak), VIFF is pixel-domain VIF averaged over the sources, EN is
    the 256-bin entropy of the rounded image, BRENNER the horizontal Brenner gradient on the 0..255
    scale, NIQE the MVG distance with the standard pristine model (lower is better).
    """
    fns = dict(_metric_fns() if fns is None else fns)
    f = np.clip(np.asarray(fused, np.float32), 0.0, 1.0)
    srcs = [np.asarray(s, np.float32) for s in sources]
    out = {}
    for n in names:
        if n not in fns:
            raise KeyError(f"score_fused: unknown index {n!r}; known: {sorted(fns)}")
        out[n] = float(fns[n](f, srcs))
    return out


def score_batch(fused: np.ndarray, a: np.ndarray, b: np.ndarray, names: Sequence[str] = SCORE_NAMES,
                fns: Mapping[str, Callable] | None = None) -> dict[str, np.ndarray]:
    """:func:`score_fused` for a batch: ``fused``, ``a``, ``b`` each ``(B, 1, H, W)``; ``{name: (B,)}``."""
    fns = dict(_metric_fns() if fns is None else fns)
    f = np.clip(np.asarray(fused, np.float32), 0.0, 1.0)
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    if f.ndim != 4 or f.shape != a.shape or a.shape != b.shape:
        raise ValueError(f"score_batch: `fused`, `a`, `b` must share one (B, 1, H, W) shape; got "
                         f"{f.shape}, {a.shape}, {b.shape}")
    out = {}
    for n in names:
        if n not in fns:
            raise KeyError(f"score_batch: unknown index {n!r}; known: {sorted(fns)}")
        out[n] = np.asarray(fns[n](f, [a, b]), dtype=float).reshape(f.shape[0])
    return out


def evaluate_method(method: str, fuse_fn: Callable[[np.ndarray, np.ndarray], np.ndarray],
                    refs: Sequence[SampleRef], tasks: Sequence[str], *, root=None, seed: int = 0,
                    names: Sequence[str] = SCORE_NAMES, fns: Mapping[str, Callable] | None = None,
                    cache: str | os.PathLike | None = None, keep: dict | None = None,
                    show_progress: bool = False, pass_ref: bool = False):
    """Fuse every test pair with ``fuse_fn(a, b)`` (``pass_ref``: ``fuse_fn(a, b, ref)``, e.g. to
    read a stored fused image of that pair) and score it; one row per image.

    Columns: ``method, seed, task, image`` (the :attr:`SampleRef.key`), the ``names`` indexes and
    ``time_s`` (wall time of the fusion call, informal; the timing protocol is
    :func:`time_inference`). Images of equal size are scored in one batched call per metric. With
    ``cache`` (a ``.csv`` path) a finished table is read back instead of recomputed (written
    atomically). ``keep`` (a dict) receives the fused images by image key, for figures.
    """
    import pandas as pd
    if cache is not None and Path(cache).is_file() and keep is None:
        try:
            df = pd.read_csv(cache, dtype={"image": str})
        except (OSError, UnicodeDecodeError, ValueError) as e:  # pandas' EmptyDataError/ParserError too
            discard_corrupt(cache, CacheEntryError.unreadable(cache, e))
        else:
            if ("image" in df.columns and len(df) == len(refs) and set(names) <= set(df.columns)
                    and list(df["image"]) == [r.key for r in refs]):
                return df
    rows, fused, pairs = [], [], []
    it = progress(list(zip(refs, tasks)), desc=f"{method} s{seed}", leave=False) if show_progress \
        else zip(refs, tasks)
    for ref, task in it:
        a, b = load_pair(ref, root)
        t0 = time.perf_counter()
        f = np.asarray(fuse_fn(a, b, ref) if pass_ref else fuse_fn(a, b), np.float32).reshape(1, *a.shape[-2:])
        dt = time.perf_counter() - t0
        if keep is not None:
            keep[ref.key] = f
        rows.append({"method": method, "seed": seed, "task": task, "image": ref.key, "time_s": dt})
        fused.append(f)
        pairs.append((a, b))
    by_shape: dict[tuple, list[int]] = {}
    for i, f in enumerate(fused):
        by_shape.setdefault(f.shape, []).append(i)
    for idx in by_shape.values():
        sc = score_batch(np.stack([fused[i] for i in idx]), np.stack([pairs[i][0] for i in idx]),
                         np.stack([pairs[i][1] for i in idx]), names, fns)
        for k, i in enumerate(idx):
            rows[i].update({n: float(v[k]) for n, v in sc.items()})
    df = pd.DataFrame(rows)[["method", "seed", "task", "image", *names, "time_s"]]
    if cache is not None:
        with atomic_path(cache) as tmp:
            df.to_csv(tmp, index=False)
    return df


def add_combined(df, *, components: Sequence[str] = ("en", "ag", "ssim", "viff", "niqe", "psnr", "mi"),
                 by: Sequence[str] = ("image",), candidates: str = "method", aggregation: str = "mean"):
    """Add the E2 "Combined" index: per image, min-max normalise each component across the
    candidates (NIQE as 1/NIQE) and aggregate (notes §6, reconstruction).

    This is :func:`fusionlib.metrics.e2` (``aggregation='minmax'``, default components) applied to
    component scores that are already in ``df`` (cached per variant and seed), so that the candidate
    images need not be kept or re-scored; a test checks that both agree.

    Parameters
    ----------
    df : DataFrame
        One row per (candidate, image[, seed]); the candidate column is ``candidates``.
    components : sequence of str
        Columns entering E2 (default: the reconstruction's EN, AG, SSIM, VIFF, NIQE, PSNR, MI).
    by : sequence of str
        Columns defining one image (the candidate set is every row sharing them).
    aggregation : {'mean', 'sum', 'borda'}
        Mean of the normalised components (default), their raw sum, or the mean rank (Borda).

    Returns
    -------
    DataFrame
        A copy with a ``combined`` column in [0, 1] (``'mean'``, ``'borda'``) or [0, len(components)]
        (``'sum'``). Combined is relative: it depends on which candidates are compared.
    """
    check_choice("add_combined", "aggregation", aggregation, ("mean", "sum", "borda"))
    missing = [c for c in components if c not in df.columns]
    if missing:
        raise KeyError(f"add_combined: columns {missing} are missing; have {list(df.columns)}")
    out = df.copy()
    vals = out[list(components)].astype(float).copy()
    if "niqe" in components:
        vals["niqe"] = 1.0 / vals["niqe"].clip(lower=1e-12)
    if "psnr" in components:  # as fusionlib.metrics.e2: identical images (inf dB) count as 100 dB
        vals["psnr"] = vals["psnr"].clip(upper=100.0)
    groups = out.groupby(list(by), sort=False).indices
    comb = np.zeros(len(out))
    for _, idx in groups.items():
        v = vals.iloc[idx].to_numpy()
        if aggregation == "borda":
            from scipy.stats import rankdata
            r = np.column_stack([rankdata(v[:, j]) for j in range(v.shape[1])])
            norm = (r - 1) / max(len(idx) - 1, 1)
        else:
            lo, hi = v.min(0), v.max(0)
            norm = (v - lo) / (hi - lo + 1e-12)
        comb[idx] = norm.sum(1) if aggregation == "sum" else norm.mean(1)
    out["combined"] = comb
    return out


def normalize_indexes(table, *, scheme: str = "max"):
    """Fig. 6's averaged objective indexes: PSNR normalised, NIQE inverted and normalised.

    Parameters
    ----------
    table : DataFrame
        Methods (rows) x indexes (columns), e.g. the means of :func:`summarize`.
    scheme : {'max', 'minmax', 'fixed'}
        ``'max'`` (default): PSNR / max PSNR and (1/NIQE) / max(1/NIQE) over the methods, so the best
        method scores 1 and ratios are kept; ``'minmax'``: (x - min)/(max - min) (best 1, worst 0);
        ``'fixed'``: PSNR / 100 and 1/NIQE (independent of the other methods; Table VII's constant
        0.48 is consistent with PSNR / 100). The other columns are left as they are.

    Returns
    -------
    DataFrame
        A copy; the NIQE column is renamed ``1/niqe (norm.)`` and PSNR ``psnr (norm.)``.
    """
    check_choice("normalize_indexes", "scheme", scheme, ("max", "minmax", "fixed"))
    out = table.copy().astype(float)
    ren = {}
    for col in ("psnr", "niqe"):
        if col not in out.columns:
            continue
        v = out[col].to_numpy(float)
        if col == "niqe":
            v = 1.0 / np.clip(v, 1e-12, None)
        if scheme == "fixed":
            v = v / 100.0 if col == "psnr" else v
        elif scheme == "max":
            v = v / np.max(v)
        else:
            span = np.max(v) - np.min(v)
            v = (v - np.min(v)) / span if span > 0 else np.ones_like(v)
        out[col] = v
        ren[col] = "1/niqe (norm.)" if col == "niqe" else "psnr (norm.)"
    return out.rename(columns=ren)
