"""Adaptive SFT-Sharpening (Appendix D; SPEC 5.5, Theorem D.1, Lemma I.1): one implementation.

:func:`adaptive_core` is the pure trial core; :func:`adaptive_sft_sharpening` runs it through
the counting oracle; :func:`adaptive_batch` is what the engine vmaps (the same core, then the
exact error); :func:`adaptive_prescription` is Theorem D.1's bound for a problem.
"""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from .. import aot, bounds
from .._validate import check_int, check_open_unit, check_positive
from ..classes import MLE_CORES, counts_core
from ..core import to_device
from ..evaluation import error_core
from ..oracle import Oracle, adaptive_draws_core, adaptive_lane_draws, adaptive_lane_inputs, adaptive_lanes, capacity
from ..quantities import adaptive_coverage
from ..sampling import MAX_DRAWS
from .result import Batch, LearnerResult, Trial

__all__ = ["adaptive_core", "adaptive_sft_sharpening", "adaptive_batch", "adaptive_prescription", "MAX_DRAWS"]

CHUNK_ELEMENTS = 1 << 20
"""Engine chunking: about this many prompt slots per vmapped chunk of trials."""


def adaptive_core(key, logp, log_mu, n, mu_stop, max_draws, n_cap, arrays, kind) -> Trial:
    """One adaptive SFT-Sharpening run (pure; jit / vmap-able): for each of n prompts draw
    y_1, y_2, ... ~ pi_base(.|x) until

        N_mu(x) = inf{ k : 1 / max_{j<=k} pi_base(y_j|x) <= k / mu_stop }      (Eq. 10)

    keep the most likely draw (uniform tie-break), then MLE over the class. Key split
    (data, fit). Returns :class:`Trial` with info = (Draws, counts [X, Y]); m = sum_i N_mu(x_i).
    """
    kd, kf = jax.random.split(key)
    return _fit(adaptive_draws_core(kd, logp, log_mu, n, mu_stop, max_draws, n_cap), logp, n, arrays, kind, kf)


def _fit(d, logp, n, arrays, kind, kf) -> Trial:
    """:func:`adaptive_core` after its draws ``d``: counts [X, Y], then the class's MLE with key kf."""
    X, Y = logp.shape
    counts = counts_core(d.x, d.y, d.w, X, Y)
    q = MLE_CORES[kind](arrays, counts, kf)
    return Trial(q, d.queries, 0, n, (d, counts))


def _trial_result(t: Trial, logp, delta, mu):
    """An engine trial's (err, queries, extended) from a run of :func:`adaptive_core`."""
    return error_core(t.policy, logp, delta, mu), t.queries.astype(jnp.float64), jnp.float64(0)


def adaptive_sft_sharpening(oracle: Oracle, cls, n: int, key, delta: float | None = None,
                            mu_stop: float | None = None, max_draws: int = MAX_DRAWS) -> LearnerResult:
    """Adaptive SFT-Sharpening through the counting oracle (:func:`adaptive_core`).

    Theorem D.1 uses mu_stop = ln(2/delta) (give ``delta`` or ``mu_stop``; ``mu_stop`` is the
    paper's mu, renamed, decision D8). m = sum_i N_mu(x_i) is random; Lemma I.1:
    E[N_mu(x)] <= (mu_stop + 1/|y*(x)|) / max_y pi_base(y|x) (F19).

    Returns :class:`LearnerResult`; info['draws'] holds N_mu per prompt, info['mu_stop'].
    """
    n = check_int(n, "n")
    if mu_stop is None:
        if delta is None:
            raise ValueError("give delta (mu_stop = ln(2/delta), Theorem D.1) or mu_stop")
        mu_stop = math.log(2.0 / check_open_unit(delta, "delta"))
    mu_stop = check_positive(mu_stop, "mu_stop")
    t = oracle.run(adaptive_core, key, n, mu_stop, max_draws, capacity(n), cls.arrays, cls.kind)
    d, counts = t.info
    return LearnerResult(np.asarray(t.policy), int(t.queries), 0, n,
                         {"counts": np.asarray(counts), "n": n, "mu_stop": mu_stop,
                          "draws": np.asarray(d.draws)[:n], "x": np.asarray(d.x)[:n]})


