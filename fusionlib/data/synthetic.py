"""Synthetic fusion samples made from any image, and the four embedded data sets.

The generators turn one clean image into a fusion problem whose answer is
known. They work on ``(H, W)`` or ``(C, H, W)`` arrays (float in [0, 1] or
uint8) and return a :class:`~fusionlib.data.Sample`. Every output is quantised
to the 8-bit grid (``round(255 x) / 255``), like real data, so
``Dataset.get(i, dtype="uint8")`` gives exact integers for embedded sets too.

===================== ================================================= ==========
generator              model                                             reference
===================== ================================================= ==========
make_multifocus        complementary binary focus masks, Gaussian        the sharp
                       defocus outside each source's mask               image
make_multiexposure     gamma CRF, exposure scaling in linear radiance,   the input
                       clipping, 8-bit quantisation
make_irvis             IR-like: inverted smoothed luminance plus hot     none
                       blobs; visible: dark, hazy, noisy (SYNTHETIC)
make_pansharpening     Wald's protocol: MS blurred by a Gaussian with    full-res
                       the sensor's MTF gain at Nyquist, decimated by    MS
                       ``ratio``; PAN = weighted band sum at full res
===================== ================================================= ==========

The embedded sets (``embedded_multifocus`` ...) apply these to scikit-image's
bundled images (those that load offline, ``book_toolchain.md`` §9), centre-
cropped to a square and resized to ``size`` (default 256).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

from .._checks import ShapeError, check_choice, check_int, check_positive
from ..filters import luma, sensor_gains
from ..utils import as_rng
from ._base import DATASETS, Dataset, DatasetInfo, Sample

__all__ = ["quantize8", "prepare_image", "make_multifocus", "make_multiexposure", "make_irvis",
           "make_pansharpening", "mtf_sigma", "gaussian_mtf_kernel", "MTF_GAINS", "PAN_WEIGHTS",
           "skimage_image", "EMBEDDED_IMAGES"]


# ----------------------------------------------------------------------------- helpers

def quantize8(x: np.ndarray) -> np.ndarray:
    """Round to the 8-bit grid: ``round(255·clip(x, 0, 1)) / 255`` as float32.

    Examples
    --------
    >>> quantize8(np.array([-0.1, 0.5, 0.999])) * 255
    array([  0., 128., 255.], dtype=float32)
    """
    return (np.rint(np.clip(x, 0.0, 1.0) * 255.0) / 255.0).astype(np.float32)


def _as_chw(image: Any, where: str) -> np.ndarray:
    try:
        import torch
        if isinstance(image, torch.Tensor):
            image = image.detach().cpu().numpy()
    except ImportError:  # pragma: no cover
        pass
    if not isinstance(image, np.ndarray):
        raise TypeError(f"{where}: `image` must be a numpy.ndarray or torch.Tensor; got {type(image).__name__}")
    a = image
    if a.dtype == np.uint8:
        a = a.astype(np.float32) / np.float32(255.0)
    elif np.issubdtype(a.dtype, np.floating):
        a = a.astype(np.float32)
        if not np.isfinite(a).all():
            raise ValueError(f"{where}: `image` contains NaN or Inf")
        lo, hi = float(a.min()), float(a.max())
        if lo < -1e-6 or hi > 1 + 1e-6:
            raise ValueError(f"{where}: `image` values must lie in [0, 1] (or pass uint8); got [{lo:.4g}, {hi:.4g}]")
    else:
        raise TypeError(f"{where}: `image` must be uint8 or float in [0, 1]; got dtype {a.dtype}")
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3 or a.shape[0] not in (1, 3):
        raise ShapeError(f"{where}: `image` must be (H, W) or (C, H, W) with C in (1, 3); got shape "
                         f"{tuple(image.shape)}", expected="(H, W) or (C, H, W)", actual=tuple(image.shape))
    if min(a.shape[1:]) < 16:
        raise ShapeError(f"{where}: `image` must be at least 16x16; got {a.shape[1]}x{a.shape[2]}",
                         expected=(16, 16), actual=a.shape[1:])
    return np.clip(a, 0.0, 1.0)


def _luma(x: np.ndarray) -> np.ndarray:
    """BT.601 luma (:func:`fusionlib.filters.luma`, ``0.299 R + 0.587 G + 0.114 B``) of a (C, H, W)
    array -> (1, H, W) float32."""
    if x.shape[0] == 1:
        return x
    return luma(torch.from_numpy(np.ascontiguousarray(x))[None])[0].numpy().astype(np.float32)


def _gauss(x: np.ndarray, sigma: float) -> np.ndarray:
    from scipy.ndimage import gaussian_filter
    return np.stack([gaussian_filter(c.astype(np.float64), sigma, mode="reflect", truncate=4.0)
                     for c in x]).astype(np.float32)


def prepare_image(image: Any, size: int | None = 256) -> np.ndarray:
    """Centre-crop to a square and resize to ``size``×``size`` (float32 ``(C, H, W)``, 8-bit grid).

    Accepts ``(H, W)``, ``(C, H, W)`` and, for scikit-image arrays, ``(H, W, 3)``.
    ``size=None`` only converts. Resizing is bilinear with anti-aliasing
    (``skimage.transform.resize``).
    """
    a = np.asarray(image)
    if a.ndim == 3 and a.shape[-1] in (3, 4) and a.shape[0] not in (1, 3):
        a = np.moveaxis(a[..., :3], -1, 0)
    x = _as_chw(a, "prepare_image")
    if size is None:
        return quantize8(x)
    size = check_int("prepare_image", "size", size, minimum=16)
    _, h, w = x.shape
    s = min(h, w)
    y0, x0 = (h - s) // 2, (w - s) // 2
    x = x[:, y0:y0 + s, x0:x0 + s]
    if s != size:
        from skimage.transform import resize
        x = resize(x, (x.shape[0], size, size), order=1, anti_aliasing=s > size,
                   preserve_range=True).astype(np.float32)
    return quantize8(x)


# Offline scikit-image images used by the embedded sets (book_toolchain.md §9).
EMBEDDED_IMAGES = {
    "multi-focus": ("astronaut", "coffee", "chelsea", "rocket", "camera", "clock", "coins",
                    "immunohistochemistry"),
    "multi-exposure": ("astronaut", "coffee", "chelsea", "rocket", "stereo_motorcycle",
                       "immunohistochemistry", "camera", "moon"),
    "infrared-visible": ("camera", "coins", "clock", "astronaut", "coffee", "chelsea", "rocket",
                         "stereo_motorcycle"),
    "pansharpening": ("astronaut", "coffee", "chelsea", "rocket", "stereo_motorcycle",
                      "immunohistochemistry"),
}


def skimage_image(name: str) -> np.ndarray:
    """A bundled scikit-image image as uint8 (H, W) or (H, W, 3); offline only."""
    import skimage.data as skd

    valid = sorted({n for v in EMBEDDED_IMAGES.values() for n in v} | {"moon", "brick", "grass", "gravel",
                                                                      "page", "text", "cat", "hubble_deep_field"})
    check_choice("skimage_image", "name", name, valid)
    img = getattr(skd, name)()
    if isinstance(img, tuple):  # stereo_motorcycle: (left, right, disparity)
        img = img[0]
    return np.asarray(img)


def _child_rng(seed: int | np.random.Generator | None, index: int) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(np.random.SeedSequence([0 if seed is None else int(seed), index]))


def _range(where: str, name: str, value: float | Sequence[float], rng: np.random.Generator) -> float:
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{where}: `{name}` must be a number or a (low, high) pair; got {value!r}")
        lo = check_positive(where, name, value[0])
        hi = check_positive(where, name, value[1])
        if hi < lo:
            raise ValueError(f"{where}: `{name}` must have low <= high; got {value!r}")
        return float(rng.uniform(lo, hi))
    return check_positive(where, name, value)


def _sample(task: str, sources: list, reference, meta: dict, id: str = "custom") -> Sample:
    meta = {"task": task, "synthetic": True, **meta}
    return Sample(id, sources, reference, meta)


# ----------------------------------------------------------------------------- multi-focus

def _smooth_mask(h: int, w: int, rng: np.random.Generator, smoothness: float) -> np.ndarray:
    from scipy.ndimage import gaussian_filter
    noise = rng.standard_normal((h, w))
    field = gaussian_filter(noise, smoothness * min(h, w), mode="wrap")
    return (field > np.median(field)).astype(np.float32)


def _halfplane_mask(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    theta = rng.uniform(0, 2 * np.pi)
    cy, cx = h * rng.uniform(0.35, 0.65), w * rng.uniform(0.35, 0.65)
    yy, xx = np.mgrid[0:h, 0:w]
    return ((xx - cx) * np.cos(theta) + (yy - cy) * np.sin(theta) > 0).astype(np.float32)


def make_multifocus(image: Any, *, seed: int | np.random.Generator | None = 0, mask: str = "random",
                    sigma: float | tuple[float, float] = (1.5, 3.0), smoothness: float = 0.08) -> Sample:
    """Multi-focus pair from a sharp image (complementary defocus).

    ``A = M·I + (1 − M)·G_σ(I)`` and ``B = (1 − M)·I + M·G_σ(I)``, both rounded
    to 8 bits, where ``M`` is a binary focus mask and ``G_σ`` a Gaussian
    defocus (reflect border). Source A is therefore exactly the reference where
    ``M = 1``, B where ``M = 0``.

    Parameters
    ----------
    image : ndarray or Tensor, (H, W) or (C, H, W), uint8 or float in [0, 1]
        The all-in-focus image (the reference).
    seed : int or numpy.random.Generator
        Seeds the mask and the blur strength.
    mask : {'random', 'halfplane'}
        ``'random'``: smooth random regions (Gaussian-filtered noise thresholded
        at its median, so about half the pixels); ``'halfplane'``: a random
        straight boundary near the centre.
    sigma : float or (low, high)
        Gaussian defocus std in pixels (drawn uniformly from the range).
    smoothness : float
        Std of the noise filter as a fraction of the image side (``'random'``).

    Returns
    -------
    Sample
        ``sources = [A, B]``, ``reference`` = the image on the 8-bit grid;
        ``meta["masks"] = [M, 1 − M]`` (1, H, W), ``meta["sigma"]``.

    Examples
    --------
    >>> img = np.linspace(0, 1, 32 * 32).reshape(32, 32)
    >>> s = make_multifocus(img, seed=0, mask="halfplane", sigma=2.0)
    >>> m = s.meta["masks"][0] > 0
    >>> bool((s.sources[0][m] == s.reference[m]).all())
    True
    """
    where = "make_multifocus"
    ref = quantize8(_as_chw(image, where))
    check_choice(where, "mask", mask, ("random", "halfplane"))
    smoothness = check_positive(where, "smoothness", smoothness)
    rng = as_rng(seed)
    s = _range(where, "sigma", sigma, rng)
    _, h, w = ref.shape
    m = _smooth_mask(h, w, rng, smoothness) if mask == "random" else _halfplane_mask(h, w, rng)
    blurred = quantize8(_gauss(ref, s))
    a = np.where(m[None] > 0, ref, blurred).astype(np.float32)
    b = np.where(m[None] > 0, blurred, ref).astype(np.float32)
    return _sample("multi-focus", [a, b], ref,
                   {"masks": [m[None], (1.0 - m)[None]], "sigma": s, "mask_kind": mask,
                    "modalities": ["focus A", "focus B"]})


# ----------------------------------------------------------------------------- multi-exposure

def make_multiexposure(image: Any, *, seed: int | np.random.Generator | None = 0,
                       stops: float | tuple[float, float] = (2.0, 3.0), gamma: float = 2.2) -> Sample:
    """Under-/over-exposed pair from a well-exposed image (simulated camera).

    Linear radiance ``L = I^γ`` (inverse of a gamma camera response), exposure
    scaled by ``2^(−s_u)`` and ``2^(+s_o)`` stops, clipped to the sensor's
    [0, 1], mapped back by the CRF ``x^(1/γ)`` and quantised to 8 bits:
    ``E_k = round(255·min(1, 2^(±s)·L)^(1/γ)) / 255``.

    Parameters
    ----------
    image : (H, W) or (C, H, W), uint8 or float in [0, 1]
        The well-exposed image (the reference).
    seed : int or Generator
        Seeds the two exposure offsets.
    stops : float or (low, high)
        Exposure offsets in stops (EV); each of ``s_u``, ``s_o`` drawn from the range.
    gamma : float
        CRF exponent (2.2, the sRGB-like display gamma).

    Returns
    -------
    Sample
        ``sources = [under, over]``, ``reference`` = the image on the 8-bit grid,
        ``meta["stops"] = (−s_u, +s_o)``, ``meta["gamma"]``.
    """
    where = "make_multiexposure"
    ref = quantize8(_as_chw(image, where))
    gamma = check_positive(where, "gamma", gamma)
    rng = as_rng(seed)
    s_u = _range(where, "stops", stops, rng)
    s_o = _range(where, "stops", stops, rng)
    radiance = ref.astype(np.float64) ** gamma
    under = quantize8(np.clip(radiance * 2.0 ** -s_u, 0, 1) ** (1 / gamma))
    over = quantize8(np.clip(radiance * 2.0 ** s_o, 0, 1) ** (1 / gamma))
    return _sample("multi-exposure", [under, over], ref,
                   {"stops": (-s_u, s_o), "gamma": gamma, "modalities": ["under-exposed", "over-exposed"]})


# ----------------------------------------------------------------------------- IR-visible

def make_irvis(image: Any, *, seed: int | np.random.Generator | None = 0, n_blobs: int = 3,
               darkness: float = 0.35, haze: float = 0.08, noise: float = 0.02) -> Sample:
    """A SYNTHETIC infrared-like / visible pair (no real thermal physics).

    * IR-like (1 channel): ``0.15 + 0.5·(1 − G_2(Y)) + Σ_k a_k·exp(−|p − c_k|²/(2 s_k²))``,
      clipped, where ``Y`` is the BT.601 luma and ``G_2`` a Gaussian of std 2 px
      (thermal images are smooth; inverted luminance makes bright sky cold),
      plus ``n_blobs`` "hot objects" with amplitude ``a_k`` ∈ [0.4, 0.7] and
      size ``s_k`` ∈ [0.03, 0.08]·side.
    * visible (1 channel): low light and haze ``darkness·Y + haze`` plus
      Gaussian noise of std ``noise``.

    Both quantised to 8 bits. There is no ground truth (``reference=None``);
    ``meta["blobs"]`` lists the hot objects ``(cy, cx, s, a)`` so a chapter can
    check that a fused image keeps them.
    """
    where = "make_irvis"
    x = quantize8(_as_chw(image, where))
    n_blobs = check_int(where, "n_blobs", n_blobs, minimum=0)
    darkness = check_positive(where, "darkness", darkness)
    haze = check_positive(where, "haze", haze, strict=False)
    noise = check_positive(where, "noise", noise, strict=False)
    rng = as_rng(seed)
    y = _luma(x)
    _, h, w = y.shape
    ir = 0.15 + 0.5 * (1.0 - _gauss(y, 2.0).astype(np.float64))
    yy, xx = np.mgrid[0:h, 0:w]
    blobs = []
    for _ in range(n_blobs):
        cy, cx = rng.uniform(0.15, 0.85) * h, rng.uniform(0.15, 0.85) * w
        s = rng.uniform(0.03, 0.08) * min(h, w)
        a = rng.uniform(0.4, 0.7)
        ir = ir + a * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * s * s))[None]
        blobs.append((float(cy), float(cx), float(s), float(a)))
    vis = darkness * y.astype(np.float64) + haze + noise * rng.standard_normal(y.shape)
    return _sample("infrared-visible", [quantize8(ir), quantize8(vis)], None,
                   {"blobs": blobs, "darkness": darkness, "haze": haze, "noise": noise,
                    "modalities": ["infrared (synthetic)", "visible (synthetic low light)"]})


# ----------------------------------------------------------------------------- pansharpening

#: MTF gains at the MS Nyquist frequency per sensor, band order R, G, B, NIR: the R, G, B, NIR view of the
#: one sensor table :data:`fusionlib.filters.SENSOR_GAINS` (toolbox order B, G, R, NIR), under the sensor
#: names ``make_pansharpening`` accepts. "generic" (0.3) is the toolbox default for unlisted sensors.
MTF_GAINS = {name: sensor_gains(name, "RGBN")[0] for name in ("QuickBird", "IKONOS", "GeoEye-1", "generic")}
# Spectral weights of the simulated PAN over (R, G, B, NIR): a flat-ish 450-900 nm response like
# QuickBird's PAN band. Our assumption, not a sensor calibration.
PAN_WEIGHTS = (0.3, 0.3, 0.1, 0.3)


def mtf_sigma(gain: float, ratio: int = 4) -> float:
    """Std (HR pixels) of the Gaussian whose frequency response is ``gain`` at the MS Nyquist.

    The Gaussian's response is ``exp(−2π²σ²f²)``; setting it to ``G`` at
    ``f = 1/(2·ratio)`` cycles per pixel gives ``σ = (ratio/π)·√(−2 ln G)``
    (≈ 1.87 px for G = 0.34, ratio 4; ``pansharpening_protocols.md`` §2).

    Examples
    --------
    >>> round(mtf_sigma(0.34, 4), 4)
    1.8702
    """
    gain = check_positive("mtf_sigma", "gain", gain)
    if gain >= 1:
        raise ValueError(f"mtf_sigma: `gain` must be in (0, 1); got {gain}")
    ratio = check_int("mtf_sigma", "ratio", ratio, minimum=1)
    return float(ratio / np.pi * np.sqrt(-2.0 * np.log(gain)))


def gaussian_mtf_kernel(gain: float, ratio: int = 4, size: int = 41) -> np.ndarray:
    """The sampled, unit-sum ``size``×``size`` Gaussian of :func:`mtf_sigma` (float64): the filter of
    the embedded pansharpening data set (:func:`make_pansharpening`).

    Its response at the MS Nyquist is ``gain`` and it sums to 1. It is **not** the MTF filter of
    Vivone's toolbox (:func:`fusionlib.filters.mtf_kernel`, genMTF: a Kaiser-windowed Gaussian frequency
    response) that ``pansharpening.protocols.degrade_wald`` uses: that one sums to ~0.9987 and responds
    0.93-0.95 ``gain`` at the Nyquist; the kernels differ by up to ~5 % of their peak. So the embedded data
    are degraded by an ideal Gaussian MTF, not by the toolbox filter.
    """
    size = check_int("gaussian_mtf_kernel", "size", size, minimum=3)
    if size % 2 == 0:
        raise ValueError(f"gaussian_mtf_kernel: `size` must be odd; got {size}")
    s = mtf_sigma(gain, ratio)
    t = np.arange(size) - size // 2
    g = np.exp(-t ** 2 / (2 * s * s))
    k = np.outer(g, g)
    return k / k.sum()


#: Former name of :func:`gaussian_mtf_kernel`, kept only while chapter 02 (``book/02_data.ipynb``) calls it
#: (issue #17: one name per filter; ``fusionlib.filters.mtf_kernel`` is the toolbox filter).
mtf_kernel = gaussian_mtf_kernel


def _separable_mtf(band: np.ndarray, gain: float, ratio: int, size: int = 41) -> np.ndarray:
    """``correlate(band, gaussian_mtf_kernel(gain, ratio, size), mode="nearest")`` done as two 1-D passes
    (the kernel is the outer product of one normalised 1-D Gaussian)."""
    from scipy.ndimage import correlate1d
    s = mtf_sigma(gain, ratio)
    t = np.arange(size) - size // 2
    g = np.exp(-t ** 2 / (2 * s * s))
    g /= g.sum()
    return correlate1d(correlate1d(band, g, axis=0, mode="nearest"), g, axis=1, mode="nearest")


def _synthetic_nir(rgb: np.ndarray) -> np.ndarray:
    r, g, b = rgb.astype(np.float64)
    # Vegetation (green > red, blue) is bright in NIR; otherwise NIR follows red/green brightness.
    return np.clip(0.5 * r + 0.4 * g + 1.5 * np.maximum(g - 0.5 * (r + b), 0.0), 0.0, 1.0)[None]


def make_pansharpening(image: Any, *, ratio: int = 4, sensor: str = "QuickBird",
                       nir: np.ndarray | None = None) -> Sample:
    """Reduced-resolution pansharpening sample by Wald's protocol.

    From an RGB image ``(3, H, W)`` (``H``, ``W`` multiples of ``ratio``):

    1. reference MS = (R, G, B, NIR) at full resolution, NIR given or synthetic
       (``clip(0.5 R + 0.4 G + 1.5·max(G − (R + B)/2, 0))``: vegetation bright);
    2. PAN = ``Σ_b w_b·MS_b`` with ``PAN_WEIGHTS`` (full resolution, 1 band);
    3. MS_LR: each band filtered by the Gaussian of :func:`gaussian_mtf_kernel` with the
       sensor's Nyquist gain (``MTF_GAINS``, replicate border), then decimated
       by ``ratio`` keeping rows/columns ``ratio//2, ratio//2 + ratio, ...``
       (the phase of MATLAB ``imresize(·, 1/r, 'nearest')``, protocols note §1).

    All three are quantised to 8 bits. Deterministic (no randomness).

    Returns
    -------
    Sample
        ``sources = [ms (4, H/r, W/r), pan (1, H, W)]``, ``reference`` =
        full-resolution MS (4, H, W); ``meta["ratio"]``, ``meta["sensor"]``,
        ``meta["scene"] = "synthetic"``, ``meta["mtf_gains"]``.
    """
    where = "make_pansharpening"
    x = quantize8(_as_chw(image, where))
    if x.shape[0] != 3:
        raise ShapeError(f"{where}: `image` must be RGB (3, H, W); got {x.shape[0]} channel(s)",
                         expected=3, actual=x.shape[0])
    ratio = check_int(where, "ratio", ratio, minimum=2)
    check_choice(where, "sensor", sensor, list(MTF_GAINS))
    _, h, w = x.shape
    if h % ratio or w % ratio:
        raise ShapeError(f"{where}: image sides must be multiples of `ratio`={ratio}; got {h}x{w}",
                         expected=ratio, actual=(h, w))
    if nir is None:
        nir_band = _synthetic_nir(x)
    else:
        nir_band = _as_chw(np.asarray(nir), where)
        if nir_band.shape != (1, h, w):
            raise ShapeError(f"{where}: `nir` must be (H, W) = ({h}, {w}); got {tuple(np.shape(nir))}",
                             expected=(h, w), actual=tuple(np.shape(nir)))
    ref = quantize8(np.concatenate([x, nir_band], axis=0))
    pan = quantize8(np.tensordot(np.asarray(PAN_WEIGHTS), ref.astype(np.float64), axes=1)[None])
    gains = MTF_GAINS[sensor]
    low = np.stack([_separable_mtf(ref[b].astype(np.float64), gains[b], ratio) for b in range(4)])
    o = ratio // 2
    ms = quantize8(low[:, o::ratio, o::ratio])
    return _sample("pansharpening", [ms, pan], ref,
                   {"ratio": ratio, "sensor": sensor, "scene": "synthetic", "mtf_gains": gains,
                    "pan_weights": PAN_WEIGHTS, "bands": ("R", "G", "B", "NIR (synthetic)"),
                    "modalities": ["MS", "PAN"]})


# ----------------------------------------------------------------------------- embedded sets

def _embedded_loader(task: str, make, *, rgb_only: bool = False):
    def loader(info: DatasetInfo, root=None, *, subset=None, verify=True, size: int | None = None,
               seed: int = 0) -> Dataset:
        if subset is not None:
            raise ValueError(f"load({info.name!r}): `subset` is not supported by this data set; got {subset!r}")
        size_ = 256 if size is None else check_int(f"load({info.name!r})", "size", size, minimum=32)
        seed_ = check_int(f"load({info.name!r})", "seed", seed, minimum=0)
        names = EMBEDDED_IMAGES[task]
        cache: dict[int, Sample] = {}   # generated once per Dataset; callers get copies

        def build(i: int, dtype: str) -> Sample:
            name = names[i]
            if i not in cache:
                img = prepare_image(skimage_image(name), size_)
                s = make(img, _child_rng(seed_, i))
                meta = {**s.meta, "dataset": info.name, "source_image": f"skimage.data.{name}",
                        "size": size_, "seed": seed_, "index": i}
                cache[i] = Sample(name, s.sources, s.reference, meta)
            s = cache[i]
            if dtype == "uint8":
                conv = (lambda a: np.rint(a * 255.0).astype(np.uint8))
            else:
                conv = np.copy
            return Sample(name, [conv(a) for a in s.sources],
                          None if s.reference is None else conv(s.reference), dict(s.meta))

        return Dataset(info, names, build, root=None)
    return loader


def _mf(img, rng):
    return make_multifocus(img, seed=rng, mask="halfplane" if rng.integers(2) else "random")


def _me(img, rng):
    return make_multiexposure(img, seed=rng)


def _ir(img, rng):
    return make_irvis(img, seed=rng)


def _ps(img, rng):
    return make_pansharpening(img, ratio=4, sensor="QuickBird")


_SKIMAGE_CITE = ("S. van der Walt et al., \"scikit-image: image processing in Python\", PeerJ 2:e453 (2014); "
                 "images bundled with scikit-image.")
_SKIMAGE_LICENCE = ("Generated from scikit-image's bundled images (public domain / CC0 / permissive, see "
                    "skimage.data docs); the generated data may be redistributed with the book.")


def _embedded_info(name, title, task, loader, description, has_reference, modalities, n):
    return DatasetInfo(name=name, title=title, tasks=(task,), description=description, citation=_SKIMAGE_CITE,
                       doi="10.7717/peerj.453", licence=_SKIMAGE_LICENCE, source_repo="scikit-image/scikit-image",
                       source_commit="", download_url="", folder="", embedded=True, synthetic=True,
                       has_reference=has_reference, n_samples=n, modalities=modalities,
                       sizes="size×size (default 256×256)", loader=loader)


DATASETS.add("embedded_multifocus", _embedded_info(
    "embedded_multifocus", "Embedded multi-focus pairs (synthetic defocus)", "multi-focus",
    _embedded_loader("multi-focus", _mf),
    "8 pairs from scikit-image images: complementary binary focus masks (random smooth regions or "
    "half-planes, alternating by seed), Gaussian defocus σ ∈ [1.5, 3]; reference = the sharp image.",
    True, ("focus A", "focus B"), len(EMBEDDED_IMAGES["multi-focus"])))

DATASETS.add("embedded_multiexposure", _embedded_info(
    "embedded_multiexposure", "Embedded multi-exposure pairs (simulated camera)", "multi-exposure",
    _embedded_loader("multi-exposure", _me),
    "8 pairs: gamma-2.2 camera response, exposure −2..−3 EV and +2..+3 EV in linear radiance, clipping, "
    "8-bit quantisation; reference = the well-exposed image.",
    True, ("under-exposed", "over-exposed"), len(EMBEDDED_IMAGES["multi-exposure"])))

DATASETS.add("embedded_irvis", _embedded_info(
    "embedded_irvis", "Embedded infrared-visible pairs (SYNTHETIC)", "infrared-visible",
    _embedded_loader("infrared-visible", _ir),
    "8 SYNTHETIC pairs (not thermal data): IR-like = inverted smoothed luminance + 3 hot blobs; visible = "
    "dark, hazy, noisy luminance. No reference; meta['blobs'] lists the hot objects.",
    False, ("infrared (synthetic)", "visible (synthetic)"), len(EMBEDDED_IMAGES["infrared-visible"])))

DATASETS.add("embedded_pansharpening", _embedded_info(
    "embedded_pansharpening", "Embedded pansharpening scenes (Wald's protocol)", "pansharpening",
    _embedded_loader("pansharpening", _ps),
    "6 scenes: MS = (R, G, B, synthetic NIR) at full resolution as reference; PAN = weighted band sum; "
    "MS_LR = QuickBird-MTF Gaussian blur + decimation by 4 (size 256: MS 64×64, PAN 256×256).",
    True, ("MS", "PAN"), len(EMBEDDED_IMAGES["pansharpening"])))
