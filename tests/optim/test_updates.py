"""Hand-checked single updates of every algorithm with injected random numbers."""
from __future__ import annotations

import numpy as np
import pytest

import fusionlib.optim as fo
from fusionlib.optim.functions import ackley, rastrigin, rosenbrock, sphere

LO, HI = np.full(2, -10.0), np.full(2, 10.0)


class TestConstriction:
    def test_known_value(self):
        """Clerc & Kennedy (2002): φ = 4.1 gives χ ≈ 0.72984, c = χ·2.05 ≈ 1.49618."""
        w, c1, c2 = fo.constriction(2.05, 2.05)
        assert w == pytest.approx(0.7298437881, abs=1e-9) and c1 == c2 == pytest.approx(1.4961797657, abs=1e-9)


class TestPsoUpdate:
    def test_known_value(self):
        X, V = np.array([[0.0, 9.0]]), np.array([[1.0, 1.0]])
        pb, gb = np.array([[2.0, 9.0]]), np.array([4.0, 9.0])
        r = np.full((1, 2), 0.5)
        Xn, Vn = fo.pso_update(X, V, pb, gb, r, r, 0.5, 1.0, 1.0, np.array([2.0, 2.0]), LO, HI)
        # v0 = .5 + .5*2 + .5*4 = 3.5 -> clamped 2; x0 = 2. v1 = .5 -> x1 = 9.5 (inside)
        np.testing.assert_allclose(Xn, [[2.0, 9.5]])
        np.testing.assert_allclose(Vn, [[2.0, 0.5]])
        # leaving the box: the velocity is mirrored and the position clipped
        Xn, Vn = fo.pso_update(np.array([[0.0, 9.8]]), np.array([[0.0, 1.0]]), np.array([[0.0, 9.8]]),
                               np.array([0.0, 9.8]), r, r, 1.0, 0.0, 0.0, np.array([2.0, 2.0]), LO, HI)
        np.testing.assert_allclose(Xn, [[0.0, 10.0]])
        np.testing.assert_allclose(Vn, [[0.0, -1.0]])


class TestDeUpdate:
    def test_known_value(self):
        X = np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [2.0, 2.0, 2.0], [4.0, 4.0, 4.0]])
        donors = np.array([[1, 3, 2]])
        F = np.full((1, 3), 0.5)
        r = np.array([[0.9, 0.1, 0.9]])
        # mutant = 1 + .5 (4 - 2) = 2; crossover takes dim 1 (r <= CR) and dim 2 (j0)
        u = fo.de_update(X[:1], X, donors, F, r, np.array([2]), 0.2, np.full(3, -10.0), np.full(3, 10.0))
        np.testing.assert_allclose(u, [[0.0, 2.0, 2.0]])

    def test_distinct_donors(self):
        d = fo.distinct_donors(np.random.default_rng(0).random((6, 6)))
        assert d.shape == (6, 3)
        for i, row in enumerate(d):
            assert len(set(row)) == 3 and i not in row

    @pytest.mark.parametrize("n", [6, 48, 49, 120])
    def test_distinct_donors_reference(self, n):
        """Both paths (sort for small, repeated argmin for large populations) give the three smallest
        keys of each row other than its own, in increasing key order, as a full sort does."""
        keys = np.random.default_rng(n).random((n, n))
        ref = np.argsort(np.where(np.eye(n, dtype=bool), np.inf, keys), axis=1, kind="stable")[:, :3]
        np.testing.assert_array_equal(fo.distinct_donors(keys), ref)
        assert np.isfinite(keys).all()  # the caller's keys are not modified

    def test_trial_leaves_inputs(self):
        rng = np.random.default_rng(1)
        X = rng.random((5, 3))
        X0 = X.copy()
        fo.de_update(X, X, np.array([[1, 2, 3]] * 5), np.full((5, 3), 0.5), rng.random((5, 3)),
                     np.zeros(5, dtype=int), 0.5, np.zeros(3), np.ones(3))
        np.testing.assert_array_equal(X, X0)


class TestGwoUpdate:
    def test_known_value(self):
        """a = 0 -> A = 0: the new position is the mean of the three leaders."""
        L = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 9.0]])
        r = np.random.default_rng(0).random((3, 4, 2))
        Xn = fo.gwo_update(np.zeros((4, 2)), L, 0.0, r, r)
        np.testing.assert_allclose(Xn, np.tile([3.0, 5.0], (4, 1)))

    def test_known_value_a(self):
        """a = 2, r1 = 1 -> A = 2; r2 = 0.5 -> C = 1: X_k' = L_k - 2 |L_k - X|."""
        L = np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
        ones, half = np.ones((3, 1, 2)), np.full((3, 1, 2), 0.5)
        Xn = fo.gwo_update(np.zeros((1, 2)), L, 2.0, ones, half)
        np.testing.assert_allclose(Xn, [[-2.0, -2.0]])


