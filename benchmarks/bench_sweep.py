"""Benchmark 6 (issue 16): a catalogue sweep on 1 and 2 local Dask workers, the task overhead, the
compile cost per worker.

* **Sweep**: ``sharpsim reproduce --quick --force`` of a few experiments in a fresh process on a
  Dask ``LocalCluster`` of 1 and of 2 workers, both with a warm persistent compilation cache in a
  shared folder (filled by a first, untimed run). ``speedup_2_over_1`` = wall(1) / wall(2); on a
  2-core machine the ceiling is 2 minus the client's share (plots, assembly). Cluster start-up is
  inside the wall times (it is part of what a user waits for) and is also timed on its own.
  ``task_time_inflation_2_workers``: the tasks' summed seconds on 2 workers over those on 1
  (1 = the two workers do not slow each other down; on this 2-core machine each task runs ~1.8x
  slower when two run at once, which is why the speed-up stays near 1 here).
* **Task overhead**: K no-op tasks through ``sweep.run_tasks`` on the 2-worker cluster, per task
  (scheduling, pickling, the result's JSON round trip); compared with the median task of the
  sweep (what one grid point costs).
* **Compile cost per worker**: the 1-worker sweep with an empty cache folder minus with the
  filled one: what each new worker machine pays once when the cache folder is not shared.

Slow (minutes): runs only with ``--only sweep`` or ``--full``; needs ``sharpsim[dask]``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path

from . import case, one_sample, register
from .bench_reproduce import reproduce_wall

ROOT = Path(__file__).resolve().parents[1]
NAMES = ["sft_scaling", "adaptive", "lower_bound", "iterated", "passk", "self_rewards"]


def _sweep(env_extra: dict, out: str, workers: int, names) -> float:
    return reproduce_wall(env_extra, out, names, ("--executor", "dask", "--workers", str(workers)))


def _task_seconds(out: str, names) -> list[float]:
    """Per-experiment compute seconds / tasks, from the results files (the mean task)."""
    per = []
    for n in names:
        rec = json.loads((Path(out) / "results" / f"{n}.quick.json").read_text())
        per.append(rec["elapsed_s"] / rec["tasks"])
    return per


def _compute_seconds(out: str, names) -> float:
    """The sum over the experiments of their compute seconds (the sum of their task seconds)."""
    return sum(json.loads((Path(out) / "results" / f"{n}.quick.json").read_text())["elapsed_s"] for n in names)


def _overhead(K: int) -> tuple[float, float]:
    from sharpsim.sweep import Task, make_executor, run_tasks, to_jsonable

    t0 = time.perf_counter()
    ex = make_executor("dask", workers=2)
    start = time.perf_counter() - t0
    try:
        tasks = [Task("noop", (i,), to_jsonable, (i,)) for i in range(K)]  # a no-op task
        run_tasks(tasks[:4], ex, on_result=lambda *a: None)  # workers import sharpsim once
        t0 = time.perf_counter()
        run_tasks(tasks, ex, on_result=lambda *a: None)
        per = (time.perf_counter() - t0) / K
    finally:
        ex.shutdown()
    return per, start


@register(
    "sweep",
    description="catalogue sweep (reproduce --quick of 6 experiments) on a Dask LocalCluster of 1 and 2 workers; "
                "task overhead; compile cost per worker",
    target="speedup_2_over_1 reported (issue 16 asks for the ratio; ceiling 2 on 2 cores)",
    slow=True,
)
def bench_sweep(cfg):
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise RuntimeError('the sweep benchmark needs Dask: pip install ".[dask]"') from None
    names = NAMES[:2] if cfg.quick else NAMES
    tmp = Path(tempfile.mkdtemp(prefix="sharpsim-bench-sweep-"))
    try:
        cache = tmp / "cache"
        env = {"SHARPSIM_JAX_CACHE": str(cache)}
        cold1 = _sweep(env, str(tmp / "cold"), 1, names)  # fills the shared cache
        warm1 = _sweep(env, str(tmp / "w1"), 1, names)
        warm2 = _sweep(env, str(tmp / "w2"), 2, names)
        task_s = _task_seconds(str(tmp / "w1"), names)
        sum1, sum2 = _compute_seconds(str(tmp / "w1"), names), _compute_seconds(str(tmp / "w2"), names)
        overhead, startup = _overhead(50 if cfg.quick else 200)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    med_task = sorted(task_s)[len(task_s) // 2]
    secs = {k: one_sample(v) for k, v in
            {"1 worker (warm cache)": warm1, "2 workers (warm cache)": warm2,
             "1 worker (empty cache)": cold1, "task seconds, summed, 1 worker": sum1,
             "task seconds, summed, 2 workers": sum2, "LocalCluster(2) start": startup}.items()}
    ratios = {
        "speedup_2_over_1": warm1 / warm2,
        "task_time_inflation_2_workers": sum2 / sum1,
        "task_overhead_s": overhead,
        "overhead_over_median_task": overhead / med_task,
        "compile_s_per_worker": max(cold1 - warm1, 0.0),
        "cluster_start_s": startup,
    }
    return {
        "cases": [case(f"sweep reproduce --quick {' '.join(names)}", {"names": names}, secs, ratios,
                       headline="speedup_2_over_1", target=1.0, higher_is_better=True, median_task_s=med_task)],
        "notes": ("Each sweep is one fresh process with its own LocalCluster (one sample each: the runs take "
                  "minutes); the cache folder is shared by the workers. task_overhead_s: per no-op task on 2 "
                  "workers; overhead_over_median_task: that overhead against the mean task of each experiment "
                  "(median over the experiments)."),
    }
