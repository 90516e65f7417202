"""AE-Netv2 experiment harness: splits, train-or-load with a disk cache, the 8 indexes, statistics.

The book's chapters 06-09 (paper experiments A4-A12 of ``shared/notes/aenetv2.md`` §9) are built
on these pieces:

* **Splits** (:func:`task_splits`): fixed, documented, seeded train/test splits per task. The split
  seed is separate from the training seeds, so every training seed is scored on the *same* test
  images (which makes the paired tests below legitimate). No test image is ever a training image.
* **Train or load** (:func:`train_or_load`): one cache folder per (experiment, variant, seed) holding
  the weights, the training history and a fingerprint of the configuration and the training data; a
  finished entry is loaded instead of retrained, a stale one (different fingerprint) is retrained.
  Interrupted sweeps resume at the first missing (variant, seed).
* **Indexes** (:func:`score_fused`, :func:`add_combined`): the paper's eight indexes, Combined (E2),
  NIQE, SSIM, EN, PSNR, BRENNER, VIFF, plus time and size.
* **Statistics** (:func:`summarize`, :func:`paired_tests`, :func:`friedman`, :func:`holm`): mean ± sd
  over seeds, paired Wilcoxon / t tests with Holm's correction, Friedman's test over variants.
* **Normalisation** (:func:`normalize_indexes`): Fig. 6's averaged objective indexes (PSNR
  normalised, NIQE inverted and normalised).
* **Timing** (:func:`timing_images`, :func:`time_inference`): the protocol of §IV-A-4b.

Everything takes explicit seeds; every file is written atomically.
"""
from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import torch

from .._checks import ShapeError, check_choice, check_int
from ..utils import (CacheEntryError, atomic_path, discard_corrupt, progress, resolve_device,
                     write_json_atomic)
from .stats import friedman_ranks, holm  # noqa: F401  (holm: public here since the studies used it)

__all__ = [
    "TASKS", "EMBEDDED", "PAPER_TABLE4", "table4", "SampleRef", "TaskSplit", "seeded_split", "task_splits", "load_pair",
    "load_pairs", "sample_patches", "TrainSet", "StudyConfig", "Trained", "train_or_load", "cache_entry",
    "INDEXES", "LOWER_IS_BETTER", "SCORE_NAMES", "score_fused", "score_batch", "evaluate_method", "add_combined", "summarize",
    "format_mean_sd", "holm", "paired_test", "TestResult", "paired_tests", "friedman", "FriedmanResult",
    "normalize_indexes", "transfer_matrix", "timing_images", "time_inference", "Timing",
    "PAPER_TABLE7", "PAPER_CLAIMS", "fingerprint", "Variant", "build_trainset", "StudyResult",
    "model_fuser", "run_study", "content_key", "default_labeler", "LIBRARY_FAST", "PROFILES", "profile_budget", "study_splits",
]

#: The four fusion tasks of the study (the paper's fifth, CVS, has no public data: dropped).
TASKS = ("infrared-visible", "multi-focus", "multi-exposure", "medical")

#: Embedded (offline, synthetic) stand-in per task for the smoke profile. Medical has none.
EMBEDDED = {"infrared-visible": "embedded_irvis", "multi-focus": "embedded_multifocus",
            "multi-exposure": "embedded_multiexposure"}

#: The eight indexes of Table VII / Fig. 6 computed per image (time and size are per model).
INDEXES = ("combined", "niqe", "ssim", "en", "psnr", "brenner", "viff")
#: Indexes where lower is better.
LOWER_IS_BETTER = frozenset({"niqe", "time_ms", "size_kb"})

#: Table IV of the paper (its data sets; "aligned", pairs), as printed; CVS is the authors' own and
#: not public (notes section 8).
PAPER_TABLE4 = {
    "multi-exposure": ("multi-exposure [49] (SICE-sized)", True, 4413),
    "multi-focus": ("Lytro and MFIF", True, 125),
    "medical": ("brain CT, MRI", True, 97),
    "infrared-visible": ("FLIR, VIFB and RGBT", True, 14473),
    "CVS": ("combined vision system (authors' own)", False, 4000),
}


def table4(splits: Mapping[str, "TaskSplit"]):
    """Table IV beside the data we use: per task the paper's data set and pair count, and our train
    and test pairs with the split rule (CVS: no public data)."""
    import pandas as pd
    rows = {}
    for task, (name, aligned, n) in PAPER_TABLE4.items():
        s = splits.get(task)
        rows[task] = {"paper data": name, "paper aligned": aligned, "paper pairs": n,
                      "our train pairs": None if s is None else len(s.train),
                      "our test pairs": None if s is None else len(s.test),
                      "our data": "not public: dropped" if task == "CVS" else
                      ("no embedded set" if s is None else s.rule)}
    df = pd.DataFrame(rows).T
    for c in ("paper pairs", "our train pairs", "our test pairs"):
        df[c] = df[c].astype("Int64")
    return df


#: Table VII of the paper, as printed (Combined, NIQE, SSIM, EN, PSNR, BRENNER, VIFF, ms, MB).
PAPER_TABLE7 = {
    "regular": (1.35, 0.72, 0.63, 6.42, 0.48, 5.63, 0.32, 10.17, 0.48),
    "gcb": (1.29, 0.70, 0.62, 6.42, 0.48, 5.20, 0.34, 9.83, 0.07),
    "inception": (1.33, 0.69, 0.63, 6.30, 0.48, 5.55, 0.34, 10.83, 0.91),
    "separable": (1.42, 0.64, 0.64, 6.31, 0.48, 6.15, 0.33, 9.67, 0.11),
    "squeeze": (1.61, 0.65, 0.63, 6.29, 0.48, 7.53, 0.32, 9.83, 0.25),
    "gcb_inception": (1.26, 0.69, 0.63, 6.46, 0.48, 5.00, 0.35, 11.67, 0.11),
    "squeeze_gcb": (1.61, 0.66, 0.63, 6.29, 0.48, 7.48, 0.32, 9.83, 0.08),
    "squeeze2_gcb": (1.67, 0.63, 0.62, 6.33, 0.48, 7.97, 0.31, 13.83, 0.10),
}

#: The abstract's / §IV-C-2 claims with the numbers they trace back to (notes §1).
PAPER_CLAIMS = {
    "size_kb": {"claim": "model size about 69 KB", "value": 69.0, "unit": "KB"},
    "speedup_vs_fastest_dl": {"claim": "2.14x faster than the fastest DL method (IFCNN, 0.021 s)",
                              "value": 2.14, "unit": "x"},
    "size_ratio_vs_smallest_dl": {"claim": "11.59x smaller than the smallest DL model (PGMI 0.80 MB)",
                                  "value": 11.59, "unit": "x"},
    "time_s": {"claim": "0.0098 s per 400x400 image (RTX 2070)", "value": 0.0098, "unit": "s"},
    "params": {"claim": "5,378 parameters (Table VI)", "value": 5378, "unit": ""},
}


# ================================================================================================ splits

@dataclass(frozen=True)
class SampleRef:
    """One test or training pair: data set, pair id, optional subset; ``size``/``seed`` for embedded sets."""

    dataset: str
    id: str
    subset: str | None = None
    size: int | None = None
    seed: int = 0

    @property
    def key(self) -> str:
        sub = f"/{self.subset}" if self.subset else ""
        return f"{self.dataset}{sub}/{self.id}"


