"""Batched AO pieces: ao_update with a runs axis equals its one-run form (both phases)."""
from __future__ import annotations

import numpy as np
import pytest

import fusionlib.optim as fo


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
