"""fusionlib: image fusion and pansharpening in PyTorch.

The package behind *fusionbook*, an executable book that reproduces AE-Netv2
(Fang et al., 2021) and IAOA pansharpening (Mi, Luo and Zhou, 2024).

Subpackages are imported lazily, so ``import fusionlib as fl`` is cheap and
``fl.metrics``, ``fl.classical`` ... load on first use.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_SUBMODULES = (
    "data", "io", "filters", "metrics", "classical", "optim", "pansharpening",
    "nets", "experiments", "viz", "widgets", "utils", "registry", "book", "provenance", "parallel",
)

__all__ = ["__version__", *_SUBMODULES]


def __getattr__(name: str):
    if name in _SUBMODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'fusionlib' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
