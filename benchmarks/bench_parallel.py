"""Scale-out of the grid loops (issue #19): in-process against a Dask LocalCluster of 1 and 2 workers.

Grids timed on every executor (fresh temporary cache directories, so nothing is read from a cache):

1. ``labels``: Algorithm 1 labels of a few embedded infrared-visible train pairs
   (``fusionlib.experiments.aenet.labelled_train_pairs``, smoke profile): the (pair x method) candidate
   grid runs on the executor, then the E2 scoring, one task per pair (its candidates sent with it).
2. ``iaoa``: ``fusionlib.experiments.iaoa.run_experiment`` on embedded pansharpening pairs x the 11
   optimisers (each task: every run of one optimiser on one pair).
3. ``train``: :func:`fusionlib.experiments.aenet_grid.train_grid` on the labelled embedded train
   pairs of every embedded task (smoke split, Algorithm 1 without GTF): ``--train-nets`` AE-Netv2
   single-task networks (tasks in turn, then seeds 0, 1, ...), each a short run of the grid recipe (``--train-steps`` steps of
   64-px patches, validation every 16 steps); each task trains one network, the client writes it.

Per executor also: the time of pair 0's 11 IAOA tasks measured inside the task where it runs (``in-task
x``: against in process; slower workers rather than scheduling), the per-task overhead (a no-op task over ``--noop`` items: ``wall / n``, the task
itself costing ~0) and the scatter cost of each grid's shared arguments (a one-item no-op map with them,
less one without). Measured once in this process: each task's time (the mean task size), the pickled
bytes of its inputs and result, the client's per-task cache write and the E2 task per pair. Those are the
inputs of the scaling model :func:`fusionlib.parallel.expected_speedup`, evaluated here at 8, 64 and
512 workers for the paper-sized grids (labels: 14,473 pairs x 10 methods; IAOA: 16 pairs x 11
optimisers x 30 runs; training: the committed grid's 42 networks, task size = the mean training CPU time
recorded in ``data/checkpoints/aenet/*.json``), with the task size scaled from the measured one as stated
in the output.

Dask workers are processes with one thread each; torch uses 1 thread everywhere. The speed-up is against
the in-process run of the same grid in the same invocation. Cluster start-up and a warm-up of each
executor (one label pair, a one-run IAOA grid: imports and numba caches on fresh workers) are reported,
not counted: one cluster serves many grids (``python -m fusionlib.book --scheduler local:N``).

Usage::

    .venv/bin/python benchmarks/bench_parallel.py            # ~2-3 minutes on 2 cores
    .venv/bin/python benchmarks/bench_parallel.py --label-pairs 2 --iaoa-runs 4   # quick

Writes ``benchmarks/results/bench_parallel.json`` atomically.
"""
from __future__ import annotations

import argparse
import os
import pickle
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from fusionlib import parallel as P
from fusionlib.experiments import aenet, aenet_grid as G
from fusionlib.experiments import aenet_study as S
from fusionlib.experiments import iaoa as E
from fusionlib.nets import labels as L
from fusionlib.utils import save_records_npz, write_json_atomic

HERE = Path(__file__).resolve().parent
TASK = "infrared-visible"
WORKERS = (8, 64, 512)
PAPER = dict(label_pairs=14_473, label_methods=10, iaoa_pairs=16, iaoa_optimizers=11, iaoa_runs=30,
             train_networks=len(G.grid()))


def _noop(item, **shared):
    return None


def _iaoa_task_timed(job, problem, cfg) -> float:
    """The IAOA task's own time where it runs (no scheduling or transfer in it)."""
    t0 = time.perf_counter()
    E._iaoa_task(job, problem, cfg)
    return time.perf_counter() - t0


def _nbytes(obj) -> int:
    return len(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))


def _timed(fn, *a, **kw):
    t0 = time.perf_counter()
    out = fn(*a, **kw)
    return out, time.perf_counter() - t0


def _overheads(ex, n_noop: int, shared: dict[str, dict]) -> dict:
    ex.map(_noop, range(4))  # warm: the function shipped, connections open
    _, wall = _timed(ex.map, _noop, range(n_noop))
    out = dict(noop_wall_s=wall, per_task_s=wall / n_noop)
    for name, kw in shared.items():
        _, bare = _timed(ex.map, _noop, [0])
        _, with_shared = _timed(ex.map, _noop, [0], **kw)
        out[f"scatter_{name}_s"] = max(0.0, with_shared - bare)
    return out


