"""AE-Netv2 on the test splits: among its teachers and peers by E2, and among published methods.

* :func:`e2_field` (issue #14, item 5): on every test pair of a task, the library of Algorithm 1
  (its teachers), the published deep peers and the given networks fuse the gray pair; E2
  (:func:`fusionlib.metrics.e2`) is computed over that whole field, so every candidate is ranked
  among the same images; EN, SSIM, PSNR, MI and VIF are computed beside it. The **teacher** of a
  pair is the library method Algorithm 1 would choose on it (E2-best among the library only).
* :func:`e2_summary`: per task, the network's mean E2 rank, its E2 beside its teacher's, and the
  paired Wilcoxon test of the two over the test pairs (with the smallest p its n can reach).
* :func:`published_scores`: the fused images that VIFB (25 methods, 21 pairs) and MFIFB (30 methods,
  Lytro 01-05) published, scored with the chapters' indexes, one row per image like
  :func:`fusionlib.experiments.aenet_study.evaluate_method`.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ..utils import CacheEntryError, discard_corrupt, progress, write_json_atomic

__all__ = ["QUALITY_NAMES", "PUBLISHED", "e2_field", "e2_summary", "published_scores", "weights_digest", "main"]

#: Indexes reported beside E2 (fusionlib.metrics names; 8-bit quantised fused images).
QUALITY_NAMES = ("entropy", "ssim", "psnr", "mutual_information", "vif")

#: Data sets whose authors published fused images of test pairs of our splits: task -> (data set,
#: which of our test pairs). Liu 2020's fused images are of pairs in our multi-focus *train* split,
#: so AE-Netv2 cannot be compared there.
PUBLISHED = {"infrared-visible": "vifb", "multi-focus": "lytro"}


def weights_digest(model) -> str:
    """SHA-256 (16 hex digits) of a network's state dict: cached scores follow the weights."""
    h = hashlib.sha256()
    for k, v in model.state_dict().items():
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def e2_field(networks: Mapping[str, Any], splits: Mapping[str, Any], *, root=None,
             peers: Mapping[str, Any] | None = None, skip: Sequence[str] = ("gtf",),
             names: Sequence[str] = QUALITY_NAMES, cache_dir: str | os.PathLike | None = None,
             show_progress: bool = True, device: Any = None):
    """One row per (task, test pair, candidate): ``role`` ('library', 'peer', 'network'), ``E2``,
    ``E2_rank`` (1 = best in the field of that pair), ``teacher`` (the pair's library E2-best) and
    the ``names`` indexes. ``networks``: name -> model (eval mode); ``peers``: name -> loaded peer
    (:func:`fusionlib.nets.load_peer`). With ``cache_dir``, each pair's rows are cached in a JSON file
    named by the pair, the field's members and the networks' weights. ``device``: where the library
    fuses (None: the CPU); the networks and peers run where they are; the indexes are computed at the
    NumPy boundary (CPU)."""
    import pandas as pd
    from .. import classical, metrics, nets
    from ..nets.labels import library
    from .aenet_study import load_pair
    peers = dict(peers or {})
    digest = hashlib.sha256(json.dumps({k: weights_digest(m) for k, m in networks.items()}, sort_keys=True)
                            .encode()).hexdigest()[:12]
    jobs = [(t, r) for t, s in splits.items() for r in s.test]
    rows: list[dict] = []
    for task, ref in (progress(jobs, desc="E2 field") if show_progress else jobs):
        lib = [m for m in library(task) if m not in set(skip)]
        members = {"library": lib, "peer": sorted(peers), "network": sorted(networks), "names": list(names)}
        path = None
        if cache_dir is not None:
            key = hashlib.sha256(json.dumps([ref.key, members, digest]).encode()).hexdigest()[:16]
            path = Path(cache_dir) / f"{task}_{key}.json"
            if path.is_file():
                try:
                    rows += json.loads(path.read_text())["rows"]
                    continue
                except (OSError, ValueError, KeyError) as e:
                    discard_corrupt(path, CacheEntryError.unreadable(path, e))
        a, b = load_pair(ref, root)
        outs, role = {}, {}
        for m in lib:
            outs[m], role[m] = np.clip(classical.fuse(m, [a, b], device=device), 0, 1).reshape(a.shape), "library"
        for p, mdl in peers.items():
            outs[p], role[p] = np.clip(nets.fuse_peer(p, [a, b], model=mdl), 0, 1).reshape(a.shape), "peer"
        for k, mdl in networks.items():
            outs[k], role[k] = np.asarray(nets.fuse(mdl, [a, b]), np.float32).reshape(a.shape), "network"
        e2 = np.asarray(metrics.e2(np.stack(list(outs.values())), [a, b]).scores, float)
        rank = (-e2).argsort(kind="stable").argsort() + 1
        teacher = max(lib, key=lambda m: e2[list(outs).index(m)])
        pair_rows = []
        for (k, f), s, r in zip(outs.items(), e2, rank):
            idx = metrics.evaluate(f, [a, b], names=list(names), quantize=True)
            pair_rows.append({"task": task, "image": ref.key, "method": k, "role": role[k], "E2": float(s),
                              "E2_rank": int(r), "n_field": len(outs), "teacher": teacher,
                              **{n: float(v) for n, v in idx.items()}})
        if path is not None:
            write_json_atomic(path, {"pair": ref.key, "members": members, "weights": digest, "rows": pair_rows})
        rows += pair_rows
    cols = ["task", "image", "method", "role", "E2", "E2_rank", "n_field", "teacher", *names]
    return pd.DataFrame(rows, columns=cols)


