"""Batched DE: distinct_donors and de_update with a runs axis equal their one-run forms; both modes of
run_batch equal single runs bit for bit."""
from __future__ import annotations

import numpy as np
import pytest

import fusionlib.optim as fo
from batch_helpers import recording, same_result
from fusionlib.optim.functions import sphere


class TestDistinctDonors:
    @pytest.mark.parametrize("n", [6, 48, 49, 60])
    def test_runs_axis_equals_per_run(self, n):
        """Both paths (sort for n <= 48, repeated argmin above) per run, caller's keys untouched."""
        keys = np.random.default_rng(n).random((7, n, n))
        k0 = keys.copy()
        got = fo.distinct_donors(keys)
        assert got.shape == (7, n, 3)
        for r in range(7):
            np.testing.assert_array_equal(got[r], fo.distinct_donors(keys[r]))
            assert not np.any(got[r] == np.arange(n)[:, None])
        np.testing.assert_array_equal(keys, k0)


class TestDeUpdate:
    def test_runs_axis_equals_per_run(self):
        rng = np.random.default_rng(3)
        R, P, D = 6, 9, 4
        X = rng.uniform(-2, 2, (R, P, D))
        X0 = X.copy()
        donors = fo.distinct_donors(rng.random((R, P, P)))
        F, r = rng.uniform(0.2, 0.8, (R, P, D)), rng.random((R, P, D))
        j0 = rng.integers(0, D, (R, P))
        lo, hi = np.full(D, -1.0), np.full(D, 1.5)   # tight box: the clip acts
        U = fo.de_update(X, X, donors, F, r, j0, 0.3, lo, hi)
        assert U.shape == (R, P, D)
        for k in range(R):
            np.testing.assert_array_equal(U[k], fo.de_update(X[k], X[k], donors[k], F[k], r[k], j0[k], 0.3, lo, hi))
        np.testing.assert_array_equal(X, X0)

    def test_known_value_one_run(self):
        X = np.array([[[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [2.0, 2.0, 2.0], [4.0, 4.0, 4.0]]])
        u = fo.de_update(X[:, :1], X, np.array([[[1, 3, 2]]]), np.full((1, 1, 3), 0.5),
                         np.array([[[0.9, 0.1, 0.9]]]), np.array([[2]]), 0.2, np.full(3, -10.0), np.full(3, 10.0))
        np.testing.assert_array_equal(u, [[[0.0, 2.0, 2.0]]])   # mutant 1 + .5 (4 - 2) = 2 in dims 1, 2


class TestStepBatch:
    @pytest.mark.parametrize("mode", ["corrected", "faithful"])
    def test_supports_batch(self, mode):
        assert fo.supports_batch(fo.DE(mode=mode))

    @pytest.mark.parametrize("pop", [4, 20, 50])
    def test_faithful_equals_sequential(self, pop):
        """Faithful: trials built from the partly replaced population; pop 4 (the minimum), 20 and 50
        (argsort rows past the small-array sort); 12 seeds, in a tight box so the mutant clip acts."""
        p = fo.Problem(sphere, np.full(3, -1.0), np.full(3, 2.0))
        opt = fo.DE(pop_size=pop, mode="faithful")
        seeds = list(range(12))
        for s, b in zip(seeds, fo.run_batch(p, opt, seeds, n_iter=4)):
            a = fo.run(p, opt, n_iter=4, seed=s)
            same_result(a, b)
            assert b.n_evals == pop * 5

    def test_faithful_one_call_per_individual(self):
        f, calls = recording(sphere)
        fo.run_batch(fo.Problem(f, np.full(3, -1.0), np.full(3, 1.0)), fo.DE(pop_size=4, mode="faithful"),
                     range(5), n_iter=2)
        assert calls == [(20, 3)] + [(5, 3)] * 8

    def test_large_population_equals_sequential(self):
        """pop_size > 48: the argmin path of distinct_donors inside run_batch."""
        p = fo.Problem(sphere, np.full(3, -5.0), np.full(3, 5.0))
        opt = fo.DE(pop_size=50)
        for s, b in zip([0, 9], fo.run_batch(p, opt, [0, 9], n_iter=3)):
            a = fo.run(p, opt, n_iter=3, seed=s)
            same_result(a, b)


class TestUniformIdentity:
    @pytest.mark.parametrize("lo,hi", [(0.2, 0.8), (0.0, 1.0), (-3.3, 7.1), (0.5, 0.5)])
    def test_uniform_is_affine_random(self, lo, hi):
        """DE.step_batch draws F through random() and forms lo + (hi - lo) u itself; this is what
        Generator.uniform returns, bit for bit, and consumes the same doubles (the next draw agrees)."""
        a, b = np.random.default_rng(11), np.random.default_rng(11)
        np.testing.assert_array_equal(a.uniform(lo, hi, (50, 7)), lo + (hi - lo) * b.random((50, 7)))
        np.testing.assert_array_equal(a.random(5), b.random(5))


class TestScalarIntegers:
    def test_same_stream_as_size_one(self):
        """DE's faithful step_batch draws j0 with integers(0, d) where step calls integers(0, d, 1):
        the same value and the same generator state afterwards, interleaved with random() calls."""
        for seed in range(50):
            a, b = np.random.default_rng(seed), np.random.default_rng(seed)
            for d in (1, 2, 3, 7, 64, 1000):
                assert a.integers(0, d, 1)[0] == b.integers(0, d)
                np.testing.assert_array_equal(a.random(3), b.random(3))
