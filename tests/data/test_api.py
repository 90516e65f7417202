"""Public API of fusionlib.data: registry, info, load, Dataset/Sample behaviour (embedded sets)."""
from __future__ import annotations

import numpy as np
import pytest

import fusionlib as fl
from fusionlib.data import TASKS

EMBEDDED = ["embedded_multifocus", "embedded_multiexposure", "embedded_irvis", "embedded_pansharpening"]
REAL = ["vifb", "tno", "roadscene", "lytro", "liu2020", "mefb", "harvard", "ifcnn", "nbu_iaoa"]


class TestListDatasets:
    def test_smoke(self):
        names = fl.data.list_datasets()
        assert set(EMBEDDED + REAL) == set(names)

    def test_task_filter(self):
        for task in TASKS:
            names = fl.data.list_datasets(task)
            assert names, task
            assert all(task in fl.data.info(n).tasks for n in names)
        assert "ifcnn" in fl.data.list_datasets("medical")
        assert fl.data.list_datasets("pansharpening") == ["nbu_iaoa", "embedded_pansharpening"]
        assert fl.data.list_datasets(embedded=True) == EMBEDDED

    def test_exception(self):
        with pytest.raises(ValueError, match="`task` must be one of"):
            fl.data.list_datasets("fusion")


class TestInfo:
    @pytest.mark.parametrize("name", EMBEDDED + REAL)
    def test_invariants(self, name):
        i = fl.data.info(name)
        assert i.name == name
        assert set(i.tasks) <= set(TASKS) and i.tasks
        assert i.citation and i.licence and i.description and i.title
        assert i.n_samples > 0
        assert i.embedded == (name in EMBEDDED) and i.synthetic == (name in EMBEDDED)
        if not i.embedded:
            assert i.folder and i.source_commit and len(i.source_commit) == 40
            assert i.download_url == f"https://raw.githubusercontent.com/{i.source_repo}/{i.source_commit}/"
        with pytest.raises(Exception):
            i.name = "x"  # frozen

    def test_exception(self):
        with pytest.raises(KeyError, match="valid keys"):
            fl.data.info("nope")
        with pytest.raises(TypeError, match="`name` must be a str"):
            fl.data.info(3)

    def test_facts_table(self):
        t = fl.data.facts_table()
        assert list(t.index) == fl.data.list_datasets()
        assert t.loc["harvard", "samples"] == 72


class TestLoadEmbedded:
    @pytest.mark.parametrize("name", EMBEDDED)
    def test_shape(self, name):
        ds = fl.data.load(name, size=64)
        assert len(ds) == len(ds.ids) == ds.info.n_samples
        s = ds[0]
        assert s.id == ds.ids[0]
        assert all(a.dtype == np.float32 and a.ndim == 3 for a in s.sources)
        assert all(0.0 <= a.min() and a.max() <= 1.0 for a in s.sources)
        assert s.meta["task"] == ds.info.tasks[0] and s.meta["synthetic"] is True
        assert (s.reference is not None) == ds.info.has_reference
        if name == "embedded_pansharpening":
            assert s.ms.shape == (4, 16, 16) and s.pan.shape == (1, 64, 64)
            assert s.reference.shape == (4, 64, 64) and s.meta["ratio"] == 4
        else:
            assert s.sources[0].shape[-2:] == s.sources[1].shape[-2:] == (64, 64)
            with pytest.raises(AttributeError, match="only pansharpening"):
                s.ms

    @pytest.mark.parametrize("name", EMBEDDED)
    def test_uint8(self, name):
        ds = fl.data.load(name, size=48)
        f, u = ds.get(1), ds.get(1, dtype="uint8")
        for a, b in zip(f.sources, u.sources):
            assert b.dtype == np.uint8
            np.testing.assert_array_equal(np.rint(a * 255).astype(np.uint8), b)
            np.testing.assert_allclose(b / np.float32(255), a, atol=0)

    @pytest.mark.parametrize("name", EMBEDDED)
    def test_determinism(self, name):
        a = fl.data.load(name, size=48, seed=3)[1]
        b = fl.data.load(name, size=48, seed=3)[1]
        for x, y in zip(a.sources, b.sources):
            np.testing.assert_array_equal(x, y)

    def test_cached_copies(self):
        ds = fl.data.load("embedded_multiexposure", size=32)
        a = ds[0]
        a.sources[0][:] = 0                       # callers get copies: the cache is not changed
        assert ds[0].sources[0].max() > 0

    def test_seed_changes_samples(self):
        a = fl.data.load("embedded_multifocus", size=48, seed=0)[0]
        b = fl.data.load("embedded_multifocus", size=48, seed=1)[0]
        assert not np.array_equal(a.sources[0], b.sources[0])

    def test_indexing(self):
        ds = fl.data.load("embedded_irvis", size=32)
        assert ds["coins"].id == "coins"
        assert "coins" in ds and "nope" not in ds and ds.methods == ()
        assert ds[-1].id == ds.ids[-1]
        assert [s.id for s in ds] == ds.ids
        assert [s.id for s in ds[1:3]] == ds.ids[1:3]

    def test_exception(self):
        ds = fl.data.load("embedded_irvis", size=32)
        with pytest.raises(IndexError, match="out of range"):
            ds[99]
        with pytest.raises(KeyError, match="unknown pair id"):
            ds["nope"]
        with pytest.raises(TypeError, match="index must be"):
            ds[1.5]
        with pytest.raises(ValueError, match="`dtype` must be one of"):
            ds.get(0, dtype="float64")
        with pytest.raises(ValueError, match="`subset` is not supported"):
            fl.data.load("embedded_irvis", subset="x")
        with pytest.raises(ValueError, match="`size` must be an int >= 32"):
            fl.data.load("embedded_irvis", size=8)
        with pytest.raises(ValueError, match="never resized"):
            fl.data.load("vifb", size=64)
        with pytest.raises(TypeError, match="`verify` must be a bool"):
            fl.data.load("vifb", verify="yes")
