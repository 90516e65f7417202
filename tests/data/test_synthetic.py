"""Synthetic generators: shapes, dtypes, ranges, determinism and the property defining each."""
from __future__ import annotations

import numpy as np
import pytest

from fusionlib._checks import ShapeError
from fusionlib.data import synthetic as syn


@pytest.fixture(scope="module")
def rgb():
    return syn.prepare_image(syn.skimage_image("astronaut"), 64)


@pytest.fixture(scope="module")
def gray():
    return syn.prepare_image(syn.skimage_image("camera"), 64)


def _on_grid(a):
    return np.array_equal(np.rint(a.astype(np.float64) * 255) / 255, a.astype(np.float64)) or \
        np.allclose(np.rint(a * 255) / 255, a, atol=1e-7, rtol=0)


class TestSkimageImage:
    def test_smoke(self):
        """Every image the embedded sets use loads offline (bundled with scikit-image)."""
        names = sorted({n for v in syn.EMBEDDED_IMAGES.values() for n in v})
        for n in names:
            a = syn.skimage_image(n)
            assert a.dtype == np.uint8 and a.ndim in (2, 3) and min(a.shape[:2]) >= 128, n


class TestPrepareImage:
    def test_shape(self):
        a = syn.prepare_image(syn.skimage_image("coffee"), 40)   # 400x600x3 -> centre crop -> 40x40
        assert a.shape == (3, 40, 40) and a.dtype == np.float32
        b = syn.prepare_image(syn.skimage_image("clock"), 40)
        assert b.shape == (1, 40, 40)
        assert syn.prepare_image(np.zeros((20, 30), np.uint8), None).shape == (1, 20, 30)

    def test_reference(self):
        """Against skimage.transform.resize of the same centre crop (bilinear, anti-aliased)."""
        from skimage.transform import resize
        img = syn.skimage_image("camera")                          # 512x512
        ref = resize(img / 255.0, (64, 64), order=1, anti_aliasing=True)
        np.testing.assert_allclose(syn.prepare_image(img, 64)[0], ref, atol=0.5 / 255 + 1e-6)

    def test_exception(self):
        with pytest.raises(ValueError, match=r"values must lie in \[0, 1\]"):
            syn.prepare_image(np.full((20, 20), 3.0))
        with pytest.raises(TypeError, match="uint8 or float"):
            syn.prepare_image(np.zeros((20, 20), np.int32))
        with pytest.raises(ShapeError, match="at least 16x16"):
            syn.prepare_image(np.zeros((8, 8)))
        with pytest.raises(ValueError, match="one of"):
            syn.skimage_image("brain")   # needs a download


class TestMakeMultifocus:
    @pytest.mark.parametrize("mask", ["random", "halfplane"])
    def test_invariants(self, rgb, mask):
        s = syn.make_multifocus(rgb, seed=1, mask=mask)
        a, b = s.sources
        m = s.meta["masks"][0][0] > 0
        assert a.shape == b.shape == s.reference.shape == rgb.shape
        # the defining property: each source equals the reference where its mask is 1
        np.testing.assert_array_equal(a[:, m], s.reference[:, m])
        np.testing.assert_array_equal(b[:, ~m], s.reference[:, ~m])
        # ... and is defocused elsewhere (less gradient energy)
        assert np.abs(np.diff(a[:, ~m].ravel())).mean() < np.abs(np.diff(s.reference[:, ~m].ravel())).mean()
        np.testing.assert_array_equal(s.meta["masks"][0] + s.meta["masks"][1], 1)
        assert 0.2 < m.mean() < 0.8
        assert 1.5 <= s.meta["sigma"] <= 3.0
        assert all(_on_grid(x) for x in (a, b, s.reference))

    def test_reference(self, gray):
        """Out-of-mask pixels are scipy.ndimage.gaussian_filter of the reference (reflect border)."""
        from scipy.ndimage import gaussian_filter
        s = syn.make_multifocus(gray, seed=0, sigma=2.0)
        m = s.meta["masks"][0][0] > 0
        blur = np.rint(gaussian_filter(gray[0].astype(np.float64), 2.0, mode="reflect") * 255) / 255
        np.testing.assert_allclose(s.sources[0][0][~m], blur[~m], atol=1.01 / 255)

    def test_determinism(self, gray):
        a = syn.make_multifocus(gray, seed=7)
        b = syn.make_multifocus(gray, seed=7)
        c = syn.make_multifocus(gray, seed=8)
        np.testing.assert_array_equal(a.sources[0], b.sources[0])
        assert not np.array_equal(a.meta["masks"][0], c.meta["masks"][0])

    def test_exception(self, gray):
        with pytest.raises(ValueError, match="`mask` must be one of"):
            syn.make_multifocus(gray, mask="circle")
        with pytest.raises(ValueError, match="low <= high"):
            syn.make_multifocus(gray, sigma=(3.0, 1.0))
        with pytest.raises(ValueError, match="finite and > 0"):
            syn.make_multifocus(gray, sigma=-1.0)


