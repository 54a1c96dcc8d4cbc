"""The self_rewards experiment (issue 14): the results of its QUICK configuration (the session's
catalogue run), key results checked.

(Named test_exp_*: a basename shared with tests/test_self_rewards.py would clash under pytest's
rootdir import mode, and an __init__.py here would shadow the ``experiments`` package.)
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

from experiments import CATALOGUE
from experiments import self_rewards as exp


@pytest.fixture(scope="module")
def results(quick_results):
    """The QUICK results of the session's catalogue run (tests/conftest.py; the same code, not run a
    second time here; read from its JSON file)."""
    return quick_results("self_rewards")["results"]


def test_catalogue_entry():
    assert CATALOGUE[-1] == "self_rewards" or "self_rewards" in CATALOGUE
    assert exp.NAME == "self_rewards" and exp.DESCRIPTION


def test_frontier(results):
    f = results["frontier"]
    bon = f["bon"]
    # N = 1 is the base: zero KL, base accuracy; the BoN KL grows with N and stays under the formula
    assert bon[0]["N"] == 1 and abs(bon[0]["kl"]) < 1e-12 and bon[0]["acc"] == pytest.approx(f["acc_base"], abs=1e-12)
    assert all(b["kl"] <= math.log(b["N"]) - (b["N"] - 1) / b["N"] + 1e-12 for b in bon)
    assert all(b2["kl"] >= b1["kl"] - 1e-12 for b1, b2 in zip(bon, bon[1:]))
    # power at alpha = 1 and temperature 1 are the base; on the trap task power beats temperature
    assert f["power"][0]["alpha"] == 1.0 and abs(f["power"][0]["kl"]) < 1e-12
    assert max(p["acc"] for p in f["power"]) > max(p["acc"] for p in f["temperature"]) + 0.2
    # majority vote (exact) never beats pass@N; N = 1 is sampling
    for m in f["majority"]:
        assert m["acc_majority"] <= m["pass_n"] + 1e-12
    assert f["majority"][0]["acc_majority"] == pytest.approx(f["acc_base"], abs=1e-12)


def test_kl_and_win_rate(results):
    kl = results["kl"]
    for b in kl["bases"]:
        assert all(v <= bd + 1e-12 for v, bd in zip(b["kl"], kl["bound"]))
        assert all(w <= wc + 1e-12 for w, wc in zip(b["win"], kl["win_continuous"]))
        assert b["win"][0] == pytest.approx(0.5, abs=1e-12)
    # the large tie-free base follows both formulas at small N
    big = kl["bases"][0]
    assert big["kl"][1] == pytest.approx(kl["bound"][1], abs=0.02)
    assert big["win"][1] == pytest.approx(kl["win_continuous"][1], abs=0.01)
    # the base with 4 tie levels falls far below the formula
    assert kl["bases"][2]["kl"][-1] < kl["bound"][-1] - 1.0


def test_power_vs_temperature(results):
    pt = results["power_temp"]
    for cv in pt["curves"]:
        assert abs(cv["kl"][0]) < 1e-12  # H = 1: a single token, power = temperature
        assert max(cv["kl"]) > 0.3
        assert max(abs(v) for v in cv["kl_independent"]) < 1e-12


def test_mcmc(results):
    mc = results["mcmc"]
    run = mc["runs"][0]
    assert 0 < run["gap"] <= 1
    # the exact chain starts at the base and approaches p_alpha(y*) monotonically here
    assert run["exact"][0] == pytest.approx(run["p_star"], abs=1e-12)
    assert abs(run["exact"][-1] - run["power_star"]) < abs(run["exact"][0] - run["power_star"])
    for p in run["sim"]:
        assert p["lo6"] <= p["exact"] <= p["hi6"]
    assert run["queries"] == run["chains"] * (1 + exp.QUICK.mh_steps)


def test_costs(results):
    co = results["costs"]
    assert co["N_bon"] >= 1 and co["bon_tokens"] == co["N_bon"] * co["H"]
    assert math.ceil(math.log(co["delta"]) / math.log1p(-co["p_star_min"])) == co["N_bon"]
    for m in co["mh"]:
        if m["steps"] is not None:
            assert m["queries"] == 1 + m["steps"]


def test_plot_and_summary(results, tmp_path):
    stem = str(tmp_path / "self_rewards")
    exp.plot(results, stem)
    for ext in ("png", "pdf"):
        assert os.path.getsize(f"{stem}.{ext}") > 10_000
    rows = exp.summary(results)
    assert rows and all({"measurement", "simulated", "theory", "note"} <= set(r) for r in rows)
    assert rows[0]["simulated"] <= 1e-12  # exact BoN KL never exceeds log N - (N-1)/N
    assert np.isfinite(rows[3]["simulated"])
