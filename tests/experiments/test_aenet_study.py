"""Tests of the AE-Netv2 experiment harness (fusionlib.experiments.aenet_study)."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import torch

from fusionlib._checks import ShapeError
from fusionlib.experiments import aenet_study as st


# ---------------------------------------------------------------------------------------------- splits
class TestSeededSplit:
    def test_smoke(self):
        tr, te = st.seeded_split([f"p{i}" for i in range(10)], 3, seed=0)
        assert len(tr) == 7 and len(te) == 3

    def test_invariants(self):
        ids = [f"p{i:02d}" for i in range(24)]
        tr, te = st.seeded_split(ids, 8, seed=5)
        assert set(tr).isdisjoint(te)
        assert sorted(tr + te) == sorted(ids)
        # order kept
        assert tr == [i for i in ids if i in tr] and te == [i for i in ids if i in te]
        # deterministic, and the seed matters
        assert st.seeded_split(ids, 8, seed=5) == (tr, te)
        assert any(st.seeded_split(ids, 8, seed=s)[1] != te for s in range(6, 10))

    def test_exception(self):
        with pytest.raises(ValueError, match="n_test"):
            st.seeded_split(["a", "b", "c"], 3)
        with pytest.raises(ValueError, match="unique"):
            st.seeded_split(["a", "a", "c"], 1)
        with pytest.raises(TypeError, match="n_test"):
            st.seeded_split(["a", "b", "c"], 1.5)


class TestTaskSplits:
    def test_smoke_profile(self):
        sp = st.task_splits("smoke")
        assert set(sp) == {"infrared-visible", "multi-focus", "multi-exposure"}
        for s in sp.values():
            assert len(s.test) == 3 and len(s.train) == 5
            assert {r.key for r in s.train}.isdisjoint({r.key for r in s.test})
        assert st.task_splits("smoke") == sp

    def test_split_seed_changes_embedded_split(self):
        a = st.task_splits("smoke", tasks=["multi-focus"], split_seed=0)["multi-focus"]
        b = st.task_splits("smoke", tasks=["multi-focus"], split_seed=1)["multi-focus"]
        assert a.test != b.test

    def test_exception(self):
        with pytest.raises(ValueError, match="profile"):
            st.task_splits("huge")
        with pytest.raises(ValueError, match="tasks"):
            st.task_splits("smoke", tasks=["cvs"])

    def test_real(self, data_root):
        sp = st.task_splits("standard", root=data_root)
        assert {k: (len(v.train), len(v.test)) for k, v in sp.items()} == {
            "infrared-visible": (75, 21), "multi-focus": (25, 5), "multi-exposure": (16, 10),
            "medical": (48, 24)}
        for s in sp.values():
            assert {r.key for r in s.train}.isdisjoint({r.key for r in s.test})
        mf = sp["multi-focus"]
        assert [r.id for r in mf.test] == [f"lytro_0{i}" for i in range(1, 6)]
        head = sp["medical"].head(4, 2)
        assert len(head.train) == 4 and len(head.test) == 2 and "pairs used" in head.rule
        assert {r.subset for r in head.test} == {"CT-MRI", "PET-MRI"}


class TestLoadPair:
    def test_shape(self):
        ref = st.task_splits("smoke", tasks=["multi-exposure"])["multi-exposure"].test[0]
        a, b = st.load_pair(ref)
        assert a.shape == b.shape == (1, 192, 192) and a.dtype == np.float32
        assert 0 <= a.min() and b.max() <= 1
        assert a.mean() < b.mean()  # under- then over-exposed


# ---------------------------------------------------------------------------------------------- training
def _tiny_trainset(seed=0, n=8, p=16):
    rng = np.random.default_rng(0)
    triples = [tuple(rng.random((1, 24, 24), dtype=np.float32) for _ in range(3)) for _ in range(2)]
    return st.sample_patches(triples, patch=p, n_patches=n, seed=seed, keys=["x", "y"], tasks=["t"])


class _Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(2, 1, 3, padding=1)

    def forward(self, a, b=None):
        return self.conv(torch.cat([a, b], 1))


def _trainer(calls):
    def trainer(model, train, config, *, seed, device, checkpoint):
        calls.append(seed)
        opt = torch.optim.Adam(model.parameters(), lr=config.lr)
        losses = []
        for _ in range(config.epochs):
            for a, b, o in train.loader(config.batch_size, seed):
                loss = (model(a, b) - o).abs().mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
                losses.append(loss.item())
        return {"loss": losses}
    return trainer


class TestSamplePatches:
    def test_shape_and_determinism(self):
        t1, t2 = _tiny_trainset(seed=3), _tiny_trainset(seed=3)
        assert t1.a.shape == (8, 1, 16, 16)
        assert torch.equal(t1.o, t2.o) and t1.fingerprint == t2.fingerprint
        assert _tiny_trainset(seed=4).fingerprint != t1.fingerprint

    def test_aligned_crops(self):
        img = np.arange(30 * 30, dtype=np.float32).reshape(1, 30, 30) / 900
        ts = st.sample_patches([(img, img + 0.0, img * 1.0)], patch=8, n_patches=5, seed=0)
        assert torch.equal(ts.a, ts.b) and torch.equal(ts.a, ts.o)

    def test_small_image_padded(self):
        img = np.zeros((1, 5, 5), np.float32)
        assert st.sample_patches([(img, img, img)], patch=8, n_patches=2).a.shape == (2, 1, 8, 8)

    def test_exception(self):
        """NaN labels and mismatched shapes are refused with the pair's name."""
        img = np.full((1, 12, 12), 0.5, np.float32)
        bad = img.copy()
        bad[0, 3, 4] = np.nan
        with pytest.raises(ValueError, match=r"pair 'tno/02': label contains NaN"):
            st.sample_patches([(img, img, img), (img, img, bad)], patch=8, n_patches=2,
                              keys=["tno/01", "tno/02"])
        with pytest.raises(ShapeError, match=r"pair 'tno/01'.*one size"):
            st.sample_patches([(img, img[:, :11], img)], patch=8, n_patches=2, keys=["tno/01"])
        with pytest.raises(ShapeError, match=r"triple 0.*single-channel"):
            st.sample_patches([(np.zeros((3, 12, 12)), img, img)], patch=8, n_patches=2)


