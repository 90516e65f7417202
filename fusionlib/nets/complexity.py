"""Parameter, FLOP and size accounting for the networks (Table V, VI, VII).

Table VI's "Flops" are reproduced by :func:`count_table6_flops`, whose rule is:
*every weight, bias and BatchNorm affine parameter of a layer counts once per output
pixel of that layer, and a layer run k times (IFCNN's per-source branch) counts k times*.
For a 3x3 stride-1 'same' conv this is exactly the multiply-accumulate count (MACs)
plus one addition per bias and two operations per BN channel. Under it AE-Netv2,
AE-Netv2+ and AE-Netv2++ give parameters x 400^2 and IFCNN gives 129,987 x 400^2 =
20,797,920,000 (notes §1). :func:`count_torch_flops` gives PyTorch's own count
(``torch.utils.flop_counter.FlopCounterMode``: 2 FLOPs per MAC, bias and BN ignored)
for comparison.
"""
from __future__ import annotations

import copy
import io
from typing import Sequence

import torch
from torch import nn

__all__ = ["TABLE6", "count_table6_flops", "count_torch_flops", "state_dict_bytes",
           "checkpoint_bytes", "example_inputs"]

#: Table VI of the paper (Flops, Parameters) as printed.
TABLE6 = {
    "IFCNN": (20_797_920_000, 83_587),
    "U2Fusion": (211_028_997_456, 659_217),
    "AE-Net": (175_053_109_504, 16_493_555),
    "AE-Netv2": (860_480_000, 5_378),
    "AE-Netv2+": (6_584_640_000, 41_154),
    "AE-Netv2++": (245_920_000, 1_537),
}

_COUNTED = (nn.Conv2d, nn.BatchNorm2d, nn.Linear)


def example_inputs(model: nn.Module, size: int | Sequence[int] = 400, batch: int = 1) -> list[torch.Tensor]:
    """Gray sources ``(batch, 1, H, W)`` for ``model`` (``n_sources`` of them, default 2)."""
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    p = next(model.parameters())
    n = getattr(model, "n_sources", 2)
    if p.device.type == "meta":
        return [torch.empty(batch, 1, h, w, device="meta", dtype=p.dtype) for _ in range(n)]
    g = torch.Generator().manual_seed(0)
    return [torch.rand(batch, 1, h, w, generator=g).to(p.device, p.dtype) for _ in range(n)]


def _meta_copy(model: nn.Module) -> nn.Module:
    """A shape-only copy (``meta`` device): counting needs shapes, not arithmetic."""
    return copy.deepcopy(model).to("meta")


def count_table6_flops(model: nn.Module, inputs: Sequence[torch.Tensor] | None = None,
                       size: int = 400, *, meta: bool = True) -> int:
    """Table VI FLOPs of one forward pass (see the module docstring for the rule).

    Forward hooks on every Conv2d / BatchNorm2d / Linear add
    ``(#weights + #bias) * (output pixels per channel)`` - for BN ``2 * C`` per pixel.
    Runs the model once in eval mode under ``torch.no_grad`` - on a ``meta``-device copy
    (shapes only, no arithmetic) unless ``meta=False``.
    """
    if meta:
        model = _meta_copy(model)
    inputs = example_inputs(model, size) if inputs is None else list(inputs)
    total = [0]

    def hook(mod, _inp, out):
        pixels = out.shape[-1] * out.shape[-2] * out.shape[0]
        n = sum(p.numel() for p in mod.parameters(recurse=False))
        total[0] += n * pixels

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, _COUNTED)]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(inputs)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return int(total[0])


def count_torch_flops(model: nn.Module, inputs: Sequence[torch.Tensor] | None = None,
                      size: int = 400, *, meta: bool = True) -> int:
    """FLOPs reported by ``torch.utils.flop_counter.FlopCounterMode`` (2 per conv MAC)."""
    if meta:
        model = _meta_copy(model)
    from torch.utils.flop_counter import FlopCounterMode
    inputs = example_inputs(model, size) if inputs is None else list(inputs)
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad(), FlopCounterMode(display=False) as fc:
            model(inputs)
    finally:
        model.train(was_training)
    return int(fc.get_total_flops())


def state_dict_bytes(model: nn.Module) -> int:
    """Bytes of ``torch.save(model.state_dict())`` (weights + BN buffers, float32)."""
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    return buf.getbuffer().nbytes


def checkpoint_bytes(model: nn.Module) -> int:
    """Bytes of a checkpoint with the weights and the state of Adam after one step
    (two moment buffers per parameter): the paper's sizes are about 12 B/parameter."""
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=0.0)
    for p in params:
        p.grad = torch.zeros_like(p)
    opt.step()
    for p in params:
        p.grad = None
    buf = io.BytesIO()
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict()}, buf)
    return buf.getbuffer().nbytes
