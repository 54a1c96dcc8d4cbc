"""``sharpsim verify``: the bound next to simulation on the command line."""

import json

from sharpsim.cli import main


def run_json(capsys, *args):
    assert main(["verify", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_verify_sft_hard_example(capsys):
    out = run_json(capsys, "--instance", "hard", "--d", "2", "--M", "16", "--algorithm", "sft", "--eps", "0.05",
                   "--delta", "0.25", "--rho", "0.1", "--trials", "40")
    for k in ("bound_m", "empirical_m", "ratio", "held", "order_only"):
        assert k in out
    assert out["held"] is True and out["order_only"] is False
    assert out["bound_m"] == 29274 * 549  # F9's derived-constant n, N (log|Pi| = 2 ln 16, C_cov = 6.6)
    assert 0 < out["empirical_m"] < out["bound_m"] and out["ratio"] > 1


def test_verify_bon_and_order_only_dpo(capsys):
    out = run_json(capsys, "--instance", "random", "--X", "3", "--Y", "8", "--algorithm", "bon", "--eps", "0.1",
                   "--delta", "0.25", "--rho", "0.2", "--trials", "200")
    assert out["order_only"] is False and out["held"] is True
    out = run_json(capsys, "--instance", "hard", "--d", "2", "--M", "8", "--Delta", "0.5", "--algorithm", "dpo",
                   "--eps", "0.2", "--delta", "0.25", "--rho", "0.1", "--trials", "20")
    assert out["order_only"] is True and out["held"] is None and out["capped"] is True


def test_verify_text_and_bad_input(capsys):
    assert main(["verify", "--instance", "hard", "--d", "2", "--M", "8", "--Delta", "0.5", "--algorithm", "bon",
                 "--eps", "0.2", "--delta", "0.25", "--rho", "0.1", "--trials", "50"]) == 0
    text = capsys.readouterr().out
    assert "Prop C.1" in text and "empirical m" in text and "held: yes" in text
    assert main(["verify", "--instance", "hard", "--algorithm", "sft", "--eps", "0.2", "--delta", "0.25",
                 "--rho", "0.1"]) == 2
    assert "pass --Delta" in capsys.readouterr().err
    assert main(["verify", "--instance", "hard", "--algorithm", "sft", "--eps", "0.05", "--delta", "1.5",
                 "--rho", "0.1"]) == 2
    assert "delta must lie in (0, 1)" in capsys.readouterr().err
    assert main(["verify", "--instance", "random", "--algorithm", "xpo", "--eps", "0.1", "--delta", "0.1",
                 "--rho", "0.1"]) == 2
    assert "xpo" in capsys.readouterr().err
