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

Why one file of ~650 lines: the best-of-N law has two implementations that must return the same
bits, the jitted :func:`bon_law` and the CPU host path :func:`bon_law_host` (issue 12); the host
path reuses the jitted path's kernels (``_log_S``, ``_bon_level``, :func:`order_key`,
:func:`tie_tol`) and its tie groups, so the reference and its twin stay side by side with the
order-key sort and tie-group helpers that both depend on.
"""

from __future__ import annotations

import functools
import os
import threading

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import logsumexp

from . import aot

NEG_INF = -jnp.inf

TIE_RTOL = 1e-12
"""Relative tolerance (in log space) under which two log-probabilities count as tied.

Sequence log-probabilities that are equal in exact arithmetic (e.g. 0.5*0.6*0.7 and
0.5*0.7*0.6) can differ in the last bits when the per-token logs are summed in a
different order. Argmax sets, the best-of-N levels and the samplers' tie-breaking
therefore treat log p and log p' as tied when |log p - log p'| <= TIE_RTOL * (1 + |log p|),
i.e. a relative difference of about 1e-12 (|log p| = 700 still gives 7e-10).
"""


def to_device(a):
    """A device copy of a host array: the dtype and bits of ``np.asarray(a)``, as ``jnp.asarray``.

    ``jnp.asarray`` of a numpy array traces, lowers and compiles (or fetches from the compilation
    cache) an identity program for every new shape and dtype, about 10 to 30 ms each, which added up
    over the many table shapes of a catalogue run; ``jax.device_put`` builds none. It is handed a
    private numpy copy: on the CPU backend device_put may share the buffer it is given, and even with
    ``may_alias=False`` it copies asynchronously, so a write to the caller's array right after the
    call could reach the device array (seen in the tests). JAX arrays (and tracers) pass through. For
    numpy arrays, not Python scalars (jnp.asarray makes those weakly typed).
    """
    if isinstance(a, jax.Array):
        return a
    return jax.device_put(np.array(a, copy=True))


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
    """Running maximum of a row [Y] (``jax.lax.cummax``; exact, so any order of evaluation gives
    the same result).

    The primitive, not a log-depth ``lax.associative_scan``: with jax 0.10 XLA rewrites its
    reduce-window into a blocked scan, which ran as fast or faster at every row length measured
    (16 to 10^6, in ``bon_law``), and one primitive traces and compiles several times faster than
    the scan's O(log Y) slices (``bon_law`` on [3, 4000]: trace 0.06 s vs 0.19 s, cold compile
    0.46 s vs 1.24 s).
    """
    return jax.lax.cummax(v)


def _cummin_reverse(v):
    """Running minimum from the right of a row [Y] (``jax.lax.cummin(v, reverse=True)``, as :func:`_cummax`)."""
    return jax.lax.cummin(v, reverse=True)


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


@aot.jit
def argmax_set(logp, gamma=0.0):
    """y*_gamma(x) = {y : p(y|x) >= (1-gamma) max_y' p(y'|x)}  (SPEC 3.1, 3.3).  bool [X, Y].

    Compared in log space with the tie tolerance :data:`TIE_RTOL` (relative ~1e-12), so
    responses tied in exact arithmetic but not bitwise (summation order) are all kept.
    """
    mx = jnp.max(logp, axis=-1, keepdims=True)
    thr = mx + jnp.log1p(-gamma)
    return logp >= thr - tie_tol(thr)


@aot.jit
def log_argmax_mass(logq, logp, gamma=0.0):
    """log policy(y*_gamma(x) | x) with the argmax set taken from ``logp``.  [X]."""
    return _masked_lse(logq, argmax_set(logp, gamma))


@aot.jit
def coverage(logp, mu, gamma=0.0, p=1.0):
    """C_cov,gamma,p = (E_mu[ p_base(y*_gamma(x)|x)^(-p) ])^(1/p)  (SPEC Eq. 6, 3.3), in log space."""
    lm = log_argmax_mass(logp, logp, gamma)
    logmu = jnp.where(mu > 0, jnp.log(jnp.where(mu > 0, mu, 1.0)), NEG_INF)
    return jnp.exp(logsumexp(logmu - p * lm) / p)


@aot.jit
def adaptive_coverage(logp, mu):
    """C-bar_cov = E_mu[ 1 / max_y p(y|x) ]  (SPEC 3.4, Appendix D)."""
    logmu = jnp.where(mu > 0, jnp.log(jnp.where(mu > 0, mu, 1.0)), NEG_INF)
    return jnp.exp(logsumexp(logmu - jnp.max(logp, axis=-1)))


@aot.jit
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


@aot.jit
def margin(logp, mu, gamma=0.0):
    """min over prompts with mu > 0 of :func:`margin_per_prompt`."""
    return jnp.min(jnp.where(mu > 0, margin_per_prompt(logp, gamma), jnp.inf))


@aot.jit
def sharpness_error(logq, logp, delta, mu, gamma=0.0, strict=True):
    """P_{x~mu}[ q(y*_gamma(x)|x) < 1 - delta ]  (Definition 3.1; ``<=`` when ``strict`` is False)."""
    mass = jnp.exp(log_argmax_mass(logq, logp, gamma))
    fail = jnp.where(strict, mass < 1.0 - delta, mass <= 1.0 - delta)
    return jnp.sum(jnp.where(fail, mu, 0.0))


# --------------------------------------------------------------------------- best-of-N law


def _bon_level(a, b):
    """Mass S_<=^N - S_<^N of a level from a = N log S_<= and b = N log S_< (any shape, elementwise).

    exp(a) * (-expm1(min(b - a, 0))); 0 where a = -inf.
    """
    safe_a = jnp.where(jnp.isneginf(a), 0.0, a)
    return jnp.where(jnp.isneginf(a), 0.0, jnp.exp(a) * -jnp.expm1(jnp.minimum(b - safe_a, 0.0)))


def _rounded_product(N, logS):
    """N * logS, rounded to float64 before any later use, on every CPU.

    LLVM may contract a product into a following add or subtract (one fused multiply-add, one
    rounding) on CPUs with FMA, and whether it does depends on how XLA fused the kernel, so the
    same formula gave different last bits in :func:`bon_law` and :func:`bon_law_host` (found on
    an AVX2 + FMA EPYC at N = 3; with ``XLA_FLAGS=--xla_cpu_max_isa=AVX`` every path agreed). Adding
    a zero that the compilers cannot see is zero (0 * min(N, 0), N >= 0) makes the later
    subtraction read an addition: the product may be fused into that addition, fma(N, logS, +0) =
    the rounded product, but an addition is never fused into the subtraction. So the result is the
    rounded product in every kernel (a -0.0 product becomes +0.0, in every path alike). An
    ``optimization_barrier`` does not do this: XLA:CPU removes it before fusion.
    """
    return N * logS + 0.0 * jnp.minimum(N, 0.0)


def _log_S(A, D):
    """log S over the k smallest entries for every boundary k = 0..Y of a sorted row ([..., Y + 1]).

    A[..., k]: sum of the k smallest, D[..., k]: sum of the k largest (both from 0). Each log is
    taken from whichever side is accurate (t: mass of the Y - k largest, s: of the k smallest).
    """
    total = D[..., -1:]
    t = D[..., ::-1] / total
    s = A / total
    return jnp.where(t < 0.5, jnp.log1p(-jnp.minimum(t, 1.0)), jnp.log(s))


def _bon_sorted_row(asc, N):
    """Best-of-N law of one ascending row [Y] (ties up to TIE_RTOL), in sorted order."""
    # levels are the tie groups (TIE_RTOL) of the sorted row, and the masses use the original
    # values (the k smallest in the sorted order)
    n_lt, n_le = tie_groups_sorted(asc)  # per sorted position: #below, #at-or-below its level
    p_asc = jnp.exp(asc)
    A = jnp.concatenate([jnp.zeros(1), jnp.cumsum(p_asc)])  # A[k]: sum of the k smallest
    D = jnp.concatenate([jnp.zeros(1), jnp.cumsum(p_asc[::-1])])  # D[k]: sum of the k largest
    # the levels read log S_<=(v) = logS[n_le], log S_<(v) = logS[n_lt] (2 logs per boundary,
    # not 4 per entry)
    NlogS = _rounded_product(N, _log_S(A, D))
    level = _bon_level(NlogS[n_le], NlogS[n_lt])
    size = (n_le - n_lt).astype(asc.dtype)
    return jnp.where(jnp.isneginf(asc), 0.0, level / size)


def _bon_row(lp, N):
    order = argsort_rows(lp)  # one exact stable argsort
    law_asc = _bon_sorted_row(lp[order], N)
    return jnp.zeros_like(lp).at[order].set(law_asc, unique_indices=True)


@aot.jit
def bon_law(logp, N):
    """Exact law of best-of-N with self-reward log p, uniform tie-breaking (SPEC 9 item 1, F1).

    The output lies in the level set {p = v} with probability S_<=(v)^N - S_<(v)^N
    (S_<=(v) = sum_{p(y)<=v} p(y)), split equally within the level set.  [X, Y].
    Levels are tie groups up to :data:`TIE_RTOL` (see :func:`snap_ties`).
    Computed as exp(a) * (-expm1(b - a)) with a = N log S_<=, b = N log S_<, each
    log taken from the tail that avoids cancellation. Jitted and usable inside jit / on any
    backend; on the CPU backend :func:`bon_law_host` returns the same bits faster.
    """
    return jax.vmap(_bon_row, in_axes=(0, None))(logp, N)


bon_law_sorted = aot.jit(jax.vmap(_bon_sorted_row, in_axes=(0, None)), name="sharpsim.core.bon_law_sorted")
"""Best-of-N law of rows already sorted ascending, [X, Y] -> [X, Y] in sorted order (jitted).

