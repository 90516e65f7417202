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

    The same rule without a loop: in stable fitness order, a point is picked when every value up
    to it is finite and no earlier point equals it (an earlier equal point was either picked or
    itself equal to an earlier pick); the first k picks are the leaders, fewer picks are padded
    with the first one, and a run with none keeps its leaders. A run with a ``-inf`` value goes
    through :func:`leaders_topk` itself (its fast path accepts ``-inf`` leaders, its loop stops
    at them).
    """
    R, k = Lf.shape
    px = np.concatenate([LX, X], axis=-2)
    pf = np.concatenate([Lf, f], axis=-1)
    order = np.argsort(pf, axis=-1, kind="stable")
    sx = np.take_along_axis(px, order[..., None], axis=-2)           # (R, M, D) in fitness order
    sf = np.take_along_axis(pf, order, axis=-1)                      # (R, M)
    m = sf.shape[1]
    eq = (sx[:, :, None, :] == sx[:, None, :, :]).all(axis=-1)       # (R, M, M)
    eq &= np.tri(m, m, -1, dtype=bool)                               # j < i only
    pick = ~eq.any(axis=-1) & np.logical_and.accumulate(np.isfinite(sf), axis=-1)
    n_pick = np.count_nonzero(pick, axis=-1)
    idx = np.argsort(~pick, axis=-1, kind="stable")[:, :k]           # the picks first, in order
    idx = np.where(np.arange(k) < np.minimum(n_pick, k)[:, None], idx, idx[:, :1])
    out_x = np.take_along_axis(sx, idx[..., None], axis=-2)
    out_f = np.take_along_axis(sf, idx, axis=-1)
    none = n_pick == 0
    if none.any():
        out_x[none], out_f[none] = LX[none], Lf[none]
    for r in np.flatnonzero(sf[:, 0] == -np.inf):
        out_x[r], out_f[r] = leaders_topk(LX[r], Lf[r], X[r], f[r])
    return out_x, out_f
