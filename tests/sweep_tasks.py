"""Module-level task functions for tests/test_sweep.py (a spawned worker imports them by name)."""

import os

import numpy as np


def square(x):
    return {"x": x, "y": np.float64(x) ** 2, "arr": np.arange(x)}


def boom(x):
    raise ValueError(f"task {x} is broken")


def die_once(marker: str, x):
    """Kills its own worker process the first time (``marker`` does not exist yet), then works."""
    if not os.path.exists(marker):
        with open(marker, "w") as f:
            f.write("died")
        os._exit(17)
    return {"x": x}


def die_always(x):
    os._exit(17)
