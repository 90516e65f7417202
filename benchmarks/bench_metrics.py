"""Speed of fusionlib.metrics (one batched call) against scikit-image, torchmetrics and sewar (a loop
over images), measured in the same run on the same data, with the value difference.

Data: ``--n`` (16) gray pairs of ``--size`` (512) px, smooth random textures quantised to 8 bits
(seeded), with the fused image the average of the pair. Every metric is computed on (fused, source A)
where the peer is a full-reference function. Ours gets the float32 [0, 1] batch (B, 1, H, W); each peer
gets the images one by one in the form its documentation asks for (0..255 float64 where the peer does
not rescale: VIF, PSNR with ``data_range=255``). Time: CPU time of the process (less disturbed by other
processes on a shared machine than wall time), minimum over ``--repeats`` interleaved repeats; torch and
BLAS limited to one thread for every library. The value difference is the largest relative difference
over the batch between our value and the peer's value of the same quantity.

Usage: ``.venv/bin/python benchmarks/bench_metrics.py [--n 16 --size 512 --repeats 3 --quick]``.
Writes ``benchmarks/results/bench_metrics.json`` (atomically).
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


def ours(name, f32, a32):
    """One batched call on float32 [0, 1] (B, 1, H, W) data."""
    fn = M.METRICS[name].fn
    if M.METRICS[name].inputs == "none":
        return fn(f32)
    return fn(f32, [a32])


def cpu_time(fn, repeats):
    best = float("inf")
    out = None
    for _ in range(repeats):
        t0 = time.process_time()
        out = fn()
        best = min(best, time.process_time() - t0)
    return best, out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=16)
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="4 pairs of 256 px, 1 repeat")
    p.add_argument("--only", nargs="*", help="measure only these metrics (not written unless --out)")
    p.add_argument("--out", default=None)
    a = p.parse_args(argv)
    if a.quick:
        a.n, a.size, a.repeats = 4, 256, 1
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
                         "speedup": t_peer / t_ours, "max_rel_diff": rel})
    fastest = {}
    for r in rows:
        if r["metric"] not in fastest or r["peer_s"] < fastest[r["metric"]]["peer_s"]:
            fastest[r["metric"]] = r
    print(f"{a.n} gray pairs of {a.size}x{a.size}, CPU time (min of {a.repeats}), 1 thread")
    print(f"{'metric':<20} {'peer':<13} {'ours s':>8} {'peer s':>8} {'speed-up':>9} {'max rel diff':>13}")
    for r in rows:
        mark = " *" if fastest[r["metric"]] is r else ""
        print(f"{r['metric']:<20} {r['peer']:<13} {r['ours_s']:>8.3f} {r['peer_s']:>8.3f} "
              f"{r['speedup']:>8.1f}x {r['max_rel_diff']:>13.2e}{mark}")
    print("* fastest peer of the metric")
    res = {"n_pairs": a.n, "size": a.size, "repeats": a.repeats, "threads": 1, "timer": "process_time",
           "platform": platform.platform(), "torch": torch.__version__, "rows": rows,
           "vs_fastest_peer": {k: {"peer": v["peer"], "speedup": v["speedup"],
                                   "max_rel_diff": v["max_rel_diff"]} for k, v in fastest.items()}}
    if a.out or not a.only:
        write_json_atomic(a.out or str(OUT), res)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
