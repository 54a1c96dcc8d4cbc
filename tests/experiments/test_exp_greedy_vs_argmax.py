"""Catalogue experiment greedy_vs_argmax: quick run and its exact helpers."""

import numpy as np
import pytest

import sharpsim as s


def test_greedy_vs_argmax(quick_results):
    r = quick_results("greedy_vs_argmax")["results"]
    # Prop 3.1 (F20): greedy returns the unique argmax whenever pi(y*) > 1/2 -- on every instance
    assert r["n_above"] >= 50 and r["ok_above"] == r["n_above"]
    # ... and the guarantee is tight: it fails on some instances below 1/2
    assert r["ok_below"] < r["n_below"]
    assert r["max_p_star_failure"] <= 0.5
    assert sum(b["n"] for b in r["bins"]) == r["n_instances"] == r["n_above"] + r["n_below"]
    e7, e2 = r["marked"]
    # SPEC 7 example (F21): argmax ba (tokens (1, 0)) with mass 0.4, greedy fails
    assert e7["argmax_tokens"] == [1, 0] and e7["p_star"] == pytest.approx(0.4, abs=1e-12)
    assert e7["greedy_uniform_tie_success"] == 0.0 and not e7["greedy_lowest_token_success"]
    # Prop E.2 (F22), n = 100: pi(2,1) = (100/298)(100/199); exact first-token tie -> success 1/2
    assert e2["argmax_tokens"] == [1, 0] and e2["unique"]
    assert e2["p_star"] == pytest.approx(100 / 298 * 100 / 199, rel=1e-12)
    assert e2["greedy_uniform_tie_success"] == 0.5 and not e2["greedy_lowest_token_success"]


def test_greedy_success_uniform_ties_hand_cases():
    from sharpsim.experiments.greedy_vs_argmax import greedy_success_uniform_ties

    # step 1 three-way tie, step 2 deterministic: success 1/3 for a target through a tied token
    m = s.AutoregressiveLM([np.array([[[0.3, 0.3, 0.3, 0.1]]]), np.tile(np.array([0.7, 0.1, 0.1, 0.1]), (1, 4, 1))])
    assert greedy_success_uniform_ties(m, [0], [[2, 0]])[0] == pytest.approx(1 / 3)
    assert greedy_success_uniform_ties(m, [0], [[3, 0]])[0] == 0.0  # not a maximiser at step 1
    assert greedy_success_uniform_ties(m, [0], [[0, 1]])[0] == 0.0  # not a maximiser at step 2
