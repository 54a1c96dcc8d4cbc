"""Strict numerics for every test: float64 JAX, rank promotion errors, a fixed key fixture.

One folder per test session (``_SHARPSIM_TEST_DIR``, fresh, removed at exit; never the user's
``~/.cache``) holds:

* ``jax-cache``: one persistent compilation cache that the test process and every process it starts
  (the catalogue run, the tutorial's kernel, Dask and process-pool workers, ``python -m benchmarks``,
  plot processes, pytest-xdist workers) read through ``$SHARPSIM_JAX_CACHE`` (and JAX's own
  ``$JAX_COMPILATION_CACHE_DIR``, for the processes that never enable it), so an executable that
  one of them compiled is not compiled again by another, and a session always starts from an empty
  cache (its time does not depend on earlier runs). The cache holds compiled XLA executables only;
  it cannot change a result.
* ``catalogue``: the quick catalogue run, ``sharpsim reproduce --quick``, started in a background
  process as soon as the tests are collected (by one process, also under pytest-xdist) and run
  once per session while the other tests run; the tests that read it are moved to the end.

Under pytest-xdist (``-n 2``) the controller makes the folder and the workers inherit it.
"""

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import jax
import numpy as np
import pytest

import sharpsim  # noqa: F401  (enables jax_enable_x64)
from sharpsim.sweep import compilation_cache_settings, enable_compilation_cache, release_compiled_if_near_map_limit

jax.config.update("jax_numpy_rank_promotion", "raise")

if os.environ.get("PYTEST_XDIST_WORKER") and os.path.isdir(os.environ.get("_SHARPSIM_TEST_DIR", "")):
    _SESSION_DIR = os.environ["_SHARPSIM_TEST_DIR"]  # an xdist worker: the controller made it and removes it
else:
    _SESSION_DIR = tempfile.mkdtemp(prefix="sharpsim-tests-")
    atexit.register(shutil.rmtree, _SESSION_DIR, True)
    os.environ["_SHARPSIM_TEST_DIR"] = _SESSION_DIR
_SESSION_CACHE = os.path.join(_SESSION_DIR, "jax-cache")
os.makedirs(_SESSION_CACHE, exist_ok=True)
os.environ["SHARPSIM_JAX_CACHE"] = _SESSION_CACHE
os.environ.pop("SHARPSIM_NO_JAX_CACHE", None)
enable_compilation_cache(_SESSION_CACHE)
# ... and the same settings through JAX's own environment variables, for the started processes that do
# not call enable_compilation_cache themselves: the tutorial's kernel, the README tour, python -m
# benchmarks, and the Dask and process-pool workers of sweeps run without a cache_dir (which would
# otherwise compile every program again in every worker)
os.environ.update({k.upper(): str(v) for k, v in compilation_cache_settings(_SESSION_CACHE).items()})

# ----------------------------------------------------------------- the quick catalogue run

_CATALOGUE = os.path.join(_SESSION_DIR, "catalogue")
_CATALOGUE_STARTED = _CATALOGUE + ".started"  # created exclusively: one process starts the run
_CATALOGUE_RC = _CATALOGUE + ".rc"  # the run's exit status, written when it ends
_CATALOGUE_LOG = _CATALOGUE + ".log"
_CATALOGUE_TIMEOUT_S = 1500
_launched = []  # (process, waiter thread) started by this process


