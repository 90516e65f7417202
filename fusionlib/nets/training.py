"""Training loop of AE-Netv2 (Table II, Algorithm 1 step 4): ``fit`` -> :class:`TrainHistory`.

* :class:`TrainConfig` (frozen): the schedule is a tuple of ``(epochs, lr)`` stages, by default
  Table II's two stages ``((10, 1e-3), (100, 1e-4))`` at batch 16 on 128x128 patches; Adam
  (not named in the paper; the checkpoint sizes of Table V suggest it, notes §1). ``epochs``/``lr``
  give a single stage instead; :meth:`TrainConfig.table2` scales the stage lengths (smoke runs).
* :class:`FusionLoss`: both loss forms of Algorithm 1 with ``L(P, T) = (1 - SSIM(P, T)) + lam |P - T|_1``
  (reconstruction, notes §6): ``form='label'`` compares P with the label O (``E(P, O)``; the
  undefined second term ``C[L(x, y), 0]`` is omitted), ``form='sources'`` ("supervised" in the
  paper) averages the loss against each source.
* Schedules may be stated in optimiser steps (``TrainConfig.step_stages``); a validation loader
  evaluated every ``val_every`` steps gives the run's validation curve, and ``patience``/``min_delta``
  is the stopping rule on it (the best evaluation's weights are kept). ``output_init`` starts the
  output layer at the training labels' scale (:func:`fusionlib.nets.models.init_output_scale`).
* AE-Netv2 (R = GCB) trains through :mod:`fusionlib.nets.fast_train` by default (same function and
  gradients to float32 rounding, several times faster on CPU; ``TrainConfig.fast``).
* Checkpoints hold the weights, the optimiser state, the config, the history, the epoch, the
  loader's RNG state, the architecture and the library version; ``fit`` resumes from an existing
  checkpoint, so an interrupted run continues where it stopped and ends with the same weights.
  Loading checks the architecture and every shape first: nothing is loaded partly.
* No printing or plotting (``fusionlib.viz.plot_history`` draws the curves); an optional tqdm bar.
"""
from __future__ import annotations

import contextlib
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import torch
from torch import nn

from .._checks import check_choice, check_int, check_positive
from ..utils import CacheEntryError, atomic_path, discard_corrupt, progress, resolve_device
from .fast_train import THREADING, step_threads, supports_train_forward, train_forward

__all__ = ["TABLE2", "TrainConfig", "TrainHistory", "FusionLoss", "TensorBatches", "fit",
           "save_checkpoint", "load_checkpoint", "load_weights", "model_architecture"]


def _library_version() -> str:
    """``fusionlib.__version__`` (read from the loaded package, not imported upward)."""
    import sys
    return str(getattr(sys.modules.get(__name__.split(".")[0]), "__version__", "unknown"))

#: Table II of the paper: (epochs, learning rate) of the two stages, batch 16, patches 128x128.
TABLE2: tuple[tuple[int, float], ...] = ((10, 1e-3), (100, 1e-4))


