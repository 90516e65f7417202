"""Cross-check fusionlib.optim against mealpy 3.0.x: same algorithm, same budget, many seeds.

For every algorithm that mealpy also implements (all but AHA and IAOA), and every test function
(sphere, Rastrigin, Ackley) and dimension, both libraries run ``--seeds`` independent runs with the
same population, the same number of iterations and hyperparameters set to the same values (ours in
``corrected`` mode; DE also in ``faithful`` mode, rows ``de/f``); the
final best values are compared with a two-sided Mann-Whitney U test. mealpy's numbers of
evaluations are read from its counter and reported beside ours.

A difference is expected where mealpy implements a different variant; ``VARIANTS`` lists what we
found in mealpy's source (``mealpy/*/<ALGO>.py``), so the table can be read against it.

Usage::

    .venv/bin/python benchmarks/crosscheck_mealpy.py                 # D = 10, 30; 10 seeds
    .venv/bin/python benchmarks/crosscheck_mealpy.py --quick         # D = 10; 5 seeds

Writes ``benchmarks/results/crosscheck_mealpy.json`` (atomically).
"""
from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import mannwhitneyu

import fusionlib.optim as fo
from fusionlib.optim.functions import ackley, rastrigin, sphere
from fusionlib.utils import write_json_atomic

FUNCTIONS = {"sphere": (sphere, 100.0), "rastrigin": (rastrigin, 5.12), "ackley": (ackley, 32.768),
             "sphere_shifted": (None, 100.0)}


def shifted_sphere(D: int):
    """Sphere with its optimum moved to c_j = 37.5 (2j/(D-1) - 1) + 12.5 (off the origin, inside the box):
    several algorithms (AOA, WOA, GWO) are attracted to the origin, where the other three have their
    optimum."""
    c = 37.5 * np.linspace(-1.0, 1.0, D) + 12.5

    def f(X):
        Z = X - c
        return np.einsum("ij,ij->i", Z, Z)
    f.__name__ = "sphere_shifted"
    return f
# PSO: mealpy's OriginalPSO is an inertia PSO; give both the constriction coefficients
_W, _C = 0.7298437881283576, 1.4961797656631332

#: (our hyperparameters, mealpy factory(epoch, pop), variant differences found in mealpy's source)
def _pairs():
    from mealpy import ACOR, AO, AOA, DE, EO, GA, GWO, PSO, WOA
    return {
        "pso": (dict(w=_W, c1=_C, c2=_C),
                lambda E, P: PSO.OriginalPSO(epoch=E, pop_size=P, c1=_C, c2=_C, w=_W),
                "mealpy: random initial velocity, |v| <= 0.5 (ub - lb) (ours 0.1), no velocity mirroring, "
                "out-of-box coordinates redrawn uniformly (ours clipped), and a particle moves only when the "
                "new position is better (greedy), which is not PSO's rule"),
        "acor": (dict(),
                 lambda E, P: ACOR.OriginalACOR(epoch=E, pop_size=P, sample_count=P, intent_factor=0.5, zeta=1.0),
                 "mealpy passes the kernel probabilities to get_index_roulette_wheel_selection, which for "
                 "minimisation uses max(p) - p: the best archive member gets probability 0 and the worst the most"),
        "de": (dict(f_min=0.5, f_max=0.5, cr=0.9),
               lambda E, P: DE.OriginalDE(epoch=E, pop_size=P, wf=0.5, cr=0.9, strategy=0),
               "mealpy: no forced crossover dimension j0, the trial (not the mutant) is clipped, and the "
               "replacement is in place (later individuals see it), as in our faithful mode (rows de/f)"),
        "ga": (dict(),
               lambda E, P: GA.BaseGA(epoch=E, pop_size=P, pc=0.8, pm=0.8, selection="roulette",
                                      crossover="uniform", mutation="flip"),
               "different operators: mealpy uniform crossover of two children per pair, flip mutation "
               "per gene, and survivors chosen from parents and children; ours GA.m's one-gene crossover, "
               "one-gene reset mutation and generational replacement"),
        "gwo": (dict(),
                lambda E, P: GWO.OriginalGWO(epoch=E, pop_size=P),
                "mealpy: leaders = the 3 best of the current population, greedy replacement of each wolf, "
                "a indexed from epoch 1 (ours: 0); ours: leaders = best 3 ever, wolves always move"),
        "woa": (dict(),
                lambda E, P: WOA.OriginalWOA(epoch=E, pop_size=P),
                "mealpy: l ~ U(-1, 1) (ours (a2 - 1) r + 1 with a2: -1 -> -2), C uses the same r as A, the "
                "random whale is a fresh uniform point (ours a population member per dimension), greedy "
                "replacement"),
        "eo": (dict(),
               lambda E, P: EO.OriginalEO(epoch=E, pop_size=P),
               "mealpy: pool from the current (greedy) population and the pool mean is evaluated (one extra "
               "evaluation per epoch); t indexed from epoch 1"),
        "ao": (dict(),
               lambda E, P: AO.OriginalAO(epoch=E, pop_size=P),
               "mealpy: X_M in Eqs. 3 and 13 is the mean *fitness* (a scalar) instead of the mean position, "
               "u = 0.00565 (paper 0.0265), G1/G2 swapped in Eq. 14, Eq. 13 multiplies the random term "
               "differently, the random member excludes i"),
        "aoa": (dict(mu=0.499),
                lambda E, P: AOA.OriginalAOA(epoch=E, pop_size=P, alpha=5, miu=0.499, moa_min=0.2, moa_max=0.9),
                "mealpy: MOP indexed at epoch + 1 (one step ahead of AOA.m; negative in the last epoch), "
                "division branch on r2 < 0.5 (AOA.m r2 > 0.5, same distribution), best updated per epoch"),
    }