class TestWoaUpdate:
    def test_known_value(self):
        X = np.array([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
        Xsrc = np.array([[1.0, 1.0], [2.0, 3.0], [0.0, 0.0]])
        leader = np.array([4.0, -2.0])
        A = np.array([0.5, 1.5, 0.0])
        C = np.array([1.0, 1.0, 1.0])
        l = np.array([0.0, 0.0, 0.0])
        p = np.array([0.2, 0.2, 0.7])
        k = np.array([[0, 0], [1, 1], [0, 0]])
        Y = fo.woa_update(X, Xsrc, leader, A, C, l, p, k)
        # encircle: L - .5|L - 0| = [2, -3]; search: Xr - 1.5|Xr| = [-1, -1.5]; spiral l=0: |L| + L
        np.testing.assert_allclose(Y, [[2.0, -3.0], [-1.0, -1.5], [8.0, 0.0]])

    def test_reference_three_forms(self):
        """The fused form equals the three separate moves of Eqs. 2.1-2.8 (computed here directly),
        bit for bit, for random whales in every branch."""
        rng = np.random.default_rng(3)
        n, d = 40, 6
        X, Xsrc, leader = rng.normal(size=(n, d)), rng.normal(size=(n, d)), rng.normal(size=d)
        A, C, l, p = rng.uniform(-2, 2, n), rng.uniform(0, 2, n), rng.uniform(-2, 1, n), rng.random(n)
        k = rng.integers(0, n, (n, d))
        Y = fo.woa_update(X, Xsrc, leader, A, C, l, p, k)
        Xr = Xsrc[k, np.arange(d)]
        a_, c_, l_ = A[:, None], C[:, None], l[:, None]
        ref = np.where((p < 0.5)[:, None],
                       np.where(np.abs(a_) >= 1, Xr - a_ * np.abs(c_ * Xr - X), leader - a_ * np.abs(c_ * leader - X)),
                       np.abs(leader - X) * np.exp(l_) * np.cos(2 * np.pi * l_) + leader)
        np.testing.assert_array_equal(Y, ref)


class TestEoUpdate:
    def test_known_value(self):
        """GCP = 0 (r2 < GP) -> C ← C_eq + (C - C_eq) F with F = a1 sign(r - .5)(e^{-λt} - 1)."""
        C = np.array([[1.0, 1.0]])
        pool = np.array([[3.0, 3.0]] * 5)
        lam, r = np.array([[1.0, 1.0]]), np.array([[0.9, 0.1]])
        F = 2.0 * np.array([1.0, -1.0]) * (np.exp(-1.0) - 1.0)
        Y = fo.eo_update(C, pool, np.array([0]), lam, r, np.array([0.3]), np.array([0.1]), 1.0, 2.0, 0.5, 1.0)
        np.testing.assert_allclose(Y, [3.0 + (1.0 - 3.0) * F])


class TestAoUpdate:
    def test_known_value_expanded_exploration(self):
        """Eq. 3: X1 = best (1 - t/T) + (X_M - best) r."""
        X = np.zeros((1, 2))
        best = np.array([2.0, 4.0])
        Y = fo.ao_update(X, best, np.array([1.0, 1.0]), X, 1, 10, LO, HI, np.array([0.1]), np.full((1, 4), 0.5),
                         np.zeros((1, 2)), 0.5, 0.5, 0.1, 0.1)
        np.testing.assert_allclose(Y, [best * 0.9 + (1.0 - best) * 0.5])

    def test_levy(self):
        """Mantegna: σ(1.5) = 0.6966 (Yang's Lévy step), step = 0.01 u σ / |v|^{2/3}."""
        s = fo.levy(np.array([1.0]), np.array([1.0]), 1.5)
        assert s[0] == pytest.approx(0.01 * 0.696574, rel=1e-5)


class TestAha:
    def test_directions(self):
        u_type = np.array([0.9, 0.5, 0.1])
        keys = np.array([[0.4, 0.3, 0.2, 0.1]] * 3)   # permutation: dims 3, 2, 1, 0
        u_num = np.array([0.5, 0.5, 0.5])
        Dm = fo.aha_directions(u_type, keys, u_num)
        # omni: all; axial: ceil(.5·4) = 2 -> dim 1; diagonal: ceil(.5·2 + 1) = 2 dims -> 3, 2
        np.testing.assert_array_equal(Dm, [[1, 1, 1, 1], [0, 1, 0, 0], [0, 0, 1, 1]])

    def test_candidates(self):
        X = np.array([[1.0, 2.0], [3.0, 5.0]])
        Y = fo.aha_candidates(X, np.array([1, 0]), np.array([True, False]), np.ones((2, 2)), np.array([0.5, 2.0]))
        # guided: x_tar + a (x_i - x_tar) = [3, 5] + .5 [-2, -3]; territorial: x + 2 x
        np.testing.assert_allclose(Y, [[2.0, 3.5], [9.0, 15.0]])


class TestFunctions:
    def test_known_value(self):
        z = np.zeros((1, 5))
        assert sphere(z)[0] == 0 and rastrigin(z)[0] == 0 and ackley(z)[0] == pytest.approx(0, abs=1e-12)
        assert rosenbrock(np.ones((1, 5)))[0] == 0
        assert rastrigin(np.ones((1, 2)))[0] == pytest.approx(2.0)
        assert sphere(np.array([[1.0, 2.0]]))[0] == 5.0
