"""Sweeps as lists of independent tasks, run through one executor interface (issue 16).

A sweep (the experiment catalogue, ``sharpsim verify``) is a list of :class:`Task` objects: a
module-level function and its arguments, with an identity ``(group, tid)``. A task's random keys
derive only from (the sweep's seed, its identity), with ``jax.random.fold_in`` over the task's
indices, never from the order of execution, so its result is the same bits whether it runs in
this process, in a local process pool or on a Dask worker of another machine. The driver
:func:`run_tasks` submits the tasks, calls ``on_result`` *in this process* as each one finishes
(so only the client writes files) and retries a task whose worker died.

Executors (all ``concurrent.futures.Executor``-shaped; :func:`make_executor` builds them):

* ``inline`` (default, no extra dependency): each task runs in this process, in order, when the
  driver reaches it; a Ctrl-C loses nothing already handed to ``on_result``.
* ``processes``: a ``ProcessPoolExecutor`` of ``workers`` spawned processes; a dead worker breaks
  the pool, which is rebuilt and the unfinished tasks resubmitted (up to ``retries`` times).
* ``dask``: Dask distributed (``pip install "sharpsim[dask]"``), through ``Client.get_executor``.
  ``scheduler="tcp://HOST:8786"`` joins a running cluster (any machines: SLURM through
  dask-jobqueue, Kubernetes through dask-kubernetes, ``dask scheduler`` / ``dask worker`` by
  hand); ``workers=k`` starts a ``LocalCluster`` of k single-threaded worker processes. The
  scheduler reruns a task whose worker died on another worker.

Like any multiprocessing or Dask ``LocalCluster`` code, a script that builds a ``processes`` or
local ``dask`` executor must do so under ``if __name__ == "__main__":`` (the workers are spawned
and re-import the script); the ``sharpsim`` command does this for you.

Every worker turns on JAX's persistent compilation cache in a directory shared by all of them
(:func:`enable_compilation_cache`), so an executable is compiled once per machine (once overall
on a shared filesystem), and uses float64 (``import sharpsim``).
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from typing import Any, NamedTuple

EXECUTORS = ("inline", "processes", "dask")
DEFAULT_RETRIES = 2


def default_cache_dir() -> str:
    """The persistent compilation cache folder: ``$SHARPSIM_JAX_CACHE`` or ``~/.cache/sharpsim/jax``."""
    return os.environ.get("SHARPSIM_JAX_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "sharpsim", "jax"))


_CACHE_ON: str | None = None


def compilation_cache_settings(path: str) -> dict:
    """JAX's options for a persistent compilation cache in ``path`` that caches every compile (no
    minimum compile time or entry size; issue 12). Each can also be given to a process through the
    environment variable of its upper-case name (``JAX_COMPILATION_CACHE_DIR``, ...)."""
    return {"jax_compilation_cache_dir": path, "jax_persistent_cache_min_compile_time_secs": 0,
            "jax_persistent_cache_min_entry_size_bytes": 0}


AOT_SUBDIR = "sharpsim-aot"
"""The folder, inside the compilation cache, of :mod:`sharpsim.aot`'s executables keyed by the call."""


def enable_compilation_cache(path: str | None = None) -> str:
    """Turn on JAX's persistent compilation cache in ``path`` (default :func:`default_cache_dir`)
    with :func:`compilation_cache_settings`, and sharpsim's cache of executables keyed by the call
    (:mod:`sharpsim.aot`, in ``path/sharpsim-aot``: a warm process skips tracing and lowering too).
    Idempotent per process."""
    global _CACHE_ON
    import jax

    from . import aot

    path = path or default_cache_dir()
    if _CACHE_ON != path:
        os.makedirs(path, exist_ok=True)
        for name, value in compilation_cache_settings(path).items():
            jax.config.update(name, value)
        aot.set_cache_dir(os.path.join(path, AOT_SUBDIR))
        _CACHE_ON = path
    return path


def compilation_cache_from_env() -> str | None:
    """The command-line policy (``reproduce``, ``verify``): the persistent compilation cache on, in
    :func:`default_cache_dir`, unless ``$SHARPSIM_NO_JAX_CACHE`` is set; returns its folder (the
    ``cache_dir`` to hand to the workers) or None."""
    return None if os.environ.get("SHARPSIM_NO_JAX_CACHE") else enable_compilation_cache()


#: :func:`release_compiled_if_near_map_limit` acts above this fraction of the kernel's limit.
MAP_LIMIT_FRACTION = 0.5


def memory_map_counts() -> tuple[int, int] | None:
    """``(n, limit)``: the memory mappings this process holds now and the kernel's per-process
    limit ``vm.max_map_count``; None where ``/proc`` does not tell (not Linux)."""
    try:
        with open("/proc/sys/vm/max_map_count") as f:
            limit = int(f.read())
        with open("/proc/self/maps", "rb") as f:
            n = f.read().count(b"\n")
    except (OSError, ValueError):
        return None
    return n, limit


