"""Smoke test of the benchmark harness (python -m benchmarks --quick): runs, writes sane results.

No timing assertions: only that every figure is present and positive, that the baselines and
prototypes agree with sharpsim, and that the peak-memory probe reports a number.
"""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

EXPECTED = {"bon_law", "ar_enumeration", "bon_sampling", "mc_engine"}  # "reproduce" is slow: --full / --only


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_quick_run_writes_ratios(tmp_path):
    out = tmp_path / "results.json"
    r = subprocess.run(
        # one timed call per figure: a smoke test of the harness (3 repeats cost 11 s more here)
        [sys.executable, "-m", "benchmarks", "--quick", "--no-memory", "--repeats", "1", "--out", str(out)],
        cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    res = json.loads(out.read_text())
    assert (tmp_path / "results.md").read_text().startswith("# sharpsim benchmarks")
    m = res["machine"]
    for key in ("cpu", "logical_cores", "numpy", "jax"):
        assert m[key], key
    assert res["settings"]["quick"] is True
    assert set(res["benchmarks"]) == EXPECTED
    for name, b in res["benchmarks"].items():
        assert b["cases"], name
        for c in b["cases"]:
            assert c["headline"] in c["ratios"]
            assert isinstance(c["met"], bool)
            for k, v in c["ratios"].items():
                assert math.isfinite(v) and v > 0, (name, k, v)
            for impl, s in c["seconds"].items():
                assert s["median_s"] > 0 and s["first_call_s"] > 0 and s["compile_s"] >= 0, (name, impl)
    # the baselines and prototypes compute the same thing as sharpsim
    for c in res["benchmarks"]["bon_law"]["cases"]:
        assert c["agreement"]["numpy_vs_sharpsim_max_abs"] <= 1e-12
        assert c["agreement"]["previous_vs_sharpsim_max_abs"] == 0.0  # the fast path changed no bit
    for c in res["benchmarks"]["ar_enumeration"]["cases"]:
        for k, v in c["agreement"].items():
            assert v <= 1e-12, k
    for c in res["benchmarks"]["bon_sampling"]["cases"]:
        assert c["agreement"]["previous_equals_sharpsim"] and c["agreement"]["core_equals_sharpsim"]
    for c in res["benchmarks"]["mc_engine"]["cases"]:
        if c["case"].startswith("counts mode"):  # the opt-in counts mode: same law, other bits
            assert c["agreement"]["mean_errors_within_5_se"], c["agreement"]
            assert 0 < c["agreement"]["mean_error_counts"] < 1, c["agreement"]  # a check that can fail
            assert c["ratios"]["counts_floor_speedup_vs_reference_loop"] > 0
        else:
            assert c["agreement"]["errors_identical"]
            assert 0 < c["agreement"]["errors_mean"] < 1, c["agreement"]  # errors that can differ
            assert c["ratios"]["floor_speedup_vs_reference_loop"] > 0


def test_only_unknown_name_fails(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--only", "nope", "--out", str(tmp_path / "r.json")],
        cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120,
    )
    assert r.returncode == 2 and "unknown benchmark" in r.stderr


def test_memory_probe_reports_peak():
    r = subprocess.run(
        [sys.executable, "-m", "benchmarks._memory", "ar_enumeration", "numpy", "--quick"],
        cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    d = json.loads(r.stdout.strip().splitlines()[-1])
    assert d["hwm_after_kib"] >= d["hwm_before_kib"] > 0 and d["peak_increase_mib"] >= 0


def test_baselines_against_independent_oracles():
    """The numpy baselines against hand-checkable / brute-force values (not against sharpsim)."""
    from benchmarks.baselines import (
        bon_law_numpy,
        enumerate_ar_numpy,
        enumerate_ar_numpy_gather,
        enumerate_ar_python,
    )

    # p = (0.5, 0.3, 0.2), N = 2: P(best = 0.5) = 1 - 0.5^2, P(0.3) = 0.5^2 - 0.2^2, P(0.2) = 0.2^2
    law = bon_law_numpy(np.log([[0.5, 0.3, 0.2]]), 2.0)
    np.testing.assert_allclose(law, [[0.75, 0.21, 0.04]], rtol=1e-12)
    # a tie (0.4, 0.4) and a zero, N = 3: the tied level gets 1 - 0.2^3, split equally
    with np.errstate(divide="ignore"):
        law = bon_law_numpy(np.log([[0.4, 0.2, 0.4, 0.0]]), 3.0)
    np.testing.assert_allclose(law, [[(1 - 0.008) / 2, 0.008, (1 - 0.008) / 2, 0.0]], rtol=1e-12)
    rng = np.random.default_rng(0)
    for order in (None, 1):
        V, H, X = 3, 4, 2
        conds = []
        for h in range(1, H + 1):
            c = h - 1 if order is None else min(h - 1, order)
            conds.append(np.log(rng.dirichlet(np.ones(V), size=(X, V**c))))
        ctx = tuple(h - 1 if order is None else min(h - 1, order) for h in range(1, H + 1))
        ref = enumerate_ar_python(conds, ctx, V)
        np.testing.assert_allclose(enumerate_ar_numpy(conds, ctx, V), ref, rtol=0, atol=1e-12)
        np.testing.assert_allclose(enumerate_ar_numpy_gather(conds, ctx, V), ref, rtol=0, atol=1e-12)


def test_suite_profile_plugin_counts_tests_and_compiles(tmp_path):
    """benchmarks/_pytest_profile.py (bench_suite's plugin): one process's tests, their seconds and
    JAX's compiles, written where SHARPSIM_SUITE_PROFILE_DIR says."""
    (tmp_path / "test_two.py").write_text(
        "import jax, jax.numpy as jnp\n"
        "def test_compiles():\n    assert float(jax.jit(lambda v: v * 3.0)(jnp.ones(7)).sum()) == 21.0\n"
        "def test_plain():\n    assert 1 + 1 == 2\n")
    env = _env()
    env["SHARPSIM_SUITE_PROFILE_DIR"] = str(tmp_path)
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "benchmarks._pytest_profile", "-p", "no:cacheprovider",
         "--rootdir", str(tmp_path), str(tmp_path / "test_two.py")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    d = json.loads((tmp_path / "controller.json").read_text())
    assert d["tests"] == 2 and d["compiles"] >= 1
    assert 0 < d["backend_compile_s"] <= d["test_s"]
    assert 0 < d["backend_compile_cpu_s"] < 2 * d["test_s"]  # (XLA may compile on more than one thread)
    # per test: own seconds, compile seconds, compiles; the compile is charged to the test that ran it
    per = {k.split("::")[-1]: v for k, v in d["per_test"].items()}
    assert set(per) == {"test_compiles", "test_plain"}
    assert per["test_compiles"][2] >= 1 and 0 < per["test_compiles"][1] <= per["test_compiles"][0]
    assert per["test_plain"][1:] == [0.0, 0]
