"""Prototype fast paths for sharpsim, measured by the benchmarks (not part of the library).

Each prototype computes exactly what the library function it shadows computes (checked by
:func:`check_prototypes` and by ``tests/test_benchmarks_smoke.py``), only faster on CPU.
The lead moves the ones that win into ``sharpsim/core.py`` / ``sharpsim/sampling.py``.

Where the time goes on XLA:CPU (measured on the benchmark machine, see RESULTS.md):

* ``jnp.argsort`` / ``jnp.sort`` of float64 lower to a multi-operand ``lax.sort`` with a
  NaN-aware total-order comparator; XLA:CPU runs that through a generic comparator
  callback, ~10x slower than ``numpy.sort`` on rows of 1000 and ~5x on a row of 10^6.
* a *single-operand integer* ``lax.sort`` takes XLA's fast path (std::sort on the raw
  keys), ~2x of ``numpy.sort``.

So the prototypes sort the int64 image of the float64 log-probabilities under an
order-preserving bijection (:func:`order_key`) with a single-operand sort, and recover each
element's rank with one ``searchsorted`` instead of carrying a permutation through the sort
(``argsort``) and scattering back.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

import sharpsim  # noqa: F401  (enables x64)
from sharpsim import core

_LOW63 = 0x7FFFFFFFFFFFFFFF


def order_key(lp):
    """Order-preserving bijection float64 -> int64 (NaN-free input; -0.0 is mapped as +0.0).

    For IEEE-754 doubles the bit pattern read as a signed integer is increasing on
    [+0, +inf] and decreasing on [-inf, -0]; flipping the 63 low bits of the negative ones
    makes it increasing everywhere, so ``x < y  <=>  order_key(x) < order_key(y)``.
    """
    i = jax.lax.bitcast_convert_type(lp + 0.0, jnp.int64)  # + 0.0 turns -0.0 into +0.0
    return jnp.where(i < 0, i ^ jnp.int64(_LOW63), i)


def from_order_key(k):
    """Inverse of :func:`order_key`."""
    i = jnp.where(k < 0, k ^ jnp.int64(_LOW63), k)
    return jax.lax.bitcast_convert_type(i, jnp.float64)


def _groups_sorted(asc):
    """Tie groups (core.TIE_RTOL) of an ascending row: (start [Y], end [Y]) per sorted position.

    ``start[i]`` is the index of the first element of i's group and ``end[i]`` one past its
    last, i.e. the numbers of elements strictly below / at-or-below i's level.
    """
    Y = asc.shape[0]
    gap = jnp.diff(asc)
    brk = jnp.concatenate([jnp.ones(1, dtype=bool), ~(gap <= core.tie_tol(asc[1:]))])
    idx = jnp.arange(Y)
    start = jax.lax.cummax(jnp.where(brk, idx, 0))
    brk_next = jnp.concatenate([brk[1:], jnp.ones(1, dtype=bool)])
    end = jax.lax.cummin(jnp.where(brk_next, idx + 1, Y), reverse=True)
    return start, end


def snap_ties_fast(lp):
    """Same values as :func:`sharpsim.core.snap_ties` on a row [Y], without argsort/scatter."""
    key = order_key(lp)
    sk = jax.lax.sort(key, is_stable=False)
    asc = from_order_key(sk)
    _, end = _groups_sorted(asc)
    pos = jnp.searchsorted(sk, key, side="left")
    return jnp.where(jnp.isneginf(lp), core.NEG_INF, asc[end[pos] - 1])


def _bon_row_fast(lp, N, method="scan"):
    Y = lp.shape[0]
    key = order_key(lp)
    sk = jax.lax.sort(key, is_stable=False)  # single-operand integer sort: XLA's fast path
    asc = from_order_key(sk)  # == jnp.sort(lp)
    start, end = _groups_sorted(asc)
    pos = jnp.searchsorted(sk, key, side="left", method=method)  # rank of each element's value
    n_lt = start[pos]
    n_le = end[pos]
    # from here on identical to core._bon_row
    p_asc = jnp.exp(asc)
    A = jnp.concatenate([jnp.zeros(1), jnp.cumsum(p_asc)])
    D = jnp.concatenate([jnp.zeros(1), jnp.cumsum(p_asc[::-1])])
    total = D[Y]
    t_gt = D[Y - n_le] / total
    t_ge = D[Y - n_lt] / total
    s_le = A[n_le] / total
    s_lt = A[n_lt] / total
    log_s_le = jnp.where(t_gt < 0.5, jnp.log1p(-jnp.minimum(t_gt, 1.0)), jnp.log(s_le))
    log_s_lt = jnp.where(t_ge < 0.5, jnp.log1p(-jnp.minimum(t_ge, 1.0)), jnp.log(s_lt))
    a = N * log_s_le
    b = N * log_s_lt
    safe_a = jnp.where(jnp.isneginf(a), 0.0, a)
    level = jnp.where(jnp.isneginf(a), 0.0, jnp.exp(a) * -jnp.expm1(jnp.minimum(b - safe_a, 0.0)))
    size = (n_le - n_lt).astype(lp.dtype)
    return jnp.where(jnp.isneginf(lp), 0.0, level / size)


@jax.jit
def bon_law_fast(logp, N):
    """Drop-in for :func:`sharpsim.core.bon_law` (same formula, same tie groups), [X, Y]."""
    return jax.vmap(_bon_row_fast, in_axes=(0, None))(logp, N)


def bon_law_method(method):
    """bon_law_fast with a given ``jnp.searchsorted`` method (for the where-the-time-goes table)."""
    return jax.jit(jax.vmap(lambda r, n: _bon_row_fast(r, n, method), in_axes=(0, None)))


# ----------------------------------------------------------------------------------------
# exact argsort from two single-operand integer sorts
# ----------------------------------------------------------------------------------------

MAX_FAST_ARGSORT = 2**20
"""Largest row length for :func:`argsort_int2` (3 * 20 + 1 bits fit in an int64 key)."""


def argsort_int2(lp):
    """Exact ascending argsort of a float64 row [Y] (Y <= 2**20) from two single-operand int64 sorts.

    ``u`` = :func:`order_key` shifted to [0, 2**64) as unsigned (64 bits, order-preserving).
    Pass 1 sorts ``(u >> s, index)`` packed in one int64 (s = b + 1, b = bits of Y): exact order
    of the high 63 - b bits, ties by index. Pass 2 sorts ``(block start, u & (2**s - 1), pass-1
    position)`` packed in 3b + 1 <= 61 bits: within each block of equal high bits this orders by
    the low bits, so the result is ordered by the full key. Ties (equal values) come out in
    index order, i.e. this is a *stable* argsort, equal to ``jnp.argsort(lp, stable=True)``.
    """
    Y = lp.shape[0]
    b = max(1, (Y - 1).bit_length())
    if Y > MAX_FAST_ARGSORT:
        return jnp.argsort(lp, stable=True)
    s = b + 1
    u = jax.lax.bitcast_convert_type(order_key(lp), jnp.uint64) ^ jnp.uint64(1 << 63)
    idx = jnp.arange(Y, dtype=jnp.int64)
    hi = (u >> jnp.uint64(s)).astype(jnp.int64)  # 64 - s = 63 - b bits
    p1 = jax.lax.sort((hi << b) | idx, is_stable=False)
    perm1 = p1 & ((1 << b) - 1)
    hi_sorted = p1 >> b
    new_block = jnp.concatenate([jnp.ones(1, dtype=bool), hi_sorted[1:] != hi_sorted[:-1]])
    block = jax.lax.cummax(jnp.where(new_block, idx, 0))
    lo = (u[perm1] & jnp.uint64((1 << s) - 1)).astype(jnp.int64)
    p2 = jax.lax.sort((block << (s + b)) | (lo << b) | idx, is_stable=False)
    return perm1[p2 & ((1 << b) - 1)]


def snap_ties_argsort2(lp):
    """:func:`sharpsim.core.snap_ties` with the argsort replaced by :func:`argsort_int2`."""
    order = argsort_int2(lp)
    asc = lp[order]
    _, end = _groups_sorted(asc)
    snapped_asc = jnp.where(jnp.isneginf(asc), core.NEG_INF, asc[end - 1])
    return jnp.zeros_like(lp).at[order].set(snapped_asc, unique_indices=True)


def _bon_row_argsort2(lp, N):
    Y = lp.shape[0]
    order = argsort_int2(lp)
    asc = lp[order]
    n_lt, n_le = _groups_sorted(asc)  # per sorted position
    p_asc = jnp.exp(asc)
    A = jnp.concatenate([jnp.zeros(1), jnp.cumsum(p_asc)])
    D = jnp.concatenate([jnp.zeros(1), jnp.cumsum(p_asc[::-1])])
    total = D[Y]
    t_gt = D[Y - n_le] / total
    t_ge = D[Y - n_lt] / total
    s_le = A[n_le] / total
    s_lt = A[n_lt] / total
    log_s_le = jnp.where(t_gt < 0.5, jnp.log1p(-jnp.minimum(t_gt, 1.0)), jnp.log(s_le))
    log_s_lt = jnp.where(t_ge < 0.5, jnp.log1p(-jnp.minimum(t_ge, 1.0)), jnp.log(s_lt))
    a = N * log_s_le
    b = N * log_s_lt
    safe_a = jnp.where(jnp.isneginf(a), 0.0, a)
    level = jnp.where(jnp.isneginf(a), 0.0, jnp.exp(a) * -jnp.expm1(jnp.minimum(b - safe_a, 0.0)))
    size = (n_le - n_lt).astype(lp.dtype)
    law_asc = jnp.where(jnp.isneginf(asc), 0.0, level / size)
    return jnp.zeros_like(lp).at[order].set(law_asc, unique_indices=True)


@jax.jit
def bon_law_argsort2(logp, N):
    """Drop-in for :func:`sharpsim.core.bon_law`: one exact argsort (two int sorts), no searchsorted."""
    return jax.vmap(_bon_row_argsort2, in_axes=(0, None))(logp, N)


# ----------------------------------------------------------------------------------------
# autoregressive enumeration without gathers
# ----------------------------------------------------------------------------------------


def _enumerate_bcast_impl(conds, ctx_lengths, V):
    """Same values as ``sharpsim.models._enumerate`` (bit for bit: the same additions in the same order).

    The context of step h is the last c_h tokens of the prefix, i.e. prefix index mod V^c_h:
    with the prefix index written as (head, tail) with tail < V^c_h, the table
    L_h[x, head, tail, v] = L_{h-1}[x, head, tail] + cond_h[x, tail, v] is a broadcast add,
    so no ``conds[h-1][:, idx, :]`` gather is needed (XLA:CPU gathers are slow).
    """
    X = conds[0].shape[0]
    L = conds[0][:, 0, :]  # [X, V]
    for h in range(2, len(conds) + 1):
        c = ctx_lengths[h - 1]
        prefixes = V ** (h - 1)
        head = prefixes // V**c
        L = (L.reshape(X, head, V**c, 1) + conds[h - 1][:, None, :, :]).reshape(X, prefixes * V)
    return L


enumerate_bcast = jax.jit(_enumerate_bcast_impl, static_argnums=(1, 2))


def log_table_bcast(model):
    """What ``AutoregressiveLM.log_table`` computes, through :data:`enumerate_bcast` (no cache)."""
    import numpy as np

    return np.asarray(enumerate_bcast(tuple(jnp.asarray(c) for c in model._cond), model.context_lengths, model.V))


# ----------------------------------------------------------------------------------------
# best-of-N sampling on the table (per-table work once, not per prompt)
# ----------------------------------------------------------------------------------------


def _count_le_rows(cdf, x, q):
    """For queries q [B, N] in rows x [B] of cdf [X, Y]: #{j : cdf[x, j] <= q} (= searchsorted side='right').

    Branchless binary search that gathers single entries cdf[x, j]: never materializes the
    [B, Y] rows.
    """
    Y = cdf.shape[1]
    pos = jnp.zeros(q.shape, dtype=jnp.int64)
    xr = x[:, None]
    for k in reversed(range(max(1, Y.bit_length()))):
        cand = pos + (1 << k)
        val = cdf[xr, jnp.minimum(cand, Y) - 1]
        pos = jnp.where((cand <= Y) & (val <= q), cand, pos)
    return pos


@jax.jit
def best_of_n_table_core(key, logp_table, x, N_static_draws):
    """Same outputs as ``sharpsim.sampling.best_of_n_core(key, logp_table[x], N_static_draws)``.

    Differences: the CDF and the tie-snapped scores are computed once per table row [X, Y]
    (not once per prompt occurrence [B, Y]); the snapping uses :func:`snap_ties_argsort2`;
    the inverse-CDF search gathers single CDF entries instead of slicing rows.
    Same key -> same uniforms -> same draws and choices (checked bit for bit).
    """
    B = x.shape[0]
    N = N_static_draws.shape[0]
    Y = logp_table.shape[-1]
    k1, k2 = jax.random.split(key)
    u = jax.random.uniform(k1, (B, N), dtype=jnp.float64)
    cdf = jnp.cumsum(jnp.exp(logp_table), axis=-1)
    draws = _count_le_rows(cdf, x, u * cdf[x, -1][:, None])
    draws = jnp.minimum(draws, Y - 1)
    scores = jax.vmap(snap_ties_argsort2)(logp_table)[x[:, None], draws]
    best = jnp.max(scores, axis=-1, keepdims=True)
    prio = jax.random.uniform(k2, (B, N), dtype=jnp.float64)
    pick = jnp.argmax(jnp.where(scores == best, prio, -1.0), axis=-1)
    return jnp.take_along_axis(draws, pick[:, None], axis=-1)[:, 0], draws
