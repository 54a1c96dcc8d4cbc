"""The best-of-N law computed once outside the engine's trial programs (issue 12: compile cost).

The generic SFT path (``_sft_batch``), inference-time BoN (``_bon_batch``) and the oracle's
shortcut ``Oracle.best_of_n`` take the table's law ``core.bon_law(logp, N)`` as an argument,
computed once per table and N on the host (``sharpsim.algorithms.result.bon_law_table``,
``core.bon_law_numpy``), instead of compiling the law's sorts into every program. The draws must be
the bits of the law computed inside the program (the composition they replaced, written out here
with ``jax.jit``), on tables with exact ties and zeros.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sharpsim import core
from sharpsim.algorithms import result
from sharpsim.algorithms.bon import bon_core
from sharpsim.algorithms.sft import sft_trial_core
from sharpsim.classes import TabularClass
from sharpsim.engine import run_trials
from sharpsim.instances.problems import Problem
from sharpsim.models import TabularLM
from sharpsim.oracle import Oracle, capacity, draw_from_rows


def _table(seed, X, Y):
    """log of a random [X, Y] table with an exact tie at the top of row 0, zeros and tiny entries."""
    rng = np.random.default_rng(seed)
    p = rng.standard_exponential((X, Y))
    p[:, -1] = 0.0
    p[0, :2] = p[0].max() * 2.0  # an exact tie on the argmax
    p[1 % X, 2] = 1e-300
    p /= p.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore"):
        return np.log(p)


def _bits(a):
    return np.asarray(a, dtype=np.float64).view(np.int64)


@pytest.mark.parametrize("X, Y, N", [(6, 9, 3), (1, 40, 7), (5, 33, 1000003)])
def test_bon_law_table_is_the_jitted_law_and_is_kept_per_table_and_N(monkeypatch, X, Y, N):
    monkeypatch.setattr(result, "_LAW_CACHE", type(result._LAW_CACHE)())
    lp = _table(X * Y, X, Y)
    law = result.bon_law_table(lp, N)
    np.testing.assert_array_equal(_bits(law), _bits(core.bon_law(jnp.asarray(lp), float(N))))
    assert result.bon_law_table(lp.copy(), N) is law  # the same bytes: the kept array
    assert result.bon_law_table(lp, N + 1) is not law
    edited = lp.copy()
    edited[0, 0] = edited[0, 1] - 1.0
    other = result.bon_law_table(edited, N)
    assert not np.array_equal(np.asarray(other), np.asarray(law))
    monkeypatch.setattr(result, "LAW_CACHE_MAX_SIZE", lp.size - 1)  # too large to keep: computed each time
    a, b = result.bon_law_table(lp, N + 2), result.bon_law_table(lp, N + 2)
    assert a is not b and np.array_equal(_bits(a), _bits(b))


def test_law_cache_keeps_the_most_recent(monkeypatch):
    monkeypatch.setattr(result, "_LAW_CACHE", type(result._LAW_CACHE)())
    monkeypatch.setattr(result, "LAW_CACHE_SIZE", 2)
    lp = _table(1, 3, 5)
    first = result.bon_law_table(lp, 2)
    result.bon_law_table(lp, 3)
    assert result.bon_law_table(lp, 2) is first  # used again: now the most recent
    result.bon_law_table(lp, 4)  # evicts N = 3
    assert len(result._LAW_CACHE) == 2 and result.bon_law_table(lp, 2) is first


@pytest.mark.parametrize("X, Y, n, N", [(6, 9, 5, 3), (1, 40, 12, 7)])
def test_sft_trials_with_the_law_given_equal_the_law_in_the_program(X, Y, n, N):
    lp = jnp.asarray(_table(X + Y, X, Y))
    mu = jnp.asarray(np.arange(1.0, X + 1) / np.arange(1.0, X + 1).sum())
    log_mu = jnp.log(mu)
    cls = TabularClass(X, Y)
    keys = jax.random.split(jax.random.key(3), 16)
    n_cap = capacity(n)

    def batch(law):
        return jax.jit(lambda ks, law: jax.vmap(lambda k: sft_trial_core(
            k, lp, log_mu, mu, n, float(N), 0.4, cls.arrays, cls.kind, n_cap, law=law))(ks))(keys, law)

    got = batch(result.bon_law_table(np.asarray(lp), N))
    want = jax.jit(lambda ks: jax.vmap(lambda k: sft_trial_core(
        k, lp, log_mu, mu, n, float(N), 0.4, cls.arrays, cls.kind, n_cap))(ks))(keys)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(_bits(g), _bits(w))
    assert len(set(np.asarray(got[0]).tolist())) > 1 or X == 1  # errors that can differ


def test_engine_bon_and_oracle_shortcut_draw_from_the_law_in_the_program():
    X, Y, N = 5, 12, 4
    lp = _table(7, X, Y)
    mu = np.full(X, 1.0 / X)
    key = jax.random.key(5)
    # the engine's inference-time BoN against bon_core with the law computed in the program
    base = TabularLM.from_log_probs(lp)
    lp = np.asarray(base.log_table())  # the table the oracle and the problem hold
    pb = Problem("ties", base, mu)
    errs = run_trials(pb, "bon", key, 300, 0.3, 0.3, N=N, progress=False).errors
    keys = jax.random.split(key, 300)
    star = np.asarray(core.argmax_set(jnp.asarray(lp)))
    xy = jax.jit(jax.vmap(lambda k: bon_core(k, jnp.asarray(lp), jnp.log(jnp.asarray(mu)), float(N), 1, 8).info))(keys)
    x, y = np.asarray(xy[0])[:, 0], np.asarray(xy[1])[:, 0]
    np.testing.assert_array_equal(errs, np.where(star[x, y], 0.0, 1.0))
    assert 0 < errs.mean() < 1
    # the oracle's shortcut against draw_from_rows of the law computed in the program
    oracle = Oracle(base, mu)
    xs = np.repeat(np.arange(X), 40)
    y1, lp1 = oracle.best_of_n(key, xs, N)
    y2, _ = oracle.best_of_n(key, xs, N)  # the kept law: the same draws
    want = jax.jit(lambda k, t, x: draw_from_rows(k, core.bon_law(t, float(N)), x))(key, jnp.asarray(lp), xs)
    np.testing.assert_array_equal(y1, np.asarray(want))
    np.testing.assert_array_equal(y1, y2)
    np.testing.assert_array_equal(lp1, lp[xs, y1])
    assert oracle.queries == 2 * N * xs.size
    assert len(set(y1[xs == 0].tolist())) == 2  # row 0's tied argmax: both drawn


def test_counts_mode_takes_the_law_given_with_the_bits_of_the_law_in_the_program():
    """The counts mode's program takes the host's law (bon_law_table) as an argument: its outputs are
    those of the same program computing core.bon_law in it (the program before 2026-12-08)."""
    from functools import partial

    from sharpsim.algorithms import sft
    from sharpsim.evaluation import tabular_star_columns

    X, Y, n, N, delta, per = 6, 9, 40, 3, 0.4, 256
    weights = np.arange(1.0, X + 1)
    pb = Problem("counts", TabularLM.from_log_probs(_table(11, X, Y)), weights / weights.sum())
    lp, mu = np.asarray(pb.logp), jnp.asarray(pb.mu)  # the tables the engine reads
    star = tuple(jnp.asarray(v) for v in tabular_star_columns(lp))
    ks = jax.random.split(jax.random.key(8), 2 * per)

    @partial(jax.jit, static_argnames=("per",))
    def law_in_the_program(keys, logp, mu, n, N, delta, star, per):
        return sft._sft_counts_map(keys, core.bon_law(logp, N), mu, n, N, delta, star, per)

    got = sft._sft_counts_scan(ks, result.bon_law_table(lp, N), mu, n, float(N), delta, star, per)
    want = law_in_the_program(ks, jnp.asarray(lp), mu, n, float(N), delta, star, per)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(_bits(g), _bits(w))
    errs = np.asarray(got[0])
    assert 0 < errs.mean() < 1 and len(set(errs.tolist())) > 2  # errors that can differ
    # and the engine runs that program
    run = run_trials(pb, "sft", jax.random.key(8), 2 * per, 0.3, delta, n=n, N=N, cls=TabularClass(X, Y),
                     progress=False, counts=True, chunk=per)
    np.testing.assert_array_equal(_bits(run.errors), _bits(errs))