@dataclass(frozen=True)
class TaskSplit:
    """The train and test pairs of one task, with the rule that made them."""

    task: str
    train: tuple[SampleRef, ...]
    test: tuple[SampleRef, ...]
    rule: str

    def head(self, n_train: int | None = None, n_test: int | None = None) -> "TaskSplit":
        """``n_train`` / ``n_test`` pairs (None: all), for budgeted profiles: taken round-robin over the
        data sets / subsets of the split (so a cut keeps TNO beside RoadScene, PET beside CT), each
        in its split order."""
        tr = self.train if n_train is None else _round_robin(self.train)[:n_train]
        te = self.test if n_test is None else _round_robin(self.test)[:n_test]
        rule = self.rule
        if len(tr) < len(self.train) or len(te) < len(self.test):
            rule += f" ({len(tr)} train / {len(te)} test pairs used, round-robin over the sets)"
        return TaskSplit(self.task, tr, te, rule)

    def describe(self) -> dict[str, Any]:
        return {"task": self.task, "train": len(self.train), "test": len(self.test), "rule": self.rule}


def _round_robin(refs: Sequence[SampleRef]) -> tuple[SampleRef, ...]:
    groups: dict[tuple, list[SampleRef]] = {}
    for r in refs:
        groups.setdefault((r.dataset, r.subset), []).append(r)
    lists, out = list(groups.values()), []
    for i in range(max((len(g) for g in lists), default=0)):
        out += [g[i] for g in lists if i < len(g)]
    return tuple(out)


def seeded_split(ids: Sequence[str], n_test: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """Split ``ids`` into (train, test) with a seeded permutation; both keep the input order.

    The same ``(ids, n_test, seed)`` always gives the same split; train and test are disjoint and
    together are ``ids``.
    """
    ids = list(ids)
    if len(set(ids)) != len(ids):
        raise ValueError("seeded_split: `ids` must be unique")
    n_test = check_int("seeded_split", "n_test", n_test, minimum=1, maximum=max(1, len(ids) - 1))
    if len(ids) < 2:
        raise ValueError(f"seeded_split: `ids` needs at least 2 entries; got {len(ids)}")
    perm = np.random.default_rng(seed).permutation(len(ids))
    test_pos = set(perm[:n_test].tolist())
    return ([k for i, k in enumerate(ids) if i not in test_pos], [k for i, k in enumerate(ids) if i in test_pos])


def _ids(name: str, root, subset: str | None = None) -> list[str]:
    from .. import data
    return list(data.load(name, root, subset=subset).ids)


def task_splits(profile: str = "smoke", *, root: str | os.PathLike | None = None,
                tasks: Iterable[str] | None = None, split_seed: int = 0, embedded_size: int = 192,
                embedded_test: int = 3) -> dict[str, TaskSplit]:
    """The documented train/test split of every task.

    Parameters
    ----------
    profile : {'smoke', 'standard', 'full'}
        ``'smoke'``: the embedded synthetic sets (8 pairs each, ``embedded_test`` for testing, chosen
        by ``split_seed``); medical has no embedded set and is left out. ``'standard'``/``'full'``:
        the real stand-ins of notes §8 -
        infrared-visible: train RoadScene + TNO, test VIFB (21);
        multi-focus: train Lytro 06-20 + Liu 2020 grayscale, test Lytro 01-05;
        multi-exposure: train the IFCNN sequences + MEFB pairs 11-20, test MEFB 1-10;
        medical: per modality (CT, PET, SPECT - MRI) a seeded 16/8 split of the 24 Harvard pairs.
    root : path, optional
        Data root for the real sets (:func:`fusionlib.data.find_root`).
    tasks : iterable of str, optional
        Subset of :data:`TASKS` (default all available).
    split_seed : int
        Seed of the seeded splits (embedded sets, medical). Independent of the training seeds.
    embedded_size : int
        Side of the embedded images (>= 192 so that NIQE has 2 x 2 blocks of 96 px).

    Returns
    -------
    dict
        task -> :class:`TaskSplit`.
    """
    where = "task_splits"
    check_choice(where, "profile", profile, ("smoke", "standard", "full"))
    tasks = list(TASKS if tasks is None else tasks)
    for t in tasks:
        check_choice(where, "tasks", t, TASKS)
    out: dict[str, TaskSplit] = {}
    if profile == "smoke":
        for t in tasks:
            if t not in EMBEDDED:
                continue
            name = EMBEDDED[t]
            ids = _ids(name, None)
            tr, te = seeded_split(ids, embedded_test, split_seed)
            mk = (lambda i, n=name: SampleRef(n, i, size=embedded_size, seed=0))
            out[t] = TaskSplit(t, tuple(map(mk, tr)), tuple(map(mk, te)),
                               f"{name} ({len(ids)} synthetic pairs, {embedded_size} px): seeded split "
                               f"(split_seed={split_seed}), {len(te)} test")
        return out
    for t in tasks:
        if t == "infrared-visible":
            train = [SampleRef("roadscene", i) for i in _ids("roadscene", root)] + \
                    [SampleRef("tno", i) for i in _ids("tno", root)]
            test = [SampleRef("vifb", i) for i in _ids("vifb", root)]
            rule = "train RoadScene (50) + TNO (25), test VIFB (21)"
        elif t == "multi-focus":
            ly = _ids("lytro", root)
            test = [SampleRef("lytro", i) for i in ly[:5]]
            train = [SampleRef("lytro", i) for i in ly[5:]] + \
                    [SampleRef("liu2020", i, "grayscale") for i in _ids("liu2020", root, "grayscale")]
            rule = "train Lytro 06-20 + Liu 2020 grayscale (10), test Lytro 01-05"
        elif t == "multi-exposure":
            me = _ids("mefb", root)
            test = [SampleRef("mefb", i) for i in me[:10]]
            train = [SampleRef("ifcnn", i, "multi-exposure") for i in _ids("ifcnn", root, "multi-exposure")] + \
                    [SampleRef("mefb", i) for i in me[10:]]
            rule = "train IFCNN sequences (6, darkest + brightest frame) + MEFB 11-20, test MEFB 1-10"
        else:
            train, test = [], []
            for sub in ("CT-MRI", "PET-MRI", "SPECT-MRI"):
                tr, te = seeded_split(_ids("harvard", root, sub), 8, split_seed)
                train += [SampleRef("harvard", i, sub) for i in tr]
                test += [SampleRef("harvard", i, sub) for i in te]
            rule = f"Harvard, per modality a seeded 16/8 split (split_seed={split_seed})"
        out[t] = TaskSplit(t, tuple(train), tuple(test), rule)
    return out


@functools.lru_cache(maxsize=64)
def _dataset(name: str, subset: str | None, root: str | None, size: int | None, seed: int):
    from .. import data
    if data.info(name).embedded:
        return data.load(name, size=size, seed=seed)
    return data.load(name, root, subset=subset)


def _gray(a: np.ndarray) -> np.ndarray:
    """(C, H, W) float in [0, 1] -> (1, H, W) float32: BT.601 luma for colour, as is for gray."""
    a = np.asarray(a, dtype=np.float32)
    if a.shape[0] == 1:
        return a
    y = 0.299 * a[0] + 0.587 * a[1] + 0.114 * a[2]
    return np.clip(y, 0.0, 1.0)[None].astype(np.float32)


def load_pair(ref: SampleRef, root: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The two gray sources ``(1, H, W)`` float32 in [0, 1] of ``ref`` (the paper fuses grayscale).

    Sequences with more than two frames (IFCNN multi-exposure) give their darkest and brightest frame.
    """
    ds = _dataset(ref.dataset, ref.subset, None if root is None else str(root), ref.size, ref.seed)
    srcs = [_gray(s) for s in ds[ref.id].sources]
    if len(srcs) > 2:
        means = [float(s.mean()) for s in srcs]
        srcs = [srcs[int(np.argmin(means))], srcs[int(np.argmax(means))]]
    return srcs[0], srcs[1]


def load_pairs(refs: Sequence[SampleRef], root=None) -> list[tuple[np.ndarray, np.ndarray]]:
    return [load_pair(r, root) for r in refs]


# ================================================================================================ training

def fingerprint(obj: Any) -> str:
    """A short, stable SHA-256 of a JSON-able object (configs, lists of pair keys)."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class TrainSet:
    """Training patches ``a, b, o`` (each ``(N, 1, p, p)`` float32) and where they came from."""

    a: torch.Tensor
    b: torch.Tensor
    o: torch.Tensor
    keys: tuple[str, ...]
    tasks: tuple[str, ...]
    seed: int

    @property
    def fingerprint(self) -> str:
        return fingerprint({"keys": list(self.keys), "tasks": list(self.tasks), "seed": self.seed,
                            "n": int(self.a.shape[0]), "p": int(self.a.shape[-1])})

    def __len__(self) -> int:
        return int(self.a.shape[0])

    def loader(self, batch_size: int, seed: int):
        """Shuffled ``(a, b, o)`` batches (seeded generator): :class:`fusionlib.nets.TensorBatches`, the
        batches of a shuffling ``DataLoader(TensorDataset(a, b, o))`` without its per-sample overhead."""
        from ..nets.training import TensorBatches
        g = torch.Generator().manual_seed(int(seed))
        return TensorBatches(self.a, self.b, self.o, batch_size=batch_size, generator=g,
                             drop_last=len(self) > batch_size)


def sample_patches(triples: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]], *, patch: int,
                   n_patches: int, seed: int = 0, keys: Sequence[str] = (), tasks: Sequence[str] = ()
                   ) -> TrainSet:
    """Random aligned crops of ``(a, b, o)`` triples (``(1, H, W)`` each), cycling over the images.

    Images smaller than ``patch`` are reflect-padded. Same ``seed`` -> same patches.
    """
    where = "sample_patches"
    patch = check_int(where, "patch", patch, minimum=8)
    n_patches = check_int(where, "n_patches", n_patches, minimum=1)
    if not triples:
        raise ValueError(f"{where}: `triples` is empty")
    stacks = []
    for i, tr in enumerate(triples):
        name = f"pair {keys[i]!r}" if i < len(keys) else f"triple {i}"
        if len(tr) != 3:
            raise ValueError(f"{where}: {name} must be (a, b, label); got {len(tr)} arrays")
        shapes = [tuple(np.shape(x)) for x in tr]
        if any(int(np.prod(s_)) != int(np.prod(s_[-2:])) for s_ in shapes) or len({s_[-2:] for s_ in shapes}) > 1:
            raise ShapeError(f"{where}: {name}: sources and label must be single-channel images of one size; "
                             f"got shapes {shapes}", expected=shapes[0][-2:], actual=shapes)
        st = np.concatenate([np.asarray(x, np.float32).reshape(1, *s_[-2:]) for x, s_ in zip(tr, shapes)], 0)
        bad = [n for n, plane in zip(("source a", "source b", "label"), st) if not np.isfinite(plane).all()]
        if bad:
            raise ValueError(f"{where}: {name}: {', '.join(bad)} contains NaN or Inf values")
        stacks.append(st)
    rng = np.random.default_rng(seed)
    out = np.empty((3, n_patches, 1, patch, patch), np.float32)
    for k in range(n_patches):
        stack = stacks[k % len(stacks)]
        h, w = stack.shape[-2:]
        ph, pw = max(0, patch - h), max(0, patch - w)
        if ph or pw:
            stack = np.pad(stack, ((0, 0), (0, ph), (0, pw)), mode="reflect" if (ph < h and pw < w) else "edge")
            h, w = stack.shape[-2:]
        y, x = int(rng.integers(0, h - patch + 1)), int(rng.integers(0, w - patch + 1))
        out[:, k, 0] = stack[:, y:y + patch, x:x + patch]
    t = torch.from_numpy(out)
    return TrainSet(t[0], t[1], t[2], tuple(keys), tuple(tasks), int(seed))


