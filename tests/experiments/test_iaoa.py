"""The IAOA experiment glue: runs, caching, the released table, statistics, bad input."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from fusionlib.experiments import iaoa as E
from fusionlib.filters import imresize_bicubic
from tolerances import F64, F64_NP


def _pair(seed, n=32, c=4, pid=None):
    rng = np.random.default_rng(seed)
    base = rng.uniform(0.05, 1, (c, n // 8, n // 8))
    ms = imresize_bicubic(torch.tensor(base)[None], 8.0)[0].numpy() + 0.2 * rng.uniform(0, 1, (c, n, n))
    ms = np.round(255 * np.clip(ms, 0.01, None) / ms.max())
    pan = np.round(0.298936 * ms[0] + 0.587043 * ms[1] + 0.114021 * ms[2])[None]
    return E.IAOAPair(pid or f"p{seed}", ms, pan, {"scene": "Urban", "satellite": "Synthetic"})


@pytest.fixture(scope="module")
def problem():
    return E.IAOAProblem([_pair(0), _pair(1)], weights="nnls")


OPTS = ("pso", "de", "iaoa")


class _Payload:
    """Unpickling this creates ``marker`` (stands for arbitrary code)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


class _MarkedProblem(E.IAOAProblem):
    """A subclass with an attribute of its own (as the fault tests use)."""


class TestProblemPickle:
    @pytest.mark.parametrize("weights", ["nnls", "fixed_point"])
    def test_roundtrip_same_bits(self, weights):
        """A pickled problem is its pairs and options, rebuilt on load: the same fitness and scores (bit
        for bit), the same options, and not the models' derived tensors (much smaller than them)."""
        import pickle
        pr = E.IAOAProblem([_pair(0), _pair(1, n=48)], weights=weights)
        pr.scores(0, np.full((1, 4), 0.25))  # a cached ScoreTerms must not travel either
        blob = pickle.dumps(pr)
        assert len(blob) < 1.5 * len(pickle.dumps(pr.pairs)) < len(pickle.dumps(pr.__dict__))
        got = pickle.loads(blob)
        assert got._options == pr._options and got.ids == pr.ids
        X = np.random.default_rng(0).uniform(pr.lower, pr.upper, (5, pr.dim))
        for i in range(2):
            np.testing.assert_array_equal(got.fitness(i)(X), pr.fitness(i)(X))
            a, b = pr.scores(i, X), got.scores(i, X)
            assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)

    def test_subclass_and_attributes_survive(self):
        import pickle
        pr = E.IAOAProblem([_pair(0)], weights="nnls")
        pr.__class__ = _MarkedProblem
        pr.marker = "m"
        got = pickle.loads(pickle.dumps(pr))
        assert type(got) is _MarkedProblem and got.marker == "m" and got.ids == ["p0"]


