"""``sharpsim bounds`` and sharpsim.report.bounds_report."""

import json
import math

import numpy as np
import pytest

from sharpsim import bounds as B
from sharpsim.cli import main
from sharpsim.instances import hard_instance
from sharpsim.report import bounds_report


def test_bounds_cli_hard_example(capsys):
    assert main(["bounds", "--instance", "hard", "--d", "4", "--M", "64", "--eps", "0.05", "--delta", "0.25"]) == 0
    out = capsys.readouterr().out
    assert "order-only (constant=1)" in out
    for name in ("Prop C.1", "Thm 4.1/4.1'", "Thm D.1", "Thm 3.1 lower bound", "Thm D.2", "Lemma H.3", "Thm 4.2 DPO"):
        assert name in out
    assert "log|Pi| = d ln M" in out


def test_bounds_cli_json_hard(capsys):
    assert main(["bounds", "--instance", "hard", "--d", "4", "--M", "64", "--eps", "0.05", "--delta", "0.25", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert set(rep) == {"instance", "targets", "quantities", "bounds", "skipped", "notes"}
    q = rep["quantities"]
    # F11: C_cov = 1 - 0.8 + 0.8 * 64 / 2 = 25.8; log|Pi| = 4 ln 64
    assert q["C_cov"] == pytest.approx(25.8, rel=1e-12)
    assert q["log_class_size"] == pytest.approx(4 * math.log(64))
    for k in ("C_cov_gamma_0.5", "C_bar_cov", "gamma_margin", "C_pi*_beta", "C_loss_proxy_|Y|", "beta_exact"):
        assert k in q
    rows = {r["theorem"]: r for r in rep["bounds"]}
    sft = rows["Thm 4.1/4.1' SFT-Sharpening (derived constant, F9)"]
    ref = B.sft_sample_complexity(25.8, 4 * math.log(64), 0.05, 0.25, 0.1)
    assert (sft["n"], sft["N"], sft["m"], sft["order_only"]) == (ref.n, ref.N, ref.m, False)
    assert rows["Lemma H.3 hard-instance threshold"]["m"] == pytest.approx(4 * 64 / 0.8)
    assert all(r["order_only"] for t, r in rows.items() if t.startswith(("Thm 3.1", "Thm D.2", "Thm 4.2", "Lemma H.3")))


def test_bounds_cli_random_and_others(capsys):
    assert main(["bounds", "--instance", "random", "--X", "3", "--Y", "12", "--json", "--sec", "5"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["quantities"]["log_class_size"] == pytest.approx(math.log(1000))
    assert any("ln 1000" in n for n in rep["notes"])
    assert any(r["theorem"].startswith("Thm 4.3") for r in rep["bounds"])
    assert main(["bounds", "--instance", "powerlaw", "--X", "3", "--Y", "12", "--C", "4", "--log-class-size", "2.5", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["quantities"]["C_cov"] == pytest.approx(4.0, rel=1e-9) and rep["quantities"]["log_class_size"] == 2.5
    assert main(["bounds", "--instance", "j1", "--d", "3", "--Y", "8"]) == 0
    assert "Thm J.3" in capsys.readouterr().out
    assert main(["bounds", "--instance", "e2", "--n-vocab", "10", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["quantities"]["Y"] == 100


def test_bounds_cli_bad_args(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["bounds", "--instance", "nope"])
    assert exc.value.code == 2
    assert main(["bounds", "--eps", "1.5"]) == 2
    assert "eps" in capsys.readouterr().err
    assert main(["bounds", "--instance", "hard", "--eps", "0.1"]) == 2  # Delta = 16 eps = 1.6
    assert "Delta" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["bounds", "--d", "four"])
    assert exc.value.code == 2


def test_bounds_report_python_api():
    fam = hard_instance(2, 8, 0.3)
    rep = bounds_report(fam, 0.05, 0.25, 0.1)
    assert rep["quantities"]["C_cov"] == pytest.approx(1 - 0.3 + 0.3 * 8 / 2)
    assert rep["quantities"]["max_argmax_set_size"] == 1
    # a plain table works too, with a user log|Pi|; without SEC the XPO rows are skipped with a reason
    rep = bounds_report(np.array([[0.5, 0.5], [0.7, 0.3]]), 0.1, 0.3, 0.1, log_class_size=3.0)
    q = rep["quantities"]
    assert q["C_bar_cov"] == pytest.approx((2 + 1 / 0.7) / 2)  # tie at x_0: C_bar_cov > C_cov (F5)
    assert q["C_cov"] == pytest.approx((1 + 1 / 0.7) / 2)
    assert q["gamma_margin"] == pytest.approx(0.7 / 0.3 - 1)  # x_0 has no non-argmax response
    assert q["log_class_size"] == 3.0
    assert rep["skipped"] and "SEC" in rep["skipped"][0]["reason"]
    dpo = next(r for r in rep["bounds"] if r["theorem"].startswith("Thm 4.2"))
    ref = B.dpo_sample_complexity(q["C_cov"], 2.0, 3.0, 0.7 / 0.3 - 1, 0.1, 0.3, 0.1)
    assert dpo["m"] == pytest.approx(ref.m, rel=1e-9)
    with pytest.raises(ValueError, match="rho"):
        bounds_report(fam, 0.05, 0.25, 0.0)
