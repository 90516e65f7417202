"""Helpers shared by the optimiser batch tests (``from batch_helpers import ...``: pytest puts this
folder on ``sys.path``; the name does not start with ``test_``, so it is not collected)."""
from __future__ import annotations

import numpy as np

import fusionlib.optim as fo


def same_result(a: fo.Result, b: fo.Result) -> None:
    """Two results are identical: best, history, counters, final population and every extra."""
    assert a.best_f == b.best_f
    np.testing.assert_array_equal(a.best_x, b.best_x)
    np.testing.assert_array_equal(a.history.best, b.history.best)
    np.testing.assert_array_equal(a.history.best_per_eval, b.history.best_per_eval)
    np.testing.assert_array_equal(a.history.n_evals, b.history.n_evals)
    np.testing.assert_array_equal(a.history.mean, b.history.mean)
    np.testing.assert_array_equal(a.history.diversity, b.history.diversity)
    np.testing.assert_array_equal(a.state.positions, b.state.positions)
    np.testing.assert_array_equal(a.state.fitness, b.state.fitness)
    assert a.n_evals == b.n_evals and a.n_iter == b.n_iter and a.n_calls == b.n_calls
    assert sorted(a.state.extras) == sorted(b.state.extras)
    for k in a.state.extras:
        np.testing.assert_array_equal(a.state.extras[k], b.state.extras[k])


def recording(fitness):
    """``(objective, calls)``: the objective returns ``fitness(X)`` and appends ``X.shape`` to ``calls``."""
    calls = []

    def f(X):
        calls.append(X.shape)
        return fitness(X)
    return f, calls


def runs_match_transcription(problem, optimizer, seeds, n_iter: int, transcription) -> None:
    """``run`` and ``run_batch`` over ``seeds`` give the same results (:func:`same_result`), and both equal
    the MATLAB transcription: ``transcription(seed)`` returns (best_x, best_f, positions, fitness)."""
    seeds = list(seeds)
    batch = fo.run_batch(problem, optimizer, seeds, n_iter=n_iter)
    for s, b in zip(seeds, batch):
        bx, bf, X, f = transcription(s)
        a = fo.run(problem, optimizer, n_iter=n_iter, seed=s)
        same_result(a, b)
        for res in (a, b):
            assert res.best_f == bf
            np.testing.assert_array_equal(res.best_x, bx)
            np.testing.assert_array_equal(res.state.positions, X)
            np.testing.assert_array_equal(res.state.fitness, f)