def release_compiled_if_near_map_limit(fraction: float = MAP_LIMIT_FRACTION) -> bool:
    """Drop JAX's in-memory compiled executables (``jax.clear_caches()``, :func:`sharpsim.aot.clear`)
    when this process holds more than ``fraction`` of the kernel's limit on memory mappings; returns
    whether it did.

    Why: every live XLA:CPU executable holds its own ~25 memory mappings (its code and data
    sections), and a module-level jitted function keeps one executable per input shape for the
    life of the process. Linux caps a process at ``vm.max_map_count`` mappings (65530 by
    default); past that the next compile cannot map its code and the process dies with SIGSEGV
    (measured: ~26 mappings per executable, the crash at ~2,500 executables in one process, which
    the test suite reached). Clearing releases them; a later call of a dropped shape compiles again
    (from the persistent compilation cache when it is on), to the same executable, so results are
    unchanged. :func:`call_task` calls this after every task. ``fraction`` in (0, 1]."""
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)):
        raise TypeError(f"fraction must be a float; got {type(fraction).__name__}")
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1]; got {fraction}")
    counts = memory_map_counts()
    if counts is None or counts[0] <= fraction * counts[1]:
        return False
    import gc

    import jax

    from . import aot

    jax.clear_caches()
    aot.clear()
    gc.collect()
    return True


# --------------------------------------------------------------------------- JSON at the task boundary

def to_jsonable(obj):
    """``obj`` after a JSON round trip (numpy scalars and arrays -> Python numbers and lists,
    tuples -> lists; NaN and inf kept). Every task result crosses this boundary, in every
    executor, so a result assembled in-process, after a process hop or from a resumed file is
    the same."""
    return json.loads(json.dumps(obj, default=_json_default))


