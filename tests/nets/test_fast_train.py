"""The training-mode fast engine of AE-Netv2 against the module (forward, gradients, statistics)."""
from __future__ import annotations

import copy
import itertools

import pytest
import torch

import fusionlib.nets as nets
from fusionlib.nets import FusionLoss, TensorBatches, TrainConfig, fit, supports_train_forward, train_forward
from tolerances import F32_NP

TOL = {torch.float32: dict(rtol=1e-4, atol=1e-5), torch.float64: dict(rtol=1e-9, atol=1e-11)}


def _pair(dtype=torch.float32, **options):
    torch.manual_seed(0)
    m = nets.build("aenetv2", **options).to(dtype)
    with torch.no_grad():  # away from the default init so that every term matters
        for p in m.parameters():
            p.add_(0.2 * torch.randn_like(p))
    return m, copy.deepcopy(m)


def _sources(n=3, h=29, w=37, dtype=torch.float32, seed=1, channels=1):
    g = torch.Generator().manual_seed(seed)
    return [torch.rand(n, channels, h, w, generator=g, dtype=dtype) for _ in range(3)]


def _compare(ref, fast, srcs, target, dtype):
    tol = TOL[dtype]
    p_ref, p_fast = ref(srcs), train_forward(fast, srcs)
    torch.testing.assert_close(p_fast, p_ref, **tol)
    FusionLoss()(p_ref, target).backward()
    FusionLoss()(p_fast, target).backward()
    for (name, p), (_, q) in zip(ref.named_parameters(), fast.named_parameters()):
        torch.testing.assert_close(q.grad, p.grad, **tol, msg=lambda m: f"{name}: {m}")
    for (name, p), (_, q) in zip(ref.named_buffers(), fast.named_buffers()):
        torch.testing.assert_close(q, p, **tol, msg=lambda m: f"{name}: {m}")


class TestTrainForward:
    @pytest.mark.parametrize("options", [{}, {"shuffle": False}, {"skip": False}, {"output": "sigmoid"},
                                         {"out_channels": 2}, {"source_channels": 1}, {"width": 8, "groups": 4}])
    def test_reference(self, options):
        ref, fast = _pair(**options)
        a, b, o = _sources()
        _compare(ref, fast, [a, b], o.expand(-1, ref.out_channels, -1, -1), torch.float32)

    @pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
    @pytest.mark.parametrize("size", [(3, 3), (8, 5), (64, 64)])
    def test_dtype(self, dtype, size):
        ref, fast = _pair(dtype)
        a, b, o = _sources(2, *size, dtype=dtype)
        _compare(ref, fast, [a, b], o, dtype)

    def test_rgb_sources(self):
        """Sources with source_channels channels take the 6-channel C1 (no summed kernels)."""
        ref, fast = _pair()
        a, b, o = _sources(2, 16, 16, channels=3)
        _compare(ref, fast, [a, b[:, :1]], o[:, :1], torch.float32)
        assert supports_train_forward(fast, [a, b])

    def test_several_steps(self):
        """Adam steps through the fast engine follow the module's (same batches).

        C1's bias is the exception: under training-mode BatchNorm its gradient is exactly 0 (the
        batch mean cancels it), which the fast engine returns; the module's autograd returns rounding
        noise (~1e-9) that Adam scales up to steps of ~lr/10, so the module's bias drifts and the
        fast engine's stays put. Neither changes a training-mode output or loss."""
        ref, fast = _pair()
        oa, ob = torch.optim.Adam(ref.parameters(), 1e-3), torch.optim.Adam(fast.parameters(), 1e-3)
        for seed in range(4):
            a, b, o = _sources(4, 24, 24, seed=seed)
            for m, opt, fwd in ((ref, oa, lambda s: ref(s)), (fast, ob, lambda s: train_forward(fast, s))):
                opt.zero_grad()
                FusionLoss()(fwd([a, b]), o).backward()
                opt.step()
        for (name, p), (_, q) in zip(ref.named_parameters(), fast.named_parameters()):
            if name != "c1_conv.bias":
                torch.testing.assert_close(q, p, rtol=1e-4, atol=1e-5, msg=lambda m: f"{name}: {m}")
        assert torch.equal(fast.c1_conv.bias, _pair()[1].c1_conv.bias)
        assert 0 < float((ref.c1_conv.bias - fast.c1_conv.bias).detach().abs().max()) < 1e-2

    def test_threads_same_result(self):
        """Images are split over Python threads: 1 and 3 threads give the same results (every image by
        the same operations; only the BLAS kernels' rounding may differ)."""
        outs = []
        prev = torch.get_num_threads()
        try:
            for n in (1, 3):
                torch.set_num_threads(n)
                _, fast = _pair()
                a, b, o = _sources(5, 16, 20)
                p = train_forward(fast, [a, b])
                FusionLoss()(p, o).backward()
                outs.append([p.detach()] + [q.grad for q in fast.parameters()])
        finally:
            torch.set_num_threads(prev)
        for x, y in zip(*outs):
            torch.testing.assert_close(x, y, **F32_NP)

    def test_supports(self):
        m = nets.build("aenetv2")
        a, b, _ = _sources(2, 8, 8)
        assert supports_train_forward(m, [a, b])
        assert not supports_train_forward(m, [a, b[:, :, :7]])           # shapes differ
        assert not supports_train_forward(m, [a, b, a])                  # source count
        assert not supports_train_forward(m, [a.half(), b.half()])
        assert not supports_train_forward(nets.build("aenetv2_plus"), [a, b])
        assert not supports_train_forward(nets.build("aenetv2", bn_position="r"), [a, b])
        assert not supports_train_forward(m.eval(), [a, b])

    def test_exception(self):
        m = nets.build("aenetv2")
        a, b, _ = _sources(2, 8, 8)
        b[0, 0, 3, 3] = float("nan")
        with pytest.raises(ValueError, match=r"sources\[1\].*NaN"):
            train_forward(m, [a, b])


