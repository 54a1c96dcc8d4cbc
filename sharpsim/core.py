"""Computational cores of the sharpening quantities (jit- and vmap-friendly).

These functions take *log-probability* tables ``logp`` of shape ``[X, Y]``
(``-inf`` for zero-probability responses) and prompt weights ``mu`` of shape
``[X]``. They do **no** input validation: the public wrappers in
:mod:`sharpsim.quantities` validate and then call them. Learners and
experiments call the cores directly inside ``jax.jit`` / ``jax.vmap``.

Working in log space keeps argmax sets and coverage exact for autoregressive
models whose sequence probabilities underflow ``exp`` (e.g. 1e-300 and below).
Zero probabilities never produce NaN: every ``0 * log 0`` and ``-inf - -inf``
is masked explicitly.

References are to ``shared/SPEC.md`` (sharpsim's specification of Huang et al.,
"Self-Improvement in Language Models: The Sharpening Mechanism", arXiv 2412.01951).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.special import logsumexp

NEG_INF = -jnp.inf

TIE_RTOL = 1e-12
"""Relative tolerance (in log space) under which two log-probabilities count as tied.

Sequence log-probabilities that are equal in exact arithmetic (e.g. 0.5*0.6*0.7 and
0.5*0.7*0.6) can differ in the last bits when the per-token logs are summed in a
different order. Argmax sets, the best-of-N levels and the samplers' tie-breaking
therefore treat log p and log p' as tied when |log p - log p'| <= TIE_RTOL * (1 + |log p|),
i.e. a relative difference of about 1e-12 (|log p| = 700 still gives 7e-10).
"""


def tie_tol(logv):
    """Absolute log-space tie tolerance at level ``logv`` (0 where ``logv`` is -inf)."""
    return TIE_RTOL * (1.0 + jnp.where(jnp.isfinite(logv), jnp.abs(logv), 0.0))


# --------------------------------------------------------------------------- fast exact sorting
# XLA:CPU sorts float64 (and every multi-operand sort, e.g. argsort) through a generic
# comparator callback, ~10x slower than numpy.sort on rows of 1000; a single-operand int64
# sort takes its fast path. The helpers below get an exact, stable argsort of a float64 row
# from two single-operand int64 sorts (benchmarks/RESULTS.md, bon_law).

_LOW63 = 0x7FFFFFFFFFFFFFFF

MAX_FAST_ARGSORT = 2**20
"""Largest row length handled by :func:`argsort_rows` with two int64 sorts (3*20+1 bits fit in an
int64 key); longer rows fall back to ``jnp.argsort(stable=True)`` (same result, slower)."""


def order_key(lp):
    """Order-preserving bijection float64 -> int64 on NaN-free input (-0.0 is mapped as +0.0).

    The IEEE-754 bit pattern read as a signed integer increases on [+0, +inf] and decreases on
    [-inf, -0]; flipping the 63 low bits of the negative ones makes it increasing everywhere:
    ``a < b  <=>  order_key(a) < order_key(b)``.
    """
    i = jax.lax.bitcast_convert_type(lp, jnp.int64)
    i = jnp.where(i == jnp.iinfo(jnp.int64).min, 0, i)  # -0.0 -> +0.0 (XLA folds lp + 0.0 to lp)
    return jnp.where(i < 0, i ^ jnp.int64(_LOW63), i)


def _cummax(v):
    """Running maximum of a row [Y] (== ``jax.lax.cummax``; exact, so any order gives the same result).

    A log-depth associative scan: XLA:CPU lowers ``lax.cummax`` / ``cummin`` to a reduce-window
    that costs several times a sort on rows of 10^3-10^6 (benchmarks/RESULTS.md, bon_law).
    """
    return jax.lax.associative_scan(jnp.maximum, v)


def _cummin_reverse(v):
    """Running minimum from the right of a row [Y] (== ``jax.lax.cummin(v, reverse=True)``)."""
    return jax.lax.associative_scan(jnp.minimum, v, reverse=True)


def argsort_rows(lp):
    """Exact stable ascending argsort of a float64 row [Y] (== ``jnp.argsort(lp, stable=True)``).

    For Y <= :data:`MAX_FAST_ARGSORT`: let u be :func:`order_key` as an unsigned 64-bit key and
    b the bits of Y, s = b + 1. Pass 1 sorts ``(u >> s) << b | index`` (one int64): exact order of
    the high 63 - b bits, ties by index. Pass 2 sorts ``block start | low s bits | pass-1 position``
    (3b + 1 <= 61 bits), which orders each block of equal high bits by its low bits, so the result
    is ordered by the full key with equal values in index order.
    """
    Y = lp.shape[0]
    if Y > MAX_FAST_ARGSORT:
        return jnp.argsort(lp, stable=True)
    b = max(1, (Y - 1).bit_length())
    s = b + 1
    u = jax.lax.bitcast_convert_type(order_key(lp), jnp.uint64) ^ jnp.uint64(1 << 63)
    idx = jnp.arange(Y, dtype=jnp.int64)
    hi = (u >> jnp.uint64(s)).astype(jnp.int64)  # 63 - b bits
    p1 = jax.lax.sort((hi << b) | idx, is_stable=False)
    perm1 = p1 & ((1 << b) - 1)
    hi_sorted = p1 >> b
    new_block = jnp.concatenate([jnp.ones(1, dtype=bool), hi_sorted[1:] != hi_sorted[:-1]])
    block = _cummax(jnp.where(new_block, idx, 0))
    lo = (u[perm1] & jnp.uint64((1 << s) - 1)).astype(jnp.int64)
    p2 = jax.lax.sort((block << (s + b)) | (lo << b) | idx, is_stable=False)
    return perm1[p2 & ((1 << b) - 1)]


def tie_groups_sorted(asc):
    """Tie groups of an ascending row [Y]: (start [Y], end [Y]) per sorted position.

    A new group starts where the gap to the previous value exceeds :func:`tie_tol` (``-inf``
    entries are singletons). ``start[i]`` / ``end[i]`` are the numbers of entries strictly below /
    at or below position i's level.
    """
    Y = asc.shape[0]
    gap = jnp.diff(asc)
    brk = jnp.concatenate([jnp.ones(1, dtype=bool), ~(gap <= tie_tol(asc[1:]))])
    idx = jnp.arange(Y)
    start = _cummax(jnp.where(brk, idx, 0))
    brk_next = jnp.concatenate([brk[1:], jnp.ones(1, dtype=bool)])
    end = _cummin_reverse(jnp.where(brk_next, idx + 1, Y))
    return start, end


def snap_ties(lp):
    """Replace each log-probability of a row [Y] by the largest value of its tie group.

    Tie groups are maximal runs of the sorted row whose consecutive gaps are at most
    :func:`tie_tol`; ``-inf`` entries stay ``-inf``. Exact ties are unchanged.
    """
    order = argsort_rows(lp)
    asc = lp[order]
    _, end = tie_groups_sorted(asc)
    snapped_asc = jnp.where(jnp.isneginf(asc), NEG_INF, asc[end - 1])
    return jnp.zeros_like(lp).at[order].set(snapped_asc, unique_indices=True)


def _mu_mean(mu, vals):
    """sum_x mu(x) vals(x) over prompts with mu(x) > 0 (so 0 * inf never makes NaN)."""
    return jnp.sum(jnp.where(mu > 0, mu * jnp.where(mu > 0, vals, 0.0), 0.0))


def _masked_lse(logv, mask, axis=-1):
    """log sum_{mask} exp(logv) (``-inf`` when the mask is empty)."""
    return logsumexp(jnp.where(mask, logv, NEG_INF), axis=axis)


# --------------------------------------------------------------------------- argmax sets


@jax.jit
def argmax_set(logp, gamma=0.0):
    """y*_gamma(x) = {y : p(y|x) >= (1-gamma) max_y' p(y'|x)}  (SPEC 3.1, 3.3).  bool [X, Y].

    Compared in log space with the tie tolerance :data:`TIE_RTOL` (relative ~1e-12), so
    responses tied in exact arithmetic but not bitwise (summation order) are all kept.
    """
    mx = jnp.max(logp, axis=-1, keepdims=True)
    thr = mx + jnp.log1p(-gamma)
    return logp >= thr - tie_tol(thr)


@jax.jit
def log_argmax_mass(logq, logp, gamma=0.0):
    """log policy(y*_gamma(x) | x) with the argmax set taken from ``logp``.  [X]."""
    return _masked_lse(logq, argmax_set(logp, gamma))


@jax.jit
def coverage(logp, mu, gamma=0.0, p=1.0):
    """C_cov,gamma,p = (E_mu[ p_base(y*_gamma(x)|x)^(-p) ])^(1/p)  (SPEC Eq. 6, 3.3), in log space."""
    lm = log_argmax_mass(logp, logp, gamma)
    logmu = jnp.where(mu > 0, jnp.log(jnp.where(mu > 0, mu, 1.0)), NEG_INF)
    return jnp.exp(logsumexp(logmu - p * lm) / p)


@jax.jit
def adaptive_coverage(logp, mu):
    """C-bar_cov = E_mu[ 1 / max_y p(y|x) ]  (SPEC 3.4, Appendix D)."""
    logmu = jnp.where(mu > 0, jnp.log(jnp.where(mu > 0, mu, 1.0)), NEG_INF)
    return jnp.exp(logsumexp(logmu - jnp.max(logp, axis=-1)))


@jax.jit
def margin_per_prompt(logp, gamma=0.0):
    """Largest gamma_margin per prompt (SPEC 3.6, Assumption 4.2 / J.2).  [X].

    gamma == 0:  max_y p / max_{y' not in y*} p(y') - 1            (Assumption 4.2)
    gamma > 0 :  p(y*_gamma) / max_{y' not in y*_gamma} p(y') - 1  (Assumption J.2)
    ``inf`` when no response outside the argmax set has positive probability.
    """
    mask = argmax_set(logp, gamma)
    top = jnp.where(gamma == 0.0, jnp.max(logp, axis=-1), _masked_lse(logp, mask))
    runner = jnp.max(jnp.where(mask, NEG_INF, logp), axis=-1)
    diff = jnp.where(jnp.isneginf(runner), jnp.inf, top - jnp.where(jnp.isneginf(runner), 0.0, runner))
    return jnp.expm1(diff)


@jax.jit
def margin(logp, mu, gamma=0.0):
    """min over prompts with mu > 0 of :func:`margin_per_prompt`."""
    return jnp.min(jnp.where(mu > 0, margin_per_prompt(logp, gamma), jnp.inf))


@jax.jit
def sharpness_error(logq, logp, delta, mu, gamma=0.0, strict=True):
    """P_{x~mu}[ q(y*_gamma(x)|x) < 1 - delta ]  (Definition 3.1; ``<=`` when ``strict`` is False)."""
    mass = jnp.exp(log_argmax_mass(logq, logp, gamma))
    fail = jnp.where(strict, mass < 1.0 - delta, mass <= 1.0 - delta)
    return jnp.sum(jnp.where(fail, mu, 0.0))


# --------------------------------------------------------------------------- best-of-N law


def _bon_row(lp, N):
    Y = lp.shape[0]
    # one exact stable argsort; levels are the tie groups (TIE_RTOL) of the sorted row, and the
    # masses use the original values (the k smallest in the sorted order)
    order = argsort_rows(lp)
    asc = lp[order]
    n_lt, n_le = tie_groups_sorted(asc)  # per sorted position: #below, #at-or-below its level
    p_asc = jnp.exp(asc)
    A = jnp.concatenate([jnp.zeros(1), jnp.cumsum(p_asc)])  # A[k]: sum of the k smallest
    D = jnp.concatenate([jnp.zeros(1), jnp.cumsum(p_asc[::-1])])  # D[k]: sum of the k largest
    total = D[Y]
    # log S over the k smallest, for every boundary k = 0..Y, each from whichever side is
    # accurate (t: mass of the Y - k largest, s: mass of the k smallest); the levels then read
    # log S_<=(v) = logS[n_le], log S_<(v) = logS[n_lt] (2 logs per boundary, not 4 per entry)
    k = jnp.arange(Y + 1)
    t = D[Y - k] / total
    s = A / total
    logS = jnp.where(t < 0.5, jnp.log1p(-jnp.minimum(t, 1.0)), jnp.log(s))
    log_s_le = logS[n_le]
    log_s_lt = logS[n_lt]
    a = N * log_s_le
    b = N * log_s_lt
    safe_a = jnp.where(jnp.isneginf(a), 0.0, a)
    level = jnp.where(jnp.isneginf(a), 0.0, jnp.exp(a) * -jnp.expm1(jnp.minimum(b - safe_a, 0.0)))
    size = (n_le - n_lt).astype(lp.dtype)
    law_asc = jnp.where(jnp.isneginf(asc), 0.0, level / size)
    return jnp.zeros_like(lp).at[order].set(law_asc, unique_indices=True)


@jax.jit
def bon_law(logp, N):
    """Exact law of best-of-N with self-reward log p, uniform tie-breaking (SPEC 9 item 1, F1).

    The output lies in the level set {p = v} with probability S_<=(v)^N - S_<(v)^N
    (S_<=(v) = sum_{p(y)<=v} p(y)), split equally within the level set.  [X, Y].
    Levels are tie groups up to :data:`TIE_RTOL` (see :func:`snap_ties`).
    Computed as exp(a) * (-expm1(b - a)) with a = N log S_<=, b = N log S_<, each
    log taken from the tail that avoids cancellation.
    """
    return jax.vmap(_bon_row, in_axes=(0, None))(logp, N)


# --------------------------------------------------------------------------- RLHF objects


@jax.jit
def tilted(logp, beta):
    """log pi*_beta with pi*_beta proportional to p^(1 + 1/beta)  (SPEC 6.1, F13).  [X, Y] (log)."""
    lt = (1.0 + 1.0 / beta) * logp
    return lt - logsumexp(lt, axis=-1, keepdims=True)


@jax.jit
def tilted_stable(logp, beta):
    """log pi*_beta for any beta > 0, normalised in every row, in log space (SPEC 6.1, F13).  [X, Y].

    With s = :func:`snap_ties` (logp) and d = s - max_y s (<= 0; exactly 0 on the tie-snapped
    argmax set, -inf on zeros): log pi*_beta = a d - logsumexp(a d), a = 1 + 1/beta, where a d is
    taken as 0 wherever d = 0 (so a = inf, i.e. beta below ~1e-308, gives no NaN). The largest
    entries are O(1) and exact, so the row is normalised to a few ulps for every beta; as beta -> 0
    the row tends to the uniform law on the argmax set y*(x) (ties up to :data:`TIE_RTOL`, as in
    :func:`argmax_set`), and for a d below about -745 the entry is an exact log-space value that
    ``exp`` would underflow.

    :func:`tilted` (the plain (1 + 1/beta) logp - logsumexp) is the same to rounding where it is
    accurate; :func:`sharpsim.log_tilted` keeps :func:`tilted`'s bits there and uses this function
    only for rows that :func:`tilted` fails to normalise (NaN / inf, or a row sum off by more than
    ``ROW_SUM_TOL``, e.g. beta = 1e-10 where a logp ~ 7e9 loses its fraction bits).
    """
    snapped = jax.vmap(snap_ties)(logp)
    d = snapped - jnp.max(snapped, axis=-1, keepdims=True)
    a = 1.0 + 1.0 / beta
    lt = jnp.where(d == 0.0, 0.0, a * d)
    return lt - logsumexp(lt, axis=-1, keepdims=True)


@jax.jit
def concentrability(logq, logr, mu, beta=1.0):
    """C_{q/r;beta} = E_{x~mu, y~q}[ (q(y|x)/r(y|x))^beta ]  (SPEC Eq. 9).

    With r = pi_base and beta = 1 this is C_pi = E_mu sum_y q^2 / pi_base.
    ``inf`` when q puts mass where r has none.
    """
    live = ~jnp.isneginf(logq)
    diff = jnp.where(live, logq - jnp.where(live, logr, 0.0), 0.0)
    terms = jnp.where(live, jnp.exp(logq + beta * diff), 0.0)
    return _mu_mean(mu, jnp.sum(terms, axis=-1))


@jax.jit
def kl_per_prompt(logq, logr):
    """KL(q(.|x) || r(.|x)) per prompt, 0 log 0 = 0.  [X]."""
    live = ~jnp.isneginf(logq)
    diff = jnp.where(live, logq - jnp.where(live, logr, 0.0), 0.0)
    return jnp.sum(jnp.where(live, jnp.exp(logq) * diff, 0.0), axis=-1)


@jax.jit
def kl(logq, logr, mu):
    """E_mu KL(q(.|x) || r(.|x))  (natural log)."""
    return _mu_mean(mu, kl_per_prompt(logq, logr))


@jax.jit
def hellinger_sq_per_prompt(logq, logr):
    """Unnormalised squared Hellinger distance sum_y (sqrt q - sqrt r)^2 per prompt, in [0, 2]."""
    return jnp.sum((jnp.exp(0.5 * logq) - jnp.exp(0.5 * logr)) ** 2, axis=-1)


@jax.jit
def hellinger_sq(logq, logr, mu):
    """E_mu D_H^2(q(.|x), r(.|x)), unnormalised (range [0, 2], SPEC 2.2)."""
    return _mu_mean(mu, hellinger_sq_per_prompt(logq, logr))


@jax.jit
def regularized_value(logq, logp, beta, mu):
    """J_beta(q) = E_q[log p] - beta KL(q || p)  (SPEC 6.4, r = log pi_base)."""
    live = ~jnp.isneginf(logq)
    reward = jnp.sum(jnp.where(live, jnp.exp(logq) * jnp.where(live, logp, 0.0), 0.0), axis=-1)
    return _mu_mean(mu, reward) - beta * kl(logq, logp, mu)


@jax.jit
def dpo_residual(logq, logp, beta):
    """Residual of the squared DPO loss, Eq. (8) of the paper (SPEC 6.2).  [X, Y, Y].

    R(x, y, y') = beta log(q(y|x)/p(y|x)) - beta log(q(y'|x)/p(y'|x)) - (log p(y|x) - log p(y'|x)).
    Defined on supp(p) x supp(p) (the only pairs the data can contain); 0 elsewhere and on
    the diagonal y = y'. Where q vanishes on supp(p) the residual is -inf (q(y) = 0),
    +inf (q(y') = 0), and +inf when both vanish (the loss is infinite; never NaN).
    """
    live = ~jnp.isneginf(logp)
    safe_p = jnp.where(live, logp, 0.0)
    qzero = jnp.isneginf(logq)
    safe_q = jnp.where(live & ~qzero, logq, 0.0)
    u = beta * (safe_q - safe_p) - safe_p  # [X, Y], finite
    res = u[:, :, None] - u[:, None, :]
    zy, zy2 = qzero[:, :, None], qzero[:, None, :]
    res = jnp.where(zy & zy2, jnp.inf, jnp.where(zy, -jnp.inf, jnp.where(zy2, jnp.inf, res)))
    Y = logp.shape[-1]
    diag = jnp.eye(Y, dtype=bool)[None, :, :]
    both = live[:, :, None] & live[:, None, :] & ~diag
    return jnp.where(both, res, 0.0)
