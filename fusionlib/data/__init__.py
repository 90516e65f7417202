"""Data sets for fusion and pansharpening: embedded (synthetic, offline) and real (checksummed).

>>> import fusionlib as fl
>>> ds = fl.data.load("embedded_multifocus", size=64)
>>> len(ds), ds.ids[0]
(8, 'astronaut')
>>> s = ds[0]
>>> [a.shape for a in s.sources], s.reference.dtype
([(3, 64, 64), (3, 64, 64)], dtype('float32'))

Real sets live under a data root (:func:`find_root`: argument, ``$FUSIONLIB_DATA``,
``shared/data`` beside the source checkout, user cache). They are read lazily,
one sample at a time, and each file touched is checked against the folder's
``SHA256SUMS`` (once per process). ``ds.get(i, dtype="uint8")`` gives the raw
8-bit arrays.
"""
from __future__ import annotations

import os
from typing import Any

from . import real, synthetic  # noqa: F401  (fills the registry)
from ._base import (DATASETS, TASKS, ChecksumError, DataNotFoundError, Dataset, DatasetInfo,
                    PairsFileError, Sample)
from ._download import download
from ._files import candidate_roots, clear_cache, data_file, find_root
from .real import RealDataset, VIFBDataset

__all__ = ["list_datasets", "info", "load", "find_root", "candidate_roots", "download", "clear_cache", "data_file",
           "Dataset", "RealDataset", "VIFBDataset", "Sample", "DatasetInfo", "DATASETS", "TASKS",
           "DataNotFoundError", "ChecksumError", "PairsFileError", "synthetic", "real"]


def list_datasets(task: str | None = None, *, embedded: bool | None = None) -> list[str]:
    """Names of the registered data sets, optionally only those of one ``task``.

    Parameters
    ----------
    task : {None, 'infrared-visible', 'multi-focus', 'multi-exposure', 'medical', 'pansharpening'}
    embedded : bool, optional
        Only embedded (``True``) or only real (``False``) sets.
    """
    if task is not None and task not in TASKS:
        raise ValueError(f"list_datasets: `task` must be one of {list(TASKS)} or None; got {task!r}")
    out = []
    for name, inf in DATASETS.items():
        if task is not None and task not in inf.tasks:
            continue
        if embedded is not None and inf.embedded != embedded:
            continue
        out.append(name)
    return out


def info(name: str) -> DatasetInfo:
    """The :class:`DatasetInfo` of ``name`` (``KeyError`` listing valid names otherwise)."""
    if not isinstance(name, str):
        raise TypeError(f"info: `name` must be a str; got {type(name).__name__}")
    return DATASETS[name]


def load(name: str, root: str | os.PathLike | None = None, *, subset: str | None = None,
         verify: bool = True, size: int | None = None, seed: int = 0) -> Dataset:
    """Open data set ``name`` (lazy: no image is read or generated here).

    Parameters
    ----------
    name : str
        See :func:`list_datasets`.
    root : path-like, optional
        Data root for real sets (default: :func:`find_root` order).
    subset : str, optional
        ``info(name).subsets``: ``harvard`` {'CT-MRI', 'PET-MRI', 'SPECT-MRI'},
        ``ifcnn`` {'infrared-visible', 'medical', 'multi-exposure'}, ``liu2020``
        {'color', 'grayscale'}, ``nbu_iaoa`` {'QuickBird', 'Gaofen'}.
    verify : bool
        Check every file read against ``SHA256SUMS`` (real sets).
    size : int, optional
        Embedded sets only: side of the square images (default 256). Real images
        are never resized.
    seed : int
        Embedded sets only: sample ``i`` uses ``SeedSequence([seed, i])``.

    Returns
    -------
    Dataset
        ``len(ds)``, ``ds.ids``, ``ds[i]`` / ``ds["id"]`` -> :class:`Sample`,
        ``ds.get(i, dtype="uint8")``.

    Raises
    ------
    KeyError
        Unknown ``name``.
    DataNotFoundError
        A real set's folder is missing (the message lists every place looked at).
    ChecksumError, PairsFileError, fusionlib.io.ImageReadError, fusionlib._checks.ShapeError
        Corrupt or inconsistent files (when a sample is read).
    """
    inf = info(name)
    if not isinstance(verify, bool):
        raise TypeError(f"load: `verify` must be a bool; got {type(verify).__name__}")
    if inf.embedded:
        return inf.loader(inf, root, subset=subset, verify=verify, size=size, seed=seed)
    if size is not None:
        raise ValueError(f"load({name!r}): `size` applies to embedded sets only; real images are never resized")
    if seed != 0:
        raise ValueError(f"load({name!r}): `seed` applies to embedded sets only")
    return inf.loader(inf, root, subset=subset, verify=verify)


def facts_table(names: list[str] | None = None) -> Any:
    """A pandas table of data-set facts (name, task, samples, sizes, modalities, citation, DOI, licence)."""
    import pandas as pd

    rows = []
    for n in names or list(DATASETS.keys()):
        i = DATASETS[n]
        rows.append({"name": n, "title": i.title, "task": i.task, "samples": i.n_samples, "sizes": i.sizes,
                     "modalities": " / ".join(i.modalities), "reference": i.has_reference,
                     "embedded": i.embedded, "synthetic": i.synthetic, "citation": i.citation, "doi": i.doi,
                     "licence": i.licence})
    return pd.DataFrame(rows).set_index("name")


__all__.append("facts_table")
