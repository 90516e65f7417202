"""AE-Netv2 (Fang et al., 2020/2021) and its variants as PyTorch modules.

What the paper fixes and what is reconstructed is in ``shared/notes/aenetv2.md``;
every open choice is a constructor option with the default named below.

* :class:`AENetV2` - Fig. 2 / Table I / Eq. 1: ``h = C1([x; y])``, ``P = C2(h + R(h))``
  with C1 = conv3x3(6->64, bias) + BN + ReLU, R a replaceable block (default GCB:
  3x3 group conv with 32 groups, no bias, + channel shuffle) and C2 = conv3x3(64->1,
  no bias) + BN + ReLU. 5,378 parameters (GCB) and 41,154 (regular R, "AE-Netv2+"),
  exactly Table VI.
* :class:`AENetV2PlusPlus` - "AE-Netv2++", 1,537 parameters (reconstruction:
  1x1 conv 6->64 no bias, ReLU, 3x3 depthwise no bias, ReLU, 3x3 conv 64->1 with bias).
* :class:`AENetV2M` - Fig. 3: U-Net of six Fire modules, three 2x2 max-poolings, three
  x2 upsamplings and a final 3x3 conv; any input size (reflect-padded to a multiple of 8
  and cropped back).

Input convention (reconstruction): ``n_sources`` sources of ``source_channels`` channels
each are concatenated along the channel axis; gray sources are repeated to 3 channels
when ``source_channels == 3`` (the default, so C1 sees 2 x 3 = 6 channels as in Table I).
``source_channels=1`` gives the 2-channel C1 option (3,074 parameters instead of 5,378).
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import ShapeError, check_choice, check_int
from .blocks import Fire, build_block

__all__ = ["FusionNet", "AENetV2", "AENetV2PlusPlus", "AENetV2M", "prepare_sources", "init_output_scale"]


def prepare_sources(where: str, sources: Sequence[torch.Tensor], n_sources: int,
                    source_channels: int, *, check_finite: bool = True) -> torch.Tensor:
    """Validate ``sources`` (each ``(B, C, H, W)``) and concatenate them to ``(B, N*C, H, W)``.

    Gray sources (C = 1) are repeated to ``source_channels``; any other channel
    count is a :class:`ShapeError`. NaN/Inf values are a ``ValueError``.
    """
    if len(sources) != n_sources:
        raise ValueError(f"{where}: expected {n_sources} sources; got {len(sources)}")
    parts = []
    ref = None
    for i, s in enumerate(sources):
        if not isinstance(s, torch.Tensor):
            raise TypeError(f"{where}: `sources[{i}]` must be a torch.Tensor (use fusionlib.nets.fuse "
                            f"for NumPy input); got {type(s).__name__}")
        if s.ndim != 4:
            raise ShapeError(f"{where}: `sources[{i}]` must be (B, C, H, W); got shape {tuple(s.shape)}",
                             expected=4, actual=tuple(s.shape))
        c = s.shape[1]
        if c == 1 and source_channels != 1:
            s = s.expand(-1, source_channels, -1, -1)
        elif c != source_channels:
            raise ShapeError(f"{where}: `sources[{i}]` must have 1 or {source_channels} channels "
                             f"(model built with source_channels={source_channels}); got shape "
                             f"{tuple(s.shape)}", expected=source_channels, actual=c)
        if ref is None:
            ref = s.shape
        elif (s.shape[0], s.shape[2], s.shape[3]) != (ref[0], ref[2], ref[3]):
            raise ShapeError(f"{where}: all sources must share batch, height and width; got "
                             f"{[tuple(t.shape) for t in sources]}")
        if check_finite and s.is_floating_point() and s.device.type != "meta" \
                and not bool(torch.isfinite(s).all()):
            raise ValueError(f"{where}: `sources[{i}]` contains NaN or Inf values")
        parts.append(s)
    return torch.cat(parts, dim=1)


class FusionNet(nn.Module):
    """Common input handling: ``forward(a, b)``, ``forward([s1, ..., sN])`` or a ``(B, N, C, H, W)``
    tensor; also the already concatenated ``(B, N*C, H, W)`` input."""

    n_sources: int
    source_channels: int
    check_inputs: bool = True

    @property
    def in_channels(self) -> int:
        return self.n_sources * self.source_channels

    def _gather(self, a: Any, b: Any = None) -> torch.Tensor:
        where = type(self).__name__
        if b is not None:
            srcs = [a, b]
        elif isinstance(a, (list, tuple)):
            srcs = list(a)
        elif isinstance(a, torch.Tensor) and a.ndim == 5:
            srcs = list(a.unbind(1))
        elif isinstance(a, torch.Tensor) and a.ndim == 4:
            if a.shape[1] != self.in_channels:
                raise ShapeError(f"{where}: a single (B, C, H, W) input must already hold all sources "
                                 f"concatenated ({self.in_channels} channels); got shape {tuple(a.shape)}; "
                                 f"pass forward(a, b) or a list of sources instead",
                                 expected=self.in_channels, actual=a.shape[1])
            if self.check_inputs and a.device.type != "meta" and not bool(torch.isfinite(a).all()):
                raise ValueError(f"{where}: input contains NaN or Inf values")
            return a
        else:
            raise TypeError(f"{where}: expected forward(a, b), a list of sources or a tensor; "
                            f"got {type(a).__name__}")
        return prepare_sources(where, srcs, self.n_sources, self.source_channels,
                               check_finite=self.check_inputs)

    def parameter_count(self, trainable_only: bool = False) -> int:
        """Number of parameters (BN running statistics are buffers and not counted)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    def _output(self, y: torch.Tensor) -> torch.Tensor:
        if self.output == "sigmoid":
            return torch.sigmoid(y)
        y = torch.relu(y)
        if self.clamp_eval and not self.training:
            y = y.clamp(max=1.0)
        return y


