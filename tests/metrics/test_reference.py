"""Cross-checks against libraries we did not write (scikit-image, torchmetrics, sewar, NumPy, SciPy).

Each test names the convention that makes the two quantities equal; the disagreements and their causes
are documented in the metric docstrings and in chapter 03.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import ndimage as ndi

import fusionlib.metrics as M
from tolerances import F64


def _u8(seed: int, size: int = 48, sigma: float = 1.5) -> np.ndarray:
    r = ndi.gaussian_filter(np.random.default_rng(seed).random((size, size)), sigma)
    r = (r - r.min()) / (r.max() - r.min())
    return np.round(r * 255).astype(np.uint8)  # spans 0..255 exactly


def _f(x: np.ndarray) -> np.ndarray:
    """float64 in [0, 1]: our metrics compute in float64 when given float64 (float32 otherwise)."""
    return x.astype(np.float64) / 255.0


def _blurred_pair():
    """A texture and a blurred, noisy copy (VIF clearly below 1), both uint8."""
    a = _u8(21, 64, 1.0)
    b = ndi.gaussian_filter(a.astype(float), 1.2) + np.random.default_rng(5).normal(0, 4, a.shape)
    return a, np.clip(np.round(b), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def imgs():
    return _u8(11), _u8(12, sigma=2.5), _u8(13, sigma=1.0)


class TestSkimage:
    @pytest.mark.usefixtures("cpu_path")
    def test_psnr(self, imgs):
        skm = pytest.importorskip("skimage.metrics")
        a, b, _ = imgs
        ref = skm.peak_signal_noise_ratio(a, b, data_range=255)
        assert M.psnr(_f(b), [_f(a)]) == pytest.approx(ref, rel=1e-7)  # skimage: float32 for uint8 input

    def test_ssim_wang_settings(self, imgs):
        """skimage with gaussian_weights=True, sigma=1.5, use_sample_covariance=False = Wang 2004."""
        skm = pytest.importorskip("skimage.metrics")
        a, b, _ = imgs
        ref = skm.structural_similarity(a.astype(float), b.astype(float), gaussian_weights=True, sigma=1.5,
                                        use_sample_covariance=False, data_range=255)
        assert M.ssim(_f(b), [_f(a)]) == pytest.approx(ref, abs=1e-10)

    def test_ssim_default_differs(self, imgs):
        """skimage's default (7x7 uniform window, sample covariance) is another number (note §4)."""
        skm = pytest.importorskip("skimage.metrics")
        a, b, _ = imgs
        ref = skm.structural_similarity(a, b, data_range=255)
        assert abs(M.ssim(_f(b), [_f(a)]) - ref) > 1e-3

    def test_entropy_on_uint8(self, imgs):
        """shannon_entropy counts unique values: equal to the 256-bin entropy for uint8 data."""
        skmeas = pytest.importorskip("skimage.measure")
        a, _, _ = imgs
        assert M.entropy(_f(a)) == pytest.approx(skmeas.shannon_entropy(a, base=2), rel=1e-12)

    def test_mutual_information_via_nmi(self, imgs):
        """skimage NMI Y = (H(A)+H(B))/H(A,B) with 256 bins; on 0..255-spanning uint8 the bins are the
        grey levels, so MI = (H(A)+H(B)) (1 - 1/Y)."""
        skm = pytest.importorskip("skimage.metrics")
        a, b, _ = imgs
        y = skm.normalized_mutual_information(a, b, bins=256)
        ha, hb = M.entropy(_f(a)), M.entropy(_f(b))
        mi = M.mutual_information(_f(b), [_f(a), _f(a)]) / 2  # one source, counted twice
        assert mi == pytest.approx((ha + hb) * (1 - 1 / y), rel=1e-10)

    def test_hossny_nmi_vs_skimage(self, imgs):
        """Hossny's per-pair term 2 MI/(H(A)+H(F)) = 2 (1 - 1/Y) (images already span 0..255)."""
        skm = pytest.importorskip("skimage.metrics")
        a, b, c = imgs
        ya = skm.normalized_mutual_information(a, c, bins=256)
        yb = skm.normalized_mutual_information(b, c, bins=256)
        assert M.nmi(_f(c), [_f(a), _f(b)]) == pytest.approx(2 * (1 - 1 / ya) + 2 * (1 - 1 / yb), rel=1e-10)