@dataclass(frozen=True)
class StudyConfig:
    """Training budget of one (variant, seed): ``epochs`` at ``lr`` over ``n_patches`` patches of side
    ``patch``, or the (epochs, lr) ``stages`` of Table II when given."""

    epochs: int = 2
    batch_size: int = 16
    lr: float = 1e-3
    patch: int = 128
    n_patches: int = 256
    weight_decay: float = 0.0
    stages: tuple[tuple[int, float], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Trained:
    """A trained (or loaded) variant: the model in eval mode, its history and cache facts."""

    model: torch.nn.Module
    variant: str
    seed: int
    history: dict[str, Any]
    cached: bool
    path: Path
    train_seconds: float = float("nan")
    source: str = ""    # "committed <file>", "cache" or "trained here"


def cache_entry(cache_dir: str | os.PathLike, experiment: str, variant: str, seed: int) -> Path:
    """The cache folder of one (experiment, variant, seed); :func:`train_or_load` keeps one sub-folder
    per configuration in it."""
    for n, v in (("experiment", experiment), ("variant", variant)):
        if not isinstance(v, str) or not v or "/" in v or v.startswith("."):
            raise ValueError(f"cache_entry: `{n}` must be a plain non-empty name; got {v!r}")
    return Path(cache_dir) / experiment / variant / f"seed{int(seed)}"


def _default_trainer(model, train: TrainSet, config: StudyConfig, *, seed: int, device, checkpoint: Path):
    """Train with :func:`fusionlib.nets.fit` and :class:`fusionlib.nets.FusionLoss`
    ((1 - SSIM(P, O)) + |P - O|_1); the checkpoint makes an interrupted run resume."""
    from .. import nets
    kw = {"stages": tuple(config.stages)} if config.stages else {"epochs": config.epochs, "lr": config.lr}
    tc = nets.TrainConfig(**kw, batch_size=config.batch_size, patch=config.patch, seed=seed,
                          device=str(device), checkpoint=str(checkpoint), weight_decay=config.weight_decay)
    hist = nets.fit(model, train.loader(config.batch_size, seed), nets.FusionLoss(), tc)
    return {k: (np.asarray(v).tolist() if isinstance(v, (list, tuple, np.ndarray)) else v)
            for k, v in hist.as_dict().items()}


#: Algorithm 1's library per task used by the smoke and standard profiles: the default of
#: :data:`fusionlib.nets.labels.DEFAULT_LIBRARY` without GTF (about 35 s per 192 px pair on our CPU).
LIBRARY_FAST = {"multi-focus": ("lp", "dwt", "dtcwt", "gff", "msvd"),
                "infrared-visible": ("lp", "rp", "dwt", "cbf", "gff"),
                "medical": ("lp", "dtcwt", "gff", "msvd"),
                "multi-exposure": ("mertens", "lp", "gff")}


def default_labeler(cache_dir: str | os.PathLike, *, profile: str = "smoke", device: str | None = "cpu"
                    ) -> Callable:
    """Algorithm 1 labels (:func:`fusionlib.nets.make_labeler`, cached under ``cache_dir/labels``).

    The ``full`` profile uses the nets' default library per task; ``smoke`` and ``standard`` leave
    out GTF (:data:`LIBRARY_FAST`; methods that are not registered are skipped by the labeler).
    """
    from .. import classical, nets
    check_choice("default_labeler", "profile", profile, tuple(PROFILES_NAMES))
    methods = None if profile == "full" else {t: tuple(m for m in v if m in classical.METHODS)
                                              for t, v in LIBRARY_FAST.items()}
    return nets.make_labeler(Path(cache_dir) / "labels", methods=methods, device=device)


def _adopt_legacy(base: Path, entry: Path, want: Mapping[str, Any]) -> None:
    """Move an entry of the earlier layout (files directly in ``base``) into ``entry`` when it was
    trained for the same request ``want``, so that a warm cache survives the layout change."""
    meta_path = base / "meta.json"
    if not (meta_path.is_file() and (base / "model.pt").is_file()):
        return
    try:
        meta = json.loads(meta_path.read_text())
    except ValueError:
        return
    if not all(meta.get(k) == v for k, v in want.items()):
        return
    entry.mkdir(parents=True, exist_ok=True)
    for f in ["model.pt", *[q.name for q in base.glob("scores_*.csv")], "meta.json"]:  # meta last
        try:
            os.replace(base / f, entry / f)
        except FileNotFoundError:  # another process is adopting the same entry
            pass


def train_or_load(experiment: str, variant: str, seed: int, train: TrainSet | Callable[[], TrainSet],
                  config: StudyConfig, *, cache_dir: str | os.PathLike, device: str = "auto",
                  build: Callable[[str], torch.nn.Module] | None = None,
                  trainer: Callable[..., Mapping[str, Any]] | None = None,
                  retrain: bool = False, data_key: str | None = None) -> Trained:
    """Train ``variant`` with ``seed`` on ``train``, or load it from the cache.

    Parameters
    ----------
    experiment, variant : str
        Cache names (``variant`` is also the network key given to ``build``).
    seed : int
        Seeds the weight initialisation (``torch.manual_seed``) and the batch order.
    train : TrainSet or callable returning one
        A callable is only called when training is needed (labels can be expensive).
    config : StudyConfig
    cache_dir : path
        Entries live in ``cache_dir/experiment/variant/seed<k>/<fingerprint>/`` (``model.pt``,
        ``meta.json``), one folder per request (experiment, variant, seed, config, data key): the
        smoke, standard and full profiles keep their networks side by side, so refreshing one never
        retrains another. An entry of the earlier layout (files directly in ``seed<k>/``) that
        matches the request is moved into its folder.
    build : callable, optional
        ``build(variant) -> nn.Module`` (default: ``fusionlib.nets.build``).
    trainer : callable, optional
        ``trainer(model, train, config, seed=, device=, checkpoint=) -> history dict`` (default:
        ``fusionlib.nets.fit``). ``checkpoint`` is a path for mid-training checkpoints, so an
        interrupted entry resumes.
    retrain : bool
        Ignore a finished entry.
    data_key : str, optional
        A cheap fingerprint of the training data's *specification* (pairs, tasks, patches, labels),
        compared with the stored one when ``train`` is a lazy callable.

    Returns
    -------
    Trained
        ``cached`` tells whether the weights came from disk. An entry whose training data
        fingerprint differs from the given ``TrainSet`` is retrained in place.
    """
    where = "train_or_load"
    seed = check_int(where, "seed", seed, minimum=0)
    if not isinstance(config, StudyConfig):
        raise TypeError(f"{where}: `config` must be a StudyConfig; got {type(config).__name__}")
    base = cache_entry(cache_dir, experiment, variant, seed)
    dev = resolve_device(device)
    if build is None:
        from .. import nets
        build = nets.build
    torch.manual_seed(seed)
    model = build(variant)
    want = {"experiment": experiment, "variant": variant, "seed": seed, "config": config.as_dict(),
            "data_key": data_key}
    want = json.loads(json.dumps(want, default=str))  # tuples -> lists, as stored
    entry = base / fingerprint(want)  # one folder per configuration: profiles never evict each other
    meta_path, weights = entry / "meta.json", entry / "model.pt"
    if not meta_path.is_file():
        _adopt_legacy(base, entry, want)
    if not retrain and meta_path.is_file() and weights.is_file():
        try:
            meta = json.loads(meta_path.read_text())
            if not isinstance(meta, dict):
                raise ValueError("not a JSON object")
        except (OSError, UnicodeDecodeError, ValueError) as e:
            discard_corrupt(meta_path, CacheEntryError.unreadable(meta_path, e),
                            action="retraining")
            meta = {}
        data_fp = meta.get("data")
        same = bool(meta) and all(meta.get(k) == v for k, v in want.items())
        if same and (not isinstance(train, TrainSet) or train.fingerprint == data_fp):
            try:
                state = torch.load(weights, map_location="cpu", weights_only=True)
                model.load_state_dict(state)
            except Exception as e:  # truncated/corrupt file or weights of another shape
                discard_corrupt(weights, CacheEntryError.unreadable(weights, e),
                                action="retraining")
                torch.manual_seed(seed)
                model = build(variant)  # load_state_dict may have copied some tensors already
            else:
                return Trained(model.to(dev).eval(), variant, seed, meta.get("history", {}), True, entry,
                               meta.get("train_seconds", float("nan")), source="cache")
    ts = train() if callable(train) and not isinstance(train, TrainSet) else train
    if not isinstance(ts, TrainSet):
        raise TypeError(f"{where}: `train` must be a TrainSet or a callable returning one; got {type(ts).__name__}")
    entry.mkdir(parents=True, exist_ok=True)
    model = model.to(dev)
    trainer = trainer or _default_trainer
    t0 = time.perf_counter()
    history = dict(trainer(model, ts, config, seed=seed, device=dev, checkpoint=entry / "checkpoint.pt"))
    seconds = time.perf_counter() - t0
    with atomic_path(weights) as tmp:
        torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, tmp)
    write_json_atomic(meta_path, {**want, "data": ts.fingerprint, "history": history,
                                  "train_seconds": seconds, "device": str(dev)})
    ck = entry / "checkpoint.pt"
    if ck.exists():
        ck.unlink()
    return Trained(model.eval(), variant, seed, history, False, entry, seconds, source="trained here")


