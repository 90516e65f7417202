"""``evaluate``: several metrics in one call, chosen by name or by a benchmark preset."""
from __future__ import annotations

from typing import Any, Sequence

from .._checks import check_choice
from ._registry import METRICS, PRESETS

__all__ = ["evaluate", "metric_table", "PRESET_METRICS", "VIFB_NAMES"]

#: VIFB's metric names (columns of its table, in its order) -> registry keys.
VIFB_NAMES = {
    "Cross_entropy": "cross_entropy", "Entropy": "entropy", "Mutinf": "mutual_information",
    "Psnr": "psnr", "Avg_gradient": "average_gradient", "Edge_intensity": "edge_intensity",
    "Qabf": "qabf", "Variance": "standard_deviation", "Spatial_frequency": "spatial_frequency",
    "Rmse": "fusion_rmse", "Ssim": "ssim", "Qcb": "qcb", "Qcv": "qcv",
}

#: The metrics ``evaluate`` computes when ``names`` is None, per preset.
PRESET_METRICS: dict[str, tuple[str, ...]] = {
    "default": ("entropy", "standard_deviation", "spatial_frequency", "average_gradient",
                "edge_intensity", "cross_entropy", "mutual_information", "psnr", "ssim", "qabf",
                "vif"),
    "vifb": tuple(VIFB_NAMES.values()),
    "mefb": ("cross_entropy", "entropy", "mutual_information", "nmi", "tsallis_entropy", "psnr",
             "average_gradient", "edge_intensity", "standard_deviation", "spatial_frequency", "qabf",
             "qcb", "qcv", "q_c", "viff", "fmi", "mef_ssim", "q_p"),
    "liu2020": ("nmi", "q_ncie", "qabf", "q_p", "q_y", "q_w", "q_e", "qcb", "qcv"),
    "tang": ("vif", "fmi"),
}


def evaluate(fused: Any, sources: Any = None, reference: Any = None, names: Sequence[str] | None = None,
             preset: str = "default", *, data_range: float = 1.0, quantize: bool = False
             ) -> dict[str, Any]:
    """Compute several metrics of one fused image or a batch.

    Parameters
    ----------
    fused : (H, W), (C, H, W) or (B, C, H, W), values in [0, data_range] (uint8 is divided by 255)
    sources : list of images or (B, N, C, H, W), optional
        Needed by metrics whose ``inputs`` is ``'sources'``. When absent but ``reference`` is given,
        the reference is used as the single "source" of metrics that accept one (PSNR, SSIM, RMSE, VIF).
    reference : image, optional
        Needed by metrics whose ``inputs`` is ``'reference'``.
    names : sequence of str, optional
        Registry keys; default: ``PRESET_METRICS[preset]``.
    preset : {'default', 'vifb', 'mefb', 'liu2020', 'tang', 'vivone', 'iaoa'}
        Convention passed to every metric; every metric must define it (its registration's ``presets``,
        ``METRICS[name].presets``), checked for all names before any is computed (``ValueError``).
    data_range : float
    quantize : bool
        Passed to histogram metrics (round unquantised data to 256 levels instead of refusing it).

    Returns
    -------
    dict
        ``{name: float}`` for one image, ``{name: (B,) array/tensor}`` for a batch.

    Raises
    ------
    KeyError
        Unknown metric name (the message lists the valid ones).
    ValueError
        Missing inputs, an undefined preset, or bad data (see the metrics).
    """
    check_choice("evaluate", "preset", preset, PRESETS)
    if names is None:
        if preset not in PRESET_METRICS:
            raise ValueError(f"evaluate: no default metric list for preset {preset!r}; pass `names`")
        names = PRESET_METRICS[preset]
    if isinstance(names, str):
        names = [names]
    infos = [METRICS[name] for name in names]
    for info in infos:
        info.check_preset(preset, where="evaluate")
    out: dict[str, Any] = {}
    for name, info in zip(names, infos):
        kw: dict[str, Any] = {"preset": preset}
        if "data_range" in info.keywords:
            kw["data_range"] = data_range
        if "quantize" in info.keywords:
            kw["quantize"] = quantize
        if info.inputs == "none":
            out[name] = info.fn(fused, **kw)
        elif info.inputs == "sources":
            src = sources
            if src is None:
                if reference is None:
                    raise ValueError(f"evaluate: metric {name!r} needs `sources` (or a `reference`)")
                src = [reference]
            out[name] = info.fn(fused, src, **kw)
        elif info.inputs == "reference":
            if reference is None:
                raise ValueError(f"evaluate: metric {name!r} needs `reference`")
            out[name] = info.fn(fused, reference, **kw)
        else:
            raise ValueError(f"evaluate: metric {name!r} takes (ms, pan) inputs; call it directly")
    return out


def metric_table(kind: str | None = None) -> list[dict[str, Any]]:
    """One row per registered metric (for the book's tables): name, full name, direction, range, ..."""
    rows = []
    for key, info in METRICS.items():
        if kind is not None and info.kind != kind:
            continue
        rows.append({"name": key, "full_name": info.full_name,
                     "better": "higher" if info.higher_is_better else "lower",
                     "range": f"[{info.range[0]:g}, {info.range[1]:g}]", "inputs": info.inputs,
                     "units": info.units, "presets": ", ".join(info.presets),
                     "reference": info.references[0] if info.references else ""})
    return rows
