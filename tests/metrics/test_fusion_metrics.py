"""Shared invariants of every registered fusion metric (parametrised over the registry)."""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from scipy import ndimage as ndi

import fusionlib.metrics as M
from tolerances import F32, F32_NP

FUSION = [k for k, v in M.METRICS.items() if v.kind == "fusion"]
# metrics with a source-symmetric definition (A and B enter the same way)
SYMMETRIC = {"cross_entropy", "mutual_information", "nmi", "q_ncie", "tsallis_entropy", "qabf", "nabf",
             "psnr", "fusion_rmse", "ssim", "q_y", "qcb", "qcv", "vif", "q_c"}


def _img(seed: int, size: int = 64, sigma: float = 2.0) -> np.ndarray:
    """A smooth random texture quantised to 8 bits, in [0, 1] (float32)."""
    r = np.random.default_rng(seed).random((size, size))
    r = ndi.gaussian_filter(r, sigma)
    r = (r - r.min()) / (r.max() - r.min())
    return (np.round(r * 255) / 255).astype(np.float32)


def _q(x):
    return (np.round(x * 255) / 255).astype(np.float32)


def _call(name, fused, sources, **kw):
    info = M.METRICS[name]
    if info.inputs == "none":
        return info.fn(fused, **kw)
    return info.fn(fused, sources, **kw)


def _size(name):
    return 200 if name == "niqe" else 64


@pytest.fixture(scope="module")
def pair():
    return _img(1), _img(2, sigma=3.0)


@pytest.mark.parametrize("name", FUSION)
class TestRegistry:
    def test_metadata(self, name):
        info = M.METRICS[name]
        assert info.fn.__name__ == name
        assert info.inputs in ("sources", "none", "reference")
        assert info.range[0] <= info.range[1]
        assert "default" in info.presets
        assert info.references, f"{name} cites nothing"
        assert info.fn.__doc__ and "Returns" in info.fn.__doc__

    def test_smoke_and_range(self, name, pair):
        n = _size(name)
        a, b = (_img(1, n), _img(2, n, 3.0)) if n != 64 else pair
        v = _call(name, _q((a + b) / 2), [a, b])
        assert isinstance(v, float) and np.isfinite(v)
        lo, hi = M.METRICS[name].range
        assert lo - 1e-9 <= v <= hi + 1e-9

    def test_batch_equals_loop(self, name):
        n = _size(name)
        fs = np.stack([_img(s, n)[None] for s in (3, 4)])
        srcs = [np.stack([_img(s, n)[None] for s in (5, 6)]), np.stack([_img(s, n)[None] for s in (7, 8)])]
        batch = _call(name, fs, srcs)
        assert isinstance(batch, np.ndarray) and batch.shape == (2,)
        for i in range(2):
            single = _call(name, fs[i], [srcs[0][i], srcs[1][i]])
            np.testing.assert_allclose(batch[i], single, **F32_NP)  # batch size may pick another kernel

    def test_numpy_equals_torch(self, name, pair):
        if name == "niqe":
            pytest.skip("covered in test_niqe (needs 192 px)")
        a, b = pair
        f = _q((a + b) / 2)
        v_np = _call(name, f, [a, b])
        v_t = _call(name, torch.from_numpy(f)[None, None],
                    [torch.from_numpy(a)[None, None], torch.from_numpy(b)[None, None]])
        assert isinstance(v_t, torch.Tensor) and v_t.shape == (1,)
        assert v_np == pytest.approx(float(v_t[0]), **F32)  # the NumPy input may take the numba fast path

    def test_dtype(self, name, pair):
        """float32 in -> float32 kernels; float64 in -> float64; they agree to 1e-4 relative."""
        if name == "niqe":
            pytest.skip("NIQE always runs in float64")
        a, b = pair
        f = _q((a + b) / 2)
        v32 = _call(name, f, [a, b])
        v64 = _call(name, f.astype(np.float64), [a.astype(np.float64), b.astype(np.float64)])
        assert v32 == pytest.approx(v64, rel=1e-4, abs=1e-6)

    def test_constant_images_defined(self, name):
        n = _size(name)
        c = np.full((n, n), 0.5, np.float32)
        c = np.round(c * 255) / 255
        v = _call(name, c, [c, c])
        assert np.isfinite(v) or v == np.inf, f"{name} gave {v} on constant images"

    def test_exception_range(self, name, pair):
        a, b = pair
        with pytest.raises(ValueError, match="0-255"):
            _call(name, (a + b) / 2 * 255, [a * 255, b * 255])

    def test_exception_nan(self, name, pair):
        a, b = pair
        f = ((a + b) / 2).copy()
        f[3, 3] = np.nan
        with pytest.raises(ValueError, match="NaN"):
            _call(name, f, [a, b])

    def test_exception_shape(self, name, pair):
        if M.METRICS[name].inputs == "none":
            pytest.skip("no sources")
        a, b = pair
        with pytest.raises(ValueError, match="same height and width"):
            _call(name, a, [a, b[:40]])

    def test_exception_preset(self, name, pair):
        a, b = pair
        with pytest.raises(ValueError, match="preset"):
            _call(name, a, [a, b], preset="nonsense")