``bon_law(lp, N)`` is ``bon_law_sorted(asc, N)`` put back in place, for ``asc`` the rows of ``lp``
sorted by any correct sort: equal values are bitwise equal except -0.0 / +0.0, which every step
treats alike (exp, abs, the tie gaps), so the result does not depend on how ties are ordered.
"""

# ------------------------------------------------ best-of-N law: host path (CPU backend)
# XLA:CPU sorts, gathers and scatters slowly (benchmarks/RESULTS.md, bon_law). bon_law_host
# does the permutation, the two cumulative sums and the tie-group bookkeeping in numpy and keeps
# every transcendental (exp, log, log1p, expm1) and the tie test in XLA, since numpy's
# transcendentals differ in the last bits. Each numpy step is exact (a permutation, integer
# bookkeeping) or repeats XLA's IEEE additions in XLA's order (the cumulative sums); every path
# rounds N log S before the level formula subtracts it (_rounded_product), so no multiply is
# contracted into that subtraction in one path and not in another. The result is bit-identical
# to bon_law (tests/test_bon_law_host_path.py).


HOST_PATH_MIN_SIZE = 1
"""Tables with at least this many entries (every non-empty one) take :func:`bon_law_host` in
``sharpsim.bon_law`` (CPU backend). Same bits as the jitted path; what decides is the cost of a new
table shape, which a catalogue run or a test session meets far more often than a hot loop on one
shape: the jitted :func:`bon_law` (sorts, running extrema, tie groups) compiles in ~0.5 s per shape,
the host path's small XLA kernels in ~0.25 s, and with a warm compilation cache (tracing and
lowering only) ~0.13 s against ~0.07 s (measured on 8 shapes of the catalogue, 2-core EPYC). Once
compiled, the host path is slower only on tiny tables (its fixed cost ~0.3-0.5 ms: four XLA calls,
~100 numpy calls; e.g. 0.32 vs 0.26 ms at [8, 3], 0.55 vs 0.35 ms at [1, 45]) and faster from a
few thousand entries (1.5 vs 2.4 ms at [15, 1024])."""


def bon_law_prefers_host(size: int) -> bool:
    """True when :func:`bon_law_host` is the faster exact path for a table of ``size`` entries: JAX
    computes on the CPU backend and ``size >= HOST_PATH_MIN_SIZE``."""
    return size >= HOST_PATH_MIN_SIZE and jax.default_backend() == "cpu"


_SCAN_BASE = 16
"""Block length of XLA:CPU's cumulative sum (its ReduceWindowRewriter, base length 16)."""