def run_mealpy(factory, fun, lo, hi, epochs, pop, seed):
    from mealpy import FloatVar
    model = factory(epochs, pop)
    problem = {"obj_func": lambda x: float(fun(np.asarray(x, dtype=np.float64)[None])[0]),
               "bounds": FloatVar(lb=lo.tolist(), ub=hi.tolist()), "minmax": "min", "log_to": None}
    g = model.solve(problem, seed=seed)
    return float(g.target.fitness), int(model.nfe_counter)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--dims", type=int, nargs="+", default=[10, 30])
    ap.add_argument("--pop", type=int, default=30)
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--algos", nargs="+", default=None)
    ap.add_argument("--functions", nargs="+", default=list(FUNCTIONS), choices=list(FUNCTIONS))
    ap.add_argument("--faithful-too", nargs="*", default=["de"],
                    help="algorithms also run in faithful mode (DE: in-place replacement, as mealpy's 'single' mode)")
    ap.add_argument("--alpha", type=float, default=0.01, help="significance level of the Mann-Whitney test")
    ap.add_argument("--quick", action="store_true", help="D = 10, 5 seeds")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "crosscheck_mealpy.json"))
    a = ap.parse_args(argv)
    if a.quick:
        a.dims, a.seeds = [10], 5
    import mealpy
    pairs = _pairs()
    algos = a.algos or list(pairs)
    rows = []
    hdr = f"{'algo':6} {'function':14} {'D':>3} {'evals ours/mealpy':>17} {'median ours':>12} {'median mealpy':>13} {'p (MWU)':>9}  verdict"
    print(hdr)
    print("-" * len(hdr))
    t0 = time.perf_counter()
    for name in algos:
        hyper, factory, variant = pairs[name]
        for fname in a.functions:
            fun, bound = FUNCTIONS[fname]
            for D in a.dims:
                if fun is None or fname == "sphere_shifted":
                    fun = shifted_sphere(D)
                lo, hi = np.full(D, -bound), np.full(D, bound)
                theirs, ev_m = [], []
                for s in range(a.seeds):
                    fm, nm = run_mealpy(factory, fun, lo, hi, a.epochs, a.pop, 1000 + s)
                    theirs.append(fm)
                    ev_m.append(nm)
                theirs = np.array(theirs)
                for mode in ["corrected"] + (["faithful"] if name in a.faithful_too else []):
                    ours, ev_o = [], []
                    for s in range(a.seeds):
                        r = fo.minimize(name, fun, lo, hi, a.pop, a.epochs, seed=1000 + s, mode=mode, **hyper)
                        ours.append(r.best_f)
                        ev_o.append(r.n_evals)
                    ours = np.array(ours)
                    if np.all(ours == theirs[0]) and np.all(theirs == theirs[0]):
                        p = 1.0
                    else:
                        p = float(mannwhitneyu(ours, theirs, alternative="two-sided").pvalue)
                    mo, mm = float(np.median(ours)), float(np.median(theirs))
                    verdict = "same" if p >= a.alpha else ("ours better" if mo < mm else "mealpy better")
                    row = dict(algo=name, mode=mode, function=fname, dim=D, pop=a.pop, epochs=a.epochs,
                               seeds=a.seeds, evals_ours=int(np.median(ev_o)), evals_mealpy=int(np.median(ev_m)),
                               median_ours=mo, median_mealpy=mm, iqr_ours=np.percentile(ours, [25, 75]).tolist(),
                               iqr_mealpy=np.percentile(theirs, [25, 75]).tolist(), p_mannwhitney=p,
                               verdict=verdict, ours=ours.tolist(), mealpy=theirs.tolist(), mealpy_variant=variant)
                    rows.append(row)
                    label = name if mode == "corrected" else name + "/f"
                    print(f"{label:6} {fname:14} {D:>3} {row['evals_ours']:>8}/{row['evals_mealpy']:<8} {mo:>12.4g} "
                          f"{mm:>13.4g} {p:>9.2g}  {verdict}", flush=True)
    print()
    for name in algos:
        print(f"{name}: {pairs[name][2]}")
    out = dict(benchmark="crosscheck_mealpy", mealpy_version=getattr(mealpy, "__version__", "?"),
               numpy=np.__version__, python=sys.version.split()[0], machine=platform.platform(),
               processor=platform.processor(), alpha=a.alpha,
               note="final best values of independent runs, same population and iterations; two-sided "
                    "Mann-Whitney U; 'same' = not significantly different at alpha",
               wall_time_s=time.perf_counter() - t0, rows=rows)
    write_json_atomic(a.out, out)
    print(f"\nwrote {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