@pytest.mark.parametrize("name", sorted(SYMMETRIC))
def test_symmetric_in_sources(name, pair):
    a, b = pair
    f = np.round(np.maximum(a, b) * 255) / 255
    assert _call(name, f, [a, b]) == pytest.approx(_call(name, f, [b, a]), **F32)  # float32, other sum order


@pytest.mark.parametrize("name", [k for k in FUSION if M.METRICS[k].ideal is not None
                                  and M.METRICS[k].inputs == "sources"])
def test_ideal_for_identical_inputs(name, pair):
    a, _ = pair
    v = _call(name, a, [a, a])
    expected = M.METRICS[name].ideal
    if name == "psnr":
        assert v == np.inf
    else:
        assert v == pytest.approx(expected, abs=1e-6)


class TestKnownValues:
    def test_qabf_identical_is_sigmoid_ceiling(self, pair):
        """F = A = B: Q_g(1) Q_a(1) = 0.9994/(1+e^-7.5) * 0.9879/(1+e^-4.4) (metrics note §6)."""
        a = pair[0].astype(np.float64)
        ceiling = 0.9994 / (1 + np.exp(-7.5)) * 0.9879 / (1 + np.exp(-4.4))
        assert M.qabf(a, [a, a]) == pytest.approx(ceiling, abs=1e-12)
        assert M.qabf(a, [a, a], preset="liu2020") == pytest.approx(ceiling, abs=1e-6)

    def test_entropy_flat_histogram(self):
        x = np.arange(256, dtype=np.uint8).reshape(16, 16)
        assert M.entropy(x) == pytest.approx(8.0)
        assert M.entropy(np.zeros((4, 4), np.uint8)) == 0.0

    def test_mi_of_self_is_entropy(self, pair):
        a, _ = pair
        h = M.entropy(a)
        assert M.mutual_information(a, [a, a]) == pytest.approx(2 * h, rel=1e-12)

    def test_sd_sf_closed_form(self):
        x = np.tile(np.array([0.0, 1.0]), (4, 2))  # vertical stripes 0/255
        assert M.standard_deviation(x) == pytest.approx(127.5)
        # RF^2 = 4 rows * 3 diffs * 255^2 / 16; CF = 0
        assert M.spatial_frequency(x) == pytest.approx(np.sqrt(12 * 255 ** 2 / 16))

    def test_vifb_sf_seams(self):
        x = np.zeros((3, 4, 4))
        x[1] = 1.0  # channels 0/255/0 side by side: two seams of 4 rows
        assert M.spatial_frequency(x, preset="vifb") == pytest.approx(np.sqrt(8 * 255 ** 2 / 48))
        assert M.spatial_frequency(x) == 0.0

    def test_q_ncie_perfect_correlation(self):
        """A = B = F with a flat 256-level histogram: every NCC is 1, eigenvalues (3, 0, 0), Q = 1."""
        x = np.arange(256, dtype=np.uint8).reshape(16, 16)
        assert M.q_ncie(x, [x, x]) == pytest.approx(1.0, abs=1e-9)
        y = (x // 2) * 2  # 128 levels: NCC(x, y) = 7/8
        assert M.q_ncie(x, [x, y]) < 1.0


class TestBadInput:
    def test_unquantised_histogram_refused(self, pair):
        a, b = pair
        f = (a + b) / 2 + 0.3 / 255
        with pytest.raises(ValueError, match="quantize=True"):
            M.entropy(f)
        assert np.isfinite(M.entropy(f, quantize=True))

    def test_too_small_for_window(self):
        x = np.zeros((8, 8), np.float32)
        with pytest.raises(ValueError, match="at least 11x11"):
            M.ssim(x, [x, x])

    def test_band_mismatch(self, pair):
        a, b = pair
        with pytest.raises(ValueError, match="channels"):
            M.ssim(np.stack([a, a]), [np.stack([a, a, a, a]), np.stack([b, b, b, b])])

    def test_type(self, pair):
        with pytest.raises(TypeError, match="numpy.ndarray or torch.Tensor"):
            M.entropy([[0.0, 1.0]])

    def test_unknown_metric(self, pair):
        a, b = pair
        with pytest.raises(KeyError, match="valid keys"):
            M.evaluate(a, [a, b], names=["nope"])

    @pytest.mark.parametrize("name", sorted(M.METRICS))
    @pytest.mark.parametrize("empty", [(0, 1, 64, 64), (2, 0, 64, 64), (2, 1, 0, 64)])
    def test_empty_input(self, name, empty):
        """An empty batch, channel axis or image is refused with its shape, by every metric."""
        info = M.METRICS[name]
        c = 1 if info.kind == "fusion" else 4
        shape = (empty[0], c if empty[1] else 0, *empty[2:])
        z = np.zeros(shape, np.float32)
        with pytest.raises(ValueError, match=re.escape(f"`fused` is empty (shape {shape})")):
            if info.inputs == "none":
                info.fn(z)
            elif info.inputs == "sources":
                info.fn(z, [z, z])
            elif info.inputs == "ms_pan":
                info.fn(z, z, np.zeros((1, 1, 256, 256), np.float32))
            else:
                info.fn(z, z)


class TestEvaluate:
    def test_single_and_batch(self, pair):
        a, b = pair
        out = M.evaluate(a, [a, b], names=["entropy", "ssim", "psnr"])
        assert set(out) == {"entropy", "ssim", "psnr"} and all(isinstance(v, float) for v in out.values())
        fb = np.stack([a[None], b[None]])
        out_b = M.evaluate(fb, [fb, fb[::-1]], names=["ssim"])
        assert out_b["ssim"].shape == (2,)

    def test_vifb_preset_lists_13(self, pair):
        a, b = pair
        out = M.evaluate(a, [a, b], preset="vifb")
        assert list(out) == list(M.VIFB_NAMES.values()) and len(out) == 13

    def test_reference_as_source(self, pair):
        a, b = pair
        out = M.evaluate(a, reference=b, names=["psnr", "ssim"])
        assert out["psnr"] == pytest.approx(M.psnr(a, [b]))


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), gain=st.floats(0.3, 0.9))
def test_property_ssim_psnr_monotone_in_noise(seed, gain):
    """Adding more noise never raises PSNR, and SSIM(X, X) = 1 exactly."""
    rng = np.random.default_rng(seed)
    x = _img(seed % 97, 32)
    n = rng.standard_normal(x.shape).astype(np.float32)
    lo = np.clip(x + 0.02 * gain * n, 0, 1)
    hi = np.clip(x + 0.2 * gain * n, 0, 1)
    assert M.psnr(lo, [x]) >= M.psnr(hi, [x]) - 1e-9
    assert M.ssim(x, [x]) == pytest.approx(1.0, abs=1e-12)
    assert 0.0 <= M.qabf(lo, [x, hi]) <= 1.0


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_property_histogram_invariances(seed):
    """EN is invariant to a permutation of pixels; MI is symmetric under swapping the images' roles."""
    x = _img(seed % 89, 24)
    perm = np.random.default_rng(seed).permutation(x.size)
    y = x.reshape(-1)[perm].reshape(x.shape)
    assert M.entropy(x) == pytest.approx(M.entropy(y), abs=1e-12)
    assert 0.0 <= M.entropy(x) <= 8.0
    z = _img(seed % 89 + 1, 24)
    # MI(z; x) as "fused" z with one source x == MI(x; z)
    assert M.mutual_information(z, [x, x]) == pytest.approx(M.mutual_information(x, [z, z]), rel=1e-10)


