"""One executor seam for the grid loops (IAOA runs, AE-Netv2 label candidates).

An executor runs a pure function over a list of items and gives the results back **in input order**:

* :class:`LocalExecutor` (the default): in this process, one item after the other, exactly today's loop.
* :func:`dask_executor`: a ``dask.distributed.Client`` (``address=None`` starts a ``LocalCluster`` of
  processes, one thread each); needs the ``dask`` extra (``pip install fusionbook-lib[dask]``).

Each task is a pure function of its inputs; results travel back to the client, which alone writes them
through the caches (``on_result``, called in the client as each task completes), so workers never write
the same file and a killed worker leaves no partial cache entry. An exception in one task does not lose
the others: every task runs, every success reaches ``on_result``, then :class:`TaskError` names the
failed items.

:func:`executor_from` turns a specification into an executor: ``None`` (then ``FUSIONLIB_SCHEDULER``),
``""`` or ``"inprocess"`` (in this process), ``"local"`` / ``"local:N"`` (a Dask ``LocalCluster`` of
N workers), or a scheduler address (``tcp://host:8786``).
"""
from __future__ import annotations

import contextlib
import os
from typing import Any, Callable, Iterator, Sequence

from ._checks import check_int

__all__ = ["Executor", "LocalExecutor", "DaskExecutor", "TaskError", "dask_executor", "executor_from", "using",
           "SCHEDULER_ENV", "scheduler_environment", "expected_speedup"]

#: Environment variable read by :func:`executor_from` when no specification is given.
SCHEDULER_ENV = "FUSIONLIB_SCHEDULER"

_DASK_HINT = "pip install fusionbook-lib[dask]"


class TaskError(RuntimeError):
    """One or more tasks failed; ``errors`` maps input index -> (item label, exception), ``results`` holds
    the finished tasks' results (None where a task failed). Raised from the first failure, and also an
    instance of its type where Python allows (:func:`_task_error`), so ``except ValueError`` written for
    the serial loop still catches a task's ``ValueError``."""

    def __init__(self, where: str, errors: dict[int, tuple[str, BaseException]], results: list):
        self.errors = errors
        self.results = results
        first = min(errors)
        label, exc = errors[first]
        more = f" (and {len(errors) - 1} more: {', '.join(errors[k][0] for k in sorted(errors)[1:6])})" \
            if len(errors) > 1 else ""
        self.message = (f"{where}: task {label} failed with {type(exc).__name__}: {exc}{more}; "
                        f"{len(results) - len(errors)} of {len(results)} tasks finished")
        super().__init__(self.message)

    def __str__(self) -> str:  # not the failed exception type's own __str__ (KeyError quotes, ...)
        return self.message


def _task_error(where: str, errors: dict, results: list) -> TaskError:
    """A :class:`TaskError` that is also an instance of the first failure's exception type."""
    base = type(errors[min(errors)][1])
    if issubclass(base, Exception) and not issubclass(base, TaskError):
        try:
            cls = type(f"TaskError[{base.__name__}]", (TaskError, base), {"__module__": __name__})
            return cls(where, errors, results)
        except TypeError:  # incompatible layouts (OSError, ...): a plain TaskError
            pass
    return TaskError(where, errors, results)


def _label(item: Any, labels: Sequence[str] | None, i: int) -> str:
    return labels[i] if labels is not None else repr(item)


class _Box:
    """One shared argument, scattered whole (``Client.scatter`` would split a list or a dict)."""

    __slots__ = ("value",)

    def __init__(self, value: Any):
        self.value = value


def _call(fn: Callable, item: Any, kwargs: dict, torch_threads: int | None):
    """What a worker runs: ``fn(item, **kwargs)``, with torch's intra-op thread count of the client (a
    reduction split over another number of threads could round differently)."""
    if torch_threads is not None:
        import torch
        if torch.get_num_threads() != torch_threads:
            torch.set_num_threads(torch_threads)
    return fn(item, **{k: v.value if isinstance(v, _Box) else v for k, v in kwargs.items()})


