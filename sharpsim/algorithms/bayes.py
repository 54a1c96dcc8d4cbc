"""The Bayes-optimal learner of the lower-bound family (F12, Lemma H.3), through the oracle cores.

On the hard family (SPEC 4.4) with the uniform prior over I in [M]^d and one response per prompt
(N = 1), the learner sees only drawn prompts, drawn responses and their log-likelihoods; it knows
j*_i as soon as y_{j*_i} is drawn at x_i (its log-likelihood is above the family's threshold),
and otherwise outputs a uniformly random index not yet drawn there. Its exact error is
:func:`sharpsim.exact.bayes_error_exact` / :func:`sharpsim.exact.bayes_curve`.
"""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from .. import aot
from ..core import to_device
from ..oracle import prompts_core, sample_rows_core

__all__ = ["simulate_bayes"]

CHUNK_ELEMENTS = 1 << 22
"""Chunking: about this many draw slots per vmapped chunk of trials."""


@partial(aot.jit, static_argnames=("m_cap", "M"))
def _bayes_batch(keys, logp, log_mu, m, star_index, m_cap, M):
    """Per trial: m oracle draws (x ~ mu, one y ~ pi_base(.|x), log pi_base(y|x) revealed)
    -> the Bayes learner's j_hat_i -> the per-coordinate error fraction. ``star_index`` is used
    only to score the learner (never passed to it)."""
    X, Y = logp.shape
    thr = 0.5 * (math.log(2.0 / M) + math.log((M - 2) / (M * (M - 1))))  # known family levels

    def learner(x, y, lp, w, key):
        live = w > 0
        seen = jnp.zeros((X, Y), dtype=bool).at[x, y].max(live)
        star = jnp.zeros((X, Y), dtype=bool).at[x, y].max(live & (lp > thr))
        valid = (jnp.arange(Y) >= 1) & (jnp.arange(Y) <= M)
        cand = jnp.where(jnp.any(star, axis=1, keepdims=True), star, valid[None, :] & ~seen)
        prio = jax.random.uniform(key, (X, Y), dtype=jnp.float64)
        return jnp.argmax(jnp.where(cand, prio, -1.0), axis=1)

    def one(key):
        k1, k2, k3 = jax.random.split(key, 3)
        x = prompts_core(k1, log_mu, m_cap)                  # oracle: prompts
        y, lp = sample_rows_core(k2, logp, x)                 # oracle: draws and their log-likelihoods
        w = (jnp.arange(m_cap) < m).astype(jnp.float64)
        j_hat = learner(x, y, lp, w, k3)
        return jnp.mean((j_hat[1:] != star_index).astype(jnp.float64))

    return jax.vmap(one)(keys)


def simulate_bayes(problem, key, m: int, trials: int, m_cap: int) -> np.ndarray:
    """Per-trial per-coordinate error fractions of the Bayes learner with m queries (N = 1)."""
    keys = jax.random.split(key, trials)
    star = to_device(problem.info["index"])
    logp, log_mu = to_device(problem.logp), to_device(problem.log_mu)  # once, not per chunk
    per = max(1, min(trials, CHUNK_ELEMENTS // m_cap))
    out = []
    for s in range(0, trials, per):
        ks = keys[s : s + per]
        live = ks.shape[0]
        if live < per:
            ks = jnp.concatenate([ks, keys[: per - live]])
        e = _bayes_batch(ks, logp, log_mu, m, star, m_cap, problem.info["M"])
        out.append(np.asarray(e)[:live])
    return np.concatenate(out)
