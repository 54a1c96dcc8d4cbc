"""sharpsim.sweep: tasks, executors, the driver; the catalogue on local processes and on a real
Dask LocalCluster (same bits as in-process), a worker killed mid-sweep (issue 16)."""

import json
import math
import os
import time
from pathlib import Path

import numpy as np
import pytest
import sweep_tasks as T

from sharpsim.experiments import runner
from sharpsim.sweep import (
    EXECUTORS,
    InlineExecutor,
    ProcessExecutor,
    Task,
    make_executor,
    memory_map_counts,
    release_compiled_if_near_map_limit,
    run_tasks,
    tid_key,
    to_jsonable,
)


def _collect(tasks, executor=None, **kw):
    got, errors = {}, {}
    run_tasks(tasks, executor, on_result=lambda t, res, sec: got.__setitem__(t.tid, res),
              on_error=lambda t, exc: errors.__setitem__(t.tid, exc), **kw)
    return got, errors


def test_to_jsonable_is_a_json_round_trip():
    out = to_jsonable({"a": np.float64(0.1), "b": np.arange(3), "c": (1, 2), "d": np.int64(7), "e": np.bool_(True),
                       "f": float("nan"), "g": -math.inf})
    assert out["a"] == 0.1 and type(out["a"]) is float
    assert out["b"] == [0, 1, 2] and out["c"] == [1, 2] and type(out["d"]) is int and out["e"] is True
    assert math.isnan(out["f"]) and out["g"] == -math.inf
    with pytest.raises(TypeError, match="not JSON serialisable"):
        to_jsonable({"x": object()})
    assert tid_key(("curve", 1, 2)) == '["curve", 1, 2]'


def test_inline_runs_in_order_and_reports_errors():
    tasks = [Task("g", (i,), T.boom if i == 2 else T.square, (i,)) for i in range(4)]
    order = []
    run_tasks(tasks, None, on_result=lambda t, res, sec: order.append(t.tid[0]), on_error=lambda t, e: order.append(-1))
    assert order == [0, 1, -1, 3]
    with pytest.raises(ValueError, match="task 2 is broken"):  # no on_error: raised
        run_tasks(tasks, InlineExecutor(), on_result=lambda *a: None)


@pytest.mark.parametrize(("kind", "kw", "exc", "match"), [
    ("threads", {}, ValueError, "executor must be one of"),
    ("processes", {"workers": 0}, ValueError, "workers must be >= 1"),
    ("processes", {"workers": 2.0}, TypeError, "workers must be an int"),
    ("processes", {"scheduler": "tcp://x:1"}, ValueError, "scheduler is only used by the dask executor"),
    ("dask", {"scheduler": "tcp://x:1", "workers": 2}, ValueError, "either scheduler"),
    ("inline", {"workers": 3}, ValueError, "inline executor has one worker"),
    ("processes", {"retries": -1}, ValueError, "retries must be >= 0"),
    ("processes", {"retries": 1.5}, TypeError, "retries must be an int"),
])
def test_make_executor_rejects_bad_arguments(kind, kw, exc, match):
    with pytest.raises(exc, match=match):
        make_executor(kind, **kw)


def test_cli_executor_flags_are_checked(capsys):
    from sharpsim.cli import main

    for argv, msg in ((["--executor", "inline", "--workers", "2"], "--workers 2 needs --executor processes or dask"),
                      (["--scheduler", "tcp://h:1"], "--scheduler needs --executor dask"),
                      (["--executor", "processes", "--workers", "0"], "--workers must be >= 1"),
                      (["--retries", "-1"], "--retries must be >= 0")):
        assert main(["reproduce", "bon_coverage", "--quick", "--out", "/tmp/sharpsim-flags", *argv]) == 2
        assert msg in capsys.readouterr().err


def test_processes_give_the_inline_results_and_survive_a_dead_worker(tmp_path):
    tasks = [Task("g", (i,), T.square, (i,)) for i in range(6)]
    tasks.append(Task("g", ("die",), T.die_once, (str(tmp_path / "marker"), 5)))
    tasks.append(Task("g", ("bad",), T.boom, (9,)))
    inline, inline_err = _collect([t for t in tasks if t.tid != ("die",)])
    ex = make_executor("processes", workers=2)
    assert isinstance(ex, ProcessExecutor)
    try:
        got, errors = _collect(tasks, ex)
    finally:
        ex.shutdown()
    assert (tmp_path / "marker").exists()  # a worker did die
    assert got[("die",)] == {"x": 5}  # ... and its task was retried
    assert {k: v for k, v in got.items() if k != ("die",)} == inline
    assert set(errors) == set(inline_err) == {("bad",)}


def test_a_task_whose_worker_always_dies_fails_after_its_retries():
    ex = make_executor("processes", workers=1)
    try:
        got, errors = _collect([Task("g", ("die",), T.die_always, (1,))], ex, retries=1)
    finally:
        ex.shutdown()
    assert not got and "died 2 times" in str(errors[("die",)])


