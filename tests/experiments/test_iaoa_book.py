"""The scene pages' helpers of fusionlib.experiments.iaoa: data per scene, the paper's tables and text claims,
the table layout, verdicts (test, n, effect size, smallest attainable p) and the comparison cache."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from fusionlib.data import DataNotFoundError
from fusionlib.experiments import iaoa as E
from fusionlib.experiments.stats import smallest_p_mannwhitney


def _runs(values: dict[str, list[float]], pair: str = "p0", col: str = "gap") -> pd.DataFrame:
    return pd.DataFrame([dict(pair=pair, optimizer=o, run=r, **{col: v}) for o, vs in values.items()
                         for r, v in enumerate(vs)])


class TestLoadScene:
    def test_smoke_uses_the_scene(self):
        seen = {}
        for scene in E.SCENES:
            pairs, data, zero_sum = E.load_scene(scene, "smoke")
            assert data == "embedded_pansharpening" and zero_sum == "equal"
            seen[scene] = [p.id for p in pairs]
            assert set(seen[scene]) == set(E.SMOKE_STANDINS[scene])
        assert len({tuple(v) for v in seen.values()}) == 4  # each scene page shows its own pairs

    def test_missing_data_stops(self, tmp_path):
        with pytest.raises(DataNotFoundError, match="Looked at"):
            E.load_scene("water", "standard", root=tmp_path / "nowhere")

    def test_exception(self):
        with pytest.raises(ValueError, match="scene"):
            E.load_scene("desert", "smoke")
        with pytest.raises(ValueError, match="profile"):
            E.load_scene("water", "huge")

    def test_real(self, data_root):
        pairs, data, _ = E.load_scene("coast", "standard", root=data_root)
        assert data == "nbu_iaoa"
        assert [p.id for p in pairs] == ["quickbird_coast_1", "quickbird_coast_2", "gaofen_coast_1", "gaofen_coast_2"]


class TestPaperTables:
    def test_tables(self):
        assert list(E.paper_table1().index) == list(E.METRIC_NAMES)
        assert list(E.paper_table2().index) == ["QuickBird", "Gaofen-1"]
        t3 = E.paper_table3()
        assert list(t3.index) == list(E.PAPER_OPTIMIZERS)
        assert t3.loc["iaoa", "evaluations per run"] == 505 and t3.loc["aoa", "evaluations per run"] == 55

    def test_claims_cover_known_pairs(self):
        for scene, per_pair in E.PAPER_TEXT_CLAIMS.items():
            assert scene in E.SCENES
            for pid, claims in per_pair.items():
                assert scene in pid and set(claims) == set(E.METRIC_NAMES)
                assert set(claims.values()) <= {"best", "tied", "not best"}


class TestPaperLayout:
    def _table(self):
        rows = []
        for k, o in enumerate(E.PAPER_OPTIMIZERS):
            rows.append(dict(pair="quickbird_urban_1", optimizer=o, **{m: float(k) for m in E.METRIC_NAMES}))
        return pd.DataFrame(rows)

    def test_known_value(self):
        lay = E.paper_layout(self._table())
        assert list(lay.columns) == [*E.PAPER_OPTIMIZERS, "best"]
        assert lay.loc[("quickbird_urban_1", "ERGAS"), "best"] == "pso"      # lowest
        assert lay.loc[("quickbird_urban_1", "CC"), "best"] == "iaoa"        # highest
        r = E.iaoa_ranks(lay)
        assert r[("quickbird_urban_1", "CC")] == 1 and r[("quickbird_urban_1", "ERGAS")] == 11

    def test_ties(self):
        t = self._table()
        t.loc[t.optimizer == "ga", "ERGAS"] = 0.0
        lay = E.paper_layout(t)
        assert lay.loc[("quickbird_urban_1", "ERGAS"), "best"] == "pso=ga"

    def test_compare_with_paper(self):
        lay = E.paper_layout(self._table())
        vs = E.compare_with_paper(lay, lay, "urban")
        # the text: QB urban 1, IAOA best on all but ERGAS (GA better)
        assert vs.loc[("quickbird_urban_1", "ERGAS"), "paper_text"] == "not best"
        assert vs.loc[("quickbird_urban_1", "ERGAS"), "agrees"] == "yes"      # rank 11
        assert vs.loc[("quickbird_urban_1", "CC"), "agrees"] == "yes"         # rank 1, text: best
        assert vs.loc[("quickbird_urban_1", "RMSE"), "agrees"] == "no"        # rank 11, text: best
        assert E.compare_with_paper(lay, lay, "water")["agrees"].eq("n/a").all()


class TestRunClaims:
    def test_supported(self):
        df = _runs({"iaoa": list(np.arange(10) * 0.01), "pso": list(1 + np.arange(10) * 0.01),
                    "de": list(2 + np.arange(10) * 0.01)})
        c = E.run_claims(df).set_index("optimizer")
        assert (c["verdict"] == "supported").all() and (c["effect_P_ref_better"] == 1.0).all()
        assert c.loc["pso", "p_min"] == pytest.approx(smallest_p_mannwhitney(10, 10, m=2, alternative="less"))
        assert c.loc["pso", "n"] == "10 vs 10"

    def test_not_reproduced_and_not_testable(self):
        """The other optimizer significantly better: 'not reproduced' (claim_verdict's word)."""
        df = _runs({"iaoa": [5.0, 6, 7, 8, 9, 10], "pso": [0.0, 1, 2, 3, 4, 4.5]})
        assert E.run_claims(df)["verdict"].iloc[0] == "not reproduced"
        small = _runs({"iaoa": [0.0, 0.1], "pso": [1.0, 1.1]})
        r = E.run_claims(small).iloc[0]
        assert r["p_min"] == pytest.approx(1 / 6) and r["verdict"] == "not testable at this n"

    def test_not_shown(self):
        """Interleaved runs: the design can reject (p_min = 1/252 < 0.05) and does not."""
        df = _runs({"iaoa": [0.0, 2, 4, 6, 8], "pso": [1.0, 3, 5, 7, 9]})
        r = E.run_claims(df).iloc[0]
        assert r["p_min"] == pytest.approx(1 / 252) and r["p_holm"] > 0.05 and r["verdict"] == "not shown"

    def test_spread(self):
        rng = np.random.default_rng(0)
        df = _runs({"iaoa": list(rng.normal(0, 0.01, 30)), "pso": list(rng.normal(0, 1, 30))}, col="ERGAS")
        r = E.spread_claims(df).iloc[0]
        assert r["effect_sd_ratio"] < 0.1 and r["verdict"] == "supported"

    def test_spread_not_reproduced_and_not_shown(self):
        """The other optimizer spreads significantly less: 'not reproduced'; the same spread: 'not shown'.
        Brown-Forsythe is asymptotic: p_min 0, never 'not testable'."""
        rng = np.random.default_rng(0)
        wide = _runs({"iaoa": list(rng.normal(0, 1, 30)), "pso": list(rng.normal(0, 0.01, 30))}, col="ERGAS")
        r = E.spread_claims(wide).iloc[0]
        assert r["effect_sd_ratio"] > 10 and r["p_holm"] < 0.05 and r["verdict"] == "not reproduced"
        same = _runs({"iaoa": list(rng.normal(0, 1, 30)), "pso": list(rng.normal(0, 1, 30))}, col="ERGAS")
        r = E.spread_claims(same).iloc[0]
        assert r["p_min"] == 0.0 and r["p_holm"] > 0.05 and r["verdict"] == "not shown"

    def test_pooled_p_min(self):
        rows = []
        for k in range(4):
            rows += _runs({"iaoa": [0.0, 0.1], "pso": [1.0, 1.1], "de": [2.0, 2.1]}, pair=f"p{k}").to_dict("records")
        w = E.pooled_claim(pd.DataFrame(rows))
        assert (w["n_pairs"] == 4).all() and (w["p_min"] == 0.25).all()   # 2 x 2 / 2**4
        assert (w["verdict"] == "not testable at this n").all() and (w["effect_frac_pairs_ref_better"] == 1).all()

    @pytest.mark.parametrize("iaoa_gap, verdict", [
        ([0.0] * 8, "supported"),                           # IAOA lower on all 8 pairs: p = 2/2**8
        ([2.0] * 8, "not reproduced"),                      # IAOA higher on all 8 pairs
        ([0.0, 2.0] * 4, "not shown"),                      # 4 pairs each way
    ])
    def test_pooled_verdicts(self, iaoa_gap, verdict):
        """Over 8 pairs and one other optimizer the design can reject (p_min = 2/256); every word of
        claim_verdict but 'not testable' (test_pooled_p_min) comes out."""
        rows = []
        for k, g in enumerate(iaoa_gap):
            off = 0.01 * k  # distinct magnitudes: no ties among the paired differences
            rows += _runs({"iaoa": [g + off, g + off], "pso": [1.0, 1.0]}, pair=f"p{k}").to_dict("records")
        w = E.pooled_claim(pd.DataFrame(rows))
        assert w["p_min"].iloc[0] == pytest.approx(2 / 256)
        assert w["verdict"].iloc[0] == verdict

    def test_words_are_claim_verdicts(self):
        """IAOA's verdict columns use the vocabulary of stats.claim_verdict only."""
        from fusionlib.experiments.stats import claim_verdict
        words = {claim_verdict(supported=s, contradicted=c, floor=f) for s in (False, True)
                 for c in (False, True) for f in (0.0, 1.0)}
        rng = np.random.default_rng(1)
        df = _runs({"iaoa": list(rng.normal(0, 1, 6)), "pso": list(rng.normal(3, 1, 6)),
                    "de": list(rng.normal(-3, 1, 6)), "ga": list(rng.normal(0, 1, 6))})
        got = set(E.run_claims(df)["verdict"]) | set(E.spread_claims(df, value="gap")["verdict"])
        assert got <= words


class TestSmallestPMannWhitney:
    def test_against_scipy(self):
        from scipy.stats import mannwhitneyu
        a, b = np.arange(5.0), np.arange(5.0) + 10
        assert smallest_p_mannwhitney(5, 5, alternative="less") == pytest.approx(
            mannwhitneyu(a, b, alternative="less", method="exact").pvalue)
        assert smallest_p_mannwhitney(5, 5) == pytest.approx(mannwhitneyu(a, b, method="exact").pvalue)
        assert smallest_p_mannwhitney(2, 2, m=10) == 1.0

    def test_exception(self):
        with pytest.raises(ValueError, match="n1"):
            smallest_p_mannwhitney(0, 3)
        with pytest.raises(ValueError, match="alternative"):
            smallest_p_mannwhitney(3, 3, alternative="up")


class TestStableTable:
    def test_adapts_decimals(self):
        df = pd.DataFrame({"a": [46.30818476094369, 1.0], "b": ["x", "y"]})
        out = E.stable_table(df, 4)
        assert out["a"].tolist() == [46.308, 1.0] and out["b"].tolist() == ["x", "y"]
        assert E.stable_table(0.12345000001, 4) == 0.123   # beside the boundary at 4 decimals: 3
        assert E.stable_table(2.5, 3) == 2.5


class TestComparisonCache:
    def test_roundtrip(self, tmp_path, monkeypatch):
        pairs, _, _ = E.load_scene("water", "smoke")
        calls = []
        real = E.protocol_comparison

        def fake(prs, **kw):
            if kw.get("cache_dir") is not None:
                return real(prs, **kw)
            calls.append(1)
            return pd.DataFrame([dict(assessment="iaoa", pair=prs[0].id, method="EXP", fitness=np.nan,
                                      x=None, ERGAS=1.5),
                                 dict(assessment="iaoa", pair=prs[1].id, method="adaptive x*", fitness=2.0,
                                      x=np.array([1.0, -2.0, 3.0, 50.0]), ERGAS=np.nan)])
        monkeypatch.setattr(E, "protocol_comparison", fake)
        a = E.protocol_comparison(pairs, cache_dir=tmp_path)
        b = E.protocol_comparison(pairs, cache_dir=tmp_path)
        assert len(calls) == 1
        assert np.isnan(b["fitness"][0]) and b["ERGAS"][0] == 1.5 and np.array_equal(b["x"][1], a["x"][1])
        c = E.protocol_comparison(pairs, cache_dir=tmp_path, seed=1)   # another key
        assert len(calls) == 2 and len(c) == 2
        for f in tmp_path.glob("protocol_comparison__*.json"):
            assert json.loads(f.read_text())["columns"][0] == "assessment"
            f.write_text("{broken")
        with pytest.warns(RuntimeWarning, match="corrupt cache entry"):
            E.protocol_comparison(pairs, cache_dir=tmp_path)
        assert len(calls) == 3


class TestReleasedTablePerPair:
    def test_row_independent_of_other_pairs(self):
        """A pair's released row is the same in a scene page and in the 16-pair table."""
        rng = np.random.default_rng(0)
        rows = []
        for pid in ("a", "b"):
            for o in ("pso", "iaoa"):
                for r in range(6):
                    v = rng.normal(size=6)
                    rows.append(dict(pair=pid, optimizer=o, run=r, x=np.zeros(4), sub_x=np.zeros(4),
                                     **dict(zip(E.METRIC_NAMES, v)), **{f"sub_{k}": x + 1 for k, x in zip(E.METRIC_NAMES, v)}))
        df = pd.DataFrame(rows)
        both = E.released_table(df, seed=3)
        only_b = E.released_table(df[df.pair == "b"], seed=3)
        pd.testing.assert_frame_equal(both[both.pair == "b"].reset_index(drop=True), only_b.reset_index(drop=True))
