"""Straightforward NumPy / SciPy / PyWavelets versions of the classical methods (benchmark peers).

Written for clarity, not speed: the obvious array code one would write without
torch. Every function takes gray float arrays ``(N, H, W)`` and returns ``(H, W)``,
with the same parameters and conventions as ``fusionlib.classical``. The benchmark
hands both sides the same list of sources: it times ``ref(np.stack(sources))`` here
against ``fusionlib.classical.fuse(name, sources)`` (and reports the reference alone
on the pre-stacked array beside it).
"""
from __future__ import annotations

import numpy as np
import pywt
from scipy import ndimage as ndi

W5 = np.array([1, 4, 6, 4, 1]) / 16.0


def _blur5(x, k=W5):
    return ndi.correlate1d(ndi.correlate1d(x, k, axis=-2, mode="mirror"), k, axis=-1, mode="mirror")


def _reduce(x):
    return _blur5(x)[..., ::2, ::2]


def _expand(x, shape):
    u = np.zeros(x.shape[:-2] + tuple(shape), x.dtype)
    u[..., ::2, ::2] = x
    return _blur5(u, 2 * W5)


def _gauss(x, n):
    g = [x]
    for _ in range(n - 1):
        g.append(_reduce(g[-1]))
    return g


def _lap(x, n):
    g = _gauss(x, n)
    return [g[k] - _expand(g[k + 1], g[k].shape[-2:]) for k in range(n - 1)] + [g[-1]]


def _lap_rec(p):
    x = p[-1]
    for lev in reversed(p[:-1]):
        x = lev + _expand(x, lev.shape[-2:])
    return x


def _pick(c, act=None):
    act = np.abs(c) if act is None else act
    return np.take_along_axis(c, act.argmax(0)[None], 0)[0]


def average(x):
    return x.mean(0)


def max_(x):
    return x.max(0)


def lp(x, n_levels=4):
    p = _lap(x, n_levels)
    return _lap_rec([_pick(l) for l in p[:-1]] + [p[-1].mean(0)])


def _ratio(x, n, eps):
    g = _gauss(x + eps, n)
    return [g[k] / _expand(g[k + 1], g[k].shape[-2:]) for k in range(n - 1)] + [g[-1]]


def _ratio_rec(p, eps):
    x = p[-1]
    for lev in reversed(p[:-1]):
        x = lev * _expand(x, lev.shape[-2:])
    return x - eps


def rp(x, n_levels=4, eps=1 / 255):
    p = _ratio(x, n_levels, eps)
    return _ratio_rec([l.max(0) for l in p[:-1]] + [p[-1].mean(0)], eps)


def contrast_pyramid(x, n_levels=4, eps=1 / 255):
    p = _ratio(x, n_levels, eps)
    return _ratio_rec([_pick(l - 1) + 1 for l in p[:-1]] + [p[-1].mean(0)], eps)


def dwt(x, wavelet="db2", n_levels=3, window=3):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cs = [pywt.wavedec2(s, wavelet, mode="periodization", level=n_levels) for s in x]
    fused = [np.mean([c[0] for c in cs], 0)]
    for lev in range(1, n_levels + 1):
        bands = []
        for j in range(3):
            d = np.stack([c[lev][j] for c in cs])
            act = ndi.uniform_filter(np.abs(d), size=(1, window, window), mode="constant") * window ** 2
            bands.append(_pick(d, act))
        fused.append(tuple(bands))
    out = pywt.waverec2(fused, wavelet, mode="periodization")
    return out[: x.shape[1], : x.shape[2]]


