"""AE-Netv2 checkpoint glue: label statistics and argument checks (no real data needed)."""
from __future__ import annotations

import numpy as np
import pytest

from fusionlib.experiments import aenet as A


class TestLabelStats:
    def test_known_value(self):
        """Pixels of both labels pooled: values 0, 1 (x2) and 0.5 (x4) -> mean 0.5, sd sqrt(1/4)."""
        m, s = A.label_stats([np.array([[0.0, 1.0]]), np.full((1, 2, 2), 0.5)])
        assert m == pytest.approx(0.5) and s == pytest.approx(np.sqrt((0.25 + 0.25) / 6))


class TestTrainCheckpoint:
    def test_exception(self, tmp_path):
        with pytest.raises(ValueError, match="overlaps"):
            A.train_checkpoint(tmp_path / "x.pt", n_per_task=4, val_pairs=2, val_start=3)
        with pytest.raises(ValueError, match="output_init"):
            A.train_checkpoint(tmp_path / "x.pt", output_init="zeros")
