"""Offline RLHF-Sharpening: the squared-loss DPO estimator of Eq. (8) (SPEC 6.2, Theorem 4.2).

:func:`dpo_core` is the pure trial core; :func:`dpo_sharpening` runs it through the counting
oracle; :func:`dpo_batch` is what the engine vmaps; :func:`dpo_prescription` is Theorem 4.2's
(order-only) bound for a problem.
"""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from .. import aot, bounds
from .._validate import check_int, check_positive
from ..classes import DPO_CORES, FiniteClass
from ..core import to_device
from ..evaluation import error_core
from ..oracle import Oracle, capacity, pair_draws_core
from ..quantities import concentrability, margin
from .result import Batch, LearnerResult, Trial

__all__ = ["dpo_core", "dpo_sharpening", "dpo_batch", "dpo_prescription"]

CHUNK_ELEMENTS = 1 << 21
"""Engine chunking: about this many prompt slots per vmapped chunk of trials."""
UNKNOWN_CLASS_LOG_SIZE_PER_DIM = math.log(1e3)
"""log|Pi| per dimension assumed for an infinite (parametric) class in Theorem 4.2's bound."""


def dpo_core(key, logp, log_mu, n, beta, n_cap, arrays, kind) -> Trial:
    """One DPO-style RLHF-Sharpening run (pure; jit / vmap-able) with N = 2 responses per prompt:

        pi_hat in argmin_{pi in Pi} sum_{(x,y,y')} ( beta log(pi(y|x)/pi_base(y|x))
                     - beta log(pi(y'|x)/pi_base(y'|x)) - (log pi_base(y|x) - log pi_base(y'|x)) )^2

    with x ~ mu and y, y' ~ pi_base(.|x) i.i.d. (m = 2n). The residual vanishes at
    tilted(base, beta) (F16). Key split (data, fit). Returns :class:`Trial`, info = the pairs.
    """
    kd, kf = jax.random.split(key)
    x, y, y2, lp, lp2, w, queries = pair_draws_core(kd, logp, log_mu, n, n_cap)
    q = DPO_CORES[kind](arrays, (x, y, y2, lp, lp2, w), beta, kf)
    return Trial(q, queries, 0, n, (x, y, y2, lp, lp2, w))


def dpo_sharpening(oracle: Oracle, cls, n: int, beta: float, key) -> LearnerResult:
    """DPO-style RLHF-Sharpening through the counting oracle (:func:`dpo_core`).

    Minimization per class (exact for tabular / finite / product and for the linear softmax
    class, where the log-partition cancels and the loss is a constrained least squares): see
    :mod:`sharpsim.classes`. Theorem 4.2 takes beta <~ gamma_margin delta eps.
    """
    n = check_int(n, "n")
    beta = check_positive(beta, "beta")
    if (cls.X, cls.Y) != (oracle.X, oracle.Y):
        raise ValueError(f"cls has shape {(cls.X, cls.Y)} but the oracle's model is {(oracle.X, oracle.Y)}")
    t = oracle.run(dpo_core, key, n, beta, capacity(n), cls.arrays, cls.kind)
    return LearnerResult(np.asarray(t.policy), int(t.queries), 0, n, {"n": n, "beta": beta})


@partial(aot.jit, static_argnames=("kind", "n_cap"))
def _dpo_batch(keys, logp, log_mu, mu, n, beta, delta, arrays, kind, n_cap):
    def one(key):
        t = dpo_core(key, logp, log_mu, n, beta, n_cap, arrays, kind)
        return error_core(t.policy, logp, delta, mu), t.queries.astype(jnp.float64), jnp.float64(0)

    return jax.vmap(one)(keys)


def dpo_batch(problem, cls, trials, delta, *, n=None, beta=None, chunk=None, **_):
    """The engine's plan for DPO trials at sizes (n, beta): a :class:`Batch` (``cls`` None: the
    problem's class for beta, realizable: it contains tilted(base, beta))."""
    n = check_int(n, "n")
    beta = check_positive(beta, "beta")
    cls = problem.class_for("dpo", beta) if cls is None else cls
    logp, log_mu, mu = to_device(problem.logp), to_device(problem.log_mu), to_device(problem.mu)
    n_cap = capacity(n)

    def fn(ks):
        return _dpo_batch(ks, logp, log_mu, mu, n, beta, delta, cls.arrays, cls.kind, n_cap)

    return Batch(fn, int(chunk) if chunk else max(1, CHUNK_ELEMENTS // n_cap), False, {"n": n, "N": 2, "beta": beta})


def dpo_prescription(problem, eps, delta, rho, constant=1.0, **_):
    """Theorem 4.2 (order-only) for a problem: beta from a first pass with C_conc = 1,
    C_loss = |Y|; then C_conc = max over the class of C_{pi/pi_base} and C_loss = max of
    C_{pi_base/pi; beta} (at least C_cov and |Y|)."""
    info = problem.info
    L_info = info["log_class_size"]
    gm = margin(problem.base, problem.mu)
    p0 = bounds.dpo_sample_complexity(1.0, float(problem.Y), L_info if math.isfinite(L_info) else 0.0,
                                      min(gm, 1.0), eps, delta, rho, constant=constant)
    beta = p0.params["beta"]
    cls = problem.class_for("dpo", beta)
    logs = np.asarray(cls.log_tables) if isinstance(cls, FiniteClass) else None
    if logs is not None:  # in log space: members' masses may underflow (pi*_beta at small beta)
        C_conc = max(concentrability(base=problem.base, mu=problem.mu, log_policy=lt) for lt in logs)
        C_loss = max(concentrability(problem.base, mu=problem.mu, beta=beta, log_base=lt) for lt in logs)
    else:
        C_conc, C_loss = info["C_cov"], float(problem.Y)
    C_conc = max(C_conc, info["C_cov"], 1.0)
    C_loss = max(C_loss, float(problem.Y))
    L = L_info if math.isfinite(L_info) else info.get("d", 1) * UNKNOWN_CLASS_LOG_SIZE_PER_DIM
    return bounds.dpo_sample_complexity(C_conc, C_loss, L, min(gm, 1.0), eps, delta, rho, constant=constant)