class TestRunExperiment:
    def test_smoke_fair(self, problem):
        df = E.run_experiment(problem, optimizers=OPTS, n_runs=2, protocol="fair", max_evals=60, n_iter=None)
        assert len(df) == 2 * len(OPTS) * 2
        assert set(E.METRIC_NAMES) <= set(df.columns)
        assert (df["n_evals"] == 60).all()  # equal budgets
        inside = ~df["out_of_box"]
        assert (df.loc[inside, "gap"] >= -1e-12).all()  # the closed-form optimum is never beaten in the box
        assert (df["best_f"] >= df["opt_free_f"] - 1e-12).all()  # nor the unconstrained one anywhere
        for c in df["curve"]:
            assert len(c) == 60 and np.all(np.diff(c) <= 0)

    def test_deterministic(self, problem):
        kw = dict(optimizers=("de",), n_runs=2, mode="corrected")
        a, b = E.run_experiment(problem, **kw), E.run_experiment(problem, **kw)
        np.testing.assert_array_equal(a["best_f"], b["best_f"])
        c = E.run_experiment(problem, seed=1, **kw)
        assert not np.array_equal(a["best_f"], c["best_f"])
        assert E.run_seed(0, "p0", "de", 0) != E.run_seed(0, "p0", "de", 1)

    @pytest.mark.parametrize("mode", ["corrected", "faithful"])
    def test_runs_equal_single_minimize(self, problem, mode):
        """Batched runs (corrected mode, run_batch) and per-seed runs (faithful) both equal one
        optimiser run per seed: final best, curve and the iteration-T//5 snapshot."""
        from fusionlib import optim
        df = E.run_experiment(problem, optimizers=("woa",), n_runs=3, mode=mode, score="none")
        fit = problem.fitness(0)
        for _, r in df[df["pair"] == problem.ids[0]].iterrows():
            snap = {}

            def cb(state, snap=snap):
                if state.iteration == 2:
                    snap["f"] = float(state.best_f)
            res = optim.minimize("woa", fit, problem.lower, problem.upper, 5, 10, seed=int(r["seed"]),
                                 mode=mode, callback=cb)
            assert r["best_f"] == res.best_f and r["sub_f"] == snap["f"]
            np.testing.assert_array_equal(r["curve"], res.history.best_per_eval)

    def test_scores_match_fused_images(self, problem):
        from fusionlib.metrics.pansharpening import iaoa_scores
        df = E.run_experiment(problem, optimizers=("pso",), n_runs=1)
        r = df.iloc[0]
        m, j = problem.model(0)
        s = iaoa_scores(m.fuse(r["x"][None], j), torch.tensor(problem.pairs[0].ms)[None])
        for k in E.METRIC_NAMES:
            assert r[k] == pytest.approx(float(s[k][0]), **F64)

    def test_cache_resumes(self, problem, tmp_path, monkeypatch):
        kw = dict(optimizers=("pso", "de"), n_runs=2, cache_dir=tmp_path)
        a = E.run_experiment(problem, **kw)
        assert len(list(tmp_path.glob("*.npz"))) == 4  # no pickle (issue #21)

        def boom(*args, **kwargs):
            raise AssertionError("recomputed despite the cache")
        monkeypatch.setattr(E, "_run_one", boom)
        b = E.run_experiment(problem, **kw)
        np.testing.assert_array_equal(a["best_f"], b["best_f"])
        with pytest.raises(AssertionError, match="recomputed"):
            E.run_experiment(problem, seed=5, **kw)  # another config -> another key

    def test_cache_never_unpickles(self, problem, tmp_path):
        """A pickle planted under a cache entry's name (an object array in an .npz, or a raw
        pickle) runs no code: the entry is recomputed with a warning naming the file."""
        import pickle
        kw = dict(optimizers=("pso",), n_runs=2, cache_dir=tmp_path)
        a = E.run_experiment(problem, **kw)
        marker = tmp_path / "pwned"
        entries = sorted(tmp_path.glob("*.npz"))
        evil = _Payload(str(marker))
        with open(entries[0], "wb") as fh:
            pickle.dump(evil, fh)
        np.savez(entries[1], __meta__=np.array([evil], dtype=object))
        with pytest.warns(RuntimeWarning) as rec:
            b = E.run_experiment(problem, **kw)
        assert not marker.exists()
        for e in entries[:2]:
            assert any(e.name in str(w.message) for w in rec), e.name
        np.testing.assert_array_equal(a["best_f"], b["best_f"])
        c = E.run_experiment(problem, **kw)  # rewritten entries are clean
        np.testing.assert_array_equal(a["best_f"], c["best_f"])

    @pytest.mark.parametrize("damage", ["truncate", "empty", "foreign"])
    def test_corrupt_cache_recomputed(self, problem, tmp_path, damage):
        kw = dict(optimizers=("de",), n_runs=2, cache_dir=tmp_path)
        a = E.run_experiment(problem, **kw)
        entry = sorted(tmp_path.glob("*.npz"))[0]
        if damage == "truncate":
            entry.write_bytes(entry.read_bytes()[:100])
        elif damage == "empty":
            entry.write_bytes(b"")
        else:  # a valid records file with the wrong content (another pair's runs)
            from fusionlib.utils import save_records_npz
            save_records_npz(entry, [{"pair": "other", "optimizer": "de", "run": 0}])
        with pytest.warns(RuntimeWarning, match=entry.name):
            b = E.run_experiment(problem, **kw)
        np.testing.assert_array_equal(a["best_f"], b["best_f"])
        for ca, cb in zip(a["curve"], b["curve"]):
            np.testing.assert_array_equal(ca, cb)

    def test_exception(self, problem):
        with pytest.raises(ValueError, match="pop_size"):
            E.run_experiment(problem, optimizers=("pso",), n_runs=1, max_evals=3)
        with pytest.raises(ValueError, match="max_evals"):
            E.run_experiment(problem, optimizers=("pso",), protocol="fair")
        with pytest.raises(KeyError, match="valid keys"):
            E.run_experiment(problem, optimizers=("nope",))
        with pytest.raises(ValueError, match="protocol"):
            E.run_experiment(problem, optimizers=("pso",), protocol="unfair")

    def test_nan_fitness_refused(self):
        p = _pair(3)
        ms = p.ms.copy()
        ms[:, :20, :20] = 0.0  # black pixels: band sum 0 -> W = 0/0 in the release's model
        bad = E.IAOAProblem([E.IAOAPair("black", ms, p.pan)], weights="nnls")
        with pytest.raises(ValueError, match="non-finite"):
            bad.fitness(0)(np.zeros((2, 4)))
        ok = E.IAOAProblem([E.IAOAPair("black", ms, p.pan)], weights="nnls", zero_sum="equal")
        assert np.isfinite(ok.fitness(0)(np.zeros((2, 4)))).all()

    def test_bad_pairs(self):
        p = _pair(0)
        q = E.IAOAPair("three", p.ms[:3], p.pan)
        with pytest.raises(ValueError, match="band count"):
            E.IAOAProblem([p, q], weights="nnls")
        with pytest.raises(ValueError, match="pan"):
            E.IAOAProblem([E.IAOAPair("x", p.ms, p.pan[:, :30, :30])], weights="nnls")


