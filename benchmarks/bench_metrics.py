"""Speed of fusionlib.metrics (one batched call) against scikit-image, torchmetrics and sewar (a loop
over images), measured in the same run on the same data, with the value difference.

Data: ``--n`` (16) gray pairs of ``--size`` (512) px, smooth random textures quantised to 8 bits
(seeded), with the fused image the average of the pair. Every metric is computed on (fused, source A)
where the peer is a full-reference function. Ours gets the float32 [0, 1] batch (B, 1, H, W); each peer
gets the images one by one in the form its documentation asks for (0..255 float64 where the peer does
not rescale: VIF, PSNR with ``data_range=255``). Time: CPU time of the process (less disturbed by other
processes on a shared machine than wall time), minimum over ``--repeats`` runs or more (calls of a few ms
are repeated up to 30 times within 0.5 s, the same rule for every library), taken in ``--rounds`` (5)
interleaved rounds: ours, each peer, ours, each peer, ... with the minimum over all rounds (a slow
spell of the shared machine then hits every library alike); torch, BLAS and our compiled loops
(numba, never threaded) limited to one thread for every library. The value difference is the largest relative difference
over the batch between our value and the peer's value of the same quantity.

Pansharpening: ``--n-ps`` (4) pairs of 4-band ``--size`` px cubes (smooth random reference in [0.05, 0.95],
fused = reference + seeded Gaussian noise of sigma 0.02, clipped to [0, 1]); ours gets the float32 batch
(B, 4, H, W) with the default preset (data_range 1), sewar (H, W, C) float64 per image, torchmetrics a
(1, C, H, W) float32 tensor per image, each converted once before timing. Only indices whose peer computes the same number are timed
(ERGAS, SAM in degrees, RMSE); sewar's and torchmetrics' RASE, UQI and SCC are other definitions.

Usage: ``.venv/bin/python benchmarks/bench_metrics.py [--n 16 --size 512 --repeats 3 --quick] [--device cuda]``.
Writes ``benchmarks/results/bench_metrics.json`` (atomically). ``--only M1 M2 --merge`` measures only
those metrics and replaces their rows in the existing JSON (same settings required), keeping the
others; ``merged`` in the JSON then records when and under which load average each was re-measured.

Device mode (issue #3): ``--device cuda`` (or ``cuda:1``, ``mps``, ``cpu``, ``auto``) runs ours on that
device: the float32 batches are moved there once as tensors (untimed), one warm-up call, then each run
between ``torch.cuda.synchronize()`` points timed with CUDA events (wall clock on other devices), the
same minimum-over-runs rule as above; the peers stay on the CPU as in the default mode (CPU time, one
thread), so ``speedup`` = peer CPU time / our device time. Each row also gives ``ours_cpu_s`` (ours on
the CPU with the default mode's NumPy inputs), ``speedup_vs_ours_cpu`` and
``max_rel_diff_vs_ours_cpu`` (device values against CPU values); a metric that raises on the device is
listed in ``failed`` with the reason. Writes ``benchmarks/results/bench_metrics_gpu.json`` only on CUDA
or with ``--out`` (``--only``/``--merge`` as above, into that file). GPU commands (a CUDA build of
torch)::

    .venv/bin/python benchmarks/bench_metrics.py --device cuda
    .venv/bin/python benchmarks/bench_metrics.py --device cuda --only ssim vif --merge   # re-measure two
    # without TF32 in cuDNN convolutions (device/CPU differences then at float32 rounding):
    .venv/bin/python benchmarks/bench_metrics.py --device cuda --no-tf32 \
        --out benchmarks/results/bench_metrics_gpu_no_tf32.json
    # CPU smoke run (prints only): --device cpu --n 2 --n-ps 1 --size 64 --repeats 1 --only psnr ergas
"""
from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from scipy import ndimage as ndi  # noqa: E402

import fusionlib.metrics as M  # noqa: E402
from fusionlib.utils import write_json_atomic  # noqa: E402

warnings.filterwarnings("ignore")
OUT = Path(__file__).resolve().parent / "results" / "bench_metrics.json"


