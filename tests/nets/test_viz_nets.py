"""fusionlib.viz.nets figures render (Agg)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

import fusionlib.viz as viz  # noqa: E402
from fusionlib.nets import TrainHistory  # noqa: E402


class TestPlots:
    def test_smoke(self):
        h = TrainHistory(epoch=[0, 1], stage=[0, 1], lr=[1e-3, 1e-4], train_loss=[0.5, 0.4],
                         val_loss=[0.6, 0.5], steps=[2, 2], seconds=[1, 1], step_loss=[0.6, 0.5, 0.45, 0.4])
        assert viz.plot_history(h).axes
        h.val_step, h.val_curve, h.best_step = [2, 4], [0.5, 0.55], 2
        labels = viz.plot_history(h).axes[0].get_legend_handles_labels()[1]
        assert "validation (every k steps)" in labels
        img = np.zeros((8, 8), np.float32)
        fig = viz.plot_label_candidates([img, img], {"lp": img, "gff": img}, {"lp": 0.2, "gff": 0.8}, "gff")
        assert len(fig.axes) == 4
        assert viz.plot_complexity(["a", "b"], [10, 20], [1e9, 2e9], [1e9, None]).axes
