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
    ok = np.isfinite(pf)
    px, pf = px[ok], pf[ok]
    order = np.argsort(pf, kind="stable")
    px, pf = px[order], pf[order]
    _, first = np.unique(px, axis=0, return_index=True)
    first = np.sort(first)[:k]
    if first.size == 0:
        return LX.copy(), Lf.copy()
    first = np.concatenate([first, np.full(k - first.size, first[0])]).astype(int)
    return px[first].copy(), pf[first].copy()


def empty_leaders(k: int, d: int):
    return np.zeros((k, d)), np.full(k, np.inf)
