"""Fusion and image-quality metrics, batched in PyTorch, with benchmark conventions as presets.

Every metric is a public function ``name(fused, sources_or_reference, *, preset=..., ...)`` registered
in :data:`METRICS` with its metadata (``higher_is_better``, ``range``, ``inputs``, ``presets``,
``references``). :func:`evaluate` computes several at once; :func:`e2` scores whole sets of candidate
fused images (AE-Netv2's "Combined" evaluator, reconstructed).

Presets: ``'default'`` (textbook), ``'vifb'``, ``'mefb'``, ``'liu2020'``, ``'tang'`` (fusion
benchmarks), ``'vivone'``, ``'iaoa'`` (pansharpening, in :mod:`fusionlib.metrics.pansharpening`).
"""
from __future__ import annotations

from ._registry import METRICS, PRESETS, MetricInfo, register_metric
from .information import (cross_entropy, entropy, mutual_information, nmi, q_ncie,  # noqa: F401
                          tsallis_entropy)
from .gradient import (average_gradient, brenner, edge_intensity, nabf, qabf,  # noqa: F401
                       spatial_frequency, standard_deviation)
from .structural import fusion_rmse, psnr, q_c, q_e, q_w, q_y, ssim  # noqa: F401
from .perceptual import qcb, qcv, vif, viff  # noqa: F401
from .nss import niqe  # noqa: F401
from .feature_mi import fmi  # noqa: F401
from .mef import mef_ssim  # noqa: F401
from .phase import PhaseCongruency, phase_congruency, q_p  # noqa: F401
from . import pansharpening  # noqa: F401  (registers the pansharpening metrics)
from .api import PRESET_METRICS, VIFB_NAMES, evaluate, metric_table  # noqa: F401
from .combined import E2Result, e2  # noqa: F401

__all__ = [
    "METRICS", "PRESETS", "MetricInfo", "register_metric", "evaluate", "metric_table", "e2", "E2Result",
    "PRESET_METRICS", "VIFB_NAMES",
    "entropy", "cross_entropy", "mutual_information", "nmi", "q_ncie", "tsallis_entropy",
    "standard_deviation", "spatial_frequency", "average_gradient", "edge_intensity", "brenner", "qabf",
    "nabf", "psnr", "fusion_rmse", "ssim", "q_y", "q_c", "q_w", "q_e", "qcb", "qcv", "vif", "viff", "niqe",
    "fmi", "mef_ssim", "q_p", "phase_congruency", "PhaseCongruency",
]
