"""SFT-Sharpening (paper §2.1 / §4.1; SPEC 5.1, Theorem 4.1): one implementation.

* :func:`sft_core`: the pure trial core (key and the oracle's arrays in, :class:`Trial` out):
  n prompts x_i ~ mu, best-of-N on each with self-reward log pi_base (the oracle's exact
  shortcut, or ``literal`` draws), then the class's maximum likelihood.
* :func:`sft_sharpening`: the oracle-facing learner; it runs :func:`sft_core` through
  :meth:`sharpsim.oracle.Oracle.run`, which charges the queries.
* :func:`sft_batch`: what the engine vmaps, the same core followed by the exact error; with the
  tabular class the *fast path* (:func:`sharpsim.evaluation.tabular_sft_error_core`) evaluates
  the MLE from the draws without building [X, Y] tables, bit-identical to the literal
  composition (tested in ``tests/test_equivalence.py``).
* :func:`sft_prescription`: Theorem 4.1's sizes for a problem (the registry's bound).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from .. import aot, bounds, core
from .._validate import check_int
from ..classes import MLE_CORES, counts_core
from ..evaluation import (
    error_core,
    tabular_sft_error_core,
    tabular_sft_error_from_counts,
    tabular_star_columns,
)
from ..oracle import (
    MAX_CAPACITY,
    Oracle,
    bon_column_counts_core,
    bon_draws_core,
    bon_draws_literal_core,
    bon_hits_core,
    capacity,
    fine_capacity,
    hits_bounds,
)
from .result import Batch, LearnerResult, Trial, bon_law_table, chunks_per_call, lru_get, table_key

__all__ = ["sft_core", "sft_sharpening", "sft_batch", "sft_prescription"]

CHUNK_ELEMENTS = 1 << 22
"""Engine chunking: about this many (prompt x draw) slots per vmapped chunk of trials."""
MAX_CHUNK = 128
"""Engine chunking: at most this many trials per chunk on the generic path."""
FAST_CHUNK = 64
"""Engine chunking: at most this many trials per vmapped chunk on the tabular fast path."""
FAST_CHUNKS_PER_CALL = 16
"""Engine chunking: at most this many fast-path chunks per call (``lax.map``)."""
HITS_MAX_SIZE = 1 << 22
"""Largest table (X Y entries) for which the tabular fast path computes the best-of-N law and its
search preimages on the host (a few [X, Y + 1] float64 arrays) and draws hits
(:func:`_sft_hits_map`); larger tables keep the search inside the program (:func:`_sft_tabular_map`),
the same bits."""


def sft_core(key, logp, log_mu, n, N, n_cap, arrays, kind, literal=False, law=None) -> Trial:
    """One SFT-Sharpening run (pure; jit / vmap-able):

        pi_hat = argmax_{pi in Pi} sum_i log pi(y_i^BoN | x_i),     m = n N.

    The key is split as (data, fit): the oracle cores draw with the first half, the class's
    tie-break (if random) uses the second. ``literal`` draws the N responses one by one
    (N static) instead of the exact best-of-N shortcut (N a float). Returns
    :class:`Trial` with policy [X, Y] and info = (Draws, counts [X, Y]). ``law``: the best-of-N
    law of the shortcut when the caller computed it (see :func:`sharpsim.oracle.bon_draws_core`).
    """
    kd, kf = jax.random.split(key)
    if literal:
        d = bon_draws_literal_core(kd, logp, log_mu, n, N, n_cap)
    else:
        d = bon_draws_core(kd, logp, log_mu, n, N, n_cap, law)
    X, Y = logp.shape
    counts = counts_core(d.x, d.y, d.w, X, Y)
    q = MLE_CORES[kind](arrays, counts, kf)
    return Trial(q, d.queries, 0, n, (d, counts))


def sft_sharpening(oracle: Oracle, cls, n: int, N: int, key, shortcut: bool = True) -> LearnerResult:
    """SFT-Sharpening through the counting oracle (:func:`sft_core`; SPEC 5.1, Theorem 4.1).

    ``shortcut`` draws each best-of-N outcome from its exact law (charging N queries); False
    draws the N responses literally. Tie-breaking in the MLE: see :mod:`sharpsim.classes`
    (decision D2); tabular MLE gives unseen prompts the uniform row.

    Returns :class:`LearnerResult` with info['counts'] ([X, Y] kept-response counts), n, N.
    """
    n, N = check_int(n, "n"), check_int(N, "N")
    if (cls.X, cls.Y) != (oracle.X, oracle.Y):
        raise ValueError(f"cls has shape {(cls.X, cls.Y)} but the oracle's model is {(oracle.X, oracle.Y)}")
    t = oracle.run(sft_core, key, n, float(N) if shortcut else N, capacity(n), cls.arrays, cls.kind,
                   literal=not shortcut)
    return LearnerResult(np.asarray(t.policy), int(t.queries), 0, n,
                         {"counts": np.asarray(t.info[1]), "n": n, "N": N})


# --------------------------------------------------------------------------- the engine's batches


def sft_trial_core(key, logp, log_mu, mu, n, N, delta, arrays, kind, n_cap, literal=False, law=None):
    """One engine trial: :func:`sft_core` then the exact error -> (err, queries, extended)."""
    t = sft_core(key, logp, log_mu, n, N, n_cap, arrays, kind, literal, law)
    return error_core(t.policy, logp, delta, mu), t.queries.astype(jnp.float64), jnp.float64(0)


@partial(aot.jit, static_argnames=("kind", "n_cap"))
def _sft_batch(keys, logp, log_mu, mu, n, N, delta, arrays, kind, n_cap, law):
    """The generic path's chunk of trials, vmapped :func:`sft_trial_core`, with the best-of-N law
    ``law`` = ``core.bon_law(logp, N)`` computed once outside
    (:func:`sharpsim.algorithms.result.bon_law_table`)."""
    return jax.vmap(lambda k: sft_trial_core(k, logp, log_mu, mu, n, N, delta, arrays, kind, n_cap, law=law))(keys)


@partial(aot.jit, static_argnames=("kind", "n_cap", "N"))
def _sft_literal_batch(keys, logp, log_mu, mu, n, N, delta, arrays, kind, n_cap):
    return jax.vmap(lambda k: sft_trial_core(k, logp, log_mu, mu, n, N, delta, arrays, kind, n_cap, True))(keys)


def _sft_tabular_chunk(keys, logp, log_mu, mu, n, N, delta, star, n_cap, literal):
    """One vmapped chunk of SFT-Sharpening trials with the tabular class, fast path (same key
    split and oracle cores as :func:`sft_core`; the fit key is unused, as by the tabular MLE)."""
    Y = logp.shape[1]

    def one(key):
        kd, _ = jax.random.split(key)
        if literal:
            d = bon_draws_literal_core(kd, logp, log_mu, n, N, n_cap)
        else:
            d = bon_draws_core(kd, logp, log_mu, n, N, n_cap)
        err = tabular_sft_error_core(d.x, d.y, d.w, *star, delta, mu, Y)
        return err, d.queries.astype(jnp.float64), jnp.float64(0)

    return jax.vmap(one)(keys)


def _sft_tabular_map(keys, logp, log_mu, mu, n, N, delta, star, n_cap, per, literal):
    """G = len(keys) / per chunks of ``per`` vmapped trials, run by ``lax.map`` in one call: the
    oracle's per-problem work (the BoN law of the table, its CDF), which does not depend on the
    trial, is then computed once per call (hoisted out of the loop by XLA) rather than once per
    chunk, and the chunks stay small enough for the cache (about 1.5x here)."""
    ks = keys.reshape((-1, per) + keys.shape[1:])
    out = jax.lax.map(lambda k: _sft_tabular_chunk(k, logp, log_mu, mu, n, N, delta, star, n_cap, literal), ks)
    return tuple(o.reshape(-1) for o in out)


_sft_tabular_scan = aot.jit(partial(_sft_tabular_map, literal=False), static_argnames=("n_cap", "per"))
_sft_tabular_literal_scan = aot.jit(partial(_sft_tabular_map, literal=True), static_argnames=("n_cap", "per", "N"))


def _sft_hits_map(keys, log_mu, bounds, mu, n, N, delta, two, Y, n_cap, per, packed):
    """The tabular fast path with the draws revealed as hits on y*(x) (the default for tables of at most
    :data:`HITS_MAX_SIZE` entries): G = len(keys) / per chunks of ``per`` vmapped trials under
    ``lax.map``, each trial :func:`sharpsim.oracle.bon_hits_core` (the draws of :func:`bon_draws_core`
    for the same key, one gather each instead of a binary search) and then the counts c(x),
    c(x, a(x)), c(x, b(x)) (one packed scatter, :data:`PACK_BITS`) and the exact error as in
    :func:`sharpsim.evaluation.tabular_sft_error_core`: the same errors bit for bit (tested). The
    best-of-N law and the bounds are computed once per problem and N, outside the program
    (:func:`_fast_tables`)."""

    def one(key):
        kd, _ = jax.random.split(key)
        x, hits, w, queries = bon_hits_core(kd, log_mu, bounds, n, N, n_cap)  # b(x) marked only where two
        X = mu.shape[0]
        if packed:  # one int64 scatter: c(x) + c_a(x) 2^B + c_b(x) 2^2B, each count <= n_cap < 2^B
            live = (w > 0).astype(jnp.int64)
            code = live * (1 + (hits[:, 0].astype(jnp.int64) << PACK_BITS)
                           + (hits[:, 1].astype(jnp.int64) << (2 * PACK_BITS)))
            # one prompt: a sum (integers, exact in any order) instead of a scatter to one address
            acc = jnp.sum(code, keepdims=True) if X == 1 else jnp.zeros((X,), jnp.int64).at[x].add(code)
            field = (1 << PACK_BITS) - 1
            tot, ca, cb = ((acc >> (k * PACK_BITS)) & field for k in range(3))
            err = tabular_sft_error_from_counts(*(c.astype(jnp.float64) for c in (tot, ca, cb)), two, delta, mu, Y)
        else:
            cols = jnp.stack([w, jnp.where(hits[:, 0], w, 0.0), jnp.where(hits[:, 1], w, 0.0)], axis=-1)
            c = jnp.sum(cols, axis=0, keepdims=True) if X == 1 else jnp.zeros((X, 3)).at[x].add(cols)
            err = tabular_sft_error_from_counts(c[:, 0], c[:, 1], c[:, 2], two, delta, mu, Y)
        return err, queries.astype(jnp.float64), jnp.float64(0)

    ks = keys.reshape((-1, per) + keys.shape[1:])
    out = jax.lax.map(jax.vmap(one), ks)
    return tuple(o.reshape(-1) for o in out)


_sft_hits_scan = aot.jit(_sft_hits_map, static_argnames=("Y", "n_cap", "per", "packed"))

PACK_BITS = 21
"""Bits per count in :func:`_sft_hits_map`'s packed scatter (three counts in one int64), used while
n_cap < 2^PACK_BITS (no count can reach it; ``packed``, decided by :func:`sft_batch`); larger n_cap
scatter three float64 columns. The counts are integers either way, so both give the same values
(tested on each side of the limit)."""


_FAST_CACHE: "OrderedDict[tuple, tuple]" = OrderedDict()
FAST_CACHE_SIZE = 16
"""(table, N) pairs whose fast-path tables :func:`_fast_tables` keeps, least recently used out."""


def _fast_tables(logp, N, hits):
    """The tabular fast path's per-problem tables, computed once per table and N and reused by later
    calls (e.g. a search over n at a fixed N): ``star`` = :func:`tabular_star_columns` (evaluator
    side; None when some |y*(x)| > 2) and, when ``hits``, the bounds [X, 5] of
    :func:`sharpsim.oracle.hits_bounds` for the best-of-N law at N and the columns a(x), b(x) of
    y*(x) (b only where |y*(x)| = 2), a device array (else None). Keyed by the table's bytes
    (SHA-256), so an edited table is a new entry."""
    lp = np.ascontiguousarray(logp, dtype=np.float64)

    def tables():
        star = tabular_star_columns(lp)
        return star, (core.to_device(star_hits_bounds(lp, N, star)) if hits and star is not None else None)

    return lru_get(_FAST_CACHE, FAST_CACHE_SIZE, (float(N), bool(hits)) + table_key(lp), tables)


def star_hits_bounds(logp, N, star):
    """The bounds [X, 5] (numpy) of :func:`sharpsim.oracle.hits_bounds` for the best-of-N law of
    ``logp`` at N and the columns a(x), b(x) of y*(x) given by ``star`` (:func:`tabular_star_columns`),
    b marked only where |y*(x)| = 2. Not cached (:func:`_fast_tables` caches it)."""
    cols = np.stack([np.asarray(star[0]), np.asarray(star[1])], axis=1)
    mask = np.stack([np.ones(cols.shape[0], bool), np.asarray(star[2])], axis=1)
    return hits_bounds(core.bon_law_numpy(np.asarray(logp, dtype=np.float64), float(N)), cols, mask)


def _sft_counts_map(keys, law, mu, n, N, delta, star, per):
    """The counts mode: G = len(keys) / per chunks of ``per`` vmapped trials under ``lax.map``.

    Per trial, the counts (c(x), c(x, a), c(x, b)) of its n best-of-N outcomes on the evaluator's
    columns y*(x) = {a(x), b(x)} are drawn from their exact multinomial law
    (:func:`sharpsim.oracle.bon_column_counts_core`, O(X)), then the tabular MLE's exact error
    (:func:`sharpsim.evaluation.tabular_sft_error_from_counts`); m = n N queries. The key is split
    as in :func:`sft_core` (data, fit; the tabular MLE uses no fit key). Same law as the draws path,
    other bits (tested in distribution and against the exact mean error). ``law``: float64 [X, Y],
    ``core.bon_law(logp, N)``, computed once outside
    (:func:`sharpsim.algorithms.result.bon_law_table`: the same bits, no sorts in this program).
    """
    star_a, star_b, two = star
    X, Y = law.shape
    rows = jnp.arange(X)
    law_a, law_b = law[rows, star_a], law[rows, star_b]

    def one(key):
        kd, _ = jax.random.split(key)
        c, ca, cb = bon_column_counts_core(kd, mu, law_a, law_b, two, n)
        err = tabular_sft_error_from_counts(c, ca, cb, two, delta, mu, Y)
        return err, (n * N) * jnp.float64(1), jnp.float64(0)

    ks = keys.reshape((-1, per) + keys.shape[1:])
    out = jax.lax.map(jax.vmap(one), ks)
    return tuple(o.reshape(-1) for o in out)


_sft_counts_scan = aot.jit(_sft_counts_map, static_argnames=("per",))

COUNTS_CHUNK = 256
"""Engine chunking: trials per vmapped chunk in the counts mode (a trial is O(X) work)."""


def sft_batch(problem, cls, trials, delta, *, n=None, N=None, literal=False, fast=True, counts=False, chunk=None,
              **_):
    """The engine's plan for SFT trials at sizes (n, N): a :class:`Batch` (``cls`` None: the
    problem's class for N, realizable: it contains bon_law(base, N)).

    ``fast`` (tabular class): evaluate the trial's MLE from the draws in O(n + X)
    (:func:`sharpsim.evaluation.tabular_sft_error_core`) instead of building [X, Y] tables;
    bit-identical errors. It applies when every |y*(x)| <= 2; otherwise (or with
    ``fast=False``) the generic path (counts -> ``MLE_CORES[kind]`` -> ``error_core``) runs. On
    tables of at most :data:`HITS_MAX_SIZE` entries (shortcut draws) the fast path reveals each draw
    as hits on y*(x) (:func:`_sft_hits_map`: the same draws and errors, no search per draw), with the
    per-problem tables cached across calls (:func:`_fast_tables`).
    ``counts`` (tabular class, fast path only, not ``literal``): draw each trial's counts on y*(x)
    from their exact multinomial law instead of n draws (:func:`_sft_counts_map`; O(X) per trial
    whatever n is): the same law of the error, other bits, so it is opt-in (results of the default
    path are unchanged). Chunks: see the module constants.
    """
    n, N = check_int(n, "n"), check_int(N, "N")
    cls = problem.class_for("sft", N) if cls is None else cls
    sizes = {"n": n, "N": N}
    logp, log_mu, mu = core.to_device(problem.logp), core.to_device(problem.log_mu), core.to_device(problem.mu)
    if not isinstance(counts, (bool, np.bool_)):
        raise TypeError(f"counts must be True or False, got {counts!r}")
    if counts:
        if literal:
            raise ValueError("counts=True draws counts from the exact best-of-N law; it cannot be literal=True")
        star = _fast_tables(problem.logp, N, False)[0] if (fast and cls.kind == "tabular") else None
        if star is None:
            why = (f"class kind {cls.kind!r}" if cls.kind != "tabular" else "fast=False" if not fast
                   else "a prompt with |y*(x)| > 2")
            raise ValueError("counts=True needs the tabular fast path: the tabular class, fast=True and every "
                             f"|y*(x)| <= 2 (got {why})")
        inner = int(chunk) if chunk else COUNTS_CHUNK
        G = chunks_per_call(-(-trials // inner), FAST_CHUNKS_PER_CALL)
        law = bon_law_table(problem.logp, N)  # once per table and N, on the host (kept)

        def fn(ks):
            return _sft_counts_scan(ks, law, mu, n, float(N), delta, star, inner)
        return Batch(fn, G * inner, True, sizes)
    n_cap = capacity(n)
    slots = n_cap * (N if literal else 1)
    if slots > MAX_CAPACITY:
        raise ValueError(f"literal draws need n_cap * N = {n_cap} * {N} slots per trial, above the limit "
                         f"sharpsim.oracle.MAX_CAPACITY = {MAX_CAPACITY}; use the exact shortcut (literal=False) "
                         "or a smaller N")
    per = max(1, min(MAX_CHUNK, CHUNK_ELEMENTS // slots))
    hits = not literal and logp.size <= HITS_MAX_SIZE
    star, bounds = _fast_tables(problem.logp, N, hits) if (fast and cls.kind == "tabular") else (None, None)
    if star is not None:
        if bounds is not None:  # only hits are counted: the padding does not change the live draws
            n_cap = slots = fine_capacity(n)
        # no [X, Y] table per trial; chunks of `inner` vmapped trials, G chunks per call (lax.map)
        inner = int(chunk) if chunk else max(1, min(FAST_CHUNK, CHUNK_ELEMENTS // slots))
        G = chunks_per_call(-(-trials // inner), FAST_CHUNKS_PER_CALL)  # balanced calls
        if literal:
            def fn(ks):
                return _sft_tabular_literal_scan(ks, logp, log_mu, mu, n, N, delta, star, n_cap, inner)
            return Batch(fn, G * inner, True, sizes)
        if bounds is not None:  # the draws as hits on y*(x): same bits, no search per draw
            two, Y = star[2], int(logp.shape[1])
            packed = n_cap < 1 << PACK_BITS

            def fn(ks):
                return _sft_hits_scan(ks, log_mu, bounds, mu, n, float(N), delta, two, Y, n_cap, inner, packed)
        else:
            def fn(ks):
                return _sft_tabular_scan(ks, logp, log_mu, mu, n, float(N), delta, star, n_cap, inner)
        return Batch(fn, G * inner, True, sizes)
    if literal:
        def fn(ks):
            return _sft_literal_batch(ks, logp, log_mu, mu, n, N, delta, cls.arrays, cls.kind, n_cap)
    else:
        law = bon_law_table(problem.logp, N)

        def fn(ks):
            return _sft_batch(ks, logp, log_mu, mu, n, float(N), delta, cls.arrays, cls.kind, n_cap, law)
    return Batch(fn, int(chunk) if chunk else per, False, sizes)


def sft_prescription(problem, eps, delta, rho, **_):
    """Theorem 4.1 (F9) at the problem's C_cov and log|Pi| (a finite class is needed)."""
    L = problem.info["log_class_size"]
    if not math.isfinite(L):
        raise ValueError(f"the SFT bound (F9) needs a finite class; problem {problem.name!r} has log|Pi| = inf")
    return bounds.sft_sample_complexity(problem.info["C_cov"], L, eps, delta, rho)
