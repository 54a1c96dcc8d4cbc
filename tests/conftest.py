"""Strict numerics for every test: float64 JAX, rank promotion errors, a fixed key fixture.

One persistent compilation cache for the whole test session, in a fresh temporary folder (never the
user's ``~/.cache``): the test process and every process it starts (the tutorial's kernel, Dask and
process-pool workers, ``python -m benchmarks``, plot processes) read it through
``$SHARPSIM_JAX_CACHE``, so an executable that one of them compiled is not compiled again by another,
and a session always starts from an empty cache (its time does not depend on earlier runs). The
cache holds compiled XLA executables only; it cannot change a result.
"""

import atexit
import os
import shutil
import tempfile

import jax
import numpy as np
import pytest

import sharpsim  # noqa: F401  (enables jax_enable_x64)
from sharpsim.sweep import enable_compilation_cache, release_compiled_if_near_map_limit

jax.config.update("jax_numpy_rank_promotion", "raise")

_SESSION_CACHE = tempfile.mkdtemp(prefix="sharpsim-test-jax-cache-")
atexit.register(shutil.rmtree, _SESSION_CACHE, True)
os.environ["SHARPSIM_JAX_CACHE"] = _SESSION_CACHE
os.environ.pop("SHARPSIM_NO_JAX_CACHE", None)
enable_compilation_cache(_SESSION_CACHE)


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


@pytest.fixture(scope="session")
def quick_catalogue(tmp_path_factory):
    """Run the whole catalogue once in quick mode through the command line (what CI smoke-tests);
    returns the output folder. It compiles into the session's cache (see the module docstring)."""
    from sharpsim.cli import main

    out = tmp_path_factory.mktemp("quick_catalogue")
    rc = main(["reproduce", "--quick", "--out", str(out), "--no-progress"])
    assert rc == 0, "sharpsim reproduce --quick failed"
    return str(out)


@pytest.fixture(scope="session")
def quick_results(quick_catalogue):
    """name -> results of that experiment's quick run (files checked, summary rendered)."""
    import os

    from sharpsim.experiments import runner

    def get(name):
        rec = runner.run_one(name, quick=True, out=quick_catalogue, progress=False)
        assert rec["reused"], f"{name} was not produced by the catalogue run"
        res_path, stem = runner.paths(name, quick_catalogue, True)
        assert os.path.getsize(res_path) > 0
        for ext in ("png", "pdf"):
            assert os.path.getsize(f"{stem}.{ext}") > 10_000, f"{name}.{ext} looks empty"
        assert rec["summary"] and all({"measurement", "simulated", "theory", "note"} <= set(r) for r in rec["summary"])
        assert runner.format_summary([rec])
        return rec

    return get
