"""Autonomous evolution (AE-Netv2 Algorithm 1): pseudo ground truth O from a library of methods.

For each training pair the task's library (a selection of :data:`fusionlib.classical.METHODS`)
produces candidate fused images; E2 (:func:`fusionlib.metrics.e2`) scores all candidates of the
pair in one call and the best becomes the label O. Adding a method to the library (``evolve``)
replaces O only where the newcomer wins (the paper's "continuous learning"), and reports how
many labels changed.

Caching: every candidate is stored as ``.npy`` under ``cache_dir/candidates/`` and every label
decision as ``.json`` under ``cache_dir/labels/``, content-addressed by SHA-256 of the pair's
pixels (dtype, shape, bytes), the method name, its parameters, the fusionlib version and the
method kernel's source code; files are written atomically, so a rerun recomputes nothing and an
interrupted run resumes. Entries are checked on read (shape, dtype, range; keys of a decision) and a
damaged one is recomputed with a ``RuntimeWarning`` naming the file.

The per-task default library follows ``shared/notes/aenetv2.md`` §6 (methods not registered in
``fusionlib.classical`` are skipped and listed by :func:`library`). E2 is a reconstruction
(``fusionlib.metrics.e2``); NIQE needs images of at least 192 pixels per side, so for smaller
pairs E2 runs without it (stated in the returned record).
"""
from __future__ import annotations

import hashlib
import inspect
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .._checks import check_choice
from ..utils import CacheEntryError, atomic_path, discard_corrupt, write_json_atomic

__all__ = ["DEFAULT_LIBRARY", "library", "pair_digest", "LabelRecord", "LabelRun", "label_pairs",
           "evolve_labels", "candidate_images", "make_labeler"]


def _library_version() -> str:
    """``fusionlib.__version__`` (read from the loaded package, not imported upward)."""
    import sys
    return str(getattr(sys.modules.get(__name__.split(".")[0]), "__version__", "unknown"))

#: Library per task (notes §6); DTCWT joins when ``fusionlib.classical`` registers it.
DEFAULT_LIBRARY: dict[str, tuple[str, ...]] = {
    "multi-focus": ("lp", "dwt", "dtcwt", "gff", "msvd"),
    "infrared-visible": ("lp", "rp", "dwt", "gtf", "cbf", "gff"),
    "medical": ("lp", "dtcwt", "gff", "msvd"),
    "multi-exposure": ("mertens", "lp", "gff"),
}

_NIQE_MIN = 192


def library(task: str, methods: Sequence[str] | None = None) -> tuple[str, ...]:
    """The registered methods of ``task``'s library (``methods`` overrides the default list)."""
    from .. import classical
    check_choice("library", "task", task, tuple(DEFAULT_LIBRARY))
    names = DEFAULT_LIBRARY[task] if methods is None else tuple(methods)
    unknown = [m for m in names if m not in classical.METHODS and methods is not None]
    if unknown:
        raise KeyError(f"library: unknown methods {unknown}; valid keys: {sorted(classical.METHODS)}")
    return tuple(m for m in names if m in classical.METHODS)


