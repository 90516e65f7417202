"""Loaders for the nine real data sets, driven by each folder's ``pairs.csv``.

Every loader reads the index at ``load()`` time (and verifies it against the
folder's ``SHA256SUMS``) but reads images only when a sample is asked for; the
files a sample touches are verified then (once per process).

Channel conventions (explicit per data set; a 3-channel file whose channels
are all equal is "3-channel gray" and becomes 1 channel where the set says
``L``; an ``L`` source with different channels is an error, never converted
silently):

============== ======================== ===========================================
data set        sources (order)          channels
============== ======================== ===========================================
vifb            IR, visible              IR ``L`` (17 of 21 files are 3-channel
                                         gray), visible RGB
tno             IR, visible              both ``L`` (all files 3-channel gray)
roadscene       IR, visible              IR ``L``, visible RGB
lytro           A (near), B (far focus)  RGB
liu2020         A, B                     colour pairs RGB, grayscale pairs ``L``
mefb            under-, over-exposed     RGB
harvard         CT/PET/SPECT, MRI        CT ``L``, PET/SPECT RGB (pseudo-colour),
                                         MRI ``L``
ifcnn           IR, visible / A, B /     IR-visible and medical ``L``; exposure
                exposure sequence (4–6)  sequences RGB
nbu_iaoa        MS, PAN                  MS 4 bands (R, G, B, NIR), PAN ``L``
============== ======================== ===========================================

Fused images of other methods (``ds.fused(method, pair_id)``) are returned with
their stored channels.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .._checks import ShapeError
from ..io import ImageReadError
from ._base import DATASETS, Dataset, DatasetInfo, PairsFileError, Sample
from ._files import check_file, check_pair_sizes, find_folder, read8, read_index

__all__ = ["RealDataset", "VIFBDataset", "VIFB_METHODS", "VIFB_MISMATCHED", "VIFB_METRICS",
           "LYTRO_METHODS", "LIU2020_METHODS", "read_ms_tif", "read_nbu_mat"]

_RAW = "https://raw.githubusercontent.com/{repo}/{commit}/"

# Method order of VIFB's evaluationMetrics.mat (vifb/information.txt, VIFB @ 22b2ea9).
VIFB_METHODS = ("ADF", "CBF", "CNN", "DLF", "FPDE", "GFCE", "GFF", "GTF", "HMSD_GF", "Hybrid_MSD",
                "IFEVIP", "LatLRR", "LP_SR", "MGFF", "MSVD", "NSCT_SR", "ResNet", "RP_SR", "TIF",
                "VSMWLS", "IFCNN", "SeAFusion", "SwinFusion", "U2Fusion", "YDTR")
# Methods whose fused images do not reproduce their stored table values (vifb/MANIFEST.md).
VIFB_MISMATCHED = ("SwinFusion", "YDTR")
# Metric order of the VIFB table (vifb/MANIFEST.md).
VIFB_METRICS = ("Cross_entropy", "Entropy", "Mutinf", "Psnr", "Avg_gradient", "Edge_intensity", "Qabf",
                "Variance", "Spatial_frequency", "Rmse", "Ssim", "Qcb", "Qcv")
# MFIFB methods with fused images on lytro_01..05 (mfifb_lytro/MANIFEST.md).
LYTRO_METHODS = ("ASR", "BFMF", "BGSC", "CBF", "CNN", "CSR", "DCT_Corr", "DCT_EOL", "DPRL", "DSIFT",
                 "DWTDE", "ECNN", "GD", "GFDF", "GFF", "IFCNN", "IFM", "MFM", "MGFF", "MST_SR", "MSVD",
                 "MWGF", "NSCT_SR", "PCANet", "QB", "RP_SR", "SESF", "SFMD", "SVDDCT", "TF")
# Liu et al. 2020 method index 1..18 (evaluate_color.m order; file suffixes in Results/).
LIU2020_METHODS = ("dwt", "dtcwt", "nsct", "gff", "sr", "asr", "mwgf", "ica", "nsct-sr", "sssdi",
                   "quadtree", "dsift", "srcf", "gfdf", "brw", "misf", "cnn", "madcnn")


class RealDataset(Dataset):
    """A real data set on disk (lazy).

    Adds ``folder`` (the data folder), ``rows`` (the validated ``pairs.csv``
    rows), ``methods`` (methods with stored fused images; may be empty) and
    :meth:`fused`.
    """

    def __init__(self, info: DatasetInfo, folder: Path, rows: list[dict[str, str]], *,
                 modes: Callable[[dict[str, str]], list[str | None]],
                 task: Callable[[dict[str, str]], str],
                 modalities: Callable[[dict[str, str]], list[str]],
                 verify: bool, subset: str | None = None,
                 methods: tuple[str, ...] = (),
                 fused_path: Callable[[str, dict[str, str]], str | None] | None = None):
        self.folder = folder
        self.rows = rows
        self.verify = verify
        self.methods = tuple(methods)
        self._modes = modes
        self._task = task
        self._modalities = modalities
        self._fused_path = fused_path
        super().__init__(info, [r["pair_id"] for r in rows], self._build_sample,
                         root=folder.parent, subset=subset)

    # -- samples
    def source_paths(self, i: int | str) -> list[Path]:
        """Paths of the source files of sample ``i`` (not verified, not read)."""
        row = self.rows[self._position(i)]
        rels = [p for p in row["a"].split(";") if p] + ([row["b"]] if row.get("b") else [])
        return [self.folder / r for r in rels]

    def _rels(self, row: dict[str, str]) -> list[str]:
        rels = [p.strip() for p in row["a"].split(";") if p.strip()]
        if row.get("b", "").strip():
            rels.append(row["b"].strip())
        if len(rels) < 2:
            raise PairsFileError(f"{self.folder / 'pairs.csv'}: line {row['_line']}: pair "
                                 f"{row['pair_id']!r} has fewer than 2 sources (bad pairs.csv row)")
        return rels

    def _build_sample(self, i: int, dtype: str) -> Sample:
        row = self.rows[i]
        rels = self._rels(row)
        modes = self._modes(row)
        if len(modes) == 1:
            modes = modes * len(rels)
        paths = [check_file(self.folder, r, verify=self.verify) for r in rels]
        images = [read8(p, m, dtype) for p, m in zip(paths, modes)]
        expected = None
        if row.get("width", "").strip() and row.get("height", "").strip():
            expected = (int(row["height"]), int(row["width"]))
        check_pair_sizes(paths, images, expected=expected, where=f"load({self.info.name!r})")
        meta: dict[str, Any] = {k: v for k, v in row.items() if k != "_line"}
        task = self._task(row)
        if row.get("task", task) != task:  # harvard: the index's `task` (CT-MRI ...) is the subset
            meta["subset"] = row["task"]
        meta.update(dataset=self.info.name, task=task, modalities=self._modalities(row),
                    paths=[str(p) for p in paths], synthetic=False)
        return Sample(row["pair_id"], images, None, meta)

    # -- fused results of other methods
    def fused(self, method: str, pair_id: str | int, dtype: str = "float32") -> np.ndarray:
        """The stored fused image of ``method`` on ``pair_id`` as ``(C, H, W)``.

        Raises ``KeyError`` for an unknown method or a pair without fused images.
        """
        if not self.methods or self._fused_path is None:
            raise KeyError(f"{self.info.name}: this data set has no stored fused images")
        if method not in self.methods:
            raise KeyError(f"{self.info.name}: unknown method {method!r}; valid: {list(self.methods)}")
        row = self.rows[self._position(pair_id)]
        rel = self._fused_path(method, row)
        if rel is None:
            raise KeyError(f"{self.info.name}: no fused images for pair {row['pair_id']!r} "
                           f"(available for: {self.fused_pairs})")
        path = check_file(self.folder, rel, verify=self.verify)
        img = read8(path, None, dtype)
        if row.get("width", "").strip() and row.get("height", "").strip():
            exp = (int(row["height"]), int(row["width"]))
            if tuple(img.shape[-2:]) != exp:
                raise ShapeError(f"{self.info.name}: fused image {path} is {img.shape[-2]}x{img.shape[-1]} "
                                 f"but its pair is {exp[0]}x{exp[1]} (H x W)", expected=exp,
                                 actual=tuple(img.shape[-2:]))
        return img

    @property
    def fused_pairs(self) -> list[str]:
        """Pair ids with stored fused images."""
        if not self.methods or self._fused_path is None:
            return []
        return [r["pair_id"] for r in self.rows if self._fused_path(self.methods[0], r) is not None]


class VIFBDataset(RealDataset):
    """VIFB: adds :meth:`metric_table` and ``mismatched_methods``."""

    mismatched_methods = VIFB_MISMATCHED
    metrics = VIFB_METRICS

    def metric_table(self, metric: str | None = None, *, average: bool = False):
        """VIFB's published per-image metric table (pandas).

        Parameters
        ----------
        metric : str or None
            ``None``: the long table (``image``, ``method``, 13 metric columns).
            A metric name (``VIFB_METRICS``): a wide table image × method.
        average : bool
            The table of means over the 21 images (method × metric) instead.

        Notes
        -----
        Values were stored with 5 significant digits. ``SwinFusion`` and ``YDTR``
        do not match their fused images (``mismatched_methods``); leave them out
        of strict comparisons.
        """
        import pandas as pd

        name = "vifb_metrics_average.csv" if average else "vifb_metrics_per_image.csv"
        rel = f"evaluation_metrics/{name}"
        path = check_file(self.folder, rel, verify=self.verify)
        df = pd.read_csv(path)
        if metric is None:
            return df
        if metric not in VIFB_METRICS:
            raise KeyError(f"VIFBDataset.metric_table: unknown metric {metric!r}; valid: {list(VIFB_METRICS)}")
        if average:
            return df.set_index("method")[metric]
        return df.pivot(index="image", columns="method", values=metric)[list(VIFB_METHODS)]


# ----------------------------------------------------------------------------- helpers

def _check_subset(info: DatasetInfo, subset: str | None) -> None:
    if subset is None:
        return
    if not info.subsets:
        raise ValueError(f"load({info.name!r}): `subset` is not supported by this data set; got {subset!r}")
    if subset not in info.subsets:
        raise ValueError(f"load({info.name!r}): `subset` must be one of {list(info.subsets)}; got {subset!r}")


def _open(info: DatasetInfo, root, verify: bool, required: tuple[str, ...]) -> tuple[Path, list]:
    folder = find_folder(info.name, info.folder, root)
    rows = read_index(folder, "pairs.csv", required, verify=verify)
    return folder, rows


def _fixed(value):
    return lambda row: list(value)


# ----------------------------------------------------------------------------- loaders

def _load_vifb(info, root, *, subset=None, verify=True):
    _check_subset(info, subset)
    folder, rows = _open(info, root, verify, ("pair_id", "a", "b", "width", "height"))
    index = read_index(folder, "fused_index.csv", ("pair_id", "method", "path"), key=None, verify=verify)
    table = {(r["pair_id"], r["method"]): r["path"] for r in index}
    return VIFBDataset(info, folder, rows, modes=_fixed(["L", "RGB"]), task=lambda r: "infrared-visible",
                       modalities=_fixed(["infrared", "visible"]), verify=verify, methods=VIFB_METHODS,
                       fused_path=lambda m, r: table.get((r["pair_id"], m)))


def _load_ir_vis(modes):
    def loader(info, root, *, subset=None, verify=True):
        _check_subset(info, subset)
        folder, rows = _open(info, root, verify, ("pair_id", "a", "b", "width", "height"))
        return RealDataset(info, folder, rows, modes=_fixed(modes), task=lambda r: "infrared-visible",
                           modalities=_fixed(["infrared", "visible"]), verify=verify)
    return loader


def _load_lytro(info, root, *, subset=None, verify=True):
    _check_subset(info, subset)
    folder, rows = _open(info, root, verify, ("pair_id", "a", "b", "width", "height"))

    def fused_path(method, row):
        if row.get("fused_available", "") != "True":
            return None
        return f"fused_images/{row['pair_id']}_{method}.jpg"

    return RealDataset(info, folder, rows, modes=_fixed(["RGB", "RGB"]), task=lambda r: "multi-focus",
                       modalities=_fixed(["focus A", "focus B"]), verify=verify,
                       methods=LYTRO_METHODS, fused_path=fused_path)


def _load_liu2020(info, root, *, subset=None, verify=True):
    _check_subset(info, subset)
    folder, rows = _open(info, root, verify, ("pair_id", "kind", "a", "b", "width", "height"))
    if subset is not None:
        rows = [r for r in rows if r["kind"] == subset]

    def fused_path(method, row):
        d = row.get("fused_dir", "").strip()
        return f"{d}/{row['pair_id']}_{method}.png" if d else None

    def modes(row):
        if row["kind"] not in ("color", "grayscale"):
            raise PairsFileError(f"{folder / 'pairs.csv'}: line {row['_line']}: `kind` must be 'color' or "
                                 f"'grayscale'; got {row['kind']!r} (bad pairs.csv row)")
        return ["RGB", "RGB"] if row["kind"] == "color" else ["L", "L"]

    return RealDataset(info, folder, rows, modes=modes, task=lambda r: "multi-focus",
                       modalities=_fixed(["focus A", "focus B"]), verify=verify, subset=subset,
                       methods=LIU2020_METHODS, fused_path=fused_path)


def _load_mefb(info, root, *, subset=None, verify=True):
    _check_subset(info, subset)
    folder, rows = _open(info, root, verify, ("pair_id", "a", "b", "width", "height"))
    return RealDataset(info, folder, rows, modes=_fixed(["RGB", "RGB"]), task=lambda r: "multi-exposure",
                       modalities=_fixed(["under-exposed", "over-exposed"]), verify=verify)


def _load_harvard(info, root, *, subset=None, verify=True):
    _check_subset(info, subset)
    folder, rows = _open(info, root, verify, ("task", "pair_id", "a", "b", "a_modality", "b_modality",
                                              "width", "height"))
    if subset is not None:
        rows = [r for r in rows if r["task"] == subset]

    def modes(row):
        return ["L" if row["a_modality"] == "CT" else "RGB", "L"]

    return RealDataset(info, folder, rows, modes=modes, task=lambda r: "medical",
                       modalities=lambda r: [r["a_modality"], r["b_modality"]], verify=verify, subset=subset)


def _load_ifcnn(info, root, *, subset=None, verify=True):
    _check_subset(info, subset)
    folder, rows = _open(info, root, verify, ("task", "pair_id", "a", "b", "width", "height", "ifcnn_result"))
    if subset is not None:
        rows = [r for r in rows if r["task"] == subset]
    for r in rows:
        if r["task"] not in ("infrared-visible", "medical", "multi-exposure"):
            raise PairsFileError(f"{folder / 'pairs.csv'}: line {r['_line']}: unknown task {r['task']!r} "
                                 "(bad pairs.csv row)")

    def modes(row):
        return ["RGB"] if row["task"] == "multi-exposure" else ["L", "L"]

    def modalities(row):
        if row["task"] == "infrared-visible":
            return ["infrared", "visible"]
        if row["task"] == "medical":
            return ["medical A", "medical B"]
        n = len([p for p in row["a"].split(";") if p])
        return [f"exposure {k + 1}" for k in range(n)]

    def fused_path(method, row):
        return row["ifcnn_result"].strip() or None

    return RealDataset(info, folder, rows, modes=modes, task=lambda r: r["task"], modalities=modalities,
                       verify=verify, subset=subset, methods=("IFCNN",), fused_path=fused_path)


def read_ms_tif(path: str | os.PathLike, dtype: str = "float32") -> np.ndarray:
    """A 4-band 8-bit multispectral TIFF (H×W×4, as exported in ``nbu_iaoa``) as ``(4, H, W)``.

    ``fusionlib.io.read_image`` would take a 4th channel for alpha, so the MS
    bands are read here. Raises :class:`fusionlib.io.ImageReadError` naming the
    file for a missing, undecodable, non-8-bit or non-4-band file.
    """
    import imageio.v3 as iio

    path = Path(path)
    if not path.is_file():
        raise ImageReadError(f"read_ms_tif: file not found: {path}")
    try:
        arr = np.asarray(iio.imread(path))
    except Exception as e:
        raise ImageReadError(f"read_ms_tif: cannot decode {path} (truncated or corrupt?): "
                             f"{e.__class__.__name__}: {e}") from None
    if arr.dtype != np.uint8:
        raise ImageReadError(f"read_ms_tif: {path} has sample type {arr.dtype}; expected 8-bit (uint8)")
    if arr.ndim != 3 or arr.shape[-1] != 4:
        raise ImageReadError(f"read_ms_tif: {path} has shape {arr.shape}; expected H x W x 4 (R, G, B, NIR)")
    chw = np.ascontiguousarray(np.moveaxis(arr, -1, 0))
    return chw if dtype == "uint8" else chw.astype(np.float32) / np.float32(255.0)


def read_nbu_mat(path: str | os.PathLike) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Read IAOA's ``imageData.mat`` (MATLAB v7.3 = HDF5; needs ``h5py``).

    ``scipy.io.loadmat`` cannot read v7.3 files, which is why :func:`load` reads
    the exported ``ms.tif`` / ``pan.png`` instead; this function exists to check
    that they agree (``tests/data``).

    Returns
    -------
    dict
        ``{pair_id: (ms (4, 256, 256) uint8, pan (1, 256, 256) uint8)}`` with the
        pair ids of ``pairs.csv`` (``quickbird_urban_1`` ...).

    Notes
    -----
    h5py gives the MATLAB arrays transposed (column-major): MS as (band, col, row),
    PAN as (col, row); struct arrays as (scene, k) object references
    (``nbu_iaoa/MANIFEST.md``).
    """
    try:
        import h5py
    except ImportError:
        raise ImportError("read_nbu_mat: reading MATLAB v7.3 files needs h5py (pip install h5py)") from None
    scenes = ("urban", "green_vegetation", "water", "coast")
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    with h5py.File(path, "r") as f:
        grp = f["imageData"]
        for sat in ("QuickBird", "Gaofen"):
            refs = grp[sat]
            ms_refs, pan_refs = refs["MS"], refs["PAN"]
            for t, scene in enumerate(scenes):
                for k in range(ms_refs.shape[1]):
                    ms = np.asarray(f[ms_refs[t, k]])          # (band, col, row)
                    pan = np.asarray(f[pan_refs[t, k]])        # (col, row)
                    ms = np.ascontiguousarray(ms.transpose(0, 2, 1))
                    pan = np.ascontiguousarray(pan.T)[None]
                    out[f"{sat.lower()}_{scene}_{k + 1}"] = (ms, pan)
    return out


