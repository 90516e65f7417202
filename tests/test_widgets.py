"""fusionlib.widgets: explorers that compute on demand in a kernel and embed their states for the static site.

The static checks replay what the browser does with the saved state (``ipywidgets.embed.embed_data``): a
control's ``index`` goes through its ``DirectionalLink`` models to the ``Stack``s' ``selected_index``, and the
one visible state must be the one the controls name, with the bytes ``render`` gave for it.
"""
from __future__ import annotations

import base64
import io
import math

import numpy as np
import pytest

pytest.importorskip("ipywidgets")

from fusionlib import widgets as fw  # noqa: E402

IMG = np.linspace(0.0, 1.0, 48 * 64).reshape(48, 64)


def _render(blur, noise, name):
    return IMG * (1 - noise) + blur / 10, {"blur": blur, "noise": noise}, f"<b>{name}</b>"


AXES = {"blur": fw.slider([0, 1, 2]), "noise": fw.slider([0.0, 0.1, 0.2], value=0.1), "name": ["a", "b"]}


class StaticPage:
    """The saved widget state of one explorer, driven as the embed manager drives it (no kernel)."""

    def __init__(self, explorer):
        from ipywidgets.embed import embed_data
        data = embed_data(views=[explorer.widget])
        self.models = data["manager_state"]["state"]
        self.root = data["view_specs"][0]["model_id"]

    def _state(self, mid):
        return self.models[mid]["state"]

    @staticmethod
    def _id(ref):
        return ref[len("IPY_MODEL_"):]

    def set_index(self, control, index):
        """A reader moves a control: its index, then every link from it (as the browser's jsdlink)."""
        self._state(control.model_id)["index"] = index
        for m in self.models.values():
            if m["model_name"] == "DirectionalLinkModel":
                (src, sattr), (dst, dattr) = m["state"]["source"], m["state"]["target"]
                if self._id(src) == control.model_id:
                    self._state(self._id(dst))[dattr] = self._state(control.model_id)[sattr]

    def visible_states(self):
        out, todo = [], [self.root]
        while todo:
            mid = todo.pop()
            m = self.models[mid]
            st = m["state"]
            if "fl-state" in (st.get("_dom_classes") or []):
                out.append(mid)
                continue
            kids = [self._id(k) for k in st.get("children", [])]
            if m["model_name"] == "StackModel":
                kids = [kids[st["selected_index"]]]
            todo.extend(kids)
        return out

    def shown(self):
        """(caption, [panel payloads]) of the one visible state."""
        [mid] = self.visible_states()
        cap, body = (self._id(k) for k in self._state(mid)["children"])
        panels = []
        for k in self._state(body)["children"]:
            m = self.models[self._id(k)]
            if m["model_name"] == "ImageModel":
                [buf] = m["buffers"]
                panels.append(("image", base64.b64decode(buf["data"])))
            else:
                panels.append(("html", m["state"]["value"]))
        return self._state(cap)["value"], panels


def _expected(explorer, key):
    return [("image", p[0]) if k == "image" else ("html", p) for k, p in explorer.states[key]]


class TestAxes:
    def test_slider(self):
        a = fw.slider(np.linspace(0, 1, 3), value=0.5)
        assert a.values == (0.0, 0.5, 1.0) and a.labels == ("0", "0.5", "1") and a.index == 1 and a.value == 0.5
        assert fw.slider([1, 2], fmt="{:.1f}").labels == ("1.0", "2.0")
        assert fw.slider(range(3)).kind == "slider"

    def test_dropdown(self):
        d = fw.dropdown({"first": 10, "second": 20}, value=20)
        assert d.labels == ("first", "second") and d.value == 20 and d.kind == "dropdown"
        assert fw.dropdown(["x", "y"]).labels == ("x", "y")

    def test_exception(self):
        with pytest.raises(TypeError, match="numbers"):
            fw.slider(["a", "b"])
        with pytest.raises(TypeError, match="`values`"):
            fw.slider("abc")
        with pytest.raises(ValueError, match="must not be empty"):
            fw.slider([])
        with pytest.raises(ValueError, match="finite"):
            fw.slider([0.0, math.nan])
        with pytest.raises(ValueError, match="one of the values"):
            fw.slider([1, 2], value=3)
        with pytest.raises(ValueError, match="distinct"):
            fw.slider([0.1, 0.1000001], fmt="{:.1f}")
        with pytest.raises(TypeError, match="`options`"):
            fw.dropdown(3)
        with pytest.raises(ValueError, match="must not be empty"):
            fw.dropdown([])


