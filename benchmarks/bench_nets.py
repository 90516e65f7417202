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

GPU throughput mode (issue #5, ``--gpu-throughput``): batches of ``--size`` x ``--size`` uint8 gray
pairs, the AE-Netv2 (GCB) eval model, its BN-folded inference variants (``fuse_for_inference``,
'exact' and 'composed') and the three peers, each moved to ``--device`` / ``--dtype`` (optionally
channels-last), warmed up, optionally captured in a CUDA graph (static input buffers), then
``--n-batches`` batches timed with CUDA events (``time.perf_counter`` on CPU). Two variants per model:
"compute_only" (input already on the device in the compute dtype) and "end_to_end" (pinned host
uint8 -> device copy and the uint8 -> dtype / 255 conversion inside the timed region). Every row
reports images/s, peak device memory and the max abs difference of its output against the same
model in float32 (TF32 off, contiguous, eager; for the BN-folded variants the unfused
eval model) on the same first batch, raw (output scaled to
[0, 1]) and in grey levels (both rounded to 0..255). Input finiteness checks are off in this mode
(they synchronise the host and cannot be captured in a graph). On CPU it is a smoke check of the
code path (CUDA graphs skipped with a note; nothing written unless ``--out`` is given)::

    .venv/bin/python benchmarks/bench_nets.py --device cuda --gpu-throughput --batch-sizes 64,256 \\
        --dtype float16 --channels-last --cuda-graphs          # -> results/bench_nets_gpu.json
    .venv/bin/python benchmarks/bench_nets.py --device cpu --gpu-throughput --dtype bfloat16 \\
        --batch-sizes 4 --n-batches 3 --size 64 --out /tmp/x.json   # CPU smoke
"""
from __future__ import annotations

import argparse
import copy
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


# ------------------------------------------------------------------------------ GPU throughput mode
_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
# peers as `fuse_peer` calls them: IFCNN on [0, 1]; DenseFuse and DeepFuse on 0..255, DenseFuse's
# output clamped to 0..255 and divided by 255, DeepFuse's raw output min-max stretched per image
# (its raw output reaches ~1e9, beyond float16's range: non-finite outputs are counted per row)
_PEER_CALL = {"ifcnn": (1.0, None), "densefuse": (255.0, "clamp"), "deepfuse": (255.0, "minmax")}


def _gpu_contestants(data_root, seed: int) -> tuple[list, dict]:
    """(key, label, float32 eval model, input scale, output post-processing) for the GPU mode."""
    torch.manual_seed(seed)
    base = nets.build("aenetv2").eval()
    out = [("aenetv2", nets.MODELS["aenetv2"].label + " (eval model)", base, 1.0, None)]
    for mode in ("exact", "composed"):
        out.append((f"aenetv2_fused_{mode}", f"AE-Netv2 BN-folded ({mode})",
                    nets.fuse_for_inference(base, mode=mode), 1.0, None))
    weights = {}
    for name, variant in (("ifcnn", "max"), ("densefuse", None), ("deepfuse", None)):
        try:
            m = nets.load_peer(name, variant, root=data_root)
            weights[name] = "published"
        except (FileNotFoundError, ValueError):
            m = nets.build(name).eval()
            weights[name] = "random (published weights absent)"
        scale, clamp = _PEER_CALL[name]
        out.append((name, nets.MODELS[name].label, m.eval(), scale, clamp))
    for _, _, m, _, _ in out:
        for mod in m.modules():  # host-synchronising NaN checks off (not capturable in a graph)
            if hasattr(mod, "check_inputs"):
                mod.check_inputs = False
    return out, weights


def _caller(model, scale: float, post: str | None):
    """``f(a, b)`` -> output in [0, 1] units (unclamped) for (B, 1, H, W) sources in [0, 1]."""
    def f(a, b):
        y = model(a, b) if scale == 1.0 else model(a * scale, b * scale)
        if post == "clamp":
            y = y.clamp(0, scale) / scale
        elif post == "minmax":
            lo, hi = y.amin(dim=(1, 2, 3), keepdim=True), y.amax(dim=(1, 2, 3), keepdim=True)
            y = (y - lo) / (hi - lo).clamp_min(1e-12)
        return y
    return f


def _to_grey(y: torch.Tensor) -> torch.Tensor:
    return (y.float().clamp(0, 1) * 255.0).round()


@torch.no_grad()
def _reference(model, scale, post, host_u8: torch.Tensor, device, chunk: int = 16) -> torch.Tensor:
    """float32 output (on CPU) of the float32 eager ``model`` on ``host_u8`` (B, 2, H, W), in chunks,
    with TF32 off (cuDNN / cuBLAS), contiguous memory format."""
    f = _caller(model, scale, post)
    prev = (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        outs = []
        for i in range(0, host_u8.shape[0], chunk):
            x = host_u8[i:i + chunk].to(device).float().div_(255.0)
            outs.append(f(x[:, 0:1], x[:, 1:2]).float().cpu())
        return torch.cat(outs)
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = prev


def _measure(fn_step, n_batches: int, n_warmup: int, device: torch.device, graph: bool):
    """Warm up, optionally capture ``fn_step`` in a CUDA graph, time ``n_batches`` calls.

    ``fn_step(k)`` runs batch ``k``; with ``graph`` it must be of the form "copy into static buffers,
    then ``body()``" and is given as ``(prepare(k), body)``. Returns (seconds, last output, note)."""
    cuda = device.type == "cuda"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    prepare, body = fn_step
    note = ""
    out = None
    if graph and cuda:
        try:
            s = torch.cuda.Stream()
            s.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(s):
                for k in range(max(3, n_warmup)):
                    prepare(k)
                    body()
            torch.cuda.current_stream().wait_stream(s)
            g = torch.cuda.CUDAGraph()
            with torch.cuda.graph(g):
                static_out = body()
            run = lambda k: (prepare(k), g.replay(), static_out)[2]  # noqa: E731
            note = "cuda graph"
        except Exception as exc:  # capture failed: eager, say why
            sync()
            run = lambda k: (prepare(k), body())[1]  # noqa: E731
            note = f"eager (graph capture failed: {type(exc).__name__}: {str(exc)[:120]})"
    else:
        run = lambda k: (prepare(k), body())[1]  # noqa: E731
        note = "eager" + (" (CUDA graphs skipped: device is not cuda)" if graph else "")
    for k in range(n_warmup):
        out = run(k)
    sync()
    if cuda:
        e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        e0.record()
        for k in range(n_batches):
            out = run(k)
        e1.record()
        e1.synchronize()
        secs = e0.elapsed_time(e1) / 1e3
    else:
        t0 = time.perf_counter()
        for k in range(n_batches):
            out = run(k)
        secs = time.perf_counter() - t0
    out = run(0)  # batch 0 through the timed path, for the numerical difference
    sync()
    return secs, out.float().cpu(), note


@torch.no_grad()
def gpu_throughput(args) -> dict:
    """Images/s of the AE-Netv2 family and peers per batch size, see the module docstring."""
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    if cuda and not torch.cuda.is_available():
        raise SystemExit("bench_nets: --device cuda but torch.cuda.is_available() is False")
    dtype = _DTYPES[args.dtype]
    fmt = torch.channels_last if args.channels_last else torch.contiguous_format
    if cuda:  # fixed shapes: let cuDNN pick its fastest algorithms (recorded in the JSON)
        torch.backends.cudnn.benchmark = True
    if args.cuda_graphs and not cuda:
        print("[bench_nets] note: CUDA graphs skipped (device is not cuda); eager timings")
    contestants, weights = _gpu_contestants(args.data_root, args.seed)
    if args.models != "all":
        keep = set(args.models.split(","))
        contestants = [c for c in contestants if c[0] in keep]
    pairs, source = protocol_images(22, args.data_root, size=args.size, seed=args.seed)
    load0 = os.getloadavg()
    rows = []
    for bs in [int(v) for v in args.batch_sizes.split(",")]:
        # two distinct host batches (cycled pairs), pinned on CUDA; batch k uses host[k % 2]
        host = []
        for j in range(2):
            sel = [pairs[(j * bs + i) % len(pairs)] for i in range(bs)]
            t = torch.from_numpy(np.stack([np.stack(p) for p in sel]))  # (B, 2, H, W) uint8
            host.append(t.pin_memory() if cuda else t)
        refs = {}
        for key, label, m32, scale, post in contestants:
            # reference: the float32 eager model; for the BN-folded variants the unfused eval model
            # (so their difference includes the folding as well as the precision)
            if key.startswith("aenetv2_fused") and "aenetv2" in refs:
                ref = refs["aenetv2"]
            else:
                ref = refs[key] = _reference(m32.to(device), scale, post, host[0], device)
            model = copy.deepcopy(m32).to(device=device, dtype=dtype, memory_format=fmt)
            f = _caller(model, scale, post)
            dev_in = [h.to(device).to(dtype).div_(255.0).contiguous(memory_format=fmt) for h in host]
            for variant in ("compute_only", "end_to_end"):
                if variant == "compute_only":
                    # eager: the batch is used where it lies; graph: copied into the static input
                    graph = bool(args.cuda_graphs and cuda)
                    cur = {"x": torch.empty_like(dev_in[0])}

                    def prepare(k, cur=cur, graph=graph):
                        if graph:
                            cur["x"].copy_(dev_in[k % 2])
                        else:
                            cur["x"] = dev_in[k % 2]

                    def body(cur=cur):
                        return f(cur["x"][:, 0:1], cur["x"][:, 1:2])
                else:
                    static_u8 = torch.empty(host[0].shape, dtype=torch.uint8, device=device)

                    def prepare(k, static_u8=static_u8):
                        static_u8.copy_(host[k % 2], non_blocking=True)

                    def body(static_u8=static_u8):
                        x = static_u8.to(dtype).div_(255.0).contiguous(memory_format=fmt)
                        return f(x[:, 0:1], x[:, 1:2])
                if cuda:
                    torch.cuda.synchronize()
                    torch.cuda.reset_peak_memory_stats(device)
                row = {"model": key, "label": label, "batch_size": bs, "variant": variant,
                       "dtype": args.dtype, "channels_last": bool(args.channels_last)}
                try:
                    secs, out, note = _measure((prepare, body), args.n_batches, args.warmup, device,
                                               bool(args.cuda_graphs))
                except torch.cuda.OutOfMemoryError as exc:
                    row.update(error=f"OutOfMemoryError: {str(exc)[:160]}")
                    rows.append(row)
                    print(f"[bench_nets] {key} batch {bs} {variant}: out of memory")
                    torch.cuda.empty_cache()
                    continue
                diff = (out - ref).abs()
                row.update(
                    mode=note, n_batches=args.n_batches, seconds=secs,
                    img_per_s=args.n_batches * bs / secs, ms_per_batch=secs / args.n_batches * 1e3,
                    peak_memory_mib=(torch.cuda.max_memory_allocated(device) / 2**20 if cuda else None),
                    max_abs_diff_raw=float(diff.max()),
                    max_abs_diff_grey_levels=float((_to_grey(out) - _to_grey(ref)).abs().max()),
                    nonfinite_outputs=int((~torch.isfinite(out)).sum()))
                rows.append(row)
            del model, dev_in
            if cuda:
                torch.cuda.empty_cache()
    load1 = os.getloadavg()
    dev_name = torch.cuda.get_device_name(device) if cuda else (platform.processor() or "cpu")
    print(f"\nGPU-throughput mode: {args.size}x{args.size} uint8 gray pairs, device {dev_name}, "
          f"{args.dtype}, channels_last={bool(args.channels_last)}, cuda_graphs={bool(args.cuda_graphs)}, "
          f"torch {torch.__version__}; load average {load0[0]:.1f} -> {load1[0]:.1f}")
    print(f"{'model':34s} {'batch':>5s} {'variant':12s} {'img/s':>9s} {'peak MiB':>9s} "
          f"{'|d| raw':>9s} {'|d| grey':>8s}  mode")
    for r in rows:
        if "error" in r:
            print(f"{r['label']:34s} {r['batch_size']:5d} {r['variant']:12s} {r['error']}")
            continue
        mem = f"{r['peak_memory_mib']:9.0f}" if r["peak_memory_mib"] is not None else f"{'-':>9s}"
        print(f"{r['label']:34s} {r['batch_size']:5d} {r['variant']:12s} {r['img_per_s']:9.1f} {mem} "
              f"{r['max_abs_diff_raw']:9.2e} {r['max_abs_diff_grey_levels']:8.0f}  {r['mode']}")
    return {
        "benchmark": "bench_nets_gpu", "issue": 5,
        "protocol": ("batches of uint8 gray pairs; compute_only: input on device in dtype; end_to_end: "
                     "pinned host uint8 -> device copy + conversion timed; warm-up excluded; CUDA-event "
                     "timing; difference vs the float32 eager model (TF32 off) on batch 0; with CUDA graphs, "
                     "compute_only includes a device-to-device copy into the graph's static input"),
        "cudnn_benchmark": bool(cuda),
        "images": source, "size": args.size, "batch_sizes": args.batch_sizes, "n_batches": args.n_batches,
        "warmup": args.warmup, "dtype": args.dtype, "channels_last": bool(args.channels_last),
        "cuda_graphs": bool(args.cuda_graphs and cuda), "input_checks": False, "seed": args.seed,
        "device": str(device), "device_name": dev_name, "torch": torch.__version__,
        "cuda": torch.version.cuda, "cudnn": (torch.backends.cudnn.version() if cuda else None),
        "python": sys.version.split()[0], "platform": platform.platform(),
        "loadavg_before": load0, "loadavg_after": load1, "peer_weights": weights,
        "aenetv2_weights": "random init (seed); timing does not depend on the values", "results": rows,
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n-images", type=int, default=300)
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--max-seconds", type=float, default=float("inf"),
                   help="stop after this many seconds per model (at least 3 images timed each)")
    p.add_argument("--data-root", default=None)
    p.add_argument("--models", default="all", help="comma-separated keys, or 'all'")
    p.add_argument("--out", default=None,
                   help="JSON path (default results/bench_nets.json; results/bench_nets_gpu.json with "
                        "--gpu-throughput on cuda; a --gpu-throughput run on CPU writes only with --out)")
    p.add_argument("--seed", type=int, default=0)
    g = p.add_argument_group("GPU throughput mode (issue #5)")
    g.add_argument("--gpu-throughput", action="store_true")
    g.add_argument("--device", default="cpu", help="'cuda', 'cuda:1' or 'cpu' (smoke check)")
    g.add_argument("--batch-sizes", default="64,256")
    g.add_argument("--dtype", choices=tuple(_DTYPES), default="float16")
    g.add_argument("--channels-last", action="store_true")
    g.add_argument("--cuda-graphs", action="store_true")
    g.add_argument("--n-batches", type=int, default=50)
    g.add_argument("--warmup", type=int, default=5)
    g.add_argument("--size", type=int, default=400, help="image side (400 in the protocol)")
    args = p.parse_args(argv)
    if args.gpu_throughput:
        if args.threads:
            torch.set_num_threads(args.threads)
        res = gpu_throughput(args)
        out = args.out
        if out is None and torch.device(args.device).type == "cuda":
            out = str(HERE / "results" / "bench_nets_gpu.json")
        if out is None:
            print("\n[bench_nets] CPU smoke run: no JSON written (pass --out to write one)")
        else:
            write_json_atomic(out, res)
            print(f"\nwrote {out}")
        return 0
    if args.out is None:
        args.out = str(HERE / "results" / "bench_nets.json")
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
