"""Catalogue experiment toy_lift: quick run."""

import os

import pytest


def test_toy_lift(quick_results, tmp_path):
    r = quick_results("toy_lift")["results"]
    cells = [c for row in r["cells"] for c in row]
    for c in cells:
        # the exact best-of-N law agrees with the literal sampler (Clopper-Pearson at 1e-6)
        assert c["mc_bon_lo_1e6"] <= c["acc_bon"] <= c["mc_bon_hi_1e6"]
        # pass@N is a skyline: BoN returns one of the N samples
        assert c["pass_n"] >= c["acc_bon"] - 1e-12
        assert 0.0 <= c["acc_greedy"] <= 1.0 and 0.0 <= c["acc_sample"] <= c["pass_n"] <= 1.0
        if c["acc_greedy"] > 0:
            assert c["lift_bon"] == pytest.approx(100 * (c["acc_bon"] - c["acc_greedy"]) / c["acc_greedy"])
        else:
            assert c["lift_bon"] is None
    # acc_greedy = 0 is drawn as "n/a" (no inf / NaN): plot a copy with every lift undefined
    r_na = {**r, "cells": [[{**c, "lift_bon": None, "lift_majority": None} for c in row] for row in r["cells"]]}
    from sharpsim.experiments.toy_lift import plot

    plot(r_na, str(tmp_path / "na"))
    assert os.path.getsize(tmp_path / "na.png") > 10_000
    # on the trap-heavy task best-of-N beats greedy for every model in the quick grid
    assert r["tasks"][0].startswith("trap-heavy")
    assert all(c["lift_bon"] is not None and c["lift_bon"] > 0 for c in r["cells"][0])
