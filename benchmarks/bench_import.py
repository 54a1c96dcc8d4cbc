"""Benchmark 6: start-up time, ``import sharpsim`` beyond ``import jax`` (fresh processes)."""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

from . import case, register

ROOT = Path(__file__).resolve().parents[1]

_PROBE = (
    "import time; t0 = time.perf_counter(); import jax, jax.numpy; t1 = time.perf_counter(); "
    "import {mod}; t2 = time.perf_counter(); print(t1 - t0, t2 - t1)"
)


def _probe(mod: str) -> tuple[float, float]:
    r = subprocess.run([sys.executable, "-c", _PROBE.format(mod=mod)], cwd=str(ROOT), check=True,
                       capture_output=True, text=True)
    a, b = r.stdout.split()
    return float(a), float(b)


@register(
    "import",
    description="`import sharpsim` (and `import sharpsim.cli`) in a fresh process, measured after `import jax`",
    target="sharpsim_beyond_jax_s <= 2 (seconds of `import sharpsim` after jax is imported)",
    full_only=True,
)
def bench_import(cfg):
    reps = max(3, cfg.repeats // 2)
    cases = []
    for mod in ("sharpsim", "sharpsim.cli"):
        runs = [_probe(mod) for _ in range(reps)]
        jax_s = statistics.median(r[0] for r in runs)
        own_s = statistics.median(r[1] for r in runs)
        secs = {
            "import jax": {"median_s": jax_s, "min_s": min(r[0] for r in runs), "first_call_s": runs[0][0],
                           "compile_s": 0.0, "repeats": reps},
            f"import {mod} (after jax)": {"median_s": own_s, "min_s": min(r[1] for r in runs),
                                          "first_call_s": runs[0][1], "compile_s": 0.0, "repeats": reps},
        }
        cases.append(case(f"import {mod}", {"module": mod}, secs,
                          {"sharpsim_beyond_jax_s": own_s, "jax_s": jax_s},
                          headline="sharpsim_beyond_jax_s", target=2.0, higher_is_better=False))
    return {"cases": cases, "notes": "Each figure is the median over fresh interpreter processes."}
