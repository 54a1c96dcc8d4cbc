"""sharpsim.evaluation: the tabular SFT fast path (no [X, Y] table per trial) bit for bit against the generic MLE -> error_core path."""

import jax
import numpy as np
import pytest

from sharpsim.engine import run_trials
from sharpsim.instances.problems import random_problem


def _tie_problem():
    """6 prompts, 5 responses: two-way argmax ties (also among tiny masses), a row with a zero,
    a unique argmax, and small mu(x) so that prompts go unseen at small n."""
    from sharpsim.instances.problems import Problem

    p = np.array([[0.4, 0.4, 0.1, 0.1, 0.0],
                  [0.5, 0.2, 0.1, 0.1, 0.1],
                  [0.1, 0.3, 0.1, 0.3, 0.2],
                  [0.35, 0.15, 0.15, 0.35, 0.0],
                  [0.05, 0.05, 0.45, 0.45, 0.0],
                  [0.0, 0.0, 0.0, 0.5, 0.5]])
    mu = np.array([0.3, 0.25, 0.2, 0.15, 0.07, 0.03])
    return Problem("ties", p, mu)


def _tie3_problem():
    """Y = 3 with two-way ties: an unseen prompt's uniform row puts 2/3 on y*(x), a success at delta = 1/2."""
    from sharpsim.instances.problems import Problem

    p = np.array([[0.4, 0.4, 0.2], [0.1, 0.45, 0.45], [0.6, 0.3, 0.1], [0.3, 0.35, 0.35]])
    return Problem("ties3", p, np.array([0.5, 0.3, 0.15, 0.05]))


def test_tabular_fast_path_bit_identical_to_generic(key):
    """run_trials' tabular SFT fast path (no [X, Y] tables per trial) gives errors IDENTICAL to
    the generic counts -> MLE -> error_core path, on problems with two-way argmax ties, zeros,
    unseen prompts (small n) and thresholds hit exactly (delta = 1/2: q(y*|x) = 1/2 is a failure);
    shortcut and literal draws; chunked and not."""
    from sharpsim.classes import TabularClass
    from sharpsim.evaluation import tabular_star_columns

    ties = _tie_problem()
    a, b, two = (np.asarray(v) for v in tabular_star_columns(ties.logp))
    assert two.tolist() == [True, False, True, True, True, True]
    assert a.tolist() == [0, 0, 1, 0, 2, 3] and b.tolist() == [1, 0, 3, 3, 3, 4]
    rnd = random_problem(jax.random.key(9), 12, 9, K=2, alpha=0.3)
    mixed = 0
    for pb, n, delta, literal, chunk in ((ties, 3, 0.5, False, 6), (ties, 8, 0.5, True, 6), (ties, 8, 0.3, False, None),
                                         (rnd, 5, 0.4, False, 6), (rnd, 8, 0.1, False, None),
                                         (_tie3_problem(), 2, 0.5, False, None)):
        kw = dict(n=n, N=2, cls=TabularClass(pb.X, pb.Y), literal=literal, progress=False)
        fast = run_trials(pb, "sft", key, 40, 0.3, delta, chunk=chunk, **kw)  # chunk 6: padded, 7 lax.map steps
        slow = run_trials(pb, "sft", key, 40, 0.3, delta, fast=False, **kw)
        np.testing.assert_array_equal(fast.errors, slow.errors)
        assert fast.queries == slow.queries == n * 2
        mixed += len(set(fast.errors.tolist())) > 2
    assert mixed >= 5  # non-trivial mixes of outcomes, so identity is not vacuous