@dataclass(frozen=True)
class TrainConfig:
    """Training configuration (frozen).

    Parameters
    ----------
    stages : tuple of (epochs, lr)
        The schedule (default Table II). Ignored when ``epochs`` is given.
    epochs, lr : int, float, optional
        A single stage of ``epochs`` at ``lr`` (default lr 1e-3).
    batch_size, patch : int
        Recorded for provenance; the loader makes the batches (16 and 128 in Table II).
    max_steps : int, optional
        Stop after this many optimiser steps in total (smoke runs); the epoch in progress is
        recorded as a (shorter) epoch.
    weight_decay : float
    seed : int
        Seeds ``torch.manual_seed`` at the start of a fresh run (dropout-free nets: only the
        loader's shuffling and any augmentation depend on it; the loader has its own generator).
    device, dtype : str
        ``'auto'`` picks CUDA when present; ``'float32'`` or ``'float64'``.
    checkpoint : str, optional
        Path of the resumable checkpoint, written atomically every ``checkpoint_every`` epochs
        and at the end.
    show_progress : bool
        A tqdm bar over the epochs.
    deterministic : bool
        ``torch.use_deterministic_algorithms`` during the run (restored afterwards).
    step_stages : tuple of (steps, lr), optional
        The schedule in **optimiser steps**: ``((1000, 1e-3), (500, 1e-4))`` runs 1,000 steps at 1e-3,
        then 500 at 1e-4, whatever the loader's length (epochs are then only the loader's passes).
        Overrides ``stages``/``epochs``/``lr``.
    val_every : int, optional
        Evaluate the loss on ``val_loader`` (eval mode) every ``val_every`` optimiser steps; the
        curve is ``history.val_step`` / ``history.val_curve``.
    patience, min_delta : int, float
        Stopping rule on that curve (needs ``val_every``): stop when the validation loss has not
        fallen below ``(1 - min_delta) * best`` for ``patience`` evaluations in a row
        (``history.stopped_at``); ``None`` never stops early.
    restore_best : bool
        With ``val_every``: end with the weights of the best validation evaluation
        (``history.best_step``).
    output_init : (mean, std), optional
        Scale-aware initialisation (:func:`fusionlib.nets.models.init_output_scale`) at a fresh start,
        from the training labels' pixel mean and standard deviation; the record is
        ``history.output_init``. ``None`` keeps the default initialisation.
    fast : bool
        Train AE-Netv2 (R = GCB) through :func:`fusionlib.nets.fast_train.train_forward` (matrix
        products, composed kernel, hand-written backward): the same function and gradients up to
        float32 rounding, several times faster on CPU; its steps run the per-image products on
        ``torch.get_num_threads()`` Python threads (:class:`fusionlib.nets.fast_train.step_threads`).
        Other networks, and ``False``, call ``model(sources)``. The engine of every epoch is recorded
        in the history.
    threading : {'hybrid', 'images'}
        Where the fast engine's other ops run with 2+ threads: on the OpenMP intra-op threads
        (``'hybrid'``, fastest on idle cores) or on one thread (``'images'``, faster when other
        processes keep cores busy). One thread: no difference. Not part of the run's identity
        (a run resumes under either).
    """

    stages: tuple[tuple[int, float], ...] = TABLE2
    epochs: int | None = None
    lr: float | None = None
    batch_size: int = 16
    patch: int = 128
    max_steps: int | None = None
    weight_decay: float = 0.0
    seed: int = 0
    device: str = "auto"
    dtype: str = "float32"
    checkpoint: str | None = None
    checkpoint_every: int = 1
    show_progress: bool = False
    deterministic: bool = True
    step_stages: tuple[tuple[int, float], ...] | None = None
    val_every: int | None = None
    patience: int | None = None
    min_delta: float = 0.0
    restore_best: bool = True
    output_init: tuple[float, float] | None = None
    fast: bool = True
    threading: str = "hybrid"

    def __post_init__(self):
        where = "TrainConfig"
        check_choice(where, "threading", self.threading, THREADING)
        if self.epochs is not None:
            check_int(where, "epochs", self.epochs, minimum=1)
        if self.lr is not None:
            check_positive(where, "lr", self.lr)
        for i, st in enumerate(self.stages):
            if not (isinstance(st, (tuple, list)) and len(st) == 2):
                raise ValueError(f"{where}: `stages[{i}]` must be (epochs, lr); got {st!r}")
            check_int(where, f"stages[{i}] epochs", st[0], minimum=1)
            check_positive(where, f"stages[{i}] lr", st[1])
        check_int(where, "batch_size", self.batch_size, minimum=1)
        if self.max_steps is not None:
            check_int(where, "max_steps", self.max_steps, minimum=1)
        check_int(where, "checkpoint_every", self.checkpoint_every, minimum=1)
        check_choice(where, "dtype", self.dtype, ("float32", "float64"))
        object.__setattr__(self, "stages", tuple((int(e), float(lr)) for e, lr in self.stages))
        if self.step_stages is not None:
            if not self.step_stages:
                raise ValueError(f"{where}: `step_stages` must hold at least one (steps, lr); got ()")
            for i, st in enumerate(self.step_stages):
                if not (isinstance(st, (tuple, list)) and len(st) == 2):
                    raise ValueError(f"{where}: `step_stages[{i}]` must be (steps, lr); got {st!r}")
                check_int(where, f"step_stages[{i}] steps", st[0], minimum=1)
                check_positive(where, f"step_stages[{i}] lr", st[1])
            object.__setattr__(self, "step_stages", tuple((int(n), float(lr)) for n, lr in self.step_stages))
        for name in ("val_every", "patience"):
            if getattr(self, name) is not None:
                check_int(where, name, getattr(self, name), minimum=1)
        if self.patience is not None and self.val_every is None:
            raise ValueError(f"{where}: `patience` needs `val_every` (the stopping rule reads the validation curve)")
        check_positive(where, "min_delta", self.min_delta, strict=False)
        if self.output_init is not None:
            if not (isinstance(self.output_init, (tuple, list)) and len(self.output_init) == 2):
                raise ValueError(f"{where}: `output_init` must be (mean, std); got {self.output_init!r}")
            object.__setattr__(self, "output_init", tuple(float(v) for v in self.output_init))

    @property
    def total_steps(self) -> int | None:
        """Optimiser steps of ``step_stages`` (``None`` for an epoch schedule)."""
        return None if self.step_stages is None else sum(n for n, _ in self.step_stages)

    def lr_at_step(self, step: int) -> tuple[int, float]:
        """(stage index, lr) of 0-based optimiser ``step`` under ``step_stages``."""
        acc = 0
        for i, (n, lr) in enumerate(self.step_stages):
            acc += n
            if step < acc:
                return i, lr
        return len(self.step_stages) - 1, self.step_stages[-1][1]

    def schedule(self) -> list[tuple[int, float]]:
        """``[(epochs, lr), ...]`` actually used."""
        if self.epochs is not None:
            return [(int(self.epochs), float(self.lr if self.lr is not None else 1e-3))]
        if self.lr is not None:
            return [(e, float(self.lr)) for e, _ in self.stages]
        return list(self.stages)

    @property
    def total_epochs(self) -> int:
        return sum(e for e, _ in self.schedule())

    def lr_at(self, epoch: int) -> tuple[int, float]:
        """(stage index, lr) of 0-based ``epoch``."""
        acc = 0
        for i, (e, lr) in enumerate(self.schedule()):
            acc += e
            if epoch < acc:
                return i, lr
        return len(self.schedule()) - 1, self.schedule()[-1][1]

    @classmethod
    def table2(cls, scale: float = 1.0, **kw: Any) -> "TrainConfig":
        """Table II with every stage's epochs multiplied by ``scale`` (at least 1 epoch each)."""
        stages = tuple((max(1, int(round(e * scale))), lr) for e, lr in TABLE2)
        return cls(stages=stages, **kw)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class TrainHistory:
    """Per-epoch arrays (lists) of a run, plus the loss of every optimiser step."""

    epoch: list = field(default_factory=list)
    stage: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    steps: list = field(default_factory=list)
    seconds: list = field(default_factory=list)
    step_loss: list = field(default_factory=list)
    resumed_at: list = field(default_factory=list)
    engine: list = field(default_factory=list)
    val_step: list = field(default_factory=list)
    val_curve: list = field(default_factory=list)
    best_step: int | None = None
    stopped_at: int | None = None
    output_init: dict | None = None

    def as_dict(self) -> dict:
        return asdict(self)


