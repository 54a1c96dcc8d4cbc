"""Run catalogue experiments: cached results, resumable tasks, atomic writes, progress bars, a summary table.

Layout under ``out``: ``results/<name>.json`` and ``figures/<name>.{png,pdf}`` for the full
configuration; ``results/<name>.quick.json`` and ``figures/quick/<name>.{png,pdf}`` for the quick
one, so a quick smoke run never overwrites the committed figures. Full runs write a vector PDF;
quick runs wrap the PNG's raster in the PDF (no second rendering) unless ``SHARPSIM_PDF=1``.
A results file holds the experiment name, the sharpsim version, the config, the compute time
(the sum over its tasks), the number of tasks and the results. It is reused (the run skipped)
when its config and version match, unless ``force``.

An experiment is a list of tasks (see :mod:`sharpsim.experiments`); they run through an executor
of :mod:`sharpsim.sweep` (in-process by default; local processes or Dask). Only this process
writes: each finished task goes to ``results/.partial/<name>[.quick].json`` at once, so an
interrupted run loses no finished task and the next run (same config and version) resumes from
them; an experiment whose tasks are all done is assembled, written and plotted at once.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import sys
import traceback

from sharpsim.sweep import (
    DEFAULT_RETRIES,
    InlineExecutor,
    Task,
    run_tasks,
    tid_key,
    to_jsonable,
    write_json_atomic,
)

from . import CATALOGUE

__all__ = ["load", "tasks", "compute", "run_one", "reproduce", "compute_order", "format_summary", "paths",
           "write_json_atomic"]


def load(name: str):
    """The experiment module ``sharpsim.experiments.<name>`` (ValueError for unknown names)."""
    if name not in CATALOGUE:
        raise ValueError(f"unknown experiment {name!r}; known: {', '.join(CATALOGUE)}")
    return importlib.import_module(f"{__package__}.{name}")


def _module(name_or_mod):
    return load(name_or_mod) if isinstance(name_or_mod, str) else name_or_mod


def run_task(name: str, config, tid: tuple):
    """One task of experiment ``name`` (what a worker runs): ``load(name).run_task(config, tid)``."""
    return load(name).run_task(config, tuple(tid))


def tasks(name_or_mod, config) -> list[Task]:
    """The experiment's tasks for ``config``, in its canonical order (checked: ids unique tuples)."""
    mod = _module(name_or_mod)
    out = []
    for tid in mod.tasks(config):
        if not isinstance(tid, tuple):
            raise TypeError(f"{mod.NAME}.tasks must yield tuples; got {type(tid).__name__}")
        out.append(Task(mod.NAME, tid, run_task, (mod.NAME, config, tid)))
    if len({tid_key(t.tid) for t in out}) != len(out):
        raise ValueError(f"{mod.NAME}.tasks yields a task id twice")
    return out


def compute(name_or_mod, config, executor=None, progress=None) -> dict:
    """The experiment's results for ``config``: every task through ``executor`` (default
    in-process), then ``assemble``. ``progress(k)`` is called once per finished task."""
    mod = _module(name_or_mod)
    parts = {}

    def done(task, res, sec):
        parts[task.tid] = res
        if progress is not None:
            progress(1)

    run_tasks(tasks(mod, config), executor, on_result=done)
    return mod.assemble(config, parts)


def paths(name: str, out: str, quick: bool) -> tuple[str, str]:
    if quick:
        return (os.path.join(out, "results", f"{name}.quick.json"), os.path.join(out, "figures", "quick", name))
    return os.path.join(out, "results", f"{name}.json"), os.path.join(out, "figures", name)


def partial_path(name: str, out: str, quick: bool) -> str:
    """Where the finished tasks of an unfinished run are kept (``results/.partial/``)."""
    return os.path.join(out, "results", ".partial", f"{name}{'.quick' if quick else ''}.json")