class TestMakeMultiexposure:
    def test_known_value(self, gray):
        """Closed form of the simulated camera: round(255·min(1, 2^s·I^γ)^(1/γ))/255."""
        s = syn.make_multiexposure(gray, seed=0, stops=1.5, gamma=2.2)
        assert s.meta["stops"] == (-1.5, 1.5)
        x = gray.astype(np.float64)
        under = np.rint(255 * np.minimum(1, 2 ** -1.5 * x ** 2.2) ** (1 / 2.2)) / 255
        over = np.rint(255 * np.minimum(1, 2 ** 1.5 * x ** 2.2) ** (1 / 2.2)) / 255
        np.testing.assert_allclose(s.sources[0], under, atol=1e-6)
        np.testing.assert_allclose(s.sources[1], over, atol=1e-6)

    def test_invariants(self, rgb):
        s = syn.make_multiexposure(rgb, seed=2)
        under, over = s.sources
        ref = s.reference
        assert under.mean() < ref.mean() < over.mean()
        assert (under <= ref + 1e-6).all() and (over >= ref - 1e-6).all()
        assert (over == 1.0).mean() > (ref == 1.0).mean()           # clipping saturates highlights
        # monotone tone curve: sorting by the reference sorts each source
        order = np.argsort(ref[0].ravel(), kind="stable")
        assert (np.diff(under[0].ravel()[order]) >= -1e-6).all()
        lo, hi = -s.meta["stops"][0], s.meta["stops"][1]
        assert 2.0 <= lo <= 3.0 and 2.0 <= hi <= 3.0

    def test_exception(self, gray):
        with pytest.raises(ValueError, match="`gamma`"):
            syn.make_multiexposure(gray, gamma=0)


class TestMakeIrvis:
    def test_invariants(self, rgb):
        s = syn.make_irvis(rgb, seed=0, n_blobs=2)
        ir, vis = s.sources
        assert s.reference is None and ir.shape == vis.shape == (1, 64, 64)
        assert s.meta["synthetic"] is True and "synthetic" in s.meta["modalities"][0]
        assert len(s.meta["blobs"]) == 2
        for cy, cx, _, a in s.meta["blobs"]:           # hot objects are hotter than the image mean
            assert ir[0, int(cy), int(cx)] > ir.mean() + 0.2 * a
        assert vis.mean() < 0.35 * float(rgb.mean()) + 0.08 + 0.02   # dark and hazy
        assert all(_on_grid(x) for x in (ir, vis))

    def test_no_blobs_is_inverted_luma(self, gray):
        """Without blobs, IR = 0.15 + 0.5·(1 − G_2(Y)) (scipy gaussian_filter, reflect)."""
        from scipy.ndimage import gaussian_filter
        s = syn.make_irvis(gray, seed=0, n_blobs=0)
        exp = 0.15 + 0.5 * (1 - gaussian_filter(gray[0].astype(np.float64), 2.0, mode="reflect"))
        np.testing.assert_allclose(s.sources[0][0], np.rint(exp * 255) / 255, atol=1.01 / 255)

    def test_determinism(self, gray):
        a, b = syn.make_irvis(gray, seed=4), syn.make_irvis(gray, seed=4)
        np.testing.assert_array_equal(a.sources[1], b.sources[1])
        assert a.meta["blobs"] == b.meta["blobs"]


