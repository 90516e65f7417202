"""Scale-out of the grid loops (issue #19): in-process against a Dask LocalCluster of 1 and 2 workers.

Grids timed on every executor (fresh temporary cache directories, so nothing is read from a cache):

1. ``labels``: Algorithm 1 labels of a few embedded infrared-visible train pairs
   (``fusionlib.experiments.aenet.labelled_train_pairs``, smoke profile): the (pair x method) candidate
   grid runs on the executor, the E2 scoring per pair stays in this process.
2. ``iaoa``: ``fusionlib.experiments.iaoa.run_experiment`` on embedded pansharpening pairs x the 11
   optimisers (each task: every run of one optimiser on one pair).

Per executor also: the time of pair 0's 11 IAOA tasks measured inside the task where it runs (``in-task
x``: against in process; slower workers rather than scheduling), the per-task overhead (a no-op task over ``--noop`` items: ``wall / n``, the task
itself costing ~0) and the scatter cost of each grid's shared arguments (a one-item no-op map with them,
less one without). Measured once in this process: each task's time (the mean task size), the pickled
bytes of its inputs and result, the client's per-task cache write and the serial E2 step. Those are the
inputs of the scaling model :func:`fusionlib.parallel.expected_speedup`, evaluated here at 8, 64 and
512 workers for the paper-sized grids (labels: 14,473 pairs x 10 methods; IAOA: 16 pairs x 11
optimisers x 30 runs), with the task size scaled from the measured one as stated in the output.

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
from fusionlib.experiments import aenet
from fusionlib.experiments import aenet_study as S
from fusionlib.experiments import iaoa as E
from fusionlib.nets import labels as L
from fusionlib.utils import save_records_npz, write_json_atomic

HERE = Path(__file__).resolve().parent
TASK = "infrared-visible"
WORKERS = (8, 64, 512)
PAPER = dict(label_pairs=14_473, label_methods=10, iaoa_pairs=16, iaoa_optimizers=11, iaoa_runs=30)


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
    """Each candidate task timed in this process; bytes; the client's cache write; the serial E2 step."""
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


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--label-pairs", type=int, default=5, help="embedded infrared-visible train pairs")
    ap.add_argument("--iaoa-pairs", type=int, default=6, help="embedded pansharpening pairs")
    ap.add_argument("--iaoa-runs", type=int, default=30, help="runs per task (30: the paper's task size)")
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
        prof = dict(labels=_profile_labels(label_pairs, tmp / "prof_labels"),
                    iaoa=_profile_iaoa(problem, cfg, tmp / "prof_iaoa"))
        shared = dict(labels=dict(pairs=label_pairs, params={}, device="cpu"), iaoa=dict(problem=problem, cfg=cfg))
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
                inside = sum(ex.map(_iaoa_task_timed, [(0, o) for o in cfg.optimizers], problem=problem, cfg=cfg))
            finally:
                ex.close()
            if (lab.n_computed, lab.n_cached) != (prof["labels"]["n_tasks"], 0):
                raise RuntimeError(f"bench_parallel: {name}: candidates read from a cache")
            got = dict(labels=[r.method for r in lab.records], iaoa=df["best_f"].tolist())
            ref = ref or got
            runs.append(dict(executor=name, workers=w or 0, startup_s=startup, warmup_s=warm,
                             iaoa_pair0_inside_s=inside, labels_s=t_lab, iaoa_s=t_iaoa,
                             same_results=got == ref, **ov))
        base = runs[0]
        for r in runs:
            r["task_slowdown"] = r["iaoa_pair0_inside_s"] / base["iaoa_pair0_inside_s"]
            r["labels_speedup"] = base["labels_s"] / r["labels_s"]
            r["iaoa_speedup"] = base["iaoa_s"] / r["iaoa_s"]

    # the scaling model at paper size, inputs from this run (the overhead of the largest cluster measured)
    dk = [r for r in runs if r["workers"]]
    o = dk[-1]["per_task_s"] if dk else 0.0
    scatter = dict(labels=dk[-1]["scatter_labels_s"], iaoa=dk[-1]["scatter_iaoa_s"]) if dk else dict(labels=0, iaoa=0)
    pl, pi = prof["labels"], prof["iaoa"]
    n_lab = PAPER["label_pairs"] * PAPER["label_methods"]
    lab_model = dict(n_tasks=n_lab, task_s=pl["task_s"], overhead_s=o, client_s=pl["client_write_s"],
                     serial_s=n_lab * pl["e2_per_candidate_s"] + scatter["labels"])
    n_iaoa = PAPER["iaoa_pairs"] * PAPER["iaoa_optimizers"]
    iaoa_model = dict(n_tasks=n_iaoa, task_s=pi["per_run_s"] * PAPER["iaoa_runs"] * len(cfg.optimizers)
                      / PAPER["iaoa_optimizers"], overhead_s=o, client_s=pi["client_write_s"],
                      serial_s=scatter["iaoa"])
    model = {}
    for name, m in (("labels", lab_model), ("iaoa", iaoa_model)):
        t1 = m["n_tasks"] * (m["task_s"] + m["client_s"]) + m["serial_s"]
        model[name] = dict(inputs=m, t1_s=t1, speedup={str(w): P.expected_speedup(w, **m) for w in WORKERS})
    total = time.perf_counter() - t_start

    print(f"bench_parallel: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.1f}, torch {torch.__version__} (1 thread)")
    print(f"labels grid: {len(label_pairs)} embedded {TASK} pairs ({pl['pixels']} px) x {len(pl['methods'])} "
          f"methods = {pl['n_tasks']} tasks; IAOA grid: {len(ipairs)} embedded pairs x {len(cfg.optimizers)} "
          f"optimisers = {pi['n_tasks']} tasks of {cfg.n_runs} runs")
    print(f"{'executor':<11}{'start s':>8}{'warm s':>7}{'labels s':>10}{'x':>6}{'iaoa s':>9}{'x':>6}{'noop ms/task':>14}"
          f"{'scatter lab ms':>16}{'scatter iaoa ms':>17}{'in-task x':>10}{'same':>6}")
    for r in runs:
        print(f"{r['executor']:<11}{r['startup_s']:>8.2f}{r['warmup_s']:>7.2f}{r['labels_s']:>10.2f}{r['labels_speedup']:>6.2f}"
              f"{r['iaoa_s']:>9.2f}{r['iaoa_speedup']:>6.2f}{1e3 * r['per_task_s']:>14.3f}"
              f"{1e3 * r['scatter_labels_s']:>16.1f}{1e3 * r['scatter_iaoa_s']:>17.1f}{r['task_slowdown']:>10.2f}"
              f"{str(r['same_results']):>6}")
    print(f"{'grid':<8}{'tasks':>6}{'mean task s':>12}{'max task s':>11}{'in B/task':>10}{'out B/task':>11}"
          f"{'shared B':>10}{'write ms':>9}")
    for name, p in prof.items():
        print(f"{name:<8}{p['n_tasks']:>6}{p['task_s']:>12.4f}{p['task_s_max']:>11.4f}{p['input_bytes']:>10.0f}"
              f"{p['result_bytes']:>11.0f}{p['shared_bytes']:>10}{1e3 * p['client_write_s']:>9.2f}")
    print(f"labels E2 step (serial, client): {pl['e2_per_pair_s']:.3f} s per pair of {len(pl['methods'])} candidates")
    print(f"scaling model (fusionlib.parallel.expected_speedup; overhead {1e3 * o:.3f} ms/task from the "
          f"{dk[-1]['executor'] if dk else '-'} no-op map), paper-sized grids:")
    print(f"{'grid':<8}{'tasks':>8}{'task s':>9}{'serial s':>10}{'T1 s':>10}" + "".join(f"{'S(' + str(w) + ')':>9}"
                                                                                 for w in WORKERS))
    for name, m in model.items():
        i = m["inputs"]
        print(f"{name:<8}{i['n_tasks']:>8}{i['task_s']:>9.4f}{i['serial_s']:>10.1f}{m['t1_s']:>10.1f}"
              + "".join(f"{m['speedup'][str(w)]:>9.2f}" for w in WORKERS))
    print(f"(label task size as measured at {pl['pixels']} px; IAOA task = measured time per run x 30, "
          f"mean over the 11 optimisers)  total {total:.0f} s")
    result = dict(machine=platform.machine(), cpus=os.cpu_count(), load_avg=os.getloadavg()[0],
                  torch=torch.__version__, noop_items=a.noop, label_pairs=len(label_pairs), label_task=TASK,
                  iaoa_pairs=len(ipairs), iaoa_optimizers=list(cfg.optimizers), iaoa_runs=cfg.n_runs,
                  executors=runs, tasks=prof, paper=PAPER, model=model, total_s=total)
    write_json_atomic(a.out, result)
    return result


if __name__ == "__main__":
    main()
