"""Committed checkpoints under data/checkpoints/aenet: fresh, loadable, documented, train pairs only."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import fusionlib.nets as nets
from fusionlib.experiments import aenet_grid as G

CKPT_DIR = G.checkpoint_dir()
CKPTS = sorted(p for p in CKPT_DIR.glob("*.pt") if not p.name.endswith(".train.pt"))
GRID = {e.name: e for e in G.grid()}


@pytest.mark.skipif(not CKPTS, reason="no committed checkpoint under data/checkpoints/aenet")
class TestCommittedCheckpoints:
    @pytest.mark.parametrize("path", CKPTS, ids=[p.name for p in CKPTS])
    def test_smoke(self, path):
        e = GRID[path.stem]                       # every file is an entry of the grid
        model, meta = G.load(e.model, e.train, e.seed)   # fresh: current recipe and labels
        assert meta["parameters"] == model.parameter_count() and meta["command"]
        state = nets.load_checkpoint(path)
        assert state["optimizer"] is None        # float32 weights only, no optimiser state
        assert all(v.dtype == torch.float32 for v in state["model"].values() if v.is_floating_point())
        g = torch.Generator().manual_seed(0)
        with torch.no_grad():
            y = model(torch.rand(1, 1, 32, 32, generator=g), torch.rand(1, 1, 32, 32, generator=g))
        assert y.shape == (1, 1, 32, 32) and bool(torch.isfinite(y).all())
        assert np.isfinite(meta["history"]["step_loss"]).all() and meta["val_curve"]
        assert "aenet_grid" in (CKPT_DIR.parent / "README.md").read_text()

    def test_size(self):
        assert sum(p.stat().st_size for p in CKPT_DIR.iterdir()) < 10e6

    def test_train_split_only(self):
        """Training and validation pairs come from the train split, never the test split, and the
        validation pairs are never trained on."""
        from fusionlib.experiments import aenet_study as S
        lab = json.loads((CKPT_DIR / "labels.json").read_text())
        try:
            splits = S.task_splits(lab["recipe"]["profile"], split_seed=lab["recipe"]["split_seed"])
        except Exception as exc:  # real data absent
            pytest.skip(f"splits unavailable: {exc}")
        for task, recs in lab["labels"].items():
            train = {r.key for r in splits[task].train}
            test = {r.key for r in splits[task].test}
            keys = {r["pair"] for r in recs}
            assert keys == train and not keys & test      # the whole train split is labelled
            val = {r["pair"] for r in recs if r["role"] == "validation"}
            assert len(val) == lab["recipe"]["val_pairs"]
        for path in CKPTS:
            meta = json.loads(path.with_suffix(".json").read_text())
            for task, v in meta["validation_pairs"].items():
                assert set(v) <= {r["pair"] for r in lab["labels"][task] if r["role"] == "validation"}
