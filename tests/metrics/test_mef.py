"""MEF-SSIM (Ma, Zeng, Wang 2015): moment-based kernel vs a literal transcription of the authors' patch
loops, and closed-form properties."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import ndimage as ndi

import fusionlib.metrics as M
from tolerances import F32

EPS = np.finfo(float).eps


def _img(seed: int, size: int = 48, sigma: float = 1.5) -> np.ndarray:
    r = np.random.default_rng(seed).random((size, size))
    r = ndi.gaussian_filter(r, sigma)
    r = (r - r.min()) / (r.max() - r.min())
    return (np.round(r * 255) / 255).astype(np.float32)


def _fspecial_gauss(size=11, sigma=1.5):
    t = np.arange(size) - (size - 1) / 2
    g = np.exp(-(t[:, None] ** 2 + t[None, :] ** 2) / (2 * sigma ** 2))
    return g / g.sum()


def _mef_ssim_scale_reference(seq: np.ndarray, f: np.ndarray, K=0.03) -> float:
    """One scale of the authors' mef_ssim.m, loop by loop (seq: (H, W, K) 0..255, f: (H, W))."""
    s1, s2, s3 = seq.shape
    win = _fspecial_gauss()
    ws = 11
    bd = ws // 2
    box = np.ones((ws, ws)) / ws ** 2
    mu = np.zeros((s1 - 2 * bd, s2 - 2 * bd, s3))
    ed = np.zeros_like(mu)
    for i in range(s3):
        img = seq[:, :, i]
        m = ndi.correlate(img, box, mode="constant")[bd:s1 - bd, bd:s2 - bd]
        sq = ndi.correlate(img * img, box, mode="constant")[bd:s1 - bd, bd:s2 - bd] - m * m
        mu[:, :, i] = m
        ed[:, :, i] = np.sqrt(np.maximum(ws ** 2 * sq, 0)) + 0.001
    R = np.zeros((s1 - 2 * bd, s2 - 2 * bd))
    for i in range(bd, s1 - bd):
        for j in range(bd, s2 - bd):
            vecs = seq[i - bd:i + bd + 1, j - bd:j + bd + 1, :].reshape(ws * ws, s3, order="F")
            den = sum(np.linalg.norm(vecs[:, k] - mu[i - bd, j - bd, k]) for k in range(s3))
            tot = vecs.sum(axis=1)
            num = np.linalg.norm(tot - tot.mean())
            R[i - bd, j - bd] = (num + EPS) / (den + EPS)
    R[R > 1] = 1 - EPS
    R[R < 0] = 0 + EPS
    p = np.tan(np.pi / 2 * R)
    p[p > 10] = 10
    wmap = (ed / ws) ** p[:, :, None] + EPS
    wmap = wmap / wmap.sum(axis=2, keepdims=True)
    max_ed = ed.max(axis=2)
    C = (K * 255) ** 2
    q = np.zeros_like(R)
    for i in range(bd, s1 - bd):
        for j in range(bd, s2 - bd):
            blocks = seq[i - bd:i + bd + 1, j - bd:j + bd + 1, :]
            r = np.zeros((ws, ws))
            for k in range(s3):
                r = r + wmap[i - bd, j - bd, k] * (blocks[:, :, k] - mu[i - bd, j - bd, k]) / ed[i - bd, j - bd, k]
            if np.linalg.norm(r) > 0:
                r = r / np.linalg.norm(r) * max_ed[i - bd, j - bd]
            fb = f[i - bd:i + bd + 1, j - bd:j + bd + 1]
            m1, m2 = np.sum(win * r), np.sum(win * fb)
            v1 = np.sum(win * (r - m1) ** 2)
            v2 = np.sum(win * (fb - m2) ** 2)
            c12 = np.sum(win * (r - m1) * (fb - m2))
            q[i - bd, j - bd] = (2 * c12 + C) / (v1 + v2 + C)
    return float(q.mean())


def _mef_ms_ssim_reference(seq: np.ndarray, f: np.ndarray) -> float:
    """The authors' mef_ms_ssim.m with its defaults (3 levels, 2x2 mean 'symmetric' + decimation)."""
    w = np.array([0.0448, 0.2856, 0.3001])
    w = w / w.sum()
    qs = []
    for lev in range(3):
        qs.append(_mef_ssim_scale_reference(seq, f))
        if lev < 2:
            def down(x):
                y = ndi.correlate(x, np.ones((2, 2)) / 4, mode="reflect", origin=(-1, -1))
                return y[::2, ::2]
            seq = np.stack([down(seq[:, :, k]) for k in range(seq.shape[2])], axis=2)
            f = down(f)
    return float(np.prod(np.array(qs) ** w))


