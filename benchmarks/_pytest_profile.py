"""A pytest plugin for ``benchmarks/bench_suite.py``: where the test processes' time goes.

Loaded with ``-p benchmarks._pytest_profile`` (the controller and every pytest-xdist worker load
it). Each process sums, over the tests it runs, the tests' own durations (setup + call +
teardown, as pytest reports them) and JAX's compile events (``jax.monitoring``: tracing to a
jaxpr, lowering to MLIR, XLA's backend compile, and their count), and at the end writes them to
``$SHARPSIM_SUITE_PROFILE_DIR/<worker>.json``. Compiles inside processes the tests start (the
catalogue run, the notebook's kernel, Dask and process-pool workers, ``python -m benchmarks``)
are not seen: they count in the wall time only.
"""

from __future__ import annotations

import collections
import json
import os

_EVENTS = {
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
    key = _EVENTS.get(event)
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


def pytest_configure(config):
    from jax import monitoring

    monitoring.register_event_duration_secs_listener(_listener)
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
