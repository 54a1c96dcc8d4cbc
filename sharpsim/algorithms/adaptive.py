"""Adaptive SFT-Sharpening (Appendix D; SPEC 5.5, Theorem D.1, Lemma I.1)."""

from __future__ import annotations

import math

import jax
import numpy as np

from .._validate import check_int, check_open_unit, check_positive
from ..classes import counts_core
from ..oracle import Oracle
from .result import LearnerResult


def adaptive_sft_sharpening(oracle: Oracle, cls, n: int, key, delta: float | None = None,
                            mu_stop: float | None = None, max_draws: int = 10**7) -> LearnerResult:
    """Adaptive SFT-Sharpening: for each of n prompts draw y_1, y_2, ... ~ pi_base(.|x) until

        N_mu(x) = inf{ k : 1 / max_{j<=k} pi_base(y_j|x) <= k / mu_stop }      (Eq. 10)

    keep the most likely draw (uniform tie-break), then MLE over the class. Theorem D.1 uses
    mu_stop = ln(2/delta) (give ``delta`` or ``mu_stop``; ``mu_stop`` is the paper's mu,
    renamed, decision D8). m = sum_i N_mu(x_i) is random; Lemma I.1:
    E[N_mu(x)] <= (mu_stop + 1/|y*(x)|) / max_y pi_base(y|x) (F19).

    Returns :class:`LearnerResult`; info['draws'] holds N_mu per prompt, info['mu_stop'].
    """
    n = check_int(n, "n")
    if mu_stop is None:
        if delta is None:
            raise ValueError("give delta (mu_stop = ln(2/delta), Theorem D.1) or mu_stop")
        mu_stop = math.log(2.0 / check_open_unit(delta, "delta"))
    mu_stop = check_positive(mu_stop, "mu_stop")
    kd, kf = jax.random.split(key)
    q0, p0 = oracle.queries, oracle.prompts
    d = oracle.adaptive_data(kd, n, mu_stop, max_draws)
    counts = counts_core(d.x, d.y, d.w, oracle.X, oracle.Y)
    policy = cls.mle(counts, kf)
    draws = np.asarray(d.draws)[:n]
    return LearnerResult(policy, oracle.queries - q0, 0, oracle.prompts - p0,
                         {"counts": np.asarray(counts), "n": n, "mu_stop": mu_stop, "draws": draws,
                          "x": np.asarray(d.x)[:n]})
