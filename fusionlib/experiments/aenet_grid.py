"""The trained networks the AE-Netv2 chapters study, as committed checkpoints (issue #14, item 4).

One recipe (:data:`RECIPE`) trains every network of the grid (:func:`grid`):

* AE-Netv2 (R = GCB) and the seven other blocks of Table VII, mixed-task, seeds 0, 1, 2
  (the Regular block is AE-Netv2+ of Table VI);
* AE-Netv2 single-task, one per task, seeds 0, 1, 2;
* AE-Netv2++ and AE-Netv2-M (reconstructions), mixed-task, seeds 0, 1, 2.

**Data.** The train side of :func:`fusionlib.experiments.aenet_study.task_splits` ('standard',
split seed 0) of every task, labelled by Algorithm 1 over the whole train split
(:func:`label_train_split`; the library of :data:`fusionlib.nets.labels.DEFAULT_LIBRARY` without GTF,
cached). Per task, the pairs at round-robin positions ``val_start .. val_start + val_pairs - 1`` are
the **validation** part (the stopping rule reads it), every other train pair is trained on; no test
pair is ever read here. Mixed-task networks draw the same number of patches from each task.

**Files.** ``data/checkpoints/aenet/<name>.pt`` (float32 weights, config, history, architecture: no
optimiser state) and ``<name>.json`` (provenance: the entry, the recipe, the labels' digest and
statistics, the validation curve, the CPU time, the command); ``labels.json`` beside them holds the
label of every train pair with its E2 scores. :func:`load` refuses a stale checkpoint (its recipe,
pairs or labels differ from the current ones) with the command that refreshes it.

Command (resumable: finished entries are skipped, an interrupted one resumes from its step)::

    OMP_NUM_THREADS=1 .venv/bin/python -m fusionlib.experiments.aenet_grid --out data/checkpoints/aenet
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from .._checks import check_choice, check_int
from ..utils import write_json_atomic

__all__ = ["RECIPE", "FULL_RECIPE", "RECIPES", "GridEntry", "grid", "label_train_split", "GridData", "train_entry",
           "train_grid", "checkpoint_dir", "find", "load", "committed", "available_seeds", "StaleCheckpoint", "main"]

from ..nets.blocks import BLOCKS  # Table VII's blocks (model keys ``aenetv2_<block>``)
from .aenet_study import TASKS

#: The training recipe of every grid network (schedules in optimiser steps). Patches, batch, the
#: output initialisation and the stopping rule come from ``data/checkpoints/convergence_study.py``
#: (validation part of the train split). The schedule is Table II's shape (a 1e-3 stage, then 1e-4)
#: cut to 512 + 512 steps: on the whole train split the single 1e-3 stage of that study reached its
#: best validation loss at step 128 and then wandered (0.18-0.23) around it, so the second stage
#: settles the weights instead of stopping on a noisy minimum.
RECIPE: dict[str, Any] = {
    "profile": "standard", "split_seed": 0, "skip_methods": ["gtf"], "val_start": 8, "val_pairs": 2,
    "patch": 64, "n_patches": 2048, "batch_size": 16, "step_stages": [[512, 1e-3], [512, 1e-4]],
    "val_every": 128, "patience": 4, "min_delta": 0.005, "output_init": "label_scale",
}

#: Table II's budget for a lent GPU (issue #14, item 6): 128 x 128 patches, batch 16, 10 "epochs" at 1e-3
#: then 100 at 1e-4, an epoch being one pass over the 2,048 patches (128 steps): 1,280 + 12,800 optimiser
#: steps; the whole library, GTF included, labels the train split; the same stopping rule, read every 640
#: steps. Not trained on this project's CPU machines (about 25x the standard recipe's steps, each about
#: 4x the pixels); ``data/checkpoints/train_full_grid.sh`` trains it into ``data/checkpoints/aenet_full`` and
#: reruns item 5 on it.
FULL_RECIPE: dict[str, Any] = {
    **RECIPE, "skip_methods": [], "patch": 128, "step_stages": [[1280, 1e-3], [12800, 1e-4]],
    "val_every": 640,
}

#: The recipes by name (``--recipe``), each with its default checkpoint folder under ``data/checkpoints``.
RECIPES: dict[str, dict[str, Any]] = {"standard": RECIPE, "full": FULL_RECIPE}
RECIPE_FOLDERS = {"standard": "aenet", "full": "aenet_full"}


@dataclass(frozen=True)
class GridEntry:
    """One network of the grid: ``model`` (a :data:`fusionlib.nets.MODELS` key), trained on ``train``
    ('mixed' or one task) with ``seed``."""

    model: str
    train: str
    seed: int

    @property
    def name(self) -> str:
        return f"{self.model}_{self.train}_s{self.seed}"

    @property
    def tasks(self) -> tuple[str, ...]:
        return TASKS if self.train == "mixed" else (self.train,)


def grid(seeds: Sequence[int] = (0, 1, 2)) -> list[GridEntry]:
    """Every network the chapters study, seed 0 of everything first (so a partial grid is useful)."""
    order = []
    for s in seeds:
        order += [GridEntry("aenetv2_gcb", "mixed", s)]
        order += [GridEntry("aenetv2_gcb", t, s) for t in TASKS]
        order += [GridEntry(f"aenetv2_{b}", "mixed", s) for b in BLOCKS if b != "gcb"]
        order += [GridEntry("aenetv2_pp", "mixed", s), GridEntry("aenetv2_m", "mixed", s)]
    return order


def checkpoint_dir(recipe: str = "standard") -> Path:
    """``data/checkpoints/aenet`` of this checkout (``data/checkpoints/aenet_full`` for ``recipe='full'``)."""
    check_choice("checkpoint_dir", "recipe", recipe, tuple(RECIPES))
    return Path(__file__).resolve().parents[2] / "data" / "checkpoints" / RECIPE_FOLDERS[recipe]


# ------------------------------------------------------------------------------------------ labels

def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass
class GridData:
    """Labelled train split: per task the training and validation ``(key, (a, b, label))`` lists."""

    train: dict[str, list]
    val: dict[str, list]
    labels: dict[str, list]     # per task: one record per train-split pair (key, method, scores, role)
    rules: dict[str, str]
    seconds: float

    @property
    def digest(self) -> str:
        """What a checkpoint depends on besides the recipe: the pairs and their chosen labels."""
        return _digest({t: [(r["pair"], r["method"], r["role"]) for r in v] for t, v in self.labels.items()})


def label_train_split(*, root=None, cache_dir: str | Path = ".cache/aenet_labels", recipe: Mapping = RECIPE,
                      tasks: Sequence[str] = TASKS, executor: Any = None, show_progress: bool = True) -> GridData:
    """Algorithm 1 labels of the whole train split of every task (cached by
    :func:`fusionlib.nets.labels.label_pairs`), cut into training and validation parts."""
    from ..nets.labels import DEFAULT_LIBRARY, library
    from .aenet import labelled_train_pairs
    skip = set(recipe["skip_methods"])
    methods = {t: [m for m in library(t) if m not in skip] for t in DEFAULT_LIBRARY}
    t0 = time.perf_counter()
    lab = labelled_train_pairs(recipe["profile"], tasks=list(tasks), n_per_task=None, root=root,
                               split_seed=recipe["split_seed"], cache_dir=cache_dir, methods=methods,
                               show_progress=show_progress, executor=executor)
    v0, nv = int(recipe["val_start"]), int(recipe["val_pairs"])
    train, val, labels, rules = {}, {}, {}, {}
    for task, d in lab.items():
        train[task], val[task], labels[task] = [], [], []
        for j, ((a, b), rec, ref) in enumerate(zip(d["pairs"], d["run"].records, d["refs"])):
            role = "validation" if v0 <= j < v0 + nv else "train"
            (val if role == "validation" else train)[task].append((ref.key, (a, b, rec.label.reshape(a.shape))))
            labels[task].append({"pair": ref.key, "role": role, "method": rec.method,
                                 "scores": {k: float(v) for k, v in rec.scores.items()}})
        rules[task] = d["rule"]
    return GridData(train, val, labels, rules, time.perf_counter() - t0)


# ---------------------------------------------------------------------------------------- training

#: torch intra-op threads of every grid training run (see :func:`_train_task`).
TRAIN_THREADS = 1


def _recipe_for(entry: GridEntry, recipe: Mapping) -> dict:
    return {"entry": asdict(entry), "recipe": dict(recipe)}


def _train_task(item: tuple[GridEntry, str], *, data: GridData, recipe: Mapping, device: Any = "cpu") -> dict:
    """Train one grid entry ``item = (entry, scratch)`` (a pure function of its inputs but for its own
    resumable scratch file ``scratch``, which no other task writes): returns the weights and history."""
    entry, scratch = item
    from .. import nets
    from . import aenet, aenet_study as S
    per_task = max(1, int(recipe["n_patches"]) // len(entry.tasks))
    sets = []
    for t in entry.tasks:
        keys = [k for k, _ in data.train[t]]
        sets.append(S.sample_patches([x for _, x in data.train[t]], patch=int(recipe["patch"]),
                                     n_patches=per_task, seed=entry.seed, keys=keys, tasks=[t]))
    ts = S.TrainSet(torch.cat([s.a for s in sets]), torch.cat([s.b for s in sets]),
                    torch.cat([s.o for s in sets]), tuple(k for s in sets for k in s.keys),
                    tuple(entry.tasks), entry.seed)
    stats = aenet.label_stats([x[2] for t in entry.tasks for _, x in data.train[t]])
    val_loader = [tuple(torch.from_numpy(np.asarray(x, np.float32).reshape(1, 1, *np.shape(x)[-2:])) for x in tr)
                  for t in entry.tasks for _, tr in data.val[t]]
    cfg = nets.TrainConfig(step_stages=tuple(tuple(s) for s in recipe["step_stages"]),
                           batch_size=int(recipe["batch_size"]), patch=int(recipe["patch"]), seed=entry.seed,
                           device=device, checkpoint=scratch, val_every=int(recipe["val_every"]),
                           patience=int(recipe["patience"]), min_delta=float(recipe["min_delta"]),
                           output_init=stats if recipe["output_init"] == "label_scale" else None)
    torch.manual_seed(entry.seed)
    net = nets.build(entry.model)
    t0, c0 = time.perf_counter(), time.process_time()
    # One intra-op thread, whatever the caller's setting: the committed networks were trained so, and a
    # reduction split over another number of threads rounds differently (about 3e-8 in the weights
    # after six steps), so the same entry gives the same bits in this process or on any Dask worker.
    threads = torch.get_num_threads()
    torch.set_num_threads(TRAIN_THREADS)
    try:
        hist = nets.fit(net, ts.loader(int(recipe["batch_size"]), entry.seed), nets.FusionLoss(), cfg,
                        val_loader=val_loader)
    finally:
        torch.set_num_threads(threads)
    return {"state": {k: v.detach().cpu().float() for k, v in net.state_dict().items()},
            "history": hist, "config": cfg, "label_stats": stats, "wall_s": time.perf_counter() - t0,
            "cpu_s": time.process_time() - c0, "parameters": net.parameter_count(),
            "n_patches": len(ts), "train_pairs": {t: len(data.train[t]) for t in entry.tasks}}


def train_entry(entry: GridEntry, data: GridData, out_dir: str | Path, *, recipe: Mapping = RECIPE,
                command: str = "", device: Any = "cpu") -> dict:
    """Train ``entry`` (on ``device``) and write ``<name>.pt`` + ``<name>.json`` in ``out_dir``."""
    out_dir = Path(out_dir)
    res = _train_task((entry, str(out_dir / f"{entry.name}.train.pt")), data=data, recipe=recipe, device=device)
    return _write(entry, res, data, out_dir, recipe=recipe, command=command)


def _write(entry: GridEntry, res: dict, data: GridData, out_dir: Path, *, recipe: Mapping, command: str) -> dict:
    from .. import nets
    net = nets.build(entry.model)
    net.load_state_dict(res["state"])
    path = out_dir / f"{entry.name}.pt"
    hist = res["history"]
    nets.save_checkpoint(path, net, None, res["config"], epoch=len(hist.epoch), history=hist)
    h = hist.as_dict()
    meta = {
        "name": entry.name, "entry": asdict(entry), "model": entry.model, "train_tasks": list(entry.tasks),
        "parameters": res["parameters"], "checkpoint": path.name, "bytes": path.stat().st_size,
        "recipe": dict(recipe), "recipe_digest": _digest(_recipe_for(entry, recipe)),
        "labels_digest": data.digest, "train_pairs": res["train_pairs"],
        "validation_pairs": {t: [k for k, _ in data.val[t]] for t in entry.tasks},
        "label_stats": {"mean": res["label_stats"][0], "std": res["label_stats"][1]},
        "steps": len(h["step_loss"]), "best_step": h["best_step"], "stopped_at": h["stopped_at"],
        "val_step": h["val_step"], "val_curve": h["val_curve"],
        "best_val_loss": float(min(h["val_curve"])) if h["val_curve"] else None,
        "train_wall_s": res["wall_s"], "train_cpu_s": res["cpu_s"],
        "torch": torch.__version__, "device": str(res["config"].device), "command": command,
        "note": "train split only (task_splits 'standard'); never evaluate on these pairs",
    }
    write_json_atomic(path.with_suffix(".json"), meta)
    Path(out_dir / f"{entry.name}.train.pt").unlink(missing_ok=True)
    return meta


def _labels_file(data: GridData, out_dir: Path, recipe: Mapping) -> None:
    """Write ``labels.json`` unless it already records these labels (a rerun served from the label
    cache would otherwise replace the first run's labelling time with the cache's)."""
    path = out_dir / "labels.json"
    try:
        if json.loads(path.read_text()).get("digest") == data.digest:
            return
    except (OSError, ValueError):
        pass
    write_json_atomic(out_dir / "labels.json", {"digest": data.digest, "recipe": dict(recipe),
                                                "rules": data.rules, "labels": data.labels,
                                                "label_seconds": data.seconds})


def train_grid(entries: Sequence[GridEntry], data: GridData, out_dir: str | Path, *, recipe: Mapping = RECIPE,
               executor: Any = None, command: str = "", retrain: bool = False, device: Any = "cpu") -> list[dict]:
    """Train every entry whose checkpoint is missing or stale (``retrain``: all), through the
    executor seam (:mod:`fusionlib.parallel`; each task trains one network on ``device``, the calling
    process writes its files). Returns the provenance of every entry."""
    from ..parallel import using
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _labels_file(data, out_dir, recipe)
    todo = [e for e in entries if retrain or _stale(e, out_dir, recipe, data.digest) is not None]
    metas: dict[str, dict] = {}

    def done(i: int, res: dict) -> None:
        e = todo[i]
        m = _write(e, res, data, out_dir, recipe=recipe, command=command)
        metas[e.name] = m
        val = "no validation" if m["best_val_loss"] is None else f"val {m['best_val_loss']:.4f}"
        print(f"{e.name}: {m['steps']} steps (best {m['best_step']}), {val}, "
              f"{m['train_cpu_s']:.0f} s CPU", flush=True)
    with using(executor) as ex:
        ex.map(_train_task, [(e, str(out_dir / f"{e.name}.train.pt")) for e in todo], on_result=done,
               labels=[e.name for e in todo], progress=True, desc="AE-Netv2 grid", data=data,
               recipe=dict(recipe), device=device)
    return [metas.get(e.name) or json.loads((out_dir / f"{e.name}.json").read_text()) for e in entries]


# ------------------------------------------------------------------------------------------ loading

class StaleCheckpoint(ValueError):
    """A committed checkpoint trained with another recipe or other labels than the current ones."""


REFRESH = "OMP_NUM_THREADS=1 .venv/bin/python -m fusionlib.experiments.aenet_grid --only {name}"


def _stale(entry: GridEntry, out_dir: Path, recipe: Mapping, labels_digest: str | None) -> str | None:
    """Why ``entry``'s checkpoint in ``out_dir`` cannot be used (None: it can)."""
    path, meta_path = out_dir / f"{entry.name}.pt", out_dir / f"{entry.name}.json"
    if not (path.is_file() and meta_path.is_file()):
        return f"{path} is missing"
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError) as e:
        return f"{meta_path} is unreadable ({e})"
    if meta.get("recipe_digest") != _digest(_recipe_for(entry, recipe)):
        return f"{meta_path} was trained with another recipe"
    if labels_digest is not None and meta.get("labels_digest") != labels_digest:
        return f"{meta_path} was trained on other labels (pairs or label methods changed)"
    return None


