"""Widgets that keep working on the published static site: one API, two worlds.

A chapter describes what a reader may move (the *axes*: sliders and dropdowns over a few values) and a
``render`` function that draws one *state* (one value per axis)::

    fl.widgets.explorer(
        lambda blur, noise: (fl.viz.degrade(img, blur=blur, noise=noise), score(...)),
        {"blur": fl.widgets.slider([0, 1, 2, 3]), "noise": fl.widgets.slider([0, 0.05, 0.1])})

* **live** (an interactive kernel): the controls call ``render`` on demand, any combination of values,
  and update one view in place (recently seen states are cached).
* **static** (a chapter executed for the book; ``python -m fusionlib.book`` sets
  ``FUSIONLIB_WIDGETS=static`` for its kernels): every state of a small *grid* is rendered when the chapter
  executes and saved in the notebook's widget state, as ``Stack`` widgets of ``Image``/``HTML`` children
  whose ``selected_index`` follows the controls through client-side links (``jsdlink``). ipywidgets'
  embed manager runs those links in the browser, so the published page switches between the states with
  no kernel and no network.

The grid is the product of the axes when it has at most ``max_states`` states, else one axis at a time
(the others at their default values), or any list of axis groups (each group's product, the others at
their defaults) given as ``grid``; a ``vary`` toggle then chooses the group. Identical panels (a
parameter the method ignores) are stored once. The embedded bytes of one page are limited to
:data:`PAGE_BUDGET` (3 MB): the explorer refuses a grid over ``max_bytes`` and the book runner refuses a
page over the budget (:func:`fusionlib.book.check_widget_budget`).

``render`` returns a *view*: an image (NumPy array or torch tensor, ``(H, W)``, ``(C, H, W)`` or
``(H, W, C)``; floats shown on [0, 1], 4-band images as their first three bands), a matplotlib figure
(saved and closed), a pandas ``DataFrame``/``Styler`` or a mapping of numbers (shown as a table), an HTML
string, or a tuple/list of these (side by side). Images are encoded as PNG or JPEG at display size
(``width``).

This module needs ``ipywidgets`` (the ``book`` extra), imported when a widget is built.
"""
from __future__ import annotations

import hashlib
import html
import io
import itertools
import math
import numbers
import os
import sys
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

import numpy as np

__all__ = ["Axis", "Explorer", "slider", "dropdown", "explorer", "resolve_mode", "encode_image",
           "MODE_ENV", "PAGE_BUDGET"]

MODE_ENV = "FUSIONLIB_WIDGETS"          # live | static; the book runner sets static
MODES = ("live", "static")
FORMATS = ("png", "jpeg")
PAGE_BUDGET = 3_000_000                 # bytes of embedded widget state per published page
STATE_CLASS = "fl-state"                # DOM class of one state's view (caption + panels)
LABEL_CLASS = "fl-state-label"          # DOM class of its caption


@dataclass(frozen=True)
class Axis:
    """One control of an explorer: the values it steps through, their labels and the default."""

    values: tuple
    labels: tuple[str, ...]
    index: int = 0
    kind: str = "slider"                # slider | dropdown
    description: str | None = None

    @property
    def value(self) -> Any:
        """The default value."""
        return self.values[self.index]

    def __len__(self) -> int:
        return len(self.values)


def _label_of(v: Any, fmt: str | Callable[[Any], str] | None) -> str:
    if fmt is None:
        if isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)) and not isinstance(v, numbers.Integral):
            return f"{float(v):g}"
        return str(v)
    return fmt(v) if callable(fmt) else fmt.format(v)


def _default_index(where: str, values: tuple, value: Any) -> int:
    if value is None:
        return 0
    for i, v in enumerate(values):
        try:
            if v == value or (isinstance(v, numbers.Real) and isinstance(value, numbers.Real)
                              and math.isclose(float(v), float(value), rel_tol=1e-12, abs_tol=1e-15)):
                return i
        except (TypeError, ValueError):
            continue
    raise ValueError(f"{where}: `value` must be one of the values {list(values)!r}; got {value!r}")


def _check_labels(where: str, labels: tuple[str, ...]) -> None:
    dup = sorted({x for x in labels if labels.count(x) > 1})
    if dup:
        raise ValueError(f"{where}: labels must be distinct (a control shows them); repeated: {dup}")


