"""The device a caller asks for reaches the kernels: nothing silently computes on the CPU (issue #17, item 1).

Each public entry that takes a device is called with ``torch.device("meta")``: tensors on the meta
device have shapes but no data, so a path that honours the device fails when it first needs a value
("meta" in the error), while a path that fell back to the CPU would return numbers. The walk from
``python -m fusionlib.book --device`` to a kernel: the runner injects ``DEVICE``; each chapter resolves
it once (``fl.utils.resolve_device(DEVICE)``) and passes the ``torch.device`` to the calls below.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

import fusionlib as fl
from fusionlib import nets
from fusionlib.experiments import aenet_quality as Q
from fusionlib.experiments import aenet_study as S
from fusionlib.experiments import iaoa as E

META = torch.device("meta")


def _pair(size=32):
    g = np.random.default_rng(0)
    return g.random((size, size), dtype=np.float32), g.random((size, size), dtype=np.float32)


def _on_meta(fn):
    with pytest.raises((NotImplementedError, RuntimeError, ValueError), match="meta"):
        fn()


def test_resolve_device_passes_a_device_through_and_refuses_unknown_strings():
    assert fl.utils.resolve_device(META) is META or fl.utils.resolve_device(META) == META
    with pytest.raises(ValueError, match="npu"):
        fl.utils.resolve_device("npu")


def test_classical_fuse():
    a, b = _pair()
    _on_meta(lambda: fl.classical.fuse("lp", [a, b], device=META))


def test_fit():
    a, b = (torch.from_numpy(x)[None, None].repeat(4, 1, 1, 1) for x in _pair(16))
    loader = nets.TensorBatches(a, b, torch.maximum(a, b), batch_size=2, generator=torch.Generator().manual_seed(0))
    _on_meta(lambda: nets.fit(nets.build("aenetv2"), loader, nets.FusionLoss(),
                              nets.TrainConfig(epochs=1, device=META)))


def test_labels(tmp_path):
    labeler = S.default_labeler(tmp_path, profile="smoke", device=META)
    _on_meta(lambda: labeler("infrared-visible", [_pair()]))


def test_model_fuser():
    a, b = _pair()
    _on_meta(lambda: S.model_fuser(nets.build("aenetv2").eval(), META)(a[None], b[None]))


def test_e2_field_library(tmp_path):
    splits, _ = S.study_splits("smoke")
    one = {t: s for t, s in list(splits.items())[:1]}
    _on_meta(lambda: Q.e2_field({}, one, device=META, show_progress=False))


def test_iaoa_problem():
    g = np.random.default_rng(0)
    ms = np.round(255 * g.uniform(0.1, 1, (4, 32, 32)))
    pair = E.IAOAPair("p", ms, ms[:3].mean(0, keepdims=True), {})
    _on_meta(lambda: E.IAOAProblem([pair], device=META).fitness(0)(np.zeros((2, 4))))
