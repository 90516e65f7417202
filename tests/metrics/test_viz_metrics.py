"""Smoke tests of the metrics figures and widget (fusionlib.viz.metrics)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import fusionlib as fl  # noqa: E402


class TestDegrade:
    def test_identity_and_quantised(self):
        x = np.round(np.random.default_rng(0).random((2, 16, 16)) * 255) / 255
        y = fl.viz.degrade(x)
        np.testing.assert_allclose(y, x, atol=1e-6)
        z = fl.viz.degrade(x, blur=1.0, noise=0.1, contrast=0.5, seed=1)
        assert z.shape == x.shape and z.min() >= 0 and z.max() <= 1
        np.testing.assert_allclose(z * 255, np.round(z * 255), atol=1e-4)

    def test_seeded(self):
        x = np.full((8, 8), 0.5)
        assert np.array_equal(fl.viz.degrade(x, noise=0.1, seed=3), fl.viz.degrade(x, noise=0.1, seed=3))


def test_figures():
    fig = fl.viz.plot_degradation_curves({"blur": [0, 1, 2]}, {"blur": {"a": [1, 2, 3], "b": [3, 2, 1]}},
                                         higher_is_better={"a": True, "b": False})
    assert len(fig.axes) == 1
    fig = fl.viz.plot_correlation_heatmap(np.eye(3), labels=["x", "y", "z"])
    assert fig.axes
    fig = fl.viz.plot_reproduction_errors({"EN": 1e-5, "Qabf": 6e-4})
    assert fig.axes


def test_explorer():
    pytest.importorskip("ipywidgets")
    score = lambda y: {"mean": float(y.mean())}  # noqa: E731
    panel = fl.viz.degradation_explorer(np.full((16, 16), 0.5), score, mode="live")
    panel.controls["blur"].index = 2  # a live update
    body = panel.widget.children[1].children[1]
    assert b"PNG" in bytes(body.children[0].value)[:8] and "mean" in body.children[1].value
    static = fl.viz.degradation_explorer(np.full((16, 16), 0.5), score, mode="static")
    assert static.groups == [("blur",), ("noise",), ("contrast",)]
    assert len(static.states) == 1 + 6 + 4 + 5
    with pytest.raises(ValueError, match="`blur_max`"):
        fl.viz.degradation_explorer(np.zeros((8, 8)), score, blur_max=-1)
