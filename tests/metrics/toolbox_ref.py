"""NumPy transcriptions of Z. Liu's fusion-metric toolbox as the Liu 2020 survey ships it
(yuliu316316/MFIF @ 267c081, ``evaluation/objective_metrics/*.m`` with Yu Liu's fixes, called by
``evaluation/evaluate_color.m``), written statement by statement from the MATLAB for the tests and
``benchmarks/conformance.py``. Window moments are taken two-pass per window (sum w (x - mu)^2), a
different order from the library's E[x^2] - E[x]^2 stack. Inputs: 2-D float64 arrays on 0..255.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.signal import correlate2d

__all__ = ["rgb2gray_u8", "metric_yang", "metric_peilla", "metric_xydeas"]

RGB2GRAY = np.array([0.298936021293775, 0.587043074451121, 0.114020904255103])


# --------------------------------------------------------------------------- transcriptions
def _gauss(n: int, sigma: float) -> np.ndarray:
    t = np.arange(n) - (n - 1) / 2
    g = np.exp(-(t[:, None] ** 2 + t[None, :] ** 2) / (2 * sigma ** 2))  # fspecial('gaussian')
    return g / g.sum()


def _moments(x, y, w):
    """filter2(w, ., 'valid') moments, two-pass per window (float64)."""
    n = w.shape[0]
    wx, wy = sliding_window_view(x, (n, n)), sliding_window_view(y, (n, n))
    mx, my = (wx * w).sum(axis=(-2, -1)), (wy * w).sum(axis=(-2, -1))
    dx, dy = wx - mx[..., None, None], wy - my[..., None, None]
    return mx, my, (w * dx * dx).sum(axis=(-2, -1)), (w * dy * dy).sum(axis=(-2, -1)), \
        (w * dx * dy).sum(axis=(-2, -1))


def _ssim_map(x, y, w, c):
    mx, my, vx, vy, cxy = _moments(x, y, w)
    return ((2 * mx * my + c) * (2 * cxy + c)) / ((mx ** 2 + my ** 2 + c) * (vx + vy + c)), vx, vy


def metric_yang(a, b, f):
    """metricYang.m (Yu Liu's version): 7 x 7 Gaussian, C1 = C2 = 2e-16, +0.5 where va + vb == 0."""
    w = _gauss(7, 1.5)
    s_ab, va, vb = _ssim_map(a, b, w, 2e-16)
    s_af, _, _ = _ssim_map(a, f, w, 2e-16)
    s_bf, _, _ = _ssim_map(b, f, w, 2e-16)
    test = (va + vb == 0) * 0.5
    va, vb = va + test, vb + test
    lam = va / (va + vb)
    bin_map = s_ab >= 0.75
    q = (lam * s_af + (1 - lam) * s_bf) * bin_map + np.maximum(s_af, s_bf) * ~bin_map
    return q.mean()


def _piella_qw(a, b, f):
    w = np.ones((8, 8)) / 64
    c = (1e-6 * 255) ** 2
    _, va, vb = _ssim_map(a, b, w, c)
    test = (va + vb == 0) * 0.5
    va, vb = va + test, vb + test
    lam = va / (va + vb)
    s1, _, _ = _ssim_map(f, a, w, c)
    s2, _, _ = _ssim_map(f, b, w, c)
    cw = np.maximum(va, vb)
    cw = cw / cw.sum()
    return (cw * (lam * s1 + (1 - lam) * s2)).sum()


def metric_peilla(a, b, f, sw=3):
    """metricPeilla.m, sw = 2 (Q_W) or 3 (Q_E with alpha = 1; edges by filter2(flt, x, 'same'), zero
    border)."""
    if sw == 2:
        return _piella_qw(a, b, f)
    flt1 = np.array([[1.0, 0, -1], [1, 0, -1], [1, 0, -1]])
    flt2 = np.array([[1.0, 1, 1], [0, 0, 0], [-1, -1, -1]])

    def edge(x):
        return np.hypot(correlate2d(x, flt1, mode="same"), correlate2d(x, flt2, mode="same"))

    return _piella_qw(a, b, f) * _piella_qw(edge(a), edge(b), edge(f))


def rgb2gray_u8(x):
    """MATLAB rgb2gray on a uint8 (H, W, 3) image: rounded luma."""
    return np.round(x.astype(np.float64) @ RGB2GRAY)




def metric_xydeas(a, b, f):
    """metricXydeas.m (Yu Liu's version): Sobel by filter2 'same', 1e-5 added where g_x = 0 and where a
    magnitude is 0 (also in the weights), sigmoids (0.9994, -15, 0.5) and (0.9879, -22, 0.8), L = 1."""
    flt1 = np.array([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    flt2 = np.array([[-1.0, -2, -1], [0, 0, 0], [1, 2, 1]])

    def grad(x):
        gx, gy = correlate2d(x, flt1, mode="same"), correlate2d(x, flt2, mode="same")
        g = np.sqrt(gx * gx + gy * gy)
        gx = gx + (gx == 0) * 0.00001
        return g, np.arctan(gy / gx)

    fg, fa = grad(f)
    out = []
    for x in (a, b):
        g, ang = grad(x)
        bimap = g > fg
        g = g + (g == 0) * 0.00001
        buffer1 = fg / g
        fg = fg + (fg == 0) * 0.00001
        buffer2 = g / fg
        gg = bimap * buffer1 + (1 - bimap) * buffer2
        aa = 1 - np.abs(ang - fa) * 2 / np.pi
        q = 0.9994 / (1 + np.exp(-15 * (gg - 0.5))) * 0.9879 / (1 + np.exp(-22 * (aa - 0.8)))
        out.append((q, g))
    (qa, wa), (qb, wb) = out
    return (qa * wa + qb * wb).sum() / (wa + wb).sum()
