"""Benchmark 8: the test suite's wall time (issue 12: under 5 minutes on 2 cores), and where the
test processes' time goes.

One fresh ``python -m pytest -q -n 2 -p benchmarks._pytest_profile`` process over ``tests/`` (the
README's test command, without the install), timed; the plugin reports per process the tests' own
seconds and JAX's compile seconds (tracing, lowering, XLA backend compile) and the number of
compiles. Slow (the whole suite: minutes): runs only with ``--only suite`` or ``--full``.
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import case, one_sample, register

ROOT = Path(__file__).resolve().parents[1]
WORKERS = 2
SLOWEST = 15  # the slowest tests listed in the results (own seconds, of which compiling)


@register(
    "suite",
    description="the test suite, `python -m pytest -q -n 2` (fresh process, wall seconds), and the share of "
                "the tests' own time spent compiling with JAX",
    target="wall_s <= 300 (issue 12: the suite under 5 minutes on 2 cores)",
    slow=True,
    full_only=True,
)
def bench_suite(cfg):
    tmp = Path(tempfile.mkdtemp(prefix="sharpsim-bench-suite-"))
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["SHARPSIM_SUITE_PROFILE_DIR"] = str(tmp)
    env.setdefault("MPLBACKEND", "Agg")
    cmd = [sys.executable, "-m", "pytest", "-q", "-n", str(WORKERS), "-p", "benchmarks._pytest_profile",
           "-p", "no:cacheprovider", "tests"]
    try:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        r = subprocess.run(cmd, cwd=str(ROOT), env=env, capture_output=True, text=True, timeout=3600)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-2000:]}")
        per = {p.stem: json.loads(p.read_text()) for p in tmp.glob("*.json")}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    m = re.search(r"(\d+) passed", r.stdout)
    passed = int(m.group(1)) if m else 0
    tot = {k: sum(v.get(k, 0.0) for v in per.values())
           for k in ("test_s", "trace_s", "lower_s", "backend_compile_s", "compiles", "tests")}
    cpu_parts = [v["backend_compile_cpu_s"] for v in per.values() if "backend_compile_cpu_s" in v]
    compile_cpu = sum(cpu_parts) if cpu_parts else None  # None: no process could time it
    compile_s = tot["trace_s"] + tot["lower_s"] + tot["backend_compile_s"]
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    secs = {"suite (pytest -n 2)": one_sample(wall)}
    tests = {}  # node id -> [own s, compile s, compiles], over the processes
    for v in per.values():
        tests.update(v.get("per_test", {}))
    slowest = [{"test": k, "own_s": round(o, 2), "compile_s": round(c, 2), "compiles": int(n)}
               for k, (o, c, n) in sorted(tests.items(), key=lambda kv: -kv[1][0])[:SLOWEST]]
    ratios = {
        "wall_s": wall,
        "cpu_s": cpu,
        "tests_own_s": tot["test_s"],
        "jax_compile_s": compile_s,
        "backend_compile_s": tot["backend_compile_s"],
        "compiles": tot["compiles"],
        "compile_share_of_test_time": compile_s / tot["test_s"] if tot["test_s"] else float("nan"),
        "compile_s_over_workers": compile_s / WORKERS,
    }
    if compile_cpu is not None:
        ratios["backend_compile_cpu_s"] = compile_cpu
        ratios["backend_compile_cpu_s_over_cores"] = compile_cpu / WORKERS
    return {
        "cases": [
            case(f"pytest -q -n {WORKERS} tests ({passed} passed)", {"workers": WORKERS, "passed": passed,
                                                                      "processes_profiled": sorted(per)},
                 secs, ratios, headline="wall_s", target=300.0, higher_is_better=False,
                 slowest_tests=slowest)
        ],
        "notes": (
            "One run of the whole suite in a fresh process (one sample: it takes minutes). cpu_s: user + system "
            "seconds of the child processes that were waited for (pytest, its workers and what they started). "
            "tests_own_s: the sum of the tests' durations (setup + call + teardown) over the xdist workers; "
            "jax_compile_s: the part of it spent tracing, lowering and compiling XLA programs in the test "
            "processes themselves (jax.monitoring events; compiles inside the processes the tests start -- the "
            "catalogue run, the notebook's kernel, Dask and process-pool workers, python -m benchmarks -- are not "
            "counted). The compile seconds are wall seconds measured while the workers, the catalogue run and the "
            "processes the tests start share the cores, so they are inflated by that load (a serial run, without "
            "xdist, measured 571 s of compile in 825 s of tests on 2026-12-06). compile_s_over_workers is that "
            "compile time spread evenly over the workers: about what the wall cannot go below at this load while "
            "the tests compile these programs, whatever else is made faster. backend_compile_cpu_s: the CPU "
            "seconds of the test processes while XLA compiled (all their threads; see benchmarks/_pytest_profile.py), "
            "which the other processes' load does not inflate; over the 2 cores it is the least wall time the "
            "suite's XLA compiles alone take (tracing and lowering come on top)."
        ),
    }