class NBUDataset(RealDataset):
    """IAOA pansharpening pairs: ``sources = [ms, pan]``, ``reference = ms``."""

    def _build_sample(self, i: int, dtype: str) -> Sample:
        row = self.rows[i]
        p_ms = check_file(self.folder, row["ms"], verify=self.verify)
        p_pan = check_file(self.folder, row["pan"], verify=self.verify)
        ms = read_ms_tif(p_ms, dtype)
        pan = read8(p_pan, "L", dtype)
        check_pair_sizes([p_ms, p_pan], [ms, pan], where=f"load({self.info.name!r})")
        meta: dict[str, Any] = {k: v for k, v in row.items() if k not in ("_line", "a", "b")}
        meta.update(dataset=self.info.name, task="pansharpening", modalities=["MS", "PAN"],
                    paths=[str(p_ms), str(p_pan)], synthetic=False, ratio=4,
                    sensor=row["satellite"], scene=row["scene"], bands=("R", "G", "B", "NIR"),
                    pan_synthetic=True,
                    protocol="IAOA: reference = MS; input MS_LR = bicubic(bicubic(MS, 1/4), 4); "
                             "PAN used as stored (same size as MS)")
        return Sample(row["pair_id"], [ms, pan], ms.copy(), meta)


def _load_nbu(info, root, *, subset=None, verify=True):
    _check_subset(info, subset)
    folder, rows = _open(info, root, verify, ("pair_id", "satellite", "scene", "ms", "pan"))
    if subset is not None:
        rows = [r for r in rows if r["satellite"] == subset]
    for r in rows:
        r.setdefault("a", r["ms"])
        r.setdefault("b", r["pan"])

    return NBUDataset(info, folder, rows, modes=_fixed([None, "L"]), task=lambda r: "pansharpening",
                      modalities=_fixed(["MS", "PAN"]), verify=verify, subset=subset)


