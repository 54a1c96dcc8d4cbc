"""Benchmark 5: `sharpsim reproduce --quick` wall time and what JAX's persistent compilation cache saves.

Three runs, each a fresh ``sharpsim reproduce --quick --force --no-progress --out TMP`` process:
cold (an empty persistent cache folder, SHARPSIM_JAX_CACHE=TMPCACHE), warm (the same, now filled
folder) and no cache (SHARPSIM_NO_JAX_CACHE=1). cold - warm is (about) the compile time the cache
saves, i.e. the share of a cold run spent compiling XLA programs that the cache can serve.
Slow (minutes): runs only with ``--only reproduce`` or ``--full``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import case, one_sample, register

ROOT = Path(__file__).resolve().parents[1]


# ``python -c`` driver of a profiled run (run from the repository root, so ``benchmarks`` imports):
# sharpsim's CLI with JAX's compile events summed (the suite profile's COMPILE_EVENTS: tracing to a
# jaxpr, lowering to MLIR, XLA's backend compile; in this process, where the default in-process
# executor runs every task) and written as JSON to the path in argv[1] when the CLI returns
_PROFILED_CLI = """
import json, sys, time
from jax import monitoring
from benchmarks._pytest_profile import COMPILE_EVENTS as EVENTS
tot = {**dict.fromkeys(EVENTS.values(), 0.0), "compiles": 0}
def on(event, duration, **_):
    key = EVENTS.get(event)
    if key is not None:
        tot[key] += duration
        tot["compiles"] += key == "backend_compile_s"
monitoring.register_event_duration_secs_listener(on)
t0 = time.perf_counter()
from sharpsim.cli import main
try:
    rc = main(sys.argv[2:])
finally:
    tot["main_s"] = time.perf_counter() - t0
    with open(sys.argv[1], "w") as f:
        json.dump(tot, f)