def _prep_message(fused, sources, where):
    """The message of prepare_sources' exact checks (the path before the compiled loop)."""
    from fusionlib.metrics._common import prepare_sources
    try:
        prepare_sources(fused, sources, where=where, min_size=1, min_count=1, rescale=False)
    except ValueError as e:
        return str(e)
    return None


@pytest.mark.usefixtures("cpu_path")
class TestSquaredErrorPaths:
    """PSNR and RMSE (default preset) through ``prepare_sq_diff``, compiled and NumPy: the float64
    formulas, the messages of the exact checks, and the general path for other layouts."""

    @staticmethod
    def _want(fused, sources):
        f = np.asarray(fused, np.float64)
        mse = np.stack([((np.asarray(s, np.float64) - f) ** 2).mean(axis=(1, 2, 3)) for s in sources], 1)
        return 10 * np.log10(1.0 / mse.mean(axis=1)), 255 * np.sqrt(mse).mean(axis=1)

    @pytest.mark.parametrize("dtype", [np.float32, np.float64])
    @pytest.mark.parametrize("c", [1, 3])
    def test_values(self, rng, dtype, c):
        a = rng.uniform(0, 1, (3, c, 40, 33)).astype(dtype)
        b = rng.uniform(0, 1, (3, c, 40, 33)).astype(dtype)
        f = np.clip((a + b) / 2 + rng.normal(0, 0.01, a.shape), 0, 1).astype(dtype)
        tol = 1e-6 if dtype == np.float32 else 1e-12
        for srcs in ([a, b], [a]):
            p_want, r_want = self._want(f, srcs)
            np.testing.assert_allclose(M.psnr(f, srcs), p_want, rtol=tol)
            np.testing.assert_allclose(M.fusion_rmse(f, srcs), r_want, rtol=tol)
        # one source for the whole batch (broadcast), a gray source for an RGB fused image (repeated)
        np.testing.assert_allclose(M.psnr(f, [a[:1]]), self._want(f, [np.repeat(a[:1], 3, 0)])[0], rtol=tol)
        g = a[:, :1]
        np.testing.assert_allclose(M.fusion_rmse(f, [g]), self._want(f, [np.repeat(g, c, 1)])[1], rtol=tol)
        # the same value for a torch input and for data in 0..255 declared as such
        np.testing.assert_allclose(M.psnr(torch.from_numpy(f), [torch.from_numpy(a)]).numpy(),
                                   M.psnr(f, [a]), rtol=1e-12)
        np.testing.assert_allclose(M.psnr(f * 255, [a * 255], data_range=255), M.psnr(f, [a]), rtol=tol)

    def test_skimage(self):
        from skimage.metrics import peak_signal_noise_ratio
        x, y = _img(1, 96), _img(2, 96)
        assert M.psnr(x, [y]) == pytest.approx(peak_signal_noise_ratio(y.astype(np.float64), x.astype(np.float64),
                                                                       data_range=1.0), rel=1e-6)

    def test_general_path(self, rng):
        """Non-contiguous, mixed-dtype and integer-backed inputs agree with the contiguous float ones."""
        a = rng.uniform(0, 1, (2, 1, 30, 20)).astype(np.float32)
        f = rng.uniform(0, 1, (2, 1, 30, 20)).astype(np.float32)
        want = M.psnr(f, [a])
        ft, at = torch.from_numpy(f), torch.from_numpy(a)
        np.testing.assert_allclose(M.psnr(ft.transpose(2, 3), [at.transpose(2, 3)]).numpy(), want, rtol=1e-6)
        np.testing.assert_allclose(M.psnr(f, [a.astype(np.float64)]), want, rtol=1e-6)
        q = np.round(a * 255).astype(np.uint8)  # 8-bit data are read as k / 255
        np.testing.assert_allclose(M.psnr(f, [q]), M.psnr(f, [q / 255.0]), rtol=1e-6)

    @pytest.mark.parametrize("name", ["psnr", "fusion_rmse"])
    def test_bad_inputs_same_messages(self, rng, name):
        a = rng.uniform(0, 1, (2, 1, 30, 20)).astype(np.float32)
        f = rng.uniform(0, 1, (2, 1, 30, 20)).astype(np.float32)
        cases = [("f", np.nan), ("f", np.inf), ("s", -np.inf), ("s", 1.5), ("f", -0.5), ("f", 2.0)]
        for which, v in cases:
            for spot in [(0, 0, 0, 0), (1, 0, 29, 19)]:
                ff, aa = f.copy(), a.copy()
                (ff if which == "f" else aa)[spot] = v
                want = _prep_message(ff, [aa, a], name)
                assert want is not None
                with pytest.raises(ValueError) as e:
                    M.METRICS[name].fn(ff, [aa, a])
                assert str(e.value) == want, (which, v, spot)
        with pytest.raises(ValueError, match="0-255"):
            M.psnr(f * 255, [a * 255])

    def test_accepted_by_exact_checks(self, rng):
        """-0.0 and a value within the 1e-6 tolerance fail the one-pass test but are accepted."""
        a = rng.uniform(0, 1, (1, 1, 30, 20)).astype(np.float32)
        f = rng.uniform(0, 1, (1, 1, 30, 20)).astype(np.float32)
        f[0, 0, 3, 4], a[0, 0, 5, 6] = -0.0, 1 + 5e-7
        p_want, r_want = self._want(f, [a])
        assert M.psnr(f, [a]) == pytest.approx(float(p_want[0]), rel=1e-6)
        assert M.fusion_rmse(f, [a]) == pytest.approx(float(r_want[0]), rel=1e-6)