class AENetV2(FusionNet):
    """AE-Netv2 base network (Fig. 2, Table I, Eq. 1): ``P = C2(h + R(h))``, ``h = C1(concat)``.

    Parameters
    ----------
    block : str
        The replaceable module R (Table VII): 'gcb' (default), 'regular' (AE-Netv2+),
        'separable', 'squeeze', 'inception', 'gcb_inception', 'squeeze_gcb', 'squeeze2_gcb'.
    n_sources, source_channels : int
        Inputs: C1 takes ``n_sources * source_channels`` channels (2 x 3 = 6 by default).
    width : int
        Feature width (64, Table I). ``groups`` (32) and ``shuffle`` (True) configure the GCB.
    skip : bool
        Identity skip around R (Eq. 1's factor ``(1 + beta)``); False is an ablation.
    bn_position : {'c1', 'r'}
        Where the 64-channel BN sits: after C1's conv (default) or after R (same count).
    out_channels : int
        Output channels of C2 (1 in Table I).
    output : {'relu', 'sigmoid'}
        Fig. 2's BN + ReLU after C2 (clamped to [0, 1] in eval mode, ``clamp_eval``), or a sigmoid.

    Shape:
        ``forward(a, b)`` with ``a, b`` of shape ``(B, 1 or source_channels, H, W)`` ->
        ``(B, out_channels, H, W)``.
    """

    def __init__(self, block: str = "gcb", *, n_sources: int = 2, source_channels: int = 3,
                 width: int = 64, groups: int = 32, shuffle: bool = True, skip: bool = True,
                 bn_position: str = "c1", out_channels: int = 1, output: str = "relu",
                 clamp_eval: bool = True, check_inputs: bool = True):
        super().__init__()
        where = "AENetV2"
        self.n_sources = check_int(where, "n_sources", n_sources, minimum=1)
        self.source_channels = check_int(where, "source_channels", source_channels, minimum=1)
        width = check_int(where, "width", width, minimum=1)
        check_choice(where, "bn_position", bn_position, ("c1", "r"))
        check_choice(where, "output", output, ("relu", "sigmoid"))
        self.block_name, self.skip, self.output, self.clamp_eval = block, bool(skip), output, clamp_eval
        self.bn_position, self.check_inputs = bn_position, check_inputs
        self.c1_conv = nn.Conv2d(self.in_channels, width, 3, padding=1, bias=True)
        self.bn = nn.BatchNorm2d(width)
        self.block = build_block(block, width, groups=groups, shuffle=shuffle)
        self.c2_conv = nn.Conv2d(width, out_channels, 3, padding=1, bias=False)
        self.c2_bn = nn.BatchNorm2d(out_channels)
        self.out_channels = out_channels

    def features(self, x: torch.Tensor) -> torch.Tensor:
        h = self.c1_conv(x)
        if self.bn_position == "c1":
            h = torch.relu(self.bn(h))
            r = self.block(h)
        else:
            h = torch.relu(h)
            r = self.bn(self.block(h))
        return h + r if self.skip else r

    def forward(self, a: Any, b: Any = None) -> torch.Tensor:
        x = self._gather(a, b)
        return self._output(self.c2_bn(self.c2_conv(self.features(x))))


