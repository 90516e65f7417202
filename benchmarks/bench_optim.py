"""Speed of fusionlib.optim against mealpy 3.0.x on the same fitness and budget, measured in one run.

For each optimiser, both libraries minimise the same function with the same population, iterations
and seeds; the wall time of a whole run (initialisation included) is the minimum over ``--repeats``
runs of each seed, summed over seeds. Two fitness functions:

* ``sphere``: cheap and vectorisable, so the optimiser's own overhead dominates;
* ``lsq``: a mid-cost least-squares misfit ||A x - b||² with A of shape (512, D) (a matrix-vector
  product per candidate; one matrix product per population for us).

mealpy evaluates one solution per objective call (its design); it gets the scalar form of the same
function (``float(x @ x)``, ``float(((A @ x - b) ** 2).sum())``), ours the population form. Ours is
timed in ``corrected`` (batched) mode, the mode compared, and in ``faithful`` mode (sequential, one
candidate per call where the MATLAB code does that) for information. AHA and IAOA have no mealpy
counterpart. BLAS is limited to one thread for both.

Usage::

    .venv/bin/python benchmarks/bench_optim.py            # D = 30, pop 30, 100 iterations, 3 seeds
    .venv/bin/python benchmarks/bench_optim.py --quick

Writes ``benchmarks/results/bench_optim.json`` (atomically).
"""
from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

import fusionlib.optim as fo  # noqa: E402
from fusionlib.utils import write_json_atomic  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from crosscheck_mealpy import _pairs  # noqa: E402


def make_functions(D: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((512, D))
    b = A @ rng.uniform(-1, 1, D)
    At = np.ascontiguousarray(A.T)
    return {
        "sphere": (lambda X: np.einsum("ij,ij->i", X, X), lambda x: float(x @ x)),
        "lsq": (lambda X: ((X @ At - b) ** 2).sum(axis=1), lambda x: float(((A @ x - b) ** 2).sum())),
    }


def time_ours(name, fun, lo, hi, pop, epochs, seeds, repeats, mode, hyper):
    total, evals = 0.0, 0
    for s in seeds:
        best = np.inf
        for _ in range(repeats):
            t = time.perf_counter()
            r = fo.minimize(name, fun, lo, hi, pop, epochs, seed=s, mode=mode, **hyper)
            best = min(best, time.perf_counter() - t)
        total += best
        evals += r.n_evals
    return total, evals


def time_mealpy(factory, fun, lo, hi, pop, epochs, seeds, repeats):
    from mealpy import FloatVar
    total, evals = 0.0, 0
    for s in seeds:
        best = np.inf
        for _ in range(repeats):
            model = factory(epochs, pop)
            problem = {"obj_func": fun, "bounds": FloatVar(lb=lo.tolist(), ub=hi.tolist()), "minmax": "min",
                       "log_to": None}
            t = time.perf_counter()
            model.solve(problem, seed=s)
            best = min(best, time.perf_counter() - t)
        total += best
        evals += model.nfe_counter
    return total, evals


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dim", type=int, default=30)
    ap.add_argument("--pop", type=int, default=30)
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="20 iterations, 1 seed, 1 repeat")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "bench_optim.json"))
    a = ap.parse_args(argv)
    if a.quick:
        a.epochs, a.seeds, a.repeats = 20, 1, 1
    import mealpy
    pairs = _pairs()
    seeds = list(range(a.seeds))
    lo, hi = np.full(a.dim, -100.0), np.full(a.dim, 100.0)
    funcs = make_functions(a.dim)
    rows = []
    hdr = (f"{'algo':5} {'fitness':7} {'evals ours/mealpy':>17} {'ours (s)':>9} {'faithful (s)':>12} "
           f"{'mealpy (s)':>10} {'speed-up':>9} {'faithful speed-up':>17}")
    print(f"D={a.dim}, pop={a.pop}, iterations={a.epochs}, seeds={a.seeds}, repeats={a.repeats} (min per seed)")
    print(hdr)
    print("-" * len(hdr))
    t0 = time.perf_counter()
    for name in fo.OPTIMIZERS:
        hyper, factory, _ = pairs.get(name, ({}, None, ""))
        for fname, (vec, scalar) in funcs.items():
            t_c, ev_c = time_ours(name, vec, lo, hi, a.pop, a.epochs, seeds, a.repeats, "corrected", hyper)
            t_f, ev_f = time_ours(name, vec, lo, hi, a.pop, a.epochs, seeds, a.repeats, "faithful", hyper)
            if factory is not None:
                t_m, ev_m = time_mealpy(factory, scalar, lo, hi, a.pop, a.epochs, seeds, a.repeats)
                sp, spf = t_m / t_c, t_m / t_f
            else:
                t_m = ev_m = sp = spf = None
            row = dict(algo=name, fitness=fname, dim=a.dim, pop=a.pop, iterations=a.epochs, seeds=a.seeds,
                       evals_ours=ev_c // a.seeds, evals_ours_faithful=ev_f // a.seeds,
                       evals_mealpy=None if ev_m is None else ev_m // a.seeds,
                       time_ours_s=t_c, time_ours_faithful_s=t_f, time_mealpy_s=t_m,
                       speedup=sp, speedup_faithful=spf,
                       evals_per_s_ours=ev_c / t_c, evals_per_s_mealpy=None if t_m is None else ev_m / t_m)
            rows.append(row)
            fmt = lambda v, f: "n/a" if v is None else format(v, f)  # noqa: E731
            ev = f"{row['evals_ours']}/{fmt(row['evals_mealpy'], 'd')}"
            print(f"{name:5} {fname:7} {ev:>17} {t_c:>9.4f} {t_f:>12.4f} {fmt(t_m, '.4f'):>10} "
                  f"{fmt(sp, '.1f'):>9} {fmt(spf, '.1f'):>17}", flush=True)
    sps = [r["speedup"] for r in rows if r["speedup"] is not None]
    print(f"\nspeed-up (corrected vs mealpy): min {min(sps):.1f}x, median {np.median(sps):.1f}x over {len(sps)} cases")
    out = dict(benchmark="bench_optim", mealpy_version=getattr(mealpy, "__version__", "?"), numpy=np.__version__,
               python=sys.version.split()[0], machine=platform.platform(), processor=platform.processor(),
               cpu_count=os.cpu_count(), blas_threads=1, device="CPU (no GPU)",
               timing="wall time of whole runs (init included); min over repeats per seed, summed over seeds",
               wall_time_s=time.perf_counter() - t0, rows=rows,
               min_speedup=min(sps), median_speedup=float(np.median(sps)))
    write_json_atomic(a.out, out)
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
