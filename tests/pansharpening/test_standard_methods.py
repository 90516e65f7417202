"""Standard pansharpening methods and protocols: invariants and closed forms."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from fusionlib.filters import imresize_bicubic, interp23tap, mtf_kernel
from fusionlib.pansharpening import METHODS, pansharpen
from fusionlib.pansharpening import protocols as pr


def _scene(seed=0, n=64):
    rng = np.random.default_rng(seed)
    base = rng.uniform(0.2, 1, (4, n // 8, n // 8))
    ms = imresize_bicubic(torch.tensor(base)[None], 8.0)[0].numpy() * 200 + 20
    pan = ms[:3].mean(0, keepdims=True) + rng.normal(0, 2, (1, n, n))
    return ms, pan


class TestPansharpen:
    @pytest.mark.parametrize("method", list(METHODS))
    def test_shape_and_batch(self, method):
        ms, pan = _scene()
        lr = imresize_bicubic(torch.tensor(ms)[None], 0.25)[0].numpy()
        f = pansharpen(lr, pan, method)
        assert f.shape == ms.shape and np.isfinite(f).all()
        fb = pansharpen(np.stack([lr, lr]), np.stack([pan, pan]), method)
        np.testing.assert_allclose(fb[1], f, rtol=1e-9, atol=1e-9)

    def test_invariants_cs_identity(self):
        """When PAN equals the intensity, CS methods return the MS unchanged."""
        ms, _ = _scene()
        inten = ms.mean(0, keepdims=True)
        for m in ("gihs", "gs"):
            np.testing.assert_allclose(pansharpen(ms, inten, m), ms, rtol=1e-9)
        # Brovey keeps band ratios
        _, pan = _scene(1)
        f = pansharpen(ms, pan, "brovey")
        np.testing.assert_allclose(f[0] / f[1], ms[0] / ms[1], rtol=1e-9)

    def test_invariants_mra(self):
        """A constant PAN injects no detail: HPF and SFIM exactly; the MTF-GLP pair up to the FIR
        filter's DC gain (0.9987 for G = 0.3: the window method does not renormalise)."""
        ms, _ = _scene()
        flat = np.full((1, 64, 64), 100.0)
        np.testing.assert_allclose(pansharpen(ms, flat, "hpf"), ms, rtol=1e-12)
        np.testing.assert_allclose(pansharpen(ms, flat, "sfim"), ms, rtol=1e-12)
        dc = float(mtf_kernel(0.3, 4).sum())
        mean = ms.mean(axis=(1, 2), keepdims=True)
        np.testing.assert_allclose(pansharpen(ms, flat, "mtf_glp"), ms + mean * (1 - dc), rtol=1e-6)

    def test_exception(self):
        ms, pan = _scene()
        with pytest.raises(KeyError, match="valid keys"):
            pansharpen(ms, pan, "wavelet9")
        with pytest.raises(ValueError, match="ms"):
            pansharpen(ms[:, :30, :30], pan, "gihs")
        with pytest.raises(ValueError, match="one band"):
            pansharpen(ms, ms, "gihs")


    @pytest.mark.parametrize("method", list(METHODS))
    def test_kernels_take_no_catch_all(self, method):
        """No kernel swallows a misspelt keyword: each names the keywords it uses (ratio, gains)."""
        import inspect
        params = inspect.signature(METHODS[method]).parameters.values()
        assert not any(q.kind == q.VAR_KEYWORD for q in params)
        with pytest.raises(TypeError):
            METHODS[method](torch.zeros(1, 4, 8, 8), torch.zeros(1, 1, 8, 8), ratoi=4)


class TestDeterminism:
    @staticmethod
    def _dirty(pattern):
        """Free a small int32 tensor holding ``pattern``: the allocator may hand its memory to the next
        small integer workspace (what LAPACK's gelsy read as its column-pivoting input, issue #17)."""
        t = torch.tensor(pattern, dtype=torch.int32)
        del t

    @pytest.mark.parametrize("dtype", [np.float64, np.float32])
    def test_gsa_same_bits_every_call(self, dtype):
        """GSA's regression gives the same bits on every call with the same input, whatever the memory
        left by earlier calls (it gave differences of ~1e-12 from call to call with torch's default
        lstsq driver, gelsy, whose pivoting workspace torch leaves uninitialised)."""
        ms, pan = _scene(3)
        lr = imresize_bicubic(torch.tensor(ms)[None], 0.25)[0].numpy().astype(dtype)
        pan = pan.astype(dtype)
        first = pansharpen(lr, pan, "gsa")
        for pattern in ([1, 1, 1, 1, 1], [0, 0, 0, 0, 1], [5, 4, 3, 2, 1], [1, 0, 0, 0, 0], [0] * 5, [7] * 64):
            self._dirty(pattern)
            again = pansharpen(lr, pan, "gsa")
            assert np.array_equal(again, first), float(np.abs(again - first).max())


