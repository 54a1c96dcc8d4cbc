"""``sharpsim reproduce`` and ``sharpsim list``: the experiment catalogue behind the figures."""

from __future__ import annotations

import os
import sys
import time

from ..sweep import compilation_cache_from_env
from .common import add_executor_arguments, executor_from_args


def register(sub) -> None:
    p = sub.add_parser("reproduce", help="run the experiment catalogue and write figures/ and results/")
    p.add_argument("names", nargs="*", metavar="NAME", help="experiments to run (default: all; see `sharpsim list`)")
    p.add_argument("--quick", action="store_true", help="reduced grids (smoke test); figures go to figures/quick/")
    p.add_argument("--out", default=".", help="output folder holding results/ and figures/ (default: .)")
    p.add_argument("--force", action="store_true", help="re-run even when a matching results file exists")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_executor_arguments(p)
    p.set_defaults(func=run_reproduce)
    q = sub.add_parser("list", help="the experiment catalogue, one line each")
    q.set_defaults(func=run_list)


def check_out(out: str) -> None:
    """ValueError naming --out unless results/ and figures/ can be created and written under it."""
    try:
        for sub in ("results", "figures"):
            os.makedirs(os.path.join(out, sub), exist_ok=True)
        probe = os.path.join(out, "results", f".write-test-{os.getpid()}")
        with open(probe, "w") as f:
            f.write("")
        os.remove(probe)
    except OSError as exc:
        raise ValueError(f"--out {out}: cannot write results and figures there ({exc.strerror or exc})") from None


def run_list(args) -> int:
    from sharpsim.experiments import CATALOGUE
    from sharpsim.experiments.runner import load

    for name in CATALOGUE:
        print(f"{name:<18} {load(name).DESCRIPTION}")
    return 0


def run_reproduce(args) -> int:
    from sharpsim.experiments.runner import format_summary, load, reproduce

    for n in args.names:
        load(n)  # ValueError -> clear message, exit 2
    check_out(args.out)
    cache = compilation_cache_from_env()
    executor = executor_from_args(args)
    t0 = time.perf_counter()
    done = []
    try:
        records, failures = reproduce(args.names, quick=args.quick, out=args.out, force=args.force,
                                      progress=not args.no_progress, finished=done, executor=executor,
                                      retries=args.retries, cache_dir=cache)
    except KeyboardInterrupt:
        kept = ", ".join(r["name"] for r in done) or "none"
        print(f"\nsharpsim reproduce: interrupted; finished results kept (reused on the next run): {kept}; "
              "finished tasks of the others are kept in results/.partial/ (resumed on the next run)",
              file=sys.stderr)
        return 130
    finally:
        executor.shutdown(wait=False, cancel_futures=True)
    wall = time.perf_counter() - t0
    if records:
        print(format_summary(records))
        print()
        for r in records:
            state = "reused" if r.get("reused") else f"{r['elapsed_s']:.1f} s"
            print(f"{r['name']:<18} {state:>9}  {r['figures'][0]}")
    print(f"\nreproduce: {len(records)} experiment(s) done, {len(failures)} failed, wall time {wall:.1f} s")
    for name, tb in failures:
        print(f"\n--- {name} FAILED ---\n{tb}", file=sys.stderr)
    return 1 if failures else 0
