"""Speed of fusionlib.optim against mealpy 3.0.x on the same fitness and budget, measured in one run.

For each optimiser, both libraries minimise the same function with the same population, iterations
and seeds; the wall time of a whole run (initialisation included) is the minimum over ``--repeats``
runs of each seed, summed over seeds; ours and mealpy are interleaved per repeat and both the
process CPU time and the wall time are recorded (the speed-up is quoted from CPU time, which other
processes on a shared machine disturb less). Three fitness functions:

* ``sphere``: cheap and vectorisable, so the optimiser's own overhead dominates;
* ``lsq``: a mid-cost least-squares misfit ||A x - b||² with A of shape (512, D) (a matrix-vector
  product per candidate; one matrix product per population for us);
* ``iaoa``: the paper's own fitness, the ERGAS of the adaptive pansharpening model
  (:class:`fusionlib.experiments.iaoa.IAOAProblem`, D = 4 band weights in [-50, 50]) on one real pair,
  the first QuickBird urban pair of ``nbu_iaoa`` (``fusionlib.data.find_root()``; the first embedded
  pansharpening pair, with a printed note, when the real data are missing), at the paper's budget
  (N = 5, T = 10) and at population 30 / 100 iterations (``--iaoa-configs``). Ours gets the batched
  population fitness ``IAOAProblem.fitness(0)`` ((P, 4) -> (P,)); mealpy gets the same callable applied
  to one row (``float(fit(x[None])[0])``), as mealpy calls it. mealpy's AOA refuses populations
  below 10 and its GA fails at N = 5 (``survivor_process__`` draws a k-way tournament of
  ``int(0.1 N) = 0`` agents and indexes its empty result), so neither has a mealpy time at N = 5
  (recorded as n/a with the reason).

**Runs batched** (``--runs``, default 30, the experiment's 30 runs per optimiser and pair): for the
``iaoa`` fitness (and the synthetic ones with ``--batch-synthetic``) the same R seeds are also run
as one :func:`fusionlib.optim.run_batch` call (corrected mode: all runs in lockstep, one fitness call
per generation of all runs; run r is bit-identical to ``minimize(..., seed=r)``, checked here on
the first seeds) and, for mealpy, as R consecutive ``solve`` calls; each side's time is the minimum
over ``--batch-repeats`` repetitions of all R runs, and ``speedup_batch`` = mealpy CPU / ours CPU.
This is how the IAOA experiment runs (``fusionlib.experiments.iaoa``), and at the paper's budget
(N = 5, T = 10: a run is ~50 tiny evaluations) it is the comparison that measures the work rather
than per-call interpreter overhead.

Evaluations are counted on both sides in an untimed run of seed 0 (rows passed to our population
fitness, calls of mealpy's objective) and printed beside the counts the libraries report.

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
    .venv/bin/python benchmarks/bench_optim.py --fitness iaoa --algos pso de --seeds 1

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


def make_iaoa_fitness(data_root=None):
    """The IAOA fitness of one pair: (population fitness, per-agent fitness, lower, upper, info).

    The pair is the first QuickBird urban pair of ``nbu_iaoa`` when the data root is found, else
    the first embedded pansharpening pair (a note is printed). The per-agent form is the population
    form applied to one row, so both libraries evaluate exactly the same function."""
    import torch

    import fusionlib as fl
    from fusionlib.experiments import iaoa as E
    torch.set_num_threads(1)
    root = fl.data.find_root(data_root)
    if root is not None and (root / "nbu_iaoa").is_dir():
        pairs = [q for q in E.load_pairs("nbu_iaoa", root=root, scene="urban")
                 if str(q.meta.get("sensor", "")).lower() == "quickbird"]
        data, zero_sum, note = "nbu_iaoa", "nan", ""
    else:
        pairs = E.load_pairs("embedded_pansharpening")
        data, zero_sum = "embedded_pansharpening", "equal"
        note = ("nbu_iaoa not found (fusionlib.data.find_root() gave no data root with nbu_iaoa): the IAOA "
                "fitness uses the first embedded pansharpening pair instead")
        print(f"NOTE: {note}")
    if not pairs:
        raise ValueError(f"make_iaoa_fitness: no QuickBird urban pair in {data}")
    pair = pairs[0]
    problem = E.IAOAProblem([pair], zero_sum=zero_sum)
    fit = problem.fitness(0)

    def fit_one(x):
        return float(fit(np.asarray(x, dtype=np.float64)[None])[0])

    info = dict(dataset=data, pair=pair.id, shape=list(pair.ms.shape), zero_sum=zero_sum,
                dim=problem.dim, lower=problem.lower.tolist(), upper=problem.upper.tolist(),
                optimum_f=problem.optimum(0)[1], note=note)
    return fit, fit_one, problem.lower.copy(), problem.upper.copy(), info


def count_evals(name, vec, scalar, factory, lo, hi, pop, epochs, hyper):
    """Evaluations of one untimed run (seed 0) on each side: what each library reports and what
    the fitness actually received (rows of our population calls, calls of mealpy's objective)."""
    out = {}
    for mode in ("corrected", "faithful"):
        rows = [0]

        def vec_c(X, rows=rows):
            rows[0] += len(X)
            return vec(X)
        r = fo.minimize(name, vec_c, lo, hi, pop, epochs, seed=0, mode=mode, **hyper)
        out[mode] = (int(r.n_evals), rows[0])
    if factory is not None:
        from mealpy import FloatVar
        calls = [0]

        def scalar_c(x):
            calls[0] += 1
            return scalar(x)
        m = factory(epochs, pop)
        m.solve({"obj_func": scalar_c, "bounds": FloatVar(lb=lo.tolist(), ub=hi.tolist()), "minmax": "min",
                 "log_to": None}, seed=0)
        out["mealpy"] = (int(m.nfe_counter), calls[0])
    return out


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


def measure_batch(name, vec, scalar, factory, lo, hi, pop, epochs, runs, repeats, hyper):
    """R runs (seeds 0..R-1): ours as one run_batch call, mealpy as R solve calls; min over repeats of
    (wall, CPU) per side, plus a check that the batched runs equal single runs (first 3 seeds)."""
    from mealpy import FloatVar
    problem = fo.Problem(vec, lo, hi)
    opt = fo.OPTIMIZERS[name].cls(pop_size=pop, mode="corrected", **hyper)
    seeds = list(range(runs))
    best = {"ours": [np.inf, np.inf], "mealpy": [np.inf, np.inf]}
    res = None

    def mealpy_runs():
        for s in seeds:
            model = factory(epochs, pop)
            model.solve({"obj_func": scalar, "bounds": FloatVar(lb=lo.tolist(), ub=hi.tolist()), "minmax": "min",
                         "log_to": None}, seed=s)
    for _ in range(repeats):
        w, c, res = _timed(lambda: fo.run_batch(problem, opt, seeds, n_iter=epochs))
        best["ours"] = [min(best["ours"][0], w), min(best["ours"][1], c)]
        if factory is not None:
            w, c, _ = _timed(mealpy_runs)
            best["mealpy"] = [min(best["mealpy"][0], w), min(best["mealpy"][1], c)]
    same = all(r.best_f == fo.minimize(name, vec, lo, hi, pop, epochs, seed=s, **hyper).best_f
               for s, r in zip(seeds[:3], res))
    t_m = best["mealpy"][1] if factory is not None else None
    return dict(runs=runs, batch_repeats=repeats, batched=fo.supports_batch(opt), batch_equals_single=same,
                wall_ours_batch_s=best["ours"][0], cpu_ours_batch_s=best["ours"][1],
                wall_mealpy_runs_s=best["mealpy"][0] if factory is not None else None, cpu_mealpy_runs_s=t_m,
                speedup_batch=None if t_m is None else t_m / best["ours"][1],
                speedup_batch_wall=None if t_m is None else best["mealpy"][0] / best["ours"][0])


FITNESSES = ("sphere", "lsq", "iaoa")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dim", type=int, default=30, help="dimension of the synthetic fitnesses (iaoa: 4)")
    ap.add_argument("--configs", nargs="+", default=["30x100", "100x30"],
                    help="population x iterations pairs of the synthetic fitnesses (default: 30x100 and 100x30, "
                         "about 3,000 evaluations each)")
    ap.add_argument("--fitness", nargs="+", default=list(FITNESSES), choices=FITNESSES,
                    help="fitness functions to measure (default: all)")
    ap.add_argument("--iaoa-configs", nargs="+", default=["5x10", "30x100"],
                    help="population x iterations pairs of the iaoa fitness (default: the paper's N = 5, T = 10, "
                         "and 30x100)")
    ap.add_argument("--iaoa-repeats", type=int, nargs="+", default=[5, 2],
                    help="repeats per seed of the iaoa rows, one value per --iaoa-configs entry (the last one "
                         "reused); default 5 at N = 5, T = 10 (runs of milliseconds), 2 at 30x100")
    ap.add_argument("--data-root", default=None, help="data root for nbu_iaoa (default: fusionlib.data.find_root())")
    ap.add_argument("--runs", type=int, default=30,
                    help="runs of the batched measurement (run_batch vs mealpy run after run; default 30, "
                         "the experiment's runs per optimiser and pair)")
    ap.add_argument("--batch-repeats", type=int, default=3, help="repeats of the batched measurement (min kept)")
    ap.add_argument("--batch-synthetic", action="store_true",
                    help="also measure the batched runs on the synthetic fitnesses (default: iaoa only)")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="20 iterations, 1 seed, 1 repeat, 5 batched runs")
    ap.add_argument("--algos", nargs="+", default=None, help="only these optimisers (default: all)")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "bench_optim.json"))
    a = ap.parse_args(argv)
    if a.quick:
        a.configs, a.iaoa_configs, a.seeds, a.repeats, a.iaoa_repeats = ["30x20"], ["5x10"], 1, 1, [1]
        a.runs, a.batch_repeats = 5, 1
    parse = lambda cs: [tuple(int(v) for v in c.lower().split("x")) for c in cs]  # noqa: E731
    if any(r < 1 for r in [a.repeats, a.seeds, a.runs, a.batch_repeats, *a.iaoa_repeats]):
        ap.error("--seeds, --repeats, --runs, --batch-repeats and --iaoa-repeats must be >= 1")
    iaoa_reps = [a.iaoa_repeats[min(k, len(a.iaoa_repeats) - 1)] for k in range(len(a.iaoa_configs))]
    cpu_start = time.process_time()
    import mealpy
    pairs = _pairs()
    seeds = list(range(a.seeds))
    synth = [f for f in a.fitness if f != "iaoa"]
    funcs = make_functions(a.dim)
    # groups of rows: (label, {fitness: (population form, per-agent form, lower, upper)}, [(pop, iterations, repeats)])
    groups = []
    if synth:
        lo, hi = np.full(a.dim, -100.0), np.full(a.dim, 100.0)
        groups.append(("", {f: (*funcs[f], lo, hi) for f in synth}, [(*c, a.repeats) for c in parse(a.configs)]))
    iaoa_info = None
    if "iaoa" in a.fitness:
        vec, scalar, ilo, ihi, iaoa_info = make_iaoa_fitness(a.data_root)
        groups.append(("iaoa ", {"iaoa": (vec, scalar, ilo, ihi)},
                       [(*c, r) for c, r in zip(parse(a.iaoa_configs), iaoa_reps)]))
    rows = []
    hdr = (f"{'algo':5} {'fitness':7} {'evals ours/mealpy':>17} {'counted':>11} {'ours (s)':>9} {'faithful (s)':>12} "
           f"{'mealpy (s)':>10} {'speed-up':>9} {'faithful speed-up':>17} {'wall s-up':>10}")
    load0 = os.getloadavg()
    print(f"OpenBLAS kernels: {openblas_corename()} (OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')})")
    print(f"D={a.dim}, configs={a.configs}, seeds={a.seeds}, repeats={a.repeats}, load average {load0[0]:.1f}; "
          f"CPU seconds of the process (min over repeats per seed, summed over seeds); 'wall s-up' = the "
          f"same ratio from wall-clock times; 'counted' = evaluations the fitness received (ours/mealpy, seed 0)")
    if iaoa_info is not None:
        print(f"iaoa fitness: {iaoa_info['dataset']} pair {iaoa_info['pair']} (MS {iaoa_info['shape']}), D = "
              f"{iaoa_info['dim']}, bounds [{iaoa_info['lower'][0]:g}, {iaoa_info['upper'][0]:g}], "
              f"configs={a.iaoa_configs}, repeats={iaoa_reps}")
    fmt = lambda v, f: "n/a" if v is None else format(v, f)  # noqa: E731
    t0 = time.perf_counter()
    for label, fset, configs in groups:
        for pop, epochs, repeats in configs:
            print(f"\n{label}pop = {pop}, iterations = {epochs}, repeats = {repeats}")
            print(hdr)
            print("-" * len(hdr))
            for name in fo.OPTIMIZERS:
                if a.algos and name not in a.algos:
                    continue
                hyper, factory, _ = pairs.get(name, ({}, None, ""))
                for fname, (vec, scalar, lo, hi) in fset.items():
                    dim = len(lo)
                    fac, mealpy_note = factory, ("no mealpy counterpart" if factory is None else None)
                    try:  # untimed run of seed 0 on both sides (counts), which also probes mealpy
                        ev = count_evals(name, vec, scalar, fac, lo, hi, pop, epochs, hyper)
                    except (ValueError, IndexError) as e:  # mealpy's AOA refuses pop_size < 10, its GA fails at 5
                        fac = None
                        mealpy_note = f"mealpy fails at this configuration: {type(e).__name__}: {e}"
                        if name == "ga" and isinstance(e, IndexError):
                            mealpy_note += " (GA.survivor_process__: k-way tournament of int(0.1 N) = 0 agents)"
                        ev = count_evals(name, vec, scalar, None, lo, hi, pop, epochs, hyper)
                    wall, cpu = measure(name, vec, scalar, fac, lo, hi, pop, epochs, seeds, repeats, hyper)
                    ev_c, ev_f = ev["corrected"][0], ev["faithful"][0]
                    ev_m = ev["mealpy"][0] if "mealpy" in ev else None
                    cnt_m = ev["mealpy"][1] if "mealpy" in ev else None
                    t_c, t_f, t_m = cpu["corrected"], cpu["faithful"], cpu.get("mealpy")
                    sp = None if t_m is None else t_m / t_c
                    spf = None if t_m is None else t_m / t_f
                    spw = None if t_m is None else wall["mealpy"] / wall["corrected"]
                    row = dict(algo=name, fitness=fname, dim=dim, pop=pop, iterations=epochs, seeds=a.seeds,
                               repeats=repeats,
                               evals_ours=ev_c, evals_ours_faithful=ev_f, evals_mealpy=ev_m,
                               evals_counted_ours=ev["corrected"][1], evals_counted_ours_faithful=ev["faithful"][1],
                               evals_counted_mealpy=cnt_m,
                               cpu_ours_s=t_c, cpu_ours_faithful_s=t_f, cpu_mealpy_s=t_m,
                               wall_ours_s=wall["corrected"], wall_ours_faithful_s=wall["faithful"],
                               wall_mealpy_s=wall.get("mealpy"),
                               speedup=sp, speedup_faithful=spf, speedup_wall=spw,
                               evals_per_s_ours=ev_c * a.seeds / t_c,
                               evals_per_s_mealpy=None if t_m is None else ev_m * a.seeds / t_m)
                    if mealpy_note:
                        row["mealpy_note"] = mealpy_note
                    if label == "iaoa " or a.batch_synthetic:
                        row.update(measure_batch(name, vec, scalar, fac, lo, hi, pop, epochs, a.runs,
                                                 a.batch_repeats, hyper))
                    rows.append(row)
                    evs = f"{ev_c}/{fmt(ev_m, 'd')}"
                    cnt = f"{ev['corrected'][1]}/{fmt(cnt_m, 'd')}"
                    print(f"{name:5} {fname:7} {evs:>17} {cnt:>11} {t_c:>9.4f} {t_f:>12.4f} {fmt(t_m, '.4f'):>10} "
                          f"{fmt(sp, '.1f'):>9} {fmt(spf, '.1f'):>17} {fmt(spw, '.1f'):>10}"
                          + (f"  ({mealpy_note})" if mealpy_note and factory is not None else ""),
                          flush=True)
                    if "runs" in row:
                        print(f"      {row['runs']} runs batched: ours {row['cpu_ours_batch_s']:.4f} s "
                              f"({'run_batch' if row['batched'] else 'sequential fallback'}, equals single runs: "
                              f"{row['batch_equals_single']}), mealpy {fmt(row['cpu_mealpy_runs_s'], '.4f')} s, "
                              f"speed-up {fmt(row['speedup_batch'], '.1f')}x (wall "
                              f"{fmt(row['speedup_batch_wall'], '.1f')}x)", flush=True)
    sps = [r["speedup"] for r in rows if r["speedup"] is not None]
    summary = {}
    print()
    for label, fset, configs in groups:
        for pop, epochs, _ in configs:
            sel = [r for r in rows if r["speedup"] is not None and r["pop"] == pop and r["iterations"] == epochs
                   and r["fitness"] in fset]
            if not sel:
                continue
            v = [r["speedup"] for r in sel]
            key = f"{label}{pop}x{epochs}"
            summary[key] = dict(min=min(v), median=float(np.median(v)), n=len(v),
                                below_20x=[f"{r['algo']}/{r['fitness']}" for r in sel if r["speedup"] < 20])
            print(f"{label}pop {pop} x {epochs} iterations: speed-up (CPU, corrected vs mealpy) min {min(v):.1f}x, "
                  f"median {np.median(v):.1f}x over {len(v)} cases; below 20x: {summary[key]['below_20x']}")
            bsel = [r for r in sel if r.get("speedup_batch") is not None]
            if bsel:
                v = [r["speedup_batch"] for r in bsel]
                summary[f"batch {key}"] = dict(min=min(v), median=float(np.median(v)), n=len(v),
                                               runs=bsel[0]["runs"],
                                               below_20x=[f"{r['algo']}/{r['fitness']}" for r in bsel
                                                          if r["speedup_batch"] < 20])
                print(f"{label}pop {pop} x {epochs} iterations, {bsel[0]['runs']} runs batched: speed-up (CPU) min "
                      f"{min(v):.1f}x, median {np.median(v):.1f}x over {len(v)} cases; below 20x: "
                      f"{summary[f'batch {key}']['below_20x']}")
    out = dict(benchmark="bench_optim", mealpy_version=getattr(mealpy, "__version__", "?"), numpy=np.__version__,
               python=sys.version.split()[0], machine=platform.platform(), processor=platform.processor(),
               cpu_count=os.cpu_count(), blas_threads=1, device="CPU (no GPU)",
               openblas_coretype_env=os.environ.get("OPENBLAS_CORETYPE"), openblas_corename=openblas_corename(),
               timing="whole runs (init included), ours and mealpy interleaved per repeat; process CPU time "
                      "(time.process_time) and wall time (time.perf_counter), each the min over repeats per "
                      "seed, summed over seeds; speedup = mealpy CPU / ours CPU (robust on a shared machine), "
                      "speedup_wall from wall times; evals_counted_* = evaluations the fitness received in an "
                      "untimed run of seed 0",
               iaoa_fitness=iaoa_info,
               load_average_start=load0, load_average_end=os.getloadavg(),
               command="benchmarks/bench_optim.py " + " ".join(sys.argv[1:] if argv is None else argv),
               wall_time_s=time.perf_counter() - t0, cpu_time_s=time.process_time() - cpu_start, rows=rows, summary=summary,
               min_speedup=min(sps) if sps else None, median_speedup=float(np.median(sps)) if sps else None)
    write_json_atomic(a.out, out)
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
