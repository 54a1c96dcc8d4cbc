"""Build docs/coverage_tutorial.ipynb from its diff-friendly source docs/coverage_tutorial.py.

The source uses the "percent" cell format: ``# %%`` starts a code cell, ``# %% [markdown]``
a markdown cell whose lines are comments. The notebook is written without outputs (outputs
are never committed, so they cannot go stale); execute it in Jupyter, or run
``python -m pytest tests/test_tutorial.py`` which executes it top to bottom.

Usage: python docs/build_tutorial.py [--check]   (--check: exit 1 if the .ipynb is out of date)
"""

from __future__ import annotations

import os
import sys

import nbformat

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "coverage_tutorial.py")
NOTEBOOK = os.path.join(HERE, "coverage_tutorial.ipynb")


def parse(text: str) -> list[tuple[str, str]]:
    """Split percent-format source into (kind, body) cells."""
    cells: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("# %%"):
            kind = "markdown" if "[markdown]" in line else "code"
            cells.append((kind, []))
            continue
        if not cells:
            continue
        cells[-1][1].append(line)
    out = []
    for kind, lines in cells:
        if kind == "markdown":
            lines = [ln[2:] if ln.startswith("# ") else ln.lstrip("#") for ln in lines]
        body = "\n".join(lines).strip("\n")
        if body:
            out.append((kind, body))
    return out


def build() -> nbformat.NotebookNode:
    with open(SOURCE) as f:
        cells = parse(f.read())
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell(b) if k == "markdown" else nbformat.v4.new_code_cell(b) for k, b in cells]
    for i, c in enumerate(nb.cells):
        c["id"] = f"cell-{i:02d}"
    return nb


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    text = nbformat.writes(build())
    if "--check" in argv:
        with open(NOTEBOOK) as f:
            ok = f.read() == text
        print("up to date" if ok else "docs/coverage_tutorial.ipynb is out of date: run python docs/build_tutorial.py")
        return 0 if ok else 1
    with open(NOTEBOOK, "w") as f:
        f.write(text)
    print(f"wrote {NOTEBOOK}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