class AENetV2PlusPlus(FusionNet):
    """AE-Netv2++ (Table VI: 1,537 parameters), **reconstruction** (notes §1).

    1x1 conv (6->64, no bias), ReLU, 3x3 depthwise conv (no bias), ReLU, 3x3 conv (64->1, bias),
    output activation; no skip. 384 + 576 + 577 = 1,537 parameters.
    """

    def __init__(self, *, n_sources: int = 2, source_channels: int = 3, width: int = 64,
                 out_channels: int = 1, output: str = "relu", clamp_eval: bool = True,
                 check_inputs: bool = True):
        super().__init__()
        self.n_sources, self.source_channels = n_sources, source_channels
        check_choice("AENetV2PlusPlus", "output", output, ("relu", "sigmoid"))
        self.output, self.clamp_eval, self.check_inputs = output, clamp_eval, check_inputs
        self.pw = nn.Conv2d(self.in_channels, width, 1, bias=False)
        self.dw = nn.Conv2d(width, width, 3, padding=1, groups=width, bias=False)
        self.out = nn.Conv2d(width, out_channels, 3, padding=1, bias=True)
        self.out_channels = out_channels

    def forward(self, a: Any, b: Any = None) -> torch.Tensor:
        x = self._gather(a, b)
        return self._output(self.out(torch.relu(self.dw(torch.relu(self.pw(x))))))


class AENetV2M(FusionNet):
    """AE-Netv2-M (Fig. 3): U-Net of Fire modules with pooling, **reconstruction** (notes §3).

    Encoder Fire(in->128) -> pool -> Fire -> pool -> Fire -> pool -> Fire; decoder
    up -> Fire(concat with the encoder feature of that scale) -> up -> Fire(concat) -> up ->
    3x3 conv (on the concat with the full-resolution encoder feature when ``final_skip``) -> P.
    Every Fire is s=16, e1=e3=64 (128 channels). 2x2 max-pooling; upsampling 'nearest'
    (default) or 'bilinear'. Any input size: reflect-padded to a multiple of 8 (replicate
    when the image is too small for reflection) and cropped back. 79,041 parameters.

    Shape:
        ``(B, C, H, W)`` sources -> ``(B, out_channels, H, W)`` for every H, W >= 1.
    """

    multiple = 8

    def __init__(self, *, n_sources: int = 2, source_channels: int = 3, squeeze: int = 16,
                 expand: int = 64, upsample: str = "nearest", final_skip: bool = True,
                 out_channels: int = 1, output: str = "relu", clamp_eval: bool = True,
                 check_inputs: bool = True):
        super().__init__()
        check_choice("AENetV2M", "upsample", upsample, ("nearest", "bilinear"))
        check_choice("AENetV2M", "output", output, ("relu", "sigmoid"))
        self.n_sources, self.source_channels = n_sources, source_channels
        self.output, self.clamp_eval, self.check_inputs = output, clamp_eval, check_inputs
        self.upsample, self.final_skip = upsample, final_skip
        f = 2 * expand
        self.enc = nn.ModuleList([Fire(self.in_channels, squeeze, expand, expand)] +
                                 [Fire(f, squeeze, expand, expand) for _ in range(3)])
        self.dec = nn.ModuleList([Fire(2 * f, squeeze, expand, expand) for _ in range(2)])
        self.out = nn.Conv2d(2 * f if final_skip else f, out_channels, 3, padding=1)
        self.out_channels = out_channels

    def _up(self, x: torch.Tensor, size) -> torch.Tensor:
        if self.upsample == "nearest":
            return F.interpolate(x, size=size, mode="nearest")
        return F.interpolate(x, size=size, mode="bilinear", align_corners=False)

    def forward(self, a: Any, b: Any = None) -> torch.Tensor:
        x = self._gather(a, b)
        h, w = x.shape[-2:]
        ph, pw = (-h) % self.multiple, (-w) % self.multiple
        if ph or pw:
            mode = "reflect" if (ph < h and pw < w) else "replicate"
            x = F.pad(x, (0, pw, 0, ph), mode=mode)
        skips = []
        z = x
        for i, fire in enumerate(self.enc):
            z = fire(z)
            if i < 3:
                skips.append(z)
                z = F.max_pool2d(z, 2)
        for fire in self.dec:
            s = skips.pop()
            z = fire(torch.cat([self._up(z, s.shape[-2:]), s], dim=1))
        s = skips.pop()
        z = self._up(z, s.shape[-2:])
        if self.final_skip:
            z = torch.cat([z, s], dim=1)
        y = self._output(self.out(z))
        return y[..., :h, :w]


