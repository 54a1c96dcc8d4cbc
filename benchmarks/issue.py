"""The rows of issue 12's table: each row's measured value, its target, and met / missed.

:func:`rows` reads a ``results.json`` (as written by ``python -m benchmarks``) and returns one
dict per row of the issue; a row whose benchmark was not part of the run says "not measured".
:func:`markdown_table` renders them; ``python -m benchmarks`` prints it and
``python -m benchmarks.readme`` writes it into the README's Performance section.
"""

from __future__ import annotations

# (what, benchmark, case prefix, ratio key, unit, target op, target value)
ROWS = [
    ("exact `bon_law` [1000, 1000], N = 16", "bon_law", "X=1000, Y=1000", "x_of_sort", "x one `np.sort`", "<=", 6.0),
    ("exact `bon_law` [1000, 1000] vs the numpy version", "bon_law", "X=1000, Y=1000", "speedup_vs_numpy", "x the numpy version's speed", ">=", 2.0),
    ("exact `bon_law` [1, 10^6], N = 16", "bon_law", "X=1, Y=1000000", "x_of_sort", "x one `np.sort`", "<=", 6.0),
    ("exact `bon_law` [1, 10^6] vs the numpy version", "bon_law", "X=1, Y=1000000", "speedup_vs_numpy", "x the numpy version's speed", ">=", 2.0),
    ("AR enumeration 4^10 end to end (`AutoregressiveLM(cond).log_table()`)", "ar_enumeration", "end to end", "speedup_vs_numpy", "x the numpy loop", ">=", 1.5),
    ("AR enumeration 10^6, X = 4, full history (log_table only)", "ar_enumeration", "X=4, V=10, H=6 (V^H=1000000), full", "speedup_vs_numpy", "x numpy", ">=", 1.5),
    ("BoN sampling, 100 prompts x 10 x N = 64 over 1000 responses", "bon_sampling", "X=100, Y=1000, N=64, B=1000", "speedup_vs_numpy", "x numpy", ">=", 3.0),
    ("BoN sampling, 10^4 prompts x N = 64 over 1000 responses", "bon_sampling", "X=100, Y=1000, N=64, B=10000", "speedup_vs_numpy", "x numpy", ">=", 3.0),
    ("MC engine, SFT trials/s vs the per-trial loop", "mc_engine", "", "speedup_vs_reference_loop", "x the per-trial loop", ">=", 300.0),
    ("MC engine, opt-in counts mode (`run_trials(..., counts=True)`: same law, other bits), trials/s vs the "
     "per-trial loop", "mc_engine", "counts mode", "counts_speedup_vs_reference_loop", "x the per-trial loop", ">=",
     300.0),
    ("MC engine, default path: the speed-up its bits allow at most (the trial's threefry uniforms alone; floor, "
     "informational)", "mc_engine", "", "floor_speedup_vs_reference_loop", "x the per-trial loop", None, None),
    ("MC engine, counts mode: the speed-up at its `jax.random.binomial` draws alone (floor of this design, "
     "informational)", "mc_engine", "counts mode", "counts_floor_speedup_vs_reference_loop", "x the per-trial loop",
     None, None),
    ("MC engine at 25 x n (n = 10^5): counts mode over the default path (informational)", "mc_engine", "counts mode",
     "counts_vs_default_path_at_25n", "x", None, None),
    ("warm `reproduce --quick` (wall s)", "reproduce", "reproduce --quick (all", "warm_s", "s", "<=", 20.0),
    ("warm `reproduce --quick`: share of its wall spent tracing, lowering and compiling with JAX (the "
     "reproduce process)", "reproduce", "reproduce --quick (all", "compile_share_of_warm", "", "<=", 0.2),
    ("cold `reproduce --quick`: share the compilation cache saves, (cold - warm) / cold (informational)",
     "reproduce", "reproduce --quick (all", "compile_share_of_cold", "", None, None),
    ("cold `reproduce` at full sizes, empty compilation cache (wall s)", "reproduce_full", "reproduce (full",
     "cold_full_s", "s", "<=", 150.0),
    ("`import sharpsim` beyond `import jax` (s)", "import", "", "sharpsim_beyond_jax_s", "s", "<=", 2.0),
    ("test suite, `python -m pytest -q -n 2` (wall s)", "suite", "pytest", "wall_s", "s", "<=", 300.0),
    ("test suite: share of the tests' own time spent tracing, lowering and compiling with JAX, in the test "
     "processes (informational)", "suite", "pytest", "compile_share_of_test_time", "", None, None),
    ("test suite: those compile seconds over the 2 workers (wall seconds under the run's own load; about the "
     "least wall time while the tests compile these programs; informational)", "suite", "pytest",
     "compile_s_over_workers", "s", None, None),
    ("test suite: CPU seconds of XLA's compiles in the test processes over the 2 cores (not inflated by the "
     "load; the least wall time those compiles alone take; informational)", "suite", "pytest",
     "backend_compile_cpu_s_over_cores", "s", None, None),
    ("issue 16: `reproduce --quick` sweep on 2 local Dask workers vs 1 (speed-up; informational)", "sweep", "sweep",
     "speedup_2_over_1", "x", None, None),
    ("issue 16: tasks' summed seconds on 2 workers over 1 worker (1 = no contention; informational)", "sweep",
     "sweep", "task_time_inflation_2_workers", "x", None, None),
    ("issue 16: overhead per task on Dask (s; informational)", "sweep", "sweep", "task_overhead_s", "s", None, None),
    ("issue 16: compile cost per new worker, empty vs shared cache (s; informational)", "sweep", "sweep",
     "compile_s_per_worker", "s", None, None),
]

