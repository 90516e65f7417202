"""Convergence of AE-Netv2 training, measured on a validation part of the TRAIN split (issue #14, item 2).

Every run trains the mixed-task AE-Netv2 with ``fusionlib.experiments.aenet.train_checkpoint`` on the
documented train split (``task_splits('standard')``, Algorithm 1 labels, GTF left out) and records its
validation curve: the mean loss (1 - SSIM) + L1 of the network in eval mode against the labels of the
**validation pairs** on the full images, every ``--val-every`` optimiser steps. The validation pairs
are train-split pairs 8 and 9 of every task (round-robin order; 8 pairs in all), disjoint from every
run's training pairs (the first 4 or 8) and from the test split; no test pair is used here.

Stopping rule (all runs): stop when the validation loss has not fallen below (1 - 0.005) x its best for
4 evaluations in a row (512 steps), or at the step budget; the weights of the best evaluation are kept.

Runs (seed 0, batch 16, Adam; schedules in optimiser steps):

=========  ============================================================================
baseline   default init, lr 1e-3, 64x64 patches (2,048), 4 train pairs per task
scale      + scale-aware output init (training labels' pixel mean / sd)
scale_lr3  + lr 3e-3
scale_dec  + lr 1e-3 for half the budget, then 1e-4
scale_128  + 128x128 patches (1,024), smaller step budget (4x the pixels per step)
scale_8p   + 8 train pairs per task
=========  ============================================================================

Usage (repository root; results -> data/checkpoints/convergence_study.json)::

    .venv/bin/python data/checkpoints/convergence_study.py --threads 1
    .venv/bin/python data/checkpoints/convergence_study.py --runs baseline,scale --budget 256   # quick
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from fusionlib.experiments import aenet as A
from fusionlib.utils import write_json_atomic

HERE = Path(__file__).resolve().parent

RUNS = {
    "baseline": dict(output_init="default"),
    "scale": dict(output_init="label_scale"),
    "scale_lr3": dict(output_init="label_scale", lr=3e-3),
    "scale_dec": dict(output_init="label_scale", decay=True),
    "scale_128": dict(output_init="label_scale", patch=128, n_patches=1024, budget_scale=0.5),
    "scale_8p": dict(output_init="label_scale", n_per_task=8),
}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", default=",".join(RUNS))
    p.add_argument("--budget", type=int, default=3072, help="optimiser steps at most (64x64 runs)")
    p.add_argument("--val-every", type=int, default=128)
    p.add_argument("--patience", type=int, default=4)
    p.add_argument("--min-delta", type=float, default=0.005)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(HERE / "convergence_study.json"))
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in a.runs.split(","):
            r = RUNS[name]
            budget = max(a.val_every, int(a.budget * r.get("budget_scale", 1.0)))
            lr = r.get("lr", 1e-3)
            stages = ((budget // 2, lr), (budget - budget // 2, lr / 10)) if r.get("decay") else ((budget, lr),)
            t0 = time.perf_counter()
            meta = A.train_checkpoint(Path(tmp) / f"{name}.pt", profile="standard", n_per_task=r.get("n_per_task", 4),
                                      n_patches=r.get("n_patches", 2048), patch=r.get("patch", 64), batch_size=16,
                                      step_stages=stages, seed=a.seed, output_init=r["output_init"],
                                      val_pairs=2, val_start=8, val_every=a.val_every, patience=a.patience,
                                      min_delta=a.min_delta, device="cpu", skip_methods=("gtf",))
            h = meta["history"]
            sl = np.asarray(h["step_loss"])
            results[name] = {
                "settings": {**r, "step_stages": [list(s) for s in stages]},
                "label_stats": meta["label_stats"], "output_init_record": h["output_init"],
                "steps": int(sl.size), "best_step": h["best_step"], "stopped_at": h["stopped_at"],
                "best_val": float(min(h["val_curve"])), "val_step": h["val_step"], "val_curve": h["val_curve"],
                "train_loss_first128": float(sl[:128].mean()), "train_loss_last128": float(sl[-128:].mean()),
                "step_loss": h["step_loss"], "engine": sorted(set(h["engine"])),
                "wall_seconds": time.perf_counter() - t0, "validation_pairs": meta["validation_pairs"],
                "train_pairs": meta["train_pairs"],
            }
            x = results[name]
            print(f"{name:10s} steps {x['steps']:5d} best {x['best_val']:.4f} @ {x['best_step']} "
                  f"stopped {x['stopped_at']} train {x['train_loss_first128']:.3f}/{x['train_loss_last128']:.3f} "
                  f"({x['wall_seconds']:.0f} s)", flush=True)
            write_json_atomic(a.out, {"study": "convergence on the train split's validation part",
                                      "command": " ".join(["python", *sys.argv]), "seed": a.seed,
                                      "val_every": a.val_every, "patience": a.patience, "min_delta": a.min_delta,
                                      "threads": a.threads, "torch": torch.__version__, "runs": results})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
