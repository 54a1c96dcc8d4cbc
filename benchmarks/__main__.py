"""``python -m benchmarks [--quick] [--full] [--only NAME ...] [--out PATH] [--repeats R] [--no-memory]``.

Writes PATH (default benchmarks/results.json) and a markdown table next to it
(RESULTS.md for the default path, else PATH with suffix .md), and prints the table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from . import Config, load_all, machine_info
from .issue import markdown_table, text_table

HERE = Path(__file__).resolve().parent


def _memory_figures(name, bench, quick):
    """Peak-memory increase (MiB) of each implementation on the largest case, each in a fresh process."""
    out = {}
    env = dict(os.environ)
    env["PYTHONPATH"] = str(HERE.parent) + os.pathsep + env.get("PYTHONPATH", "")
    for impl in _impl_names(bench, quick):
        cmd = [sys.executable, "-m", "benchmarks._memory", name, impl] + (["--quick"] if quick else [])
        r = subprocess.run(cmd, capture_output=True, text=True, cwd=str(HERE.parent), env=env, timeout=600)
        if r.returncode != 0:
            out[impl] = {"error": r.stderr.strip().splitlines()[-1:] or ["failed"]}
            continue
        out[impl] = json.loads(r.stdout.strip().splitlines()[-1])
    return out


def _impl_names(bench, quick):
    """Implementation names of the memory case (the inputs built here are dropped at once)."""
    _, impls = bench.memory(quick)
    return list(impls)


def _fmt(v):
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def markdown(results: dict) -> str:
    m = results["machine"]
    lines = [
        "# sharpsim benchmarks",
        "",
        f"Machine: {m.get('cpu')}, {m.get('logical_cores')} logical cores "
        f"({m.get('affinity_cores')} usable), {m.get('mem_total_gib', '?')} GiB; python {m.get('python')}, "
        f"numpy {m.get('numpy')}, jax {m.get('jax')} (jaxlib {m.get('jaxlib')}, backend {m.get('jax_backend')}).",
        f"Mode: {'quick' if results['settings']['quick'] else 'full'}; median of "
        f"{results['settings']['repeats']} timed calls after one warm-up call; generated "
        f"{results['settings']['date']}; total {results['settings']['wall_s']:.1f} s.",
        "",
        "## Issue 12 targets",
        "",
        markdown_table(results),
        "",
        "## Every case",
        "",
        "| benchmark | case | headline ratio | value | target | met |",
        "|---|---|---|---|---|---|",
    ]
    for name, b in results["benchmarks"].items():
        for c in b.get("cases", []):
            op = ">=" if c["target_is_min"] else "<="
            lines.append(
                f"| {name} | {c['case']} | {c['headline']} | {_fmt(c['ratios'][c['headline']])} | "
                f"{op} {c['target']:g} | {_fmt(c['met'])} |"
            )
    lines.append("")
    for name, b in results["benchmarks"].items():
        lines += [f"## {name}", "", b.get("description", ""), "", f"Target: {b.get('target', '')}", ""]
        for c in b.get("cases", []):
            lines += [f"### {c['case']}", "", "| ratio | value |", "|---|---|"]
            lines += [f"| {k} | {_fmt(v)} |" for k, v in c["ratios"].items()]
            lines += ["", "| implementation | median s | first call s | compile (first - median) s |", "|---|---|---|---|"]
            for k, s in c["seconds"].items():
                lines.append(f"| {k} | {s['median_s']:.4g} | {s['first_call_s']:.4g} | {s['compile_s']:.4g} |")
            for k, s in c.get("breakdown_seconds", {}).items():
                lines.append(f"| piece: {k} | {s['median_s']:.4g} | {s['first_call_s']:.4g} | {s['compile_s']:.4g} |")
            if "responses_per_second" in c:
                lines += ["", "| implementation | responses drawn and scored / s |", "|---|---|"]
                lines += [f"| {k} | {v:.3g} |" for k, v in c["responses_per_second"].items()]
            if "trials_per_second" in c:
                lines += ["", "| implementation | trials / s |", "|---|---|"]
                lines += [f"| {k} | {v:.3g} |" for k, v in c["trials_per_second"].items()]
            if "agreement" in c:
                lines += ["", "Agreement: " + ", ".join(f"{k} = {_fmt(v)}" for k, v in c["agreement"].items())]
            lines.append("")
        if "memory" in b:
            lines += ["Peak memory of the largest case (VmHWM increase in a fresh process, MiB):", ""]
            lines += ["| implementation | peak MiB | ratio to first baseline |", "|---|---|---|"]
            for k, v in b["memory"]["peak_mib"].items():
                lines.append(f"| {k} | {_fmt(v)} | {_fmt(b['memory']['ratios'].get(k, float('nan')))} |")
            lines.append("")
        if b.get("notes"):
            lines += [f"Notes: {b['notes']}", ""]
    return "\n".join(lines)


MEMORY_BASELINE = {"bon_law": "np_sort", "ar_enumeration": "numpy", "bon_sampling": "numpy",
                   "mc_engine": "reference_loop"}


def merge(results: dict, old: dict) -> dict:
    """``--merge``: in place, ``results`` keeps the benchmarks of ``old`` (an earlier results file) that
    it did not run, with old's repeats and quick settings; old's load note, said of the run that
    measured the kept rows, is kept after this run's own and labelled with that run's date."""
    kept = {k: v for k, v in old.get("benchmarks", {}).items() if k not in results["benchmarks"]}
    results["benchmarks"] = {**kept, **results["benchmarks"]}
    results["settings"]["merged_from"] = {"date": old.get("settings", {}).get("date"), "benchmarks": list(kept)}
    for k in ("repeats", "quick"):
        if k in old.get("settings", {}):
            results["settings"][k] = old["settings"][k]
    note = old.get("settings", {}).get("load_note")
    if note and kept:
        if not note.startswith("The run of "):
            note = f"The run of {old.get('settings', {}).get('date')}: {note[0].lower()}{note[1:]}"
        own = results["settings"].get("load_note")
        results["settings"]["load_note"] = f"{own} {note}" if own else note
    return results


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    ap.add_argument("--only", action="append", metavar="NAME", help="run only this benchmark (repeatable)")
    ap.add_argument("--out", default=str(HERE / "results.json"), help="results JSON path")
    ap.add_argument("--repeats", type=int, default=None, help="timed calls per figure (default 7, quick 3)")
    ap.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    ap.add_argument("--full", action="store_true",
                    help="also run the slow benchmarks (reproduce: minutes), which otherwise run only with --only")
    ap.add_argument("--merge", action="store_true",
                    help="keep the other benchmarks of the existing results file (e.g. after --only reproduce)")
    args = ap.parse_args(argv)
    t_start = time.perf_counter()
    load_start = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    registry = load_all()
    names = args.only or [n for n, b in registry.items()
                          if (args.full or not b.slow) and not (args.quick and b.full_only)]
    unknown = [n for n in names if n not in registry]
    if unknown:
        ap.error(f"unknown benchmark(s) {unknown}; available: {list(registry)}")
    cfg = Config(quick=args.quick, repeats=args.repeats or (3 if args.quick else 7))
    results = {"machine": machine_info(), "settings": {}, "benchmarks": {}}
    for name in names:
        b = registry[name]
        print(f"[benchmarks] {name} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        res = b.run(cfg)
        res["description"], res["target"] = b.description, b.target
        if b.memory is not None and not args.no_memory:
            mem = _memory_figures(name, b, cfg.quick)
            peak = {k: v.get("peak_increase_mib") for k, v in mem.items()}
            base = peak.get(MEMORY_BASELINE.get(name, ""))
            ratios = {k: (v / base if (v is not None and base) else None) for k, v in peak.items()}
            res["memory"] = {"baseline": MEMORY_BASELINE.get(name), "peak_mib": peak, "ratios": ratios, "raw": mem}
        res["wall_s"] = time.perf_counter() - t0
        res["date"] = time.strftime("%Y-%m-%d %H:%M:%S")
        res["cpu"] = results["machine"].get("cpu")  # merged files keep each benchmark's own machine
        results["benchmarks"][name] = res
    results["settings"] = {
        "quick": cfg.quick,
        "full": args.full,
        "repeats": cfg.repeats,
        "only": args.only,
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "wall_s": time.perf_counter() - t_start,
    }
    if load_start is not None:
        load_end = os.getloadavg()[0]
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        results["settings"]["loadavg_1min"] = [round(load_start, 2), round(load_end, 2)]
        if max(load_start, load_end) > 0.75 * cores:
            results["settings"]["load_note"] = (
                f"Measured under load: 1-min load average {load_start:.1f} at the start and "
                f"{load_end:.1f} at the end on {cores} cores (the benchmark's own subprocesses count too), so absolute "
                "times are noisy; the ratios are timed in one process.")
    out = Path(args.out)
    if args.merge and out.exists():
        merge(results, json.loads(out.read_text()))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1, default=float))
    md_path = HERE / "RESULTS.md" if out.resolve() == (HERE / "results.json").resolve() else out.with_suffix(".md")
    md = markdown(results)
    md_path.write_text(md + "\n")
    print(md)
    print("\n" + text_table(results))
    print(f"\n[benchmarks] wrote {out} and {md_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
