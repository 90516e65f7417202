"""The metric registry: one entry per metric, with the metadata users and tests need."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from ..registry import Registry

#: Every preset a metric may support.
PRESETS = ("default", "vifb", "mefb", "liu2020", "tang", "vivone", "iaoa")


@dataclass(frozen=True)
class MetricInfo:
    """Metadata of a registered metric.

    Attributes
    ----------
    name : str
        Registry key and public function name (``psnr``, ``entropy``, ...).
    full_name : str
        The literature name, e.g. "Peak signal-to-noise ratio".
    fn : callable
        The public function ``fn(fused, sources_or_reference, *, preset=..., ...)``.
    higher_is_better : bool
    inputs : {'sources', 'reference', 'none', 'ms_pan'}
        What the metric needs besides the fused image.
    kind : {'fusion', 'pansharpening', 'no-reference'}
    range : tuple of float
        Theoretical range (``float('inf')`` allowed).
    units : str
    presets : tuple of str
        Presets with a distinct, documented convention.
    references : tuple of str
        Papers (with DOI) and benchmark code the implementation follows.
    ideal : float or None
        The value of a perfect result, where one exists.
    preset_ranges : tuple of (str, (float, float))
        Presets whose range differs from ``range`` (e.g. VIFB's SSIM is a sum over two sources);
        read them through :meth:`range_for`.
    """

    name: str
    full_name: str
    fn: Callable
    higher_is_better: bool
    inputs: str
    kind: str = "fusion"
    range: tuple[float, float] = (0.0, float("inf"))
    units: str = ""
    presets: tuple[str, ...] = ("default",)
    references: tuple[str, ...] = field(default_factory=tuple)
    ideal: float | None = None
    preset_ranges: tuple[tuple[str, tuple[float, float]], ...] = ()

    def range_for(self, preset: str = "default") -> tuple[float, float]:
        """The theoretical range of the metric under ``preset``."""
        return dict(self.preset_ranges).get(preset, self.range)


METRICS: Registry[MetricInfo] = Registry("metric")


def register_metric(name: str, *, full_name: str, higher_is_better: bool, inputs: str,
                    kind: str = "fusion", range: tuple[float, float] = (0.0, float("inf")),
                    units: str = "", presets: tuple[str, ...] = ("default",),
                    references: tuple[str, ...] = (), ideal: float | None = None,
                    preset_ranges: dict[str, tuple[float, float]] | None = None):
    """Decorator registering a public metric function under ``name``."""
    if inputs not in ("sources", "reference", "none", "ms_pan"):
        raise ValueError(f"register_metric: `inputs` must be sources/reference/none/ms_pan; got {inputs!r}")
    bad = [p for p in presets if p not in PRESETS]
    if bad:
        raise ValueError(f"register_metric: unknown presets {bad}; known: {PRESETS}")
    extra = tuple((p, (float(lo), float(hi))) for p, (lo, hi) in (preset_ranges or {}).items())
    if any(p not in presets for p, _ in extra):
        raise ValueError(f"register_metric: `preset_ranges` names presets {name!r} does not support")

    def deco(fn: Callable) -> Callable:
        METRICS.add(name, MetricInfo(name=name, full_name=full_name, fn=fn,
                                     higher_is_better=higher_is_better, inputs=inputs, kind=kind,
                                     range=range, units=units, presets=tuple(presets),
                                     references=tuple(references), ideal=ideal,
                                     preset_ranges=extra))
        return fn
    return deco
