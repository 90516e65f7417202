"""Pansharpening indices: closed forms, invariants, and sewar / torchmetrics where they agree."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from fusionlib.metrics import METRICS
from fusionlib.metrics import pansharpening as ps
from fusionlib.filters import imresize_bicubic
from tolerances import F64, F64_NP


def _pair(rng, c=4, h=64, w=64, scale=255.0):
    ref = rng.uniform(0.1, 1.0, (c, h, w)) * scale
    fused = np.clip(ref + rng.normal(0, 0.05 * scale, ref.shape), 0, None)
    return fused, ref


def _pair32(rng, b=2, c=4, h=600, w=520):
    """float32 [0, 1] pair whose planes (312000 px) exceed one chunk (2**18 values) and whose pixel
    count is not a multiple of SAM's chunk; the float64 copy holds the same values for the peers."""
    ref = rng.uniform(0.05, 0.95, (b, c, h, w)).astype(np.float32)
    fused = np.clip(ref + rng.normal(0, 0.02, ref.shape), 0, 1).astype(np.float32)
    return fused, ref, fused.astype(np.float64), ref.astype(np.float64)


REF_METRICS = ["ergas", "sam", "rmse", "rase", "cc", "uiqi", "scc"]


class TestRegistry:
    def test_registered(self):
        for name in REF_METRICS + ["q2n", "d_lambda", "d_s", "qnr", "hqnr"]:
            info = METRICS[name]
            assert info.kind == "pansharpening"
            assert info.presets == ("default", "vivone", "iaoa")


class TestErgas:
    def test_known_value(self):
        """Hand computation: bands of mean 0.5, band 0 offset by 0.1 -> 25*sqrt(0.04/0.25/2)."""
        r = np.full((2, 4, 4), 0.5)
        f = r.copy()
        f[0] += 0.1
        assert ps.ergas(f, r) == pytest.approx(25 * np.sqrt((0.01 / 0.25) / 2), rel=1e-12)

    def test_reference(self, rng):
        sewar = pytest.importorskip("sewar.full_ref")
        tmf = pytest.importorskip("torchmetrics.functional.image")
        f, r = _pair(rng)
        ours = ps.ergas(f, r, preset="iaoa")
        # sewar uses the 100*r form with r = 1/4: the same value
        assert ours == pytest.approx(sewar.ergas(r.transpose(1, 2, 0), f.transpose(1, 2, 0), r=0.25), **F64)
        tm = tmf.error_relative_global_dimensionless_synthesis(torch.tensor(f)[None], torch.tensor(r)[None],
                                                               ratio=4)
        assert ours == pytest.approx(float(tm), rel=1e-8)

    def test_invariants(self, rng):
        f, r = _pair(rng)
        assert ps.ergas(r, r, preset="iaoa") == 0.0
        # scale invariance and batch = loop
        assert ps.ergas(f / 255, r / 255) == pytest.approx(ps.ergas(f, r, preset="iaoa"), rel=1e-12)
        fb, rb = np.stack([f, r]), np.stack([r, r])
        out = ps.ergas(fb, rb, preset="iaoa")
        assert out.shape == (2,) and out[1] == 0.0
        t = ps.ergas(torch.tensor(fb), torch.tensor(rb), preset="iaoa")
        assert isinstance(t, torch.Tensor) and np.allclose(t.numpy(), out)

    def test_exception(self, rng):
        f, r = _pair(rng)
        with pytest.raises(ValueError, match="same shape"):
            ps.ergas(f[:3], r)
        with pytest.raises(ValueError, match=r"values must lie in \[0, 1\]"):
            ps.ergas(f, r)  # 0..255 data under the [0, 1] default
        bad = f.copy()
        bad[0, 0, 0] = np.nan
        with pytest.raises(ValueError, match="NaN"):
            ps.ergas(bad, r, preset="iaoa")
        with pytest.raises(ValueError, match="preset"):
            ps.ergas(f, r, preset="vifb")
        with pytest.raises(ValueError, match="ratio"):
            ps.ergas(f, r, ratio=0, preset="iaoa")


    def test_float32_chunked(self, rng):
        """float32 data (float32 differences, float64 sums over plane pieces) equal sewar on the same
        values in float64 and our own float64 path."""
        sewar = pytest.importorskip("sewar.full_ref")
        f, r, f64, r64 = _pair32(rng)
        ours = ps.ergas(f, r)
        assert ours.dtype == np.float64 and ours.shape == (2,)
        for i in range(2):
            theirs = sewar.ergas(r64[i].transpose(1, 2, 0), f64[i].transpose(1, 2, 0), r=0.25)
            assert ours[i] == pytest.approx(theirs, rel=1e-6)
        np.testing.assert_allclose(ours, ps.ergas(f64, r64), rtol=1e-6)

    def test_fused_range(self, rng):
        """The fused image may overshoot into [-1, 2] (data_range 1); beyond, or NaN/Inf, is refused
        with the fused-first message order; -0.0 (outside the one-pass test) is accepted."""
        f, r, f64, r64 = _pair32(rng, b=1, h=16, w=16)
        over = f.copy()
        over[0, 0, :2, :2] = [[-0.9, 1.9], [-0.0, 2.0]]
        want = ps.ergas(over.astype(np.float64), r64)
        assert ps.ergas(over, r) == pytest.approx(want, rel=1e-6)
        bad = over.copy()
        bad[0, 1, 3, 3] = 2.5
        with pytest.raises(ValueError, match=r"ergas: `fused` values must lie in \[-1, 2\]; got \[-0.9, 2.5\]"):
            ps.ergas(bad, r)
        bad[0, 1, 3, 3] = np.inf
        with pytest.raises(ValueError, match=r"`fused` contains 0 NaN and 1 Inf"):
            ps.ergas(bad, r * 255)  # fused NaN/Inf is reported before the reference's range
        rbad = r.copy()
        rbad[0, 2, 0, 0] = -0.0
        assert ps.ergas(f, rbad) == pytest.approx(ps.ergas(f64, rbad.astype(np.float64)), rel=1e-6)
        rbad[0, 2, 0, 0] = np.nan
        with pytest.raises(ValueError, match=r"`reference` contains 1 NaN and 0 Inf"):
            ps.ergas(f, rbad)
        rbad[0, 2, 0, 0] = 1.5
        with pytest.raises(ValueError, match=r"`reference` values must lie in \[0, 1\]"):
            ps.ergas(f, rbad)

