"""Inference-time best-of-N (Appendix C, Proposition C.1; SPEC 5.4)."""

from __future__ import annotations

import jax
import numpy as np

from .._validate import check_int
from ..oracle import Oracle
from .result import LearnerResult


def inference_bon(oracle: Oracle, N: int, key, n: int = 1, shortcut: bool = True) -> LearnerResult:
    """Draw n prompts x ~ mu and answer each with best-of-N (N draws, keep the most likely,
    uniform tie-break, decision D1); N queries per prompt.

    Prop. C.1: P[y_hat not in y*_gamma(x)] = (1 - pi_base(y*_gamma(x)|x))^N, so
    N >= ln(1/rho) / pi_base(y*_gamma(x)|x) gives failure <= rho (F4).

    Returns a :class:`LearnerResult` whose ``policy`` is one-hot at the chosen response on
    the prompts answered (the last answer when a prompt repeats) and uniform elsewhere;
    ``info['x']`` and ``info['y']`` hold the prompts and answers. The *law* of the
    procedure is :func:`sharpsim.bon_law` (the evaluator's business, not the learner's).
    """
    N, n = check_int(N, "N"), check_int(n, "n")
    kx, ky = jax.random.split(key)
    q0, p0 = oracle.queries, oracle.prompts
    x = oracle.sample_prompts(kx, n)
    y, lp = oracle.best_of_n(ky, x, N, shortcut=shortcut)
    policy = np.full((oracle.X, oracle.Y), 1.0 / oracle.Y)
    policy[x] = 0.0
    policy[x, y] = 1.0
    return LearnerResult(policy, oracle.queries - q0, 0, oracle.prompts - p0,
                         {"x": x, "y": y, "logp_y": lp, "N": N})
