"""fusionlib.filters against SciPy (border modes) and closed forms."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import ndimage

from fusionlib import filters
from tolerances import F32_NP, F64_LOCAL_NP

F64_LOCAL_T = {"atol": F64_LOCAL_NP["atol"], "rtol": 0.0}   # torch.testing spelling of the named tolerances
F32_T = {"atol": F32_NP["atol"], "rtol": F32_NP["rtol"]}

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


class TestFastPaths:
    """The fast CPU paths of fusionlib.filters (cumulative sums, shifted slices, channels-last moments)
    equal the grouped convolutions up to the rounding of another summation order (F64_LOCAL_NP:
    sums of at most a few hundred terms of size <= 1)."""

    @pytest.mark.parametrize("border", ["replicate", "symmetric", "zeros", "circular", "reflect"])
    def test_box_filter_is_the_cumulative_sum(self, rng, border):
        x = torch.from_numpy(rng.random((2, 3, 37, 29)))
        for r in (1, 3, 15):
            ones = torch.ones(2 * r + 1, dtype=x.dtype)
            conv_mean = filters.sep_filter2d(x, ones / (2 * r + 1), ones / (2 * r + 1), border)
            conv_sum = filters.sep_filter2d(x, ones, ones, border)
            assert torch.equal(filters.box_filter(x, r, border=border), filters.box_mean_border(x, r, border))
            torch.testing.assert_close(filters.box_filter(x, r, border=border), conv_mean, **F64_LOCAL_T)
            torch.testing.assert_close(filters.box_filter(x, r, border=border, normalize=False), conv_sum,
                                       atol=F64_LOCAL_NP["atol"] * (2 * r + 1) ** 2, rtol=0)
        assert filters.box_filter(x, 2, border="valid").shape[-2:] == (33, 25)

    def test_box_sum_zeros_is_he_boxfilter(self, rng):
        """The default ``zeros`` border writes the image straight into the zero buffer: the same buffer,
        hence the same bits, as writing the zero-padded image (the path of the other borders)."""
        from fusionlib.filters._fast import _window_sums
        x = torch.from_numpy(rng.random((1, 2, 20, 23)))
        for r in (0, 2, 9):
            buf = x.new_zeros(1, 2, 20 + 2 * r + 1, 23 + 2 * r + 1)
            buf[..., 1:, 1:] = filters.pad(x, (r, r, r, r), "zeros")
            assert torch.equal(filters.box_sum(x, r), _window_sums(buf, 20, 23, 2 * r + 1, x.dtype))
            torch.testing.assert_close(filters.box_sum(x, r), filters.sep_filter2d(
                x, torch.ones(2 * r + 1, dtype=x.dtype), None, "zeros"), **F64_LOCAL_T)

    def test_sep_correlate_and_laplacian(self, rng):
        x = torch.from_numpy(rng.random((1, 2, 33, 40)))
        for size, border in ((11, "replicate"), (13, "symmetric"), (4, "replicate")):
            k = filters.gaussian_kernel1d(2.0, size)
            torch.testing.assert_close(filters.sep_correlate(x, k, border), filters.sep_filter2d(x, k, k, border),
                                       **F64_LOCAL_T)
        torch.testing.assert_close(filters.laplacian(x), filters.filter2d(x, filters.LAPLACIAN_3x3.double(),
                                                                          "replicate"), **F64_LOCAL_T)

    def test_box_mean_truncated_and_guided(self, rng):
        """box_mean divides by the window's in-image count; the guided filter with a constant guide
        is the box mean of the box mean of p."""
        p = torch.from_numpy(rng.random((1, 1, 20, 20)))
        cnt = filters.box_sum(torch.ones_like(p), 2)
        torch.testing.assert_close(filters.box_mean(p, 2), filters.box_sum(p, 2) / cnt, **F64_LOCAL_T)
        g = filters.guided_filter(p, torch.ones_like(p), 2, 1e-3)
        torch.testing.assert_close(g, filters.box_mean(filters.box_mean(p, 2), 2), **F64_LOCAL_T)

    @pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
    def test_moment_maps(self, rng, dtype):
        x = torch.from_numpy(rng.random((2, 3, 24, 21))).to(dtype)
        y = torch.from_numpy(rng.random((2, 3, 24, 21))).to(dtype)
        k = filters.gaussian_kernel1d(1.5, 11).to(dtype)
        got = filters.moment_maps(x, y, k, "symmetric")
        want = torch.cat([filters.sep_filter2d(t, k, k, "symmetric") for t in (x, y, x * x, y * y, x * y)], 1)
        tol = F32_T if dtype == torch.float32 else F64_LOCAL_T
        torch.testing.assert_close(got, want, **tol)

    def test_no_copies_left(self):
        """One home: the classical and metrics helpers are the filters' functions, not copies."""
        import fusionlib.classical._common as cc
        import fusionlib.metrics._common as mc
        for name in ("box_sum", "box_mean", "box_mean_border", "sep_correlate", "laplacian", "guided_filter",
                     "window_sum_small", "LAPLACIAN_3x3"):
            assert not hasattr(cc, name), name
        assert mc.moment_maps is filters.moment_maps


