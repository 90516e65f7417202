"""The IAOA adaptive model: preprocessing, fitness and its closed-form optimum."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from fusionlib.filters import imresize_bicubic
from fusionlib.pansharpening import adaptive as ad
from tolerances import F64_NP


def _scene(seed=0, n=64, c=4):
    """A smooth random 8-bit-like scene and its synthetic PAN (rgb2gray of bands 1-3, as in nbu_iaoa)."""
    rng = np.random.default_rng(seed)
    base = rng.uniform(0, 1, (c, n // 8, n // 8))
    ms = imresize_bicubic(torch.tensor(base)[None], 8.0)[0].numpy()
    ms += 0.15 * rng.uniform(0, 1, ms.shape)
    ms = np.clip(ms, 0, None)
    ms = np.round(255 * ms / ms.max(axis=(1, 2), keepdims=True))
    pan = np.round(0.298936 * ms[0] + 0.587043 * ms[1] + 0.114021 * ms[2])[None]
    return ms, pan


@pytest.fixture(scope="module")
def model():
    ms, pan = _scene()
    return ad.adaptive_model(ms, pan, weights="nnls")


class TestMatlabGradient:
    def test_reference(self, rng):
        x = rng.normal(size=(5, 7))
        gx, gy = ad.matlab_gradient(torch.tensor(x))
        ny, nx = np.gradient(x)
        np.testing.assert_allclose(gx.numpy(), nx, rtol=1e-14)
        np.testing.assert_allclose(gy.numpy(), ny, rtol=1e-14)


class TestEdgeMap:
    def test_known_value(self):
        """E at slope 0.01 = exp(-1e-9/(1e-8 + 1e-10)) = 0.9057 (table in notes/iaoa.md)."""
        x = torch.arange(16, dtype=torch.float64).reshape(1, 16).repeat(16, 1) * 0.01
        e = ad.edge_map(x)
        assert float(e[5, 5]) == pytest.approx(np.exp(-1e-9 / (1e-8 + 1e-10)), rel=1e-12)
        assert float(ad.edge_map(torch.zeros(4, 4))[0, 0]) == pytest.approx(np.exp(-10.0))


class TestImresize:
    def test_reference(self, rng):
        """Interior of MATLAB-style bicubic shrink/expand equals Pillow's (same kernel and centre map)."""
        Image = pytest.importorskip("PIL.Image")
        a = rng.uniform(0, 255, (48, 48)).astype(np.float32)
        down = imresize_bicubic(torch.tensor(a, dtype=torch.float64)[None, None], 0.25)[0, 0].numpy()
        pil = np.asarray(Image.fromarray(a, mode="F").resize((12, 12), Image.BICUBIC))
        np.testing.assert_allclose(down[3:-3, 3:-3], pil[3:-3, 3:-3], atol=1e-3)
        up = imresize_bicubic(torch.tensor(a, dtype=torch.float64)[None, None], 4.0)[0, 0].numpy()
        pil = np.asarray(Image.fromarray(a, mode="F").resize((192, 192), Image.BICUBIC))
        np.testing.assert_allclose(up[8:-8, 8:-8], pil[8:-8, 8:-8], atol=1e-3)

    def test_invariants(self):
        c = torch.full((1, 1, 16, 16), 3.0, dtype=torch.float64)
        assert torch.allclose(ad.degrade_iaoa(c), c)


