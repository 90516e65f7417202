"""fuse(), the registry and the colour rule."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import fusionlib.classical as C
from fusionlib._checks import ShapeError

ALL = list(C.METHODS)


def _pair(rng, shape=(40, 36), dtype=np.float64):
    a = rng.random(shape).astype(dtype)
    b = np.clip(a * 0.5 + 0.3 * rng.random(shape), 0, 1).astype(dtype)
    return a, b


class TestRegistry:
    def test_tags(self):
        for name, spec in C.METHODS.items():
            assert spec.tasks and set(spec.tasks) <= set(C.TASKS), name
            assert spec.kind in ("classical", "network")
            assert "doi" in spec.reference.lower() or "arxiv" in spec.reference.lower(), name

    def test_aenetv2_library_is_a_selection(self):
        lib = {"multi-focus": ["lp", "dwt", "dtcwt", "gff", "msvd"],
               "infrared-visible": ["lp", "rp", "dwt", "gtf", "cbf", "gff"],
               "medical": ["lp", "dtcwt", "gff", "msvd"],
               "multi-exposure": ["mertens", "lp", "gff"]}
        for task, names in lib.items():
            have = C.list_methods(task)
            missing = [n for n in names if n in C.METHODS and n not in have]
            assert not missing, (task, missing)

    def test_list_filters(self):
        assert "cbf" not in C.list_methods(n_inputs=3) or C.METHODS["cbf"].max_inputs is None
        assert set(C.list_methods(kind="classical")) == set(C.METHODS)
        with pytest.raises(ValueError, match="task"):
            C.list_methods("thermal")

    def test_unknown_key_lists_valid(self):
        with pytest.raises(KeyError, match="valid keys"):
            C.fuse("nope", [np.zeros((8, 8))] * 2)


class TestFuse:
    def test_smoke(self, rng):
        a, b = _pair(rng)
        out = C.fuse("lp", [a, b])
        assert isinstance(out, np.ndarray) and out.shape == a.shape

    def test_shape_batched_and_three_inputs(self, rng):
        x = torch.rand(2, 3, 1, 32, 32)
        assert C.fuse("average", x).shape == (2, 1, 32, 32)
        out = C.fuse("lp", [x[:, i] for i in range(3)])
        assert out.shape == (2, 1, 32, 32) and isinstance(out, torch.Tensor)

    def test_batch_equals_loop(self, rng):
        x = torch.rand(3, 2, 1, 32, 32, dtype=torch.float64)
        batched = C.fuse("dwt", x)
        for i in range(3):
            single = C.fuse("dwt", [x[i, 0], x[i, 1]])
            torch.testing.assert_close(batched[i], single, rtol=0, atol=1e-12)

    def test_numpy_equals_torch(self, rng):
        a, b = _pair(rng)
        n = C.fuse("gff", [a, b])
        t = C.fuse("gff", [torch.from_numpy(a), torch.from_numpy(b)])
        np.testing.assert_allclose(n, t.numpy(), atol=1e-12)

    @pytest.mark.parametrize("dtype,tol", [(np.float32, 1e-5), (np.float64, 1e-10)])
    def test_dtype(self, rng, dtype, tol):
        a, b = _pair(rng, dtype=dtype)
        out = C.fuse("lp", [a, b])
        assert out.dtype == dtype
        ref = C.fuse("lp", [a.astype(np.float64), b.astype(np.float64)])
        np.testing.assert_allclose(out, ref, atol=tol)

    def test_uint8_in(self, rng):
        a = (rng.random((16, 16)) * 255).astype(np.uint8)
        np.testing.assert_allclose(C.fuse("average", [a, a]), a / 255.0, atol=1e-6)

    def test_known_value_average(self):
        a = np.zeros((8, 8)); b = np.ones((8, 8))
        assert float(C.fuse("average", [a, b]).mean()) == 0.5
        assert float(C.fuse("max", [a, b]).min()) == 1.0

    def test_exception(self, rng):
        a, b = _pair(rng)
        with pytest.raises(TypeError, match="unknown parameter.*'levels'"):
            C.fuse("lp", [a, b], levels=3)
        with pytest.raises(ValueError, match="at least 2"):
            C.fuse("lp", [a])
        with pytest.raises(ShapeError, match="same height and width"):
            C.fuse("lp", [a, b[:-1]])
        with pytest.raises(ShapeError, match="channel"):
            C.fuse("lp", [np.stack([a, a]), b])
        with pytest.raises(ShapeError, match="too small|at least 16x16"):
            C.fuse("lp", [a[:8, :8], b[:8, :8]])
        with pytest.raises(ValueError, match=r"\[0, 1\]"):
            C.fuse("lp", [a * 255, b])
        bad = a.copy(); bad[0, 0] = np.nan
        with pytest.raises(ValueError, match="NaN"):
            C.fuse("lp", [bad, b])
        with pytest.raises(TypeError, match="sources"):
            C.fuse("lp", "a.png")

    def test_device(self, rng, device):
        a, b = _pair(rng)
        out = C.fuse("lp", [torch.from_numpy(a).to(device), torch.from_numpy(b).to(device)])
        assert out.device.type == device.type


class TestColour:
    def test_gray_and_rgb_mix(self, rng):
        rgb = rng.random((3, 32, 32))
        gray = rng.random((32, 32))
        out = C.fuse("average", [gray, rgb])
        assert out.shape == (3, 32, 32)
        # chroma comes from the colour source only (gray has weight |0.5 - 0.5| = 0)
        import fusionlib.filters as F
        ycc_out = F.rgb_to_ycbcr(torch.from_numpy(out)[None])
        ycc_rgb = F.rgb_to_ycbcr(torch.from_numpy(rgb)[None])
        clipped = (out <= 0) | (out >= 1)
        ok = ~torch.from_numpy(clipped.any(0))
        torch.testing.assert_close(ycc_out[0, 1:][:, ok], ycc_rgb[0, 1:][:, ok], atol=1e-9, rtol=0)
        y_expect = 0.5 * (torch.from_numpy(gray) + ycc_rgb[0, 0])
        torch.testing.assert_close(ycc_out[0, 0][ok], y_expect[ok], atol=1e-9, rtol=0)

    def test_chroma_rule_known_value(self):
        # Cb of 0.7 (weight 0.2) and 0.4 (weight 0.1): (0.7*0.2 + 0.4*0.1) / 0.3 = 0.6
        c = torch.tensor([0.7, 0.4], dtype=torch.float64).reshape(1, 2, 1, 1, 1).expand(1, 2, 2, 1, 1)
        torch.testing.assert_close(C.fuse_chroma(c), torch.full((1, 2, 1, 1), 0.6, dtype=torch.float64))
        neutral = torch.full((1, 3, 2, 4, 4), 0.5)
        assert bool((C.fuse_chroma(neutral) == 0.5).all())


@pytest.mark.parametrize("name", ALL)
class TestEveryMethod:
    def test_identity_gray(self, name, rng):
        """Fusing an image with itself returns it."""
        a = rng.random((48, 40))
        np.testing.assert_allclose(C.fuse(name, [a, a]), a, atol=2e-6)

    def test_identity_rgb(self, name, rng):
        a = rng.random((3, 48, 40)).astype(np.float32)
        np.testing.assert_allclose(C.fuse(name, [a, a]), a, atol=1e-4)

    def test_range_and_shape(self, name, rng):
        a, b = _pair(rng, (48, 40))
        out = C.fuse(name, [a, b])
        assert out.shape == a.shape and out.min() >= 0 and out.max() <= 1
        assert np.isfinite(out).all()

    def test_n_inputs(self, name, rng):
        spec = C.METHODS[name]
        imgs = [rng.random((48, 40)) for _ in range(3)]
        if spec.max_inputs is not None and spec.max_inputs < 3:
            with pytest.raises(ValueError, match="at most"):
                C.fuse(name, imgs)
        else:
            assert C.fuse(name, imgs).shape == (48, 40)
