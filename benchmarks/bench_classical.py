"""Benchmark fusionlib.classical against straightforward NumPy/SciPy/PyWavelets versions, and
compare our outputs with VIFB's stored fused images of the same methods.

Usage::

    .venv/bin/python benchmarks/bench_classical.py [--pairs 21] [--methods lp,gff] [--compare-pairs 21]
        [--threads 1] [--repeats 5] [--slow-repeats 2] [--skip-compare]
    .venv/bin/python benchmarks/bench_classical.py --gpu-throughput --device cuda [--batch 64]
        [--size 256] [--prep crop] [--data auto] [--methods lp,gff] [--threads 16] [--no-tf32]

Speed: every method fuses the gray pairs of VIFB (infrared, luminance of the visible
image; float32), given as what a user holds and ``fuse`` receives: a list of separate
``(H, W)`` arrays. Both sides get that same input:

* torch: ``fusionlib.classical.fuse(name, sources)`` (conversion, validation, kernel);
* NumPy: ``ref(np.stack(sources))`` with the reference of ``benchmarks/_numpy_ref.py``
  (the straightforward code stacks the list into ``(N, H, W)``, as ``np.mean(sources,
  axis=0)`` would internally; it validates nothing).

ratio = numpy / torch (> 1: torch faster); ``max_abs_diff`` / ``mean_abs_diff``: the
agreement of the two outputs. For transparency ``torch_kernel_s`` times the kernel alone
on the already stacked tensor (no conversion, validation or stacking) and
``numpy_prestacked_s`` the reference alone on the already stacked array (the same calls,
the ``np.stack`` excluded); ``ratio_numpy_over_kernel`` compares those two.

Timing: per pair the minimum over rounds (``--repeats``, default 5, for methods under
50 ms a call; ``--slow-repeats``, default 2, over 0.5 s a call; 3 in between), summed
over pairs (the warm-up calls are excluded). Each round times all torch calls of a
method, then all kernel calls, then all NumPy calls (blocks, not interleaved per pair),
so a burst of CPU steal or of other load hits one side in one round and the minimum
drops it. Every call is timed twice over: wall clock (``*_s``, ``ratio_*``) and the CPU
time the process was given (``time.process_time``, all its threads: ``*_cpu_s``,
``ratio_*_cpu``). On a quiet machine with ``--threads 1`` the two agree; on a shared one
(more runnable processes than cores, hypervisor steal) the wall clock also counts the
time spent waiting for a CPU, and the CPU-time ratio is the one to read.

VIFB comparison (methods in both libraries: ADF, CBF, GFF, GTF, MGFF, MSVD, VSMWLS): our colour
fusion (IR gray + VI RGB, luminance fused, chroma by the |C - 0.5| rule) quantised to
8 bits against VIFB's JPEG: PSNR/SSIM between the two, and VIFB-preset metrics of both.

Writes ``benchmarks/results/bench_classical.json`` atomically.

Batched throughput on a device (``--gpu-throughput``; issue #4): every registered method (or
``--methods``) fuses one batch of ``--batch`` (64) gray pairs, a ``(B, 2, 1, H, W)`` float32 tensor
with H = W = ``--size`` (256; centre crop, images with a side under the size are first resized so
that their shorter side is the size; ``--prep resize`` always resizes the shorter side, then crops),
drawn in order from VIFB when found (else, or with ``--data embedded``, from the embedded pairs
``embedded_irvis``; the JSON says which, and which pairs, cycled to fill the batch). Timed:
``fusionlib.classical.fuse(name, x)`` with x already on ``--device`` (moved once, untimed; one
warm-up call; CUDA events around each call after ``torch.cuda.synchronize()``), the same with the
host-device copies (``fuse(name, x_cpu, device=...)``), and the same batch with torch on the CPU
(``--threads`` threads). Minimum and median over ``--repeats`` calls (``--slow-repeats`` on the CPU
for calls over 2 s); pairs/s = batch / minimum; ``speedup_device_over_cpu`` = CPU / device; the
largest |device - CPU| of the results. A method that cannot run (too small for the size, an error or
out of memory on the device) gets a row with ``status`` and ``reason``. Writes
``benchmarks/results/bench_classical_gpu.json`` only when the device is CUDA or ``--out`` is given
(a CPU smoke run never overwrites it). GPU commands (a CUDA build of torch; threads = the CPU
cores for a fair CPU side)::

    .venv/bin/python benchmarks/bench_classical.py --gpu-throughput --device cuda --batch 64 --threads 16
    # the same without TF32 in cuDNN convolutions (device/CPU differences then at float32 rounding):
    .venv/bin/python benchmarks/bench_classical.py --gpu-throughput --device cuda --batch 64 --threads 16 \
        --no-tf32 --out benchmarks/results/bench_classical_gpu_no_tf32.json
    # CPU smoke run (prints only): --gpu-throughput --device cpu --batch 2 --size 64 --methods lp,gff
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


def _gray_pair(sample) -> list[np.ndarray]:
    """The gray sources of one pair as separate float32 (H, W) arrays (what a user hands ``fuse``)."""
    out = []
    for s in sample.sources:
        t = torch.from_numpy(s)[None]
        g = (t if t.shape[1] == 1 else rgb_to_ycbcr(t)[:, :1])[0, 0].numpy()
        out.append(np.ascontiguousarray(g, dtype=np.float32))
    return out


def _repeats(per_call_s: float, fast: int, slow: int) -> int:
    """Rounds: ``fast`` under 50 ms a call, ``slow`` over 0.5 s (GTF, VSM-WLS), 3 in between
    (bounded by the two), so the whole run stays around ten minutes."""
    if per_call_s < 0.05:
        return fast
    return slow if per_call_s > 0.5 else max(slow, min(3, fast))


class _Best:
    """Per-pair minimum over rounds of wall time (perf_counter) and process CPU time (process_time)."""

    def __init__(self, n: int):
        self.wall = [float("inf")] * n
        self.cpu = [float("inf")] * n

    def add(self, i: int, wall: float, cpu: float) -> None:
        self.wall[i] = min(self.wall[i], wall)
        self.cpu[i] = min(self.cpu[i], cpu)


def _now() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _since(t0: tuple[float, float]) -> tuple[float, float]:
    w, c = _now()
    return w - t0[0], c - t0[1]


def bench_speed(ds, methods, n_pairs, repeats=5, slow_repeats=2):
    """Per method: rounds of (all torch calls, all kernel calls, all NumPy calls); per pair the minimum.

    Blocks, not per-pair interleaving: each side runs back to back over the 21 pairs (its code and
    buffers stay warm, as in a user's loop), and the rounds alternate the blocks, so a burst of CPU
    steal hits one side in one round only and the per-pair minimum over rounds drops it. Each call
    is timed twice over: wall clock, and the CPU time the process was given (``time.process_time``,
    all its threads), which leaves out the time spent waiting for a CPU on a shared machine.
    """
    pairs = [_gray_pair(ds[i]) for i in range(min(n_pairs, len(ds)))]
    stacked = [np.stack(p) for p in pairs]
    stacked_t = [torch.from_numpy(x)[None, :, None] for x in stacked]
    rows = []
    for name in methods:
        ref = R.REFERENCES.get(name)
        spec = fl.classical.METHODS[name]
        params = dict(spec.defaults)
        fl.classical.fuse(name, pairs[0])                      # warm-up (first calls excluded)
        if ref is not None:
            ref(np.stack(pairs[0]))
        t0 = _now()
        fl.classical.fuse(name, pairs[-1])                     # a warm call sets the rounds
        reps = _repeats(_since(t0)[1], repeats, slow_repeats)
        n = len(pairs)
        b_torch, b_kernel, b_np, b_pre = _Best(n), _Best(n), _Best(n), _Best(n)
        ours = [None] * n
        diff, mdiff = 0.0, []
        for r in range(reps):
            for i, srcs in enumerate(pairs):                  # fuse(): what the user calls, on the list
                t0 = _now()
                out = fl.classical.fuse(name, srcs)
                b_torch.add(i, *_since(t0))
                if r == 0:
                    ours[i] = out
            with torch.no_grad():                             # kernel alone, on the stacked tensor
                for i, xt in enumerate(stacked_t):
                    t0 = _now()
                    _fuse_kernel(spec, xt, params)
                    b_kernel.add(i, *_since(t0))
            if ref is None:
                continue
            for i, srcs in enumerate(pairs):                  # NumPy: stack the list, then the rule
                t0 = _now()
                x = np.stack(srcs)
                t1 = _now()
                theirs = ref(x)
                b_np.add(i, *_since(t0))
                b_pre.add(i, *_since(t1))
                if r == 0:
                    d = np.abs(np.clip(theirs, 0, 1) - ours[i])
                    diff = max(diff, float(d.max()))
                    mdiff.append(float(d.mean()))
        has = ref is not None

        def ratio(num, den):
            return sum(num) / sum(den) if has else None
        row = {"method": name, "pairs": n, "repeats": reps,
               "torch_s": sum(b_torch.wall), "numpy_s": sum(b_np.wall) if has else None,
               "ratio_numpy_over_torch": ratio(b_np.wall, b_torch.wall),
               "torch_cpu_s": sum(b_torch.cpu), "numpy_cpu_s": sum(b_np.cpu) if has else None,
               "ratio_numpy_over_torch_cpu": ratio(b_np.cpu, b_torch.cpu),
               "torch_kernel_s": sum(b_kernel.wall), "numpy_prestacked_s": sum(b_pre.wall) if has else None,
               "ratio_numpy_over_kernel": ratio(b_pre.wall, b_kernel.wall),
               "torch_kernel_cpu_s": sum(b_kernel.cpu),
               "numpy_prestacked_cpu_s": sum(b_pre.cpu) if has else None,
               "ratio_numpy_over_kernel_cpu": ratio(b_pre.cpu, b_kernel.cpu),
               "max_abs_diff": diff if has else None,
               "mean_abs_diff": float(np.mean(mdiff)) if has else None}
        rows.append(row)

        def f(v, fmt):
            return "n/a" if v is None else format(v, fmt)
        print(f"{name:16s} x{reps} torch {row['torch_s']:8.4f} s numpy {f(row['numpy_s'], '8.4f')} s "
              f"ratio {f(row['ratio_numpy_over_torch'], '5.2f')} (cpu {f(row['ratio_numpy_over_torch_cpu'], '5.2f')})"
              f" | kernel {row['torch_kernel_s']:8.4f} s pre-stacked {f(row['numpy_prestacked_s'], '8.4f')} s "
              f"ratio {f(row['ratio_numpy_over_kernel'], '5.2f')} (cpu {f(row['ratio_numpy_over_kernel_cpu'], '5.2f')})"
              f" | max|diff| {f(row['max_abs_diff'], '.2e')} mean|diff| {f(row['mean_abs_diff'], '.2e')}",
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


# --------------------------------------------------------------------------------------------------
# Batched throughput on a device (--gpu-throughput)
# --------------------------------------------------------------------------------------------------
GPU_OUT = HERE / "results" / "bench_classical_gpu.json"


def _fit_square(t: torch.Tensor, size: int, prep: str) -> tuple[torch.Tensor, str]:
    """One ``(1, H, W)`` plane as ``(1, size, size)``: ``prep="crop"`` takes the centre crop when both
    sides are at least ``size`` (else it falls back to ``"resize"``); ``"resize"`` scales the shorter
    side to ``size`` (bilinear, antialiased, values clipped to [0, 1]), then takes the centre crop.
    Returns the plane and what was done (``"crop"`` or ``"resize+crop"``)."""
    h, w = t.shape[-2:]
    how = "crop"
    if prep == "resize" or min(h, w) < size:
        s = size / min(h, w)
        nh, nw = max(size, round(h * s)), max(size, round(w * s))
        t = torch.nn.functional.interpolate(t[None], size=(nh, nw), mode="bilinear", align_corners=False,
                                            antialias=True)[0].clamp_(0.0, 1.0)
        h, w, how = nh, nw, "resize+crop"
    top, left = (h - size) // 2, (w - size) // 2
    return t[..., top:top + size, left:left + size].contiguous(), how


def load_throughput_data(data: str, data_root, size: int):
    """The data set the batch is drawn from: VIFB when ``data`` is "vifb" or ("auto" and VIFB is
    found), else the embedded infrared-visible pairs (``fusionlib.data``, generated at ``size`` px, at
    least the 32 px they are made with, then cropped). Returns (dataset, description dict)."""
    emb = max(size, 32)
    if data in ("auto", "vifb"):
        try:
            root = fl.data.find_root(data_root, required=data == "vifb")
            if root is not None:
                return fl.data.load("vifb", root=root), {"data": "vifb", "data_root": str(root)}
            why = "no data root found"
        except Exception as e:  # DataNotFoundError, a root without VIFB, a checksum failure
            if data == "vifb":
                raise
            why = f"{type(e).__name__}: {e}"
        print(f"VIFB not used ({why}); using the embedded pairs 'embedded_irvis'", flush=True)
        return (fl.data.load("embedded_irvis", size=emb),
                {"data": "embedded_irvis", "why_not_vifb": why})
    return fl.data.load("embedded_irvis", size=emb), {"data": "embedded_irvis"}


def build_batch(ds, batch: int, size: int, prep: str) -> tuple[torch.Tensor, dict]:
    """``(batch, 2, 1, size, size)`` float32 in [0, 1] on the CPU: the gray planes (infrared, luminance
    of the visible image) of the data set's pairs in order, cycled when ``batch`` exceeds their number,
    each fitted to ``size`` by :func:`_fit_square`."""
    n = min(batch, len(ds))
    pairs, ids, hows = [], [], []
    for i in range(n):
        s = ds[i]
        planes = [torch.from_numpy(g)[None] for g in _gray_pair(s)[:2]]
        fitted = [_fit_square(p, size, prep) for p in planes]
        pairs.append(torch.stack([f[0] for f in fitted]))
        ids.append(str(s.id))
        hows.append(fitted[0][1])
    x = torch.stack([pairs[i % n] for i in range(batch)])
    info = {"distinct_pairs": n, "pair_ids": ids, "pairs_cycled": batch > n,
            "fit": {h: hows.count(h) for h in sorted(set(hows))}}
    return x, info


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    elif dev.type == "mps":
        torch.mps.synchronize()


def time_on(fn, dev: torch.device, reps: int):
    """Run ``fn`` ``reps`` times; per call the wall time between synchronised points and, on CUDA, the
    elapsed time of CUDA events recorded around the call on the current stream (which covers the
    same span, host gaps included). Returns (event or wall seconds, wall seconds, process CPU
    seconds, last output)."""
    ev, wall, cpu, out = [], [], [], None
    for _ in range(reps):
        _sync(dev)
        if dev.type == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
        t0 = _now()
        out = fn()
        if dev.type == "cuda":
            end.record()
        _sync(dev)
        w, c = _since(t0)
        wall.append(w)
        cpu.append(c)
        ev.append(start.elapsed_time(end) / 1000.0 if dev.type == "cuda" else w)
    return ev, wall, cpu, out


def _reason(e: BaseException) -> str:
    msg = str(e).strip().splitlines()
    return f"{type(e).__name__}: {msg[0] if msg else ''}"[:400]


def bench_throughput(x: torch.Tensor, methods, dev: torch.device, repeats: int = 5, slow_repeats: int = 2):
    """Per method: ``fuse(name, x)`` on a ``(B, 2, 1, H, W)`` batch, on ``dev`` (input moved there once,
    untimed; one warm-up call) and with torch on the CPU (one warm-up call; ``repeats`` rounds, or
    ``slow_repeats`` when the warm call took over 2 s); min and median per call, pairs/s from the
    minimum, speed-up = CPU min / device min, and the largest difference of the two results. A method
    that cannot run (size too small, an error or out of memory on the device) gets a row with
    ``status`` and ``reason`` instead of numbers."""
    b = x.shape[0]
    h, w = x.shape[-2:]
    x_dev = x.to(dev)
    _sync(dev)
    rows = []
    for name in methods:
        spec = fl.classical.METHODS[name]
        row = {"method": name, "batch": b, "status": "ok", "reason": None}
        min_side, why = spec.min_size(dict(spec.defaults))
        if min(h, w) < min_side:
            row.update(status="skipped", reason=f"needs images of at least {min_side}x{min_side} px"
                       f"{' (' + why + ')' if why else ''}; the batch has {h}x{w} (raise --size)")
        elif not spec.min_inputs <= 2 <= (spec.max_inputs or 2):
            row.update(status="skipped", reason=f"takes {spec.min_inputs} to {spec.max_inputs} inputs; "
                       "the batch has 2")
        if row["status"] == "skipped":
            rows.append(row)
            print(f"{name:16s} skipped: {row['reason']}", flush=True)
            continue
        out_dev = None
        try:
            fl.classical.fuse(name, x_dev)                                  # warm-up
            ev, wall, cpu, out_dev = time_on(lambda: fl.classical.fuse(name, x_dev), dev, max(1, repeats))
            out_dev = out_dev.detach()
            row.update(device_result_on=str(out_dev.device), device_repeats=len(ev),
                       device_s=min(ev), device_median_s=float(np.median(ev)),
                       device_wall_s=min(wall), device_pairs_per_s=b / min(ev))
            if out_dev.device.type != dev.type:
                row.update(status="device_failed",
                           reason=f"the result came back on {out_dev.device}, not on {dev}")
            if dev.type != "cpu":                                           # CPU tensor in, CPU out
                ev2, _, _, _ = time_on(lambda: fl.classical.fuse(name, x, device=dev), dev, max(1, repeats))
                row.update(device_e2e_s=min(ev2), device_e2e_pairs_per_s=b / min(ev2))
            else:
                row.update(device_e2e_s=None, device_e2e_pairs_per_s=None)
            out_dev = out_dev.float().cpu()
        except Exception as e:  # noqa: BLE001  (OOM, an op not implemented on the device, ...)
            row.update(status="device_failed", reason=_reason(e))
            out_dev = None
        if dev.type == "cuda":
            torch.cuda.empty_cache()
        try:
            t0 = _now()
            fl.classical.fuse(name, x)                                      # warm-up, sets the rounds
            reps = max(1, repeats if _since(t0)[0] < 2.0 else slow_repeats)
            ev, wall, cpu, out_cpu = time_on(lambda: fl.classical.fuse(name, x), torch.device("cpu"), reps)
            row.update(cpu_repeats=reps, cpu_s=min(wall), cpu_median_s=float(np.median(wall)),
                       cpu_process_s=min(cpu), cpu_pairs_per_s=b / min(wall))
        except Exception as e:  # noqa: BLE001
            row.update(status="cpu_failed" if row["status"] == "ok" else row["status"],
                       reason=row["reason"] or _reason(e))
            out_cpu = None
        if out_dev is not None and out_cpu is not None:
            d = (out_dev - out_cpu.float()).abs()
            row.update(speedup_device_over_cpu=row["cpu_s"] / row["device_s"],
                       max_abs_diff=float(d.max()), mean_abs_diff=float(d.mean()),
                       device_finite=bool(torch.isfinite(out_dev).all()))
        else:
            row.update(speedup_device_over_cpu=None, max_abs_diff=None, mean_abs_diff=None)
        rows.append(row)
        if row["status"] == "ok":
            e2e = row.get("device_e2e_pairs_per_s")
            print(f"{name:16s} {dev.type} {row['device_pairs_per_s']:10.1f} pairs/s "
                  f"(min {row['device_s'] * 1e3:9.2f} ms, median {row['device_median_s'] * 1e3:9.2f} ms"
                  f"{'' if e2e is None else f', with transfers {e2e:10.1f} pairs/s'}) | cpu "
                  f"{row['cpu_pairs_per_s']:8.2f} pairs/s (min {row['cpu_s']:8.3f} s) | speed-up "
                  f"{row['speedup_device_over_cpu']:7.2f}x | max|diff| {row['max_abs_diff']:.2e}", flush=True)
        else:
            print(f"{name:16s} {row['status']}: {row['reason']}", flush=True)
    return rows


def run_throughput(a) -> int:
    """The ``--gpu-throughput`` mode (see the module docstring)."""
    from fusionlib.utils import resolve_device
    try:
        dev = resolve_device(a.device)
    except (RuntimeError, ValueError) as e:
        raise SystemExit(f"--device: {e}") from None
    if a.no_tf32:
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    methods = a.methods.split(",") if a.methods else list(fl.classical.METHODS)
    unknown = [m for m in methods if m not in fl.classical.METHODS]
    if unknown:
        raise SystemExit(f"--methods: unknown method(s) {unknown}; valid: {list(fl.classical.METHODS)}")
    if a.batch < 1 or a.size < 1:
        raise SystemExit(f"--batch and --size must be >= 1; got {a.batch}, {a.size}")
    ds, data_info = load_throughput_data(a.data, a.data_root, a.size)
    x, batch_info = build_batch(ds, a.batch, a.size, a.prep)
    load_start = os.getloadavg()[0]
    dev_name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else (platform.processor()
                                                                           or platform.machine())
    print(f"{len(methods)} methods, batch {tuple(x.shape)} from {batch_info['distinct_pairs']} "
          f"{data_info['data']} pairs ({a.prep} to {a.size} px); device {dev} ({dev_name}); CPU side torch "
          f"with {a.threads} threads; load {load_start:.1f}", flush=True)
    rows = bench_throughput(x, methods, dev, a.repeats, a.slow_repeats)
    res = {
        "benchmark": "classical_throughput", "device": str(dev), "device_name": dev_name,
        "torch": torch.__version__, "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if dev.type == "cuda" else None,
        "tf32": {"matmul": torch.backends.cuda.matmul.allow_tf32, "cudnn": torch.backends.cudnn.allow_tf32},
        "cpu_threads": a.threads, "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(), "batch": a.batch, "size": a.size, "prep": a.prep,
        "prep_note": "gray planes (infrared; luminance Y of the visible image, BT.601 full range); "
                     "'crop': centre crop size x size, images with a side under size first resized "
                     "(bilinear, antialiased) so that the shorter side is size; 'resize': always that "
                     "resize, then the centre crop; pairs cycled in order to fill the batch",
        **data_info, **batch_info, "repeats": a.repeats, "slow_repeats": a.slow_repeats,
        "load_average_start": load_start, "load_average": os.getloadavg()[0],
        "note": "fusionlib.classical.fuse(name, x) on x of shape (batch, 2, 1, size, size) float32. "
                "device_s: minimum over device_repeats calls (one warm-up call before) with x already on "
                "the device, timed with CUDA events around the call after torch.cuda.synchronize() "
                "(wall clock between synchronised points on other devices; device_wall_s is that wall "
                "clock on every device); device_e2e_s: fuse(name, x_cpu, device=device), i.e. with the "
                "host-to-device and device-to-host copies. cpu_s: wall-clock minimum over cpu_repeats "
                "calls of the same batch with torch on the CPU (cpu_threads threads; cpu_process_s the "
                "process CPU time). *_pairs_per_s = batch / minimum; speedup_device_over_cpu = cpu_s / "
                "device_s; max_abs_diff / mean_abs_diff: device result against the CPU result. Rows with "
                "status other than 'ok' give the reason.",
        "rows": rows}
    if dev.type == "cuda" or a.out:
        out = a.out or str(GPU_OUT)
        write_json_atomic(out, res)
        print(f"wrote {out}")
    else:
        print(f"not written (device {dev}; pass --out to write)")
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pairs", type=int, default=21)
    p.add_argument("--compare-pairs", type=int, default=21)
    p.add_argument("--methods", default=None, help="comma-separated (default: all registered)")
    p.add_argument("--data-root", default=None)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=5, help="rounds for methods under 50 ms a call")
    p.add_argument("--slow-repeats", type=int, default=2, help="rounds for methods over 0.5 s a call")
    p.add_argument("--skip-compare", action="store_true")
    p.add_argument("--out", default=None,
                   help="JSON path (default: results/bench_classical.json; with --gpu-throughput "
                        "results/bench_classical_gpu.json, written only on CUDA or when --out is given)")
    g = p.add_argument_group("batched throughput on a device (--gpu-throughput)")
    g.add_argument("--gpu-throughput", action="store_true",
                   help="time fuse() on a (batch, 2, 1, size, size) tensor on --device and on the CPU")
    g.add_argument("--device", default="auto", help="cuda, cuda:1, mps, cpu or auto (default: auto)")
    g.add_argument("--batch", type=int, default=64, help="pairs in the batch (default 64)")
    g.add_argument("--size", type=int, default=256, help="side of the square images (default 256)")
    g.add_argument("--prep", choices=("crop", "resize"), default="crop",
                   help="crop: centre crop (images smaller than --size resized first); resize: "
                        "shorter side to --size, then centre crop")
    g.add_argument("--data", choices=("auto", "vifb", "embedded"), default="auto",
                   help="auto: VIFB when found, else the embedded pairs")
    g.add_argument("--no-tf32", action="store_true", help="disable TF32 in cuDNN and matmul on CUDA")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    if a.gpu_throughput:
        return run_throughput(a)
    if a.device != "auto" or a.no_tf32:
        p.error("--device and --no-tf32 apply to --gpu-throughput only (the default mode runs on the CPU)")
    a.out = a.out or str(HERE / "results" / "bench_classical.json")
    root = fl.data.find_root(a.data_root)
    if root is None:
        print("VIFB not found (set FUSIONLIB_DATA or --data-root); nothing measured")
        return 0
    ds = fl.data.load("vifb", root=root)
    methods = a.methods.split(",") if a.methods else list(fl.classical.METHODS)
    load_start = os.getloadavg()[0]
    print(f"{len(methods)} methods on {min(a.pairs, len(ds))} VIFB pairs; torch {torch.__version__}, "
          f"{a.threads} threads, CPU {platform.processor() or platform.machine()}, "
          f"load {os.getloadavg()[0]:.1f}")
    speed = bench_speed(ds, methods, a.pairs, a.repeats, a.slow_repeats)
    compare = [] if a.skip_compare else compare_vifb(ds, a.compare_pairs, methods if a.methods else None)
    write_json_atomic(a.out, {
        "benchmark": "classical", "device": "cpu", "threads": a.threads, "torch": torch.__version__,
        "numpy": np.__version__, "machine": platform.machine(), "load_average_start": load_start,
        "load_average": os.getloadavg()[0],
        "note": "both sides get the same input, the list of gray source images fuse() receives: torch "
                "times fusionlib.classical.fuse(name, sources), NumPy times ref(np.stack(sources)); "
                "ratio_numpy_over_torch = numpy_s / torch_s (> 1: torch faster). torch_kernel_s: the "
                "kernel alone on the stacked tensor (no conversion/validation/stacking); "
                "numpy_prestacked_s: the reference alone on the stacked array; ratio_numpy_over_kernel "
                "compares those. Per pair the minimum over `repeats` rounds (each round: all torch calls, "
                "all kernel calls, then all NumPy calls of the method), summed over pairs. *_s: wall "
                "clock; *_cpu_s and ratio_*_cpu: process CPU time (time.process_time), which leaves out "
                "waiting for a CPU; the machine was shared (see load_average), so read the cpu ratios",
        "repeats": a.repeats, "slow_repeats": a.slow_repeats,
        "speed": speed, "vifb_comparison": compare})
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
