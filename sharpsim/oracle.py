"""The sample-and-evaluate oracle (SPEC 3.5, Definition 3.2 / D.1, footnote 7).

A learner never sees the base model's table. It sees pi_base only through an
:class:`Oracle`, which can

1. draw prompts x ~ mu                                   (counted in ``prompts``);
2. draw responses y ~ pi_base(.|x) and reveal log pi_base(y|x) of the *drawn*
   responses only                                         (counted in ``queries`` = m);
3. run best-of-N (N draws, keep the most likely, uniform tie-break, decision D1)
   literally, or through the exact shortcut that draws the best-of-N outcome from
   its law :func:`sharpsim.core.bon_law` while charging the same N queries
   (DESIGN.md: the learner's view is unchanged in distribution; tested against the
   literal twin in ``tests/test_oracle.py``);
4. run adaptive best-of-N with the stopping rule of Eq. (10) (SPEC 5.5): the random
   number of draws is what is charged;
5. evaluate log pi_base(y|x) at an *arbitrary* (x, y), the broader access XPO needs
   (footnote 7). These are counted separately in ``extended_queries`` (decision D7).

Vectorised trials use the pure, jit-able **oracle cores** below. Each takes a key and
the base log-table and returns only what the oracle reveals (drawn prompts,
drawn responses, their log-likelihoods) plus the number of queries charged. A learner
core that is called only on those outputs cannot read the table: this is how the
engine (:mod:`sharpsim.engine`) and the learners keep the access model honest.

Shapes are padded to a static capacity ``n_cap`` (a power of 8, see
:func:`capacity`) and the first ``n`` entries are live (``w = 1``), the rest are
padding (``w = 0``); so a search over n recompiles only once per power of 8.

Why one file of ~600 lines: every core draws through the same inverse-CDF search
(:func:`draw_from_rows`), and the fast paths that avoid it must return its bits: the two-level
prompt search (:func:`_search_one`) and the exact preimages of the search
(:func:`search_preimages`, :func:`bon_hits_core`) mirror :func:`_row_search` step for step, so they
stay beside it, with the cores that use them.
"""

from __future__ import annotations

import math
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import aot, core
from ._validate import check_int, check_positive, log_table_of, mu_of
from .sampling import MAX_DRAWS, adaptive_going, adaptive_init, adaptive_one, adaptive_step, best_of_n_table_core

__all__ = [
    "Oracle",
    "Draws",
    "Pairs",
    "capacity",
    "fine_capacity",
    "prompts_core",
    "draw_from_rows",
    "sample_rows_core",
    "bon_draws_core",
    "bon_hits_core",
    "hits_bounds",
    "search_preimages",
    "bon_draws_literal_core",
    "adaptive_draws_core",
    "pair_draws_core",
    "bon_column_counts_core",
    "multinomial_tree",
]


MAX_CAPACITY = 1 << 24
"""Largest padded size :func:`capacity` hands out (16 Mi slots of a few float64 arrays, ~0.5 GB
per trial): above it a run would exhaust memory, so it is refused before any allocation."""


FINE_FROM = 8**5
"""Sizes n above which :func:`fine_capacity` pads to the next power of 2 instead of 8."""


def fine_capacity(n: int, name: str = "n") -> int:
    """:func:`capacity` up to :data:`FINE_FROM`, the next power of 2 >= n above it: at large n the
    padded work (up to 8x the live draws with powers of 8) costs more than one compilation per power
    of 2. For cores whose live outputs do not depend on the padding (:func:`bon_hits_core`)."""
    n = max(int(n), 1)
    if n <= FINE_FROM:
        return capacity(n, name)
    return capacity(n, name) if 1 << (n - 1).bit_length() > MAX_CAPACITY else 1 << (n - 1).bit_length()


def capacity(n: int, name: str = "n") -> int:
    """Static padded size for n live entries: the next power of 8 >= max(n, 8).

    Coarse on purpose: a search over n then recompiles at most once per factor 8. Raises
    ValueError naming ``name`` when the padded size exceeds :data:`MAX_CAPACITY`."""
    n = max(int(n), 1)
    if n > MAX_CAPACITY:
        raise ValueError(f"{name} = {n} needs {n} padded slots per run, above the limit "
                         f"sharpsim.oracle.MAX_CAPACITY = {MAX_CAPACITY}; use a smaller {name}")
    c = 8
    while c < n:
        c *= 8
    return c


class Draws(NamedTuple):
    """What the oracle reveals about n prompts (padded to n_cap).

    x: int [n_cap] prompts; y: int [n_cap] kept responses (the best-of-N / adaptive
    outcome, or the single draw); logp_y: float [n_cap] log pi_base(y|x) of the kept
    response; w: float [n_cap] 1 for live entries, 0 for padding; queries: total
    sample-and-evaluate queries charged (= m); draws: int [n_cap] queries per prompt.
    """

    x: jax.Array
    y: jax.Array
    logp_y: jax.Array
    w: jax.Array
    queries: jax.Array
    draws: jax.Array


