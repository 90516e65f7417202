"""ACOR's runs axis: the shared kernel functions with leading axes, and run_batch == run beyond the
default hyperparameters of tests/optim/test_batch.py (other n_samples, ties in the archive sort)."""
from __future__ import annotations

import numpy as np
import pytest

import fusionlib.optim as fo
from batch_helpers import same_result
from fusionlib.optim.functions import sphere

LO, HI = np.full(3, -2.0), np.full(3, 2.0)


def plateau(X):
    """Integer-valued: many exact ties, so the stable archive sort decides the order."""
    return np.floor((X ** 2).sum(axis=1))


class TestAcorWidths:
    def test_leading_axes_equal_per_run(self):
        X = np.random.default_rng(0).normal(size=(4, 6, 3))
        got = fo.acor_widths(X, 0.7)
        assert got.shape == (4, 6, 3)
        np.testing.assert_array_equal(got, np.stack([fo.acor_widths(x, 0.7) for x in X]))

    def test_closed_form_two_points(self):
        # n = 2: sigma_l = zeta |x_1 - x_2| for both members (Socha & Dorigo Eq. 8)
        X = np.array([[[0.0, 1.0], [3.0, -1.0]]])
        np.testing.assert_array_equal(fo.acor_widths(X, 0.5), [[[1.5, 1.0], [1.5, 1.0]]])


class TestAcorSample:
    def test_leading_axes_equal_per_run(self):
        g = np.random.default_rng(1)
        means, widths = g.normal(size=(5, 4, 3)), g.random((5, 4, 3))
        u, z = g.random((5, 7, 3)), g.standard_normal((5, 7, 3))
        p = fo.acor_weights(4, 0.5)
        got = fo.acor_sample(means, widths, p, u, z)
        assert got.shape == (5, 7, 3)
        np.testing.assert_array_equal(got, np.stack([fo.acor_sample(*a, p, *b) for a, b in
                                                     zip(zip(means, widths), zip(u, z))]))

    @pytest.mark.parametrize("n", [2, 5, 12, 40])
    def test_kernel_index_is_roulette(self, n):
        """The comparison-count index (n <= 32) and the searchsorted fallback equal MATLAB's
        find(u <= cumsum(p), 1) as ``roulette`` computes it, also on ties of cumsum (zero weights)
        and at u = 0 and values landing on a cumsum boundary."""
        from fusionlib.optim._base import roulette
        g = np.random.default_rng(n)
        p = fo.acor_weights(n, 0.3)
        p[1] = 0.0                                   # a flat step in cumsum
        cum = np.cumsum(p)
        u = g.random((3, 50, 4))
        u[0, 0] = 0.0
        k = min(3, n)
        u[0, 1, :k] = cum[:k] / cum[-1]
        l = roulette(cum, u)
        means, widths = g.normal(size=(3, n, 4)), g.random((3, n, 4))
        want = np.stack([m[li, np.arange(4)] + w[li, np.arange(4)] * z for m, w, li, z in
                         zip(means, widths, l, np.ones_like(u))])
        np.testing.assert_array_equal(fo.acor_sample(means, widths, p, u, np.ones_like(u)), want)
        np.testing.assert_array_equal(fo.acor_sample(means[0], widths[0], p, u[0], np.ones_like(u[0])), want[0])

    def test_roulette_picks_kernel_per_dimension(self):
        means = np.array([[0.0, 10.0], [1.0, 11.0]])
        p = np.array([0.5, 0.5])
        # u <= 0.5 picks kernel 0, u > 0.5 kernel 1, independently in each dimension; zero noise
        out = fo.acor_sample(means, np.ones_like(means), p, np.array([[0.2, 0.9], [0.9, 0.2]]), np.zeros((2, 2)))
        np.testing.assert_array_equal(out, [[0.0, 11.0], [1.0, 10.0]])


class TestACORStepBatch:
    def test_supports_batch(self):
        assert fo.supports_batch(fo.ACOR())
        assert fo.supports_batch(fo.ACOR(mode="faithful"))

    @pytest.mark.parametrize("mode", ["corrected", "faithful"])
    @pytest.mark.parametrize("fitness", [sphere, plateau])
    @pytest.mark.parametrize("hyper", [dict(pop_size=4, n_samples=9, q=0.2, zeta=0.85), dict(pop_size=7, n_samples=2)])
    def test_equals_sequential_runs(self, fitness, hyper, mode):
        opt = fo.ACOR(mode=mode, **hyper)
        p = fo.Problem(fitness, LO, HI)
        seeds = [5, 6, 7, 8]
        for s, b in zip(seeds, fo.run_batch(p, opt, seeds, n_iter=7)):
            a = fo.run(p, opt, n_iter=7, seed=s)
            same_result(a, b)

    def test_faithful_budget_truncation(self):
        """A budget that binds inside a generation of samples, faithful mode, several runs."""
        opt = fo.ACOR(pop_size=5, n_samples=8, mode="faithful")
        p = fo.Problem(plateau, LO, HI)
        budget = 5 + 8 + 3
        for s, b in zip([0, 1, 2], fo.run_batch(p, opt, [0, 1, 2], max_evals=budget)):
            a = fo.run(p, opt, max_evals=budget, seed=s)
            same_result(a, b)
            assert b.n_evals == budget

    def test_archive_stays_sorted(self):
        res = fo.run_batch(fo.Problem(plateau, LO, HI), fo.ACOR(pop_size=6), range(3), n_iter=4)
        for r in res:
            assert np.all(np.diff(r.state.fitness) >= 0)


class TestKernelIndex:
    def test_non_finite_keys_follow_searchsorted(self):
        """NaN keys (u = 0 against an infinite total, or a NaN u) and infinite cumsum entries give
        the same index as ``roulette`` (searchsorted sorts NaN last)."""
        from fusionlib.optim._base import roulette
        from fusionlib.optim.acor import _kernel_index
        u = np.array([0.0, 0.3, 1.0, np.nan, np.inf])
        for cum in (np.array([0.1, 0.4, np.inf, np.inf]), np.cumsum([0.2, 0.0, 0.5, 0.3]), np.array([np.inf] * 3)):
            with np.errstate(invalid="ignore"):
                np.testing.assert_array_equal(_kernel_index(cum, u), roulette(cum, u))
