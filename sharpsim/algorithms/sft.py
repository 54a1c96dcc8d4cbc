"""SFT-Sharpening (paper §2.1 / §4.1; SPEC 5.1, Theorem 4.1)."""

from __future__ import annotations

import jax
import numpy as np

from .._validate import check_int
from ..classes import counts_core
from ..oracle import Oracle
from .result import LearnerResult


def sft_sharpening(oracle: Oracle, cls, n: int, N: int, key, shortcut: bool = True) -> LearnerResult:
    """SFT-Sharpening: n prompts x_i ~ mu, best-of-N on each with self-reward log pi_base,
    then maximum likelihood over the class:

        pi_hat = argmax_{pi in Pi} sum_i log pi(y_i^BoN | x_i),     m = n N.

    The key is split as (data, fit): the oracle draws with the first half, the class's
    tie-break (if random) uses the second. ``shortcut`` draws each best-of-N outcome from
    its exact law (charging N queries); False draws the N responses literally.
    Tie-breaking in the MLE: see :mod:`sharpsim.classes` (decision D2); tabular MLE gives
    unseen prompts the uniform row.

    Returns :class:`LearnerResult` with info['counts'] ([X, Y] kept-response counts), n, N.
    """
    n, N = check_int(n, "n"), check_int(N, "N")
    if (cls.X, cls.Y) != (oracle.X, oracle.Y):
        raise ValueError(f"cls has shape {(cls.X, cls.Y)} but the oracle's model is {(oracle.X, oracle.Y)}")
    kd, kf = jax.random.split(key)
    q0, p0 = oracle.queries, oracle.prompts
    d = oracle.sft_data(kd, n, N, shortcut=shortcut)
    counts = counts_core(d.x, d.y, d.w, oracle.X, oracle.Y)
    policy = cls.mle(counts, kf)
    return LearnerResult(policy, oracle.queries - q0, 0, oracle.prompts - p0,
                         {"counts": np.asarray(counts), "n": n, "N": N})