def _last_layer(model: nn.Module) -> tuple[str, nn.Module]:
    for name in ("c2_bn", "out"):
        if isinstance(getattr(model, name, None), (nn.BatchNorm2d, nn.Conv2d)):
            return name, getattr(model, name)
    raise TypeError(f"init_output_scale: no output layer (c2_bn or out) in {type(model).__name__}")


@torch.no_grad()
def init_output_scale(model: FusionNet, mean: float, std: float, sources: Any = None) -> dict:
    """Scale-aware initialisation of the output layer: start at the labels' scale.

    At the default initialisation the last layer's pre-activation has unit spread around zero
    (AE-Netv2: BN(1) with weight 1, bias 0), while fusion labels in [0, 1] have a mean near 0.45 and
    a standard deviation near 0.25; the first hundreds of optimiser steps are spent moving the output
    there. This sets the pre-activation's batch statistics to the target directly:

    * networks whose output layer is a BatchNorm (AE-Netv2 and every Table VII variant): its weight
      to the target standard deviation and its bias to the target mean (exact in training mode);
    * networks whose output layer is a convolution with bias (AE-Netv2++, AE-Netv2-M): its weights
      and bias are rescaled affinely so that the pre-activation on ``sources`` (a training batch,
      required) has the target mean and standard deviation.

    The targets are ``(mean, std)`` for the ReLU output (the ReLU then changes them little when
    ``mean/std`` is well above 0) and ``(logit(mean), std / (mean (1 - mean)))`` for the sigmoid
    output (first-order). Parameters: ``mean``, ``std`` of the training labels (pixels); returns a
    record (layer, targets, label statistics) for the provenance.
    """
    where = "init_output_scale"
    mean, std = float(mean), float(std)
    if not (0.0 < mean < 1.0) or not (std > 0.0) or not math.isfinite(std):
        raise ValueError(f"{where}: `mean` must be in (0, 1) and `std` > 0; got {mean}, {std}")
    if getattr(model, "output", "relu") == "sigmoid":
        t_mean, t_std = math.log(mean / (1 - mean)), std / (mean * (1 - mean))
    else:
        t_mean, t_std = mean, std
    name, layer = _last_layer(model)
    rec = {"rule": "output pre-activation at the labels' scale", "layer": name, "label_mean": mean,
           "label_std": std, "target_mean": t_mean, "target_std": t_std}
    if isinstance(layer, nn.BatchNorm2d):
        layer.weight.fill_(t_std)
        layer.bias.fill_(t_mean)
        return rec
    if sources is None or layer.bias is None:
        raise ValueError(f"{where}: {type(model).__name__} ends in a convolution: pass `sources` (a training "
                         "batch) to measure its pre-activation")
    seen = []
    handle = layer.register_forward_hook(lambda m, i, o: seen.append(o))
    was = model.training
    try:
        model.train()
        model(sources)
    finally:
        handle.remove()
        model.train(was)
    y = seen[0]
    m0, s0 = float(y.mean()), float(y.std())
    scale = t_std / max(s0, 1e-12)
    layer.weight.mul_(scale)
    layer.bias.copy_((layer.bias - m0) * scale + t_mean)
    rec.update({"measured_mean": m0, "measured_std": s0})
    return rec
