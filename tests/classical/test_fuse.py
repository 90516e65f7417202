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


class TestDeclaredParams:
    """Every method declares the type and range of each parameter; fuse checks them (issue #21)."""

    @pytest.mark.parametrize("name", ALL)
    def test_declared_exactly(self, name):
        spec = C.METHODS[name]
        assert set(spec.params) == set(spec.defaults)
        assert spec.check_params({}) == dict(spec.defaults)

    @pytest.mark.parametrize("name, params, exc, text", [
        ("lp", {"n_levels": 0}, ValueError, "`n_levels` must be an int in \\[1, 16\\]; got 0"),
        ("lp", {"n_levels": -1}, ValueError, "`n_levels`.*got -1"),
        ("lp", {"n_levels": True}, TypeError, "`n_levels`.*got bool"),
        ("lp", {"n_levels": "abc"}, TypeError, "`n_levels`.*got str 'abc'"),
        ("lp", {"n_levels": 2.0}, TypeError, "`n_levels`.*got float"),
        ("rp", {"eps": -1}, ValueError, "`eps`"),
        ("rp", {"eps": True}, TypeError, "`eps`.*bool"),
        ("gff", {"lap_sigma": float("inf")}, ValueError, "`lap_sigma`.*inf"),
        ("gff", {"lap_sigma": float("nan")}, ValueError, "`lap_sigma`.*nan"),
        ("gff", {"lap_size": 0}, ValueError, "`lap_size`"),
        ("gff", {"lap_size": -1}, ValueError, "`lap_size`"),
        ("gff", {"r1": 1000000}, ValueError, "`r1` must be an int in \\[1, 256\\]"),
        ("mertens", {"wc": 10000}, ValueError, "`wc`"),
        ("mertens", {"wc": -1}, ValueError, "`wc`"),
        ("cbf", {"ksize": 4}, ValueError, "`ksize` must be an odd int"),
        ("adf", {"option": 3}, ValueError, "`option` must be one of 1, 2"),
        ("gtf", {"boundary": "zero"}, ValueError, "`boundary`"),
        ("dwt", {"wavelet": "nope"}, ValueError, "`wavelet` must be one of .*in all"),
        ("focus_map", {"measure": 3}, ValueError, "`measure`"),
    ])
    def test_refused(self, rng, name, params, exc, text):
        a, b = _pair(rng, (64, 64))
        with pytest.raises(exc, match=f"fuse\\[{name}\\]: " + text):
            C.fuse(name, [a, b], **params)

    def test_edges_accepted(self, rng):
        a, b = _pair(rng, (64, 64))
        assert C.fuse("lp", [a, b], n_levels=np.int64(2)).shape == (64, 64)
        assert C.fuse("mertens", [a, b], n_levels=None, wc=0).shape == (64, 64)
        assert C.fuse("rp", [a, b], eps=1e-12).shape == (64, 64)

    def test_registration_needs_every_declaration(self):
        def kern(x, *, k: int = 1):
            return x[:, :1]
        with pytest.raises(ValueError, match="must declare exactly.*\\['k'\\]"):
            C.register_method("undeclared", full_name="x", reference="x", tasks=("medical",))(kern)
        from fusionlib._checks import int_param
        with pytest.raises(ValueError, match="`k`"):  # the default must fit its own range
            C.register_method("bad_default", full_name="x", reference="x", tasks=("medical",),
                              params={"k": int_param(2, 3)})(kern)
        assert "undeclared" not in C.METHODS and "bad_default" not in C.METHODS

    def test_nan_result_refused(self, monkeypatch, rng):
        """A kernel that breaks down is an error naming the method, never a NaN image."""
        spec = C.METHODS["lp"]
        import dataclasses
        broken = dataclasses.replace(spec, kernel=lambda x, **k: torch.full_like(x[:, :1], float("nan")))
        monkeypatch.setitem(C.METHODS._entries, "lp", broken)
        a, b = _pair(rng, (32, 32))
        with pytest.raises(ValueError, match="fuse\\[lp\\]: the method produced NaN"):
            C.fuse("lp", [a, b], n_levels=2)


def _general(monkeypatch, name, sources, **kw):
    """``fuse`` with the pixel-wise fast path switched off (stack, check, kernel, clip)."""
    from fusionlib.classical import _core
    with monkeypatch.context() as m:
        m.setattr(_core, "_fuse_pixelwise", lambda *a, **k: None)
        return C.fuse(name, sources, **kw)


