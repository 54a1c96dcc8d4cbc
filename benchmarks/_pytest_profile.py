"""A pytest plugin for ``benchmarks/bench_suite.py``: where the test processes' time goes.

Loaded with ``-p benchmarks._pytest_profile`` (the controller and every pytest-xdist worker load
it). Each process sums, over the tests it runs, the tests' own durations (setup + call +
teardown, as pytest reports them) and JAX's compile events (``jax.monitoring``: tracing to a
jaxpr, lowering to MLIR, XLA's backend compile, and their count), and at the end writes them to
``$SHARPSIM_SUITE_PROFILE_DIR/<worker>.json``. Compiles inside processes the tests start (the
catalogue run, the notebook's kernel, Dask and process-pool workers, ``python -m benchmarks``)
are not seen: they count in the wall time only.

``backend_compile_cpu_s``: the process's CPU seconds (all its threads: XLA compiles on several)
while XLA compiled, from wrapping JAX's compile step (``jax._src.compiler._compile_and_write_cache``,
a private name: absent in another JAX version, the figure is then left out); overlapping compiles
on two threads are counted once. Unlike the wall seconds of the events, it does not grow with the
load of the other processes on the cores.
"""

from __future__ import annotations

import collections
import json
import os
import threading
import time

COMPILE_EVENTS = {  # jax.monitoring duration events -> keys (also bench_reproduce's profiled run)
    "/jax/core/compile/jaxpr_trace_duration": "trace_s",
    "/jax/core/compile/jaxpr_to_mlir_module_duration": "lower_s",
    "/jax/core/compile/backend_compile_duration": "backend_compile_s",
}
_totals = collections.Counter()
_controller = []  # [True] in the pytest-xdist controller: its workers' reports reach it too (not counted twice)
_name = ["controller"]  # this process's file name: its xdist worker id, or "controller"
_current = [None]  # the node id of the test running now (compile seconds are charged to it)
_per_test = collections.defaultdict(lambda: [0.0, 0.0, 0])  # node id -> [own s, compile s, compiles]


def _listener(event, duration, **_):
    key = COMPILE_EVENTS.get(event)
    if key is not None:
        _totals[key] += duration
        # per test only where tests run (the xdist controller sees its workers' node ids too)
        rec = _per_test[_current[0]] if _current[0] is not None and not _controller else None
        if rec is not None:
            rec[1] += duration
        if key == "backend_compile_s":
            _totals["compiles"] += 1
            if rec is not None:
                rec[2] += 1


_cpu = {"depth": 0, "start": 0.0}
_cpu_lock = threading.Lock()


def _wrap_compile():
    """Sum the process's CPU seconds while XLA compiles (``backend_compile_cpu_s``), where JAX has the
    step to wrap; overlapping compiles (two threads) are timed from the first start to the last end."""
    try:
        from jax._src import compiler
    except ImportError:
        return
    orig = getattr(compiler, "_compile_and_write_cache", None)
    if orig is None:
        return
    _totals["backend_compile_cpu_s"] += 0.0

    def wrapped(*args, **kwargs):
        with _cpu_lock:
            if _cpu["depth"] == 0:
                _cpu["start"] = time.process_time()
            _cpu["depth"] += 1
        try:
            return orig(*args, **kwargs)
        finally:
            with _cpu_lock:
                _cpu["depth"] -= 1
                if _cpu["depth"] == 0:
                    _totals["backend_compile_cpu_s"] += time.process_time() - _cpu["start"]

    compiler._compile_and_write_cache = wrapped


def pytest_configure(config):
    from jax import monitoring

    monitoring.register_event_duration_secs_listener(_listener)
    _wrap_compile()
    if hasattr(config, "workerinput"):
        _name[0] = config.workerinput["workerid"]
    elif getattr(config.option, "numprocesses", None):
        _controller.append(True)


def pytest_runtest_logstart(nodeid, location):
    _current[0] = nodeid


def pytest_runtest_logreport(report):
    if _controller:
        return
    _totals["test_s"] += report.duration
    _per_test[report.nodeid][0] += report.duration
    if report.when == "call":
        _totals["tests"] += 1


def pytest_sessionfinish(session, exitstatus):
    folder = os.environ.get("SHARPSIM_SUITE_PROFILE_DIR")
    if not folder:
        return
    with open(os.path.join(folder, f"{_name[0]}.json"), "w") as f:
        json.dump({**_totals, "per_test": dict(_per_test)}, f)
