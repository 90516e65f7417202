"""Batched EO pieces: eo_update with a runs axis equals its one-run form."""
from __future__ import annotations

import numpy as np

import fusionlib.optim as fo


class TestEoUpdateBatch:
    def test_runs_axis_equals_loop(self):
        rng = np.random.default_rng(3)
        R, P, D = 4, 6, 3
        C, pool = rng.random((R, P, D)), rng.random((R, 5, D))
        k = rng.integers(0, 5, (R, P))
        lam, r = rng.random((R, P, D)), rng.random((R, P, D))
        r1, r2 = rng.random((R, P)), rng.random((R, P))
        Y = fo.eo_update(C, pool, k, lam, r, r1, r2, 0.7, 2.0, 0.5, 1.0)
        for i in range(R):
            np.testing.assert_array_equal(
                Y[i], fo.eo_update(C[i], pool[i], k[i], lam[i], r[i], r1[i], r2[i], 0.7, 2.0, 0.5, 1.0))
