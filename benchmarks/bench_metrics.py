"""Speed of fusionlib.metrics (one batched call) against scikit-image, torchmetrics and sewar (a loop
over images), measured in the same run on the same data, with the value difference.

Data: ``--n`` (16) gray pairs of ``--size`` (512) px, smooth random textures quantised to 8 bits
(seeded), with the fused image the average of the pair. Every metric is computed on (fused, source A)
where the peer is a full-reference function. Ours gets the float32 [0, 1] batch (B, 1, H, W); each peer
gets the images one by one in the form its documentation asks for (0..255 float64 where the peer does
not rescale: VIF, PSNR with ``data_range=255``). Time: CPU time of the process (less disturbed by other
processes on a shared machine than wall time), minimum over ``--repeats`` runs or more (calls of a few ms
are repeated up to 30 times within 0.5 s, the same rule for every library); torch and
BLAS limited to one thread for every library. The value difference is the largest relative difference
over the batch between our value and the peer's value of the same quantity.

Pansharpening: ``--n-ps`` (4) pairs of 4-band ``--size`` px cubes (smooth random reference in [0.05, 0.95],
fused = reference + seeded Gaussian noise of sigma 0.02, clipped to [0, 1]); ours gets the float32 batch
(B, 4, H, W) with the default preset (data_range 1), sewar (H, W, C) float64 per image, torchmetrics a
(1, C, H, W) float32 tensor per image, each converted once before timing. Only indices whose peer computes the same number are timed
(ERGAS, SAM in degrees, RMSE); sewar's and torchmetrics' RASE, UQI and SCC are other definitions.

Usage: ``.venv/bin/python benchmarks/bench_metrics.py [--n 16 --size 512 --repeats 3 --quick]``.
Writes ``benchmarks/results/bench_metrics.json`` (atomically). ``--only M1 M2 --merge`` measures only
those metrics and replaces their rows in the existing JSON (same settings required), keeping the
others; ``merged`` in the JSON then records when and under which load average each was re-measured.
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


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=16)
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--n-ps", dest="n_ps", type=int, default=4, help="4-band pansharpening pairs")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="4 pairs of 256 px, 1 repeat")
    p.add_argument("--only", nargs="*", help="measure only these metrics (not written unless --out)")
    p.add_argument("--out", default=None)
    p.add_argument("--merge", action="store_true",
                   help="with --only: replace those metrics' rows in the existing JSON (--out or the default)")
    a = p.parse_args(argv)
    if a.merge and not a.only:
        p.error("--merge needs --only")
    if a.quick:
        a.n, a.n_ps, a.size, a.repeats = 4, 2, 256, 1
    torch.set_num_threads(1)
    A, B, F = make_data(a.n, a.size)
    f32 = torch.from_numpy(F / 255.0).float()[:, None].numpy()
    a32 = torch.from_numpy(A / 255.0).float()[:, None].numpy()
    rows = []
    for name, plist in peers().items():
        if a.only and name not in a.only:
            continue
        ours(name, f32[:1], a32[:1])  # warm-up
        t_ours, v_ours = cpu_time(lambda: ours(name, f32, a32), a.repeats)
        for label, pf in plist:
            pf(F[0], A[0])
            t_peer, v_peer = cpu_time(lambda: np.array([pf(F[i], A[i]) for i in range(a.n)]), a.repeats)
            rel = float(np.max(np.abs(np.asarray(v_ours) - v_peer) / np.maximum(np.abs(v_peer), 1e-12)))
            rows.append({"metric": name, "peer": label, "ours_s": t_ours, "peer_s": t_peer,
                         "speedup": t_peer / t_ours, "max_rel_diff": rel, "data": "gray"})
    if not a.only or any(k in a.only for k in ps_peers()):
        PF, PR = make_ps_data(a.n_ps, a.size)
        pf32, pr32 = PF.astype(np.float32), PR.astype(np.float32)
        for name, plist in ps_peers().items():
            if a.only and name not in a.only:
                continue
            fn = M.METRICS[name].fn
            fn(pf32[:1], pr32[:1])  # warm-up
            t_ours, v_ours = cpu_time(lambda: fn(pf32, pr32), a.repeats)
            for label, prep, pf in plist:
                QF, QR = [prep(x) for x in PF], [prep(x) for x in PR]  # peer's input form, not timed
                pf(QF[0], QR[0])
                t_peer, v_peer = cpu_time(lambda: np.array([pf(QF[i], QR[i]) for i in range(a.n_ps)]),
                                          a.repeats)
                rel = float(np.max(np.abs(np.asarray(v_ours) - v_peer) / np.maximum(np.abs(v_peer), 1e-12)))
                rows.append({"metric": name, "peer": label, "ours_s": t_ours, "peer_s": t_peer,
                             "speedup": t_peer / t_ours, "max_rel_diff": rel, "data": "pansharpening"})
    fastest = {}
    for r in rows:
        if r["metric"] not in fastest or r["peer_s"] < fastest[r["metric"]]["peer_s"]:
            fastest[r["metric"]] = r
    print(f"{a.n} gray pairs and {a.n_ps} 4-band pairs of {a.size}x{a.size}, CPU time (min of "
          f"{a.repeats}), 1 thread")
    print(f"{'metric':<20} {'peer':<13} {'ours s':>8} {'peer s':>8} {'speed-up':>9} {'max rel diff':>13}")
    for r in rows:
        mark = " *" if fastest[r["metric"]] is r else ""
        print(f"{r['metric']:<20} {r['peer']:<13} {r['ours_s']:>8.3f} {r['peer_s']:>8.3f} "
              f"{r['speedup']:>8.1f}x {r['max_rel_diff']:>13.2e}{mark}")
    print("* fastest peer of the metric")
    res = {"n_pairs": a.n, "n_pansharpening_pairs": a.n_ps, "bands": 4, "size": a.size, "repeats": a.repeats, "threads": 1, "timer": "process_time",
           "platform": platform.platform(), "torch": torch.__version__, "rows": rows,
           "vs_fastest_peer": {k: {"peer": v["peer"], "speedup": v["speedup"],
                                   "max_rel_diff": v["max_rel_diff"]} for k, v in fastest.items()}}
    if a.merge:
        res = _merge(Path(a.out or OUT), res, sorted({r["metric"] for r in rows}))
    if a.out or not a.only or a.merge:
        write_json_atomic(a.out or str(OUT), res)
    return 0


def _merge(path: Path, new: dict, metrics: list[str]) -> dict:
    """The JSON at ``path`` with the rows (and fastest-peer entries) of ``metrics`` replaced by those
    of ``new``; refuses a file measured with other settings."""
    import json
    if not path.is_file():
        raise SystemExit(f"--merge: no results at {path} to merge into; run without --only first")
    old = json.loads(path.read_text())
    keys = ("n_pairs", "n_pansharpening_pairs", "bands", "size", "repeats", "threads", "timer")
    diff = {k: (old.get(k), new[k]) for k in keys if old.get(k) != new[k]}
    if diff:
        raise SystemExit(f"--merge: {path} was measured with other settings {diff}; re-run without --only")
    old["rows"] = [r for r in old["rows"] if r["metric"] not in metrics] + new["rows"]
    old["vs_fastest_peer"].update({k: v for k, v in new["vs_fastest_peer"].items() if k in metrics})
    when = time.strftime("%Y-%m-%dT%H:%M:%S")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    old.setdefault("merged", {}).update({m: {"time": when, "loadavg_1min": load} for m in metrics})
    old["torch"], old["platform"] = new["torch"], new["platform"]
    return old


if __name__ == "__main__":
    raise SystemExit(main())
