"""Speed of the AE-Netv2 family and the three published peers (paper's timing protocol, §IV-A-4b).

Protocol (Fang et al., AE-Netv2, and shared/notes/aenetv2.md §7): gray 8-bit images of 400x400,
N images (300 in the paper; ``--n-images`` shortens it), built by cycling through the shared test
pairs (IFCNN test sets: TNO IR-visible and medical) converted to gray and resized to 400x400 and
quantised to uint8; seeded synthetic pairs when the data root is absent. Every model runs under
``torch.inference_mode()`` in float32; the time of an image includes the uint8 -> float conversion
and the forward pass; the **first** image (or batch) is excluded (initialisation). Mean and median
per image, images/s and the process CPU time per image (all threads) are reported with the device, thread count and the load average (the CPU
is shared: timings are comparable only within one run, hence the ratios to the straightforward
AE-Netv2 model measured in the same run).

Usage::

    .venv/bin/python benchmarks/bench_nets.py --n-images 300 --batch-size 1 --threads 2
    .venv/bin/python benchmarks/bench_nets.py --n-images 30 --max-seconds 20   # quick

Writes ``benchmarks/results/bench_nets.json`` atomically.
"""
from __future__ import annotations

import argparse
import os
import resource
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

import fusionlib as fl
from fusionlib import nets
from fusionlib.nets.inference import max_abs_difference
from fusionlib.utils import write_json_atomic

HERE = Path(__file__).resolve().parent


def protocol_images(n_pairs: int, root=None, size: int = 400, seed: int = 0) -> tuple[list, str]:
    """Up to ``n_pairs`` distinct uint8 gray (size, size) pairs; the run cycles over them."""
    pairs = []
    source = "synthetic (seeded; data root absent)"
    try:
        ds = fl.data.load("ifcnn", root=root)
        for s in ds:
            if len(s.sources) != 2 or s.meta.get("task") == "multi-exposure":
                continue
            ts = []
            for x in s.sources:
                t = torch.from_numpy(np.asarray(x, np.float32))[None]
                t = fl.filters.rgb_to_gray(t) if t.shape[1] == 3 else t
                t = F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
                ts.append((t.clamp(0, 1) * 255.0).round().to(torch.uint8)[0, 0].numpy())
            pairs.append(tuple(ts))
            if len(pairs) >= n_pairs:
                break
        source = "ifcnn_testsets (TNO IR-visible + medical), gray, bilinear-resized to 400x400, uint8"
    except Exception as exc:  # data absent: synthetic stand-in
        print(f"[bench_nets] data root not usable ({type(exc).__name__}: {exc}); synthetic images")
    if not pairs:
        rng = np.random.default_rng(seed)
        pairs = [tuple(rng.integers(0, 256, (size, size), dtype=np.uint8) for _ in range(2))
                 for _ in range(4)]
    return pairs, source


def time_models(fns: dict, pairs, n_images: int, batch: int, max_seconds: float) -> dict:
    """Per-image times of every ``fn(a, b)`` in ``fns``, **interleaved**: image k is run by every model
    (in a rotating order) before image k+1, so all models see the same background load of a shared
    CPU. The first batch of every model is excluded. Stops after ``n_images`` images or when the
    run has lasted ``max_seconds`` per model (at least 3 timed images each)."""
    keys = list(fns)
    times = {k: [] for k in keys}
    cpu = {k: [] for k in keys}
    t_start = time.perf_counter()
    done, rnd = 0, 0
    with torch.inference_mode():
        while done < n_images:
            bs = min(batch, n_images - done)
            sel = [pairs[(done + i) % len(pairs)] for i in range(bs)]
            order = keys[rnd % len(keys):] + keys[:rnd % len(keys)]
            for key in order:
                t0 = time.perf_counter()
                c0 = _cpu()
                a = torch.from_numpy(np.stack([p[0] for p in sel]))[:, None].float().div_(255.0)
                b = torch.from_numpy(np.stack([p[1] for p in sel]))[:, None].float().div_(255.0)
                fns[key](a, b)
                dt, dc = time.perf_counter() - t0, _cpu() - c0
                if done > 0:  # first batch excluded (initialisation)
                    times[key].extend([dt / bs] * bs)
                    cpu[key].extend([dc / bs] * bs)
            done += bs
            rnd += 1
            n_timed = min(len(v) for v in times.values())
            if n_timed >= 3 and time.perf_counter() - t_start > max_seconds * len(keys):
                break
    out = {}
    for k in keys:
        t = np.asarray(times[k])
        out[k] = {"n_timed": int(t.size), "mean_ms": float(t.mean() * 1e3),
                  "median_ms": float(np.median(t) * 1e3), "img_per_s": float(1.0 / t.mean()),
                  "cpu_ms": float(np.mean(cpu[k]) * 1e3)}
    return out


