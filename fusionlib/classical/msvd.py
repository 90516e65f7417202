"""Multi-resolution singular value decomposition (MSVD) and MSVD fusion."""
from __future__ import annotations

from typing import Any

import torch

from .._checks import ShapeError, check_int
from .._convert import as_tensor, restore
from ._common import pad_to_multiple, select_max_abs
from ._registry import MAX_LEVELS, register_method
from .._checks import int_param

__all__ = ["msvd_decompose", "msvd_reconstruct"]


def _to_cols(x: torch.Tensor) -> torch.Tensor:
    *lead, h, w = x.shape
    z = x.reshape(*lead, h // 2, 2, w // 2, 2)            # i, r, j, c
    # rows of X: (r, c) in order (0,0), (1,0), (0,1), (1,1)  -> index c * 2 + r
    z = z.movedim(len(lead) + 3, len(lead))               # c, i, r, j
    z = z.movedim(len(lead) + 2, len(lead) + 1)           # c, r, i, j
    return z.reshape(*lead, 4, (h // 2) * (w // 2))


def _from_cols(t: torch.Tensor, h: int, w: int) -> torch.Tensor:
    *lead, _, _ = t.shape
    n = len(lead)
    z = t.reshape(*lead, 2, 2, h // 2, w // 2)            # c, r, i, j
    z = z.permute(*range(n), n + 2, n + 1, n + 3, n)       # i, r, j, c
    return z.reshape(*lead, h, w)


def _msvd_level(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(..., H, W) even -> (U (..., 4, 4), T (..., 4, H/2, W/2)); ``X = U T``."""
    h, w = x.shape[-2:]
    X = _to_cols(x)
    # the 4x4 eigenproblem in float64: the three detail eigenvalues are often close, and a
    # float32 solve rotates their eigenvectors (and so the averaged U of the fusion rule)
    X64 = X.double() if X.device.type != "mps" else X
    S = X64 @ X64.transpose(-1, -2)
    evals, U = torch.linalg.eigh(S)
    U = U.flip(-1)                                        # descending, as svd
    # deterministic signs: the largest-magnitude entry of every column is positive
    idx = U.abs().argmax(dim=-2, keepdim=True)
    sign = torch.sign(torch.gather(U, -2, idx))
    U = (U * torch.where(sign == 0, torch.ones_like(sign), sign)).to(x.dtype)
    T = U.transpose(-1, -2) @ X
    return U, T.reshape(*T.shape[:-1], h // 2, w // 2)


def _msvd(x: torch.Tensor, n_levels: int):
    us, ds, shapes = [], [], []
    a = x
    for _ in range(n_levels):
        shapes.append(tuple(a.shape[-2:]))
        U, T = _msvd_level(a)
        us.append(U)
        ds.append(T[..., 1:, :, :])
        a = T[..., 0, :, :]
    return a, ds, us, shapes


def _imsvd(a: torch.Tensor, ds: list[torch.Tensor], us: list[torch.Tensor], shapes) -> torch.Tensor:
    for d, U, (h, w) in zip(reversed(ds), reversed(us), reversed(shapes)):
        T = torch.cat([a.unsqueeze(-3), d], dim=-3)
        X = U @ T.reshape(*T.shape[:-2], -1)
        a = _from_cols(X, h, w)
    return a


def msvd_decompose(image: Any, *, n_levels: int = 1):
    """Multi-resolution SVD of Naidu (2011).

    At each level the 2x2 blocks of the image form the columns of a 4 x (HW/4)
    matrix X; ``X X^T = U S^2 U^T`` and ``T = U^T X``: row 0 of T is the
    approximation (next level), rows 1-3 the detail bands.

    Parameters
    ----------
    image : (H, W), (C, H, W) or (B, C, H, W); H and W multiples of ``2**n_levels``
    n_levels : int >= 1

    Returns
    -------
    dict with ``approx`` (.., H/2^n, W/2^n), ``details`` (list, finest first,
    each (.., 3, h, w)), ``U`` (list of (.., 4, 4)).

    Notes
    -----
    Conventions: eigenvectors in descending order of eigenvalue, each column
    signed so that its largest-magnitude entry is positive; block rows in
    MATLAB column-major order.

    References
    ----------
    V. P. S. Naidu, "Image fusion technique using multi-resolution singular value
    decomposition", Def. Sci. J. 61(5) (2011) 479-484, doi:10.14429/dsj.61.705.
    """
    x, o = as_tensor(image, where="msvd_decompose", name="image")
    n = check_int("msvd_decompose", "n_levels", n_levels, minimum=1)
    h, w = x.shape[-2:]
    if h % 2 ** n or w % 2 ** n:
        raise ShapeError(f"msvd_decompose: `image` sides must be multiples of 2**n_levels = {2 ** n}; "
                         f"got {h}x{w}", expected=2 ** n, actual=(h, w))
    a, ds, us, _ = _msvd(x, n)
    return {"approx": restore(a, o), "details": [d if not o.numpy else d.numpy() for d in ds],
            "U": [u if not o.numpy else u.numpy() for u in us]}


def msvd_reconstruct(coeffs: dict) -> Any:
    """Inverse of :func:`msvd_decompose` (``X = U T`` level by level)."""
    a, o = as_tensor(coeffs["approx"], where="msvd_reconstruct", name="approx")
    ds = [torch.as_tensor(d).to(a.dtype) for d in coeffs["details"]]
    us = [torch.as_tensor(u).to(a.dtype) for u in coeffs["U"]]
    if a.ndim != ds[-1].ndim - 1:
        ds = [d.reshape(a.shape[:2] + d.shape[-3:]) for d in ds]
        us = [u.reshape(a.shape[:2] + (4, 4)) for u in us]
    shapes = [(2 * d.shape[-2], 2 * d.shape[-1]) for d in ds]
    return restore(_imsvd(a, ds, us, shapes), o)


def _msvd_size(p):
    n = p["n_levels"]
    return (2 ** n if isinstance(n, int) and n >= 1 else 1), f"n_levels={n}"


@register_method("msvd", full_name="Multi-resolution singular value decomposition fusion (MSVD)",
                 tasks=("infrared-visible", "multi-focus", "medical"),
                 reference="Naidu, Def. Sci. J. 61(5) 2011 479-484, doi:10.14429/dsj.61.705",
                 min_size=_msvd_size,
                 params=dict(n_levels=int_param(1, MAX_LEVELS)))
def _msvd_fuse(x: torch.Tensor, *, n_levels: int = 1) -> torch.Tensor:
    """MSVD fusion (Naidu 2011).

    Per level: ``U^F = mean_i U^i``; detail bands choose-max-abs; the top
    approximation is averaged; ``X^F = U^F T^F`` level by level.

    Parameters
    ----------
    n_levels : int, default 1
        Naidu's code (and VIFB's MSVD) uses one level.

    Notes
    -----
    Conventions: images whose sides are not multiples of ``2**n_levels`` are
    padded symmetrically at the bottom/right and cropped back. Averaging the
    eigenvector matrices follows the paper; it is sign-sensitive, hence the
    fixed sign convention of :func:`msvd_decompose`.
    """
    n_levels = check_int("msvd", "n_levels", n_levels, minimum=1)
    h, w = x.shape[-2:]
    xp = pad_to_multiple(x, 2 ** n_levels)
    a, ds, us, shapes = _msvd(xp, n_levels)
    fa = a.mean(1, keepdim=True)
    fds = [select_max_abs(d, 1).unsqueeze(1) for d in ds]
    fus = [u.mean(1, keepdim=True) for u in us]
    return _imsvd(fa, fds, fus, shapes)[..., :h, :w]