# ================================================================================================ indexes

def _metric_fns() -> dict[str, Callable[[np.ndarray, list], float]]:
    from .. import metrics as m
    return {
        "niqe": lambda f, s: m.niqe(f),
        "ssim": lambda f, s: m.ssim(f, s),
        "en": lambda f, s: m.entropy(f, quantize=True),
        "psnr": lambda f, s: m.psnr(f, s),
        "brenner": lambda f, s: m.brenner(f),
        "viff": lambda f, s: m.vif(f, s, combine="mean"),
        "ag": lambda f, s: m.average_gradient(f),
        "mi": lambda f, s: m.mutual_information(f, s, quantize=True),
    }


#: What :func:`score_fused` computes by default (``ag`` and ``mi`` are E2 inputs, notes §6).
SCORE_NAMES = ("niqe", "ssim", "en", "psnr", "brenner", "viff", "ag", "mi")


def score_fused(fused: np.ndarray, sources: Sequence[np.ndarray], names: Sequence[str] = SCORE_NAMES,
                fns: Mapping[str, Callable] | None = None) -> dict[str, float]:
    """Per-image indexes of one fused image ``(1, H, W)`` against its gray sources.

    Conventions (reconstruction, notes §6): SSIM and PSNR are the mean over the two sources
    (``preset='default'``, 8-bit peak), VIFF is pixel-domain VIF averaged over the sources, EN is
    the 256-bin entropy of the rounded image, BRENNER the horizontal Brenner gradient on the 0..255
    scale, NIQE the MVG distance with the standard pristine model (lower is better).
    """
    fns = dict(_metric_fns() if fns is None else fns)
    f = np.clip(np.asarray(fused, np.float32), 0.0, 1.0)
    srcs = [np.asarray(s, np.float32) for s in sources]
    out = {}
    for n in names:
        if n not in fns:
            raise KeyError(f"score_fused: unknown index {n!r}; known: {sorted(fns)}")
        out[n] = float(fns[n](f, srcs))
    return out