_LOW63_NP = np.int64(_LOW63)


def _scan_blocks(w, n):
    """In place: XLA:CPU's inclusive cumulative sum of the first n entries of each row of w [R, L].

    XLA:CPU rewrites cumsum over a length n > 16 into blocks of 16: a running sum inside each
    block (left to right), then the exclusive running sum of the block totals (the same scheme,
    recursively) added to every entry of the next blocks; n <= 16 is one left-to-right sum. w
    holds zeros beyond n (L = n if n <= 16, else n rounded up to a multiple of 16). Every entry
    is >= 0 here, so the zeros XLA adds (its padding, its first block's prefix) change no bits.
    """
    R, L = w.shape
    if L <= _SCAN_BASE:
        np.cumsum(w, axis=-1, out=w)
        return
    m = L // _SCAN_BASE
    blocks = w.reshape(R, m, _SCAN_BASE)  # a view: w is C-contiguous
    for j in range(1, _SCAN_BASE):
        np.add(blocks[:, :, j - 1], blocks[:, :, j], out=blocks[:, :, j])
    if m > 1:
        mm = m if m <= _SCAN_BASE else -(-m // _SCAN_BASE) * _SCAN_BASE
        totals = np.zeros((R, mm))
        totals[:, :m] = blocks[:, :, -1]
        _scan_blocks(totals, m)
        blocks[:, 1:, :] += totals[:, : m - 1, None]


def cumsum_host(p):
    """XLA:CPU's ``jnp.cumsum(p, axis=-1)`` of a float64 table [R, n] >= 0, in numpy, same bits.

    Returns [R, L] (L >= n; entries beyond n are scratch). Sequential within blocks of 16 (see
    :func:`_scan_blocks`), so not ``np.cumsum``'s order for n > 16.
    """
    R, n = p.shape
    L = n if n <= _SCAN_BASE else -(-n // _SCAN_BASE) * _SCAN_BASE
    w = np.empty((R, L))
    w[:, :n] = p
    w[:, n:] = 0.0
    _scan_blocks(w, n)
    return w


_xla_cumsum = aot.jit(lambda p: jnp.cumsum(p, axis=-1))


@functools.cache
def _cumsum_host_matches_xla() -> bool:
    """Once per process: does :func:`cumsum_host` give XLA:CPU's bits on this jax version?

    Probed on one row length <= 16 and one with 3 block levels (4500 -> 282 -> 18 -> 2 blocks);
    if not, :func:`bon_law_host` takes the cumulative sums from XLA instead (same bits, slower).
    """
    rng = np.random.default_rng(0)
    for shape in ((3, 13), (2, 4500)):
        p = rng.standard_exponential(shape) * np.exp(rng.uniform(-30.0, 0.0, shape))
        n = shape[1]
        if not np.array_equal(cumsum_host(p)[:, :n].view(np.int64), np.asarray(_xla_cumsum(p)).view(np.int64)):
            return False
    return True


def _cumsums(p):
    """(A, D) for sorted probabilities p [X, Y]: running sums of p and of p reversed, [X, >= Y]."""
    if _cumsum_host_matches_xla():
        return cumsum_host(p), cumsum_host(p[:, ::-1])
    return np.asarray(_xla_cumsum(p)), np.asarray(_xla_cumsum(np.ascontiguousarray(p[:, ::-1])))


def sort_rows_host(lp, segments=1):
    """Ascending sort of every row of a NaN-free float64 table [X, Y] and where each entry came from.

    Returns (order, asc): ``order`` int64 [X * Y] flat indices into ``lp``, ``asc =
    lp.ravel()[order].reshape(X, Y)``, each row ascending (equal values in any order). With b the
    bits of Y - 1: one single-operand int64 sort (numpy's fast path) of the order-preserving key
    of :func:`order_key` with its low b bits replaced by the column, so the rows come out ordered
    except inside runs of keys equal above bit b (relative gaps below ~2^(b - 52)); the runs that
    hold a descent are then re-sorted by value (np.lexsort on those entries only). Rows where too
    many entries need that (or b > 32) fall back to ``np.argsort``. With ``segments`` > 1 a single
    row's keys are sorted in that many pieces on threads and then merged (:func:`_sort_keys`).
    """
    X, Y = lp.shape
    b = max(1, (Y - 1).bit_length())
    if b > 32:
        return _sort_rows_argsort(lp)
    mask = (1 << b) - 1
    bits = lp.view(np.int64)
    key = np.right_shift(bits, 63)  # -1 on negative floats, else 0
    key &= _LOW63_NP
    key ^= bits  # order-preserving: flip the 63 low bits of the negative ones
    key &= ~mask
    key |= np.arange(Y, dtype=np.int64)
    _sort_keys(key, segments)
    order = key & mask
    if X > 1:
        order += (np.arange(X, dtype=np.int64) * Y)[:, None]
    order = order.ravel()
    asc = np.take(lp.ravel(), order).reshape(X, Y)
    if Y > 1:
        descent = np.flatnonzero(asc[:, 1:] < asc[:, :-1])  # pair j = (j + j // (Y - 1), +1)
        if descent.size and not _resort_runs(key, asc, order, mask, descent):
            return _sort_rows_argsort(lp)
    return order, asc


def _sort_keys(key, segments=1):
    """In place: sort each row of the int64 keys [X, Y] (numpy's single-operand sort).

    With ``segments`` > 1 and one row, the row is cut into that many contiguous pieces, sorted at
    once on the host threads (``np.ndarray.sort`` releases the GIL; the calling thread takes the
    first piece), then merged by one stable sort (numpy's timsort finds the sorted runs and merges
    them). A row's keys are distinct (their low bits are the column), so this is the array one sort
    gives (tested). Called only outside the host pool's threads (:func:`bon_law_host`'s one-block
    branch): pool threads never submit.
    """
    X, Y = key.shape
    if segments < 2 or X != 1 or Y < 2 * segments:
        key.sort(axis=-1)
        return
    row = key[0]
    cuts = [Y * i // segments for i in range(segments + 1)]
    pool = _get_host_pool()
    futures = [pool.submit(row[cuts[i]:cuts[i + 1]].sort) for i in range(1, segments)]
    row[:cuts[1]].sort()
    for f in futures:
        f.result()
    row.sort(kind="stable")


def _sort_rows_argsort(lp):
    X, Y = lp.shape
    order = np.argsort(lp, axis=-1)
    order += (np.arange(X, dtype=np.int64) * Y)[:, None]
    order = order.ravel()
    return order, np.take(lp.ravel(), order).reshape(X, Y)


def _row_search(flat, row, Y, target, side):
    """np.searchsorted of ``target`` in row ``row`` of a table with sorted rows (flat [X * Y]), as
    flat indices; vectorised binary search over the queries."""
    lo = row * Y
    hi = lo + Y
    for _ in range(max(1, Y.bit_length())):
        mid = (lo + hi) >> 1
        v = flat[np.minimum(mid, flat.size - 1)]
        go = (v <= target if side == "right" else v < target) & (lo < hi)
        lo = np.where(go, mid + 1, lo)
        hi = np.where(go | (lo >= hi), hi, mid)
    return lo


def _resort_runs(key, asc, order, mask, descent) -> bool:
    """In place: sort by value each run of equal high key bits that holds a descent.

    ``descent``: pair indices j in [X, Y - 1] row-major with asc[j + 1] < asc[j] (pair j holds the
    flat entries j + r and j + r + 1, r = j // (Y - 1)); each lies inside a run of keys equal above
    bit b, found by binary search in its (sorted) key row. Returns False (nothing changed) when the
    runs hold more than 1/8 of the table: a full argsort is then cheaper.
    """
    X, Y = asc.shape
    row = descent // (Y - 1)
    flat_key = key.reshape(-1)
    high = flat_key[descent + row] & ~mask  # smallest key of the run
    new = np.empty(descent.size, dtype=bool)
    new[0] = True
    new[1:] = (row[1:] != row[:-1]) | (high[1:] != high[:-1])
    row, high = row[new], high[new]
    if X == 1:
        lo = np.searchsorted(flat_key, high, side="left")
        up = np.searchsorted(flat_key, high | mask, side="right")
    else:
        lo = _row_search(flat_key, row, Y, high, "left")
        up = _row_search(flat_key, row, Y, high | mask, "right")
    size = up - lo
    M = int(size.sum())
    if 8 * M > X * Y:
        return False
    first = np.cumsum(size) - size  # offset of each run among the members
    members = np.arange(M) + np.repeat(lo - first, size)
    member_run = np.repeat(np.arange(size.size), size)
    flat = asc.reshape(-1)
    vals = flat[members]
    by_val = np.lexsort((vals, member_run))  # runs are contiguous: by run, then by value
    order[members] = order[members[by_val]]
    flat[members] = vals[by_val]
    return True


@aot.jit
def _bon_NlogS_2d(A, D, asc, N):
    """First XLA step of :func:`bon_law_host` on sorted rows asc [X, Y]; A, D running sums [X, >= Y].

    Returns N log S [X, Y + 1] (S: mass of the k smallest, k = 0..Y) and ``cont`` bool [X, Y - 1]:
    entry i + 1 is tied with entry i (the gap test of :func:`tie_groups_sorted`). The products
    N log S are rounded (:func:`_rounded_product`), as in :func:`bon_law`, and leave this kernel
    before the level formula uses them (:func:`_bon_law_singletons`, :func:`_bon_group_law`).
    """
    Y = asc.shape[-1]
    zero = jnp.zeros_like(A[:, :1])
    logS = _log_S(jnp.concatenate([zero, A[:, :Y]], axis=1), jnp.concatenate([zero, D[:, :Y]], axis=1))
    cont = jnp.diff(asc, axis=-1) <= tie_tol(asc[:, 1:])
    return _rounded_product(N, logS), cont


# The steps on flat arrays padded to a few sizes (HOST_FLAT_MAX_SIZE): every operation is
# elementwise once the row structure (the zero boundary, the reversal of D, the row total, the
# neighbours) is laid out in numpy, so one program per padded size serves every table shape. The
# elementwise kernels (exp, the singletons' level) take any shape: larger tables call them unpadded.

@aot.jit
def _exp_xla(a):
    return jnp.exp(a)


@aot.jit
def _NlogS_flat(A, Drev, r, N):
    """N log S from A (mass of the k smallest), Drev (of the Y - k largest) and r = 1 / row total, [n].

    Multiplied by the reciprocal, not divided by the total: XLA:CPU compiles the shaped kernel's (and
    the jitted path's) division by the row total, broadcast along the row, into a multiplication by
    its reciprocal (a division by a full array of totals differs in the last bit; found by
    tests/test_bon_law_host_path.py). The reciprocal comes from numpy, an IEEE division as XLA's.
    """
    t = Drev * r
    s = A * r
    return _rounded_product(N, jnp.where(t < 0.5, jnp.log1p(-jnp.minimum(t, 1.0)), jnp.log(s)))


@aot.jit
def _cont_flat(lo, hi):
    return hi - lo <= tie_tol(hi)


@aot.jit
def _singletons_xla(a, b, asc):
    """The law of entries alone in their tie group from a = N log S at their upper boundary, b at the
    lower one (level / size with size 1; 0 where asc = -inf), elementwise."""
    return jnp.where(jnp.isneginf(asc), 0.0, _bon_level(a, b))


HOST_FLAT_MAX_SIZE = 1 << 16
"""Up to this many entries per array, :func:`bon_law_host`'s XLA steps run on flat copies padded
to a power of two (at least 256): a handful of compiled programs for all small tables, instead of
three per table shape (~0.25 s each to compile, ~0.07 s to trace and lower with a warm cache).
Larger tables keep their shape (few shapes; the copies would cost more than compiling saves)."""


def _flat_padded(parts, fill):
    """The arrays ``parts`` (same size n) raveled and padded with ``fill`` to the bucket of n."""
    n = parts[0].size
    size = max(256, 1 << (n - 1).bit_length())
    out = []
    for p in parts:
        buf = np.full(size, fill)
        buf[:n] = p.reshape(-1)
        out.append(buf)
    return out


def _use_flat(n: int) -> bool:
    return n <= HOST_FLAT_MAX_SIZE


def _exp(asc):
    """exp of the sorted rows [X, Y], in XLA (the jitted path's exp, bit for bit)."""
    if not _use_flat(asc.size):
        return np.asarray(_exp_xla(asc))
    (a,) = _flat_padded([asc], 0.0)
    return np.asarray(_exp_xla(a))[: asc.size].reshape(asc.shape)


def _bon_NlogS(A, D, asc, N):
    """First XLA step of :func:`bon_law_host` on sorted rows asc [X, Y]; A, D running sums [X, >= Y].

    Returns N log S [X, Y + 1] (S: mass of the k smallest, k = 0..Y) and ``cont`` bool [X, Y - 1]:
    entry i + 1 is tied with entry i (the gap test of :func:`tie_groups_sorted`). The products
    N log S are rounded (:func:`_rounded_product`), as in :func:`bon_law`, and leave this step
    before the level formula uses them (:func:`_bon_law_singletons`, :func:`_bon_group_law`).
    Small tables: flat padded kernels (:data:`HOST_FLAT_MAX_SIZE`), the same operations elementwise.
    """
    X, Y = asc.shape
    if not _use_flat(X * (Y + 1)):
        NlogS, cont = _bon_NlogS_2d(A, D, asc, N)
        return np.asarray(NlogS), np.asarray(cont)
    Aext = np.zeros((X, Y + 1))
    Aext[:, 1:] = A[:, :Y]
    Drev = np.zeros((X, Y + 1))
    Drev[:, :Y] = D[:, Y - 1::-1]  # D reversed: mass of the Y - k largest at boundary k (0 at k = Y)
    with np.errstate(divide="ignore"):
        r = np.repeat(1.0 / D[:, Y - 1], Y + 1)  # 1 / row total (see _NlogS_flat)
    a, d, rr = _flat_padded([Aext, Drev, r], 1.0)
    NlogS = np.asarray(_NlogS_flat(a, d, rr, N))[: X * (Y + 1)].reshape(X, Y + 1)
    if Y < 2:
        return NlogS, np.zeros((X, max(Y - 1, 0)), dtype=bool)
    lo, hi = _flat_padded([asc[:, :-1], asc[:, 1:]], 0.0)
    cont = np.asarray(_cont_flat(lo, hi))[: X * (Y - 1)].reshape(X, Y - 1)
    return NlogS, cont


def _bon_law_singletons(NlogS, asc):
    """Law in sorted order [X, Y] of every entry alone in its tie group (boundaries i, i + 1; size 1).

    Entries of larger tie groups get their law from :func:`_bon_group_law` instead.
    """
    if not _use_flat(asc.size):
        return np.asarray(_singletons_xla(NlogS[:, 1:], NlogS[:, :-1], asc))
    a, b, v = _flat_padded([NlogS[:, 1:], NlogS[:, :-1], asc], 0.0)
    return np.asarray(_singletons_xla(a, b, v))[: asc.size].reshape(asc.shape)


@aot.jit
def _bon_group_law(a, b, size):
    """Law of each member of a tie group of ``size`` >= 2 entries (never -inf) from a = N log S_<=,
    b = N log S_< of the group, [G] -> [G]."""
    return _bon_level(a, b) / size


HOST_SPLIT_MIN_SIZE = 1 << 18
"""Tables with at least this many entries (and >= 2 rows) are cut into row blocks that
:func:`bon_law_host` computes on threads, one per usable core (at most :data:`HOST_SPLIT_MAX_THREADS`;
two per core from :data:`HOST_SPLIT_FINE_SIZE`, :func:`host_row_blocks`):
the numpy steps (sort, take, scatter) and the XLA calls release the GIL, and every step works row by
row, so the blocks give the same bits as one call (tested)."""

HOST_SPLIT_FINE_SIZE = 1 << 19
"""Tables with at least this many entries are cut into two row blocks per usable core: the blocks'
numpy steps (one thread each) then overlap the XLA steps of the others (which use the cores on their
own) instead of all blocks reaching XLA together. Measured at [1000, 1000] on the 2-core EPYC (public
path, 31 alternating calls, three runs): 4 blocks 42.6 / 43.2 / 47.5 ms, 2 blocks 52.2 / 48.3 / 58.3 ms;
also faster at [4000, 250] and [8, 2^17], no faster at [64, 8192] and slower at [256, 1024] (15.5 vs
14.5 ms), hence the threshold."""

HOST_FINE_BLOCKS_PER_CORE = 2
"""Row blocks per usable core from :data:`HOST_SPLIT_FINE_SIZE` entries (:func:`host_row_blocks`)."""

HOST_SPLIT_MAX_THREADS = 8

_host_pool = None
_host_pool_lock = threading.Lock()


def _host_threads() -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, HOST_SPLIT_MAX_THREADS))


def _get_host_pool():
    """The threads of :func:`bon_law_host`'s row blocks and :func:`_sort_keys`' pieces (made once)."""
    global _host_pool
    with _host_pool_lock:
        if _host_pool is None:
            from concurrent.futures import ThreadPoolExecutor

            # every block but the caller's on its own thread, at the most blocks host_row_blocks makes
            _host_pool = ThreadPoolExecutor(HOST_FINE_BLOCKS_PER_CORE * HOST_SPLIT_MAX_THREADS - 1,
                                            thread_name_prefix="sharpsim-bon-law")
    return _host_pool


def host_sort_segments(X: int, size: int) -> int:
    """How many pieces :func:`bon_law_host` sorts a table's keys in when it does not cut the table into
    row blocks (:func:`host_row_blocks` gives 1): one per usable core for a single row of at least
    :data:`HOST_SPLIT_MIN_SIZE` entries, else 1."""
    if X != 1 or size < HOST_SPLIT_MIN_SIZE:
        return 1
    return _host_threads()


def host_row_blocks(X: int, size: int) -> int:
    """How many row blocks (each on its own thread) :func:`bon_law_host` cuts a table of X rows and
    ``size`` entries into: one per usable core for at least :data:`HOST_SPLIT_MIN_SIZE` entries, two
    per usable core from :data:`HOST_SPLIT_FINE_SIZE`, else 1; at most X."""
    if size < HOST_SPLIT_MIN_SIZE:
        return 1
    return min(X, _host_threads() * (HOST_FINE_BLOCKS_PER_CORE if size >= HOST_SPLIT_FINE_SIZE else 1))


def bon_law_numpy(lp, N):
    """``bon_law(lp, N)`` as numpy float64 [X, Y] by the faster exact path, the same bits either way:
    :func:`bon_law_host` on the CPU backend (:func:`bon_law_prefers_host`), else the jitted
    :func:`bon_law`. lp: float64 [X, Y] log-probabilities (validated); N: float >= 1."""
    if bon_law_prefers_host(lp.size):
        return bon_law_host(lp, N)
    return np.asarray(bon_law(to_device(lp), N))


def bon_law_host(logp, N):
    """:func:`bon_law` on the CPU backend, bit for bit, with the permutation done in numpy.

    Sort each row (:func:`sort_rows_host`), take p = exp (XLA) and the two running sums in XLA's
    order (:func:`cumsum_host`), then in XLA N log S at every boundary (:func:`_bon_NlogS`) and the
    law of every entry alone in its tie group (:func:`_bon_law_singletons`); tie groups of >= 2
    entries get (S_<=^N - S_<^N) / size from their two boundaries (:func:`_bon_group_law`); scatter
    back. Tables of at least :data:`HOST_SPLIT_MIN_SIZE` entries are cut into row blocks computed
    on threads (one or two per usable core, :func:`host_row_blocks`; the calling thread takes the
    first block); a single row that large has its sort cut into pieces instead
    (:func:`host_sort_segments`); the XLA steps of small tables run on flat padded copies, a few
    programs for all shapes (:data:`HOST_FLAT_MAX_SIZE`).

    Args:
      logp: float64 [X, Y] log-probabilities, NaN-free (validated tables); N: float >= 1.
    Returns:
      numpy float64 [X, Y], the same bits as ``bon_law(logp, N)``.
    """
    lp = np.ascontiguousarray(logp, dtype=np.float64)
    X, Y = lp.shape
    k = host_row_blocks(X, lp.size)
    if k < 2:
        return _bon_law_host_rows(lp, N, sort_segments=host_sort_segments(X, lp.size))
    pool = _get_host_pool()
    cuts = [X * i // k for i in range(k + 1)]
    out = np.empty_like(lp)

    def block(i):
        out[cuts[i]:cuts[i + 1]] = _bon_law_host_rows(lp[cuts[i]:cuts[i + 1]], N)

    # pool threads only run blocks and sort pieces (never submit), so a caller on any other thread
    # cannot deadlock them
    futures = [pool.submit(block, i) for i in range(1, k)]
    block(0)
    for f in futures:
        f.result()
    return out


def _bon_law_host_rows(lp, N, sort_segments=1):
    """:func:`bon_law_host` on one block of rows, in the calling thread (the keys' sort in
    ``sort_segments`` pieces on threads, :func:`_sort_keys`)."""
    lp = np.ascontiguousarray(lp, dtype=np.float64)
    X, Y = lp.shape
    if lp.size == 0:
        return np.zeros((X, Y))
    order, asc = sort_rows_host(lp, sort_segments)
    A, D = _cumsums(_exp(asc))
    NlogS, cont = _bon_NlogS(A, D, asc, N)
    law = _bon_law_singletons(NlogS, asc)
    tied = np.flatnonzero(np.asarray(cont))  # pair j ties entry j + j // (Y - 1) + 1 to its left
    out = np.empty_like(lp)
    out.reshape(-1)[order] = np.asarray(law).reshape(-1)
    if tied.size:
        tied += tied // (Y - 1) + 1  # flat index of the tied (not first) member
        first = np.empty(tied.size, dtype=bool)  # first tied member of its group
        first[0] = True
        np.not_equal(np.diff(tied), 1, out=first[1:])  # (groups never cross rows: row starts untied)
        starts = np.flatnonzero(first)
        g_start = tied[starts] - 1
        g_end = np.append(tied[starts[1:] - 1], tied[-1]) + 1
        row = g_start // Y
        flat = np.asarray(NlogS).reshape(-1)  # row r, boundary k at r * (Y + 1) + k
        G = g_start.size
        Gp = max(256, 1 << (G - 1).bit_length())  # few compiled sizes
        a = np.zeros(Gp)
        b = np.zeros(Gp)
        size = np.ones(Gp)
        a[:G] = flat[g_end + row]
        b[:G] = flat[g_start + row]
        size[:G] = g_end - g_start
        law_g = np.asarray(_bon_group_law(a, b, size))[:G]
        flat_out = out.reshape(-1)
        flat_out[order[g_start]] = law_g
        flat_out[order[tied]] = law_g[np.cumsum(first) - 1]
    return out


# --------------------------------------------------------------------------- RLHF objects


@aot.jit
def tilted(logp, beta):
    """log pi*_beta with pi*_beta proportional to p^(1 + 1/beta)  (SPEC 6.1, F13).  [X, Y] (log)."""
    lt = (1.0 + 1.0 / beta) * logp
    return lt - logsumexp(lt, axis=-1, keepdims=True)


@aot.jit
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


@aot.jit
def concentrability(logq, logr, mu, beta=1.0):
    """C_{q/r;beta} = E_{x~mu, y~q}[ (q(y|x)/r(y|x))^beta ]  (SPEC Eq. 9).

    With r = pi_base and beta = 1 this is C_pi = E_mu sum_y q^2 / pi_base.
    ``inf`` when q puts mass where r has none.
    """
    live = ~jnp.isneginf(logq)
    diff = jnp.where(live, logq - jnp.where(live, logr, 0.0), 0.0)
    terms = jnp.where(live, jnp.exp(logq + beta * diff), 0.0)
    return _mu_mean(mu, jnp.sum(terms, axis=-1))


@aot.jit
def kl_per_prompt(logq, logr):
    """KL(q(.|x) || r(.|x)) per prompt, 0 log 0 = 0.  [X]."""
    live = ~jnp.isneginf(logq)
    diff = jnp.where(live, logq - jnp.where(live, logr, 0.0), 0.0)
    return jnp.sum(jnp.where(live, jnp.exp(logq) * diff, 0.0), axis=-1)


@aot.jit
def kl(logq, logr, mu):
    """E_mu KL(q(.|x) || r(.|x))  (natural log)."""
    return _mu_mean(mu, kl_per_prompt(logq, logr))


@aot.jit
def hellinger_sq_per_prompt(logq, logr):
    """Unnormalised squared Hellinger distance sum_y (sqrt q - sqrt r)^2 per prompt, in [0, 2]."""
    return jnp.sum((jnp.exp(0.5 * logq) - jnp.exp(0.5 * logr)) ** 2, axis=-1)


@aot.jit
def hellinger_sq(logq, logr, mu):
    """E_mu D_H^2(q(.|x), r(.|x)), unnormalised (range [0, 2], SPEC 2.2)."""
    return _mu_mean(mu, hellinger_sq_per_prompt(logq, logr))


@aot.jit
def regularized_value(logq, logp, beta, mu):
    """J_beta(q) = E_q[log p] - beta KL(q || p)  (SPEC 6.4, r = log pi_base)."""
    live = ~jnp.isneginf(logq)
    reward = jnp.sum(jnp.where(live, jnp.exp(logq) * jnp.where(live, logp, 0.0), 0.0), axis=-1)
    return _mu_mean(mu, reward) - beta * kl(logq, logp, mu)


@aot.jit
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