def _start_catalogue():
    """Start ``sharpsim reproduce --quick --out <session>/catalogue`` in the background, unless
    another process of this session already did."""
    try:
        os.close(os.open(_CATALOGUE_STARTED, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return
    code = "import sys; from sharpsim.cli import main; sys.exit(main(sys.argv[1:]))"
    with open(_CATALOGUE_LOG, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-c", code, "reproduce", "--quick", "--out", _CATALOGUE, "--no-progress"],
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "MPLBACKEND": "Agg"})

    def wait():
        rc = proc.wait()
        with open(_CATALOGUE_RC + ".tmp", "w") as f:
            f.write(str(rc))
        os.replace(_CATALOGUE_RC + ".tmp", _CATALOGUE_RC)

    waiter = threading.Thread(target=wait, daemon=True)
    waiter.start()
    _launched.append((proc, waiter))


def _uses_catalogue(item):
    return "quick_catalogue" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(config, items):
    """The tests that read the catalogue go last (stable order otherwise), and the catalogue run
    starts now, so that it runs beside the other tests."""
    items[:] = [it for it in items if not _uses_catalogue(it)] + [it for it in items if _uses_catalogue(it)]
    if any(_uses_catalogue(it) for it in items):
        _start_catalogue()


def pytest_sessionfinish(session, exitstatus):
    """The process that started the catalogue run waits for it (other xdist workers may still
    need it), unless the session was interrupted."""
    for proc, waiter in _launched:
        if exitstatus == pytest.ExitCode.INTERRUPTED:
            proc.kill()
        waiter.join(_CATALOGUE_TIMEOUT_S)


@pytest.fixture(autouse=True)
def _bounded_live_executables():
    """After every test, drop JAX's compiled executables once this process holds half the kernel's
    memory-mapping limit (vm.max_map_count): the suite compiles ~2,500 executables, each live one
    holds ~25 mappings, and at the limit a compile segfaults (seen in CI at test 862)."""
    yield
    release_compiled_if_near_map_limit()


@pytest.fixture
def key():
    return jax.random.key(20241202)


@pytest.fixture
def rng():
    return np.random.default_rng(20241202)


@pytest.fixture
def traced():
    """The names of the functions JAX traces while the test runs, in order (its jaxpr-trace events;
    ``traced.clear()`` starts the record afresh): a program built is a name here."""
    names = []

    def listen(event, duration, **kw):
        if event.endswith("jaxpr_trace_duration"):
            names.append(kw.get("fun_name"))

    jax.monitoring.register_event_duration_secs_listener(listen)
    yield names
    jax.monitoring.unregister_event_duration_listener(listen)


@pytest.fixture(scope="session")
def quick_catalogue(tmp_path_factory):
    """The whole catalogue run once in quick mode through the command line (what CI smoke-tests; see
    the module docstring); returns this process's own copy of its output folder (the tests redraw
    figures there)."""
    _start_catalogue()  # a no-op when collection already started it
    deadline = time.monotonic() + _CATALOGUE_TIMEOUT_S
    while not os.path.exists(_CATALOGUE_RC):
        assert time.monotonic() < deadline, f"sharpsim reproduce --quick did not end in {_CATALOGUE_TIMEOUT_S} s"
        time.sleep(0.25)
    with open(_CATALOGUE_RC) as f:
        rc = int(f.read())
    with open(_CATALOGUE_LOG) as f:
        log = f.read()
    assert rc == 0, f"sharpsim reproduce --quick failed (exit {rc}):\n{log[-4000:]}"
    out = tmp_path_factory.mktemp("quick_catalogue")
    shutil.copytree(_CATALOGUE, out, dirs_exist_ok=True)
    return str(out)


@pytest.fixture(scope="session")
def quick_results(quick_catalogue):
    """name -> the record of that experiment's quick run (every task of its QUICK config, files
    checked, summary rendered; the figures are the catalogue run's, not drawn again)."""
    import os

    from sharpsim.experiments import runner

    def get(name):
        # the record that `reproduce` would reuse (same config and version; runner._Plan reads it as
        # run_one does), without drawing the figures again: the catalogue run drew them
        plan = runner._Plan(name, True, quick_catalogue, False)
        assert plan.record is not None and not plan.todo, f"{name} was not produced by the catalogue run"
        assert plan.record["tasks"] == len(plan.all_tasks), name  # every task of the QUICK config
        rec = {**plan.record, "reused": True, "summary": plan.mod.summary(plan.record["results"])}
        res_path, stem = runner.paths(name, quick_catalogue, True)
        assert os.path.getsize(res_path) > 0
        for ext in ("png", "pdf"):
            assert os.path.getsize(f"{stem}.{ext}") > 10_000, f"{name}.{ext} looks empty"
        assert rec["summary"] and all({"measurement", "simulated", "theory", "note"} <= set(r) for r in rec["summary"])
        assert runner.format_summary([rec])
        return rec

    return get