class TestTensorBatches:
    @pytest.mark.parametrize("n,bs,drop_last", [(37, 5, True), (37, 5, False), (35, 5, False), (3, 5, False)])
    def test_reference(self, n, bs, drop_last):
        """Same batches and generator state as DataLoader(TensorDataset, shuffle=True), also when a
        loop stops early."""
        a, b, o = torch.rand(3, n, 1, 4, 4).unbind(0)
        for stop in (None, 2):
            g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
            dl = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(a, b, o), batch_size=bs,
                                             shuffle=True, generator=g1, drop_last=drop_last)
            tb = TensorBatches(a, b, o, batch_size=bs, generator=g2, drop_last=drop_last)
            assert len(tb) == len(dl)
            for _ in range(3):
                b1, b2 = list(itertools.islice(dl, stop)), list(itertools.islice(tb, stop))
                assert len(b1) == len(b2) > 0
                assert all(torch.equal(x, y) for p, q in zip(b1, b2) for x, y in zip(p, q))
                assert torch.equal(g1.get_state(), g2.get_state())

    def test_exception(self):
        with pytest.raises(ValueError, match="first dimension"):
            TensorBatches(torch.rand(3, 1), torch.rand(4, 1), batch_size=2, generator=torch.Generator())


class TestFitEngines:
    def test_reference(self):
        """fit with the fast engine = fit with the module (step losses, weights), engine recorded."""
        g = torch.Generator().manual_seed(0)
        a, b = torch.rand(12, 1, 16, 16, generator=g), torch.rand(12, 1, 16, 16, generator=g)
        hists, models = [], []
        for fast in (True, False):
            torch.manual_seed(0)
            m = nets.build("aenetv2")
            loader = TensorBatches(a, b, torch.maximum(a, b), batch_size=4,
                                   generator=torch.Generator().manual_seed(0))
            hists.append(fit(m, loader, FusionLoss(), TrainConfig(epochs=2, device="cpu", fast=fast)))
            models.append(m)
        assert hists[0].engine == ["fast", "fast"] and hists[1].engine == ["module", "module"]
        torch.testing.assert_close(torch.tensor(hists[0].step_loss), torch.tensor(hists[1].step_loss),
                                   rtol=1e-4, atol=1e-5)
        for (name, p), q in zip(models[0].named_parameters(), models[1].parameters()):
            if name != "c1_conv.bias":  # exactly 0 gradient vs Adam-scaled noise (test_several_steps)
                torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)

    def test_threading_modes(self):
        """TrainConfig.threading: 'hybrid' and 'images' train the same network (2 threads: to float32
        rounding; 1 thread: the same bits), the thread count is restored, a bad mode is refused."""
        g = torch.Generator().manual_seed(0)
        a, b = torch.rand(12, 1, 16, 16, generator=g), torch.rand(12, 1, 16, 16, generator=g)
        prev = torch.get_num_threads()
        runs = {}
        try:
            for n in (1, 2):
                torch.set_num_threads(n)
                for mode in ("hybrid", "images"):
                    torch.manual_seed(0)
                    m = nets.build("aenetv2")
                    loader = TensorBatches(a, b, torch.maximum(a, b), batch_size=4,
                                           generator=torch.Generator().manual_seed(0))
                    h = fit(m, loader, FusionLoss(), TrainConfig(epochs=2, device="cpu", threading=mode))
                    assert torch.get_num_threads() == n
                    runs[n, mode] = (h.step_loss, [p.detach().clone() for p in m.parameters()])
        finally:
            torch.set_num_threads(prev)
        assert runs[1, "hybrid"][0] == runs[1, "images"][0]
        assert all(torch.equal(p, q) for p, q in zip(runs[1, "hybrid"][1], runs[1, "images"][1]))
        torch.testing.assert_close(torch.tensor(runs[2, "hybrid"][0]), torch.tensor(runs[2, "images"][0]),
                                   rtol=1e-5, atol=1e-6)
        for p, q in zip(runs[2, "hybrid"][1], runs[2, "images"][1]):
            torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)
        with pytest.raises(ValueError, match="threading"):
            TrainConfig(threading="openmp")