class TestVifPaths:
    """VIF's compiled per-scale pass (numba, float64 statistics) against the torch maps of the same
    moments (``FUSIONLIB_JIT=0``), for float32 and float64 data, gray and colour, one or two sources."""

    @pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-12), (torch.float32, 2e-6)])
    def test_paths_agree(self, monkeypatch, dtype, tol):
        g = torch.Generator().manual_seed(3)
        a = torch.rand(2, 3, 70, 64, generator=g, dtype=dtype)
        b = torch.rand(2, 3, 70, 64, generator=g, dtype=dtype)
        f = ((a + b) / 2 + 0.02 * torch.randn(a.shape, generator=g, dtype=dtype)).clamp(0, 1)
        got = {}
        for mode in ("1", "0"):
            monkeypatch.setenv("FUSIONLIB_JIT", mode)
            got[mode] = [M.vif(f, [a, b]), M.vif(f[:, :1], [a[:, :1]], combine="mean"), M.viff(f, [a, b])]
        for x, y in zip(got["1"], got["0"]):
            np.testing.assert_allclose(x.numpy(), y.numpy(), rtol=tol)

    def test_flat_and_identical(self, cpu_path):
        """The guards (s1, s2 < 1e-10) on flat images, and VIF = 1 per source for F = S."""
        x = _img(5, 64)
        assert M.vif(x, [x], combine="mean") == pytest.approx(1.0, abs=1e-9)  # g = s1 / (s1 + 1e-10)
        flat = np.full((64, 64), 0.5, np.float32)
        assert M.vif(flat, [flat], combine="mean") == 1.0  # zero denominator counts as 1
        assert np.isfinite(M.vif(flat, [x])) and np.isfinite(M.vif(x, [flat]))


