"""The package imports, runs x64, and the CLI report works end to end."""

import jax.numpy as jnp

import sharpsim
from sharpsim.cli import main


def test_x64_enabled():
    assert jnp.zeros(1).dtype == jnp.float64


def test_public_names_have_docstrings():
    for name in sharpsim.__all__:
        obj = getattr(sharpsim, name)
        if callable(obj):
            assert obj.__doc__ and len(obj.__doc__) > 20, name


def test_report_cli(capsys):
    assert main(["report", "--instance", "power-law", "--C", "7", "--json"]) == 0
    import json

    out = json.loads(capsys.readouterr().out)
    assert abs(out["C_cov"] - 7.0) < 1e-9


def test_report_cli_bad_input(capsys):
    assert main(["report", "--delta", "1.5"]) == 2
    assert "delta must lie in (0, 1)" in capsys.readouterr().err