class TestFiltersForProtocols:
    def test_interp23tap_phase(self):
        """LR sample i lands on HR position 4i + 2 (toolbox phase) and is kept exactly."""
        x = torch.rand(1, 1, 8, 8, dtype=torch.float64)
        up = interp23tap(x, 4)
        np.testing.assert_allclose(up[0, 0, 2::4, 2::4].numpy(), x[0, 0].numpy(), atol=1e-9)

    def test_mtf_kernel_gain(self):
        """The kernel's frequency response at the LR Nyquist is close to the sensor gain (window method)."""
        for g in (0.22, 0.3, 0.34):
            k = mtf_kernel(g, 4).numpy()
            H = np.abs(np.fft.fft2(k, s=(1024, 1024)))
            f = np.fft.fftfreq(1024)
            i = int(np.argmin(np.abs(f - 1 / 8)))
            assert H[0, 0] == pytest.approx(1.0, abs=2e-3)
            assert H[i, 0] == pytest.approx(g, abs=0.03)

    def test_reference_mtf_kernel_scipy(self):
        """Independent construction with scipy.signal windows and explicit inverse DFT."""
        from scipy.signal.windows import kaiser
        n, g, r = 41, 0.3, 4
        sig = ((n - 1) / (2 * r)) / np.sqrt(-2 * np.log(g))
        t = np.arange(n) - 20
        hd = np.exp(-(t[:, None] ** 2 + t[None, :] ** 2) / (2 * sig ** 2))
        u = np.arange(n)
        E = np.exp(2j * np.pi * np.outer(u, u) / n) / n
        h = np.real(E @ np.roll(hd, -20, axis=(0, 1)) @ E.T)
        h = np.roll(h, 20, axis=(0, 1))
        grid = np.linspace(-1, 1, n)
        r2 = np.sqrt(grid[:, None] ** 2 + grid[None, :] ** 2)
        win = np.where(r2 <= 1, np.interp(r2, grid, kaiser(n, 0.5)), 0.0)
        np.testing.assert_allclose(mtf_kernel(g, r).numpy(), h * win, atol=1e-12)

    def test_mtf_filter_float64_equals_direct_correlation(self):
        """float64 on CPU goes through the FFT path: it must equal the plain 'valid' correlation of the
        replicate-padded image (scipy, independent) and the float32 convolution path."""
        from scipy.signal import correlate2d
        from fusionlib.filters import mtf_filter
        rng = np.random.default_rng(0)
        x = torch.tensor(rng.uniform(0, 255, (2, 3, 37, 50)))
        gains = (0.3, 0.34, 0.22)
        y = mtf_filter(x, gains)
        assert y.shape == x.shape and y.dtype == torch.float64
        for b in range(2):
            for c, g in enumerate(gains):
                xp = np.pad(x[b, c].numpy(), 20, mode="edge")
                ref = correlate2d(xp, mtf_kernel(g).numpy(), mode="valid")
                np.testing.assert_allclose(y[b, c].numpy(), ref, rtol=0, atol=1e-9)
        np.testing.assert_allclose(mtf_filter(x.float(), gains).double().numpy(), y.numpy(), rtol=0, atol=1e-3)


class TestProtocols:
    def test_dim_cut(self):
        x = torch.zeros(1, 1, 256, 256)
        assert pr.dim_cut(x, 21).shape[-1] == 256 - 2 * 21 + 1

    def test_sensor_gains(self):
        assert pr.sensor_gains("QuickBird", "RGBN")[0] == (0.30, 0.32, 0.34, 0.22)
        assert pr.sensor_gains("Gaofen")[0] == (0.3,) * 4

    def test_rr_round_trip(self):
        """Degrade + interp23tap of a smooth image returns close to it; a shifted phase is worse."""
        n = 64
        yy, xx = np.mgrid[0:n, 0:n] / n
        img = 100 + 50 * np.sin(2 * np.pi * xx) * np.cos(2 * np.pi * yy)
        ms = np.stack([img] * 4)
        d = pr.prepare_protocol("vivone_rr", ms, ms[:1], sensor="quickbird")
        assert d.ms.shape[-1] == 16 and d.exp.shape[-1] == 64
        err = (d.exp[0] - torch.tensor(ms)).abs()[..., 8:-8, 8:-8].max()
        lr_shift = pr.mtf_filter(torch.tensor(ms)[None], (0.3,) * 4)[..., 3::4, 3::4]
        err_shift = (interp23tap(lr_shift, 4)[0] - torch.tensor(ms)).abs()[..., 8:-8, 8:-8].max()
        assert err < err_shift

    def test_iaoa(self):
        ms = np.random.default_rng(0).uniform(0, 255, (4, 32, 32))
        d = pr.prepare_protocol("iaoa", ms, ms[:1])
        assert d.exp.shape == (1, 4, 32, 32) and d.reference is not None

    def test_exception(self):
        ms = np.zeros((4, 30, 30))
        with pytest.raises(ValueError, match="multiples"):
            pr.prepare_protocol("vivone_rr", ms, ms[:1])
        with pytest.raises(ValueError, match="name"):
            pr.prepare_protocol("wald", np.zeros((4, 32, 32)), np.zeros((1, 32, 32)))
