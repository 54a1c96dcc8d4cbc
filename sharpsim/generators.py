"""Random instance generators with explicit ``jax.random`` keys (same key, same model).

* :func:`dirichlet_table`: rows ~ Dirichlet(alpha).
* :func:`power_law_table`: rows proportional to rank^(-s) (randomly permuted per prompt),
  with s solved so that C_cov equals a requested value.
* :func:`random_autoregressive`: Dirichlet conditionals over V^H, full history or
  Markov of order k.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from scipy.optimize import brentq

from . import aot
from ._validate import (
    check_int,
    check_key,
    check_positive,
    check_real,
    check_size,
    pow_size,
)
from .models import AutoregressiveLM, TabularLM

__all__ = ["dirichlet_table", "power_law_table", "power_law_exponent", "random_autoregressive"]


def dirichlet_table(key, X: int, Y: int, alpha: float = 1.0, mu=None) -> TabularLM:
    """TabularLM with rows pi(.|x) ~ Dirichlet(alpha * 1_Y), independent over x.

    Small alpha (e.g. 0.1) gives peaked rows, many near-zero entries. X * Y is checked against
    :data:`sharpsim.MAX_ENUMERATION` before anything is drawn.
    """
    check_key(key)
    X, Y = check_int(X, "X"), check_int(Y, "Y")
    alpha = check_positive(alpha, "alpha")
    check_size(X * Y, f"dirichlet_table: the table X * Y = {X} * {Y}", "use a smaller X or Y")
    # sample in log space (gamma variates underflow for small alpha): jax.random.loggamma(key, [X, Y]
    # of alpha), drawn flat at a bucketed size (same bits, few compiles; loggamma_first)
    g = jnp.asarray(loggamma_first(key, alpha, X * Y, X * Y).reshape(X, Y))
    logp = g - jax.scipy.special.logsumexp(g, axis=1, keepdims=True)
    return TabularLM.from_log_probs(np.asarray(logp), mu)


LOGGAMMA_SIZES = (2**13, 2**17)
"""The sizes at which :func:`loggamma_first` draws: the smallest that holds the entries asked for, and
beyond the last, multiples of it (:data:`LOGGAMMA_STEP`). Each size is one compile of JAX's gamma
sampler (~1.7 s on a CPU core; it was one per table shape), a draw costs ~0.8 us per entry (2^13
entries: ~6 ms)."""

LOGGAMMA_STEP = 2**17
"""Above the largest of :data:`LOGGAMMA_SIZES`, draws are made at the next multiple of this size
(at most this many extra entries, ~0.1 s)."""


@partial(aot.jit, static_argnames="size")
def loggamma_draws(key, alpha, size: int):
    """``jax.random.loggamma(key, alpha * 1_size)``: float64 [size]. With ``jax_threefry_partitionable``
    (JAX's default) entry i does not depend on ``size`` (each entry is drawn with its own subkey
    ``split(key, size)[i]``), and the draws of a shape [X, Y] are these entries in row-major order."""
    return jax.random.loggamma(key, jnp.full((size,), alpha, dtype=jnp.float64))


def loggamma_size(n: int) -> int:
    """The size :func:`loggamma_first` draws at for n entries: the smallest of :data:`LOGGAMMA_SIZES`
    that holds n, else the next multiple of :data:`LOGGAMMA_STEP`."""
    for size in LOGGAMMA_SIZES:
        if n <= size:
            return size
    return -(-n // LOGGAMMA_STEP) * LOGGAMMA_STEP


def loggamma_first(key, alpha: float, n: int, whole: int) -> np.ndarray:
    """The first n entries of ``loggamma_draws(key, alpha, whole)`` (n <= whole), float64 numpy [n].

    With ``jax_threefry_partitionable`` (JAX's default) the prefix does not depend on how many
    entries are drawn, so they are drawn at ``loggamma_size(n)`` entries (more or fewer than
    ``whole``): a few compiled sizes serve every table shape, the same bits
    (tests/test_instances_toy.py). Without it the ``whole`` draw is made. :func:`dirichlet_table`
    takes whole = n (its draws are ``jax.random.loggamma`` of its [X, Y] shape); the toy tasks a
    fixed buffer (:mod:`sharpsim.instances.toy`).
    """
    if not 0 < n <= whole:
        raise ValueError(f"n must lie in [1, whole = {whole}], got {n}")
    size = loggamma_size(n) if jax.config.jax_threefry_partitionable else whole
    return np.asarray(loggamma_draws(key, alpha, size))[:n]


def _zipf_norm(s: float, Y: int) -> float:
    return float(np.sum(np.arange(1, Y + 1, dtype=np.float64) ** (-s)))


def power_law_exponent(C: float, Y: int) -> float:
    """Exponent s > 0 with sum_{r=1}^Y r^(-s) = C, i.e. 1 / p_max = C for p proportional to r^(-s)."""
    Y = check_int(Y, "Y", minimum=2)
    C = check_real(C, "C")
    if not (1.0 < C < Y):
        raise ValueError(f"C (target coverage) must lie in (1, Y={Y}) for a power law with a unique argmax, got {C}")
    return brentq(lambda s: _zipf_norm(s, Y) - C, 1e-12, 200.0, xtol=1e-14, rtol=1e-14)


def power_law_table(key, X: int, Y: int, C: float, mu=None) -> TabularLM:
    """TabularLM whose every row is a power law p(rank r) = r^(-s) / sum_r r^(-s), with s chosen so that
    C_cov = 1 / p_max = C exactly (unique argmax per prompt); responses randomly permuted per prompt.
    """
    check_key(key)
    X = check_int(X, "X")
    Y = check_int(Y, "Y", minimum=2)
    check_size(X * Y, f"power_law_table: the table X * Y = {X} * {Y}", "use a smaller X or Y")
    s = power_law_exponent(C, Y)
    ranks = np.arange(1, Y + 1, dtype=np.float64)
    row = -s * np.log(ranks) - np.log(_zipf_norm(s, Y))
    perms = np.asarray(jax.vmap(lambda k: jax.random.permutation(k, Y))(jax.random.split(key, X)))
    logp = np.empty((X, Y))
    np.put_along_axis(logp, perms, np.broadcast_to(row, (X, Y)), axis=1)
    return TabularLM.from_log_probs(logp, mu)


def _numpy_rng(key) -> np.random.Generator:
    """numpy Generator seeded by 128 bits drawn from the jax key (same key, same bits; one compile for all shapes)."""
    bits = np.asarray(jax.random.bits(key, (4,), dtype=jnp.uint32))
    return np.random.default_rng([int(b) for b in bits])


def _log_gamma_np(rng: np.random.Generator, alpha: float, shape) -> np.ndarray:
    """log G with G ~ Gamma(alpha, 1), float64 ``shape``, without underflow for small alpha.

    alpha >= 1: log of a gamma variate. alpha < 1: G = G' U^(1/alpha) with G' ~ Gamma(alpha + 1),
    U ~ Uniform(0, 1] independent (Marsaglia & Tsang 2000), so log G = log G' + log(U) / alpha.
    """
    if alpha >= 1.0:
        return np.log(rng.standard_gamma(alpha, size=shape))
    return np.log(rng.standard_gamma(alpha + 1.0, size=shape)) + np.log1p(-rng.random(size=shape)) / alpha


def autoregressive_size(X: int, V: int, H: int, order=None):
    """Number of conditional entries sum_{h=1}^H X * V^(c_h + 1), c_h = min(h - 1, order) (order None:
    c_h = h - 1), as an exact Python int (``math.inf`` when it has more than 4096 bits).

    Closed form with m = min(H, order + 1): X * (sum_{j=1}^m V^j + (H - m) V^m); no loop over H.
    """
    m = H if order is None else min(H, order + 1)
    top = pow_size(V, m, X)
    if top == float("inf"):
        return top
    geometric = X * m if V == 1 else X * (V ** (m + 1) - V) // (V - 1)  # X * sum_{j=1}^m V^j
    return geometric + (H - m) * top


def random_autoregressive(key, X: int, V: int, H: int, order=None, alpha: float = 1.0, mu=None) -> AutoregressiveLM:
    """AutoregressiveLM over V^H with Dirichlet(alpha) conditionals.

    order=None: full history (prefix tree, c_h = h - 1); order=k: Markov of order k
    (c_h = min(h - 1, k)).

    Randomness: one numpy Generator seeded by 128 bits of ``jax.random.bits(key)`` draws the
    log-gamma variates of all H steps (same key, same model; no per-shape compilation — the
    former per-step ``jax.random.loggamma`` compiled once per step shape, seconds each).
    Dirichlet rows are normalised log-gamma variates, computed in log space (small alpha).

    Memory: the conditionals hold :func:`autoregressive_size` (X, V, H, order) entries; that number
    is computed first (Python ints) and a model above :data:`sharpsim.MAX_ENUMERATION` is refused at
    once, before anything is allocated (full history grows like X V^H: use a Markov order).
    """
    check_key(key)
    X, V, H = check_int(X, "X"), check_int(V, "V"), check_int(H, "H")
    alpha = check_positive(alpha, "alpha")
    if order is not None:
        order = check_int(order, "order", minimum=0)
    size = autoregressive_size(X, V, H, order)
    if order is None:
        what = f"random_autoregressive(X={X}, V={V}, H={H}, order=None): the full-history conditionals sum_h X * V^h"
        way_out = "pass a Markov order (order=k: conditionals of X * V^(min(h-1, k)+1) entries per step) or a smaller H"
    else:
        what = f"random_autoregressive(X={X}, V={V}, H={H}, order={order}): the conditionals sum_h X * V^(min(h-1, order)+1)"
        way_out = "use a smaller order, V or H"
    check_size(size, what, way_out)
    rng = _numpy_rng(key)
    conds = []
    for h in range(1, H + 1):
        c = h - 1 if order is None else min(h - 1, order)
        g = _log_gamma_np(rng, alpha, (X, V**c, V))
        m = g.max(axis=-1, keepdims=True)
        conds.append(g - (m + np.log(np.sum(np.exp(g - m), axis=-1, keepdims=True))))
    return AutoregressiveLM(conds, mu, log=True)