def e2_summary(field, network: str):
    """Per task: pairs, field size, the network's mean E2 rank, its mean E2 and its teacher's, the
    median paired difference, the two-sided Wilcoxon signed-rank p (exact at these n), the smallest p
    that n can reach, whether the network is significantly below its teacher (p < 0.05 and a
    negative median difference), and the verdict in words ('not testable at this n' when the
    smallest attainable p is not below 0.05)."""
    import pandas as pd
    from .aenet_study import paired_test
    from .stats import NOT_TESTABLE, can_reject, smallest_p_wilcoxon
    out = []
    for task, d in field.groupby("task", sort=False):
        mine = d[d["method"] == network].set_index("image")
        if mine.empty:
            raise KeyError(f"e2_summary: no rows of {network!r} for {task}; methods: {sorted(set(d['method']))}")
        teach = d[d["method"] == d["teacher"]].set_index("image").loc[mine.index]
        diff = mine["E2"] - teach["E2"]
        n = int(len(diff))
        res = paired_test(mine["E2"].to_numpy(), teach["E2"].to_numpy()) if n >= 2 else None
        p = float("nan") if res is None else res.pvalue
        floor, med = smallest_p_wilcoxon(max(n, 1)), float(np.median(diff))
        below = bool(p < 0.05 and med < 0)
        out.append({"task": task, "pairs": n, "field": int(mine["n_field"].iloc[0]),
                    "mean E2 rank": float(mine["E2_rank"].mean()), "E2": float(mine["E2"].mean()),
                    "teacher E2": float(teach["E2"].mean()), "median diff": med,
                    "wins vs teacher": int((diff > 0).sum()), "p (Wilcoxon)": p,
                    "smallest p": floor, "below teacher": below,
                    "verdict": (NOT_TESTABLE if not can_reject(floor, 0.05) else
                                "significantly below its teacher" if below else
                                "significantly above its teacher" if p < 0.05 else
                                "not significantly different from its teacher")})
    return pd.DataFrame(out).set_index("task")


