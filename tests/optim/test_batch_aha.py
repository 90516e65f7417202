"""Batched AHA pieces: targets, directions and candidates with a runs axis equal their one-run
forms; budgets that end at a migration."""
from __future__ import annotations

import numpy as np
import pytest

import fusionlib.optim as fo
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


class TestAhaRunBatch:
    @pytest.mark.parametrize("extra", [0, 1, 2])
    def test_budget_ends_at_migration(self, extra):
        """N = 2 migrates every 4 steps; the budget ends just before, at or after that evaluation."""
        opt = fo.AHA(pop_size=2)
        p = fo.Problem(sphere, np.full(3, -5.0), np.full(3, 5.0))
        budget = 2 + 4 * 2 + extra
        seeds = [0, 1, 2, 3]
        for s, b in zip(seeds, fo.run_batch(p, opt, seeds, max_evals=budget)):
            a = fo.run(p, opt, max_evals=budget, seed=s)
            assert a.best_f == b.best_f and a.n_evals == b.n_evals == budget
            np.testing.assert_array_equal(a.state.positions, b.state.positions)
            np.testing.assert_array_equal(a.state.fitness, b.state.fitness)
            np.testing.assert_array_equal(a.state.extras["visit_table"], b.state.extras["visit_table"])
            np.testing.assert_array_equal(a.history.best_per_eval, b.history.best_per_eval)

    def test_migrations_over_many_steps(self):
        opt = fo.AHA(pop_size=2)
        p = fo.Problem(sphere, np.full(3, -5.0), np.full(3, 5.0))
        seeds = list(range(6))
        for s, b in zip(seeds, fo.run_batch(p, opt, seeds, n_iter=25)):
            a = fo.run(p, opt, n_iter=25, seed=s)
            assert a.best_f == b.best_f and a.n_evals == b.n_evals
            np.testing.assert_array_equal(a.state.extras["visit_table"], b.state.extras["visit_table"])
            np.testing.assert_array_equal(a.history.best_per_eval, b.history.best_per_eval)
