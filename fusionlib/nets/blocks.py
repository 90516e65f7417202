"""Building blocks of AE-Netv2 and its Table VII variants (the replaceable module R).

Every R block maps ``(B, width, H, W) -> (B, width, H, W)`` so that the
identity skip of Eq. 1 (``P = C2(h + R(h))``) applies to all of them.

Widths are a **reconstruction** (``shared/notes/aenetv2.md`` §1-§2): the paper
gives only the model sizes of Table V/VII; we chose the widths so that the
parameter count of the whole network lands near the count implied by those
sizes at 12 bytes per parameter. :data:`IMPLIED_PARAMS` holds those targets.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

__all__ = [
    "ConvBNReLU", "ChannelShuffle", "channel_shuffle", "GroupConvBlock", "RegularBlock",
    "SeparableBlock", "Fire", "SqueezeBlock", "InceptionBlock", "Chain", "BLOCKS",
    "build_block", "IMPLIED_PARAMS",
]


class ConvBNReLU(nn.Module):
    """3x3 (or ``k``) convolution, optional batch normalisation, optional ReLU.

    Shape: ``(B, in_ch, H, W) -> (B, out_ch, H, W)`` (zero 'same' padding).
    """

    def __init__(self, in_ch: int, out_ch: int, k: int = 3, *, bias: bool = True, bn: bool = True,
                 relu: bool = True, groups: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, k, padding=k // 2, bias=bias, groups=groups)
        self.bn = nn.BatchNorm2d(out_ch) if bn else nn.Identity()
        self.relu = nn.ReLU(inplace=False) if relu else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn(self.conv(x)))


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """ShuffleNet channel shuffle: (g, c/g) -> (c/g, g) transpose of the channel axis."""
    b, c, h, w = x.shape
    return x.reshape(b, groups, c // groups, h, w).transpose(1, 2).reshape(b, c, h, w)


class ChannelShuffle(nn.Module):
    def __init__(self, groups: int):
        super().__init__()
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return channel_shuffle(x, self.groups)


class GroupConvBlock(nn.Module):
    """GCB: 3x3 group convolution (``groups`` groups, no bias) followed by a channel shuffle.

    With ``width=64, groups=32`` it has 64*64*9/32 = 1,152 parameters, the value
    that makes Table VI's 5,378 and 41,154 hold together (notes §1). The shuffle
    has no parameters; ``shuffle=False`` drops it (ablation).
    """

    def __init__(self, width: int = 64, groups: int = 32, *, shuffle: bool = True):
        super().__init__()
        if width % groups:
            raise ValueError(f"GroupConvBlock: `groups` must divide `width` {width}; got {groups}")
        self.conv = nn.Conv2d(width, width, 3, padding=1, groups=groups, bias=False)
        self.groups = groups
        self.shuffle = ChannelShuffle(groups) if shuffle else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shuffle(self.conv(x))


class RegularBlock(nn.Module):
    """3x3 regular convolution ``width -> width`` with bias (36,928 parameters at width 64)."""

    def __init__(self, width: int = 64):
        super().__init__()
        self.conv = nn.Conv2d(width, width, 3, padding=1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class SeparableBlock(nn.Module):
    """Depthwise-separable convolution: 3x3 depthwise (bias) then 1x1 pointwise (bias)."""

    def __init__(self, width: int = 64):
        super().__init__()
        self.depthwise = nn.Conv2d(width, width, 3, padding=1, groups=width, bias=True)
        self.pointwise = nn.Conv2d(width, width, 1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


class Fire(nn.Module):
    """SqueezeNet Fire module: 1x1 squeeze to ``s`` + ReLU, then 1x1 (``e1``) and 3x3 (``e3``)
    expands with ReLU, concatenated to ``e1 + e3`` channels (Iandola et al., 2016)."""

    def __init__(self, in_ch: int, s: int, e1: int, e3: int):
        super().__init__()
        self.squeeze = nn.Conv2d(in_ch, s, 1)
        self.expand1 = nn.Conv2d(s, e1, 1)
        self.expand3 = nn.Conv2d(s, e3, 3, padding=1)
        self.out_channels = e1 + e3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = torch.relu(self.squeeze(x))
        return torch.cat([torch.relu(self.expand1(z)), torch.relu(self.expand3(z))], dim=1)


class SqueezeBlock(Fire):
    """A Fire module ``width -> s -> width/2 + width/2`` (the 'Squeeze' R of Table VII)."""

    def __init__(self, width: int = 64, s: int = 44):
        super().__init__(width, s, width // 2, width - width // 2)


class InceptionBlock(nn.Module):
    """Inception-type module: parallel 1x1, 3x3, 5x5 and (3x3 max-pool -> 1x1) branches,
    each conv followed by ReLU, concatenated to ``b1 + b3 + b5 + bp`` (= ``width``) channels.

    ``r3``/``r5`` are optional 1x1 reductions before the 3x3/5x5 convs (GoogLeNet).
    """

    def __init__(self, width: int = 64, b1: int = 4, b3: int = 16, b5: int = 40, bp: int = 4,
                 r3: int | None = None, r5: int | None = None):
        super().__init__()
        if b1 + b3 + b5 + bp != width:
            raise ValueError(f"InceptionBlock: branch widths must sum to `width` {width}; "
                             f"got {b1}+{b3}+{b5}+{bp}")

        def branch(k, out, red):
            if red is None:
                return nn.Sequential(nn.Conv2d(width, out, k, padding=k // 2), nn.ReLU())
            return nn.Sequential(nn.Conv2d(width, red, 1), nn.ReLU(),
                                 nn.Conv2d(red, out, k, padding=k // 2), nn.ReLU())

        self.b1 = branch(1, b1, None)
        self.b3 = branch(3, b3, r3)
        self.b5 = branch(5, b5, r5)
        self.bp = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), nn.Conv2d(width, bp, 1), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.b1(x), self.b3(x), self.b5(x), self.bp(x)], dim=1)


class Chain(nn.Sequential):
    """Blocks applied one after the other (X+GCB = X then GCB)."""


def _gcb(width, groups=32, shuffle=True, **_):
    return GroupConvBlock(width, groups, shuffle=shuffle)


#: Table VII block name -> factory(width, groups, shuffle). Widths are reconstructions.
BLOCKS: dict[str, Callable[..., nn.Module]] = {
    "regular": lambda width, **kw: RegularBlock(width),
    "gcb": _gcb,
    "separable": lambda width, **kw: SeparableBlock(width),
    "squeeze": lambda width, **kw: SqueezeBlock(width, s=44),
    "inception": lambda width, **kw: InceptionBlock(width, b1=4, b3=16, b5=40, bp=4),
    "gcb_inception": lambda width, **kw: Chain(
        InceptionBlock(width, b1=16, b3=16, b5=16, bp=16, r3=4, r5=2), _gcb(width, **kw)),
    "squeeze_gcb": lambda width, **kw: Chain(SqueezeBlock(width, s=4), _gcb(width, **kw)),
    "squeeze2_gcb": lambda width, **kw: Chain(SqueezeBlock(width, s=4), SqueezeBlock(width, s=4),
                                              _gcb(width, **kw)),
}

#: Whole-network parameter counts implied by Table VII's sizes (MB) at 12 bytes/parameter
#: (weights + Adam's two moments; notes §1): (low, high) ranges from the rounding of the MB value.
IMPLIED_PARAMS: dict[str, tuple[int, int]] = {
    "regular": (41_154, 41_154), "gcb": (5_378, 5_378),
    "separable": (9_200, 9_600), "squeeze": (21_000, 22_000), "inception": (76_000, 80_000),
    "gcb_inception": (9_200, 9_600), "squeeze_gcb": (6_700, 7_000), "squeeze2_gcb": (8_300, 8_700),
}


def build_block(name: str, width: int = 64, **options) -> nn.Module:
    """The R module ``name`` (a key of :data:`BLOCKS`)."""
    if name not in BLOCKS:
        raise KeyError(f"build_block: unknown block {name!r}; valid keys: {sorted(BLOCKS)}")
    return BLOCKS[name](width, **options)
