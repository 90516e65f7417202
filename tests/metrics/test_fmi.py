"""FMI (Haghighat, fast-FMI): vectorised kernel vs a literal transcription of the authors' loops,
MATLAB ``edge`` vs scipy's Sobel, closed-form values and the registry conventions."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import ndimage as ndi

import fusionlib.metrics as M
from fusionlib.metrics import feature_mi as fmi_mod
from tolerances import F32, F64, F64_NP

EPS = np.finfo(float).eps


def _img(seed: int, size: int = 32, sigma: float = 1.5) -> np.ndarray:
    r = np.random.default_rng(seed).random((size, size))
    r = ndi.gaussian_filter(r, sigma)
    r = (r - r.min()) / (r.max() - r.min())
    return (np.round(r * 255) / 255).astype(np.float32)


# ----------------------------------------------------------------------------- literal references
def _edge_reference(a: np.ndarray) -> np.ndarray:
    """MATLAB edge(I) (Sobel, auto threshold, thinning) with scipy's Sobel and explicit pixel loops."""
    bx = ndi.sobel(a, axis=1, mode="nearest") / 8.0  # horizontal derivative, replicate border
    by = ndi.sobel(a, axis=0, mode="nearest") / 8.0
    b = bx * bx + by * by
    cutoff = 4.0 * b.sum() / b.size
    bx, by = np.abs(bx), np.abs(by)
    m, n = b.shape
    e = np.zeros((m, n), bool)
    for r in range(m):
        for c in range(n):
            b1 = True if c == 0 else b[r, c - 1] <= b[r, c]
            b2 = True if c == n - 1 else b[r, c] > b[r, c + 1]
            b3 = True if r == 0 else b[r - 1, c] <= b[r, c]
            b4 = True if r == m - 1 else b[r, c] > b[r + 1, c]
            e[r, c] = b[r, c] > cutoff and ((bx[r, c] >= by[r, c] - 100 * EPS and b1 and b2)
                                            or (by[r, c] >= bx[r, c] - 100 * EPS and b3 and b4))
    return e


def _pair_reference(aSub: np.ndarray, fSub: np.ndarray) -> tuple[float, np.ndarray]:
    """One window pair as the authors' loops do it; returns (fmi, fSub after the in-place update)."""
    if np.array_equal(aSub, fSub):
        return 1.0, fSub
    w2 = aSub.size

    def unit(v):
        lo, hi = v.min(), v.max()
        return np.ones_like(v) if hi == lo else (v - lo) / (hi - lo)

    aSub, fSub = unit(aSub), unit(fSub)
    aPdf = aSub.flatten(order="F") / aSub.sum()
    fPdf = fSub.flatten(order="F") / fSub.sum()
    aCdf, fCdf = np.zeros(w2), np.zeros(w2)
    aCdf[0], fCdf[0] = aPdf[0], fPdf[0]
    for i in range(1, w2):
        aCdf[i] = aPdf[i] + aCdf[i - 1]
        fCdf[i] = fPdf[i] + fCdf[i - 1]
    aT, fT = aPdf - aPdf.mean(), fPdf - fPdf.mean()
    s = np.sum(aT * fT)
    c = 0.0 if s == 0 else s / math.sqrt(np.sum(aT * aT) * np.sum(fT * fT))
    ea = e2a = ef = e2f = 0.0
    for i in range(w2):
        k = i + 1
        ea += k * aPdf[i]
        e2a += k * k * aPdf[i]
        ef += k * fPdf[i]
        e2f += k * k * fPdf[i]
    aSd = math.sqrt(max(e2a - ea * ea, 0.0))
    fSd = math.sqrt(max(e2f - ef * ef, 0.0))

    def up(u, v):
        return 0.5 * (u + v - abs(u - v))

    def lo(u, v):
        return 0.5 * (u + v - 1 + abs(u + v - 1))

    if c >= 0:
        bound = up
        if c == 0 or aSd == 0 or fSd == 0:
            k = 0.0
        else:
            cov = sum(up(fCdf[i], aCdf[j]) - fCdf[i] * aCdf[j] for i in range(w2) for j in range(w2))
            k = c / (cov / (fSd * aSd))
    else:
        bound = lo
        if aSd == 0 or fSd == 0:
            k = 0.0
        else:
            cov = sum(lo(fCdf[i], aCdf[j]) - fCdf[i] * aCdf[j] for i in range(w2) for j in range(w2))
            k = c / (cov / (fSd * aSd))
    hj = 0.0
    for i in range(w2):
        for j in range(w2):
            mass = bound(fCdf[i], aCdf[j])
            if i > 0:
                mass -= bound(fCdf[i - 1], aCdf[j])
            if j > 0:
                mass -= bound(fCdf[i], aCdf[j - 1])
            if i > 0 and j > 0:
                mass += bound(fCdf[i - 1], aCdf[j - 1])
            p = k * mass + (1 - k) * fPdf[i] * aPdf[j]
            if p != 0:
                hj += -p * math.log2(abs(p))
    ha = -sum(p * math.log2(p) for p in aPdf if p != 0)
    hf = -sum(p * math.log2(p) for p in fPdf if p != 0)
    mi = ha + hf - hj
    return (0.0 if mi == 0 else 2 * mi / (ha + hf)), fSub