def slider(values: Iterable[Any], *, value: Any = None, description: str | None = None,
           fmt: str | Callable[[Any], str] | None = None) -> Axis:
    """A slider over ``values`` (numbers, in the order given); ``value`` is the default (else the first).

    ``fmt`` formats the readout (a format string such as ``"{:.2f}"`` or a callable; default ``{:g}`` for
    floats, ``str`` otherwise); ``description`` is the control's label (default: the axis name).
    """
    where = "fusionlib.widgets.slider"
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Iterable):
        raise TypeError(f"{where}: `values` must be a sequence of numbers; got {type(values).__name__}")
    vals = tuple(v.item() if isinstance(v, np.generic) else v for v in values)
    if not vals:
        raise ValueError(f"{where}: `values` must not be empty")
    bad = [v for v in vals if not isinstance(v, numbers.Real) or isinstance(v, bool)]
    if bad:
        raise TypeError(f"{where}: `values` must be numbers (use dropdown for choices); got {bad[0]!r}")
    if any(isinstance(v, float) and not math.isfinite(v) for v in vals):
        raise ValueError(f"{where}: `values` must be finite; got {list(vals)}")
    labels = tuple(_label_of(v, fmt) for v in vals)
    _check_labels(where, labels)
    return Axis(vals, labels, _default_index(where, vals, value), "slider", description)


def dropdown(options: Iterable[Any] | Mapping[str, Any], *, value: Any = None,
             description: str | None = None) -> Axis:
    """A dropdown over ``options``: a sequence (labels ``str(option)``) or a mapping label -> value.

    ``value`` is the default value (else the first).
    """
    where = "fusionlib.widgets.dropdown"
    if isinstance(options, Mapping):
        labels = tuple(str(k) for k in options)
        vals = tuple(options.values())
    elif isinstance(options, (str, bytes)) or not isinstance(options, Iterable):
        raise TypeError(f"{where}: `options` must be a sequence or a mapping label -> value; "
                        f"got {type(options).__name__}")
    else:
        vals = tuple(v.item() if isinstance(v, np.generic) else v for v in options)
        labels = tuple(str(v) for v in vals)
    if not vals:
        raise ValueError(f"{where}: `options` must not be empty")
    _check_labels(where, labels)
    return Axis(vals, labels, _default_index(where, vals, value), "dropdown", description)


def _as_axis(name: str, spec: Any) -> Axis:
    if isinstance(spec, Axis):
        return spec
    if isinstance(spec, Mapping):
        return dropdown(spec)
    if isinstance(spec, (str, bytes)) or not isinstance(spec, Iterable):
        raise TypeError(f"fusionlib.widgets.explorer: `axes[{name!r}]` must be slider(...), dropdown(...) or a "
                        f"sequence of values; got {type(spec).__name__}")
    vals = list(spec)
    numeric = bool(vals) and all(isinstance(v, (numbers.Real, np.generic)) and not isinstance(v, (bool, np.bool_))
                                 for v in vals)
    return slider(vals) if numeric else dropdown(vals)


def resolve_mode(mode: str = "auto") -> str:
    """``"live"`` or ``"static"``: ``mode`` itself, or for ``"auto"`` the ``FUSIONLIB_WIDGETS`` variable
    (``live`` when unset)."""
    if mode == "auto":
        env = os.environ.get(MODE_ENV, "").strip().lower() or "live"
        if env not in MODES:
            raise ValueError(f"fusionlib.widgets: environment variable {MODE_ENV} must be one of {list(MODES)}; "
                             f"got {env!r}")
        return env
    if mode not in MODES:
        raise ValueError(f"fusionlib.widgets: `mode` must be one of {['auto', *MODES]}; got {mode!r}")
    return mode


# ----------------------------------------------------------------------------------------------- views

