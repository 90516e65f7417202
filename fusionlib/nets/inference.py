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
4. **Composition** (``mode="composed"``; default ``"exact"``). Between C1's ReLU and C2's BN+ReLU
   everything is linear: ``h -> h + S GC(h) -> conv(., W2)``. Two stacked 3x3 convs
   compose into one 5x5 conv (kernel = true convolution of the two kernels), so
   ``R`` + skip + shuffle + C2 become a single 5x5 conv 64->1. This is exact except on
   the outermost 1-pixel ring, where zero padding of the intermediate feature differs.
   On CPU the ring is corrected exactly in closed form: the surplus is ``conv3(g_out, W2s)``
   with ``g_out`` the group-conv feature on the positions just outside the image, a function
   of the feature ``h`` on the image's four border lines only (1-D convs,
   :meth:`FusedAENetV2._ring_correction`); elsewhere the ring is recomputed with the exact path
   on 4-pixel border crops.
5. On CPU (float32) the composed path runs C1 (bias folded in as a row of ones) and the 5x5
   conv as two BLAS matrix products per strip of rows (``_composed_gemm``) in a channels-first
   pixel layout, so the 25 tap planes are written in place and summed by shifted slices
   (no transpose, no padding of the planes), and the 64-channel feature only exists for one
   strip, in cache. With several torch threads the rows are split into bands run by that many
   Python threads with one intra-op thread each (robust on a shared CPU; identical result).
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

__all__ = ["FusedAENetV2", "fuse_for_inference", "max_abs_difference", "composed_weights",
           "ring_surplus", "shuffle_permutation"]


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