class Pairs(NamedTuple):
    """DPO data (SPEC 6.2) for n prompts (padded to n_cap): x, y, y2: int [n_cap]; logp_y,
    logp_y2: float [n_cap] their log-likelihoods; w: float [n_cap] 1 live / 0 padding;
    queries: 2 n."""

    x: jax.Array
    y: jax.Array
    y2: jax.Array
    logp_y: jax.Array
    logp_y2: jax.Array
    w: jax.Array
    queries: jax.Array


# --------------------------------------------------------------------------- pure cores


def _row_search(cdf, rows, v):
    """Smallest column j with cdf[rows, j] > v (binary search, O(B log Y) memory O(B)).

    cdf: [R, Y] non-decreasing rows; rows: int [B]; v: [B]. Returns int [B] in [0, Y-1].
    """
    Y = cdf.shape[1]
    steps = max(1, int(math.ceil(math.log2(Y))) + 1)
    lo = jnp.zeros(rows.shape, dtype=jnp.int32)
    hi = jnp.full(rows.shape, Y - 1, dtype=jnp.int32)

    def body(_, state):
        lo, hi = state
        mid = (lo + hi) // 2
        right = cdf[rows, mid] <= v
        return jnp.where(right, mid + 1, lo), jnp.where(right, hi, mid)

    lo, hi = jax.lax.fori_loop(0, steps, body, (lo, hi))
    return jnp.minimum(lo, Y - 1)


COARSE = 4
"""Block size of :func:`_search_one`'s first level (4 was fastest for X = 100 here)."""
SEARCH_ONE_MAX = 256
"""Longest row :func:`draw_from_rows` searches with :func:`_search_one`. Both searches return the
same index only on a non-decreasing cdf, and XLA:CPU's cumsum (blocks of 16, then a running sum of
the block totals) provably is one up to 16 x 16 entries; beyond that the block totals' own blocked
sum can leave an entry an ulp below its predecessor."""


def _search_one(cdf, v):
    """:func:`_row_search` for a single row, in two levels: the same result, fewer gathers.

    cdf: [Y] non-decreasing; v: any shape [...]. Returns int [...], min(#{j : cdf[j] <= v}, Y - 1), which is
    :func:`_row_search`'s answer on a non-decreasing row (see :data:`SEARCH_ONE_MAX`). First
    m = #{k : cdf[(k + 1) S - 1] <= v} over the K = Y // S block ends (one broadcast compare, no
    gather), which puts #{j : cdf[j] <= v} in [m S, m S + S - 1] (in [K S, Y] past the last full
    block), then the binary search of :func:`_row_search` inside that window: ceil(log2 S) + 1
    gathers instead of ceil(log2 Y) + 1 (the prompts' search, ~2x faster at Y = 100).
    """
    Y = cdf.shape[0]
    S = COARSE
    K = Y // S
    ends = cdf[S - 1 : K * S : S].reshape((1,) * v.ndim + (K,))
    m = jnp.sum(ends <= v[..., None], axis=-1).astype(jnp.int32)
    lo = m * S
    hi = jnp.minimum(lo + S - 1, Y - 1)
    steps = int(math.ceil(math.log2(max(S, Y - K * S + 1)))) + 1

    def body(_, state):
        lo, hi = state
        mid = (lo + hi) // 2
        right = cdf[mid] <= v
        return jnp.where(right, mid + 1, lo), jnp.where(right, hi, mid)

    lo, hi = jax.lax.fori_loop(0, steps, body, (lo, hi))
    return jnp.minimum(lo, Y - 1)


def draw_from_rows(key, probs, rows):
    """One draw per entry of ``rows`` from the distributions probs[rows] (inverse CDF).

    Entries of zero probability are never drawn (the search returns the first column
    whose cumulative mass exceeds u * total, and a zero entry does not raise it).
    """
    cdf = jnp.cumsum(probs, axis=-1)
    total = cdf[:, -1]
    u = jax.random.uniform(key, rows.shape, dtype=jnp.float64)
    if probs.shape[0] == 1 and probs.shape[1] <= SEARCH_ONE_MAX:  # one distribution (the prompts)
        y = _search_one(cdf[0], u * total[0])
    else:
        y = _row_search(cdf, rows, u * total[rows])
    # guard against u * total rounding up to the last cumulative value: step back to
    # the last column with positive mass
    last_live = probs.shape[1] - 1 - jnp.argmax(probs[:, ::-1] > 0, axis=-1)
    return jnp.minimum(y, last_live[rows])


_cumsum_rows = aot.jit(lambda probs: jnp.cumsum(probs, axis=-1))
"""The cumulative sums :func:`draw_from_rows` searches, [R, Y] -> [R, Y] (the same XLA op)."""