def _json_default(o):
    import numpy as np

    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.bool_):
        return bool(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def write_json_atomic(path: str, payload: dict) -> None:
    """Write ``payload`` as JSON to ``path`` through a temporary file and ``os.replace``."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(payload, f, indent=1, default=_json_default)
    os.replace(tmp, path)


# --------------------------------------------------------------------------- tasks

class Task(NamedTuple):
    """One independent unit of a sweep: ``fn(*args)`` (``fn`` module-level, so it pickles).
    ``group`` (e.g. the experiment) and ``tid`` (a tuple of str/int) name it; its random keys
    must derive only from its arguments (seed and tid)."""

    group: str
    tid: tuple
    fn: Callable
    args: tuple

    @property
    def label(self) -> str:
        return f"{self.group}{list(self.tid)}"


def tid_key(tid) -> str:
    """The string form of a task id (the key of a resumable partial-results file)."""
    return json.dumps(list(tid))


def call_task(fn: Callable, args: tuple, cache_dir: str | None):
    """What a worker runs: ``fn(*args)`` with the compilation cache on, returned as
    ``(to_jsonable(result), seconds)``; then :func:`release_compiled_if_near_map_limit`, so a
    long sweep in one process never runs out of memory mappings."""
    import sharpsim  # noqa: F401  (float64 in every worker)

    if cache_dir:
        enable_compilation_cache(cache_dir)
    t0 = time.perf_counter()
    out = fn(*args)
    sec = time.perf_counter() - t0
    res = to_jsonable(out)
    release_compiled_if_near_map_limit()
    return res, sec


# --------------------------------------------------------------------------- executors

class InlineExecutor(cf.Executor):
    """Runs each submitted call at once in this process (the default executor)."""

    name = "inline"
    workers = 1

    def submit(self, fn, /, *args, **kwargs):
        f = cf.Future()
        try:
            f.set_result(fn(*args, **kwargs))
        except Exception as exc:  # noqa: BLE001 - handed to the caller through the future
            f.set_exception(exc)
        return f


class ProcessExecutor(cf.Executor):
    """A spawned ``ProcessPoolExecutor`` of ``workers`` processes that can be rebuilt after a
    worker dies (``restart``)."""

    name = "processes"

    def __init__(self, workers: int):
        self.workers = int(workers)
        self._pool = self._new()

    def _new(self):
        return cf.ProcessPoolExecutor(max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"))

    def submit(self, fn, /, *args, **kwargs):
        return self._pool.submit(fn, *args, **kwargs)

    def restart(self):
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = self._new()

    def shutdown(self, wait=True, *, cancel_futures=False):
        self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)


class DaskExecutor(cf.Executor):
    """Dask distributed through ``Client.get_executor`` (concurrent.futures futures). Either
    ``scheduler`` (an address) or ``workers`` (a LocalCluster of that many single-threaded
    worker processes). ``retries``: reruns of a task that raised; a task whose worker died is
    rerun by the scheduler (up to its ``distributed.scheduler.allowed-failures``)."""

    name = "dask"

    def __init__(self, scheduler: str | None = None, workers: int | None = None, retries: int = DEFAULT_RETRIES):
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise ImportError('the dask executor needs Dask distributed: pip install "sharpsim[dask]"') from None
        self.cluster = None
        if scheduler:
            self.client = Client(scheduler)
        else:
            # no dashboard; the scheduler's HTTP server (always started) on a free port, not 8787, so
            # that two clusters on one machine do not clash ("Port 8787 is already in use")
            self.cluster = LocalCluster(n_workers=int(workers or 2), threads_per_worker=1, processes=True,
                                        dashboard_address=None, scheduler_kwargs={"dashboard_address": ":0"})
            self.client = Client(self.cluster)
        self.workers = len(self.client.scheduler_info().get("workers", {})) or int(workers or 0)
        self._ex = self.client.get_executor(pure=False, retries=retries)

    def submit(self, fn, /, *args, **kwargs):
        return self._ex.submit(fn, *args, **kwargs)

    def shutdown(self, wait=True, *, cancel_futures=False):
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def make_executor(kind: str = "inline", *, workers: int | None = None, scheduler: str | None = None,
                  retries: int = DEFAULT_RETRIES) -> cf.Executor:
    """The executor named ``kind`` (one of :data:`EXECUTORS`). ``workers``: processes for
    ``processes`` (default 2) and the LocalCluster size for ``dask``; ``scheduler``: a Dask
    scheduler address (``dask`` only; then ``workers`` must be None)."""
    if kind not in EXECUTORS:
        raise ValueError(f"executor must be one of {', '.join(EXECUTORS)}; got {kind!r}")
    if workers is not None:
        if isinstance(workers, bool) or not isinstance(workers, int):
            raise TypeError(f"workers must be an int; got {type(workers).__name__}")
        if workers < 1:
            raise ValueError(f"workers must be >= 1; got {workers}")
    if isinstance(retries, bool) or not isinstance(retries, int):
        raise TypeError(f"retries must be an int; got {type(retries).__name__}")
    if retries < 0:
        raise ValueError(f"retries must be >= 0; got {retries}")
    if scheduler is not None and kind != "dask":
        raise ValueError(f"scheduler is only used by the dask executor; got executor {kind!r}")
    if scheduler is not None and workers is not None:
        raise ValueError("give either scheduler (a running cluster) or workers (a LocalCluster), not both")
    if kind == "inline":
        if workers not in (None, 1):
            raise ValueError(f"the inline executor has one worker; got workers={workers}")
        return InlineExecutor()
    if kind == "processes":
        return ProcessExecutor(workers or 2)
    return DaskExecutor(scheduler=scheduler, workers=workers, retries=retries)


# --------------------------------------------------------------------------- the driver

def run_tasks(tasks: list[Task], executor: cf.Executor | None = None, *,
              on_result: Callable[[Task, Any, float], None],
              on_error: Callable[[Task, BaseException], None] | None = None,
              retries: int = DEFAULT_RETRIES, cache_dir: str | None = None) -> None:
    """Run every task and hand each result to ``on_result(task, result, seconds)`` in this
    process as it finishes (the order of ``tasks`` for the inline executor, completion order
    otherwise). A task that raises goes to ``on_error(task, exc)`` (re-raised when None). With
    a :class:`ProcessExecutor`, a dead worker (``BrokenProcessPool``) rebuilds the pool and the
    unfinished tasks are resubmitted, each at most ``retries`` times. ``cache_dir``: the
    persistent compilation cache every worker uses (None: whatever this process has)."""

    def fail(task, exc):
        if on_error is None:
            raise exc
        on_error(task, exc)

    if executor is None or isinstance(executor, InlineExecutor):
        for t in tasks:  # lazily, in order: each result is handed over before the next runs
            try:
                res, sec = call_task(t.fn, t.args, cache_dir)
            except Exception as exc:  # noqa: BLE001
                fail(t, exc)
                continue
            on_result(t, res, sec)
        return
    attempts = {i: 0 for i in range(len(tasks))}
    pending = {executor.submit(call_task, t.fn, t.args, cache_dir): i for i, t in enumerate(tasks)}
    try:
        while pending:
            done, _ = cf.wait(list(pending), return_when=cf.FIRST_COMPLETED)
            broken = []
            for fut in done:
                i = pending.pop(fut)
                try:
                    res, sec = fut.result()
                except BrokenProcessPool as exc:
                    broken.append((i, exc))
                    continue
                except Exception as exc:  # noqa: BLE001
                    fail(tasks[i], exc)
                    continue
                on_result(tasks[i], res, sec)
            if broken:  # a worker died: every unfinished task of the pool is lost with it
                dead = {i for i, _ in broken}
                lost = sorted(dead | set(pending.values()))
                pending = {}
                executor.restart()
                for i in lost:
                    attempts[i] += i in dead
                    if attempts[i] > retries:
                        fail(tasks[i], RuntimeError(f"task {tasks[i].label}: its worker died {attempts[i]} times"))
                    else:
                        pending[executor.submit(call_task, tasks[i].fn, tasks[i].args, cache_dir)] = i
    finally:
        for fut in pending:
            fut.cancel()