class TestTorchmetrics:
    @pytest.mark.usefixtures("cpu_path")
    def test_psnr(self, imgs):
        tmf = pytest.importorskip("torchmetrics.functional")
        a, b, _ = imgs
        ref = tmf.peak_signal_noise_ratio(torch.tensor(b, dtype=torch.float64),
                                          torch.tensor(a, dtype=torch.float64), data_range=255.0)
        assert M.psnr(_f(b), [_f(a)]) == pytest.approx(float(ref), rel=1e-7)  # its data_range is float32

    def test_ssim(self, imgs):
        """torchmetrics (1.9) averages its whole reflect-padded map, border included; its map cropped
        by (11 - 1) / 2 = 5 pixels is our 'valid' map (same Gaussian, constants and moments)."""
        tmf = pytest.importorskip("torchmetrics.functional.image")
        a, b, _ = imgs
        t = lambda x: torch.tensor(x, dtype=torch.float64)[None, None]  # noqa: E731
        whole, full = tmf.structural_similarity_index_measure(
            t(b), t(a), gaussian_kernel=True, sigma=1.5, kernel_size=11, data_range=255.0,
            return_full_image=True)
        assert M.ssim(_f(b), [_f(a)]) == pytest.approx(float(full[..., 5:-5, 5:-5].mean()), abs=1e-12)
        assert abs(M.ssim(_f(b), [_f(a)]) - float(whole)) > 1e-3  # the documented disagreement

    @pytest.mark.usefixtures("cpu_path")
    def test_vif_on_0_255(self, imgs):
        """torchmetrics VIF does not rescale: it equals ours only on 0..255 data (note §4)."""
        tmf = pytest.importorskip("torchmetrics.functional.image")
        a, b = _blurred_pair()
        t = lambda x: torch.tensor(x, dtype=torch.float64)[None, None]  # noqa: E731
        ref = tmf.visual_information_fidelity(t(b), t(a))
        assert M.vif(_f(b), [_f(a)]) == pytest.approx(float(ref), rel=1e-6)
        wrong = tmf.visual_information_fidelity(t(b) / 255, t(a) / 255)
        v = M.vif(_f(b), [_f(a)])
        assert abs(float(wrong) - v) > 1e-3  # sigma_n^2 = 2 assumes 0..255: [0, 1] is another number


class TestSewar:
    @pytest.mark.usefixtures("cpu_path")
    def test_vifp(self):
        sewar = pytest.importorskip("sewar.full_ref")
        a, b = _blurred_pair()
        ref = sewar.vifp(a.astype(float), b.astype(float))  # (GT, P)
        assert M.vif(_f(b), [_f(a)]) == pytest.approx(ref, rel=1e-6)

    @pytest.mark.usefixtures("cpu_path")
    def test_psnr(self, imgs):
        sewar = pytest.importorskip("sewar.full_ref")
        a, b, _ = imgs
        assert M.psnr(_f(b), [_f(a)]) == pytest.approx(sewar.psnr(a, b, MAX=255), rel=1e-7)  # sewar: float32 MSE


class TestNumpyScipy:
    def test_average_gradient_numpy_gradient(self, imgs):
        a = imgs[0].astype(float)
        gy, gx = np.gradient(a)
        ref = np.sqrt((gx ** 2 + gy ** 2) / 2).sum() / ((a.shape[0] - 1) * (a.shape[1] - 1))
        assert M.average_gradient(_f(imgs[0])) == pytest.approx(ref, **F64)

    def test_edge_intensity_scipy_sobel(self, imgs):
        a = imgs[0].astype(float)
        ref = np.hypot(ndi.sobel(a, axis=0, mode="nearest"), ndi.sobel(a, axis=1, mode="nearest")).mean()
        assert M.edge_intensity(_f(imgs[0])) == pytest.approx(ref, **F64)

    def test_standard_deviation_numpy(self, imgs):
        assert M.standard_deviation(_f(imgs[1])) == pytest.approx(imgs[1].astype(float).std(), **F64)

    def test_cross_entropy_scipy(self, imgs):
        """CE restricted to common support = scipy.stats.entropy(p, q, base=2) when supports match."""
        stats = pytest.importorskip("scipy.stats")
        a, b, _ = imgs
        pa = np.bincount(a.ravel(), minlength=256) / a.size
        pb = np.bincount(b.ravel(), minlength=256) / b.size
        both = (pa > 0) & (pb > 0)
        ref = stats.entropy(pa[both] / pa[both].sum(), pb[both] / pb[both].sum(), base=2)
        if both.sum() == (pa > 0).sum() == (pb > 0).sum():
            assert M.cross_entropy(_f(b), [_f(a), _f(a)]) == pytest.approx(ref, rel=1e-10)
