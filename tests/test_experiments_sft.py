"""Catalogue experiments sft_scaling, lower_bound and adaptive: QUICK runs through the runner,
figure and results files, and scientific assertions against independently computed values."""

import itertools

import numpy as np
import pytest

from sharpsim.exact import bayes_curve, bayes_error_exact
from sharpsim.quantities import population_N as n_pop




def _bayes_brute(M, k):
    """Bayes error after k draws by enumerating every draw sequence (star index 0)."""
    b = (M - 2) / (M * (M - 1))  # probability of each non-star response (F6)
    tot = 0.0
    for seq in itertools.product(range(M), repeat=k):
        if 0 in seq:
            continue  # y* drawn: its likelihood 2/M reveals j*, error 0
        tot += b ** k * (1.0 - 1.0 / (M - len(set(seq))))
    return tot


@pytest.mark.parametrize("M", [4, 5, 7])
def test_bayes_error_exact_matches_enumeration(M):
    b = bayes_error_exact(M, 5)
    for k in range(6):
        assert b[k] == pytest.approx(_bayes_brute(M, k), rel=1e-12, abs=1e-15)
    assert b[0] == pytest.approx(1 - 1 / M)
    # averaging over Bin(m, Delta/d): m = 0 gives b(0); p = 1 (d = 1, Delta -> 1) gives b(m)
    assert bayes_curve(M, 2, 0.5, [0])[0] == pytest.approx(b[0])


def test_n_pop_brute_force():
    rng = np.random.default_rng(0)
    for _ in range(25):
        p = rng.uniform(0.01, 1.0, size=6)
        p[rng.integers(6)] = 1.0
        mu = rng.dirichlet(np.ones(6))
        delta, target = rng.uniform(0.05, 0.6), rng.uniform(0.0, 0.5)
        N = n_pop(p, mu, delta, target)
        err = lambda n: sum(w for q, w in zip(p, mu) if (1 - q) ** n >= delta)  # noqa: E731
        assert err(N) <= target + 1e-12
        assert N == 1 or err(N - 1) > target


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


def test_sft_scaling(quick_results):
    r = quick_results("sft_scaling")["results"]
    chk = [p["check"] for P in r["panels"].values() for p in P if p["check"]]
    assert chk and all(c["held"] for c in chk)  # Theorem 4.1 with the derived constant held
    for P in r["panels"].values():
        for p in P:
            assert p["m"] is not None and p["m"] == p["N"] * p["n_emp"]  # the oracle's count: m = n N
            assert p["bound_m"] >= p["m"]
    assert 0.6 <= r["slopes"]["C_cov"]["empirical"] <= 1.8  # Theorem 4.1: exponent 1
    assert -2.6 <= r["slopes"]["eps"]["empirical"] <= -1.4  # exponent -2 on the worst-case family


def test_adaptive(quick_results):
    r = quick_results("adaptive")["results"]
    sl = r["slopes"]
    assert sl["fixed"]["empirical"] < sl["adaptive"]["empirical"] - 0.5  # 1/eps^2 against 1/eps
    assert -1.6 <= sl["adaptive"]["empirical"] <= -0.5
    for p in r["points"]:
        assert p["bound_adaptive"] >= p["adaptive"]["m"] and p["bound_fixed"] >= p["fixed"]["m"]
        assert p["adaptive"]["draws_per_prompt"] <= p["draws_bound"]
    for row in r["stopping"]["rows"]:
        # Lemma I.1 against the exact stopping time, and the simulation against the exact value (5 sem)
        for e, m in zip(row["exact_draws"], row["mu_fine"]):
            assert e <= (m + 1.0 / row["argmax_size"]) / row["p_max"] + 1e-9
        for p in row["sim"]:
            assert abs(p["mean"] - p["exact"]) <= 5 * p["sem"] + 1e-3 * p["exact"]  # sem = 0 when every run stops alike
            assert p["fail_ci"][0] <= p["fail_bound"]