# ----------------------------------------------------------------------------- registry

def _info(name, title, tasks, loader, **kw) -> DatasetInfo:
    repo, commit = kw["source_repo"], kw["source_commit"]
    return DatasetInfo(name=name, title=title, tasks=tuple(tasks), loader=loader,
                       download_url=_RAW.format(repo=repo, commit=commit), embedded=False,
                       synthetic=False, **kw)


_NO_LICENCE = "No licence file in the source repository; research use with citation, do not redistribute. "

DATASETS.add("vifb", _info(
    "vifb", "VIFB visible-infrared benchmark", ["infrared-visible"], _load_vifb,
    description="21 IR/visible pairs with fused images of 25 methods and VIFB's per-image table of 13 "
                "metrics. IR returned as 1 channel (17 files are 3-channel gray), visible RGB. "
                "SwinFusion and YDTR fused images do not match their table values.",
    citation="X. Zhang, P. Ye, G. Xiao, \"VIFB: A Visible and Infrared Image Fusion Benchmark\", "
             "CVPR Workshops 2020.",
    doi="arXiv:2002.03322",
    licence=_NO_LICENCE + "Images from INO, RGBT234, OSU and others, each with its own terms.",
    source_repo="xingchenzhang/VIFB", source_commit="22b2ea9d91499cc5962d9bdcae9c290270f0fade",
    folder="vifb", has_reference=False, n_samples=21, modalities=("infrared", "visible"),
    sizes="320×240 to 768×276 / 640×480"))