def _profile_labels(pairs, tmp: Path) -> dict:
    """Each candidate task timed in this process; bytes; the client's cache write; the E2 task per pair."""
    lib = L.library(TASK)
    shared = dict(pairs=[list(p) for p in pairs], params={}, device="cpu")
    store = L._Store(tmp)
    task_s, in_b, out_b, write_s, e2_s = [], [], [], [], []
    for i, p in enumerate(pairs):
        cands = []
        for m in lib:
            out, t = _timed(L._candidate_task, (i, m), **shared)
            task_s.append(t)
            in_b.append(_nbytes((i, m)))
            out_b.append(_nbytes(out))
            _, t = _timed(store.put, store.path(L.pair_digest(p), m, {}), out)
            write_s.append(t)
            cands.append(out)
        _, t = _timed(L._score, cands, list(p), {})
        e2_s.append(t)
    return dict(n_tasks=len(task_s), task_s=float(np.mean(task_s)), task_s_max=float(np.max(task_s)),
                input_bytes=float(np.mean(in_b)), result_bytes=float(np.mean(out_b)),
                shared_bytes=_nbytes(shared), client_write_s=float(np.mean(write_s)),
                e2_per_pair_s=float(np.mean(e2_s)), e2_per_candidate_s=float(np.sum(e2_s) / len(task_s)),
                methods=list(lib), pixels=int(np.prod(np.shape(pairs[0][0])[-2:])))


def _profile_iaoa(problem, cfg, tmp: Path) -> dict:
    jobs = [(i, o) for i in range(len(problem.ids)) for o in cfg.optimizers]
    task_s, in_b, out_b, write_s = [], [], [], []
    for k, job in enumerate(jobs):
        rows, t = _timed(E._iaoa_task, job, problem, cfg)
        task_s.append(t)
        in_b.append(_nbytes(job))
        out_b.append(_nbytes(rows))
        _, t = _timed(save_records_npz, tmp / f"t{k}.npz", rows)
        write_s.append(t)
    return dict(n_tasks=len(jobs), task_s=float(np.mean(task_s)), task_s_max=float(np.max(task_s)),
                input_bytes=float(np.mean(in_b)), result_bytes=float(np.mean(out_b)),
                shared_bytes=_nbytes(dict(problem=problem, cfg=cfg)), client_write_s=float(np.mean(write_s)),
                per_run_s=float(np.sum(task_s)) / (len(jobs) * cfg.n_runs))


def _train_recipe(steps: int) -> dict:
    return {**G.RECIPE, "profile": "smoke", "val_start": 0, "val_pairs": 1, "n_patches": 256,
            "step_stages": [[steps, 1e-3]], "val_every": min(16, steps), "patience": 10 ** 6}


def _profile_train(entries, data, recipe, tmp: Path) -> dict:
    task_s, in_b, out_b, write_s = [], [], [], []
    tmp.mkdir(parents=True, exist_ok=True)
    for e in entries:
        item = (e, str(tmp / f"{e.name}.train.pt"))
        res, t = _timed(G._train_task, item, data=data, recipe=recipe)
        task_s.append(t)
        in_b.append(_nbytes(item))
        out_b.append(_nbytes(res))
        _, t = _timed(G._write, e, res, data, tmp, recipe=recipe, command="bench")
        write_s.append(t)
    return dict(n_tasks=len(entries), task_s=float(np.mean(task_s)), task_s_max=float(np.max(task_s)),
                input_bytes=float(np.mean(in_b)), result_bytes=float(np.mean(out_b)),
                shared_bytes=_nbytes(dict(data=data, recipe=recipe)), client_write_s=float(np.mean(write_s)))