class TestResolveMode:
    def test_env(self, monkeypatch):
        monkeypatch.delenv(fw.MODE_ENV, raising=False)
        assert fw.resolve_mode() == "live"
        monkeypatch.setenv(fw.MODE_ENV, "static")
        assert fw.resolve_mode() == "static" and fw.resolve_mode("live") == "live"

    def test_exception(self, monkeypatch):
        monkeypatch.setenv(fw.MODE_ENV, "sometimes")
        with pytest.raises(ValueError, match="FUSIONLIB_WIDGETS"):
            fw.resolve_mode()
        with pytest.raises(ValueError, match="`mode`"):
            fw.resolve_mode("both")


class TestEncodeImage:
    @pytest.mark.parametrize("shape,mode", [((48, 64), "L"), ((1, 48, 64), "L"), ((3, 48, 64), "RGB"),
                                            ((48, 64, 3), "RGB"), ((4, 48, 64), "RGB")])
    def test_shape(self, shape, mode):
        from PIL import Image
        png = fw.encode_image(np.full(shape, 0.5))
        im = Image.open(io.BytesIO(png))
        assert im.format == "PNG" and im.size == (64, 48) and im.mode == mode

    def test_known_value(self):
        from PIL import Image
        a = np.array([[-1.0, 0.0, 0.5, 2.0, np.nan]])
        im = np.asarray(Image.open(io.BytesIO(fw.encode_image(a))))
        assert im.tolist() == [[0, 0, 128, 255, 0]]
        u8 = np.arange(12, dtype=np.uint8).reshape(3, 4)
        assert np.array_equal(np.asarray(Image.open(io.BytesIO(fw.encode_image(u8)))), u8)

    def test_width_and_jpeg(self):
        from PIL import Image
        jpg = fw.encode_image(np.random.default_rng(0).random((3, 100, 200)), fmt="jpeg", width=50, quality=70)
        im = Image.open(io.BytesIO(jpg))
        assert jpg[:2] == b"\xff\xd8" and im.size == (50, 25)
        assert Image.open(io.BytesIO(fw.encode_image(IMG, width=1000))).size == (64, 48)  # never enlarged

    def test_torch(self):
        torch = pytest.importorskip("torch")
        assert fw.encode_image(torch.full((1, 8, 8), 0.25)) == fw.encode_image(np.full((8, 8), 0.25))

    def test_exception(self):
        with pytest.raises(ValueError, match="`fmt`"):
            fw.encode_image(IMG, fmt="gif")
        with pytest.raises(ValueError, match="shape"):
            fw.encode_image(np.zeros(5))
        with pytest.raises(TypeError, match="numeric"):
            fw.encode_image(np.array([["a", "b"]]))


