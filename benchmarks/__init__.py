"""sharpsim speed benchmarks: every figure a ratio against a baseline timed in the same run.

Run from the repository root::

    python -m benchmarks            # full sizes (a few minutes on a laptop-class CPU)
    python -m benchmarks --quick    # small sizes (smoke test)
    python -m benchmarks --only bon_law --out /tmp/results.json
    python -m benchmarks --full     # also the slow ones (sharpsim reproduce --quick, cold/warm cache)

Each benchmark is one function registered with :func:`register`; it receives a
:class:`Config` and returns a dict of *cases* (see :func:`case`). The runner adds the
machine description, writes ``results.json`` and ``RESULTS.md`` and prints the table.
Peak memory of the largest case of each benchmark is measured in fresh subprocesses
(``python -m benchmarks._memory``) because tracemalloc does not see XLA buffers.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from dataclasses import dataclass, field
from typing import Callable

__all__ = ["Config", "Benchmark", "REGISTRY", "register", "measure", "case", "machine_info", "load_all"]


@dataclass(frozen=True)
class Config:
    """Run settings: ``quick`` selects the small sizes; ``repeats`` timed calls after one warm-up."""

    quick: bool = False
    repeats: int = 7


@dataclass
class Benchmark:
    """A registered benchmark.

    run(cfg) -> {"cases": [...], "notes": str}; memory(quick) -> (inputs, {impl: fn(inputs)})
    builds the largest case for the peak-memory subprocesses (None: no memory figure).
    """

    name: str
    run: Callable
    description: str
    target: str
    memory: Callable | None = None
    order: int = 0
    slow: bool = False
    full_only: bool = False
    extra: dict = field(default_factory=dict)


REGISTRY: dict[str, Benchmark] = {}


def register(name: str, description: str, target: str, memory: Callable | None = None, slow: bool = False,
             full_only: bool = False):
    """Decorator adding ``fn(cfg)`` to :data:`REGISTRY` under ``name`` (run in registration order).

    ``slow`` benchmarks run only when named with ``--only`` or with ``--full``; ``full_only`` ones
    are skipped by ``--quick`` unless named (they have no small size).
    """

    def deco(fn):
        REGISTRY[name] = Benchmark(name, fn, description, target, memory, order=len(REGISTRY), slow=slow,
                                   full_only=full_only)
        return fn

    return deco


def _block(out):
    try:
        import jax

        return jax.block_until_ready(out)
    except Exception:  # numpy outputs, tuples of numpy, ...
        return out


def measure(fn: Callable, repeats: int, *, setup: Callable | None = None) -> dict:
    """Time ``fn()`` (blocking on JAX results): one warm-up call, then ``repeats`` timed calls.

    ``setup()`` (untimed) runs before every call, e.g. to clear a cache. Returns
    ``{"median_s", "min_s", "first_call_s", "compile_s", "repeats"}`` where ``first_call_s`` is
    the warm-up call (includes jit compilation) and ``compile_s = first_call_s - median_s``
    (floored at 0): the one-off cost of the first call.
    """
    if setup is not None:
        setup()
    t0 = time.perf_counter()
    _block(fn())
    first = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        if setup is not None:
            setup()
        t0 = time.perf_counter()
        _block(fn())
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    return {
        "median_s": med,
        "min_s": min(times),
        "first_call_s": first,
        "compile_s": max(first - med, 0.0),
        "repeats": repeats,
    }


def measure_interleaved(fns: dict, repeats: int) -> dict:
    """:func:`measure` of every implementation, the timed calls taken in turns (a, b, c, a, b, c, ...)
    so that a change of machine load between implementations does not bias their ratios."""
    first = {}
    for k, f in fns.items():
        t0 = time.perf_counter()
        _block(f())
        first[k] = time.perf_counter() - t0
    times = {k: [] for k in fns}
    for _ in range(repeats):
        for k, f in fns.items():
            t0 = time.perf_counter()
            _block(f())
            times[k].append(time.perf_counter() - t0)
    out = {}
    for k, ts in times.items():
        med = statistics.median(ts)
        out[k] = {"median_s": med, "min_s": min(ts), "first_call_s": first[k],
                  "compile_s": max(first[k] - med, 0.0), "repeats": repeats}
    return out


def one_sample(seconds: float) -> dict:
    """:func:`measure`'s record for a figure timed once (a whole process that takes minutes)."""
    return {"median_s": seconds, "min_s": seconds, "first_call_s": seconds, "compile_s": 0.0, "repeats": 1}


def case(name: str, params: dict, seconds: dict, ratios: dict, headline: str, target: float,
         higher_is_better: bool, **extra) -> dict:
    """One benchmark case: timings per implementation, named ratios, and the headline vs target.

    ``ratios[headline]`` is compared with ``target``: met when >= target if
    ``higher_is_better`` (a speed-up), else when <= target (a multiple of a floor).
    """
    value = ratios[headline]
    met = value >= target if higher_is_better else value <= target
    out = {
        "case": name,
        "params": params,
        "seconds": seconds,
        "ratios": ratios,
        "headline": headline,
        "target": target,
        "target_is_min": higher_is_better,
        "met": bool(met),
    }
    out.update(extra)
    return out


def machine_info() -> dict:
    """CPU model (from /proc/cpuinfo), logical cores, Python/numpy/jax/jaxlib versions, JAX backend."""
    cpu = platform.processor() or "unknown"
    flags = set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:  # the first processor's "model name", then its "flags"
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                elif line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    break
    except OSError:
        pass
    # two machines of one model name can differ in vector units, and with them XLA's code (its
    # fused multiply-adds) and numpy's sort speed: the name says which ones this CPU has
    isa = [name for flag, name in (("avx512f", "AVX-512"), ("avx2", "AVX2"), ("fma", "FMA")) if flag in flags]
    if isa:
        cpu = f"{cpu} ({', '.join(isa)})"
    info = {
        "cpu": cpu,
        "logical_cores": os.cpu_count(),
        "affinity_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    try:
        with open("/proc/meminfo") as f:
            info["mem_total_gib"] = round(int(f.readline().split()[1]) / 2**20, 1)
    except (OSError, ValueError, IndexError):
        pass
    import numpy

    info["numpy"] = numpy.__version__
    try:
        import jax
        import jaxlib

        info["jax"] = jax.__version__
        info["jaxlib"] = jaxlib.__version__
        info["jax_backend"] = jax.default_backend()
        info["jax_devices"] = [str(d) for d in jax.devices()]
    except Exception as e:  # pragma: no cover
        info["jax"] = f"unavailable ({e})"
    try:
        import sharpsim

        info["sharpsim"] = sharpsim.__version__
    except Exception:  # pragma: no cover
        pass
    return info


def load_all() -> dict[str, Benchmark]:
    """Import the benchmark modules (which register themselves) and return :data:`REGISTRY`."""
    from . import (  # noqa: F401
        bench_ar,
        bench_bon_law,
        bench_engine,
        bench_import,
        bench_reproduce,
        bench_sampling,
        bench_suite,
        bench_sweep,
    )

    return dict(sorted(REGISTRY.items(), key=lambda kv: kv[1].order))