def find(model: str, train: str = "mixed", seed: int = 0, *, out_dir: str | Path | None = None) -> Path | None:
    """The committed checkpoint of (``model``, ``train``, ``seed``), or None when the grid has none."""
    out_dir = checkpoint_dir() if out_dir is None else Path(out_dir)
    p = out_dir / f"{GridEntry(model, train, int(seed)).name}.pt"
    return p if p.is_file() else None


def load(model: str, train: str = "mixed", seed: int = 0, *, out_dir: str | Path | None = None,
         device: str = "cpu", recipe: Mapping = RECIPE):
    """(network in eval mode, provenance) of a committed grid checkpoint.

    Raises ``FileNotFoundError`` when it is missing and :class:`StaleCheckpoint` when it was trained
    with another recipe than :data:`RECIPE`; both name the command that (re)makes it. The labels'
    digest is checked against ``labels.json`` beside it (the record of the labels it was trained on).
    """
    from .. import nets
    check_choice("load", "train", train, ("mixed", *TASKS))
    seed = check_int("load", "seed", seed, minimum=0)
    out_dir = checkpoint_dir() if out_dir is None else Path(out_dir)
    entry = GridEntry(model, train, seed)
    lab = out_dir / "labels.json"
    digest = json.loads(lab.read_text()).get("digest") if lab.is_file() else None
    why = _stale(entry, out_dir, recipe, digest)
    if why is not None:
        cmd = REFRESH.format(name=entry.name) + "".join(f" --recipe {k}" for k, v in RECIPES.items()
                                                      if v == dict(recipe) and k != "standard")
        if why.endswith("is missing"):
            raise FileNotFoundError(f"aenet_grid.load: {why}; train it with `{cmd}`")
        raise StaleCheckpoint(f"aenet_grid.load: {why}; refresh it with `{cmd}`")
    path = out_dir / f"{entry.name}.pt"
    meta = json.loads(path.with_suffix(".json").read_text())
    net = nets.build(model)
    state = nets.load_checkpoint(path, net)
    meta["history"] = state.get("history") or {}
    meta["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    return net.to(device).eval(), meta


def committed(model: str, train: str, seed: int, *, out_dir: str | Path | None = None,
              recipe: Mapping = RECIPE):
    """:func:`load` when the grid has a checkpoint of (``model``, ``train``, ``seed``), else None (the
    caller trains its own and says so); a stale checkpoint raises :class:`StaleCheckpoint`. This is
    the ``checkpoints`` argument of :func:`fusionlib.experiments.aenet_study.run_study`."""
    if find(model, train, seed, out_dir=out_dir) is None:
        return None
    return load(model, train, seed, out_dir=out_dir, recipe=recipe)


# --------------------------------------------------------------------------------------- command line

def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m fusionlib.experiments.aenet_grid",
                                description="Train (or resume) the AE-Netv2 grid of committed checkpoints")
    p.add_argument("--out", default=None, help="checkpoint folder (default data/checkpoints/aenet, "
                   "data/checkpoints/aenet_full for --recipe full)")
    p.add_argument("--recipe", default="standard", choices=tuple(RECIPES),
                   help="standard: the committed networks (CPU); full: Table II's budget (a GPU)")
    p.add_argument("--device", default="cpu", help="training device (cpu, cuda, cuda:1, auto)")
    p.add_argument("--only", nargs="+", default=None, metavar="NAME", help="entries by name")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--root", default=None, help="data root (else FUSIONLIB_DATA or shared/data)")
    p.add_argument("--cache-dir", default=".cache/aenet_labels")
    p.add_argument("--retrain", action="store_true")
    p.add_argument("--list", action="store_true", help="list the grid and each entry's state")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS|local[:N]|inprocess")
    a = p.parse_args(argv)
    out = checkpoint_dir(a.recipe) if a.out is None else Path(a.out)
    recipe = RECIPES[a.recipe]
    from ..utils import resolve_device
    device = resolve_device(a.device)
    entries = grid(tuple(int(s) for s in a.seeds.split(",")))
    if a.only:
        names = {e.name: e for e in grid((0, 1, 2))}
        bad = [n for n in a.only if n not in names]
        if bad:
            print(f"aenet_grid: unknown entries {bad}; --list shows the grid", file=sys.stderr)
            return 2
        entries = [names[n] for n in a.only]
    if a.list:
        lab = out / "labels.json"
        digest = json.loads(lab.read_text()).get("digest") if lab.is_file() else None
        for e in entries:
            print(f"{e.name:40s} {_stale(e, out, recipe, digest) or 'ok'}")
        return 0
    from ..parallel import executor_from
    c0 = time.process_time()
    cmd = " ".join(["python -m fusionlib.experiments.aenet_grid", *(sys.argv[1:] if argv is None else argv)])
    with executor_from(a.scheduler) as ex:
        data = label_train_split(root=a.root, cache_dir=a.cache_dir, recipe=recipe, executor=ex)
        print(f"labels: {sum(map(len, data.train.values()))} train + {sum(map(len, data.val.values()))} "
              f"validation pairs, {data.seconds:.0f} s", flush=True)
        metas = train_grid(entries, data, out, recipe=recipe, executor=ex, command=cmd, retrain=a.retrain,
                           device=device)
    print(f"grid: {len(metas)} networks; this run {time.process_time() - c0:.0f} s CPU (main process); "
          f"recorded training CPU {sum(m['train_cpu_s'] for m in metas):.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


def available_seeds(models: Sequence[str], seeds: Sequence[int], *, train: str = "mixed",
                    out_dir: str | Path | None = None) -> list[int]:
    """The ``seeds`` for which every network of ``models`` (trained on ``train``) has a committed
    checkpoint: a study over seeds then compares networks trained by one recipe only."""
    return [int(s) for s in seeds if all(find(m, train, s, out_dir=out_dir) is not None for m in models)]