def _row_search_np(cdf, rows, v):
    """:func:`_row_search` in numpy: cdf [R, Y], rows int [...], v float [...] -> int [...].

    The same integer steps and the same float64 comparisons ``cdf[rows, mid] <= v``, so the same
    index as the jitted search for the same cdf bits, on any row (non-decreasing or not)."""
    Y = cdf.shape[1]
    steps = max(1, int(math.ceil(math.log2(Y))) + 1)
    flat, base = cdf.ravel(), rows * Y
    lo = np.zeros(v.shape, dtype=np.int64)
    hi = np.full(v.shape, Y - 1, dtype=np.int64)
    for _ in range(steps):
        mid = (lo + hi) // 2
        right = flat[base + mid] <= v
        lo, hi = np.where(right, mid + 1, lo), np.where(right, hi, mid)
    return np.minimum(lo, Y - 1)


def search_preimages(probs, cols):
    """The exact preimage of :func:`draw_from_rows`'s index: the values v = u * total(r) that draw
    column cols[r, k] from row r, an interval [lo, hi) per (r, k).

    The draw is y(v) = min(search(cdf_r, v), last_live(r)) with cdf_r = cumsum(probs[r]) (the jitted
    cumulative sum, :data:`_cumsum_rows`) and ``search`` the fixed-step binary search of
    :func:`_row_search` (:func:`_search_one` is the same search on the rows it takes). y is
    non-decreasing in v on every row, sorted or not: two values v1 < v2 take the same steps until a
    comparison ``cdf_r[mid] <= v`` sends v1 left (its index ends <= mid + 1) and v2 right (its index
    ends >= mid + 1). And y only changes where v crosses one of the row's Y values t. So
    {v : y(v) = c} = [t_first(c), t_first(c + 1)) with t_first(c) the smallest threshold (or -inf)
    where y >= c (+inf if none): found by a binary search over the sorted thresholds that evaluates y
    with the same steps and comparisons in numpy (:func:`_row_search_np`). On a non-decreasing row this
    is [cdf_r[c - 1], cdf_r[c]); XLA's blocked cumulative sum can leave a zero or tiny entry an ulp below
    its predecessor (see :data:`SEARCH_ONE_MAX`), which is why the search is evaluated, not assumed.
    ``1{lo <= u * total(r) < hi}`` is then bit for bit the test ``draw_from_rows(...) == cols[r, k]`` on
    the same uniform u (tested at every threshold and its neighbours).

    probs: float [R, Y] (each row with positive mass); cols: int [R, K] in [0, Y). Returns numpy
    float64 (total [R], lo [R, K], hi [R, K]), the cumulative sum's last entry and the intervals (-inf /
    +inf for unbounded ends; lo >= hi where no v draws the column).
    """
    probs = np.asarray(probs, dtype=np.float64)
    cdf = np.asarray(_cumsum_rows(core.to_device(probs)))
    last_live = probs.shape[1] - 1 - np.argmax(probs[:, ::-1] > 0, axis=-1)
    lo, hi = _search_preimages(cdf, last_live, cols)
    return cdf[:, -1].copy(), lo, hi


