"""run_batch: R runs in lockstep equal R separate runs, bit for bit (corrected mode, every optimiser)."""
from __future__ import annotations

import numpy as np
import pytest

import fusionlib.optim as fo
from batch_helpers import recording, same_result
from fusionlib._checks import ShapeError
from fusionlib.optim.functions import rastrigin, sphere

NAMES = list(fo.OPTIMIZERS)
LO, HI = np.full(4, -5.0), np.full(4, 5.0)


def shifted(X):
    return ((X - 7.0) ** 2).sum(axis=1)


@pytest.mark.parametrize("name", NAMES)
class TestRunBatch:
    def test_batches(self, name):
        """Every optimiser has a batched corrected step (so the equality tests below compare two
        different code paths, not the sequential fallback with itself)."""
        assert fo.supports_batch(fo.OPTIMIZERS[name].cls())

    @pytest.mark.parametrize("mode", ["corrected", "faithful"])
    @pytest.mark.parametrize("fitness", [sphere, rastrigin, shifted])
    @pytest.mark.parametrize("pop,n_iter", [(5, 10), (12, 6)])
    def test_equals_sequential_runs(self, name, fitness, pop, n_iter, mode):
        opt = fo.OPTIMIZERS[name].cls(pop_size=pop, mode=mode)
        p = fo.Problem(fitness, LO, HI)
        seeds = [0, 1, 2, 17, 2**31 + 5]
        batch = fo.run_batch(p, opt, seeds, n_iter=n_iter)
        assert len(batch) == len(seeds)
        for s, b in zip(seeds, batch):
            same_result(b, fo.run(p, opt, n_iter=n_iter, seed=s))
            assert b.seed == s and b.mode == mode and b.optimizer == name

    @pytest.mark.parametrize("mode", ["corrected", "faithful"])
    def test_budget_truncation(self, name, mode):
        """An exact max_evals binds at the same generation in every run, as in run()."""
        opt = fo.OPTIMIZERS[name].cls(pop_size=6, mode=mode)
        p = fo.Problem(sphere, LO, HI)
        budget = 6 + 2 * fo.OPTIMIZERS[name].evals_per_iter(6) + 3
        for s, b in zip([3, 4], fo.run_batch(p, opt, [3, 4], max_evals=budget)):
            same_result(b, fo.run(p, opt, max_evals=budget, seed=s))
            assert b.n_evals == budget


class TestBatchProblem:
    def test_one_call_per_generation(self):
        f, calls = recording(sphere)
        p = fo.Problem(f, LO, HI)
        fo.run_batch(p, fo.WOA(pop_size=5), range(30), n_iter=10)
        assert calls == [(150, 4)] * 11

    def test_nan_refused(self):
        p = fo.Problem(lambda X: np.full(len(X), np.nan), LO, HI)
        with pytest.raises(ValueError, match="returned NaN"):
            fo.run_batch(p, fo.WOA(pop_size=5), [0, 1], n_iter=3)

    def test_bad_shape(self):
        bp = fo.BatchProblem(fo.Problem(sphere, LO, HI), 3)
        with pytest.raises(ShapeError, match=r"must have shape \(3, k, 4\)"):
            bp.evaluate(np.zeros((2, 5, 4)))

    def test_errors(self):
        p = fo.Problem(sphere, LO, HI)
        with pytest.raises(ValueError, match="at least one seed"):
            fo.run_batch(p, fo.WOA(), [], n_iter=3)
        with pytest.raises(ValueError, match="give `n_iter` and/or `max_evals`"):
            fo.run_batch(p, fo.WOA(), [0])
        with pytest.raises(ValueError, match="`max_evals` must be >= pop_size"):
            fo.run_batch(p, fo.WOA(pop_size=5), [0], max_evals=3)
        with pytest.raises(TypeError, match="`callback` must be callable"):
            fo.run_batch(p, fo.WOA(), [0], n_iter=3, callback=3)

    def test_callback_sees_batched_state_and_stops(self):
        seen = []

        def cb(state):
            seen.append(state.best_f.shape)
            return state.iteration == 2
        res = fo.run_batch(fo.Problem(sphere, LO, HI), fo.WOA(pop_size=5), [0, 1, 2], n_iter=10, callback=cb)
        assert seen == [(3,)] * 3 and all(r.n_iter == 2 for r in res)


class TestDraw:
    @pytest.mark.parametrize("method,args", [("random", ((3, 4),)), ("random", (5,)), ("standard_normal", ((2, 3),)),
                                             ("integers", (0, 7, 6)), ("uniform", (1.0, 2.0, (2, 2)))])
    def test_equals_per_generator_calls(self, method, args):
        from fusionlib.optim._batch import draw
        a = draw([np.random.default_rng(s) for s in (0, 1, 2)], method, *args)
        b = np.stack([getattr(np.random.default_rng(s), method)(*args) for s in (0, 1, 2)])
        np.testing.assert_array_equal(a, b)
        assert a.dtype == b.dtype


class TestModuleStructure:
    def test_no_import_circle(self):
        """_base holds best_of, best_of_batch and draw; _run (the driver) and _batch (the runs axis)
        sit above it: _base imports neither, _run does not import _batch (also inside functions)."""
        import ast
        from pathlib import Path
        pkg = Path(fo.__file__).parent

        def imports(mod):
            tree = ast.parse((pkg / f"{mod}.py").read_text())
            return {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level == 1}
        assert not imports("_base") & {"_batch", "_run"}
        assert not imports("_run") & {"_batch"}
        assert not imports("_problem") & {"_base", "_batch", "_run"}
        assert fo._batch.draw is fo._base.draw and fo._batch.best_of_batch is fo._base.best_of_batch

    def test_one_budget_truncation(self):
        """Problem and BatchProblem truncate through the same code: a batch of R equal rows equals
        the single problem's values, counter and trace."""
        p = fo.Problem(sphere, LO, HI, max_evals=7)
        bp = fo.BatchProblem(fo.Problem(sphere, LO, HI), 3, max_evals=7)
        X = np.random.default_rng(0).uniform(-5, 5, (5, 4))
        for _ in range(3):
            f = p.evaluate(X)
            fb = bp.evaluate(np.stack([X] * 3))
            assert all(np.array_equal(f, row) for row in fb)
            assert (p.n_evals, p.n_calls) == (bp.n_evals, bp.n_calls)
        assert np.array_equal(np.stack([p.trace] * 3), bp.trace) and bp.exhausted and bp.remaining == 0
