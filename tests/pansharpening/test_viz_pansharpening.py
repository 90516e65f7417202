"""Figures of fusionlib.viz.pansharpening run on a tiny experiment (Agg backend)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import fusionlib.viz as viz  # noqa: E402
from fusionlib.experiments import iaoa as E  # noqa: E402
from fusionlib.filters import imresize_bicubic  # noqa: E402


@pytest.fixture(scope="module")
def run():
    rng = np.random.default_rng(0)
    base = rng.uniform(0.1, 1, (4, 4, 4))
    ms = np.round(255 * imresize_bicubic(torch.tensor(base)[None], 8.0)[0].numpy().clip(0.01, 1))
    pan = np.round(0.3 * ms[0] + 0.6 * ms[1] + 0.1 * ms[2])[None]
    problem = E.IAOAProblem([E.IAOAPair("a", ms, pan), E.IAOAPair("b", ms[::-1].copy(), pan)], weights="nnls")
    df = E.run_experiment(problem, optimizers=("pso", "de", "iaoa"), n_runs=3)
    return problem, df


def test_all_figures(run):
    import matplotlib.pyplot as plt
    problem, df = run
    m, j = problem.model(0)
    x, f = problem.optimum(0)
    figs = [viz.plot_model_steps(m, x, j), viz.plot_convergence(df, "a", optimum=f),
            viz.plot_convergence(df, "a", optimum=f, log_gap=False), viz.plot_metric_boxes(df, "ERGAS", "a"),
            viz.plot_fitness_vs_reference(df), viz.plot_run_times(df),
            viz.plot_zoom_comparison({"a": problem.pairs[0].ms, "b": m.target[0]}, box=(4, 4, 16))]
    s = E.summarize(df)
    rk = pd.DataFrame({k: s.groupby("pair")[f"{k}_mean"].rank() for k in E.METRIC_NAMES})
    rk["optimizer"] = s["optimizer"]
    figs.append(viz.plot_rank_radar(rk.groupby("optimizer").mean()))
    figs.append(viz.plot_cd_diagram(pd.Series([1.2, 2.0, 2.8], index=["x", "y", "z"]), 1.5))
    for fig in figs:
        assert fig.axes
        plt.close(fig)


def test_rgb_composite():
    a = np.full((4, 8, 8), 255.0)
    out = viz.rgb_composite(a)
    assert out.shape == (8, 8, 3) and out.max() == 1.0
