"""AE-Netv2 studies: training patches and train-or-load with a disk cache.

Split out of :mod:`fusionlib.experiments.aenet_study` (which re-exports every name here): the training
set (:class:`TrainSet`, :func:`sample_patches`, :func:`build_trainset`), the budget
(:class:`StudyConfig`), the cache (:func:`cache_entry`, :func:`train_or_load`: one folder per
(experiment, variant, seed, configuration), a stale entry retrained) and :func:`model_fuser`.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch

from .._checks import ShapeError, check_int
from ..utils import CacheEntryError, atomic_path, discard_corrupt, resolve_device, write_json_atomic
from .aenet_data import TaskSplit, load_pairs

__all__ = ["fingerprint", "TrainSet", "sample_patches", "build_trainset", "StudyConfig", "Trained", "cache_entry", "train_or_load", "model_fuser"]


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
                          device=device, checkpoint=str(checkpoint), weight_decay=config.weight_decay)
    hist = nets.fit(model, train.loader(config.batch_size, seed), nets.FusionLoss(), tc)
    return {k: (np.asarray(v).tolist() if isinstance(v, (list, tuple, np.ndarray)) else v)
            for k, v in hist.as_dict().items()}


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