def pair_digest(sources: Sequence[Any]) -> str:
    """SHA-256 of the pair's content: for each source its dtype, shape and bytes (float32)."""
    h = hashlib.sha256()
    for s in sources:
        a = np.ascontiguousarray(np.asarray(s, dtype=np.float32))
        h.update(f"{a.dtype}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _method_fingerprint(name: str, params: Mapping[str, Any]) -> str:
    from .. import classical
    __version__ = _library_version()
    spec = classical.METHODS[name]
    try:
        src = inspect.getsource(spec.kernel)
    except (OSError, TypeError):  # pragma: no cover
        src = repr(spec.kernel)
    full = {**dict(spec.defaults), **dict(params)}
    blob = json.dumps({"method": name, "params": full, "version": __version__,
                       "kernel": hashlib.sha256(src.encode()).hexdigest()}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _key(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


@dataclass(frozen=True)
class LabelRecord:
    """The label decision of one pair.

    ``method`` is the chosen library member, ``scores`` the E2 score of every candidate
    (higher is better), ``label`` the chosen candidate ``(C, H, W)`` float32, ``e2_metrics``
    the E2 components used.
    """

    pair: str
    method: str
    candidates: tuple[str, ...]
    scores: dict
    e2_metrics: tuple[str, ...]
    label: np.ndarray = field(repr=False, compare=False)


@dataclass(frozen=True)
class LabelRun:
    """Labels of a set of pairs: ``records``; of the distinct candidate files of the (pair x method)
    grid, how many were computed in this call (``n_computed``; a damaged file recomputed counts here)
    and how many were found in the cache (``n_cached``); and (for :func:`evolve_labels`) which labels
    changed."""

    records: list
    n_computed: int
    n_cached: int
    changed: tuple[bool, ...] = ()

    @property
    def n_changed(self) -> int:
        return int(sum(self.changed))

    @property
    def labels(self) -> list:
        return [r.label for r in self.records]


def _fuse_candidate(sources: Sequence[np.ndarray], method: str, params: Mapping[str, Any], device) -> np.ndarray:
    """One library candidate, ``(C, H, W)`` float32 clipped to [0, 1]: a pure function of its inputs."""
    from .. import classical
    out = classical.fuse(method, [np.asarray(s, np.float32) for s in sources], device=device, **params)
    out = np.clip(np.asarray(out, np.float32), 0.0, 1.0)
    if out.ndim == 2:
        out = out[None]
    return out


def _candidate_task(job: tuple[int, str], pairs, params, device) -> np.ndarray:
    """The (pair index, method) task of :func:`label_pairs`'s grid (no file written)."""
    i, m = job
    return _fuse_candidate(list(pairs[i]), m, params.get(m, {}), device)


class _Store:
    def __init__(self, cache_dir: str | Path):
        self.root = Path(cache_dir)
        self.computed = 0

    def path(self, digest: str, method: str, params: Mapping[str, Any]) -> Path:
        return self.root / "candidates" / f"{_key(digest, _method_fingerprint(method, params))}.npy"

    def put(self, path: Path, out: np.ndarray) -> np.ndarray:
        """Write a computed candidate (atomically, from this process only) and count it."""
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                np.save(f, out)
        self.computed += 1
        return out

    def candidate(self, digest: str, sources: Sequence[np.ndarray], method: str,
                  params: Mapping[str, Any], device) -> np.ndarray:
        path = self.path(digest, method, params)
        if path.is_file():
            try:
                got = _read_candidate(path, np.shape(sources[0])[-2:])
            except CacheEntryError as e:
                discard_corrupt(path, e)
            else:
                return got
        return self.put(path, _fuse_candidate(sources, method, params, device))

    def fill(self, pairs: Sequence[Sequence[Any]], digests: Sequence[str], methods: Sequence[str],
             params: Mapping[str, Mapping[str, Any]], device, executor, progress: bool, desc: str) -> int:
        """Compute the candidates of the (pair x method) grid that have no cache file on ``executor``,
        writing each here as it arrives (a damaged file is left to :meth:`candidate`, which recomputes
        it here); a failed task (:class:`fusionlib.parallel.TaskError`) keeps the others' files.
        ``digests``: :func:`pair_digest` of each pair. Returns the number of distinct candidate files of
        the grid."""
        from ..parallel import using
        jobs, paths, seen = [], [], set()
        for i, d in enumerate(digests):
            for m in methods:
                path = self.path(d, m, params.get(m, {}))
                if path not in seen and not path.is_file():
                    jobs.append((i, m))
                    paths.append(path)
                seen.add(path)
        if not jobs:
            return len(seen)

        def keep(n: int, out: np.ndarray) -> None:
            self.put(paths[n], out)

        with using(executor) as ex:
            ex.map(_candidate_task, jobs, on_result=keep, progress=progress, desc=desc,
                   labels=[f"pair {i} ({digests[i][:16]})/{m}" for i, m in jobs],
                   pairs=[list(p) for p in pairs], params=dict(params), device=device)
        return len(seen)


def _read_candidate(path: Path, hw: tuple[int, ...]) -> np.ndarray:
    """A cached candidate: float32 ``(C, H, W)`` (C in 1, 3) of the pair's size, finite, in [0, 1]."""
    try:
        out = np.load(path, allow_pickle=False)
    except Exception as e:  # truncated, empty, not .npy, an object array
        raise CacheEntryError.unreadable(path, e) from None
    if not (isinstance(out, np.ndarray) and out.dtype == np.float32 and out.ndim == 3
            and out.shape[0] in (1, 3) and tuple(out.shape[-2:]) == tuple(hw)):
        raise CacheEntryError(f"{path}: cached candidate must be float32 (1 or 3, {hw[0]}, {hw[1]}); "
                              f"got {getattr(out, 'dtype', type(out).__name__)} {getattr(out, 'shape', '')}")
    if not (np.isfinite(out).all() and out.min() >= 0.0 and out.max() <= 1.0):
        raise CacheEntryError(f"{path}: cached candidate has values outside [0, 1] or NaN")
    return out


def _read_decision(path: Path, methods: Sequence[str]) -> dict:
    """A cached label decision: ``method`` among ``methods``, a number per method, E2 metric names."""
    try:
        meta = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise CacheEntryError.unreadable(path, e) from None
    ok = (isinstance(meta, dict) and meta.get("method") in methods and isinstance(meta.get("scores"), dict)
          and all(isinstance(meta["scores"].get(m), (int, float)) and not isinstance(meta["scores"].get(m), bool)
                  for m in methods)
          and isinstance(meta.get("e2_metrics"), list) and all(isinstance(n, str) for n in meta["e2_metrics"]))
    if not ok:
        raise CacheEntryError(f"{path}: cached label decision lacks `method`, a score per method "
                              f"{list(methods)} or `e2_metrics`")
    return meta


def _e2_metrics(shape, e2_options: Mapping[str, Any]) -> tuple[str, ...]:
    from ..metrics.combined import DEFAULT_E2
    metrics = tuple(e2_options.get("metrics", DEFAULT_E2))
    if min(shape[-2:]) < _NIQE_MIN:
        metrics = tuple(m for m in metrics if m != "niqe")
    return metrics


def _score(cands: list[np.ndarray], sources, e2_options: Mapping[str, Any]) -> tuple[np.ndarray, tuple]:
    from .. import metrics
    names = _e2_metrics(cands[0].shape, e2_options)
    opts = {k: v for k, v in e2_options.items() if k != "metrics"}
    res = metrics.e2(np.stack(cands, 0), [np.asarray(s, np.float32) for s in sources], metrics=names, **opts)
    return np.asarray(res.scores, np.float64).reshape(-1), names


def _decision_path(store: _Store, digest: str, methods, params, e2_options, mode: str,
                   previous: LabelRecord | None = None) -> Path:
    """The cache file of one pair's E2 decision over ``methods``."""
    fps = [_method_fingerprint(m, params.get(m, {})) for m in methods]
    rkey = _key(digest, mode, *fps, json.dumps(dict(e2_options), sort_keys=True, default=str),
                previous.method if previous is not None else "")
    return store.root / "labels" / f"{rkey}.json"


def _decision(scores: np.ndarray, names, methods, previous: LabelRecord | None = None) -> dict:
    """The decision record of one pair from its E2 ``scores`` (library order)."""
    best = int(np.argmax(scores))
    if previous is not None and methods[best] != methods[-1]:
        best = methods.index(previous.method)  # the newcomer did not win: O stays
    return {"method": methods[best], "scores": dict(zip(methods, scores.tolist())), "e2_metrics": names}


def _score_task(item: tuple[list, list], e2_options) -> tuple[np.ndarray, tuple]:
    """One pair's E2 scoring task of :func:`label_pairs`: ``item = (sources, candidates)``."""
    sources, cands = item
    return _score(list(cands), sources, e2_options)


#: Pairs whose candidates are sent to the executor together for E2 scoring (bounds the memory
#: of the candidates held in this process at once).
SCORE_CHUNK = 64


def _score_missing(store: _Store, pairs, digests, methods, params, e2_options, ex, show_progress: bool,
                   desc: str) -> None:
    """Score with E2, on ``ex``, every pair whose decision is not cached, and write the decisions here
    (atomically, from this process). A pair whose cached candidate cannot be read is left to
    :func:`_decide`, which recomputes it; ``_decide`` then reads only each pair's chosen candidate."""
    from ..utils import progress
    todo, seen = [], set()
    for i, digest in enumerate(digests):
        path = _decision_path(store, digest, methods, params, e2_options, "fresh")
        if path not in seen and not path.is_file():
            todo.append((i, digest, path))
        seen.add(path)
    if not todo:
        return
    bar = progress(total=len(todo), desc=desc, disable=not show_progress)
    try:
        for c in range(0, len(todo), SCORE_CHUNK):
            part, items, labels = [], [], []
            for i, digest, path in todo[c:c + SCORE_CHUNK]:
                src = list(pairs[i])
                try:
                    cands = [_read_candidate(store.path(digest, m, params.get(m, {})), np.shape(src[0])[-2:])
                             for m in methods]
                except (CacheEntryError, OSError):
                    continue
                part.append(path)
                items.append((src, cands))
                labels.append(f"E2 of pair {i} ({digest[:16]})")

            def write(k: int, res) -> None:
                scores, e2_names = res
                write_json_atomic(part[k], _decision(scores, e2_names, list(methods)))
                bar.update(1)
            ex.map(_score_task, items, on_result=write, e2_options=dict(e2_options), labels=labels)
    finally:
        bar.close()


def _decide(store: _Store, sources, digest: str, methods, params, e2_options, device, mode: str,
            previous: LabelRecord | None = None) -> LabelRecord:
    """One pair's label: its cached decision and the chosen candidate only (a candidate file is read,
    and checked, when it is needed), or, without a valid cached decision, every candidate scored by E2
    here and the decision written. ``digest``: :func:`pair_digest` of ``sources``."""
    rpath = _decision_path(store, digest, methods, params, e2_options, mode, previous)
    meta = None
    if rpath.is_file():
        try:
            meta = _read_decision(rpath, methods)
        except CacheEntryError as e:
            discard_corrupt(rpath, e)
    if meta is None:
        cands = [store.candidate(digest, sources, m, params.get(m, {}), device) for m in methods]
        scores, names = _score(cands, sources, e2_options)
        meta = _decision(scores, names, list(methods), previous)
        write_json_atomic(rpath, meta)
        label = cands[list(methods).index(meta["method"])]
    else:
        label = store.candidate(digest, sources, meta["method"], params.get(meta["method"], {}), device)
    scores = {m: float(meta["scores"][m]) for m in methods}  # library order, cached or not
    return LabelRecord(digest[:16], meta["method"], tuple(methods), scores, tuple(meta["e2_metrics"]), label)


def label_pairs(pairs: Sequence[Sequence[Any]], task: str, *, cache_dir: str | Path,
                methods: Sequence[str] | None = None, params: Mapping[str, Mapping[str, Any]] | None = None,
                e2_options: Mapping[str, Any] | None = None, device: str | None = "cpu",
                show_progress: bool = False, executor: Any = None) -> LabelRun:
    """Algorithm 1, steps 1-2: labels O of ``pairs`` from ``task``'s library, E2-best per pair.

    Parameters
    ----------
    pairs : sequence of source lists, each source (H, W) or (C, H, W) float32 in [0, 1]
    task : {'multi-focus', 'infrared-visible', 'medical', 'multi-exposure'}
    cache_dir : path
        Content-addressed cache (candidates and decisions); reruns are instant.
    methods : sequence of str, optional
        The library (default: :data:`DEFAULT_LIBRARY` ``[task]``); at least 2.
    params : mapping method -> parameters, optional
    e2_options : mapping, optional
        Passed to :func:`fusionlib.metrics.e2` (``metrics``, ``weights``, ``aggregation``).
    executor : :class:`fusionlib.parallel.Executor` or str, optional
        Where the missing candidates of the (pair x method) grid are computed
        (:func:`fusionlib.parallel.executor_from`: None reads ``FUSIONLIB_SCHEDULER``, in this process
        when unset), and then the E2 scoring of every pair without a cached decision (one task per pair,
        its sources and candidates sent with it, :data:`SCORE_CHUNK` pairs at a time). Candidates and
        scores are pure functions of their inputs; this process writes every cache file, so every
        executor gives the same labels.

    Returns
    -------
    LabelRun
    """
    lib = library(task, methods)
    if len(lib) < 2:
        raise ValueError(f"label_pairs: the library of {task!r} needs at least 2 registered methods; got {lib}")
    from ..parallel import using
    store = _Store(cache_dir)
    params, e2_options = dict(params or {}), dict(e2_options or {})
    with using(executor) as ex:
        digests = [pair_digest(p) for p in pairs]
        n_files = store.fill(pairs, digests, lib, params, device, ex, show_progress, f"label candidates {task}")
        _score_missing(store, pairs, digests, list(lib), params, e2_options, ex, show_progress, f"labels {task}")
    recs = [_decide(store, list(p), d, list(lib), params, e2_options, device, "fresh") for p, d in zip(pairs, digests)]
    return LabelRun(recs, store.computed, n_files - store.computed)


def evolve_labels(pairs: Sequence[Sequence[Any]], run: LabelRun, new_method: str, *, cache_dir: str | Path,
                  params: Mapping[str, Mapping[str, Any]] | None = None,
                  e2_options: Mapping[str, Any] | None = None, device: str | None = "cpu") -> LabelRun:
    """Algorithm 1, step 3: add ``new_method`` to the library; O changes only where it wins under E2.

    ``run`` is the previous :class:`LabelRun` of the same ``pairs``. The returned run's
    ``changed[i]`` says whether pair i's label was replaced; ``n_changed`` counts them.
    """
    from .. import classical
    if new_method not in classical.METHODS:
        raise KeyError(f"evolve_labels: unknown method {new_method!r}; valid keys: {sorted(classical.METHODS)}")
    if len(pairs) != len(run.records):
        raise ValueError(f"evolve_labels: {len(pairs)} pairs but the previous run has {len(run.records)} labels")
    store = _Store(cache_dir)
    params, e2_options = dict(params or {}), dict(e2_options or {})
    recs, changed, files = [], [], set()
    for p, old in zip(pairs, run.records):
        if new_method in old.candidates:
            raise ValueError(f"evolve_labels: {new_method!r} is already in the library {old.candidates}")
        lib = list(old.candidates) + [new_method]
        digest = pair_digest(p)
        files.update(store.path(digest, m, params.get(m, {})) for m in lib)
        rec = _decide(store, list(p), digest, lib, params, e2_options, device, "evolve", previous=old)
        recs.append(rec)
        changed.append(rec.method != old.method)
    return LabelRun(recs, store.computed, len(files) - store.computed, tuple(changed))


def candidate_images(sources: Sequence[Any], methods: Sequence[str], *, cache_dir: str | Path,
                     params: Mapping[str, Mapping[str, Any]] | None = None, device: str | None = "cpu"
                     ) -> dict[str, np.ndarray]:
    """The library's candidate images of one pair (from the cache when present), ``name -> (C, H, W)``."""
    store = _Store(cache_dir)
    params = dict(params or {})
    digest = pair_digest(sources)
    return {m: store.candidate(digest, list(sources), m, params.get(m, {}), device) for m in methods}


def make_labeler(cache_dir: str | Path, *, methods: Mapping[str, Sequence[str]] | None = None,
                 e2_options: Mapping[str, Any] | None = None, device: str | None = "cpu") -> Callable:
    """``labeler(task, pairs, refs=None) -> list of labels`` for training-set builders
    (e.g. ``fusionlib.experiments.aenet_study.build_trainset``); ``pairs`` are ``(a, b)`` arrays."""

    def labeler(task: str, pairs, refs=None):
        lib = None if methods is None else methods.get(task)
        return label_pairs(pairs, task, cache_dir=cache_dir, methods=lib, e2_options=e2_options,
                           device=device).labels

    labeler.__qualname__ = f"fusionlib.nets.labels.make_labeler({Path(cache_dir).name})"
    return labeler