def _fast_taken(monkeypatch, name, sources):
    """Whether ``fuse`` answered from the fast path for these sources."""
    from fusionlib.classical import _core
    seen = []
    real = _core._fuse_pixelwise

    def spy(*a, **k):
        out = real(*a, **k)
        seen.append(out is not None)
        return out
    with monkeypatch.context() as m:
        m.setattr(_core, "_fuse_pixelwise", spy)
        C.fuse(name, sources)
    return seen == [True]


def _same_bits(a, b):
    a = a.numpy() if isinstance(a, torch.Tensor) else a
    b = b.numpy() if isinstance(b, torch.Tensor) else b
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(
        a.view(f"u{a.itemsize}"), b.view(f"u{b.itemsize}"))


PIXELWISE = [n for n, s in C.METHODS.items() if s.pixelwise]


class TestFusePixelwise:
    """The no-stacking path of pixel-wise rules gives the general path's bits, and falls back cleanly."""

    def test_registry(self):
        assert set(PIXELWISE) == {"average", "max"}
        assert all(C.METHODS[n].checked_kernel is not None for n in PIXELWISE)
        assert C.METHODS["lp"].pixelwise is False and C.METHODS["lp"].checked_kernel is None
        with pytest.raises(ValueError, match="pixelwise"):
            C.register_method("bad_pw", full_name="x", reference="x", tasks=("medical",),
                              colour="native", pixelwise=True)
        with pytest.raises(ValueError, match="checked_kernel"):
            C.register_method("bad_ck", full_name="x", reference="x", tasks=("medical",),
                              checked_kernel=lambda p: None)
        assert "bad_pw" not in C.METHODS and "bad_ck" not in C.METHODS

    @pytest.mark.parametrize("name", PIXELWISE)
    @pytest.mark.parametrize("n", [2, 3])
    @pytest.mark.parametrize("shape", [(37, 29), (1, 37, 29), (4, 1, 37, 29)])
    @pytest.mark.parametrize("kind", ["numpy32", "numpy64", "torch32", "torch64", "uint8", "torch_uint8"])
    def test_bit_identical(self, monkeypatch, rng, name, n, shape, kind):
        srcs = []
        for _ in range(n):
            v = rng.random(shape)
            v[v < 0.05] = 0.0                   # exact 0 and 1 (and near-1 values) included
            v[v > 0.95] = 1.0
            v[(v > 0.5) & (v < 0.52)] = np.nextafter(1.0, 0.0)
            srcs.append(v)
        if kind in ("uint8", "torch_uint8"):
            srcs = [np.round(v * 255).astype(np.uint8) for v in srcs]
        elif kind.endswith("32"):
            srcs = [v.astype(np.float32) for v in srcs]
        if kind.startswith("torch"):
            srcs = [torch.from_numpy(v) for v in srcs]
        fast = C.fuse(name, srcs)
        ref = _general(monkeypatch, name, srcs)
        assert type(fast) is type(ref)
        assert _same_bits(fast, ref)
        assert _fast_taken(monkeypatch, name, srcs)
        for s in srcs:                          # the result never aliases a source
            assert not np.shares_memory(np.asarray(fast), np.asarray(s))

    @pytest.mark.parametrize("name", PIXELWISE)
    @pytest.mark.parametrize("n", [3, 5, 6, 7])
    def test_no_clip_needed(self, monkeypatch, rng, name, n):
        """Sums of values close to 1 divided by N (not a power of two) stay <= 1 (the general path clips)."""
        srcs = [(1.0 - rng.integers(0, 4, (64, 64)) * np.float32(2 ** -24)).astype(np.float32)
                for _ in range(n)]
        fast = C.fuse(name, srcs)
        assert _same_bits(fast, _general(monkeypatch, name, srcs))
        assert fast.max() <= 1.0 and _fast_taken(monkeypatch, name, srcs)

    @pytest.mark.parametrize("name", PIXELWISE)
    def test_fallback_same_result(self, monkeypatch, rng, name):
        a, b = _pair(rng, dtype=np.float32)
        over = b.copy()
        over[0, :5] = np.float32(1 + 5e-7)     # accepted (tolerance 1e-6), then clipped to 1
        cases = {
            "tolerance band": [a, over],
            "negative zero": [np.where(a < 0.1, np.float32(-0.0), a), b],
            "mixed dtypes": [a, b.astype(np.float64)],
            "gray and rgb": [a, np.stack([b, a, b])],
            "row-strided": [a[::2], b[::2]],
            "column-strided": [a[:, ::2], b[:, ::2]],
            "row-strided torch": [torch.from_numpy(a)[::2], torch.from_numpy(b)[::2]],
            "column-strided torch": [torch.from_numpy(a)[:, ::2], torch.from_numpy(b)[:, ::2]],
            "first (1, H, W), then (H, W)": [a[None], b],
            "5-D array": np.stack([a, b])[None, :, None],
        }
        for why, srcs in cases.items():
            fast = C.fuse(name, srcs)
            assert _same_bits(fast, _general(monkeypatch, name, srcs)), why
        assert not _fast_taken(monkeypatch, name, cases["tolerance band"])
        assert not _fast_taken(monkeypatch, name, cases["negative zero"])
        for why in ("row-strided", "row-strided torch"):                # the per-source check branch
            assert _fast_taken(monkeypatch, name, cases[why]), why
        for why in ("column-strided", "column-strided torch", "first (1, H, W), then (H, W)"):
            assert not _fast_taken(monkeypatch, name, cases[why]), why
        assert float(C.fuse(name, cases["tolerance band"]).max()) <= 1.0

    @pytest.mark.parametrize("name", PIXELWISE)
    def test_errors_unchanged(self, monkeypatch, rng, name):
        a, b = _pair(rng, dtype=np.float32)
        nan = a.copy(); nan[3, 4] = np.nan
        inf = a.copy(); inf[0, 0] = np.inf
        bad = {"range": [a * 255, b], "negative": [a - 0.5, b], "nan": [nan, b], "inf": [b, inf],
               "size": [a, b[:-1]], "count": [a], "type": [a, "b.png"],
               "dtype": [a, (b * 100).astype(np.int32)]}
        for why, srcs in bad.items():
            with pytest.raises((TypeError, ValueError)) as fast:
                C.fuse(name, srcs)
            with pytest.raises((TypeError, ValueError)) as ref:
                _general(monkeypatch, name, srcs)
            assert type(fast.value) is type(ref.value) and str(fast.value) == str(ref.value), why
        with pytest.raises(ValueError, match=r"values must lie in \[0, 1\]; got .*0-255"):
            C.fuse(name, [a * 255, b])
        with pytest.raises(ValueError, match="1 NaN"):
            C.fuse(name, [nan, b])

    def test_device_argument(self, monkeypatch, rng):
        a, b = _pair(rng, dtype=np.float32)
        out = C.fuse("max", [a, b], device="cpu")
        assert _same_bits(out, np.maximum(a, b))


    @pytest.mark.parametrize("name", PIXELWISE)
    @pytest.mark.parametrize("n", [2, 3])
    def test_without_checked_kernel(self, monkeypatch, rng, name, n):
        """The per-source check branch (methods without a checked kernel) gives the same bits."""
        import dataclasses
        from fusionlib.classical import _core
        spec = dataclasses.replace(C.METHODS[name], checked_kernel=None)
        for dt in (np.float32, np.float64):
            srcs = [rng.random((2, 1, 33, 35)).astype(dt) for _ in range(n)]
            out = _core._fuse_pixelwise("t", spec, srcs, None, {})
            assert out is not None and _same_bits(out, _general(monkeypatch, name, srcs))
        bad = [srcs[0], -srcs[1]] + srcs[2:]
        assert _core._fuse_pixelwise("t", spec, bad, None, {}) is None