def score_batch(fused: np.ndarray, a: np.ndarray, b: np.ndarray, names: Sequence[str] = SCORE_NAMES,
                fns: Mapping[str, Callable] | None = None) -> dict[str, np.ndarray]:
    """:func:`score_fused` for a batch: ``fused``, ``a``, ``b`` each ``(B, 1, H, W)``; ``{name: (B,)}``."""
    fns = dict(_metric_fns() if fns is None else fns)
    f = np.clip(np.asarray(fused, np.float32), 0.0, 1.0)
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    if f.ndim != 4 or f.shape != a.shape or a.shape != b.shape:
        raise ValueError(f"score_batch: `fused`, `a`, `b` must share one (B, 1, H, W) shape; got "
                         f"{f.shape}, {a.shape}, {b.shape}")
    out = {}
    for n in names:
        if n not in fns:
            raise KeyError(f"score_batch: unknown index {n!r}; known: {sorted(fns)}")
        out[n] = np.asarray(fns[n](f, [a, b]), dtype=float).reshape(f.shape[0])
    return out


def evaluate_method(method: str, fuse_fn: Callable[[np.ndarray, np.ndarray], np.ndarray],
                    refs: Sequence[SampleRef], tasks: Sequence[str], *, root=None, seed: int = 0,
                    names: Sequence[str] = SCORE_NAMES, fns: Mapping[str, Callable] | None = None,
                    cache: str | os.PathLike | None = None, keep: dict | None = None,
                    show_progress: bool = False, pass_ref: bool = False):
    """Fuse every test pair with ``fuse_fn(a, b)`` (``pass_ref``: ``fuse_fn(a, b, ref)``, e.g. to
    read a stored fused image of that pair) and score it; one row per image.

    Columns: ``method, seed, task, image`` (the :attr:`SampleRef.key`), the ``names`` indexes and
    ``time_s`` (wall time of the fusion call, informal; the timing protocol is
    :func:`time_inference`). Images of equal size are scored in one batched call per metric. With
    ``cache`` (a ``.csv`` path) a finished table is read back instead of recomputed (written
    atomically). ``keep`` (a dict) receives the fused images by image key, for figures.
    """
    import pandas as pd
    if cache is not None and Path(cache).is_file() and keep is None:
        try:
            df = pd.read_csv(cache, dtype={"image": str})
        except (OSError, UnicodeDecodeError, ValueError) as e:  # pandas' EmptyDataError/ParserError too
            discard_corrupt(cache, CacheEntryError.unreadable(cache, e))
        else:
            if ("image" in df.columns and len(df) == len(refs) and set(names) <= set(df.columns)
                    and list(df["image"]) == [r.key for r in refs]):
                return df
    rows, fused, pairs = [], [], []
    it = progress(list(zip(refs, tasks)), desc=f"{method} s{seed}", leave=False) if show_progress \
        else zip(refs, tasks)
    for ref, task in it:
        a, b = load_pair(ref, root)
        t0 = time.perf_counter()
        f = np.asarray(fuse_fn(a, b, ref) if pass_ref else fuse_fn(a, b), np.float32).reshape(1, *a.shape[-2:])
        dt = time.perf_counter() - t0
        if keep is not None:
            keep[ref.key] = f
        rows.append({"method": method, "seed": seed, "task": task, "image": ref.key, "time_s": dt})
        fused.append(f)
        pairs.append((a, b))
    by_shape: dict[tuple, list[int]] = {}
    for i, f in enumerate(fused):
        by_shape.setdefault(f.shape, []).append(i)
    for idx in by_shape.values():
        sc = score_batch(np.stack([fused[i] for i in idx]), np.stack([pairs[i][0] for i in idx]),
                         np.stack([pairs[i][1] for i in idx]), names, fns)
        for k, i in enumerate(idx):
            rows[i].update({n: float(v[k]) for n, v in sc.items()})
    df = pd.DataFrame(rows)[["method", "seed", "task", "image", *names, "time_s"]]
    if cache is not None:
        with atomic_path(cache) as tmp:
            df.to_csv(tmp, index=False)
    return df


def add_combined(df, *, components: Sequence[str] = ("en", "ag", "ssim", "viff", "niqe", "psnr", "mi"),
                 by: Sequence[str] = ("image",), candidates: str = "method", aggregation: str = "mean"):
    """Add the E2 "Combined" index: per image, min-max normalise each component across the
    candidates (NIQE as 1/NIQE) and aggregate (notes §6, reconstruction).

    This is :func:`fusionlib.metrics.e2` (``aggregation='minmax'``, default components) applied to
    component scores that are already in ``df`` (cached per variant and seed), so that the candidate
    images need not be kept or re-scored; a test checks that both agree.

    Parameters
    ----------
    df : DataFrame
        One row per (candidate, image[, seed]); the candidate column is ``candidates``.
    components : sequence of str
        Columns entering E2 (default: the reconstruction's EN, AG, SSIM, VIFF, NIQE, PSNR, MI).
    by : sequence of str
        Columns defining one image (the candidate set is every row sharing them).
    aggregation : {'mean', 'sum', 'borda'}
        Mean of the normalised components (default), their raw sum, or the mean rank (Borda).

    Returns
    -------
    DataFrame
        A copy with a ``combined`` column in [0, 1] (``'mean'``, ``'borda'``) or [0, len(components)]
        (``'sum'``). Combined is relative: it depends on which candidates are compared.
    """
    check_choice("add_combined", "aggregation", aggregation, ("mean", "sum", "borda"))
    missing = [c for c in components if c not in df.columns]
    if missing:
        raise KeyError(f"add_combined: columns {missing} are missing; have {list(df.columns)}")
    out = df.copy()
    vals = out[list(components)].astype(float).copy()
    if "niqe" in components:
        vals["niqe"] = 1.0 / vals["niqe"].clip(lower=1e-12)
    if "psnr" in components:  # as fusionlib.metrics.e2: identical images (inf dB) count as 100 dB
        vals["psnr"] = vals["psnr"].clip(upper=100.0)
    groups = out.groupby(list(by), sort=False).indices
    comb = np.zeros(len(out))
    for _, idx in groups.items():
        v = vals.iloc[idx].to_numpy()
        if aggregation == "borda":
            from scipy.stats import rankdata
            r = np.column_stack([rankdata(v[:, j]) for j in range(v.shape[1])])
            norm = (r - 1) / max(len(idx) - 1, 1)
        else:
            lo, hi = v.min(0), v.max(0)
            norm = (v - lo) / (hi - lo + 1e-12)
        comb[idx] = norm.sum(1) if aggregation == "sum" else norm.mean(1)
    out["combined"] = comb
    return out


# ================================================================================================ profiles

