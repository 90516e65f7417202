"""Speed of the whole IAOA paper experiment: 11 optimisers x 30 runs x 16 pairs (N = 5, T = 10).

Stages timed (wall clock, one process, the CPU shared with other users, hence the load average):

1. ``build``: the 16 adaptive models (MATLAB bicubic degradation, edges, the release's 150,000-step
   AIHS iteration, the quadratic fitness coefficients), batched.
2. ``optimise``: every run of every optimiser on every pair with ``fusionlib.optim`` (the released
   budgets: each algorithm's own evaluation count), MATLAB-order ``faithful`` mode by default.
3. ``score``: the six IAOA metrics of every final and iteration-2 best (closed form, no fused images).

Peers measured in the same run (the straightforward way, as the MATLAB code computes them):
the fitness by fusing the image and computing ERGAS (``AdaptiveModel.fitness_images``) against our
O(P) closed form, and the metrics on fused images (``metrics.pansharpening.iaoa_scores``) against the
closed-form scores; the ratios are reported, and the straightforward fitness's projected cost for the
whole experiment (evaluations x time per evaluation).

Usage::

    .venv/bin/python benchmarks/bench_iaoa_experiment.py               # the whole experiment
    .venv/bin/python benchmarks/bench_iaoa_experiment.py --runs 3      # quick
    .venv/bin/python benchmarks/bench_iaoa_experiment.py --mode corrected

Data: ``nbu_iaoa`` (16 pairs) when the data root is found, else the 6 embedded synthetic pairs
(said in the output). Writes ``benchmarks/results/bench_iaoa_experiment.json`` atomically.
"""
from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

import fusionlib as fl
from fusionlib.experiments import iaoa as E
from fusionlib.metrics.pansharpening import iaoa_scores
from fusionlib.utils import write_json_atomic

