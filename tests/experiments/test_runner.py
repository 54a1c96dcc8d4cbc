"""The experiment runner: caching, atomic results files with config and version, clear errors."""

import json
import os
import shutil

import pytest

from sharpsim.cli import main
from sharpsim.experiments import CATALOGUE, runner
from sharpsim.experiments.runner import format_summary, load, run_one

CHEAP = "greedy_vs_argmax"  # the runner's mechanics on the cheapest experiment (6 quick tasks)


def test_unknown_experiment_is_a_clear_error(capsys):
    assert main(["reproduce", "no_such_figure", "--quick", "--out", "/nonexistent"]) == 2
    err = capsys.readouterr().err
    assert "unknown experiment 'no_such_figure'" in err and "bon_coverage" in err


def test_load_rejects_unknown():
    with pytest.raises(ValueError, match="unknown experiment"):
        load("nope")


def test_results_are_cached_and_forced(tmp_path):
    rec = run_one(CHEAP, quick=True, out=str(tmp_path), progress=False)
    path = tmp_path / "results" / f"{CHEAP}.quick.json"
    stored = json.loads(path.read_text())
    assert stored["name"] == CHEAP and stored["quick"] is True
    assert stored["version"] and stored["config"]["seed"] == 0
    assert rec["reused"] is False
    for f in rec["figures"]:
        assert os.path.getsize(f) > 1000
    again = run_one(CHEAP, quick=True, out=str(tmp_path), progress=False)
    assert again["reused"] is True
    assert again["results"] == stored["results"]
    forced = run_one(CHEAP, quick=True, out=str(tmp_path), force=True, progress=False)
    assert forced["reused"] is False
    # same seeds, same bits
    assert forced["results"] == stored["results"]
    assert not [p for p in os.listdir(tmp_path / "results") if ".tmp" in p]
    table = format_summary([forced])
    assert CHEAP in table and "measurement" in table


def test_catalogue_modules_follow_the_protocol():
    for name in CATALOGUE:
        if not os.path.exists(os.path.join(os.path.dirname(load.__code__.co_filename), f"{name}.py")):
            pytest.fail(f"experiment module {name} is missing")
        mod = load(name)
        for attr in ("NAME", "DESCRIPTION", "Config", "FULL", "QUICK", "tasks", "run_task", "assemble", "plot",
                     "summary"):
            assert hasattr(mod, attr), (name, attr)
        for old in ("run", "total_steps"):  # the task protocol replaced them
            assert not hasattr(mod, old), (name, old)
        assert mod.NAME == name
        for config in (mod.QUICK, mod.FULL):
            ts = runner.tasks(mod, config)  # checks: tuples, no id twice
            assert ts and all(t.group == name for t in ts)
            assert all(isinstance(v, (str, int)) and not isinstance(v, bool) for t in ts for v in t.tid), name
            assert json.loads(json.dumps([list(t.tid) for t in ts])) == [list(t.tid) for t in ts]


def test_an_interrupted_run_resumes_from_its_finished_tasks(tmp_path, monkeypatch):
    """A task that fails leaves the finished ones in results/.partial/; the next run computes only
    the missing tasks and gives the same bits as an uninterrupted run."""
    mod = load(CHEAP)
    clean = runner.compute(mod, mod.QUICK)
    n_tasks = len(runner.tasks(mod, mod.QUICK))
    real = mod.run_task
    calls = []

    def flaky(c, tid):
        calls.append(tid)
        if len(calls) == 4:
            raise RuntimeError("worker lost")
        return real(c, tid)

    monkeypatch.setattr(mod, "run_task", flaky)
    records, failures = runner.reproduce([CHEAP], quick=True, out=str(tmp_path), progress=False)
    assert records == [] and len(failures) == 1 and "worker lost" in failures[0][1]
    partial = json.loads((tmp_path / "results" / ".partial" / f"{CHEAP}.quick.json").read_text())
    assert len(partial["parts"]) == n_tasks - 1  # every task but the failed one is kept
    assert not (tmp_path / "results" / f"{CHEAP}.quick.json").exists()
    calls.clear()
    monkeypatch.setattr(mod, "run_task", lambda c, tid: calls.append(tid) or real(c, tid))
    rec = run_one(CHEAP, quick=True, out=str(tmp_path), progress=False)
    assert len(calls) == 1 and rec["resumed_tasks"] == n_tasks - 1
    assert rec["results"] == json.loads(json.dumps(clean))
    assert not (tmp_path / "results" / ".partial").exists()  # removed once assembled


