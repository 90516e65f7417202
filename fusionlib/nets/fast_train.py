"""Training-mode forward of AE-Netv2 (R = GCB) as matrix products: same function, same gradients.

:func:`train_forward` computes ``model(sources)`` of a training-mode
:class:`~fusionlib.nets.models.AENetV2` (block 'gcb', ``bn_position='c1'``) with the algebra of the
inference path (:mod:`fusionlib.nets.inference`), kept differentiable:

1. **Gray inputs.** Gray sources repeated to 3 channels meet C1's three kernels of a source summed
   once (2 input channels instead of 6); autograd gives each of the three kernels the gradient of
   the sum, which is the gradient of the repeated input.
2. **C1 as one GEMM.** ``pre = [W1 | b1] @ [unfold(x); 1]`` per image (the bias as a row of ones),
   ``(64, C*9 + 1) @ (C*9 + 1, H*W)``, then the model's own BatchNorm (batch statistics, running
   statistics updated as the module does) and ReLU.
3. **R + skip + shuffle + C2 as one 5x5 kernel** (:func:`~fusionlib.nets.inference.composed_weights`,
   differentiable in the group-conv and C2 weights): the 25 tap planes are one GEMM
   ``(25*O, 64) @ (64, H*W)`` per image, summed into place by ``fold`` (col2im). The outermost ring,
   where the exact network zero-pads the intermediate feature, is corrected exactly by
   :func:`~fusionlib.nets.inference.ring_surplus` of the feature's four border lines.
4. The backward of 2-3 is written by hand (:class:`_Trunk`): the 64-channel feature is stored once,
   the border lines' gradients are added in place, and the ReLU and BatchNorm backward are the
   native kernels; no group convolution (whose oneDNN backward dominated the plain step) and no
   64-channel intermediate besides the feature and C1's output.

C2's BatchNorm(1), the output activation and the loss stay ordinary autograd on ``(B, 1, H, W)``.
The result equals the reference graph up to float32 rounding (tests: forward, every gradient and
the running statistics at rtol 1e-4 / atol 1e-5). One deliberate difference: C1's bias gets its
exact gradient 0 (training-mode BN cancels it), where the module's autograd gives rounding noise
that Adam turns into a slow random drift of that bias; training-mode outputs and losses do not
depend on it (only BN's running mean, which tracks it, does).
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .inference import _pool, composed_weights, ring_surplus
from .models import AENetV2

__all__ = ["supports_train_forward", "train_forward", "step_threads", "THREADING"]


def supports_train_forward(model: nn.Module, sources: Sequence[torch.Tensor]) -> bool:
    """Whether :func:`train_forward` applies: AE-Netv2 with R = GCB (C1's BN, any shuffle/skip/output),
    training mode, ``n_sources`` 4-D tensors of 1 or ``source_channels`` channels and the same shape,
    at least 3 x 3, float32/float64, no NaN/Inf checks needed beyond the model's."""
    if not (isinstance(model, AENetV2) and model.block_name == "gcb" and model.bn_position == "c1"
            and model.training and all(isinstance(bn, nn.BatchNorm2d) and bn.affine and bn.track_running_stats
                                       for bn in (model.bn, model.c2_bn))):
        return False
    if not isinstance(sources, (list, tuple)) or len(sources) != model.n_sources:
        return False
    s0 = sources[0]
    if not all(isinstance(s, torch.Tensor) and s.ndim == 4 and s.shape[1] in (1, model.source_channels)
               and (s.shape[0], s.shape[2], s.shape[3]) == (s0.shape[0], s0.shape[2], s0.shape[3])
               and s.dtype in (torch.float32, torch.float64) and s.dtype == s0.dtype for s in sources):
        return False
    return s0.shape[2] >= 3 and s0.shape[3] >= 3


def _bn_momentum(bn: nn.BatchNorm2d) -> float:
    """The momentum ``nn.BatchNorm2d.forward`` uses in training mode (after counting the batch)."""
    if bn.num_batches_tracked is not None:
        bn.num_batches_tracked.add_(1)
    if bn.momentum is None:
        return 1.0 / float(bn.num_batches_tracked)
    return float(bn.momentum)


_THREADS: int | None = None   # image threads of the step in progress (see `step_threads`)


THREADING = ("hybrid", "images")


class step_threads:
    """Context manager for one training step on ``n`` threads (default ``torch.get_num_threads()``).

    The per-image products always run on ``n`` Python threads (:func:`_per_image`), each with one
    intra-op thread. ``mode`` says where every other op (unfold, fold, the loss, the optimiser) runs:

    * ``'hybrid'`` (default): on ``n`` OpenMP intra-op threads. Fastest on idle cores (AE-Netv2,
      64x64, batch 16, 2 threads: about 50 ms a step against about 67 ms for ``'images'``;
      ``benchmarks/bench_train.py``).
    * ``'images'``: on one intra-op thread. On a CPU shared with other processes an OpenMP region of
      2+ threads on these small tensors spends most of its time waiting for a descheduled thread,
      while the image tasks do not wait for each other (with one core kept busy by another
      process: about 66 ms a step against about 100 ms for ``'hybrid'``).

    With ``n = 1`` both modes are the plain one-thread step (the same bits). With ``n > 1`` the two
    modes agree to float32 rounding (reductions split over threads add in another order).
    """

    def __init__(self, n: int | None = None, mode: str = "hybrid"):
        self.n = torch.get_num_threads() if n is None else int(n)
        if mode not in THREADING:
            raise ValueError(f"step_threads: `mode` must be one of {THREADING}; got {mode!r}")
        self.mode = mode

    def __enter__(self):
        global _THREADS
        self._prev = (_THREADS, torch.get_num_threads())
        _THREADS = self.n
        torch.set_num_threads(1 if self.mode == "images" else self.n)
        return self

    def __exit__(self, *exc):
        global _THREADS
        _THREADS = self._prev[0]
        if torch.get_num_threads() != self._prev[1]:
            torch.set_num_threads(self._prev[1])
        return False


def _per_image(fn, b: int) -> None:
    """``fn(i)`` for every image ``i < b``: in this thread, or, with ``torch.get_num_threads() = n > 1``,
    as ``b`` tasks on a pool of ``n`` Python threads with one intra-op thread each (the threads take
    the next image when free, so a core lost to another process delays one image, not half the
    batch; small OpenMP regions spin-wait badly on a shared CPU, as the inference path found).
    Every image is computed by the same operations into its own output slot, so the result does
    not depend on n (beyond the BLAS kernels' rounding)."""
    n_thr = min(_THREADS or torch.get_num_threads(), b)
    if n_thr <= 1:
        for i in range(b):
            fn(i)
        return
    grad_mode = torch.is_grad_enabled()

    def run(i):
        with torch.set_grad_enabled(grad_mode):
            fn(i)

    prev = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        list(_pool(n_thr).map(run, range(b)))
    finally:
        torch.set_num_threads(prev)


class _Trunk(torch.autograd.Function):
    """C1 + BN + ReLU + the composed 5x5 conv, image by image, with a hand-written backward.

    Inputs: ``cols`` (B, K, P) the C1 neighbourhoods (no gradient), C1's weights ``w1`` (64, K) and
    bias ``b1``, BN weight/bias, running statistics (updated in place), momentum, eps, ``ktf``
    (25*O, 64) the composed kernel in fold order, and H, W. Outputs: the composed conv
    ``(B, O, H, W)`` and the feature on its four border lines ``(B, 64, 2W + 2H)`` (top, bottom,
    left, right).

    BatchNorm is done on the matrices: with ``cc`` the centred neighbourhoods (mean ``mu``) and
    ``S = sum cc cc^T`` (K x K), C1's batch mean is ``W1 mu + b1`` and its variance
    ``diag(W1 S W1^T) / N``, so the normalised feature is one GEMM ``[g W1 / s | beta] @ [cc; 1]``
    per image (ReLU in place, in cache). Backward: with ``g`` the gradient at BN's output (ReLU
    mask applied) and ``M = g @ [cc; 1]^T`` (64 x (K + 1)), ``dbeta = sum g = M[:, K]``,
    ``dgamma = sum g xhat = rowdot(M[:, :K], W1) / s`` and ``dW1 = (g/s) (M[:, :K] - dgamma W1 S / (N s))``
    (the BN backward formula multiplied by ``cc^T``); ``db1`` is exactly 0 (the batch mean cancels
    C1's bias). No 64-channel tensor is read or written by a BatchNorm pass; the per-image
    partial sums are added in a fixed order.
    """

    @staticmethod
    def forward(ctx, cols, w1, b1, gamma, beta, running_mean, running_var, momentum, eps, ktf, hh, ww):
        b, k, p = cols.shape
        width, n = w1.shape[0], b * p
        mu = cols.mean(dim=(0, 2))
        cc = torch.cat([cols - mu.view(1, k, 1), cols.new_ones(b, 1, p)], 1)     # (B, K + 1, P)
        s = torch.bmm(cc[:, :k], cc[:, :k].transpose(1, 2)).sum(0)                # (K, K)
        mean = w1 @ mu + b1
        var = ((w1 @ s) * w1).sum(1).div_(n).clamp_(min=0)
        invstd = torch.rsqrt(var + eps)
        with torch.no_grad():
            running_mean.mul_(1 - momentum).add_(mean, alpha=momentum)
            running_var.mul_(1 - momentum).add_(var * (n / max(n - 1, 1)), alpha=momentum)
        a = torch.cat([w1 * (gamma * invstd).view(-1, 1), beta.view(-1, 1)], 1)  # (64, K + 1)
        h = cols.new_empty(b, width, p)
        z = cols.new_empty(b, ktf.shape[0], p)

        def image(i):
            torch.mm(a, cc[i], out=h[i]).relu_()
            torch.mm(ktf, h[i], out=z[i])

        _per_image(image, b)
        y = F.fold(z, (hh, ww), 5, padding=2)
        h4 = h.view(b, width, hh, ww)
        lines = torch.cat([h4[:, :, 0, :], h4[:, :, hh - 1, :], h4[:, :, :, 0], h4[:, :, :, ww - 1]], 2)
        ctx.save_for_backward(cc, h, w1, gamma, invstd, s, ktf)
        ctx.hw = (hh, ww)
        return y, lines

    @staticmethod
    def backward(ctx, gy, glines):
        cc, h, w1, gamma, invstd, s, ktf = ctx.saved_tensors
        hh, ww = ctx.hw
        b, width, p = h.shape
        k = w1.shape[1]
        n = b * p
        gz = F.unfold(gy.contiguous(), 5, padding=2)                        # (B, 25*O, P)
        m_part = h.new_empty(b, width, k + 1)
        k_part = h.new_empty(b, ktf.shape[0], width)
        kt_t = ktf.t()

        def image(i):
            gh = torch.mm(kt_t, gz[i])
            gh4 = gh.view(width, hh, ww)
            if glines is not None:
                gl = glines[i]
                gh4[:, 0, :] += gl[:, :ww]
                gh4[:, hh - 1, :] += gl[:, ww:2 * ww]
                gh4[:, :, 0] += gl[:, 2 * ww:2 * ww + hh]
                gh4[:, :, ww - 1] += gl[:, 2 * ww + hh:]
            g = torch.ops.aten.threshold_backward(gh, h[i], 0)
            torch.mm(g, cc[i].t(), out=m_part[i])
            torch.mm(gz[i], h[i].t(), out=k_part[i])

        _per_image(image, b)
        m = m_part.sum(0)
        gktf = k_part.sum(0)
        gbeta = m[:, k]
        ggamma = (m[:, :k] * w1).sum(1) * invstd
        gw1 = (gamma * invstd).view(-1, 1) * (m[:, :k] - (ggamma * invstd / n).view(-1, 1) * (w1 @ s))
        gb1 = torch.zeros_like(gbeta)
        return None, gw1, gb1, ggamma, gbeta, None, None, None, None, gktf, None, None


def train_forward(model: AENetV2, sources: Sequence[torch.Tensor]) -> torch.Tensor:
    """``model(sources)`` in training mode through :class:`_Trunk` (see the module docstring).

    ``sources``: ``n_sources`` tensors ``(B, 1 or source_channels, H, W)`` (check with
    :func:`supports_train_forward`). Updates the BatchNorm running statistics like the module.
    Returns ``(B, out_channels, H, W)`` with the autograd graph of every parameter.
    """
    if model.check_inputs:
        for i, s in enumerate(sources):
            if not bool(torch.isfinite(s.sum())) and not bool(torch.isfinite(s).all()):
                raise ValueError(f"{type(model).__name__}: `sources[{i}]` contains NaN or Inf values")
    w1 = model.c1_conv.weight
    width = w1.shape[0]
    c = model.source_channels
    if all(s.shape[1] == 1 for s in sources) and c > 1:
        x = torch.cat(list(sources), 1)
        w1 = w1.reshape(width, model.n_sources, c, *w1.shape[-2:]).sum(2)
    else:
        x = torch.cat([s.expand(-1, c, -1, -1) for s in sources], 1)
    b, _, hh, ww = x.shape
    cols = F.unfold(x, 3, padding=1)
    bias = model.c1_conv.bias if model.c1_conv.bias is not None else w1.new_zeros(width)
    w2s, k5 = composed_weights(model)
    n_out = k5.shape[0]
    ktf = k5.flip(2, 3).permute(0, 2, 3, 1).reshape(n_out * 25, width)   # fold's (o, ky, kx) order
    bn = model.bn
    y, lines = _Trunk.apply(cols, w1.reshape(width, -1), bias, bn.weight, bn.bias, bn.running_mean, bn.running_var,
                            _bn_momentum(bn), bn.eps, ktf, hh, ww)
    gconv = model.block.conv
    t, bt, lf, r = ring_surplus(lines[:, :, :ww], lines[:, :, ww:2 * ww], lines[:, :, 2 * ww:2 * ww + hh],
                                lines[:, :, 2 * ww + hh:], gconv.weight, w2s, gconv.groups)
    y[:, :, 0, :] -= t
    y[:, :, hh - 1, :] -= bt
    y[:, :, :, 0] -= lf
    y[:, :, :, ww - 1] -= r
    return model._output(model.c2_bn(y))