DATASETS.add("tno", _info(
    "tno", "TNO infrared-visible pairs (CDDFuse test set)", ["infrared-visible"], _load_ir_vis(["L", "L"]),
    description="25 numbered TNO IR/visible pairs; all files are 3-channel gray and are returned as 1 channel.",
    citation="A. Toet, \"TNO Image Fusion Dataset\", figshare 2014; Z. Zhao et al., \"CDDFuse\", CVPR 2023.",
    doi="10.6084/m9.figshare.1008029",
    licence="TNO on figshare: believed CC BY 4.0 (not checked); CDDFuse repository has no licence file.",
    source_repo="Zhaozixiang1228/MMIF-CDDFuse", source_commit="fd8da1f39d8d403b7343e577bd5a30cba38c7b7b",
    folder="tno_cddfuse", has_reference=False, n_samples=25, modalities=("infrared", "visible"),
    sizes="256×256 to 768×576"))

DATASETS.add("roadscene", _info(
    "roadscene", "RoadScene (FLIR-derived) infrared-visible pairs", ["infrared-visible"],
    _load_ir_vis(["L", "RGB"]),
    description="50 aligned FLIR ADAS IR/visible pairs (CDDFuse's RoadScene test list); IR 1 channel, "
                "visible RGB.",
    citation="H. Xu, J. Ma, J. Jiang, X. Guo, H. Ling, \"U2Fusion: A Unified Unsupervised Image Fusion "
             "Network\", IEEE TPAMI 2020 (and FusionDN, AAAI 2020).",
    doi="10.1109/TPAMI.2020.3012548",
    licence=_NO_LICENCE + "Derived from FLIR ADAS (FLIR's research terms apply).",
    source_repo="hanna-xu/RoadScene", source_commit="ab71420f8fc96396eeb97eecf3694909b3feb656",
    folder="roadscene", has_reference=False, n_samples=50, modalities=("infrared", "visible"),
    sizes="width 376–606, height 161–426"))

