"""Speed of fusionlib.optim against mealpy 3.0.x on the same fitness and budget, measured in one run.

For each optimiser, both libraries minimise the same function with the same population, iterations
and seeds; the wall time of a whole run (initialisation included) is the minimum over ``--repeats``
runs of each seed, summed over seeds; ours and mealpy are interleaved per repeat and both the
process CPU time and the wall time are recorded (the speed-up is quoted from CPU time, which other
processes on a shared machine disturb less). Two fitness functions:

* ``sphere``: cheap and vectorisable, so the optimiser's own overhead dominates;
* ``lsq``: a mid-cost least-squares misfit ||A x - b||² with A of shape (512, D) (a matrix-vector
  product per candidate; one matrix product per population for us).

mealpy evaluates one solution per objective call (its design); it gets the scalar form of the same
function (``float(x @ x)``, ``r = A @ x - b; float(r @ r)``), ours the population form (one matrix
product per population). Ours is
timed in ``corrected`` (batched) mode, the mode compared, and in ``faithful`` mode (sequential, one
candidate per call where the MATLAB code does that) for information. AHA and IAOA have no mealpy
counterpart. BLAS is limited to one thread for both, and OpenBLAS is told the CPU's kernel family
(``OPENBLAS_CORETYPE``, see ``_openblas_coretype``) when it is not set, since NumPy's OpenBLAS falls back
to slow generic kernels on virtual CPUs it does not recognise; the JSON records the kernels used.

Usage::

    .venv/bin/python benchmarks/bench_optim.py            # D = 30, pop 30, 100 iterations, 3 seeds
    .venv/bin/python benchmarks/bench_optim.py --quick

Writes ``benchmarks/results/bench_optim.json`` (atomically).
"""
from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")


def _openblas_coretype() -> str | None:
    """The OpenBLAS kernel family this CPU supports, from /proc/cpuinfo (None if unknown).

    NumPy's bundled OpenBLAS picks its kernels at run time from the CPU model; on virtual machines
    that report an unknown model it falls back to 'Prescott' (SSE3), whose GEMM is 3-4x slower than
    the AVX2/AVX-512 kernels the CPU actually has. Both libraries of this benchmark run in the same
    process on the same BLAS, so naming the right family (unless OPENBLAS_CORETYPE is already set)
    speeds up the lsq fitness for ours and mealpy alike."""
    try:
        flags = next(ln for ln in open("/proc/cpuinfo") if ln.startswith("flags")).split()
    except (OSError, StopIteration):
        return None
    if {"avx512f", "avx512bw", "avx512vl", "avx512dq"} <= set(flags):
        return "SkylakeX"
    if {"avx2", "fma"} <= set(flags):
        return "Haswell"
    return None


if "OPENBLAS_CORETYPE" not in os.environ and _openblas_coretype():
    os.environ["OPENBLAS_CORETYPE"] = _openblas_coretype()

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
    def lsq_pop(X):
        R = X @ At
        R -= b
        return np.einsum("ij,ij->i", R, R)

    def lsq_one(x):
        r = A @ x - b
        return float(r @ r)

    return {
        "sphere": (lambda X: np.einsum("ij,ij->i", X, X), lambda x: float(x @ x)),
        "lsq": (lsq_pop, lsq_one),
    }


def openblas_corename() -> str:
    """The kernel family NumPy's OpenBLAS runs with ('?' when it cannot be asked)."""
    import ctypes
    import glob
    libs = glob.glob(str(Path(np.__file__).parent.parent / "numpy.libs" / "*openblas*"))
    for lib in libs:
        try:
            dll = ctypes.CDLL(lib)
        except OSError:
            continue
        for sym in ("openblas_get_corename64_", "openblas_get_corename"):
            fn = getattr(dll, sym, None)
            if fn is not None:
                fn.restype = ctypes.c_char_p
                return fn().decode()
    return "?"


def _timed(fn):
    """(wall seconds, CPU seconds of this process) of one call."""
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - w, time.process_time() - c, out


