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


def _earlier_equal(S: np.ndarray) -> np.ndarray:
    """(R, M) True where point ``S[r, i]`` equals (every coordinate ``==``, as ``np.array_equal``)
    some ``S[r, j]`` with ``j < i``; ``S`` (R, M, D). Coordinates are compared one at a time and
    the comparison stops as soon as no pair is left."""
    m = S.shape[1]
    e = S[:, :, None, 0] == S[:, None, :, 0]
    e &= np.tri(m, m, -1, dtype=bool)
    for j in range(1, S.shape[2]):
        if not e.any():
            break
        e &= S[:, :, None, j] == S[:, None, :, j]
    return e.any(axis=-1)


def leaders_topk_batch(LX: np.ndarray, Lf: np.ndarray, X: np.ndarray, f: np.ndarray):
    """:func:`leaders_topk` for R runs at once: ``LX`` (R, k, D), ``Lf`` (R, k), ``X`` (R, P, D),
    ``f`` (R, P). Run ``r`` of the result equals ``leaders_topk(LX[r], Lf[r], X[r], f[r])``.

    Its usual case (the k first in stable fitness order have a finite last value and are pairwise
    distinct) for all runs at once; the other runs follow its loop without a loop: in stable
    fitness order a point is picked when every value up to it is finite and no earlier point
    equals it (an earlier equal point was either picked or itself equal to an earlier pick); the
    first k picks are the leaders, fewer picks are padded with the first one, and a run with none
    keeps its leaders.
    """
    R, k = Lf.shape
    px = np.concatenate([LX, X], axis=-2)
    pf = np.concatenate([Lf, f], axis=-1)
    order = np.argsort(pf, axis=-1, kind="stable")
    top = order[:, :k]
    rr = np.arange(R)[:, None]
    out_x, out_f = px[rr, top], pf[rr, top]
    bad = ~np.isfinite(out_f[:, -1])
    bad |= _earlier_equal(out_x).any(axis=-1)
    if bad.any():
        b = np.flatnonzero(bad)
        ob = order[b]
        sx, sf = px[b[:, None], ob], pf[b[:, None], ob]                  # fitness order
        pick = ~_earlier_equal(sx)
        pick &= np.logical_and.accumulate(np.isfinite(sf), axis=-1)
        n_pick = np.count_nonzero(pick, axis=-1)
        idx = np.argsort(~pick, axis=-1, kind="stable")[:, :k]        # the picks first, in order
        idx = np.where(np.arange(k) < np.minimum(n_pick, k)[:, None], idx, idx[:, :1])
        rb = np.arange(b.size)[:, None]
        bx, bf = sx[rb, idx], sf[rb, idx]
        none = n_pick == 0
        bx[none], bf[none] = LX[b[none]], Lf[b[none]]
        out_x[b], out_f[b] = bx, bf
    return out_x, out_f


def leaders_chain_batch(LX: np.ndarray, Lf: np.ndarray, X: np.ndarray, f: np.ndarray):
    """:func:`leaders_chain` for R runs at once: ``LX`` (R, k, D), ``Lf`` (R, k), ``X`` (R, P, D),
    ``f`` (R, P). Run ``r`` of the result equals ``leaders_chain(LX[r], Lf[r], X[r], f[r])``.

    Individuals stay sequential (each sees the leaders the previous ones left); the runs move
    together. The chain stops at the first leader k with ``f_i < Lf_k`` and replaces it only when
    no earlier leader equals ``f_i`` (every earlier one has ``Lf_j <= f_i``). Both facts in one
    test: take the first leader with ``f_i <= Lf_k``; candidate i replaces it exactly when
    ``f_i < Lf_k`` there (when it is equal, the chain is blocked; when no leader has
    ``f_i <= Lf_k``, ``argmax`` gives leader 0, which is below ``f_i``: no change).
    """
    LX, Lf = LX.copy(), Lf.copy()
    rows = np.arange(Lf.shape[0])
    for i in range(f.shape[-1]):
        fi = f[:, i]
        kk = (fi[:, None] <= Lf).argmax(axis=-1)    # the first leader not below f_i
        ok = fi < Lf[rows, kk]
        if ok.any():
            r, k = rows[ok], kk[ok]
            LX[r, k] = X[r, i]
            Lf[r, k] = fi[ok]
    return LX, Lf