DATASETS.add("lytro", _info(
    "lytro", "Lytro multi-focus pairs (MFIFB)", ["multi-focus"], _load_lytro,
    description="All 20 Lytro pairs (original JPEGs, 520×520 RGB); fused images of 30 MFIFB methods on "
                "lytro_01..05.",
    citation="M. Nejati, S. Samavi, S. Shirani, \"Multi-focus image fusion using dictionary-based sparse "
             "representation\", Information Fusion 25 (2015) 72–84; X. Zhang, \"Multi-focus Image Fusion: "
             "A Benchmark\", arXiv:2005.01116.",
    doi="10.1016/j.inffus.2014.10.004",
    licence=_NO_LICENCE, source_repo="xingchenzhang/MFIFB",
    source_commit="a3cc5104613c97c58e9c9f9da9fd075bd72c12f8", folder="mfifb_lytro", has_reference=False,
    n_samples=20, modalities=("focus A", "focus B"), sizes="520×520"))

DATASETS.add("liu2020", _info(
    "liu2020", "Multi-focus survey of Liu et al. 2020", ["multi-focus"], _load_liu2020,
    description="30 pairs: 20 colour Lytro pairs (c_XX; 16 read from ../mfifb_lytro) and 10 grayscale "
                "pairs (g_XX); fused results of 18 methods on c_01, c_05, c_10, c_15, g_01, g_04, g_07.",
    citation="Y. Liu, L. Wang, J. Cheng, C. Li, X. Chen, \"Multi-focus image fusion: A survey of the "
             "state of the art\", Information Fusion 64 (2020) 71–91.",
    doi="10.1016/j.inffus.2020.06.013",
    licence=_NO_LICENCE, source_repo="yuliu316316/MFIF",
    source_commit="267c081b8f3dd29cc62284463ca1cd16dc9b352a", folder="mfif_liu2020", has_reference=False,
    n_samples=30, modalities=("focus A", "focus B"), sizes="160×160 to 640×480; colour 520×520",
    subsets=("color", "grayscale")))