#: Budgets of the book's profiles, shared by chapters 06-09 so that a (variant, seed) trained in one
#: chapter is a cache hit in the next. Standard and full score every test pair; their networks are the
#: committed ones of :mod:`fusionlib.experiments.aenet_grid` (``config``/``n_train`` is the short
#: budget of a network trained in the chapter when none is committed). ``n_train``/``n_test``: pairs
#: per task (None: all);
#: ``n_timing``: images of the timing protocol (the paper: 300) of side ``timing_size`` (the paper:
#: 400; the smoke profile uses 256 to stay short).
PROFILES: dict[str, dict[str, Any]] = {
    "smoke": {"config": StudyConfig(epochs=1, batch_size=4, lr=2e-3, patch=32, n_patches=32),
              "n_train": 3, "n_test": 1, "n_timing": 3, "timing_size": 256, "seeds": 2},
    "standard": {"config": StudyConfig(epochs=2, batch_size=16, lr=1e-3, patch=96, n_patches=192),
                 "n_train": None, "n_test": None, "n_timing": 30, "timing_size": 400, "seeds": 3},
    "full": {"config": StudyConfig(epochs=110, batch_size=16, patch=128, n_patches=2048, stages=((10, 1e-3), (100, 1e-4))),
             "n_train": None, "n_test": None, "n_timing": 300, "timing_size": 400, "seeds": 3},
}


PROFILES_NAMES = ("smoke", "standard", "full")


def profile_budget(profile: str) -> dict[str, Any]:
    """The budget of ``profile`` (a copy of :data:`PROFILES` entry)."""
    check_choice("profile_budget", "profile", profile, tuple(PROFILES))
    return dict(PROFILES[profile])


def study_splits(profile: str, *, root=None, split_seed: int = 0, tasks: Iterable[str] | None = None
                 ) -> tuple[dict[str, TaskSplit], str]:
    """:func:`task_splits` cut to the profile's budget, and a note on the data used.

    Standard/full need the real data: without a data root they raise
    :class:`fusionlib.data.DataNotFoundError` listing every place looked at and how to get the data
    (never a silent fallback to the embedded sets under a standard label).
    """
    from .. import data
    b = profile_budget(profile)
    note = "embedded synthetic sets (smoke profile); medical has no embedded set"
    if profile != "smoke":
        root = data.find_root(root, required=True)
        note = f"real data under the data root ({profile} profile)"
    sp = task_splits(profile, root=root, split_seed=split_seed, tasks=tasks)
    return {t: s.head(b["n_train"], b["n_test"]) for t, s in sp.items()}, note


# ================================================================================================ studies

@dataclass(frozen=True)
class Variant:
    """One trained configuration of a study: cache ``name``, network key ``model`` with ``options``,
    trained on ``train_tasks`` (None: the study's tasks, i.e. mixed-task training)."""

    name: str
    model: str = "aenetv2"
    train_tasks: tuple[str, ...] | None = None
    options: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def of(cls, v: "str | Variant") -> "Variant":
        return v if isinstance(v, Variant) else cls(name=v, model=v)


def build_trainset(splits: Mapping[str, TaskSplit], tasks: Sequence[str], *, patch: int, n_patches: int,
                   seed: int, labeler: Callable, root=None) -> TrainSet:
    """Training patches of ``tasks``: the train pairs of every task, their Algorithm 1 labels O
    (``labeler(task, pairs, refs) -> list of (1, H, W)``), random aligned crops (``seed``)."""
    triples, keys = [], []
    for t in tasks:
        refs = list(splits[t].train)
        pairs = load_pairs(refs, root)
        labels = labeler(t, pairs, refs)
        if len(labels) != len(pairs):
            raise ValueError(f"build_trainset: labeler gave {len(labels)} labels for {len(pairs)} pairs")
        triples += [(a, b, np.asarray(o, np.float32).reshape(a.shape)) for (a, b), o in zip(pairs, labels)]
        keys += [r.key for r in refs]
    return sample_patches(triples, patch=patch, n_patches=n_patches, seed=seed, keys=keys, tasks=tasks)


@dataclass
class StudyResult:
    """Per-image scores of every (variant, seed) on the test split, the trained models and, on
    request, the fused test images ``fused[(variant, seed)][image key]``."""

    scores: Any
    trained: dict
    fused: dict = field(default_factory=dict)


