"""Catalogue experiment adaptive: quick run."""



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