class TestSam:
    def test_known_value(self):
        r = np.zeros((2, 1, 1))
        r[0] = 1.0
        f = np.full((2, 1, 1), 0.5)
        assert ps.sam(f, r) == pytest.approx(45.0)

    def test_reference(self, rng):
        sewar = pytest.importorskip("sewar.full_ref")
        f, r = _pair(rng)
        r[:, 0, 0] = 0.0  # a zero-norm pixel is excluded by both
        ours = ps.sam(f, r, preset="iaoa")
        theirs = np.degrees(sewar.sam(r.transpose(1, 2, 0), f.transpose(1, 2, 0)))  # sewar: radians
        assert ours == pytest.approx(theirs, **F64)
        tmf = pytest.importorskip("torchmetrics.functional.image")
        f2, r2 = _pair(rng)
        tm = tmf.spectral_angle_mapper(torch.tensor(f2)[None], torch.tensor(r2)[None])  # radians
        assert ps.sam(f2, r2, preset="iaoa") == pytest.approx(float(torch.rad2deg(tm)), rel=1e-6)

    def test_invariants(self, rng):
        f, r = _pair(rng)
        assert ps.sam(r, r, preset="iaoa") == pytest.approx(0.0, abs=1e-5)
        assert ps.sam(0.5 * r, r, preset="iaoa") == pytest.approx(0.0, abs=1e-5)  # angle ignores scale


    def test_float32_chunked(self, rng):
        """float32 data (per-pixel sums in float32, cosine and arccos in float64) equal sewar on the
        same values in float64; identical spectra give exactly 0, zero-norm pixels are excluded."""
        sewar = pytest.importorskip("sewar.full_ref")
        f, r, f64, r64 = _pair32(rng)
        r[0, :, 5, 7] = 0.0
        r64[0, :, 5, 7] = 0.0
        ours = ps.sam(f, r)
        for i in range(2):
            theirs = np.degrees(sewar.sam(r64[i].transpose(1, 2, 0), f64[i].transpose(1, 2, 0)))
            assert ours[i] == pytest.approx(theirs, rel=1e-6)
        assert ps.sam(r, r).tolist() == [0.0, 0.0]
        assert float(ps.sam(torch.zeros(1, 4, 3, 3), torch.zeros(1, 4, 3, 3))) == 0.0  # identical, no valid pixel (#21: was NaN)