def measure(name, vec, scalar, factory, lo, hi, pop, epochs, seeds, repeats, hyper):
    """Interleaved timing: per seed and repeat, ours (corrected), ours (faithful) and mealpy run one
    after the other, so all three see the same machine load; the minimum over repeats is kept per
    seed (wall and CPU time separately) and summed over seeds."""
    from mealpy import FloatVar
    keys = ("corrected", "faithful") + (("mealpy",) if factory is not None else ())
    wall = {k: 0.0 for k in keys}
    cpu = {k: 0.0 for k in keys}
    evals = {k: 0 for k in keys}
    for s in seeds:
        best_w = {k: np.inf for k in keys}
        best_c = {k: np.inf for k in keys}
        for _ in range(repeats):
            for k in keys:
                if k == "mealpy":
                    model = factory(epochs, pop)
                    problem = {"obj_func": scalar, "bounds": FloatVar(lb=lo.tolist(), ub=hi.tolist()),
                               "minmax": "min", "log_to": None}
                    w, c, _ = _timed(lambda: model.solve(problem, seed=s))
                    n = model.nfe_counter
                else:
                    w, c, r = _timed(lambda: fo.minimize(name, vec, lo, hi, pop, epochs, seed=s, mode=k, **hyper))
                    n = r.n_evals
                best_w[k] = min(best_w[k], w)
                best_c[k] = min(best_c[k], c)
        for k in keys:
            wall[k] += best_w[k]
            cpu[k] += best_c[k]
            evals[k] += n if k == keys[-1] else 0
    return wall, cpu


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dim", type=int, default=30)
    ap.add_argument("--configs", nargs="+", default=["30x100", "100x30"],
                    help="population x iterations pairs (default: 30x100 and 100x30, about 3,000 evaluations each)")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="20 iterations, 1 seed, 1 repeat")
    ap.add_argument("--algos", nargs="+", default=None, help="only these optimisers (default: all)")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "bench_optim.json"))
    a = ap.parse_args(argv)
    if a.quick:
        a.configs, a.seeds, a.repeats = ["30x20"], 1, 1
    configs = [tuple(int(v) for v in c.lower().split("x")) for c in a.configs]
    import mealpy
    pairs = _pairs()
    seeds = list(range(a.seeds))
    lo, hi = np.full(a.dim, -100.0), np.full(a.dim, 100.0)
    funcs = make_functions(a.dim)
    rows = []
    hdr = (f"{'algo':5} {'fitness':7} {'evals ours/mealpy':>17} {'ours (s)':>9} {'faithful (s)':>12} "
           f"{'mealpy (s)':>10} {'speed-up':>9} {'faithful speed-up':>17} {'wall s-up':>10}")
    load0 = os.getloadavg()
    print(f"OpenBLAS kernels: {openblas_corename()} (OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')})")
    print(f"D={a.dim}, configs={a.configs}, seeds={a.seeds}, repeats={a.repeats}, load average {load0[0]:.1f}; "
          f"CPU seconds of the process (min over repeats per seed, summed over seeds); 'wall s-up' = the "
          f"same ratio from wall-clock times")
    t0 = time.perf_counter()
    for pop, epochs in configs:
        a.pop, a.epochs = pop, epochs
        print(f"\npop = {pop}, iterations = {epochs}")
        print(hdr)
        print("-" * len(hdr))
        for name in fo.OPTIMIZERS:
            if a.algos and name not in a.algos:
                continue
            hyper, factory, _ = pairs.get(name, ({}, None, ""))
            for fname, (vec, scalar) in funcs.items():
                wall, cpu = measure(name, vec, scalar, factory, lo, hi, a.pop, a.epochs, seeds, a.repeats, hyper)
                ev_c = fo.minimize(name, vec, lo, hi, a.pop, a.epochs, seed=0, **hyper).n_evals
                ev_f = fo.minimize(name, vec, lo, hi, a.pop, a.epochs, seed=0, mode="faithful", **hyper).n_evals
                ev_m = None
                if factory is not None:
                    from mealpy import FloatVar
                    m = factory(a.epochs, a.pop)
                    m.solve({"obj_func": scalar, "bounds": FloatVar(lb=lo.tolist(), ub=hi.tolist()), "minmax": "min",
                             "log_to": None}, seed=0)
                    ev_m = int(m.nfe_counter)
                t_c, t_f, t_m = cpu["corrected"], cpu["faithful"], cpu.get("mealpy")
                sp = None if t_m is None else t_m / t_c
                spf = None if t_m is None else t_m / t_f
                spw = None if t_m is None else wall["mealpy"] / wall["corrected"]
                row = dict(algo=name, fitness=fname, dim=a.dim, pop=a.pop, iterations=a.epochs, seeds=a.seeds,
                           evals_ours=ev_c, evals_ours_faithful=ev_f, evals_mealpy=ev_m,
                           cpu_ours_s=t_c, cpu_ours_faithful_s=t_f, cpu_mealpy_s=t_m,
                           wall_ours_s=wall["corrected"], wall_ours_faithful_s=wall["faithful"],
                           wall_mealpy_s=wall.get("mealpy"),
                           speedup=sp, speedup_faithful=spf, speedup_wall=spw,
                           evals_per_s_ours=ev_c * a.seeds / t_c,
                           evals_per_s_mealpy=None if t_m is None else ev_m * a.seeds / t_m)
                rows.append(row)
                fmt = lambda v, f: "n/a" if v is None else format(v, f)  # noqa: E731
                ev = f"{ev_c}/{fmt(ev_m, 'd')}"
                print(f"{name:5} {fname:7} {ev:>17} {t_c:>9.4f} {t_f:>12.4f} {fmt(t_m, '.4f'):>10} "
                      f"{fmt(sp, '.1f'):>9} {fmt(spf, '.1f'):>17} {fmt(spw, '.1f'):>10}", flush=True)
    sps = [r["speedup"] for r in rows if r["speedup"] is not None]
    summary = {}
    for pop, epochs in configs:
        v = [r["speedup"] for r in rows if r["speedup"] is not None and r["pop"] == pop and r["iterations"] == epochs]
        summary[f"{pop}x{epochs}"] = dict(min=min(v), median=float(np.median(v)), n=len(v),
                                          below_20x=[f"{r['algo']}/{r['fitness']}" for r in rows
                                                     if r["pop"] == pop and r["iterations"] == epochs
                                                     and r["speedup"] is not None and r["speedup"] < 20])
        print(f"\npop {pop} x {epochs} iterations: speed-up (CPU, corrected vs mealpy) min {min(v):.1f}x, "
              f"median {np.median(v):.1f}x over {len(v)} cases; below 20x: {summary[f'{pop}x{epochs}']['below_20x']}")
    out = dict(benchmark="bench_optim", mealpy_version=getattr(mealpy, "__version__", "?"), numpy=np.__version__,
               python=sys.version.split()[0], machine=platform.platform(), processor=platform.processor(),
               cpu_count=os.cpu_count(), blas_threads=1, device="CPU (no GPU)",
               openblas_coretype_env=os.environ.get("OPENBLAS_CORETYPE"), openblas_corename=openblas_corename(),
               timing="whole runs (init included), ours and mealpy interleaved per repeat; process CPU time "
                      "(time.process_time) and wall time (time.perf_counter), each the min over repeats per "
                      "seed, summed over seeds; speedup = mealpy CPU / ours CPU (robust on a shared machine), "
                      "speedup_wall from wall times",
               load_average_start=load0, load_average_end=os.getloadavg(),
               command="benchmarks/bench_optim.py " + " ".join(sys.argv[1:] if argv is None else argv),
               wall_time_s=time.perf_counter() - t0, rows=rows, summary=summary,
               min_speedup=min(sps), median_speedup=float(np.median(sps)))
    write_json_atomic(a.out, out)
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