def _image_hwc(a: Any, where: str) -> np.ndarray:
    if hasattr(a, "detach"):                      # torch tensor, without importing torch
        a = a.detach().cpu().numpy()
    a = np.asarray(a)
    if a.ndim == 4 and a.shape[0] == 1:
        a = a[0]
    if a.ndim == 3:
        if not (a.shape[-1] <= 4 < a.shape[0]):  # (H, W, C) only when C <= 4 < H, else fusionlib's (C, H, W)
            a = np.moveaxis(a, 0, -1)
        # 1 band: grey; 2 bands: the first; 3: RGB; 4+ (MS): bands 0..2 (R, G, B in fusionlib's order)
        a = a[..., 0] if a.shape[-1] < 3 else a[..., :3]
    if a.ndim not in (2, 3) or a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"{where}: an image must be (H, W), (C, H, W) or (H, W, C); got shape {a.shape}")
    if a.dtype == np.uint8:
        return a
    if a.dtype == np.bool_:
        return a.astype(np.uint8) * 255
    if not np.issubdtype(a.dtype, np.number):
        raise TypeError(f"{where}: an image must be numeric; got dtype {a.dtype}")
    f = np.nan_to_num(a.astype(np.float64), nan=0.0, posinf=1.0, neginf=0.0)
    return np.rint(np.clip(f, 0.0, 1.0) * 255.0).astype(np.uint8)