class TestAihsWeights:
    def test_fixed_point_is_the_iteration(self, model):
        """The early exit changes nothing: a hand-written loop of the same update gives the same alpha."""
        m, p = model.ms_norm.numpy(), model.pan_norm.numpy()
        a_fp = ad.aihs_weights(m, p, n_iter=300)
        X = m.reshape(1, 4, -1)[0]
        A, b = X @ X.T, X @ p.reshape(-1)
        tau, gam = 5.0, 1 / 200000
        Minv = np.linalg.inv(np.eye(4) + 2 * tau * gam * A)
        al = np.ones(4)
        for _ in range(300):
            al = Minv @ (al + 2 * tau * np.maximum(-al, 0) + 2 * tau * gam * b)
        np.testing.assert_allclose(a_fp[0], al, **F64_NP)  # LAPACK inverse + 300 BLAS matvecs vs the package's

    @pytest.mark.slow
    def test_default_is_fixed_point(self):
        """The default model runs the release's full 150,000-step iteration (about 4 s)."""
        ms, pan = _scene()
        m = ad.adaptive_model(ms, pan)
        ref = ad.aihs_weights(m.ms_norm.numpy(), m.pan_norm.numpy(), method="nnls")
        assert m.diagnostics["weights_method"] == "fixed_point"
        assert np.abs(m.alpha.numpy() - ref).max() < 0.05

    def test_reference_nnls(self, model):
        """The release's iteration lands near the exact NNLS solution (scipy)."""
        from scipy.optimize import nnls
        X = model.ms_norm.numpy().reshape(4, -1).T
        ref = nnls(X, model.pan_norm.numpy().ravel())[0]
        assert np.abs(model.alpha.numpy()[0] - ref).max() < 0.05
        np.testing.assert_allclose(ad.aihs_weights(model.ms_norm.numpy(), model.pan_norm.numpy(),
                                                   method="nnls")[0], ref, rtol=1e-10)


class TestAdaptiveModel:
    def test_shape(self, model):
        x = np.zeros((3, 4))
        assert model.fuse(x).shape == (3, 4, 64, 64)
        assert model.fitness(x).shape == (3,)
        xb = np.zeros((1, 5, 4))
        assert model.fitness(xb).shape == (1, 5)

    def test_fitness_fast_equals_images(self, model, rng):
        x = rng.uniform(-60, 60, (50, 4))
        fast, slow = model.fitness(x), model.fitness_images(x)
        assert float(((fast - slow).abs() / slow).max()) < 1e-10
        fn = model.fitness_numpy()
        np.testing.assert_allclose(fn(x), slow.numpy(), rtol=1e-10)

    def test_known_value_formulas(self, model):
        """F(x) built from the pieces by hand (Gamma_k, W_k, D) equals fuse(x)."""
        x = np.array([[-50.0, 0.0, 25.0, 50.0]])
        w = (x[0] + 50) / 100
        m = model
        gam = m.spectral_weights[0] * (torch.tensor(w)[:, None, None] * m.edge_pan[0]
                                       + (1 - torch.tensor(w)[:, None, None]) * m.edge_ms[0])
        f = m.scale[0][:, None, None] * (m.ms_norm[0] + gam * (m.pan_matched[0] - m.intensity[0]))
        assert torch.allclose(m.fuse(x)[0], f, **F64_NP)
        assert torch.allclose(m.scale[0][:, None, None] * m.ms_norm[0], m.target[0], **F64_NP)

    def test_optimum_is_global(self, model, rng):
        x_star, f_star = model.optimum()
        x = rng.uniform(-50, 50, (3000, 4))
        assert float(model.fitness(x).min()) >= float(f_star[0]) - 1e-12
        # no small perturbation inside the box improves it
        pert = np.clip(x_star.numpy() + rng.normal(0, 1.0, (2000, 4)), -50, 50)
        assert float(model.fitness(pert).min()) >= float(f_star[0]) - 1e-12

    def test_optimum_kkt(self, model):
        """Gradient zero in interior coordinates, pointing outward at the bounds."""
        x_star, _ = model.optimum()
        x = x_star.clone().requires_grad_(True)
        model.fitness(x)[0].backward()
        g = x.grad[0]
        for k in range(4):
            xk = float(x_star[0, k])
            if -50 < xk < 50:
                assert abs(float(g[k])) < 1e-8
            elif xk == -50:
                assert float(g[k]) >= -1e-12
            else:
                assert float(g[k]) <= 1e-12

    def test_reference_scipy(self, model):
        """scipy L-BFGS-B on the image-based fitness finds the same optimum."""
        from scipy.optimize import minimize
        fun = lambda w: float(model.fitness_images(100 * w[None] - 50)[0])  # noqa: E731
        opts = {"ftol": 1e-15, "gtol": 1e-12, "maxiter": 2000}
        best = min((minimize(fun, w0, method="L-BFGS-B", bounds=[(0, 1)] * 4, options=opts)
                    for w0 in (np.full(4, 0.5), np.full(4, 0.9))), key=lambda r: r.fun)
        _, f_star = model.optimum()
        assert best.fun == pytest.approx(float(f_star[0]), rel=1e-8)
        np.testing.assert_allclose(100 * best.x - 50, model.optimum()[0][0].numpy(), atol=1e-2)
        assert best.fun >= float(f_star[0]) - 1e-10

    def test_batch_equals_loop(self):
        ms0, pan0 = _scene(0)
        ms1, pan1 = _scene(1)
        mb = ad.adaptive_model(np.stack([ms0, ms1]), np.stack([pan0, pan1]), weights="nnls")
        m1 = ad.adaptive_model(ms1, pan1, weights="nnls")
        x = np.random.default_rng(3).uniform(-50, 50, (2, 7, 4))
        np.testing.assert_allclose(mb.fitness(x)[1].numpy(), m1.fitness(x[1]).numpy(), **F64_NP)
        np.testing.assert_allclose(mb.optimum()[1][1], m1.optimum()[1][0], **F64_NP)

    def test_large_pan_is_shrunk(self):
        ms, pan = _scene()
        big = imresize_bicubic(torch.tensor(pan)[None], 4.0)[0].numpy()
        m = ad.adaptive_model(ms, big, weights="nnls")
        assert m.pan_norm.shape[-2:] == (64, 64)

    def test_exception(self, model):
        ms, pan = _scene()
        with pytest.raises(ValueError, match="pan"):
            ad.adaptive_model(ms, pan[:, :40, :40])
        with pytest.raises(ValueError, match="multiples of `ratio`"):
            ad.adaptive_model(ms[:, :62, :62], pan[:, :62, :62])
        with pytest.raises(ValueError, match="bounds"):
            ad.adaptive_model(ms, pan, bounds=(50, -50))
        bad = ms.copy()
        bad[0, 0, 0] = np.nan
        with pytest.raises(ValueError, match="NaN"):
            ad.adaptive_model(bad, pan)
        with pytest.raises(ValueError, match="decision variables"):
            model.fitness(np.zeros((3, 5)))
        with pytest.raises(ValueError, match="weights"):
            ad.adaptive_model(ms, pan, weights="lsq")


