"""Metrics with local weights (Q_Y, Q_C, Q_W, Q_E): zero denominators, flat windows, the Liu 2020
toolbox conventions.

The references are the NumPy transcriptions of Z. Liu's toolbox as the Liu 2020 survey ships it, in
``toolbox_ref.py`` (``metricYang.m``, ``metricPeilla.m``, ``metricXydeas.m``, ``evaluate_color.m``).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import ndimage as ndi

import fusionlib.metrics as M
from fusionlib.metrics._common import flat_windows, safe_moments
from toolbox_ref import _moments, metric_peilla, metric_xydeas, metric_yang, rgb2gray_u8


# --------------------------------------------------------------------------- images
def _texture(seed, size=64, sigma=2.0):
    r = ndi.gaussian_filter(np.random.default_rng(seed).random((size, size)), sigma)
    return np.round((r - r.min()) / (r.max() - r.min()) * 255)


def _with_flat(seed, level, size=64):
    """A multi-focus-like 8-bit pair and fused image with a saturated flat area (where float32
    E[x^2] - E[x]^2 is rounding noise): the fused image is one grey level off the sources there."""
    a, b = _texture(seed, size), _texture(seed + 1, size, 3.0)
    f = np.round(0.5 * (a + b))
    for x in (a, b):
        x[8:40, 10:50] = level
    f[8:40, 10:50] = level - 1
    a[20:28, 20:24] = level  # a flat block inside a flat block: nothing changes
    return a, b, f


def _u8(*xs):
    return [(x / 255.0).astype(np.float32) for x in xs]


# --------------------------------------------------------------------------- tests
class TestSafeMoments:
    def test_against_two_pass(self):
        a, b, _ = _with_flat(3, 255)
        k = torch.tensor([0.25, 0.5, 0.25], dtype=torch.float64)
        got = safe_moments(torch.from_numpy(a)[None, None], torch.from_numpy(b)[None, None], k)
        want = _moments(a, b, np.outer(k.numpy(), k.numpy()))
        for g, w in zip(got, want):
            np.testing.assert_allclose(g[0, 0].numpy(), w, rtol=1e-9, atol=1e-8)

    def test_exact_properties_float32_input(self):
        a, b, _ = _with_flat(4, 255)
        x = torch.from_numpy(a).float()[None, None]
        y = torch.from_numpy(b).float()[None, None]
        k = torch.ones(8) / 8
        mx, my, vx, vy, cxy = safe_moments(x, y, k)
        flat = flat_windows(x, 8)
        assert flat.any() and (vx[flat] == 0).all() and (cxy[flat] == 0).all()
        assert (vx >= 0).all() and (vy >= 0).all()
        assert (cxy.abs() <= torch.sqrt(vx * vy)).all()
        assert mx.dtype == torch.float64

    def test_flat_windows_matches_max_pool(self):
        x = torch.from_numpy(_with_flat(5, 200)[0])[None, None]
        for n in (3, 7, 8):
            want = torch.nn.functional.max_pool2d(x, n, 1) == -torch.nn.functional.max_pool2d(-x, n, 1)
            assert torch.equal(flat_windows(x, n), want)


@pytest.mark.parametrize("level", [255, 254, 128, 1])
class TestFlatWindows:
    """Flat areas at any level: every metric with local weights stays finite and in its range, and
    equals the transcription of the toolbox (exact-arithmetic moments)."""

    def test_q_y_matches_metric_yang(self, level):
        a, b, f = _with_flat(7, level)
        want = metric_yang(a, b, f)
        for preset in ("default", "liu2020"):
            got = M.q_y(*_u8(f), _u8(a, b), preset=preset)
            assert got == pytest.approx(want, rel=1e-9, abs=1e-12)

    def test_q_e_matches_metric_peilla(self, level):
        a, b, f = _with_flat(8, level)
        got = M.q_e(*_u8(f), _u8(a, b), preset="liu2020")
        assert got == pytest.approx(metric_peilla(a, b, f), rel=1e-9)

    def test_q_w_and_qabf_match_toolbox(self, level):
        a, b, f = _with_flat(10, level)
        assert M.q_w(*_u8(f), _u8(a, b), preset="liu2020") == pytest.approx(
            metric_peilla(a, b, f, sw=2), rel=1e-9)
        assert M.qabf(*_u8(f), _u8(a, b), preset="liu2020") == pytest.approx(
            metric_xydeas(a, b, f), rel=1e-4)

    def test_all_in_range(self, level):
        a, b, f = _with_flat(9, level)
        for name in ("q_y", "q_c", "q_w", "q_e", "ssim", "qcb", "qcv", "qabf", "nabf", "mef_ssim"):
            info = M.METRICS[name]
            for preset in info.presets:
                lo, hi = info.range_for(preset)
                v = info.fn(*_u8(f), _u8(a, b), preset=preset)
                assert np.isfinite(v) and lo - 1e-9 <= v <= hi + 1e-9, (name, preset, v)


def test_q_y_negative_for_inverted_fusion():
    """The declared range is [-1, 1], not [0, 1]: an inverted fused image gives a negative Q_Y (the
    toolbox formula has no clipping)."""
    a = _texture(12)
    v = M.q_y(*_u8(255 - a), _u8(a, a))
    assert -1.0 <= v < -0.5


class TestLiu2020Colour:
    """``evaluate_color.m``: rgb2gray (rounded) of A, B and F, then the gray metric."""

    @pytest.fixture(scope="class")
    @classmethod
    def rgb(cls):
        rng = np.random.default_rng(13)
        imgs = [np.round(ndi.gaussian_filter(rng.random((48, 48, 3)), (2, 2, 0)) * 255).clip(0, 255)
                for _ in range(3)]
        return [x.astype(np.uint8) for x in imgs]

    @pytest.mark.parametrize("name", ["qabf", "q_y", "q_w", "q_e", "qcb", "qcv", "nmi", "q_ncie", "q_p"])
    def test_gray_first(self, rgb, name):
        f, a, b = rgb
        fn = M.METRICS[name].fn
        got = fn(f.transpose(2, 0, 1), [a.transpose(2, 0, 1), b.transpose(2, 0, 1)], preset="liu2020")
        g = [rgb2gray_u8(x).astype(np.uint8) for x in (f, a, b)]
        want = fn(g[0], [g[1], g[2]], preset="liu2020")
        assert got == pytest.approx(want, rel=1e-12)
        ref = {"q_y": metric_yang, "q_e": metric_peilla, "qabf": metric_xydeas}.get(name)
        if ref is not None:
            assert got == pytest.approx(ref(*[x.astype(np.float64) for x in (g[1], g[2], g[0])]),
                                        rel=1e-4 if name == "qabf" else 1e-9)

    def test_default_is_per_channel(self, rgb):
        f, a, b = (x.transpose(2, 0, 1) for x in rgb)
        per = np.mean([M.q_e(f[i], [a[i], b[i]]) for i in range(3)])
        assert M.q_e(f, [a, b]) == pytest.approx(per, rel=1e-12)


def test_qcb_blank_fused_scores_zero():
    """Q_CB's contrast G_2 / G_4 - 1 is 0/0 on a blank plane (MATLAB: NaN). It is taken as 0 (no
    contrast): a blank fused image keeps none of the sources' contrast (it used to score 1)."""
    a, b = _u8(_texture(14), _texture(15, sigma=3.0))
    blank = np.zeros_like(a)
    assert M.qcb(blank, [a, b]) == pytest.approx(0.0, abs=1e-6)
    assert M.qcb(blank, [blank, blank]) == 1.0