def encode_image(image: Any, *, fmt: str = "png", width: int | None = None, quality: int = 85) -> bytes:
    """Encode an image for a widget: uint8, at most ``width`` pixels wide (downscaled, aspect kept), as
    PNG or JPEG (``quality``). Floats are shown on [0, 1] (NaN as 0)."""
    from PIL import Image

    where = "fusionlib.widgets.encode_image"
    if fmt not in FORMATS:
        raise ValueError(f"{where}: `fmt` must be one of {list(FORMATS)}; got {fmt!r}")
    a = _image_hwc(image, where)
    img = Image.fromarray(a)
    if width is not None and img.width > width:
        h = max(1, int(round(img.height * width / img.width)))
        img = img.resize((int(width), h), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    if fmt == "jpeg":
        img.convert("RGB" if a.ndim == 3 else "L").save(buf, format="JPEG", quality=int(quality))
    else:
        img.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def _table_html(values: Mapping[str, Any]) -> str:
    def cell(v: Any) -> str:
        if isinstance(v, numbers.Real) and not isinstance(v, (bool, numbers.Integral)):
            return f"{float(v):.4g}"
        if hasattr(v, "item") and getattr(v, "size", 2) == 1:
            return cell(v.item())
        return html.escape(str(v))
    rows = "".join(f"<tr><td>{html.escape(str(k))}</td><td style='text-align:right'>{cell(v)}</td></tr>"
                   for k, v in values.items())
    return f"<table class='fl-table'><tr><th>metric</th><th>value</th></tr>{rows}</table>"


def _panels(view: Any, *, fmt: str, width: int | None, quality: int) -> list[tuple[str, Any]]:
    """``[("image", (bytes, fmt)) | ("html", str), ...]`` for one rendered view."""
    where = "fusionlib.widgets.explorer"
    if isinstance(view, (tuple, list)):
        out = []
        for v in view:
            out.extend(_panels(v, fmt=fmt, width=width, quality=quality))
        return out
    if isinstance(view, str):
        return [("html", view)]
    if hasattr(view, "savefig"):                  # a matplotlib figure (duck-typed: no matplotlib import here)
        dpi = view.dpi if width is None else width / float(view.get_size_inches()[0])
        buf = io.BytesIO()
        view.savefig(buf, format="png", dpi=dpi)
        pyplot = sys.modules.get("matplotlib.pyplot")
        if pyplot is not None:
            pyplot.close(view)                    # not shown a second time below the cell
        if fmt == "png":
            return [("image", (buf.getvalue(), "png"))]
        from PIL import Image
        return [("image", (encode_image(np.asarray(Image.open(buf).convert("RGB")), fmt="jpeg",
                                        quality=quality), "jpeg"))]
    if hasattr(view, "to_html"):                  # pandas DataFrame / Styler
        return [("html", view.to_html())]
    if isinstance(view, Mapping):
        return [("html", _table_html(view))]
    if hasattr(view, "__array__") or hasattr(view, "detach"):
        return [("image", (encode_image(view, fmt=fmt, width=width, quality=quality), fmt))]
    raise TypeError(f"{where}: `render` must return an image array, a matplotlib figure, a DataFrame, a mapping "
                    f"of numbers, an HTML string or a tuple of them; got {type(view).__name__}")


def _panel_nbytes(kind: str, payload: Any) -> int:
    if kind == "image":
        return 4 * math.ceil(len(payload[0]) / 3)  # base64 in the saved state
    return len(payload.encode())


# -------------------------------------------------------------------------------------------- explorer

class Explorer:
    """What :func:`explorer` returns: displays as its ipywidgets ``widget``; the rest is for inspection.

    Attributes: ``widget`` (an ``ipywidgets.VBox``), ``mode``, ``axes`` (name -> :class:`Axis`),
    ``controls`` (the control widgets: name -> widget in live mode; name -> list of widgets, one per grid
    group holding the axis, in static mode), ``groups`` (the grid as tuples of axis names; live: all axes),
    ``states`` (static: the embedded states, ``{(index, ...): panels}``), ``nbytes`` (static: bytes
    of the widget state a notebook saves for it, JSON with images in base64), ``vary`` (static with several groups: the toggle) and
    ``links`` (static: the client-side links, ``ipywidgets.DirectionalLink`` from a control's ``index``
    to a ``Stack``'s ``selected_index``).
    """

    def __init__(self, widget: Any, mode: str, axes: dict[str, Axis], controls: dict[str, Any],
                 groups: list[tuple[str, ...]], states: dict[tuple[int, ...], list], nbytes: int,
                 vary: Any = None, show: Callable[..., Any] | None = None, links: list | None = None):
        self.widget, self.mode, self.axes, self.controls = widget, mode, axes, controls
        self.groups, self.states, self.nbytes, self.vary = groups, states, nbytes, vary
        self.links = list(links or [])
        self._show = show

    def _summary(self) -> str:
        names = " × ".join(self.axes)
        if self.mode == "live":
            return f"explorer (live): {names}; states computed on demand"
        return (f"explorer (static): {names}; {len(self.states)} states embedded "
                f"({self.nbytes / 1e3:.0f} kB)")

    def __repr__(self) -> str:
        return f"<{self._summary()}>"

    def _repr_mimebundle_(self, **kwargs):
        bundle = self.widget._repr_mimebundle_(**kwargs)
        if isinstance(bundle, tuple):
            bundle = bundle[0]
        if isinstance(bundle, dict) and "text/plain" in bundle:
            bundle = {**bundle, "text/plain": self._summary()}
        return bundle

    def show(self, **values: Any) -> None:
        """Live mode: set the controls to these values (by value, as the axes list them) and render."""
        if self._show is None:
            raise RuntimeError("Explorer.show: only a live explorer computes states; a static one switches "
                               "between its embedded states in the browser")
        self._show(**values)


def _groups(where: str, grid: Any, axes: dict[str, Axis], max_states: int) -> list[tuple[str, ...]]:
    names = list(axes)
    product = math.prod(len(a) for a in axes.values())
    if isinstance(grid, str):
        if grid == "auto":
            grid = "product" if product <= max_states else "axes"
        if grid == "product":
            groups = [tuple(names)]
        elif grid == "axes":
            groups = [(n,) for n in names]
        else:
            raise ValueError(f"{where}: `grid` must be 'auto', 'product', 'axes' or a list of groups of axis "
                             f"names; got {grid!r}")
    else:
        if not isinstance(grid, Iterable):
            raise TypeError(f"{where}: `grid` must be 'auto', 'product', 'axes' or a list of groups of axis "
                            f"names; got {type(grid).__name__}")
        groups = []
        for g in grid:
            g = (g,) if isinstance(g, str) else tuple(g)
            unknown = [n for n in g if n not in axes]
            if unknown or not g or len(set(g)) != len(g):
                raise ValueError(f"{where}: `grid` group {g!r} must name distinct axes of {names}")
            groups.append(tuple(n for n in names if n in g))   # the axes' order
        missing = [n for n in names if not any(n in g for g in groups)]
        if missing:
            raise ValueError(f"{where}: `grid` leaves the axes {missing} in no group (they could not move)")
        if not groups:
            raise ValueError(f"{where}: `grid` must hold at least one group")
    return groups


def _grid_states(axes: dict[str, Axis], groups: list[tuple[str, ...]]) -> list[tuple[int, ...]]:
    names = list(axes)
    default = tuple(a.index for a in axes.values())
    seen: dict[tuple[int, ...], None] = {}
    for g in groups:
        pos = [names.index(n) for n in g]
        for combo in itertools.product(*(range(len(axes[n])) for n in g)):
            key = list(default)
            for p, i in zip(pos, combo):
                key[p] = i
            seen[tuple(key)] = None
    return list(seen)


def _caption(axes: dict[str, Axis], key: tuple[int, ...]) -> str:
    text = " · ".join(f"{html.escape(a.description or n)} = {html.escape(a.labels[i])}"
                      for (n, a), i in zip(axes.items(), key))
    return f"<span class='{LABEL_CLASS}' style='font-size:85%;color:#555'>{text}</span>"


def explorer(render: Callable[..., Any], axes: Mapping[str, Any], *, mode: str = "auto", grid: Any = "auto",
             max_states: int = 64, fmt: str = "png", width: int | None = 320, quality: int = 85,
             max_bytes: int = PAGE_BUDGET, title: str | None = None, cache: int = 32) -> Explorer:
    """Sliders and dropdowns over precomputed or on-demand states of ``render``.

    Parameters
    ----------
    render : callable
        ``render(**{axis name: value})`` -> a view (see the module docstring): image, figure, table,
        HTML, or a tuple of them.
    axes : mapping name -> Axis or sequence
        :func:`slider` / :func:`dropdown`, or plain values (numbers: a slider; anything else: a dropdown).
        The names are ``render``'s keyword arguments.
    mode : {'auto', 'live', 'static'}
        ``auto`` reads ``FUSIONLIB_WIDGETS`` (``static`` when the book runner executes the chapter, else
        ``live``).
    grid : 'auto', 'product', 'axes' or a list of groups of axis names
        The states embedded in static mode: the product of all axes; one axis at a time (the others at
        their defaults); or each group's product (the others at their defaults). ``auto``: the product
        when it has at most ``max_states`` states, else ``axes``.
    max_states : int
        The most states a static explorer renders (more raises ``ValueError``).
    fmt, width, quality
        Image encoding: ``png`` or ``jpeg`` (``quality``), at most ``width`` pixels wide (figures are
        saved ``width`` pixels wide); ``width=None`` keeps the rendered size.
    max_bytes : int
        Static mode: the widget state saved for the explorer (JSON, images in base64, each distinct panel
        once) may not exceed this; the page-wide budget is :data:`PAGE_BUDGET`.
    title : str, optional
        A heading shown above the controls.
    cache : int
        Live mode: how many rendered states are kept.

    Returns
    -------
    Explorer
        Displays as its ``widget`` (an ``ipywidgets.VBox``).
    """
    where = "fusionlib.widgets.explorer"
    try:
        import ipywidgets as w
    except ImportError as e:  # pragma: no cover - ipywidgets is in the book extra
        raise ImportError(f"{where}: needs ipywidgets (pip install 'fusionbook-lib[book]')") from e
    if not callable(render):
        raise TypeError(f"{where}: `render` must be callable; got {type(render).__name__}")
    if not isinstance(axes, Mapping):
        raise TypeError(f"{where}: `axes` must be a mapping name -> slider/dropdown; got {type(axes).__name__}")
    if not axes:
        raise ValueError(f"{where}: `axes` must not be empty")
    bad_names = [n for n in axes if not isinstance(n, str) or not n.isidentifier()]
    if bad_names:
        raise ValueError(f"{where}: axis names are `render`'s keyword arguments and must be identifiers; "
                         f"got {bad_names}")
    if fmt not in FORMATS:
        raise ValueError(f"{where}: `fmt` must be one of {list(FORMATS)}; got {fmt!r}")
    for pname, pval, lo in (("max_states", max_states, 1), ("max_bytes", max_bytes, 1), ("quality", quality, 1),
                            ("cache", cache, 0)):
        if not isinstance(pval, numbers.Integral) or isinstance(pval, bool) or pval < lo:
            raise ValueError(f"{where}: `{pname}` must be an integer >= {lo}; got {pval!r}")
    if width is not None and (not isinstance(width, numbers.Integral) or isinstance(width, bool) or width < 1):
        raise ValueError(f"{where}: `width` must be None or an integer >= 1; got {width!r}")
    if title is not None and not isinstance(title, str):
        raise TypeError(f"{where}: `title` must be a str; got {type(title).__name__}")
    ax = {n: _as_axis(n, s) for n, s in axes.items()}
    mode = resolve_mode(mode)
    names = list(ax)

    def compute(key: tuple[int, ...]) -> list[tuple[str, Any]]:
        kwargs = {n: a.values[i] for (n, a), i in zip(ax.items(), key)}
        panels = _panels(render(**kwargs), fmt=fmt, width=width, quality=quality)
        if not panels:
            raise ValueError(f"{where}: `render` returned an empty view for {kwargs}")
        return panels

    def control(name: str, a: Axis, continuous: bool):
        desc = a.description or name
        style = {"description_width": "initial"}
        if a.kind == "slider":
            c = w.SelectionSlider(options=list(a.labels), index=a.index, description=desc,
                                  continuous_update=continuous, style=style)
        else:
            c = w.Dropdown(options=list(a.labels), index=a.index, description=desc, style=style)
        if len(a.labels) == 1:  # nothing to choose: shown for the record, disabled, not a control to move
            c.disabled = True
            c.add_class("fl-control-fixed")
        else:
            c.add_class("fl-control")
        return c

    header = [w.HTML(f"<b>{html.escape(title)}</b>")] if title else []

    if mode == "live":
        controls = {n: control(n, a, continuous=False) for n, a in ax.items()}
        caption = w.HTML()
        caption.add_class(LABEL_CLASS)
        body = w.HBox([])
        view = w.VBox([caption, body])
        view.add_class(STATE_CLASS)
        memo: OrderedDict[tuple[int, ...], list] = OrderedDict()
        current: list[Any] = []

        holding: list[bool] = [False]       # show() moves several controls, then renders once

        def update(_change=None) -> None:
            if holding[0]:
                return
            key = tuple(controls[n].index for n in names)
            if key in memo:
                memo.move_to_end(key)
                panels = memo[key]
            else:
                panels = compute(key)
                if cache:
                    memo[key] = panels
                    while len(memo) > cache:
                        memo.popitem(last=False)
            caption.value = _caption(ax, key)
            kinds = [k for k, _ in panels]
            if kinds != [getattr(x, "_fl_kind", None) for x in current] or len(current) != len(panels):
                current[:] = [_panel_widget(w, k, p) for k, p in panels]
                body.children = tuple(current)
            else:
                for wid, (k, p) in zip(current, panels):
                    _set_panel(wid, k, p)

        def show(**values: Any) -> None:
            unknown = sorted(set(values) - set(names))
            if unknown:
                raise ValueError(f"Explorer.show: unknown axes {unknown}; axes: {names}")
            index = {n: _default_index("Explorer.show", ax[n].values, v) for n, v in values.items()}
            holding[0] = True
            try:
                for n, i in index.items():
                    controls[n].index = i
            finally:
                holding[0] = False
            update()

        for c in controls.values():
            c.observe(update, names="index")
        update()
        box = w.VBox([*header, w.HBox(list(controls.values())), view])
        box.add_class("fl-explorer")
        box.add_class("fl-explorer-live")
        return Explorer(box, "live", ax, controls, [tuple(names)], {}, 0, show=show)

    # ---- static: render the grid, nested Stacks switched by client-side links
    groups = _groups(where, grid, ax, max_states)
    keys = _grid_states(ax, groups)
    if len(keys) > max_states:
        raise ValueError(f"{where}: the grid {groups} has {len(keys)} states > `max_states` = {max_states}; "
                         "use fewer values, grid='axes' or smaller groups")
    states: dict[tuple[int, ...], list] = {}
    shared: dict[bytes, Any] = {}               # panel digest -> widget (identical panels stored once)
    # one Layout (and HTML style) for every state widget: each model of its own would add ~1 kB of
    # default values per widget to the saved state
    from ipywidgets.widgets.widget_string import HTMLStyle
    lay, hstyle = w.Layout(), HTMLStyle()
    panel_lay = w.Layout(flex="0 0 auto", overflow="visible")
    nbytes = 0
    views: dict[tuple[int, ...], Any] = {}
    for key in keys:
        panels = compute(key)
        states[key] = panels
        widgets_ = []
        for kind, payload in panels:
            digest = hashlib.sha1(repr((kind, payload)).encode() if kind == "html" else payload[0]).digest()
            if digest not in shared:
                shared[digest] = _panel_widget(w, kind, payload, layout=panel_lay, style=hstyle)
                nbytes += _panel_nbytes(kind, payload)
            widgets_.append(shared[digest])
        cap = w.HTML(_caption(ax, key), layout=lay, style=hstyle)
        nbytes += len(cap.value.encode())
        v = w.VBox([cap, w.HBox(widgets_, layout=lay)], layout=lay)
        v.add_class(STATE_CLASS)
        views[key] = v
        if nbytes > max_bytes:
            raise ValueError(f"{where}: the embedded states exceed `max_bytes` = {max_bytes / 1e6:.2f} MB after "
                             f"{len(states)} of {len(keys)} states; use fewer values, grid='axes', a smaller "
                             "`width` or fmt='jpeg'")

    default = tuple(a.index for a in ax.values())
    controls: dict[str, list] = {n: [] for n in names}
    links: list[Any] = []
    pages = []
    for g in groups:
        ctl = {n: control(n, ax[n], continuous=True) for n in g}
        for n, c in ctl.items():
            controls[n].append(c)

        def nest(level: int, key: list[int]):
            if level == len(g):
                return views[tuple(key)]
            n = g[level]
            p = names.index(n)
            children = []
            for i in range(len(ax[n])):
                k = list(key)
                k[p] = i
                children.append(nest(level + 1, k))
            st = w.Stack(children, selected_index=ax[n].index, layout=lay)
            links.append(w.jsdlink((ctl[n], "index"), (st, "selected_index")))
            return st

        pages.append(w.VBox([w.HBox(list(ctl.values())), nest(0, list(default))]))
    vary = None
    if len(pages) == 1:
        body = [pages[0]]
    else:
        labels = [" × ".join(ax[n].description or n for n in g) for g in groups]
        vary = w.ToggleButtons(options=labels, index=0, description="vary", style={"description_width": "initial"})
        vary.add_class("fl-vary")
        outer = w.Stack(pages, selected_index=0)
        links.append(w.jsdlink((vary, "index"), (outer, "selected_index")))
        body = [vary, outer]
    box = w.VBox([*header, *body])
    box.add_class("fl-explorer")
    box.add_class("fl-explorer-static")
    nbytes = _saved_bytes([box, *links])       # what a notebook saves: every model, images as base64
    if nbytes > max_bytes:
        raise ValueError(f"{where}: the embedded states take {nbytes / 1e6:.2f} MB > `max_bytes` = "
                         f"{max_bytes / 1e6:.2f} MB; use fewer values, grid='axes', a smaller `width` or "
                         "fmt='jpeg'")
    return Explorer(box, "static", ax, controls, groups, states, nbytes, vary=vary, links=links)


def _saved_bytes(roots: list) -> int:
    """Bytes of the widget state a notebook saves for ``roots`` and every model they refer to (JSON)."""
    import json

    from ipywidgets.embed import dependency_state
    return len(json.dumps(dependency_state(roots, drop_defaults=False)).encode())


def _pixel_width(data: bytes) -> str:
    from PIL import Image
    return str(Image.open(io.BytesIO(data)).size[0])


def _panel_widget(w: Any, kind: str, payload: Any, layout: Any = None, style: Any = None):
    """An ``Image`` shown at its pixel width, or an ``HTML`` panel that keeps its natural width (a table
    squeezed beside an image would scroll)."""
    if layout is None:
        layout = w.Layout(flex="0 0 auto", overflow="visible")
    if kind == "image":
        wid = w.Image(value=payload[0], format=payload[1], width=_pixel_width(payload[0]), layout=layout)
    else:
        wid = w.HTML(payload, layout=layout, **({} if style is None else {"style": style}))
    wid._fl_kind = kind
    return wid


def _set_panel(wid: Any, kind: str, payload: Any) -> None:
    if kind == "image":
        wid.format = payload[1]
        wid.width = _pixel_width(payload[0])
        wid.value = payload[0]
    else:
        wid.value = payload