class TestReleasedTable:
    def test_known_value_wins(self):
        cand = np.array([[0.9, 1.0, 1.0, 0.9, 1.0, 1.0]])
        other = np.array([[0.8, 2.0, 0.5, 0.95, 1.0, 2.0]])
        # CC higher (win), RMSE lower (win), ERGAS higher (loss), UIQI lower (loss), SAM tie, RASE win
        assert E.win_counts(cand, other).tolist() == [3]

    def test_selection(self, problem):
        df = E.run_experiment(problem, optimizers=OPTS, n_runs=3)
        t = E.released_table(df, seed=0)
        assert len(t) == 2 * len(OPTS)
        for pid, g in t.groupby("pair"):
            others = g[g.optimizer != "iaoa"][list(E.METRIC_NAMES)].to_numpy()
            sub = df[(df.pair == pid) & (df.optimizer == "iaoa")]
            cands = np.concatenate([sub[list(E.METRIC_NAMES)].to_numpy(),
                                    sub[[f"sub_{k}" for k in E.METRIC_NAMES]].to_numpy()])
            assert int(g[g.optimizer == "iaoa"]["wins"].iloc[0]) == E.win_counts(cands, others).max()


class TestStatistics:
    def _df(self):
        import pandas as pd
        rng = np.random.default_rng(0)
        rows = []
        for p in range(8):
            for o, shift in (("a", 0.0), ("b", 1.0), ("c", 2.0)):
                for r in range(5):
                    v = shift + rng.normal(0, 0.1)
                    rows.append(dict(pair=f"p{p}", optimizer=o, run=r, gap=v, rel_gap=v, ERGAS=v,
                                     n_evals=10, wall_time=0.0))
        return pd.DataFrame(rows)

    def test_friedman_nemenyi(self):
        from scipy.stats import studentized_range
        res = E.friedman_nemenyi(self._df())
        assert list(res["ranks"].index) == ["a", "b", "c"]
        np.testing.assert_allclose(res["ranks"].to_numpy(), [1, 2, 3])
        q = studentized_range.ppf(0.95, 3, np.inf) / np.sqrt(2)
        assert res["cd"] == pytest.approx(q * np.sqrt(3 * 4 / (6 * 8)))
        assert res["cd"] == pytest.approx(2.343 * np.sqrt(12 / 48), rel=1e-3)  # Demsar 2006 table: q_0.05(k=3) = 2.343
        assert res["p"] < 0.01

    def test_wilcoxon_holm(self):
        out = E.wilcoxon_holm(self._df(), reference="a")
        assert set(out["optimizer"]) == {"b", "c"}
        assert (out["reference_better"]).all()
        assert (out["p_holm"] >= out["p"]).all()
        assert out["p_holm"].is_monotonic_increasing

    def test_summaries(self):
        df = self._df()
        s = E.summarize(df, metrics=("ERGAS",))
        g = df[(df.pair == "p0") & (df.optimizer == "b")]["ERGAS"]
        row = s[(s.pair == "p0") & (s.optimizer == "b")].iloc[0]
        assert row["ERGAS_mean"] == pytest.approx(g.mean())
        assert row["ERGAS_sd"] == pytest.approx(g.std(ddof=1))
        a = E.anova_by_pair(df, "ERGAS")
        assert (a["p_anova"] < 1e-6).all()
        gs = E.gap_summary(df)
        assert {"gap_median", "gap_iqr", "success"} <= set(gs.columns)


