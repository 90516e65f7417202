"""Batched AO pieces: ao_update with a runs axis equals its one-run form (both phases); faithful AO
batches individual by individual."""
from __future__ import annotations

import numpy as np
import pytest

import fusionlib.optim as fo
from batch_helpers import recording, same_result


class TestAoUpdateBatch:
    @pytest.mark.parametrize("t", [2, 9])   # exploration (t <= 2T/3) and exploitation
    def test_runs_axis_equals_loop(self, t):
        rng = np.random.default_rng(4)
        R, P, D, T = 4, 5, 3, 10
        lo, hi = np.full(D, -2.0), np.full(D, 3.0)
        X, XR, L = rng.random((R, P, D)), rng.random((R, P, D)), rng.standard_normal((R, P, D))
        best, XM = rng.random((R, D)), rng.random((R, D))
        branch, r = rng.random((R, P)), rng.random((R, P, 4))
        qf, g2 = rng.random(R), rng.random(R)
        Y = fo.ao_update(X, best[:, None], XM[:, None], XR, t, T, lo, hi, branch, r, L,
                         qf[:, None, None], g2[:, None, None], 0.1, 0.1)
        for i in range(R):
            np.testing.assert_array_equal(
                Y[i], fo.ao_update(X[i], best[i], XM[i], XR[i], t, T, lo, hi, branch[i], r[i], L[i],
                                   qf[i], g2[i], 0.1, 0.1))


class TestFaithfulBatch:
    def test_supports_batch(self):
        assert fo.supports_batch(fo.AO(mode="faithful"))

    def test_calls_individual_by_individual(self):
        """AO.m's order: the population re-clipped and re-evaluated at the top of every iteration but the
        first (one call of R * N rows), then one call of R rows (individual i of every run) per individual."""
        f, calls = recording(lambda X: (X ** 2).sum(axis=1))
        R, n, T = 4, 5, 3
        p = fo.Problem(f, -np.ones(2), np.ones(2))
        res = fo.run_batch(p, fo.AO(pop_size=n, mode="faithful"), range(R), n_iter=T)
        assert [c[0] for c in calls] == [R * n] + [R] * n + ([R * n] + [R] * n) * (T - 1)
        assert all(b.n_evals == 2 * n * T for b in res)

    @pytest.mark.parametrize("n_iter", [3, 12])   # exploration only; both phases
    def test_equals_run_many_dims(self, n_iter):
        """D = 20 (own-coordinate means over a longer row) and unclipped candidates out of the box."""
        p = fo.Problem(lambda X: np.abs(X - 0.9).sum(axis=1), np.zeros(20), np.ones(20))
        opt = fo.AO(pop_size=7, mode="faithful")
        out_of_box = False
        for s, b in zip(range(8), fo.run_batch(p, opt, range(8), n_iter=n_iter)):
            a = fo.run(p, opt, n_iter=n_iter, seed=s)
            same_result(a, b)
            out_of_box |= bool(((b.state.positions < 0) | (b.state.positions > 1)).any())
        assert out_of_box