def make_data(n: int, size: int, seed: int = 0):
    rng = np.random.default_rng(seed)

    def tex(sigma):
        r = ndi.gaussian_filter(rng.random((size, size)), sigma)
        r = (r - r.min()) / (r.max() - r.min())
        return np.round(r * 255)

    a = np.stack([tex(1.5) for _ in range(n)])
    b = np.stack([tex(3.0) for _ in range(n)])
    f = np.round((a + b) / 2)
    return a, b, f  # 0..255 float64, (n, H, W)


def peers():
    """name -> list of (peer label, fn(fused_255, a_255) -> value of OUR quantity)."""
    from skimage import measure as skmeas
    from skimage import metrics as skm
    import sewar.full_ref as sw
    import torchmetrics.functional.image as tmf

    t = lambda x: torch.from_numpy(x)[None, None]  # noqa: E731
    return {
        "psnr": [("skimage", lambda f, a: skm.peak_signal_noise_ratio(a, f, data_range=255)),
                 ("torchmetrics", lambda f, a: float(tmf.peak_signal_noise_ratio(t(f), t(a), data_range=255.0))),
                 ("sewar", lambda f, a: sw.psnr(a, f, MAX=255))],
        "ssim": [("skimage", lambda f, a: skm.structural_similarity(
                     a, f, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255)),
                 ("torchmetrics", lambda f, a: float(tmf.structural_similarity_index_measure(
                     t(f), t(a), data_range=255.0, return_full_image=True)[1][..., 5:-5, 5:-5].mean()))],
        "vif": [("torchmetrics", lambda f, a: float(tmf.visual_information_fidelity(
                    t(f).float(), t(a).float()))),
                ("sewar", lambda f, a: sw.vifp(a, f))],
        "entropy": [("skimage", lambda f, a: skmeas.shannon_entropy(f.astype(np.uint8), base=2))],
        "mutual_information": [("skimage", lambda f, a: _mi_from_nmi(skm, f, a))],
        "average_gradient": [("numpy", _ag_numpy)],
        "edge_intensity": [("scipy", lambda f, a: float(np.hypot(ndi.sobel(f, 0, mode="nearest"),
                                                                 ndi.sobel(f, 1, mode="nearest")).mean()))],
        "standard_deviation": [("numpy", lambda f, a: float(f.std()))],
    }


def _mi_from_nmi(skm, f, a):
    """MI(A, F) from skimage's NMI Y = (H(A) + H(F)) / H(A, F) (256 bins = grey levels here)."""
    from skimage import measure as skmeas
    y = skm.normalized_mutual_information(a.astype(np.uint8), f.astype(np.uint8), bins=256)
    ha = skmeas.shannon_entropy(a.astype(np.uint8), base=2)
    hf = skmeas.shannon_entropy(f.astype(np.uint8), base=2)
    return (ha + hf) * (1 - 1 / y)


def _ag_numpy(f, a):
    gy, gx = np.gradient(f)
    return float(np.sqrt((gx ** 2 + gy ** 2) / 2).sum() / ((f.shape[0] - 1) * (f.shape[1] - 1)))


def make_ps_data(n: int, size: int, bands: int = 4, seed: int = 1):
    """Pansharpening pairs: a smooth random reference cube in [0.05, 0.95] and a fused cube = reference
    + seeded noise, clipped to [0, 1]; float64 (n, bands, H, W)."""
    rng = np.random.default_rng(seed)
    r = np.stack([[ndi.gaussian_filter(rng.random((size, size)), 2.0) for _ in range(bands)]
                  for _ in range(n)])
    lo, hi = r.min(axis=(2, 3), keepdims=True), r.max(axis=(2, 3), keepdims=True)
    r = 0.05 + 0.9 * (r - lo) / (hi - lo)
    f = np.clip(r + rng.normal(0.0, 0.02, r.shape), 0.0, 1.0)
    return f, r