class TestRmseRase:
    def test_known_value(self):
        f, r = np.full((1, 2, 2), 0.3), np.full((1, 2, 2), 0.5)
        assert ps.rmse(f, r) == pytest.approx(0.2)
        assert ps.rase(f, r) == pytest.approx(40.0)

    def test_reference_rase_differs_from_windowed(self, rng):
        """sewar's RASE is windowed (8x8): a different number from the global form (documented)."""
        sewar = pytest.importorskip("sewar.full_ref")
        f, r = _pair(rng)
        ours = ps.rase(f, r, preset="iaoa")
        mse = ((f - r) ** 2).mean(axis=(1, 2))
        assert ours == pytest.approx(100 / r.mean() * np.sqrt(mse.mean()), **F64)
        assert abs(sewar.rase(r.transpose(1, 2, 0), f.transpose(1, 2, 0)) - ours) > 1e-3 * ours

    def test_reference_rmse(self, rng):
        sewar = pytest.importorskip("sewar.full_ref")
        f, r = _pair(rng)
        assert ps.rmse(f, r, preset="iaoa") == pytest.approx(sewar.rmse(r, f), **F64)


    def test_float32_chunked(self, rng):
        sewar = pytest.importorskip("sewar.full_ref")
        f, r, f64, r64 = _pair32(rng)
        ours = ps.rmse(f, r)
        for i in range(2):
            assert ours[i] == pytest.approx(sewar.rmse(r64[i], f64[i]), rel=1e-6)
        np.testing.assert_allclose(ps.rase(f, r), ps.rase(f64, r64), rtol=1e-6)
        t = ps.rmse(torch.from_numpy(f), torch.from_numpy(r))
        assert isinstance(t, torch.Tensor) and np.allclose(t.numpy(), ours, **F64_NP)

class TestCc:
    def test_known_value(self, rng):
        f, r = _pair(rng)
        per = [np.corrcoef(f[k].ravel(), r[k].ravel())[0, 1] for k in range(4)]
        assert ps.cc(f, r, preset="iaoa") == pytest.approx(np.mean(per[:3]), **F64)
        assert ps.cc(f, r, preset="default", data_range=255) == pytest.approx(np.mean(per), **F64)

    def test_invariants(self, rng):
        f, r = _pair(rng)
        assert ps.cc(0.5 * r + 1, r, preset="iaoa") == pytest.approx(1.0)


class TestUiqi:
    def test_known_value_global(self, rng):
        f, r = _pair(rng)
        x, y = r.ravel(), f.ravel()
        q = 4 * np.cov(x, y)[0, 1] * x.mean() * y.mean() / ((x.var(ddof=1) + y.var(ddof=1)) * (x.mean() ** 2 + y.mean() ** 2))
        assert ps.uiqi(f, r, preset="iaoa") == pytest.approx(q, **F64)

    def test_sliding_matches_loop(self, rng):
        f, r = _pair(rng, c=1, h=40, w=40)
        s = 32
        vals = []
        for i in range(40 - s + 1):
            for j in range(40 - s + 1):
                a, b = r[0, i:i + s, j:j + s].ravel(), f[0, i:i + s, j:j + s].ravel()
                cv = ((a - a.mean()) * (b - b.mean())).mean()
                vals.append(4 * cv * a.mean() * b.mean() / ((a.var() + b.var()) * (a.mean() ** 2 + b.mean() ** 2)))
        assert ps.uiqi(f, r, preset="vivone") == pytest.approx(np.mean(vals), **F64)

    def test_invariants(self, rng):
        f, r = _pair(rng)
        assert ps.uiqi(r, r, preset="vivone") == pytest.approx(1.0)
        assert ps.uiqi(r, r, preset="iaoa") == pytest.approx(1.0)
        const = np.full((1, 32, 32), 100.0)
        assert ps.uiqi(const, const, preset="iaoa") == pytest.approx(1.0)  # all vanish -> 1

    def test_exception(self, rng):
        f, r = _pair(rng, h=16, w=16)
        with pytest.raises(ValueError, match="block_size"):
            ps.uiqi(f, r, preset="vivone")