class Executor:
    """``map(fn, items, **kwargs)``: ``[fn(item, **kwargs) for item in items]`` in input order.

    ``on_result(index, result)`` is called in the calling process as each task completes (write caches
    there); ``labels`` name the items in errors; ``progress=True`` shows a bar over completed tasks.
    """

    name = "executor"

    def map(self, fn: Callable, items: Sequence[Any], *, on_result: Callable[[int, Any], None] | None = None,
            labels: Sequence[str] | None = None, progress: bool = False, desc: str | None = None,
            **kwargs) -> list:
        items = list(items)
        if labels is not None and len(labels) != len(items):
            raise ValueError(f"{type(self).__name__}.map: `labels` expected {len(items)} names; got {len(labels)}")
        results: list = [None] * len(items)
        errors: dict[int, tuple[str, BaseException]] = {}
        bar = None
        if progress and items:
            from .utils import progress as prog
            bar = prog(total=len(items), desc=desc or "tasks")
        try:
            for i, ok, value in self._run(fn, items, kwargs):
                if ok:
                    results[i] = value
                    if on_result is not None:
                        on_result(i, value)
                else:
                    errors[i] = (_label(items[i], labels, i), value)
                if bar is not None:
                    bar.update(1)
        finally:
            if bar is not None:
                bar.close()
        if errors:
            raise _task_error(desc or f"{type(self).__name__}.map", errors, results) from errors[min(errors)][1]
        return results

    def submit(self, fn: Callable, item: Any, **kwargs):
        """One task: its result (blocking)."""
        return self.map(fn, [item], **kwargs)[0]

    def _run(self, fn, items, kwargs):  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class LocalExecutor(Executor):
    """In this process, in input order: the loop the grids always ran (same operations, same bits)."""

    name = "inprocess"

    def _run(self, fn, items, kwargs):
        for i, item in enumerate(items):
            try:
                value = fn(item, **kwargs)
            except Exception as e:  # noqa: BLE001 - reported per item by TaskError
                yield i, False, e
            else:
                yield i, True, value

    def __repr__(self) -> str:
        return "LocalExecutor()"


class DaskExecutor(Executor):
    """Tasks on a ``dask.distributed.Client``; shared keyword arguments are scattered once per ``map``.
    Results are gathered through ``distributed.as_completed`` and placed by input index."""

    name = "dask"

    def __init__(self, client, *, cluster=None, own_client: bool = False):
        self.client = client
        self.cluster = cluster
        self._own = own_client

    def _run(self, fn, items, kwargs):
        from distributed import as_completed
        import torch
        threads = torch.get_num_threads()
        shared = {k: self.client.scatter(_Box(v), broadcast=True, hash=False) for k, v in kwargs.items()}
        futures = [self.client.submit(_call, fn, item, shared, threads, pure=False) for item in items]
        index = {f.key: i for i, f in enumerate(futures)}
        try:
            for fut in as_completed(futures):
                i = index[fut.key]
                if fut.status == "finished":
                    yield i, True, fut.result()
                else:  # "error", or "cancelled" (the scheduler went away)
                    try:
                        exc = fut.exception()
                    except BaseException as e:  # noqa: BLE001 - CancelledError and the like
                        exc = e
                    yield i, False, exc if isinstance(exc, Exception) else RuntimeError(f"{fut.status}: {exc!r}")
                fut.release()
        finally:
            for f in futures:
                f.cancel()

    def close(self) -> None:
        if self._own:
            self.client.close()
            if self.cluster is not None:
                self.cluster.close()

    def __repr__(self) -> str:
        return f"DaskExecutor({self.client.scheduler.address!r})"


def _import_distributed():
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise ImportError(f"dask_executor: Dask is not installed; {_DASK_HINT}") from None
    return distributed


#: glibc's mmap threshold in the workers of the LocalCluster that :func:`dask_executor` starts. Dask's
#: nanny sets ``MALLOC_TRIM_THRESHOLD_=65536`` in its workers' environment (to hand freed memory back to
#: the system), and setting any malloc threshold turns off glibc's dynamic mmap threshold: every
#: allocation of 128 kB or more is then a fresh ``mmap`` whose pages fault in on first touch, and the
#: tasks of this package (torch and NumPy temporaries of a few hundred kB to a few MB) ran 2.3-3.5x
#: slower in a worker than in process. 32 MiB (the ceiling of the dynamic threshold on 64-bit glibc)
#: serves them from the heap again; Dask's trim threshold is kept.
WORKER_MMAP_THRESHOLD = 32 * 2 ** 20


