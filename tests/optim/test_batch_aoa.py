"""AOA's runs axis: run_batch == run beyond tests/optim/test_batch.py's defaults (other schedules and
step scale, exact ties, a budget that binds inside the faithful individual loop), in both modes."""
from __future__ import annotations

import numpy as np
import pytest

import fusionlib.optim as fo
from batch_helpers import recording, runs_match_transcription, same_result
from fusionlib.optim.functions import rastrigin

LO, HI = np.array([-3.0, -1.0, 0.0]), np.array([3.0, 2.0, 0.5])


def plateau(X):
    """Integer-valued: exact ties, so the strict comparisons (greedy, best) decide."""
    return np.floor(4.0 * (X ** 2).sum(axis=1))


class TestAOAStepBatch:
    @pytest.mark.parametrize("mode", ["corrected", "faithful"])
    def test_supports_batch(self, mode):
        assert fo.supports_batch(fo.AOA(mode=mode))

    @pytest.mark.parametrize("mode", ["corrected", "faithful"])
    @pytest.mark.parametrize("fitness", [rastrigin, plateau])
    @pytest.mark.parametrize("hyper", [dict(pop_size=2, mu=0.5, alpha=2.0),
                                       dict(pop_size=7, moa_min=0.5, moa_max=0.5),
                                       dict(pop_size=4, moa_min=0.0, moa_max=1.0, mu=0.1)])
    def test_equals_sequential_runs(self, fitness, hyper, mode):
        opt = fo.AOA(mode=mode, **hyper)
        p = fo.Problem(fitness, LO, HI)
        seeds = [21, 22, 23, 24]
        for s, b in zip(seeds, fo.run_batch(p, opt, seeds, n_iter=8)):
            same_result(b, fo.run(p, opt, n_iter=8, seed=s))

    def test_faithful_one_call_per_individual(self):
        f, calls = recording(rastrigin)
        fo.run_batch(fo.Problem(f, LO, HI), fo.AOA(pop_size=4, mode="faithful"), range(3), n_iter=2)
        assert [c[0] for c in calls] == [12] + [3] * 8

    @pytest.mark.parametrize("budget", [5 + 1, 5 + 5 + 3, 5 + 10])
    def test_faithful_budget_binds_inside_the_loop(self, budget):
        opt = fo.AOA(pop_size=5, mode="faithful")
        p = fo.Problem(rastrigin, LO, HI)
        for s, b in zip([0, 1, 2], fo.run_batch(p, opt, [0, 1, 2], max_evals=budget)):
            same_result(b, fo.run(p, opt, max_evals=budget, seed=s))
            assert b.n_evals == budget

    def test_faithful_later_individuals_see_the_new_best(self):
        """The batched faithful step is not the corrected one: the sequential best update changes
        the candidates of later individuals (on most seeds the two modes differ)."""
        p = fo.Problem(rastrigin, LO, HI)
        a = fo.run_batch(p, fo.AOA(mode="faithful"), range(6), n_iter=5)
        c = fo.run_batch(p, fo.AOA(mode="corrected"), range(6), n_iter=5)
        assert sum(not np.array_equal(x.state.positions, y.state.positions) for x, y in zip(a, c)) >= 3


def _aoa_m(fit, lo, hi, n, T, seed, mu=0.499, alpha=5.0, moa_min=0.2, moa_max=0.9):
    """AOA.m's loop written out with the public aoa_update, one (3, 1, D) draw per individual:
    the reference the faithful sequential step (and so its batch) must match bit for bit."""
    rng = np.random.default_rng(seed)
    d = lo.size
    X = lo + rng.random((n, d)) * (hi - lo)
    f = fit(X)
    i0 = int(f.argmin())
    bx, bf = X[i0].copy(), float(f[i0])
    for t in range(1, T + 1):
        mop, moa = fo.aoa_schedules(t, T, alpha, moa_min, moa_max)
        for i in range(n):
            r = rng.random((3, 1, d))
            y = np.minimum(np.maximum(fo.aoa_update(bx, r[0], r[1], r[2], mop, moa, lo, hi, mu), lo), hi)
            fy = float(fit(y)[0])
            if fy < f[i]:
                X[i], f[i] = y[0], fy
            if f[i] < bf:
                bx, bf = X[i].copy(), float(f[i])
    return bx, bf, X, f


class TestAOAFaithfulReference:
    @pytest.mark.parametrize("fitness", [rastrigin, plateau])
    @pytest.mark.parametrize("hyper", [dict(), dict(mu=0.5, alpha=2.0, moa_min=0.0, moa_max=1.0)])
    def test_sequential_and_batch_equal_aoa_m(self, fitness, hyper):
        opt = fo.AOA(pop_size=5, mode="faithful", **hyper)
        p = fo.Problem(fitness, LO, HI)
        runs_match_transcription(p, opt, range(6), 7,
                                 lambda s: _aoa_m(fitness, LO, HI, 5, 7, s, **hyper))