def _fmi_reference(ima, imb, imf, feature="edge", w=3, quirk=True):
    """The authors' FMI(ima, imb, imf, feature, w) on 0..255 gray images, window loop by window loop."""
    feats = []
    for im in (ima, imb, imf):
        im = np.asarray(im, dtype=np.float64)
        if feature == "edge":
            feats.append(_edge_reference(im).astype(np.float64))
        elif feature == "gradient":
            feats.append(np.gradient(im, axis=1))  # MATLAB gradient's first output
        else:
            feats.append(im)
    a, b, f = feats
    r = w // 2
    m, n = a.shape
    vals = []
    for p in range(r, m - r):
        for q in range(r, n - r):
            sl = (slice(p - r, p + r + 1), slice(q - r, q + r + 1))
            fSub = f[sl].copy()
            v_af, f_after = _pair_reference(a[sl].copy(), fSub)
            v_bf, _ = _pair_reference(b[sl].copy(), f_after if quirk else fSub)
            vals.append((v_af + v_bf) / 2)
    return float(np.mean(vals))


# ----------------------------------------------------------------------------- tests
class TestSobelEdges:
    @pytest.mark.parametrize("seed", [0, 1])
    def test_reference(self, seed):
        a = _img(seed, 24).astype(np.float64) * 255
        ours = fmi_mod.sobel_edges(torch.from_numpy(a)[None, None])[0, 0].numpy()
        np.testing.assert_array_equal(ours, _edge_reference(a))

    def test_step_edge_is_thin(self):
        x = np.zeros((16, 16))
        x[:, 8:] = 255.0
        e = fmi_mod.sobel_edges(torch.from_numpy(x)[None, None])[0, 0].numpy()
        # b is equal on columns 7 and 8; thinning keeps column 8 (b(c-1) <= b(c) > b(c+1))
        assert e[:, 8].all() and e.sum() == 16

    def test_constant_has_no_edges(self):
        x = torch.full((1, 1, 8, 8), 100.0, dtype=torch.float64)
        assert not fmi_mod.sobel_edges(x).any()