class FusionLoss(nn.Module):
    """Algorithm 1's loss, ``L(P, T) = (1 - SSIM(P, T)) + lam * mean|P - T|`` (reconstruction).

    ``form='label'``: T = the label O. ``form='sources'``: mean of L(P, s) over the sources.
    SSIM: Wang et al. (2004) Gaussian window (size ``window``, sigma 1.5), K = (0.01, 0.03), data
    range 1, 'valid' positions (``fusionlib.metrics.structural.ssim_map``); the window shrinks to
    the patch size for patches smaller than it.

    Call: ``loss(pred, target, sources=None)`` with ``pred``/``target`` ``(B, C, H, W)``.
    """

    def __init__(self, form: str = "label", lam: float = 1.0, window: int = 11):
        super().__init__()
        check_choice("FusionLoss", "form", form, ("label", "sources"))
        self.form, self.lam = form, check_positive("FusionLoss", "lam", lam, strict=False)
        self.window = check_int("FusionLoss", "window", window, minimum=3)

    def _pair(self, p: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        from ..metrics.structural import ssim_map
        if t.shape[1] != p.shape[1]:
            t = t.mean(1, keepdim=True) if p.shape[1] == 1 else t.expand_as(p)
        size = min(self.window, p.shape[-1], p.shape[-2])
        size -= 1 - size % 2
        ssim = ssim_map(p, t, size=size, peak=1.0, border="valid").mean()
        return (1.0 - ssim) + self.lam * (p - t).abs().mean()

    def forward(self, pred: torch.Tensor, target: torch.Tensor | None,
                sources: Sequence[torch.Tensor] | None = None) -> torch.Tensor:
        if self.form == "label":
            if target is None:
                raise ValueError("FusionLoss: form='label' needs the label `target`")
            return self._pair(pred, target)
        if not sources:
            raise ValueError("FusionLoss: form='sources' needs `sources`")
        return sum(self._pair(pred, s) for s in sources) / len(sources)


class TensorBatches:
    """Shuffled batches of aligned tensors, exactly those of
    ``DataLoader(TensorDataset(*tensors), batch_size, shuffle=True, generator=generator, drop_last=...)``
    (same random draws from ``generator``, same order, same values), without the per-sample
    indexing and collation: one ``index_select`` per tensor and batch.

    ``generator`` (a ``torch.Generator``) is exposed as ``.generator`` so that :func:`fit` saves and
    restores its state on resume.
    """

    def __init__(self, *tensors: torch.Tensor, batch_size: int, generator: torch.Generator,
                 drop_last: bool = False):
        if not tensors or any(t.shape[0] != tensors[0].shape[0] for t in tensors):
            raise ValueError("TensorBatches: `tensors` must share their first dimension; got "
                             f"{[tuple(t.shape) for t in tensors]}")
        self.tensors = tensors
        self.batch_size = check_int("TensorBatches", "batch_size", batch_size, minimum=1)
        self.generator, self.drop_last = generator, bool(drop_last)

    def __len__(self) -> int:
        n = self.tensors[0].shape[0]
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self):
        n = self.tensors[0].shape[0]
        # DataLoader's iterator draws its base seed first, then RandomSampler draws the permutation
        torch.empty((), dtype=torch.int64).random_(generator=self.generator)
        order = torch.randperm(n, generator=self.generator)
        n_full = n // self.batch_size
        for i in range(n_full):
            idx = order[i * self.batch_size:(i + 1) * self.batch_size]
            yield tuple(t.index_select(0, idx) for t in self.tensors)
        # the exhausted sampler draws one more (empty) permutation before the batch sampler stops
        torch.randperm(n, generator=self.generator)
        if n_full * self.batch_size < n and not self.drop_last:
            idx = order[n_full * self.batch_size:]
            yield tuple(t.index_select(0, idx) for t in self.tensors)