class TestTrainOrLoad:
    def test_cache_resume(self, tmp_path):
        calls = []
        cfg = st.StudyConfig(epochs=1, batch_size=4, lr=1e-2, patch=16, n_patches=8)
        ts = _tiny_trainset()
        kw = dict(cache_dir=tmp_path, device="cpu", build=lambda v: _Tiny(), trainer=_trainer(calls))
        r1 = st.train_or_load("exp", "tiny", 0, ts, cfg, **kw)
        assert not r1.cached and calls == [0]
        assert r1.path.parent == tmp_path / "exp" / "tiny" / "seed0" and (r1.path / "model.pt").is_file()
        # second call: loaded, no training, same weights; the lazy data callable is not called
        r2 = st.train_or_load("exp", "tiny", 0, lambda: pytest.fail("data rebuilt"), cfg, **kw)
        assert r2.cached and calls == [0]
        for k, v in r1.model.state_dict().items():
            assert torch.equal(v, r2.model.state_dict()[k])
        assert r2.history["loss"] == r1.history["loss"]
        # another seed trains; a changed config trains its own entry and leaves the first one alone
        st.train_or_load("exp", "tiny", 1, ts, cfg, **kw)
        assert calls == [0, 1]
        r3 = st.train_or_load("exp", "tiny", 0, ts, st.StudyConfig(epochs=2, batch_size=4, lr=1e-2), **kw)
        assert calls == [0, 1, 0] and r3.path != r1.path
        meta = json.loads((r3.path / "meta.json").read_text())
        assert meta["config"]["epochs"] == 2 and meta["data"] == ts.fingerprint
        assert st.train_or_load("exp", "tiny", 0, ts, cfg, **kw).cached and calls == [0, 1, 0]
        # a different training set under the same request retrains in place
        r4 = st.train_or_load("exp", "tiny", 0, _tiny_trainset(seed=1), cfg, **kw)
        assert not r4.cached and r4.path == r1.path and calls == [0, 1, 0, 0]

    @pytest.mark.parametrize("damage", ["weights_truncated", "weights_text", "meta_truncated", "meta_list"])
    def test_corrupt_entry_retrained(self, tmp_path, damage):
        """A damaged model.pt or meta.json is named in a warning and the entry is retrained."""
        calls = []
        cfg = st.StudyConfig(epochs=1, batch_size=4, lr=1e-2, patch=16, n_patches=8)
        ts = _tiny_trainset()
        kw = dict(cache_dir=tmp_path, device="cpu", build=lambda v: _Tiny(), trainer=_trainer(calls))
        r1 = st.train_or_load("exp", "tiny", 0, ts, cfg, **kw)
        target = r1.path / ("model.pt" if damage.startswith("weights") else "meta.json")
        raw = target.read_bytes()
        target.write_bytes({"weights_truncated": raw[: len(raw) // 2], "weights_text": b"junk",
                            "meta_truncated": raw[: len(raw) // 2], "meta_list": b"[]"}[damage])
        with pytest.warns(RuntimeWarning, match=target.name):
            r2 = st.train_or_load("exp", "tiny", 0, ts, cfg, **kw)
        assert not r2.cached and calls == [0, 0]
        for k, v in r1.model.state_dict().items():
            assert torch.equal(v, r2.model.state_dict()[k])
        assert st.train_or_load("exp", "tiny", 0, ts, cfg, **kw).cached  # repaired

    def test_adopts_legacy_layout(self, tmp_path):
        """An entry written by the earlier layout (files directly in seed<k>/) is moved and loaded."""
        calls = []
        cfg = st.StudyConfig(epochs=1, batch_size=4, lr=1e-2, patch=16, n_patches=8)
        ts = _tiny_trainset()
        kw = dict(cache_dir=tmp_path, device="cpu", build=lambda v: _Tiny(), trainer=_trainer(calls))
        r1 = st.train_or_load("exp", "tiny", 0, ts, cfg, **kw)
        (r1.path / "scores_x.csv").write_text("a\n1\n")
        legacy = r1.path.parent
        for f in list(r1.path.iterdir()):
            f.rename(legacy / f.name)
        r1.path.rmdir()
        other = st.StudyConfig(epochs=3, batch_size=4, lr=1e-2, patch=16, n_patches=8)
        assert not st.train_or_load("exp", "tiny", 0, ts, other, **kw).cached  # not the legacy request
        assert (legacy / "model.pt").is_file() and calls == [0, 0]
        r2 = st.train_or_load("exp", "tiny", 0, ts, cfg, **kw)
        assert r2.cached and r2.path == r1.path and calls == [0, 0]
        assert (r2.path / "scores_x.csv").is_file() and not (legacy / "model.pt").exists()

    def test_deterministic_training(self, tmp_path):
        cfg = st.StudyConfig(epochs=1, batch_size=4, lr=1e-2)
        ts = _tiny_trainset()
        outs = [st.train_or_load("e", "tiny", 7, ts, cfg, cache_dir=tmp_path / str(i), device="cpu",
                                 build=lambda v: _Tiny(), trainer=_trainer([])) for i in range(2)]
        assert outs[0].history == outs[1].history

    @pytest.mark.slow
    def test_default_trainer_is_nets_fit(self, tmp_path):
        """With no trainer, fusionlib.nets.fit trains the real AE-Netv2; the history comes back."""
        cfg = st.StudyConfig(epochs=1, batch_size=4, lr=1e-3, patch=16, n_patches=8)
        r = st.train_or_load("e", "aenetv2", 0, _tiny_trainset(), cfg, cache_dir=tmp_path, device="cpu")
        assert r.model.parameter_count() == 5378 and not r.model.training
        assert len(r.history["train_loss"]) == 1 and np.isfinite(r.history["train_loss"][0])
        assert not (r.path / "checkpoint.pt").exists()

    def test_exception(self, tmp_path):
        cfg = st.StudyConfig()
        with pytest.raises(ValueError, match="variant"):
            st.train_or_load("e", "../x", 0, _tiny_trainset(), cfg, cache_dir=tmp_path, build=lambda v: _Tiny())
        with pytest.raises(TypeError, match="config"):
            st.train_or_load("e", "x", 0, _tiny_trainset(), {}, cache_dir=tmp_path, build=lambda v: _Tiny())
        with pytest.raises(TypeError, match="TrainSet"):
            st.train_or_load("e", "x", 0, lambda: 3, cfg, cache_dir=tmp_path, build=lambda v: _Tiny(),
                             trainer=_trainer([]))


# ---------------------------------------------------------------------------------------------- indexes
class TestScoreFused:
    def test_known_value(self):
        rng = np.random.default_rng(0)
        a = rng.random((1, 64, 64)).astype(np.float32)
        fns = {"mean": lambda f, s: f.mean(), "n": lambda f, s: len(s)}
        out = st.score_fused(a, [a, a], names=["mean", "n"], fns=fns)
        assert out == {"mean": pytest.approx(float(a.mean())), "n": 2.0}

    def test_exception(self):
        with pytest.raises(KeyError, match="unknown index"):
            st.score_fused(np.zeros((1, 8, 8)), [], names=["nope"], fns={})


class TestAddCombined:
    def test_known_value(self):
        df = pd.DataFrame({"method": ["a", "b", "c"], "image": ["i"] * 3, "x": [1.0, 2.0, 3.0],
                           "niqe": [2.0, 4.0, 4.0]})
        out = st.add_combined(df, components=["x", "niqe"])
        # x -> 0, .5, 1 ; 1/niqe = .5, .25, .25 -> 1, 0, 0
        assert out["combined"].tolist() == pytest.approx([0.5, 0.25, 0.5])
        s = st.add_combined(df, components=["x", "niqe"], aggregation="sum")
        assert s["combined"].tolist() == pytest.approx([1.0, 0.5, 1.0])

    def test_invariants(self):
        # per image: candidate sets are independent; a monotone rescaling of a component changes nothing
        df = pd.DataFrame({"method": list("abab"), "image": list("iijj"), "x": [1.0, 2, 5, 3], "y": [0, 1, 1, 0.0]})
        out = st.add_combined(df, components=["x", "y"])
        df2 = df.assign(x=df["x"] * 10 + 3)
        assert np.allclose(out["combined"], st.add_combined(df2, components=["x", "y"])["combined"])
        assert out["combined"].tolist() == pytest.approx([0.0, 1.0, 1.0, 0.0])

    def test_exception(self):
        with pytest.raises(KeyError, match="missing"):
            st.add_combined(pd.DataFrame({"method": ["a"], "image": ["i"]}), components=["x"])
        with pytest.raises(ValueError, match="aggregation"):
            st.add_combined(pd.DataFrame({"method": ["a"], "image": ["i"], "x": [1]}), components=["x"],
                            aggregation="max")


# ---------------------------------------------------------------------------------------------- statistics
def _long(values: dict[str, np.ndarray], seeds=(0,), task="t"):
    rows = []
    for m, v in values.items():
        v = np.asarray(v, float).reshape(len(seeds), -1)
        for si, s in enumerate(seeds):
            for i, x in enumerate(v[si]):
                rows.append({"method": m, "seed": s, "task": task, "image": f"im{i}", "q": x})
    return pd.DataFrame(rows)


class TestSummarize:
    def test_known_value(self):
        # per-seed image means: a -> 1, 3 (mean 2, sd sqrt(2)); b -> 5 (single seed: sd NaN)
        df = pd.concat([_long({"a": [[0.0, 2.0], [2.0, 4.0]]}, seeds=(0, 1)), _long({"b": [[5.0, 5.0]]})])
        s = st.summarize(df, ["q"])
        assert s.loc["a", ("q", "mean")] == 2.0 and s.loc["a", ("q", "sd")] == pytest.approx(math.sqrt(2))
        assert s.loc["a", ("n_seeds", "")] == 2 and math.isnan(s.loc["b", ("q", "sd")])
        f = st.format_mean_sd(s, ["q"], digits=2)
        assert f.loc["a", "q"] == "2.00 ± 1.41" and f.loc["b", "q"] == "5.00"

    def test_tasks_weigh_equally(self):
        df = pd.concat([_long({"a": [1.0, 1.0, 1.0]}, task="t1"), _long({"a": [3.0]}, task="t2")])
        assert st.summarize(df, ["q"]).loc["a", ("q", "mean")] == 2.0


class TestHolm:
    def test_known_value(self):
        # by hand: sorted .01, .03, .04 -> 3*.01 = .03, 2*.03 = .06, max(.06, 1*.04) = .06
        assert st.holm([0.01, 0.04, 0.03]).tolist() == pytest.approx([0.03, 0.06, 0.06])
        assert st.holm([0.5, 0.9]).tolist() == pytest.approx([1.0, 1.0])

    def test_exception(self):
        with pytest.raises(ValueError, match="\\[0, 1\\]"):
            st.holm([1.5])


class TestPairedTest:
    def test_known_value_wilcoxon(self):
        # 6 positive differences with distinct ranks: exact two-sided p = 2 / 2^6
        a = np.array([1.1, 2.2, 3.3, 4.4, 5.5, 6.6])
        r = st.paired_test(a, np.zeros(6), test="wilcoxon")
        assert r.pvalue == pytest.approx(2 / 64) and r.n == 6

    def test_known_value_ttest(self):
        d = np.array([1.0, 2.0, 3.0, 4.0])
        r = st.paired_test(d, np.zeros(4), test="ttest")
        t = d.mean() / (d.std(ddof=1) / 2)
        assert r.statistic == pytest.approx(t) and r.mean_diff == 2.5

    def test_invariants(self):
        a = np.arange(5.0)
        assert st.paired_test(a, a).pvalue == 1.0
        assert st.paired_test(a + 1, a, test="ttest").pvalue == 0.0

    def test_one_pair(self):
        """One block: the exact signed-rank test's only p is 1 (a design that cannot reject); the t
        test has no variance and refuses."""
        r = st.paired_test([3.0], [1.0])
        assert (r.pvalue, r.n, r.mean_diff) == (1.0, 1, 2.0)
        from fusionlib.experiments.stats import smallest_p_wilcoxon
        assert r.pvalue >= smallest_p_wilcoxon(1)
        with pytest.raises(ValueError, match="at least 2"):
            st.paired_test([3.0], [1.0], test="ttest")
        with pytest.raises(ValueError, match="at least 2"):
            st.paired_test([np.nan, 3.0], [1.0, np.nan])

    def test_exception(self):
        with pytest.raises(ValueError, match="equal length"):
            st.paired_test([1, 2], [1, 2, 3])
        with pytest.raises(ValueError, match="test"):
            st.paired_test([1, 2], [1, 2], test="z")


class TestPairedTests:
    def test_known_answer(self):
        rng = np.random.default_rng(1)
        base = rng.random(12)
        df = _long({"a": base, "b": base + 1.0 + 0.01 * rng.random(12), "c": base + 0.001 * rng.standard_normal(12)})
        out = st.paired_tests(df, "q", test="wilcoxon")
        row = out.set_index(["a", "b"])
        assert bool(row.loc[("a", "b"), "significant"]) and row.loc[("a", "b"), "better"] == "b"
        assert not bool(row.loc[("a", "c"), "significant"])
        assert (out["p_holm"] >= out["p"]).all()
        base_only = st.paired_tests(df, "q", baseline="a")
        assert set(base_only["b"]) == {"b", "c"}

    def test_lower_is_better(self):
        df = _long({"a": np.arange(10.0), "b": np.arange(10.0) + 2}).rename(columns={"q": "niqe"})
        out = st.paired_tests(df, "niqe", test="ttest")
        assert out.loc[0, "better"] == "a"

    def test_exception(self):
        df = _long({"a": np.arange(3.0), "b": np.arange(3.0)})
        with pytest.raises(KeyError, match="baseline"):
            st.paired_tests(df, "q", baseline="z")


class TestFriedman:
    def test_known_value(self):
        # 4 blocks, 3 groups, always ranked c > b > a: rank sums 4, 8, 12 ->
        # chi2 = 12/(n k (k+1)) sum R^2 - 3 n (k+1) = 12/48 * 224 - 48 = 8; p = exp(-8/2) (df 2)
        x = np.array([[1.0, 2, 3], [2, 4, 6], [0, 1, 5], [3, 4, 9]])
        df = _long({m: x[:, j] for j, m in enumerate("abc")})
        r = st.friedman(df, "q")
        assert r.statistic == pytest.approx(8.0) and r.pvalue == pytest.approx(math.exp(-4))
        assert r.mean_ranks == {"a": 3.0, "b": 2.0, "c": 1.0}

    def test_exception(self):
        with pytest.raises(ValueError, match="3 groups"):
            st.friedman(_long({"a": [1.0, 2], "b": [2.0, 3]}), "q")


class TestNormalizeIndexes:
    def test_known_value(self):
        t = pd.DataFrame({"psnr": [50.0, 60.0], "niqe": [2.0, 4.0], "ssim": [0.5, 0.6]}, index=["x", "y"])
        m = st.normalize_indexes(t)
        assert m["psnr (norm.)"].tolist() == pytest.approx([50 / 60, 1.0])
        assert m["1/niqe (norm.)"].tolist() == pytest.approx([1.0, 0.5])
        assert m["ssim"].tolist() == [0.5, 0.6]
        mm = st.normalize_indexes(t, scheme="minmax")
        assert mm["psnr (norm.)"].tolist() == [0.0, 1.0] and mm["1/niqe (norm.)"].tolist() == [1.0, 0.0]
        fx = st.normalize_indexes(t, scheme="fixed")
        assert fx["psnr (norm.)"].tolist() == pytest.approx([0.5, 0.6])
        assert fx["1/niqe (norm.)"].tolist() == pytest.approx([0.5, 0.25])

    def test_exception(self):
        with pytest.raises(ValueError, match="scheme"):
            st.normalize_indexes(pd.DataFrame({"psnr": [1.0]}), scheme="z")


# ---------------------------------------------------------------------------------------------- timing
class TestTiming:
    def test_timing_images(self):
        rng = np.random.default_rng(0)
        pairs = [(rng.random((1, 50, 70), dtype=np.float32), rng.random((1, 50, 70), dtype=np.float32))]
        imgs = st.timing_images(pairs, n=5, size=40)
        assert len(imgs) == 5 and imgs[0][0].shape == (1, 40, 40) and imgs[0][0].dtype == np.uint8

    def test_time_inference(self):
        imgs = st.timing_images([(np.zeros((1, 8, 8), np.float32), np.ones((1, 8, 8), np.float32))], n=4, size=8)
        seen = []
        t = st.time_inference(lambda a, b: seen.append(float(b.mean())) or (a + b) / 2, imgs, device="cpu")
        assert len(t.times) == 3 and len(seen) == 4 and seen[0] == 1.0
        assert t.mean >= 0 and t.device == "cpu" and t.size == 8
        with pytest.raises(ValueError, match="more than"):
            st.time_inference(lambda a, b: a, imgs[:1], device="cpu")


@pytest.mark.slow
class TestAddCombinedMatchesE2:
    def test_reference(self):
        """add_combined on cached component scores equals fusionlib.metrics.e2 on the images."""
        import fusionlib as fl
        rng = np.random.default_rng(0)
        a, b = (rng.random((1, 192, 192)).astype(np.float32) for _ in range(2))
        cands = np.stack([(a + b) / 2, np.maximum(a, b), 0.8 * a + 0.2 * b]).astype(np.float32)
        ref = fl.metrics.e2(cands, [a, b])
        names = ("en", "ag", "ssim", "viff", "niqe", "psnr", "mi")
        rows = [{"method": f"m{k}", "image": "i", **st.score_fused(c, [a, b], names)} for k, c in enumerate(cands)]
        out = st.add_combined(pd.DataFrame(rows))
        np.testing.assert_allclose(out["combined"].to_numpy(), np.asarray(ref.scores), atol=1e-6)


class TestRunStudy:
    def test_smoke_and_resume(self, tmp_path):
        splits = {"multi-focus": st.task_splits("smoke", tasks=["multi-focus"])["multi-focus"].head(2, 1)}
        calls, labels = [], []
        fns = {"mean": lambda f, s: f.reshape(f.shape[0], -1).mean(1)}

        def labeler(task, pairs, refs):
            labels.append(len(pairs))
            return [np.maximum(a, b) for a, b in pairs]

        kw = dict(cache_dir=tmp_path, labeler=labeler, device="cpu", trainer=_trainer(calls),
                  build=lambda v: _Tiny(), names=["mean"], fns=fns, show_progress=False)
        cfg = st.StudyConfig(epochs=1, batch_size=4, patch=16, n_patches=8)
        r = st.run_study("exp", ["a", st.Variant("b", train_tasks=("multi-focus",))], [0, 1], splits, cfg, **kw)
        assert len(r.scores) == 4 and set(r.scores["method"]) == {"a", "b"}
        assert calls == [0, 1, 0, 1] and labels == [2, 2]  # one training set per seed, reused by variants
        again = st.run_study("exp", ["a", "b"], [0, 1], splits, cfg, **kw)
        assert calls == [0, 1, 0, 1]  # all loaded from the cache
        pd.testing.assert_frame_equal(again.scores, r.scores)


class TestViz:
    def test_smoke(self):
        import matplotlib
        matplotlib.use("Agg")
        import fusionlib.viz as viz
        df = _long({"a": [1.0, 2, 3], "b": [2.0, 3, 4], "c": [0.0, 1, 2]}, seeds=(0,))
        s = st.summarize(df, ["q"])
        figs = [viz.plot_mean_sd(s, ["q"], paper={"q": {"a": 1.0}}),
                viz.plot_index_bars(s.xs("mean", axis=1, level=1), highlight="a"),
                viz.plot_bubble(pd.DataFrame({"q": [1, 2], "t": [1, 3], "kb": [20, 160], "n": ["x", "y"]}),
                                x="q", y="t", size="kb", label="n"),
                viz.plot_transfer_matrix(pd.DataFrame([[1.0, 2], [3, 4]], index=["x", "y"], columns=["u", "v"])),
                viz.plot_significance(st.paired_tests(df, "q", test="ttest")),
                viz.plot_fusion_grid({"r": [np.zeros((1, 8, 8)), None]}, ["s", "f"])]
        import matplotlib.pyplot as plt
        for f in figs:
            assert f.axes
            plt.close(f)
        with pytest.raises(ValueError, match="expected 2"):
            viz.plot_fusion_grid({"r": [np.zeros((8, 8))]}, ["s", "f"])


class TestContentKey:
    def test_invariants(self):
        sp = st.task_splits("smoke", tasks=["multi-focus"])["multi-focus"]
        k = st.content_key(sp.test)
        assert k == st.content_key(list(sp.test)) and len(k) == 16
        assert k != st.content_key(sp.train)
        other = [st.SampleRef(r.dataset, r.id, size=r.size, seed=1) for r in sp.test]  # other pixels
        assert st.content_key(other) != k


class TestEvaluateMethodCache:
    @pytest.mark.parametrize("damage", [b"", b"\x00\xff\xfe garbage", b"method,seed\nmax,0\n"])
    def test_corrupt_csv_recomputed(self, tmp_path, damage):
        """A damaged or foreign score table is recomputed; an unreadable one with a warning naming it."""
        sp = st.task_splits("smoke", tasks=["multi-focus"])["multi-focus"]
        refs = list(sp.test)[:2]
        fns = {"sd": lambda f, s: f.reshape(f.shape[0], -1).std(axis=1)}
        kw = dict(names=("sd",), fns=fns, cache=tmp_path / "s.csv")
        fuse = lambda a, b: np.maximum(a, b)  # noqa: E731
        first = st.evaluate_method("max", fuse, refs, ["multi-focus"] * 2, **kw)
        (tmp_path / "s.csv").write_bytes(damage)
        if damage.startswith(b"method"):  # readable but not this table: recomputed silently
            again = st.evaluate_method("max", fuse, refs, ["multi-focus"] * 2, **kw)
        else:
            with pytest.warns(RuntimeWarning, match="s.csv"):
                again = st.evaluate_method("max", fuse, refs, ["multi-focus"] * 2, **kw)
        np.testing.assert_allclose(again["sd"], first["sd"])
        assert list(again["image"]) == list(first["image"])


class TestTable4:
    def test_known_value(self):
        splits = st.task_splits("smoke")
        t = st.table4(splits)
        assert t.loc["infrared-visible", "paper pairs"] == 14473 and t.loc["CVS", "our data"] == "not public: dropped"
        assert t.loc["multi-focus", "our test pairs"] == len(splits["multi-focus"].test)
        assert t.loc["medical", "our data"] == "no embedded set"   # smoke has no medical set
        assert not t.loc["CVS", "paper aligned"]


class TestModelFuser:
    def test_auto_device(self):
        net = fl_nets_build()
        a = np.random.default_rng(0).random((1, 16, 16), dtype=np.float32)
        out = st.model_fuser(net, "auto")(a, a)
        assert out.shape == (1, 16, 16) and out.min() >= 0 and out.max() <= 1


def fl_nets_build():
    import fusionlib.nets as nets
    torch.manual_seed(0)
    return nets.build("aenetv2_gcb").eval()


class TestStudySplits:
    def test_smoke(self):
        from fusionlib.experiments.aenet_study import study_splits
        sp, note = study_splits("smoke", tasks=["multi-focus"])
        assert "embedded" in note and sp["multi-focus"].test

    def test_missing_data_stops(self, tmp_path):
        """A standard run without the data raises with the places looked at: no embedded fallback."""
        from fusionlib.data import DataNotFoundError
        from fusionlib.experiments.aenet_study import study_splits
        with pytest.raises(DataNotFoundError, match="Looked at.*To get the data"):
            study_splits("standard", root=tmp_path / "nowhere", tasks=["multi-focus"])
