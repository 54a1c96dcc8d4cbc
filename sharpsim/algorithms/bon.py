"""Inference-time best-of-N (Appendix C, Proposition C.1; SPEC 5.4): one implementation.

:func:`bon_core` is the pure trial core (prompts x ~ mu, each answered by best-of-N drawn
through the oracle's exact shortcut); :func:`inference_bon` runs it through the counting
oracle (or draws literally); :func:`bon_batch` is what the engine vmaps (one prompt per trial,
success = the answer is in y*(x)); :func:`bon_prescription` is Prop. C.1's N.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .. import aot, bounds, core
from .._validate import check_int
from ..oracle import Oracle, capacity, draw_from_rows, prompts_core
from ..quantities import argmax_mass
from .result import Batch, LearnerResult, Trial, bon_law_table

__all__ = ["bon_core", "inference_bon", "bon_batch", "bon_prescription"]

CHUNK = 1 << 14
"""Engine chunking: trials per vmapped chunk (each trial is one prompt and one draw)."""


def bon_core(key, logp, log_mu, N, n, n_cap, law=None) -> Trial:
    """n prompts x ~ mu, each answered by best-of-N (N draws, keep the most likely, uniform
    tie-break, decision D1) drawn from its exact law :func:`sharpsim.core.bon_law` (pure).

    Returns :class:`Trial` with policy None (the outcome is an answer per prompt) and
    info = (x [n_cap], y [n_cap]); N queries per live prompt. ``law``: ``core.bon_law(logp, N)``
    when the caller has it (the engine, once per problem and N; the same bits), else computed here.
    """
    kx, ky = jax.random.split(key)
    x = prompts_core(kx, log_mu, n_cap)
    y = draw_from_rows(ky, core.bon_law(logp, N) if law is None else law, x)
    return Trial(None, N * n, 0, n, (x, y))


def inference_bon(oracle: Oracle, N: int, key, n: int = 1, shortcut: bool = True) -> LearnerResult:
    """Draw n prompts x ~ mu and answer each with best-of-N; N queries per prompt.

    Prop. C.1: P[y_hat not in y*_gamma(x)] = (1 - pi_base(y*_gamma(x)|x))^N, so
    N >= ln(1/rho) / pi_base(y*_gamma(x)|x) gives failure <= rho (F4). ``shortcut`` runs
    :func:`bon_core` (the exact law); False draws the N responses literally (same law, tested).

    Returns a :class:`LearnerResult` whose ``policy`` is one-hot at the chosen response on
    the prompts answered (the last answer when a prompt repeats) and uniform elsewhere;
    ``info['x']`` and ``info['y']`` hold the prompts and answers. The *law* of the
    procedure is :func:`sharpsim.bon_law` (the evaluator's business, not the learner's).
    """
    N, n = check_int(N, "N"), check_int(n, "n")
    if shortcut:
        t = oracle.run(bon_core, key, float(N), n, capacity(n))
        x, y = (np.asarray(a)[:n] for a in t.info)
        lp = None
    else:
        kx, ky = jax.random.split(key)
        x = oracle.sample_prompts(kx, n)
        y, lp = oracle.best_of_n(ky, x, N, shortcut=False)
    policy = np.full((oracle.X, oracle.Y), 1.0 / oracle.Y)
    policy[x] = 0.0
    policy[x, y] = 1.0
    info = {"x": x, "y": y, "N": N}
    if lp is not None:
        info["logp_y"] = lp
    return LearnerResult(policy, N * n, 0, n, info)


@aot.jit
def _bon_batch(keys, logp, log_mu, N, law):
    """Inference-time BoN: per trial x ~ mu and one BoN answer; returns (fail 0/1, N, 0). ``law`` =
    ``core.bon_law(logp, N)``, computed once outside
    (:func:`sharpsim.algorithms.result.bon_law_table`)."""
    star = core.argmax_set(logp)

    def one(key):
        t = bon_core(key, logp, log_mu, N, 1, 8, law)
        x, y = t.info[0][0], t.info[1][0]
        return jnp.where(star[x, y], 0.0, 1.0), jnp.float64(N), jnp.float64(0)

    return jax.vmap(one)(keys)


def bon_batch(problem, cls, trials, delta, *, N=None, chunk=None, **_):
    """The engine's plan for inference-time BoN trials at size N: a :class:`Batch`."""
    N = check_int(N, "N")
    logp, log_mu = core.to_device(problem.logp), core.to_device(problem.log_mu)
    law = bon_law_table(problem.logp, N)

    def fn(ks):
        return _bon_batch(ks, logp, log_mu, float(N), law)

    return Batch(fn, int(chunk) if chunk else CHUNK, False, {"N": N})


def bon_prescription(problem, eps, delta, rho, **_):
    """Prop. C.1's N = ln(1/rho) / p* with p* the smallest argmax mass over prompts with mu > 0."""
    p_star = float(np.min(argmax_mass(problem.base, problem.base)[problem.mu > 0]))
    return bounds.bon_inference(p_star, rho)