@pytest.mark.usefixtures("cpu_path")
class TestStandardDeviationPaths:
    """SD through ``prepare_plane_var``, compiled (two float64 passes) and torch: NumPy's float64 std,
    the messages of the exact check, and the general path for other layouts."""

    @pytest.mark.parametrize("dtype, tol", [(np.float32, 1e-6), (np.float64, 1e-12)])
    def test_values(self, rng, dtype, tol):
        x = rng.random((3, 2, 50, 41)).astype(dtype)
        want = (x.astype(np.float64).std(axis=(2, 3)) * 255).mean(axis=1)
        np.testing.assert_allclose(M.standard_deviation(x), want, rtol=tol)
        np.testing.assert_allclose(M.standard_deviation(x * 255, data_range=255), want, rtol=tol)
        xt = torch.from_numpy(x).transpose(2, 3)  # non-contiguous
        np.testing.assert_allclose(M.standard_deviation(xt).numpy(), want, rtol=tol)
        assert M.standard_deviation(np.full((9, 7), 0.25, dtype)) == 0.0
        assert M.standard_deviation(np.array([[0.0, 1.0]], dtype)) == 127.5

    def test_bad_inputs_same_messages(self, rng):
        from fusionlib.metrics._common import prepare_fused
        x = rng.random((2, 1, 20, 30)).astype(np.float32)
        for v in (np.nan, np.inf, -0.5, 1.5):
            y = x.copy()
            y[1, 0, 19, 29] = v
            with pytest.raises(ValueError) as want:
                prepare_fused(y, where="standard_deviation", min_size=1)
            with pytest.raises(ValueError) as got:
                M.standard_deviation(y)
            assert str(got.value) == str(want.value)
        with pytest.raises(ValueError, match="0-255"):
            M.standard_deviation(x * 255)

    def test_negative_zero_accepted(self, rng):
        x = rng.random((1, 1, 20, 30)).astype(np.float32)
        x[0, 0, 0, 0] = -0.0
        assert M.standard_deviation(x) == pytest.approx(float(x.astype(np.float64).std() * 255), rel=1e-6)


