"""The previous (pre-issue-7) implementations of the fast paths, kept to measure before/after.

sharpsim now ships the fast versions the benchmarks asked for:

* :func:`sharpsim.core.bon_law` / :func:`sharpsim.core.snap_ties` sort each row with
  :func:`sharpsim.core.argsort_rows` (an exact stable argsort from two single-operand int64
  sorts of packed order-preserving keys; XLA:CPU sorts float64 and multi-operand sorts through
  a generic comparator, ~10x slower than numpy.sort) and compute in sorted order;
* :meth:`sharpsim.AutoregressiveLM.log_table` enumerates with numpy broadcasting (no gather,
  no host<->device copies); :data:`sharpsim.models._enumerate` is the jitted twin;
* :func:`sharpsim.best_of_n` runs :func:`sharpsim.sampling.best_of_n_table_core` (per-table work
  once on [X, Y]).

The functions below are the replaced code, verbatim up to names, so that each benchmark can
report the speed-up of the change and check that the outputs did not change (bit for bit).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

import sharpsim  # noqa: F401  (enables x64)
from sharpsim import core


def snap_ties_previous(lp):
    """The former core.snap_ties: float64 argsort, segment_max over tie groups, scatter back."""
    order = jnp.argsort(lp)
    asc = lp[order]
    gap = jnp.diff(asc)
    brk = jnp.concatenate([jnp.ones(1, dtype=bool), ~(gap <= core.tie_tol(asc[1:]))])
    gid = jnp.cumsum(brk) - 1
    gmax = jax.ops.segment_max(asc, gid, num_segments=lp.shape[0])
    snapped_asc = jnp.where(jnp.isneginf(asc), core.NEG_INF, gmax[gid])
    return jnp.zeros_like(lp).at[order].set(snapped_asc)


def _bon_row_previous(lp, N):
    Y = lp.shape[0]
    lv = snap_ties_previous(lp)
    lv_asc = jnp.sort(lv)
    n_lt = jnp.searchsorted(lv_asc, lv, side="left")
    n_le = jnp.searchsorted(lv_asc, lv, side="right")
    p_asc = jnp.exp(jnp.sort(lp))
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
def bon_law_previous(logp, N):
    """The former core.bon_law (float64 argsort + sorts + two searchsorted per row), [X, Y]."""
    return jax.vmap(_bon_row_previous, in_axes=(0, None))(logp, N)


def _enumerate_gather_impl(conds, ctx_lengths, V):
    """The former models._enumerate: contexts gathered with conds[h-1][:, idx, :]."""
    X = conds[0].shape[0]
    L = conds[0][:, 0, :]
    for h in range(2, len(conds) + 1):
        c = ctx_lengths[h - 1]
        prefixes = V ** (h - 1)
        idx = jnp.arange(prefixes) % (V**c)
        L = (L[:, :, None] + conds[h - 1][:, idx, :]).reshape(X, prefixes * V)
    return L


enumerate_previous = jax.jit(_enumerate_gather_impl, static_argnums=(1, 2))


def log_table_previous(model):
    """The former AutoregressiveLM.log_table body (jnp conversions, jitted gather, copy back)."""
    import numpy as np

    return np.asarray(enumerate_previous(tuple(jnp.asarray(c) for c in model._cond), model.context_lengths, model.V))


@jax.jit
def best_of_n_previous(key, logp_table, x, N_static_draws):
    """The former sharpsim.best_of_n path: gather the B rows, then the per-row core with the former snapping."""
    logp_rows = logp_table[x]
    B = logp_rows.shape[0]
    N = N_static_draws.shape[0]
    k1, k2 = jax.random.split(key)
    u = jax.random.uniform(k1, (B, N), dtype=jnp.float64)
    cdf = jnp.cumsum(jnp.exp(logp_rows), axis=-1)
    draws = jax.vmap(lambda c, uu: jnp.searchsorted(c, uu * c[-1], side="right"))(cdf, u)
    draws = jnp.minimum(draws, logp_rows.shape[-1] - 1)
    scores = jnp.take_along_axis(jax.vmap(snap_ties_previous)(logp_rows), draws, axis=-1)
    best = jnp.max(scores, axis=-1, keepdims=True)
    prio = jax.random.uniform(k2, (B, N), dtype=jnp.float64)
    pick = jnp.argmax(jnp.where(scores == best, prio, -1.0), axis=-1)
    return jnp.take_along_axis(draws, pick[:, None], axis=-1)[:, 0]
