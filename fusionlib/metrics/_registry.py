"""The metric registry: one entry per metric, with the metadata users and tests need."""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Callable

from .._checks import check_choice, check_positive
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
    data_ranges : tuple of (str, float)
        Default ``data_range`` per preset for metrics whose ``data_range=None`` means "the preset's"
        (the pansharpening indices: 1, 2**11, 255); read through :meth:`data_range_for`.
    keywords : frozenset of str
        The keyword parameters of ``fn``, read once at registration (``evaluate`` passes
        ``data_range``/``quantize`` only to metrics that take them).
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
    data_ranges: tuple[tuple[str, float], ...] = ()
    keywords: frozenset[str] = frozenset()

    def check_preset(self, preset: str, where: str | None = None) -> str:
        """``preset`` if this metric defines it; ``ValueError`` for an unknown preset or one it lacks."""
        where = self.name if where is None else where
        check_choice(where, "preset", preset, PRESETS)
        if preset not in self.presets:
            raise ValueError(f"{where}: `preset` {preset!r} is not defined for metric {self.name!r}; "
                             f"supported presets: {list(self.presets)}")
        return preset

    def data_range_for(self, preset: str, data_range: float | None = None) -> float:
        """``data_range`` checked positive, or when None the preset's default (``data_ranges``)."""
        self.check_preset(preset)
        if data_range is None:
            ranges = dict(self.data_ranges)
            if preset not in ranges:
                raise ValueError(f"{self.name}: `data_range` is required (no default for preset {preset!r})")
            return ranges[preset]
        return check_positive(self.name, "data_range", data_range)

    def range_for(self, preset: str = "default") -> tuple[float, float]:
        """The theoretical range of the metric under ``preset``."""
        return dict(self.preset_ranges).get(preset, self.range)


METRICS: Registry[MetricInfo] = Registry("metric")


def register_metric(name: str, *, full_name: str, higher_is_better: bool, inputs: str,
                    kind: str = "fusion", range: tuple[float, float] = (0.0, float("inf")),
                    units: str = "", presets: tuple[str, ...] = ("default",),
                    references: tuple[str, ...] = (), ideal: float | None = None,
                    preset_ranges: dict[str, tuple[float, float]] | None = None,
                    data_ranges: dict[str, float] | None = None):
    """Decorator registering a public metric function under ``name``.

    ``presets`` is the one place a metric's presets are written: :func:`check_preset` and
    :func:`~fusionlib.metrics.evaluate` read them from :data:`METRICS`.
    """
    if inputs not in ("sources", "reference", "none", "ms_pan"):
        raise ValueError(f"register_metric: `inputs` must be sources/reference/none/ms_pan; got {inputs!r}")
    bad = [p for p in presets if p not in PRESETS]
    if bad:
        raise ValueError(f"register_metric: unknown presets {bad}; known: {PRESETS}")
    extra = tuple((p, (float(lo), float(hi))) for p, (lo, hi) in (preset_ranges or {}).items())
    if any(p not in presets for p, _ in extra):
        raise ValueError(f"register_metric: `preset_ranges` names presets {name!r} does not support")
    dranges = tuple((p, float(v)) for p, v in (data_ranges or {}).items())
    if any(p not in presets for p, _ in dranges):
        raise ValueError(f"register_metric: `data_ranges` names presets {name!r} does not support")

    def deco(fn: Callable) -> Callable:
        METRICS.add(name, MetricInfo(name=name, full_name=full_name, fn=fn,
                                     higher_is_better=higher_is_better, inputs=inputs, kind=kind,
                                     range=range, units=units, presets=tuple(presets),
                                     references=tuple(references), ideal=ideal,
                                     preset_ranges=extra, data_ranges=dranges,
                                     keywords=_keywords(fn)))
        return fn
    return deco


def _keywords(fn: Callable) -> frozenset[str]:
    kinds = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return frozenset(n for n, p in inspect.signature(fn).parameters.items() if p.kind in kinds)


def check_preset(name: str, preset: str) -> str:
    """Refuse an unknown preset, or one metric ``name`` does not define (its registration's ``presets``)."""
    return METRICS[name].check_preset(preset)