DATASETS.add("mefb", _info(
    "mefb", "MEFB multi-exposure pairs (20 of 100)", ["multi-exposure"], _load_mefb,
    description="20 under-/over-exposed RGB pairs from MEFB (no fused images).",
    citation="X. Zhang, \"Benchmarking and comparing multi-exposure image fusion algorithms\", "
             "Information Fusion 74 (2021) 111–131.",
    doi="10.1016/j.inffus.2021.02.005",
    licence=_NO_LICENCE + "Sequences from MEF collections (e.g. Kede Ma's database).",
    source_repo="xingchenzhang/MEFB", source_commit="9e185bf88de280b12a2d9a2ff12d66e40bc1ff91",
    folder="mefb", has_reference=False, n_samples=20, modalities=("under-exposed", "over-exposed"),
    sizes="231×338 to 1200×802"))

DATASETS.add("harvard", _info(
    "harvard", "Harvard Whole Brain Atlas test pairs", ["medical"], _load_harvard,
    description="72 pairs, 24 each of CT-MRI, PET-MRI, SPECT-MRI (256×256); CT and MRI 1 channel, "
                "PET/SPECT RGB pseudo-colour (fuse their Y channel).",
    citation="K. A. Johnson, J. A. Becker, \"The Whole Brain Atlas\", Harvard Medical School, "
             "http://www.med.harvard.edu/AANLIB/ (split of xianming-gu/Havard-Medical-Image-Fusion-Datasets).",
    doi="",
    licence="No licence file; the atlas is free for education and research, commercial reuse not granted.",
    source_repo="xianming-gu/Havard-Medical-Image-Fusion-Datasets",
    source_commit="984d169e8abd01baa130db3c5b9be3ba80191c1f", folder="medical_harvard",
    has_reference=False, n_samples=72, modalities=("CT/PET/SPECT", "MRI"), sizes="256×256",
    subsets=("CT-MRI", "PET-MRI", "SPECT-MRI")))

