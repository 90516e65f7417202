"""Glue for the AE-Netv2 method: Algorithm 1 labels on the documented train splits -> patches -> ``fit``.

``train_checkpoint`` produces the small checkpoints committed under ``data/checkpoints/`` (and is
what their README's command runs)::

    .venv/bin/python -m fusionlib.experiments.aenet --out data/checkpoints/aenetv2_mixed_s0.pt \
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

from ..utils import write_json_atomic

__all__ = ["labelled_train_pairs", "train_checkpoint", "load_trained", "main"]


def labelled_train_pairs(profile: str = "smoke", *, tasks: Sequence[str] | None = None, n_per_task: int = 2,
                         root=None, split_seed: int = 0, cache_dir: str | Path = ".cache/aenet_labels",
                         methods: dict | None = None, show_progress: bool = False,
                         executor: Any = None) -> dict[str, dict]:
    """For each task: the first ``n_per_task`` train pairs (round-robin over the split's data sets),
    their Algorithm 1 labels and the label records. Returns ``task -> {"refs", "pairs", "run"}``.
    ``executor``: where the label candidates are computed (:func:`fusionlib.nets.labels.label_pairs`)."""
    from ..nets import labels as L
    from . import aenet_study as S
    splits = S.task_splits(profile, root=root, tasks=tasks, split_seed=split_seed)
    out = {}
    for task, split in splits.items():
        sp = split.head(n_train=n_per_task, n_test=1)
        pairs = S.load_pairs(sp.train, root)
        run = L.label_pairs([list(p) for p in pairs], task, cache_dir=cache_dir,
                            methods=None if methods is None else methods.get(task), show_progress=show_progress,
                            executor=executor)
        out[task] = {"refs": sp.train, "pairs": pairs, "run": run, "rule": split.rule}
    return out


def train_checkpoint(out: str | Path, *, profile: str = "standard", tasks: Sequence[str] | None = None,
                     n_per_task: int = 4, n_patches: int = 256, patch: int = 128, batch_size: int = 16,
                     stages: Sequence[tuple[int, float]] = ((10, 1e-3), (100, 1e-4)),
                     max_steps: int | None = None, seed: int = 0, model: str = "aenetv2",
                     root=None, cache_dir: str | Path = ".cache/aenet_labels", device: str = "auto",
                     skip_methods: Sequence[str] = (), command: str = "", executor: Any = None) -> dict[str, Any]:
    """Label, cut patches, train, and write ``out`` (checkpoint) + ``out.with_suffix('.json')`` (provenance).
    ``executor`` (:func:`fusionlib.parallel.executor_from`): where the label candidates are computed."""
    from .. import nets
    from . import aenet_study as S
    out = Path(out)
    t0 = time.perf_counter()
    from ..nets.labels import DEFAULT_LIBRARY, library
    methods = {t: [m for m in library(t) if m not in set(skip_methods)] for t in DEFAULT_LIBRARY}
    lab = labelled_train_pairs(profile, tasks=tasks, n_per_task=n_per_task, root=root, cache_dir=cache_dir,
                               methods=methods, show_progress=True, executor=executor)
    triples, keys, used_tasks = [], [], []
    for task, d in lab.items():
        for (a, b), rec, ref in zip(d["pairs"], d["run"].records, d["refs"]):
            triples.append((a, b, rec.label.reshape(a.shape)))
            keys.append(ref.key)
        used_tasks.append(task)
    t_label = time.perf_counter() - t0
    ts = S.sample_patches(triples, patch=patch, n_patches=n_patches, seed=seed, keys=keys, tasks=used_tasks)
    cfg = nets.TrainConfig(stages=tuple(stages), batch_size=batch_size, patch=patch, max_steps=max_steps,
                           seed=seed, device=device, checkpoint=str(out))
    torch.manual_seed(seed)
    net = nets.build(model)
    hist = nets.fit(net, ts.loader(batch_size, seed), nets.FusionLoss(), cfg)
    meta = {
        "model": model, "parameters": net.parameter_count(), "checkpoint": out.name,
        "command": command, "profile": profile, "seed": seed, "split_seed": 0,
        "train_pairs": {t: [r.key for r in d["refs"]] for t, d in lab.items()},
        "split_rules": {t: d["rule"] for t, d in lab.items()},
        "labels": {t: [{"pair": r.key, "method": rec.method, "e2_metrics": list(rec.e2_metrics),
                        "scores": rec.scores} for r, rec in zip(d["refs"], d["run"].records)]
                   for t, d in lab.items()},
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
    p.add_argument("--max-steps", type=int, default=None)
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
    stages = tuple((int(s.split(":")[0]), float(s.split(":")[1])) for s in a.stages.split(","))
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
