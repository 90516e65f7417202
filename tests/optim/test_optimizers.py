"""Shared invariants of every registered optimiser, in both modes (parametrised over the registry)."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import fusionlib.optim as fo
from fusionlib.optim.functions import rastrigin, sphere
from tolerances import F64

NAMES = list(fo.OPTIMIZERS)
MODES = list(fo.MODES)
LO3, HI3 = np.full(3, -5.0), np.full(3, 5.0)
# faithful modes that evaluate points outside the box (iaoa.md §4): IAOA's DRST samples are not
# clipped; AO's candidates are evaluated unclipped
LEAVES_BOX = {("iaoa", "faithful"), ("ao", "faithful")}


def shifted(X):
    """Σ (x - 7)² on [-5, 5]^D: the box optimum is x = 5 with f = 4 D (closed form)."""
    return ((X - 7.0) ** 2).sum(axis=1)


def test_registry_complete():
    assert sorted(NAMES) == sorted(["pso", "acor", "de", "ga", "gwo", "woa", "eo", "aha", "ao", "aoa", "iaoa"])


@pytest.mark.parametrize("name", NAMES)
class TestRegistryEntry:
    def test_info(self, name):
        info = fo.OPTIMIZERS[name]
        assert info.key == name and info.cls.key == name
        assert isinstance(info.full_name, str) and len(info.full_name) > 5
        assert 1970 < info.year < 2030 and info.doi.startswith("10.")
        assert info.evals_per_iter(5) >= 5

    def test_evals_per_iter(self, name):
        """The registry's evals_per_iter(N) is what a corrected step spends (AHA: + migrations)."""
        r = fo.minimize(name, sphere, LO3, HI3, 6, 4, seed=0)
        per = r.history.evals_per_iter
        assert per[0] == 6 and np.all(per[1:] == fo.OPTIMIZERS[name].evals_per_iter(6))
        assert fo.OPTIMIZERS[name].cls(pop_size=6).evals_per_iter() == fo.OPTIMIZERS[name].evals_per_iter(6)

    def test_matlab_budget(self, name):
        """Faithful mode spends the released code's budget (iaoa.md §4 table, N = 5, T = 10)."""
        expected = dict(pso=55, acor=55, de=55, ga=50, gwo=50, woa=50, eo=50, aha=56, ao=100, aoa=55, iaoa=505)
        r = fo.minimize(name, sphere, np.full(4, -50.0), np.full(4, 50.0), 5, 10, mode="faithful", seed=0)
        assert r.n_evals == expected[name] == fo.OPTIMIZERS[name].matlab_evals(5, 10)

    def test_exception(self, name):
        cls = fo.OPTIMIZERS[name].cls
        with pytest.raises(ValueError, match="`pop_size` must be an int >="):
            cls(pop_size=1)
        with pytest.raises(ValueError, match="`mode` must be one of"):
            cls(mode="batched")
        with pytest.raises(dataclasses.FrozenInstanceError):
            cls().pop_size = 9


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", NAMES)
class TestOptimizer:
    def test_deterministic(self, name, mode):
        """Same seed -> same result (bit for bit); different seeds differ."""
        kw = dict(pop_size=8, iterations=6, mode=mode)
        a = fo.minimize(name, rastrigin, LO3, HI3, seed=11, **kw)
        b = fo.minimize(name, rastrigin, LO3, HI3, seed=11, **kw)
        c = fo.minimize(name, rastrigin, LO3, HI3, seed=12, **kw)
        np.testing.assert_array_equal(a.best_x, b.best_x)
        np.testing.assert_array_equal(a.history.best_per_eval, b.history.best_per_eval)
        np.testing.assert_array_equal(a.state.positions, b.state.positions)
        assert not np.array_equal(a.history.best_per_eval, c.history.best_per_eval)

    def test_generator_seed(self, name, mode):
        a = fo.minimize(name, sphere, LO3, HI3, 6, 3, mode=mode, seed=np.random.default_rng(5))
        b = fo.minimize(name, sphere, LO3, HI3, 6, 3, mode=mode, seed=5)
        np.testing.assert_array_equal(a.best_x, b.best_x)

    @pytest.mark.parametrize("budget", [6, 37, 200])
    def test_n_evals_exact(self, name, mode, budget):
        """The budget is exact: the last generation is truncated so that n_evals == max_evals."""
        r = fo.minimize(name, sphere, LO3, HI3, 6, None, max_evals=budget, mode=mode, seed=1)
        assert r.n_evals == budget == r.history.n_evals[-1] == r.history.best_per_eval.size
        r = fo.minimize(name, sphere, LO3, HI3, 6, 1000, max_evals=budget, mode=mode, seed=1)
        assert r.n_evals == budget

    def test_in_bounds_and_closed_form(self, name, mode):
        """Results stay in the box and never beat the closed-form box optimum (f* = 4 D at x = 5);
        the best reported is the fitness of best_x."""
        lo, hi = np.array([-5.0, -3.0, -1.0]), np.array([5.0, 5.0, 5.0])
        fstar = 12.0
        for seed in range(3):
            r = fo.minimize(name, shifted, lo, hi, 8, 30, mode=mode, seed=seed)
            assert r.best_f == pytest.approx(shifted(r.best_x[None])[0], **F64)
            if (name, mode) in LEAVES_BOX:
                continue
            assert np.all(r.best_x >= lo) and np.all(r.best_x <= hi)
            assert np.all(r.state.positions >= lo) and np.all(r.state.positions <= hi)
            assert r.best_f >= fstar - 1e-12 and r.history.best_per_eval.min() >= fstar - 1e-12

    def test_solves_sphere(self, name, mode):
        """Sphere in D = 3 on [-5, 5], 2,000 evaluations, population 20: every run below 1e-3
        (GA, with one-gene crossover, uniform-reset mutation and no elitism, below 1; faithful GA,
        whose roulette favours high costs, is no better than random search here: below 5)."""
        tol = {("ga", "corrected"): 1.0, ("ga", "faithful"): 5.0}.get((name, mode), 1e-3)
        for seed in range(3):
            r = fo.minimize(name, sphere, LO3, HI3, 20, None, max_evals=2000, mode=mode, seed=seed)
            assert 0.0 <= r.best_f < tol


