"""Exact evaluation of a learned table against the base (the *evaluator*, DESIGN.md).

Learning is only through the oracle; evaluation reads the table and is exact:

* :func:`error_core`: err = P_{x~mu}[ q(y*(x)|x) <= 1 - delta ] for a probability table q
  (the non-strict event of the upper-bound theorems, decision D5), in probability space.
* :func:`tabular_star_columns` and :func:`tabular_sft_error_core`: the same error for the
  tabular MLE fitted to the oracle's draws, in O(n + X) without building [X, Y] tables
  (bit-identical to ``error_core`` on the MLE table; the engine's SFT fast path).

``error_core`` stays beside :func:`sharpsim.core.sharpness_error`: it sums the learned mass in
probability space (no log round trip), and the fast path is bit-identical to it.

The error's sum over prompts is taken in prompt order, one term at a time (:func:`failed_mass`):
XLA's own reduction picks its order from the shape and, under ``vmap``, from the batch size (for
X > 32 on CPU), so the engine's errors would otherwise change in the last bits with its chunking.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from . import aot, core

__all__ = ["failed_mass", "error_core", "tabular_star_columns", "tabular_sft_error_core",
           "tabular_sft_error_from_counts"]


def failed_mass(fail, mu):
    """err = sum_x mu(x) 1{fail(x)}, added left to right in x = 0, 1, ..., X-1 (float64).

    fail: bool [X]; mu: float [X]. The order is fixed, so the bits do not depend on how the call
    is batched (``vmap`` over trials, chunk sizes); it is the plain loop ``err += mu[x]`` of the
    reference implementations. A sequential loop of X steps (``lax.fori_loop``).
    """
    terms = jnp.where(fail, mu, 0.0)

    def body(x, acc):
        return acc + terms[x]

    return jax.lax.fori_loop(0, terms.shape[0], body, jnp.zeros((), terms.dtype))


def _row_sums_in_order(t):
    """sum_y t[x, y] for every row x, added left to right in y (fixed order, as :func:`failed_mass`):
    t: float [X, Y] -> [X]. Y sequential steps over [X] vectors."""

    def body(y, acc):
        return acc + t[:, y]

    return jax.lax.fori_loop(0, t.shape[1], body, jnp.zeros(t.shape[:1], t.dtype))


@aot.jit
def error_core(q, logp, delta, mu):
    """P_{x~mu}[ q(y*(x)|x) <= 1 - delta ] for a probability table q [X, Y] (non-strict event, D5).

    Both sums in a fixed order: q's mass on y*(x) left to right in y, the error left to right in x
    (:func:`failed_mass`), so the bits do not depend on the batch the call is vmapped in.
    """
    star = core.argmax_set(logp)
    t = jnp.where(star, q, 0.0)
    # with at most two non-zero terms a row's sum is the same in every order (adding 0 is exact), so
    # the ordered loop is needed only when some |y*(x)| > 2 (the predicate reads the table, not the
    # trial, so under vmap this stays a branch)
    mass = jax.lax.cond(jnp.max(jnp.sum(star, axis=-1)) > 2, _row_sums_in_order, lambda t: jnp.sum(t, axis=-1), t)
    return failed_mass(mass <= 1.0 - delta, mu)


def tabular_star_columns(logp):
    """Evaluation-side precomputation for the tabular fast path, once per problem.

    y*(x) = core.argmax_set(logp) (the exact evaluator's argmax set, SPEC 3.1). Returns
    (a, b, two): int [X] the first and last column of y*(x), bool [X] |y*(x)| = 2; or None
    when some |y*(x)| > 2 (then the fast path cannot reproduce the generic path's summation
    order of three or more rounded terms bit for bit, and :func:`run_trials` uses the generic
    path). This reads the table, so it belongs to the *evaluator*, never to the learner
    (DESIGN.md: evaluation is exact against the table; learning is only through the oracle).
    """
    star = np.asarray(core.argmax_set(core.to_device(logp)))
    size = star.sum(axis=-1)
    if size.max() > 2:
        return None
    Y = star.shape[1]
    a = np.argmax(star, axis=-1)
    b = Y - 1 - np.argmax(star[:, ::-1], axis=-1)
    return core.to_device(a), core.to_device(b), core.to_device(size == 2)


def tabular_sft_error_core(x, y, w, star_a, star_b, two, delta, mu, Y):
    """Exact sharpness error of the tabular MLE fitted to the oracle's (x, y, w), in O(n + X).

    The tabular MLE (:class:`sharpsim.classes.TabularClass`) is q(y|x) = c(x, y) / c(x) on
    seen prompts and 1 / Y on unseen ones; the evaluator only needs its mass on y*(x):
    q(y*(x)|x) = sum_{y in y*(x)} q(y|x). With |y*(x)| <= 2 (columns a(x), b(x), from
    :func:`tabular_star_columns`) that is fl(c(x, a)/c(x)) [+ fl(c(x, b)/c(x))] -- the same
    correctly rounded quotients, added in the only possible way, as :func:`error_core` on the
    full table from ``MLE_CORES["tabular"]``, so the error is bit-identical (tested).
    Learner part: the counts c(x), c(x, a), c(x, b) come only from the oracle's outputs;
    evaluator part: which columns are in y*(x) (star_a, star_b, two) comes from the table.
    err = sum_x mu(x) 1{q(y*(x)|x) <= 1 - delta} (non-strict event, D5).
    """
    X = mu.shape[0]
    in_a = y == star_a[x]
    in_b = two[x] & (y == star_b[x])
    cols = jnp.stack([w, jnp.where(in_a, w, 0.0), jnp.where(in_b, w, 0.0)], axis=-1)
    c = jnp.zeros((X, 3)).at[x].add(cols)
    return tabular_sft_error_from_counts(c[:, 0], c[:, 1], c[:, 2], two, delta, mu, Y)


def tabular_sft_error_from_counts(tot, ca, cb, two, delta, mu, Y):
    """Exact sharpness error of the tabular MLE from its counts on y*(x) (the second half of
    :func:`tabular_sft_error_core`; also the engine's counts mode, with the counts from
    :func:`sharpsim.oracle.bon_column_counts_core`).

    tot, ca, cb: float [X], c(x), c(x, a(x)), c(x, b(x)) (cb ignored where not ``two``).
    q(y*(x)|x) = fl(ca / tot) [+ fl(cb / tot)] on seen prompts, |y*(x)| / Y on unseen ones;
    err = sum_x mu(x) 1{q(y*(x)|x) <= 1 - delta}.
    """
    live = tot > 0
    den = jax.lax.optimization_barrier(jnp.where(live, tot, 1.0))
    qa = jnp.where(live, ca / den, 1.0 / Y)
    qb = jnp.where(live, cb / den, 1.0 / Y)
    mass = qa + jnp.where(two, qb, 0.0)
    return failed_mass(mass <= 1.0 - delta, mu)