def published_scores(splits: Mapping[str, Any], *, root=None, names: Sequence[str] | None = None,
                     methods: Sequence[str] | None = None, cache_dir: str | os.PathLike | None = None,
                     show_progress: bool = True):
    """The published fused images of :data:`PUBLISHED` on our test pairs, scored with the chapters'
    indexes (:func:`fusionlib.experiments.aenet_study.evaluate_method`, gray by BT.601 luma as our own
    candidates). Only test pairs with stored fused images are used; rows as ``evaluate_method``
    (``method`` = the published name, ``seed`` 0, ``source`` = the data set). ``methods``: a subset
    of the published names (default all)."""
    import pandas as pd
    from .. import data
    from .aenet_study import SCORE_NAMES, _gray, content_key, evaluate_method
    names = tuple(SCORE_NAMES if names is None else names)
    frames = []
    for task, dsname in PUBLISHED.items():
        if task not in splits:
            continue
        ds = data.load(dsname, root)
        have = set(ds.fused_pairs)
        refs = [r for r in splits[task].test if r.dataset == dsname and r.id in have]
        if not refs:
            continue
        meths = [m for m in ds.methods if methods is None or m in set(methods)]
        it = progress(meths, desc=f"published {dsname}") if show_progress else meths
        for m in it:
            def fuse(a, b, ref, m=m):
                f = _gray(ds.fused(m, ref.id))
                if f.shape[-2:] != a.shape[-2:]:
                    raise ValueError(f"published_scores: {dsname} {m} fused image of {ref.id} is "
                                     f"{f.shape[-2]}x{f.shape[-1]}, its sources {a.shape[-2]}x{a.shape[-1]}")
                return f
            cache = None
            if cache_dir is not None:
                cache = Path(cache_dir) / f"{dsname}_{m}_{content_key(refs, root)}.csv"
            frames.append(evaluate_method(m, fuse, refs, [task] * len(refs), root=root, names=names,
                                          cache=cache, pass_ref=True).assign(source=dsname))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


PEERS = ("ifcnn", "densefuse", "deepfuse")


def main(argv: Sequence[str] | None = None) -> int:
    """Item 5 of issue #14 from the command line: a grid network (AE-Netv2 mixed-task of ``--seed``) in
    the E2 field of every test pair (the library of Algorithm 1 without GTF, the deep peers), the
    per-task table of :func:`e2_summary` printed and, with ``--out``, written as JSON. Chapter 06 shows
    the same table for the committed (standard-recipe) network; ``--recipe full`` reads the networks
    that ``data/checkpoints/train_full_grid.sh`` trains with Table II's budget."""
    import argparse
    import sys
    from .. import data, nets
    from ..utils import resolve_device
    from . import aenet_grid, aenet_study as st
    p = argparse.ArgumentParser(prog="python -m fusionlib.experiments.aenet_quality",
                                description=main.__doc__.split("\n")[0])
    p.add_argument("--recipe", default="standard", choices=tuple(aenet_grid.RECIPES))
    p.add_argument("--checkpoints", default=None, help="checkpoint folder (default: the recipe's)")
    p.add_argument("--seed", type=int, default=0, help="training seed of the network")
    p.add_argument("--root", default=None, help="data root (else FUSIONLIB_DATA or shared/data)")
    p.add_argument("--profile", default="standard", choices=("standard", "smoke"),
                   help="test pairs: standard (the real test splits) or smoke (the embedded pairs, no peers)")
    p.add_argument("--device", default="auto")
    p.add_argument("--cache-dir", default=".cache/aenet/e2_field")
    p.add_argument("--out", default=None, help="JSON file of the table")
    a = p.parse_args(argv)
    dev = resolve_device(a.device)
    folder = aenet_grid.checkpoint_dir(a.recipe) if a.checkpoints is None else Path(a.checkpoints)
    try:
        net, meta = aenet_grid.load("aenetv2_gcb", "mixed", a.seed, out_dir=folder, device=dev,
                                    recipe=aenet_grid.RECIPES[a.recipe])
    except (FileNotFoundError, aenet_grid.StaleCheckpoint) as e:
        print(f"aenet_quality: {e}", file=sys.stderr)
        return 2
    splits, note = st.study_splits(a.profile, root=a.root, split_seed=0)
    root = data.find_root(a.root) if a.profile == "standard" else None
    peers = {}
    for name in (PEERS if root is not None else ()):
        try:
            peers[name] = nets.load_peer(name, root=root, device=dev)
        except nets.WeightsUnavailable as e:
            print(f"{name}: {e}", file=sys.stderr)
    field = e2_field({"AE-Netv2": net}, splits, root=root, peers=peers, cache_dir=a.cache_dir, device=dev)
    table = e2_summary(field, "AE-Netv2")
    print(f"{note} | {meta['name']} ({a.recipe} recipe, {meta['steps']} steps, {folder}) | device {dev}")
    print(table.round(4).to_string())
    if a.out:
        write_json_atomic(a.out, {"network": meta["name"], "recipe": a.recipe, "checkpoint_sha256": meta["sha256"],
                                  "device": str(dev), "data": note, "table": json.loads(table.to_json(orient="index"))})
        print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