def ps_peers():
    """Pansharpening metric -> list of (peer label, prep, fn). ``prep`` puts one (C, H, W) float64 image
    into the form the peer takes, once and outside the timed region: sewar gets (H, W, C) float64 (its
    layout), torchmetrics a (1, C, H, W) float32 tensor; ``fn(fused, ref)`` then returns our quantity."""
    import sewar.full_ref as sw
    import torchmetrics.functional.image as tmf

    hwc = lambda x: np.ascontiguousarray(x.transpose(1, 2, 0))  # noqa: E731
    t = lambda x: torch.from_numpy(x.astype(np.float32))[None]  # noqa: E731
    same = lambda x: x  # noqa: E731
    return {
        "ergas": [("sewar", hwc, lambda f, r: sw.ergas(r, f, r=0.25)),
                  ("torchmetrics", t, lambda f, r: float(tmf.error_relative_global_dimensionless_synthesis(
                      f, r, ratio=4)))],
        "sam": [("sewar", hwc, lambda f, r: float(np.degrees(sw.sam(r, f)))),
                ("torchmetrics", t, lambda f, r: float(torch.rad2deg(tmf.spectral_angle_mapper(f, r))))],
        "rmse": [("sewar", same, lambda f, r: sw.rmse(r, f))],
    }


def ours(name, f32, a32):
    """One batched call on float32 [0, 1] (B, 1, H, W) data."""
    fn = M.METRICS[name].fn
    if M.METRICS[name].inputs == "none":
        return fn(f32)
    return fn(f32, [a32])


def cpu_time(fn, repeats, budget=0.5, cap=30):
    """Minimum CPU time over at least ``repeats`` runs, continued while the runs so far took less than
    ``budget`` seconds (at most ``cap`` runs): millisecond calls get enough runs for a stable minimum
    on a busy machine. The same rule for ours and every peer."""
    best = float("inf")
    out = None
    total, k = 0.0, 0
    while k < repeats or (total < budget and k < cap):
        t0 = time.process_time()
        out = fn()
        dt = time.process_time() - t0
        best, total, k = min(best, dt), total + dt, k + 1
    return best, out


def interleaved(fns, repeats, rounds):
    """CPU time of each callable of ``fns`` (ours first, then the peers), measured in ``rounds``
    rounds: in each round every callable in turn gets :func:`cpu_time`'s rule with at least
    ``ceil(repeats / rounds)`` runs, and its time is the minimum over all rounds. A slow spell of the
    machine (other processes, a cold cache) then falls on every library's runs alike, not on one
    library's whole measurement. Returns (times, last outputs)."""
    per = -(-repeats // rounds)
    best, outs = [float("inf")] * len(fns), [None] * len(fns)
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            t, outs[i] = cpu_time(fn, per)
            best[i] = min(best[i], t)
    return best, outs


GPU_OUT = Path(__file__).resolve().parent / "results" / "bench_metrics_gpu.json"


def _sync(dev) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    elif dev.type == "mps":
        torch.mps.synchronize()


def device_time(fn, dev, repeats, budget=0.5, cap=30):
    """:func:`cpu_time`'s rule (minimum over at least ``repeats`` runs, continued while the runs so far
    took less than ``budget`` seconds, at most ``cap``) for a call on ``dev``: each run between
    synchronised points, timed with CUDA events on CUDA (wall clock elsewhere)."""
    best = float("inf")
    out = None
    total, k = 0.0, 0
    while k < repeats or (total < budget and k < cap):
        _sync(dev)
        if dev.type == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
        t0 = time.perf_counter()
        out = fn()
        if dev.type == "cuda":
            end.record()
        _sync(dev)
        dt = start.elapsed_time(end) / 1000.0 if dev.type == "cuda" else time.perf_counter() - t0
        best, total, k = min(best, dt), total + dt, k + 1
    return best, out


def _values(v) -> np.ndarray:
    """Scores as a float64 NumPy array, from a tensor on any device, an array or a float."""
    if isinstance(v, torch.Tensor):
        v = v.detach().cpu().double().numpy()
    return np.asarray(v, dtype=np.float64)


def _rel(a, b) -> float:
    a, b = _values(a), _values(b)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-12)))


def _reason(e: BaseException) -> str:
    msg = str(e).strip().splitlines()
    return f"{type(e).__name__}: {msg[0] if msg else ''}"[:400]