NOT_MEASURED = "not measured in this run"


def _find_case(results, bench, prefix):
    b = results.get("benchmarks", {}).get(bench)
    if not b:
        return None
    for c in b.get("cases", []):
        if prefix in c["case"]:
            return c
    return None


def _fmt(v, unit):
    if v is None:
        return NOT_MEASURED
    txt = f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"
    return f"{txt} {unit}".strip() if unit else txt


def rows(results: dict) -> list[dict]:
    """One dict per row of :data:`ROWS`: what, measured (text), value, target (text), status."""
    out = []
    for what, bench, prefix, key, unit, op, target in ROWS:
        c = _find_case(results, bench, prefix)
        v = None if c is None else c["ratios"].get(key)
        if v is None or target is None:
            status = "-"
        else:
            status = "met" if (v <= target if op == "<=" else v >= target) else "missed"
        out.append({
            "what": what, "benchmark": bench, "value": v, "measured": _fmt(v, unit),
            "target": "-" if target is None else f"{op} {target:g}" + (f" {unit}" if unit else ""),
            "status": status,
        })
    return out


def header(results: dict) -> str:
    """One line: date, mode and machine of the run (from results.json)."""
    m, s = results.get("machine", {}), results.get("settings", {})
    load = s.get("load_note") or ""
    return (
        f"Measured {s.get('date', '?')} by `python -m benchmarks"
        f"{' --full' if s.get('full') else ''}{' --quick' if s.get('quick') else ''}` on {m.get('cpu', '?')}, "
        f"{m.get('affinity_cores', m.get('logical_cores', '?'))} usable cores, jax {m.get('jax', '?')} "
        f"(backend {m.get('jax_backend', '?')}), numpy {m.get('numpy', '?')}; median of "
        f"{s.get('repeats', '?')} calls, ratios timed in one process."
        + (f" {load}" if load else "")
        + _merged(results)
    )


def _merged(results: dict) -> str:
    """Where a merged results file's other rows come from: each benchmark's own date (and its CPU
    where it differs from this run's)."""
    kept = (results.get("settings", {}).get("merged_from") or {}).get("benchmarks") or []
    if not kept:
        return ""
    cpu = results.get("machine", {}).get("cpu")
    parts = []
    for name in kept:
        b = results.get("benchmarks", {}).get(name, {})
        where = f", on {b['cpu']}" if b.get("cpu") and b["cpu"] != cpu else ""
        parts.append(f"{name} ({b.get('date', 'date unknown')}{where})")
    return f" Rows of {', '.join(parts)} from earlier runs."


def markdown_table(results: dict) -> str:
    """The issue's table as markdown: header line, blank line, table."""
    lines = [header(results), "", "| what | measured | target | met |", "|---|---|---|---|"]
    for r in rows(results):
        lines.append(f"| {r['what']} | {r['measured']} | {r['target']} | {r['status']} |")
    return "\n".join(lines)


def text_table(results: dict) -> str:
    """The same rows for a terminal."""
    rs = rows(results)
    w = max(len(r["what"]) for r in rs)
    wm = max(len(r["measured"]) for r in rs)
    wt = max(len(r["target"]) for r in rs)
    lines = [f"{'what'.ljust(w)}  {'measured'.ljust(wm)}  {'target'.ljust(wt)}  met"]
    lines += [f"{r['what'].ljust(w)}  {r['measured'].ljust(wm)}  {r['target'].ljust(wt)}  {r['status']}" for r in rs]
    return "\n".join(lines)