def _cpu() -> float:
    """CPU seconds of this process (all threads): less sensitive to other jobs than wall time."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n-images", type=int, default=300)
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--max-seconds", type=float, default=float("inf"),
                   help="stop after this many seconds per model (at least 3 images timed each)")
    p.add_argument("--data-root", default=None)
    p.add_argument("--models", default="all", help="comma-separated keys, or 'all'")
    p.add_argument("--out", default=str(HERE / "results" / "bench_nets.json"))
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    pairs, source = protocol_images(22, args.data_root)

    # contestants: every AE-Netv2 variant (straightforward modules), the inference-fused GCB model,
    # and the three peers (published weights when present; timing does not depend on the values)
    entries = []
    baseline = nets.build("aenetv2").eval()
    for key in nets.MODELS:
        if key in ("ifcnn", "densefuse", "deepfuse") or key in ("aenetv2_gcb", "aenetv2_regular"):
            continue  # aliases of aenetv2 / aenetv2_plus
        m = baseline if key == "aenetv2" else nets.build(key).eval()
        entries.append((key, nets.MODELS[key].label, m, m))
    for mode in ("composed", "exact"):
        f = nets.fuse_for_inference(baseline, mode=mode)
        entries.append((f"aenetv2_fused_{mode}", f"AE-Netv2 fused ({mode})", f, baseline))
    weights = {}
    for name, variant in (("ifcnn", "max"), ("densefuse", None), ("deepfuse", None)):
        try:
            m = nets.load_peer(name, variant, root=args.data_root)
            weights[name] = "published"
        except (FileNotFoundError, ValueError):
            m = nets.build(name).eval()
            weights[name] = "random (published weights absent)"
        entries.append((name, nets.MODELS[name].label, m, m))
    if args.models != "all":
        keep = set(args.models.split(","))
        entries = [e for e in entries if e[0] in keep or (e[0] == "aenetv2")]

    peer_fn = {"ifcnn": lambda m: (lambda a, b: m([a, b])),
               "densefuse": lambda m: (lambda a, b: m([a * 255.0, b * 255.0]).clamp(0, 255)),
               "deepfuse": lambda m: (lambda a, b: m([a * 255.0, b * 255.0]))}
    load0 = os.getloadavg()
    rows = []
    g = torch.Generator().manual_seed(args.seed)
    probe = [torch.rand(1, 1, 64, 64, generator=g), torch.rand(1, 1, 64, 64, generator=g)]
    fns = {key: (peer_fn[key](model) if key in peer_fn else (lambda a, b, m=model: m(a, b)))
           for key, label, model, ref in entries}
    timed = time_models(fns, pairs, args.n_images, args.batch_size, args.max_seconds)
    for key, label, model, ref in entries:
        r = timed[key]
        params = sum(p.numel() for p in ref.parameters())
        row = {"model": key, "label": label, "parameters": params, **r}
        if key.startswith("aenetv2_fused"):
            row["max_abs_diff_vs_model"] = max_abs_difference(ref, model, probe)
        rows.append(row)
    base = next(r for r in rows if r["model"] == "aenetv2")
    for r in rows:
        r["speedup_vs_aenetv2"] = base["mean_ms"] / r["mean_ms"]
    load1 = os.getloadavg()

    print(f"\nAE-Netv2 family and peers, {args.n_images} images of 400x400 uint8 gray, batch {args.batch_size}, "
          f"{args.threads} threads, torch {torch.__version__}, CPU; load average {load0[0]:.1f} -> {load1[0]:.1f}")
    print(f"{'model':36s} {'params':>8s} {'mean ms':>9s} {'median ms':>10s} {'img/s':>7s} {'x AE-Netv2':>10s} "
          f"{'CPU ms':>8s}")
    for r in rows:
        print(f"{r['label']:36s} {r['parameters']:8d} {r['mean_ms']:9.1f} {r['median_ms']:10.1f} "
              f"{r['img_per_s']:7.2f} {r['speedup_vs_aenetv2']:10.2f} {r['cpu_ms']:8.1f}")
    write_json_atomic(args.out, {
        "benchmark": "bench_nets", "protocol": "AE-Netv2 §IV-A-4b: 400x400 8-bit gray, first image excluded",
        "images": source, "n_images": args.n_images, "batch_size": args.batch_size, "threads": args.threads,
        "seed": args.seed, "device": "cpu", "dtype": "float32", "torch": torch.__version__,
        "python": sys.version.split()[0], "platform": platform.platform(), "processor": platform.processor(),
        "cpu_count": os.cpu_count(), "loadavg_before": load0, "loadavg_after": load1,
        "peer_weights": weights, "results": rows,
    })
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