def _unpack(batch: Any) -> tuple[list[torch.Tensor], torch.Tensor | None]:
    if isinstance(batch, dict):
        srcs = batch.get("sources") or [batch["a"], batch["b"]]
        return list(srcs), batch.get("o", batch.get("label"))
    if isinstance(batch, (tuple, list)):
        if len(batch) == 2 and isinstance(batch[0], (list, tuple)):
            return list(batch[0]), batch[1]
        if len(batch) >= 3:
            return list(batch[:-1]), batch[-1]
    raise TypeError("fit: batches must be (a, b, o), ([sources], o) or dicts with 'a', 'b', 'o'; "
                    f"got {type(batch).__name__}")


def save_checkpoint(path: str | Path, model: nn.Module, optimizer: torch.optim.Optimizer | None,
                    config: TrainConfig | None = None, *, epoch: int = 0, history: TrainHistory | None = None,
                    extra: dict | None = None) -> Path:
    """Write a checkpoint atomically: weights, optimiser state, config, epoch, history, versions."""
    __version__ = _library_version()
    state = {"model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
             "optimizer": optimizer.state_dict() if optimizer is not None else None,
             "config": config.as_dict() if config is not None else None, "epoch": int(epoch),
             "history": history.as_dict() if history is not None else None,
             "fusionlib_version": str(__version__), "torch_version": str(torch.__version__),
             "model_class": type(model).__name__, "architecture": model_architecture(model), **(extra or {})}
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
    return Path(path)


_ARCH_ATTRS = ("block_name", "n_sources", "source_channels", "out_channels", "skip", "bn_position", "output",
               "upsample", "final_skip")


