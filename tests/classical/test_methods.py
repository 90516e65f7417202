"""Method-specific checks: closed forms and independent computations."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import fusionlib.classical as C
from fusionlib.classical.edge import _trace_cov
from fusionlib.classical.gtf import _grad, tv_l1_admm
from fusionlib.filters import gaussian_blur


class TestGTF:
    @pytest.mark.slow
    def test_known_value_large_lambda(self, rng):
        """TV-L1 with a huge TV weight is a constant: the median of f (L1 fidelity)."""
        f = torch.from_numpy(rng.random((1, 1, 12, 10)))
        y = tv_l1_admm(f, 1e4, rho=3.0, n_iter=600)
        assert float(y.std()) < 1e-3
        assert abs(float(y.mean()) - float(np.median(f.numpy()))) < 0.02

    def test_invariants_objective(self, rng):
        """The ADMM result beats the two trivial candidates y = f and y = 0."""
        f = torch.from_numpy(rng.random((1, 1, 24, 20)) - 0.5)
        lam = 0.5

        def obj(y):
            return float((y - f).abs().sum() + lam * _grad(y).square().sum(-3).sqrt().sum())
        y = tv_l1_admm(f, lam)
        assert obj(y) < min(obj(f), obj(torch.zeros_like(f)))

    def test_exception(self, rng):
        a = rng.random((16, 16))
        with pytest.raises(ValueError, match="boundary"):
            C.fuse("gtf", [a, a], boundary="zero")


class TestCBF:
    def test_reference_covariance(self, rng):
        """Detail strength = sum of eigenvalues of cov(X) and cov(X^T) (np.cov, unbiased)."""
        d = rng.random((9, 9))
        t = _trace_cov(torch.from_numpy(d)[None, None], 5)[0, 0].numpy()
        X = d[2:7, 2:7]   # the 5x5 window around the centre pixel (4, 4)
        ref = np.linalg.eigvalsh(np.cov(X, rowvar=False)).sum() + np.linalg.eigvalsh(np.cov(X.T, rowvar=False)).sum()
        assert abs(t[4, 4] - ref) < 1e-10


class TestFocusMap:
    def test_known_value_halves(self, rng):
        """Each source sharp on one half: the fused image is the sharp one away from the seam."""
        sharp = rng.random((1, 1, 48, 48))
        blur = gaussian_blur(torch.from_numpy(sharp), 2.0).numpy()
        a = sharp.copy(); a[..., 24:] = blur[..., 24:]
        b = sharp.copy(); b[..., :24] = blur[..., :24]
        out = C.fuse("focus_map", [a[0, 0], b[0, 0]])
        np.testing.assert_allclose(out[4:-4, 4:18], sharp[0, 0, 4:-4, 4:18])
        np.testing.assert_allclose(out[4:-4, 30:-4], sharp[0, 0, 4:-4, 30:-4])
        d = C.focus.focus_decision_map([a[0, 0], b[0, 0]])
        assert (d[:, :20] == 0).mean() > 0.95 and (d[:, 28:] == 1).mean() > 0.95


class TestMertens:
    def test_known_value_prefers_well_exposed(self, rng):
        """Where one exposure is mid-grey and textured and the other saturated, the fused
        image follows the well-exposed one."""
        good = 0.5 + 0.1 * (rng.random((3, 32, 32)) - 0.5)
        bad = np.full((3, 32, 32), 0.98)
        out = C.fuse("mertens", [good, bad])
        assert np.abs(out - good).mean() < 0.1 * np.abs(bad - good).mean()

    def test_weights_sum_to_one(self, rng):
        w = C.exposure.mertens_weights([rng.random((3, 16, 16)) for _ in range(3)])
        np.testing.assert_allclose(w.sum(0), 1.0, atol=1e-9)


class TestADF:
    def test_known_value_kl_weights(self, rng):
        """With one source's details scaled by 2 the KL eigenvector is (1, 2)/sqrt 5: weights 1/3, 2/3."""
        from fusionlib.classical.edge import anisotropic_diffusion
        base = np.full((32, 32), 0.5)
        det = 0.05 * (rng.random((32, 32)) - 0.5)
        a, b = base + det, base + 2 * det
        out = C.fuse("adf", [a, b], n_iter=0)      # no diffusion: base = image, details 0
        np.testing.assert_allclose(out, (a + b) / 2, atol=1e-12)
        x = torch.from_numpy(np.stack([a, b]))[None]
        diff = anisotropic_diffusion(x, 10, 0.15, 30 / 255, 1)
        d = (x - diff).reshape(2, -1).numpy()
        ratio = np.linalg.lstsq(d[0:1].T, d[1], rcond=None)[0][0]
        assert ratio > 1.5   # details keep roughly the 1:2 scaling