def model_fuser(model: torch.nn.Module, device: str | torch.device = "cpu") -> Callable:
    """``fuse(a, b)`` of gray ``(1, H, W)`` arrays with a trained network (eval mode, clamped to [0, 1]);
    ``device`` as :func:`fusionlib.utils.resolve_device` (``'auto'``: CUDA when present)."""
    dev = resolve_device(device)

    @torch.no_grad()
    def fuse(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        model.eval()
        ta = torch.from_numpy(np.ascontiguousarray(a, np.float32))[None].to(dev)
        tb = torch.from_numpy(np.ascontiguousarray(b, np.float32))[None].to(dev)
        return model(ta, tb).clamp(0, 1)[0].cpu().numpy()
    return fuse


@functools.lru_cache(maxsize=256)
def _content_key(refs: tuple[SampleRef, ...], root: str | None) -> str:
    """SHA-256 over the pixels of the pairs ``refs``: a changed image (or a regenerated embedded set)
    invalidates the cached models and scores that were built from it."""
    h = hashlib.sha256()
    for r in refs:
        for x in load_pair(r, root):
            h.update(str(x.shape).encode())
            h.update(np.ascontiguousarray(x, np.float32).tobytes())
    return h.hexdigest()[:16]


def content_key(refs: Sequence[SampleRef], root=None) -> str:
    """A short SHA-256 of the pixels of the pairs ``refs`` (for cache file names)."""
    return _content_key(tuple(refs), None if root is None else str(root))


def run_study(experiment: str, variants: Sequence[str | Variant], seeds: Sequence[int],
              splits: Mapping[str, TaskSplit], config: StudyConfig, *, cache_dir: str | os.PathLike,
              labeler: Callable, device: str = "auto", root=None, test_tasks: Sequence[str] | None = None,
              trainer: Callable | None = None, build: Callable[..., torch.nn.Module] | None = None,
              names: Sequence[str] = SCORE_NAMES, fns: Mapping[str, Callable] | None = None,
              keep_images: bool = False, show_progress: bool = True,
              checkpoints: Callable[[str, str, int], Any] | None = None) -> StudyResult:
    """Train (or load) every variant with every seed and score it on the test split of every task.

    The training data of a variant is its ``train_tasks`` (default: every task of ``splits``, i.e.
    mixed-task training as in the paper), patches drawn with the training seed. Results are cached
    per (experiment, variant, seed): weights in :func:`cache_entry` and the per-image scores beside
    them (``scores_<test fingerprint>.csv``), so an interrupted study resumes where it stopped. The
    fingerprints cover the pixels of the training and test pairs, so changed data is never served
    from a stale cache.

    ``checkpoints(model, train, seed) -> (network, provenance) | None`` (e.g.
    :func:`fusionlib.experiments.aenet_grid.committed`): a variant without options whose network
    it provides (``train``: 'mixed' when the variant trains on every task of :data:`TASKS`, else
    its one task) is loaded from there instead of trained (``Trained.source`` says which).

    Returns
    -------
    StudyResult
        ``scores``: one row per (variant, seed, test image) with ``method`` = the variant name and
        the indexes of :data:`SCORE_NAMES` (add ``combined`` with :func:`add_combined`).
    """
    import pandas as pd
    from .. import nets
    dev = resolve_device(device)
    all_tasks = list(splits)
    test_tasks = list(all_tasks if test_tasks is None else test_tasks)
    refs = [r for t in test_tasks for r in splits[t].test]
    rtasks = [t for t in test_tasks for _ in splits[t].test]
    rkey = None if root is None else str(root)
    test_fp = fingerprint([r.key for r in refs] + list(names) + [_content_key(tuple(refs), rkey)])
    vs = [Variant.of(v) for v in variants]
    jobs = [(v, s) for v in vs for s in seeds]
    frames, trained, fused = [], {}, {}
    sets: dict[tuple, TrainSet] = {}
    it = progress(jobs, desc=experiment) if show_progress else jobs
    for v, seed in it:
        tasks = list(v.train_tasks or all_tasks)
        spec = {"tasks": tasks, "train": [r.key for t in tasks for r in splits[t].train],
                "patch": config.patch, "n": config.n_patches, "seed": seed,
                "labeler": getattr(labeler, "__qualname__", str(labeler)),
                "content": _content_key(tuple(r for t in tasks for r in splits[t].train), rkey)}
        key = fingerprint(spec)

        def data(tasks=tasks, seed=seed, key=key):
            if key not in sets:
                sets[key] = build_trainset(splits, tasks, patch=config.patch, n_patches=config.n_patches,
                                           seed=seed, labeler=labeler, root=root)
            return sets[key]
        opts = dict(v.options)
        got = None
        if checkpoints is not None and not opts and build is None:
            grid_train = "mixed" if set(tasks) == set(TASKS) else (tasks[0] if len(tasks) == 1 else None)
            got = None if grid_train is None else checkpoints(v.model, grid_train, seed)
        if got is not None:  # a committed checkpoint: scores cached per checkpoint file (its sha256)
            net, meta = got
            where = cache_entry(cache_dir, experiment, v.name, seed) / f"committed-{meta['sha256'][:16]}"
            where.mkdir(parents=True, exist_ok=True)
            tr = Trained(net.to(dev).eval(), v.name, seed, meta.get("history", {}), True, where,
                         meta.get("train_cpu_s", float("nan")), source=f"committed {meta['checkpoint']}")
        else:
            bld = build or (lambda _name, m=v.model, o=opts: nets.build(m, **o))
            tr = train_or_load(experiment, v.name, seed, data, config, cache_dir=cache_dir, device=str(dev),
                               build=bld, trainer=trainer, data_key=key)
        trained[(v.name, seed)] = tr
        keep = {} if keep_images else None
        csv = tr.path / f"scores_{test_fp}.csv"
        if not tr.cached:
            for old in tr.path.glob("scores_*.csv"):  # scores of the weights that were replaced
                old.unlink()
        df = evaluate_method(v.name, model_fuser(tr.model, dev), refs, rtasks, root=root, seed=seed,
                             names=names, fns=fns, cache=csv, keep=keep)
        if keep is not None:
            fused[(v.name, seed)] = keep
        frames.append(df.assign(seed=seed))
    return StudyResult(pd.concat(frames, ignore_index=True), trained, fused)


# ================================================================================================ statistics

def summarize(df, metrics: Sequence[str], *, by: str = "method", seed_col: str = "seed",
              task_col: str | None = "task"):
    """Mean ± sd over seeds of the per-seed means.

    Per (``by``, seed): the mean over images within each task, then the mean over tasks (every task
    weighs the same, as the paper's "mean over the five tasks"); then the mean and the sample sd
    (ddof=1; NaN for a single seed) across seeds.

    Returns
    -------
    DataFrame
        Index ``by``; columns ``(metric, 'mean')``, ``(metric, 'sd')`` and ``('n_seeds', '')``.
    """
    import pandas as pd
    keys = [by, seed_col] + ([task_col] if task_col else [])
    per = df.groupby(keys, sort=False)[list(metrics)].mean()
    if task_col:
        per = per.groupby(level=[0, 1], sort=False).mean()
    g = per.groupby(level=0, sort=False)
    mean, sd, n = g.mean(), g.std(ddof=1), g.size()
    cols = {}
    for m in metrics:
        cols[(m, "mean")] = mean[m]
        cols[(m, "sd")] = sd[m]
    out = pd.DataFrame(cols)
    out[("n_seeds", "")] = n
    out.index.name = by
    return out


def format_mean_sd(summary, metrics: Sequence[str], digits: int = 3):
    """``"mean ± sd"`` strings per metric (``sd`` left out when there is one seed)."""
    import pandas as pd
    out = pd.DataFrame(index=summary.index)
    for m in metrics:
        mu, sd = summary[(m, "mean")], summary[(m, "sd")]
        out[m] = [f"{a:.{digits}f}" + ("" if not np.isfinite(b) else f" ± {b:.{digits}f}")
                  for a, b in zip(mu, sd)]
    return out


@dataclass(frozen=True)
class TestResult:
    """A paired test of ``a`` against ``b``: ``mean_diff`` = mean(a - b)."""

    test: str
    statistic: float
    pvalue: float
    n: int
    mean_diff: float


def paired_test(a: Sequence[float], b: Sequence[float], *, test: str = "wilcoxon") -> TestResult:
    """Paired two-sided test of equal location of ``a`` and ``b`` (same blocks, same order).

    ``'wilcoxon'``: signed-rank test (exact p for n <= 50 without ties or zeros, else normal
    approximation; zero differences dropped, Wilcoxon's convention); ``'ttest'``: paired t test.
    All-zero differences give p = 1.
    """
    check_choice("paired_test", "test", test, ("wilcoxon", "ttest"))
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"paired_test: `a` and `b` must be 1-D of equal length; got {a.shape}, {b.shape}")
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok], b[ok]
    d = a - b
    n = int(d.size)
    if n < 2:
        raise ValueError(f"paired_test: needs at least 2 finite pairs; got {n}")
    md = float(d.mean())
    if np.allclose(d, 0.0, atol=1e-15):
        return TestResult(test, 0.0, 1.0, n, md)
    from scipy import stats
    if test == "ttest":
        if np.allclose(d, d[0], atol=1e-15):  # constant non-zero difference: sd 0, infinitely significant
            return TestResult(test, math.copysign(math.inf, md), 0.0, n, md)
        r = stats.ttest_rel(a, b)
    else:
        r = stats.wilcoxon(a, b, zero_method="wilcox")
    return TestResult(test, float(r.statistic), float(r.pvalue), n, md)


def _blocks(df, metric: str, by: str, unit: str):
    if unit == "image":
        keys = ["task", "image"] if "task" in df.columns else ["image"]
        wide = df.groupby(keys + [by], sort=False)[metric].mean().unstack(by)
    else:
        keys = (["task"] if "task" in df.columns else []) + ["image", "seed"]
        wide = df.pivot_table(index=keys, columns=by, values=metric, aggfunc="mean")
    return wide.dropna(axis=0, how="any")