@pytest.mark.parametrize("name", sorted({n for n, _ in LEAVES_BOX}))
def test_faithful_leaves_box(name):
    """The documented faithful quirk shows: points outside the box are evaluated, and can beat the
    box optimum (corrected mode never does, see TestOptimizer)."""
    lo, hi = np.full(3, -5.0), np.full(3, 5.0)
    beaten = [fo.minimize(name, shifted, lo, hi, 8, 30, mode="faithful", seed=s).history.best_per_eval.min() < 12.0
              for s in range(5)]
    assert any(beaten)


def test_pso_faithful_init_quirk():
    """PSO.m starts the global best at cost 0 with '>' : it becomes the worst initial particle."""
    prob = fo.Problem(sphere, LO3, HI3)
    s = fo.PSO(pop_size=6, mode="faithful").init_state(prob, np.random.default_rng(0), n_iter=5)
    assert s.best_f == s.fitness.max()
    s = fo.PSO(pop_size=6, mode="corrected").init_state(prob, np.random.default_rng(0), n_iter=5)
    assert s.best_f == s.fitness.min()


def test_ga_faithful_selection_favours_bad():
    p = fo.selection_probabilities(np.array([1.0, 3.0]), "faithful")
    np.testing.assert_allclose(p, [0.25, 0.75])
    np.testing.assert_allclose(fo.selection_probabilities(np.array([1.0, 3.0, 2.0]), "corrected"), [2 / 3, 0, 1 / 3])
    with pytest.raises(ValueError, match="costs >= 0"):
        fo.selection_probabilities(np.array([-1.0, 3.0]), "faithful")


def test_ga_faithful_never_crosses_gene_one():
    X = np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    C = fo.ga_offspring(X, np.array([0.5, 0.5]), np.array([0.1, 0.1]), np.array([0.9, 0.9]),
                        np.array([0.0, 0.0]), np.array([1, 2]), np.array([1.0, 1.0]), np.array([0, 0]),
                        np.zeros(3), 0.8, 0.8)
    np.testing.assert_array_equal(C, [[0, 1, 0], [0, 0, 1]])