def test_fast_path_with_the_search_in_the_program_equals_generic(monkeypatch):
    """Tables above HITS_MAX_SIZE keep the binary search inside the program (no host tables): forced
    here on small problems, its errors are the generic path's and the hits path's, bit for bit."""
    import sharpsim.algorithms.sft as sft
    from sharpsim.classes import TabularClass

    cases = [(_tie_problem(), 8, 0.5), (random_problem(jax.random.key(9), 12, 9, K=2, alpha=0.3), 5, 0.4)]
    key = jax.random.key(11)
    kw = lambda pb, n: dict(n=n, N=3, cls=TabularClass(pb.X, pb.Y), progress=False)  # noqa: E731
    hits = [run_trials(pb, "sft", key, 40, 0.3, d, **kw(pb, n)).errors for pb, n, d in cases]
    monkeypatch.setattr(sft, "HITS_MAX_SIZE", 0)
    for (pb, n, delta), h in zip(cases, hits):
        searched = run_trials(pb, "sft", key, 40, 0.3, delta, **kw(pb, n)).errors
        generic = run_trials(pb, "sft", key, 40, 0.3, delta, fast=False, **kw(pb, n)).errors
        np.testing.assert_array_equal(searched, generic)
        np.testing.assert_array_equal(h, generic)
        assert len(set(h.tolist())) > 2


@pytest.mark.parametrize("bits", [4, 3])
def test_hits_counts_packed_or_not_equal_generic(monkeypatch, bits):
    """The hits path's counts: packed into one int64 scatter while n_cap < 2^PACK_BITS, three float64
    columns otherwise; at the tightest limit (n_cap = 8: 4 bits packed, 3 bits not) both give the
    generic path's errors bit for bit, including a prompt holding all 8 draws."""
    import sharpsim.algorithms.sft as sft
    from sharpsim.classes import TabularClass
    from sharpsim.instances.problems import Problem

    monkeypatch.setattr(sft, "PACK_BITS", bits)
    one = Problem("one prompt", np.array([[0.45, 0.45, 0.1], [0.2, 0.5, 0.3]]), np.array([1.0, 0.0]))
    for pb, delta in ((_tie_problem(), 0.5), (one, 0.5), (one, 0.6)):
        kw = dict(n=8, N=2, cls=TabularClass(pb.X, pb.Y), progress=False)
        got = run_trials(pb, "sft", jax.random.key(13), 30, 0.3, delta, **kw).errors
        np.testing.assert_array_equal(got, run_trials(pb, "sft", jax.random.key(13), 30, 0.3, delta, fast=False,
                                                      **kw).errors)


def test_hits_path_pads_less_at_large_n_and_one_prompt_sums(monkeypatch):
    """Above oracle.FINE_FROM the hits path pads n to a power of 2, not 8: threefry's uniforms for a
    shape (m,) are a prefix of those for any longer shape (the premise), so the live draws and the
    errors are unchanged. Forced here at small n (FINE_FROM = 8: n = 100 -> 128 slots, not 512), on a
    one-prompt problem (no prompt uniforms, counts by a sum) and the tie problem, packed and not."""
    import jax.numpy as jnp

    import sharpsim.algorithms.sft as sft
    import sharpsim.oracle as oracle
    from sharpsim.classes import TabularClass
    from sharpsim.instances.problems import Problem

    k = jax.random.key(5)
    np.testing.assert_array_equal(np.asarray(jax.random.uniform(k, (4096,), dtype=jnp.float64))[:100],
                                  np.asarray(jax.random.uniform(k, (100,), dtype=jnp.float64)))
    one = Problem("X = 1", np.array([[0.3, 0.3, 0.25, 0.15]]), np.array([1.0]))
    key = jax.random.key(14)
    for fine_from, bits in ((8, 21), (8, 7), (10**6, 21)):
        monkeypatch.setattr(oracle, "FINE_FROM", fine_from)
        monkeypatch.setattr(sft, "PACK_BITS", bits)  # 7 bits: 128 slots are not packed
        assert oracle.fine_capacity(100) == (128 if fine_from == 8 else 512)
        for pb, delta in ((one, 0.065), (one, 0.06), (_tie_problem(), 0.5)):  # 1 - delta near q(y*) ~ 0.936
            kw = dict(n=100, N=3, cls=TabularClass(pb.X, pb.Y), progress=False)
            got = run_trials(pb, "sft", key, 24, 0.3, delta, **kw).errors
            np.testing.assert_array_equal(got, run_trials(pb, "sft", key, 24, 0.3, delta, fast=False, **kw).errors)
            assert len(set(got.tolist())) >= 2  # successes and failures: the identity is not vacuous


