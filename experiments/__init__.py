"""The experiment catalogue: one module per theory figure.

Each experiment module defines

* ``NAME`` and ``DESCRIPTION`` (one line);
* ``Config``: a frozen dataclass holding every seed and grid value;
  ``FULL`` and ``QUICK`` are its two instances (QUICK: reduced grids for smoke tests);
* ``tasks(config) -> list[tuple]``: the ids of its independent tasks (tuples of str/int, e.g. one
  per grid point), in the canonical order;
* ``run_task(config, tid) -> dict``: one task; its random keys derive only from (``config.seed``,
  ``tid``) (``jax.random.fold_in`` over the task's indices), never from the order of execution,
  so a task gives the same bits in-process, in another process or on a Dask worker;
* ``assemble(config, parts) -> dict``: the results (JSON-serialisable) from ``parts``, the map
  tid -> run_task result after a JSON round trip;
* ``plot(results, path_stem)``: writes ``<path_stem>.png`` and ``.pdf``;
* ``summary(results) -> list[dict]``: the key measurements next to the theory, rows with
  keys ``measurement``, ``simulated``, ``theory``, ``note``.

:mod:`sharpsim.experiments.runner` runs them (``sharpsim reproduce``; ``runner.compute(module,
config)`` returns the assembled results in-process). The folder is the top-level ``experiments/``
of the source tree, installed as ``sharpsim.experiments`` (``sharpsim/experiments`` links to it),
so nothing generic lands in site-packages.
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
