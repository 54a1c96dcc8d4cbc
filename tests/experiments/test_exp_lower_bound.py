"""Catalogue experiment lower_bound: quick run."""

import pytest


def test_lower_bound(quick_results):
    r = quick_results("lower_bound")["results"]
    M, d, Delta = r["M"], r["d"], r["Delta"]
    for p in r["bayes"]:  # simulated Bayes learner vs the exact curve, 5 sigma
        half5 = (p["hi"] - p["lo"]) / 2 * 5 / 1.96 + 1e-3
        assert abs(p["err_coord"] - p["exact"]) <= half5
    # Lemma H.3: at m = dM/(2 Delta) every learner's per-coordinate error is >= 1/8 (here: the Bayes one)
    half = next(mk for mk in r["marks"] if mk["c"] == 0.5)
    assert half["exact"] >= 0.125 and half["sim"]["lo"] >= 0.125
    # the family's own class never sharpens: pi^I(y*) = 2/M <= 1/2 on every coordinate
    mis = next(s for s in r["series"] if s["cls"] == "misspecified")
    assert all(p["err_coord"] == pytest.approx(1.0) for p in mis["points"])
    # the realizable BoN class does, with enough data
    assert all(s["points"][-1]["err_coord"] < 0.25 for s in r["series"] if s["cls"] == "sft")
    assert r["C_cov"] == pytest.approx(1 - Delta + Delta * M / 2)
    assert r["threshold_m"] == pytest.approx(d * M / Delta)
