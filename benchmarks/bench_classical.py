"""Benchmark fusionlib.classical against straightforward NumPy/SciPy/PyWavelets versions, and
compare our outputs with VIFB's stored fused images of the same methods.

Usage::

    .venv/bin/python benchmarks/bench_classical.py [--pairs 21] [--methods lp,gff] [--compare-pairs 21]

Speed: every method fuses the gray pairs of VIFB (infrared, luminance of the visible
image; float32) with ``fusionlib.classical.fuse`` (torch, CPU) and with the NumPy
reference of ``benchmarks/_numpy_ref.py``, in the same run; wall time summed over pairs
(first call excluded as warm-up), ratio = numpy / torch (> 1: torch faster), and the
largest absolute difference between the two outputs (agreement check). ``torch_kernel_s``
times the kernel alone on the already stacked tensor (what the NumPy reference is given),
without ``fuse``'s conversion and validation passes (stacking copy, one min/max pass).

VIFB comparison (methods in both libraries: ADF, CBF, GFF, GTF, MGFF, MSVD, VSMWLS): our colour
fusion (IR gray + VI RGB, luminance fused, chroma by the |C - 0.5| rule) quantised to
8 bits against VIFB's JPEG: PSNR/SSIM between the two, and VIFB-preset metrics of both.

Writes ``benchmarks/results/bench_classical.json`` atomically.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _numpy_ref as R  # noqa: E402

import fusionlib as fl  # noqa: E402
from fusionlib.classical._core import _fuse_kernel  # noqa: E402
from fusionlib.filters import rgb_to_ycbcr  # noqa: E402
from fusionlib.utils import write_json_atomic  # noqa: E402

VIFB_SAME = {"ADF": "adf", "CBF": "cbf", "GFF": "gff", "GTF": "gtf", "MGFF": "mgff", "MSVD": "msvd",
             "VSMWLS": "vsmwls"}
QUALITY = ("entropy", "mutual_information", "qabf", "spatial_frequency", "standard_deviation", "ssim")


def _gray_pair(sample) -> np.ndarray:
    out = []
    for s in sample.sources:
        t = torch.from_numpy(s)[None]
        out.append((t if t.shape[1] == 1 else rgb_to_ycbcr(t)[:, :1])[0, 0].numpy())
    return np.stack(out).astype(np.float32)


def bench_speed(ds, methods, n_pairs):
    pairs = [_gray_pair(ds[i]) for i in range(min(n_pairs, len(ds)))]
    rows = []
    for name in methods:
        ref = R.REFERENCES.get(name)
        fl.classical.fuse(name, list(pairs[0]))              # warm-up
        if ref is not None:
            ref(pairs[0].astype(np.float32))
        spec = fl.classical.METHODS[name]
        params = dict(spec.defaults)
        t_torch = t_np = t_kernel = 0.0
        diff = 0.0
        mdiff = []
        for x in pairs:
            t0 = time.perf_counter()
            ours = fl.classical.fuse(name, list(x))
            t_torch += time.perf_counter() - t0
            xt = torch.from_numpy(x)[None, :, None]      # the stacked tensor fuse() validates
            t0 = time.perf_counter()
            with torch.no_grad():
                _fuse_kernel(spec, xt, params)
            t_kernel += time.perf_counter() - t0
            if ref is not None:
                t0 = time.perf_counter()
                theirs = ref(x)
                t_np += time.perf_counter() - t0
                d = np.abs(np.clip(theirs, 0, 1) - ours)
                diff = max(diff, float(d.max()))
                mdiff.append(float(d.mean()))
        row = {"method": name, "pairs": len(pairs), "torch_s": t_torch, "torch_kernel_s": t_kernel,
               "ratio_numpy_over_kernel": (t_np / t_kernel) if ref is not None else None,
               "numpy_s": t_np if ref is not None else None,
               "ratio_numpy_over_torch": (t_np / t_torch) if ref is not None else None,
               "max_abs_diff": diff if ref is not None else None,
               "mean_abs_diff": float(np.mean(mdiff)) if ref is not None else None}
        rows.append(row)
        r = row["ratio_numpy_over_torch"]
        md = row["mean_abs_diff"]
        print(f"{name:18s} torch {t_torch:8.3f} s (kernel {t_kernel:8.3f} s)   numpy {t_np:8.2f} s   ratio "
              f"{'   n/a' if r is None else f'{r:6.2f}'}   max|diff| "
              f"{'n/a' if row['max_abs_diff'] is None else f'{diff:.2e}'}   mean|diff| "
              f"{'n/a' if md is None else f'{md:.2e}'}",
              flush=True)
    return rows


def compare_vifb(ds, n_pairs, methods=None):
    rows = []
    for vifb_name, ours_name in VIFB_SAME.items():
        if methods is not None and ours_name not in methods:
            continue
        for i in range(min(n_pairs, len(ds))):
            s = ds[i]
            ours = fl.classical.fuse(ours_name, s.sources)
            ours = np.round(ours * 255) / 255
            theirs = ds.fused(vifb_name, s.id)
            sim = fl.metrics.evaluate(ours, reference=theirs, names=["psnr", "ssim"])
            vi_ir = [s.sources[1], s.sources[0]]         # VIFB order: visible, infrared
            q_ours = fl.metrics.evaluate(ours, sources=vi_ir, names=QUALITY, preset="vifb")
            q_theirs = fl.metrics.evaluate(theirs, sources=vi_ir, names=QUALITY, preset="vifb")
            rows.append({"method": vifb_name, "pair": s.id, "psnr_vs_vifb": sim["psnr"],
                         "ssim_vs_vifb": sim["ssim"],
                         "ours": {k: float(v) for k, v in q_ours.items()},
                         "vifb": {k: float(v) for k, v in q_theirs.items()}})
        sub = [r for r in rows if r["method"] == vifb_name]
        line = f"{vifb_name:5s} PSNR(ours, VIFB) {np.mean([r['psnr_vs_vifb'] for r in sub]):6.2f} dB  " \
               f"SSIM {np.mean([r['ssim_vs_vifb'] for r in sub]):.4f}  "
        line += "  ".join(f"{k[:6]} {np.mean([r['ours'][k] for r in sub]):.3f}/"
                          f"{np.mean([r['vifb'][k] for r in sub]):.3f}" for k in QUALITY)
        print(line, flush=True)
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pairs", type=int, default=21)
    p.add_argument("--compare-pairs", type=int, default=21)
    p.add_argument("--methods", default=None, help="comma-separated (default: all registered)")
    p.add_argument("--data-root", default=None)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--skip-compare", action="store_true")
    p.add_argument("--out", default=str(HERE / "results" / "bench_classical.json"))
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    root = fl.data.find_root(a.data_root)
    if root is None:
        print("VIFB not found (set FUSIONLIB_DATA or --data-root); nothing measured")
        return 0
    ds = fl.data.load("vifb", root=root)
    methods = a.methods.split(",") if a.methods else list(fl.classical.METHODS)
    print(f"{len(methods)} methods on {min(a.pairs, len(ds))} VIFB pairs; torch {torch.__version__}, "
          f"{a.threads} threads, CPU {platform.processor() or platform.machine()}, "
          f"load {os.getloadavg()[0]:.1f}")
    speed = bench_speed(ds, methods, a.pairs)
    compare = [] if a.skip_compare else compare_vifb(ds, a.compare_pairs, methods if a.methods else None)
    write_json_atomic(a.out, {
        "benchmark": "classical", "device": "cpu", "threads": a.threads, "torch": torch.__version__,
        "numpy": np.__version__, "machine": platform.machine(), "load_average": os.getloadavg()[0],
        "note": "wall time summed over pairs; ratio > 1 means torch is faster; torch_kernel_s: the "
                "kernel alone on the stacked tensor (no conversion/validation); the machine was shared",
        "speed": speed, "vifb_comparison": compare})
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
