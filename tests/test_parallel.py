"""The executor seam: in-process default, Dask LocalCluster, same bits, faults that lose nothing."""
from __future__ import annotations

import sys

import numpy as np
import pytest

from fusionlib import parallel as P
from fusionlib.experiments import iaoa as E
from fusionlib.nets import labels as L

sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent / "nets"))
sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent / "experiments"))
from test_iaoa import _pair  # noqa: E402
from test_labels import _pairs  # noqa: E402
from test_aenet_grid import TINY, _data  # noqa: E402

LIB = ["average", "lp"]
OPTS = ("pso", "de", "iaoa")


def _square_or_fail(x, bad=()):
    if x in bad:
        raise ValueError(f"no square for {x}")
    return x * x


def _frames_equal(a, b):
    """Every column but the wall time, compared exactly (arrays element by element)."""
    assert list(a.columns) == list(b.columns) and len(a) == len(b)
    for c in a.columns:
        if c == "wall_time":
            continue
        for u, v in zip(a[c], b[c]):
            if isinstance(u, np.ndarray):
                np.testing.assert_array_equal(u, v)
            else:
                assert u == v or (u != u and v != v), (c, u, v)


class TestLocalExecutor:
    def test_map_order_and_callback(self):
        seen = []
        out = P.LocalExecutor().map(_square_or_fail, [3, 1, 2], on_result=lambda i, r: seen.append((i, r)))
        assert out == [9, 1, 4] and seen == [(0, 9), (1, 1), (2, 4)]
        assert P.LocalExecutor().submit(_square_or_fail, 5) == 25

    def test_exception_names_item_keeps_others(self):
        seen = {}
        with pytest.raises(P.TaskError, match="task item-b failed with ValueError: no square for 2") as ei:
            P.LocalExecutor().map(_square_or_fail, [1, 2, 3], bad=(2,), labels=["item-a", "item-b", "item-c"],
                                  on_result=seen.__setitem__)
        assert seen == {0: 1, 2: 9} and ei.value.results == [1, None, 9]
        assert isinstance(ei.value.__cause__, ValueError) and list(ei.value.errors) == [1]
        assert isinstance(ei.value, ValueError)  # `except ValueError` of the serial loop still catches it

    def test_exception_with_own_init_and_str(self):
        class Odd(Exception):
            def __init__(self, task, worker):
                super().__init__(task, worker)
                self.task = task

            def __str__(self):
                return f"{self.task} lost"

        def odd(x):
            raise Odd(x, "w1")
        with pytest.raises(P.TaskError, match="task 7 failed with Odd: 7 lost; 0 of 1 tasks finished") as ei:
            P.LocalExecutor().map(odd, [7])
        assert isinstance(ei.value, Odd)
        with pytest.raises(KeyError, match="^LocalExecutor.map: task 1 failed with KeyError: 'k'"):
            P.LocalExecutor().map(lambda x: {}["k"], [1])

    def test_bad_labels(self):
        with pytest.raises(ValueError, match="`labels` expected 2"):
            P.LocalExecutor().map(_square_or_fail, [1, 2], labels=["a"])


class TestExecutorFrom:
    def test_specs(self, monkeypatch):
        monkeypatch.delenv(P.SCHEDULER_ENV, raising=False)
        assert isinstance(P.executor_from(None), P.LocalExecutor)
        assert isinstance(P.executor_from("inprocess"), P.LocalExecutor)
        ex = P.LocalExecutor()
        assert P.executor_from(ex) is ex
        monkeypatch.setenv(P.SCHEDULER_ENV, "inprocess")
        assert isinstance(P.executor_from(None), P.LocalExecutor)

    def test_bad_specs(self, monkeypatch):
        with pytest.raises(ValueError, match="local:N"):
            P.executor_from("local:zero")
        with pytest.raises(TypeError, match="`spec` expected"):
            P.executor_from(3)
        monkeypatch.setenv(P.SCHEDULER_ENV, "local:0")
        with pytest.raises(ValueError, match="local:N"):
            P.executor_from(None)

    def test_scheduler_environment(self, monkeypatch):
        monkeypatch.setenv(P.SCHEDULER_ENV, "tcp://elsewhere:8786")
        with P.scheduler_environment("inprocess") as value:
            assert value == "inprocess" and isinstance(P.executor_from(None), P.LocalExecutor)
        assert P.os.environ[P.SCHEDULER_ENV] == "tcp://elsewhere:8786"  # put back
        with P.scheduler_environment(None) as value:
            assert value == "tcp://elsewhere:8786"
        monkeypatch.delenv(P.SCHEDULER_ENV)
        with pytest.raises(ValueError, match="local:N"):
            with P.scheduler_environment("local:-1"):
                pass
        assert P.SCHEDULER_ENV not in P.os.environ

    def test_command_lines_refuse_bad_scheduler(self, capsys):
        from fusionlib import book
        from fusionlib.experiments import aenet
        assert book.main(["--scheduler", "local:x", "--no-build"]) == 1
        assert aenet.main(["--out", "never.pt", "--scheduler", "local:x"]) == 1
        err = capsys.readouterr().err.splitlines()
        assert len(err) == 2 and all("`--scheduler`" in e and "local:N" in e for e in err)

    def test_without_dask(self, monkeypatch):
        monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
        with pytest.raises(ImportError, match=r"pip install fusionbook-lib\[dask\]"):
            P.dask_executor()
        with pytest.raises(ImportError, match=r"pip install fusionbook-lib\[dask\]"):
            P.executor_from("local:2")


