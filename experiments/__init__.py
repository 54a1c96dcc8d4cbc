"""The experiment catalogue: one module per theory figure.

Each experiment module defines

* ``NAME`` and ``DESCRIPTION`` (one line);
* ``Config``: a frozen dataclass holding every seed and grid value;
  ``FULL`` and ``QUICK`` are its two instances (QUICK: reduced grids for smoke tests);
* ``run(config, progress) -> dict``: computes the results (JSON-serialisable), calling
  ``progress(k)`` to advance a progress bar of ``total_steps(config)`` steps;
* ``total_steps(config) -> int``;
* ``plot(results, path_stem)``: writes ``<path_stem>.png`` and ``.pdf``;
* ``summary(results) -> list[dict]``: the key measurements next to the theory, rows with
  keys ``measurement``, ``simulated``, ``theory``, ``note``.

:mod:`sharpsim.experiments.runner` runs them (``sharpsim reproduce``). The folder is the top-level
``experiments/`` of the source tree, installed as ``sharpsim.experiments`` (``sharpsim/experiments``
links to it), so nothing generic lands in site-packages.
"""

CATALOGUE = [
    "bon_coverage",
    "sft_scaling",
    "lower_bound",
    "adaptive",
    "rlhf_tilt",
    "separation",
    "greedy_vs_argmax",
    "toy_lift",
    "amortization",
    "self_rewards",
    "iterated",
    "passk",
]
