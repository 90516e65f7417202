"""fusionlib._jit: the compiled one-pass loops against NumPy float64, and the switch to their twins."""
from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest

from fusionlib import _jit
from tolerances import F64_NP

UINT = {np.float32: np.uint32, np.float64: np.uint64}


@pytest.fixture
def compiled(monkeypatch):
    """The loops themselves are under test: compiled even when the run sets FUSIONLIB_JIT=0."""
    monkeypatch.setenv("FUSIONLIB_JIT", "1")


def _call(f, r):
    fn = _jit.pair_sums()
    assert fn is not None
    sq, s = np.full(f.shape[0], np.nan), np.full(f.shape[0], np.nan)
    u = UINT[f.dtype.type]
    mf, mr = fn(f, r, f.view(u), r.view(u), sq, s)
    return sq, s, mf, mr


@pytest.mark.usefixtures("compiled")
class TestPairSums:
    @pytest.mark.parametrize("dtype", [np.float32, np.float64])
    @pytest.mark.parametrize("shape", [(1, 1), (1, 7), (3, 1), (4, 1000), (2, 65537)])
    def test_against_float64(self, rng, dtype, shape):
        r = rng.uniform(0, 1, shape).astype(dtype)
        f = (r + rng.normal(0, 0.05, shape)).astype(dtype)  # overshoots [0, 1]: sums regardless
        sq, s, mf, mr = _call(f, r)
        f64, r64 = f.astype(np.float64), r.astype(np.float64)
        # differences of two floats are exact in float64: only the order of the float64 sums differs
        # the loop sums in order, NumPy pairwise: float64 sums of n positive terms, another order
        np.testing.assert_allclose(sq, ((f64 - r64) ** 2).sum(axis=1), **F64_NP)
        np.testing.assert_allclose(s, r64.sum(axis=1), **F64_NP)
        u = UINT[dtype]
        assert mf == f.view(u).max() and mr == r.view(u).max()

    def test_non_contiguous_rows(self, rng):
        """Rows of a strided view (a source taken out of a (B, N, M) stack) give the same sums."""
        stack = rng.uniform(0, 1, (3, 2, 500)).astype(np.float32)
        f = rng.uniform(0, 1, (3, 500)).astype(np.float32)
        r = stack[:, 1]
        assert not r.flags.c_contiguous
        sq, s, _, mr = _call(f, r)
        np.testing.assert_allclose(sq, ((f.astype(np.float64) - r) ** 2).sum(axis=1), **F64_NP)
        np.testing.assert_allclose(s, r.astype(np.float64).sum(axis=1), **F64_NP)
        assert mr == r.view(np.uint32).max()

    @pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
    def test_non_finite_propagates(self, rng, bad):
        """No fast-math assumption drops NaN/Inf: they reach the sums and the bit patterns."""
        r = rng.uniform(0, 1, (2, 300)).astype(np.float32)
        f = r.copy()
        f[1, 123] = bad
        sq, s, mf, _ = _call(f, r)
        assert sq[0] == 0.0 and not np.isfinite(sq[1])
        assert mf > np.float32(1.0).view(np.uint32)
        r[0, 5] = bad
        sq, s, _, mr = _call(r.copy(), r)
        assert not np.isfinite(s[0]) and np.isfinite(s[1]) and mr > np.float32(1.0).view(np.uint32)


@pytest.mark.usefixtures("compiled")
class TestPlaneVar:
    @pytest.mark.parametrize("dtype", [np.float32, np.float64])
    @pytest.mark.parametrize("shape", [(1, 1), (1, 9), (5, 1), (3, 70001)])
    def test_against_float64(self, rng, dtype, shape):
        x = (1000 + rng.normal(0, 1e-3, shape)).astype(dtype)  # large mean, tiny spread: two passes
        var = np.full(shape[0], np.nan)
        u = UINT[dtype]
        mx = _jit.plane_var()(x, x.view(u), var)
        np.testing.assert_allclose(var, x.astype(np.float64).var(axis=1), rtol=1e-9, atol=1e-300)
        assert mx == x.view(u).max()


class TestSwitch:
    @pytest.mark.parametrize("value", ["0", "off", "False", " no "])
    def test_env_off(self, monkeypatch, value):
        monkeypatch.setenv("FUSIONLIB_JIT", value)
        assert _jit.enabled() is False and _jit.pair_sums() is None

    def test_env_on_by_default(self, monkeypatch):
        monkeypatch.delenv("FUSIONLIB_JIT", raising=False)
        assert _jit.enabled() is True and _jit.pair_sums() is not None

    def test_numba_missing_warns_once_and_falls_back(self, monkeypatch):
        monkeypatch.delenv("FUSIONLIB_JIT", raising=False)
        monkeypatch.setattr(_jit, "_COMPILED", {})
        monkeypatch.setitem(sys.modules, "numba", None)  # import numba -> ImportError
        with pytest.warns(RuntimeWarning, match="numba could not be imported"):
            assert _jit.pair_sums() is None
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert _jit.enabled() is False  # decided once: no second warning