class TestMakePansharpening:
    def test_shape(self, rgb):
        s = syn.make_pansharpening(rgb)
        assert s.ms.shape == (4, 16, 16) and s.pan.shape == (1, 64, 64)
        assert s.reference.shape == (4, 64, 64)
        assert s.meta["ratio"] == 4 and s.meta["sensor"] == "QuickBird" and s.meta["scene"] == "synthetic"
        np.testing.assert_array_equal(s.reference[:3], rgb)

    def test_known_value(self):
        """σ = (r/π)·√(−2 ln G): 1.87 px for G = 0.34, r = 4 (pansharpening_protocols.md §2)."""
        assert syn.mtf_sigma(0.34, 4) == pytest.approx(1.87, abs=5e-3)
        for g in (0.22, 0.3, 0.34):
            k = syn.gaussian_mtf_kernel(g, 4)
            # the kernel's frequency response at the MS Nyquist (1/8 cycles/pixel) equals the gain
            t = np.arange(41) - 20
            h = (k.sum(axis=0) * np.cos(2 * np.pi * t / 8)).sum()
            assert h == pytest.approx(g, abs=2e-3)
            assert k.sum() == pytest.approx(1.0)

    def test_one_sensor_table(self):
        """MTF_GAINS is the R, G, B, NIR view of fusionlib.filters.SENSOR_GAINS (B, G, R, NIR), the
        table the metrics and protocols read."""
        from fusionlib import filters
        from fusionlib.metrics import pansharpening as mps
        from fusionlib.pansharpening import protocols
        assert mps.SENSOR_GAINS is filters.SENSOR_GAINS and protocols.sensor_gains is filters.sensor_gains
        assert filters.SENSOR_BANDS == ("B", "G", "R", "NIR")
        for name, rgbn in syn.MTF_GAINS.items():
            b, g, r, n = filters.sensor_gains(name, "BGRN")[0]
            assert rgbn == (r, g, b, n)
        assert syn.MTF_GAINS["QuickBird"] == (0.30, 0.32, 0.34, 0.22)

    def test_gaussian_is_not_the_toolbox_mtf(self):
        """One name per filter: the embedded data's sampled Gaussian (unit sum, Nyquist response = gain)
        differs from Vivone's genMTF (filters.mtf_kernel: sum ~0.9987, response 0.93-0.95 gain), as
        documented in both docstrings."""
        from fusionlib import filters
        t = np.arange(41) - 20
        for g in (0.22, 0.3, 0.34):
            gk, vk = syn.gaussian_mtf_kernel(g, 4), filters.mtf_kernel(g, 4).numpy()
            resp = [(k.sum(axis=0) * np.cos(2 * np.pi * t / 8)).sum() / k.sum() for k in (gk, vk)]
            assert resp[0] == pytest.approx(g, abs=2e-3) and 0.92 * g < resp[1] < 0.97 * g
            assert 0.998 < vk.sum() < 0.9995
            assert 0.04 < np.abs(vk / vk.sum() - gk).max() / gk.max() < 0.05
        assert syn.mtf_kernel is syn.gaussian_mtf_kernel  # former name, while chapter 02 calls it

    def test_invariants(self, rgb):
        s = syn.make_pansharpening(rgb)
        w = np.asarray(syn.PAN_WEIGHTS)
        pan = np.rint(np.tensordot(w, s.reference.astype(np.float64), axes=1) * 255) / 255
        np.testing.assert_allclose(s.pan[0], pan, atol=1e-6)
        # Wald consistency: MS_LR = decimate(MTF_blur(reference)), phase ratio//2 (MATLAB 'nearest')
        from scipy.ndimage import correlate
        gains = syn.MTF_GAINS["QuickBird"]
        for b in range(4):
            low = correlate(s.reference[b].astype(np.float64), syn.gaussian_mtf_kernel(gains[b]), mode="nearest")
            np.testing.assert_allclose(s.ms[b], np.rint(low[2::4, 2::4] * 255) / 255, atol=1e-6)

    def test_exception(self, rgb, gray):
        with pytest.raises(ShapeError, match="must be RGB"):
            syn.make_pansharpening(gray)
        with pytest.raises(ShapeError, match="multiples of `ratio`"):
            syn.make_pansharpening(rgb[:, :62, :62])
        with pytest.raises(ValueError, match="`sensor` must be one of"):
            syn.make_pansharpening(rgb, sensor="Landsat")
        with pytest.raises(ValueError, match=r"`gain` must be in \(0, 1\)"):
            syn.mtf_sigma(1.2)
