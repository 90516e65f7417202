"""CLAHE with OpenCV's conventions (the enhancement step of IFCNN's multi-exposure pipeline)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from fusionlib.nets import clahe


def _image(h=37, w=53, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.random((h, w)) ** 2 * 255).round().astype(np.uint8)


class TestClahe:
    def test_known_value(self):
        # one tile, no clipping: plain histogram equalisation, LUT = round(cdf * 255 / N) (closed form)
        im = _image()
        cdf = np.cumsum(np.bincount(im.ravel(), minlength=256))
        lut = np.round(cdf.astype(np.float32) * np.float32(255.0 / im.size))
        out = clahe(im, clip_limit=0, tile_grid=(1, 1))
        np.testing.assert_array_equal(np.round(out * 255), lut[im])

    def test_shape_and_grid(self):
        im = _image(40, 48)
        out = clahe(im)
        assert out.shape == im.shape and out.dtype == np.float32
        assert np.array_equal(out * 255, np.round(out * 255)) and 0 <= out.min() and out.max() <= 1
        t = torch.from_numpy(im).float().div(255).expand(2, 3, -1, -1)
        assert clahe(t).shape == (2, 3, 40, 48)

    def test_invariants(self):
        # monotone within a tile (equalisation never reverses order on one LUT) and contrast limited:
        # a low clip limit stays closer to the identity than a high one
        im = _image(64, 64, seed=1)
        one = np.round(clahe(im, clip_limit=2.0, tile_grid=(1, 1)) * 255)
        order = np.argsort(im.ravel(), kind="stable")
        assert np.all(np.diff(one.ravel()[order]) >= 0)
        lo = np.abs(np.round(clahe(im, clip_limit=1.0) * 255) - im).mean()
        hi = np.abs(np.round(clahe(im, clip_limit=40.0) * 255) - im).mean()
        assert lo < hi

    def test_exception(self):
        with pytest.raises(ValueError, match="8-bit"):
            clahe(np.full((16, 16), 0.3, np.float32) + 1e-4)
        with pytest.raises(ValueError, match="tile_grid"):
            clahe(_image(), tile_grid=8)
        with pytest.raises(ValueError, match="smaller than the tile grid"):
            clahe(_image(4, 4))
        with pytest.raises(ValueError, match="NaN"):
            clahe(np.full((16, 16), np.nan, np.float32))
