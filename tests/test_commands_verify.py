"""``sharpsim verify``: the bound next to simulation on the command line."""

import json

from sharpsim.cli import main


def run_json(capsys, *args):
    assert main(["verify", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_verify_sft_hard_example_reports_the_joint_minimum(capsys):
    """Issue 11's headline instance: the empirical m is the minimum of n N over n and N (an
    independent simulation, searched over n and N jointly, puts it at about 130-140, at n = 11,
    N = 12 or n = 12, N = 11), not the minimum along the bound's ray (5984)."""
    out = run_json(capsys, "--instance", "hard", "--d", "2", "--M", "16", "--algorithm", "sft", "--eps", "0.05",
                   "--delta", "0.25", "--rho", "0.1", "--trials", "100", "--max-trials", "800", "--budget-s", "0")
    for k in ("bound_m", "empirical_m", "ratio", "held", "order_only", "empirical_sizes", "m_on_bound_path"):
        assert k in out
    assert out["held"] is True and out["order_only"] is False and out["verdict_at_bound"] == "above"
    assert out["bound_m"] == 29274 * 549  # F9's derived-constant n, N (log|Pi| = 2 ln 16, C_cov = 6.6)
    sizes = out["empirical_sizes"]
    assert out["empirical_m"] == sizes["n"] * sizes["N"]
    assert 100 <= out["empirical_m"] <= 180 and 7 <= sizes["n"] <= 18 and 7 <= sizes["N"] <= 18
    lo, hi = out["empirical_m_interval"]
    assert lo is not None and lo < out["empirical_m"] <= hi
    assert out["m_on_bound_path"] > 10 * out["empirical_m"]  # the ray's figure is far above (issue: 5984)
    assert out["ratio"] == out["bound_m"] / out["empirical_m"] and not out["partial"]


def test_verify_bon_and_order_only_dpo(capsys):
    out = run_json(capsys, "--instance", "random", "--X", "3", "--Y", "8", "--algorithm", "bon", "--eps", "0.1",
                   "--delta", "0.25", "--rho", "0.2", "--trials", "200", "--max-trials", "400")
    assert out["order_only"] is False and out["held"] is True
    out = run_json(capsys, "--instance", "hard", "--d", "2", "--M", "8", "--Delta", "0.5", "--algorithm", "dpo",
                   "--eps", "0.2", "--delta", "0.25", "--rho", "0.1", "--trials", "20", "--max-trials", "40")
    assert out["order_only"] is True and out["held"] is None and out["capped"] is True
    assert out["ratio"] is None  # a capped run has no ratio (issue 11)


def test_verify_hands_the_compilation_cache_to_its_workers(monkeypatch):
    """verify turns on the persistent compilation cache and gives it to theory_vs_simulation as the
    workers' cache_dir (as reproduce does); SHARPSIM_NO_JAX_CACHE=1 turns it off."""
    import os

    import pytest

    import sharpsim.comparison as comparison

    class Stop(Exception):
        pass

    seen = []

    def fake(*args, **kw):
        seen.append(kw.get("cache_dir", "missing"))
        raise Stop

    monkeypatch.setattr(comparison, "theory_vs_simulation", fake)
    args = ["verify", "--instance", "random", "--X", "2", "--Y", "4", "--algorithm", "bon", "--eps", "0.2",
            "--delta", "0.25", "--rho", "0.2", "--executor", "processes"]
    with pytest.raises(Stop):
        main(args)
    monkeypatch.setenv("SHARPSIM_NO_JAX_CACHE", "1")
    with pytest.raises(Stop):
        main(args)
    assert seen == [os.environ["SHARPSIM_JAX_CACHE"], None]  # the test session's cache (tests/conftest.py)


def test_verify_text_and_bad_input(capsys):
    assert main(["verify", "--instance", "hard", "--d", "2", "--M", "8", "--Delta", "0.5", "--algorithm", "bon",
                 "--eps", "0.2", "--delta", "0.25", "--rho", "0.1", "--trials", "50", "--max-trials", "200"]) == 0
    text = capsys.readouterr().out
    assert "Prop C.1" in text and "empirical m" in text and "held: yes" in text
    assert main(["verify", "--instance", "hard", "--algorithm", "sft", "--eps", "0.2", "--delta", "0.25",
                 "--rho", "0.1"]) == 2
    assert "pass --Delta" in capsys.readouterr().err
    assert main(["verify", "--instance", "hard", "--algorithm", "sft", "--eps", "0.05", "--delta", "1.5",
                 "--rho", "0.1"]) == 2
    assert "delta must lie in (0, 1)" in capsys.readouterr().err
    assert main(["verify", "--instance", "random", "--algorithm", "xpo", "--eps", "0.1", "--delta", "0.1",
                 "--rho", "0.1"]) == 2
    assert "xpo" in capsys.readouterr().err


def check_keys(out, algorithm):
    for k in ("bound_m", "empirical_m", "ratio", "held", "order_only"):
        assert k in out, k
    assert out["algorithm"] == algorithm and isinstance(out["order_only"], bool)
    assert out["bound_m"] is None or out["bound_m"] > 0
    if out["empirical_m"] is not None and out["bound_m"] is not None and not out["capped"]:
        assert abs(out["ratio"] - out["bound_m"] / out["empirical_m"]) <= 1e-9 * out["ratio"]
    assert out["held"] in (True, False, None)
    if out["order_only"] or out["capped"]:
        assert out["held"] is None
    else:
        assert (out["held"] is None) == (out["verdict_at_bound"] == "undecided")
    if out["capped"]:
        assert out["ratio"] is None and out["largest_m_simulated"] is not None


def test_verify_adaptive_on_random_and_xpo_on_j1(capsys):
    """--json keys for the two algorithms the other tests do not run: adaptive on a random table
    (its finite class contains the exact adaptive-BoN law) and xpo on Example J.1 (capped T)."""
    out = run_json(capsys, "--instance", "random", "--X", "2", "--Y", "6", "--algorithm", "adaptive", "--eps", "0.2",
                   "--delta", "0.25", "--rho", "0.2", "--trials", "20", "--max-trials", "100")
    check_keys(out, "adaptive")
    assert out["order_only"] is False and out["held"] is True and out["theorem"].startswith("Thm D.1")
    out = run_json(capsys, "--instance", "j1", "--d", "2", "--algorithm", "xpo", "--eps", "0.2", "--delta", "0.25",
                   "--rho", "0.2", "--trials", "8", "--max-trials", "16", "--T-max", "6")
    check_keys(out, "xpo")
    assert out["order_only"] is True and out["capped"] is True and out["held"] is None
    assert out["sizes_at_bound"]["T"] == 6


def test_verify_json_keys_for_the_other_algorithms(capsys):
    for args, alg in ((["--instance", "hard", "--d", "2", "--M", "8", "--Delta", "0.5"], "bon"),
                      (["--instance", "random", "--X", "2", "--Y", "6"], "sft"),
                      (["--instance", "j1", "--d", "2", "--n-max", "64"], "dpo")):
        out = run_json(capsys, *args, "--algorithm", alg, "--eps", "0.2", "--delta", "0.25", "--rho", "0.2",
                       "--trials", "10", "--max-trials", "40")
        check_keys(out, alg)


def test_verify_unsupported_combinations_fail_in_one_line(capsys):
    from sharpsim.commands.verify import ALGORITHMS, INSTANCES, SUPPORTED

    unsupported = [(i, a) for i in INSTANCES for a in ALGORITHMS if a not in SUPPORTED[i]]
    assert sorted(unsupported) == [("hard", "xpo"), ("j1", "adaptive"), ("j1", "sft"), ("random", "xpo")]
    for inst, alg in unsupported:
        assert main(["verify", "--instance", inst, "--algorithm", alg, "--eps", "0.1", "--delta", "0.1",
                     "--rho", "0.1"]) == 2
        err = capsys.readouterr().err.strip()
        assert "\n" not in err and f"--algorithm {alg} is not supported on --instance {inst}" in err
        assert ", ".join(SUPPORTED[inst]) in err


def test_verify_budget_gives_a_marked_partial_result(capsys):
    """Issue 11: a run that cannot finish in its budget stops and says so (it ran past 10 minutes
    before: adaptive on hard M = 64, Delta = 0.3)."""
    import time

    t0 = time.perf_counter()
    out = run_json(capsys, "--instance", "hard", "--d", "2", "--M", "64", "--Delta", "0.3", "--algorithm", "adaptive",
                   "--eps", "0.1", "--delta", "0.1", "--rho", "0.1", "--budget-s", "1e-6")
    assert out["partial"] is True and out["search_complete"] is False and time.perf_counter() - t0 < 60
    # (the budget is checked between trial chunks: a budget of 10 ms that is not spent yet when the
    # first chunk starts lets that chunk finish, 40 s here; 1 microsecond is spent before it)
    assert main(["verify", "--instance", "hard", "--d", "2", "--M", "64", "--Delta", "0.3", "--algorithm",
                 "adaptive", "--eps", "0.1", "--delta", "0.1", "--rho", "0.1", "--budget-s", "1e-6"]) == 0
    assert "PARTIAL RESULT" in capsys.readouterr().out


def test_dpo_prescription_on_a_random_table_is_finite():
    """Issue 11: verify --instance random --algorithm dpo crashed with "C_loss must be finite, got inf"
    (tilted(base, beta = 0.0103) underflowed to exact zeros); the class and the bound are in log space now."""
    import math

    import jax
    import numpy as np

    from sharpsim.algorithms.dpo import dpo_prescription
    from sharpsim.instances.problems import random_problem

    pb = random_problem(jax.random.key(0), 4, 20, 16, 0.5)
    presc = dpo_prescription(pb, 0.1, 0.25, 0.1)
    assert math.isfinite(presc.m) and presc.m > 0
    cls = pb.class_for("dpo", presc.params["beta"])
    target = np.asarray(cls.log_tables)[cls.target_index]
    want = np.asarray(__import__("sharpsim").log_tilted(pb.base, presc.params["beta"]))
    assert np.array_equal(np.isfinite(target), np.isfinite(want))  # no mass lost to underflow
    assert (np.exp(want) == 0).any()  # ... where the probability table would have lost it
    np.testing.assert_allclose(target, want, rtol=1e-12, atol=1e-12)


def test_reproduce_interrupted_says_what_was_kept(capsys, monkeypatch, tmp_path):

    def fake(names, finished=None, **kw):
        finished.append({"name": "bon_coverage"})
        raise KeyboardInterrupt

    monkeypatch.setattr("sharpsim.experiments.runner.reproduce", fake)
    assert main(["reproduce", "bon_coverage", "--out", str(tmp_path)]) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "bon_coverage" in err and "Traceback" not in err
