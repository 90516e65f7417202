"""The IAOA adaptive pansharpening model, its ERGAS fitness and its closed-form optimum.

The model is the one the IAOA release implements (``initInput.m``, ``Fusion.m``, ``expEdge.m``,
``impGradDes.m``, ``ERGAS_Index.m`` of starboot/IAOA-For-Image-Fusion @ cce2a5c, after Azarang &
Ghassemian, ICEE 2017, which builds on AIHS, Rahmani et al., IEEE GRSL 7(4), 2010,
doi:10.1109/LGRS.2010.2046715):

1. ``R = imresize(imresize(MS, 1/r), r)`` (MATLAB bicubic, antialiased shrink), the fitness target;
   PAN as given when it has the MS size, else ``imresize(PAN, 1/r)``.
2. ``c_k = max R_k``, ``M_k = R_k / c_k``; ``P = PAN / max PAN``.
3. Edges ``E(X) = exp(-lam / (|grad X|^4 + eps))`` (``lam = 1e-9``, ``eps = 1e-10``; ``grad`` as
   MATLAB ``gradient``): ``E_P = E(P)``, ``E_k = E(M_k)``.
4. AIHS band weights ``alpha >= 0`` approximately minimising ``|P - sum alpha_k M_k|^2`` by the
   release's fixed-point iteration (150,000 steps, ``tau = 5``, ``gamma = 1/200000``), or by NNLS.
5. ``I = sum alpha_k M_k``; ``Pm = (P - mean P) std(I)/std(P) + mean(I)``; ``D = Pm - I``.
6. ``W_k = C M_k / sum_j M_j``.
7. Decision ``x in [-50, 50]^C`` -> ``w_k = (x_k + 50)/100``;
   ``Gamma_k = W_k (w_k E_P + (1 - w_k) E_k)``; ``F_k = c_k (M_k + Gamma_k D)``, no clipping.
8. Fitness ``ERGAS(R, F(x); ratio)``.

Closed form (derived for the book): ``R_k - F_k = -(B_k + w_k A_k)`` with
``A_k = c_k W_k (E_P - E_k) D`` and ``B_k = c_k W_k E_k D``, so

``fit^2 = (100/r)^2 (1/C) sum_k (|B_k|^2 + 2 w_k <A_k, B_k> + w_k^2 |A_k|^2) / (n mu_k^2)``,

a sum of independent convex 1-D quadratics: ``w_k* = clip(-<A_k,B_k>/|A_k|^2, 0, 1)``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .._checks import ShapeError, check_choice, check_finite, check_int, check_positive
from .._convert import as_tensor
from ..filters import imresize_bicubic

__all__ = ["AdaptiveModel", "ScoreTerms", "adaptive_model", "matlab_gradient", "edge_map", "aihs_weights",
           "degrade_iaoa", "IAOA_BOUNDS"]

IAOA_BOUNDS = (-50.0, 50.0)


def matlab_gradient(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """MATLAB ``gradient`` (= ``numpy.gradient``) of (..., H, W): ``(gx, gy)``, unit spacing.

    Central differences inside, one-sided differences on the first/last row and column.
    """
    def d(t, dim):
        n = t.shape[dim]
        if n < 2:
            return torch.zeros_like(t)
        out = torch.empty_like(t)
        sl = lambda a, b: t.narrow(dim, a, b - a)  # noqa: E731
        if n > 2:
            out.narrow(dim, 1, n - 2).copy_((sl(2, n) - sl(0, n - 2)) / 2.0)
        out.narrow(dim, 0, 1).copy_(sl(1, 2) - sl(0, 1))
        out.narrow(dim, n - 1, 1).copy_(sl(n - 1, n) - sl(n - 2, n - 1))
        return out
    return d(x, -1), d(x, -2)


def edge_map(x: torch.Tensor, lam: float = 1e-9, eps: float = 1e-10) -> torch.Tensor:
    """``E(X) = exp(-lam / (|grad X|^4 + eps))``, an almost binary "non-flat" mask (``expEdge.m``)."""
    gx, gy = matlab_gradient(x)
    g2 = gx * gx + gy * gy
    return torch.exp(-lam / (g2 * g2 + eps))


def aihs_weights(ms_norm: np.ndarray, pan_norm: np.ndarray, *, method: str = "fixed_point",
                 n_iter: int = 150_000, tau: float = 5.0, gamma: float = 1.0 / 200_000) -> np.ndarray:
    """AIHS band weights alpha >= 0 with ``P ~ sum_k alpha_k M_k``; (B, C) float64.

    ``method='fixed_point'`` runs the release's iteration (``impGradDes.m``)
    ``alpha <- (I + 2 tau gamma A)^-1 (alpha + 2 tau max(-alpha, 0) + 2 tau gamma b)`` from
    ``alpha = 1``, with ``A`` the Gram matrix of the bands and ``b_k = <P, M_k>``; it stops early only
    when the iterate is bitwise stationary (so the result equals the full ``n_iter`` steps). Images of
    a batch iterate together (about 4 s for 150,000 steps on one CPU core, any batch size).
    ``method='nnls'`` solves the non-negative least-squares problem exactly (scipy).
    """
    check_choice("aihs_weights", "method", method, ("fixed_point", "nnls"))
    m = np.asarray(ms_norm, dtype=np.float64)
    p = np.asarray(pan_norm, dtype=np.float64)
    b_, c = m.shape[:2]
    X = m.reshape(b_, c, -1)
    y = p.reshape(b_, -1)
    if method == "nnls":
        from scipy.optimize import nnls
        return np.stack([nnls(X[i].T, y[i])[0] for i in range(b_)])
    A = np.einsum("bkn,bjn->bkj", X, X)
    bv = np.einsum("bkn,bn->bk", X, y)
    Minv = np.linalg.inv(np.eye(c)[None] + 2 * tau * gamma * A)
    alpha = np.ones((b_, c))
    cst = 2 * tau * gamma * bv
    # the stationarity test runs every 64 steps only: once an iterate repeats bitwise, every later one
    # does too (the map is deterministic), so the result is the same as testing at every step
    for it in range(n_iter):
        new = np.einsum("bkj,bj->bk", Minv, alpha + 2 * tau * np.maximum(-alpha, 0.0) + cst)
        if not it & 63 and np.array_equal(new, alpha):
            break
        alpha = new
    return alpha


def degrade_iaoa(ms: torch.Tensor, ratio: int = 4) -> torch.Tensor:
    """``imresize(imresize(MS, 1/ratio, 'bicubic'), ratio, 'bicubic')`` on float data (IAOA protocol)."""
    return imresize_bicubic(imresize_bicubic(ms, 1.0 / ratio), float(ratio))


@dataclass(frozen=True, eq=False)
class AdaptiveModel:
    """The IAOA adaptive model of a batch of B image pairs, with everything precomputed.

    Arrays are float64 tensors: ``target`` R (B, C, H, W), ``scale`` c (B, C), ``ms_norm`` M,
    ``pan_norm`` P (B, 1, H, W), ``edge_pan`` E_P, ``edge_ms`` E_k, ``alpha`` (B, C), ``intensity`` I,
    ``pan_matched`` Pm, ``detail`` D = Pm - I, ``spectral_weights`` W. The quadratic coefficients
    ``aa = |A_k|^2``, ``ab = <A_k, B_k>``, ``bb = |B_k|^2`` and ``mu`` (band means of R) are (B, C).
    """

    target: torch.Tensor
    scale: torch.Tensor
    ms_norm: torch.Tensor
    pan_norm: torch.Tensor
    edge_pan: torch.Tensor
    edge_ms: torch.Tensor
    alpha: torch.Tensor
    intensity: torch.Tensor
    pan_matched: torch.Tensor
    detail: torch.Tensor
    spectral_weights: torch.Tensor
    aa: torch.Tensor
    ab: torch.Tensor
    bb: torch.Tensor
    mu: torch.Tensor
    ratio: float = 4.0
    lower: float = IAOA_BOUNDS[0]
    upper: float = IAOA_BOUNDS[1]
    diagnostics: dict = field(default_factory=dict)

    @property
    def n_images(self) -> int:
        return self.target.shape[0]

    @property
    def n_bands(self) -> int:
        return self.target.shape[1]

    @property
    def n_pixels(self) -> int:
        return self.target.shape[-2] * self.target.shape[-1]

    # -- decision vector -------------------------------------------------------------------------
    def to_weights(self, x: Any) -> torch.Tensor:
        """Decision vectors -> blend weights ``w = (x - lower)/(upper - lower)`` (not clipped)."""
        x = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x, dtype=torch.float64)
        return (x - self.lower) / (self.upper - self.lower)

    def to_decision(self, w: Any) -> torch.Tensor:
        w = torch.as_tensor(w, dtype=torch.float64)
        return self.lower + w * (self.upper - self.lower)

    def _check_x(self, x: Any, where: str) -> torch.Tensor:
        t = x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x, dtype=np.float64))
        t = t.to(torch.float64)
        if t.ndim == 1:
            t = t[None]
        if t.shape[-1] != self.n_bands:
            raise ShapeError(f"{where}: `x` must have {self.n_bands} decision variables in its last axis; "
                             f"got shape {tuple(t.shape)}", expected=self.n_bands, actual=tuple(t.shape))
        return t

    # -- images ----------------------------------------------------------------------------------
    def fuse(self, x: Any, image: int = 0) -> torch.Tensor:
        """Fused images ``F(x)`` (P, C, H, W) in the input's units for decision vectors ``x`` (P, C)."""
        x = self._check_x(x, "AdaptiveModel.fuse")
        if x.ndim != 2:
            raise ShapeError(f"AdaptiveModel.fuse: `x` must be (P, C); got {tuple(x.shape)}")
        w = self.to_weights(x)[:, :, None, None]
        i = image
        gamma = self.spectral_weights[i:i + 1] * (w * self.edge_pan[i:i + 1] + (1 - w) * self.edge_ms[i:i + 1])
        return self.scale[i][None, :, None, None] * (self.ms_norm[i:i + 1] + gamma * self.detail[i:i + 1])

    def fitness_images(self, x: Any, image: int = 0) -> torch.Tensor:
        """The fitness computed the slow way, on the fused images (ERGAS against R): (P,)."""
        f = self.fuse(x, image)
        r = self.target[image:image + 1]
        mse = ((f - r) ** 2).mean(dim=(2, 3))
        mu = r.mean(dim=(2, 3))
        return (100.0 / self.ratio) * torch.sqrt((mse / mu ** 2).mean(dim=1))

    # -- fast exact fitness ----------------------------------------------------------------------
    def fitness(self, x: Any, image: int | None = None) -> torch.Tensor:
        """ERGAS fitness of a population, exact, O(P) from the precomputed quadratic coefficients.

        ``x`` is (P, C) for one image (``image`` index, default 0 when B = 1) -> (P,), or (B, P, C)
        with ``image=None`` for every image at once -> (B, P). Decision vectors outside the bounds
        are evaluated as the formula says (AO evaluates unclipped candidates).
        """
        x = self._check_x(x, "AdaptiveModel.fitness")
        w = self.to_weights(x)
        if x.ndim == 2:
            i = 0 if image is None else image
            aa, ab, bb, mu = self.aa[i], self.ab[i], self.bb[i], self.mu[i]
        elif x.ndim == 3 and x.shape[0] == self.n_images and image is None:
            aa, ab, bb, mu = (t[:, None, :] for t in (self.aa, self.ab, self.bb, self.mu))
        else:
            raise ShapeError(f"AdaptiveModel.fitness: `x` must be (P, C) or ({self.n_images}, P, C); got "
                             f"{tuple(x.shape)}")
        q = (bb + w * (2.0 * ab + w * aa)).clamp_min(0.0)
        return (100.0 / self.ratio) * torch.sqrt((q / (self.n_pixels * mu * mu)).mean(dim=-1))

    def fitness_numpy(self, image: int = 0):
        """A NumPy ``(P, C) -> (P,)`` callable for optimisers (float64)."""
        aa, ab, bb, mu = (t[image].detach().cpu().numpy() for t in (self.aa, self.ab, self.bb, self.mu))
        k = 100.0 / self.ratio
        denom = self.n_pixels * mu * mu
        lo, span = self.lower, self.upper - self.lower

        def fit(x):
            w = (np.asarray(x, dtype=np.float64) - lo) / span
            q = np.maximum(bb + w * (2.0 * ab + w * aa), 0.0)
            return k * np.sqrt((q / denom).mean(axis=-1))
        return fit

    # -- closed-form optimum ---------------------------------------------------------------------
    def optimum_weights(self, bounded: bool = True) -> torch.Tensor:
        """``w_k* = clip(-<A_k,B_k>/|A_k|^2, 0, 1)`` (0 where ``|A_k| = 0``: any w is optimal); (B, C).

        ``bounded=False`` gives the unconstrained minimiser (no clipping): the lower bound for
        optimisers that evaluate candidates outside the box (IAOA's OBL/DRST samples, AO).
        """
        safe = torch.where(self.aa > 0, self.aa, torch.ones_like(self.aa))
        w = torch.where(self.aa > 0, -self.ab / safe, torch.zeros_like(self.aa))
        return w.clamp(0.0, 1.0) if bounded else w

    def optimum(self, bounded: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """The global minimiser ``x*`` (B, C) within the bounds (or unconstrained) and its fitness (B,)."""
        x = self.to_decision(self.optimum_weights(bounded))
        f = torch.stack([self.fitness(x[i:i + 1], i)[0] for i in range(self.n_images)])
        return x, f

    def optimum_on_bound(self) -> torch.Tensor:
        """(B, C) bool: whether ``w_k*`` sits on a bound (0 or 1) rather than inside."""
        safe = torch.where(self.aa > 0, self.aa, torch.ones_like(self.aa))
        raw = -self.ab / safe
        return (raw <= 0) | (raw >= 1) | (self.aa == 0)


    # -- exact reference scores ------------------------------------------------------------------
    def score_terms(self, reference: Any) -> "ScoreTerms":
        """Precompute what the six IAOA indices of ``F(x)`` against ``reference`` need (see ``scores``)."""
        t, _ = as_tensor(reference, where="AdaptiveModel.score_terms", name="reference",
                         dtype=torch.float64, device=self.target.device)
        if t.shape[0] == 1 and self.n_images > 1:
            t = t.expand(self.n_images, -1, -1, -1)
        if t.shape != self.target.shape:
            raise ShapeError(f"AdaptiveModel.score_terms: `reference` must have shape {tuple(self.target.shape)}; "
                             f"got {tuple(t.shape)}")
        c = self.scale[:, :, None, None]
        A = c * self.spectral_weights * (self.edge_pan - self.edge_ms) * self.detail
        G = self.target + c * self.spectral_weights * self.edge_ms * self.detail  # F at w = 0
        return ScoreTerms(reference=t, G=G, A=A)

    def scores(self, x: Any, terms: "ScoreTerms", image: int = 0,
               bands: tuple[int, ...] | None = None) -> dict[str, torch.Tensor]:
        """The six IAOA indices (CC, RMSE, ERGAS, UIQI, SAM, RASE) of ``F(x)`` for a population (P, C).

        Exact and without forming the P fused images: ``F_k = G_k + w_k A_k`` is affine in ``w_k``, so
        the error, correlation and Q terms are quadratics in ``w`` from per-band inner products, and
        the per-pixel SAM terms are matrix products. Conventions of ``metrics`` ``preset='iaoa'``
        (tested against :func:`fusionlib.metrics.pansharpening.iaoa_scores` on the images).
        ``bands`` restricts every index to those bands (e.g. ``(0, 1, 2)``: the visible bands, since
        the binary NIR band of the IAOA data dominates ERGAS and RASE).
        """
        x = self._check_x(x, "AdaptiveModel.scores")
        w = self.to_weights(x)  # (P, C)
        key = (image, None if bands is None else tuple(int(b) for b in bands))
        if key not in terms.cache:
            sel = slice(None) if bands is None else list(key[1])
            terms.cache[key] = _score_coefficients(terms.reference[image][sel], terms.G[image][sel],
                                                   terms.A[image][sel])
        if bands is not None:
            w = w[:, list(key[1])]
        k = terms.cache[key]
        C, n = k["C"], k["n"]
        sse = (k["dd"] - 2 * w * k["da"] + w * w * k["aa"]).clamp_min(0.0)  # (P, C)
        out = {}
        out["RMSE"] = torch.sqrt(sse.sum(1) / (C * n))
        out["ERGAS"] = (100.0 / self.ratio) * torch.sqrt((sse / n / k["mu_t"] ** 2).mean(1))
        out["RASE"] = 100.0 / k["mu_all"] * torch.sqrt((sse / n).mean(1))
        cov = k["gt"] + w * k["at"]
        varf = k["gg_c"] + 2 * w * k["ga_c"] + w * w * k["aa_c"]
        cc = cov / torch.sqrt(varf * k["tt_c"])
        out["CC"] = cc[:, :3].mean(1) if C >= 3 else cc.mean(1)
        N = C * n
        mx = k["mx"]
        my = (k["sum_g"] + w * k["sum_a"]).sum(1) / N
        ff = (k["g2"] + 2 * w * k["ga"] + w * w * k["aa"]).sum(1)
        tf = (k["tg_b"] + w * k["ta_b"]).sum(1)
        vy = (ff - N * my * my) / (N - 1)
        cxy = (tf - N * mx * my) / (N - 1)
        out["UIQI"] = 4 * cxy * mx * my / ((k["vx"] + vy) * (mx * mx + my * my))
        sams = []
        for i in range(0, w.shape[0], 32):  # chunks keep the (P, n) temporaries in cache
            wc = w[i:i + 32]
            dot = k["tg"][None] + wc @ k["ta"]
            nf = k["gg"][None] + wc @ k["ga2"] + (wc * wc) @ k["a2"]
            norm = torch.sqrt(nf.clamp_min(0.0) * k["nt"][None])
            valid = norm > 0
            cos = torch.where(valid, dot / torch.where(valid, norm, torch.ones_like(norm)), torch.ones_like(norm))
            ang = torch.arccos(cos.clamp(-1.0, 1.0))
            sams.append(torch.rad2deg((ang * valid).sum(1) / valid.sum(1)))
        out["SAM"] = torch.cat(sams)
        return {k: out[k] for k in ("CC", "RMSE", "ERGAS", "UIQI", "SAM", "RASE")}


@dataclass(frozen=True, eq=False)
class ScoreTerms:
    """Reference ``T`` (B, C, H, W), ``G = F(w=0)`` and ``A = dF/dw`` of an :class:`AdaptiveModel`."""

    reference: torch.Tensor
    G: torch.Tensor
    A: torch.Tensor
    cache: dict = field(default_factory=dict)


def _score_coefficients(T: torch.Tensor, G: torch.Tensor, A: torch.Tensor) -> dict:
    """Per-image inner products and per-pixel arrays behind :meth:`AdaptiveModel.scores`."""
    C = T.shape[0]
    n = T.shape[-1] * T.shape[-2]
    T2, G2, A2 = T.reshape(C, -1), G.reshape(C, -1), A.reshape(C, -1)
    D = T2 - G2
    Tc, Gc, Ac = (z - z.mean(1, keepdim=True) for z in (T2, G2, A2))
    N = C * n
    mx = T2.sum() / N
    return dict(C=C, n=n, dd=(D * D).sum(1), da=(D * A2).sum(1), aa=(A2 * A2).sum(1), mu_t=T2.mean(1),
                mu_all=T2.mean(), gt=(Gc * Tc).sum(1), at=(Ac * Tc).sum(1), gg_c=(Gc * Gc).sum(1),
                ga_c=(Gc * Ac).sum(1), aa_c=(Ac * Ac).sum(1), tt_c=(Tc * Tc).sum(1), mx=mx,
                sum_g=G2.sum(1), sum_a=A2.sum(1), g2=(G2 * G2).sum(1), ga=(G2 * A2).sum(1),
                tg_b=(T2 * G2).sum(1), ta_b=(T2 * A2).sum(1), vx=((T2 - mx) ** 2).sum() / (N - 1),
                tg=(T2 * G2).sum(0), ta=T2 * A2, gg=(G2 * G2).sum(0), ga2=2 * G2 * A2, a2=A2 * A2,
                nt=(T2 * T2).sum(0))


def adaptive_model(ms: Any, pan: Any, *, ratio: int = 4, weights: str = "fixed_point",
                   lam: float = 1e-9, eps: float = 1e-10, degrade: bool = True,
                   bounds: tuple[float, float] = IAOA_BOUNDS, zero_sum: str = "nan",
                   device: Any = None) -> AdaptiveModel:
    """Build the IAOA adaptive model of one or more MS/PAN pairs.

    Parameters
    ----------
    ms : array or tensor, (C, H, W) or (B, C, H, W)
        The multispectral image (the IAOA reference), float DN preferred (uint8 is read as /255;
        the model is scale invariant, only the fused image's units follow the input's).
    pan : array or tensor, (H, W), (1, H, W) or (B, 1, H, W)
        PAN of the MS size (used as is, the IAOA data) or ``ratio`` times larger (shrunk by
        ``imresize(PAN, 1/ratio)`` as the release does).
    ratio : int
        Scale ratio of the degradation (4).
    weights : {'fixed_point', 'nnls'}
        AIHS weights by the release's iteration or by exact NNLS.
    degrade : bool
        ``True`` (the IAOA protocol): the target R is ``MS`` shrunk and re-expanded by ``ratio``.
        ``False``: ``ms`` is already the (upsampled) low-resolution MS and is the target itself.
    bounds : (lower, upper)
        Decision bounds (``[-50, 50]`` in the release), mapped linearly to ``w in [0, 1]``.
    zero_sum : {'nan', 'equal'}
        Pixels where the band sum of the normalised MS is 0: ``'nan'`` keeps the release's 0/0
        (a NaN fitness, counted in ``diagnostics``); ``'equal'`` sets ``W_k = 1`` there (a documented
        deviation, needed for synthetic scenes with black pixels).

    Raises
    ------
    ShapeError
        MS/PAN sizes inconsistent with ``ratio``, or an MS side not divisible by ``ratio``.
    ValueError
        Inverted bounds, NaN input, or a non-positive band maximum.
    """
    where = "adaptive_model"
    ratio = check_int(where, "ratio", ratio, minimum=1)
    check_choice(where, "weights", weights, ("fixed_point", "nnls"))
    check_choice(where, "zero_sum", zero_sum, ("nan", "equal"))
    check_positive(where, "lam", lam)
    check_positive(where, "eps", eps)
    lo, hi = float(bounds[0]), float(bounds[1])
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo >= hi:
        raise ValueError(f"{where}: `bounds` must be finite with lower < upper; got {bounds}")
    m, _ = as_tensor(ms, where=where, name="ms", dtype=torch.float64, device=device)
    p, _ = as_tensor(pan, where=where, name="pan", dtype=torch.float64, device=device)
    check_finite(where, "ms", m)
    check_finite(where, "pan", p)
    if m.shape[1] < 2:
        raise ShapeError(f"{where}: `ms` must have at least 2 bands; got shape {tuple(m.shape)}")
    if p.shape[1] != 1:
        raise ShapeError(f"{where}: `pan` must have one band; got shape {tuple(p.shape)}")
    if p.shape[0] not in (1, m.shape[0]):
        raise ShapeError(f"{where}: `pan` batch {p.shape[0]} does not match `ms` batch {m.shape[0]}")
    H, W = m.shape[-2:]
    if degrade and (H % ratio or W % ratio):
        raise ShapeError(f"{where}: `ms` sides must be multiples of `ratio`={ratio}; got {H}x{W}")
    if p.shape[-2:] == (H, W):
        pass
    elif p.shape[-2:] == (H * ratio, W * ratio):
        p = imresize_bicubic(p, 1.0 / ratio)
    else:
        raise ShapeError(f"{where}: `pan` must be {H}x{W} or {H * ratio}x{W * ratio} for `ms` {H}x{W} and "
                         f"ratio {ratio}; got {p.shape[-2]}x{p.shape[-1]}",
                         expected=(H, W), actual=tuple(p.shape[-2:]))
    p = p.expand(m.shape[0], -1, -1, -1)
    target = degrade_iaoa(m, ratio) if degrade else m
    c = target.amax(dim=(2, 3))
    if bool((c <= 0).any()):
        raise ValueError(f"{where}: every band of the (degraded) MS needs a positive maximum; got {c.tolist()}")
    mn = target / c[:, :, None, None]
    pmax = p.amax(dim=(2, 3), keepdim=True)
    if bool((pmax <= 0).any()):
        raise ValueError(f"{where}: `pan` must have a positive maximum")
    pn = p / pmax
    e_p = edge_map(pn, lam, eps)
    e_k = edge_map(mn, lam, eps)
    alpha_np = aihs_weights(mn.cpu().numpy(), pn.cpu().numpy(), method=weights)
    alpha = torch.as_tensor(alpha_np, dtype=torch.float64, device=m.device)
    inten = (alpha[:, :, None, None] * mn).sum(dim=1, keepdim=True)
    dims = (2, 3)
    pm = ((pn - pn.mean(dims, keepdim=True)) * inten.std(dim=dims, keepdim=True)
          / pn.std(dim=dims, keepdim=True) + inten.mean(dims, keepdim=True))
    detail = pm - inten
    tot = mn.sum(dim=1, keepdim=True)
    wsp = mn.shape[1] * mn / tot
    n_zero = int((tot == 0).sum())
    if zero_sum == "equal":
        wsp = torch.where(tot == 0, torch.ones_like(wsp), wsp)
    bad = ~torch.isfinite(wsp)
    big = torch.isfinite(wsp) & (wsp.abs() > 100)
    A = c[:, :, None, None] * wsp * (e_p - e_k) * detail
    B = c[:, :, None, None] * wsp * e_k * detail
    aa = (A * A).sum(dims)
    ab = (A * B).sum(dims)
    bb = (B * B).sum(dims)
    diag = {"nonfinite_weights": int(bad.sum()), "outsized_weights": int(big.sum()),
            "zero_sum_pixels": n_zero, "zero_sum": zero_sum, "weights_method": weights}
    return AdaptiveModel(target=target, scale=c, ms_norm=mn, pan_norm=pn, edge_pan=e_p, edge_ms=e_k,
                         alpha=alpha, intensity=inten, pan_matched=pm, detail=detail, spectral_weights=wsp,
                         aa=aa, ab=ab, bb=bb, mu=target.mean(dims), ratio=float(ratio), lower=lo, upper=hi,
                         diagnostics=diag)
