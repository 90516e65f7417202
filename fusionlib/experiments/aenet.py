"""Glue for the AE-Netv2 method: Algorithm 1 labels on the documented train splits -> patches -> ``fit``.

``train_checkpoint`` trains one checkpoint from the first train pairs of every task (the studies
of ``data/checkpoints/convergence_study.py`` used it); the committed networks of the chapters are
made by :mod:`fusionlib.experiments.aenet_grid` from the pieces here::

    .venv/bin/python -m fusionlib.experiments.aenet --out /tmp/aenetv2.pt \
        --profile standard --n-per-task 4 --n-patches 256 --max-steps 120 --seed 0

Splits come from :func:`fusionlib.experiments.aenet_study.task_splits` (notes §8; the *train*
side only - no test pair is ever labelled or trained on here); labels from
:func:`fusionlib.nets.labels.label_pairs` (library per task, E2-best, cached); patches from
:func:`fusionlib.experiments.aenet_study.sample_patches`; training from :func:`fusionlib.nets.fit`.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from .._checks import check_choice
from ..utils import write_json_atomic

__all__ = ["labelled_train_pairs", "label_stats", "train_checkpoint", "load_trained", "main"]


def labelled_train_pairs(profile: str = "smoke", *, tasks: Sequence[str] | None = None, n_per_task: int = 2,
                         root=None, split_seed: int = 0, cache_dir: str | Path = ".cache/aenet_labels",
                         methods: dict | None = None, show_progress: bool = False,
                         executor: Any = None) -> dict[str, dict]:
    """For each task: the first ``n_per_task`` train pairs (round-robin over the split's data sets;
    None: all of them, in that order),
    their Algorithm 1 labels and the label records. Returns ``task -> {"refs", "pairs", "run"}``.
    ``executor``: where the label candidates are computed (:func:`fusionlib.nets.labels.label_pairs`)."""
    from ..nets import labels as L
    from . import aenet_study as S
    splits = S.task_splits(profile, root=root, tasks=tasks, split_seed=split_seed)
    out = {}
    for task, split in splits.items():
        sp = split.head(n_train=len(split.train) if n_per_task is None else n_per_task, n_test=1)
        pairs = S.load_pairs(sp.train, root)
        run = L.label_pairs([list(p) for p in pairs], task, cache_dir=cache_dir,
                            methods=None if methods is None else methods.get(task), show_progress=show_progress,
                            executor=executor)
        out[task] = {"refs": sp.train, "pairs": pairs, "run": run, "rule": split.rule}
    return out


def label_stats(labels: Sequence[Any]) -> tuple[float, float]:
    """Pixel mean and standard deviation over all ``labels`` (each pixel counts once; float64 sums)."""
    n = sum(int(np.size(x)) for x in labels)
    mean = sum(float(np.sum(x, dtype=np.float64)) for x in labels) / n
    var = sum(float(np.sum((np.asarray(x, np.float64) - mean) ** 2)) for x in labels) / n
    return mean, float(np.sqrt(var))


def train_checkpoint(out: str | Path, *, profile: str = "standard", tasks: Sequence[str] | None = None,
                     n_per_task: int = 4, n_patches: int = 256, patch: int = 128, batch_size: int = 16,
                     stages: Sequence[tuple[int, float]] = ((10, 1e-3), (100, 1e-4)),
                     step_stages: Sequence[tuple[int, float]] | None = None,
                     max_steps: int | None = None, seed: int = 0, model: str = "aenetv2",
                     output_init: str = "default", val_pairs: int = 0, val_start: int | None = None,
                     val_every: int | None = None, patience: int | None = None, min_delta: float = 0.0,
                     root=None, cache_dir: str | Path = ".cache/aenet_labels", device: str = "auto",
                     skip_methods: Sequence[str] = (), command: str = "", write_weights_only: bool = False,
                     executor: Any = None) -> dict[str, Any]:
    """Label, cut patches, train, and write ``out`` (checkpoint) + ``out.with_suffix('.json')`` (provenance).

    ``step_stages`` (optimiser steps, lr) replaces the epoch ``stages``. ``output_init='label_scale'``
    starts the output layer at the training labels' pixel mean and standard deviation
    (:func:`fusionlib.nets.init_output_scale`; the statistics are in the provenance).

    Validation (``val_pairs`` > 0): the train-split pairs ``val_start .. val_start + val_pairs - 1`` of
    every task (default ``val_start = n_per_task``; never a test pair and never a training pair) are
    labelled too; the validation loss is the mean loss of the network (eval mode) against their labels
    on the full images, every ``val_every`` steps; ``patience``/``min_delta`` is the stopping rule
    (:class:`fusionlib.nets.TrainConfig`), and the weights of the best evaluation are kept.
    ``write_weights_only`` (and any run with a validation part): ``out`` holds only the kept float32
    weights, the config, the history and the architecture (no optimiser state); the resumable
    training checkpoint goes to ``out`` + ``.train.pt`` (removed at the end).
    """
    from .. import nets
    from . import aenet_study as S
    out = Path(out)
    check_choice("train_checkpoint", "output_init", output_init, ("default", "label_scale"))
    v0 = n_per_task if val_start is None else int(val_start)
    if val_pairs and v0 < n_per_task:
        raise ValueError(f"train_checkpoint: `val_start` {v0} overlaps the {n_per_task} training pairs")
    t0 = time.perf_counter()
    from ..nets.labels import DEFAULT_LIBRARY, library
    methods = {t: [m for m in library(t) if m not in set(skip_methods)] for t in DEFAULT_LIBRARY}
    n_label = max(n_per_task, v0 + val_pairs if val_pairs else 0)
    lab = labelled_train_pairs(profile, tasks=tasks, n_per_task=n_label, root=root, cache_dir=cache_dir,
                               methods=methods, show_progress=True, executor=executor)
    triples, keys, used_tasks, val = [], [], [], []
    for task, d in lab.items():
        for j, ((a, b), rec, ref) in enumerate(zip(d["pairs"], d["run"].records, d["refs"])):
            t = (a, b, rec.label.reshape(a.shape))
            if j < n_per_task:
                triples.append(t)
                keys.append(ref.key)
            elif val_pairs and v0 <= j < v0 + val_pairs:
                val.append((ref.key, t))
        used_tasks.append(task)
    t_label = time.perf_counter() - t0
    ts = S.sample_patches(triples, patch=patch, n_patches=n_patches, seed=seed, keys=keys, tasks=used_tasks)
    stats = label_stats([t[2] for t in triples])
    val_loader = [tuple(torch.from_numpy(np.asarray(x, np.float32).reshape(1, 1, *np.shape(x)[-2:]))
                        for x in t) for _, t in val] or None
    # with a validation part the kept weights are the best evaluation's, not the last step's: the
    # resumable training checkpoint then lives beside ``out``, which gets the kept weights only
    separate = write_weights_only or bool(val_loader)
    train_ckpt = out.with_name(out.name + ".train.pt") if separate else out
    cfg = nets.TrainConfig(stages=tuple(stages), step_stages=None if step_stages is None else tuple(step_stages),
                           batch_size=batch_size, patch=patch, max_steps=max_steps, seed=seed, device=device,
                           checkpoint=str(train_ckpt), val_every=val_every if val_loader else None,
                           patience=patience if val_loader else None, min_delta=min_delta,
                           output_init=stats if output_init == "label_scale" else None)
    torch.manual_seed(seed)
    net = nets.build(model)
    hist = nets.fit(net, ts.loader(batch_size, seed), nets.FusionLoss(), cfg, val_loader=val_loader)
    if separate:
        nets.save_checkpoint(out, net.float(), None, cfg, epoch=len(hist.epoch), history=hist)
        train_ckpt.unlink(missing_ok=True)
    meta = {
        "model": model, "parameters": net.parameter_count(), "checkpoint": out.name,
        "command": command, "profile": profile, "seed": seed, "split_seed": 0,
        "train_pairs": {t: [r.key for r in d["refs"][:n_per_task]] for t, d in lab.items()},
        "validation_pairs": [k for k, _ in val],
        "split_rules": {t: d["rule"] for t, d in lab.items()},
        "labels": {t: [{"pair": r.key, "method": rec.method, "e2_metrics": list(rec.e2_metrics),
                        "scores": rec.scores} for r, rec in zip(d["refs"], d["run"].records)]
                   for t, d in lab.items()},
        "label_stats": {"mean": stats[0], "std": stats[1], "of": "training labels' pixels"},
        "output_init": output_init,
        "skipped_methods": list(skip_methods),
        "patches": {"n": n_patches, "size": patch, "seed": seed}, "config": cfg.as_dict(),
        "history": hist.as_dict(), "label_seconds": t_label,
        "train_seconds": float(sum(hist.seconds)), "torch": torch.__version__,
        "note": "train split only (task_splits 'standard'); never evaluate on these pairs",
    }
    write_json_atomic(out.with_suffix(".json"), meta)
    return meta


def load_trained(path: str | Path, *, device: str = "cpu"):
    """A committed checkpoint -> (model in eval mode, provenance dict)."""
    from .. import nets
    path = Path(path)
    meta_path = path.with_suffix(".json")
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    model = nets.build(meta.get("model", "aenetv2"))
    nets.load_checkpoint(path, model)
    return model.to(device).eval(), meta


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Train a small AE-Netv2 checkpoint on the documented train splits")
    p.add_argument("--out", required=True)
    p.add_argument("--profile", default="standard", choices=("smoke", "standard", "full"))
    p.add_argument("--tasks", default=None, help="comma-separated; default all available")
    p.add_argument("--n-per-task", type=int, default=4)
    p.add_argument("--n-patches", type=int, default=256)
    p.add_argument("--patch", type=int, default=128)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--stages", default="10:1e-3,100:1e-4", help="epochs:lr,... (Table II)")
    p.add_argument("--step-stages", default=None, help="steps:lr,... (a schedule in optimiser steps)")
    p.add_argument("--max-steps", type=int, default=None)
    p.add_argument("--output-init", default="default", choices=("default", "label_scale"))
    p.add_argument("--val-pairs", type=int, default=0, help="validation pairs per task (train split)")
    p.add_argument("--val-start", type=int, default=None)
    p.add_argument("--val-every", type=int, default=None)
    p.add_argument("--patience", type=int, default=None)
    p.add_argument("--min-delta", type=float, default=0.0)
    p.add_argument("--weights-only", action="store_true", help="write float32 weights without optimiser state")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--model", default="aenetv2")
    p.add_argument("--root", default=None)
    p.add_argument("--cache-dir", default=".cache/aenet_labels")
    p.add_argument("--device", default="auto")
    p.add_argument("--skip-methods", default="", help="comma-separated library methods to leave out (e.g. gtf)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS|local[:N]|inprocess",
                   help="where the label candidates are computed (fusionlib.parallel.executor_from); "
                        "default: FUSIONLIB_SCHEDULER, else in this process")
    a = p.parse_args(argv)
    def parse(text):
        return tuple((int(s.split(":")[0]), float(s.split(":")[1])) for s in text.split(","))
    stages = parse(a.stages)
    import sys
    from ..parallel import executor_from
    try:
        ex = executor_from(a.scheduler)  # one cluster for every task's labels
    except (ImportError, ValueError, OSError) as e:
        print(f"fusionlib.experiments.aenet: `--scheduler` {e}", file=sys.stderr)
        return 1
    with ex:
        meta = train_checkpoint(a.out, profile=a.profile, tasks=None if a.tasks is None else a.tasks.split(","),
                                n_per_task=a.n_per_task, n_patches=a.n_patches, patch=a.patch,
                                batch_size=a.batch_size, stages=stages, max_steps=a.max_steps, seed=a.seed,
                                step_stages=None if a.step_stages is None else parse(a.step_stages),
                                output_init=a.output_init, val_pairs=a.val_pairs, val_start=a.val_start,
                                val_every=a.val_every, patience=a.patience, min_delta=a.min_delta,
                                write_weights_only=a.weights_only,
                                model=a.model, root=a.root, cache_dir=a.cache_dir, device=a.device,
                                skip_methods=tuple(m for m in a.skip_methods.split(",") if m),
                                command=" ".join(["python -m fusionlib.experiments.aenet", *sys.argv[1:]]),
                                executor=ex)
    h = meta["history"]
    print(f"wrote {a.out}: {len(h['step_loss'])} steps, loss {h['step_loss'][0]:.4f} -> "
          f"{np.mean(h['step_loss'][-10:]):.4f}; labels {meta['label_seconds']:.0f} s, "
          f"training {meta['train_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