DATASETS.add("ifcnn", _info(
    "ifcnn", "IFCNN test sets", ["infrared-visible", "medical", "multi-exposure"], _load_ifcnn,
    description="14 named TNO IR/visible pairs, 8 medical pairs (gray), 6 multi-exposure sequences of 4–6 "
                "RGB images; IFCNN's own fused result for each (ds.fused('IFCNN', id)).",
    citation="Y. Zhang, Y. Liu, P. Sun, H. Yan, X. Zhao, L. Zhang, \"IFCNN: A general image fusion "
             "framework based on convolutional neural network\", Information Fusion 54 (2020) 99–118.",
    doi="10.1016/j.inffus.2019.07.011",
    licence=_NO_LICENCE, source_repo="uzeful/IFCNN", source_commit="8fe59c2b1553e52acc793986208ca479d134a8da",
    folder="ifcnn_testsets", has_reference=False, n_samples=28,
    modalities=("IR/A/exposure 1", "visible/B/exposure 2", "..."), sizes="222×348 to 752×500",
    subsets=("infrared-visible", "medical", "multi-exposure")))

DATASETS.add("nbu_iaoa", _info(
    "nbu_iaoa", "IAOA pansharpening images (NBU QuickBird/Gaofen)", ["pansharpening"], _load_nbu,
    description="16 MS/PAN pairs (QuickBird, Gaofen × Urban, Green vegetation, Water, Coast × 2): MS "
                "4×256×256 uint8 (R, G, B, NIR), PAN 1×256×256 uint8 = rgb2gray(MS) (synthetic, same size "
                "as MS). Read from the exported ms.tif/pan.png (checked equal to imageData.mat in tests). "
                "reference = MS (IAOA's reduced-resolution protocol degrades it by ratio 4).",
    citation="X. Meng et al., \"A Large-Scale Benchmark Data Set for Evaluating Pansharpening Performance\", "
             "IEEE GRSM 2020; images as used by the IAOA paper (Mi, Luo, Zhou 2024).",
    doi="10.1109/MGRS.2020.2976696",
    licence="NBU_PansharpRSData: Apache-2.0 file plus 'academic purpose only'; the IAOA repository has no "
            "licence file. Academic reproduction only, do not redistribute.",
    source_repo="starboot/IAOA-For-Image-Fusion", source_commit="cce2a5c6261931aad7ec3df63eff46c17aaaa557",
    folder="nbu_iaoa", has_reference=True, n_samples=16, modalities=("MS", "PAN"), sizes="256×256",
    subsets=("QuickBird", "Gaofen")))