class TestFaultsInProcess:
    def test_iaoa_failed_task_keeps_others_and_resumes(self, tmp_path, monkeypatch):
        problem = E.IAOAProblem([_pair(0), _pair(1)], weights="nnls")
        kw = dict(optimizers=("pso", "de"), n_runs=2, n_iter=4, cache_dir=tmp_path)
        real = E._run_one
        calls = []

        def flaky(problem, i, o, cfg):
            calls.append((problem.ids[i], o))
            if (problem.ids[i], o) == ("p1", "de"):
                raise RuntimeError("worker lost")
            return real(problem, i, o, cfg)
        monkeypatch.setattr(E, "_run_one", flaky)
        with pytest.raises(P.TaskError, match="task p1/de failed with RuntimeError: worker lost"):
            E.run_experiment(problem, **kw)
        assert len(list(tmp_path.glob("*.npz"))) == 3  # the three finished tasks are cached
        assert not list(tmp_path.glob(".*tmp*"))
        calls.clear()
        monkeypatch.setattr(E, "_run_one", real)
        monkeypatch.setattr(E, "_run_one", lambda *a: (calls.append(a[0].ids[a[1]] + "/" + a[2]), real(*a))[1])
        df = E.run_experiment(problem, **kw)
        assert calls == ["p1/de"] and len(df) == 8  # only the failed task is recomputed
        _frames_equal(df, E.run_experiment(problem, **{**kw, "cache_dir": tmp_path / "fresh"}))

    def test_labels_failed_task_keeps_others_and_resumes(self, tmp_path, monkeypatch):
        pairs = _pairs(2)
        real = L._fuse_candidate
        calls = []

        def flaky(sources, method, params, device):
            calls.append(method)
            if method == "lp" and len(calls) > 2:  # the second pair's lp
                raise MemoryError("out of memory")
            return real(sources, method, params, device)
        monkeypatch.setattr(L, "_fuse_candidate", flaky)
        with pytest.raises(P.TaskError, match=r"task pair 1 \([0-9a-f]{16}\)/lp failed with MemoryError"):
            L.label_pairs(pairs, "infrared-visible", cache_dir=tmp_path, methods=LIB)
        assert len(list((tmp_path / "candidates").glob("*.npy"))) == 3  # the finished candidates are kept
        calls.clear()
        monkeypatch.setattr(L, "_fuse_candidate", lambda *a: (calls.append(a[1]), real(*a))[1])
        run = L.label_pairs(pairs, "infrared-visible", cache_dir=tmp_path, methods=LIB)
        assert calls == ["lp"] and (run.n_computed, run.n_cached) == (1, 3)
        ref = L.label_pairs(pairs, "infrared-visible", cache_dir=tmp_path / "fresh", methods=LIB)
        for r, g in zip(ref.records, run.records):
            assert (r.method, r.scores) == (g.method, g.scores)
            np.testing.assert_array_equal(r.label, g.label)

    def test_labels_e2_scoring_runs_on_the_executor(self, tmp_path, monkeypatch):
        """Each pair without a cached decision is scored by one ``_score_task`` on the executor, in
        chunks of ``SCORE_CHUNK`` pairs; a failed scoring task names its pair and keeps the others'
        decisions; a rerun scores only the missing pair, and the labels equal a fresh run's."""
        pairs = _pairs(3)
        seen = []

        class Spy(P.LocalExecutor):
            def map(self, fn, items, **kw):
                seen.append((fn.__name__, len(list(items))))
                return super().map(fn, items, **kw)
        monkeypatch.setattr(L, "SCORE_CHUNK", 2)
        real = L._score
        monkeypatch.setattr(L, "_score", lambda c, s, o: (_ for _ in ()).throw(ValueError("bad pair"))
                            if np.array_equal(s[0], pairs[2][0]) else real(c, s, o))
        with pytest.raises(P.TaskError, match=r"task E2 of pair 2 \([0-9a-f]{16}\) failed with ValueError: bad pair"):
            L.label_pairs(pairs, "infrared-visible", cache_dir=tmp_path, methods=LIB, executor=Spy())
        assert seen == [("_candidate_task", 6), ("_score_task", 2), ("_score_task", 1)]
        assert len(list((tmp_path / "labels").glob("*.json"))) == 2  # pairs 0 and 1 kept
        monkeypatch.setattr(L, "_score", real)
        seen.clear()
        run = L.label_pairs(pairs, "infrared-visible", cache_dir=tmp_path, methods=LIB, executor=Spy())
        assert seen == [("_score_task", 1)]  # candidates all cached, one decision missing
        ref = L.label_pairs(pairs, "infrared-visible", cache_dir=tmp_path / "fresh", methods=LIB)
        for r, g in zip(ref.records, run.records):
            assert (r.method, r.scores, r.e2_metrics) == (g.method, g.scores, g.e2_metrics)
            np.testing.assert_array_equal(r.label, g.label)