def shuffle_permutation(model: AENetV2) -> torch.Tensor:
    """``perm`` with ``shuffled[:, j] = g[:, perm[j]]`` for the GCB's channel shuffle (identity without it)."""
    width, groups = model.block.conv.out_channels, model.block.conv.groups
    perm = torch.arange(width, device=model.block.conv.weight.device)
    if isinstance(model.block.shuffle, nn.Identity):
        return perm
    return perm.reshape(groups, width // groups).t().reshape(-1)


def composed_weights(model: AENetV2, w2: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(W2s, K)``: C2's weights with the shuffle absorbed and the composed 5x5 kernel of
    ``R`` + skip + C2 (item 4 of the module docstring), as differentiable functions of the weights.

    ``w2`` replaces C2's weights (the BN-folded ones at inference; default ``model.c2_conv.weight``).
    """
    w2 = model.c2_conv.weight if w2 is None else w2
    gconv = model.block.conv
    width, groups = gconv.out_channels, gconv.groups
    # shuffled[:, j] = g[:, perm[j]]  =>  conv(shuffled, W2) = conv(g, W2s), W2s[:, perm[j]] = W2[:, j]
    w2s = w2.new_zeros(w2.shape).index_copy(1, shuffle_permutation(model), w2)
    # dense (block-diagonal) version of the group conv for the composition
    cpg = width // groups
    ch = torch.arange(width, device=w2.device) // cpg
    dense = gconv.weight.repeat(1, groups, 1, 1) * (ch[:, None] == ch[None, :]).to(w2.dtype)[:, :, None, None]
    k5 = _compose(w2s, dense)
    if model.skip:
        k5 = k5 + F.pad(w2, (1, 1, 1, 1))
    return w2s, k5


def ring_surplus(top: torch.Tensor, bottom: torch.Tensor, left: torch.Tensor, right: torch.Tensor,
                 wg: torch.Tensor, w2s: torch.Tensor, groups: int) -> tuple[torch.Tensor, ...]:
    """What the composed 5x5 kernel adds on the outermost ring of the output (to be subtracted).

    The composed kernel evaluates the group-conv feature ``g = GC(h)`` also on the ring of
    positions just outside the image, where the exact network pads ``h + S g`` with zeros. The
    surplus is ``conv3(g_out, W2s)`` with ``g_out`` = ``g`` on that outer ring; ``g_out`` depends on
    the feature ``h`` of the image's outermost rows/columns only (``top``, ``bottom``: ``(B, C, W)``;
    ``left``, ``right``: ``(B, C, H)``). The outer ring is split into the top and bottom rows (corners
    included) and the left and right columns (corners excluded), so each position counts once; every
    piece is a 1-D grouped conv of one border line of ``h`` followed by a 1-D conv with one
    row/column of ``W2s``. Returns the surplus of output row 0, row H-1 (``(B, O, W)``), column 0
    and column W-1 (``(B, O, H)``); differentiable.
    """
    # rows -1 and H, columns -1..W (length W + 2)
    t = F.conv1d(F.conv1d(top, wg[:, :, 2, :], padding=2, groups=groups), w2s[:, :, 0, :])
    b = F.conv1d(F.conv1d(bottom, wg[:, :, 0, :], padding=2, groups=groups), w2s[:, :, 2, :])
    # columns -1 and W, rows 0..H-1 (length H; the corners belong to the rows above)
    lf = F.conv1d(F.conv1d(left, wg[:, :, :, 2], padding=1, groups=groups), w2s[:, :, :, 0], padding=1)
    r = F.conv1d(F.conv1d(right, wg[:, :, :, 0], padding=1, groups=groups), w2s[:, :, :, 2], padding=1)
    return t, b, lf, r


_POOLS: dict[int, Any] = {}


def _pool(n: int):
    """A lazily created pool of ``n`` threads, each with one torch intra-op thread."""
    if n not in _POOLS:
        from concurrent.futures import ThreadPoolExecutor
        _POOLS[n] = ThreadPoolExecutor(n, thread_name_prefix="fusionlib-aenet",
                                       initializer=torch.set_num_threads, initargs=(1,))
    return _POOLS[n]


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
            groups = gconv.groups
            w2, b2 = _fold_bn(model.c2_conv.weight, None, model.c2_bn)
            w2s, k5 = composed_weights(model, w2)
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
            # one reduction instead of an elementwise isfinite pass: a NaN/Inf makes the sum
            # non-finite; only then (or on float overflow) is the exact test run
            if self.check_inputs and not bool(torch.isfinite(x.sum())) and not bool(torch.isfinite(x).all()):
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

    def _composed_gemm(self, x: torch.Tensor, w1: torch.Tensor, chunk: int = 2048,
                       threads: int | None = None) -> torch.Tensor:
        """C1 + ReLU + the composed 5x5 conv as two matrix products per strip of rows (CPU).

        Pixel-major (channels-first) layout throughout, so that no large transpose is needed:
        ``cols`` (C*9 + 1, P) stacks the 9 shifted views of each padded source (contiguous row
        copies) and a row of ones (C1's bias), then per strip of ``~chunk`` pixels
        ``h = relu(W1 @ cols)`` (64, n) and ``z = K^T @ h`` (25*O, n), written straight into the tap
        planes ``z`` (25*O, H, W). The output is the sum of the 25 tap planes shifted into place;
        out-of-image taps are left out, which is exactly the zero padding 2 of the 5x5 conv. The
        64-channel feature exists only for one strip (in cache) and both products are BLAS GEMMs.

        With ``torch.get_num_threads() = n > 1`` the rows are split into ``n`` bands run by ``n``
        Python threads, each with one intra-op thread (torch ops release the GIL). Hundreds of
        small OpenMP regions per image (two GEMMs and a ReLU per strip) made the 2-thread OpenMP
        run spin-wait badly on a shared CPU (up to 10x slower than 1 thread); the bands do not.
        The result is identical (every pixel is computed by the same operations).
        """
        b, c, hh, ww = x.shape
        n_out, width = self.k5.shape[:2]
        p = hh * ww
        n_thr = max(1, min(torch.get_num_threads() if threads is None else threads, hh // 8))
        # C1's bias folded into the product: a row of ones under the neighbourhoods
        w1m = torch.cat([w1.reshape(w1.shape[0], -1), self.b1.view(-1, 1)], 1)  # (64, C*9 + 1)
        kt = self.k5.permute(0, 2, 3, 1).reshape(n_out * 25, width)             # (O*25, 64)
        xp = F.pad(x, (1, 1, 1, 1))
        cols = x.new_empty(c * 9 + 1, hh, ww)
        cols[c * 9].fill_(1.0)
        colsf = cols.view(c * 9 + 1, p)
        out = x.new_empty(b, n_out, hh, ww)
        z = x.new_empty(n_out, 25, hh, ww)
        zf = z.view(n_out * 25, p)
        rows = max(1, chunk // ww)
        bands = [(k * hh // n_thr, (k + 1) * hh // n_thr) for k in range(n_thr)]
        inference = torch.is_inference_mode_enabled()

        def strips(band):
            with torch.inference_mode(inference), torch.no_grad():
                for r0 in range(band[0], band[1], rows):
                    s, e = r0 * ww, min(band[1], r0 + rows) * ww
                    h = torch.mm(w1m, colsf[:, s:e]).relu_()
                    torch.mm(kt, h, out=zf[:, s:e])

        def shift_add(acc, band):
            with torch.inference_mode(inference), torch.no_grad():
                y0, y1 = band
                torch.add(z[:, 12, y0:y1], self.b2.view(-1, 1, 1), out=acc[:, y0:y1])
                for t in range(25):
                    if t == 12:
                        continue
                    dy, dx = t // 5 - 2, t % 5 - 2       # out[y, x] += z[t, y + dy, x + dx]
                    lo, hi = max(y0, -dy), min(y1, hh - dy)
                    acc[:, lo:hi, max(0, -dx):ww - max(0, dx)] += \
                        z[:, t, lo + dy:hi + dy, max(0, dx):ww - max(0, -dx)]

        pool = _pool(n_thr) if n_thr > 1 else None
        prev = torch.get_num_threads()
        if pool is not None and prev != 1:
            torch.set_num_threads(1)
        try:
            for i in range(b):
                torch.stack([xp[i, ci, dy:dy + hh, dx:dx + ww] for ci in range(c)
                             for dy in range(3) for dx in range(3)], 0, out=cols[:c * 9])
                acc = out[i]
                if pool is None:
                    strips(bands[0])
                    shift_add(acc, bands[0])
                else:
                    list(pool.map(strips, bands))
                    list(pool.map(lambda bd, acc=acc: shift_add(acc, bd), bands))
                self._ring_correction(acc, colsf, w1m, hh, ww)
        finally:
            if pool is not None and prev != 1:
                torch.set_num_threads(prev)
        return out

    def _ring_correction(self, acc: torch.Tensor, cols: torch.Tensor, w1m: torch.Tensor, hh: int,
                         ww: int) -> None:
        """Make the outermost ring of the composed output ``acc`` (O, H, W) exact, in place
        (:func:`ring_surplus` of the feature ``h`` on the four border lines)."""
        def feat(idx):                      # h on one border line: (1, 64, n)
            return torch.mm(w1m, cols[:, idx]).relu_()[None]

        t, b, lf, r = ring_surplus(feat(slice(0, ww)), feat(slice((hh - 1) * ww, hh * ww)),
                                   feat(slice(0, hh * ww, ww)), feat(slice(ww - 1, hh * ww, ww)),
                                   self.wg, self.w2s, self.groups)
        acc[:, 0, :] -= t[0]
        acc[:, hh - 1, :] -= b[0]
        acc[:, :, 0] -= lf[0]
        acc[:, :, ww - 1] -= r[0]

    def _composed(self, x: torch.Tensor, w1: torch.Tensor, threads: int | None = None) -> torch.Tensor:
        hh, ww = x.shape[-2:]
        if hh < 8 or ww < 8:
            return self._exact(x, w1)
        if x.device.type == "cpu" and x.dtype == torch.float32:
            return self._composed_gemm(x, w1, threads=threads).relu_().clamp_(max=1.0)  # exact ring inside
        h = self._conv_relu(x, w1, self.b1, 1)
        y = self._conv_relu(h, self.k5, self.b2, 2).clamp_(max=1.0).contiguous()
        # exact outermost ring from 4-pixel border crops (only the ring depends on the zero padding
        # of the intermediate feature); top and bottom crops in one batch, left and right in another
        nb = x.shape[0]
        r = self._exact(torch.cat([x[..., 0:4, :], x[..., hh - 4:, :]]), w1)
        y[..., 0:1, :], y[..., hh - 1:, :] = r[:nb, :, 0:1], r[nb:, :, 3:4]
        r = self._exact(torch.cat([x[..., :, 0:4], x[..., :, ww - 4:]]), w1)
        y[..., :, 0:1], y[..., :, ww - 1:] = r[:nb, ..., 0:1], r[nb:, ..., 3:4]
        return y

    @torch.no_grad()
    def forward(self, a: Any, b: Any = None) -> torch.Tensor:
        n = torch.get_num_threads()
        if self.mode != "composed" or n == 1:
            x, w1 = self._stack(a, b)
            return self._composed(x, w1) if self.mode == "composed" else self._exact(x, w1)
        # composed mode with several threads: the small element-wise ops run on one intra-op
        # thread and the GEMM strips on `n` Python threads (see `_composed_gemm`)
        torch.set_num_threads(1)
        try:
            x, w1 = self._stack(a, b)
            if x.device.type != "cpu" or x.dtype != torch.float32:
                torch.set_num_threads(n)
            return self._composed(x, w1, threads=n)
        finally:
            torch.set_num_threads(n)

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
