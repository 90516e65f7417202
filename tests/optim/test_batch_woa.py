"""Batched WOA: both modes of run_batch equal single runs, bit for bit; faithful moves whales in place."""
from __future__ import annotations

import numpy as np
import pytest

import fusionlib.optim as fo
from batch_helpers import recording, same_result
from fusionlib.optim.functions import rastrigin, sphere

LO, HI = np.full(3, -4.0), np.full(3, 4.0)


class TestStepBatch:
    @pytest.mark.parametrize("mode", ["corrected", "faithful"])
    def test_supports_batch(self, mode):
        assert fo.supports_batch(fo.WOA(mode=mode))

    def test_faithful_many_seeds(self):
        """pop 3 and a long horizon: |A| >= 1 (the random-whale search, where in-place order matters)
        and the spiral both occur; 24 seeds, every run equals its single run."""
        p = fo.Problem(rastrigin, LO, HI)
        opt = fo.WOA(pop_size=3, mode="faithful")
        seeds = list(range(24))
        for s, b in zip(seeds, fo.run_batch(p, opt, seeds, n_iter=15)):
            a = fo.run(p, opt, n_iter=15, seed=s)
            same_result(a, b)
            assert b.n_evals == 3 * 15

    def test_faithful_differs_from_corrected(self):
        """The in-place faithful moves are not the synchronous ones (same seeds, same draws)."""
        p = fo.Problem(sphere, LO, HI)
        fa = fo.run_batch(p, fo.WOA(pop_size=4, mode="faithful"), range(8), n_iter=6)
        co = fo.run_batch(p, fo.WOA(pop_size=4), range(8), n_iter=6)
        assert any(not np.array_equal(a.history.best_per_eval[4:24], c.history.best_per_eval[4:24])
                   for a, c in zip(fa, co))

    def test_faithful_one_call_per_iteration(self):
        """WOA.m evaluates the whole population at the top of each pass: T calls of R * N rows."""
        f, calls = recording(sphere)
        fo.run_batch(fo.Problem(f, LO, HI), fo.WOA(pop_size=5, mode="faithful"), range(7), n_iter=10)
        assert calls == [(35, 3)] * 10


class TestFaithfulStep:
    @pytest.mark.parametrize("seed", range(6))
    def test_equals_woa_update_whale_by_whale(self, seed):
        """The sequential faithful step (woa_update's operations inlined per whale) equals woa_update
        called on one row at a time, in place, with step's draws."""
        opt = fo.WOA(pop_size=6, mode="faithful")
        p = fo.Problem(rastrigin, LO, HI)
        s0 = opt.init_state(p, np.random.default_rng(seed), n_iter=4)
        got = opt.step(s0, p, np.random.default_rng(seed + 100))
        g = np.random.default_rng(seed + 100)
        n, d = s0.positions.shape
        a = 2.0
        r1, r2, rl, pp = g.random((4, n))
        A, C, l = 2.0 * a * r1 - a, 2.0 * r2, (-1.0 - 1.0) * rl + 1.0
        k = g.integers(0, n, (n, d))
        X = s0.positions.copy()
        for i in range(n):
            X[i] = fo.woa_update(X[i:i + 1], X, s0.best_x, A[i:i + 1], C[i:i + 1], l[i:i + 1], pp[i:i + 1],
                                 k[i:i + 1])[0]
        np.testing.assert_array_equal(got.positions, np.clip(X, LO, HI))