def test_a_partial_file_from_another_config_is_not_resumed(tmp_path):
    mod = load(CHEAP)
    path = tmp_path / "results" / ".partial" / f"{CHEAP}.quick.json"
    path.parent.mkdir(parents=True)
    bogus = {"name": CHEAP, "version": "0.0.0", "config": {}, "parts": {json.dumps(["wait", 0]): {}}}
    path.write_text(json.dumps(bogus))
    rec = run_one(CHEAP, quick=True, out=str(tmp_path), progress=False)
    assert rec["resumed_tasks"] == 0
    assert rec["results"] == json.loads(json.dumps(runner.compute(mod, mod.QUICK)))


def test_figures_drawn_in_the_plot_process_are_the_inline_bytes(tmp_path, quick_catalogue):
    """reproduce draws figures in its plot processes when it runs two or more experiments; the
    files are the bytes drawn in this process, and all are there when it returns. (Both runs
    reuse the results of the session's quick catalogue run: only the drawing is under test.)"""
    names = ["lower_bound", "greedy_vs_argmax"]
    for sub, flag in (("proc", True), ("here", False)):
        for n in names:
            dest = runner.paths(n, str(tmp_path / sub), True)[0]
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            shutil.copy(runner.paths(n, quick_catalogue, True)[0], dest)
        recs, fails = runner.reproduce(names, quick=True, out=str(tmp_path / sub), progress=False,
                                       plot_process=flag)
        assert not fails and [r["name"] for r in recs] == names
        assert all(r["reused"] for r in recs)
    for n in names:
        for ext in ("png", "pdf"):
            a = (tmp_path / "proc" / "figures" / "quick" / f"{n}.{ext}").read_bytes()
            assert a == (tmp_path / "here" / "figures" / "quick" / f"{n}.{ext}").read_bytes(), (n, ext)


def test_a_figure_that_cannot_be_drawn_is_a_failure_and_keeps_the_results(tmp_path, monkeypatch):
    mod = load("greedy_vs_argmax")

    def broken(results, stem):
        raise RuntimeError("no ink")

    monkeypatch.setattr(mod, "plot", broken)
    recs, fails = runner.reproduce(["greedy_vs_argmax"], quick=True, out=str(tmp_path), progress=False)
    assert recs == [] and "no ink" in fails[0][1]
    assert (tmp_path / "results" / "greedy_vs_argmax.quick.json").exists()


def test_with_the_plot_processes_the_slowest_figures_are_computed_first(tmp_path, monkeypatch):
    """reproduce computes the experiments of runner.DRAW_FIRST first when the figures are drawn in the
    plot processes (their drawing then overlaps the others' computing), the order given otherwise;
    the records and failures come back in the order given."""
    names = ["lower_bound", "passk", "greedy_vs_argmax", "iterated"]
    assert runner.compute_order(names, True) == ["passk", "iterated", "lower_bound", "greedy_vs_argmax"]
    assert runner.compute_order(names, False) == names
    assert runner.compute_order(CATALOGUE, True)[:3] == list(runner.DRAW_FIRST)
    assert sorted(runner.compute_order(CATALOGUE, True)) == sorted(CATALOGUE)
    assert set(runner.DRAW_FIRST) <= set(CATALOGUE)

    for flag, want in ((True, ["passk", "iterated", "lower_bound", "greedy_vs_argmax"]), (False, names)):
        seen = []

        def fake_run_tasks(todo, executor, on_result, on_error, **kw):
            seen.append(todo[0].group)
            on_error(todo[0], RuntimeError("not run"))

        monkeypatch.setattr(runner, "run_tasks", fake_run_tasks)
        recs, fails = runner.reproduce(names, quick=True, out=str(tmp_path / str(flag)), force=True, progress=False,
                                       plot_process=flag)
        assert seen == want
        assert recs == [] and [f[0] for f in fails] == want  # failures in the order they happened


def test_the_plot_pool_forks_from_a_preloaded_server_or_spawns(monkeypatch):
    """Where the platform has a fork server the plot workers come from one that imports
    runner.PLOT_PRELOAD (every catalogue module, so all importable); elsewhere spawned workers."""
    import importlib
    import multiprocessing

    assert set(runner.PLOT_PRELOAD) >= {f"sharpsim.experiments.{n}" for n in CATALOGUE}
    for mod in runner.PLOT_PRELOAD:
        importlib.import_module(mod)
    if "forkserver" in multiprocessing.get_all_start_methods():
        pool = runner._plot_pool()
        try:
            assert pool._mp_context.get_start_method() == "forkserver"
            assert pool.submit(os.getpid).result(timeout=120) != os.getpid()
        finally:
            pool.shutdown(wait=True)
    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    pool = runner._plot_pool()
    try:
        assert pool._mp_context.get_start_method() == "spawn"
    finally:
        pool.shutdown(wait=True)
