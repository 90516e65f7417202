"""AE-Netv2 studies: the tasks, their documented train/test splits and the loading of gray pairs.

Split out of :mod:`fusionlib.experiments.aenet_study` (which re-exports every name here): the seeded
splits (:func:`seeded_split`, :func:`task_splits`), the pair loader (:func:`load_pair`) and the pixel
fingerprint of a set of pairs (:func:`content_key`) that keys the caches.
"""
from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import torch

from .._checks import check_choice, check_int
from ..filters import luma

__all__ = ["TASKS", "EMBEDDED", "PAPER_TABLE4", "table4", "SampleRef", "TaskSplit", "seeded_split", "task_splits", "load_pair", "load_pairs", "content_key"]


#: The four fusion tasks of the study (the paper's fifth, CVS, has no public data: dropped).
TASKS = ("infrared-visible", "multi-focus", "multi-exposure", "medical")


#: Embedded (offline, synthetic) stand-in per task for the smoke profile. Medical has none.
EMBEDDED = {"infrared-visible": "embedded_irvis", "multi-focus": "embedded_multifocus",
            "multi-exposure": "embedded_multiexposure"}


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
    y = luma(torch.from_numpy(np.ascontiguousarray(a))[None]).numpy()[0]
    return np.clip(y, 0.0, 1.0).astype(np.float32)


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
