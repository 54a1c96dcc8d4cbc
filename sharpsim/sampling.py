"""Keyed sampling primitives: inference-time best-of-N and adaptive best-of-N.

Both take the base model as a table (or model) plus prompt indices, draw
responses from pi_base, score them by the self-reward log pi_base(y|x), and
report how many sample-and-evaluate queries they used (SPEC 3.5). They are
literal: every one of the N responses is drawn. (The oracle of the algorithms
layer adds the exact shortcut of drawing the best-of-N outcome straight from
its law; :func:`best_of_n_exact` is that shortcut, tested against the literal
sampler.)

Tie-breaking (decision D1): among draws with the same maximal likelihood the
output is a uniformly random one of them, which splits the level-set mass of
the best-of-N law equally (SPEC 9 item 1).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import aot, core
from ._validate import check_int, check_key, check_positive, check_size, log_table_of

__all__ = ["BoNResult", "best_of_n", "best_of_n_exact", "adaptive_best_of_n"]

MAX_DRAWS = 10**7
"""The one default cap on the draws of an adaptive best-of-N run (sampler, oracle and learner):
Eq. (10) stops long before it on every instance of the catalogue; it only bounds a runaway loop.
Runs that hit it are flagged (``truncated``)."""


class BoNResult(NamedTuple):
    """Outcome of a best-of-N call.

    y: int [B] chosen responses; queries: int [B] sample-and-evaluate queries used per
    prompt; truncated: bool [B] (adaptive only: the draw cap was hit before the
    stopping rule fired).
    """

    y: np.ndarray
    queries: np.ndarray
    truncated: np.ndarray


def _check_prompts(x, X):
    x = np.atleast_1d(np.asarray(x))
    if not np.issubdtype(x.dtype, np.integer):
        raise TypeError(f"x must be integer prompt indices, got dtype {x.dtype}")
    if x.ndim != 1:
        raise ValueError(f"x must be a 1-D array of prompt indices, got shape {x.shape}")
    if (x < 0).any() or (x >= X).any():
        raise ValueError(f"prompt indices x must lie in [0, {X})")
    return x


@aot.jit
def best_of_n_core(key, logp_rows, N_static_draws):
    """Literal best-of-N on rows [B, Y] with draws [B, N] pre-shaped by ``N_static_draws`` (a dummy [N] array).

    Returns (y [B], draws [B, N]): :func:`best_of_n_table_core` with row b as the table row of
    prompt b.
    """
    return best_of_n_table_core(key, logp_rows, jnp.arange(logp_rows.shape[0]), N_static_draws)


def _count_le_rows(cdf, x, q):
    """#{j : cdf[x_b, j] <= q_bn} for queries q [B, N] in rows x [B] of cdf [X, Y].

    Equals ``searchsorted(cdf[x_b], q_bn, side="right")`` (the literal twin in the tests): one
    batched branchless binary search over the flattened table. Each row is padded with ``+inf``
    to L = 2^bitlength(Y) > Y entries, so every step is one 1-D gather and one compare (no bounds
    test, no [B, Y] rows materialized); the count never exceeds Y since the padding is never <= q.
    """
    return _count_le_flat(_pad_rows(cdf), cdf.shape[1], x, q)


def _pad_rows(cdf):
    """cdf [X, Y] -> its rows padded with +inf to L = 2^bitlength(Y) entries, flattened [X L]."""
    X, Y = cdf.shape
    L = 1 << max(1, Y.bit_length())
    return jnp.concatenate([cdf, jnp.full((X, L - Y), jnp.inf, dtype=cdf.dtype)], axis=1).reshape(-1)


def _count_le_flat(flat, Y, x, q):
    """:func:`_count_le_rows` on the padded, flattened rows ``flat`` = :func:`_pad_rows` (cdf)."""
    L = 1 << max(1, Y.bit_length())
    base = (x.astype(jnp.int64) * L)[:, None]
    pos = jnp.broadcast_to(base, q.shape)
    for k in reversed(range(L.bit_length() - 1)):
        cand = pos + (1 << k)
        pos = jnp.where(flat[cand - 1] <= q, cand, pos)
    return pos - base


def _bon_draw(key, logp_table, x, N):
    """First half of the table cores: N inverse-CDF draws per prompt -> (draws [B, N], tie-break key)."""
    cdf = jnp.cumsum(jnp.exp(logp_table), axis=-1)
    return _bon_draw_flat(key, _pad_rows(cdf), cdf[:, -1], x, N, logp_table.shape[-1])


def _bon_pick(k2, scores_table, x, draws):
    """Second half: tie-snapped scores of the draws, a uniformly random draw among the best -> y [B]."""
    B, N = draws.shape
    Y = scores_table.shape[-1]
    scores = scores_table.reshape(-1)[x.astype(jnp.int64)[:, None] * Y + draws]
    best = jnp.max(scores, axis=-1, keepdims=True)
    prio = jax.random.uniform(k2, (B, N), dtype=jnp.float64)
    w = jnp.where(scores == best, prio, -1.0)
    # == jnp.argmax(w, axis=-1) (the first maximum), as single-operand reductions (XLA:CPU's
    # variadic (value, index) reduce behind argmax is slow)
    col = jnp.arange(N, dtype=jnp.int64)[None, :]
    pick = jnp.min(jnp.where(w == jnp.max(w, axis=-1, keepdims=True), col, N), axis=-1)
    return jnp.max(jnp.where(col == pick[:, None], draws, -1), axis=-1)


def _bon_draw_flat(key, flat, total, x, N, Y):
    """:func:`_bon_draw` with the table's cumulative sums given (``flat`` = :func:`_pad_rows` of
    cumsum(exp(logp)), ``total`` [X] their last entries, see :func:`table_arrays`)."""
    B = x.shape[0]
    k1, k2 = jax.random.split(key)
    u = jax.random.uniform(k1, (B, N), dtype=jnp.float64)
    draws = _count_le_flat(flat, Y, x, u * total[x][:, None])
    return jnp.minimum(draws, Y - 1), k2


def _count_le_guided(flat, guide, Y, steps, x, u, q):
    """:func:`_count_le_flat` for q = fl(u total[x]) with u in [0, 1), started from a guide table:
    ``steps`` gathers per query instead of log2(L).

    ``guide`` [X (K + 1)] (flattened, K = L = 2^bitlength(Y)) holds g[x, k] = #{j : cdf[x, j] <= q_k}
    with q_k = fl((k / K) total[x]) (:func:`_guide_table`); ``steps`` >= the bit length of the
    widest bucket, max(g[x, k + 1] - g[x, k]). Exact on non-decreasing rows: K is a power of two,
    so k = floor(u K) is exact and k / K <= u < (k + 1) / K; rounding a product is monotone, so
    q_k <= q <= q_{k+1} and the count lies in [g[x, k], g[x, k + 1]]. The branchless binary
    search on that interval returns the count itself (a candidate beyond the interval's end is
    masked, so no read past the row counts).
    """
    L = 1 << max(1, Y.bit_length())
    K = L
    xi = x.astype(jnp.int64)[:, None]
    gi = xi * (K + 1) + jnp.floor(u * K).astype(jnp.int64)
    pos = guide[gi].astype(jnp.int64)
    hi = guide[gi + 1].astype(jnp.int64)
    base = xi * L
    for k in reversed(range(steps)):
        cand = pos + (1 << k)
        pos = jnp.where((cand <= hi) & (flat[base + cand - 1] <= q), cand, pos)
    return pos


def _bon_draw_guided(key, flat, total, guide, x, N, Y, steps):
    """:func:`_bon_draw_flat` with the search of :func:`_count_le_guided` (the same bits on tables
    whose cumulative sums are non-decreasing, the only ones :func:`_guide_table` gives a guide)."""
    B = x.shape[0]
    k1, k2 = jax.random.split(key)
    u = jax.random.uniform(k1, (B, N), dtype=jnp.float64)
    draws = _count_le_guided(flat, guide, Y, steps, x, u, u * total[x][:, None])
    return jnp.minimum(draws, Y - 1), k2


_bon_draw_jit = aot.jit(_bon_draw, static_argnums=3)
_bon_draw_flat_jit = aot.jit(_bon_draw_flat, static_argnums=(4, 5))
_bon_draw_guided_jit = aot.jit(_bon_draw_guided, static_argnums=(5, 6, 7))


@aot.jit
def _count_le_all_rows(flat, q, Y_static):
    """g [X, K'] = #{j : cdf[x, j] <= q[x, k]} for every row x, by :func:`_count_le_flat` (the
    reference search of the draws); ``Y_static`` a dummy [Y] array."""
    return _count_le_flat(flat, Y_static.shape[0], jnp.arange(q.shape[0]), q)


def _guide_table(flat, total, Y):
    """The guide of :func:`_bon_draw_guided` for the padded cumulative sums ``flat`` [X L] (device)
    and their totals ``total`` [X]: (guide int32 [X (L + 1)] on the device, steps), or None when a
    row of cumulative sums is not non-decreasing (XLA:CPU's cumsum adds in a tree, so on long rows
    with zeros or tiny entries a sum can step down by an ulp; there the bracket would not be exact,
    and :func:`best_of_n` keeps the plain search, e.g. Dirichlet(0.05) rows of 1000 responses).

    The thresholds q_k = (k / L) * total[x] are computed here in numpy with the same IEEE product
    as the draws', and the counts by the draws' own reference search, so g[x, k] is exactly the
    count a draw with u = k / L would get.
    """
    L = 1 << max(1, Y.bit_length())
    tot = np.asarray(total, dtype=np.float64)
    cdf = np.asarray(flat).reshape(tot.shape[0], L)[:, :Y]
    if Y > 1 and not bool(np.all(cdf[:, 1:] >= cdf[:, :-1])):
        return None
    q = (np.arange(L + 1, dtype=np.float64) / L)[None, :] * tot[:, None]
    g = np.asarray(_count_le_all_rows(flat, core.to_device(q), jnp.zeros(Y)))
    width = int((g[:, 1:] - g[:, :-1]).max())
    return core.to_device(g.astype(np.int32).reshape(-1)), width.bit_length()
_bon_pick_jit = aot.jit(_bon_pick)

GUIDE_STEPS_MULTIPLE = 4
""":func:`best_of_n` runs the guided search with the guide's ``steps`` rounded up to a multiple of this:
more steps than the widest bucket needs give the same counts (:func:`_count_le_guided`; tested), and
the guided draws compile once per (shape, N, steps), so one program serves most tables (steps 1-4)
instead of one per table (~0.3 s each; the bon_coverage figure compiled 36 of them)."""


def _search_steps(steps: int) -> int:
    return -(-steps // GUIDE_STEPS_MULTIPLE) * GUIDE_STEPS_MULTIPLE


@aot.jit
def best_of_n_table_core(key, logp_table, x, N_static_draws):
    """Literal best-of-N for prompts x [B] of a table [X, Y]; N from the dummy ``N_static_draws`` [N].

    Draw b's responses come from inverse-CDF search of u * cdf[x_b, -1] in row x_b, scores are
    the tie-snapped log-probabilities (:func:`sharpsim.core.snap_ties`, so near-ties under
    core.TIE_RTOL break uniformly, as in bon_law), and the output is a uniformly random draw among
    those with the best score. The per-table work (CDF, snap_ties) is done once on [X, Y], not
    once per prompt occurrence, and each draw searches its row in place (no [B, Y] gather).
    Returns (y [B], draws [B, N]).
    """
    draws, k2 = _bon_draw(key, logp_table, x, N_static_draws.shape[0])
    snapped = jax.vmap(core.snap_ties)(logp_table)
    return _bon_pick(k2, snapped, x, draws), draws


def best_of_n_snapped_core(key, logp_table, snapped_table, x, N_static_draws):
    """:func:`best_of_n_table_core` with the tie-snapped table ``snapped_table`` [X, Y]
    (= ``vmap(core.snap_ties)(logp_table)``) given, so a model's table is snapped once, not per call.

    Two compiled calls (draws, then scores and pick): in one XLA:CPU program the score gather
    fuses with the search and costs several times the search itself. Same bits as
    :func:`best_of_n_table_core` for the same key (tested). Returns (y [B], draws [B, N]).
    """
    x = jnp.asarray(x)
    draws, k2 = _bon_draw_jit(key, logp_table, x, N_static_draws.shape[0])
    return _bon_pick_jit(k2, snapped_table, x, draws), draws


_snap_table = aot.jit(jax.vmap(core.snap_ties), name="sharpsim.sampling._snap_table")


@aot.jit
def _flat_cdf(logp_table):
    """(:func:`_pad_rows` of cumsum(exp(logp)), its rows' totals): the cumulative sums of
    :func:`_bon_draw`, computed by the same XLA ops (the same bits; tested through best_of_n)."""
    cdf = jnp.cumsum(jnp.exp(logp_table), axis=-1)
    return _pad_rows(cdf), cdf[:, -1]


class TableArrays(NamedTuple):
    """A table's per-table arrays for :func:`best_of_n` (device arrays): ``snapped``
    = vmap(core.snap_ties)(logp) [X, Y], ``flat`` the padded cumulative sums [X L], ``total`` [X],
    and ``guide`` = :func:`_guide_table` (guide, steps) or None (cached tables only)."""

    snapped: Any
    flat: Any
    total: Any
    guide: Any = None


_SNAP_CACHE: list = []
_SNAP_CACHE_SIZE = 4
_SNAP_CACHE_MAX_ENTRIES = 2**22
"""Tables above this many entries get their arrays on every call, not cached (bounds the cache's memory)."""


def table_arrays(lp: np.ndarray) -> TableArrays:
    """The :class:`TableArrays` of a log table [X, Y], cached: the last few tables are kept with a
    copy of their bits, and a table whose bits match one of them reuses its arrays (a bitwise compare
    costs far less than the sort, the cumulative sums and the copy to the device). Tables above 2^22
    entries are not cached."""
    lp = np.ascontiguousarray(lp, dtype=np.float64)

    def build(guide):
        dev = core.to_device(lp)
        flat, total = _flat_cdf(dev)
        return TableArrays(_snap_table(dev), flat, total,
                           _guide_table(flat, total, lp.shape[1]) if guide else None)

    if lp.size > _SNAP_CACHE_MAX_ENTRIES:
        return build(False)  # a guide costs a search per bucket: only for tables kept in the cache
    bits = lp.view(np.int64)
    for i, (old_bits, arrays) in enumerate(_SNAP_CACHE):
        if old_bits.shape == bits.shape and np.array_equal(old_bits, bits):
            if i:
                _SNAP_CACHE.insert(0, _SNAP_CACHE.pop(i))
            return arrays
    arrays = build(True)
    _SNAP_CACHE.insert(0, (bits.copy(), arrays))
    del _SNAP_CACHE[_SNAP_CACHE_SIZE:]
    return arrays


def snapped_table(lp: np.ndarray):
    """``vmap(core.snap_ties)`` of a log table [X, Y] (a jax array), cached with the table's other
    arrays (:func:`table_arrays`)."""
    return table_arrays(lp).snapped


def best_of_n(key, base, x, N) -> BoNResult:
    """Inference-time best-of-N (SPEC 5.4): for each prompt in x draw N responses from pi_base,
    keep the most likely (uniform tie-break). Uses N queries per prompt.

    Args:
      key: jax PRNG key. base: [X, Y] table or model. x: int [B] prompts. N: int >= 1.
    Returns:
      :class:`BoNResult` with y [B] and queries [B] (= N).
    """
    check_key(key)
    N = check_int(N, "N")
    lp_np = np.asarray(log_table_of(base, "base"), dtype=np.float64)
    x = _check_prompts(x, lp_np.shape[0])
    check_size(
        x.shape[0] * N,
        f"best_of_n: the literal draws len(x) * N = {x.shape[0]} * {N}",
        "use best_of_n_exact (same law, cost independent of N) or fewer prompts at a time",
    )
    t = table_arrays(lp_np)  # cached per table: no copy, snap, cumulative sum or guide per call
    xj = core.to_device(x)
    if t.guide is None:
        draws, k2 = _bon_draw_flat_jit(key, t.flat, t.total, xj, N, lp_np.shape[1])
    else:
        draws, k2 = _bon_draw_guided_jit(key, t.flat, t.total, t.guide[0], xj, N, lp_np.shape[1],
                                         _search_steps(t.guide[1]))
    y = _bon_pick_jit(k2, t.snapped, xj, draws)
    B = x.shape[0]
    return BoNResult(np.asarray(y), np.full(B, N), np.zeros(B, dtype=bool))


@aot.jit
def _sample_from_law(key, law_rows):
    return jax.random.categorical(key, jnp.log(law_rows), axis=-1)


def best_of_n_exact(key, base, x, N) -> BoNResult:
    """Best-of-N outcome drawn from its exact law :func:`sharpsim.bon_law` (charged N queries).

    Same distribution as :func:`best_of_n` (tested), at a cost independent of N. Any integer
    N >= 1 works, also beyond the float64 range (see :func:`sharpsim.bon_law`).
    """
    from .quantities import bon_law_log_table

    check_key(key)
    N = check_int(N, "N")
    lp = np.asarray(log_table_of(base, "base"), dtype=np.float64)
    x = _check_prompts(x, lp.shape[0])
    # the host path: the jitted law's bits, without one compiled law per number of prompts
    law = core.to_device(bon_law_log_table(lp[x], N))
    y = _sample_from_law(key, law)
    B = x.shape[0]
    return BoNResult(np.asarray(y), np.full(B, N), np.zeros(B, dtype=bool))


def adaptive_stop(k, best, log_mu_stop):
    """Stopping test of Eq. (10): k * max_{j<=k} p(y_j) >= mu_stop, in log space with a tie tolerance.

    ``log k + best >= log mu_stop - tol`` where tol = core.tie_tol(best) + core.tie_tol(log mu_stop)
    + TIE_RTOL log k absorbs the rounding of the logs, so that exact equality k p = mu_stop
    (e.g. k = 64, p = 1/16, mu_stop = 4, where log 64 + log(1/16) < log 4 in float64) stops.
    """
    lk = jnp.log(jnp.maximum(k, 1).astype(jnp.float64))
    tol = core.tie_tol(best) + core.tie_tol(log_mu_stop) + core.TIE_RTOL * lk
    return lk + best >= log_mu_stop - tol


def adaptive_init(key):
    """The state (k draws, best score, y, ties, key) of :func:`adaptive_one` before its first draw."""
    return (jnp.array(0, dtype=jnp.int64), jnp.array(-jnp.inf), jnp.array(0, dtype=jnp.int32),
            jnp.array(0, dtype=jnp.int64), key)


def adaptive_going(state, log_mu_stop, max_draws):
    """Whether :func:`adaptive_one` draws again from ``state``: under the cap and not stopped."""
    k, best, _, _, _ = state
    return (k < max_draws) & ~((k > 0) & adaptive_stop(k, best, log_mu_stop))


def adaptive_step(state, scores_row, cdf):
    """One draw of :func:`adaptive_one`: y_k by inverse CDF, kept if its score is the best so far
    (reservoir tie-break among equal scores)."""
    k, best, y, ties, key = state
    key, k1, k2 = jax.random.split(key, 3)
    u = jax.random.uniform(k1, dtype=jnp.float64)
    d = jnp.minimum(jnp.searchsorted(cdf, u * cdf[-1], side="right"), scores_row.shape[0] - 1)
    s = scores_row[d]
    better = s > best
    tie = s == best
    ties_new = jnp.where(better, 1, jnp.where(tie, ties + 1, ties))
    # reservoir sampling among tied maxima: replace with probability 1/ties_new
    take = better | (tie & (jax.random.uniform(k2) * ties_new < 1.0))
    return (k + 1, jnp.maximum(best, s), jnp.where(take, d, y).astype(jnp.int32), ties_new, key)


def adaptive_one(key, scores_row, cdf, log_mu_stop, max_draws):
    """Adaptive best-of-N on one row (shared by this module and :mod:`sharpsim.oracle`).

    Draw y_k by inverse CDF from ``cdf`` [Y] until :func:`adaptive_stop` fires or ``max_draws``
    is reached; keep the draw of largest ``scores_row`` [Y] (reservoir tie-break among equal
    scores). Returns (y int32, k int64 draws used, truncated bool: stopped by the cap).
    The loop is :func:`adaptive_init`, :func:`adaptive_going`, :func:`adaptive_step`.
    """
    state = jax.lax.while_loop(lambda st: adaptive_going(st, log_mu_stop, max_draws),
                               lambda st: adaptive_step(st, scores_row, cdf), adaptive_init(key))
    k, best, y, _, _ = state
    truncated = ~adaptive_stop(k, best, log_mu_stop) | (k == 0)
    return y, k, truncated


@aot.jit
def adaptive_core(keys, logp_rows, log_mu_stop, max_draws):
    """Adaptive best-of-N on rows [B, Y] with one key per row -> (y [B], draws [B], truncated [B])."""
    cdf = jnp.cumsum(jnp.exp(logp_rows), axis=-1)
    scores = jax.vmap(core.snap_ties)(logp_rows)  # tie groups as in bon_law (core.TIE_RTOL)
    y, k, trunc = jax.vmap(adaptive_one, in_axes=(0, 0, 0, None, None))(keys, scores, cdf, log_mu_stop, max_draws)
    return y.astype(jnp.int64), k, trunc


def adaptive_best_of_n(key, base, x, mu_stop, max_draws: int = MAX_DRAWS) -> BoNResult:
    """Adaptive best-of-N with the stopping rule of Eq. (10) (SPEC 5.5, Appendix D).

    Draw y_1, y_2, ... ~ pi_base(.|x) and stop at
    N_mu(x) = inf{ k : 1 / max_{j<=k} pi_base(y_j|x) <= k / mu_stop },
    i.e. once k * max_{j<=k} pi_base(y_j|x) >= mu_stop; return the most likely draw
    (uniform tie-break). ``mu_stop`` is the paper's mu (renamed, decision D8);
    Theorem D.1 uses mu_stop = ln(2/delta). Lemma I.1: E[N_mu] <= (mu_stop + 1/|y*|)/max_y p(y).

    Args:
      key: PRNG key. base: table or model. x: int [B]. mu_stop > 0.
      max_draws: safety cap per prompt; prompts that hit it are flagged ``truncated``.
    Returns:
      :class:`BoNResult` with queries [B] = N_mu(x) per prompt.
    """
    check_key(key)
    mu_stop = check_positive(mu_stop, "mu_stop")
    if mu_stop == float("inf"):
        raise ValueError("mu_stop must be finite, got inf")
    max_draws = check_int(max_draws, "max_draws")
    if max_draws > 2**62:
        raise ValueError(f"max_draws must be <= 2^62 (an int64 draw counter), got {max_draws}")
    lp = jnp.asarray(log_table_of(base, "base"))
    x = _check_prompts(x, lp.shape[0])
    keys = jax.random.split(key, x.shape[0])
    y, k, trunc = adaptive_core(keys, lp[x], jnp.log(mu_stop), max_draws)
    return BoNResult(np.asarray(y), np.asarray(k), np.asarray(trunc))
