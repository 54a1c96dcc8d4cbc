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
    assert all(row["sft"]["m"] > 5 * row["xpo"]["m"] for row in rows)
    out6 = next(r for r in rec["summary"] if r["measurement"].startswith("SFT exact success outside"))
    assert out6["simulated"] == 0
