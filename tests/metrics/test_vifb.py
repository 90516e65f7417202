"""VIFB reproduction on a real-data subset: all 13 metrics, 1e-3 relative to the published table.

The published numbers (``vifb/evaluation_metrics/vifb_metrics_per_image.csv``, 5 significant digits,
from VIFB's MATLAB code) were not computed by us; the fused images are JPEG decoded with Pillow (as
MATLAB ``imread``). The full 21 x 23 reproduction is ``benchmarks/reproduce_vifb.py``.
"""
from __future__ import annotations

import numpy as np
import pytest

import fusionlib as fl
from fusionlib.metrics import VIFB_NAMES, evaluate
from tolerances import F32

PAIRS = ("walking", "manWalking")  # 320x240 RGB IR, 328x254 single-channel IR
METHODS = ("ADF", "GTF", "IFCNN")


@pytest.fixture(scope="module")
def vifb(data_root):
    return fl.data.load("vifb", root=data_root)


@pytest.mark.parametrize("pair", PAIRS)
def test_vifb_table_reproduced(vifb, pair):
    table = vifb.metric_table().set_index(["image", "method"])
    sample = vifb[pair]
    fused = np.stack([vifb.fused(m, pair) for m in METHODS])
    vals = evaluate(fused, [s[None] for s in sample.sources], preset="vifb")
    for col, key in VIFB_NAMES.items():
        for j, m in enumerate(METHODS):
            pub = float(table.loc[(pair, m), col])
            assert float(vals[key][j]) == pytest.approx(pub, rel=1e-3), f"{col} {pair}/{m}"


@pytest.mark.slow
def test_source_order_irrelevant(vifb):
    """All 13 VIFB metrics treat VI and IR alike (means or sums over the two)."""
    sample = vifb["walking"]
    f = vifb.fused("ADF", "walking")
    a = evaluate(f, list(sample.sources), preset="vifb")
    b = evaluate(f, list(sample.sources[::-1]), preset="vifb")
    for k in a:
        assert a[k] == pytest.approx(b[k], **F32)
