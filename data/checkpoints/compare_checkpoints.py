"""Compare AE-Netv2 checkpoints on the held-out TEST split (the rule for replacing the committed one).

For the first ``--n-test`` test pairs of every task of
``fusionlib.experiments.aenet_study.task_splits('standard')`` (never used for training or labels),
every checkpoint and every library method of Algorithm 1 (``fusionlib.nets.labels.library``, GTF
left out, as in chapter 05) fuses the gray pair; E2 is computed over that whole candidate set per
pair (so it ranks the checkpoints among the same candidates), plus the chapter's indexes
(EN, AG, SSIM, PSNR, MI, VIF; 8-bit quantised).

Usage (repository root)::

    .venv/bin/python data/checkpoints/compare_checkpoints.py OLD.pt NEW.pt --n-test 2 --out /tmp/cmp.json
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

import fusionlib as fl
from fusionlib import nets
from fusionlib.experiments import aenet as A
from fusionlib.experiments import aenet_study as S
from fusionlib.nets import labels as L
from fusionlib.utils import write_json_atomic

NAMES = ["entropy", "average_gradient", "ssim", "psnr", "mutual_information", "vif"]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("checkpoints", nargs="+")
    p.add_argument("--n-test", type=int, default=2)
    p.add_argument("--root", default=None)
    p.add_argument("--out", default=None)
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    root = fl.data.find_root(a.root)
    models = {Path(c).stem if Path(c).parent.name == "checkpoints" else str(c): A.load_trained(c)[0]
              for c in a.checkpoints}
    splits = S.task_splits("standard", root=root)
    rows, t0 = [], time.perf_counter()
    for task, split in splits.items():
        for ref in split.test[:a.n_test]:
            x, y = S.load_pair(ref, root)
            outs = {m: np.clip(fl.classical.fuse(m, [x, y]), 0, 1).reshape(x.shape)
                    for m in L.library(task) if m != "gtf"}
            outs.update({k: nets.fuse(net, [x, y]) for k, net in models.items()})
            e2 = np.asarray(fl.metrics.e2(np.stack(list(outs.values())), [x, y]).scores)
            rank = (-e2).argsort().argsort() + 1
            for (k, f), s, r in zip(outs.items(), e2, rank):
                rows.append({"task": task, "pair": ref.key, "method": k, "E2": float(s), "E2_rank": int(r),
                             **{n: float(v) for n, v in
                                fl.metrics.evaluate(f, [x, y], names=NAMES, quantize=True).items()}})
            print(f"{task:17s} {ref.key:32s} " + "  ".join(
                f"{k}: E2 {s:.3f} (#{r})" for k, s, r in zip(outs, e2, rank) if k in models), flush=True)
    summary = {}
    for k in models:
        mine = [r for r in rows if r["method"] == k]
        summary[k] = {"mean_E2": float(np.mean([r["E2"] for r in mine])),
                      "mean_E2_rank": float(np.mean([r["E2_rank"] for r in mine])),
                      **{f"mean_{n}": float(np.mean([r[n] for r in mine])) for n in NAMES}}
    print(json.dumps(summary, indent=1))
    if a.out:
        write_json_atomic(a.out, {"checkpoints": a.checkpoints, "n_test_per_task": a.n_test,
                                  "split": "task_splits('standard') test side", "names": NAMES,
                                  "seconds": time.perf_counter() - t0, "summary": summary, "rows": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
