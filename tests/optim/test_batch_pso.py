"""Batched PSO: pso_update with a runs axis equals its one-run form, and both modes of run_batch equal
single runs bit for bit (faithful: the initial-global-best quirk and particle-by-particle updates)."""
from __future__ import annotations

import numpy as np
import pytest

import fusionlib.optim as fo
from batch_helpers import recording, same_result
from fusionlib.optim.functions import sphere


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


LO, HI = np.full(3, -4.0), np.full(3, 4.0)


def offset(X):
    """Sphere - 20 on [-4, 4]^3: some initial populations have every cost <= 0, others not."""
    return sphere(X) - 20.0


def capped(X):
    """Ties: many points share the largest value 5."""
    return np.minimum(sphere(X), 5.0)


class TestStepBatch:
    @pytest.mark.parametrize("mode", ["corrected", "faithful"])
    def test_supports_batch(self, mode):
        assert fo.supports_batch(fo.PSO(mode=mode))

    @pytest.mark.parametrize("fitness", [offset, capped])
    def test_faithful_quirk_branches(self, fitness):
        """The '>' initial-best quirk: runs where no initial cost exceeds 0 (best stays particle 0
        at cost 0) and runs where the first maximum is taken (ties: the first), 30 seeds."""
        p = fo.Problem(fitness, LO, HI)
        opt = fo.PSO(pop_size=5, mode="faithful")
        batch = fo.run_batch(p, opt, range(30), n_iter=8)
        init = np.array([b.history.best[0] for b in batch])
        if fitness is offset:
            assert np.any(init == 0.0) and np.any(init > 0.0)
        else:
            assert np.all(init == 5.0)
        for s, b in enumerate(batch):
            a = fo.run(p, opt, n_iter=8, seed=s)
            same_result(a, b)

    def test_faithful_one_call_per_particle(self):
        f, calls = recording(sphere)
        fo.run_batch(fo.Problem(f, LO, HI), fo.PSO(pop_size=4, mode="faithful"), range(6), n_iter=3)
        assert calls == [(24, 3)] + [(6, 3)] * 12