class TestStaticExplorer:
    def test_product(self):
        e = fw.explorer(_render, AXES, mode="static")
        assert e.mode == "static" and e.groups == [("blur", "noise", "name")] and len(e.states) == 18
        assert e.vary is None and all(len(c) == 1 for c in e.controls.values())
        page = StaticPage(e)
        caption, panels = page.shown()                       # the defaults: blur 0, noise 0.1, name a
        assert "blur = 0 · noise = 0.1 · name = a" in caption and panels == _expected(e, (0, 1, 0))
        for name, index in [("blur", 2), ("name", 1), ("noise", 0), ("blur", 1)]:
            before = panels
            page.set_index(e.controls[name][0], index)
            caption, panels = page.shown()
            key = tuple(page._state(e.controls[n][0].model_id)["index"] for n in AXES)
            assert panels == _expected(e, key) and panels != before
            labels = " · ".join(f"{n} = {AXES_LABELS[n][i]}" for n, i in zip(AXES, key))
            assert labels in caption

    def test_one_axis_at_a_time(self):
        e = fw.explorer(_render, AXES, mode="static", max_states=10)      # 18 > 10: grid 'axes'
        assert e.groups == [("blur",), ("noise",), ("name",)]
        assert len(e.states) == 1 + 2 + 2 + 1
        assert set(e.states) == {(0, 1, 0), (1, 1, 0), (2, 1, 0), (0, 0, 0), (0, 2, 0), (0, 1, 1)}
        page = StaticPage(e)
        page.set_index(e.vary, 1)                                          # vary: noise
        page.set_index(e.controls["noise"][0], 2)
        assert page.shown()[1] == _expected(e, (0, 2, 0))
        page.set_index(e.vary, 2)                                          # vary: name
        page.set_index(e.controls["name"][0], 1)
        assert page.shown()[1] == _expected(e, (0, 1, 1))

    def test_groups(self):
        e = fw.explorer(_render, AXES, mode="static", grid=[("blur", "name"), "noise"])
        assert e.groups == [("blur", "name"), ("noise",)] and len(e.states) == 6 + 2
        page = StaticPage(e)
        page.set_index(e.controls["blur"][0], 2)
        page.set_index(e.controls["name"][0], 1)
        assert page.shown()[1] == _expected(e, (2, 1, 1))

    def test_identical_panels_stored_once(self):
        calls = []

        def render(x, unused=1):
            calls.append((x, unused))
            return IMG * x
        rng = np.random.default_rng(0)
        axes = {"x": [0.5, 1.0], "unused": [1, 2, 3]}
        e = fw.explorer(render, axes, mode="static")
        assert len(calls) == 6 and len(e.states) == 6
        distinct = fw.explorer(lambda x, unused: rng.random(IMG.shape), axes, mode="static")
        image = 4 * math.ceil(len(distinct.states[(0, 0)][0][1][0]) / 3)    # one image, base64
        assert distinct.nbytes - e.nbytes > 4 * image * 0.9 > 0          # 2 images saved instead of 6

    def test_views(self):
        plt = pytest.importorskip("matplotlib.pyplot")
        pd = pytest.importorskip("pandas")

        def render(k):
            fig, ax = plt.subplots(figsize=(2, 1))
            ax.plot([0, k])
            return fig, pd.DataFrame({"v": [k]}), {"score": k / 3}, "<i>note</i>"
        n_open = len(plt.get_fignums())
        e = fw.explorer(render, {"k": [1, 2]}, mode="static", width=100)
        assert len(plt.get_fignums()) == n_open                          # figures closed
        (kind, (png, fmt)), (k2, table), (k3, scores), (k4, note) = e.states[(0,)]
        from PIL import Image
        assert kind == "image" and fmt == "png" and Image.open(io.BytesIO(png)).size[0] == 100
        assert k2 == "html" and "<table" in table and k3 == "html" and "0.3333" in scores and note == "<i>note</i>"

    def test_exception(self):
        with pytest.raises(TypeError, match="`render` must be callable"):
            fw.explorer(3, AXES)
        with pytest.raises(TypeError, match="`axes`"):
            fw.explorer(_render, [1, 2])
        with pytest.raises(ValueError, match="must not be empty"):
            fw.explorer(_render, {})
        with pytest.raises(ValueError, match="identifiers"):
            fw.explorer(_render, {"not a name": [1]})
        with pytest.raises(ValueError, match="`fmt`"):
            fw.explorer(_render, AXES, fmt="gif")
        with pytest.raises(ValueError, match="`width`"):
            fw.explorer(_render, AXES, width=0)
        with pytest.raises(ValueError, match="`max_states`"):
            fw.explorer(_render, AXES, max_states=0)
        with pytest.raises(ValueError, match="> `max_states`"):
            fw.explorer(_render, AXES, mode="static", grid="product", max_states=10)
        with pytest.raises(ValueError, match="`max_bytes`"):
            fw.explorer(_render, AXES, mode="static", max_bytes=2000)
        with pytest.raises(ValueError, match="no group"):
            fw.explorer(_render, AXES, mode="static", grid=[("blur", "noise")])
        with pytest.raises(ValueError, match="distinct axes"):
            fw.explorer(_render, AXES, mode="static", grid=[("blur", "nope"), ("noise", "name")])
        with pytest.raises(ValueError, match="`grid`"):
            fw.explorer(_render, AXES, mode="static", grid="diagonal")
        with pytest.raises(TypeError, match="must return"):
            fw.explorer(lambda k: object(), {"k": [1]}, mode="static")
        with pytest.raises(ValueError, match="empty view"):
            fw.explorer(lambda k: (), {"k": [1]}, mode="static")


