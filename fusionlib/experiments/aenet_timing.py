"""AE-Netv2 studies: the timing protocol of §IV-A-4b and the paper's efficiency claims.

Split out of :mod:`fusionlib.experiments.aenet_study` (which re-exports every name here).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import torch

from .._checks import check_int
from ..utils import resolve_device

__all__ = ["PAPER_CLAIMS", "Timing", "timing_images", "time_inference"]


#: The abstract's / §IV-C-2 claims with the numbers they trace back to (notes §1).
PAPER_CLAIMS = {
    "size_kb": {"claim": "model size about 69 KB", "value": 69.0, "unit": "KB"},
    "speedup_vs_fastest_dl": {"claim": "2.14x faster than the fastest DL method (IFCNN, 0.021 s)",
                              "value": 2.14, "unit": "x"},
    "size_ratio_vs_smallest_dl": {"claim": "11.59x smaller than the smallest DL model (PGMI 0.80 MB)",
                                  "value": 11.59, "unit": "x"},
    "time_s": {"claim": "0.0098 s per 400x400 image (RTX 2070)", "value": 0.0098, "unit": "s"},
    "params": {"claim": "5,378 parameters (Table VI)", "value": 5378, "unit": ""},
}


@dataclass(frozen=True)
class Timing:
    """Per-image times (seconds) of the timing protocol, with the conditions."""

    times: tuple[float, ...]
    device: str
    threads: int
    dtype: str
    size: int

    @property
    def mean(self) -> float:
        return float(np.mean(self.times))

    @property
    def median(self) -> float:
        return float(np.median(self.times))


def timing_images(pairs: Sequence[tuple[np.ndarray, np.ndarray]], *, n: int = 300, size: int = 400
                  ) -> list[tuple[np.ndarray, np.ndarray]]:
    """The timing set (§IV-A-4b): ``n`` gray 8-bit pairs of ``size`` x ``size``, cycling over ``pairs``.

    Each source is resized (bilinear, antialiased) to ``size`` x ``size`` and quantised to uint8.
    """
    n = check_int("timing_images", "n", n, minimum=2)
    if not pairs:
        raise ValueError("timing_images: `pairs` is empty")
    import torch.nn.functional as F
    made = []
    for a, b in pairs:
        t = torch.from_numpy(np.stack([np.asarray(a, np.float32).reshape(a.shape[-2:]),
                                       np.asarray(b, np.float32).reshape(b.shape[-2:])])[None])
        r = F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False, antialias=True)[0]
        q = np.rint(r.clamp(0, 1).numpy() * 255).astype(np.uint8)
        made.append((q[0:1], q[1:2]))
    return [made[i % len(made)] for i in range(n)]


def time_inference(fuse_fn: Callable[[torch.Tensor, torch.Tensor], Any],
                   images: Sequence[tuple[np.ndarray, np.ndarray]], *, device: str = "auto",
                   skip_first: int = 1) -> Timing:
    """Per-image wall time of ``fuse_fn(a, b)`` on ``(1, 1, H, W)`` float32 tensors in [0, 1].

    The paper's protocol: the uint8 pair is converted and moved to the device inside the timed
    region, ``torch.inference_mode()``, the first ``skip_first`` images are excluded (initialisation),
    and on CUDA the device is synchronised before the clock is read.
    """
    dev = resolve_device(device)
    skip_first = check_int("time_inference", "skip_first", skip_first, minimum=0)
    if len(images) <= skip_first:
        raise ValueError(f"time_inference: needs more than {skip_first} images; got {len(images)}")
    sync = (lambda: torch.cuda.synchronize(dev)) if dev.type == "cuda" else (lambda: None)
    times = []
    with torch.inference_mode():
        for i, (a, b) in enumerate(images):
            sync()
            t0 = time.perf_counter()
            ta = torch.from_numpy(np.ascontiguousarray(a)).to(dev).float().div_(255.0)[None]
            tb = torch.from_numpy(np.ascontiguousarray(b)).to(dev).float().div_(255.0)[None]
            out = fuse_fn(ta, tb)
            if isinstance(out, torch.Tensor) and out.device.type != "cpu":
                out = out.cpu()
            sync()
            if i >= skip_first:
                times.append(time.perf_counter() - t0)
    return Timing(tuple(times), str(dev), torch.get_num_threads(), "float32", int(images[0][0].shape[-1]))
