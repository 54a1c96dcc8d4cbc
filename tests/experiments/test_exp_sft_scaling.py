"""Catalogue experiment sft_scaling: quick run."""



def test_sft_scaling(quick_results):
    r = quick_results("sft_scaling")["results"]
    chk = [p["check"] for P in r["panels"].values() for p in P if p["check"]]
    assert chk and all(c["held"] for c in chk)  # Theorem 4.1 with the derived constant held
    for P in r["panels"].values():
        for p in P:
            assert p["m"] is not None and p["m"] == p["N_emp"] * p["n_emp"]  # the oracle's count: m = n N
            assert min(g["m"] for g in p["grid"] if g["m"] is not None) == p["m"]  # the minimum over the grid
            assert p["bound_m"] >= p["m"]
    assert 0.6 <= r["slopes"]["C_cov"]["empirical"] <= 1.8  # Theorem 4.1: exponent 1
    assert -2.6 <= r["slopes"]["eps"]["empirical"] <= -1.4  # exponent -2 on the worst-case family
