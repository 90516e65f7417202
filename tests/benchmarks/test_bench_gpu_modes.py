"""Smoke tests of the device modes of ``benchmarks/bench_classical.py`` (``--gpu-throughput``) and
``benchmarks/bench_metrics.py`` (``--device``), run with ``--device cpu`` at tiny sizes.

No timed assertions: the timings are only checked to be finite and positive and the derived fields
(pairs/s, speed-ups) to be the stated ratios of the timed fields; the values are checked against the
CPU results and the peers.
"""
from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def _load(name: str):
    """The benchmark script as a fresh module (not kept in sys.modules, so its module-level
    settings stay inside the test)."""
    spec = importlib.util.spec_from_file_location(f"_{name}_under_test", BENCH / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture
def keep_threads():
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


def _pos(v) -> bool:
    return isinstance(v, float) and math.isfinite(v) and v > 0


# --------------------------------------------------------------------------------------------------
# bench_classical --gpu-throughput
# --------------------------------------------------------------------------------------------------
class TestFitSquare:
    def test_known_value(self):
        bc = _load("bench_classical")
        t = torch.arange(6 * 8, dtype=torch.float32).reshape(1, 6, 8) / 48
        out, how = bc._fit_square(t, 4, "crop")
        assert how == "crop" and out.shape == (1, 4, 4)
        torch.testing.assert_close(out, t[:, 1:5, 2:6], rtol=0, atol=0)

    def test_small_image_resized(self):
        bc = _load("bench_classical")
        t = torch.rand(1, 10, 20, generator=torch.Generator().manual_seed(0))
        out, how = bc._fit_square(t, 16, "crop")
        assert how == "resize+crop" and out.shape == (1, 16, 16)
        assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
        const, _ = bc._fit_square(torch.full((1, 10, 20), 0.25), 16, "resize")
        torch.testing.assert_close(const, torch.full((1, 16, 16), 0.25))


class TestBuildBatch:
    def test_shape_and_cycling(self):
        bc = _load("bench_classical")
        import fusionlib as fl
        ds = fl.data.load("embedded_irvis", size=32)
        x, info = bc.build_batch(ds, len(ds) + 2, 24, "crop")
        assert x.shape == (len(ds) + 2, 2, 1, 24, 24) and x.dtype == torch.float32
        assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0
        assert info["distinct_pairs"] == len(ds) and info["pairs_cycled"] is True
        assert info["fit"] == {"crop": len(ds)}
        torch.testing.assert_close(x[len(ds)], x[0], rtol=0, atol=0)
        first = np.stack([s[0, 4:28, 4:28] for s in ds[0].sources])[:, None]  # gray sources, centre crop
        np.testing.assert_array_equal(x[0].numpy(), first)


class TestBenchClassicalThroughput:
    def _run(self, bc, tmp_path, *extra):
        out = tmp_path / "gpu.json"
        rc = bc.main(["--gpu-throughput", "--device", "cpu", "--threads", "1", "--repeats", "2",
                      "--slow-repeats", "1", "--data", "embedded", "--out", str(out), *extra])
        assert rc == 0
        return json.loads(out.read_text())

    def test_smoke(self, tmp_path, keep_threads):
        bc = _load("bench_classical")
        res = self._run(bc, tmp_path, "--batch", "3", "--size", "32", "--methods", "average,lp")
        assert res["device"] == "cpu" and res["batch"] == 3 and res["size"] == 32
        assert res["data"] == "embedded_irvis" and res["distinct_pairs"] == 3 and res["prep"] == "crop"
        assert [r["method"] for r in res["rows"]] == ["average", "lp"]
        for r in res["rows"]:
            assert r["status"] == "ok" and r["reason"] is None, r
            for k in ("device_s", "device_median_s", "device_wall_s", "cpu_s", "cpu_median_s",
                      "device_pairs_per_s", "cpu_pairs_per_s", "speedup_device_over_cpu"):
                assert _pos(r[k]), (k, r[k])
            assert r["device_repeats"] == 2 and r["device_s"] <= r["device_median_s"]
            assert r["cpu_s"] <= r["cpu_median_s"]
            assert r["device_pairs_per_s"] == pytest.approx(3 / r["device_s"])
            assert r["cpu_pairs_per_s"] == pytest.approx(3 / r["cpu_s"])
            assert r["speedup_device_over_cpu"] == pytest.approx(r["cpu_s"] / r["device_s"])
            assert r["device_e2e_s"] is None          # no host-device copies on the CPU
            assert r["max_abs_diff"] == 0.0 and r["mean_abs_diff"] == 0.0   # same code, same device
            assert r["device_result_on"] == "cpu" and r["device_finite"] is True

    def test_too_small_is_reported(self, tmp_path, keep_threads):
        bc = _load("bench_classical")
        res = self._run(bc, tmp_path, "--batch", "2", "--size", "8", "--methods", "lp,max")
        rows = {r["method"]: r for r in res["rows"]}
        assert set(rows) == {"lp", "max"}
        assert rows["lp"]["status"] == "skipped" and "16x16" in rows["lp"]["reason"]
        assert rows["lp"].get("speedup_device_over_cpu") is None
        assert rows["max"]["status"] == "ok" and rows["max"]["max_abs_diff"] == 0.0

    def test_device_failure_is_reported(self, tmp_path, keep_threads, monkeypatch):
        bc = _load("bench_classical")
        import fusionlib as fl
        real, calls = fl.classical.fuse, []

        def flaky(name, x, **kw):  # the device side is called first: make it fail
            calls.append(name)
            if len(calls) == 1:
                raise RuntimeError("no kernel image is available for execution on the device")
            return real(name, x, **kw)
        monkeypatch.setattr(fl.classical, "fuse", flaky)
        res = self._run(bc, tmp_path, "--batch", "2", "--size", "32", "--methods", "average")
        (r,) = res["rows"]
        assert r["status"] == "device_failed" and "no kernel image" in r["reason"]
        assert r["speedup_device_over_cpu"] is None and _pos(r["cpu_s"])

    def test_cpu_run_not_written_without_out(self, tmp_path, keep_threads, monkeypatch, capsys):
        bc = _load("bench_classical")
        monkeypatch.setattr(bc, "GPU_OUT", tmp_path / "gpu.json")
        assert bc.main(["--gpu-throughput", "--device", "cpu", "--threads", "1", "--repeats", "1",
                        "--data", "embedded", "--batch", "2", "--size", "32", "--methods", "max"]) == 0
        assert not (tmp_path / "gpu.json").exists()
        assert "not written" in capsys.readouterr().out

    def test_exception(self, keep_threads):
        bc = _load("bench_classical")
        with pytest.raises(SystemExit, match="nosuch"):
            bc.main(["--gpu-throughput", "--device", "cpu", "--methods", "nosuch", "--data", "embedded"])


# --------------------------------------------------------------------------------------------------
# bench_metrics --device
# --------------------------------------------------------------------------------------------------
_SMALL = ["--device", "cpu", "--n", "2", "--n-ps", "1", "--size", "48", "--repeats", "1"]


class TestBenchMetricsDevice:
    def test_smoke(self, tmp_path, keep_threads):
        bm = _load("bench_metrics")
        out = tmp_path / "m.json"
        assert bm.main([*_SMALL, "--only", "psnr", "rmse", "--out", str(out)]) == 0
        res = json.loads(out.read_text())
        assert res["device"] == "cpu" and res["timer_ours"] == "wall_clock" and res["failed"] == []
        assert sorted((r["metric"], r["peer"]) for r in res["rows"]) == [
            ("psnr", "sewar"), ("psnr", "skimage"), ("psnr", "torchmetrics"), ("rmse", "sewar")]
        for r in res["rows"]:
            for k in ("ours_s", "peer_s", "speedup", "ours_cpu_s", "speedup_vs_ours_cpu"):
                assert _pos(r[k]), (k, r[k])
            assert r["speedup"] == pytest.approx(r["peer_s"] / r["ours_s"])
            assert r["speedup_vs_ours_cpu"] == pytest.approx(r["ours_cpu_s"] / r["ours_s"])
            assert r["max_rel_diff"] < 1e-5                 # agrees with the peer
            assert r["max_rel_diff_vs_ours_cpu"] < 1e-6     # tensor input on the CPU vs NumPy input
            assert r["device"] == "cpu" and r["device_finite"] is True
        assert set(res["vs_fastest_peer"]) == {"psnr", "rmse"}

    def test_failure_is_reported(self, tmp_path, keep_threads, monkeypatch):
        bm = _load("bench_metrics")
        real = bm.ours

        def no_tensors(name, f, a):  # ours on the device gets tensors, on the CPU NumPy arrays
            if isinstance(f, torch.Tensor):
                raise NotImplementedError("op not implemented for this device")
            return real(name, f, a)
        monkeypatch.setattr(bm, "ours", no_tensors)
        out = tmp_path / "m.json"
        assert bm.main([*_SMALL, "--only", "psnr", "--out", str(out)]) == 0
        res = json.loads(out.read_text())
        assert res["rows"] == [] and len(res["failed"]) == 1
        assert res["failed"][0]["metric"] == "psnr" and "NotImplementedError" in res["failed"][0]["reason"]

    def test_cpu_run_not_written_without_out(self, tmp_path, keep_threads, monkeypatch):
        bm = _load("bench_metrics")
        monkeypatch.setattr(bm, "GPU_OUT", tmp_path / "gpu.json")
        monkeypatch.setattr(bm, "OUT", tmp_path / "cpu.json")
        assert bm.main([*_SMALL, "--only", "psnr", "rmse"]) == 0
        assert list(tmp_path.iterdir()) == []

    def test_exception(self, keep_threads):
        bm = _load("bench_metrics")
        with pytest.raises(SystemExit):  # --merge on a non-CUDA device needs an explicit --out
            bm.main([*_SMALL, "--only", "psnr", "--merge"])