HERE = Path(__file__).resolve().parent


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--mode", default="faithful", choices=("faithful", "corrected"))
    ap.add_argument("--weights", default="fixed_point", choices=("fixed_point", "nnls"))
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (1: the shapes are small and 2 threads oversubscribe a shared CPU)")
    ap.add_argument("--score", default="none", choices=("all", "released", "final", "none"),
                    help="what run_experiment scores ('none': the released table scores on demand "
                         "only the candidates it needs)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--out", default=str(HERE / "results" / "bench_iaoa_experiment.json"))
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)

    root = fl.data.find_root(a.data_root)
    if root is not None and (root / "nbu_iaoa").is_dir():
        pairs, data, zero_sum = E.load_pairs("nbu_iaoa", root=root), "nbu_iaoa", "nan"
    else:
        pairs, data, zero_sum = E.load_pairs("embedded_pansharpening"), "embedded_pansharpening", "equal"

    cpu0 = time.process_time()
    t0 = time.perf_counter()
    problem = E.IAOAProblem(pairs, weights=a.weights, zero_sum=zero_sum)
    t_build = time.perf_counter() - t0

    t0 = time.perf_counter()
    df = E.run_experiment(problem, n_runs=a.runs, mode=a.mode, seed=a.seed, score=a.score)
    t_table = time.perf_counter()
    table = E.released_table(df, seed=a.seed, problem=problem)
    t_table = time.perf_counter() - t_table
    cpu_total = time.process_time() - cpu0
    t_total_runs = time.perf_counter() - t0
    t_opt = float(df["wall_time"].sum())
    t_score = t_total_runs - t_opt  # scoring + bookkeeping inside run_experiment
    n_evals = int(df["n_evals"].sum())

    # peers: the straightforward image-based fitness and metrics, on pair 0
    m, j = problem.model(0)
    rng = np.random.default_rng(a.seed)
    X = rng.uniform(-50, 50, (64, problem.dim))
    fit = m.fitness_numpy(j)
    reps = 200
    t0 = time.perf_counter()
    for _ in range(reps):
        fit(X[:5])
    t_fast = (time.perf_counter() - t0) / (reps * 5)
    t0 = time.perf_counter()
    for k in range(8):
        m.fitness_images(X[k:k + 1], j)
    t_img = (time.perf_counter() - t0) / 8
    terms = m.score_terms(np.stack([p.ms for p in pairs]))
    t0 = time.perf_counter()
    m.scores(X, terms, j)
    m.scores(X, terms, j)
    t0 = time.perf_counter()
    m.scores(X, terms, j)
    t_sc_fast = (time.perf_counter() - t0) / len(X)
    ref = torch.as_tensor(pairs[0].ms, dtype=torch.float64)[None]
    t0 = time.perf_counter()
    for k in range(4):
        iaoa_scores(m.fuse(X[k:k + 1], j), ref)
    t_sc_img = (time.perf_counter() - t0) / 4

    per_opt = df.groupby("optimizer", sort=False).agg(runs=("run", "size"), evals=("n_evals", "sum"),
                                                      seconds=("wall_time", "sum"))
    rows = [(o, int(r.runs), int(r.evals), float(r.seconds), 1e3 * float(r.seconds) / r.runs)
            for o, r in per_opt.iterrows()]
    total = t_build + t_total_runs + t_table
    print(f"IAOA experiment on {data}: {len(pairs)} pairs x {df.optimizer.nunique()} optimisers x {a.runs} runs "
          f"(N = 5, T = 10, mode {a.mode}), {platform.processor() or platform.machine()}, "
          f"{a.threads} threads, load {os.getloadavg()[0]:.1f}")
    print(f"{'optimizer':<10}{'runs':>6}{'evals':>10}{'seconds':>10}{'ms/run':>9}")
    for o, r, e, s, ms in rows:
        print(f"{o:<10}{r:>6}{e:>10}{s:>10.2f}{ms:>9.2f}")
    print(f"{'build models':<26}{t_build:>10.2f} s")
    print(f"{'optimise (sum of runs)':<26}{t_opt:>10.2f} s   ({n_evals} evaluations)")
    print(f"{'score + bookkeeping':<26}{t_score:>10.2f} s   (score={a.score})")
    print(f"{'released table':<26}{t_table:>10.2f} s   (IAOA rows: mean wins "
          f"{table[table.optimizer == 'iaoa']['wins'].mean():.1f})")
    print(f"{'TOTAL':<26}{total:>10.2f} s   (target 60 s; process CPU time {cpu_total:.2f} s)")
    print(f"fitness per evaluation: closed form {t_fast * 1e6:.2f} us, image-based peer {t_img * 1e3:.2f} ms "
          f"-> ratio {t_img / t_fast:.0f}x; peer projected for the {n_evals} evaluations: {n_evals * t_img:.0f} s")
    print(f"metrics per candidate: closed form {t_sc_fast * 1e3:.2f} ms, fused-image peer {t_sc_img * 1e3:.2f} ms "
          f"-> ratio {t_sc_img / t_sc_fast:.1f}x")
    result = dict(data=data, n_pairs=len(pairs), n_runs=a.runs, mode=a.mode, weights=a.weights,
                  threads=a.threads, load_avg=os.getloadavg()[0], machine=platform.machine(),
                  torch=torch.__version__, seconds=dict(build=t_build, optimise=t_opt, score=t_score, table=t_table,
                                                     total=total, cpu_total=cpu_total), score=a.score,
                  n_evals=n_evals, per_optimizer=[dict(optimizer=o, runs=r, evals=e, seconds=s, ms_per_run=ms)
                                                  for o, r, e, s, ms in rows],
                  fitness_us=dict(closed_form=t_fast * 1e6, image_peer=t_img * 1e6, ratio=t_img / t_fast,
                                  image_peer_projected_s=n_evals * t_img),
                  scores_ms=dict(closed_form=t_sc_fast * 1e3, image_peer=t_sc_img * 1e3,
                                 ratio=t_sc_img / t_sc_fast),
                  within_target=total <= 60.0)
    write_json_atomic(a.out, result)
    return result


if __name__ == "__main__":
    main()