class TestQ2n:
    def test_reference(self, rng):
        """Without the uint16 cast our Q2n equals sewar's q2n (same block and hypercomplex convention)."""
        sewar = pytest.importorskip("sewar.full_ref")
        f, r = _pair(rng)
        ours = ps.q2n(f, r, preset="default", data_range=255)
        assert ours == pytest.approx(sewar.q2n(r.transpose(1, 2, 0), f.transpose(1, 2, 0)), **F64)

    def test_invariants(self, rng):
        f, r = _pair(rng)
        assert ps.q2n(r, r) == pytest.approx(1.0)
        # vivone casts to uint16: the index of float DN equals that of the rounded DN
        assert ps.q2n(f, r) == pytest.approx(ps.q2n(np.floor(f + 0.5), np.floor(r + 0.5)), rel=1e-12)
        assert 0 < ps.q2n(f, r) < 1

    def test_one_band_is_q_on_blocks(self, rng):
        """For one band the hypercomplex index reduces to |Q| on blocks of the standardised pair
        (reference band -> (x - mu)/sigma + 1, the same mu, sigma applied to the fused band)."""
        f, r = _pair(rng, c=1)
        x, y = r[0], f[0]
        vals = []
        for i in range(0, 64, 32):
            for j in range(0, 64, 32):
                a, b = x[i:i + 32, j:j + 32].ravel(), y[i:i + 32, j:j + 32].ravel()
                mu, sd = a.mean(), a.std(ddof=1)
                a, b = (a - mu) / sd + 1, (b - mu) / sd + 1
                cv = np.cov(a, b)[0, 1]
                vals.append(abs(4 * cv * a.mean() * b.mean() / ((a.var(ddof=1) + b.var(ddof=1)) * (a.mean() ** 2 + b.mean() ** 2))))
        assert ps.q2n(f, r, preset="default", data_range=255) == pytest.approx(np.mean(vals), **F64)

    def test_exception(self, rng):
        f, r = _pair(rng, scale=1.0)
        with pytest.raises(ValueError, match="digital numbers"):
            ps.q2n(f, r, preset="vivone", data_range=1.0)
        with pytest.raises(ValueError, match="digital numbers"):
            ps.q2n(f, r, preset="iaoa", data_range=1.0)
        with pytest.raises(ValueError, match="preset"):
            ps.q2n(f, r, preset="vifb")


class TestScc:
    def test_invariants(self, rng):
        f, r = _pair(rng)
        assert ps.scc(r, r, data_range=255) == pytest.approx(1.0)
        assert ps.scc(2 * r, r, data_range=255 * 2) == pytest.approx(1.0)
        assert ps.scc(f, r, data_range=255) < 1.0


class TestFullResolution:
    def _fr(self, rng):
        gt = rng.uniform(20, 200, (4, 64, 64))
        gt = imresize_bicubic(torch.tensor(gt)[None], 1.0).numpy()[0]
        pan = gt.mean(0, keepdims=True)
        ms_lr = imresize_bicubic(torch.tensor(gt)[None], 0.25).numpy()[0]
        return gt, ms_lr, pan

    def test_smoke_and_ranges(self, rng):
        gt, ms_lr, pan = self._fr(rng)
        kw = dict(preset="vivone")
        dl = ps.d_lambda(gt, ms_lr, **kw)
        ds = ps.d_s(gt, ms_lr, pan, **kw)
        q = ps.qnr(gt, ms_lr, pan, **kw)
        assert 0 <= dl <= 1 and 0 <= ds <= 1
        assert q == pytest.approx((1 - dl) * (1 - ds), rel=1e-12)
        h = ps.hqnr(gt, ms_lr, pan, **kw)
        assert 0 <= h <= 1

    def test_d_lambda_zero_for_upsampled_ms(self, rng):
        from fusionlib.filters import interp23tap
        gt, ms_lr, pan = self._fr(rng)
        up = interp23tap(torch.tensor(ms_lr)[None], 4).numpy()[0]
        assert ps.d_lambda(up, ms_lr, preset="vivone") == pytest.approx(0.0, abs=1e-12)

    def test_exception(self, rng):
        gt, ms_lr, pan = self._fr(rng)
        with pytest.raises(ValueError, match="ms"):
            ps.d_lambda(gt, ms_lr[:, :10, :10], preset="vivone")
        with pytest.raises(ValueError, match="pan"):
            ps.d_s(gt, ms_lr, pan[:, :32], preset="vivone")


