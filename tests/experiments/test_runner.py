"""The experiment runner: caching, atomic results files with config and version, clear errors."""

import json
import os

import pytest

from sharpsim.cli import main
from sharpsim.experiments import CATALOGUE
from sharpsim.experiments.runner import format_summary, load, run_one


def test_unknown_experiment_is_a_clear_error(capsys):
    assert main(["reproduce", "no_such_figure", "--quick", "--out", "/nonexistent"]) == 2
    err = capsys.readouterr().err
    assert "unknown experiment 'no_such_figure'" in err and "bon_coverage" in err


def test_load_rejects_unknown():
    with pytest.raises(ValueError, match="unknown experiment"):
        load("nope")


def test_results_are_cached_and_forced(tmp_path):
    rec = run_one("bon_coverage", quick=True, out=str(tmp_path), progress=False)
    path = tmp_path / "results" / "bon_coverage.quick.json"
    stored = json.loads(path.read_text())
    assert stored["name"] == "bon_coverage" and stored["quick"] is True
    assert stored["version"] and stored["config"]["seed"] == 0
    assert rec["reused"] is False
    for f in rec["figures"]:
        assert os.path.getsize(f) > 1000
    again = run_one("bon_coverage", quick=True, out=str(tmp_path), progress=False)
    assert again["reused"] is True
    assert again["results"] == stored["results"]
    forced = run_one("bon_coverage", quick=True, out=str(tmp_path), force=True, progress=False)
    assert forced["reused"] is False
    # same seeds, same bits
    assert forced["results"] == stored["results"]
    assert not [p for p in os.listdir(tmp_path / "results") if ".tmp" in p]
    table = format_summary([forced])
    assert "bon_coverage" in table and "measurement" in table


def test_catalogue_modules_follow_the_protocol():
    for name in CATALOGUE:
        if not os.path.exists(os.path.join(os.path.dirname(load.__code__.co_filename), f"{name}.py")):
            pytest.fail(f"experiment module {name} is missing")
        mod = load(name)
        for attr in ("NAME", "DESCRIPTION", "Config", "FULL", "QUICK", "run", "plot", "summary", "total_steps"):
            assert hasattr(mod, attr), (name, attr)
        assert mod.NAME == name
