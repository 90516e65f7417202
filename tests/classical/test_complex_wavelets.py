"""DT-CWT: agreement with the `dtcwt` package (Kingsbury's conventions), perfect
reconstruction, and the fusion rule of Lewis et al. (2007)."""
from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

import fusionlib.classical as C
from fusionlib._checks import ShapeError

dtcwt = pytest.importorskip("dtcwt")
SHAPES = [(64, 48), (37, 29), (50, 66), (17, 16)]
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(autouse=True)
def _quiet_dtcwt():
    """The package logs a warning for odd sizes; silence it."""
    logging.disable(logging.WARNING)
    yield
    logging.disable(logging.NOTSET)


def _pkg():
    return dtcwt.Transform2d(biort="near_sym_b", qshift="qshift_b")


class TestDtcwtFilters:
    def test_reference(self):
        """Filters derived from h0o, g0o, h0a equal the package's tables."""
        ours = C.dtcwt_filters()
        for name, v in zip(["h0o", "g0o", "h1o", "g1o"], dtcwt.coeffs.biort("near_sym_b")):
            np.testing.assert_array_equal(ours[name], v.ravel(), err_msg=name)
        for name, v in zip(["h0a", "h0b", "g0a", "g0b", "h1a", "h1b", "g1a", "g1b"],
                           dtcwt.coeffs.qshift("qshift_b")):
            np.testing.assert_array_equal(ours[name], v.ravel(), err_msg=name)

    def test_exception(self):
        with pytest.raises(ValueError, match="biort"):
            C.dtcwt_filters("antonini")


class TestDtcwtForward:
    @pytest.mark.parametrize("shape", SHAPES)
    @pytest.mark.parametrize("n_levels", [1, 2, 4])
    def test_reference_dtcwt(self, rng, shape, n_levels):
        x = rng.random(shape)
        ref = _pkg().forward(x, nlevels=n_levels)
        lo, hi = C.dtcwt_forward(x, n_levels=n_levels)
        np.testing.assert_allclose(lo, ref.lowpass, atol=1e-10, rtol=0)
        assert len(hi) == n_levels
        for ours, theirs in zip(hi, ref.highpasses):
            assert ours.shape == theirs.shape
            np.testing.assert_allclose(ours, theirs, atol=1e-10, rtol=0)

    def test_shape_batched_torch(self, rng):
        x = torch.rand(2, 3, 40, 36, dtype=torch.float64)
        lo, hi = C.dtcwt_forward(x, n_levels=3)
        # 36 -> 18 columns at level 2, extended to 20 (not a multiple of 4) at level 3
        assert lo.shape == (2, 3, 10, 10) and [tuple(h.shape) for h in hi] == [
            (2, 3, 6, 20, 18), (2, 3, 6, 10, 9), (2, 3, 6, 5, 5)]
        one = C.dtcwt_forward(x[1, 2].numpy(), n_levels=3)
        np.testing.assert_allclose(lo[1, 2].numpy(), one[0], atol=1e-12)
        for h_t, h_n in zip(hi, one[1]):
            np.testing.assert_allclose(h_t[1, 2].movedim(0, -1).numpy(), h_n, atol=1e-12)

    def test_invariants_constant(self):
        """A constant image has (nearly) zero highpasses: the level-1 highpass filters have no
        DC response; the published qshift_b highpass sums to -9.3e-7, hence ~1e-6 at levels >= 2."""
        _, hi = C.dtcwt_forward(np.full((32, 32), 0.7), n_levels=3)
        assert np.abs(hi[0]).max() < 1e-12
        assert max(np.abs(h).max() for h in hi[1:]) < 1e-5

    def test_exception(self, rng):
        with pytest.raises(ShapeError, match="too small for n_levels=4"):
            C.dtcwt_forward(rng.random((12, 40)), n_levels=4)
        with pytest.raises(ValueError, match="n_levels"):
            C.dtcwt_forward(rng.random((12, 40)), n_levels=0)
        with pytest.raises(ValueError, match="qshift"):
            C.dtcwt_forward(rng.random((12, 40)), n_levels=1, qshift="qshift_a")


class TestDtcwtInverse:
    @pytest.mark.parametrize("shape", SHAPES)
    def test_invariants_perfect_reconstruction(self, rng, shape):
        x = rng.random(shape)
        lo, hi = C.dtcwt_forward(x, n_levels=4)
        np.testing.assert_allclose(C.dtcwt_inverse(lo, hi, shape=shape), x, atol=1e-12)

    def test_reference_dtcwt(self, rng):
        """Our inverse of the package's coefficients equals the package's inverse."""
        x = rng.random((37, 50))
        ref = _pkg().forward(x, nlevels=3)
        ours = C.dtcwt_inverse(ref.lowpass, list(ref.highpasses))
        np.testing.assert_allclose(ours, _pkg().inverse(ref), atol=1e-12)

    def test_float32_torch(self):
        x = torch.rand(2, 1, 48, 40)
        lo, hi = C.dtcwt_forward(x, n_levels=4)
        assert lo.dtype == torch.float32 and hi[0].dtype == torch.complex64
        torch.testing.assert_close(C.dtcwt_inverse(lo, hi), x, atol=2e-6, rtol=0)

    def test_exception(self, rng):
        lo, hi = C.dtcwt_forward(rng.random((32, 32)), n_levels=2)
        with pytest.raises(TypeError, match="complex"):
            C.dtcwt_inverse(lo, [np.abs(h) for h in hi])
        with pytest.raises(TypeError, match="highpasses"):
            C.dtcwt_inverse(lo, [])


def _fuse_with_package(a, b, n_levels=4):
    """Lewis et al. 2007 pixel rule on the package's transform: mean lowpass, max-|w| highpass."""
    t = _pkg()
    pa, pb = t.forward(a, nlevels=n_levels), t.forward(b, nlevels=n_levels)
    highs = tuple(np.where(np.abs(hb) > np.abs(ha), hb, ha) for ha, hb in zip(pa.highpasses, pb.highpasses))
    out = t.inverse(dtcwt.Pyramid((pa.lowpass + pb.lowpass) / 2, highs))
    return out[:a.shape[0], :a.shape[1]]


class TestDtcwtFuse:
    def test_reference_dtcwt(self, rng):
        a = rng.random((45, 38))
        b = np.clip(0.6 * a + 0.4 * rng.random((45, 38)), 0, 1)
        ours = C.fuse("dtcwt", [a, b])
        ref = np.clip(_fuse_with_package(a, b), 0, 1)
        np.testing.assert_allclose(ours, ref, atol=1e-10)

    def test_invariants_identical_sources(self, rng):
        a = rng.random((40, 36))
        np.testing.assert_allclose(C.fuse("dtcwt", [a, a]), a, atol=1e-12)

    def test_registered(self):
        spec = C.METHODS["dtcwt"]
        assert {"multi-focus", "medical"} <= set(spec.tasks) and spec.defaults == {"n_levels": 4}

    def test_exception_too_small(self, rng):
        with pytest.raises(ShapeError, match="at least 16x16"):
            C.fuse("dtcwt", [rng.random((12, 30))] * 2)