def _committed_train_s() -> tuple[float, float, int]:
    """Mean and max training CPU seconds of the committed grid networks (the paper-sized task)."""
    import json
    cpu = [json.loads(p.read_text())["train_cpu_s"] for p in sorted(G.checkpoint_dir().glob("*_s[0-9].json"))]
    return (float(np.mean(cpu)), float(np.max(cpu)), len(cpu)) if cpu else (float("nan"), float("nan"), 0)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--label-pairs", type=int, default=5, help="embedded infrared-visible train pairs")
    ap.add_argument("--iaoa-pairs", type=int, default=6, help="embedded pansharpening pairs")
    ap.add_argument("--iaoa-runs", type=int, default=30, help="runs per task (30: the paper's task size)")
    ap.add_argument("--train-nets", type=int, default=4, help="networks of the training grid")
    ap.add_argument("--train-steps", type=int, default=48, help="optimiser steps per network")
    ap.add_argument("--noop", type=int, default=200, help="items of the no-op map (per-task overhead)")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="Dask LocalCluster sizes")
    ap.add_argument("--out", default=str(HERE / "results" / "bench_parallel.json"))
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    t_start = time.perf_counter()

    split = S.task_splits("smoke", tasks=[TASK])[TASK].head(n_train=a.label_pairs, n_test=1)
    label_pairs = [list(p) for p in S.load_pairs(split.train)]
    ipairs = E.load_pairs("embedded_pansharpening")[: a.iaoa_pairs]
    cfg = E.RunConfig(n_runs=a.iaoa_runs, zero_sum="equal").validate()
    problem = E.IAOAProblem(ipairs, weights=cfg.weights, zero_sum=cfg.zero_sum)

    recipe = _train_recipe(a.train_steps)
    smoke_tasks = list(S.task_splits("smoke"))  # the embedded data have no medical pairs
    entries = [G.GridEntry("aenetv2_gcb", smoke_tasks[i % len(smoke_tasks)], i // len(smoke_tasks))
               for i in range(a.train_nets)]

    def run_train(ex, out):
        G.train_grid(entries, tdata, out, recipe=recipe, executor=ex)
        return [torch.load(Path(out) / f"{e.name}.pt", weights_only=False)["model"] for e in entries]

    def run_labels(ex, cache):
        return aenet.labelled_train_pairs("smoke", tasks=[TASK], n_per_task=a.label_pairs, cache_dir=cache,
                                          executor=ex)[TASK]["run"]

    def run_iaoa(ex, cache):
        return E.run_experiment(problem, cfg, cache_dir=cache, executor=ex)

    with tempfile.TemporaryDirectory(prefix="bench_parallel_") as tmpd:
        tmp = Path(tmpd)
        # warm this process (numba caches, lazy imports) so the profile and the in-process run time the work
        L.label_pairs(label_pairs[:1], TASK, cache_dir=tmp / "warm_labels", executor=P.LocalExecutor())
        E.run_experiment(problem, cfg, n_runs=1, executor=P.LocalExecutor())
        tdata = G.label_train_split(cache_dir=tmp / "train_labels", recipe=recipe, tasks=smoke_tasks,
                                    show_progress=False)
        prof = dict(labels=_profile_labels(label_pairs, tmp / "prof_labels"),
                    iaoa=_profile_iaoa(problem, cfg, tmp / "prof_iaoa"),
                    train=_profile_train(entries, tdata, recipe, tmp / "prof_train"))
        shared = dict(labels=dict(pairs=label_pairs, params={}, device="cpu"), iaoa=dict(problem=problem, cfg=cfg),
                      train=dict(data=tdata, recipe=recipe))
        specs = [("inprocess", None)] + [(f"dask {w}", w) for w in a.workers]
        runs, ref = [], {}
        for name, w in specs:
            t0 = time.perf_counter()
            ex = P.LocalExecutor() if w is None else P.dask_executor(n_workers=w)
            startup = time.perf_counter() - t0
            try:
                # warm the workers too (imports, numba caches): a cluster serves many grids (the book's
                # --scheduler starts one for every chapter); the one-time cost is reported, not timed
                t0 = time.perf_counter()
                L.label_pairs(label_pairs[:1], TASK, cache_dir=tmp / f"warm_labels_{len(runs)}", executor=ex)
                E.run_experiment(problem, cfg, n_runs=1, executor=ex)
                warm = time.perf_counter() - t0
                ov = _overheads(ex, a.noop, shared)
                lab, t_lab = _timed(run_labels, ex, tmp / f"labels_{len(runs)}")
                df, t_iaoa = _timed(run_iaoa, ex, tmp / f"iaoa_{len(runs)}")
                nets_, t_train = _timed(run_train, ex, tmp / f"train_{len(runs)}")
                inside = sum(ex.map(_iaoa_task_timed, [(0, o) for o in cfg.optimizers], problem=problem, cfg=cfg))
            finally:
                ex.close()
            if (lab.n_computed, lab.n_cached) != (prof["labels"]["n_tasks"], 0):
                raise RuntimeError(f"bench_parallel: {name}: candidates read from a cache")
            got = dict(labels=[r.method for r in lab.records], iaoa=df["best_f"].tolist())
            w_ref = ref.get("weights", nets_)
            same_w = all(list(x) == list(y) and all(torch.equal(x[k], y[k]) for k in x) for x, y in zip(nets_, w_ref))
            ref = ref or {**got, "weights": nets_}
            runs.append(dict(executor=name, workers=w or 0, startup_s=startup, warmup_s=warm,
                             iaoa_pair0_inside_s=inside, labels_s=t_lab, iaoa_s=t_iaoa, train_s=t_train,
                             same_results=got == {k: ref[k] for k in got} and same_w, **ov))
        base = runs[0]
        for r in runs:
            r["task_slowdown"] = r["iaoa_pair0_inside_s"] / base["iaoa_pair0_inside_s"]
            r["labels_speedup"] = base["labels_s"] / r["labels_s"]
            r["iaoa_speedup"] = base["iaoa_s"] / r["iaoa_s"]
            r["train_speedup"] = base["train_s"] / r["train_s"]

    # the scaling model at paper size, inputs from this run (the overhead of the largest cluster measured)
    dk = [r for r in runs if r["workers"]]
    o = dk[-1]["per_task_s"] if dk else 0.0
    scatter = ({k: dk[-1][f"scatter_{k}_s"] for k in ("labels", "iaoa", "train")} if dk
               else dict(labels=0, iaoa=0, train=0))
    pl, pi, pt = prof["labels"], prof["iaoa"], prof["train"]
    train_mean, train_max, n_committed = _committed_train_s()
    n_lab = PAPER["label_pairs"] * PAPER["label_methods"]
    # label_pairs runs the candidates (pairs x methods tasks) and then one E2 task per pair on the
    # executor: the model's tasks are both kinds, at their mean size; the client writes every file
    n_e2 = PAPER["label_pairs"]
    lab_model = dict(n_tasks=n_lab + n_e2, task_s=(n_lab * pl["task_s"] + n_e2 * pl["e2_per_pair_s"]) / (n_lab + n_e2),
                     overhead_s=o, client_s=pl["client_write_s"], serial_s=scatter["labels"])
    n_iaoa = PAPER["iaoa_pairs"] * PAPER["iaoa_optimizers"]
    iaoa_model = dict(n_tasks=n_iaoa, task_s=pi["per_run_s"] * PAPER["iaoa_runs"] * len(cfg.optimizers)
                      / PAPER["iaoa_optimizers"], overhead_s=o, client_s=pi["client_write_s"],
                      serial_s=scatter["iaoa"])
    train_model = dict(n_tasks=PAPER["train_networks"], task_s=train_mean, overhead_s=o,
                       client_s=pt["client_write_s"], serial_s=scatter["train"])
    model = {}
    for name, m in (("labels", lab_model), ("iaoa", iaoa_model), ("train", train_model)):
        t1 = m["n_tasks"] * (m["task_s"] + m["client_s"]) + m["serial_s"]
        model[name] = dict(inputs=m, t1_s=t1, speedup={str(w): P.expected_speedup(w, **m) for w in WORKERS})
    # the model assumes equal tasks; the committed networks differ 15-fold in training time, so no
    # number of workers finishes the training grid before its longest network
    model["train"]["speedup_bound"] = model["train"]["t1_s"] / (train_max + o)
    model["train"]["speedup"] = {w: min(v, model["train"]["speedup_bound"]) for w, v in model["train"]["speedup"].items()}
    total = time.perf_counter() - t_start

    print(f"bench_parallel: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.1f}, torch {torch.__version__} (1 thread)")
    print(f"labels grid: {len(label_pairs)} embedded {TASK} pairs ({pl['pixels']} px) x {len(pl['methods'])} "
          f"methods = {pl['n_tasks']} tasks; IAOA grid: {len(ipairs)} embedded pairs x {len(cfg.optimizers)} "
          f"optimisers = {pi['n_tasks']} tasks of {cfg.n_runs} runs; training grid: {len(entries)} AE-Netv2 "
          f"networks x {a.train_steps} steps")
    print(f"{'executor':<11}{'start s':>8}{'warm s':>7}{'labels s':>10}{'x':>6}{'iaoa s':>9}{'x':>6}{'train s':>9}"
          f"{'x':>6}{'noop ms/task':>14}{'scatter lab ms':>16}{'scatter iaoa ms':>17}{'scatter train ms':>18}"
          f"{'in-task x':>10}{'same':>6}")
    for r in runs:
        print(f"{r['executor']:<11}{r['startup_s']:>8.2f}{r['warmup_s']:>7.2f}{r['labels_s']:>10.2f}{r['labels_speedup']:>6.2f}"
              f"{r['iaoa_s']:>9.2f}{r['iaoa_speedup']:>6.2f}{r['train_s']:>9.2f}{r['train_speedup']:>6.2f}"
              f"{1e3 * r['per_task_s']:>14.3f}{1e3 * r['scatter_labels_s']:>16.1f}{1e3 * r['scatter_iaoa_s']:>17.1f}"
              f"{1e3 * r['scatter_train_s']:>18.1f}{r['task_slowdown']:>10.2f}{str(r['same_results']):>6}")
    print(f"{'grid':<8}{'tasks':>6}{'mean task s':>12}{'max task s':>11}{'in B/task':>10}{'out B/task':>11}"
          f"{'shared B':>10}{'write ms':>9}")
    for name, p in prof.items():
        print(f"{name:<8}{p['n_tasks']:>6}{p['task_s']:>12.4f}{p['task_s_max']:>11.4f}{p['input_bytes']:>10.0f}"
              f"{p['result_bytes']:>11.0f}{p['shared_bytes']:>10}{1e3 * p['client_write_s']:>9.2f}")
    print(f"labels E2 task: {pl['e2_per_pair_s']:.3f} s per pair of {len(pl['methods'])} candidates")
    print(f"scaling model (fusionlib.parallel.expected_speedup; overhead {1e3 * o:.3f} ms/task from the "
          f"{dk[-1]['executor'] if dk else '-'} no-op map), paper-sized grids:")
    print(f"{'grid':<8}{'tasks':>8}{'task s':>9}{'serial s':>10}{'T1 s':>10}" + "".join(f"{'S(' + str(w) + ')':>9}"
                                                                                 for w in WORKERS))
    for name, m in model.items():
        i = m["inputs"]
        print(f"{name:<8}{i['n_tasks']:>8}{i['task_s']:>9.4f}{i['serial_s']:>10.1f}{m['t1_s']:>10.1f}"
              + "".join(f"{m['speedup'][str(w)]:>9.2f}" for w in WORKERS))
    print(f"(label task size as measured at {pl['pixels']} px; IAOA task = measured time per run x 30, "
          f"mean over the 11 optimisers; training task = mean recorded training CPU of the {n_committed} "
          f"committed networks, {train_mean:.0f} s; the grid cannot finish before its longest network, "
          f"{train_max:.0f} s, so its S(w) is capped at T1 / longest = {model['train']['speedup_bound']:.1f})  "
          f"total {total:.0f} s")
    result = dict(machine=platform.machine(), cpus=os.cpu_count(), load_avg=os.getloadavg()[0],
                  torch=torch.__version__, noop_items=a.noop, label_pairs=len(label_pairs), label_task=TASK,
                  iaoa_pairs=len(ipairs), iaoa_optimizers=list(cfg.optimizers), iaoa_runs=cfg.n_runs,
                  train_networks=[e.name for e in entries], train_recipe=recipe,
                  committed_train_cpu_s=dict(mean=train_mean, max=train_max, n=n_committed),
                  executors=runs, tasks=prof, paper=PAPER, model=model, total_s=total)
    write_json_atomic(a.out, result)
    return result


if __name__ == "__main__":
    main()
