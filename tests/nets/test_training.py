"""Training loop: schedule, loss forms, determinism, resumable checkpoints."""
from __future__ import annotations

import math

import pytest
import torch

import fusionlib.nets as nets
from fusionlib.nets import FusionLoss, TrainConfig, fit


def _loader(n=8, size=16, batch=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    a, b = torch.rand(n, 1, size, size, generator=g), torch.rand(n, 1, size, size, generator=g)
    o = torch.maximum(a, b)
    ds = torch.utils.data.TensorDataset(a, b, o)
    return torch.utils.data.DataLoader(ds, batch_size=batch, shuffle=True,
                                       generator=torch.Generator().manual_seed(seed))


def _model(seed=0):
    torch.manual_seed(seed)
    return nets.build("aenetv2", width=8, groups=4)


class TestTrainConfig:
    def test_known_value(self):
        """Table II: 10 epochs at 1e-3, then 100 at 1e-4, batch 16, 128x128 patches."""
        c = TrainConfig()
        assert c.schedule() == [(10, 1e-3), (100, 1e-4)] and c.batch_size == 16 and c.patch == 128
        assert c.total_epochs == 110 and c.lr_at(9) == (0, 1e-3) and c.lr_at(10) == (1, 1e-4)
        assert TrainConfig.table2(0.1).schedule() == [(1, 1e-3), (10, 1e-4)]
        assert TrainConfig(epochs=3, lr=5e-4).schedule() == [(3, 5e-4)]

    def test_exception(self):
        with pytest.raises(ValueError, match="epochs"):
            TrainConfig(epochs=0)
        with pytest.raises(ValueError, match="lr"):
            TrainConfig(stages=((1, -1.0),))
        with pytest.raises(ValueError, match="dtype"):
            TrainConfig(dtype="float16")
        with pytest.raises(Exception):
            TrainConfig().epochs = 3  # frozen


class TestFusionLoss:
    def test_known_value(self):
        x = torch.rand(2, 1, 16, 16)
        assert float(FusionLoss()(x, x)) == pytest.approx(0.0, abs=1e-6)
        # L1 part alone on a constant offset: SSIM of constant-shifted images is < 1
        assert float(FusionLoss()(x, x + 0.1)) > 0.1 - 1e-6

    def test_sources_form(self):
        a, b = torch.rand(1, 1, 16, 16), torch.rand(1, 1, 16, 16)
        p = (a + b) / 2
        lf = FusionLoss("sources")
        l_ab = float(lf(p, None, [a, b]))
        assert l_ab == pytest.approx((float(FusionLoss()(p, a)) + float(FusionLoss()(p, b))) / 2, rel=1e-6)
        with pytest.raises(ValueError, match="sources"):
            lf(p, None, None)

    def test_gradcheck(self):
        p = torch.rand(1, 1, 6, 6, dtype=torch.float64, requires_grad=True)
        t = torch.rand(1, 1, 6, 6, dtype=torch.float64)
        assert torch.autograd.gradcheck(lambda q: FusionLoss(window=3)(q, t), (p,))


class TestFit:
    def test_smoke(self):
        m = _model()
        h = fit(m, _loader(), FusionLoss(), TrainConfig(stages=((2, 1e-2), (1, 1e-3)), device="cpu"),
                val_loader=_loader(4, seed=1))
        assert h.epoch == [0, 1, 2] and h.stage == [0, 0, 1] and h.lr == [1e-2, 1e-2, 1e-3]
        assert len(h.step_loss) == 6 and all(math.isfinite(v) for v in h.val_loss)
        assert h.train_loss[-1] < h.step_loss[0]  # it learns the max rule a bit
        assert not m.training

    def test_invariants(self):
        """One seed reproduces every number."""
        h1 = fit(_model(), _loader(), FusionLoss(), TrainConfig(epochs=2, device="cpu", seed=3))
        h2 = fit(_model(), _loader(), FusionLoss(), TrainConfig(epochs=2, device="cpu", seed=3))
        assert h1.step_loss == h2.step_loss

    def test_max_steps(self):
        h = fit(_model(), _loader(), FusionLoss(), TrainConfig(epochs=5, max_steps=3, device="cpu"))
        assert len(h.step_loss) == 3 and h.epoch == [0, 1]

    def test_resume(self, tmp_path):
        """Interrupted after epoch 1 and resumed == uninterrupted (weights, optimiser, shuffling)."""
        cfg = TrainConfig(stages=((2, 1e-2), (1, 1e-3)), device="cpu", checkpoint=str(tmp_path / "c.pt"))
        full = _model()
        fit(full, _loader(), FusionLoss(), TrainConfig(stages=cfg.stages, device="cpu"))
        part = _model()
        fit(part, _loader(), FusionLoss(), cfg, callbacks=[lambda rec, m: rec["epoch"] == 0])
        state = nets.load_checkpoint(tmp_path / "c.pt")
        assert state["epoch"] == 1 and state["fusionlib_version"] and state["optimizer"] is not None
        resumed = _model(seed=99)  # different init: everything must come from the checkpoint
        h = fit(resumed, _loader(), FusionLoss(), cfg)
        assert h.epoch == [0, 1, 2] and h.resumed_at == [1]
        for p, q in zip(full.parameters(), resumed.parameters()):
            torch.testing.assert_close(p, q)
        with pytest.raises(ValueError, match="different configuration"):
            fit(_model(), _loader(), FusionLoss(), TrainConfig(epochs=1, device="cpu",
                                                               checkpoint=str(tmp_path / "c.pt")))

    def test_max_steps_resume_exact_or_refused(self, tmp_path):
        """A max_steps run stopped mid-epoch is complete (a rerun trains nothing) and cannot be
        continued inexactly; interrupted before max_steps, it resumes to the uninterrupted weights;
        stopped at an epoch's end, it continues like an uninterrupted run."""
        ck = str(tmp_path / "c.pt")
        full5 = _model()
        fit(full5, _loader(), FusionLoss(), TrainConfig(epochs=4, max_steps=5, device="cpu"))
        part = _model()
        cfg5 = TrainConfig(epochs=4, max_steps=5, device="cpu", checkpoint=ck)
        fit(part, _loader(), FusionLoss(), cfg5, callbacks=[lambda rec, m: rec["epoch"] == 0])
        resumed = _model(seed=99)
        h = fit(resumed, _loader(), FusionLoss(), cfg5)
        assert len(h.step_loss) == 5 and h.resumed_at == [1]
        for p, q in zip(full5.parameters(), resumed.parameters()):
            torch.testing.assert_close(p, q, rtol=0, atol=0)
        assert nets.load_checkpoint(ck)["partial_epoch"] is True  # 5 steps = 2.5 epochs
        again = _model(seed=98)
        h2 = fit(again, _loader(), FusionLoss(), cfg5)  # complete: loads, trains nothing
        assert len(h2.step_loss) == 5
        for p, q in zip(full5.parameters(), again.parameters()):
            torch.testing.assert_close(p, q, rtol=0, atol=0)
        with pytest.raises(ValueError, match="middle of epoch 2.*c.pt|c.pt.*middle of epoch 2"):
            fit(_model(), _loader(), FusionLoss(), TrainConfig(epochs=4, device="cpu", checkpoint=ck))
        # stopped exactly at an epoch's end (4 steps = 2 epochs): continuing is exact
        ck2 = str(tmp_path / "d.pt")
        fit(_model(), _loader(), FusionLoss(), TrainConfig(epochs=4, max_steps=4, device="cpu", checkpoint=ck2))
        assert nets.load_checkpoint(ck2)["partial_epoch"] is False
        cont = _model(seed=97)
        fit(cont, _loader(), FusionLoss(), TrainConfig(epochs=4, device="cpu", checkpoint=ck2))
        full = _model()
        fit(full, _loader(), FusionLoss(), TrainConfig(epochs=4, device="cpu"))
        for p, q in zip(full.parameters(), cont.parameters()):
            torch.testing.assert_close(p, q, rtol=0, atol=0)

    @pytest.mark.parametrize("damage", ["truncate", "empty", "text"])
    def test_corrupt_checkpoint(self, tmp_path, damage):
        """An unreadable checkpoint is named; fit warns and trains from the start."""
        from fusionlib.utils import CacheEntryError
        ck = tmp_path / "c.pt"
        cfg = TrainConfig(epochs=2, device="cpu", checkpoint=str(ck))
        fit(_model(), _loader(), FusionLoss(), TrainConfig(epochs=1, device="cpu", checkpoint=str(ck)))
        raw = ck.read_bytes()
        ck.write_bytes({"truncate": raw[: len(raw) // 2], "empty": b"", "text": b"hello"}[damage])
        with pytest.raises(CacheEntryError, match="c.pt"):
            nets.load_checkpoint(ck)
        m = _model()
        with pytest.warns(RuntimeWarning, match="c.pt"):
            h = fit(m, _loader(), FusionLoss(), cfg)
        assert h.resumed_at == [] and h.epoch == [0, 1]
        fresh = _model()
        fit(fresh, _loader(), FusionLoss(), TrainConfig(epochs=2, device="cpu"))
        for p, q in zip(fresh.parameters(), m.parameters()):
            torch.testing.assert_close(p, q, rtol=0, atol=0)
        assert nets.load_checkpoint(ck)["epoch"] == 2  # replaced by a good one

    def test_step_stages(self):
        """A schedule in optimiser steps: 5 steps at 1e-2 then 3 at 1e-3 over a 2-batch loader."""
        cfg = TrainConfig(step_stages=((5, 1e-2), (3, 1e-3)), device="cpu")
        assert cfg.total_steps == 8 and cfg.lr_at_step(4) == (0, 1e-2) and cfg.lr_at_step(5) == (1, 1e-3)
        h = fit(_model(), _loader(), FusionLoss(), cfg)
        assert len(h.step_loss) == 8 and h.epoch == [0, 1, 2, 3] and h.lr[-1] == 1e-3

    def test_validation_stopping(self):
        """The stopping rule reads the validation curve; the best weights are restored."""
        cfg = TrainConfig(step_stages=((40, 1e-2),), val_every=1, patience=2, min_delta=0.9, device="cpu")
        m = _model()
        h = fit(m, _loader(), FusionLoss(), cfg, val_loader=_loader(4, seed=1))
        # nothing beats the first evaluation by 90 %: stop after 2 stale evaluations
        assert h.val_step == [1, 2, 3] and h.best_step == 1 and h.stopped_at == 3
        assert len(h.val_curve) == 3 and len(h.step_loss) == 3
        ref = _model()
        fit(ref, _loader(), FusionLoss(), TrainConfig(step_stages=((1, 1e-2),), device="cpu"))
        for p, q in zip(m.state_dict().values(), ref.state_dict().values()):
            torch.testing.assert_close(p, q)

    def test_output_init(self):
        h = fit(_model(), _loader(), FusionLoss(), TrainConfig(epochs=1, output_init=(0.4, 0.2), device="cpu"))
        assert h.output_init["layer"] == "c2_bn" and h.output_init["label_std"] == 0.2
        m = _model()
        ref = float(FusionLoss()(m(list(next(iter(_loader()))[:2])), next(iter(_loader()))[2]).detach())
        h2 = fit(_model(), _loader(), FusionLoss(), TrainConfig(epochs=1, device="cpu"))
        assert h2.output_init is None and h.step_loss[0] < h2.step_loss[0] == pytest.approx(ref, rel=1e-5)

    def test_checkpoint_refused(self, tmp_path):
        """A checkpoint of another architecture is refused before any tensor is copied."""
        m = _model()
        nets.save_checkpoint(tmp_path / "c.pt", m, None)
        nets.load_checkpoint(tmp_path / "c.pt", _model(seed=5))
        for other, match in ((nets.build("aenetv2", width=8, groups=4, shuffle=False), "shuffle"),
                             (nets.build("aenetv2_plus", width=8), "block_name"),
                             (nets.build("aenetv2"), "shapes"),
                             (nets.build("aenetv2_pp"), "AENetV2PlusPlus")):
            before = {k: v.clone() for k, v in other.state_dict().items()}
            with pytest.raises(ValueError, match=match):
                nets.load_checkpoint(tmp_path / "c.pt", other)
            assert all(torch.equal(before[k], v) for k, v in other.state_dict().items())

    def test_exception(self):
        with pytest.raises(ValueError, match="patience"):
            TrainConfig(patience=3)
        with pytest.raises(ValueError, match="step_stages"):
            TrainConfig(step_stages=((0, 1e-3),))
        with pytest.raises(ValueError, match="val_loader"):
            fit(_model(), _loader(), FusionLoss(), TrainConfig(epochs=1, val_every=1, device="cpu"))
        with pytest.raises(TypeError, match="TrainConfig"):
            fit(_model(), _loader(), FusionLoss(), {"epochs": 1})
        with pytest.raises(TypeError, match="batches"):
            fit(_model(), [torch.rand(2, 1, 8, 8)], FusionLoss(), TrainConfig(epochs=1, device="cpu"))
