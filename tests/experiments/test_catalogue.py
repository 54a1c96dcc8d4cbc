"""`sharpsim reproduce --quick` (the CI smoke run): every experiment of the catalogue writes its
results file and both figure files; `sharpsim list` shows the whole catalogue."""

import json
import os

from sharpsim.cli import main
from sharpsim.experiments import CATALOGUE


def test_every_figure_appears(quick_catalogue):
    for name in CATALOGUE:
        for ext in ("png", "pdf"):
            path = os.path.join(quick_catalogue, "figures", "quick", f"{name}.{ext}")
            assert os.path.getsize(path) > 10_000, path
        with open(os.path.join(quick_catalogue, "results", f"{name}.quick.json")) as f:
            rec = json.load(f)
        assert rec["name"] == name and rec["quick"] is True and rec["results"]


def test_list_shows_the_catalogue(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out] == CATALOGUE
