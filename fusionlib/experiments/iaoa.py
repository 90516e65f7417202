"""The IAOA experiment: optimisers of ``fusionlib.optim`` on the adaptive pansharpening model.

For each image pair, each optimiser and each run: minimise the ERGAS fitness of
:class:`fusionlib.pansharpening.AdaptiveModel` with :func:`fusionlib.optim.minimize`, record the
best, the best at iteration ``max(1, T // 5)`` (the release's ``subPosition``), the convergence
curve and the time, then score both with the six IAOA indices against the reference MS and measure
the gap to the closed-form optimum.

Two protocols (``shared/notes/iaoa.md`` §6 and §8):

* ``"released"``: the released scripts' budgets (N = 5, T = 10, each algorithm's own evaluation count)
  and their table construction (:func:`released_table`): IAOA's row is chosen among its 30 final
  and 30 iteration-2 bests by pairwise wins **on the test metrics**, the other algorithms contribute
  one iteration-2 best of one random run. A labelled replication, not a fair comparison.
* ``"fair"``: the same evaluation budget ``max_evals`` for every algorithm, the final solution of
  every run reported, no selection.

Results are a tidy :class:`pandas.DataFrame` (one row per run), cached per (pair, optimiser) under a
content-addressed key (data hash + configuration + library version), written atomically, so an
interrupted experiment resumes where it stopped.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from .._checks import ShapeError, check_choice, check_int
from ..parallel import using
from ..pansharpening.adaptive import AdaptiveModel, ScoreTerms, adaptive_model
from ..utils import CacheEntryError, discard_corrupt, load_records_npz, save_records_npz
from .stats import claim_verdict, friedman_ranks, holm

__all__ = ["PAPER_OPTIMIZERS", "METRIC_NAMES", "HIGHER_IS_BETTER", "IAOAPair", "IAOAProblem", "RunConfig",
           "load_pairs", "build_problem", "run_experiment", "released_table", "win_counts",
           "summarize", "gap_summary", "wilcoxon_holm", "friedman_nemenyi", "anova_by_pair", "mannwhitney_by_pair",
           "context_rows", "run_seed", "STANDARD_METHODS", "RR_METRICS", "FR_METRICS", "ASSESSMENTS",
           "protocol_comparison", "SCENES", "SMOKE_STANDINS", "load_scene", "paper_table1", "paper_table2",
           "paper_table3", "PAPER_TEXT_CLAIMS", "paper_layout", "iaoa_ranks", "compare_with_paper", "metric_ranks",
           "run_claims", "spread_claims", "pooled_claim", "verdict_summary", "stable_table"]

#: The eleven algorithms of the paper, in its table order.
PAPER_OPTIMIZERS = ("pso", "acor", "ga", "de", "gwo", "woa", "eo", "aha", "ao", "aoa", "iaoa")
METRIC_NAMES = ("CC", "RMSE", "ERGAS", "UIQI", "SAM", "RASE")
HIGHER_IS_BETTER = {"CC": True, "RMSE": False, "ERGAS": False, "UIQI": True, "SAM": False, "RASE": False}


@dataclass(frozen=True)
class IAOAPair:
    """One image pair in DN: ``ms`` (C, H, W) float64 (also the reference), ``pan`` (1, H, W)."""

    id: str
    ms: np.ndarray
    pan: np.ndarray
    meta: dict = field(default_factory=dict)

    def digest(self) -> str:
        h = hashlib.sha256()
        for a in (self.ms, self.pan):
            a = np.ascontiguousarray(a, dtype=np.float64)
            h.update(str(a.shape).encode())
            h.update(a.tobytes())
        return h.hexdigest()[:16]


def load_pairs(name: str = "nbu_iaoa", root: Any = None, ids: Sequence[str] | None = None,
               scene: str | None = None) -> list[IAOAPair]:
    """Pairs of a pansharpening data set in 8-bit DN (float64).

    ``nbu_iaoa``: the raw uint8 MS (the reference) and PAN. ``embedded_pansharpening``: the
    synthetic reference (x255) as MS and its PAN (x255), so the IAOA protocol applies unchanged.
    ``scene`` filters on ``meta['scene']`` (case-insensitive prefix, e.g. 'urban', 'water').
    """
    from .. import data as fldata
    ds = fldata.load(name, root=root)
    out = []
    for i, pid in enumerate(ds.ids):
        if ids is not None and pid not in ids:
            continue
        if name == "nbu_iaoa":
            s = ds.get(i, dtype="uint8")
            ms = np.asarray(s.ms, dtype=np.float64)
            pan = np.asarray(s.pan, dtype=np.float64)
        else:
            s = ds[i]
            if s.reference is None:
                raise ValueError(f"load_pairs: data set {name!r} has no reference for pair {pid!r}")
            ms = np.asarray(s.reference, dtype=np.float64) * 255.0
            pan = np.asarray(s.pan, dtype=np.float64) * 255.0
        meta = {k: v for k, v in s.meta.items() if isinstance(v, (str, int, float))}
        if scene is not None and not str(meta.get("scene", "")).lower().startswith(scene.lower()):
            continue
        out.append(IAOAPair(pid, ms, pan, meta))
    if not out:
        raise ValueError(f"load_pairs: no pair of {name!r} matches ids={ids} scene={scene!r}")
    return out


class IAOAProblem:
    """The IAOA problem of one or more pairs: bounds, a population fitness, the optimum, the scores.

    ``fitness(i)`` returns a NumPy ``(P, 4) -> (P,)`` callable for pair ``i`` that refuses
    non-finite values with a clear error (a NaN fitness would silently corrupt every optimiser).
    """

    def __init__(self, pairs: Sequence[IAOAPair], *, weights: str = "fixed_point", ratio: int = 4,
                 zero_sum: str = "nan", device: Any = None):
        if not pairs:
            raise ValueError("IAOAProblem: `pairs` is empty")
        bands = {p.ms.shape[0] for p in pairs}
        if len(bands) != 1:
            raise ShapeError(f"IAOAProblem: every pair must have the same band count; got {sorted(bands)}")
        sizes = {p.ms.shape for p in pairs}
        self.pairs = list(pairs)
        self._options = dict(weights=weights, ratio=ratio, zero_sum=zero_sum, device=device)
        self.ids = [p.id for p in pairs]
        if len(sizes) == 1:
            self.models = [adaptive_model(np.stack([p.ms for p in pairs]), np.stack([p.pan for p in pairs]),
                                          ratio=ratio, weights=weights, zero_sum=zero_sum, device=device)]
            self._where = [(0, i) for i in range(len(pairs))]
        else:
            self.models = [adaptive_model(p.ms, p.pan, ratio=ratio, weights=weights, zero_sum=zero_sum,
                                          device=device)
                           for p in pairs]
            self._where = [(i, 0) for i in range(len(pairs))]
        self._terms: dict[int, ScoreTerms] = {}
        self.dim = pairs[0].ms.shape[0]
        m0 = self.models[0]
        self.lower = np.full(self.dim, m0.lower)
        self.upper = np.full(self.dim, m0.upper)

    #: attributes that :meth:`__init__` derives from the pairs and options (not pickled)
    _DERIVED = frozenset({"pairs", "_options", "ids", "models", "_where", "_terms", "dim", "lower", "upper"})

    def __reduce__(self):
        """Pickled as its class, pairs and options, plus any other attribute (a Dask scatter ships the
        images, not the models' derived tensors: 6 embedded pairs pickle to 16 MB instead of 127 MB);
        the receiving process rebuilds the models with the same code and inputs, so every fitness and
        score is the same bits. A subclass keeps its class and its own attributes."""
        extra = {k: v for k, v in self.__dict__.items() if k not in self._DERIVED}
        return _rebuild_problem, (type(self), self.pairs, self._options), (extra or None)

    def model(self, i: int) -> tuple[AdaptiveModel, int]:
        mi, j = self._where[i]
        return self.models[mi], j

    def fitness(self, i: int) -> Callable[[np.ndarray], np.ndarray]:
        m, j = self.model(i)
        raw = m.fitness_numpy(j)
        pid = self.ids[i]

        def fit(X):
            f = raw(X)
            if not np.all(np.isfinite(f)):
                bad = int((~np.isfinite(f)).sum())
                raise ValueError(f"IAOAProblem: fitness of pair {pid!r} returned {bad} non-finite values "
                                 f"(NaN/Inf); check the spectral weights (sum of bands = 0?)")
            return f
        return fit

    def optimum(self, i: int, bounded: bool = True) -> tuple[np.ndarray, float]:
        m, j = self.model(i)
        x, f = m.optimum(bounded)
        return x[j].numpy(), float(f[j])

    def scores(self, i: int, X: np.ndarray, bands: tuple[int, ...] | None = None) -> dict[str, np.ndarray]:
        """The six IAOA indices of the fused images of decision vectors X (P, 4) of pair i
        (restricted to ``bands`` when given)."""
        m, j = self.model(i)
        key = self._where[i][0]
        if key not in self._terms:
            self._terms[key] = m.score_terms(np.stack([self.pairs[k].ms for k in range(len(self.pairs))
                                                       if self._where[k][0] == key]))
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        s = m.scores(X, self._terms[key], j, bands=bands)
        return {k: v.numpy() for k, v in s.items()}


def _rebuild_problem(cls: type, pairs: Sequence[IAOAPair], options: dict) -> IAOAProblem:
    obj = cls.__new__(cls)
    IAOAProblem.__init__(obj, pairs, **options)
    return obj


def build_problem(pairs: Sequence[IAOAPair], **kw) -> IAOAProblem:
    """Shortcut for :class:`IAOAProblem`."""
    return IAOAProblem(pairs, **kw)


@dataclass(frozen=True)
class RunConfig:
    """One experiment configuration (what the cache key hashes)."""

    optimizers: tuple[str, ...] = PAPER_OPTIMIZERS
    n_runs: int = 30
    pop_size: int = 5
    n_iter: int | None = 10
    max_evals: int | None = None
    protocol: str = "released"
    mode: str = "faithful"
    seed: int = 0
    weights: str = "fixed_point"
    zero_sum: str = "nan"
    score: str = "all"
    rgb_metrics: bool = False

    def validate(self) -> "RunConfig":
        where = "RunConfig"
        from .. import optim
        check_choice(where, "protocol", self.protocol, ("released", "fair"))
        check_choice(where, "mode", self.mode, ("faithful", "corrected"))
        check_choice(where, "score", self.score, ("all", "released", "final", "none"))
        check_int(where, "n_runs", self.n_runs, minimum=1)
        check_int(where, "pop_size", self.pop_size, minimum=2)
        check_int(where, "seed", self.seed, minimum=0)
        for o in self.optimizers:
            optim.OPTIMIZERS[o]  # KeyError listing valid keys
        if self.protocol == "fair" and self.max_evals is None:
            raise ValueError(f"{where}: the 'fair' protocol needs an equal evaluation budget `max_evals`")
        if self.max_evals is not None:
            check_int(where, "max_evals", self.max_evals, minimum=1)
            if self.max_evals < self.pop_size:
                raise ValueError(f"{where}: `max_evals` ({self.max_evals}) must be >= `pop_size` "
                                 f"({self.pop_size}): the initial population alone needs {self.pop_size}")
        if self.n_iter is None and self.max_evals is None:
            raise ValueError(f"{where}: give `n_iter`, `max_evals` or both")
        if self.n_iter is not None:
            check_int(where, "n_iter", self.n_iter, minimum=1)
        return self


def run_seed(seed: int, pair_id: str, optimizer: str, run: int) -> int:
    """A stable per-run seed from the one experiment seed (independent of loop order)."""
    ss = np.random.SeedSequence(entropy=seed, spawn_key=(zlib.crc32(pair_id.encode()),
                                                         zlib.crc32(optimizer.encode()), run))
    return int(ss.generate_state(1, dtype=np.uint32)[0])


def _cache_file(cache_dir: Path, pair: IAOAPair, optimizer: str, cfg: RunConfig) -> Path:
    try:
        from importlib.metadata import version
        lib_version = version("fusionbook-lib")
    except Exception:  # pragma: no cover - not installed as a distribution
        lib_version = "unknown"
    d = asdict(cfg)
    d["optimizers"] = optimizer
    blob = json.dumps({"data": pair.digest(), "cfg": d, "version": lib_version, "schema": 2}, sort_keys=True)
    key = hashlib.sha256(blob.encode()).hexdigest()[:24]
    return cache_dir / f"{pair.id}__{optimizer}__{key}.npz"


#: Array columns of a result row (the rest are scalars).
_ARRAY_COLUMNS = ("x", "sub_x", "curve")


def _read_cached(path: Path, pid: str, optimizer: str, cfg: RunConfig) -> list[dict]:
    """The rows cached in ``path`` (``.npz``, never unpickled), checked against what they must hold;
    :class:`fusionlib.utils.CacheEntryError` naming the file otherwise."""
    rows = load_records_npz(path)
    if len(rows) != cfg.n_runs:
        raise CacheEntryError(f"{path}: holds {len(rows)} runs; expected {cfg.n_runs}")
    for r, row in enumerate(rows):
        if row.get("pair") != pid or row.get("optimizer") != optimizer or row.get("run") != r:
            raise CacheEntryError(f"{path}: record {r} is not run {r} of {pid}/{optimizer}")
        for k in _ARRAY_COLUMNS:
            if not isinstance(row.get(k), np.ndarray):
                raise CacheEntryError(f"{path}: record {r} lacks the array `{k}`")
        if not isinstance(row.get("best_f"), float) or not np.isfinite(row["best_f"]):
            raise CacheEntryError(f"{path}: record {r} has no finite `best_f`")
    return rows


def _run_one(problem: IAOAProblem, i: int, optimizer: str, cfg: RunConfig) -> list[dict]:
    from .. import optim
    fit = problem.fitness(i)
    x_opt, f_opt = problem.optimum(i)
    _, f_free = problem.optimum(i, bounded=False)
    pid = problem.ids[i]
    rows = []
    sub_it = max(1, (cfg.n_iter or 10) // 5)
    seeds = [run_seed(cfg.seed, pid, optimizer, r) for r in range(cfg.n_runs)]
    opt = optim.OPTIMIZERS[optimizer].cls(pop_size=cfg.pop_size, mode=cfg.mode)
    if optim.supports_batch(opt):
        # all runs in lockstep, one fitness call per generation of all runs; run r is bit-identical to
        # optim.run(..., seed=seeds[r]) (fusionlib.optim.run_batch)
        snap: dict = {}

        def cb_batch(state):
            if state.iteration == sub_it:
                snap["x"], snap["f"] = np.array(state.best_x, dtype=np.float64), np.array(state.best_f)
            return None
        results = optim.run_batch(optim.Problem(fit, problem.lower, problem.upper), opt, seeds,
                                  n_iter=cfg.n_iter, max_evals=cfg.max_evals, callback=cb_batch)
        subs = [dict(x=snap["x"][r], f=float(snap["f"][r])) if snap else {} for r in range(cfg.n_runs)]
        walls = [res.wall_time for res in results]
    else:
        results, subs, walls = [], [], []
        for s in seeds:
            sub: dict = {}

            def cb(state, sub=sub):
                if state.iteration == sub_it:
                    sub["x"], sub["f"] = np.array(state.best_x, dtype=np.float64), float(state.best_f)
                return None
            t0 = time.perf_counter()
            results.append(optim.run(optim.Problem(fit, problem.lower, problem.upper), opt, n_iter=cfg.n_iter,
                                     max_evals=cfg.max_evals, seed=s, callback=cb))
            walls.append(time.perf_counter() - t0)
            subs.append(sub)
    for r, (s, res, sub, wall) in enumerate(zip(seeds, results, subs, walls)):
        if "x" not in sub:  # fewer iterations than sub_it
            sub["x"], sub["f"] = np.array(res.best_x, dtype=np.float64), float(res.best_f)
        bx = np.asarray(res.best_x, dtype=np.float64)
        rows.append(dict(pair=pid, optimizer=optimizer, run=r, seed=s, best_f=float(res.best_f),
                         x=bx, sub_f=sub["f"], sub_x=sub["x"], opt_f=f_opt,
                         gap=float(res.best_f) - f_opt, rel_gap=(float(res.best_f) - f_opt) / f_opt,
                         opt_free_f=f_free,
                         out_of_box=bool(np.any(bx < problem.lower) or np.any(bx > problem.upper)),
                         n_evals=int(res.n_evals), n_iter=int(res.n_iter), wall_time=wall,
                         curve=np.asarray(res.history.best_per_eval, dtype=np.float64)))
    want_final = cfg.score == "all" or cfg.score == "final" or (cfg.score == "released" and optimizer == "iaoa")
    want_sub = cfg.score == "all" or cfg.score == "released"
    X = [r_["x"] for r_ in rows] * want_final + [r_["sub_x"] for r_ in rows] * want_sub
    sc = problem.scores(i, np.stack(X)) if X else {}
    n = len(rows) if want_final else 0
    for j, r_ in enumerate(rows):
        for k in METRIC_NAMES:
            r_[k] = float(sc[k][j]) if want_final else np.nan
            r_[f"sub_{k}"] = float(sc[k][n + j]) if want_sub else np.nan
    if cfg.rgb_metrics and want_final:
        rgb = problem.scores(i, np.stack([r_["x"] for r_ in rows]), bands=(0, 1, 2))
        for j, r_ in enumerate(rows):
            for k in METRIC_NAMES:
                r_[f"{k}_rgb"] = float(rgb[k][j])
    return rows


def _iaoa_task(job: tuple[int, str], problem: IAOAProblem, cfg: RunConfig) -> list[dict]:
    """One (pair, optimiser) task of :func:`run_experiment`: every run, pure (no file written)."""
    i, o = job
    return _run_one(problem, i, o, cfg)


def run_experiment(pairs: Sequence[IAOAPair] | IAOAProblem, config: RunConfig | None = None, *,
                   cache_dir: str | os.PathLike | None = None, progress: bool = False,
                   executor: Any = None, **overrides):
    """Run the IAOA experiment and return a tidy DataFrame (one row per pair x optimiser x run).

    Parameters
    ----------
    pairs : sequence of IAOAPair, or an IAOAProblem (to reuse its precomputed models)
    config : RunConfig, optional
        Defaults to the paper's released settings (11 optimisers, 30 runs, N = 5, T = 10, faithful
        mode); keyword ``overrides`` replace fields (``n_runs=3``, ``protocol='fair'``, ...).
        ``score`` chooses what is scored with the six metrics: ``'all'`` (final and iteration-2 bests
        of every run), ``'released'`` (only what :func:`released_table` needs: IAOA's final and
        iteration-2 bests, the others' iteration-2 bests), ``'final'``, or ``'none'`` (NaN columns).
        ``rgb_metrics=True`` adds ``CC_rgb`` ... ``RASE_rgb``: the final bests scored on bands 1-3.
    cache_dir : path, optional
        Where per-(pair, optimiser) results are cached (content-addressed ``.npz``, atomic, read
        without pickle so a planted file cannot run code); reruns with the same data and
        configuration load them instead of recomputing. A damaged or foreign entry is recomputed
        with a ``RuntimeWarning`` naming the file.
    executor : :class:`fusionlib.parallel.Executor` or str, optional
        Where the (pair, optimiser) tasks not in the cache run (:func:`fusionlib.parallel.executor_from`:
        None reads ``FUSIONLIB_SCHEDULER``, in this process when unset; ``"local:N"``; an address). Each
        task is a pure function of the problem, the pair, the optimiser and the configuration, so any
        executor gives the same rows; this process writes the cache as tasks finish, and a failed task
        (:class:`fusionlib.parallel.TaskError`, naming ``pair/optimizer``) loses none of the others.

    Returns
    -------
    pandas.DataFrame
        Columns: pair, optimizer, run, seed, best_f, x, sub_f, sub_x, opt_f (box optimum), gap and
        rel_gap to it (negative only when the best lies outside the box: ``out_of_box``, possible for
        IAOA's unclipped OBL/DRST samples and AO), opt_free_f (unconstrained optimum), n_evals,
        n_iter, wall_time, curve (best fitness after each evaluation), CC ... RASE of the final best
        and sub_CC ... sub_RASE of the iteration-``T//5`` best, plus protocol, mode, max_evals.
    """
    import pandas as pd
    cfg = RunConfig(**{**asdict(config or RunConfig()), **overrides})
    cfg = RunConfig(**{**asdict(cfg), "optimizers": tuple(cfg.optimizers)}).validate()
    problem = pairs if isinstance(pairs, IAOAProblem) else IAOAProblem(pairs, weights=cfg.weights,
                                                                                zero_sum=cfg.zero_sum)
    cache = Path(cache_dir) if cache_dir is not None else None
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
    jobs = [(i, o) for i in range(len(problem.ids)) for o in cfg.optimizers]
    done: dict[int, list[dict]] = {}
    paths = [_cache_file(cache, problem.pairs[i], o, cfg) if cache is not None else None for i, o in jobs]
    for k, ((i, o), path) in enumerate(zip(jobs, paths)):
        if path is not None and path.exists():
            try:
                done[k] = _read_cached(path, problem.ids[i], o, cfg)
            except CacheEntryError as e:
                discard_corrupt(path, e)
    todo = [k for k in range(len(jobs)) if k not in done]

    def keep(n: int, got: list[dict]) -> None:  # in this process: the only writer of the cache
        k = todo[n]
        done[k] = got
        if paths[k] is not None:
            save_records_npz(paths[k], got)

    with using(executor) as ex:
        ex.map(_iaoa_task, [jobs[k] for k in todo], on_result=keep, progress=progress,
               desc="IAOA experiment", labels=[f"{problem.ids[jobs[k][0]]}/{jobs[k][1]}" for k in todo],
               problem=problem, cfg=cfg)
    rows: list[dict] = [r for k in range(len(jobs)) for r in done[k]]
    df = pd.DataFrame(rows)
    df["protocol"] = cfg.protocol
    df["mode"] = cfg.mode
    df["max_evals"] = cfg.max_evals if cfg.max_evals is not None else -1
    meta = {p.id: p.meta for p in problem.pairs}
    df["satellite"] = df["pair"].map(lambda p: meta[p].get("satellite", meta[p].get("sensor", "")))
    df["scene"] = df["pair"].map(lambda p: meta[p].get("scene", ""))
    return df


# ------------------------------------------------------------------------------------------------
# the released scripts' table construction
# ------------------------------------------------------------------------------------------------

def win_counts(candidates: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Pairwise strict wins of each candidate row over every ``others`` row, summed over metrics.

    ``candidates`` (K, 6) and ``others`` (M, 6) hold the six metrics in :data:`METRIC_NAMES` order
    (``IndicatorCount``: lower is better for ERGAS, SAM, RASE, RMSE; higher for UIQI and CC).
    """
    sign = np.array([1.0 if HIGHER_IS_BETTER[k] else -1.0 for k in METRIC_NAMES])
    c = np.asarray(candidates)[:, None, :] * sign
    o = np.asarray(others)[None, :, :] * sign
    return (c > o).sum(axis=(1, 2))


def released_table(df, *, seed: int = 0, target: str = "iaoa", problem: IAOAProblem | None = None):
    """The released ``DataProcessor.m`` table: per pair, one row per optimiser.

    IAOA's candidates are its final and iteration-2 bests of every run; each other optimiser
    contributes the iteration-2 best of one randomly chosen run (seeded per pair, so a pair's row is the
    same whatever other pairs ``df`` holds); the IAOA candidate with
    the most pairwise wins over the other rows becomes its row. Selection uses the **test metrics**,
    so this replicates the released evaluation, it is not a fair comparison.

    With ``problem`` (the :class:`IAOAProblem` of ``df``), only the candidates the table needs are
    scored, on demand (``run_experiment(..., score='none')`` then costs no scoring at all).

    Returns a DataFrame with pair, optimizer, source ('final'/'sub'), run, the six metrics, and
    ``wins`` (IAOA's row only).
    """
    import pandas as pd
    index = {pid: i for i, pid in enumerate(problem.ids)} if problem is not None else {}

    def metrics(pid, X, stored):
        if problem is None or not np.isnan(stored).any():
            return stored
        sc = problem.scores(index[pid], np.stack(list(X)))
        return np.stack([sc[k] for k in METRIC_NAMES], axis=1)

    out = []
    for pid, g in df.groupby("pair", sort=False):
        # one generator per pair: a pair's row does not depend on which other pairs are in ``df``
        # (a scene page and the 16-pair table of chapter 10 agree)
        rng = np.random.default_rng(run_seed(seed, pid, "released_table", 0))
        rows = []
        for o, go in g.groupby("optimizer", sort=False):
            if o == target:
                continue
            r = go.iloc[int(rng.integers(len(go)))]
            vals = metrics(pid, [r["sub_x"]], np.array([[r[f"sub_{k}"] for k in METRIC_NAMES]], dtype=float))[0]
            rows.append(dict(pair=pid, optimizer=o, source="sub", run=int(r["run"]),
                             **dict(zip(METRIC_NAMES, vals))))
        others = np.array([[r_[k] for k in METRIC_NAMES] for r_ in rows])
        gt = g[g["optimizer"] == target]
        if len(gt):
            fin = metrics(pid, gt["x"], gt[list(METRIC_NAMES)].to_numpy(dtype=float))
            sub = metrics(pid, gt["sub_x"], gt[[f"sub_{k}" for k in METRIC_NAMES]].to_numpy(dtype=float))
            cand = np.concatenate([fin, sub])
            wins = win_counts(cand, others) if len(others) else np.zeros(len(cand), int)
            j = int(np.argmax(wins))
            src = "final" if j < len(fin) else "sub"
            run = int(gt.iloc[j % len(fin)]["run"])
            rows.append(dict(pair=pid, optimizer=target, source=src, run=run,
                             **dict(zip(METRIC_NAMES, cand[j])), wins=int(wins[j])))
        out.extend(rows)
    return pd.DataFrame(out)


# ------------------------------------------------------------------------------------------------
# statistics
# ------------------------------------------------------------------------------------------------

def summarize(df, metrics: Sequence[str] = METRIC_NAMES, by: Sequence[str] = ("pair", "optimizer")):
    """Mean and sample sd over runs per group: a DataFrame with ``<metric>_mean``/``<metric>_sd``."""
    g = df.groupby(list(by), sort=False)[list(metrics)]
    m, s = g.mean(), g.std(ddof=1)
    out = m.add_suffix("_mean").join(s.add_suffix("_sd"))
    return out.reset_index()


def gap_summary(df, tol: float = 1e-6):
    """Per (pair, optimizer): median and IQR of the fitness gap to the box optimum, success rate
    (rel gap < tol), median gap to the unconstrained optimum, share of bests outside the box,
    mean evaluations and mean time per run (ms)."""
    import pandas as pd
    rows = []
    for (pid, o), g in df.groupby(["pair", "optimizer"], sort=False):
        q1, med, q3 = np.percentile(g["gap"], [25, 50, 75])
        free = g["best_f"] - g["opt_free_f"] if "opt_free_f" in g else g["gap"] * np.nan
        rows.append(dict(pair=pid, optimizer=o, gap_median=med, gap_iqr=q3 - q1,
                         success=float((g["rel_gap"] < tol).mean()), gap_free_median=float(np.median(free)),
                         out_of_box=float(g["out_of_box"].mean()) if "out_of_box" in g else np.nan,
                         n_evals=float(g["n_evals"].mean()), time_ms=1e3 * float(g["wall_time"].mean())))
    return pd.DataFrame(rows)


def _per_pair_medians(df, value: str):
    t = df.groupby(["pair", "optimizer"], sort=False)[value].median().unstack("optimizer")
    return t


def wilcoxon_holm(df, value: str = "gap", reference: str = "iaoa", higher_is_better: bool = False):
    """Wilcoxon signed-rank of ``reference`` against every other optimiser, paired by pair
    (per-pair medians), with Holm's step-down correction. Returns a DataFrame."""
    import pandas as pd
    from scipy.stats import wilcoxon
    t = _per_pair_medians(df, value)
    rows = []
    for o in t.columns:
        if o == reference:
            continue
        d = t[reference] - t[o]
        if np.allclose(d, 0):
            p, stat = 1.0, 0.0
        else:
            res = wilcoxon(t[reference], t[o], zero_method="zsplit")
            p, stat = float(res.pvalue), float(res.statistic)
        better = float(np.median(d)) > 0 if higher_is_better else float(np.median(d)) < 0
        rows.append(dict(optimizer=o, statistic=stat, p=p, median_diff=float(np.median(d)),
                         reference_better=better))
    out = pd.DataFrame(rows).sort_values("p").reset_index(drop=True)
    out["p_holm"] = holm(out["p"].to_numpy())
    return out


def friedman_nemenyi(df, value: str = "gap", higher_is_better: bool = False, alpha: float = 0.05):
    """Friedman test over per-pair medians, average ranks and Nemenyi's critical difference.

    Returns ``dict(statistic, p, ranks (Series, 1 = best), cd, n_blocks, k)``; two optimisers differ
    significantly when their average ranks differ by more than ``cd``
    (``cd = q_alpha sqrt(k (k + 1) / (6 n))``, ``q_alpha`` the studentised range quantile / sqrt 2).
    """
    from scipy.stats import studentized_range
    t = _per_pair_medians(df, value).dropna(axis=0)
    vals = t.to_numpy()
    n, k = vals.shape
    if k < 3 or n < 2:
        raise ValueError(f"friedman_nemenyi: needs >= 3 optimisers and >= 2 pairs; got {k} and {n}")
    stat, p, r = friedman_ranks(vals, higher_is_better=higher_is_better)
    q = studentized_range.ppf(1 - alpha, k, np.inf) / np.sqrt(2)
    cd = q * np.sqrt(k * (k + 1) / (6.0 * n))
    import pandas as pd
    return {"statistic": float(stat), "p": float(p),
            "ranks": pd.Series(r, index=t.columns).sort_values(), "cd": float(cd), "n_blocks": n, "k": k}


def mannwhitney_by_pair(df, value: str = "gap", reference: str = "iaoa"):
    """Within each pair (independent runs): Mann-Whitney U of ``reference`` against every other
    optimiser on ``value`` (two-sided). Returns a DataFrame (pair, optimizer, U, p)."""
    import pandas as pd
    from scipy.stats import mannwhitneyu
    rows = []
    for pid, g in df.groupby("pair", sort=False):
        a = g[g["optimizer"] == reference][value].to_numpy()
        for o, go in g.groupby("optimizer", sort=False):
            if o == reference:
                continue
            u, p = mannwhitneyu(a, go[value].to_numpy(), alternative="two-sided")
            rows.append(dict(pair=pid, optimizer=o, U=float(u), p=float(p)))
    return pd.DataFrame(rows)


def anova_by_pair(df, value: str = "ERGAS"):
    """One-way ANOVA (and Kruskal-Wallis) of ``value`` across optimisers within each pair."""
    import pandas as pd
    from scipy.stats import f_oneway, kruskal
    rows = []
    for pid, g in df.groupby("pair", sort=False):
        groups = [go[value].to_numpy() for _, go in g.groupby("optimizer", sort=False)]
        if all(np.ptp(x) == 0 for x in groups):
            f, p, h, pk = np.nan, np.nan, np.nan, np.nan
        else:
            f, p = f_oneway(*groups)
            h, pk = kruskal(*groups)
        rows.append(dict(pair=pid, F=float(f), p_anova=float(p), H=float(h), p_kruskal=float(pk)))
    return pd.DataFrame(rows)


def context_rows(problem: IAOAProblem, i: int) -> "Any":
    """Reference metrics of the context points of pair ``i``: x*, w = 0, w = 1, and plain MS_up."""
    import pandas as pd
    from ..metrics.pansharpening import iaoa_scores
    m, j = problem.model(i)
    x_star, _ = problem.optimum(i)
    pts = {"optimum x*": x_star, "w = 0 (MS edges)": np.full(problem.dim, m.lower),
           "w = 1 (PAN edges)": np.full(problem.dim, m.upper)}
    rows = []
    fit = m.fitness_numpy(j)
    for name, x in pts.items():
        s = problem.scores(i, x[None])
        rows.append(dict(point=name, fitness=float(fit(x[None])[0]), **{k: float(v[0]) for k, v in s.items()}))
    ref = torch.as_tensor(problem.pairs[i].ms, dtype=torch.float64)[None]
    s = iaoa_scores(m.target[j:j + 1], ref)
    rows.append(dict(point="MS_up (no detail)", fitness=0.0, **{k: float(v[0]) for k, v in s.items()}))
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------------
# the same methods under three assessments: IAOA protocol, Wald reduced resolution, full resolution
# ------------------------------------------------------------------------------------------------

#: The standard methods of :mod:`fusionlib.pansharpening.methods` compared with the adaptive model.
STANDARD_METHODS = ("gihs", "brovey", "pca", "gs", "gsa", "aihs", "hpf", "sfim", "mtf_glp", "mtf_glp_hpm")
#: Wald reduced-resolution indices (Vivone's toolbox conventions, after the border cut) and whether higher
#: is better; ``Q2n`` is the hypercomplex UIQI (Q4 for four bands, 32x32 blocks).
RR_METRICS = {"CC": True, "RMSE": False, "ERGAS": False, "Q2n": True, "SAM": False, "RASE": False}
#: Full-resolution (no reference) indices and whether higher is better.
FR_METRICS = {"D_lambda": False, "D_s": False, "QNR": True, "HQNR": True}
ASSESSMENTS = ("iaoa", "wald_rr", "full_res")


def _sensor_of(pair: IAOAPair) -> str:
    return str(pair.meta.get("sensor") or pair.meta.get("satellite") or "generic")


def protocol_comparison(pairs: Sequence[IAOAPair], *, optimizers: Sequence[str] = ("iaoa", "pso", "aoa"),
                        methods: Sequence[str] = STANDARD_METHODS, max_evals: int = 505, pop_size: int = 5,
                        mode: str = "faithful", seed: int = 0, weights: str = "fixed_point",
                        zero_sum: str = "nan", ratio: int = 4, cut: int = 21, block_size: int = 32,
                        th_values: tuple[float, float] | None = (0.0, 255.0), device: Any = None,
                        cache_dir: str | os.PathLike | None = None):
    """Score the standard methods and the adaptive model under three assessments, on the same pairs.

    ``cache_dir``: keep the result as JSON under a key of the pairs' data, every argument and the
    library version (read back without pickle; a damaged entry is recomputed with a ``RuntimeWarning``).

    For each pair (MS reference ``ms`` and PAN of the MS size, as in the IAOA data):

    ``"iaoa"``
        The IAOA protocol (:func:`fusionlib.pansharpening.prepare_protocol` ``'iaoa'``): inputs
        ``MS_up = imresize(imresize(MS, 1/r), r)`` and the PAN; the six IAOA indices
        (:data:`METRIC_NAMES`, IAOA conventions, whole image) against the MS.
    ``"wald_rr"``
        Wald's reduced-resolution protocol as in Vivone's toolbox (``'vivone_rr'``): ``MS_LR`` = the
        MS filtered with the sensor's MTF (Nyquist gains of ``pair.meta['sensor']`` or
        ``['satellite']``, bands R, G, B, NIR) and decimated by ``ratio``; ``EXP = interp23tap(MS_LR)``;
        the PAN is already at the MS scale and is used as is. Indices :data:`RR_METRICS` against the MS
        after the toolbox's ``dim_cut`` border (``cut``), data in DN.
    ``"full_res"``
        The no-reference indices :data:`FR_METRICS` (D_lambda, D_s, QNR = (1 - D_lambda)(1 - D_s), i.e.
        p = q = alpha = beta = 1, HQNR with the same MTF gains; ``block_size`` blocks; Vivone et al. 2015,
        Khan et al. 2009) of the **same products as** ``wald_rr`` (clipped likewise),
        judged against the inputs they were made from (``MS_LR`` and the PAN). Neither data set has a
        PAN finer than its MS, so this pair is the only full-resolution pair available; scoring the same
        images with and without the reference shows whether the no-reference indices rank like the
        reference ones.

    Every product is clipped to ``th_values`` before it is scored, in all three assessments (the
    toolbox's optional ``th_values`` step; 8-bit DN by default; None: no clipping): ratio methods (Brovey,
    SFIM, MTF-GLP-HPM) can leave any range where their low-pass is near 0, and one such pixel would
    otherwise dominate ERGAS. The IAOA release does not clip its own model's output, so the IAOA rows of
    the adaptive model can differ slightly from unclipped scores.

    Products per assessment: ``EXP`` (the upsampled MS: bicubic ``MS_up`` or ``interp23tap``), every
    method of ``methods`` (MTF-GLP gains from the sensor), and the adaptive model built on that
    assessment's inputs (``adaptive_model(EXP, PAN, degrade=False)``: its ERGAS fitness is measured
    against the upsampled MS it is given) at its closed-form optimum (``adaptive x*``) and tuned by each
    of ``optimizers`` (one run of ``max_evals`` evaluations, population ``pop_size``, ``mode``, seed
    :func:`run_seed` ``(seed, pair, 'wald:' + optimizer, 0)`` under Wald, ``(seed, pair, optimizer, 0)``
    under the IAOA protocol).

    Returns
    -------
    pandas.DataFrame
        One row per (assessment, pair, method): ``assessment``, ``pair``, ``method``, ``family``
        (``'baseline'``, ``'standard'``, ``'adaptive'``), ``fitness`` and ``gap`` (the adaptive
        model's own fitness and its excess over the bounded optimum; NaN for the others), ``x`` (the
        decision vector or None) and one column per index of that assessment (NaN elsewhere).
    """
    import pandas as pd
    if cache_dir is not None:
        args = dict(optimizers=list(optimizers), methods=list(methods), max_evals=max_evals, pop_size=pop_size,
                    mode=mode, seed=seed, weights=weights, zero_sum=zero_sum, ratio=ratio, cut=cut,
                    block_size=block_size, th_values=None if th_values is None else list(th_values))
        return _cached_comparison(pairs, args, Path(cache_dir), device)
    from .. import optim
    from ..filters import imresize_bicubic, interp23tap
    from ..pansharpening import methods as pm

    where = "protocol_comparison"
    if not pairs:
        raise ValueError(f"{where}: `pairs` is empty")
    for o in optimizers:
        optim.OPTIMIZERS[o]
    for m in methods:
        pm.METHODS[m]
    max_evals = check_int(where, "max_evals", max_evals, minimum=pop_size)
    cut = check_int(where, "cut", cut, minimum=0)
    inputs = _comparison_inputs(pairs, ratio=ratio, cut=cut)
    models = _comparison_models(inputs, ratio=ratio, weights=weights, zero_sum=zero_sum, device=device)
    rows = []
    for (assess, i, d, gains), (model, k) in zip(inputs, models):
        p = pairs[i]
        ref = torch.as_tensor(p.ms, dtype=torch.float64)[None]
        exp, pan = d.exp.to(torch.float64), d.pan.to(torch.float64)
        pan_lr = None
        if assess == "wald_rr":  # the toolbox's PAN_LR of D_s: interp23tap(imresize(PAN, 1/r))
            pan_lr = interp23tap(imresize_bicubic(pan, 1.0 / ratio), ratio)
        products, f_star = _comparison_products(assess, p, exp, pan, gains, model, k, methods=methods,
                                                optimizers=optimizers, ratio=ratio, pop_size=pop_size,
                                                max_evals=max_evals, seed=seed, mode=mode)
        for name, (family, fused, fx, x) in products.items():
            row = dict(assessment=assess, pair=p.id, method=name, family=family, fitness=fx,
                       gap=fx - f_star if np.isfinite(fx) else np.nan, x=x)
            if th_values is not None:
                fused = fused.clamp(float(th_values[0]), float(th_values[1]))
            if assess == "iaoa":
                row.update(_iaoa_protocol_scores(fused, ref, ratio=ratio))
                rows.append(row)
                continue
            row.update(_wald_rr_scores(fused, ref, ratio=ratio, cut=cut, block_size=block_size))
            rows.append(row)
            rows.append(_full_res_row(row, fused, d.ms.to(torch.float64), pan, pan_lr, gains, ratio=ratio,
                                      block_size=block_size))
    df = pd.DataFrame(rows)
    order = {a: n for n, a in enumerate(ASSESSMENTS)}
    return df.sort_values("assessment", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)


def _comparison_inputs(pairs: Sequence[IAOAPair], *, ratio: int, cut: int) -> list:
    """The inputs of :func:`protocol_comparison`: per pair, ``(assessment, pair index, ProtocolData, gains)``
    for the IAOA protocol and for Wald's (Vivone's ``'vivone_rr'``), with the sensor's MTF gains per band."""
    from ..pansharpening import protocols as pr
    inputs = []  # (assessment, pair index, ProtocolData, gains)
    for i, p in enumerate(pairs):
        gains, _ = pr.sensor_gains(_sensor_of(p), "RGBN")
        gains = gains[:p.ms.shape[0]] if len(gains) >= p.ms.shape[0] else (gains[0],) * p.ms.shape[0]
        inputs.append(("iaoa", i, pr.prepare_protocol("iaoa", p.ms, p.pan, ratio=ratio), gains))
        inputs.append(("wald_rr", i, pr.prepare_protocol("vivone_rr", p.ms, p.pan, ratio=ratio,
                                                         sensor=_sensor_of(p), band_order="RGBN", cut=cut),
                       gains))
    return inputs


def _comparison_models(inputs: list, *, ratio: int, weights: str, zero_sum: str, device: Any) -> list:
    """The adaptive model of every input as ``(model, index in the model's batch)``: every model in one
    batch when the sizes agree (the AIHS weights iterate jointly), else one model per input."""
    exps = [d.exp[0] for _, _, d, _ in inputs]
    pans = [d.pan[0] for _, _, d, _ in inputs]
    if len({tuple(e.shape) for e in exps}) == 1 and len({tuple(q.shape) for q in pans}) == 1:
        model = adaptive_model(torch.stack(exps), torch.stack(pans), ratio=ratio, weights=weights,
                               degrade=False, zero_sum=zero_sum, device=device)
        return [(model, k) for k in range(len(inputs))]
    return [(adaptive_model(e, q, ratio=ratio, weights=weights, degrade=False, zero_sum=zero_sum,
                            device=device), 0) for e, q in zip(exps, pans)]


def _comparison_products(assess: str, p: IAOAPair, exp: torch.Tensor, pan: torch.Tensor, gains, model, k: int, *,
                         methods: Sequence[str], optimizers: Sequence[str], ratio: int, pop_size: int,
                         max_evals: int, seed: int, mode: str):
    """The products of one (assessment, pair) of :func:`protocol_comparison` and the bounded optimum's
    fitness ``f*``: ``{name: (family, fused, fitness, x)}`` for ``EXP``, every standard method, and the
    adaptive model at ``x*`` and tuned by each optimiser (seed ``run_seed(seed, pair, key, 0)``, ``key``
    the optimiser, ``'wald:'`` + it under Wald)."""
    from .. import optim
    from ..pansharpening import methods as pm
    products: dict[str, tuple[str, torch.Tensor, float, Any]] = {"EXP": ("baseline", exp, np.nan, None)}
    for m in methods:
        products[m] = ("standard", pm.pansharpen(exp, pan, m, ratio=ratio, gains=gains).to(torch.float64),
                       np.nan, None)
    fit = model.fitness_numpy(k)
    x_star, f_star = model.optimum()
    x_star, f_star = x_star[k].cpu().numpy(), float(f_star[k])
    lo, hi = np.full(model.n_bands, model.lower), np.full(model.n_bands, model.upper)
    cand = {"adaptive x*": x_star}
    for o in optimizers:
        key = o if assess == "iaoa" else f"wald:{o}"
        res = optim.minimize(o, fit, lo, hi, pop_size, None, max_evals=max_evals,
                             seed=run_seed(seed, p.id, key, 0), mode=mode)
        cand[f"adaptive {o}"] = np.asarray(res.best_x, dtype=np.float64)
    for name, x in cand.items():
        fx = float(fit(x[None])[0])
        fused = model.fuse(x[None], k).to(torch.float64)
        products[name] = ("adaptive", fused, fx, x)
    return products, f_star


def _iaoa_protocol_scores(fused: torch.Tensor, ref: torch.Tensor, *, ratio: int) -> dict[str, float]:
    """The six IAOA indices (:data:`METRIC_NAMES`, IAOA conventions, whole image) of one product."""
    from ..metrics import pansharpening as mp
    s = mp.iaoa_scores(fused, ref, ratio=float(ratio))
    return {m_: float(v[0]) for m_, v in s.items()}


def _wald_rr_scores(fused: torch.Tensor, ref: torch.Tensor, *, ratio: int, cut: int, block_size: int
                    ) -> dict[str, float]:
    """The indices :data:`RR_METRICS` of one product against the MS, after the border cut (Vivone's
    conventions, data in DN)."""
    from ..metrics import pansharpening as mp
    from ..pansharpening import protocols as pr
    fc, rc = pr.dim_cut(fused, cut), pr.dim_cut(ref, cut)
    kw = dict(preset="vivone")
    return dict(CC=float(mp.cc(fc, rc, **kw)[0]), RMSE=float(mp.rmse(fc, rc, **kw)[0]),
                ERGAS=float(mp.ergas(fc, rc, ratio=ratio, **kw)[0]),
                Q2n=float(mp.q2n(fc, rc, block_size=block_size, **kw)[0]),
                SAM=float(mp.sam(fc, rc, **kw)[0]), RASE=float(mp.rase(fc, rc, **kw)[0]))


def _full_res_row(row: dict, fused: torch.Tensor, ms_lr: torch.Tensor, pan: torch.Tensor, pan_lr: torch.Tensor,
                  gains, *, ratio: int, block_size: int) -> dict:
    """The ``full_res`` row of one Wald product: ``row`` without the :data:`RR_METRICS`, with the
    :data:`FR_METRICS` of ``fused`` against the inputs it was made from (``ms_lr``, upsampled by
    interp23tap inside the indices, = EXP; the PAN and its ``pan_lr``)."""
    from ..metrics import pansharpening as mp
    kw = dict(preset="vivone")
    fr = dict(row, assessment="full_res")
    for m_ in RR_METRICS:
        fr.pop(m_)
    dl = float(mp.d_lambda(fused, ms_lr, ratio=ratio, block_size=block_size, **kw)[0])
    ds = float(mp.d_s(fused, ms_lr, pan, pan_lr=pan_lr, ratio=ratio, block_size=block_size, **kw)[0])
    fr.update(D_lambda=dl, D_s=ds, QNR=(1.0 - dl) * (1.0 - ds),   # QNR, alpha = beta = 1
              HQNR=float(mp.hqnr(fused, ms_lr, pan, ratio=ratio, block_size=block_size, gains=gains,
                                 **kw)[0]))
    return fr




def _cached_comparison(pairs: Sequence[IAOAPair], args: dict, cache_dir: Path, device: Any):
    """:func:`protocol_comparison` through a JSON cache entry (``x`` stored as lists)."""
    import pandas as pd
    from ..utils import write_json_atomic
    try:
        from importlib.metadata import version
        lib_version = version("fusionbook-lib")
    except Exception:  # pragma: no cover
        lib_version = "unknown"
    blob = json.dumps({"data": [p.digest() for p in pairs], "ids": [p.id for p in pairs], "args": args,
                       "version": lib_version, "schema": 1}, sort_keys=True)
    path = cache_dir / f"protocol_comparison__{hashlib.sha256(blob.encode()).hexdigest()[:24]}.json"
    if path.exists():
        try:
            rec = json.loads(path.read_text())
            df = pd.DataFrame(rec["rows"], columns=rec["columns"])
            if set(df["pair"]) != {p.id for p in pairs}:
                raise CacheEntryError(f"{path}: holds pairs {sorted(set(df['pair']))}")
            df["x"] = [None if v is None else np.asarray(v, dtype=np.float64) for v in df["x"]]
            return df
        except (CacheEntryError, ValueError, KeyError, TypeError) as e:
            discard_corrupt(path, e)
    df = protocol_comparison(pairs, device=device, **{k: (tuple(v) if isinstance(v, list) else v)
                                                      for k, v in args.items()})
    cache_dir.mkdir(parents=True, exist_ok=True)
    rows = [[None if (isinstance(v, float) and not np.isfinite(v)) else
             (v.tolist() if isinstance(v, np.ndarray) else v) for v in r] for r in df.itertuples(index=False)]
    write_json_atomic(path, {"columns": list(df.columns), "rows": rows})
    return df

# ------------------------------------------------------------------------------------------------
# the book's scene pages: data per scene, the paper's Tables 1-3, its table layout, its text's claims,
# and verdicts that state test, n, effect size and the smallest attainable p
# ------------------------------------------------------------------------------------------------

#: The four scenes of the paper (Tables 4-7), as the ``SCENE`` parameter of chapter 11 spells them.
SCENES = ("urban", "green_vegetation", "water", "coast")
#: Embedded stand-ins per scene for the offline smoke profile (two synthetic pairs each; six pictures
#: for four scenes, so two are shared). They exercise the scene page, they are not the scenes.
SMOKE_STANDINS = {"urban": ("rocket", "stereo_motorcycle"), "green_vegetation": ("chelsea", "coffee"),
                  "water": ("immunohistochemistry", "astronaut"), "coast": ("coffee", "rocket")}


def load_scene(scene: str, profile: str = "standard", root: Any = None) -> tuple[list[IAOAPair], str, str]:
    """The pairs of one scene: ``(pairs, data set name, zero_sum)``.

    ``standard``/``full``: the four ``nbu_iaoa`` pairs of ``scene`` (QuickBird 1, 2, Gaofen 1, 2); the data
    must be found (:func:`fusionlib.data.find_root` with ``required=True``): a missing data root raises
    :class:`fusionlib.data.DataNotFoundError` listing every place looked at and how to get the data, never a
    silent embedded stand-in. ``smoke``: the scene's two embedded stand-ins (:data:`SMOKE_STANDINS`).
    """
    from .. import data as fldata
    check_choice("load_scene", "scene", scene, SCENES)
    check_choice("load_scene", "profile", profile, ("smoke", "standard", "full"))
    if profile == "smoke":
        return load_pairs("embedded_pansharpening", ids=list(SMOKE_STANDINS[scene])), "embedded_pansharpening", "equal"
    root = fldata.find_root(root, required=True)
    pairs = load_pairs("nbu_iaoa", root=root, scene=scene.replace("_", " "))
    order = {"quickbird": 0, "gaofen": 1}
    pairs.sort(key=lambda p: (order.get(_sensor_of(p).lower(), 2), str(p.meta.get("index_in_scene", p.id))))
    return pairs, "nbu_iaoa", "nan"


def paper_table1():
    """The paper's Table 1 (the six indices) as the released code computes them (``shared/notes/iaoa.md``
    §5; the paper's formulas were lost from its text)."""
    import pandas as pd
    rows = [
        ("CC", "higher", "corr2 of each band; the mean over bands 1-3 only (NIR ignored)"),
        ("RMSE", "lower", "sqrt of the mean squared error over all pixels and bands (DN)"),
        ("ERGAS", "lower", "(100 / 4) sqrt(mean_k MSE_k / mu_k^2), mu_k the reference band mean"),
        ("UIQI", "higher", "one Wang-Bovik Q over the whole cube as one vector (not Q_avg, not Q4)"),
        ("SAM", "lower", "mean spectral angle over pixels with a nonzero norm, degrees"),
        ("RASE", "lower", "(100 / mu) sqrt(mean_k MSE_k), mu the mean of the whole reference cube"),
    ]
    return pd.DataFrame(rows, columns=["index", "better", "as computed (released code, whole image)"]
                        ).set_index("index")


def paper_table2():
    """The paper's Table 2 (the NBU satellites) beside what ``nbu_iaoa`` holds.

    The paper's numbers were lost from its text; the resolutions are the sensors' public specifications
    (QuickBird; Gaofen-1, the NBU Gaofen), the last columns what the release's ``imageData.mat`` holds."""
    import pandas as pd
    held = ("MS 256x256x4 uint8 (R, G, B, NIR; each band stretched to 0..255, NIR binary 0/255); "
            "'PAN' = rgb2gray(MS bands 1-3) at the MS size (synthetic)")
    rows = [("QuickBird", "0.61 m", "2.44 m", "450-900 nm", "B 450-520, G 520-600, R 630-690, NIR 760-900",
             8, held),
            ("Gaofen-1", "2 m", "8 m", "450-900 nm", "B 450-520, G 520-590, R 630-690, NIR 770-890", 8, held)]
    return pd.DataFrame(rows, columns=["satellite", "PAN resolution", "MS resolution", "PAN band", "MS bands",
                                       "pairs used (4 scenes x 2)", "what nbu_iaoa holds"]).set_index("satellite")


def paper_table3():
    """The paper's Table 3 (optimizer parameters) as the released code sets them, with each algorithm's
    evaluations per run under the released budgets (N = 5, T = 10); ``shared/notes/iaoa.md`` §4."""
    import pandas as pd
    rows = [
        ("pso", "constriction phi1 = phi2 = 2.05 (w = chi ~ 0.7298, c1 = c2 ~ 1.496), |v| <= 10", 55),
        ("acor", "archive N, N samples per iteration, q = 0.5, zeta = 1", 55),
        ("ga", "roulette on cost, crossover p = 0.8, mutation p = 0.8, no elitism", 50),
        ("de", "DE/rand/1/bin, F ~ U(0.2, 0.8) per dimension, CR = 0.2", 55),
        ("gwo", "a = 2 -> 0 linearly; alpha, beta, delta leaders", 50),
        ("woa", "a = 2 -> 0, a2 = -1 -> -2, b = 1", 50),
        ("eo", "a1 = 2, a2 = 1, GP = 0.5, V = 1; pool of the 4 best + their mean", 50),
        ("aha", "guided / territorial foraging, migration every 2N iterations", 56),
        ("ao", "alpha = delta = 0.1, Levy beta = 1.5, r0 = 10, u = 0.0265, omega = 0.005", 100),
        ("aoa", "MOA 0.2 -> 0.9, alpha = 5, mu = 0.499", 55),
        ("iaoa", "AOA's + OBL + DRST (40 kernel samples, q = 0.5, zeta = 1)", 505),
    ]
    return pd.DataFrame(rows, columns=["optimizer", "parameters (released code)", "evaluations per run"]
                        ).set_index("optimizer")


#: What the paper's text says about IAOA's row in Tables 4-7 (the tables' numbers are lost): per scene and
#: image, per index, 'best', 'tied' (on par with another), 'not best', or absent (the text says nothing).
PAPER_TEXT_CLAIMS: dict[str, dict[str, dict[str, str]]] = {
    "urban": {
        "quickbird_urban_1": {**dict.fromkeys(METRIC_NAMES, "best"), "ERGAS": "not best"},   # GA better
        "gaofen_urban_1": {**dict.fromkeys(METRIC_NAMES, "best"), "CC": "not best"},
        "quickbird_urban_2": dict.fromkeys(METRIC_NAMES, "best"),
        "gaofen_urban_2": dict.fromkeys(METRIC_NAMES, "best")},
    "green_vegetation": {
        "quickbird_green_vegetation_1": {**dict.fromkeys(METRIC_NAMES, "not best"), "ERGAS": "best",
                                         "UIQI": "best"},
        "quickbird_green_vegetation_2": dict.fromkeys(METRIC_NAMES, "best"),
        "gaofen_green_vegetation_1": {**dict.fromkeys(METRIC_NAMES, "best"), "UIQI": "tied", "CC": "tied"},
        "gaofen_green_vegetation_2": dict.fromkeys(METRIC_NAMES, "best")},
    "water": {
        "quickbird_water_1": {**dict.fromkeys(METRIC_NAMES, "best"), "ERGAS": "not best"},   # GA better
        "quickbird_water_2": dict.fromkeys(METRIC_NAMES, "best")},
    "coast": {
        "quickbird_coast_1": {**dict.fromkeys(METRIC_NAMES, "best"), "UIQI": "tied"},  # with PSO and ACO
        "quickbird_coast_2": {**dict.fromkeys(METRIC_NAMES, "best"), "SAM": "not best"},  # AHA better
        "gaofen_coast_1": {**dict.fromkeys(METRIC_NAMES, "best"), "SAM": "not best", "RASE": "not best",
                           "RMSE": "not best"},
        "gaofen_coast_2": dict.fromkeys(METRIC_NAMES, "best")},
}


def paper_layout(table, *, value: str = "{m}", metrics: Sequence[str] = METRIC_NAMES,
                 optimizers: Sequence[str] = PAPER_OPTIMIZERS):
    """A per-(pair, optimizer) table in the paper's Tables 4-7 layout: rows (pair, index), one column per
    optimizer (paper order), and ``best`` naming the best optimizer of the row (ties joined by '='').

    ``table`` has ``pair``, ``optimizer`` and, per index ``m``, the column ``value.format(m=m)`` (e.g. the
    released table's ``'{m}'`` or :func:`summarize`'s ``'{m}_mean'``)."""
    import pandas as pd
    rows, index = [], []
    for pid, g in table.groupby("pair", sort=False):
        g = g.set_index("optimizer")
        for m in metrics:
            col = value.format(m=m)
            v = g[col].reindex([o for o in optimizers if o in g.index]).astype(float)
            best = v.max() if HIGHER_IS_BETTER[m] else v.min()
            row = v.to_dict()
            row["best"] = "=".join(o for o, x in v.items() if x == best)
            rows.append(row)
            index.append((pid, m))
    return pd.DataFrame(rows, index=pd.MultiIndex.from_tuples(index, names=["pair", "index"]))


def iaoa_ranks(layout):
    """IAOA's rank (1 = best, ties share the best rank) in each row of :func:`paper_layout`."""
    import pandas as pd
    out = {}
    for (pid, m), row in layout.drop(columns="best").iterrows():
        v = row.astype(float)
        better = (v > v["iaoa"]) if HIGHER_IS_BETTER[m] else (v < v["iaoa"])
        out[(pid, m)] = int(better.sum()) + 1
    return pd.Series(out, name="IAOA rank").rename_axis(["pair", "index"])


def compare_with_paper(released_layout, fair_layout, scene: str):
    """IAOA's standing per (pair, index): what the paper's text says (:data:`PAPER_TEXT_CLAIMS`) beside
    IAOA's rank of 11 in our released-protocol table and in the equal-budget table (run means), and
    whether ours agrees with the text ('best'/'tied' agree with rank 1; 'not best' with rank > 1)."""
    import pandas as pd
    claims = PAPER_TEXT_CLAIMS.get(scene, {})
    r_rel, r_fair = iaoa_ranks(released_layout), iaoa_ranks(fair_layout)
    rows = []
    for (pid, m) in r_rel.index:
        said = claims.get(pid, {}).get(m)
        rr = int(r_rel[(pid, m)])
        agree = None if said is None else ((rr == 1) == (said in ("best", "tied")))
        rows.append(dict(pair=pid, index=m, paper_text=said or "not stated", released_rank=rr,
                         fair_rank=int(r_fair[(pid, m)]),
                         agrees=("n/a" if agree is None else ("yes" if agree else "no"))))
    return pd.DataFrame(rows).set_index(["pair", "index"])


def metric_ranks(s, metrics: Sequence[str] = METRIC_NAMES, value: str = "{m}_mean"):
    """Average rank (1 = best) of each optimizer per index over the pairs, from :func:`summarize`'s
    run means (the radar charts of Figs 5, 9, 13, 17)."""
    import pandas as pd
    rk = {}
    for m in metrics:
        rk[m] = s.groupby("pair")[value.format(m=m)].rank(ascending=not HIGHER_IS_BETTER[m], method="average")
    rk = pd.DataFrame(rk)
    rk["optimizer"] = s["optimizer"].to_numpy()
    return rk.groupby("optimizer", sort=False).mean()


def run_claims(df, value: str = "gap", *, reference: str = "iaoa", alpha: float = 0.05,
               claim: str = "IAOA reaches a lower fitness gap than", lower_is_better: bool = True):
    """Per pair, the reference optimizer against each other one on ``value`` over the runs: one-sided exact
    Mann-Whitney U (reference better), Holm over the other optimizers of the pair.

    Returns one row per (pair, optimizer): ``n`` (runs per side), effect size ``P(ref better)`` (the
    probability that a random reference run beats a random other run, ties counted half), ``p``,
    ``p_holm``, ``p_min`` (the smallest Holm-adjusted p the design can reach,
    :func:`fusionlib.experiments.stats.smallest_p_mannwhitney`) and ``verdict``, the words of
    :func:`fusionlib.experiments.stats.claim_verdict`: 'supported' only when the test can and does
    reject, 'not reproduced' when the opposite one-sided test (Holm likewise) rejects (the other
    optimizer significantly better), 'not shown' otherwise, 'not testable at this n' when
    ``p_min >= alpha``."""
    import pandas as pd
    from scipy.stats import mannwhitneyu
    from .stats import smallest_p_mannwhitney
    rows = []
    alt = "less" if lower_is_better else "greater"
    for pid, g in df.groupby("pair", sort=False):
        a = g[g["optimizer"] == reference][value].to_numpy(dtype=float)
        others = [(o, go[value].to_numpy(dtype=float)) for o, go in g.groupby("optimizer", sort=False)
                  if o != reference]
        ps, pos, part = [], [], []
        opp = "greater" if alt == "less" else "less"
        for o, b in others:
            if np.all(a == a[0]) and np.all(b == a[0]):
                p, po, ps_ = 1.0, 1.0, 0.5
            else:
                p = mannwhitneyu(a, b, alternative=alt, method="auto").pvalue
                po = mannwhitneyu(a, b, alternative=opp, method="auto").pvalue
                u2 = mannwhitneyu(a, b, alternative="two-sided").statistic
                ps_ = 1.0 - u2 / (len(a) * len(b)) if lower_is_better else u2 / (len(a) * len(b))
            ps.append(float(p))
            pos.append(float(po))
            part.append(dict(pair=pid, optimizer=o, claim=f"{claim} {o}", n=f"{len(a)} vs {len(b)}",
                             effect_P_ref_better=float(ps_), p=float(p),
                             p_min=smallest_p_mannwhitney(len(a), len(b), m=len(others), alternative=alt)))
        adj, adj_opp = (holm(ps), holm(pos)) if ps else ([], [])
        for r, pa, pb in zip(part, adj, adj_opp):
            r["p_holm"] = float(pa)
            # the opposite one-sided test, Holm likewise: the other optimizer is better (the two one-sided
            # p-values of one comparison add up to at least 1, so both never fall below alpha)
            r["verdict"] = claim_verdict(supported=pa < alpha, contradicted=pb < alpha, floor=r["p_min"],
                                         alpha=alpha)
            r["test"] = f"exact one-sided Mann-Whitney U, Holm over {len(others)}"
            rows.append(r)
    return pd.DataFrame(rows)


def spread_claims(df, value: str = "ERGAS", *, reference: str = "iaoa", alpha: float = 0.05):
    """Per pair, "the reference is more stable" (Figs 4, 8, 12, 16): Brown-Forsythe (Levene, median
    centre) of the reference's spread of ``value`` over runs against each other optimizer, Holm over the
    others; effect size the ratio of standard deviations (< 1: the reference spreads less). The test is
    asymptotic (F), so ``p_min`` is 0: any n can reject in principle; the verdict
    (:func:`fusionlib.experiments.stats.claim_verdict`) is 'supported' when p_holm < alpha and the ratio
    is < 1, 'not reproduced' when p_holm < alpha and it is not (the other optimizer spreads less),
    'not shown' otherwise."""
    import pandas as pd
    from scipy.stats import levene
    rows = []
    for pid, g in df.groupby("pair", sort=False):
        a = g[g["optimizer"] == reference][value].to_numpy(dtype=float)
        part, ps = [], []
        for o, go in g.groupby("optimizer", sort=False):
            if o == reference:
                continue
            b = go[value].to_numpy(dtype=float)
            sa, sb = float(np.std(a, ddof=1)), float(np.std(b, ddof=1))
            if np.ptp(a) == 0 and np.ptp(b) == 0:
                p = 1.0
            else:
                p = float(levene(a, b, center="median").pvalue)
            ps.append(p)
            part.append(dict(pair=pid, optimizer=o, n=f"{len(a)} vs {len(b)}",
                             effect_sd_ratio=sa / sb if sb > 0 else (np.inf if sa > 0 else 1.0), p=p, p_min=0.0))
        for r, pa in zip(part, holm(ps) if ps else []):
            r["p_holm"] = float(pa)
            better = bool(r["effect_sd_ratio"] < 1)
            r["verdict"] = claim_verdict(supported=pa < alpha and better, contradicted=pa < alpha and not better,
                                         floor=r["p_min"], alpha=alpha)
            r["test"] = f"Brown-Forsythe, Holm over {len(part)}"
            rows.append(r)
    return pd.DataFrame(rows)


def pooled_claim(df, value: str = "gap", *, reference: str = "iaoa", alpha: float = 0.05,
                 higher_is_better: bool = False):
    """Across pairs (per-pair medians): :func:`wilcoxon_holm` with ``n`` (pairs), the effect size
    (fraction of pairs where the reference is better, and the median difference), ``p_min``
    (:func:`fusionlib.experiments.stats.smallest_p_wilcoxon` with Holm's m) and the verdict
    (:func:`fusionlib.experiments.stats.claim_verdict`: 'supported' when p_holm < alpha and the
    reference is better, 'not reproduced' when p_holm < alpha and it is not, 'not shown' otherwise,
    'not testable at this n' when ``p_min >= alpha``)."""
    from .stats import smallest_p_wilcoxon
    w = wilcoxon_holm(df, value=value, reference=reference, higher_is_better=higher_is_better)
    t = _per_pair_medians(df, value)
    n, m = len(t), len(w)
    frac = []
    for o in w["optimizer"]:
        d = t[reference] - t[o]
        frac.append(float(np.mean(d > 0 if higher_is_better else d < 0)))
    w["n_pairs"] = n
    w["effect_frac_pairs_ref_better"] = frac
    floor = smallest_p_wilcoxon(n, m=m)
    w["p_min"] = floor
    w["verdict"] = [claim_verdict(supported=ph < alpha and b, contradicted=ph < alpha and not b, floor=floor,
                                  alpha=alpha)
                    for ph, b in zip(w["p_holm"], w["reference_better"])]
    w["test"] = f"Wilcoxon signed-rank on per-pair medians, Holm over {m}"
    return w


def verdict_summary(claims, group: str = "pair"):
    """Counts of each verdict per ``group`` (a table of :func:`run_claims` or :func:`spread_claims`)."""
    return claims.groupby([group, "verdict"], sort=False).size().unstack("verdict", fill_value=0)


def stable_table(df, decimals: int | dict[str, int]):
    """:func:`fusionlib.utils.stable_round` with, per numeric column, the most decimals (at most
    ``decimals``) that no value of the column sits beside a rounding boundary at; for checked cells of
    pages whose numbers the author does not see before execution (one source, four scenes)."""
    from ..utils import stable_round
    if not hasattr(df, "select_dtypes"):  # a scalar or an array: one decision for all its values
        for k in range(int(decimals), -1, -1):
            try:
                return stable_round(df, k)
            except ValueError:
                continue
        return float("nan")
    out = df.copy()
    for col in df.select_dtypes("number").columns:
        d = decimals.get(col) if isinstance(decimals, dict) else decimals
        if d is None:
            continue
        for k in range(int(d), -1, -1):
            try:
                out[col] = stable_round(df[col].to_numpy(), k)
                break
            except ValueError:
                continue
        else:
            out[col] = np.nan
    return out