def _read_matching(path: str, cfg: dict, version: str):
    if not os.path.exists(path):
        return None
    try:
        with open(path) as f:
            old = json.load(f)
    except (OSError, json.JSONDecodeError):
        return None
    if old.get("config") == cfg and old.get("version") == version:
        return old
    return None


class _Plan:
    """One experiment of a reproduce run: its config, finished parts and the tasks left."""

    def __init__(self, name, quick, out, force):
        import sharpsim

        self.name, self.quick, self.out = name, quick, out
        self.mod = load(name)
        self.config = self.mod.QUICK if quick else self.mod.FULL
        self.cfg = to_jsonable(dataclasses.asdict(self.config))
        self.version = sharpsim.__version__
        self.res_path, self.fig_stem = paths(name, out, quick)
        self.part_path = partial_path(name, out, quick)
        self.record = None if force else _read_matching(self.res_path, self.cfg, self.version)
        self.all_tasks = tasks(self.mod, self.config)
        self.parts, self.seconds = {}, 0.0
        if self.record is None:
            old = None if force else _read_matching(self.part_path, self.cfg, self.version)
            if old is not None:  # resume: the tasks an interrupted run finished
                known = {tid_key(t.tid): t.tid for t in self.all_tasks}
                for k, v in old.get("parts", {}).items():
                    if k in known:
                        self.parts[known[k]] = v
                self.seconds = float(old.get("elapsed_s", 0.0))
        self.todo = [] if self.record is not None else [t for t in self.all_tasks if t.tid not in self.parts]
        self.resumed = len(self.parts)
        self.failed = None

    def add(self, task, res, sec):
        self.parts[task.tid] = res
        self.seconds += sec
        write_json_atomic(self.part_path, {"name": self.name, "version": self.version, "config": self.cfg,
                                           "elapsed_s": self.seconds,
                                           "parts": {tid_key(t): v for t, v in self.parts.items()}})

    @property
    def complete(self) -> bool:
        return self.record is not None or len(self.parts) == len(self.all_tasks)

    def finish(self, plotter=None) -> dict:
        """Assemble (unless reused), write the results file, draw the figure (in ``plotter``, a
        process pool, when given: then ``self.drawing`` is its future); the record with its summary."""
        if self.record is None:
            results = self.mod.assemble(self.config, self.parts)
            self.record = {"name": self.name, "version": self.version, "quick": self.quick, "config": self.cfg,
                           "elapsed_s": self.seconds, "tasks": len(self.all_tasks), "results": to_jsonable(results)}
            write_json_atomic(self.res_path, self.record)
            if os.path.exists(self.part_path):
                os.remove(self.part_path)
                try:  # the folder goes when it is empty
                    os.rmdir(os.path.dirname(self.part_path))
                except OSError:
                    pass
            self.record["reused"] = False
            self.record["resumed_tasks"] = self.resumed
        else:
            self.record["reused"] = True
        args = (self.name, self.record["results"], self.fig_stem, not self.quick)
        if plotter is None:
            draw(*args)
        else:
            self.drawing = plotter.submit(draw, *args)
        self.record["figures"] = [f"{self.fig_stem}.png", f"{self.fig_stem}.pdf"]
        self.record["summary"] = self.mod.summary(self.record["results"])
        return self.record


def draw(name: str, results: dict, fig_stem: str, vector: bool) -> None:
    """Draw experiment ``name``'s figure from its results: ``<fig_stem>.png`` and ``.pdf`` (the
    vector PDF when ``vector``, i.e. in full runs, or with SHARPSIM_PDF=1)."""
    from . import style

    with style.vector_pdf(vector):
        load(name).plot(results, fig_stem)


