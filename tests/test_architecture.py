"""The layer rules of docs/ARCHITECTURE.md, read from the source with ``ast`` (nothing is imported).

* no module imports a module of a higher layer, at module level or inside a function;
* no experiment imports another experiment;
* no module imports a private name (``_x``) from another module;
* no file of the package is over 500 lines without saying why in its docstring.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PKG = ROOT / "sharpsim"
EXP = ROOT / "experiments"

LAYERS = {
    0: ("_validate", "stats", "core", "optim", "aot"),
    1: ("models", "generators", "ar_power"),
    2: ("quantities", "sampling", "evaluation", "bounds", "self_rewards"),
    3: ("oracle", "classes", "exact"),
    4: ("algorithms", "iterate", "passk"),
    5: ("engine", "sweep"),
    6: ("instances", "comparison", "report"),
    7: ("experiments",),
    8: ("cli", "commands"),
}
LAYER_OF = {name: k for k, names in LAYERS.items() for name in names}
NOT_EXPERIMENTS = {"__init__", "runner", "style"}


def _modules():
    """(dotted name, path) of every module of the package and of the catalogue."""
    out = []
    for path in sorted(PKG.rglob("*.py")):
        if "experiments" in path.relative_to(PKG).parts:  # the link to experiments/: read below
            continue
        rel = path.relative_to(ROOT).with_suffix("")
        out.append((".".join(rel.parts), path))
    for path in sorted(EXP.glob("*.py")):
        out.append(("sharpsim.experiments." + path.stem, path))
    return out


def _layer(dotted: str):
    parts = dotted.split(".")
    if parts[0] != "sharpsim" or len(parts) < 2:
        return None
    return LAYER_OF.get(parts[1])


def _resolve(module: str, node: ast.ImportFrom) -> str:
    """The absolute dotted module an ``from ... import`` statement inside ``module`` reads from."""
    if node.level == 0:
        return node.module or ""
    pkg = module.split(".")[:-1]  # the package holding the module (or the package of an __init__)
    pkg = pkg[: len(pkg) - (node.level - 1)]
    return ".".join(pkg + ([node.module] if node.module else []))


def _imports(module: str, path: pathlib.Path):
    """(target dotted module, imported name or None, line) for every import in the file."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, node)
            for a in node.names:
                yield base, a.name, node.lineno


MODULES = _modules()


@pytest.mark.parametrize("module,path", MODULES, ids=[m for m, _ in MODULES])
def test_no_upward_import(module, path):
    own = _layer(module)
    if own is None:  # the package facade sharpsim/__init__.py
        return
    for target, name, line in _imports(module, path):
        full = f"{target}.{name}" if name else target
        for cand in (full, target):
            layer = _layer(cand)
            if layer is not None:
                break
        assert layer is None or layer <= own, (
            f"{path.relative_to(ROOT)}:{line} (layer {own}) imports {cand} (layer {layer})")


@pytest.mark.parametrize("module,path", MODULES, ids=[m for m, _ in MODULES])
def test_no_private_name_from_another_module(module, path):
    for target, name, line in _imports(module, path):
        if name and name.startswith("_") and not name.startswith("__"):
            assert False, f"{path.relative_to(ROOT)}:{line} imports the private name {name} from {target}"


@pytest.mark.parametrize("path", sorted(EXP.glob("*.py")), ids=lambda p: p.stem)
def test_no_experiment_imports_another(path):
    if path.stem in NOT_EXPERIMENTS:
        return
    experiments = {p.stem for p in EXP.glob("*.py")} - NOT_EXPERIMENTS
    for target, name, line in _imports("sharpsim.experiments." + path.stem, path):
        for cand in (target, f"{target}.{name}" if name else target):
            last = cand.split(".")[-1]
            if cand.startswith("sharpsim.experiments.") or cand.startswith("experiments."):
                assert last not in experiments or last == path.stem, (
                    f"experiments/{path.name}:{line} imports the experiment {last}")


@pytest.mark.parametrize("module,path", [(m, p) for m, p in MODULES if p.is_relative_to(PKG)],
                         ids=[m for m, p in MODULES if p.is_relative_to(PKG)])
def test_long_files_say_why(module, path):
    lines = path.read_text().count("\n")
    if lines > 500:
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        assert "Why one file" in doc, f"{path.relative_to(ROOT)} has {lines} lines and no reason in its docstring"


def test_the_rules_can_fail():
    """The checker itself: an upward and a private import in a fake module are caught."""
    fake = ROOT / "tests" / "_fake_layer_module.py"
    src = "from .engine import run_trials\nfrom .core import _private\n"
    fake.write_text(src)
    try:
        found = list(_imports("sharpsim.quantities", fake))
    finally:
        fake.unlink()
    assert ("sharpsim.engine", "run_trials", 1) in found
    assert _layer("sharpsim.engine") > _layer("sharpsim.quantities")
    assert any(n == "_private" for _, n, _ in found)