@pytest.mark.realdata
class TestRealData:
    def test_nbu_pairs(self, data_root):
        if not (data_root / "nbu_iaoa").is_dir():
            pytest.skip("nbu_iaoa absent")
        pairs = E.load_pairs("nbu_iaoa", root=data_root, scene="water")
        assert len(pairs) == 4 and pairs[0].ms.shape == (4, 256, 256) and pairs[0].ms.max() == 255


class TestScoreOption:
    def test_released_scoring_gives_the_same_table(self, problem):
        a = E.run_experiment(problem, optimizers=OPTS, n_runs=2)
        b = E.run_experiment(problem, optimizers=OPTS, n_runs=2, score="released")
        assert b[b.optimizer != "iaoa"]["ERGAS"].isna().all()
        assert b["sub_ERGAS"].notna().all()
        ta, tb = E.released_table(a, seed=1), E.released_table(b, seed=1)
        np.testing.assert_allclose(ta[list(E.METRIC_NAMES)].to_numpy(), tb[list(E.METRIC_NAMES)].to_numpy())
        c = E.run_experiment(problem, optimizers=OPTS, n_runs=2, score="none")
        assert c["ERGAS"].isna().all()
        tc = E.released_table(c, seed=1, problem=problem)  # scored on demand
        np.testing.assert_allclose(ta[list(E.METRIC_NAMES)].to_numpy(), tc[list(E.METRIC_NAMES)].to_numpy())


class TestMannWhitney:
    def test_reference(self):
        from scipy.stats import mannwhitneyu
        df = TestStatistics()._df()
        out = E.mannwhitney_by_pair(df, value="gap", reference="a")
        assert len(out) == 8 * 2
        g = df[df.pair == "p0"]
        u, p = mannwhitneyu(g[g.optimizer == "a"]["gap"], g[g.optimizer == "c"]["gap"])
        row = out[(out.pair == "p0") & (out.optimizer == "c")].iloc[0]
        assert row["U"] == u and row["p"] == pytest.approx(p)


class TestRgbMetrics:
    def test_bands_1_to_3(self, problem):
        from fusionlib.metrics.pansharpening import iaoa_scores
        df = E.run_experiment(problem, optimizers=("de",), n_runs=2, rgb_metrics=True)
        r = df.iloc[0]
        m, j = problem.model(0)
        s = iaoa_scores(m.fuse(r["x"][None], j), torch.tensor(problem.pairs[0].ms)[None], bands=(0, 1, 2))
        for k in E.METRIC_NAMES:
            assert r[f"{k}_rgb"] == pytest.approx(float(s[k][0]), **F64)
        assert r["CC_rgb"] == pytest.approx(r["CC"], rel=1e-12)  # the IAOA CC already uses bands 1-3


@pytest.fixture(scope="module")
def cmp():
    pairs = [_pair(0, n=96), _pair(1, n=96)]  # 96 - 41 (border cut) >= one 32x32 Q2n block
    df = E.protocol_comparison(pairs, optimizers=("pso",), methods=("gsa", "mtf_glp"), max_evals=30,
                               weights="nnls", seed=0)
    return pairs, df


