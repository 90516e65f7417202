"""Committed checkpoints under data/checkpoints: loadable, documented, trained on train pairs only."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import fusionlib.nets as nets
from fusionlib.experiments import aenet as A

CKPT_DIR = Path(__file__).resolve().parents[2] / "data" / "checkpoints"
CKPTS = sorted(CKPT_DIR.glob("*.pt"))


@pytest.mark.skipif(not CKPTS, reason="no committed checkpoint under data/checkpoints")
class TestCommittedCheckpoints:
    @pytest.mark.parametrize("path", CKPTS, ids=[p.name for p in CKPTS])
    def test_smoke(self, path):
        model, meta = A.load_trained(path)
        assert meta["parameters"] == model.parameter_count()
        state = nets.load_checkpoint(path)
        assert state["fusionlib_version"] and state["config"] and state["architecture"]["class"] == "AENetV2"
        # float32 weights only: no optimiser state in a committed checkpoint
        assert state["optimizer"] is None
        assert all(v.dtype == torch.float32 for v in state["model"].values() if v.is_floating_point())
        g = torch.Generator().manual_seed(0)
        with torch.no_grad():
            y = model(torch.rand(1, 1, 32, 32, generator=g), torch.rand(1, 1, 32, 32, generator=g))
        assert y.shape == (1, 1, 32, 32) and bool(torch.isfinite(y).all())
        assert (CKPT_DIR / "README.md").is_file()
        assert path.name in (CKPT_DIR / "README.md").read_text()

    @pytest.mark.parametrize("path", CKPTS, ids=[p.name for p in CKPTS])
    def test_train_split_only(self, path):
        """No training pair of a committed checkpoint is in the test split of its task."""
        from fusionlib.experiments import aenet_study as S
        meta = json.loads(path.with_suffix(".json").read_text())
        try:
            splits = S.task_splits(meta["profile"], split_seed=meta.get("split_seed", 0))
        except Exception as exc:  # real data absent
            pytest.skip(f"splits unavailable: {exc}")
        train_keys = {r.key for sp in splits.values() for r in sp.train}
        test_keys = {r.key for sp in splits.values() for r in sp.test}
        for task, keys in meta["train_pairs"].items():
            assert not set(keys) & {r.key for r in splits[task].test}
            assert set(keys) <= {r.key for r in splits[task].train}
        # the validation pairs (stopping rule) come from the train split too, never a training pair
        val = set(meta.get("validation_pairs", []))
        assert val <= train_keys and not val & test_keys
        assert not val & {k for keys in meta["train_pairs"].values() for k in keys}
        assert np.isfinite(meta["history"]["step_loss"]).all()
