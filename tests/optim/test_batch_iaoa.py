"""IAOA's runs axis: run_batch == run beyond tests/optim/test_batch.py's defaults (other DRST sizes
and kernel parameters, ties in the merge sort, a budget that binds inside the DRST call), in both
modes; faithful mode also with a budget that binds between an AOA candidate and its opposite."""
from __future__ import annotations

import numpy as np
import pytest

import fusionlib.optim as fo
from batch_helpers import recording, runs_match_transcription, same_result
from fusionlib.optim.functions import rastrigin

LO, HI = np.array([-3.0, -1.0, 0.0]), np.array([3.0, 2.0, 0.5])


def plateau(X):
    """Integer-valued: exact ties everywhere, so the stable sorts decide the order."""
    return np.floor(4.0 * (X ** 2).sum(axis=1))


class TestIAOAStepBatch:
    def test_supports_batch(self):
        assert fo.supports_batch(fo.IAOA())
        assert fo.supports_batch(fo.IAOA(mode="faithful"))

    @pytest.mark.parametrize("mode", ["corrected", "faithful"])
    @pytest.mark.parametrize("fitness", [rastrigin, plateau])
    @pytest.mark.parametrize("hyper", [dict(pop_size=3, n_samples=1, q=0.1, zeta=0.6),
                                       dict(pop_size=6, n_samples=13, mu=0.5, alpha=3.0, moa_min=0.0)])
    def test_equals_sequential_runs(self, fitness, hyper, mode):
        opt = fo.IAOA(mode=mode, **hyper)
        p = fo.Problem(fitness, LO, HI)
        seeds = [11, 12, 13]
        for s, b in zip(seeds, fo.run_batch(p, opt, seeds, n_iter=6)):
            same_result(b, fo.run(p, opt, n_iter=6, seed=s))

    def test_budget_binds_inside_drst(self):
        opt = fo.IAOA(pop_size=4, n_samples=10)
        budget = 4 + 18 + 8 + 5        # step 2 evaluates its AOA+OBL pair, then 5 of 10 DRST samples
        p = fo.Problem(rastrigin, LO, HI)
        for s, b in zip([0, 1], fo.run_batch(p, opt, [0, 1], max_evals=budget)):
            same_result(b, fo.run(p, opt, max_evals=budget, seed=s))
            assert b.n_evals == budget and b.n_iter == 2


class TestIAOAFaithfulBatch:
    """Faithful mode: individuals one by one (AOA candidate, then its opposite, each one objective
    call of R rows), the best updated at once, DRST unclipped, the stale pool of iteration 1."""

    def test_one_call_per_candidate(self):
        f, calls = recording(rastrigin)
        n, S, R = 4, 7, 3
        fo.run_batch(fo.Problem(f, LO, HI), fo.IAOA(pop_size=n, n_samples=S, mode="faithful"), range(R), n_iter=2)
        assert [c[0] for c in calls] == [R * n] + 2 * ([R] * (2 * n) + [R * S])

    @pytest.mark.parametrize("budget", [4 + 18 + 3, 4 + 18 + 4, 4 + 18 + 8 + 5, 4 + 1 * 18])
    def test_budget_binds_anywhere(self, budget):
        """Inside the AOA/OBL loop (after a candidate, before its opposite; after a pair), inside
        the DRST call, at a step boundary."""
        opt = fo.IAOA(pop_size=4, n_samples=10, mode="faithful")
        p = fo.Problem(rastrigin, LO, HI)
        for s, b in zip([0, 1, 2], fo.run_batch(p, opt, [0, 1, 2], max_evals=budget)):
            same_result(b, fo.run(p, opt, max_evals=budget, seed=s))
            assert b.n_evals == budget

    def test_unclipped_samples_and_stale_pool(self):
        """The faithful quirks survive batching: OBL/DRST points outside the box are evaluated
        (asymmetric box), and iteration 1's kept population can hold duplicates of an initial
        particle (the stale copies in the pool)."""
        seen = []

        def f(X):
            seen.append(X.copy())
            return plateau(X)
        opt = fo.IAOA(pop_size=5, mode="faithful")
        seeds = list(range(8))
        res = fo.run_batch(fo.Problem(f, LO, HI), opt, seeds, n_iter=3)
        pts = np.concatenate(seen)
        assert ((pts < LO) | (pts > HI)).any()
        dup = [len(np.unique(r.history._positions[1], axis=0)) < 5 for r in res]
        assert any(dup)
        for s, b in zip(seeds, res):
            same_result(b, fo.run(fo.Problem(plateau, LO, HI), opt, n_iter=3, seed=s))