class TestIaoaScores:
    def test_matches_public(self, rng):
        f, r = _pair(rng)
        s = ps.iaoa_scores(torch.tensor(f)[None], torch.tensor(r)[None])
        assert float(s["ERGAS"]) == pytest.approx(ps.ergas(f, r, preset="iaoa"))
        assert float(s["CC"]) == pytest.approx(ps.cc(f, r, preset="iaoa"))
        assert float(s["UIQI"]) == pytest.approx(ps.uiqi(f, r, preset="iaoa"))
        assert float(s["SAM"]) == pytest.approx(ps.sam(f, r, preset="iaoa"))
        assert float(s["RASE"]) == pytest.approx(ps.rase(f, r, preset="iaoa"))


class TestLibraryDisagreements:
    """Where libraries compute a quantity of the same name differently, the cause is pinned down."""

    def test_uqi_windows(self, rng):
        """torchmetrics UQI uses an 11x11 Gaussian window (sigma 1.5), sewar 8x8 boxes; ours (Q_avg) 32x32
        boxes. All agree on identical inputs (1), not otherwise."""
        tmf = pytest.importorskip("torchmetrics.functional.image")
        sewar = pytest.importorskip("sewar.full_ref")
        f, r = _pair(rng)
        ft, rt = torch.tensor(f / 255)[None], torch.tensor(r / 255)[None]
        assert float(tmf.universal_image_quality_index(rt, rt)) == pytest.approx(1.0, abs=1e-6)
        ours = ps.uiqi(f, r, preset="vivone")
        tm = float(tmf.universal_image_quality_index(ft, rt))
        sw = sewar.uqi(r.transpose(1, 2, 0), f.transpose(1, 2, 0))
        assert abs(ours - tm) > 1e-4 and abs(ours - sw) > 1e-4

    def test_scc_variants(self, rng):
        """sewar's SCC correlates Laplacian high-pass images in 8x8 windows; the toolbox's is the cosine
        of Sobel magnitudes. Both give 1 for identical inputs and differ otherwise."""
        sewar = pytest.importorskip("sewar.full_ref")
        f, r = _pair(rng)
        assert sewar.scc(r.transpose(1, 2, 0), r.transpose(1, 2, 0)) == pytest.approx(1.0, abs=1e-6)
        assert abs(ps.scc(f, r, data_range=255) - sewar.scc(r.transpose(1, 2, 0), f.transpose(1, 2, 0))) > 1e-3


def _message(fn, *args, **kw):
    """The ValueError message of fn(*args, **kw) (None when it does not raise)."""
    try:
        fn(*args, **kw)
    except ValueError as e:
        return str(e)
    return None


def _exact_message(where, f, r, preset="default"):
    """The message of the exact checks alone (the validation path before the one-sweep kernels)."""
    return _message(ps._prep_pair, where, f, r, preset, None, native=True)


# shapes around the piece size (SWEEP = 65536 values of float32): several pieces and a tail of 1
# value (1 x 65537), exactly one piece (256 x 256), pieces plus an uneven tail (300 x 250), groups of
# whole planes (planes smaller than a piece, count not a multiple of the group), tiny and 1x1 planes
SWEEP_SHAPES = [(1, 2, 1, 65537), (2, 3, 256, 256), (1, 4, 300, 250), (5, 3, 100, 100), (2, 4, 3, 5),
                (3, 2, 1, 1)]


