"""Leader memories of GWO (α, β, δ) and EO (the equilibrium pool): MATLAB chain vs exact top-k."""
from __future__ import annotations

import numpy as np


def leaders_chain(LX: np.ndarray, Lf: np.ndarray, X: np.ndarray, f: np.ndarray):
    """The released codes' sequential leader update (GWO.m, EO.m), individual by individual:
    candidate i replaces leader k when f_i < Lf_k and f_i > Lf_0..Lf_{k-1} (strictly), without
    shifting the replaced leader down. Leaders start at the origin with +inf (so an unfilled
    leader pulls towards 0, as in the MATLAB code)."""
    LX, Lf = LX.copy(), Lf.copy()
    for i in range(len(f)):
        fi = f[i]
        for k in range(len(Lf)):
            if fi < Lf[k]:
                if np.all(fi > Lf[:k]):
                    LX[k], Lf[k] = X[i], fi
                break
    return LX, Lf


def leaders_topk(LX: np.ndarray, Lf: np.ndarray, X: np.ndarray, f: np.ndarray):
    """The k best distinct points among the previous leaders and the population (ties: stable).
    Missing leaders (fewer than k distinct finite points) repeat the best one."""
    k = len(Lf)
    px = np.concatenate([LX, X])
    pf = np.concatenate([Lf, f])
    order = np.argsort(pf, kind="stable")
    top = order[:k]
    if top.size == k and np.isfinite(pf[top[-1]]):
        # usual case: the k best are finite and pairwise distinct -> they are the answer
        cand = px[top]
        same = (cand[:, None, :] == cand[None, :, :]).all(axis=2)
        if np.count_nonzero(same) == k:
            return cand, pf[top]
    picked: list[int] = []
    for idx in order:
        if not np.isfinite(pf[idx]):
            break
        x = px[idx]
        if any(np.array_equal(x, px[j]) for j in picked):
            continue
        picked.append(int(idx))
        if len(picked) == k:
            break
    if not picked:
        return LX.copy(), Lf.copy()
    picked += [picked[0]] * (k - len(picked))
    return px[picked].copy(), pf[picked].copy()


def empty_leaders(k: int, d: int):
    return np.zeros((k, d)), np.full(k, np.inf)


def leaders_topk_batch(LX: np.ndarray, Lf: np.ndarray, X: np.ndarray, f: np.ndarray):
    """:func:`leaders_topk` for R runs at once: ``LX`` (R, k, D), ``Lf`` (R, k), ``X`` (R, P, D),
    ``f`` (R, P). Run ``r`` of the result equals ``leaders_topk(LX[r], Lf[r], X[r], f[r])``.

    The usual case (the k best of a run are finite and pairwise distinct) is one stable argsort of
    all runs; the other runs (ties of identical points, fewer than k finite values) go through
    :func:`leaders_topk` one by one.
    """
    k = Lf.shape[-1]
    px = np.concatenate([LX, X], axis=-2)
    pf = np.concatenate([Lf, f], axis=-1)
    top = np.argsort(pf, axis=-1, kind="stable")[:, :k]
    cand = np.take_along_axis(px, top[..., None], axis=-2)            # (R, k, D)
    cf = np.take_along_axis(pf, top, axis=-1)                         # (R, k)
    same = (cand[:, :, None, :] == cand[:, None, :, :]).all(axis=-1)  # (R, k, k)
    ok = np.isfinite(cf[:, -1]) & (np.count_nonzero(same, axis=(1, 2)) == k)
    if not ok.all():
        for r in np.flatnonzero(~ok):
            cand[r], cf[r] = leaders_topk(LX[r], Lf[r], X[r], f[r])
    return cand, cf