def _plot_pool():
    """Two processes that draw the figures while this one computes (plotting is about a
    quarter of a warm quick run and all of a run that reuses every result).

    Where the platform has it, the workers are forked from a ``forkserver`` started here, before
    anything is computed, that imports matplotlib, the runner and every catalogue module once
    (:data:`PLOT_PRELOAD`): each spawned worker used to import them itself (~3.3 s of CPU each, on the
    cores the computing uses), and the server's import overlaps the first experiment. Measured, warm
    ``reproduce --quick`` on the 2-core EPYC, alternated three times: spawned workers 21.8 / 21.5 /
    22.3 s wall (37.1 / 36.4 / 38.0 s of busy CPU, from /proc/stat), forked from the early server
    19.5 / 19.3 / 20.0 s (32.0 / 31.6 / 32.5 s); a server started at the first figure instead of here
    left a core idle while it imported (21.9 / 21.0 / 21.8 s). The server imports no JAX backend, so
    it forks a single-threaded process. The server is one per process (multiprocessing's), so the
    workers of every later pool in this process come from it too and see the environment (e.g.
    ``MPLBACKEND``, ``SHARPSIM_PDF``) as it was when it started. Otherwise (or if the server does not
    start): spawned workers. The figures are the same bytes either way (tests/experiments/test_runner.py)."""
    import concurrent.futures as cf
    import multiprocessing

    if "forkserver" in multiprocessing.get_all_start_methods():
        try:
            from multiprocessing import forkserver

            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(list(PLOT_PRELOAD))
            forkserver.ensure_running()
            return cf.ProcessPoolExecutor(max_workers=2, mp_context=ctx)
        except (OSError, ValueError):  # no server here: spawned workers
            pass
    return cf.ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn"))


PLOT_PRELOAD = ("matplotlib.pyplot", "sharpsim.experiments.runner",
                *(f"sharpsim.experiments.{n}" for n in CATALOGUE))
"""The modules the plot processes' fork server imports once (:func:`_plot_pool`)."""


DRAW_FIRST = ("passk", "self_rewards", "iterated")
"""The experiments whose figures take longest to draw (quick figures, one process, 2-core EPYC,
2026-12-07: passk 2.5 s, self_rewards 1.9 s, iterated 1.8 s; the others 0.5-1.1 s). With the plot
processes, :func:`reproduce` computes them first, so their drawing overlaps the computing of the
others instead of being the run's tail (catalogue order ended with these three: warm
``reproduce --quick`` 24.4 / 23.3 / 21.2 s, these first 23.7 / 21.6 / 20.9 s, alternated)."""


def compute_order(names, plot_process: bool) -> list:
    """The order in which :func:`reproduce` computes ``names``: with the plot processes, the
    experiments of :data:`DRAW_FIRST` first (in that order), then the others in the order given;
    without them, the order given. The records come back in the order given either way, and
    every experiment's results are the same bits in any order (keys come from its config)."""
    names = list(names)
    if not plot_process:
        return names
    return [n for n in DRAW_FIRST if n in names] + [n for n in names if n not in DRAW_FIRST]


def run_one(name: str, *, quick: bool = False, out: str = ".", force: bool = False, progress: bool = True,
            executor=None) -> dict:
    """Run (or reuse, or resume) one experiment, plot it, and return its record with the summary rows."""
    records, failures = reproduce([name], quick=quick, out=out, force=force, progress=progress, executor=executor)
    if failures:
        raise RuntimeError(f"experiment {name} failed:\n{failures[0][1]}")
    return records[0]


