"""Classical image fusion methods: batched torch kernels on any device, one registry.

``fuse(name, sources, **params)`` runs any registered method on a list of
images or a ``(B, N, C, H, W)`` batch; ``METHODS`` holds the method metadata
(task tags, number of inputs, colour handling, kind) from which AE-Netv2's
algorithm library is a selection; ``list_methods(task=...)`` filters it.
Networks register into the same registry with ``kind="network"``.

Colour: luminance methods fuse Y (full-range BT.601 YCbCr) and combine the
chroma by :func:`fuse_chroma` (``|C - 0.5|`` weights).
"""
from __future__ import annotations

from ._core import fuse, fuse_chroma
from ._registry import METHODS, TASKS, MethodSpec, list_methods, register_method
from . import simple, guided, msvd, edge, gtf, exposure, focus, complex_wavelets, wls  # noqa: F401  (registration)
from .pyramids import (gaussian_pyramid, laplacian_pyramid, laplacian_reconstruct, ratio_pyramid,
                       ratio_reconstruct)
from .wavelets import wavedec2, waverec2
from .complex_wavelets import dtcwt_filters, dtcwt_forward, dtcwt_inverse
from .wls import visual_saliency_map, wls_decompose

__all__ = [
    "METHODS", "TASKS", "MethodSpec", "fuse", "fuse_chroma", "list_methods", "register_method",
    "gaussian_pyramid", "laplacian_pyramid", "laplacian_reconstruct", "ratio_pyramid",
    "ratio_reconstruct", "wavedec2", "waverec2", "dtcwt_forward", "dtcwt_inverse", "dtcwt_filters",
    "visual_saliency_map", "wls_decompose",
]