def paired_tests(df, metric: str, *, by: str = "method", baseline: str | None = None,
                 test: str = "wilcoxon", unit: str = "image", alpha: float = 0.05):
    """Pairwise paired tests between the ``by`` groups on ``metric``, Holm-corrected.

    Blocks are test images (values averaged over seeds, ``unit='image'``) or (image, seed) pairs
    (``unit='image_seed'``; every group must share the seeds). With ``baseline`` only comparisons
    against it are made, else all pairs.

    Returns
    -------
    DataFrame
        Columns ``a, b, n, mean_diff, statistic, p, p_holm, significant`` (``p_holm < alpha``),
        ``better`` (the group with the better mean when significant, respecting
        :data:`LOWER_IS_BETTER`, else ``''``).
    """
    import pandas as pd
    check_choice("paired_tests", "unit", unit, ("image", "image_seed"))
    wide = _blocks(df, metric, by, unit)
    groups = list(wide.columns)
    if baseline is not None and baseline not in groups:
        raise KeyError(f"paired_tests: baseline {baseline!r} not among {groups}")
    pairs = [(baseline, g) for g in groups if g != baseline] if baseline is not None else \
        [(groups[i], groups[j]) for i in range(len(groups)) for j in range(i + 1, len(groups))]
    rows = []
    for x, y in pairs:
        r = paired_test(wide[x].to_numpy(), wide[y].to_numpy(), test=test)
        rows.append({"a": x, "b": y, "n": r.n, "mean_diff": r.mean_diff, "statistic": r.statistic, "p": r.pvalue})
    out = pd.DataFrame(rows, columns=["a", "b", "n", "mean_diff", "statistic", "p"])
    out["p_holm"] = holm(out["p"].to_numpy()) if len(out) else []
    out["significant"] = out["p_holm"] < alpha
    lower = metric in LOWER_IS_BETTER
    out["better"] = [("" if not s else (a if (d < 0) == lower else b))
                     for a, b, d, s in zip(out["a"], out["b"], out["mean_diff"], out["significant"])]
    return out


@dataclass(frozen=True)
class FriedmanResult:
    """Friedman's test over k groups and n blocks; ``mean_ranks`` (1 = best)."""

    statistic: float
    pvalue: float
    k: int
    n: int
    mean_ranks: dict[str, float]


def friedman(df, metric: str, *, by: str = "method", unit: str = "image") -> FriedmanResult:
    """Friedman's rank test that all ``by`` groups have the same distribution of ``metric``.

    Uses the tie-corrected chi-square statistic (``scipy.stats.friedmanchisquare``). Ranks are
    reported with 1 = best (respecting :data:`LOWER_IS_BETTER`).
    """
    wide = _blocks(df, metric, by, unit)
    if wide.shape[1] < 3 or wide.shape[0] < 2:
        raise ValueError(f"friedman: needs >= 3 groups and >= 2 blocks; got {wide.shape[1]} and {wide.shape[0]}")
    x = wide.to_numpy()
    stat, p, ranks = friedman_ranks(x, higher_is_better=metric not in LOWER_IS_BETTER)
    return FriedmanResult(stat, p, x.shape[1], x.shape[0], dict(zip(map(str, wide.columns), map(float, ranks))))


def normalize_indexes(table, *, scheme: str = "max"):
    """Fig. 6's averaged objective indexes: PSNR normalised, NIQE inverted and normalised.

    Parameters
    ----------
    table : DataFrame
        Methods (rows) x indexes (columns), e.g. the means of :func:`summarize`.
    scheme : {'max', 'minmax', 'fixed'}
        ``'max'`` (default): PSNR / max PSNR and (1/NIQE) / max(1/NIQE) over the methods, so the best
        method scores 1 and ratios are kept; ``'minmax'``: (x - min)/(max - min) (best 1, worst 0);
        ``'fixed'``: PSNR / 100 and 1/NIQE (independent of the other methods; Table VII's constant
        0.48 is consistent with PSNR / 100). The other columns are left as they are.

    Returns
    -------
    DataFrame
        A copy; the NIQE column is renamed ``1/niqe (norm.)`` and PSNR ``psnr (norm.)``.
    """
    check_choice("normalize_indexes", "scheme", scheme, ("max", "minmax", "fixed"))
    out = table.copy().astype(float)
    ren = {}
    for col in ("psnr", "niqe"):
        if col not in out.columns:
            continue
        v = out[col].to_numpy(float)
        if col == "niqe":
            v = 1.0 / np.clip(v, 1e-12, None)
        if scheme == "fixed":
            v = v / 100.0 if col == "psnr" else v
        elif scheme == "max":
            v = v / np.max(v)
        else:
            span = np.max(v) - np.min(v)
            v = (v - np.min(v)) / span if span > 0 else np.ones_like(v)
        out[col] = v
        ren[col] = "1/niqe (norm.)" if col == "niqe" else "psnr (norm.)"
    return out.rename(columns=ren)


def transfer_matrix(df, metric: str, *, train_col: str = "method", test_col: str = "task"):
    """Train-task x test-task table of ``metric`` (mean over images and seeds)."""
    return df.groupby([train_col, test_col])[metric].mean().unstack(test_col)


# ================================================================================================ timing

@dataclass(frozen=True)
class Timing:
    """Per-image times (seconds) of the timing protocol, with the conditions."""

    times: tuple[float, ...]
    device: str
    threads: int
    dtype: str
    size: int

    @property
    def mean(self) -> float:
        return float(np.mean(self.times))

    @property
    def median(self) -> float:
        return float(np.median(self.times))


def timing_images(pairs: Sequence[tuple[np.ndarray, np.ndarray]], *, n: int = 300, size: int = 400
                  ) -> list[tuple[np.ndarray, np.ndarray]]:
    """The timing set (§IV-A-4b): ``n`` gray 8-bit pairs of ``size`` x ``size``, cycling over ``pairs``.

    Each source is resized (bilinear, antialiased) to ``size`` x ``size`` and quantised to uint8.
    """
    n = check_int("timing_images", "n", n, minimum=2)
    if not pairs:
        raise ValueError("timing_images: `pairs` is empty")
    import torch.nn.functional as F
    made = []
    for a, b in pairs:
        t = torch.from_numpy(np.stack([np.asarray(a, np.float32).reshape(a.shape[-2:]),
                                       np.asarray(b, np.float32).reshape(b.shape[-2:])])[None])
        r = F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False, antialias=True)[0]
        q = np.rint(r.clamp(0, 1).numpy() * 255).astype(np.uint8)
        made.append((q[0:1], q[1:2]))
    return [made[i % len(made)] for i in range(n)]


def time_inference(fuse_fn: Callable[[torch.Tensor, torch.Tensor], Any],
                   images: Sequence[tuple[np.ndarray, np.ndarray]], *, device: str = "auto",
                   skip_first: int = 1) -> Timing:
    """Per-image wall time of ``fuse_fn(a, b)`` on ``(1, 1, H, W)`` float32 tensors in [0, 1].

    The paper's protocol: the uint8 pair is converted and moved to the device inside the timed
    region, ``torch.inference_mode()``, the first ``skip_first`` images are excluded (initialisation),
    and on CUDA the device is synchronised before the clock is read.
    """
    dev = resolve_device(device)
    skip_first = check_int("time_inference", "skip_first", skip_first, minimum=0)
    if len(images) <= skip_first:
        raise ValueError(f"time_inference: needs more than {skip_first} images; got {len(images)}")
    sync = (lambda: torch.cuda.synchronize(dev)) if dev.type == "cuda" else (lambda: None)
    times = []
    with torch.inference_mode():
        for i, (a, b) in enumerate(images):
            sync()
            t0 = time.perf_counter()
            ta = torch.from_numpy(np.ascontiguousarray(a)).to(dev).float().div_(255.0)[None]
            tb = torch.from_numpy(np.ascontiguousarray(b)).to(dev).float().div_(255.0)[None]
            out = fuse_fn(ta, tb)
            if isinstance(out, torch.Tensor) and out.device.type != "cpu":
                out = out.cpu()
            sync()
            if i >= skip_first:
                times.append(time.perf_counter() - t0)
    return Timing(tuple(times), str(dev), torch.get_num_threads(), "float32", int(images[0][0].shape[-1]))
