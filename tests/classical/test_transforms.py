"""Transforms: exact reconstruction and agreement with PyWavelets / SciPy / NumPy."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import fusionlib.classical as C
from fusionlib._checks import ShapeError
from fusionlib.classical import msvd as M
from fusionlib.classical import guided as G
from fusionlib.filters import box_sum


class TestGaussianPyramid:
    def test_reference(self, rng):
        """REDUCE = binomial [1 4 6 4 1]/16 with reflect-101 borders, then even samples
        (scipy.ndimage mode='mirror' is whole-sample symmetric)."""
        ndimage = pytest.importorskip("scipy.ndimage")
        img = rng.random((33, 20))
        k = np.array([1, 4, 6, 4, 1]) / 16
        ref = ndimage.correlate1d(ndimage.correlate1d(img, k, axis=0, mode="mirror"), k, axis=1,
                                  mode="mirror")[::2, ::2]
        np.testing.assert_allclose(C.gaussian_pyramid(img, n_levels=2)[1], ref, atol=1e-12)

    def test_shape(self, rng):
        pyr = C.gaussian_pyramid(torch.rand(2, 3, 33, 20), n_levels=3)
        assert [tuple(p.shape) for p in pyr] == [(2, 3, 33, 20), (2, 3, 17, 10), (2, 3, 9, 5)]

    def test_exception(self, rng):
        with pytest.raises(ShapeError, match="too small for n_levels=5"):
            C.gaussian_pyramid(rng.random((20, 20)), n_levels=5)
        with pytest.raises(ValueError, match="n_levels"):
            C.gaussian_pyramid(rng.random((20, 20)), n_levels=0)


class TestLaplacianPyramid:
    @pytest.mark.parametrize("shape", [(32, 32), (37, 29)])
    def test_invariants_reconstruct(self, rng, shape):
        img = rng.random(shape)
        pyr = C.laplacian_pyramid(img, n_levels=4)
        np.testing.assert_allclose(C.laplacian_reconstruct(pyr), img, atol=1e-12)

    def test_known_value_constant(self):
        """A constant image has zero detail levels and a constant top (EXPAND preserves constants)."""
        pyr = C.laplacian_pyramid(np.full((16, 16), 0.3), n_levels=3)
        assert all(np.abs(p).max() < 1e-12 for p in pyr[:-1])
        np.testing.assert_allclose(pyr[-1], 0.3, atol=1e-12)

    def test_ratio_reconstruct(self, rng):
        img = rng.random((30, 22))
        np.testing.assert_allclose(C.ratio_reconstruct(C.ratio_pyramid(img, n_levels=3)), img, atol=1e-12)


class TestWavedec2:
    @pytest.mark.parametrize("wavelet", ["db1", "db2", "sym4", "bior2.2", "coif1"])
    @pytest.mark.parametrize("shape", [(32, 24), (31, 27)])
    def test_reference_pywt(self, rng, wavelet, shape):
        """Same coefficients as pywt.wavedec2(mode='periodization')."""
        pywt = pytest.importorskip("pywt")
        img = rng.random(shape)
        ours = C.wavedec2(img, wavelet=wavelet, n_levels=2)
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = pywt.wavedec2(img, wavelet, mode="periodization", level=2)
        np.testing.assert_allclose(ours[0], ref[0], atol=1e-12)
        for lo, lr in zip(ours[1:], ref[1:]):
            for a, b in zip(lo, lr):
                np.testing.assert_allclose(a, b, atol=1e-12)

    @pytest.mark.parametrize("shape", [(32, 24), (30, 26), (31, 27)])
    def test_invariants_reconstruct(self, rng, shape):
        img = rng.random(shape)
        coeffs = C.wavedec2(img, wavelet="db2", n_levels=3)
        np.testing.assert_allclose(C.waverec2(coeffs, wavelet="db2", shape=shape), img, atol=1e-12)

    def test_batch_torch(self):
        x = torch.rand(2, 3, 16, 16, dtype=torch.float64)
        c = C.wavedec2(x, n_levels=2)
        assert c[0].shape == (2, 3, 4, 4) and c[1][0].shape == (2, 3, 4, 4)
        torch.testing.assert_close(C.waverec2(c), x)

    def test_exception(self, rng):
        with pytest.raises(ValueError, match="wavelet"):
            C.wavedec2(rng.random((16, 16)), wavelet="nope")
        with pytest.raises(ShapeError, match="too small"):
            C.wavedec2(rng.random((8, 8)), n_levels=4)


class TestMSVD:
    def test_invariants_reconstruct(self, rng):
        img = rng.random((32, 24))
        d = M.msvd_decompose(img, n_levels=2)
        np.testing.assert_allclose(M.msvd_reconstruct(d), img, atol=1e-12)

    def test_reference_numpy_svd(self, rng):
        """U is the left singular basis of the 4 x HW/4 block matrix (np.linalg.svd), up to sign."""
        img = rng.random((16, 12))
        d = M.msvd_decompose(img, n_levels=1)
        X = np.stack([img[0::2, 0::2].ravel(), img[1::2, 0::2].ravel(),
                      img[0::2, 1::2].ravel(), img[1::2, 1::2].ravel()])
        u, s, _ = np.linalg.svd(X, full_matrices=False)
        np.testing.assert_allclose(np.abs(d["U"][0][0, 0]), np.abs(u), atol=1e-10)
        # approximation band = first singular direction projected
        np.testing.assert_allclose(np.abs(d["approx"]).ravel(), np.abs(u[:, 0] @ X), atol=1e-10)

    def test_exception(self, rng):
        with pytest.raises(ShapeError, match="multiples"):
            M.msvd_decompose(rng.random((15, 16)))


class TestGuidedFilter:
    def test_reference_box(self, rng):
        """Box sums agree with scipy.ndimage.uniform_filter on a zero-padded image."""
        ndimage = pytest.importorskip("scipy.ndimage")
        x = rng.random((25, 31))
        r = 4
        ref = ndimage.uniform_filter(np.pad(x, r), 2 * r + 1, mode="constant")[r:-r, r:-r] * (2 * r + 1) ** 2
        np.testing.assert_allclose(box_sum(torch.from_numpy(x)[None, None], r)[0, 0].numpy(), ref, atol=1e-10)

    def test_known_value(self, rng):
        """Constant guide -> the box mean of p; p = guide and eps -> 0 -> p itself."""
        p = rng.random((20, 20))
        out = G.guided_filter(p, np.ones((20, 20)), radius=2, eps=1e-3)
        ref = box_sum(torch.from_numpy(p)[None, None], 2)[0, 0].numpy()
        cnt = box_sum(torch.ones(1, 1, 20, 20, dtype=torch.float64), 2)[0, 0].numpy()
        ref = box_sum(torch.from_numpy(ref / cnt)[None, None], 2)[0, 0].numpy() / cnt
        np.testing.assert_allclose(out, ref, atol=1e-10)
        np.testing.assert_allclose(G.guided_filter(p, p, radius=2, eps=1e-12), p, atol=1e-6)

    def test_exception(self, rng):
        with pytest.raises(ValueError, match="eps"):
            G.guided_filter(rng.random((8, 8)), rng.random((8, 8)), eps=-1)
