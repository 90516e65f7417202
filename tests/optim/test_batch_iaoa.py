"""IAOA's runs axis: run_batch == run beyond tests/optim/test_batch.py's defaults (other DRST sizes
and kernel parameters, ties in the merge sort, a budget that binds inside the DRST call)."""
from __future__ import annotations

import numpy as np
import pytest

import fusionlib.optim as fo
from fusionlib.optim.functions import rastrigin

LO, HI = np.array([-3.0, -1.0, 0.0]), np.array([3.0, 2.0, 0.5])


def plateau(X):
    """Integer-valued: exact ties everywhere, so the stable sorts decide the order."""
    return np.floor(4.0 * (X ** 2).sum(axis=1))


def _same(a, b):
    assert a.best_f == b.best_f and a.n_evals == b.n_evals and a.n_iter == b.n_iter
    np.testing.assert_array_equal(a.best_x, b.best_x)
    np.testing.assert_array_equal(a.history.best, b.history.best)
    np.testing.assert_array_equal(a.history.best_per_eval, b.history.best_per_eval)
    np.testing.assert_array_equal(a.state.positions, b.state.positions)
    np.testing.assert_array_equal(a.state.fitness, b.state.fitness)
    for k in a.state.extras:
        np.testing.assert_array_equal(a.state.extras[k], b.state.extras[k])


class TestIAOAStepBatch:
    def test_supports_batch(self):
        assert fo.supports_batch(fo.IAOA())
        assert not fo.supports_batch(fo.IAOA(mode="faithful"))

    @pytest.mark.parametrize("fitness", [rastrigin, plateau])
    @pytest.mark.parametrize("hyper", [dict(pop_size=3, n_samples=1, q=0.1, zeta=0.6),
                                       dict(pop_size=6, n_samples=13, mu=0.5, alpha=3.0, moa_min=0.0)])
    def test_equals_sequential_runs(self, fitness, hyper):
        opt = fo.IAOA(**hyper)
        p = fo.Problem(fitness, LO, HI)
        seeds = [11, 12, 13]
        for s, b in zip(seeds, fo.run_batch(p, opt, seeds, n_iter=6)):
            _same(b, fo.run(p, opt, n_iter=6, seed=s))

    def test_budget_binds_inside_drst(self):
        opt = fo.IAOA(pop_size=4, n_samples=10)
        budget = 4 + 18 + 8 + 5        # step 2 evaluates its AOA+OBL pair, then 5 of 10 DRST samples
        p = fo.Problem(rastrigin, LO, HI)
        for s, b in zip([0, 1], fo.run_batch(p, opt, [0, 1], max_evals=budget)):
            _same(b, fo.run(p, opt, max_evals=budget, seed=s))
            assert b.n_evals == budget and b.n_iter == 2