AXES_LABELS = {"blur": ["0", "1", "2"], "noise": ["0", "0.1", "0.2"], "name": ["a", "b"]}


class TestLiveExplorer:
    def test_on_demand(self):
        calls = []

        def render(**kw):
            calls.append(kw)
            return _render(**kw)
        e = fw.explorer(render, AXES, mode="live", cache=2)
        assert e.mode == "live" and calls == [{"blur": 0, "noise": 0.1, "name": "a"}]   # only the default
        view = e.widget.children[1]
        caption, body = view.children
        e.controls["blur"].index = 2
        assert calls[-1] == {"blur": 2, "noise": 0.1, "name": "a"} and "blur = 2" in caption.value
        image = body.children[0].value
        e.show(noise=0.2, name="b")            # any combination, beyond any precomputed grid
        assert calls[-1] == {"blur": 2, "noise": 0.2, "name": "b"} and body.children[0].value != image
        assert body.children[2].value == "<b>b</b>"
        n = len(calls)
        e.show(noise=0.1, name="a")           # back: from the cache (2 entries)
        assert len(calls) == n and body.children[0].value == image
        assert "live" in repr(e) and e._repr_mimebundle_()["text/plain"].startswith("explorer (live)")

    def test_env_default(self, monkeypatch):
        monkeypatch.setenv(fw.MODE_ENV, "static")
        assert fw.explorer(_render, AXES).mode == "static"
        monkeypatch.setenv(fw.MODE_ENV, "live")
        assert fw.explorer(_render, AXES).mode == "live"

    def test_exception(self):
        e = fw.explorer(_render, AXES, mode="live")
        with pytest.raises(ValueError, match="unknown axes"):
            e.show(sharpness=1)
        with pytest.raises(ValueError, match="one of the values"):
            e.show(blur=7)
        static = fw.explorer(_render, AXES, mode="static")
        with pytest.raises(RuntimeError, match="only a live explorer"):
            static.show(blur=1)


def test_single_value_axis_is_fixed():
    """An axis with one value is shown disabled and is not a control a reader (or the browser test) moves."""
    import fusionlib as fl
    e = fl.widgets.explorer(lambda k, s: f"<b>{k}{s}</b>", {"k": fl.widgets.dropdown(["a", "b"]),
                                                           "s": fl.widgets.slider([0])}, mode="static")
    fixed = e.controls["s"][0]
    assert fixed.disabled and "fl-control-fixed" in fixed._dom_classes and "fl-control" not in fixed._dom_classes
    assert "fl-control" in e.controls["k"][0]._dom_classes
