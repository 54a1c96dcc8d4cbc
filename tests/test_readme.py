"""The README's commands and API tour stay true: the two set-up commands are the ones CI runs,
and the Python tour executes."""

import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _readme():
    with open(os.path.join(ROOT, "README.md")) as f:
        return f.read()


def test_exactly_two_setup_commands():
    text = _readme()
    setup = text.split("## Set up", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```\n(.*?)\n```", setup, flags=re.S)
    assert len(blocks) == 2
    assert "sharpsim reproduce" in blocks[0] and "pytest" in blocks[1]
    with open(os.path.join(ROOT, ".ci", "run")) as f:
        assert "test-command" in f.read()  # CI reads the second block from the README itself


def test_api_tour_runs():
    code = re.findall(r"```python\n(.*?)\n```", _readme(), flags=re.S)
    assert code
    for block in code:
        exec(compile(block, "README.md", "exec"), {})


def test_gallery_lists_every_figure():
    from sharpsim.experiments import CATALOGUE

    text = _readme()
    for name in CATALOGUE:
        assert f"(figures/{name}.png)" in text
        assert os.path.exists(os.path.join(ROOT, "figures", f"{name}.png"))