def _ours_on_device(label, fn_dev, fn_cpu, dev, repeats, failed):
    """Device mode: time ``fn_dev`` (ours on ``dev``, one warm-up call) and ``fn_cpu`` (ours on the CPU
    with the NumPy inputs of the default mode, by :func:`cpu_time`). Returns (device s, device values,
    extra row fields), or None after appending a ``failed`` entry when the device call raises."""
    try:
        fn_dev()  # warm-up
        t_dev, v_dev = device_time(fn_dev, dev, repeats)
        v_dev = _values(v_dev)
    except Exception as e:  # noqa: BLE001  (an op not on the device, out of memory, ...)
        failed.append({"metric": label, "device": str(dev), "reason": _reason(e)})
        print(f"{label}: failed on {dev}: {_reason(e)}", flush=True)
        if dev.type == "cuda":
            torch.cuda.empty_cache()
        return None
    fn_cpu()
    t_cpu, v_cpu = cpu_time(fn_cpu, repeats)
    extra = {"device": str(dev), "ours_cpu_s": t_cpu, "speedup_vs_ours_cpu": t_cpu / t_dev,
             "max_rel_diff_vs_ours_cpu": _rel(v_dev, v_cpu),
             "device_finite": bool(np.isfinite(v_dev).all())}
    return t_dev, v_dev, extra


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=16)
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--n-ps", dest="n_ps", type=int, default=4, help="4-band pansharpening pairs")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--rounds", type=int, default=5,
                   help="CPU mode: ours and the peers measured in this many interleaved rounds (see interleaved)")
    p.add_argument("--quick", action="store_true", help="4 pairs of 256 px, 1 repeat")
    p.add_argument("--only", nargs="*", help="measure only these metrics (not written unless --out)")
    p.add_argument("--out", default=None)
    p.add_argument("--merge", action="store_true",
                   help="with --only: replace those metrics' rows in the existing JSON (--out or the default)")
    p.add_argument("--device", default=None,
                   help="run ours on this device (cuda, cuda:1, mps, cpu, auto; inputs moved there once, "
                        "untimed; synchronised timing); peers stay on the CPU. JSON: "
                        "results/bench_metrics_gpu.json, written only on CUDA or with --out")
    p.add_argument("--no-tf32", action="store_true", help="with --device cuda: no TF32 in cuDNN and matmul")
    a = p.parse_args(argv)
    if a.merge and not a.only:
        p.error("--merge needs --only")
    if a.no_tf32 and a.device is None:
        p.error("--no-tf32 applies to --device only")
    if a.no_tf32:
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    dev = None
    if a.device is not None:
        from fusionlib.utils import resolve_device
        try:
            dev = resolve_device(a.device)
        except (RuntimeError, ValueError) as e:
            p.error(f"--device: {e}")
        if a.merge and dev.type != "cuda" and not a.out:
            p.error("--merge with --device other than cuda needs --out")
    if a.quick:
        a.n, a.n_ps, a.size, a.repeats = 4, 2, 256, 1
    torch.set_num_threads(1)
    A, B, F = make_data(a.n, a.size)
    f32 = torch.from_numpy(F / 255.0).float()[:, None].numpy()
    a32 = torch.from_numpy(A / 255.0).float()[:, None].numpy()
    if dev is not None:  # ours' inputs on the device, moved once (untimed)
        f_dev, a_dev = torch.from_numpy(f32).to(dev), torch.from_numpy(a32).to(dev)
        _sync(dev)
    rows, failed = [], []
    for name, plist in peers().items():
        if a.only and name not in a.only:
            continue
        extra = {}
        peer_fns = [lambda pf=pf: np.array([pf(F[i], A[i]) for i in range(a.n)]) for _, pf in plist]
        for _, pf in plist:
            pf(F[0], A[0])  # warm-up
        if dev is None:
            ours(name, f32[:1], a32[:1])  # warm-up
            times, outs = interleaved([lambda: ours(name, f32, a32)] + peer_fns, a.repeats, a.rounds)
            t_ours, v_ours = times[0], outs[0]
            peer_res = list(zip(times[1:], outs[1:]))
        else:
            got = _ours_on_device(name, lambda: ours(name, f_dev, a_dev), lambda: ours(name, f32, a32),
                                  dev, a.repeats, failed)
            if got is None:
                continue
            t_ours, v_ours, extra = got
            peer_res = [cpu_time(fn, a.repeats) for fn in peer_fns]
        for (label, _), (t_peer, v_peer) in zip(plist, peer_res):
            rel = float(np.max(np.abs(np.asarray(v_ours) - v_peer) / np.maximum(np.abs(v_peer), 1e-12)))
            rows.append({"metric": name, "peer": label, "ours_s": t_ours, "peer_s": t_peer,
                         "speedup": t_peer / t_ours, "max_rel_diff": rel, "data": "gray", **extra})
    if not a.only or any(k in a.only for k in ps_peers()):
        PF, PR = make_ps_data(a.n_ps, a.size)
        pf32, pr32 = PF.astype(np.float32), PR.astype(np.float32)
        if dev is not None:
            pf_dev, pr_dev = torch.from_numpy(pf32).to(dev), torch.from_numpy(pr32).to(dev)
            _sync(dev)
        for name, plist in ps_peers().items():
            if a.only and name not in a.only:
                continue
            fn = M.METRICS[name].fn
            extra = {}
            peer_fns = []
            for _, prep, pf in plist:
                QF, QR = [prep(x) for x in PF], [prep(x) for x in PR]  # peer's input form, not timed
                pf(QF[0], QR[0])  # warm-up
                peer_fns.append(lambda pf=pf, QF=QF, QR=QR: np.array([pf(QF[i], QR[i]) for i in range(a.n_ps)]))
            if dev is None:
                fn(pf32[:1], pr32[:1])  # warm-up
                times, outs = interleaved([lambda: fn(pf32, pr32)] + peer_fns, a.repeats, a.rounds)
                t_ours, v_ours = times[0], outs[0]
                peer_res = list(zip(times[1:], outs[1:]))
            else:
                got = _ours_on_device(name, lambda: fn(pf_dev, pr_dev), lambda: fn(pf32, pr32), dev,
                                      a.repeats, failed)
                if got is None:
                    continue
                t_ours, v_ours, extra = got
                peer_res = [cpu_time(f_, a.repeats) for f_ in peer_fns]
            for (label, _, _), (t_peer, v_peer) in zip(plist, peer_res):
                rel = float(np.max(np.abs(np.asarray(v_ours) - v_peer) / np.maximum(np.abs(v_peer), 1e-12)))
                rows.append({"metric": name, "peer": label, "ours_s": t_ours, "peer_s": t_peer,
                             "speedup": t_peer / t_ours, "max_rel_diff": rel, "data": "pansharpening",
                             **extra})
    fastest = {}
    for r in rows:
        if r["metric"] not in fastest or r["peer_s"] < fastest[r["metric"]]["peer_s"]:
            fastest[r["metric"]] = r
    if dev is None:
        print(f"{a.n} gray pairs and {a.n_ps} 4-band pairs of {a.size}x{a.size}, CPU time (min of "
              f"{a.repeats}+ runs in {a.rounds} interleaved rounds), 1 thread")
    else:
        print(f"{a.n} gray pairs and {a.n_ps} 4-band pairs of {a.size}x{a.size}; ours on {dev} "
              f"({'CUDA events' if dev.type == 'cuda' else 'wall clock'}, synchronised, min of {a.repeats}+), "
              f"peers and ours-cpu CPU time (min of {a.repeats}+), 1 thread")
    print(f"{'metric':<20} {'peer':<13} {'ours s':>8} {'peer s':>8} {'speed-up':>9} {'max rel diff':>13}"
          + ("" if dev is None else f" {'ours cpu s':>10} {'dev/cpu':>8} {'dev-cpu rel':>11}"))
    for r in rows:
        mark = " *" if fastest[r["metric"]] is r else ""
        more = "" if dev is None else (f" {r['ours_cpu_s']:>10.4f} {r['speedup_vs_ours_cpu']:>7.1f}x "
                                       f"{r['max_rel_diff_vs_ours_cpu']:>11.2e}")
        print(f"{r['metric']:<20} {r['peer']:<13} {r['ours_s']:>8.3f} {r['peer_s']:>8.3f} "
              f"{r['speedup']:>8.1f}x {r['max_rel_diff']:>13.2e}{more}{mark}")
    print("* fastest peer of the metric")
    for f in failed:
        print(f"not measured on {f['device']}: {f['metric']}: {f['reason']}")
    res = {"n_pairs": a.n, "n_pansharpening_pairs": a.n_ps, "bands": 4, "size": a.size, "repeats": a.repeats,
           "rounds": a.rounds if dev is None else 1, "threads": 1, "timer": "process_time",
           "platform": platform.platform(), "torch": torch.__version__, "rows": rows,
           "vs_fastest_peer": {k: {"peer": v["peer"], "speedup": v["speedup"],
                                   "max_rel_diff": v["max_rel_diff"]} for k, v in fastest.items()}}
    if dev is not None:
        res.update({
            "device": str(dev), "device_name": (torch.cuda.get_device_name(dev) if dev.type == "cuda"
                                                else platform.processor() or platform.machine()),
            "cuda": torch.version.cuda, "timer_ours": "cuda_event" if dev.type == "cuda" else "wall_clock",
            "timer": "process_time (peers, ours_cpu_s)",
            "tf32": {"matmul": torch.backends.cuda.matmul.allow_tf32, "cudnn": torch.backends.cudnn.allow_tf32},
            "loadavg_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
            "note": "ours_s: our batched call with the inputs already on `device` (moved once, untimed; one "
                    "warm-up call), each run between torch synchronisations, timed by CUDA events on CUDA; "
                    "minimum over `repeats` runs or more (the same rule as the CPU-time runs). peer_s: the "
                    "peer on the CPU, process CPU time, as in the CPU benchmark; speedup = peer_s / ours_s. "
                    "ours_cpu_s: our call on the CPU with the NumPy inputs of the CPU benchmark (CPU time); "
                    "speedup_vs_ours_cpu = ours_cpu_s / ours_s; max_rel_diff_vs_ours_cpu: device values "
                    "against CPU values. `failed`: metrics that raised on the device, with the reason.",
            "failed": failed})
    if a.merge:
        res = _merge(Path(a.out or (OUT if dev is None else GPU_OUT)), res, sorted({r["metric"] for r in rows} | {f["metric"] for f in failed}),
                     device=dev is not None)
    if dev is None:
        if a.out or not a.only or a.merge:
            write_json_atomic(a.out or str(OUT), res)
    elif a.out or (dev.type == "cuda" and (not a.only or a.merge)):
        write_json_atomic(a.out or str(GPU_OUT), res)
        print(f"wrote {a.out or GPU_OUT}")
    else:
        print(f"not written (device {dev}; pass --out to write)")
    return 0


