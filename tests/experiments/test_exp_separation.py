"""Catalogue experiment separation: quick run."""

from __future__ import annotations


def test_separation_quick(quick_results):
    rec = quick_results("separation")
    rows = rec["results"]["rows"]
    # science: SFT's empirical m grows with |Y| while XPO reaches sharpness at a small T; the
    # simulated SFT success frequencies agree with the exact binomial law (1 - 1e-6 CIs)
    assert all(row["xpo"]["reached"] for row in rows)
    sft_m = [row["sft"]["m"] for row in rows]
    assert all(b > a for a, b in zip(sft_m, sft_m[1:]))
    # the simulated minimum of m over (n, N) is the exact optimum (one best-of-N draw, n = 1) ...
    assert all(row["sft"]["m"] == row["sft"]["exact_opt_m"] and row["sft"]["n"] == 1 for row in rows)
    # ... while Theorem 4.1's own path costs far more than XPO
    assert all(row["sft"]["exact_path_m"] > 5 * row["xpo"]["m"] for row in rows)
    out6 = next(r for r in rec["summary"] if r["measurement"].startswith("SFT exact success outside"))
    assert out6["simulated"] == 0
