"""AE-Netv2 studies: statistics over seeds and test images (mean ± sd, paired tests with Holm's
correction, Friedman's test, transfer tables).

Split out of :mod:`fusionlib.experiments.aenet_study` (which re-exports every name here); the shared
pieces (Holm, Friedman ranks) live in :mod:`fusionlib.experiments.stats`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .._checks import check_choice
from .aenet_scoring import LOWER_IS_BETTER
from .stats import friedman_ranks, holm

__all__ = ["summarize", "format_mean_sd", "TestResult", "paired_test", "paired_tests", "FriedmanResult", "friedman", "transfer_matrix"]


def summarize(df, metrics: Sequence[str], *, by: str = "method", seed_col: str = "seed",
              task_col: str | None = "task"):
    """Mean ± sd over seeds of the per-seed means.

    Per (``by``, seed): the mean over images within each task, then the mean over tasks (every task
    weighs the same, as the paper's "mean over the five tasks"); then the mean and the sample sd
    (ddof=1; NaN for a single seed) across seeds.

    Returns
    -------
    DataFrame
        Index ``by``; columns ``(metric, 'mean')``, ``(metric, 'sd')`` and ``('n_seeds', '')``.
    """
    import pandas as pd
    keys = [by, seed_col] + ([task_col] if task_col else [])
    per = df.groupby(keys, sort=False)[list(metrics)].mean()
    if task_col:
        per = per.groupby(level=[0, 1], sort=False).mean()
    g = per.groupby(level=0, sort=False)
    mean, sd, n = g.mean(), g.std(ddof=1), g.size()
    cols = {}
    for m in metrics:
        cols[(m, "mean")] = mean[m]
        cols[(m, "sd")] = sd[m]
    out = pd.DataFrame(cols)
    out[("n_seeds", "")] = n
    out.index.name = by
    return out


def format_mean_sd(summary, metrics: Sequence[str], digits: int = 3):
    """``"mean ± sd"`` strings per metric (``sd`` left out when there is one seed)."""
    import pandas as pd
    out = pd.DataFrame(index=summary.index)
    for m in metrics:
        mu, sd = summary[(m, "mean")], summary[(m, "sd")]
        out[m] = [f"{a:.{digits}f}" + ("" if not np.isfinite(b) else f" ± {b:.{digits}f}")
                  for a, b in zip(mu, sd)]
    return out


@dataclass(frozen=True)
class TestResult:
    """A paired test of ``a`` against ``b``: ``mean_diff`` = mean(a - b)."""

    test: str
    statistic: float
    pvalue: float
    n: int
    mean_diff: float


def paired_test(a: Sequence[float], b: Sequence[float], *, test: str = "wilcoxon") -> TestResult:
    """Paired two-sided test of equal location of ``a`` and ``b`` (same blocks, same order).

    ``'wilcoxon'``: signed-rank test (exact p for n <= 50 without ties or zeros, else normal
    approximation; zero differences dropped, Wilcoxon's convention; one pair: p = 1, the exact
    test's only value); ``'ttest'``: paired t test (at least 2 pairs). All-zero differences give p = 1.
    """
    check_choice("paired_test", "test", test, ("wilcoxon", "ttest"))
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"paired_test: `a` and `b` must be 1-D of equal length; got {a.shape}, {b.shape}")
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok], b[ok]
    d = a - b
    n = int(d.size)
    if n < 2 and not (n == 1 and test == "wilcoxon"):
        raise ValueError(f"paired_test: needs at least 2 finite pairs ({test!r}); got {n}")
    md = float(d.mean())
    if n == 1:  # exact signed-rank test of one pair: its two sign patterns are equally likely, p = 1
        return TestResult(test, 0.0, 1.0, 1, md)
    if np.allclose(d, 0.0, atol=1e-15):
        return TestResult(test, 0.0, 1.0, n, md)
    from scipy import stats
    if test == "ttest":
        if np.allclose(d, d[0], atol=1e-15):  # constant non-zero difference: sd 0, infinitely significant
            return TestResult(test, math.copysign(math.inf, md), 0.0, n, md)
        r = stats.ttest_rel(a, b)
    else:
        r = stats.wilcoxon(a, b, zero_method="wilcox")
    return TestResult(test, float(r.statistic), float(r.pvalue), n, md)


def _blocks(df, metric: str, by: str, unit: str):
    if unit == "image":
        keys = ["task", "image"] if "task" in df.columns else ["image"]
        wide = df.groupby(keys + [by], sort=False)[metric].mean().unstack(by)
    else:
        keys = (["task"] if "task" in df.columns else []) + ["image", "seed"]
        wide = df.pivot_table(index=keys, columns=by, values=metric, aggfunc="mean")
    return wide.dropna(axis=0, how="any")


def paired_tests(df, metric: str, *, by: str = "method", baseline: str | None = None,
                 test: str = "wilcoxon", unit: str = "image", alpha: float = 0.05):
    """Pairwise paired tests between the ``by`` groups on ``metric``, Holm-corrected.

    Blocks are test images (values averaged over seeds, ``unit='image'``) or (image, seed) pairs
    (``unit='image_seed'``; every group must share the seeds). With ``baseline`` only comparisons
    against it are made, else all pairs.

    Returns
    -------
    DataFrame
        Columns ``a, b, n, mean_diff, statistic, p, p_holm, significant`` (``p_holm < alpha``),
        ``better`` (the group with the better mean when significant, respecting
        :data:`LOWER_IS_BETTER`, else ``''``).
    """
    import pandas as pd
    check_choice("paired_tests", "unit", unit, ("image", "image_seed"))
    wide = _blocks(df, metric, by, unit)
    groups = list(wide.columns)
    if baseline is not None and baseline not in groups:
        raise KeyError(f"paired_tests: baseline {baseline!r} not among {groups}")
    pairs = [(baseline, g) for g in groups if g != baseline] if baseline is not None else \
        [(groups[i], groups[j]) for i in range(len(groups)) for j in range(i + 1, len(groups))]
    rows = []
    for x, y in pairs:
        r = paired_test(wide[x].to_numpy(), wide[y].to_numpy(), test=test)
        rows.append({"a": x, "b": y, "n": r.n, "mean_diff": r.mean_diff, "statistic": r.statistic, "p": r.pvalue})
    out = pd.DataFrame(rows, columns=["a", "b", "n", "mean_diff", "statistic", "p"])
    out["p_holm"] = holm(out["p"].to_numpy()) if len(out) else []
    out["significant"] = out["p_holm"] < alpha
    lower = metric in LOWER_IS_BETTER
    out["better"] = [("" if not s else (a if (d < 0) == lower else b))
                     for a, b, d, s in zip(out["a"], out["b"], out["mean_diff"], out["significant"])]
    return out


@dataclass(frozen=True)
class FriedmanResult:
    """Friedman's test over k groups and n blocks; ``mean_ranks`` (1 = best)."""

    statistic: float
    pvalue: float
    k: int
    n: int
    mean_ranks: dict[str, float]


def friedman(df, metric: str, *, by: str = "method", unit: str = "image") -> FriedmanResult:
    """Friedman's rank test that all ``by`` groups have the same distribution of ``metric``.

    Uses the tie-corrected chi-square statistic (``scipy.stats.friedmanchisquare``). Ranks are
    reported with 1 = best (respecting :data:`LOWER_IS_BETTER`).
    """
    wide = _blocks(df, metric, by, unit)
    if wide.shape[1] < 3 or wide.shape[0] < 2:
        raise ValueError(f"friedman: needs >= 3 groups and >= 2 blocks; got {wide.shape[1]} and {wide.shape[0]}")
    x = wide.to_numpy()
    stat, p, ranks = friedman_ranks(x, higher_is_better=metric not in LOWER_IS_BETTER)
    return FriedmanResult(stat, p, x.shape[1], x.shape[0], dict(zip(map(str, wide.columns), map(float, ranks))))


def transfer_matrix(df, metric: str, *, train_col: str = "method", test_col: str = "task"):
    """Train-task x test-task table of ``metric`` (mean over images and seeds)."""
    return df.groupby([train_col, test_col])[metric].mean().unstack(test_col)