def _merge(path: Path, new: dict, metrics: list[str], device: bool = False) -> dict:
    """The JSON at ``path`` with the rows (and fastest-peer entries) of ``metrics`` replaced by those
    of ``new``; refuses a file measured with other settings (``device``: also another device)."""
    import json
    if not path.is_file():
        raise SystemExit(f"--merge: no results at {path} to merge into; run without --only first")
    old = json.loads(path.read_text())
    keys = ("n_pairs", "n_pansharpening_pairs", "bands", "size", "repeats", "rounds", "threads", "timer")
    if device:
        keys += ("device", "device_name")
    diff = {k: (old.get(k), new[k]) for k in keys if old.get(k) != new[k]}
    if diff:
        raise SystemExit(f"--merge: {path} was measured with other settings {diff}; re-run without --only")
    old["rows"] = [r for r in old["rows"] if r["metric"] not in metrics] + new["rows"]
    if device:
        old["failed"] = [f for f in old.get("failed", []) if f["metric"] not in metrics] + new["failed"]
        old["vs_fastest_peer"] = {k: v for k, v in old["vs_fastest_peer"].items() if k not in metrics}
    old["vs_fastest_peer"].update({k: v for k, v in new["vs_fastest_peer"].items() if k in metrics})
    when = time.strftime("%Y-%m-%dT%H:%M:%S")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    old.setdefault("merged", {}).update({m: {"time": when, "loadavg_1min": load} for m in metrics})
    old["torch"], old["platform"] = new["torch"], new["platform"]
    return old


if __name__ == "__main__":
    raise SystemExit(main())
