"""Catalogue experiment rlhf_tilt: quick run."""

import math

import numpy as np
import pytest


def test_rlhf_tilt(quick_results):
    r = quick_results("rlhf_tilt")["results"]
    Y, delta = r["Y"], r["delta"]
    betas = np.array(r["betas"])
    for cv in r["curves"]:
        g = cv["gamma_margin"]
        assert cv["margin_measured"] == pytest.approx(g, rel=1e-9)
        # closed form on the extremal instance: pi*_beta(y*) = 1/(1 + (|Y|-1)(1+g)^-(1+1/beta))
        t = (Y - 1) * (1 + g) ** -(1 + 1 / betas)
        np.testing.assert_allclose(cv["exact"], 1 / (1 + t), rtol=1e-10)
        # F14: the sharper bound never exceeds the exact mass (up to rounding)
        assert cv["min_gap_extremal"] >= -1e-12 and cv["min_gap_random"] >= -1e-12
        assert cv["max_log_ratio_extremal"] <= 1e-10 and cv["max_log_ratio_random"] <= 1e-10
        # Theorem J.2's beta gives pi*_beta(y*) >= 1 - delta/2
        assert cv["beta_j2"] == pytest.approx(g / (2 * math.log(2 * Y / delta)))
        assert cv["exact_at_beta_j2"] >= 1 - delta / 2
        for p in cv["sim"]:
            assert p["lo_1e6"] <= p["exact"] <= p["hi_1e6"]
    # panel (c): DPO needs at least as many queries for a smaller eps (m = 2n, so m is even)
    for row in r["dpo"]["rows"]:
        assert row["margin_measured"] == pytest.approx(row["gamma_margin"], rel=1e-9)
        ms = [p["m"] for p in row["points"]]  # eps decreasing
        assert all(m is not None and m >= 2 and m % 2 == 0 for m in ms)
        assert ms[-1] >= ms[0]
