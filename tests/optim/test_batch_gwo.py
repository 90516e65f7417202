"""Batched GWO pieces: the runs-axis leaders (top-k and the faithful chain) and gwo_update equal their
one-run forms; faithful GWO batches."""
from __future__ import annotations

import numpy as np

import fusionlib.optim as fo
from batch_helpers import recording
from fusionlib.optim._leaders import (empty_leaders, leaders_chain, leaders_chain_batch, leaders_topk,
                                     leaders_topk_batch)


class TestLeadersTopkBatch:
    def test_equals_per_run(self):
        """Random runs mixing the usual case, duplicated points, ties of fitness, +inf rows, -inf."""
        rng = np.random.default_rng(0)
        R, P, D = 40, 6, 3
        for k in (3, 4):
            LX, Lf = empty_leaders(k, D)
            LX = np.repeat(LX[None], R, axis=0)
            Lf = np.repeat(Lf[None], R, axis=0)
            for _ in range(5):
                X = rng.integers(0, 3, (R, P, D)).astype(float)   # few distinct points: duplicates
                f = X.sum(axis=-1) + rng.integers(0, 2, (R, P))   # ties of fitness between points
                f[rng.random((R, P)) < 0.2] = np.inf              # rows beyond a budget
                f[::7] = np.inf                                   # whole runs not evaluated
                f[3, rng.integers(0, P)] = -np.inf                # a non-finite best: no pick
                bx, bf = leaders_topk_batch(LX, Lf, X, f)
                n_dup = 0
                for r in range(R):
                    ex, ef = leaders_topk(LX[r], Lf[r], X[r], f[r])
                    np.testing.assert_array_equal(bx[r], ex)
                    np.testing.assert_array_equal(bf[r], ef)
                    c = np.concatenate([LX[r], X[r]])[np.argsort(np.concatenate([Lf[r], f[r]]), kind="stable")[:k]]
                    n_dup += len({tuple(x) for x in c}) < k
                assert n_dup > 0    # some runs had duplicate points among their k best
                LX, Lf = bx, bf

    def test_usual_case_distinct(self):
        rng = np.random.default_rng(1)
        R, P, D = 5, 8, 4
        LX, Lf = rng.random((R, 3, D)), rng.random((R, 3))
        X, f = rng.random((R, P, D)), rng.random((R, P))
        bx, bf = leaders_topk_batch(LX, Lf, X, f)
        allf = np.concatenate([Lf, f], axis=1)
        np.testing.assert_array_equal(bf, np.sort(allf, axis=1)[:, :3])
        assert bx.shape == (R, 3, D)


class TestGwoUpdateBatch:
    def test_runs_axis_equals_loop(self):
        rng = np.random.default_rng(2)
        R, P, D = 4, 5, 3
        X, L = rng.random((R, P, D)), rng.random((R, 3, D))
        r1, r2 = rng.random((R, 3, P, D)), rng.random((R, 3, P, D))
        Y = fo.gwo_update(X, L, 1.3, r1, r2)
        for r in range(R):
            np.testing.assert_array_equal(Y[r], fo.gwo_update(X[r], L[r], 1.3, r1[r], r2[r]))

    def test_minus_inf(self):
        """leaders_topk keeps a -inf leader in its usual case and stops at it in its loop."""
        LX, Lf = empty_leaders(3, 2)
        X = np.array([[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], [[1.0, 2.0], [1.0, 2.0], [5.0, 6.0]]])
        f = np.array([[1.0, -np.inf, 2.0], [1.0, -np.inf, 2.0]])
        bx, bf = leaders_topk_batch(np.stack([LX, LX]), np.stack([Lf, Lf]), X, f)
        np.testing.assert_array_equal(bf, [[-np.inf, 1.0, 2.0], [np.inf] * 3])
        for r in range(2):
            ex, ef = leaders_topk(LX, Lf, X[r], f[r])
            np.testing.assert_array_equal(bx[r], ex)
            np.testing.assert_array_equal(bf[r], ef)


class TestLeadersChainBatch:
    def test_equals_per_run(self):
        """Few fitness values (ties with a leader block the chain), +inf (not evaluated) and -inf."""
        rng = np.random.default_rng(4)
        R, P, D = 30, 6, 2
        n_changed = n_blocked = 0
        for k in (3, 4):
            LX, Lf = empty_leaders(k, D)
            LX, Lf = np.repeat(LX[None], R, axis=0), np.repeat(Lf[None], R, axis=0)
            for _ in range(6):
                X = rng.integers(0, 3, (R, P, D)).astype(float)
                f = rng.integers(0, 4, (R, P)).astype(float)
                f[rng.random((R, P)) < 0.2] = np.inf
                f[rng.random((R, P)) < 0.03] = -np.inf
                bx, bf = leaders_chain_batch(LX, Lf, X, f)
                for r in range(R):
                    ex, ef = leaders_chain(LX[r], Lf[r], X[r], f[r])
                    np.testing.assert_array_equal(bx[r], ex)
                    np.testing.assert_array_equal(bf[r], ef)
                    n_changed += not np.array_equal(ef, Lf[r])
                    # a candidate below some leader but equal to an earlier one: the chain skips it
                    n_blocked += any((fi < Lf[r]).any() and (fi == Lf[r][:int(np.argmax(fi < Lf[r]))]).any()
                                     for fi in f[r])
                LX, Lf = bx, bf
        assert n_changed > 0 and n_blocked > 0

    def test_inputs_unchanged(self):
        LX, Lf = np.zeros((2, 3, 2)), np.full((2, 3), np.inf)
        leaders_chain_batch(LX, Lf, np.ones((2, 4, 2)), np.arange(8.0).reshape(2, 4))
        assert np.isinf(Lf).all() and not LX.any()


class TestFaithfulBatch:
    def test_supports_batch(self):
        assert fo.supports_batch(fo.GWO(mode="faithful"))

    def test_one_call_per_generation(self):
        """Faithful GWO evaluates its whole pack at once (GWO.m's loop top): one call of R * N rows per
        iteration, T iterations in all (the first one is the initial population)."""
        f, calls = recording(lambda X: (X ** 2).sum(axis=1))
        p = fo.Problem(f, -np.ones(3), np.ones(3))
        res = fo.run_batch(p, fo.GWO(pop_size=5, mode="faithful"), range(7), n_iter=10)
        assert calls == [(35, 3)] * 10
        for s, b in zip(range(7), res):
            assert b.best_f == fo.run(p, fo.GWO(pop_size=5, mode="faithful"), n_iter=10, seed=s).best_f
