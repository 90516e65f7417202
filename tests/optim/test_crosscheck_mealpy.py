"""Small cross-check against mealpy 3.0.x (the full one is benchmarks/crosscheck_mealpy.py).

Same algorithm, same population and iterations, 8 fixed seeds each, final best values compared with
a two-sided Mann-Whitney U test. Where mealpy implements the same variant up to details (DE/rand/1/bin,
GWO, EO, AOA) the distributions must not differ significantly; where mealpy has a documented defect
(ACOR's inverted kernel roulette for minimisation) ours must be significantly better.
"""
from __future__ import annotations

import numpy as np
import pytest

import fusionlib.optim as fo
from fusionlib.optim.functions import ackley, sphere

mealpy = pytest.importorskip("mealpy")
from scipy.stats import mannwhitneyu  # noqa: E402

SEEDS = range(8)
POP, EPOCHS, D = 20, 30, 10


def _mealpy_final(model, fun, bound, seed):
    from mealpy import FloatVar
    problem = {"obj_func": lambda x: float(fun(np.asarray(x)[None])[0]),
               "bounds": FloatVar(lb=[-bound] * D, ub=[bound] * D), "minmax": "min", "log_to": None}
    return float(model.solve(problem, seed=seed).target.fitness)


def _compare(name, hyper, factory, fun, bound):
    lo, hi = np.full(D, -bound), np.full(D, bound)
    ours = [fo.minimize(name, fun, lo, hi, POP, EPOCHS, seed=s, **hyper).best_f for s in SEEDS]
    theirs = [_mealpy_final(factory(), fun, bound, s) for s in SEEDS]
    return np.array(ours), np.array(theirs), mannwhitneyu(ours, theirs, alternative="two-sided").pvalue


def _cases():
    from mealpy import AOA, DE, EO, GWO
    return {
        "de": (dict(f_min=0.5, f_max=0.5, cr=0.9),
               lambda: DE.OriginalDE(epoch=EPOCHS, pop_size=POP, wf=0.5, cr=0.9, strategy=0), sphere, 100.0),
        "gwo": ({}, lambda: GWO.OriginalGWO(epoch=EPOCHS, pop_size=POP), ackley, 32.768),
        "eo": ({}, lambda: EO.OriginalEO(epoch=EPOCHS, pop_size=POP), sphere, 100.0),
        "aoa": (dict(mu=0.499), lambda: AOA.OriginalAOA(epoch=EPOCHS, pop_size=POP, alpha=5, miu=0.499,
                                                         moa_min=0.2, moa_max=0.9), ackley, 32.768),
    }


@pytest.mark.slow
@pytest.mark.parametrize("name", ["de", "gwo", "eo", "aoa"])
def test_same_distribution_as_mealpy(name):
    hyper, factory, fun, bound = _cases()[name]
    ours, theirs, p = _compare(name, hyper, factory, fun, bound)
    assert p > 0.01, f"{name}: ours median {np.median(ours):.3g}, mealpy {np.median(theirs):.3g}, p = {p:.3g}"


@pytest.mark.slow
def test_acor_mealpy_inverted_roulette():
    """mealpy's OriginalACOR feeds the kernel weights to a roulette that, for minimisation, uses
    max(p) - p, so the best archive member is never sampled: ours is significantly better."""
    from mealpy import ACOR
    ours, theirs, p = _compare("acor", {}, lambda: ACOR.OriginalACOR(epoch=EPOCHS, pop_size=POP, sample_count=POP,
                                                                     intent_factor=0.5, zeta=1.0), sphere, 100.0)
    assert p < 0.01 and np.median(ours) < np.median(theirs)