def test_fast_path_tables_follow_the_table_not_the_object():
    """The per-problem tables of the fast path are cached by the table's bytes and N: a problem whose
    table is edited in place, or a second N, gets its own entry (the errors equal a fresh problem's
    on the generic path); the same table and N reuse the entry."""
    import sharpsim.algorithms.sft as sft
    from sharpsim.classes import TabularClass
    from sharpsim.instances.problems import Problem

    pb = _tie_problem()
    key = jax.random.key(12)
    cls = TabularClass(pb.X, pb.Y)
    first = run_trials(pb, "sft", key, 40, 0.3, 0.5, n=6, N=2, cls=cls, progress=False).errors
    entries = len(sft._FAST_CACHE)
    again = run_trials(pb, "sft", key, 40, 0.3, 0.5, n=9, N=2, cls=cls, progress=False).errors
    assert len(sft._FAST_CACHE) == entries  # the same table and N: reused
    np.testing.assert_array_equal(again, run_trials(pb, "sft", key, 40, 0.3, 0.5, n=9, N=2, cls=cls,
                                                    progress=False, fast=False).errors)
    other_N = run_trials(pb, "sft", key, 40, 0.3, 0.5, n=6, N=5, cls=cls, progress=False)
    np.testing.assert_array_equal(other_N.errors, run_trials(pb, "sft", key, 40, 0.3, 0.5, n=6, N=5, cls=cls,
                                                               progress=False, fast=False).errors)
    p = np.exp(pb.logp)
    p[1] = [0.1, 0.6, 0.1, 0.1, 0.1]  # another argmax and law in row 1
    with np.errstate(divide="ignore"):
        pb.logp[...] = np.log(p)
    edited = run_trials(pb, "sft", key, 40, 0.3, 0.5, n=6, N=2, cls=cls, progress=False).errors
    fresh = Problem("edited", p, pb.mu)
    np.testing.assert_array_equal(edited, run_trials(fresh, "sft", key, 40, 0.3, 0.5, n=6, N=2, cls=cls,
                                                     progress=False, fast=False).errors)
    assert not np.array_equal(edited, first)


def test_tabular_fast_error_core_equals_mle_then_error_core():
    """tabular_sft_error_core on raw draws = error_core(MLE_CORES['tabular'](counts)) bit for bit,
    on random draws (with padding entries w = 0) over the tie problem and a random table."""
    import jax.numpy as jnp

    from sharpsim.classes import MLE_CORES, counts_core
    from sharpsim.evaluation import (
        error_core,
        tabular_sft_error_core,
        tabular_star_columns,
    )

    rng = np.random.default_rng(3)
    m = 24
    for pb in (_tie_problem(), _tie3_problem(), random_problem(jax.random.key(2), 7, 11, K=2, alpha=0.4)):
        star = tabular_star_columns(pb.logp)
        lp, mu = jnp.asarray(pb.logp), jnp.asarray(pb.mu)

        @jax.jit
        def both(x, y, w, delta, X=pb.X, Y=pb.Y, star=star, lp=lp, mu=mu):
            q = MLE_CORES["tabular"]({}, counts_core(x, y, w, X, Y), jax.random.key(0))
            return error_core(q, lp, delta, mu), tabular_sft_error_core(x, y, w, *star, delta, mu, Y)

        for t in range(60):
            x = rng.integers(0, pb.X, size=m)
            # responses mostly in the argmax set, so masses at the thresholds occur
            y = np.where(rng.random(m) < 0.7, np.asarray(star[int(rng.integers(0, 2))])[x], rng.integers(0, pb.Y, m))
            w = (np.arange(m) < int(rng.integers(0, m + 1))).astype(float)  # live prefix, padding after
            delta = float(rng.choice([0.5, 1 / 3, 0.25, 0.1]))
            ref, got = (float(v) for v in both(x, y, w, delta))
            assert got == ref, (pb.name, t, got, ref)


