"""Batched PSO pieces: pso_update with a runs axis equals its one-run form, bit for bit."""
from __future__ import annotations

import numpy as np

import fusionlib.optim as fo


class TestPsoUpdate:
    def test_runs_axis_equals_per_run(self):
        """A tight box and a small vmax so that the velocity clip and the mirroring both act."""
        g = np.random.default_rng(2)
        R, P, D = 6, 7, 3
        X, V = g.uniform(-1, 1, (R, P, D)), g.normal(size=(R, P, D))
        pb, gb = g.uniform(-1, 1, (R, P, D)), g.uniform(-1, 1, (R, D))
        r1, r2 = g.random((R, P, D)), g.random((R, P, D))
        lo, hi, vmax = np.full(D, -1.0), np.full(D, 1.0), np.full(D, 0.4)
        X0, V0 = X.copy(), V.copy()
        Xn, Vn = fo.pso_update(X, V, pb, gb[:, None, :], r1, r2, 0.73, 1.5, 1.5, vmax, lo, hi)
        assert Xn.shape == Vn.shape == (R, P, D)
        for r in range(R):
            x, v = fo.pso_update(X[r], V[r], pb[r], gb[r], r1[r], r2[r], 0.73, 1.5, 1.5, vmax, lo, hi)
            np.testing.assert_array_equal(Xn[r], x)
            np.testing.assert_array_equal(Vn[r], v)
        assert np.any(np.abs(Vn) == 0.4) and np.any((Xn == 1.0) | (Xn == -1.0))   # clip and box both hit
        np.testing.assert_array_equal(X, X0)
        np.testing.assert_array_equal(V, V0)


class TestStepBatch:
    def test_supports_batch(self):
        assert fo.supports_batch(fo.PSO())
        assert not fo.supports_batch(fo.PSO(mode="faithful"))