try:
    import distributed  # noqa: F401
    HAVE_DASK = True
except ImportError:  # pragma: no cover - the dask extra is optional
    HAVE_DASK = False


@pytest.fixture(scope="module")
def dask_ex():
    if not HAVE_DASK:
        pytest.skip("dask.distributed not installed (pip install fusionbook-lib[dask])")
    import cloudpickle
    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import this test module
    ex = P.dask_executor(n_workers=2)
    yield ex
    ex.close()


class TestDask:
    def test_cluster_shape(self, dask_ex):
        info = dask_ex.client.scheduler_info()["workers"]
        assert len(info) == 2 and all(w["nthreads"] == 1 for w in info.values())

    def test_worker_malloc_environment(self, dask_ex):
        """The LocalCluster's workers keep glibc's mmap threshold high (P.WORKER_MMAP_THRESHOLD): with
        Dask's MALLOC_TRIM_THRESHOLD_ alone every allocation of 128 kB or more is a fresh mmap."""
        import os
        env = dask_ex.client.run(lambda: (os.environ.get("MALLOC_MMAP_THRESHOLD_"),
                                          os.environ.get("MALLOC_TRIM_THRESHOLD_")))
        assert len(env) == 2
        assert all(v[0] == str(P.WORKER_MMAP_THRESHOLD) for v in env.values()), env

    def test_labels_same_bits(self, dask_ex, tmp_path):
        pairs = _pairs(3)
        ref = L.label_pairs(pairs, "infrared-visible", cache_dir=tmp_path / "a", methods=LIB,
                            executor=P.LocalExecutor())
        got = L.label_pairs(pairs, "infrared-visible", cache_dir=tmp_path / "b", methods=LIB, executor=dask_ex)
        assert (got.n_computed, got.n_cached) == (ref.n_computed, ref.n_cached) == (6, 0)
        for r, g in zip(ref.records, got.records):
            assert (r.method, r.scores, r.e2_metrics) == (g.method, g.scores, g.e2_metrics)
            np.testing.assert_array_equal(r.label, g.label)
        files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
        assert files and files == sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*")
                                         if p.is_file())
        assert all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files)
        again = L.label_pairs(pairs, "infrared-visible", cache_dir=tmp_path / "b", methods=LIB, executor=dask_ex)
        assert (again.n_computed, again.n_cached) == (0, 6)

    def test_iaoa_same_bits(self, dask_ex, tmp_path):
        problem = E.IAOAProblem([_pair(0), _pair(1)], weights="nnls")
        kw = dict(optimizers=OPTS, n_runs=2, n_iter=5)
        ref = E.run_experiment(problem, **kw)  # the default: in this process
        got = E.run_experiment(problem, executor=dask_ex, cache_dir=tmp_path, **kw)
        assert len(got) == 2 * len(OPTS) * 2
        _frames_equal(ref, got)
        _frames_equal(ref, E.run_experiment(problem, executor=dask_ex, cache_dir=tmp_path, **kw))  # from cache

    def test_training_grid_same_bits(self, dask_ex, tmp_path):
        """Two grid networks trained on the 2 workers equal the in-process run weight for weight (every
        grid run trains on G.TRAIN_THREADS threads, here or on a worker), and the provenance agrees."""
        import torch

        from fusionlib.experiments import aenet_grid as G
        data = _data(G.TASKS)
        es = [G.GridEntry("aenetv2_pp", "medical", 0), G.GridEntry("aenetv2_gcb", "mixed", 1)]
        threads = torch.get_num_threads()
        torch.set_num_threads(2)  # the grid trains on G.TRAIN_THREADS whatever this process uses
        try:
            ref = G.train_grid(es, data, tmp_path / "a", recipe=TINY, executor=P.LocalExecutor())
            assert torch.get_num_threads() == 2
            got = G.train_grid(es, data, tmp_path / "b", recipe=TINY, executor=dask_ex)
        finally:
            torch.set_num_threads(threads)
        assert not list((tmp_path / "b").glob("*.train.pt"))  # the scratch files are gone
        for e, r, g in zip(es, ref, got):
            a = torch.load(tmp_path / "a" / f"{e.name}.pt", weights_only=False)["model"]
            b = torch.load(tmp_path / "b" / f"{e.name}.pt", weights_only=False)["model"]
            assert list(a) == list(b) and all(torch.equal(a[k], b[k]) for k in a), e.name
            for k in ("steps", "best_step", "val_curve", "recipe_digest", "labels_digest", "parameters"):
                assert r[k] == g[k], (e.name, k)
        assert (tmp_path / "a" / "labels.json").read_bytes() == (tmp_path / "b" / "labels.json").read_bytes()

    def test_exception_names_item_keeps_others(self, dask_ex):
        seen = {}
        with pytest.raises(P.TaskError, match="task 'x' failed with ValueError: no square for x") as ei:
            dask_ex.map(_square_or_fail, [2, "x", 3, 4], bad=("x",), on_result=seen.__setitem__)
        assert seen == {0: 4, 2: 9, 3: 16} and ei.value.results == [4, None, 9, 16]
        assert dask_ex.map(_square_or_fail, list(range(6))) == [i * i for i in range(6)]  # input order

    def test_scheduler_environment_address(self, dask_ex, monkeypatch):
        """An address is exported as is; executor_from(None) then connects to that cluster."""
        monkeypatch.delenv(P.SCHEDULER_ENV, raising=False)
        addr = dask_ex.client.scheduler.address
        with P.scheduler_environment(addr) as value:
            assert value == addr
            with P.executor_from(None) as ex:
                assert isinstance(ex, P.DaskExecutor) and ex.cluster is None
                assert ex.map(_square_or_fail, [1, 2, 3]) == [1, 4, 9]
        assert P.SCHEDULER_ENV not in P.os.environ
        assert dask_ex.map(_square_or_fail, [5]) == [25]  # closing the second client left the cluster up

    def test_killed_worker_no_partial_entry(self, dask_ex, tmp_path):
        """A worker dies in the middle of a task: Dask reruns it elsewhere, the cache holds whole entries
        only (the client writes them), the rows equal the in-process run, and a rerun computes nothing."""
        kw = dict(optimizers=("pso", "de"), n_runs=2, n_iter=4)
        ref = E.run_experiment(E.IAOAProblem([_pair(0), _pair(1)], weights="nnls"), **kw)
        killer = E.IAOAProblem([_pair(0), _pair(1)], weights="nnls")
        killer.__class__ = _KillOnce
        killer.marker = str(tmp_path / "killed")
        got = E.run_experiment(killer, executor=dask_ex, cache_dir=tmp_path / "cache", **kw)
        assert (tmp_path / "killed").exists()  # a worker did die
        _frames_equal(ref, got)
        files = sorted((tmp_path / "cache").iterdir())
        assert len(files) == 4 and all(f.suffix == ".npz" and not f.name.startswith(".") for f in files)
        cached = [E._read_cached(f, f.name.split("__")[0], f.name.split("__")[1], E.RunConfig(**kw).validate())
                  for f in files]  # every entry whole and valid
        assert all(len(c) == 2 for c in cached)
        boom = _KillOnce.__new__(_KillOnce)
        boom.__dict__.update(killer.__dict__, marker=str(tmp_path / "never"))
        boom.fitness = None  # any recomputation would fail: the rerun must come from the cache
        _frames_equal(ref, E.run_experiment(boom, executor=dask_ex, cache_dir=tmp_path / "cache", **kw))