class TestMefSsim:
    @pytest.mark.parametrize("size", [(46, 45), (48, 48)])
    def test_reference(self, size):
        """Literal transcription of the authors' loops (odd and even sizes: the downsampling border)."""
        h, wd = size
        a, b = _img(1, 48)[:h, :wd], _img(2, 48, 3.0)[:h, :wd]
        f = np.round(np.clip(0.6 * a + 0.5 * b - 0.05, 0, 1) * 255) / 255
        ref = _mef_ms_ssim_reference(np.stack([a, b], 2).astype(np.float64) * 255, f.astype(np.float64) * 255)
        assert M.mef_ssim(f, [a, b]) == pytest.approx(ref, rel=1e-7, abs=1e-9)

    def test_reference_three_exposures_with_flat_regions(self):
        a, b, c = _img(3), _img(4), _img(5)
        b[:20, :20] = 1.0  # saturated block: flat in every window inside it
        c[10:40, 5:25] = 0.0
        f = np.round((a + b + c) / 3 * 255) / 255
        ref = _mef_ms_ssim_reference(np.stack([a, b, c], 2).astype(np.float64) * 255, f.astype(np.float64) * 255)
        assert M.mef_ssim(f, [a, b, c]) == pytest.approx(ref, rel=1e-7, abs=1e-9)

    def test_identical_is_one(self):
        a = _img(6)
        assert M.mef_ssim(a, [a, a]) == pytest.approx(1.0, abs=1e-8)
        assert M.mef_ssim(a, [a, a, a]) == pytest.approx(1.0, abs=1e-8)

    def test_symmetric_in_sources(self):
        a, b, c = _img(7), _img(8), _img(9)
        f = np.round((a + b + c) / 3 * 255) / 255
        v = M.mef_ssim(f, [a, b, c])
        assert M.mef_ssim(f, [c, a, b]) == pytest.approx(v, **F32)

    def test_constant_images(self):
        """Flat sources: r = 0, q = C / (sigma_F^2 + C): 1 for a flat F, < 1 for a textured one."""
        c = np.full((48, 48), 0.5, np.float32)
        assert M.mef_ssim(c, [c, c]) == pytest.approx(1.0, abs=1e-12)
        x = _img(10)
        v = M.mef_ssim(x, [c, c])
        assert 0.0 < v < 1.0 and np.isfinite(v)

    def test_prefers_better_fusion(self):
        """Under/over-exposed versions of a scene: a good fusion scores above a blurred and an inverted one."""
        scene = _img(11, 64)
        under = np.round(np.clip(scene * 0.5, 0, 1) * 255) / 255
        over = np.round(np.clip(scene * 1.6 + 0.2, 0, 1) * 255) / 255
        good = scene
        blurred = np.round(ndi.gaussian_filter(scene, 2.0) * 255) / 255
        inverted = 1.0 - scene
        v_good = M.mef_ssim(good, [under, over])
        assert v_good > M.mef_ssim(blurred, [under, over]) > M.mef_ssim(inverted, [under, over])
        assert M.mef_ssim(inverted, [under, over]) == 0.0  # negative structure scores clipped to 0

    def test_gray_conversion(self):
        rgb = [np.round(np.stack([_img(s + i) for i in range(3)]).astype(np.float64) * 255) / 255
               for s in (1, 10, 20)]
        wts = np.array([0.298936021293775, 0.587043074451121, 0.114020904255103])[:, None, None]
        gray = [(x * wts).sum(0) for x in rgb]
        assert M.mef_ssim(rgb[0], rgb[1:]) == pytest.approx(M.mef_ssim(gray[0], gray[1:]), **F32)
        rounded = [np.round(g * 255) / 255 for g in gray]
        assert M.mef_ssim(rgb[0], rgb[1:], preset="mefb") == pytest.approx(
            M.mef_ssim(rounded[0], rounded[1:]), **F32)

    def test_batch_and_torch(self):
        a, b, c = _img(1), _img(2), _img(3)
        fb = np.stack([a[None], b[None]])
        srcs = [np.stack([b[None], c[None]]), np.stack([c[None], a[None]])]
        out = M.mef_ssim(fb, srcs)
        assert out.shape == (2,)
        assert out[1] == pytest.approx(M.mef_ssim(b, [c, a]), **F32)
        t = M.mef_ssim(torch.from_numpy(a)[None, None], [torch.from_numpy(b)[None, None],
                                                         torch.from_numpy(c)[None, None]])
        assert isinstance(t, torch.Tensor) and t.shape == (1,)
        assert float(t[0]) == pytest.approx(M.mef_ssim(a, [b, c]), **F32)

    def test_exceptions(self):
        a = _img(1)
        with pytest.raises(ValueError, match="at least 44x44"):
            M.mef_ssim(a[:40, :40], [a[:40, :40], a[:40, :40]])
        with pytest.raises(ValueError, match="preset"):
            M.mef_ssim(a, [a, a], preset="vifb")
        with pytest.raises(ValueError, match="`k`"):
            M.mef_ssim(a, [a, a], k=0.0)
        with pytest.raises(ValueError, match="sources"):
            M.mef_ssim(a, [a])

    def test_weights(self):
        w = np.array(M.mef.SCALE_WEIGHTS)
        assert w.sum() == pytest.approx(0.6305) and math.isclose(w[0], 0.0448)


def test_device_matches_cpu(device):
    a, b = _img(1), _img(2)
    f = np.round((a + b) / 2 * 255) / 255
    t = [torch.from_numpy(x)[None, None].to(device) for x in (f, a, b)]
    v = M.mef_ssim(t[0], t[1:])
    assert v.device.type == device.type
    assert float(v[0]) == pytest.approx(M.mef_ssim(f, [a, b]), **F32)