class TestCheckedKernels:
    """``_average_checked`` / ``_max_checked``: the rule with the [0, 1] test folded in, block by block."""

    @pytest.mark.parametrize("name", PIXELWISE)
    @pytest.mark.parametrize("block_bytes", [64, 1000, 1 << 18])
    def test_matches_kernel_and_refuses(self, monkeypatch, name, block_bytes):
        from fusionlib.classical import simple
        monkeypatch.setattr(simple, "_BLOCK_BYTES", block_bytes)  # many blocks, a partial last one
        spec = C.METHODS[name]
        rng = np.random.default_rng(0)
        for dt in (np.float32, np.float64):
            for n in (1, 2, 3, 4, 5):
                x = rng.random((n, 2, 1, 23, 19)).astype(dt)
                got = spec.checked_kernel(list(x))
                want = spec.kernel([torch.from_numpy(p) for p in x]).numpy()
                assert _same_bits(got, want), (dt, n)
            for v in (-0.0, -1e-30, np.nan, np.inf, np.nextafter(dt(1), dt(2))):
                y = x.copy()
                y[1, 1, 0, 22, 17] = v                   # in the last block
                assert spec.checked_kernel(list(y)) is None, (dt, v)
        assert spec.checked_kernel([np.ones((4, 4), np.float16)] * 2) is None
        assert spec.checked_kernel([np.ones((4, 8), np.float32)[:, ::2]] * 2) is None  # declines strides
        assert spec.checked_kernel([np.ones((4, 4), np.float32), np.ones((4, 4))]) is None
        assert spec.checked_kernel([np.ones((0, 4), np.float32)] * 2) is None       # and empty planes