@partial(aot.jit, static_argnames=("kind", "n_cap"))
def _adaptive_batch(keys, logp, log_mu, mu, n, mu_stop, max_draws, delta, arrays, kind, n_cap):
    """The engine's chunk of trials: vmapped :func:`adaptive_core` then the exact error, with the draws
    of all the chunk's trials made together by :func:`sharpsim.oracle.adaptive_lanes` (the same key
    splits and cores as :func:`adaptive_core` and :func:`sharpsim.oracle.adaptive_draws_core`, so
    the same bits; tested against the vmapped core)."""
    T = keys.shape[0]

    def prepare(key):  # adaptive_core's (data, fit) split, then adaptive_draws_core's inputs
        kd, kf = jax.random.split(key)
        return adaptive_lane_inputs(kd, log_mu, n, mu_stop, n_cap) + (kf,)

    x, lane_keys, w, log_stop, kf = jax.vmap(prepare)(keys)
    cdf = jnp.cumsum(jnp.exp(logp), axis=-1)
    y, k = adaptive_lanes(lane_keys.reshape((T * n_cap,) + lane_keys.shape[2:]), logp, cdf, x.reshape(-1),
                          log_stop.reshape(-1), max_draws)

    def finish(x, y, k, w, kf):
        return _trial_result(_fit(adaptive_lane_draws(logp, x, y, k, w), logp, n, arrays, kind, kf), logp, delta, mu)

    return jax.vmap(finish)(x, y.reshape(T, n_cap), k.reshape(T, n_cap), w, kf)


@partial(aot.jit, static_argnames=("kind", "n_cap"))
def _adaptive_batch_vmapped(keys, logp, log_mu, mu, n, mu_stop, max_draws, delta, arrays, kind, n_cap):
    """:func:`_adaptive_batch` as the plain vmap of :func:`adaptive_core` (one while loop over all the
    chunk's lanes): the reference it is tested against."""
    def one(key):
        return _trial_result(adaptive_core(key, logp, log_mu, n, mu_stop, max_draws, n_cap, arrays, kind), logp,
                             delta, mu)

    return jax.vmap(one)(keys)


def adaptive_batch(problem, cls, trials, delta, *, n=None, mu_stop=None, max_draws=MAX_DRAWS, chunk=None, **_):
    """The engine's plan for adaptive SFT trials at sizes (n, mu_stop): a :class:`Batch`
    (mu_stop None: Theorem D.1's ln(2/delta); ``cls`` None: the problem's class for mu_stop)."""
    n = check_int(n, "n")
    mu_stop = math.log(2.0 / delta) if mu_stop is None else float(mu_stop)
    cls = problem.class_for("adaptive", mu_stop) if cls is None else cls
    logp, log_mu, mu = to_device(problem.logp), to_device(problem.log_mu), to_device(problem.mu)
    n_cap = capacity(n)

    def fn(ks):
        return _adaptive_batch(ks, logp, log_mu, mu, n, mu_stop, max_draws, delta, cls.arrays, cls.kind, n_cap)

    # split: XLA:CPU runs the vmapped while loop of a small run on one core; two calls side by side made the
    # adaptive figure's full run ~20% faster (warm, 2-core EPYC: 51-52 s -> 39-44 s), the same bits
    return Batch(fn, int(chunk) if chunk else max(1, CHUNK_ELEMENTS // n_cap), False, {"n": n, "mu_stop": mu_stop},
                 split=True)


def adaptive_prescription(problem, eps, delta, rho, **_):
    """Theorem D.1 at the problem's C-bar_cov (:func:`sharpsim.adaptive_coverage`) and log|Pi|."""
    return bounds.adaptive_sft_sample_complexity(adaptive_coverage(problem.base, problem.mu),
                                                 problem.info["log_class_size"], eps, delta, rho)
