"""Real data sets (skipped without ../shared/data or FUSIONLIB_DATA): counts, first-sample shapes, extras.

Counts and shapes are those of each folder's MANIFEST.md / pairs.csv. Only a few samples are read,
so only the files they touch are hashed.
"""
from __future__ import annotations

import csv

import numpy as np
import pytest

import fusionlib as fl

pytestmark = pytest.mark.realdata

# name: (count, first id, first-sample source shapes (C, H, W), task)
EXPECTED = {
    "vifb": (21, "carLight", [(1, 460, 630), (3, 460, 630)], "infrared-visible"),
    "tno": (25, "01", [(1, 576, 768), (1, 576, 768)], "infrared-visible"),
    "roadscene": (50, "FLIR_00211", [(1, 301, 496), (3, 301, 496)], "infrared-visible"),
    "lytro": (20, "lytro_01", [(3, 520, 520), (3, 520, 520)], "multi-focus"),
    "liu2020": (30, "c_01", [(3, 520, 520), (3, 520, 520)], "multi-focus"),
    "mefb": (20, "Arno", [(3, 339, 512), (3, 339, 512)], "multi-exposure"),
    "harvard": (72, "CT-MRI_16009", [(1, 256, 256), (1, 256, 256)], "medical"),
    "ifcnn": (28, "Camp", [(1, 270, 360), (1, 270, 360)], "infrared-visible"),
    "nbu_iaoa": (16, "quickbird_urban_1", [(4, 256, 256), (1, 256, 256)], "pansharpening"),
}


class TestLoadReal:
    @pytest.mark.parametrize("name", list(EXPECTED))
    def test_shape(self, data_root, name):
        n, first, shapes, task = EXPECTED[name]
        ds = fl.data.load(name, data_root)
        assert len(ds) == n == ds.info.n_samples
        assert ds.ids[0] == first
        s = ds[0]
        assert [a.shape for a in s.sources] == shapes
        assert all(a.dtype == np.float32 and 0 <= a.min() and a.max() <= 1 for a in s.sources)
        assert s.meta["task"] == task and s.meta["dataset"] == name
        with open(ds.folder / "pairs.csv", newline="") as f:
            row = next(csv.DictReader(f))
        if name == "harvard":                     # the index's `task` (CT-MRI ...) becomes meta["subset"]
            assert s.meta["subset"] == row.pop("task") == "CT-MRI"
        assert all(s.meta[k] == v for k, v in row.items())       # the pairs.csv row is in meta
        u = ds.get(0, dtype="uint8")
        for a, b in zip(s.sources, u.sources):
            assert b.dtype == np.uint8
            np.testing.assert_array_equal(np.rint(a * 255).astype(np.uint8), b)

    @pytest.mark.parametrize("name, subset, n", [
        ("harvard", "CT-MRI", 24), ("harvard", "PET-MRI", 24), ("harvard", "SPECT-MRI", 24),
        ("ifcnn", "infrared-visible", 14), ("ifcnn", "medical", 8), ("ifcnn", "multi-exposure", 6),
        ("liu2020", "color", 20), ("liu2020", "grayscale", 10),
        ("nbu_iaoa", "QuickBird", 8), ("nbu_iaoa", "Gaofen", 8),
    ])
    def test_subset(self, data_root, name, subset, n):
        assert len(fl.data.load(name, data_root, subset=subset)) == n

    def test_subset_exception(self, data_root):
        with pytest.raises(ValueError, match="`subset` must be one of"):
            fl.data.load("harvard", data_root, subset="MRI-CT")
        with pytest.raises(ValueError, match="not supported"):
            fl.data.load("vifb", data_root, subset="x")

    def test_modes(self, data_root):
        """PET is RGB pseudo-colour, MRI gray; grayscale Liu pairs are 1 channel; VIFB's 1-channel IR too."""
        s = fl.data.load("harvard", data_root, subset="PET-MRI")[0]
        assert [a.shape[0] for a in s.sources] == [3, 1] and s.meta["modalities"] == ["PET", "MRI"]
        g = fl.data.load("liu2020", data_root)["g_05"]
        assert [a.shape for a in g.sources] == [(1, 176, 268)] * 2
        v = fl.data.load("vifb", data_root)["manWalking"]        # stored single-channel
        assert v.sources[0].shape[0] == 1

    def test_exposure_sequences(self, data_root):
        ds = fl.data.load("ifcnn", data_root, subset="multi-exposure")
        counts = {"chair": 5, "door": 5, "garage": 6, "house": 4, "igloo": 6, "window": 5}
        s = ds["house"]
        assert len(s.sources) == counts["house"] and s.meta["task"] == "multi-exposure"
        assert [len(r["a"].split(";")) for r in ds.rows] == [counts[i] for i in ds.ids]
        f = ds.fused("IFCNN", "house")
        assert f.shape == s.sources[0].shape

    def test_liu2020_cross_folder(self, data_root):
        """c_02 points into ../mfifb_lytro; it is verified against that folder's SHA256SUMS."""
        a = fl.data.load("liu2020", data_root)["c_02"]
        b = fl.data.load("lytro", data_root)["lytro_02"]
        np.testing.assert_array_equal(a.sources[0], b.sources[0])


