"""Batched GWO pieces: the runs-axis top-k leaders and gwo_update equal their one-run forms."""
from __future__ import annotations

import numpy as np

import fusionlib.optim as fo
from fusionlib.optim._leaders import empty_leaders, leaders_topk, leaders_topk_batch


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