@pytest.mark.realdata
class TestRealPairs:
    def test_iaoa_data_facts_and_optimum(self, data_root):
        import imageio.v3 as iio
        folder = data_root / "nbu_iaoa" / "pairs" / "quickbird_urban_2"
        if not folder.is_dir():
            pytest.skip("nbu_iaoa absent")
        ms = iio.imread(folder / "ms.tif").astype(np.float64).transpose(2, 0, 1)
        pan = iio.imread(folder / "pan.png").astype(np.float64)[None]
        gray = np.floor(0.298936 * ms[0] + 0.587043 * ms[1] + 0.114021 * ms[2] + 0.5)
        assert np.abs(gray - pan[0]).max() <= 1  # PAN is rgb2gray of the MS (notes: exact)
        m = ad.adaptive_model(ms, pan, weights="nnls")
        x = np.random.default_rng(0).uniform(-50, 50, (3000, 4))
        _, f_star = m.optimum()
        assert float(m.fitness(x).min()) >= float(f_star[0])
        assert float(((m.fitness(x[:20]) - m.fitness_images(x[:20])).abs() / m.fitness_images(x[:20])).max()) < 1e-10


class TestScores:
    def test_reference_equals_image_metrics(self, model, rng):
        """The closed-form scores equal the metric kernels on the fused images (float64)."""
        from fusionlib.metrics.pansharpening import iaoa_scores
        ms, _ = _scene()
        x = rng.uniform(-60, 60, (40, 4))
        terms = model.score_terms(ms)
        fast = model.scores(x, terms)
        slow = iaoa_scores(model.fuse(x), torch.tensor(ms)[None])
        for k in slow:
            np.testing.assert_allclose(fast[k].numpy(), slow[k].numpy(), **F64_NP, err_msg=k)

    def test_exception(self, model):
        ms, _ = _scene()
        with pytest.raises(ValueError, match="reference"):
            model.score_terms(ms[:3])