@pytest.mark.usefixtures("cpu_path")
class TestSweep:
    """The one-sweep path of ERGAS/RMSE/RASE (``_prep_sums``/``_sweep``), compiled (numba) and NumPy/BLAS:
    same sums as an independent float64 computation, the same errors in the same order as the exact
    checks, and the fallbacks."""

    @pytest.mark.parametrize("shape", SWEEP_SHAPES)
    @pytest.mark.parametrize("dtype", [np.float32, np.float64])
    def test_sums_match_float64(self, rng, shape, dtype):
        ref = rng.uniform(0.05, 0.95, shape).astype(dtype)
        fused = np.clip(ref + rng.normal(0, 0.02, shape), 0, 1).astype(dtype)
        got = ps._sweep(torch.from_numpy(fused), torch.from_numpy(ref), 1.0, True)
        assert got is not None and got[0] is True
        f64, r64 = fused.astype(np.float64), ref.astype(np.float64)
        sq_want = ((f64 - r64) ** 2).sum(axis=(2, 3))
        s_want = r64.sum(axis=(2, 3))
        tol = 1e-6 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(got[1].numpy(), sq_want, rtol=tol)
        np.testing.assert_allclose(got[2].numpy(), s_want, rtol=tol)
        assert ps._sweep(torch.from_numpy(fused), torch.from_numpy(ref), 1.0, False)[2] is None
        # the public values: the formulas on the float64 sums, and the previous kernels
        n = shape[2] * shape[3]
        mse, mu = sq_want / n, s_want / n
        np.testing.assert_allclose(ps.ergas(fused, ref), 25 * np.sqrt((mse / mu ** 2).mean(axis=1)), rtol=tol)
        np.testing.assert_allclose(ps.rmse(fused, ref), np.sqrt(mse.mean(axis=1)), rtol=tol)
        np.testing.assert_allclose(ps.rase(fused, ref), 100 / mu.mean(axis=1) * np.sqrt(mse.mean(axis=1)),
                                   rtol=tol)
        ft, rt = torch.from_numpy(fused), torch.from_numpy(ref)
        np.testing.assert_allclose(ps.ergas(fused, ref), ps.ergas_kernel(ft, rt).numpy(), rtol=tol)
        np.testing.assert_allclose(ps.rmse(fused, ref), ps.rmse_kernel(ft, rt).numpy(), rtol=tol)
        np.testing.assert_allclose(ps.rase(fused, ref), ps.rase_kernel(ft, rt).numpy(), rtol=tol)

    def test_torchmetrics(self, rng):
        """ERGAS of the sweep equals torchmetrics on the same float32 data, image by image."""
        tmf = pytest.importorskip("torchmetrics.functional.image")
        f, r, _, _ = _pair32(rng, b=2, c=3, h=260, w=256)
        ours = ps.ergas(f, r)
        for i in range(2):
            tm = tmf.error_relative_global_dimensionless_synthesis(torch.from_numpy(f[i:i + 1]),
                                                                   torch.from_numpy(r[i:i + 1]), ratio=4)
            assert ours[i] == pytest.approx(float(tm), rel=1e-6)

    @pytest.mark.parametrize("shape", [(1, 2, 260, 256), (3, 2, 4, 5)])
    @pytest.mark.parametrize("dtype", [np.float32, np.float64])
    def test_bad_inputs_same_messages(self, rng, shape, dtype):
        """Every refused input raises the message of the exact checks, in their order (fused NaN/Inf,
        reference NaN/Inf, reference range, fused range), wherever the bad value lies (first, middle,
        last piece or the tail)."""
        ref = rng.uniform(0.05, 0.95, shape).astype(dtype)
        fused = np.clip(ref + rng.normal(0, 0.02, shape), 0, 1).astype(dtype)
        b, c, h, w = shape
        spots = [(0, 0, 0, 0), (b - 1, c - 1, h - 1, w - 1), (b // 2, c // 2, h // 2, w // 2)]
        cases = [  # (fused edits, reference edits)
            ([np.nan], []), ([np.inf], []), ([-np.inf], []), ([], [np.nan]), ([], [np.inf]),
            ([], [1.5]), ([], [-0.25]), ([2.5], []), ([-1.5], []), ([300.0], []),
            ([np.nan], [1.5]), ([2.5], [np.nan]), ([2.5], [1.5]), ([np.inf], [np.nan]),
        ]
        n_checked = 0
        for spot in spots:
            for fe, re in cases:
                f, r = fused.copy(), ref.copy()
                for v in fe:
                    f[spot] = v
                for v in re:
                    r[spot] = v
                want = _exact_message("ergas", f, r)
                assert want is not None
                for name in ("ergas", "rmse", "rase"):
                    got = _message(getattr(ps, name), f, r)
                    assert got == want.replace("ergas:", f"{name}:"), (name, spot, fe, re)
                    n_checked += 1
        assert n_checked == len(spots) * len(cases) * 3
        # 0..255 data under the [0, 1] default: the reference range with its hint
        assert "looks like 0-255 data" in _message(ps.ergas, fused * 255, ref * 255)
        assert _message(ps.ergas, fused * 255, ref * 255) == _exact_message("ergas", fused * 255, ref * 255)

    @pytest.mark.parametrize("dtype", [np.float32, np.float64])
    def test_accepted_after_exact_checks(self, rng, dtype):
        """Inputs outside the sweep's one-pass test but accepted by the exact checks (-0.0, a fused
        image overshooting into [-1, 2], a reference within the 1e-6 tolerance) give the value of
        the general path."""
        shape = (1, 3, 300, 250)
        ref = rng.uniform(0.05, 0.95, shape).astype(dtype)
        fused = np.clip(ref + rng.normal(0, 0.02, shape), 0, 1).astype(dtype)
        edits = [(("f", (0, 1, 7, 9), -0.0),), (("r", (0, 2, 299, 249), -0.0),),
                 (("f", (0, 0, 0, 0), 1.9), ("f", (0, 2, 150, 3), -0.9)), (("r", (0, 1, 5, 5), 1 + 5e-7),)]
        for ed in edits:
            f, r = fused.copy(), ref.copy()
            for which, spot, v in ed:
                (f if which == "f" else r)[spot] = v
            assert ps._sweep(torch.from_numpy(f), torch.from_numpy(r), 1.0, True)[0] is False or \
                ed[0][2] == 1 + 5e-7  # the tolerance test may pass in the sweep itself
            ft, rt = torch.from_numpy(f), torch.from_numpy(r)
            for name in ("ergas", "rmse", "rase"):
                want = getattr(ps, f"{name}_kernel")(ft, rt).numpy()
                np.testing.assert_allclose(getattr(ps, name)(f, r), want,
                                           rtol=1e-6 if dtype == np.float32 else 1e-12)

    @pytest.mark.parametrize("dtype", [np.float32, np.float64])
    def test_tolerated_negative_reference(self, rng, dtype):
        """A reference band at -5e-7 (inside the 1e-6 tolerance) is accepted and summed with its sign
        (the sweep's sums of |r| are replaced)."""
        shape = (1, 2, 300, 250)
        ref = rng.uniform(0.05, 0.95, shape).astype(dtype)
        ref[0, 1] = 0.0
        ref[0, 1, ::2] = -5e-7
        fused = np.clip(ref + rng.normal(0, 0.02, shape), 0, 1).astype(dtype)
        sq, s, n, _ = ps._prep_sums("rase", fused, ref, "default", None, with_sum=True)
        np.testing.assert_allclose(s.numpy(), ref.astype(np.float64).sum(axis=(2, 3)), rtol=1e-6)
        assert float(s[0, 1]) < 0
        r64 = ref.astype(np.float64)
        mse = ((fused.astype(np.float64) - r64) ** 2).mean(axis=(2, 3))
        assert ps.rase(fused, ref) == pytest.approx(100 / r64.mean() * np.sqrt(mse.mean()), rel=1e-6)

    def test_general_path(self, rng):
        """Non-contiguous, mixed-dtype and other-scale inputs take the general path or the sweep and
        agree with each other."""
        f, r, f64, r64 = _pair32(rng, b=2, c=4, h=40, w=30)
        want = ps.ergas(f64, r64)
        ft, rt = torch.from_numpy(f), torch.from_numpy(r)
        ftt, rtt = ft.transpose(2, 3), rt.transpose(2, 3)  # non-contiguous: the general path
        assert ps._sweep(ftt, rtt, 1.0, True) is None
        np.testing.assert_allclose(ps.ergas(ftt, rtt).numpy(), want, rtol=1e-6)
        np.testing.assert_allclose(ps.ergas(ft[:, ::2], rt[:, ::2]).numpy(),
                                   ps.ergas(f64[:, ::2].copy(), r64[:, ::2].copy()), rtol=1e-6)
        assert ps._sweep(ft, torch.from_numpy(r64), 1.0, True) is None  # mixed dtypes: promoted
        np.testing.assert_allclose(ps.ergas(f, r64), want, rtol=1e-6)
        np.testing.assert_allclose(ps.rmse(ftt, rtt).numpy(), ps.rmse(f64, r64), rtol=1e-6)
        bad = ftt.clone()
        bad[0, 0, 0, 0] = float("nan")
        assert _message(ps.ergas, bad, rtt) == _exact_message("ergas", bad, rtt)
        # DN data with the vivone preset (data_range 2048)
        fd, rd = f64 * 2000, r64 * 2000
        assert ps.ergas(fd.astype(np.float32), rd.astype(np.float32), preset="vivone") == \
            pytest.approx(ps.ergas(fd, rd, preset="vivone"), rel=1e-6)
        assert _message(ps.ergas, fd * 2, rd, preset="vivone") == _exact_message("ergas", fd * 2, rd, "vivone")


class TestDegenerateInputs:
    """Constant and all-zero inputs give the documented value or a clear error, never NaN (#21)."""

    @staticmethod
    def _const(v, c=4, n=16):
        return np.full((c, n, n), v, np.float64)

    def test_cc_scc_constant(self):
        a, b = self._const(0.5), self._const(0.25)  # exact in binary: Sobel gives exact zeros
        for fn in (ps.cc, ps.scc):
            assert fn(a, a) == 1.0 and fn(b, b) == 1.0   # identical constant images
        assert ps.cc(a, b) == 0.0                         # constant, different
        assert ps.scc(a, b) == 1.0                        # both have no gradient at all
        rng = np.random.default_rng(0)
        t = rng.random((4, 16, 16))
        assert ps.cc(a, t) == 0.0 and ps.scc(a, t) == 0.0  # one constant: no correlation shown
        mixed = t.copy()
        mixed[1] = 0.5                                    # one constant band among textured ones
        want = np.mean([np.corrcoef(t[k].ravel(), mixed[k].ravel())[0, 1] if k != 1 else 0.0
                        for k in range(4)])
        assert ps.cc(t, mixed) == pytest.approx(want, abs=1e-12)

    def test_relative_errors_on_zeros(self):
        z, one = self._const(0.0), self._const(0.1)
        for fn in (ps.ergas, ps.rase):
            assert fn(z, z) == 0.0
            assert fn(one, z) == float("inf")
        assert ps.sam(z, z) == 0.0
        with pytest.raises(ValueError, match="sam: image 0 has no pixel where both spectra are nonzero"):
            ps.sam(one, z)

    def test_batch_mixes(self):
        z, t = self._const(0.0), np.random.default_rng(1).random((4, 16, 16)) * 0.5 + 0.25
        f, r = np.stack([z, t]), np.stack([z, t * 0.9])
        for fn in (ps.ergas, ps.rase, ps.sam, ps.cc, ps.scc):
            out = fn(f, r)
            assert np.isfinite(out).all()
            assert out[1] == pytest.approx(fn(t, t * 0.9), rel=1e-12)  # the valid item is unchanged

    def test_kernels_keep_matlab_behaviour(self):
        """The private kernels (IAOA's released tables) are unchanged: NaN as corr2 gives it."""
        a = torch.full((1, 4, 8, 8), 0.5, dtype=torch.float64)
        assert torch.isnan(ps.cc_kernel(a, a)).all()


@pytest.mark.parametrize("name", sorted(METRICS))
@pytest.mark.parametrize("value", [0.0, 128 / 255, 1.0])
def test_every_metric_constant_never_nan(name, value):
    """Every registered metric on constant images: a number (inf only where documented) or a
    ValueError, never NaN."""
    info = METRICS[name]
    n = 64
    img = lambda c: np.full((c, n, n), value, np.float32)  # noqa: E731
    try:
        if info.inputs == "reference":
            out = info.fn(img(4), img(4))
        elif info.inputs == "ms_pan":
            out = info.fn(img(4), img(4)[:, ::4, ::4], img(1))
        elif info.inputs == "none":
            out = info.fn(img(1)[0])
        else:
            out = info.fn(img(1)[0], [img(1)[0], img(1)[0]])
    except ValueError:
        return
    assert not np.isnan(np.asarray(out, np.float64)).any(), (name, out)
