"""fusionlib.filters against SciPy (border modes) and closed forms."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import ndimage

from fusionlib import filters

MODES = {"symmetric": "reflect", "reflect": "mirror", "replicate": "nearest", "zeros": "constant",
         "circular": "wrap"}


class TestFilter2d:
    @pytest.mark.parametrize("border", list(MODES))
    def test_reference_scipy(self, border, rng):
        x = rng.random((9, 11))
        k = rng.random((3, 5))
        ours = filters.filter2d(torch.from_numpy(x)[None, None], torch.from_numpy(k), border)[0, 0].numpy()
        ref = ndimage.correlate(x, k, mode=MODES[border])
        np.testing.assert_allclose(ours, ref, atol=1e-12)

    def test_valid(self, rng):
        x = torch.from_numpy(rng.random((1, 2, 9, 9)))
        assert filters.filter2d(x, torch.ones(3, 3), "valid").shape == (1, 2, 7, 7)

    def test_large_pad_symmetric(self, rng):
        x = rng.random((4, 4))
        ours = filters.pad(torch.from_numpy(x)[None, None], (6, 6, 6, 6), "symmetric")[0, 0].numpy()
        np.testing.assert_array_equal(ours, np.pad(x, 6, mode="symmetric"))

    def test_large_pad_reflect(self, rng):
        x = rng.random((4, 4))
        ours = filters.pad(torch.from_numpy(x)[None, None], (5, 5, 5, 5), "reflect")[0, 0].numpy()
        np.testing.assert_array_equal(ours, np.pad(x, 5, mode="reflect"))

    def test_exception(self):
        with pytest.raises(ValueError, match="border"):
            filters.pad(torch.zeros(1, 1, 4, 4), (1, 1, 1, 1), "bogus")


class TestGaussian:
    def test_kernel_sums_to_one(self):
        k = filters.gaussian_kernel2d(1.5, 11)
        assert abs(float(k.sum()) - 1) < 1e-12 and k.shape == (11, 11)

    def test_reference_scipy(self, rng):
        x = rng.random((16, 16))
        ours = filters.gaussian_blur(torch.from_numpy(x)[None, None], 2.0)[0, 0].numpy()
        ref = ndimage.gaussian_filter(x, 2.0, mode="reflect", truncate=3.0)
        np.testing.assert_allclose(ours, ref, atol=1e-10)

    def test_box_constant(self):
        x = torch.full((1, 1, 8, 8), 0.3, dtype=torch.float64)
        np.testing.assert_allclose(filters.box_filter(x, 2).numpy(), 0.3, atol=1e-12)


class TestColour:
    def test_ycbcr_roundtrip(self, rng):
        x = torch.from_numpy(rng.random((2, 3, 5, 5)))
        np.testing.assert_allclose(filters.ycbcr_to_rgb(filters.rgb_to_ycbcr(x)).numpy(), x.numpy(), atol=2e-3)
        exact = filters.ycbcr_to_rgb(filters.rgb_to_ycbcr(x), exact=True).numpy()
        np.testing.assert_allclose(exact, x.numpy(), atol=1e-12)

    def test_gray_is_bt601_luma(self, rng):
        """MATLAB rgb2gray weights are BT.601 luma, the Y of skimage's YIQ (skimage's rgb2gray is BT.709)."""
        from skimage.color import rgb2yiq
        x = rng.random((5, 6, 3))
        ours = filters.rgb_to_gray(torch.from_numpy(np.moveaxis(x, -1, 0))[None])[0, 0].numpy()
        np.testing.assert_allclose(ours, rgb2yiq(x)[..., 0], atol=1e-3)
