"""Strict numerics for every test: float64 JAX, rank promotion errors, a fixed key fixture."""

import jax
import numpy as np
import pytest

import sharpsim  # noqa: F401  (enables jax_enable_x64)

jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture
def key():
    return jax.random.key(20241202)


@pytest.fixture
def rng():
    return np.random.default_rng(20241202)


@pytest.fixture(scope="session")
def quick_catalogue(tmp_path_factory):
    """Run the whole catalogue once in quick mode through the command line (what CI smoke-tests);
    returns the output folder. JAX's persistent compilation cache stays off in tests."""
    import os

    from sharpsim.cli import main

    out = tmp_path_factory.mktemp("quick_catalogue")
    old = os.environ.get("SHARPSIM_NO_JAX_CACHE")
    os.environ["SHARPSIM_NO_JAX_CACHE"] = "1"
    try:
        rc = main(["reproduce", "--quick", "--out", str(out), "--no-progress"])
    finally:
        if old is None:
            os.environ.pop("SHARPSIM_NO_JAX_CACHE", None)
        else:
            os.environ["SHARPSIM_NO_JAX_CACHE"] = old
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
