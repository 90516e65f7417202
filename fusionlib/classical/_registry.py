"""The fusion-method registry ``METHODS`` and its entry type.

Every entry is a :class:`MethodSpec`: a private kernel plus the metadata the
book, the command line and AE-Netv2's label generator select on (task tags,
number of inputs, colour handling, kind).

Hook for networks: a trained network registers into the same registry with
``kind="network"`` (``register_method(..., kind="network")``); ``fuse`` and
``python -m fusionlib fuse`` then treat it like any classical method.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from .._checks import Param, check_params
from ..registry import Registry

TASKS = ("infrared-visible", "multi-focus", "multi-exposure", "medical")

# Declared ranges of the method parameters (``params`` of :func:`register_method`): wide enough for
# every published setting, narrow enough that no value allocates more than a few images' worth of
# memory or leaves float32 (a window of 2 * MAX_RADIUS + 1 pixels, a Gaussian of 6 * MAX_SIGMA).
MAX_LEVELS = 16        #: pyramid / wavelet / decomposition levels
MAX_RADIUS = 256       #: guided-filter and box radii, pixels
MAX_WINDOW = 101       #: odd window sides looped over pixel by pixel (bilateral, focus, local energy)
MAX_KERNEL = 255       #: explicit 1-D kernel lengths
MAX_SIGMA = 100.0      #: spatial / intensity Gaussian widths
MIN_SIGMA = 1e-3
MAX_SCALE = 1e6        #: regularisers, edge thresholds, penalty weights (eps, lam, kappa, rho ...)
MIN_SCALE = 1e-12      #: still > 0 in float32 when added to 0
MAX_ITER = 1000        #: iteration counts
MAX_EXPONENT = 10.0    #: exponents of weight maps (Mertens' wc, ws, we)
KINDS = ("classical", "network")
COLOURS = ("luminance", "native")


@dataclass(frozen=True)
class MethodSpec:
    """One registered fusion method.

    Attributes
    ----------
    name : str
        Registry key (also the ``--method`` name of the command line).
    kernel : callable
        ``kernel(x, **params)``. For ``colour="luminance"`` ``x`` is a
        ``(B, N, H, W)`` tensor of N luminance planes and the result is
        ``(B, 1, H, W)``; for ``colour="native"`` ``x`` is ``(B, N, C, H, W)``
        and the result ``(B, C, H, W)``.
    full_name, reference : str
        Literature name and citation with DOI.
    tasks : tuple of str
        Subset of :data:`TASKS` the method is meant for.
    min_inputs, max_inputs : int, int or None
        Accepted number of sources (``None``: any number).
    colour : {'luminance', 'native'}
        ``'luminance'``: RGB sources are fused on Y (YCbCr) and the chroma is
        combined by :func:`fusionlib.classical.fuse_chroma`; ``'native'``: the
        kernel sees all channels.
    kind : {'classical', 'network'}
    defaults : mapping
        Keyword-only parameters of the kernel and their defaults.
    params : mapping of str to :class:`fusionlib._checks.Param`
        Declared type and range of every parameter (the one check of the API and the command line,
        :meth:`check_params`).
    min_size : callable
        ``min_size(params) -> (int, str)``: smallest side in pixels and why.
    pixelwise : bool
        A pixel-wise rule (average, choose-max): each output pixel depends only
        on the same pixel of the sources, the kernel also accepts a sequence of
        N planes ``(B, 1, H, W)`` (same shape, dtype and device) in place of the
        stacked ``(B, N, H, W)`` tensor, giving the same bits, and sources in
        [0, 1] give a result in [0, 1] (a mean or an order statistic of the
        sources). ``fuse`` then skips stacking and clipping for gray CPU
        sources (:func:`fusionlib.classical._core._fuse_pixelwise`).
    checked_kernel : callable or None
        Optional, for a pixel-wise method: the kernel and the [0, 1] check in
        one, ``checked_kernel(planes, **params)`` on N CPU planes returns the
        kernel's result to the bit, or None when some value is not a number in
        [+0, 1] or it declines the layout (``fuse`` then checks each source in
        one pass and runs the kernel, or takes the general path with its exact
        checks). Without it, ``fuse`` checks each source, then runs the kernel.
    """

    name: str
    kernel: Callable[..., Any]
    full_name: str
    reference: str
    tasks: tuple[str, ...]
    min_inputs: int = 2
    max_inputs: int | None = None
    colour: str = "luminance"
    kind: str = "classical"
    defaults: Mapping[str, Any] = field(default_factory=dict)
    params: Mapping[str, Param] = field(default_factory=dict)
    min_size: Callable[[Mapping[str, Any]], tuple[int, str]] = lambda p: (1, "")
    pixelwise: bool = False
    checked_kernel: Callable[..., Any] | None = None

    def check_params(self, params: Mapping[str, Any], where: str | None = None) -> dict[str, Any]:
        """Defaults updated with ``params``, each checked against its declared type and range:
        ``TypeError`` (unknown name, wrong type) or ``ValueError`` (outside the range), naming it."""
        where = where or f"fuse[{self.name}]"
        return {**dict(self.defaults), **check_params(where, self.params, params)}

    def describe(self) -> str:
        n = f"{self.min_inputs}+" if self.max_inputs is None else (
            str(self.min_inputs) if self.min_inputs == self.max_inputs
            else f"{self.min_inputs}-{self.max_inputs}")
        params = ", ".join(f"{k}={v!r}" for k, v in self.defaults.items())
        return f"{self.name:10s} {self.kind:9s} inputs {n:4s} {','.join(self.tasks):45s} {params}"


METHODS: Registry[MethodSpec] = Registry("fusion method")


def _defaults_of(kernel: Callable) -> dict[str, Any]:
    sig = inspect.signature(kernel)
    return {p.name: p.default for p in sig.parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY and not p.name.startswith("_")}


def register_method(name: str, *, full_name: str, reference: str, tasks: tuple[str, ...],
                    min_inputs: int = 2, max_inputs: int | None = None, colour: str = "luminance",
                    kind: str = "classical",
                    min_size: Callable[[Mapping[str, Any]], tuple[int, str]] | None = None,
                    pixelwise: bool = False, checked_kernel: Callable[..., Any] | None = None,
                    params: Mapping[str, Param] | None = None) -> Callable[[Callable], Callable]:
    """Decorator: register a kernel as fusion method ``name`` in :data:`METHODS`.

    The kernel's keyword-only parameters (with defaults) are the method's
    parameters; ``params`` declares the type and range of each (``int_param``, ``float_param``,
    ``choice_param`` of :mod:`fusionlib._checks`), every one of them, and ``fuse`` and the command
    line check the values against it and refuse any other keyword. ``pixelwise=True`` promises
    the contract of :attr:`MethodSpec.pixelwise` (luminance methods only);
    ``checked_kernel`` (pixel-wise methods only) that of :attr:`MethodSpec.checked_kernel`.
    """
    bad = [t for t in tasks if t not in TASKS]
    if bad:
        raise ValueError(f"register_method: `tasks` must be drawn from {list(TASKS)}; got {bad}")
    if colour not in COLOURS:
        raise ValueError(f"register_method: `colour` must be one of {list(COLOURS)}; got {colour!r}")
    if kind not in KINDS:
        raise ValueError(f"register_method: `kind` must be one of {list(KINDS)}; got {kind!r}")
    if pixelwise and colour != "luminance":
        raise ValueError(f"register_method: `pixelwise=True` needs colour='luminance'; got {colour!r}")
    if checked_kernel is not None and not pixelwise:
        raise ValueError("register_method: `checked_kernel` is only for pixel-wise methods (pixelwise=True)")

    def deco(kernel: Callable) -> Callable:
        defaults = _defaults_of(kernel)
        declared = dict(params or {})
        if set(declared) != set(defaults):
            raise ValueError(f"register_method: `params` of {name!r} must declare exactly the kernel's "
                             f"parameters {sorted(defaults)}; got {sorted(declared)}")
        check_params(f"register_method[{name}] defaults", declared, defaults)  # defaults fit
        spec = MethodSpec(name=name, kernel=kernel, full_name=full_name, reference=reference,
                          tasks=tuple(tasks), min_inputs=min_inputs, max_inputs=max_inputs,
                          colour=colour, kind=kind, defaults=defaults, params=declared,
                          min_size=min_size or (lambda p: (1, "")), pixelwise=bool(pixelwise),
                          checked_kernel=checked_kernel)
        METHODS.add(name, spec)
        return kernel

    return deco


def list_methods(task: str | None = None, *, n_inputs: int | None = None,
                 kind: str | None = None) -> list[str]:
    """Names of the registered methods, optionally filtered.

    Parameters
    ----------
    task : {None, 'infrared-visible', 'multi-focus', 'multi-exposure', 'medical'}
    n_inputs : int, optional
        Keep methods that accept this many sources.
    kind : {None, 'classical', 'network'}
    """
    if task is not None and task not in TASKS:
        raise ValueError(f"list_methods: `task` must be one of {list(TASKS)}; got {task!r}")
    if kind is not None and kind not in KINDS:
        raise ValueError(f"list_methods: `kind` must be one of {list(KINDS)}; got {kind!r}")
    out = []
    for name, spec in METHODS.items():
        if task is not None and task not in spec.tasks:
            continue
        if kind is not None and spec.kind != kind:
            continue
        if n_inputs is not None and (n_inputs < spec.min_inputs or
                                     (spec.max_inputs is not None and n_inputs > spec.max_inputs)):
            continue
        out.append(name)
    return out