class _KillOnce(E.IAOAProblem):
    """Kills the worker process the first time pair p1 is optimised (``marker`` records that it did)."""

    def fitness(self, i):
        import os
        if self.ids[i] == "p1" and not os.path.exists(self.marker):
            open(self.marker, "w").close()
            os._exit(1)
        return super().fitness(i)


class TestExpectedSpeedup:
    def test_known_value(self):
        # 10 tasks of 1 s on 4 workers: 3 waves; 0.1 s overhead per task in the client -> T = 3 + 1
        assert P.expected_speedup(4, n_tasks=10, task_s=1.0, overhead_s=0.1) == pytest.approx(10 / 4)
        # a serial step and per-task client work stay in both times: (10 + 2 + 5) / (1 + 2 + 0 + 5)
        assert P.expected_speedup(10, n_tasks=10, task_s=1.0, client_s=0.2, serial_s=5.0) == pytest.approx(17 / 8)

    def test_invariants(self):
        assert P.expected_speedup(1, n_tasks=7, task_s=0.3) == 1.0  # one worker, no overhead: the loop
        s = [P.expected_speedup(w, n_tasks=1000, task_s=0.01, overhead_s=1e-3) for w in (1, 2, 8, 64, 512)]
        assert s == sorted(s) and s[-1] < 1 / 0.1 + 1e-9  # bounded by task_s / overhead_s (Amdahl)
        # more workers than tasks: one wave, no further gain
        assert P.expected_speedup(50, n_tasks=5, task_s=1.0) == P.expected_speedup(500, n_tasks=5, task_s=1.0) == 5

    def test_exception(self):
        with pytest.raises(ValueError, match="`workers` must be an int >= 1"):
            P.expected_speedup(0, n_tasks=1, task_s=1.0)
        with pytest.raises(TypeError, match="`n_tasks` must be an int"):
            P.expected_speedup(2, n_tasks=1.5, task_s=1.0)
        with pytest.raises(ValueError, match="`overhead_s` expected a finite number >= 0"):
            P.expected_speedup(2, n_tasks=1, task_s=1.0, overhead_s=-1.0)
        with pytest.raises(TypeError, match="`task_s` expected a number"):
            P.expected_speedup(2, n_tasks=1, task_s="1")
        with pytest.raises(ValueError, match="undefined"):
            P.expected_speedup(2, n_tasks=1, task_s=0.0)