def model_architecture(model: nn.Module) -> dict:
    """What a checkpoint must match besides its tensor shapes: the class, the architecture options that
    leave no trace in the ``state_dict`` (skip, output, BN position, ...) and whether a GCB shuffles."""
    arch = {"class": type(model).__name__}
    arch.update({k: getattr(model, k) for k in _ARCH_ATTRS if isinstance(getattr(model, k, None), (str, int, bool))})
    block = getattr(model, "block", None)
    if block is not None and hasattr(block, "shuffle"):
        arch["shuffle"] = not isinstance(block.shuffle, nn.Identity)
    return arch


def load_weights(model: nn.Module, state: dict, *, where: str = "load_checkpoint", source: Any = "checkpoint") -> None:
    """Load ``state['model']`` into ``model`` all or nothing: the architecture record (when the
    checkpoint has one), the parameter names and every shape are checked before any tensor is
    copied (``load_state_dict`` alone copies the matching tensors before reporting a mismatch)."""
    saved_arch = state.get("architecture")
    arch = model_architecture(model)
    if saved_arch is not None and saved_arch != arch:
        diff = {k: (saved_arch.get(k), arch.get(k)) for k in set(saved_arch) | set(arch)
                if saved_arch.get(k) != arch.get(k)}
        raise ValueError(f"{where}: {source} holds another architecture; (checkpoint, model) differ in {diff}")
    if saved_arch is None and state.get("model_class") not in (None, type(model).__name__):
        raise ValueError(f"{where}: {source} holds a {state['model_class']}, not a {type(model).__name__}")
    weights, own = state["model"], model.state_dict()
    missing, unexpected = sorted(set(own) - set(weights)), sorted(set(weights) - set(own))
    shapes = {k: (tuple(weights[k].shape), tuple(v.shape)) for k, v in own.items()
              if k in weights and tuple(weights[k].shape) != tuple(v.shape)}
    if missing or unexpected or shapes:
        raise ValueError(f"{where}: {source} does not fit {type(model).__name__}: missing {missing[:5]}, "
                         f"unexpected {unexpected[:5]}, shapes (checkpoint, model) {dict(list(shapes.items())[:5])}; "
                         "nothing was loaded")
    model.load_state_dict(weights, strict=True)


def load_checkpoint(path: str | Path, model: nn.Module | None = None, *, map_location: str = "cpu") -> dict:
    """Read a checkpoint (``weights_only``); with ``model``, load its weights all or nothing
    (:func:`load_weights`: another architecture or configuration is refused, never loaded partly).

    Raises :class:`fusionlib.utils.CacheEntryError` (a ``ValueError``) naming ``path`` when the file
    is missing, truncated, not a checkpoint or holds objects ``weights_only`` refuses, and
    ``ValueError`` when its weights do not fit ``model``.
    """
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # EOFError, RuntimeError (zip reader), UnpicklingError, OSError, ...
        raise CacheEntryError.unreadable(path, e) from None
    if not isinstance(state, dict) or "model" not in state:
        raise CacheEntryError(f"load_checkpoint: {path} is not a fusionlib checkpoint (no 'model' entry)")
    if model is not None:
        load_weights(model, state, source=str(path))
    return state


def _same_run(saved: dict | None, config: TrainConfig) -> bool:
    if saved is None:
        return False
    ignore = {"device", "checkpoint", "show_progress", "checkpoint_every", "max_steps", "fast", "threading"}
    now = {k: v for k, v in config.as_dict().items() if k not in ignore}
    old = {k: (tuple(map(tuple, v)) if k == "stages" else v) for k, v in saved.items() if k not in ignore}
    now["stages"] = tuple(map(tuple, now["stages"]))
    return old == now