class TestAOACandidate:
    """The faithful batch's 7-operation form of aoa_update (moved bracket and AOA's) has the same
    values as aoa_update, signed zeros included."""

    @pytest.mark.parametrize("bracket", ["aoa", "iaoa"])
    def test_equals_aoa_update(self, bracket):
        from fusionlib.optim.aoa import _aoa_branches, _aoa_candidate
        g = np.random.default_rng(3)
        lo, hi = np.array([-50.0, -1.0, 0.0, -2.0]), np.array([50.0, 3.0, 0.0, 2.0])
        r = g.random((6, 5, 3, 4))
        r[0, 0, :, :2] = 0.5                                   # the > 0.5 boundaries
        best = g.normal(scale=20, size=(6, 4))
        best[1] = 0.0
        best[2] = -0.0
        for t in (1, 3, 10):
            mop, moa = fo.aoa_schedules(t, 10, 5.0, 0.2, 0.9)
            best[3] = mop * (hi - lo) * 0.499 + (lo if bracket == "aoa" else 0.0)   # b = MOP s: b - MOP s = 0
            explore, branch, step, shift = _aoa_branches(r, mop, moa, lo, hi, 0.499, bracket)
            for i in range(5):
                want = fo.aoa_update(best[:, None], r[:, i, 0][:, None], r[:, i, 1][:, None], r[:, i, 2][:, None],
                                     mop, moa, lo, hi, 0.499, bracket=bracket)[:, 0]
                got = _aoa_candidate(best, explore[:, i], branch[:, i], step[:, i], mop, shift)
                np.testing.assert_array_equal(got, want)
                assert (np.signbit(got) == np.signbit(want)).all()

    def test_consecutive_uniform_draws_are_one_draw(self):
        """The faithful batch draws the N uniform (3, 1, D) blocks and the DRST uniforms of a step
        in one call per run: the same numbers as the sequential calls (NumPy fills doubles in
        stream order)."""
        a, b = np.random.default_rng(9), np.random.default_rng(9)
        seq = np.concatenate([a.random((3, 1, 4)).ravel() for _ in range(5)] + [a.random((40, 4)).ravel()])
        np.testing.assert_array_equal(b.random(5 * 12 + 160), seq)
        np.testing.assert_array_equal(a.standard_normal(7), b.standard_normal(7))


def _iaoa_m(fit, lo, hi, n, T, seed, S=40, q=0.5, zeta=1.0, mu=0.499, alpha=5.0, moa_min=0.2, moa_max=0.9):
    """IAOA.m's loop (shared/notes/iaoa.md §4) written out with the public functions, one (3, 1, D)
    draw per individual: the reference the faithful sequential step and its batch must match."""
    rng = np.random.default_rng(seed)
    d = lo.size
    X = lo + rng.random((n, d)) * (hi - lo)
    f = fit(X)
    X_init, f_init = X.copy(), f.copy()
    i0 = int(f.argmin())
    bx, bf = X[i0].copy(), float(f[i0])
    for t in range(1, T + 1):
        mop, moa = fo.aoa_schedules(t, T, alpha, moa_min, moa_max)
        X_start = X.copy()
        for i in range(n):
            r = rng.random((3, 1, d))
            y = np.minimum(np.maximum(fo.aoa_update(bx, r[0], r[1], r[2], mop, moa, lo, hi, mu, bracket="iaoa"),
                                      lo), hi)
            fy = float(fit(y)[0])
            yo = fo.opposite(y, lo, hi)
            fo_ = float(fit(yo)[0])
            if fo_ < fy:
                y, fy = yo, fo_
            if fy < f[i]:
                X[i], f[i] = y[0], fy
            if f[i] < bf:
                bx, bf = X[i].copy(), float(f[i])
        Z = fo.acor_sample(X, fo.acor_widths(X_start, zeta), fo.acor_weights(n, q), rng.random((S, d)),
                           rng.standard_normal((S, d)))
        pool_x, pool_f = [X, Z], [f, fit(Z)]
        if t == 1:
            pool_x += [X_init] * (n + S - 1)
            pool_f += [f_init] * (n + S - 1)
        pool_x, pool_f = np.concatenate(pool_x), np.concatenate(pool_f)
        keep = np.argsort(pool_f, kind="stable")[:n]
        X, f = pool_x[keep], pool_f[keep]
        if f[0] < bf:
            bx, bf = X[0].copy(), float(f[0])
    return bx, bf, X, f


class TestIAOAFaithfulReference:
    @pytest.mark.parametrize("fitness", [rastrigin, plateau])
    @pytest.mark.parametrize("hyper", [dict(), dict(S=7, q=0.2, zeta=0.7, mu=0.5, moa_min=0.0, moa_max=1.0)])
    def test_sequential_and_batch_equal_iaoa_m(self, fitness, hyper):
        kw = {("n_samples" if k == "S" else k): v for k, v in hyper.items()}
        opt = fo.IAOA(pop_size=4, mode="faithful", **kw)
        p = fo.Problem(fitness, LO, HI)
        runs_match_transcription(p, opt, range(5), 5,
                                 lambda s: _iaoa_m(fitness, LO, HI, 4, 5, s, **hyper))
