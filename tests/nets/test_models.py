"""AE-Netv2 family: shapes, exact parameter counts (Table VI), bad input."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import fusionlib.nets as nets
from fusionlib._checks import ShapeError


def _pair(b=2, c=1, h=20, w=24, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, c, h, w, generator=g), torch.rand(b, c, h, w, generator=g)


class TestBuild:
    @pytest.mark.parametrize("name", [k for k in nets.MODELS if k.startswith("aenetv2")])
    def test_shape(self, name, device):
        model = nets.build(name).to(device).eval()
        a, b = (t.to(device) for t in _pair())
        with torch.no_grad():
            y = model(a, b)
        assert y.shape == (2, 1, 20, 24)
        assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0
        # the other call forms agree
        with torch.no_grad():
            torch.testing.assert_close(model([a, b]), y)
            torch.testing.assert_close(model(torch.stack([a, b], 1)), y)

    def test_exception(self):
        with pytest.raises(KeyError, match="valid keys"):
            nets.build("aenetv3")


class TestParameterCount:
    def test_known_value(self):
        """Table VI of Fang et al. (arXiv 2010.01863): 5,378 / 41,154 / 1,537 parameters."""
        assert nets.build("aenetv2").parameter_count() == 5_378
        assert nets.build("aenetv2_plus").parameter_count() == 41_154
        assert nets.build("aenetv2_pp").parameter_count() == 1_537

    @pytest.mark.parametrize("block", list(nets.BLOCKS))
    def test_near_implied_size(self, block):
        """Reconstructed Table VII widths stay within 5 % of the count implied by the printed MB."""
        lo, hi = nets.IMPLIED_PARAMS[block]
        n = nets.build(f"aenetv2_{block}").parameter_count()
        assert 0.95 * lo <= n <= 1.05 * hi

    def test_two_channel_option(self):
        # 18*64 + 64 (conv) + 128 (BN) + 1,152 (GCB) + 578 (C2) = 3,074
        assert nets.build("aenetv2", source_channels=1).parameter_count() == 3_074


class TestAENetV2:
    def test_rgb_and_gray_inputs(self):
        model = nets.build("aenetv2").eval()
        a, b = _pair()
        y_gray = model(a, b)
        y_rep = model(a.expand(-1, 3, -1, -1), b.expand(-1, 3, -1, -1))
        torch.testing.assert_close(y_gray, y_rep)

    def test_n_inputs(self):
        model = nets.build("aenetv2", n_sources=3).eval()
        srcs = [torch.rand(1, 1, 16, 16) for _ in range(3)]
        assert model(srcs).shape == (1, 1, 16, 16)
        with pytest.raises(ValueError, match="expected 3 sources; got 2"):
            model(srcs[:2])

    def test_exception(self):
        model = nets.build("aenetv2").eval()
        a, b = _pair()
        with pytest.raises(ShapeError, match=r"1 or 3 channels.*got shape \(2, 2, 20, 24\)"):
            model(torch.rand(2, 2, 20, 24), b)
        with pytest.raises(ShapeError, match="share batch, height and width"):
            model(a, b[..., :10])
        bad = a.clone()
        bad[0, 0, 3, 3] = float("nan")
        with pytest.raises(ValueError, match="NaN or Inf"):
            model(bad, b)
        with pytest.raises(TypeError, match="torch.Tensor"):
            model(a.numpy(), b.numpy())
        with pytest.raises(ValueError, match="bn_position"):
            nets.AENetV2(bn_position="c2")

    def test_invariants(self):
        """Batch = loop; the skip matters (ablation changes the output); eval clamps to [0, 1]."""
        torch.manual_seed(0)
        model = nets.build("aenetv2").eval()
        a, b = _pair(b=3)
        y = model(a, b)
        y_loop = torch.cat([model(a[i:i + 1], b[i:i + 1]) for i in range(3)])
        torch.testing.assert_close(y, y_loop, rtol=1e-5, atol=1e-6)
        no_skip = nets.build("aenetv2", skip=False).eval()
        no_skip.load_state_dict(model.state_dict())
        assert not torch.allclose(no_skip(a, b), y)

    def test_gradient_flows(self):
        model = nets.build("aenetv2").train()
        a, b = _pair()
        model(a, b).mean().backward()
        assert all(p.grad is not None for p in model.parameters())


class TestAENetV2M:
    @pytest.mark.parametrize("size", [(8, 8), (13, 29), (1, 5), (33, 64)])
    def test_any_size(self, size):
        model = nets.build("aenetv2_m").eval()
        a, b = torch.rand(1, 1, *size), torch.rand(1, 1, *size)
        assert model(a, b).shape == (1, 1, *size)

    def test_known_value(self):
        # Fire(6->16->64+64) 10,480; 3 x Fire(128) 12,432; 2 x Fire(256) 14,480; conv 256->1 2,305
        assert nets.build("aenetv2_m").parameter_count() == 79_041


class TestFuse:
    def test_numpy_roundtrip(self):
        model = nets.build("aenetv2")
        a, b = (t[0, 0].numpy() for t in _pair(b=1))
        y = nets.fuse(model, [a, b])
        assert isinstance(y, np.ndarray) and y.shape == a.shape and y.dtype == np.float32
        assert model.training  # mode restored

    def test_uint8(self):
        model = nets.build("aenetv2")
        a = (np.arange(64 * 64) % 256).astype(np.uint8).reshape(64, 64)
        y = nets.fuse(model, [a, a[::-1].copy()])
        assert y.shape == (64, 64)

    def test_exception(self):
        model = nets.build("aenetv2")
        with pytest.raises(ValueError, match="at least 2"):
            nets.fuse(model, [np.zeros((8, 8), np.float32)])

    def test_range_like_the_package(self):
        """0-255 floats are refused like classical.fuse refuses them (was: an all-white image)."""
        import fusionlib.classical as C
        model = nets.build("aenetv2")
        a = np.full((16, 16), 200.0, np.float32)
        for fn in (lambda s: nets.fuse(model, s), lambda s: C.fuse("lp", s, n_levels=1)):
            with pytest.raises(ValueError, match=r"`sources` values must lie in \[0, 1\].*divide by 255") as e:
                fn([a, a])
            assert "data_range" not in str(e.value)  # neither takes one
        nan = np.zeros((16, 16), np.float32)
        nan[2, 2] = np.nan
        with pytest.raises(ValueError, match="`sources` contains 2 NaN"):
            nets.fuse(model, [nan, nan])

    @pytest.mark.parametrize("kw, exc, text", [({"batch_size": 0}, ValueError, "`batch_size`"),
                                               ({"batch_size": 1.5}, TypeError, "`batch_size`"),
                                               ({"device": "foo"}, ValueError, "`device`")])
    def test_arguments(self, kw, exc, text):
        a = np.zeros((16, 16), np.float32)
        with pytest.raises(exc, match=text):
            nets.fuse(nets.build("aenetv2"), [a, a], **kw)
        with pytest.raises(TypeError, match="`model`"):
            nets.fuse("aenetv2", [a, a])

    def test_nan_model_output_refused(self):
        model = nets.build("aenetv2")
        with torch.no_grad():
            next(model.parameters()).fill_(float("nan"))
        a = np.full((16, 16), 0.5, np.float32)
        with pytest.raises(ValueError, match="nets.fuse: `model output` contains"):
            nets.fuse(model, [a, a])

class TestInitOutputScale:
    @pytest.mark.parametrize("key", ["aenetv2", "aenetv2_squeeze", "aenetv2_pp", "aenetv2_m"])
    def test_known_value(self, key):
        """The output starts at the labels' scale (training-mode batch statistics)."""
        torch.manual_seed(0)
        m = nets.build(key)
        a, b = _pair(b=4, h=32, w=32)
        rec = nets.init_output_scale(m, 0.45, 0.25, sources=[a, b])
        assert rec["label_mean"] == 0.45 and rec["layer"] in ("c2_bn", "out")
        m.train()
        with torch.no_grad():
            y = m([a, b])
        assert abs(float(y.mean()) - 0.45) < 0.02 and abs(float(y.std()) - 0.25) < 0.02

    def test_sigmoid(self):
        m = nets.build("aenetv2", output="sigmoid")
        rec = nets.init_output_scale(m, 0.5, 0.25)
        assert rec["target_mean"] == 0.0 and rec["target_std"] == 1.0
        assert float(m.c2_bn.weight.detach()[0]) == 1.0

    def test_exception(self):
        with pytest.raises(ValueError, match="sources"):
            nets.init_output_scale(nets.build("aenetv2_pp"), 0.45, 0.25)
        with pytest.raises(ValueError, match="mean"):
            nets.init_output_scale(nets.build("aenetv2"), 1.5, 0.25)