def fit(model: nn.Module, loader: Iterable, loss_fn: Callable, config: TrainConfig, val_loader: Iterable | None = None,
        callbacks: Sequence[Callable[[dict, nn.Module], Any]] = ()) -> TrainHistory:
    """Train ``model`` on ``loader`` with ``loss_fn`` under ``config``; returns a :class:`TrainHistory`.

    ``loader`` yields ``(a, b, o)`` (sources and label; more sources: ``(s1, ..., sN, o)``).
    ``loss_fn(pred, o, sources)``. ``callbacks`` are called after every epoch with the epoch's
    record (a dict) and the model; a callback returning True stops training after that epoch
    (the checkpoint is written first, so :func:`fit` with the same config resumes).

    Resuming: when ``config.checkpoint`` exists and was written by the same configuration
    (device, max_steps and bookkeeping fields aside), weights, optimiser, history and the loader's
    generator state are restored and training continues at the next epoch. A checkpoint of a
    different configuration is an error (delete it or change the path); an unreadable one is
    replaced (a ``RuntimeWarning`` names it) and training starts from the beginning.
    ``max_steps`` counts the steps of the whole run, resumed or not. A run it stopped in the middle
    of an epoch is complete for that ``max_steps`` (a rerun returns at once) but cannot be continued
    exactly: resuming it with a larger or no ``max_steps`` is an error.
    """
    if not isinstance(config, TrainConfig):
        raise TypeError(f"fit: `config` must be a TrainConfig; got {type(config).__name__}")
    dev = resolve_device(config.device)
    dtype = torch.float64 if config.dtype == "float64" else torch.float32
    model.to(device=dev, dtype=dtype)
    params = [p for p in model.parameters() if p.requires_grad]
    first_lr = config.step_stages[0][1] if config.step_stages else config.schedule()[0][1]
    opt = torch.optim.Adam(params, lr=first_lr, weight_decay=config.weight_decay)
    hist = TrainHistory()
    start = 0
    best_state = None
    gen = getattr(loader, "generator", None)
    ckpt = Path(config.checkpoint) if config.checkpoint else None
    state = None
    finished = False
    if ckpt is not None and ckpt.is_file():
        try:
            state = load_checkpoint(ckpt)
        except CacheEntryError as e:  # replaced by the first checkpoint of the new run
            discard_corrupt(ckpt, e, remove=False, action="training from the start")
    if state is not None:
        if not _same_run(state.get("config"), config):
            raise ValueError(f"fit: checkpoint {ckpt} was written by a different configuration; "
                             "delete it or use another `checkpoint` path")
        load_weights(model, state, where="fit")
        if state.get("optimizer") is not None:
            opt.load_state_dict(state["optimizer"])
        hist = TrainHistory(**state["history"]) if state.get("history") else TrainHistory()
        start = int(state["epoch"])
        done = len(hist.step_loss)
        if config.max_steps is not None and done >= config.max_steps:
            finished = True  # this max_steps run is complete: nothing left to train
        elif state.get("partial_epoch"):
            raise ValueError(
                f"fit: checkpoint {ckpt} was written in the middle of epoch {start - 1} (a max_steps run "
                f"stopped after {done} steps); it cannot resume exactly: delete it or use another "
                "`checkpoint` path")
        best_state = state.get("best_model")
        if gen is not None and state.get("loader_rng") is not None:
            gen.set_state(state["loader_rng"])
        hist.resumed_at.append(start)
    else:
        torch.manual_seed(config.seed)
    pending_init = config.output_init is not None and not hist.step_loss
    if config.val_every is not None and val_loader is None:
        raise ValueError("fit: `config.val_every` needs a `val_loader`")
    prev_det = torch.are_deterministic_algorithms_enabled()
    if config.deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
    total_steps = config.total_steps
    if total_steps is not None:
        try:
            per_epoch = len(loader)
        except TypeError:
            raise TypeError("fit: `step_stages` needs a loader with a length") from None
        if per_epoch == 0:
            raise ValueError("fit: `loader` yielded no batches")
        total = -(-total_steps // per_epoch)
    else:
        total = config.total_epochs
    if finished:
        start = total
    gstep = len(hist.step_loss)  # optimiser steps so far: max_steps counts the run's steps, resumed or not
    partial = False
    bar = progress(range(start, total), desc="fit", disable=not config.show_progress, leave=False)

    def _ckpt(epoch_done: int):
        if ckpt is not None:
            save_checkpoint(ckpt, model, opt, config, epoch=epoch_done, history=hist,
                            extra={"loader_rng": gen.get_state() if gen is not None else None,
                                   "partial_epoch": partial, "best_model": best_state})

    def _validate() -> bool:
        """Record the validation loss; True when the stopping rule says stop."""
        nonlocal best_state
        v = evaluate_loss(model, val_loader, loss_fn, dev, dtype)
        hist.val_step.append(gstep)
        hist.val_curve.append(v)
        best = min(hist.val_curve[:-1], default=math.inf)
        if v < best * (1.0 - config.min_delta) or not math.isfinite(best):
            hist.best_step = gstep
            if config.restore_best:
                best_state = {k: t.detach().clone() for k, t in model.state_dict().items()}
        if config.patience is None or hist.best_step is None:
            return False
        stale = sum(1 for s_ in hist.val_step if s_ > hist.best_step)
        return stale >= config.patience

    try:
        for epoch in bar:
            if total_steps is None:
                stage, lr = config.lr_at(epoch)
                for g in opt.param_groups:
                    g["lr"] = lr
            model.train()
            t0 = time.perf_counter()
            total_loss, n_batches = 0.0, 0
            stop = False
            engine = "module"
            for batch in loader:
                if stop:  # max_steps reached on what len(loader) called the last batch
                    partial = True
                    break
                srcs, target = _unpack(batch)
                srcs = [s.to(dev, dtype) for s in srcs]
                target = target.to(dev, dtype) if target is not None else None
                if pending_init:
                    from .models import init_output_scale
                    hist.output_init = init_output_scale(model, *config.output_init, sources=srcs)
                    pending_init = False
                if total_steps is not None:
                    stage, lr = config.lr_at_step(gstep)
                    for g in opt.param_groups:
                        g["lr"] = lr
                fast = config.fast and supports_train_forward(model, srcs)
                engine = "fast" if fast else engine
                with step_threads(mode=config.threading) if fast else contextlib.nullcontext():
                    pred = train_forward(model, srcs) if fast else model(srcs)
                    loss = loss_fn(pred, target, srcs)
                    if not torch.isfinite(loss):
                        raise FloatingPointError(f"fit: non-finite loss {float(loss)} at epoch {epoch}, "
                                                 f"step {n_batches}")
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                v = float(loss.detach())
                hist.step_loss.append(v)
                total_loss += v
                n_batches += 1
                gstep += 1
                if config.val_every is not None and gstep % config.val_every == 0 and _validate():
                    hist.stopped_at = gstep
                    stop = True
                    break
                if (config.max_steps is not None and gstep >= config.max_steps) or \
                        (total_steps is not None and gstep >= total_steps):
                    stop = True
                    if hasattr(loader, "__len__") and n_batches == len(loader):
                        continue  # the epoch's last batch: let the loader finish (its RNG draws)
                    # the loader's position inside an epoch is not in the checkpoint: a run stopped
                    # before the epoch's end is marked so that it is never resumed inexactly
                    partial = True
                    break
            if n_batches == 0:
                raise ValueError("fit: `loader` yielded no batches")
            rec = {"epoch": epoch, "stage": stage, "lr": lr, "train_loss": total_loss / n_batches,
                   "val_loss": evaluate_loss(model, val_loader, loss_fn, dev, dtype) if val_loader is not None
                   and config.val_every is None else math.nan, "steps": n_batches,
                   "seconds": time.perf_counter() - t0, "engine": engine}
            for k, v in rec.items():
                getattr(hist, k).append(v)
            bar.set_postfix(loss=f"{rec['train_loss']:.4f}")
            if (epoch + 1) % config.checkpoint_every == 0 or stop or epoch + 1 == total:
                _ckpt(epoch + 1)
            for cb in callbacks:
                if cb(rec, model):
                    stop = True
            if stop:
                if ckpt is not None:
                    _ckpt(epoch + 1)
                break
        if config.val_every is not None and config.restore_best and best_state is not None:
            model.load_state_dict(best_state)
    finally:
        if config.deterministic:
            torch.use_deterministic_algorithms(prev_det)
    model.eval()
    return hist


@torch.no_grad()
def evaluate_loss(model: nn.Module, loader: Iterable, loss_fn: Callable, device=None, dtype=None) -> float:
    """Mean of ``loss_fn`` over ``loader`` in eval mode."""
    was = model.training
    model.eval()
    tot, n = 0.0, 0
    try:
        for batch in loader:
            srcs, target = _unpack(batch)
            srcs = [s.to(device, dtype) for s in srcs]
            target = target.to(device, dtype) if target is not None else None
            tot += float(loss_fn(model(srcs), target, srcs))
            n += 1
    finally:
        model.train(was)
    return tot / max(n, 1)