class TestFmiWindows:
    @pytest.mark.parametrize("kind", ["continuous", "binary"])
    def test_reference(self, kind):
        rng = np.random.default_rng(3)
        if kind == "binary":
            x = (rng.random((60, 3, 3)) > 0.6).astype(float)
            f = (rng.random((60, 3, 3)) > 0.4).astype(float)
        else:
            x = rng.random((60, 3, 3))
            f = x + 0.5 * rng.standard_normal((60, 3, 3))
            f[::3] = rng.random((20, 3, 3))  # some negatively correlated pairs
        keep = [i for i in range(60) if not np.array_equal(x[i], f[i])]
        tx = torch.from_numpy(np.stack([x[i].flatten(order="F") for i in keep]))
        tf = torch.from_numpy(np.stack([f[i].flatten(order="F") for i in keep]))
        ours = fmi_mod.fmi_windows(tx, tf).numpy()
        ref = np.array([_pair_reference(x[i], f[i])[0] for i in keep])
        np.testing.assert_allclose(ours, ref, **F64_NP)

    def test_proportional_windows_score_one(self):
        """Same pdf after min-max scaling (c = 1, identical marginals: k = 1): joint = diagonal, FMI = 1."""
        x = torch.rand(5, 9, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
        v = fmi_mod.fmi_windows(x, 3.0 * x + 7.0)
        np.testing.assert_allclose(v.numpy(), 1.0, atol=1e-12)

    def test_constant_window_scores_zero(self):
        """A constant window has a uniform pdf: r = 0, independent coupling, MI = 0."""
        x = torch.full((1, 9), 4.0, dtype=torch.float64)
        f = torch.arange(9, dtype=torch.float64)[None]
        assert float(fmi_mod.fmi_windows(x, f)[0]) == 0.0


class TestFmi:
    @pytest.mark.parametrize("feature", ["edge", "none", "gradient"])
    @pytest.mark.parametrize("preset", ["default", "mefb"])
    def test_reference(self, feature, preset):
        a, b = _img(4, 14), _img(5, 14, 2.5)
        f = np.round(np.maximum(a, b) * 255) / 255
        ours = M.fmi(f, [a, b], feature=feature, preset=preset)
        ref = _fmi_reference(a * 255.0, b * 255.0, f * 255.0, feature, 3, quirk=preset == "mefb")
        assert ours == pytest.approx(ref, **F64)

    def test_identical_is_one(self):
        a = _img(6)
        for feature in ("edge", "none", "gradient"):
            assert M.fmi(a, [a, a], feature=feature) == 1.0

    def test_symmetric_default_not_mefb(self):
        a, b = _img(7), _img(8, sigma=2.5)
        f = np.round((a + b) / 2 * 255) / 255
        assert M.fmi(f, [a, b]) == pytest.approx(M.fmi(f, [b, a]), **F32)
        # the MEFB in-place quirk makes the order matter (documented)
        assert M.fmi(f, [a, b], preset="mefb") != pytest.approx(M.fmi(f, [b, a], preset="mefb"), rel=1e-6)

    def test_degradation_lowers_fmi(self):
        a, b = _img(9, 48), _img(10, 48, 2.5)
        good = np.round(np.maximum(a, b) * 255) / 255
        bad = np.round(ndi.gaussian_filter(good, 2.0) * 255) / 255
        assert M.fmi(good, [a, b], feature="none") > M.fmi(bad, [a, b], feature="none")

    def test_constant_and_range(self):
        c = np.full((16, 16), 0.5, np.float32)
        x = _img(11, 16)
        for feature in ("edge", "none", "gradient"):
            v = M.fmi(x, [c, c], feature=feature)
            assert np.isfinite(v) and 0.0 <= v <= 1.0

    def test_batch_and_rgb(self):
        rgb = np.stack([_img(s, 20) for s in (1, 2, 3)])
        srcs = [np.stack([_img(s, 20) for s in (4, 5, 6)]), np.stack([_img(s, 20) for s in (7, 8, 9)])]
        per_channel = np.mean([M.fmi(rgb[k], [srcs[0][k], srcs[1][k]]) for k in range(3)])
        assert M.fmi(rgb, srcs) == pytest.approx(per_channel, **F32)
        batch = M.fmi(np.stack([rgb, rgb[::-1]]), [np.stack([s, s[::-1]]) for s in srcs])
        assert batch.shape == (2,) and batch[0] == pytest.approx(per_channel, **F32)

    def test_tang_converts_to_gray(self):
        rgb = np.stack([_img(s, 20) for s in (1, 2, 3)])
        srcs = [np.stack([_img(s, 20) for s in (4, 5, 6)]), np.stack([_img(s, 20) for s in (7, 8, 9)])]
        w = np.array([0.298936021293775, 0.587043074451121, 0.114020904255103])[:, None, None]

        def gray(x):
            return np.round((x * w).sum(0) * 255) / 255

        assert M.fmi(rgb, srcs, preset="tang") == pytest.approx(
            M.fmi(gray(rgb), [gray(s) for s in srcs], preset="mefb"), **F32)

    def test_evaluate_presets(self):
        a, b = _img(1), _img(2)
        assert "fmi" in M.PRESET_METRICS["mefb"]
        out = M.evaluate(a, [a, b], names=["fmi"], preset="mefb")
        assert 0.0 < out["fmi"] <= 1.0

    def test_exceptions(self):
        a = _img(1)
        with pytest.raises(ValueError, match="feature"):
            M.fmi(a, [a, a], feature="dct")
        with pytest.raises(ValueError, match="odd"):
            M.fmi(a, [a, a], window=4)
        with pytest.raises(TypeError, match="window"):
            M.fmi(a, [a, a], window=3.0)
        with pytest.raises(ValueError, match="at least 5x5"):
            M.fmi(a[:4, :4], [a[:4, :4], a[:4, :4]], window=5)
        with pytest.raises(ValueError, match="sources"):
            M.fmi(a, [a])


def test_device_matches_cpu(device):
    a, b = _img(1, 20), _img(2, 20)
    f = np.round(np.maximum(a, b) * 255) / 255
    t = [torch.from_numpy(x)[None, None].to(device) for x in (f, a, b)]
    for feature in ("edge", "none"):
        v = M.fmi(t[0], t[1:], feature=feature)
        assert v.device.type == device.type
        assert float(v[0]) == pytest.approx(M.fmi(f, [a, b], feature=feature), **F32)
