"""Conformance table: for every preset x metric, what the value was checked against, on how many real
images, and the worst relative difference; "unchecked" where nothing independent was run.

Sources of truth, never our own code:
- ``published``: VIFB's per-image table (read from ``results/vifb_reproduction.json``, written by
  ``reproduce_vifb.py``; that reproduction is not re-run here);
- ``library``: scikit-image, SciPy/NumPy and sewar functions with the convention that makes them equal
  (the same as ``tests/metrics/test_reference.py``);
- ``transcription``: the authors' MATLAB transcribed to NumPy statement by statement
  (``tests/metrics/toolbox_ref.py``: metricYang, metricPeilla, metricXydeas; ``tests/metrics/test_phase.py``:
  myphasecong3 + metricZhao), fed with the survey's preprocessing (rgb2gray of the 8-bit images).

Images: the Liu 2020 survey's own fused results of DWT, NSCT, GFF and CNN on its 7 pairs with results
(28 images, ``../shared/data/mfif_liu2020``). Library checks compare each image plane on its own
(an RGB image gives 3 planes; the count is of images). The survey's published per-image values are not
available to the project, so the liu2020 rows are checked against the transcribed code only.

Usage: ``python benchmarks/conformance.py [--root DIR] [--no-qp]`` -> ``results/conformance.json``.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

import fusionlib as fl
import fusionlib.metrics as M
from fusionlib.utils import write_json_atomic

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "metrics"))
from toolbox_ref import metric_peilla, metric_xydeas, metric_yang, rgb2gray_u8  # noqa: E402

PAIRS = ("c_01", "c_05", "c_10", "c_15", "g_01", "g_04", "g_07")
METHODS = ("dwt", "nsct", "gff", "cnn")
VIFB_FILE = HERE / "results" / "vifb_reproduction.json"


def _liu_images(root):
    ds = fl.data.load("liu2020", root)
    for p in PAIRS:
        src = [np.round(x * 255).astype(np.uint8) for x in ds[p].sources]
        for m in METHODS:
            yield f"{p}_{m}", np.round(ds.fused(m, p) * 255).astype(np.uint8), src


def _gray(x):
    """(C, H, W) uint8 -> MATLAB rgb2gray (rounded) as float64, as evaluate_color.m reads it."""
    return rgb2gray_u8(x.transpose(1, 2, 0)) if x.shape[0] == 3 else x[0].astype(np.float64)


def _toolbox(ref, name):
    def check(f, src):
        ours = M.METRICS[name].fn(f, src, preset="liu2020")
        return [(ours, ref(_gray(src[0]), _gray(src[1]), _gray(f)))]
    return check


def _zhao():
    from test_phase import _metric_zhao_reference
    return _toolbox(_metric_zhao_reference, "q_p")


def _planes(fn):
    """Per-plane check: fn(ours_plane_f, ours_plane_src, f_u8_plane, src_u8_planes) -> (ours, ref)."""
    def check(f, src):
        out = []
        for c in range(f.shape[0]):
            planes = [s[c if s.shape[0] > 1 else 0] for s in src]
            out.append(fn(f[c], planes))
        return out
    return check


def _lib_checks():
    import sewar.full_ref as sewar
    from skimage import measure, metrics as skm

    def psnr(f, s):
        return M.psnr(f, [s[0]]), skm.peak_signal_noise_ratio(s[0], f, data_range=255)

    def ssim(f, s):
        return M.ssim(f, [s[0]]), skm.structural_similarity(
            s[0].astype(float), f.astype(float), gaussian_weights=True, sigma=1.5,
            use_sample_covariance=False, data_range=255)

    def entropy(f, s):
        return M.entropy(f), measure.shannon_entropy(f, base=2)

    def sd(f, s):
        return M.standard_deviation(f), f.astype(float).std()

    def ag(f, s):
        gy, gx = np.gradient(f.astype(float))
        return M.average_gradient(f), np.sqrt((gx ** 2 + gy ** 2) / 2).sum() / (
            (f.shape[0] - 1) * (f.shape[1] - 1))

    def ei(f, s):
        x = f.astype(float)
        return M.edge_intensity(f), np.hypot(ndi.sobel(x, 0, mode="nearest"),
                                             ndi.sobel(x, 1, mode="nearest")).mean()

    def mi(f, s):
        y = skm.normalized_mutual_information(s[0], f, bins=256)
        ha, hf = M.entropy(s[0]), M.entropy(f)
        return M.mutual_information(f, [s[0], s[0]]) / 2, (ha + hf) * (1 - 1 / y)

    def vif(f, s):
        return M.vif(f, [s[0]]), sewar.vifp(s[0].astype(float), f.astype(float))

    lib = "scikit-image 0.26"
    return [
        ("psnr", f"{lib} peak_signal_noise_ratio (one source as reference)", psnr),
        ("ssim", f"{lib} structural_similarity (Gaussian 1.5, population moments, L = 255; one source)",
         ssim),
        ("entropy", f"{lib} measure.shannon_entropy (base 2, 8-bit)", entropy),
        ("mutual_information", f"{lib} normalized_mutual_information (256 bins): MI = (H_A + H_F)(1 - 1/Y)",
         mi),
        ("standard_deviation", "numpy.std", sd),
        ("average_gradient", "numpy.gradient", ag),
        ("edge_intensity", "scipy.ndimage.sobel (mode='nearest')", ei),
        ("vif", "sewar 0.4.10 full_ref.vifp on 0..255 (one source as reference)", vif),
    ]


def _row(preset, metric, against, kind, pairs, note=""):
    rel = [abs(o - r) / max(abs(r), 1e-12) for o, r in pairs]
    return {"preset": preset, "metric": metric, "checked_against": against, "kind": kind,
            "n_images": None, "n_values": len(rel), "worst_rel_diff": max(rel) if rel else None,
            "median_rel_diff": float(np.median(rel)) if rel else None, "note": note}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=None)
    ap.add_argument("--no-qp", action="store_true", help="skip Q_P (its transcription takes ~5 s/image)")
    ap.add_argument("--out", default=str(HERE / "results" / "conformance.json"))
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    images = list(_liu_images(args.root))

    checks = [("liu2020", n, "Z. Liu's toolbox as shipped by Liu 2020 (yuliu316316/MFIF @ 267c081), "
               f"{fn} transcribed to NumPy, after rgb2gray", "transcription", chk)
              for n, fn, chk in (("q_y", "metricYang.m", _toolbox(metric_yang, "q_y")),
                                 ("q_e", "metricPeilla.m (sw = 3)", _toolbox(metric_peilla, "q_e")),
                                 ("q_w", "metricPeilla.m (sw = 2)",
                                  _toolbox(lambda a, b, f: metric_peilla(a, b, f, sw=2), "q_w")),
                                 ("qabf", "metricXydeas.m", _toolbox(metric_xydeas, "qabf")))]
    if not args.no_qp:
        checks.append(("liu2020", "q_p", "Z. Liu's toolbox as shipped by Liu 2020, myphasecong3.m + "
                       "metricZhao.m transcribed to NumPy (tests/metrics/test_phase.py), after rgb2gray",
                       "transcription", _zhao()))
    checks += [("default", n, against, "library", _planes(fn)) for n, against, fn in _lib_checks()]

    rows = []
    for preset, name, against, kind, chk in checks:
        t = time.perf_counter()
        pairs = [p for _, f, src in images for p in chk(f, src)]
        row = _row(preset, name, against, kind, pairs)
        row["n_images"] = len(images)
        row["note"] = "Liu 2020 results (DWT, NSCT, GFF, CNN on 7 pairs)" + (
            "; per image plane" if kind == "library" else "")
        rows.append(row)
        print(f"{preset:8s} {name:20s} n={row['n_values']:3d} worst={row['worst_rel_diff']:.2e} "
              f"({time.perf_counter() - t:.1f} s)", flush=True)

    vifb = __import__("json").loads(VIFB_FILE.read_text())
    for label, key in M.VIFB_NAMES.items():
        pm = vifb["per_metric"][label]
        rows.append({"preset": "vifb", "metric": key, "checked_against":
                     "VIFB published per-image table (benchmarks/results/vifb_reproduction.json)",
                     "kind": "published", "n_images": vifb["n_images"], "n_values": vifb["n_images"],
                     "worst_rel_diff": pm["worst_rel"], "median_rel_diff": pm["median_rel"],
                     "note": f"{len(vifb['methods'])} methods x 21 pairs, SwinFusion and YDTR excluded"})

    done = {(r["preset"], r["metric"]) for r in rows}
    for name, info in M.METRICS.items():
        if info.kind != "fusion":
            continue
        for preset in info.presets:
            if (preset, name) not in done:
                rows.append({"preset": preset, "metric": name, "checked_against": "unchecked",
                             "kind": "unchecked", "n_images": 0, "n_values": 0, "worst_rel_diff": None,
                             "median_rel_diff": None, "note": ""})
    order = {p: i for i, p in enumerate(M.PRESETS)}
    rows.sort(key=lambda r: (order[r["preset"]], r["kind"] == "unchecked", r["metric"]))
    write_json_atomic(args.out, {"images": "mfif_liu2020: " + ", ".join(f"{p}_{m}" for p in PAIRS
                                                                       for m in METHODS),
                                 "rows": rows, "wall_s": time.perf_counter() - t0})
    print(f"wrote {args.out} ({len(rows)} rows, {time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