sys.exit(rc)
"""


def reproduce_wall(env_extra: dict, out: str, names=(), extra_args=(), quick: bool = True,
                   profile: str | None = None) -> float:
    """Wall seconds of one fresh ``sharpsim reproduce [--quick] --force`` process (``extra_args``
    e.g. an executor); RuntimeError with its stderr if it fails. ``profile``: a JSON path the run
    writes its JAX compile seconds to (:data:`_PROFILED_CLI`)."""
    env = dict(os.environ)
    for k in ("SHARPSIM_NO_JAX_CACHE", "JAX_COMPILATION_CACHE_DIR"):  # only env_extra says which cache (the
        env.pop(k, None)  # test suite sets JAX's own variable for the processes it starts)
    env.update(env_extra)
    head = [sys.executable, "-c", _PROFILED_CLI, profile] if profile else [sys.executable, "-m", "sharpsim.cli"]
    cmd = [*head, "reproduce", *(["--quick"] if quick else []), "--force",
           "--no-progress", "--out", out, *extra_args, *names]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, cwd=str(ROOT), env=env, capture_output=True, text=True, timeout=3600)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr[-2000:]}")
    return wall


def _import_time() -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import sharpsim.cli"], cwd=str(ROOT), check=True, capture_output=True)
    return time.perf_counter() - t0


@register(
    "reproduce",
    description="`sharpsim reproduce --quick` wall time (fresh processes): cold / warm persistent JAX "
                "compilation cache, and with the cache off",
    target="warm_s <= 20 (warm-cache wall seconds) and compile_share_of_warm <= 0.2 (issue 12); cache_speedup reported",
    slow=True,
)
def bench_reproduce(cfg):
    tmp = Path(tempfile.mkdtemp(prefix="sharpsim-bench-repro-"))
    names = ["bon_coverage"] if cfg.quick else []  # quick mode: one small experiment
    try:
        cache = tmp / "jax-cache"
        cache.mkdir()
        env_c = {"SHARPSIM_JAX_CACHE": str(cache)}
        cold = reproduce_wall(env_c, str(tmp / "cold"), names)
        warm = reproduce_wall(env_c, str(tmp / "warm"), names, profile=str(tmp / "warm-compile.json"))
        warm_compile = json.loads((tmp / "warm-compile.json").read_text())
        nocache = reproduce_wall({"SHARPSIM_NO_JAX_CACHE": "1"}, str(tmp / "nocache"), names)
        imp = _import_time()
        cache_mib = sum(f.stat().st_size for f in cache.rglob("*") if f.is_file()) / 2**20
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    secs = {k: one_sample(v) for k, v in
            {"cold_cache": cold, "warm_cache": warm, "no_cache": nocache, "import sharpsim": imp}.items()}
    ratios = {
        "cache_speedup": nocache / warm,
        "warm_s": warm,
        "cold_over_warm": cold / warm,
        "compile_share_of_cold": max(cold - warm, 0.0) / cold,
        "compile_share_of_no_cache": max(nocache - warm, 0.0) / nocache,
        "compile_share_of_warm": (warm_compile["trace_s"] + warm_compile["lower_s"]
                                  + warm_compile["backend_compile_s"]) / warm,
        "warm_backend_compiles": warm_compile["compiles"],
    }
    return {
        "cases": [
            case(
                "reproduce --quick" + (f" {names[0]}" if names else " (all experiments)"),
                {"names": names or "all"},
                secs,
                ratios,
                headline="warm_s",
                target=20.0,
                higher_is_better=False,
                cache_mib=cache_mib,
                warm_compile_s=warm_compile,
            )
        ],
        "notes": (
            "Each figure is one fresh process (one sample, not a median: the runs take minutes). "
            "compile_share_of_warm: the warm run's seconds spent tracing, lowering and compiling with JAX "
            "(jax.monitoring events in the reproduce process, where the default in-process executor runs every "
            "task; the plot processes are not counted) over its wall seconds (issue 12's target: < 0.2); "
            "warm_compile_s lists them. "
            "compile_share = (cold - warm) / cold is the time the persistent caches save (JAX's cache of XLA "
            "executables and sharpsim.aot's executables keyed by the call, which also skips tracing and "
            "lowering of sharpsim's jitted functions on a warm run; JAX's eager operations are still traced), "
            "i.e. a lower bound on the share spent compiling. "
            f"Persistent cache size after the runs: {cache_mib:.1f} MiB."
        ),
    }


@register(
    "reproduce_full",
    description="`sharpsim reproduce` at full sizes (every figure, PNG and PDF) in a fresh process with an "
                "empty persistent compilation cache: what a new user waits for the whole catalogue",
    target="cold_full_s <= 150 (issue 12; issue 7 asked < 15 min)",
    slow=True,
    full_only=True,
)
def bench_reproduce_full(cfg):
    tmp = Path(tempfile.mkdtemp(prefix="sharpsim-bench-repro-full-"))
    try:
        cache = tmp / "jax-cache"
        cache.mkdir()
        t0 = time.perf_counter()
        cold = reproduce_wall({"SHARPSIM_JAX_CACHE": str(cache)}, str(tmp / "cold"), quick=False)
        cache_mib = sum(f.stat().st_size for f in cache.rglob("*") if f.is_file()) / 2**20
        figures = sorted(p.name for p in (tmp / "cold" / "figures").rglob("*.png"))
        per_experiment = {}  # each experiment's own elapsed seconds, from its results file
        for f in sorted((tmp / "cold" / "results").glob("*.json")):
            per_experiment[f.stem] = json.loads(f.read_text()).get("elapsed_s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    secs = {"cold_full": one_sample(cold)}
    return {
        "cases": [
            case("reproduce (full sizes, all experiments, empty cache)", {"names": "all", "figures": len(figures)},
                 secs, {"cold_full_s": cold}, headline="cold_full_s", target=150.0, higher_is_better=False,
                 cache_mib=cache_mib, wall_with_cleanup_s=time.perf_counter() - t0,
                 experiment_elapsed_s=per_experiment)
        ],
        "notes": (
            "One fresh `sharpsim reproduce --force` process at full sizes with an empty persistent "
            "compilation cache (SHARPSIM_JAX_CACHE pointed at a new folder): every experiment's tasks, "
            "assembly and figures, compiles included (one sample: it takes minutes). "
            f"{len(figures)} PNG figures written; cache size after the run: {cache_mib:.1f} MiB. Each "
            "experiment's own seconds (elapsed_s of its results file, compiles included): "
            + ", ".join(f"{k} {v:.0f} s" for k, v in sorted(per_experiment.items(), key=lambda kv: -(kv[1] or 0))
                        if v is not None) + "."
        ),
    }
