"""The coverage tutorial (docs/) is in sync with its source, has no stale outputs, and runs top to bottom."""

import os
import sys

import nbformat
from nbclient import NotebookClient

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "docs"))
import build_tutorial  # noqa: E402


def test_notebook_matches_source():
    assert build_tutorial.main(["--check"]) == 0


def test_notebook_has_no_outputs():
    nb = nbformat.read(build_tutorial.NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")


def test_notebook_uses_public_api_only():
    with open(build_tutorial.SOURCE) as f:
        src = f.read()
    import re

    private = re.findall(r"\bs\.(_\w+)|sharpsim\.(_\w+)|from sharpsim\.(\w+\._\w+)", src)
    assert not private, private


def test_notebook_executes(tmp_path):
    nb = nbformat.read(build_tutorial.NOTEBOOK, as_version=4)
    env_backend = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = "Agg"
    try:
        NotebookClient(nb, timeout=170, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    finally:
        if env_backend is None:
            os.environ.pop("MPLBACKEND", None)
        else:
            os.environ["MPLBACKEND"] = env_backend
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
