"""Statistics shared by both papers' chapters: Holm's correction, Friedman's rank test, the
smallest p-value a design can reach (what a verdict must state beside its test and n), and the words of
a verdict on a paper's claim (:func:`claim_verdict`).

One home for what ``aenet_study`` (AE-Netv2 studies), ``aenet_quality`` and ``iaoa`` (the optimiser
comparison) all use: the rule "not testable at this n" when the smallest attainable p is not below
alpha is :func:`can_reject`, and only here.

Examples
--------
>>> from fusionlib.experiments.stats import claim_verdict, holm, smallest_p_wilcoxon
>>> holm([0.01, 0.04, 0.03]).round(2).tolist()
[0.03, 0.06, 0.06]
>>> smallest_p_wilcoxon(6, m=3)   # exact two-sided signed-rank test, n = 6, Holm over 3 comparisons
0.09375
>>> claim_verdict(supported=True, contradicted=False, floor=smallest_p_wilcoxon(6, m=3))
'not testable at this n'
>>> claim_verdict(supported=False, contradicted=True, floor=smallest_p_wilcoxon(6))
'not reproduced'
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["holm", "friedman_ranks", "smallest_p_wilcoxon", "smallest_p_mannwhitney", "NOT_TESTABLE",
           "can_reject", "claim_verdict"]

#: The verdict of a design that cannot reject at the chosen alpha (:func:`can_reject` is False).
NOT_TESTABLE = "not testable at this n"


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (step-down, monotone, capped at 1), in the input order."""
    p = np.asarray(pvalues, dtype=float)
    if p.ndim != 1:
        raise ValueError(f"holm: `pvalues` must be 1-D; got shape {p.shape}")
    if np.any((p < 0) | (p > 1)):
        raise ValueError("holm: `pvalues` must lie in [0, 1]")
    m = p.size
    order = np.argsort(p, kind="stable")
    adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adj
    return out


def friedman_ranks(x: np.ndarray, *, higher_is_better: bool) -> tuple[float, float, np.ndarray]:
    """Friedman's test on ``x`` (blocks x groups): ``(statistic, p, mean ranks)`` with rank 1 = best.

    The tie-corrected chi-square statistic of ``scipy.stats.friedmanchisquare``; ranks by
    ``scipy.stats.rankdata`` within each block (average ranks for ties).
    """
    from scipy.stats import friedmanchisquare, rankdata
    x = np.asarray(x, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"friedman_ranks: `x` must be 2-D (blocks, groups); got shape {x.shape}")
    n, k = x.shape
    if k < 3 or n < 2:
        raise ValueError(f"friedman_ranks: needs >= 3 groups and >= 2 blocks; got {k} and {n}")
    stat, p = friedmanchisquare(*x.T)
    sign = -1.0 if higher_is_better else 1.0
    ranks = np.apply_along_axis(rankdata, 1, sign * x).mean(0)
    return float(stat), float(p), ranks


def smallest_p_wilcoxon(n: int, *, m: int = 1) -> float:
    """The smallest p-value an exact two-sided Wilcoxon signed-rank test on ``n`` pairs can give,
    times the ``m`` of a Holm correction over ``m`` comparisons (capped at 1): ``min(1, m * 2 / 2**n)``.

    All n differences of one sign is the most extreme of the 2**n equally likely sign patterns, and
    the two-sided test counts both tails. A verdict of "supported" at level alpha needs this below
    alpha; otherwise the design cannot reject and the claim is "not testable at this n".
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"smallest_p_wilcoxon: `n` must be an int >= 1; got {n!r}")
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1:
        raise ValueError(f"smallest_p_wilcoxon: `m` must be an int >= 1; got {m!r}")
    return float(min(1.0, m * 2.0 / 2.0 ** int(n)))


def can_reject(floor: float, alpha: float = 0.05) -> bool:
    """Whether a design whose smallest attainable p-value is ``floor`` (:func:`smallest_p_wilcoxon`,
    :func:`smallest_p_mannwhitney`, with Holm's m; 0 for an asymptotic test) can reject at level
    ``alpha``: ``floor < alpha`` (a NaN floor cannot). When it cannot, the verdict is
    :data:`NOT_TESTABLE` whatever the data, and no other word may be given."""
    return bool(floor < alpha)


def claim_verdict(*, supported: bool, contradicted: bool, floor: float, alpha: float = 0.05) -> str:
    """The word for a paper's claim after a test: :data:`NOT_TESTABLE` (``'not testable at this n'``)
    when the design's smallest attainable p (``floor``, e.g. :func:`smallest_p_wilcoxon` with Holm's m)
    is not below ``alpha`` (:func:`can_reject`); else ``'not reproduced'`` when a significant result goes
    against the claim (``contradicted``), ``'supported'`` when the significant results the claim needs
    are all there, and ``'not shown'`` (the test could reject, and did not) otherwise.

    ``supported`` and ``contradicted`` are the caller's significance decisions at ``alpha`` (after its
    multiplicity correction); a claim both supported and contradicted (e.g. significant in one
    comparison it needs, against it in another) is ``'not reproduced'``."""
    if not can_reject(floor, alpha):
        return NOT_TESTABLE
    if contradicted:
        return "not reproduced"
    return "supported" if supported else "not shown"


def smallest_p_mannwhitney(n1: int, n2: int, *, m: int = 1, alternative: str = "two-sided") -> float:
    """The smallest p-value an exact Mann-Whitney U test of ``n1`` against ``n2`` independent values can
    give, times the ``m`` of a Holm correction (capped at 1).

    Complete separation is one of the ``C(n1 + n2, n1)`` equally likely orderings under the null; the
    one-sided test (``alternative='less'`` or ``'greater'``) counts it once, the two-sided test twice.

    >>> smallest_p_mannwhitney(3, 3, alternative="less")
    0.05
    """
    from math import comb
    for name, v in (("n1", n1), ("n2", n2), ("m", m)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"smallest_p_mannwhitney: `{name}` must be an int >= 1; got {v!r}")
    if alternative not in ("two-sided", "less", "greater"):
        raise ValueError(f"smallest_p_mannwhitney: `alternative` must be 'two-sided', 'less' or 'greater'; "
                         f"got {alternative!r}")
    tails = 2.0 if alternative == "two-sided" else 1.0
    return float(min(1.0, m * tails / comb(int(n1) + int(n2), int(n1))))