class TestPresetRegistry:
    """Each metric's presets are written once, in its registration; validation and ``evaluate`` read them."""

    @staticmethod
    def _call_any(info, preset):
        z = np.full((1, 4, 64, 64), 0.5, np.float32)
        if info.inputs == "none":
            return info.fn(z[:, :1], preset=preset)
        if info.inputs == "sources":
            return info.fn(z[:, :1], [z[:, :1], z[:, :1]], preset=preset)
        if info.inputs == "ms_pan":
            return info.fn(z, z, z[:, :1], preset=preset)
        return info.fn(z, z, preset=preset)

    @pytest.mark.parametrize("name", sorted(M.METRICS))
    def test_undeclared_presets_refused(self, name):
        info = M.METRICS[name]
        for preset in sorted(set(M.PRESETS) - set(info.presets)):
            with pytest.raises(ValueError, match=re.escape(f"`preset` {preset!r} is not defined for metric "
                                                           f"{name!r}")):
                self._call_any(info, preset)

    def test_check_preset_reads_registry(self):
        from fusionlib.metrics._registry import check_preset
        assert check_preset("fmi", "tang") == "tang"
        with pytest.raises(ValueError, match="supported presets: \\['default', 'mefb', 'tang'\\]"):
            check_preset("fmi", "vifb")
        with pytest.raises(ValueError, match="must be one of"):
            check_preset("fmi", "nonsense")

    def test_evaluate_checks_all_before_computing(self, pair):
        a, b = pair
        with pytest.raises(ValueError, match="evaluate: `preset` 'vifb' is not defined for metric 'fmi'"):
            M.evaluate(a, [a, b], names=["psnr", "fmi"], preset="vifb")

    def test_evaluate_does_not_inspect_per_call(self, pair, monkeypatch):
        import inspect
        a, b = pair
        assert {"preset", "data_range", "quantize"} <= M.METRICS["entropy"].keywords
        assert "quantize" not in M.METRICS["psnr"].keywords

        def boom(*args, **kw):
            raise AssertionError("inspect.signature called")
        monkeypatch.setattr(inspect, "signature", boom)
        out = M.evaluate(a, [a, b], names=["entropy", "psnr"])
        assert out["psnr"] == M.psnr(a, [a, b])

    def test_pansharpening_data_range_defaults(self):
        for name in ("ergas", "q2n", "qnr"):
            info = M.METRICS[name]
            assert dict(info.data_ranges) == M.pansharpening.DATA_RANGE
            assert info.data_range_for("vivone") == 2.0 ** 11
            assert info.data_range_for("iaoa", 3.0) == 3.0
            with pytest.raises(ValueError, match="data_range"):
                info.data_range_for("default", -1.0)
