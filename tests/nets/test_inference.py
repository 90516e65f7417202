"""Inference-only fused AE-Netv2: same function as the eval-mode model."""
from __future__ import annotations

import pytest
import torch

import fusionlib.nets as nets
from fusionlib.nets.inference import max_abs_difference


def _trained_like(seed=0, **options):
    torch.manual_seed(seed)
    m = nets.build("aenetv2", **options)
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.2, 0.2)
            mod.running_var.uniform_(0.5, 2.0)
            mod.weight.data.uniform_(0.5, 1.5)
            mod.bias.data.uniform_(0.0, 0.3)
    return m.eval()


class TestFuseForInference:
    @pytest.mark.parametrize("mode", ["composed", "exact"])
    @pytest.mark.parametrize("shuffle,skip", [(True, True), (False, True), (True, False)])
    def test_invariants(self, mode, shuffle, skip):
        m = _trained_like(shuffle=shuffle, skip=skip)
        f = nets.fuse_for_inference(m, mode=mode)
        g = torch.Generator().manual_seed(1)
        a, b = torch.rand(2, 1, 23, 31, generator=g), torch.rand(2, 1, 23, 31, generator=g)
        assert max_abs_difference(m, f, [a, b]) < 1e-5
        # RGB sources take the 6-channel path
        assert max_abs_difference(m, f, [a.expand(-1, 3, -1, -1), b]) < 1e-5

    @pytest.mark.parametrize("shuffle,skip", [(True, True), (False, False)])
    def test_many_strips(self, shuffle, skip):
        # wide images: the CPU path runs several row strips (the last one partial); the ring
        # correction must match the exact network on all four borders and the corners
        m = _trained_like(seed=2, shuffle=shuffle, skip=skip)
        f = nets.fuse_for_inference(m, mode="composed")
        g = torch.Generator().manual_seed(3)
        a, b = torch.rand(2, 1, 13, 700, generator=g), torch.rand(2, 1, 13, 700, generator=g)
        with torch.no_grad():
            ref = m([a, b]).clamp(0, 1)
            out = f(a, b)
        assert out.shape == ref.shape
        assert float((out - ref).abs().max()) < 1e-5
        for border in (out[..., 0, :] - ref[..., 0, :], out[..., -1, :] - ref[..., -1, :],
                       out[..., :, 0] - ref[..., :, 0], out[..., :, -1] - ref[..., :, -1]):
            assert float(border.abs().max()) < 1e-5

    def test_threads_same_result(self):
        # several torch threads: row bands in a thread pool; every pixel sees the same operations
        m = _trained_like(seed=4)
        f = nets.fuse_for_inference(m, mode="composed")
        g = torch.Generator().manual_seed(5)
        a, b = torch.rand(2, 1, 41, 57, generator=g), torch.rand(2, 1, 41, 57, generator=g)
        prev = torch.get_num_threads()
        try:
            torch.set_num_threads(1)
            one = f(a, b)
            torch.set_num_threads(3)
            three = f(a, b)
            assert torch.get_num_threads() == 3
        finally:
            torch.set_num_threads(prev)
        assert torch.equal(one, three)
        assert max_abs_difference(m, f, [a, b]) < 1e-5

    def test_small_images(self):
        m = _trained_like()
        f = nets.fuse_for_inference(m)
        a, b = torch.rand(1, 1, 5, 3), torch.rand(1, 1, 5, 3)
        assert max_abs_difference(m, f, [a, b]) < 1e-5

    def test_exception(self):
        with pytest.raises(ValueError, match="block='gcb'"):
            nets.fuse_for_inference(nets.build("aenetv2_plus"))
        with pytest.raises(ValueError, match="mode"):
            nets.fuse_for_inference(nets.build("aenetv2"), mode="fast")
        f = nets.fuse_for_inference(nets.build("aenetv2").eval())
        a = torch.rand(1, 1, 8, 8)
        a[0, 0, 0, 0] = float("nan")
        with pytest.raises(ValueError, match="NaN"):
            f(a, a)


def _bench_nets():
    """benchmarks/bench_nets.py as a module (the benchmarks folder is not a package)."""
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_nets.py"
    spec = importlib.util.spec_from_file_location("bench_nets_under_test", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class TestGpuThroughput:
    """CPU smoke check of the benchmark's GPU-throughput mode (issue #5) through ``main``."""

    _MODELS = "aenetv2,aenetv2_fused_exact,aenetv2_fused_composed,deepfuse"

    def _run(self, tmp_path, dtype, out=True):
        import json
        argv = ["--device", "cpu", "--gpu-throughput", "--dtype", dtype, "--batch-sizes", "2,3",
                "--n-batches", "2", "--warmup", "1", "--size", "24", "--threads", "1", "--cuda-graphs",
                "--channels-last", "--models", self._MODELS, "--data-root", str(tmp_path / "absent")]
        path = tmp_path / "gpu.json"
        if out:
            argv += ["--out", str(path)]
        assert _bench_nets().main(argv) == 0
        return json.loads(path.read_text()) if out else None

    def test_float32_rows(self, tmp_path):
        res = self._run(tmp_path, "float32")
        assert res["device"] == "cpu" and res["cuda_graphs"] is False and res["dtype"] == "float32"
        rows = res["results"]
        keys = {(r["model"], r["batch_size"], r["variant"]) for r in rows}
        assert keys == {(m, b, v) for m in self._MODELS.split(",") for b in (2, 3)
                        for v in ("compute_only", "end_to_end")}
        for r in rows:
            assert "CUDA graphs skipped" in r["mode"]
            assert r["img_per_s"] > 0 and r["peak_memory_mib"] is None and r["nonfinite_outputs"] == 0
            if r["model"].startswith("aenetv2"):
                # float32, BN-folded variants against the *unfused* float32 eval model
                assert r["max_abs_diff_raw"] < 1e-5
                assert r["max_abs_diff_grey_levels"] <= 1.0

    def test_bfloat16_differs_measurably(self, tmp_path, capsys):
        res = self._run(tmp_path, "bfloat16")
        diffs = [r["max_abs_diff_raw"] for r in res["results"] if r["model"] == "aenetv2"]
        # bfloat16 keeps 8 significant bits: visible against float32, yet within a few grey levels
        assert all(1e-5 < d < 0.05 for d in diffs)
        self._run(tmp_path, "float32", out=False)
        assert "no JSON written" in capsys.readouterr().out
