"""Inference-only fused AE-Netv2 (exact algebraic rewrites, float32 kept).

:func:`fuse_for_inference` turns a trained :class:`~fusionlib.nets.models.AENetV2`
(R = GCB, eval-mode BatchNorm) into :class:`FusedAENetV2`, which computes the same
function with fewer operations and less memory traffic:

1. **BN folding.** ``BN(conv(x)) = conv'(x)`` with ``W' = W * g/sqrt(v+eps)`` and
   ``b' = (b - m) * g/sqrt(v+eps) + beta``, for C1 (BN(64)) and C2 (BN(1)).
2. **Gray inputs.** The default model repeats each gray source to 3 channels (Table I's
   6 input channels); for gray sources the 3 kernels of a source are summed once, so C1
   reads 2 channels instead of 6 (3x fewer C1 multiply-adds, same result).
3. **Shuffle absorbed.** ``C2(h + S g) = conv(h, W2) + conv(g, W2 S)`` with ``S`` the
   channel-shuffle permutation. Because of the identity skip the shuffle is *not*
   removable outright here; it is absorbable into C2's weights.
4. **Composition** (``mode="composed"``; default ``"exact"``, which was faster here). Between C1's ReLU and C2's BN+ReLU
   everything is linear: ``h -> h + S GC(h) -> conv(., W2)``. Two stacked 3x3 convs
   compose into one 5x5 conv (kernel = true convolution of the two kernels), so
   ``R`` + skip + shuffle + C2 become a single 5x5 conv 64->1. This is exact except on
   the outermost 1-pixel ring, where zero padding of the intermediate feature differs;
   that ring is recomputed with the exact path on 4-pixel border crops.
5. On CPU (float32) the composed path runs C1 and the 5x5 conv as two BLAS matrix products
   per block of pixels (``_composed_gemm``), keeping the 64-channel feature in cache.
6. C1+ReLU (and C2+ReLU) run as one oneDNN call with a fused post-op when the CPU
   build has ``torch.ops.mkldnn._convolution_pointwise`` (channels-last activations);
   otherwise plain ``conv2d``.

The result differs from the eval-mode training graph only by float32 rounding;
:func:`max_abs_difference` measures it (about 1e-6 on [0, 1] images).
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .models import AENetV2, prepare_sources

__all__ = ["FusedAENetV2", "fuse_for_inference", "max_abs_difference"]


def _fold_bn(weight: torch.Tensor, bias: torch.Tensor | None, bn: nn.BatchNorm2d):
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    w = weight * scale.view(-1, *([1] * (weight.ndim - 1)))
    b0 = bias if bias is not None else torch.zeros_like(bn.running_mean)
    return w, (b0 - bn.running_mean) * scale + bn.bias


def _compose(outer: torch.Tensor, inner: torch.Tensor) -> torch.Tensor:
    """Kernel of ``conv(conv(h, inner), outer)`` (both 3x3 cross-correlations, stride 1):
    ``K[i, u] = sum_o sum_{s+t=u} outer[o, s] inner[o, i, t]`` -> (n_out, n_in, 5, 5)."""
    n_out, n_mid = outer.shape[:2]
    n_in = inner.shape[1]
    k = outer.new_zeros(n_out, n_in, 5, 5)
    for sy in range(3):
        for sx in range(3):
            # (n_out, n_mid) @ (n_mid, n_in * 9)
            part = outer[:, :, sy, sx] @ inner.reshape(n_mid, n_in * 9)
            k[:, :, sy:sy + 3, sx:sx + 3] += part.reshape(n_out, n_in, 3, 3)
    return k


def _has_mkldnn_pointwise() -> bool:
    try:
        return torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_convolution_pointwise")
    except Exception:  # pragma: no cover - exotic builds
        return False


class FusedAENetV2(nn.Module):
    """Inference-only AE-Netv2 with R = GCB (see the module docstring).

    Parameters
    ----------
    model : AENetV2
        block 'gcb', ``bn_position='c1'``, ``output='relu'``; skip and shuffle on or off.
    mode : {'composed', 'exact'}
        'composed': one 5x5 conv for R + skip + C2 (ring fixed exactly); 'exact': BN folded,
        group conv kept, shuffle absorbed into C2.

    Shape:
        ``forward(a, b)`` (or a list of sources) each ``(B, 1 or 3, H, W)`` -> ``(B, 1, H, W)``
        in [0, 1].
    """

    def __init__(self, model: AENetV2, *, mode: str = "exact"):
        super().__init__()
        if not isinstance(model, AENetV2) or model.block_name != "gcb" or model.bn_position != "c1" \
                or model.output != "relu":
            raise ValueError("fuse_for_inference: supports AENetV2(block='gcb', bn_position='c1', "
                             "output='relu') only")
        if mode not in ("composed", "exact"):
            raise ValueError(f"fuse_for_inference: `mode` must be 'composed' or 'exact'; got {mode!r}")
        self.mode = mode
        self.n_sources, self.source_channels = model.n_sources, model.source_channels
        self.check_inputs = model.check_inputs
        self.pointwise = _has_mkldnn_pointwise()
        with torch.no_grad():
            w1, b1 = _fold_bn(model.c1_conv.weight, model.c1_conv.bias, model.bn)
            n, c = model.n_sources, model.source_channels
            w1_gray = w1.reshape(w1.shape[0], n, c, 3, 3).sum(2)
            gconv = model.block.conv
            groups, width = gconv.groups, w1.shape[0]
            w2, b2 = _fold_bn(model.c2_conv.weight, None, model.c2_bn)
            if isinstance(model.block.shuffle, nn.Identity):
                perm = torch.arange(width, device=w2.device)
            else:
                perm = torch.arange(width, device=w2.device).reshape(groups, width // groups).t().reshape(-1)
            # shuffled[:, j] = g[:, perm[j]]  =>  conv(shuffled, W2) = conv(g, W2s), W2s[:, perm[j]] = W2[:, j]
            w2s = torch.empty_like(w2)
            w2s[:, perm] = w2
            # dense (block-diagonal) version of the group conv for the composition
            cpg = width // groups
            dense = w2.new_zeros(width, width, 3, 3)
            for gi in range(groups):
                sl = slice(gi * cpg, (gi + 1) * cpg)
                dense[sl, sl] = gconv.weight[sl]
            k5 = _compose(w2s, dense)
            if model.skip:
                k5[:, :, 1:4, 1:4] += w2
        self.groups, self.skip = groups, model.skip
        self.register_buffer("w1", w1.detach().clone())
        self.register_buffer("w1_gray", w1_gray.detach().clone())
        self.register_buffer("b1", b1.detach().clone())
        self.register_buffer("wg", gconv.weight.detach().clone())
        self.register_buffer("w2", w2.detach().clone())
        self.register_buffer("w2s", w2s.detach().clone())
        self.register_buffer("b2", b2.detach().clone())
        self.register_buffer("k5", k5.detach().clone())

    # ---------------------------------------------------------------- helpers
    def _stack(self, a: Any, b: Any) -> tuple[torch.Tensor, torch.Tensor]:
        srcs = [a, b] if b is not None else (list(a.unbind(1)) if isinstance(a, torch.Tensor) else list(a))
        if len(srcs) == self.n_sources and all(isinstance(s, torch.Tensor) and s.ndim == 4 and s.shape[1] == 1
                                               for s in srcs):
            x = torch.cat(srcs, 1)
            if len({(s.shape[0], s.shape[2], s.shape[3]) for s in srcs}) > 1:
                x = prepare_sources("FusedAENetV2", srcs, self.n_sources, self.source_channels)
                return x, self.w1
            if self.check_inputs and not bool(torch.isfinite(x).all()):
                raise ValueError("FusedAENetV2: input contains NaN or Inf values")
            return x, self.w1_gray
        return prepare_sources("FusedAENetV2", srcs, self.n_sources, self.source_channels,
                               check_finite=self.check_inputs), self.w1

    def _conv_relu(self, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None, pad: int,
                   relu: bool = True) -> torch.Tensor:
        if self.pointwise and x.device.type == "cpu" and x.dtype == torch.float32:
            x = x.contiguous(memory_format=torch.channels_last)
            return torch.ops.mkldnn._convolution_pointwise(
                x, w, b, [pad, pad], [1, 1], [1, 1], 1, "relu" if relu else "none", [None], None)
        y = F.conv2d(x, w, b, padding=pad)
        return y.relu_() if relu else y

    def _exact(self, x: torch.Tensor, w1: torch.Tensor) -> torch.Tensor:
        h = self._conv_relu(x, w1, self.b1, 1)
        g = F.conv2d(h, self.wg, padding=1, groups=self.groups)
        y = F.conv2d(g, self.w2s, self.b2, padding=1)
        if self.skip:
            y = y + F.conv2d(h, self.w2, padding=1)
        return y.relu_().clamp_(max=1.0)

    def _composed_gemm(self, x: torch.Tensor, w1: torch.Tensor, chunk: int = 1 << 16) -> torch.Tensor:
        """C1 + ReLU + the composed 5x5 conv as two matrix products per pixel block (CPU).

        ``h = relu(cols(x) @ W1 + b1)`` with ``cols`` the 3x3 neighbourhoods ((P, C*9), built from
        9 shifted views), then ``z = h @ K`` with ``K`` (64, O*25) the 25 taps of the 5x5 kernel,
        and the output is the sum of the 25 tap planes shifted into place (zero padding 2, as the
        5x5 conv). The 64-channel feature lives only per block of ``chunk`` pixels, in cache, and
        both products run as BLAS GEMMs, which on CPU is ~2.5x faster than the two convolutions.
        """
        b, c, hh, ww = x.shape
        n_out = self.k5.shape[0]
        w1m = w1.reshape(w1.shape[0], -1).t().contiguous()                      # (C*9, 64)
        k = self.k5.permute(1, 0, 2, 3).reshape(self.k5.shape[1], n_out * 25).contiguous()  # (64, O*25)
        xp = F.pad(x, (1, 1, 1, 1))
        out = x.new_empty(b, n_out, hh, ww)
        for i in range(b):
            cols = torch.stack([xp[i, ci, dy:dy + hh, dx:dx + ww] for ci in range(c)
                                for dy in range(3) for dx in range(3)], dim=-1).reshape(hh * ww, c * 9)
            z = x.new_empty(hh * ww, n_out * 25)
            for s in range(0, hh * ww, chunk):
                h = torch.addmm(self.b1, cols[s:s + chunk], w1m).relu_()
                torch.mm(h, k, out=z[s:s + chunk])
            zp = F.pad(z.t().reshape(n_out, 25, hh, ww), (2, 2, 2, 2))
            acc = zp[:, 0, 0:hh, 0:ww] + self.b2.view(-1, 1, 1)
            for t in range(1, 25):
                dy, dx = divmod(t, 5)
                acc += zp[:, t, dy:dy + hh, dx:dx + ww]
            out[i] = acc
        return out

    def _composed(self, x: torch.Tensor, w1: torch.Tensor) -> torch.Tensor:
        hh, ww = x.shape[-2:]
        if hh < 8 or ww < 8:
            return self._exact(x, w1)
        if x.device.type == "cpu" and x.dtype == torch.float32:
            y = self._composed_gemm(x, w1).relu_().clamp_(max=1.0)
        else:
            h = self._conv_relu(x, w1, self.b1, 1)
            y = self._conv_relu(h, self.k5, self.b2, 2).clamp_(max=1.0)
        y = y.contiguous()
        # exact outermost ring from 4-pixel border crops (only the ring depends on the
        # zero padding of the intermediate feature)
        y[..., 0:1, :] = self._exact(x[..., 0:4, :], w1)[..., 0:1, :]
        y[..., hh - 1:, :] = self._exact(x[..., hh - 4:, :], w1)[..., 3:4, :]
        y[..., :, 0:1] = self._exact(x[..., :, 0:4], w1)[..., :, 0:1]
        y[..., :, ww - 1:] = self._exact(x[..., :, ww - 4:], w1)[..., :, 3:4]
        return y

    @torch.no_grad()
    def forward(self, a: Any, b: Any = None) -> torch.Tensor:
        x, w1 = self._stack(a, b)
        return self._composed(x, w1) if self.mode == "composed" else self._exact(x, w1)

    def parameter_count(self) -> int:
        return 0  # buffers only; the trained model holds the parameters


def fuse_for_inference(model: AENetV2, *, mode: str = "exact") -> FusedAENetV2:
    """Inference-only copy of ``model`` (eval-mode statistics), see :class:`FusedAENetV2`."""
    return FusedAENetV2(model, mode=mode).to(next(model.parameters()).device).eval()


@torch.no_grad()
def max_abs_difference(model: nn.Module, fused: nn.Module, sources: list[torch.Tensor]) -> float:
    """``max |clamp(model(sources)) - fused(sources)|`` with ``model`` in eval mode."""
    was = model.training
    model.eval()
    try:
        return float((model(sources).clamp(0, 1) - fused(sources)).abs().max())
    finally:
        model.train(was)