def reproduce(names=None, *, quick=False, out=".", force=False, progress=True, finished=None,
              executor=None, retries: int = DEFAULT_RETRIES, cache_dir: str | None = None,
              plot_process: bool | None = None) -> tuple[list[dict], list[tuple[str, str]]]:
    """Run several experiments; a failure in one is reported and the others still run.

    Every experiment is a list of tasks (``tasks``/``run_task``/``assemble``); all the tasks of
    all the experiments go to ``executor`` (default: in-process, one experiment after the
    other). Only this process writes files: each finished task is added to the experiment's
    partial file (``results/.partial/``), and an experiment whose tasks are all done is
    assembled, written, plotted and handed to ``finished`` (a list) at once, so an interrupted
    run loses nothing finished and the next run resumes from the finished tasks.

    ``retries`` and ``cache_dir`` (the compilation cache of every worker) go to
    :func:`sharpsim.sweep.run_tasks`. ``plot_process``: draw the figures in two processes (:func:`_plot_pool`)
    while this one goes on computing (default: when there are two or more experiments); the
    figures are the same bytes either way, and all are drawn before this function returns. In
    process, the experiments are computed in :func:`compute_order` (slowest figures first).

    Returns (records in the order of ``names``, failures as (name, traceback text)).
    """
    from tqdm.auto import tqdm

    names = list(names) if names else list(CATALOGUE)
    for n in names:
        load(n)  # unknown names fail before anything runs
    plans, failures, records = {}, [], {}
    for n in names:
        try:
            plans[n] = _Plan(n, quick, out, force)
        except Exception:  # noqa: BLE001 - report and go on with the rest
            failures.append((n, traceback.format_exc()))

    if plot_process is None:
        plot_process = len(plans) >= 2
    plotter = _plot_pool() if plot_process else None

    def close(plan):
        try:
            records[plan.name] = plan.finish(plotter)
            if finished is not None:
                finished.append(records[plan.name])
        except Exception:  # noqa: BLE001
            failures.append((plan.name, traceback.format_exc()))

    def on_error(task, exc):
        plan = plans[task.group]
        if plan.failed is None:
            plan.failed = "".join(traceback.format_exception(exc))
            failures.append((plan.name, f"task {task.label} failed:\n{plan.failed}"))

    try:
        inline = executor is None or isinstance(executor, InlineExecutor)
        if inline:
            for plan in (plans[n] for n in compute_order(plans, plotter is not None)):
                if plan.todo:
                    with tqdm(total=len(plan.all_tasks), initial=plan.resumed, desc=f"{plan.name:<17}",
                              disable=not progress, file=sys.stderr, leave=True) as bar:

                        def done(task, res, sec, plan=plan, bar=bar):
                            plan.add(task, res, sec)
                            bar.update(1)

                        run_tasks(plan.todo, None, on_result=done, on_error=on_error, cache_dir=cache_dir)
                if plan.failed is None and plan.complete:
                    close(plan)
        else:
            for plan in plans.values():
                if not plan.todo:
                    close(plan)
            todo = [t for plan in plans.values() for t in plan.todo]
            bars = tqdm(total=len(todo), desc=f"tasks on {getattr(executor, 'workers', '?')} worker(s)",
                        disable=not progress, file=sys.stderr, leave=True)

            def done(task, res, sec):
                plan = plans[task.group]
                plan.add(task, res, sec)
                bars.update(1)
                if plan.failed is None and plan.complete:
                    close(plan)

            try:
                run_tasks(todo, executor, on_result=done, on_error=on_error, retries=retries,
                          cache_dir=cache_dir)
            finally:
                bars.close()
    finally:
        if plotter is not None:
            for plan in plans.values():  # every figure drawn (or its failure reported) before returning
                job = getattr(plan, "drawing", None)
                if job is None:
                    continue
                try:
                    job.result()
                except Exception:  # noqa: BLE001
                    records.pop(plan.name, None)
                    failures.append((plan.name, "drawing the figure failed:\n" + traceback.format_exc()))
            plotter.shutdown(wait=True, cancel_futures=True)
    return [records[n] for n in names if n in records], failures


def format_summary(records: list[dict]) -> str:
    """The end-of-run table: each figure's key measurement next to the theory."""
    rows = [("figure", "measurement", "simulated", "theory", "note")]
    for r in records:
        for s in r["summary"]:
            rows.append((r["name"], str(s["measurement"]), _fmt(s.get("simulated")), _fmt(s.get("theory")),
                         str(s.get("note", ""))))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = []
    for k, row in enumerate(rows):
        lines.append("  ".join(row[i].ljust(widths[i]) for i in range(4)) + "  " + row[4])
        if k == 0:
            lines.append("  ".join("-" * w for w in widths) + "  ----")
    return "\n".join(lines)


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)
