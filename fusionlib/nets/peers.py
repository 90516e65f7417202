"""Published fusion networks as side-by-side peers: IFCNN, DenseFuse, DeepFuse.

The modules are our own code, written from the architectures in the papers and in
``shared/notes/peers.md``; the **weights** are the published files, read at run time
from ``<data root>/weights`` (never copied into the repository) and checked against
that folder's ``SHA256SUMS`` before loading.

* IFCNN (Zhang et al., Information Fusion 54, 2020, doi:10.1016/j.inffus.2019.07.011),
  weights uzeful/IFCNN @ 8fe59c2: conv1 7x7 3->64 (no bias, replicate pad 3) and conv2
  (replicate pad 1, 3x3 64->64 no bias, BN, ReLU) per source, element-wise MAX/MEAN/SUM,
  conv3 (as conv2), conv4 1x1 64->3 with bias. 83,587 parameters.
* DenseFuse (Li & Wu, IEEE TIP 28(5), 2019, doi:10.1109/TIP.2018.2887342), author's
  PyTorch port hli1221/densefuse-pytorch @ 4394b63: reflection-padded 3x3 convs with
  bias; encoder 1->16 + dense block (3 x 16); decoder 64->64->32->16->1; ReLU except
  the last layer. Gray input on the 0..255 scale. 74,193 parameters.
* DeepFuse (Prabhakar et al., ICCV 2017, doi:10.1109/ICCV.2017.505), KRamPrabhakar/DeepFuse
  @ 31c226f: per-exposure branches (3x3 1->32, 5x5 32->64, shared), features added,
  7x7 64->64, 5x5 64->32, 5x5 32->16, 7x7 16->1; leaky ReLU (0.01) after every layer;
  zero 'same' padding; no biases; Lasagne kernels are flipped (true convolution).
  316,976 parameters. Y channel on the 0..255 scale; output min-max stretched.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .._checks import check_choice, check_finite_range
from .._convert import restore, stack_sources
from ..classical import fuse_chroma
from ..filters import luma, rgb_to_ycbcr, ycbcr_to_rgb
from ..utils import sha256_file

__all__ = ["IFCNN", "DenseFuse", "DeepFuse", "PEER_FILES", "WeightsUnavailable", "weights_path",
           "load_peer", "fuse_peer", "pil_gray", "ifcnn_multi_exposure"]

#: peer name -> variant -> path relative to ``<data root>/weights``
PEER_FILES = {
    "ifcnn": {"max": "ifcnn/IFCNN-MAX.pth", "mean": "ifcnn/IFCNN-MEAN.pth", "sum": "ifcnn/IFCNN-SUM.pth"},
    "densefuse": {"gray": "densefuse/densefuse_gray.model"},
    "deepfuse": {"epoch99": "deepfuse/DF_model_Epoch99.npz"},
}


class WeightsUnavailable(FileNotFoundError):
    """The published weights are not present under the data root."""


# ------------------------------------------------------------------------------------ IFCNN
class _IFCNNConvBlock(nn.Module):
    def __init__(self, in_ch: int, out_ch: int):
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, 3, bias=False)
        self.bn = nn.BatchNorm2d(out_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.bn(self.conv(F.pad(x, (1, 1, 1, 1), mode="replicate"))))


class IFCNN(nn.Module):
    """IFCNN (see the module docstring). ``fuse`` in {'max', 'mean', 'sum'}.

    Shape:
        a list of N ``(B, 3, H, W)`` normalised sources -> ``(B, 3, H, W)`` (no output activation).
    """

    n_sources = 2

    def __init__(self, fuse: str = "max"):
        super().__init__()
        check_choice("IFCNN", "fuse", fuse, ("max", "mean", "sum"))
        self.fuse = fuse
        self.conv1 = nn.Conv2d(3, 64, 7, bias=False)
        self.conv2 = _IFCNNConvBlock(64, 64)
        self.conv3 = _IFCNNConvBlock(64, 64)
        self.conv4 = nn.Conv2d(64, 3, 1, bias=True)
        self.conv1.weight.requires_grad_(False)  # frozen ResNet-101 stem in the original

    def forward(self, sources: Sequence[torch.Tensor] | torch.Tensor, b: torch.Tensor | None = None):
        if b is not None:
            sources = [sources, b]
        feats = [self.conv2(self.conv1(F.pad(s.expand(-1, 3, -1, -1), (3, 3, 3, 3), mode="replicate")))
                 for s in sources]
        stack = torch.stack(feats, 0)
        fused = {"max": lambda t: t.max(0).values, "mean": lambda t: t.mean(0),
                 "sum": lambda t: t.sum(0)}[self.fuse](stack)
        return self.conv4(self.conv3(fused))

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters())


# ------------------------------------------------------------------------------------ DenseFuse
class _DFConv(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, last: bool = False):
        super().__init__()
        self.conv2d = nn.Conv2d(in_ch, out_ch, 3)
        self.last = last

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"))
        return y if self.last else torch.relu(y)


class _DenseConv(nn.Module):
    def __init__(self, in_ch: int, out_ch: int):
        super().__init__()
        self.dense_conv = _DFConv(in_ch, out_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.dense_conv(x)], dim=1)


class _DenseBlock(nn.Module):
    def __init__(self, in_ch: int = 16, growth: int = 16, n: int = 3):
        super().__init__()
        self.denseblock = nn.Sequential(*[_DenseConv(in_ch + i * growth, growth) for i in range(n)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.denseblock(x)


class DenseFuse(nn.Module):
    """DenseFuse (see the module docstring).

    ``strategy``: 'mean' (the PyTorch port's default), 'add' (paper, addition) or 'l1'
    (paper, L1-norm soft weighting: activity = channel L1 norm averaged over a 3x3 window,
    weights = activity / sum of activities).

    Shape:
        a list of N ``(B, 1, H, W)`` sources on the **0..255** scale -> ``(B, 1, H, W)`` (unclamped).
    """

    n_sources = 2

    def __init__(self, strategy: str = "mean"):
        super().__init__()
        check_choice("DenseFuse", "strategy", strategy, ("mean", "add", "l1"))
        self.strategy = strategy
        self.conv1 = _DFConv(1, 16)
        self.DB1 = _DenseBlock(16, 16, 3)
        self.conv2 = _DFConv(64, 64)
        self.conv3 = _DFConv(64, 32)
        self.conv4 = _DFConv(32, 16)
        self.conv5 = _DFConv(16, 1, last=True)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.DB1(self.conv1(x))

    def decode(self, f: torch.Tensor) -> torch.Tensor:
        return self.conv5(self.conv4(self.conv3(self.conv2(f))))

    def forward(self, sources: Sequence[torch.Tensor] | torch.Tensor, b: torch.Tensor | None = None):
        if b is not None:
            sources = [sources, b]
        feats = torch.stack([self.encode(s) for s in sources], 0)
        if self.strategy == "mean":
            f = feats.mean(0)
        elif self.strategy == "add":
            f = feats.sum(0)
        else:
            act = feats.abs().sum(2, keepdim=True)                       # (N, B, 1, H, W)
            n, bsz = act.shape[:2]
            act = F.avg_pool2d(act.flatten(0, 1), 3, stride=1, padding=1, count_include_pad=False)
            act = act.reshape(n, bsz, 1, *act.shape[-2:])
            w = act / act.sum(0, keepdim=True).clamp_min(1e-12)
            f = (w * feats).sum(0)
        return self.decode(f)

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters())


# ------------------------------------------------------------------------------------ DeepFuse
class DeepFuse(nn.Module):
    """DeepFuse (see the module docstring).

    Shape:
        a list of N ``(B, 1, H, W)`` Y channels on the **0..255** scale -> ``(B, 1, H, W)``
        (raw network output; :func:`fuse_peer` applies the per-image min-max stretch).
    """

    n_sources = 2
    _SHAPES = [(32, 1, 3, 3), (64, 32, 5, 5), (64, 64, 7, 7), (32, 64, 5, 5), (16, 32, 5, 5), (1, 16, 7, 7)]

    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv2d(s[1], s[0], s[2], padding=s[2] // 2, bias=False)
                                    for s in self._SHAPES])

    def forward(self, sources: Sequence[torch.Tensor] | torch.Tensor, b: torch.Tensor | None = None):
        if b is not None:
            sources = [sources, b]
        act = lambda t: F.leaky_relu(t, 0.01)  # noqa: E731
        f = sum(act(self.convs[1](act(self.convs[0](s)))) for s in sources)
        for conv in self.convs[2:]:
            f = act(conv(f))
        return f

    def load_npz(self, path: str | os.PathLike) -> "DeepFuse":
        """Load ``arr_0..arr_5`` (Lasagne layout, true convolution: kernels flipped here)."""
        with np.load(path) as z:
            for i, conv in enumerate(self.convs):
                w = z[f"arr_{i}"]
                if tuple(w.shape) != self._SHAPES[i]:
                    raise ValueError(f"DeepFuse.load_npz: `arr_{i}` in {path} must have shape "
                                     f"{self._SHAPES[i]}; got {w.shape}")
                conv.weight.data.copy_(torch.from_numpy(np.ascontiguousarray(w[:, :, ::-1, ::-1])))
        return self

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters())


# ------------------------------------------------------------------------------------ loading
def _data_root(root: str | os.PathLike | None) -> Path | None:
    try:
        from ..data import find_root  # the data layer, when present
        return find_root(root)
    except ImportError:
        pass
    if root is not None:
        return Path(root)
    env = os.environ.get("FUSIONLIB_DATA")
    cands = ([Path(env)] if env else []) + [Path(__file__).resolve().parents[2].parent / "shared" / "data"]
    return next((c for c in cands if c.is_dir()), None)


def weights_path(name: str, variant: str | None = None, root: str | os.PathLike | None = None,
                 *, verify: bool = True) -> Path:
    """Path of a peer's published weights under ``<root>/weights``, checksum-verified.

    Raises :class:`WeightsUnavailable` (a ``FileNotFoundError``) when absent and
    ``ValueError`` when the SHA-256 differs from ``weights/SHA256SUMS``.
    """
    check_choice("weights_path", "name", name, tuple(PEER_FILES))
    variant = variant or next(iter(PEER_FILES[name]))
    check_choice("weights_path", "variant", variant, tuple(PEER_FILES[name]))
    rel = PEER_FILES[name][variant]
    base = _data_root(root)
    if base is None or not (base / "weights" / rel).is_file():
        raise WeightsUnavailable(
            f"weights_path: the published {name} weights `weights/{rel}` were not found under the data "
            f"root ({base}); set FUSIONLIB_DATA or pass `root=`. They are third-party files and are never "
            "shipped with fusionlib.")
    path = base / "weights" / rel
    if verify:
        sums = base / "weights" / "SHA256SUMS"
        if not sums.is_file():
            raise WeightsUnavailable(f"weights_path: checksum file {sums} is missing; cannot verify {path}")
        table = {}
        for line in sums.read_text().splitlines():
            parts = line.split()
            if len(parts) == 2:
                table[parts[1].lstrip("*").removeprefix("./")] = parts[0].lower()
        if rel not in table:
            raise ValueError(f"weights_path: {rel} is not listed in {sums}")
        got = sha256_file(path)
        if got != table[rel]:
            raise ValueError(f"weights_path: SHA-256 of {path} is {got}; {sums} says {table[rel]}")
    return path


def load_peer(name: str, variant: str | None = None, root: str | os.PathLike | None = None,
              *, device: str | torch.device = "cpu", verify: bool = True, **options) -> nn.Module:
    """Build peer ``name`` ('ifcnn', 'densefuse', 'deepfuse') with its published weights, in eval mode.

    ``variant``: IFCNN 'max' (default) / 'mean' / 'sum'; options go to the constructor
    (e.g. ``strategy='l1'`` for DenseFuse).
    """
    path = weights_path(name, variant, root, verify=verify)
    if name == "ifcnn":
        model = IFCNN(fuse=variant or "max")
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(state, strict=True)
    elif name == "densefuse":
        model = DenseFuse(**options)
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(state, strict=True)
    else:
        model = DeepFuse().load_npz(path)
    return model.to(device).eval()


_IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


def pil_gray(rgb: torch.Tensor) -> torch.Tensor:
    """PIL's ``convert('L')`` of uint8-valued RGB (0..255): ``(R*19595 + G*38470 + B*7471 + 2**15) >> 16``."""
    r, g, b = (rgb[:, i:i + 1].round().long() for i in range(3))
    return ((r * 19595 + g * 38470 + b * 7471 + 32768) >> 16).to(rgb.dtype)


@torch.no_grad()
def fuse_peer(name: str, sources: Any, *, model: nn.Module | None = None, normalize: str = "none",
              quantize: bool = False, root: str | os.PathLike | None = None,
              device: str | torch.device = "cpu") -> Any:
    """Fuse ``sources`` with a published peer under its own input/output conventions.

    Parameters
    ----------
    name : {'ifcnn', 'densefuse', 'deepfuse'}
    sources : list of arrays/tensors (H, W), (C, H, W) or (B, C, H, W), float in [0, 1] or uint8
        Gray or RGB; RGB is fused on Y with |C - 0.5|-weighted chroma for DenseFuse and
        DeepFuse, and directly (3 channels) for IFCNN.
    model : nn.Module, optional
        A loaded peer (else :func:`load_peer` with the default variant).
    normalize : {'none', 'imagenet'}
        IFCNN input normalisation: 'imagenet' for colour multi-focus, 'none' otherwise.
    quantize : bool
        Emulate the authors' saving: IFCNN ``uint8(x*255)`` truncation and PIL gray; others round.

    Returns
    -------
    Fused image in [0, 1], gray when all sources are gray, else RGB; NumPy in -> NumPy out.
    """
    check_choice("fuse_peer", "name", name, tuple(PEER_FILES))
    check_choice("fuse_peer", "normalize", normalize, ("none", "imagenet"))
    x, origin = stack_sources(sources, where="fuse_peer", name="sources", dtype=torch.float32,
                              device=device)
    check_finite_range("fuse_peer", "sources", x, 0.0, 1.0, data_range_hint=False)
    if model is None:
        model = load_peer(name, root=root, device=device)
    gray = x.shape[2] == 1
    srcs = list(x.unbind(1))
    if name == "ifcnn":
        mean, std = ((0.0,) * 3, (1.0,) * 3) if normalize == "none" else _IMAGENET
        m = torch.tensor(mean, device=x.device).view(1, 3, 1, 1)
        s = torch.tensor(std, device=x.device).view(1, 3, 1, 1)
        out = model([(t.expand(-1, 3, -1, -1) - m) / s for t in srcs])
        out = (out * s + m).clamp(0, 1)
        if quantize:
            out = torch.floor(out * 255.0)
            out = (pil_gray(out) if gray else out) / 255.0
        elif gray:
            out = luma(out)
        return restore(out, origin)
    if gray:
        ys, chroma = srcs, None
    else:
        ycc = [rgb_to_ycbcr(t) for t in srcs]
        ys = [t[:, :1] for t in ycc]
        chroma = torch.stack([t[:, 1:3] for t in ycc], 1)  # (B, N, 2, H, W): Cb, Cr of each source
    y = model([t * 255.0 for t in ys])
    if name == "densefuse":
        y = y.clamp(0, 255) / 255.0
    else:
        lo = y.amin(dim=(1, 2, 3), keepdim=True)
        hi = y.amax(dim=(1, 2, 3), keepdim=True)
        y = (y - lo) / (hi - lo).clamp_min(1e-12)
    if quantize:
        y = torch.round(y * 255.0) / 255.0
    if chroma is not None:
        y = ycbcr_to_rgb(torch.cat([y, fuse_chroma(chroma)], 1)).clamp(0, 1)
    return restore(y, origin)


def _cv_gray_u8(rgb: torch.Tensor) -> torch.Tensor:
    """OpenCV's ``COLOR_RGB2GRAY`` on uint8-valued RGB: ``(4899 R + 9617 G + 1868 B + 2**13) >> 14``."""
    r, g, b = (rgb[:, i:i + 1].long() for i in range(3))
    return (r * 4899 + g * 9617 + b * 1868 + 8192) >> 14


def _cv_ycrcb_to_rgb_u8(y: torch.Tensor, cr: torch.Tensor, cb: torch.Tensor) -> torch.Tensor:
    """OpenCV's ``COLOR_YCrCb2RGB`` on uint8 values (14-bit fixed point, coefficients 1.403,
    -0.714, -0.344, 1.773 times 2**14), saturated to 0..255."""
    y, cr, cb = y.long(), cr.long() - 128, cb.long() - 128
    r = y + ((22987 * cr + 8192) >> 14)
    g = y + ((-11698 * cr - 5636 * cb + 8192) >> 14)
    b = y + ((29049 * cb + 8192) >> 14)
    return torch.cat([r, g, b], 1).clamp_(0, 255)


@torch.no_grad()
def ifcnn_multi_exposure(sources: Any, *, model: nn.Module | None = None, input_space: str = "rgb",
                         enhance: bool = True, root: str | os.PathLike | None = None,
                         device: str | torch.device = "cpu") -> Any:
    """IFCNN's published multi-exposure pipeline (IFCNN-MEAN on Y, Y enhanced with CLAHE, weighted chroma).

    The steps of uzeful/IFCNN @ 8fe59c2 (``Code/IFCNN_Main.py``, section 6; notes ``peers.md``):

    1. every exposure in YCbCr (8-bit, full range); its Y in [0, 1], repeated to 3 channels,
       without normalisation;
    2. IFCNN with the MEAN rule over all exposures; output clamped to [0, 1], times 255 and
       truncated to uint8, then OpenCV's RGB -> gray (the fused Y);
    3. ``y = uint8(16 + 219 y / 255)`` (truncation), then OpenCV CLAHE, clip 2.0, 8 x 8 tiles
       (:func:`fusionlib.nets.clahe.clahe`);
    4. Cb and Cr fused with weights ``|C - 128|`` (128 where all weights vanish), truncated to uint8;
    5. OpenCV's YCrCb -> RGB (fixed point).

    Parameters
    ----------
    sources : list of N >= 2 images (C, H, W) or (B, C, H, W), uint8 or float in [0, 1]
        The exposures. RGB (``input_space='rgb'``) or already YCbCr (``'ycbcr'``, e.g. PIL's
        ``convert('YCbCr')``, which IFCNN used; its integer conversion can differ from ours by 1
        level). Gray sources skip the chroma: the result is the enhanced Y.
    model : IFCNN, optional
        Default: ``load_peer('ifcnn', 'mean')``.
    input_space : {'rgb', 'ycbcr'}
    enhance : bool
        Steps 3 (``False``: the fused Y as is; the behaviour of :func:`fuse_peer`).

    Returns
    -------
    RGB (or gray) image in [0, 1], multiples of 1/255 (IFCNN saved 8-bit PNGs).
    """
    from .clahe import clahe
    check_choice("ifcnn_multi_exposure", "input_space", input_space, ("rgb", "ycbcr"))
    x, origin = stack_sources(sources, where="ifcnn_multi_exposure", name="sources", dtype=torch.float32,
                              device=device)
    if not bool(torch.isfinite(x).all()):
        raise ValueError("ifcnn_multi_exposure: `sources` contains NaN or Inf values")
    if x.shape[1] < 2:
        raise ValueError(f"ifcnn_multi_exposure: `sources` expected at least 2 exposures; got {x.shape[1]}")
    if x.shape[2] not in (1, 3):
        raise ValueError(f"ifcnn_multi_exposure: sources must have 1 or 3 channels; got {x.shape[2]}")
    if model is None:
        model = load_peer("ifcnn", "mean", root=root, device=device)
    gray = x.shape[2] == 1
    u8 = torch.round(x.clamp(0, 1) * 255.0)                         # (B, N, C, H, W) 0..255
    if gray:
        ycc = u8
    elif input_space == "ycbcr":
        ycc = u8
    else:   # JPEG full-range YCbCr (ITU-T T.871), rounded to 8 bits
        ycc = torch.round(rgb_to_ycbcr(u8.flatten(0, 1) / 255.0).clamp(0, 1) * 255.0).view_as(u8)
    ys = [ycc[:, i, :1] / 255.0 for i in range(ycc.shape[1])]
    out = model([t.expand(-1, 3, -1, -1) for t in ys])
    out = torch.floor(out.clamp(0, 1) * 255.0)                      # uint8 cast (truncation)
    y = _cv_gray_u8(out).float()
    if enhance:
        y = torch.floor((y / 255.0) * 235.0 + (1.0 - y / 255.0) * 16.0)
        y = torch.round(clahe(y / 255.0) * 255.0)
    if gray:
        return restore(y / 255.0, origin)
    fused = []
    for ch in (1, 2):
        c = ycc[:, :, ch:ch + 1]
        w = (c - 128.0).abs()
        den = w.sum(1)
        v = (c * w / den.unsqueeze(1)).sum(1)
        fused.append(torch.floor(torch.where(den > 0, v, torch.full_like(v, 128.0))))
    rgb = _cv_ycrcb_to_rgb_u8(y, fused[1], fused[0]).float()
    return restore(rgb / 255.0, origin)
