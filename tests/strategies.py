"""Hypothesis helpers shared by the test files (tests/ is on sys.path, as for oracles.py)."""

import numpy as np
from hypothesis import strategies as st


def weighted_rows(draw, X: int, Y: int, pool) -> np.ndarray:
    """An [X, Y] probability table whose rows are weights drawn from ``pool`` (zeros, ties and tiny
    entries, as the pool holds them), normalised; an all-zero row gets one weight 1 at a drawn index."""
    rows = []
    for _ in range(X):
        w = draw(st.lists(st.sampled_from(pool), min_size=Y, max_size=Y))
        if max(w) == 0:
            w[draw(st.integers(0, Y - 1))] = 1.0
        w = np.array(w)
        rows.append(w / w.sum())
    return np.array(rows)
