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

from ..registry import Registry

TASKS = ("infrared-visible", "multi-focus", "multi-exposure", "medical")
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
    min_size: Callable[[Mapping[str, Any]], tuple[int, str]] = lambda p: (1, "")
    pixelwise: bool = False
    checked_kernel: Callable[..., Any] | None = None

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
                    pixelwise: bool = False, checked_kernel: Callable[..., Any] | None = None
                    ) -> Callable[[Callable], Callable]:
    """Decorator: register a kernel as fusion method ``name`` in :data:`METHODS`.

    The kernel's keyword-only parameters (with defaults) are the method's
    parameters; ``fuse`` refuses any other keyword. ``pixelwise=True`` promises
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
        spec = MethodSpec(name=name, kernel=kernel, full_name=full_name, reference=reference,
                          tasks=tuple(tasks), min_inputs=min_inputs, max_inputs=max_inputs,
                          colour=colour, kind=kind, defaults=_defaults_of(kernel),
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
