"""Core data types: :class:`DatasetInfo`, :class:`Sample`, :class:`Dataset` and the errors.

A :class:`Dataset` is a lazy, indexable view of one data set: it knows its ids
and how to build one :class:`Sample`; nothing is read (or generated) until a
sample is asked for.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from ..registry import Registry

TASKS = ("infrared-visible", "multi-focus", "multi-exposure", "medical", "pansharpening")
DTYPES = ("float32", "uint8")


class DataNotFoundError(FileNotFoundError):
    """A data set (or one of its files) is not where it was looked for."""


class ChecksumError(ValueError):
    """A file does not match its SHA-256 in the folder's ``SHA256SUMS``."""

    def __init__(self, message: str, path: Any = None, expected: str | None = None,
                 actual: str | None = None):
        super().__init__(message)
        self.path = path
        self.expected = expected
        self.actual = actual


class PairsFileError(ValueError):
    """A ``pairs.csv`` index (or another index file) is malformed."""


@dataclass(frozen=True)
class DatasetInfo:
    """Facts about one data set (registry entry).

    Attributes
    ----------
    name : str
        Registry key, e.g. ``"vifb"``.
    title : str
        Human-readable title.
    tasks : tuple of str
        Fusion task(s), among ``TASKS``.
    description : str
        What the samples are (counts, sizes, modes, channel handling).
    citation : str
        Text citation of the data set / benchmark.
    doi : str
        DOI (or arXiv id) of the citation; ``""`` when none exists.
    licence : str
        Licence terms as far as known (most sets have no licence file).
    source_repo, source_commit : str
        Public GitHub repository and commit the files were copied from.
    download_url : str
        Base URL for online users (raw files at the recorded commit).
    folder : str
        Folder name below the data root (``""`` for embedded sets).
    embedded, synthetic, has_reference : bool
        Generated offline inside the package; made-up (not real sensor data);
        samples carry a ground-truth ``reference``.
    n_samples : int
        Number of samples of the full set (without ``subset``).
    modalities : tuple of str
        Source modalities, in the order of ``Sample.sources``.
    sizes : str
        Image sizes (W×H), as text.
    subsets : tuple of str
        Valid values of ``load(..., subset=...)`` (empty: no subsets).
    loader : callable
        ``loader(info, root, subset=..., verify=..., **options) -> Dataset``.
    """

    name: str
    title: str
    tasks: tuple[str, ...]
    description: str
    citation: str
    doi: str
    licence: str
    source_repo: str
    source_commit: str
    download_url: str
    folder: str
    embedded: bool
    synthetic: bool
    has_reference: bool
    n_samples: int
    modalities: tuple[str, ...] = ()
    sizes: str = ""
    subsets: tuple[str, ...] = ()
    loader: Callable[..., "Dataset"] | None = field(default=None, compare=False, repr=False)

    @property
    def task(self) -> str:
        """The task; for multi-task sets (``ifcnn``) the tasks joined by ``", "``."""
        return ", ".join(self.tasks)


DATASETS: Registry[DatasetInfo] = Registry("data set")


@dataclass(frozen=True, eq=False)
class Sample:
    """One fusion sample.

    Attributes
    ----------
    id : str
        The pair id (``pair_id`` column of ``pairs.csv`` for real sets).
    sources : list of ndarray
        ``(C, H, W)`` arrays, float32 in [0, 1] (or uint8 0..255 when asked
        for with ``Dataset.get(i, dtype="uint8")``). Order: IR then visible;
        CT/PET/SPECT then MRI; under- then over-exposed (or the whole
        exposure sequence); MS then PAN for pansharpening.
    reference : ndarray or None
        Ground truth when the set has one (embedded sets, pansharpening).
    meta : dict
        The ``pairs.csv`` row plus ``task``, ``modalities``, ``dataset`` ...;
        pansharpening adds ``ratio``, ``sensor`` and ``scene``.
    """

    id: str
    sources: list
    reference: np.ndarray | None
    meta: dict

    @property
    def task(self) -> str:
        return self.meta.get("task", "")

    def _pansharpening(self, what: str):
        if self.meta.get("task") != "pansharpening":
            raise AttributeError(f"Sample.{what}: only pansharpening samples have `{what}`; "
                                 f"this one is {self.meta.get('task')!r}")

    @property
    def ms(self) -> np.ndarray:
        """Multispectral image ``(C, h, w)`` (pansharpening only)."""
        self._pansharpening("ms")
        return self.sources[0]

    @property
    def pan(self) -> np.ndarray:
        """Panchromatic image ``(1, H, W)`` (pansharpening only)."""
        self._pansharpening("pan")
        return self.sources[1]

    def __repr__(self) -> str:
        shapes = ", ".join(f"{tuple(s.shape)} {s.dtype}" for s in self.sources)
        ref = "None" if self.reference is None else f"{tuple(self.reference.shape)}"
        return f"Sample(id={self.id!r}, sources=[{shapes}], reference={ref}, task={self.task!r})"


class Dataset(Sequence):
    """A lazy sequence of :class:`Sample` (nothing is read until indexed).

    ``ds[i]`` or ``ds["pair_id"]`` gives float32 samples in [0, 1];
    ``ds.get(i, dtype="uint8")`` gives the raw 8-bit arrays (0..255), which
    the IAOA work needs (it computes in float64 DN).
    """

    methods: tuple[str, ...] = ()   # methods with stored fused images (real sets that have them)

    def __init__(self, info: DatasetInfo, ids: Sequence[str],
                 build: Callable[[int, str], Sample], *, root: Any = None,
                 subset: str | None = None):
        self.info = info
        self.ids = list(ids)
        self._index = {k: i for i, k in enumerate(self.ids)}
        if len(self._index) != len(self.ids):
            dup = sorted({k for k in self.ids if self.ids.count(k) > 1})
            raise PairsFileError(f"{info.name}: duplicated pair ids {dup}")
        self._build = build
        self.root = root
        self.subset = subset

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, key: object) -> bool:
        """``"pair_id" in ds`` (by id; never reads a sample)."""
        return key in self._index

    def _position(self, key: int | str) -> int:
        if isinstance(key, str):
            if key not in self._index:
                near = ", ".join(self.ids[:8]) + (" ..." if len(self.ids) > 8 else "")
                raise KeyError(f"{self.info.name}: unknown pair id {key!r}; valid ids: {near}")
            return self._index[key]
        if isinstance(key, bool) or not isinstance(key, (int, np.integer)):
            raise TypeError(f"{self.info.name}: index must be an int or a pair id string; "
                            f"got {type(key).__name__}")
        n = len(self.ids)
        i = int(key)
        if not -n <= i < n:
            raise IndexError(f"{self.info.name}: index {i} out of range for {n} samples")
        return i % n

    def get(self, key: int | str, dtype: str = "float32") -> Sample:
        """Sample ``key`` (int position or pair id) as float32 [0, 1] or raw uint8."""
        if dtype not in DTYPES:
            raise ValueError(f"Dataset.get: `dtype` must be one of {list(DTYPES)}; got {dtype!r}")
        return self._build(self._position(key), dtype)

    def __getitem__(self, key):  # type: ignore[override]
        if isinstance(key, slice):
            return [self.get(i) for i in range(*key.indices(len(self)))]
        return self.get(key)

    def __iter__(self) -> Iterator[Sample]:
        for i in range(len(self)):
            yield self.get(i)

    def __repr__(self) -> str:
        sub = f", subset={self.subset!r}" if self.subset else ""
        return f"<Dataset {self.info.name!r}: {len(self)} samples{sub}, task={self.info.task!r}>"
