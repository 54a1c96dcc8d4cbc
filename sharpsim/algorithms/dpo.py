"""Offline RLHF-Sharpening: the squared-loss DPO estimator of Eq. (8) (SPEC 6.2, Theorem 4.2)."""

from __future__ import annotations

import jax

from .._validate import check_int, check_positive
from ..oracle import Oracle
from .result import LearnerResult


def dpo_sharpening(oracle: Oracle, cls, n: int, beta: float, key) -> LearnerResult:
    """DPO-style RLHF-Sharpening with N = 2 responses per prompt (m = 2n):

        pi_hat in argmin_{pi in Pi} sum_{(x,y,y')} ( beta log(pi(y|x)/pi_base(y|x))
                     - beta log(pi(y'|x)/pi_base(y'|x)) - (log pi_base(y|x) - log pi_base(y'|x)) )^2

    with x ~ mu and y, y' ~ pi_base(.|x) i.i.d. The residual vanishes at tilted(base, beta)
    (F16). Minimization per class (exact for tabular / finite / product and for the linear
    softmax class, where the log-partition cancels and the loss is a constrained least
    squares): see :mod:`sharpsim.classes`. Theorem 4.2 takes beta <~ gamma_margin delta eps.
    """
    n = check_int(n, "n")
    beta = check_positive(beta, "beta")
    if (cls.X, cls.Y) != (oracle.X, oracle.Y):
        raise ValueError(f"cls has shape {(cls.X, cls.Y)} but the oracle's model is {(oracle.X, oracle.Y)}")
    kd, kf = jax.random.split(key)
    q0, p0 = oracle.queries, oracle.prompts
    pairs = oracle.pair_data(kd, n)
    policy = cls.dpo(pairs, beta, kf)
    return LearnerResult(policy, oracle.queries - q0, 0, oracle.prompts - p0, {"n": n, "beta": beta})