def test_verify_parts_on_processes_equal_inline(monkeypatch):
    import jax

    import sharpsim.comparison as comparison
    from sharpsim.comparison import theory_vs_simulation
    from sharpsim.instances.problems import hard_problem

    prob = hard_problem(2, 8, 0.4, jax.random.key(0))
    kw = dict(trials=50, max_trials=100, budget_s=None)
    a = theory_vs_simulation(prob, "sft", 0.3, 0.25, 0.2, jax.random.key(1), **kw)
    seen, real = [], comparison.run_tasks
    monkeypatch.setattr(comparison, "run_tasks", lambda *args, **k: seen.append(k.get("cache_dir")) or real(*args, **k))
    cache = os.environ["SHARPSIM_JAX_CACHE"]  # the session's (tests/conftest.py): the workers load, not compile
    ex = make_executor("processes", workers=2)
    try:
        b = theory_vs_simulation(prob, "sft", 0.3, 0.25, 0.2, jax.random.key(1), executor=ex, cache_dir=cache, **kw)
    finally:
        ex.shutdown()
    assert seen == [cache]  # handed to the workers
    a.pop("elapsed_s"), b.pop("elapsed_s")
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    assert a["empirical_m"] is not None and a["m_on_bound_path"] is not None


# --------------------------------------------------------------------------- Dask

NAMES = ("lower_bound", "greedy_vs_argmax")  # 19 tasks, 9 executables: cheap to load on each new worker


def _results(out):
    return {n: json.loads(Path(runner.paths(n, str(out), True)[0]).read_text())["results"] for n in NAMES}


@pytest.fixture(scope="module")
def inline_quick(quick_catalogue):
    """The in-process results of NAMES: those of the session's quick catalogue run (inline, one
    process; tests/conftest.py), not computed a second time. Reading them also moves the Dask tests
    after that run, so their workers find its executables in the session's compilation cache."""
    return _results(quick_catalogue)


@pytest.fixture(scope="module")
def dask_executor():
    pytest.importorskip("distributed")
    ex = make_executor("dask", workers=2)
    yield ex
    ex.shutdown()


def test_dask_local_cluster_gives_the_inline_bits(inline_quick, dask_executor, tmp_path):
    assert dask_executor.workers == 2
    recs, fails = runner.reproduce(NAMES, quick=True, out=str(tmp_path), progress=False, executor=dask_executor,
                                   plot_process=False)  # figures: not under test here (tests/experiments)
    assert not fails and [r["name"] for r in recs] == list(NAMES)
    got = _results(tmp_path)
    for n in NAMES:  # the same bits: compared as JSON text
        assert json.dumps(got[n]) == json.dumps(inline_quick[n]), n
    assert not (tmp_path / "results" / ".partial").exists()


def test_dask_sweep_survives_a_worker_killed_mid_sweep(inline_quick, dask_executor, tmp_path, monkeypatch):
    """When the first task's result reaches the client (the rest are queued or running), a worker
    that is running a task is killed (SIGKILL); the scheduler reruns its task elsewhere, the
    nanny restarts it, and the results are the inline bits."""
    import signal

    client = dask_executor.client
    pids = client.run(os.getpid)  # worker address -> pid
    killed = []
    add = runner._Plan.add

    def add_then_kill(self, task, res, sec):
        add(self, task, res, sec)
        if not killed:
            busy = [w for w, keys in client.processing().items() if keys and w in pids]
            killed.append((busy[0] if busy else next(iter(pids)), bool(busy)))
            os.kill(pids[killed[0][0]], signal.SIGKILL)

    monkeypatch.setattr(runner._Plan, "add", add_then_kill)
    recs, fails = runner.reproduce(NAMES, quick=True, out=str(tmp_path), progress=False, executor=dask_executor,
                                   plot_process=False)
    assert killed and killed[0][1], "the killed worker was running a task"
    assert not fails, fails
    got = _results(tmp_path)
    for n in NAMES:
        assert json.dumps(got[n]) == json.dumps(inline_quick[n]), n
    deadline = time.monotonic() + 60  # the nanny brings the worker back
    while len(client.scheduler_info()["workers"]) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(client.scheduler_info()["workers"]) == 2


def test_executors_listed():
    assert EXECUTORS == ("inline", "processes", "dask")


@pytest.mark.skipif(memory_map_counts() is None, reason="needs /proc (Linux)")
def test_release_compiled_frees_executables_and_their_memory_maps():
    """Each live XLA:CPU executable holds memory mappings; past vm.max_map_count a compile segfaults.
    Above the threshold the guard drops the compiled executables (and their mappings); below, nothing."""
    import jax
    import jax.numpy as jnp

    fns = [jax.jit(lambda v, i=i: v * i + 1.0) for i in range(40)]
    for i, f in enumerate(fns):
        f(jnp.ones(i + 3)).block_until_ready()
    n0, limit = memory_map_counts()
    assert all(f._cache_size() == 1 for f in fns)
    assert release_compiled_if_near_map_limit(1.0) is False  # far below the limit: kept
    assert all(f._cache_size() == 1 for f in fns)
    assert release_compiled_if_near_map_limit(1.0 / limit) is True  # over a tiny threshold: dropped
    assert all(f._cache_size() == 0 for f in fns)
    n1, _ = memory_map_counts()
    assert n1 < n0 - 5 * len(fns), (n0, n1)  # each executable held several mappings
    np.testing.assert_array_equal(np.asarray(fns[5](jnp.arange(8.0))), np.arange(8) * 5.0 + 1.0)  # recompiles


@pytest.mark.parametrize("fraction, exc", [(0.0, ValueError), (1.5, ValueError), (-1, ValueError),
                                           (True, TypeError), ("0.5", TypeError)])
def test_release_compiled_rejects_bad_fraction(fraction, exc):
    with pytest.raises(exc, match="fraction"):
        release_compiled_if_near_map_limit(fraction)
