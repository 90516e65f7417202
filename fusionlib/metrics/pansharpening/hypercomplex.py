"""Pansharpening indices: the Q2n kernel (Garzelli-Nencini), on Cayley-Dickson hypercomplex numbers.

Used by :func:`fusionlib.metrics.pansharpening.q2n` (reduced resolution) and by HQNR (full resolution).
"""
from __future__ import annotations

import math

import torch

__all__ = ["q2n_kernel"]


_EPS = torch.finfo(torch.float64).eps


def _conj(v: torch.Tensor) -> torch.Tensor:
    return torch.cat([v[..., :1], -v[..., 1:]], dim=-1)


def _onion(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cayley-Dickson product of hypercomplex numbers stored on the last axis (toolbox convention)."""
    n = x.shape[-1]
    if n == 1:
        return x * y
    h = n // 2
    a, b = x[..., :h], _conj(x[..., h:])
    c, d = y[..., :h], _conj(y[..., h:])
    if n == 2:
        return torch.cat([a * c - d * b, a * d + c * b], dim=-1)
    return torch.cat([_onion(a, c) - _onion(d, _conj(b)), _onion(_conj(a), d) + _onion(c, b)], dim=-1)


def _pad_to_blocks(x: torch.Tensor, s: int, shift: int) -> torch.Tensor:
    h, w = x.shape[-2:]
    sx, sy = math.ceil(h / shift), math.ceil(w / shift)
    e1, e2 = (sx - 1) * shift + s - h, (sy - 1) * shift + s - w
    if e2 > 0:
        x = torch.cat([x, x[..., :, w - e2:].flip(-1)], dim=-1)
    if e1 > 0:
        x = torch.cat([x, x[..., h - e1:, :].flip(-2)], dim=-2)
    return x


def q2n_kernel(f: torch.Tensor, r: torch.Tensor, block_size: int = 32, shift: int | None = None,
               cast_uint16: bool = True) -> torch.Tensor:
    """Q2n of fused ``f`` against reference ``r`` (Garzelli-Nencini); (B,)."""
    s = block_size
    shift = s if shift is None else shift
    r = _pad_to_blocks(r, s, shift)
    f = _pad_to_blocks(f, s, shift)
    if cast_uint16:  # MATLAB uint16(): round half away from zero, saturate
        r = torch.floor(r.clamp(0, 65535) + 0.5)
        f = torch.floor(f.clamp(0, 65535) + 0.5)
    b, c, h, w = r.shape
    n2 = 1 << (c - 1).bit_length()
    if n2 > c:
        z = r.new_zeros(b, n2 - c, h, w)
        r, f = torch.cat([r, z], 1), torch.cat([f, z], 1)
    # blocks: (B, nb, n2, s*s) with the given shift
    ur = r.unfold(2, s, shift).unfold(3, s, shift)  # B, n2, ny, nx, s, s
    uf = f.unfold(2, s, shift).unfold(3, s, shift)
    ny, nx = ur.shape[2], ur.shape[3]
    ur = ur.permute(0, 2, 3, 1, 4, 5).reshape(b, ny * nx, n2, s * s)
    uf = uf.permute(0, 2, 3, 1, 4, 5).reshape(b, ny * nx, n2, s * s)
    npx = s * s
    mu = ur.mean(-1, keepdim=True)
    sd = ur.std(-1, keepdim=True)  # N-1, as std2
    sd = torch.where(sd == 0, torch.full_like(sd, _EPS), sd)
    z1 = (ur - mu) / sd + 1.0
    z2 = torch.where(mu == 0, uf + 1.0, (uf - mu) / sd + 1.0)
    z2 = _conj(z2.transpose(-1, -2))  # (B, nb, npx, n2), conjugated
    z1 = z1.transpose(-1, -2)
    m1, m2 = z1.mean(-2), z2.mean(-2)  # (B, nb, n2)
    k = npx / (npx - 1.0)
    q1m2, q2m2 = (m1 ** 2).sum(-1), (m2 ** 2).sum(-1)
    int1 = k * (z1 ** 2).sum(-1).mean(-1)
    int2 = k * (z2 ** 2).sum(-1).mean(-1)
    t3 = int1 + int2 - k * (q1m2 + q2m2)
    mean_bias = 2.0 * torch.sqrt(q1m2 * q2m2) / (q1m2 + q2m2)
    qu = _onion(z1, z2).mean(-2)
    qm = _onion(m1, m2)
    qv = k * qu - k * qm
    safe = torch.where(t3 == 0, torch.ones_like(t3), t3)
    qmod = torch.linalg.vector_norm(qv, dim=-1) * mean_bias * 2.0 / safe.abs()
    qmod = torch.where(t3 == 0, mean_bias, qmod)
    return qmod.mean(dim=1)