class TestProtocolComparison:
    @pytest.mark.slow
    def test_smoke_rows(self, cmp):
        pairs, df = cmp
        methods = ["EXP", "gsa", "mtf_glp", "adaptive x*", "adaptive pso"]
        assert len(df) == 3 * len(pairs) * len(methods)
        for a in E.ASSESSMENTS:
            g = df[df.assessment == a]
            assert sorted(g.method.unique()) == sorted(methods)
        cols = {"iaoa": E.METRIC_NAMES, "wald_rr": E.RR_METRICS, "full_res": E.FR_METRICS}
        for a, names in cols.items():
            assert np.isfinite(df.loc[df.assessment == a, list(names)].to_numpy()).all()
        ad = df[df.family == "adaptive"]
        assert (ad["gap"] >= -1e-9).all()  # PSO clips to the box: the bounded optimum is never beaten

    @pytest.mark.slow
    def test_iaoa_rows_are_the_iaoa_problem(self, cmp):
        """Under the IAOA protocol the adaptive model and its optimum are those of IAOAProblem."""
        pairs, df = cmp
        problem = E.IAOAProblem(pairs, weights="nnls")
        for i, p in enumerate(pairs):
            row = df[(df.assessment == "iaoa") & (df.pair == p.id) & (df.method == "adaptive x*")].iloc[0]
            x, f = problem.optimum(i)
            np.testing.assert_allclose(row["x"], x, **F64_NP)
            assert row["fitness"] == pytest.approx(f, **F64)

    @pytest.mark.slow
    def test_reference_wald_and_qnr(self, cmp):
        """EXP under Wald: ERGAS and RMSE by hand (NumPy) on the toolbox-cut images; QNR of the
        composition equals the library's qnr."""
        from fusionlib.metrics import pansharpening as mp
        from fusionlib.pansharpening import protocols as pr
        pairs, df = cmp
        p = pairs[0]
        d = pr.prepare_protocol("vivone_rr", p.ms, p.pan, sensor="generic", band_order="RGBN")
        f = d.exp[0].clamp(0, 255).numpy()[:, 20:-21, 20:-21]   # MATLAB I(21:end-21, 21:end-21)
        r = p.ms[:, 20:-21, 20:-21]
        mse = ((f - r) ** 2).mean(axis=(1, 2))
        ergas = 100 / 4 * np.sqrt(np.mean(mse / r.mean(axis=(1, 2)) ** 2))
        row = df[(df.assessment == "wald_rr") & (df.pair == p.id) & (df.method == "EXP")].iloc[0]
        assert row["ERGAS"] == pytest.approx(ergas, **F64)
        assert row["RMSE"] == pytest.approx(np.sqrt(mse.mean()), **F64)
        fr = df[(df.assessment == "full_res") & (df.pair == p.id) & (df.method == "EXP")].iloc[0]
        q = float(mp.qnr(d.exp.clamp(0, 255), d.ms, d.pan, preset="vivone")[0])
        assert fr["QNR"] == pytest.approx(q, **F64)
        assert fr["D_lambda"] == pytest.approx(0.0, abs=1e-9)  # EXP keeps the inter-band Q of MS_LR

    def test_exception(self):
        with pytest.raises(ValueError, match="empty"):
            E.protocol_comparison([])
        with pytest.raises(KeyError):
            E.protocol_comparison([_pair(0, n=64)], methods=("nope",))
        with pytest.raises(KeyError):
            E.protocol_comparison([_pair(0, n=64)], optimizers=("nope",))


class TestSharedStatistics:
    """Both papers' chapters take Holm and Friedman from fusionlib.experiments.stats."""

    def test_holm_is_the_step_down(self):
        from fusionlib.experiments import stats
        p = np.array([0.04, 0.01, 0.03, 0.5])
        # step-down by hand: sorted 0.01, 0.03, 0.04, 0.5 times 4, 3, 2, 1, running maximum, cap 1
        np.testing.assert_array_equal(stats.holm(p), [0.09, 0.04, 0.09, 0.5])

    def test_friedman_ranks_against_scipy(self):
        from scipy.stats import friedmanchisquare
        from fusionlib.experiments import stats
        x = np.array([[1.0, 2.0, 3.0], [2.0, 1.0, 3.0], [1.0, 3.0, 2.0], [1.0, 2.0, 2.0]])
        stat, p, ranks = stats.friedman_ranks(x, higher_is_better=False)
        ref = friedmanchisquare(*x.T)
        assert (stat, p) == (float(ref.statistic), float(ref.pvalue))
        np.testing.assert_array_equal(ranks, [1.25, 2.125, 2.625])  # row 4 ties: 1, 2.5, 2.5
        np.testing.assert_array_equal(stats.friedman_ranks(x, higher_is_better=True)[2], [2.75, 1.875, 1.375])
        with pytest.raises(ValueError, match="3 groups"):
            stats.friedman_ranks(x[:, :2], higher_is_better=False)

    @pytest.mark.parametrize("n, m, expected", [(2, 1, 0.5), (6, 3, 0.09375), (10, 1, 2 / 1024), (1, 4, 1.0)])
    def test_smallest_p_wilcoxon(self, n, m, expected):
        """The issue's designs: n = 2 cannot go below 0.5; n = 6 with Holm over 3 not below 0.09."""
        from fusionlib.experiments import stats
        assert stats.smallest_p_wilcoxon(n, m=m) == expected

    def test_smallest_p_is_scipy_exact_minimum(self):
        from scipy.stats import wilcoxon
        from fusionlib.experiments import stats
        for n in (3, 6, 9):
            d = np.arange(1.0, n + 1)  # all of one sign, distinct: the most extreme pattern
            assert float(wilcoxon(d, method="exact").pvalue) == pytest.approx(stats.smallest_p_wilcoxon(n))
        with pytest.raises(ValueError, match="`n`"):
            stats.smallest_p_wilcoxon(0)