def msvd(x, n_levels=1):
    h, w = x.shape[1:]
    m = 2 ** n_levels
    x = np.pad(x, ((0, 0), (0, -h % m), (0, -w % m)), mode="symmetric")
    a, levels = x, []
    for _ in range(n_levels):
        hh, ww = a.shape[1:]
        X = np.stack([a[:, 0::2, 0::2], a[:, 1::2, 0::2], a[:, 0::2, 1::2], a[:, 1::2, 1::2]], 1)
        X = X.reshape(len(a), 4, -1)
        Us, Ts = [], []
        for Xi in X:
            U, _, _ = np.linalg.svd(Xi @ Xi.T)
            s = np.sign(U[np.abs(U).argmax(0), range(4)])
            U = U * np.where(s == 0, 1, s)
            Us.append(U)
            Ts.append(U.T @ Xi)
        Ts = np.stack(Ts)
        levels.append((np.mean(Us, 0), Ts[:, 1:], (hh, ww)))
        a = Ts[:, 0].reshape(len(a), hh // 2, ww // 2)
    f = a.mean(0)
    for U, det, (hh, ww) in reversed(levels):
        T = np.concatenate([f.reshape(1, -1), _pick(det)], 0)
        X = U @ T
        out = np.empty((hh, ww))
        out[0::2, 0::2], out[1::2, 0::2], out[0::2, 1::2], out[1::2, 1::2] = (r.reshape(hh // 2, ww // 2) for r in X)
        f = out
    return f[:h, :w]


def _boxmean(x, r):
    ones = np.ones(x.shape[-2:])
    s = ndi.uniform_filter(x, size=(1,) * (x.ndim - 2) + (2 * r + 1, 2 * r + 1), mode="constant")
    n = ndi.uniform_filter(ones, size=2 * r + 1, mode="constant")
    return s / n


def _gf(p, I, r, eps):
    mi, mp = _boxmean(I, r), _boxmean(p, r)
    a = (_boxmean(I * p, r) - mi * mp) / (_boxmean(I * I, r) - mi * mi + eps)
    b = mp - a * mi
    return _boxmean(a, r) * I + _boxmean(b, r)


def _laplace(x):
    k = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], float)
    return np.stack([ndi.correlate(c, k, mode="nearest") for c in x])


def gff(x, r1=45, eps1=0.3, r2=7, eps2=1e-6, base_size=31, lap_sigma=5.0, lap_size=11):
    g = np.exp(-((np.arange(lap_size) - lap_size // 2) ** 2) / (2 * lap_sigma ** 2))
    g /= g.sum()
    sal = ndi.correlate1d(ndi.correlate1d(np.abs(_laplace(x)), g, axis=-2, mode="nearest"), g, axis=-1,
                          mode="nearest")
    p = (sal.argmax(0)[None] == np.arange(len(x))[:, None, None]).astype(x.dtype)
    wb = np.clip(_gf(p, x, r1, eps1), 0, 1) + 1e-12
    wd = np.clip(_gf(p, x, r2, eps2), 0, 1) + 1e-12
    wb /= wb.sum(0)
    wd /= wd.sum(0)
    base = ndi.uniform_filter(x, size=(1, base_size, base_size), mode="nearest")
    return (wb * base + wd * (x - base)).sum(0)


def _others(x):
    return (x.sum(0, keepdims=True) - x) / (len(x) - 1)


def mgff(x, n_levels=4, radius=9, eps=1e3 / 255 ** 2):
    a, fd = x, 0
    for _ in range(n_levels):
        nxt = _gf(_others(a), a, radius, eps)
        d = a - nxt
        s = np.abs(d)
        tot = s.sum(0)
        wgt = np.where(tot > 0, s / np.where(tot > 0, tot, 1), 1 / len(x))
        fd = fd + (wgt * d).sum(0)
        a = nxt
    return a.mean(0) + fd


def cbf(x, sigma_s=1.8, sigma_r=25 / 255, ksize=11, cov_window=5):
    r = ksize // 2
    t = np.arange(ksize) - r
    gs = np.exp(-(t[:, None] ** 2 + t[None] ** 2) / (2 * sigma_s ** 2))
    gs /= gs.sum()
    guide = _others(x)
    xp = np.pad(x, ((0, 0), (r, r), (r, r)), mode="symmetric")
    gp = np.pad(guide, ((0, 0), (r, r), (r, r)), mode="symmetric")
    h, w = x.shape[1:]
    num = np.zeros_like(x)
    den = np.zeros_like(x)
    for dy in range(ksize):
        for dx in range(ksize):
            wgt = np.exp(-((gp[:, dy:dy + h, dx:dx + w] - guide) ** 2) / (2 * sigma_r ** 2)) * gs[dy, dx]
            num += wgt * xp[:, dy:dy + h, dx:dx + w]
            den += wgt
    d = x - num / den
    c = cov_window // 2
    dp = np.pad(d, ((0, 0), (c, c), (c, c)), mode="symmetric")
    win = np.lib.stride_tricks.sliding_window_view(dp, (cov_window, cov_window), axis=(1, 2))
    wts = win.var(axis=-2, ddof=1).sum(-1) + win.var(axis=-1, ddof=1).sum(-1)
    wts = np.where(wts <= 0, np.finfo(float).eps, wts)
    return (wts * x).sum(0) / wts.sum(0)


def adf(x, n_iter=10, delta_t=0.15, kappa=30 / 255, option=1):
    a = x.copy()
    offs = [(-1, 0, 1.0), (1, 0, 1.0), (0, -1, 1.0), (0, 1, 1.0), (-1, 1, .5), (1, 1, .5), (1, -1, .5), (-1, -1, .5)]
    h, w = x.shape[1:]
    for _ in range(n_iter):
        p = np.pad(a, ((0, 0), (1, 1), (1, 1)), mode="edge")
        upd = 0
        for dy, dx, wt in offs:
            g = p[:, 1 + dy:1 + dy + h, 1 + dx:1 + dx + w] - a
            c = np.exp(-(g / kappa) ** 2) if option == 1 else 1 / (1 + (g / kappa) ** 2)
            upd = upd + wt * c * g
        a = a + delta_t * upd
    d = x - a
    cov = np.cov(d.reshape(len(x), -1))
    vals, vecs = np.linalg.eigh(cov)
    k = vecs[:, -1] / vecs[:, -1].sum()
    return a.mean(0) + np.tensordot(k, d, 1)


def gtf(x, lam=4.0, n_iter=150, rho=3.0):
    f = x[0] - x[1]
    h, w = f.shape
    fy, fx = np.fft.fftfreq(h), np.fft.rfftfreq(w)
    eig = 1 + (2 - 2 * np.cos(2 * np.pi * fy))[:, None] + (2 - 2 * np.cos(2 * np.pi * fx))[None]

    def grad(y):
        return np.stack([np.roll(y, -1, 1) - y, np.roll(y, -1, 0) - y])

    def gradt(g):
        return (np.roll(g[0], 1, 1) - g[0]) + (np.roll(g[1], 1, 0) - g[1])
    y = f.copy()
    z, u = np.zeros_like(f), np.zeros_like(f)
    wv, v = grad(y), np.zeros((2, h, w))
    for _ in range(n_iter):
        y = np.fft.irfft2(np.fft.rfft2(f + z - u + gradt(wv - v)) / eig, s=(h, w))
        r = y - f + u
        z = np.sign(r) * np.maximum(np.abs(r) - 1 / rho, 0)
        g = grad(y)
        q = g + v
        mag = np.sqrt((q ** 2).sum(0, keepdims=True))
        wv = q * np.maximum(1 - (lam / rho) / np.maximum(mag, 1e-12), 0)
        u = u + y - f - z
        v = v + g - wv
    return y + x[1]


def mertens(x, wc=1.0, ws=1.0, we=1.0, sigma=0.2, n_levels=None):
    """Gray version (N, H, W): contrast and well-exposedness (no saturation for gray)."""
    h, w = x.shape[1:]
    n = n_levels or max(1, int(np.floor(np.log2(min(h, w)))))
    wgt = np.abs(_laplace(x)) ** wc * np.exp(-0.5 * (x - 0.5) ** 2 / sigma ** 2) ** we + 1e-12
    wgt /= wgt.sum(0)
    gw, lp_ = _gauss(wgt, n), _lap(x, n)
    return _lap_rec([(g * l).sum(0) for g, l in zip(gw, lp_)])


def focus_map(x, measure="sml", window=7, consistency=7):
    p = np.pad(x, ((0, 0), (1, 1), (1, 1)), mode="edge")
    h, w = x.shape[1:]
    c = p[:, 1:1 + h, 1:1 + w]
    ml = np.abs(2 * c - p[:, 1:1 + h, :w] - p[:, 1:1 + h, 2:]) + np.abs(2 * c - p[:, :h, 1:1 + w] - p[:, 2:, 1:1 + w])
    fm = ndi.uniform_filter(ml, size=(1, window, window), mode="constant")
    d = fm.argmax(0)
    onehot = (d[None] == np.arange(len(x))[:, None, None]).astype(float)
    d = ndi.uniform_filter(onehot, size=(1, consistency, consistency), mode="constant").argmax(0)
    return np.take_along_axis(x, d[None], 0)[0]


def _corr_small(x, d):
    """Correlation with a small kernel anchored at its top-left-centre (MATLAB floor((k+1)/2)),
    replicate borders: the convention of fusionlib.filters.filter2d."""
    kh, kw = d.shape
    t, l = (kh - 1) // 2, (kw - 1) // 2
    xp = np.pad(x, ((0, 0), (t, kh - 1 - t), (l, kw - 1 - l)), mode="edge")
    h, w = x.shape[1:]
    return sum(d[a, b] * xp[:, a:a + h, b:b + w] for a in range(kh) for b in range(kw))


def gradient_pyramid(x, n_levels=4):
    s2 = 1 / np.sqrt(2)
    filt = [np.array([[1.0, -1.0]]), np.array([[0, -s2], [s2, 0]]), np.array([[-1.0], [1.0]]),
            np.array([[-s2, 0], [0, s2]])]
    w3 = np.array([1, 2, 1]) / 4.0
    g = _gauss(x, n_levels)
    out = []
    for k in range(n_levels - 1):
        lap = g[k] - _expand(g[k + 1], g[k].shape[-2:])
        gg = g[k] + _blur5(g[k], w3)
        sal = sum(np.abs(_corr_small(gg, d)) for d in filt)
        out.append(_pick(lap, sal))
    out.append(g[-1].mean(0))
    return _lap_rec(out)


def dtcwt_fuse(x, n_levels=4):
    """Lewis et al. 2007 pixel rule on the `dtcwt` package's NumPy transform (near_sym_b, qshift_b):
    mean lowpass, largest-magnitude complex highpass (ties to the first source)."""
    import logging

    import dtcwt
    logging.disable(logging.WARNING)            # the package logs a warning for odd sizes
    t = dtcwt.Transform2d(biort="near_sym_b", qshift="qshift_b")
    pyr = [t.forward(s, nlevels=n_levels) for s in x]
    low = np.mean([p.lowpass for p in pyr], 0)
    highs = []
    for lev in range(n_levels):
        c = np.stack([p.highpasses[lev] for p in pyr])
        highs.append(_pick(c, np.abs(c)))
    out = t.inverse(dtcwt.Pyramid(low, tuple(highs)))
    logging.disable(logging.NOTSET)
    return out[: x.shape[1], : x.shape[2]]


def _gauss_np(x, sigma, mode):
    size = 2 * min(int(3 * sigma + 0.5), 255) + 1
    t = np.arange(size) - (size - 1) / 2
    k = np.exp(-t ** 2 / (2 * sigma ** 2))
    k /= k.sum()
    return ndi.correlate1d(ndi.correlate1d(x, k, axis=-2, mode=mode), k, axis=-1, mode=mode)


def _vsm_np(img):
    q = np.floor(np.clip(img, 0, 1) * 255 + 0.5).astype(int)
    counts = np.bincount(q.ravel(), minlength=256)
    lv = np.arange(256)
    table = (np.abs(lv[:, None] - lv[None, :]) * counts[None, :]).sum(1)
    v = table[q].astype(float)
    span = v.max() - v.min()
    return (v - v.min()) / span if span > 0 else np.zeros_like(v)


def vsmwls(x, n_levels=4, sigma_s=2.0, sigma_r=0.05, n_iter=4, sigma_base=2.0, sigma_c=2.0, lam=0.01,
           window=7, eps=1e-6):
    """Ma et al. 2017 as in the authors' MATLAB code: rolling-guidance + Gaussian layers, VSM base
    weights, and the WLS detail problem solved as the authors do, a sparse linear system (spsolve)."""
    from scipy import sparse
    from scipy.sparse.linalg import spsolve
    layers, g, s = [], x.astype(np.float64), sigma_s
    for _ in range(n_levels - 1):
        j = _gauss_np(g, s, "nearest")
        for _ in range(n_iter):
            j = _gf(g, j, int(round(s)), sigma_r ** 2)
        layers.append(g - j)
        g, s = j, 2 * s
    base = _gauss_np(g, sigma_base, "nearest")
    layers.append(g - base)
    v1, v2 = _vsm_np(x[0]), _vsm_np(x[1])
    f = (0.5 + 0.5 * (v1 - v2)) * base[0] + (0.5 + 0.5 * (v2 - v1)) * base[1]
    d1, d2 = layers[0]
    f = f + np.where(np.abs(d1) < np.abs(d2), d2, d1)
    n = d1.size
    for d1, d2 in layers[1:]:
        c = _gauss_np((np.abs(d1) < np.abs(d2)).astype(float), sigma_c, "reflect")
        m = c * d2 + (1 - c) * d1
        a = 1 / (np.abs(ndi.uniform_filter(d2, size=window, mode="nearest")) + eps)
        A = sparse.diags(a.ravel())
        lhs = (2 * sparse.identity(n) + lam * (A + A.T)).tocsc()
        rhs = 2 * m.ravel() + lam * ((A + A.T) @ d1.ravel())
        f = f + spsolve(lhs, rhs).reshape(d1.shape)
    return f


REFERENCES = {
    "average": average, "max": max_, "lp": lp, "rp": rp, "contrast_pyramid": contrast_pyramid,
    "gradient_pyramid": gradient_pyramid, "dwt": dwt, "msvd": msvd, "gff": gff, "mgff": mgff, "cbf": cbf,
    "adf": adf, "gtf": gtf, "mertens": mertens, "focus_map": focus_map, "dtcwt": dtcwt_fuse,
    "vsmwls": vsmwls,
}