class TestFused:
    def test_vifb(self, data_root):
        ds = fl.data.load("vifb", data_root)
        assert ds.methods == fl.data.real.VIFB_METHODS and len(ds.methods) == 25
        index = list(csv.DictReader(open(ds.folder / "fused_index.csv")))
        assert {r["method"] for r in index} == set(ds.methods)
        assert ds.mismatched_methods == ("SwinFusion", "YDTR")
        f = ds.fused("GFF", "kettle")
        assert f.shape[0] == 3 and f.shape[1:] == ds["kettle"].sources[1].shape[1:]
        assert ds.fused("GFF", "kettle", dtype="uint8").dtype == np.uint8
        with pytest.raises(KeyError, match="unknown method"):
            ds.fused("Nope", "kettle")

    def test_vifb_metric_table(self, data_root):
        ds = fl.data.load("vifb", data_root)
        long = ds.metric_table()
        assert long.shape == (21 * 25, 15)
        en = ds.metric_table("Entropy")
        assert en.shape == (21, 25) and list(en.columns) == list(ds.methods)
        assert en.loc["carLight", "ADF"] == pytest.approx(6.8923)      # first row of the CSV
        avg = ds.metric_table("Entropy", average=True)
        np.testing.assert_allclose(en.mean(axis=0).loc[avg.index], avg, rtol=1e-4)
        with pytest.raises(KeyError, match="unknown metric"):
            ds.metric_table("EN")

    def test_vifb_entropy_of_fused(self, data_root):
        """An independent check that fused() gives the images behind the table: VIFB's Entropy
        (per channel over 256 bins, mean over channels) recomputed with scipy.stats.entropy."""
        from scipy.stats import entropy
        ds = fl.data.load("vifb", data_root)
        f = ds.fused("ADF", "carLight", dtype="uint8")
        en = np.mean([entropy(np.bincount(c.ravel(), minlength=256), base=2) for c in f])
        assert en == pytest.approx(ds.metric_table("Entropy").loc["carLight", "ADF"], abs=2e-3)

    def test_lytro_and_liu(self, data_root):
        ly = fl.data.load("lytro", data_root)
        assert len(ly.methods) == 30 and ly.fused_pairs == [f"lytro_0{k}" for k in range(1, 6)]
        assert ly.fused("IFCNN", "lytro_03").shape == (3, 520, 520)
        with pytest.raises(KeyError, match="no fused images for pair 'lytro_06'"):
            ly.fused("IFCNN", "lytro_06")
        li = fl.data.load("liu2020", data_root)
        assert li.fused_pairs == ["c_01", "c_05", "c_10", "c_15", "g_01", "g_04", "g_07"]
        assert li.fused("nsct-sr", "g_04").shape == li["g_04"].sources[0].shape
        with pytest.raises(KeyError, match="no stored fused images"):
            fl.data.load("mefb", data_root).fused("x", 0)


class TestNBU:
    def test_meta(self, data_root):
        ds = fl.data.load("nbu_iaoa", data_root)
        s = ds["gaofen_coast_2"]
        assert s.meta["ratio"] == 4 and s.meta["sensor"] == "Gaofen" and s.meta["scene"] == "Coast"
        assert s.ms.shape == (4, 256, 256) and s.pan.shape == (1, 256, 256)
        np.testing.assert_array_equal(s.reference, s.ms)
        assert sorted({r["scene"] for r in ds.rows}) == ["Coast", "Green vegetation", "Urban", "Water scenario"]

    def test_pan_is_rgb2gray(self, data_root):
        """MANIFEST property: PAN == round(0.298936 R + 0.587043 G + 0.114021 B) (MATLAB rgb2gray)."""
        s = fl.data.load("nbu_iaoa", data_root).get("quickbird_green_vegetation_1", dtype="uint8")
        r, g, b = s.ms[:3].astype(np.float64)
        np.testing.assert_array_equal(np.rint(0.298936 * r + 0.587043 * g + 0.114021 * b), s.pan[0])

    def test_reference(self, data_root):
        """The exported ms.tif / pan.png equal the arrays of imageData.mat (read with h5py) for all 16."""
        pytest.importorskip("h5py")
        mats = fl.data.real.read_nbu_mat(data_root / "nbu_iaoa" / "imageData.mat")
        ds = fl.data.load("nbu_iaoa", data_root)
        assert sorted(mats) == sorted(ds.ids)
        for pid, (ms, pan) in mats.items():
            s = ds.get(pid, dtype="uint8")
            np.testing.assert_array_equal(s.ms, ms)
            np.testing.assert_array_equal(s.pan, pan)
