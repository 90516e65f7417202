"""fusionlib.viz.optim: convergence curves, final-value box plots, diversity."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import fusionlib.optim as fo  # noqa: E402
from fusionlib.optim.functions import sphere  # noqa: E402
from fusionlib.viz import optim as vo  # noqa: E402


@pytest.fixture(scope="module")
def runs():
    lo, hi = -np.ones(2), np.ones(2)
    return {n: [fo.minimize(n, sphere, lo, hi, 5, 6, seed=s) for s in range(3)] for n in ("pso", "iaoa")}


class TestPlotConvergence:
    @pytest.mark.parametrize("x", ["evals", "iterations"])
    def test_smoke(self, runs, x):
        fig = vo.plot_convergence(runs, x=x, optimum=0.0)
        ax = fig.axes[0]
        assert len(ax.lines) == 2
        n = runs["iaoa"][0].n_evals if x == "evals" else runs["iaoa"][0].history.best.size
        assert ax.lines[1].get_xdata().size == n
        plt.close(fig)

    def test_exception(self, runs):
        with pytest.raises(ValueError, match="`x` must be one of"):
            vo.plot_convergence(runs, x="time")
        with pytest.raises(TypeError, match="`runs` must be a non-empty mapping"):
            vo.plot_convergence([1, 2])
        with pytest.raises(ValueError, match="non-empty sequence"):
            vo.plot_convergence({"a": []})


class TestPlotFinalValues:
    def test_smoke(self, runs):
        fig = vo.plot_final_values({**runs, "numbers": [1e-3, 2e-3]})
        assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["pso", "iaoa", "numbers"]
        plt.close(fig)


class TestPlotDiversity:
    def test_smoke(self, runs):
        fig = vo.plot_diversity(runs)
        assert len(fig.axes[0].lines) == 2
        plt.close(fig)
