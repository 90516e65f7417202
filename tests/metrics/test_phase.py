"""Phase congruency (Kovesi) and Q_P (Zhao): against phasepack (independent port of phasecong3), against
a NumPy transcription of the benchmark's MATLAB (``myphasecong3.m``, ``metricZhao``), and closed-form
properties."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from scipy import ndimage as ndi

import fusionlib.metrics as M
from tolerances import F32, F32_NP, F64, F64_NP


def _img(seed: int, shape=(48, 48), sigma: float = 1.5) -> np.ndarray:
    r = np.random.default_rng(seed).random(shape)
    r = ndi.gaussian_filter(r, sigma)
    r = (r - r.min()) / (r.max() - r.min())
    return (np.round(r * 255) / 255).astype(np.float32)


# ----------------------------------------------------------------------------- NumPy transcriptions
def _myphasecong3_reference(im, nscale=4, norient=6, minWaveLength=3, mult=2.1, sigmaOnf=0.55,
                            dThetaOnSigma=1.2, k=2.0, cutOff=0.5, g=10):
    """Z. Liu's myphasecong3.m, statement by statement (MATLAB 1-based indices translated)."""
    epsilon = 1e-4
    thetaSigma = np.pi / norient / dThetaOnSigma
    rows, cols = im.shape
    imagefft = np.fft.fft2(im)
    zero = np.zeros((rows, cols))
    totalEnergy, totalSumAn = zero.copy(), zero.copy()
    covx2, covy2, covxy = zero.copy(), zero.copy(), zero.copy()
    if cols % 2:
        xrange = np.arange(-(cols - 1) / 2, (cols - 1) / 2 + 1) / (cols - 1)
    else:
        xrange = np.arange(-cols / 2, cols / 2) / cols
    if rows % 2:
        yrange = np.arange(-(rows - 1) / 2, (rows - 1) / 2 + 1) / (rows - 1)
    else:
        yrange = np.arange(-rows / 2, rows / 2) / rows
    x, y = np.meshgrid(xrange, yrange)
    radius = np.sqrt(x ** 2 + y ** 2)
    radius[rows // 2, cols // 2] = 1
    theta = np.arctan2(-y, x)
    radius = np.fft.ifftshift(radius)
    theta = np.fft.ifftshift(theta)
    sintheta, costheta = np.sin(theta), np.cos(theta)
    # lowpassfilter([rows, cols], .45, 15)
    xl = (np.ones((rows, 1)) * np.arange(1, cols + 1)[None, :] - (cols // 2 + 1)) / cols
    yl = (np.arange(1, rows + 1)[:, None] * np.ones((1, cols)) - (rows // 2 + 1)) / rows
    lp = np.fft.fftshift(1.0 / (1.0 + (np.sqrt(xl ** 2 + yl ** 2) / 0.45) ** (2 * 15)))
    logGabor = []
    for s in range(nscale):
        fo = 1.0 / (minWaveLength * mult ** s)
        lg = np.exp((-(np.log(radius / fo)) ** 2) / (2 * np.log(sigmaOnf) ** 2)) * lp
        lg[0, 0] = 0
        logGabor.append(lg)
    spread = []
    for o in range(norient):
        angl = o * np.pi / norient
        ds = sintheta * np.cos(angl) - costheta * np.sin(angl)
        dc = costheta * np.cos(angl) + sintheta * np.sin(angl)
        dtheta = np.abs(np.arctan2(ds, dc))
        spread.append(np.exp((-dtheta ** 2) / (2 * thetaSigma ** 2)))
    for o in range(norient):
        angl = o * np.pi / norient
        sumE, sumO, sumAn, Energy = zero.copy(), zero.copy(), zero.copy(), zero.copy()
        EO, ifftFilterArray = [], []
        for s in range(nscale):
            filt = logGabor[s] * spread[o]
            ifftFilterArray.append(np.real(np.fft.ifft2(filt)) * np.sqrt(rows * cols))
            EO.append(np.fft.ifft2(imagefft * filt))
            An = np.abs(EO[s])
            sumAn += An
            sumE += np.real(EO[s])
            sumO += np.imag(EO[s])
            if s == 0:
                EM_n = np.sum(filt ** 2)
                maxAn = An
            else:
                maxAn = np.maximum(maxAn, An)
        XEnergy = np.sqrt(sumE ** 2 + sumO ** 2) + epsilon
        MeanE, MeanO = sumE / XEnergy, sumO / XEnergy
        for s in range(nscale):
            E, O = np.real(EO[s]), np.imag(EO[s])
            Energy = Energy + E * MeanE + O * MeanO - np.abs(E * MeanO - O * MeanE)
        medianE2n = np.median(np.abs(EO[0]).reshape(-1) ** 2)
        meanE2n = -medianE2n / np.log(0.5)
        noisePower = meanE2n / EM_n
        EstSumAn2 = sum(f ** 2 for f in ifftFilterArray)
        EstSumAiAj = zero.copy()
        for si in range(nscale - 1):
            for sj in range(si + 1, nscale):
                EstSumAiAj = EstSumAiAj + ifftFilterArray[si] * ifftFilterArray[sj]
        EstNoiseEnergy2 = 2 * noisePower * EstSumAn2.sum() + 4 * noisePower * EstSumAiAj.sum()
        tau = np.sqrt(EstNoiseEnergy2 / 2)
        T = (tau * np.sqrt(np.pi / 2) + k * np.sqrt((2 - np.pi / 2) * tau ** 2)) / 1.7
        Energy = np.maximum(Energy - T, zero)
        width = sumAn / (maxAn + epsilon) / nscale
        weight = 1.0 / (1 + np.exp((cutOff - width) * g))
        totalSumAn += sumAn
        totalEnergy += weight * Energy
        with np.errstate(invalid="ignore", divide="ignore"):
            PC = weight * Energy / sumAn
        covx, covy = PC * np.cos(angl), PC * np.sin(angl)
        covx2 += covx ** 2
        covy2 += covy ** 2
        covxy += covx * covy
    pc = totalEnergy / (totalSumAn + epsilon)
    covx2 /= norient / 2
    covy2 /= norient / 2
    covxy /= norient
    denom = np.sqrt(covxy ** 2 + (covx2 - covy2) ** 2) + epsilon
    return pc, (covy2 + covx2 + denom) / 2, (covy2 + covx2 - denom) / 2


def _metric_zhao_reference(im1, im2, fused):
    """metricZhao / MEFB Qp on 2-D double images, statement by statement."""
    pc1, M1, m1 = _myphasecong3_reference(im1)
    pc2, M2, m2 = _myphasecong3_reference(im2)
    pcf, Mf, mf = _myphasecong3_reference(fused)
    mask = pc1 > pc2
    pc_max = mask * pc1 + (~mask) * pc2
    M_max = mask * M1 + (~mask) * M2
    m_max = mask * m1 + (~mask) * m2
    mask1, mask2, mask3 = pc1 > 0.1, pc2 > 0.1, pc_max > 0.1
    t = np.arange(11) - 5
    win = np.exp(-(t[:, None] ** 2 + t[None, :] ** 2) / (2 * 1.5 ** 2))
    win /= win.sum()

    def f2(x):  # filter2(window, x, 'same'): correlation, zero padding
        return ndi.correlate(x, win, mode="constant")

    def cc(a, b, amax, f):
        a, b, amax = mask1 * a, mask2 * b, mask3 * amax
        C = 1e-4
        mu1, mu2, muf, mum = f2(a), f2(b), f2(f), f2(amax)
        s1 = f2(a * a) - mu1 * mu1
        s2 = f2(b * b) - mu2 * mu2
        sm = f2(amax * amax) - mum * mum
        sf = f2(f * f) - muf * muf
        s1f = f2(a * f) - mu1 * muf
        s2f = f2(b * f) - mu2 * muf
        smf = f2(amax * f) - mum * muf
        r1, r2, r3 = (np.zeros_like(mu1) for _ in range(3))
        r1[mask1] = (s1f[mask1] + C) / (np.sqrt(np.abs(s1[mask1] * sf[mask1])) + C)
        r2[mask2] = (s2f[mask2] + C) / (np.sqrt(np.abs(s2[mask2] * sf[mask2])) + C)
        r3[mask3] = (smf[mask3] + C) / (np.sqrt(np.abs(sm[mask3] * sf[mask3])) + C)
        return np.max(np.stack([r1, r2, r3]), axis=0).sum() / mask3.sum()

    return cc(pc1, pc2, pc_max, pcf) * cc(M1, M2, M_max, Mf) * cc(m1, m2, m_max, mf)


# ----------------------------------------------------------------------------- tests
class TestPhaseCongruency:
    @pytest.mark.parametrize("shape", [(64, 64), (63, 70), (41, 50)])
    def test_reference_phasepack(self, shape):
        """variant='kovesi' equals phasepack 1.5 (an independent port of Kovesi's phasecong3)."""
        phasepack = pytest.importorskip("phasepack")
        x = ndi.gaussian_filter(np.random.default_rng(sum(shape)).random(shape), 1.5) * 255
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            big, small, _, _, pcs, _, _ = phasepack.phasecong(x, nscale=4)
        r = M.phase_congruency(x, variant="kovesi")
        np.testing.assert_allclose(r.M, big, **F64_NP)
        np.testing.assert_allclose(r.m, small, **F64_NP)
        np.testing.assert_allclose(r.pc_orient, np.stack(pcs), **F64_NP)

    @pytest.mark.parametrize("shape", [(48, 48), (45, 52)])
    def test_reference_liu(self, shape):
        x = _img(3, shape).astype(np.float64) * 255
        pc, big, small = _myphasecong3_reference(x)
        r = M.phase_congruency(x)
        np.testing.assert_allclose(r.pc, pc, **F64_NP)
        np.testing.assert_allclose(r.M, big, **F64_NP)
        np.testing.assert_allclose(r.m, small, **F64_NP)

    @pytest.mark.parametrize("variant", ["liu", "kovesi"])
    def test_step_edge(self, variant):
        """A pixel-centred vertical step: PC close to 1 on the edge, ~0 away from it, M peaks on it."""
        x = np.zeros((64, 64))
        x[:, 32:] = 1.0
        x[:, 32] = 0.5
        r = M.phase_congruency(x, variant=variant)
        assert r.pc[:, 32].min() > 0.85
        assert r.pc[:, 10:20].max() < 0.01
        assert np.all(r.M[:, 32] >= r.M.max(axis=1) - 1e-12)

    def test_contrast_invariance(self):
        """PC is invariant to gain and offset up to the epsilon = 1e-4 regularisers."""
        x = _img(4).astype(np.float64) * 255
        r1 = M.phase_congruency(x)
        r2 = M.phase_congruency(0.4 * x + 30.0)
        np.testing.assert_allclose(r2.pc, r1.pc, atol=2e-3)
        np.testing.assert_allclose(r2.M, r1.M, atol=2e-3)

    def test_constant_image(self):
        r = M.phase_congruency(np.full((32, 40), 0.3))
        assert np.all(r.pc == 0.0) and np.all(np.isfinite(r.M))
        np.testing.assert_allclose(r.M, 5e-5)
        np.testing.assert_allclose(r.m, -5e-5)
        np.testing.assert_allclose(r.pc_orient, 0.0)

    def test_shapes_and_batch(self):
        x = np.stack([_img(s)[None] for s in (1, 2)])  # (2, 1, 48, 48)
        r = M.phase_congruency(x)
        assert r.pc.shape == (2, 1, 48, 48) and r.pc_orient.shape == (6, 2, 1, 48, 48)
        single = M.phase_congruency(x[1, 0])
        assert single.pc.shape == (48, 48) and single.pc_orient.shape == (6, 48, 48)
        np.testing.assert_allclose(r.pc[1, 0], single.pc, **F64_NP)
        t = M.phase_congruency(torch.from_numpy(x[1]))
        assert isinstance(t.M, torch.Tensor) and t.M.shape == (1, 48, 48)

    def test_exceptions(self):
        x = _img(1)
        with pytest.raises(ValueError, match="variant"):
            M.phase_congruency(x, variant="mono")
        with pytest.raises(ValueError, match="nscale"):
            M.phase_congruency(x, nscale=0)
        with pytest.raises(ValueError, match="sigma_onf"):
            M.phase_congruency(x, sigma_onf=1.5)
        with pytest.raises(ValueError, match="min_wavelength"):
            M.phase_congruency(x, min_wavelength=1.0)
        with pytest.raises(ValueError, match="cutoff"):
            M.phase_congruency(x, cutoff=2.0)
        bad = x.copy()
        bad[0, 0] = np.nan
        with pytest.raises(ValueError, match="NaN"):
            M.phase_congruency(bad)
        with pytest.raises(TypeError):
            M.phase_congruency([[0.0, 1.0]])


class TestQP:
    @pytest.mark.parametrize("shape", [(48, 48), (45, 50)])
    def test_reference(self, shape):
        a, b = _img(5, shape), _img(6, shape, 2.5)
        f = np.round(np.maximum(a, b) * 255) / 255
        ref = _metric_zhao_reference(*(np.round(x.astype(np.float64) * 255) for x in (a, b, f)))
        assert M.q_p(f, [a, b]) == pytest.approx(ref, **F64)

    def test_symmetric_and_degradation(self):
        a, b = _img(7, (64, 64)), _img(8, (64, 64), 2.5)
        good = np.round(np.maximum(a, b) * 255) / 255
        assert M.q_p(good, [a, b]) == pytest.approx(M.q_p(good, [b, a]), **F32)
        blurred = np.round(ndi.gaussian_filter(good, 2.0) * 255) / 255
        assert M.q_p(good, [a, b]) > M.q_p(blurred, [a, b])

    def test_identical_close_to_but_below_one(self):
        """Masking of the source maps (not of F's) keeps F = A = B below 1 (documented)."""
        a = _img(9, (64, 64))
        v = M.q_p(a, [a, a])
        assert 0.9 < v < 1.0

    def test_constant_sources(self):
        c = np.full((32, 32), 0.5, np.float32)
        assert M.q_p(c, [c, c]) == 1.0
        assert M.q_p(_img(1, (32, 32)), [c, c]) == 1.0

    def test_liu2020_gray(self):
        rgb = [np.round(np.stack([_img(s + i, (40, 40)) for i in range(3)]).astype(np.float64) * 255) / 255
               for s in (1, 10, 20)]
        w = np.array([0.298936021293775, 0.587043074451121, 0.114020904255103])[:, None, None]
        gray = [np.round((x * w).sum(0) * 255) / 255 for x in rgb]
        assert M.q_p(rgb[0], rgb[1:], preset="liu2020") == pytest.approx(M.q_p(gray[0], gray[1:]), **F32)
        per_channel = np.mean([M.q_p(rgb[0][k], [rgb[1][k], rgb[2][k]]) for k in range(3)])
        assert M.q_p(rgb[0], rgb[1:], preset="mefb") == pytest.approx(per_channel, **F32)

    def test_evaluate_presets(self):
        assert "q_p" in M.PRESET_METRICS["liu2020"] and "q_p" in M.PRESET_METRICS["mefb"]
        a, b = _img(1), _img(2)
        assert math.isfinite(M.evaluate(a, [a, b], names=["q_p"], preset="liu2020")["q_p"])

    def test_exceptions(self):
        a = _img(1)
        with pytest.raises(ValueError, match="at most 2"):
            M.q_p(a, [a, a, a])
        with pytest.raises(ValueError, match="at least 11x11"):
            M.q_p(a[:8, :8], [a[:8, :8], a[:8, :8]])
        with pytest.raises(ValueError, match="preset"):
            M.q_p(a, [a, a], preset="vifb")


def test_device_matches_cpu(device):
    a, b = _img(1, (40, 40)), _img(2, (40, 40))
    f = np.round((a + b) / 2 * 255) / 255
    t = [torch.from_numpy(x)[None, None].to(device) for x in (f, a, b)]
    v = M.q_p(t[0], t[1:])
    assert v.device.type == device.type
    assert float(v[0]) == pytest.approx(M.q_p(f, [a, b]), **F32)
    r = M.phase_congruency(t[1])
    assert r.pc.device.type == device.type


def test_q_p_shared_sources_batch_equals_loop():
    """Candidates scored against one pair (broadcast sources: the sources' maps computed once)."""
    a, b = _img(1, (40, 40)), _img(2, (40, 40))
    cands = np.stack([np.round(c * 255)[None] / 255 for c in ((a + b) / 2, np.maximum(a, b), a)])
    for preset in ("default", "liu2020"):
        batch = M.q_p(cands, [a, b], preset=preset)
        loop = [M.q_p(c[0], [a, b], preset=preset) for c in cands]
        np.testing.assert_allclose(batch, loop, **F32_NP)