class TestColourHome:
    """BT.601 luma and MATLAB rgb2gray are written once (fusionlib/filters/_color.py)."""

    def test_luma_is_the_y_of_ycbcr(self, rng):
        x = torch.from_numpy(rng.random((2, 3, 9, 7)))
        assert torch.equal(filters.luma(x), filters.rgb_to_ycbcr(x)[:, :1])
        assert filters.BT601_LUMA == (0.299, 0.587, 0.114)

    def test_synthetic_luma_uses_it(self, rng):
        from fusionlib.data.synthetic import _luma
        x = rng.random((3, 8, 8)).astype(np.float32)
        assert np.array_equal(_luma(x), filters.luma(torch.from_numpy(x)[None])[0].numpy())

    def test_rgb2gray_8bit_equals_the_rounded_rgb_to_gray(self):
        """On 8-bit colours (every 17th red level here; all 2**24 in the slow test) the float64 rounded
        luma on the 0..255 scale equals ``rgb_to_gray(x / 255, rounding=True) * 255`` bit for bit."""
        self._compare(range(0, 256, 17))

    @pytest.mark.slow
    def test_rgb2gray_8bit_all_colours(self):
        self._compare(range(256))

    @staticmethod
    def _compare(reds):
        v = torch.arange(256, dtype=torch.float64)
        g, b = torch.meshgrid(v, v, indexing="ij")
        for r in reds:
            x = torch.stack([torch.full_like(g, r), g, b])[None]
            assert torch.equal(filters.rgb2gray_8bit(x), filters.rgb_to_gray(x / 255.0, rounding=True) * 255.0)

    def test_metrics_matlab_gray_uses_it(self, rng):
        from fusionlib.metrics._common import matlab_gray
        f = torch.from_numpy(rng.integers(0, 256, (1, 3, 6, 5)).astype(np.float32))
        s = torch.from_numpy(rng.integers(0, 256, (1, 2, 3, 6, 5)).astype(np.float32))
        g, gs = matlab_gray(f, s)
        assert torch.equal(g, filters.rgb2gray_8bit(f).float())
        assert torch.equal(gs[:, 1], filters.rgb2gray_8bit(s[:, 1]).float())

    @staticmethod
    def _chapter_03_gray(x):
        """The ``gray`` that book/03_metrics.ipynb defined before it called ``rgb2gray_array`` (45e6d5a)."""
        t = torch.from_numpy(np.asarray(x, dtype=np.float64))[None]
        return filters.rgb_to_gray(t, rounding=True)[0, 0].numpy()

    def test_rgb2gray_array_is_chapter_03_gray(self, rng):
        """Bit for bit the chapter's former ``gray`` (channel dropped) on the images it converts (the
        embedded multi-focus and multi-exposure samples, float32 k / 255) and on random 8-bit images given
        as float32 k / 255 and as float64 k / 255; the same images as uint8 give the float32 result (the
        former ``gray`` took [0, 1] floats only)."""
        from fusionlib import data
        mf, me = data.load("embedded_multifocus")[0], data.load("embedded_multiexposure")[0]
        images = [*mf.sources, *me.sources, me.reference]
        for k in rng.integers(0, 256, (4, 3, 64, 48)):
            images += [k.astype(np.float32) / np.float32(255), k / 255.0]
        for x in images:
            ours = filters.rgb2gray_array(x)
            assert ours.shape == (1, *x.shape[-2:]) and ours.dtype == np.float64
            assert np.array_equal(ours[0], self._chapter_03_gray(x))
            if x.dtype == np.float32:
                u8 = np.round(x * 255).astype(np.uint8)
                assert np.array_equal(filters.rgb2gray_array(u8), ours)

    @pytest.mark.parametrize("kind", ["uint8", "float32", "float64"])
    def test_rgb2gray_array_is_matlab_on_8bit_colours(self, kind):
        """MATLAB's level (``rgb2gray_8bit`` of the integers) for every input dtype; every 17th red level
        here, all 2**24 colours in the slow test. The former chapter formula on float32 input rounds 17
        colours (R, G, B) = (79 + i, 128 + i, 217 + i), i = 0..16, one level up: their float64 luma lies
        just below a half level, and float32's k / 255 pushes it over."""
        self._compare_array(range(0, 256, 17), kind)
        x = np.array([79, 128, 217], dtype=np.float32).reshape(3, 1, 1) / np.float32(255)
        assert float(filters.rgb2gray_array(x)[0, 0, 0]) * 255 == 123.0
        assert float(self._chapter_03_gray(x)[0, 0]) * 255 == 124.0

    @pytest.mark.slow
    @pytest.mark.parametrize("kind", ["uint8", "float32", "float64"])
    def test_rgb2gray_array_all_colours(self, kind):
        self._compare_array(range(256), kind)

    @staticmethod
    def _compare_array(reds, kind):
        v = np.arange(256)
        g, b = np.meshgrid(v, v, indexing="ij")
        for r in reds:
            k = np.stack([np.full_like(g, r), g, b])
            x = {"uint8": k.astype(np.uint8), "float32": k.astype(np.float32) / np.float32(255),
                 "float64": k / 255.0}[kind]
            want = filters.rgb2gray_8bit(torch.from_numpy(k.astype(np.float64))[None])[0].numpy() / 255.0
            assert np.array_equal(filters.rgb2gray_array(x), want)

    def test_rgb2gray_array_types_and_ranks(self, rng):
        k = rng.integers(0, 256, (2, 3, 5, 4))
        x = torch.from_numpy(k / 255.0)
        out = filters.rgb2gray_array(x)
        assert isinstance(out, torch.Tensor) and out.shape == (2, 1, 5, 4) and out.dtype == torch.float64
        assert torch.equal(out[1:], filters.rgb2gray_array(x[1:]))
        assert torch.equal(out[0], filters.rgb2gray_array(x[0]))
        gray = k[0, 0].astype(np.uint8)   # one channel: its own levels
        assert np.array_equal(filters.rgb2gray_array(gray), gray / 255.0)
        assert filters.rgb2gray_array(gray).shape == (5, 4)

    def test_rgb2gray_array_exception(self):
        from fusionlib._checks import ShapeError
        with pytest.raises(ShapeError, match="1 or 3 channels"):
            filters.rgb2gray_array(np.zeros((4, 5, 5), np.float32))
        for bad in (np.full((3, 2, 2), 0.5), np.full((3, 2, 2), 2.0), np.full((3, 2, 2), np.nan)):
            with pytest.raises(ValueError, match="8-bit"):
                filters.rgb2gray_array(bad)
        with pytest.raises(TypeError, match="integer dtype"):
            filters.rgb2gray_array(np.zeros((3, 2, 2), np.int32))

    def test_weights_written_once(self):
        """The luma weights appear as numbers only in filters/_color.py (nets/ and experiments/ hold
        copies owned elsewhere: nets/peers.py, experiments/aenet_data.py, issue #17)."""
        from pathlib import Path
        root = Path(filters.__file__).resolve().parents[1]
        hits = []
        for p in root.rglob("*.py"):
            rel = p.relative_to(root).as_posix()
            if rel == "filters/_color.py" or rel.startswith(("nets/", "experiments/")):
                continue
            code = "\n".join(line.split("#")[0] for line in p.read_text().splitlines()
                             if not line.lstrip().startswith(('"', "'", "``")))
            for w in ("0.298936", "0.299 *", "0.299,", "0.587 *"):
                if w in code:
                    hits.append((rel, w))
        assert not hits, hits