def dask_executor(address: str | None = None, n_workers: int | None = None, **cluster_kwargs) -> DaskExecutor:
    """An executor backed by ``dask.distributed.Client(address)``; ``address=None`` starts a
    ``LocalCluster`` of ``n_workers`` processes with one thread each (closed with the executor), whose
    workers get ``MALLOC_MMAP_THRESHOLD_`` = :data:`WORKER_MMAP_THRESHOLD` unless Dask's configuration
    (``distributed.nanny.pre-spawn-environ``) already sets it. Workers of a cluster started elsewhere
    (an ``address``) are configured there: give them the same variable (``DEVELOPING.md``)."""
    distributed = _import_distributed()
    if address is not None and not isinstance(address, str):
        raise TypeError(f"dask_executor: `address` expected a str or None; got {type(address).__name__}")
    if n_workers is not None:
        check_int("dask_executor", "n_workers", n_workers, minimum=1)
    if address is not None:
        return DaskExecutor(distributed.Client(address), own_client=True)
    kw = dict(n_workers=n_workers or max(1, (os.cpu_count() or 2) // 2), threads_per_worker=1,
              processes=True, dashboard_address=None)
    kw.update(cluster_kwargs)
    import dask
    env = dict(dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {})
    env.setdefault("MALLOC_MMAP_THRESHOLD_", WORKER_MMAP_THRESHOLD)
    with dask.config.set({"distributed.nanny.pre-spawn-environ": env}):
        cluster = distributed.LocalCluster(**kw)
    return DaskExecutor(distributed.Client(cluster), cluster=cluster, own_client=True)


def executor_from(spec: "str | Executor | None" = None) -> Executor:
    """An executor from ``spec``: an :class:`Executor` (returned as is); None (read ``FUSIONLIB_SCHEDULER``,
    in-process when unset); ``""``/``"inprocess"``; ``"local"`` or ``"local:N"`` (a Dask LocalCluster of N
    worker processes); any other string is a Dask scheduler address."""
    if isinstance(spec, Executor):
        return spec
    if spec is None:
        spec = os.environ.get(SCHEDULER_ENV, "")
    if not isinstance(spec, str):
        raise TypeError(f"executor_from: `spec` expected a str, an Executor or None; got {type(spec).__name__}")
    s = spec.strip()
    if s in ("", "inprocess"):
        return LocalExecutor()
    if s == "local" or s.startswith("local:"):
        n = s.partition(":")[2]
        if n and not (n.isdigit() and int(n) >= 1):
            raise ValueError(f"executor_from: `spec` expected 'local:N' with N a positive int; got {spec!r}")
        return dask_executor(None, int(n) if n else None)
    return dask_executor(s)


@contextlib.contextmanager
def using(executor: "str | Executor | None") -> Iterator[Executor]:
    """``with using(executor) as ex:`` the executor of :func:`executor_from`, closed at the end only if
    this block created it (a caller's :class:`Executor` stays open for its next grid)."""
    ex = executor_from(executor)
    try:
        yield ex
    finally:
        if ex is not executor:
            ex.close()


@contextlib.contextmanager
def scheduler_environment(spec: str | None) -> Iterator[str | None]:
    """Set ``FUSIONLIB_SCHEDULER`` for this process and its children (notebook kernels) while the block
    runs, then put it back. ``"local"``/``"local:N"`` starts **one** LocalCluster for the whole block and
    exports its address (so every grid of every chapter shares it instead of starting its own); an
    address or ``"inprocess"`` is exported as is; None changes nothing. Yields the exported value."""
    if spec is None:
        yield os.environ.get(SCHEDULER_ENV)
        return
    ex = executor_from(spec)  # validates the specification (and that Dask is there when it is needed)
    old = os.environ.get(SCHEDULER_ENV)
    if not isinstance(ex, DaskExecutor):
        value = "inprocess"
    else:  # the started cluster's address, or the address given
        value = ex.client.scheduler.address if ex.cluster is not None else spec.strip()
    os.environ[SCHEDULER_ENV] = value
    try:
        yield value
    finally:
        if old is None:
            os.environ.pop(SCHEDULER_ENV, None)
        else:
            os.environ[SCHEDULER_ENV] = old
        ex.close()


def expected_speedup(workers: int, *, n_tasks: int, task_s: float, overhead_s: float = 0.0,
                     client_s: float = 0.0, serial_s: float = 0.0) -> float:
    """The scaling model of the grids (Amdahl with a serial client): the speed-up over the in-process loop
    of ``n_tasks`` tasks of ``task_s`` seconds each on ``workers`` one-thread workers.

    In process the grid takes ``T1 = n * (task_s + client_s) + serial_s``: ``client_s`` is the per-task work
    that stays in the client whatever the executor (the cache write in ``on_result``), ``serial_s`` a serial
    step after the grid (the E2 scoring of the label grid). On W workers the tasks run in
    ``ceil(n / W)`` waves, and the client adds ``overhead_s`` per task (scheduling, scatter, transfer; one
    client, so serial)::

        T(W) = ceil(n / W) * task_s + n * (overhead_s + client_s) + serial_s,   S(W) = T1 / T(W)

    The ``overhead_s`` is measured by ``benchmarks/bench_parallel.py`` (a no-op task map)."""
    check_int("expected_speedup", "workers", workers, minimum=1)
    check_int("expected_speedup", "n_tasks", n_tasks, minimum=1)
    for name, v in (("task_s", task_s), ("overhead_s", overhead_s), ("client_s", client_s),
                    ("serial_s", serial_s)):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise TypeError(f"expected_speedup: `{name}` expected a number; got {type(v).__name__}")
        if not 0 <= v < float("inf"):
            raise ValueError(f"expected_speedup: `{name}` expected a finite number >= 0; got {v!r}")
    t1 = n_tasks * (task_s + client_s) + serial_s
    waves = -(-n_tasks // workers)
    tw = waves * task_s + n_tasks * (overhead_s + client_s) + serial_s
    if tw == 0:
        raise ValueError("expected_speedup: every time is 0; the speed-up is undefined")
    return t1 / tw
