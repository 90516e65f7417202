"""Figures for the book (matplotlib only lives here; nothing imports viz).

Each topic has its own submodule (``core``, ``data``, ``metrics``, ``classical``,
``optim``, ``pansharpening``, ``nets``); everything public is re-exported here,
so chapters call ``fl.viz.<function>``.
"""
from __future__ import annotations

import importlib
import pkgutil

__all__: list[str] = []

for _m in sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")):
    _mod = importlib.import_module(f"{__name__}.{_m}")
    for _name in getattr(_mod, "__all__", ()):
        globals()[_name] = getattr(_mod, _name)
        __all__.append(_name)
