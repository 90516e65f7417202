"""Problem, elementwise, repair_bounds, run/minimize: validation, budgets, history."""
from __future__ import annotations

import numpy as np
import pytest

import fusionlib.optim as fo
from fusionlib._checks import ShapeError
from fusionlib.optim.functions import sphere
from tolerances import F64_NP

LO, HI = -np.ones(3), np.ones(3)


class TestProblem:
    def test_smoke(self):
        p = fo.Problem(sphere, LO, HI)
        f = p.evaluate(np.zeros((4, 3)))
        assert f.shape == (4,) and p.n_evals == 4 and p.n_calls == 1

    def test_scalar_bounds_need_dim(self):
        p = fo.Problem(sphere, -1.0, 1.0, dim=5)
        assert p.dim == 5 and p.lower.shape == (5,)
        with pytest.raises(ValueError, match="`dim` is required"):
            fo.Problem(sphere, -1.0, 1.0)

    def test_exception(self):
        with pytest.raises(ValueError, match=r"`lower` must be < `upper`.*lower\[1\]=2"):
            fo.Problem(sphere, [0, 2, 0], [1, 1, 1])
        with pytest.raises(ShapeError, match="same shape"):
            fo.Problem(sphere, np.zeros(2), np.ones(3))
        with pytest.raises(ValueError, match="finite"):
            fo.Problem(sphere, [0, -np.inf], [1, 1])
        with pytest.raises(TypeError, match="`objective` must be callable"):
            fo.Problem(3, LO, HI)
        p = fo.Problem(lambda X: np.full(len(X), np.nan), LO, HI)
        with pytest.raises(ValueError, match="NaN for 2 of 2"):
            p.evaluate(np.zeros((2, 3)))
        p = fo.Problem(lambda X: X.sum(), LO, HI)
        with pytest.raises(ShapeError, match="elementwise"):
            p.evaluate(np.zeros((2, 3)))
        p = fo.Problem(lambda X: X, LO, HI)
        with pytest.raises(ShapeError, match=r"return shape \(2,\)"):
            p.evaluate(np.zeros((2, 3)))
        with pytest.raises(ShapeError, match=r"`X` must have shape \(k, 3\)"):
            fo.Problem(sphere, LO, HI).evaluate(np.zeros((2, 4)))

    def test_budget_truncates(self):
        calls = []
        p = fo.Problem(lambda X: (calls.append(len(X)), sphere(X))[1], LO, HI, max_evals=5)
        f = p.evaluate(np.zeros((3, 3)))
        f = p.evaluate(np.ones((4, 3)))
        assert calls == [3, 2] and p.n_evals == 5 and p.exhausted
        assert np.isinf(f[2:]).all() and np.isfinite(f[:2]).all()
        assert np.isinf(p.evaluate(np.zeros((2, 3)))).all() and calls == [3, 2]
        assert p.trace.shape == (5,)


class TestElementwise:
    def test_known_value(self):
        g = fo.elementwise(lambda x: float(np.sum(np.abs(x))))
        np.testing.assert_array_equal(g(np.array([[1.0, -2.0], [0.5, 0.5]])), [3.0, 1.0])

    def test_exception(self):
        with pytest.raises(TypeError, match="`f` must be callable"):
            fo.elementwise(None)


class TestRepairBounds:
    def test_clip(self):
        x = np.array([[-2.0, 0.5, 3.0]])
        np.testing.assert_array_equal(fo.repair_bounds(x, LO, HI, "clip"), [[-1.0, 0.5, 1.0]])

    def test_random(self):
        x = np.array([[-2.0, 0.5, 3.0]])
        u = np.full_like(x, 0.25)
        np.testing.assert_array_equal(fo.repair_bounds(x, LO, HI, "random", u), [[-0.5, 0.5, -0.5]])

    def test_exception(self):
        with pytest.raises(ValueError, match="`policy` must be one of"):
            fo.repair_bounds(np.zeros((1, 3)), LO, HI, "wrap")
        with pytest.raises(ValueError, match="`u`"):
            fo.repair_bounds(np.zeros((1, 3)), LO, HI, "random")


class TestMinimize:
    def test_smoke_history(self):
        r = fo.minimize("pso", sphere, LO, HI, pop_size=6, iterations=7, seed=3)
        h = r.history
        assert r.n_evals == 6 + 6 * 7 and h.best.shape == (8,) and h.best_per_eval.shape == (r.n_evals,)
        assert h.n_evals[-1] == r.n_evals and h.evals_per_iter.sum() == r.n_evals
        assert np.all(np.diff(h.best_per_eval) <= 0) and np.all(np.diff(h.best) <= 0)
        assert h.best_per_eval[-1] == pytest.approx(r.best_f)
        assert np.all(h.diversity >= 0) and r.wall_time > 0

    @pytest.mark.parametrize("name", ["pso", "de", "woa", "iaoa"])
    def test_reference_history_summaries(self, name):
        """mean and diversity (computed on first access) equal the definitions applied to the states
        the callback saw, copied at the time."""
        seen = []
        r = fo.minimize(name, sphere, LO, HI, 6, 5, seed=1,
                        callback=lambda s: seen.append((s.positions.copy(), s.fitness.copy())))
        h = r.history
        width = HI - LO
        div = [float(np.mean(x.std(axis=0) / width)) for x, _ in seen]
        mean = [float(f[np.isfinite(f)].mean()) for _, f in seen]
        np.testing.assert_allclose(h.diversity, div, **F64_NP)
        np.testing.assert_allclose(h.mean, mean, **F64_NP)
        assert h.diversity is h.diversity  # computed once

    def test_exception(self):
        with pytest.raises(KeyError, match="valid keys"):
            fo.minimize("nope", sphere, LO, HI, 5, 10)
        with pytest.raises(ValueError, match="`pop_size` must be an int >= 2"):
            fo.minimize("pso", sphere, LO, HI, 1, 10)
        with pytest.raises(ValueError, match="`max_evals` must be >= pop_size=10"):
            fo.minimize("pso", sphere, LO, HI, 10, 10, max_evals=9)
        with pytest.raises(ValueError, match="neither"):
            fo.minimize("pso", sphere, LO, HI, 10, None)
        with pytest.raises(ValueError, match="`mode` must be one of"):
            fo.minimize("pso", sphere, LO, HI, 10, 5, mode="batched")
        with pytest.raises(TypeError, match="unknown hyperparameter.*valid"):
            fo.minimize("aoa", sphere, LO, HI, 10, 5, beta=3)
        with pytest.raises(ValueError, match="scalars"):
            fo.minimize("aoa", sphere, -1.0, 1.0, 10, 5)
        with pytest.raises(ValueError, match=r"lower\[0\]"):
            fo.minimize("aoa", sphere, HI, LO, 10, 5)
        with pytest.raises(ValueError, match="NaN"):
            fo.minimize("aoa", lambda X: np.where(X[:, 0] > 0, np.nan, 1.0), LO, HI, 10, 5)

    def test_callback_stops(self):
        seen = []
        r = fo.minimize("aoa", sphere, LO, HI, 5, 50, callback=lambda s: (seen.append(s.iteration), s.iteration >= 3)[1])
        assert seen == [0, 1, 2, 3] and r.n_iter == 3

    def test_budget_without_iterations(self):
        r = fo.minimize("iaoa", sphere, LO, HI, 5, None, max_evals=123, seed=0)
        assert r.n_evals == 123
