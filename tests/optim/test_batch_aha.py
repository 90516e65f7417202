"""Batched AHA pieces: targets, directions and candidates with a runs axis equal their one-run
forms; budgets that end at a migration (both modes); faithful AHA batches bird by bird."""
from __future__ import annotations

import numpy as np
import pytest

import fusionlib.optim as fo
from batch_helpers import recording, same_result
from fusionlib.optim.aha import _target, _targets_batch
from fusionlib.optim.functions import sphere


class TestTargetsBatch:
    def test_equals_target(self):
        rng = np.random.default_rng(5)
        R, P = 50, 5
        VT = rng.integers(0, 3, (R, P, P)).astype(float)     # many ties of the longest-unvisited
        VT[:, np.arange(P), np.arange(P)] = np.nan
        f = rng.integers(0, 3, (R, P)).astype(float)          # ties of fitness among them
        f[rng.random((R, P)) < 0.3] = np.inf
        f[::5] = np.inf                                        # every tie at +inf
        f[1, 2] = -np.inf
        T = _targets_batch(VT, f)
        for r in range(R):
            assert list(T[r]) == [_target(VT[r], f[r], i) for i in range(P)]


class TestAhaPiecesBatch:
    def test_directions_and_candidates(self):
        rng = np.random.default_rng(6)
        R, P, D = 4, 5, 6
        u_type, keys, u_num = rng.random((R, P)), rng.random((R, P, D)), rng.random((R, P))
        Dir = fo.aha_directions(u_type, keys, u_num)
        X, tg = rng.random((R, P, D)), rng.integers(0, P, (R, P))
        guided, a = rng.random((R, P)) < 0.5, rng.standard_normal((R, P))
        Y = fo.aha_candidates(X, tg, guided, Dir, a)
        for r in range(R):
            np.testing.assert_array_equal(Dir[r], fo.aha_directions(u_type[r], keys[r], u_num[r]))
            np.testing.assert_array_equal(Y[r], fo.aha_candidates(X[r], tg[r], guided[r], Dir[r], a[r]))


@pytest.mark.parametrize("mode", ["corrected", "faithful"])
class TestAhaRunBatch:
    @pytest.mark.parametrize("extra", [0, 1, 2])
    def test_budget_ends_at_migration(self, extra, mode):
        """N = 2 migrates every 4 steps; the budget ends just before, at or after that evaluation."""
        opt = fo.AHA(pop_size=2, mode=mode)
        p = fo.Problem(sphere, np.full(3, -5.0), np.full(3, 5.0))
        budget = 2 + 4 * 2 + extra
        seeds = [0, 1, 2, 3]
        for s, b in zip(seeds, fo.run_batch(p, opt, seeds, max_evals=budget)):
            a = fo.run(p, opt, max_evals=budget, seed=s)
            same_result(a, b)
            assert b.n_evals == budget

    def test_migrations_over_many_steps(self, mode):
        opt = fo.AHA(pop_size=2, mode=mode)
        p = fo.Problem(sphere, np.full(3, -5.0), np.full(3, 5.0))
        seeds = list(range(6))
        for s, b in zip(seeds, fo.run_batch(p, opt, seeds, n_iter=25)):
            a = fo.run(p, opt, n_iter=25, seed=s)
            same_result(a, b)


class TestFaithfulBatch:
    def test_supports_batch(self):
        assert fo.supports_batch(fo.AHA(mode="faithful"))

    def test_calls_bird_by_bird(self):
        """AHA.m's order: one call of R rows per bird, one more at a migration (every 2N iterations)."""
        f, calls = recording(lambda X: (X ** 2).sum(axis=1))
        R, n, T = 3, 2, 5
        p = fo.Problem(f, -np.ones(2), np.ones(2))
        res = fo.run_batch(p, fo.AHA(pop_size=n, mode="faithful"), range(R), n_iter=T)
        assert [c[0] for c in calls] == [R * n] + [R] * n * 4 + [R] + [R] * n
        assert all(b.n_evals == n + n * T + T // (2 * n) for b in res)

    def test_equals_run_with_ties(self):
        """A step objective: ties of fitness among the tied longest-unvisited sources decide targets."""
        p = fo.Problem(lambda X: np.floor(np.abs(X).sum(axis=1)), np.full(3, -3.0), np.full(3, 3.0))
        opt = fo.AHA(pop_size=6, mode="faithful")
        for s, b in zip(range(6), fo.run_batch(p, opt, range(6), n_iter=15)):
            a = fo.run(p, opt, n_iter=15, seed=s)
            same_result(a, b)

    @pytest.mark.parametrize("mode", ["corrected", "faithful"])
    def test_equals_run_with_infinite_fitness(self, mode):
        """+inf over half the box: tied longest-unvisited sources that all have f = +inf take the first
        tie (the miss branch of the targets)."""
        def f(X):
            return np.where(X[:, 0] > -1.0, np.inf, (X ** 2).sum(axis=1))
        p = fo.Problem(f, np.full(2, -2.0), np.full(2, 2.0))
        opt = fo.AHA(pop_size=4, mode=mode)
        n_inf = 0
        for s, b in zip(range(10), fo.run_batch(p, opt, range(10), n_iter=9)):
            a = fo.run(p, opt, n_iter=9, seed=s)
            same_result(a, b)
            n_inf += int(np.isinf(b.state.fitness).sum())
        assert n_inf > 0
