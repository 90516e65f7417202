"""Fusion networks: AE-Netv2 and its variants, published peers, training, Algorithm 1 labels.

``fusionlib.nets.build(name, **options)`` builds a model from :data:`MODELS`:

======================  ====================================================  ===========
key                     network                                               parameters
======================  ====================================================  ===========
aenetv2                 AE-Netv2, R = GCB (Table I, VI)                       5,378
aenetv2_plus            AE-Netv2+, R = regular conv (Table VI)                41,154
aenetv2_pp              AE-Netv2++ (Table VI; reconstruction)                 1,537
aenetv2_m               AE-Netv2-M, Fire U-Net with pooling (Fig. 3)          79,041
aenetv2_<block>         Table VII variants: regular, gcb, separable, squeeze,
                        inception, gcb_inception, squeeze_gcb, squeeze2_gcb
ifcnn / densefuse /     peers (random weights; ``load_peer`` for the
deepfuse                published ones)
======================  ====================================================  ===========
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import nn

from .._checks import check_finite, check_finite_range, check_int, check_type
from .._convert import restore, stack_sources
from ..utils import resolve_device
from ..registry import Registry
from .blocks import BLOCKS, IMPLIED_PARAMS, build_block
from .complexity import (TABLE6, checkpoint_bytes, count_table6_flops, count_torch_flops,
                         state_dict_bytes)
from .inference import fuse_for_inference
from .models import AENetV2, AENetV2M, AENetV2PlusPlus, FusionNet, init_output_scale
from .labels import evolve_labels, label_pairs, make_labeler
from .training import (TABLE2, FusionLoss, TensorBatches, TrainConfig, TrainHistory, evaluate_loss, fit,
                       load_checkpoint, save_checkpoint)
from .fast_train import supports_train_forward, train_forward
from .clahe import clahe
from .peers import DeepFuse, DenseFuse, IFCNN, WeightsUnavailable, fuse_peer, ifcnn_multi_exposure, load_peer, weights_path

__all__ = [
    "MODELS", "ModelSpec", "build", "fuse", "AENetV2", "AENetV2PlusPlus", "AENetV2M", "FusionNet", "init_output_scale",
    "IFCNN", "DenseFuse", "DeepFuse", "load_peer", "fuse_peer", "weights_path", "WeightsUnavailable",
    "ifcnn_multi_exposure", "clahe",
    "BLOCKS", "IMPLIED_PARAMS", "build_block", "TABLE6", "count_table6_flops", "count_torch_flops",
    "state_dict_bytes", "checkpoint_bytes", "fuse_for_inference", "TABLE2", "TrainConfig", "TrainHistory",
    "FusionLoss", "TensorBatches", "train_forward", "supports_train_forward", "fit", "evaluate_loss", "save_checkpoint", "load_checkpoint", "label_pairs",
    "evolve_labels", "make_labeler",
]


@dataclass(frozen=True)
class ModelSpec:
    """A registered network: factory, label used in figures/tables, the paper's parameter count."""

    factory: Callable[..., nn.Module]
    label: str
    paper_params: int | None = None
    reconstruction: bool = False


MODELS: Registry[ModelSpec] = Registry("network")
MODELS.add("aenetv2", ModelSpec(lambda **o: AENetV2("gcb", **o), "AE-Netv2", 5_378))
MODELS.add("aenetv2_plus", ModelSpec(lambda **o: AENetV2("regular", **o), "AE-Netv2+", 41_154))
MODELS.add("aenetv2_pp", ModelSpec(lambda **o: AENetV2PlusPlus(**o), "AE-Netv2++ (reconstruction)",
                                   1_537, True))
MODELS.add("aenetv2_m", ModelSpec(lambda **o: AENetV2M(**o), "AE-Netv2-M (reconstruction)", None, True))
_LABELS = {"regular": "Regular", "gcb": "GCB", "separable": "Separable", "squeeze": "Squeeze",
           "inception": "Inception", "gcb_inception": "GCB+Inception", "squeeze_gcb": "Squeeze+GCB",
           "squeeze2_gcb": "Squeeze2+GCB"}
for _b in BLOCKS:
    MODELS.add(f"aenetv2_{_b}", ModelSpec((lambda b: lambda **o: AENetV2(b, **o))(_b),
                                          f"AE-Netv2 [{_LABELS[_b]}]",
                                          IMPLIED_PARAMS[_b][0] if _b in ("gcb", "regular") else None,
                                          _b not in ("gcb", "regular")))
MODELS.add("ifcnn", ModelSpec(lambda **o: IFCNN(**o), "IFCNN", 83_587))
MODELS.add("densefuse", ModelSpec(lambda **o: DenseFuse(**o), "DenseFuse", 74_193))
MODELS.add("deepfuse", ModelSpec(lambda **o: DeepFuse(**o), "DeepFuse", 316_976))


def build(name: str, **options: Any) -> nn.Module:
    """Build network ``name`` (a key of :data:`MODELS`) with constructor ``options``."""
    return MODELS[name].factory(**options)


@torch.no_grad()
def fuse(model: nn.Module, sources: Any, *, device: str | torch.device | None = None,
         batch_size: int = 8) -> Any:
    """Run an AE-Netv2-family ``model`` (eval mode) on ``sources``; NumPy in -> NumPy out.

    ``sources``: a list of N images (H, W), (C, H, W) or (B, C, H, W), float in [0, 1] or
    uint8 (checked like :func:`fusionlib.classical.fuse`: finite, in [0, 1]). Returns
    ``(B, out_channels, H, W)`` in [0, 1] with the caller's rank/type; a model that produces
    NaN/Inf is an error, never a NaN image.
    """
    where = "nets.fuse"
    check_type(where, "model", model, nn.Module)
    batch_size = check_int(where, "batch_size", batch_size, minimum=1)
    p = next(model.parameters())
    dev = p.device if device is None else resolve_device(device)
    x, origin = stack_sources(sources, where=where, name="sources", dtype=p.dtype, device=dev)
    check_finite_range(where, "sources", x, 0.0, 1.0, data_range_hint=False)
    was = model.training
    model.eval()
    try:
        outs = [model(list(x[i:i + batch_size].unbind(1))) for i in range(0, x.shape[0], batch_size)]
    finally:
        model.train(was)
    out = torch.cat(outs, 0)
    check_finite(where, "model output", out)
    return restore(out.clamp(0, 1), origin)
