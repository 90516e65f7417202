"""AE-Netv2 studies: the book's profiles and :func:`run_study` (train or load every variant and seed,
score it on the test split).

Split out of :mod:`fusionlib.experiments.aenet_study` (which re-exports every name here).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import torch

from .._checks import check_choice
from ..utils import progress, resolve_device
from .aenet_data import TASKS, TaskSplit, _content_key, task_splits
from .aenet_scoring import SCORE_NAMES, evaluate_method
from .aenet_train import (StudyConfig, Trained, TrainSet, build_trainset, cache_entry, fingerprint, model_fuser,
                          train_or_load)

__all__ = ["PROFILES", "PROFILES_NAMES", "profile_budget", "study_splits", "LIBRARY_FAST", "default_labeler", "Variant", "StudyResult", "run_study"]


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


@dataclass
class StudyResult:
    """Per-image scores of every (variant, seed) on the test split, the trained models and, on
    request, the fused test images ``fused[(variant, seed)][image key]``."""

    scores: Any
    trained: dict
    fused: dict = field(default_factory=dict)


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
            tr = train_or_load(experiment, v.name, seed, data, config, cache_dir=cache_dir, device=dev,
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