def test_tabular_fast_path_declines_argmax_sets_above_two():
    """With some |y*(x)| >= 3 the fast path cannot fix the summation order: it is not used, and
    run_trials still agrees with the generic path."""
    from sharpsim.classes import TabularClass
    from sharpsim.evaluation import tabular_star_columns
    from sharpsim.instances.problems import Problem

    p = np.array([[0.3, 0.3, 0.3, 0.1], [0.7, 0.1, 0.1, 0.1]])
    assert tabular_star_columns(np.log(p)) is None
    pb = Problem("three-way tie", p, np.array([0.6, 0.4]))
    kw = dict(n=6, N=1, cls=TabularClass(2, 4), progress=False)
    k = jax.random.key(11)
    np.testing.assert_array_equal(run_trials(pb, "sft", k, 30, 0.3, 0.4, **kw).errors,
                                  run_trials(pb, "sft", k, 30, 0.3, 0.4, fast=False, **kw).errors)


@pytest.mark.parametrize("X", [1, 33, 100, 257])
def test_failed_mass_adds_in_prompt_order_whatever_the_batch(X):
    """failed_mass = the plain loop `err += mu[x]` bit for bit, vmapped over batches of 1, 3, 8 and 64
    masks (XLA's own sum changes its order with X > 32 and with the batch size)."""
    from sharpsim.evaluation import failed_mass

    rng = np.random.default_rng(X)
    mu = rng.dirichlet(np.ones(X))
    fail = rng.random((64, X)) < 0.5
    loop = []
    for row in fail:
        err = 0.0
        for x in range(X):
            if row[x]:
                err += float(mu[x])
        loop.append(err)
    f = jax.jit(jax.vmap(failed_mass, in_axes=(0, None)))
    for B in (1, 3, 8, 64):
        np.testing.assert_array_equal(np.asarray(f(fail[:B], mu)), np.array(loop[:B]))


def test_error_core_adds_a_rows_mass_in_column_order():
    """With |y*(x)| = 4 tied columns among Y = 50, error_core's mass q(y*(x)|x) is the left-to-right
    sum: delta is set so that 1 - delta is exactly that sum (Sterbenz: it is >= 1/2), so every
    trial is a failure (non-strict event) whatever the vmapped batch; another order of the four
    rounded terms would move the mass by an ulp on many rows."""
    from sharpsim.evaluation import error_core

    X, Y, B = 3, 50, 64
    rng = np.random.default_rng(5)
    p = rng.uniform(0.1, 0.5, (X, Y))
    tied = np.array([3, 17, 18, 44])
    p[:, tied] = 1.0
    p /= p.sum(axis=1, keepdims=True)
    logp = np.log(p)
    q = rng.dirichlet(np.full(Y, 0.3), size=(B, X))
    q[:, :, tied] += rng.uniform(0.5, 2.0, (B, X, 4))  # mass on y* in [1/2, 1]: 1 - (1 - m) = m exactly
    q /= q.sum(axis=-1, keepdims=True)
    mu = np.array([1.0, 0.0, 0.0])
    seq = np.array([sum(float(v) for v in q[b, 0, tied]) for b in range(B)])
    delta = 1.0 - seq
    assert ((1.0 - delta) == seq).all()
    other = np.array([float(q[b, 0, tied[::-1]].sum()) for b in range(len(q))])  # another order
    assert (other != seq).any()  # the test can tell the orders apart
    f = jax.jit(jax.vmap(error_core, in_axes=(0, None, 0, None)))
    for n in (1, 3, 8, len(q)):
        np.testing.assert_array_equal(np.asarray(f(q[:n], logp, delta[:n], mu)), np.ones(n))
