"""Batched GA pieces: selection probabilities, the per-row roulette and ga_offspring with a runs axis
equal their one-run forms, bit for bit."""
from __future__ import annotations

import numpy as np
import pytest

import fusionlib.optim as fo
from batch_helpers import same_result
from fusionlib.optim._base import roulette
from fusionlib.optim.functions import sphere
from fusionlib.optim.ga import _roulette_rows


def _costs(g, R, P):
    """Rows of costs with the awkward cases: +inf (beyond a budget), all +inf, all equal, -inf."""
    f = g.normal(size=(R, P)) * 10.0 ** g.integers(-3, 4, (R, 1))
    f[g.random((R, P)) < 0.2] = np.inf
    f[1] = np.inf
    f[2] = 3.5
    f[3, 0] = -np.inf
    return f


class TestSelectionProbabilities:
    @pytest.mark.parametrize("P", [2, 5, 9, 17, 130, 1000])
    def test_rows_equal_per_row(self, P):
        """Also P >= 8 and >= 128, where NumPy's row sums switch to pairwise blocks."""
        f = _costs(np.random.default_rng(P), 8, P)
        got = fo.selection_probabilities(f, "corrected")
        assert got.shape == f.shape
        for r in range(len(f)):
            np.testing.assert_array_equal(got[r], fo.selection_probabilities(f[r], "corrected"))
        np.testing.assert_array_equal(got[1], np.full(P, 1.0 / P))     # nothing finite: uniform
        np.testing.assert_array_equal(got[2], np.full(P, 1.0 / P))     # all equal: uniform

    def test_faithful_rows(self):
        f = np.abs(np.random.default_rng(0).normal(size=(4, 6)))
        f[0, 2] = np.inf
        got = fo.selection_probabilities(f, "faithful")
        for r in range(4):
            np.testing.assert_array_equal(got[r], fo.selection_probabilities(f[r], "faithful"))
        with pytest.raises(ValueError, match="costs >= 0"):
            fo.selection_probabilities(-f, "faithful")


class TestRouletteRows:
    @pytest.mark.parametrize("P", [2, 5, 12, 60])
    def test_equals_searchsorted(self, P):
        """Zero weights (flat cumsum steps), u = 0 and u landing exactly on a cumsum boundary."""
        g = np.random.default_rng(P)
        p = g.random((6, P))
        p[:, 1] = 0.0
        p[2] = 0.0
        p[2, -1] = 1.0
        cum = np.cumsum(p, axis=-1)
        u = g.random((6, 40))
        u[:, 0] = 0.0
        u[:, 1] = cum[:, 0] / cum[:, -1]
        got = _roulette_rows(cum, u)
        for r in range(6):
            np.testing.assert_array_equal(got[r], roulette(cum[r], u[r]))

    def test_nan_row_falls_back(self):
        cum = np.cumsum(np.array([[0.2, 0.3, 0.5], [np.nan, 0.5, 0.5]]), axis=-1)
        u = np.array([[0.1, 0.6, 0.99], [0.1, 0.6, 0.99]])
        got = _roulette_rows(cum, u)
        for r in range(2):
            np.testing.assert_array_equal(got[r], roulette(cum[r], u[r]))


class TestGaOffspring:
    @pytest.mark.parametrize("pc,pm", [(0.8, 0.8), (0.0, 1.0), (1.0, 0.0)])
    def test_runs_axis_equals_per_run(self, pc, pm):
        g = np.random.default_rng(5)
        R, N, D = 7, 6, 3
        X = g.normal(size=(R, N, D))
        X0 = X.copy()
        p = fo.selection_probabilities(_costs(g, R, N), "corrected")
        u = g.random((4, R, N))
        cpos, mpos = g.integers(0, D, (R, N)), g.integers(0, D, (R, N))
        mv = g.normal(size=(R, D))
        C = fo.ga_offspring(X, p, u[0], u[1], u[2], cpos, u[3], mpos, mv, pc, pm)
        assert C.shape == (R, N, D)
        for r in range(R):
            np.testing.assert_array_equal(
                C[r], fo.ga_offspring(X[r], p[r], u[0, r], u[1, r], u[2, r], cpos[r], u[3, r], mpos[r], mv[r], pc, pm))
        np.testing.assert_array_equal(X, X0)

    def test_known_value_two_runs(self):
        """Run 0 crosses gene 1 from the mother, run 1 mutates gene 0 from its own mutation vector."""
        X = np.array([[[0.0, 0.0], [1.0, 1.0]], [[2.0, 2.0], [3.0, 3.0]]])
        p = np.array([[0.5, 0.5], [0.0, 1.0]])
        C = fo.ga_offspring(X, p, np.full((2, 1), 0.1), np.full((2, 1), 0.99), np.array([[0.1], [0.9]]),
                            np.array([[1], [0]]), np.array([[0.9], [0.1]]), np.array([[0], [0]]),
                            np.array([[7.0, 7.0], [9.0, 9.0]]), 0.5, 0.5)
        # run 0: father row 0, mother row 1, gene 1 crossed; run 1: father row 1 (row 0 has p = 0),
        # gene 0 mutated to run 1's mutation vector
        np.testing.assert_array_equal(C, [[[0.0, 1.0]], [[9.0, 3.0]]])


class TestStepBatch:
    @pytest.mark.parametrize("mode", ["corrected", "faithful"])
    def test_supports_batch(self, mode):
        assert fo.supports_batch(fo.GA(mode=mode))

    @pytest.mark.parametrize("dim", [1, 2, 5])
    def test_faithful_equals_sequential(self, dim):
        """Faithful: roulette proportional to the cost, crossover genes 2..D (all genes when D = 1),
        evaluation at the top of each pass; 16 seeds."""
        p = fo.Problem(sphere, np.full(dim, -3.0), np.full(dim, 3.0))
        opt = fo.GA(pop_size=5, mode="faithful")
        seeds = list(range(16))
        for s, b in zip(seeds, fo.run_batch(p, opt, seeds, n_iter=10)):
            a = fo.run(p, opt, n_iter=10, seed=s)
            same_result(a, b)
            assert b.n_evals == 50

    @staticmethod
    def _crossed_genes(mode):
        """pc = 1, pm = 0, batched, first generation (the initial rows are distinct in every gene, so a
        child's father is the row it differs from in at most one gene): per child, where it differs."""
        p = fo.Problem(lambda Y: Y.sum(1) + 4.0, np.full(3, -1.0), np.full(3, 2.0))
        seen = []
        fo.run_batch(p, fo.GA(pop_size=6, mode=mode, pc=1.0, pm=0.0), range(30), n_iter=2,
                     callback=lambda s: seen.append(s.positions.copy()))
        X, C = seen[0], seen[1]                                    # (R, N, D) before, children after
        diff = C[:, :, None, :] != X[:, None, :, :]                # (R, child, row, D)
        n_diff = diff.sum(-1)
        row = n_diff.argmin(-1)
        assert np.all(np.take_along_axis(n_diff, row[..., None], -1) <= 1)   # one gene from a mother
        return np.take_along_axis(diff, row[..., None, None], 2)[:, :, 0]     # (R, children, D)

    def test_faithful_gene_one_never_crossed(self):
        """GA.m draws the crossover position from genes 2..D: in faithful mode gene 1 of a child is
        always its father's; corrected mode does cross it (so the check can fail)."""
        assert not self._crossed_genes("faithful")[..., 0].any()
        assert self._crossed_genes("corrected")[..., 0].any()
