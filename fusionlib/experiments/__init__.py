"""Experiment glue: problems built from optimisers, models and metrics.

Submodules load on first use: ``fusionlib.experiments.iaoa`` (the IAOA pansharpening problem and
experiment), ``fusionlib.experiments.aenet_study`` (AE-Netv2 studies: the facade over ``aenet_data``,
``aenet_train``, ``aenet_scoring``, ``aenet_run``, ``aenet_stats`` and ``aenet_timing``),
``fusionlib.experiments.stats`` (Holm, Friedman, the smallest attainable p, shared by both).
"""
from __future__ import annotations

import importlib

_SUBMODULES = ("iaoa", "aenet_study", "stats")
__all__ = list(_SUBMODULES)


def __getattr__(name: str):
    if name in _SUBMODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'fusionlib.experiments' has no attribute {name!r}")