@pytest.mark.slow
class TestSchedulerEnvironment:
    def test_iaoa_inprocess_and_local2_same_rows(self, monkeypatch, tmp_path):
        """``FUSIONLIB_SCHEDULER`` read through executor_from (executor=None): 'inprocess' and 'local:2'
        (a Dask LocalCluster of 2 workers started and closed by run_experiment) give the same rows."""
        if not HAVE_DASK:
            pytest.skip("dask.distributed not installed (pip install fusionbook-lib[dask])")
        problem = E.IAOAProblem([_pair(0), _pair(1)], weights="nnls")
        kw = dict(optimizers=OPTS, n_runs=2, n_iter=5)
        started = []
        real = P.dask_executor

        def spy(address=None, n_workers=None, **k):
            started.append((address, n_workers))
            return real(address, n_workers, **k)
        monkeypatch.setattr(P, "dask_executor", spy)
        monkeypatch.setenv(P.SCHEDULER_ENV, "inprocess")
        ref = E.run_experiment(problem, cache_dir=tmp_path / "a", **kw)
        assert started == []
        monkeypatch.setenv(P.SCHEDULER_ENV, "local:2")
        got = E.run_experiment(problem, cache_dir=tmp_path / "b", **kw)
        assert started == [(None, 2)]  # the environment did pick the 2-worker cluster
        _frames_equal(ref, got)
        assert sorted(f.name for f in (tmp_path / "a").iterdir()) == sorted(f.name for f in (tmp_path / "b").iterdir())
