"""fusionlib.viz.data (kept beside the data tests: it only draws data samples)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import fusionlib as fl  # noqa: E402


@pytest.fixture(scope="module")
def sets():
    return {n: fl.data.load(n, size=32) for n in ("embedded_multifocus", "embedded_pansharpening")}


class TestShowSample:
    def test_smoke(self, sets):
        import matplotlib.pyplot as plt
        s = sets["embedded_pansharpening"][0]
        fig = fl.viz.show_sample(s)
        assert len(fig.axes) == 3 and fig.axes[0].get_title().startswith("MS\n8×8")
        plt.close(fig)
        fig = fl.viz.show_samples([sets["embedded_multifocus"][0], s])
        assert len(fig.axes) == 6
        plt.close(fig)

    def test_exception(self):
        with pytest.raises(TypeError, match="Sample"):
            fl.viz.show_sample(np.zeros((3, 8, 8)))
        with pytest.raises(ValueError, match="must not be empty"):
            fl.viz.show_samples([])


class TestSampleMontage:
    def test_shape(self, sets):
        m = fl.viz.sample_montage(sets["embedded_pansharpening"][0], height=40, gap=2)
        assert m.dtype == np.uint8 and m.shape == (40, 3 * 40 + 2 * 2, 3)
        u = fl.viz.sample_montage(sets["embedded_multifocus"].get(0, dtype="uint8"), height=32, gap=0)
        f = fl.viz.sample_montage(sets["embedded_multifocus"][0], height=32, gap=0)
        np.testing.assert_array_equal(u, f)


class TestPairBrowser:
    def test_smoke(self, sets):
        pytest.importorskip("ipywidgets")
        b = fl.viz.pair_browser(sets, n=2, height=24, mode="static")
        assert list(b.axes) == ["dataset", "pair"] and b.groups == [("dataset", "pair")]
        assert len(b.states) == len(sets) * 2
        (drop,), (slider,) = b.controls["dataset"], b.controls["pair"]
        assert list(drop.options) == list(sets) and list(slider.options) == ["0", "1"]
        img, info = b.states[(0, 1)]
        assert img[0] == "image" and img[1][1] == "jpeg" and img[1][0][:2] == b"\xff\xd8"
        assert info[0] == "html" and str(sets[next(iter(sets))][1].id) in info[1]
        outer = b.widget.children[0].children[1]          # Stack over data sets
        pairs = {(link.source[0].model_id, link.target[0].model_id) for link in b.links}
        assert (drop.model_id, outer.model_id) in pairs
        assert all((slider.model_id, inner.model_id) in pairs for inner in outer.children)

    def test_live(self, sets):
        pytest.importorskip("ipywidgets")
        b = fl.viz.pair_browser(sets, n=2, height=24, mode="live")
        b.show(pair=1)
        caption = b.widget.children[1].children[0].value
        assert "pair = 1" in caption

    def test_exception(self):
        with pytest.raises(ValueError, match="must not be empty"):
            fl.viz.pair_browser({})
        with pytest.raises(ValueError, match="`fmt` must be"):
            fl.viz.pair_browser({"a": fl.data.load("embedded_irvis", size=32)}, fmt="gif")