def _search_preimages(cdf, last_live, cols):
    """:func:`search_preimages` for a given ``cdf`` [R, Y] (any float64 rows, sorted or not) and
    ``last_live`` int [R]: the intervals (lo, hi), each [R, K], of {v : min(search(cdf_r, v),
    last_live(r)) = cols[r, k]}, for the comparisons as XLA:CPU makes them (subnormals as zero; the
    bounds are then never subnormal)."""
    R, Y = cdf.shape
    # XLA:CPU runs with denormals flushed to zero (operands and results), so a subnormal cdf entry
    # compares as 0 there: the same here
    cdf = np.where(np.abs(cdf) < np.finfo(np.float64).tiny, 0.0, cdf)
    t = np.sort(np.concatenate([np.full((R, 1), -np.inf), cdf], axis=1), axis=1, kind="stable")  # [R, M]
    M = Y + 1
    flat_t = t.ravel()
    cols = np.asarray(cols, dtype=np.int64)
    target = np.concatenate([cols, cols + 1], axis=1)  # [R, 2K]: y >= c and y >= c + 1
    rows = np.broadcast_to(np.arange(R)[:, None], target.shape)
    lo = np.zeros(target.shape, dtype=np.int64)
    hi = np.full(target.shape, M, dtype=np.int64)  # first index in [0, M] with y(t) >= target
    for _ in range(int(math.ceil(math.log2(M + 1)))):
        mid = np.minimum((lo + hi) // 2, M - 1)
        y = np.minimum(_row_search_np(cdf, rows, flat_t[rows * M + mid]), last_live[rows])
        ok = y >= target
        lo, hi = np.where(ok, lo, mid + 1), np.where(ok, mid, hi)
    first = np.where(lo < M, flat_t[rows * M + np.minimum(lo, M - 1)], np.inf)
    K = cols.shape[1]
    return first[:, :K], first[:, K:]


@partial(aot.jit, static_argnames=("n_cap",))
def prompts_core(key, log_mu, n_cap):
    """n_cap prompts x ~ mu (inverse CDF), int [n_cap]."""
    probs = jnp.exp(log_mu)[None, :]
    return draw_from_rows(key, probs, jnp.zeros((n_cap,), dtype=jnp.int32))


@aot.jit
def sample_rows_core(key, logp, x):
    """One response y ~ pi_base(.|x) per prompt in x -> (y [B], log pi_base(y|x) [B])."""
    y = draw_from_rows(key, jnp.exp(logp), x)
    return y, logp[x, y]


def _live(n, n_cap):
    return (jnp.arange(n_cap) < n).astype(jnp.float64)


@partial(aot.jit, static_argnames=("n_cap",))
def bon_draws_core(key, logp, log_mu, n, N, n_cap, law=None):
    """SFT data through the exact best-of-N shortcut (SPEC 5.1, decision D1).

    x_i ~ mu, y_i ~ pi^BoN_N(.|x_i) drawn from :func:`sharpsim.core.bon_law`, with N
    queries charged per live prompt (queries = n N). Same law as
    :func:`bon_draws_literal_core` (tested). Returns :class:`Draws`.

    ``law``: float64 [X, Y], ``core.bon_law(logp, N)`` when the caller has it already (the engine
    computes it once per problem and N on the host, :func:`sharpsim.core.bon_law_numpy`, the same
    bits), so that a vmapped program of trials does not compile the law's sorts; None: computed here.
    """
    k1, k2 = jax.random.split(key)
    x = prompts_core(k1, log_mu, n_cap)
    if law is None:
        law = core.bon_law(logp, N)
    y = draw_from_rows(k2, law, x)
    w = _live(n, n_cap)
    draws = (w * N).astype(jnp.int64)
    return Draws(x, y, logp[x, y], w, jnp.sum(draws), draws)


@partial(aot.jit, static_argnames=("n_cap",))
def bon_hits_core(key, log_mu, bounds, n, N, n_cap):
    """:func:`bon_draws_core`'s draws, revealed only as which of K marked columns each one hit.

    The same keys, prompts and uniforms as :func:`bon_draws_core` (so the same draws): x_i ~ mu by
    inverse CDF, then the best-of-N outcome y_i = draw_from_rows's index for v_i = u_i total(x_i);
    instead of searching for y_i, hits[i, k] = 1{lo_k(x_i) <= v_i < hi_k(x_i)} = 1{y_i = c_k(x_i)}
    for the columns c_k whose exact preimages :func:`search_preimages` computed from the table's
    best-of-N law (one gather per draw instead of a binary search). For learners that only need
    counts on given columns (the engine's tabular fast path: the evaluator marks y*(x)). Charges N
    queries per live prompt, as :func:`bon_draws_core`.

    bounds: float64 [X, 1 + 2K], per prompt (total, lo_1, hi_1, ..., lo_K, hi_K) (see
    :func:`hits_bounds`). Returns (x int [n_cap], hits bool [n_cap, K], w [n_cap], queries int64).
    The live draws do not depend on n_cap (threefry's bits for a shape (n_cap,) are the same at every
    index whatever n_cap is, with ``jax_threefry_partitionable``, JAX's default; tested), so callers
    that only count hits may pad less than :func:`capacity` does (see :func:`fine_capacity`).
    """
    k1, k2 = jax.random.split(key)
    if log_mu.shape[0] == 1:  # one prompt: prompts_core returns 0 whatever its uniforms, skip them
        x = jnp.zeros((n_cap,), jnp.int32)
    else:
        x = prompts_core(k1, log_mu, n_cap)
    u = jax.random.uniform(k2, (n_cap,), dtype=jnp.float64)
    b = bounds[x]  # one row gather per draw
    v = (u * b[:, 0])[:, None]
    hits = (b[:, 1::2] <= v) & (v < b[:, 2::2])
    w = _live(n, n_cap)
    return x, hits, w, jnp.sum((w * N).astype(jnp.int64))


def hits_bounds(probs, cols, mask=None):
    """The ``bounds`` table of :func:`bon_hits_core`, [R, 1 + 2K] float64 numpy: per row the total
    and the preimage [lo_k, hi_k) of each column cols[r, k] (:func:`search_preimages`); where
    ``mask`` [R, K] is False the column is never reported hit (an empty interval)."""
    total, lo, hi = search_preimages(probs, cols)
    if mask is not None:
        lo, hi = np.where(mask, lo, np.inf), np.where(mask, hi, np.inf)
    out = np.empty((lo.shape[0], 1 + 2 * lo.shape[1]))
    out[:, 0], out[:, 1::2], out[:, 2::2] = total, lo, hi
    return out


def multinomial_tree(key, n, p):
    """c ~ Multinomial(n, p) [X] (float64, integer-valued) by binary splitting: the X categories
    (padded with zeros to 2^L) are halved L = ceil(log2 X) times, and at each level every node's
    count c is split as left ~ Bin(c, p_left / (p_left + p_right)), right = c - left.

    Exact (the multinomial's tree decomposition) with L sequential levels of vectorised binomials,
    instead of the X sequential binomials of ``jax.random.multinomial`` (~1.5x faster here).
    Args: key; n: number of trials (a traced scalar is fine); p: [X] probabilities summing to 1.
    """
    X = p.shape[0]
    L = max(1, (X - 1).bit_length())
    w = jnp.zeros(1 << L).at[:X].set(p)
    sums = [w]
    for _ in range(L):
        w = w.reshape(-1, 2).sum(axis=1)
        sums.append(w)
    c = jnp.reshape(jnp.asarray(n, jnp.float64), (1,))
    for level, k in enumerate(jax.random.split(key, L)):
        pair = sums[L - 1 - level].reshape(-1, 2)
        tot = pair[:, 0] + pair[:, 1]
        q = jnp.clip(jnp.where(tot > 0, pair[:, 0] / jnp.where(tot > 0, tot, 1.0), 0.0), 0.0, 1.0)
        left = jax.random.binomial(k, c, q)
        c = jnp.stack([left, c - left], axis=1).reshape(-1)
    return c[:X]


def bon_column_counts_core(key, mu, law_a, law_b, two, n):
    """Counts of n best-of-N outcomes in at most two marked columns per prompt, from their exact
    multinomial law (the oracle's counts shortcut, DESIGN.md; charge n N queries).

    With x_i ~ mu and y_i ~ pi^BoN_N(.|x_i) i.i.d. (i = 1..n), the per-prompt counts
    c(x) = #{i : x_i = x}, c_a(x) = #{i : x_i = x, y_i = a(x)}, c_b(x) = #{i : x_i = x, y_i = b(x)}
    have the law
        c ~ Multinomial(n, mu),   c_a | c ~ Bin(c, q_a),   c_b | c, c_a ~ Bin(c - c_a, q_b / (1 - q_a))
    with q_a(x) = pi^BoN_N(a(x)|x) = ``law_a`` and q_b = ``law_b`` (used where ``two``; a column b(x)
    distinct from a(x)). This is the marginal of the full count table [X, Y] of :func:`bon_draws_core`
    on the columns (a, b): the same distribution, drawn in O(X) instead of O(n log(X Y)), with
    other bits. Args: key; mu, law_a, law_b [X] float; two [X] bool; n: number of prompts (a traced
    scalar is fine). Returns float64 (c, c_a, c_b), each [X], integer-valued.
    """
    k1, k2, k3 = jax.random.split(key, 3)
    c = multinomial_tree(k1, n, mu)
    ca = jax.random.binomial(k2, c, law_a)
    rest = 1.0 - law_a
    cond = jnp.where(two & (rest > 0), jnp.clip(law_b / jnp.where(rest > 0, rest, 1.0), 0.0, 1.0), 0.0)
    cb = jnp.where(two, jax.random.binomial(k3, c - ca, cond), 0.0)
    return c, ca, cb


@partial(aot.jit, static_argnames=("n_cap", "N"))
def bon_draws_literal_core(key, logp, log_mu, n, N, n_cap):
    """SFT data drawn literally: N responses per prompt, keep the most likely (uniform tie-break).

    The literal twin of :func:`bon_draws_core` (N is static here: it fixes a shape).
    """
    k1, k2 = jax.random.split(key)
    x = prompts_core(k1, log_mu, n_cap)
    y, _ = best_of_n_table_core(k2, logp, x, jnp.zeros(N))
    w = _live(n, n_cap)
    draws = (w * N).astype(jnp.int64)
    return Draws(x, y, logp[x, y], w, jnp.sum(draws), draws)


def _adaptive_one(key, lp_row, cdf, log_mu_stop, max_draws):
    """Draw until k * max_{j<=k} p(y_j) >= mu_stop (Eq. 10); keep the most likely draw -> (y, k).

    The one implementation is :func:`sharpsim.sampling.adaptive_one` (tie-tolerant stopping test).
    """
    y, k, _ = adaptive_one(key, lp_row, cdf, log_mu_stop, max_draws)
    return y, k


def adaptive_lane_inputs(key, log_mu, n, mu_stop, n_cap):
    """What :func:`adaptive_draws_core` draws before its loop: prompts x int [n_cap] ~ mu, one key per
    prompt slot [n_cap], the live weights w [n_cap] and log mu_stop per slot (-inf on padding: one
    draw, charged nothing). Shared with the engine's chunk (:func:`adaptive_lanes`), the same keys."""
    k1, k2 = jax.random.split(key)
    x = prompts_core(k1, log_mu, n_cap)
    w = _live(n, n_cap)
    return x, jax.random.split(k2, n_cap), w, jnp.where(w > 0, jnp.log(mu_stop), -jnp.inf)


@partial(aot.jit, static_argnames=("n_cap",))
def adaptive_draws_core(key, logp, log_mu, n, mu_stop, max_draws, n_cap):
    """Adaptive SFT data (SPEC 5.5): per live prompt draw until Eq. (10) stops, keep the best.

    N_mu(x) = inf{ k : 1 / max_{j<=k} pi_base(y_j|x) <= k / mu_stop }. ``mu_stop`` is the
    paper's mu (decision D8). Padding prompts draw once and are charged nothing.
    queries = sum of N_mu over live prompts (random). Returns :class:`Draws`.
    """
    x, keys, w, log_stop = adaptive_lane_inputs(key, log_mu, n, mu_stop, n_cap)
    cdf = jnp.cumsum(jnp.exp(logp), axis=-1)
    y, k = jax.vmap(lambda kk, xx, ls: _adaptive_one(kk, logp[xx], cdf[xx], ls, max_draws))(keys, x, log_stop)
    return adaptive_lane_draws(logp, x, y, k, w)


def adaptive_lane_draws(logp, x, y, k, w):
    """:class:`Draws` of :func:`adaptive_draws_core` from its slots' prompts x, kept responses y,
    draw counts k and live weights w [n_cap]: padding slots are charged nothing (shared with the
    engine's chunk, which draws the slots through :func:`adaptive_lanes`)."""
    draws = jnp.where(w > 0, k, 0).astype(jnp.int64)
    return Draws(x, y, logp[x, y], w, jnp.sum(draws), draws)


ADAPTIVE_FIRST_DRAWS = 16
""":func:`adaptive_lanes`: every lane first draws up to this many times (in batches of lanes)."""
ADAPTIVE_COMPACT = 4
""":func:`adaptive_lanes` runs batches of L / ADAPTIVE_COMPACT lanes (L: all lanes)."""


def _first_lanes(eligible, C):
    """The indices of the first C lanes in the stable order (eligible lanes first), int [C]: the
    first C entries of ``jnp.argsort(~eligible, stable=True)``, by two running counts and a scatter
    (O(L); a sort of the L lanes costs more)."""
    L = eligible.shape[0]
    e = eligible.astype(jnp.int64)
    pos = jnp.where(eligible, jnp.cumsum(e) - 1, jnp.sum(e) + jnp.cumsum(1 - e) - 1)
    return jnp.zeros(L, jnp.int64).at[pos].set(jnp.arange(L, dtype=jnp.int64), unique_indices=True)[:C]


def adaptive_lanes(keys, logp, cdf, x, log_stop, max_draws):
    """:func:`adaptive_one` on L lanes (one key, prompt and log mu_stop each) -> (y int32 [L], k int64 [L]).

    A vmapped while loop draws on every lane until the last lane stops, so a few slow lanes (the hard
    prompts, a geometric tail of draws) keep all L lanes iterating. Here an outer loop runs one batch
    of C = L / :data:`ADAPTIVE_COMPACT` lanes at a time (gathered, then written back), the first lanes
    that are still drawing: while some lane is still drawing with fewer than
    :data:`ADAPTIVE_FIRST_DRAWS` draws, the batch is such lanes and draws up to that many times;
    afterwards the batch is the lanes still drawing and draws until they stop. Most lanes stop within
    the first draws, so the long tail runs on C lanes, never on all L; a batch never costs more lane
    steps than the same draws on all lanes. Each lane goes through the same states as in one loop (the
    same draws, the same bits; tested), and the program holds one copy of the draw (compile time).
    Not for use under ``vmap`` (its loops would run every lane).
    """
    L = x.shape[0]
    C = max(1, L // ADAPTIVE_COMPACT)

    def going(state):
        return jax.vmap(lambda st, lsx: adaptive_going(st, lsx, max_draws))(state, log_stop)

    def batch(state):
        g = going(state)
        early = g & (state[0] < ADAPTIVE_FIRST_DRAWS)
        first = jnp.any(early)
        lim = jnp.where(first, ADAPTIVE_FIRST_DRAWS, jnp.iinfo(jnp.int64).max)
        idx = _first_lanes(jnp.where(first, early, g), C)

        def one(st, xx, lsx):
            row, c = logp[xx], cdf[xx]
            return jax.lax.while_loop(lambda s: adaptive_going(s, lsx, max_draws) & (s[0] < lim),
                                      lambda s: adaptive_step(s, row, c), st)

        sub = jax.vmap(one)(jax.tree.map(lambda a: a[idx], state), x[idx], log_stop[idx])
        return jax.tree.map(lambda a, b: a.at[idx].set(b, unique_indices=True), state, sub)

    state = jax.lax.while_loop(lambda st: jnp.any(going(st)), batch, jax.vmap(adaptive_init)(keys))
    return state[2], state[0]


@partial(aot.jit, static_argnames=("n_cap",))
def pair_draws_core(key, logp, log_mu, n, n_cap):
    """DPO data (SPEC 6.2): x ~ mu and two independent y, y' ~ pi_base(.|x) per prompt.

    Returns :class:`Pairs` (queries = 2 n).
    """
    k1, k2, k3 = jax.random.split(key, 3)
    x = prompts_core(k1, log_mu, n_cap)
    p = jnp.exp(logp)
    y = draw_from_rows(k2, p, x)
    y2 = draw_from_rows(k3, p, x)
    w = _live(n, n_cap)
    return Pairs(x, y, y2, logp[x, y], logp[x, y2], w, (2 * jnp.sum(w)).astype(jnp.int64))


@aot.jit
def _bon_shortcut_rows(key, law, x):
    """One best-of-N outcome per prompt in x, drawn from the law's rows (inverse CDF) -> int [B]."""
    return draw_from_rows(key, law, x)


@aot.jit
def _adaptive_rows(key, logp, x, mu_stop, max_draws):
    keys = jax.random.split(key, x.shape[0])
    cdf = jnp.cumsum(jnp.exp(logp), axis=-1)
    return jax.vmap(lambda kk, xx: _adaptive_one(kk, logp[xx], cdf[xx], jnp.log(mu_stop), max_draws))(keys, x)


# --------------------------------------------------------------------------- the object


class Oracle:
    """Counting sample-and-evaluate access to a base model (SPEC 3.5).

    The table is held privately; the public methods reveal only drawn prompts, drawn
    responses and their log-likelihoods (plus log-likelihoods at arbitrary responses
    through :meth:`evaluate`, the extended access of XPO, counted separately).

    Counters: ``queries`` (sample-and-evaluate queries, the m of the theory),
    ``extended_queries`` (evaluations at responses not drawn from pi_base, decision D7),
    ``prompts`` (prompts drawn).

    Args:
      base: [X, Y] table or sharpsim model. mu: [X] prompt distribution (None: the
        model's own, else uniform).

    >>> import jax, sharpsim
    >>> o = Oracle([[0.5, 0.5], [0.9, 0.1]])
    >>> x = o.sample_prompts(jax.random.key(0), 3); y, lp = o.sample(jax.random.key(1), x)
    >>> (o.prompts, o.queries, o.extended_queries)
    (3, 3, 0)
    """

    def __init__(self, base, mu=None):
        # the oracle's own read-only copy of the table, which its device array shares (one buffer):
        # the public methods gather log pi_base(y|x) from it in numpy, not with eager JAX indexing
        # (which builds a handful of XLA programs for every batch shape)
        lt = np.array(log_table_of(base, "base"), dtype=np.float64)
        lt.flags.writeable = False
        self._logp_host = lt
        self._bon_law = (None, None)  # (N, best-of-N law of the table at N) of best_of_n's last shortcut
        self._logp = jax.device_put(lt, may_alias=True)
        mu = mu_of(mu, base, self._logp.shape[0])
        with np.errstate(divide="ignore"):
            self._log_mu = core.to_device(np.log(mu))
        self.reset()

    # sizes are public: the learner knows X and Y
    @property
    def X(self) -> int:
        return int(self._logp.shape[0])

    @property
    def Y(self) -> int:
        return int(self._logp.shape[1])

    def reset(self) -> None:
        """Zero the counters."""
        self.queries = 0
        self.extended_queries = 0
        self.prompts = 0

    def counts(self) -> dict:
        return {"queries": self.queries, "extended_queries": self.extended_queries, "prompts": self.prompts}

    # -- basic access -------------------------------------------------------------
    def _check_x(self, x):
        x = np.atleast_1d(np.asarray(x))
        if not np.issubdtype(x.dtype, np.integer) or x.ndim != 1:
            raise TypeError("x must be a 1-D integer array of prompt indices")
        if (x < 0).any() or (x >= self.X).any():
            raise ValueError(f"prompt indices x must lie in [0, {self.X})")
        return core.to_device(x.astype(np.int32))  # converted in numpy: jnp.asarray(x, int32) is an XLA program

    def sample_prompts(self, key, n: int) -> np.ndarray:
        """n prompts x ~ mu, int [n]."""
        n = check_int(n, "n")
        self.prompts += n
        return np.asarray(prompts_core(key, self._log_mu, capacity(n)))[:n]

    def sample(self, key, x, num: int = 1):
        """``num`` draws y ~ pi_base(.|x) per prompt -> (y int [B, num], log pi_base(y|x) [B, num])."""
        num = check_int(num, "num")
        x = self._check_x(x)
        xs = core.to_device(np.repeat(np.asarray(x), num))
        y, lp = sample_rows_core(key, self._logp, xs)
        self.queries += int(xs.shape[0])
        B = int(x.shape[0])
        return np.asarray(y).reshape(B, num), np.asarray(lp).reshape(B, num)

    def best_of_n(self, key, x, N: int, shortcut: bool = True):
        """Best-of-N per prompt (SPEC 5.4), N queries charged per prompt -> (y [B], log pi_base(y|x) [B]).

        shortcut=True draws the outcome from :func:`sharpsim.bon_law`; False draws N
        responses and keeps the most likely (uniform tie-break). Same law (tested).
        """
        N = check_int(N, "N")
        x = self._check_x(x)
        if shortcut:
            if self._bon_law[0] != N:  # the table's law at N (host path, the bits of core.bon_law), kept for
                # the next calls at this N
                self._bon_law = (N, core.to_device(core.bon_law_numpy(self._logp_host, float(N))))
            y = _bon_shortcut_rows(key, self._bon_law[1], x)
        else:
            y, _ = best_of_n_table_core(key, self._logp, x, jnp.zeros(N))
        self.queries += N * int(x.shape[0])
        return np.asarray(y), self._logp_host[np.asarray(x), np.asarray(y)]

    def adaptive(self, key, x, mu_stop: float, max_draws: int = MAX_DRAWS):
        """Adaptive best-of-N with Eq. (10) -> (y [B], log pi_base(y|x) [B], draws [B]); charges sum(draws)."""
        mu_stop = check_positive(mu_stop, "mu_stop")
        x = self._check_x(x)
        y, k = _adaptive_rows(key, self._logp, x, mu_stop, max_draws)
        k = np.asarray(k)
        self.queries += int(k.sum())
        return np.asarray(y), self._logp_host[np.asarray(x), np.asarray(y)], k

    def evaluate(self, x, y) -> np.ndarray:
        """log pi_base(y|x) at arbitrary (x, y): XPO's extended access (footnote 7), counted in
        ``extended_queries`` (decision D7), not in ``queries``."""
        x = self._check_x(x)
        y = np.atleast_1d(np.asarray(y))
        if y.shape != tuple(x.shape) or not np.issubdtype(y.dtype, np.integer):
            raise ValueError("y must be integer response indices with the same shape as x")
        if (y < 0).any() or (y >= self.Y).any():
            raise ValueError(f"response indices y must lie in [0, {self.Y})")
        self.extended_queries += int(x.shape[0])
        return self._logp_host[np.asarray(x), y]

    # -- learners' trial cores ---------------------------------------------------------
    def run(self, core, key, *args, **kwargs):
        """Run a learner's pure trial core on the held table and charge what it reports.

        ``core(key, logp, log_mu, *args, **kwargs)`` must touch ``logp`` only through the oracle
        cores of this module and return a :class:`sharpsim.algorithms.result.Trial`; its
        ``queries``, ``extended`` and ``prompts`` are added to the counters. This is how the
        oracle-facing learners and the vmapped engine run one implementation per learner
        (:mod:`sharpsim.algorithms`)."""
        out = core(key, self._logp, self._log_mu, *args, **kwargs)
        self.queries += int(out.queries)
        self.extended_queries += int(out.extended)
        self.prompts += int(out.prompts)
        return out

    # -- batched data sets (the same cores the engine vmaps) ------------------------
    def sft_data(self, key, n: int, N: int, shortcut: bool = True) -> Draws:
        """n prompts, best-of-N on each (SPEC 5.1): :class:`Draws` with queries = n N."""
        n, N = check_int(n, "n"), check_int(N, "N")
        if shortcut:
            d = bon_draws_core(key, self._logp, self._log_mu, n, float(N), capacity(n))
        else:
            d = bon_draws_literal_core(key, self._logp, self._log_mu, n, N, capacity(n))
        self.prompts += n
        self.queries += int(d.queries)
        return d

    def adaptive_data(self, key, n: int, mu_stop: float, max_draws: int = MAX_DRAWS) -> Draws:
        """n prompts, adaptive best-of-N with Eq. (10) on each (SPEC 5.5)."""
        n = check_int(n, "n")
        mu_stop = check_positive(mu_stop, "mu_stop")
        d = adaptive_draws_core(key, self._logp, self._log_mu, n, mu_stop, max_draws, capacity(n))
        self.prompts += n
        self.queries += int(d.queries)
        return d

    def pair_data(self, key, n: int):
        """n prompts with two base draws each (DPO, SPEC 6.2): :class:`Pairs`."""
        n = check_int(n, "n")
        out = pair_draws_core(key, self._logp, self._log_mu, n, capacity(n))
        self.prompts += n
        self.queries += int(out[-1])
        return out

    def __repr__(self) -> str:
        return f"Oracle(X={self.X}, Y={self.Y}, queries={self.queries}, extended={self.extended_queries})"
