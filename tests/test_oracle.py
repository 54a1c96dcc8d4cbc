"""The sample-and-evaluate oracle: counting, what it reveals, and the shortcut vs literal twins.

Monte Carlo checks use fixed keys and 5-sigma (or Clopper-Pearson at 1e-6) tolerances.
"""

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats
from strategies import weighted_rows  # tests/ is on sys.path (rootdir conftest, no package)

import sharpsim as s
from sharpsim import bounds
from sharpsim.oracle import (
    Oracle,
    adaptive_draws_core,
    bon_draws_core,
    bon_draws_literal_core,
    capacity,
    pair_draws_core,
    prompts_core,
)

# a table with ties (row 0: two maxima) and zeros (rows 0 and 2)
TABLE = np.array([
    [0.3, 0.3, 0.0, 0.25, 0.15],
    [0.05, 0.3, 0.1, 0.25, 0.3],
    [0.0, 0.0, 0.6, 0.4, 0.0],
])
MU = np.array([0.5, 0.3, 0.2])
with np.errstate(divide="ignore"):
    LOGTAB = np.log(TABLE)


def brute_bon_law(p, N):
    """Independent best-of-N law by enumerating all Y^N draw tuples (uniform tie-break)."""
    Y = len(p)
    law = np.zeros(Y)
    for tup in itertools.product(range(Y), repeat=N):
        prob = math.prod(p[i] for i in tup)
        if prob == 0:
            continue
        top = max(p[i] for i in tup)
        winners = [i for i in tup if p[i] == top]  # each draw position equally likely
        for w in winners:
            law[w] += prob / len(winners)
    return law


def five_sigma_ok(counts, probs, total):
    sd = np.sqrt(total * probs * (1 - probs))
    return np.all(np.abs(counts - total * probs) <= 5 * sd + 1e-9)


def test_counters_and_revealed_values(key):
    o = Oracle(TABLE, MU)
    x = o.sample_prompts(key, 7)
    assert o.counts() == {"queries": 0, "extended_queries": 0, "prompts": 7}
    y, lp = o.sample(jax.random.fold_in(key, 1), x, num=3)
    assert y.shape == (7, 3) and o.queries == 21
    np.testing.assert_array_equal(lp, LOGTAB[x[:, None], y])  # only drawn responses
    yb, lpb = o.best_of_n(jax.random.fold_in(key, 2), x, 5)
    assert o.queries == 21 + 35
    yl, _ = o.best_of_n(jax.random.fold_in(key, 3), x, 5, shortcut=False)
    assert o.queries == 21 + 70
    e = o.evaluate(x, yb)
    np.testing.assert_array_equal(e, lpb)
    assert o.extended_queries == 7 and o.queries == 91
    d = o.sft_data(jax.random.fold_in(key, 4), 10, 4)
    assert int(d.queries) == 40 and o.queries == 131 and o.prompts == 17
    pr = o.pair_data(jax.random.fold_in(key, 5), 6)
    assert int(pr[-1]) == 12 and o.queries == 143
    ad = o.adaptive_data(jax.random.fold_in(key, 6), 5, 2.0)
    assert o.queries == 143 + int(np.sum(np.asarray(ad.draws)))
    assert np.all(np.asarray(ad.draws)[5:] == 0)
    o.reset()
    assert o.counts() == {"queries": 0, "extended_queries": 0, "prompts": 0}


def test_evaluate_gathers_on_the_host_without_building_xla_programs(traced):
    """The oracle's log pi_base(y|x) lookups are numpy gathers: a batch of a new size traces no JAX
    program (eager JAX indexing built about eight XLA programs per batch shape, traced, lowered and
    looked up in the compilation cache on every run)."""
    o = Oracle(TABLE, MU)
    traced.clear()
    for B in (3, 11):  # batch sizes no other test uses
        x = np.arange(B) % 3
        y = (np.arange(B) * 7) % 5
        e = o.evaluate(x, y)
        assert traced == [], f"evaluate traced JAX programs: {traced}"
        np.testing.assert_array_equal(e, LOGTAB[x, y])
        assert e.flags.writeable and e.dtype == np.float64
    assert o.extended_queries == 14


def test_the_oracle_keeps_its_own_copy_of_the_table(key):
    """Changing the caller's table after building the oracle changes nothing it reveals."""
    p = TABLE.copy()
    o = Oracle(p, MU)
    x = np.array([0, 1, 2, 1])
    y, lp = o.best_of_n(key, x, 3)
    p[:] = 1.0 / p.shape[1]  # the caller reuses its array
    np.testing.assert_array_equal(o.evaluate(x, y), LOGTAB[x, y])
    np.testing.assert_array_equal(lp, LOGTAB[x, y])
    y2, lp2 = o.best_of_n(key, x, 3)  # the device table did not change either: same key, same draws
    np.testing.assert_array_equal(y2, y)
    np.testing.assert_array_equal(lp2, lp)


def test_bad_inputs():
    o = Oracle(TABLE, MU)
    with pytest.raises(ValueError, match="prompt indices"):
        o.sample(jax.random.key(0), [3])
    with pytest.raises(TypeError, match="integer"):
        o.sample(jax.random.key(0), [0.5])
    with pytest.raises(ValueError, match="N must be >= 1"):
        o.best_of_n(jax.random.key(0), [0], 0)
    with pytest.raises(ValueError, match="mu_stop must be > 0"):
        o.adaptive(jax.random.key(0), [0], -1.0)
    with pytest.raises(ValueError, match="response indices"):
        o.evaluate([0], [9])
    with pytest.raises(ValueError, match="rows of base must sum to 1"):
        Oracle([[0.5, 0.6]])


def test_capacity():
    assert [capacity(n) for n in (1, 8, 9, 64, 65, 1000)] == [8, 8, 64, 64, 512, 4096]


def test_prompts_follow_mu_and_skip_zero_mass(key):
    log_mu = jnp.log(jnp.array([0.0, 0.7, 0.0, 0.3]))
    x = np.asarray(prompts_core(key, log_mu, 1 << 15))
    c = np.bincount(x, minlength=4)
    assert c[0] == 0 and c[2] == 0
    assert five_sigma_ok(c, np.array([0, 0.7, 0, 0.3]), 1 << 15)


@pytest.mark.parametrize("N", [1, 3, 4])
def test_bon_shortcut_and_literal_agree_with_enumeration(key, N):
    """Both twins against an independent enumeration of all draw tuples (ties, zeros)."""
    logp = jnp.log(jnp.asarray(TABLE))
    log_mu = jnp.log(jnp.asarray(MU))
    n = 1 << 15
    exact = np.array([brute_bon_law(list(r), N) for r in TABLE])
    np.testing.assert_allclose(np.asarray(s.core.bon_law(logp, float(N))), exact, atol=1e-12)
    for fn, kk in ((bon_draws_core, 11), (bon_draws_literal_core, 12)):
        d = fn(jax.random.fold_in(key, kk), logp, log_mu, n, N if fn is bon_draws_literal_core else float(N),
               capacity(n))
        x, y = np.asarray(d.x)[:n], np.asarray(d.y)[:n]
        assert int(d.queries) == n * N
        cx = np.bincount(x, minlength=3)
        assert five_sigma_ok(cx, MU, n)
        for r in range(3):
            cy = np.bincount(y[x == r], minlength=5)
            assert five_sigma_ok(cy, exact[r], cx[r]), (fn.__name__, r, cy / cx[r], exact[r])
            assert np.all(cy[exact[r] == 0] == 0)
        np.testing.assert_array_equal(np.asarray(d.logp_y)[:n], LOGTAB[x, y])


def test_bon_shortcut_vs_literal_two_sample(key):
    """Shortcut and literal twin agree in distribution (chi-square two-sample test at 1e-6)."""
    logp = jnp.log(jnp.asarray(TABLE[1:2]))
    n = 1 << 14
    a = bon_draws_core(jax.random.fold_in(key, 1), logp, jnp.zeros(1), n, 6.0, capacity(n))
    b = bon_draws_literal_core(jax.random.fold_in(key, 2), logp, jnp.zeros(1), n, 6, capacity(n))
    ca = np.bincount(np.asarray(a.y)[:n], minlength=5)
    cb = np.bincount(np.asarray(b.y)[:n], minlength=5)
    keep = (ca + cb) > 0
    _, pval, _, _ = stats.chi2_contingency(np.stack([ca[keep], cb[keep]]))
    assert pval > 1e-6


def test_adaptive_stopping_matches_lemma_i1(key):
    """F19: per-prompt mean draws match the exact E[N_mu] and stay under Lemma I.1's bound;
    the failure rate stays under exp(-|y*| mu_stop)."""
    p = np.asarray(jax.random.dirichlet(jax.random.key(7), jnp.full(30, 0.3)))
    p = p / p.sum()
    mu_stop = math.log(20.0)
    n = 1 << 12
    d = adaptive_draws_core(key, jnp.log(jnp.asarray(p))[None], jnp.zeros(1), n, mu_stop, 10**6, capacity(n))
    draws = np.asarray(d.draws)[:n].astype(float)
    exp_N, fail = bounds.adaptive_stopping_exact(p, mu_stop)
    bound = bounds.adaptive_expected_draws(p.max(), 1, mu_stop)
    assert exp_N <= bound
    assert abs(draws.mean() - exp_N) <= 5 * draws.std() / math.sqrt(n)
    assert draws.mean() + 5 * draws.std() / math.sqrt(n) <= bound or draws.mean() <= bound
    wrong = int(np.sum(np.asarray(d.y)[:n] != np.argmax(p)))
    lo, hi = stats.beta.ppf([1e-6 / 2, 1 - 1e-6 / 2], [max(wrong, 1e-9), wrong + 1], [n - wrong + 1, max(n - wrong, 1e-9)])
    assert lo <= fail <= hi or (wrong == 0 and fail < 5.0 / n)
    assert fail <= bounds.adaptive_failure_bound(1, mu_stop)
    # the stopping rule itself: k * max p(y_j) >= mu_stop at the stop
    assert np.all(draws >= 1)


def test_pairs_are_independent_base_draws(key):
    n = 1 << 14
    x, y, y2, lp, lp2, w, q = pair_draws_core(key, jnp.log(jnp.asarray(TABLE)), jnp.log(jnp.asarray(MU)), n,
                                              capacity(n))
    assert int(q) == 2 * n and float(np.sum(np.asarray(w))) == n
    x, y, y2 = (np.asarray(v)[:n] for v in (x, y, y2))
    for r in range(3):
        sel = x == r
        for yy in (y, y2):
            assert five_sigma_ok(np.bincount(yy[sel], minlength=5), TABLE[r], sel.sum())
    np.testing.assert_array_equal(np.asarray(lp2)[:n], LOGTAB[x, y2])


def test_same_key_same_bits(key):
    o1, o2 = Oracle(TABLE, MU), Oracle(TABLE, MU)
    d1, d2 = o1.sft_data(key, 50, 7), o2.sft_data(key, 50, 7)
    np.testing.assert_array_equal(np.asarray(d1.y), np.asarray(d2.y))
    np.testing.assert_array_equal(np.asarray(d1.x), np.asarray(d2.x))


@pytest.mark.parametrize("Y", [1, 3, 4, 5, 16, 17, 100, 255, 256])
def test_two_level_prompt_search_equals_the_binary_search(Y):
    """_search_one (the prompts' two-level search) returns _row_search's index and the plain count
    min(#{j : cdf[j] <= v}, Y - 1) (np.searchsorted), on XLA cumsums of rows with zeros and ties, at
    every cdf value, the floats just below and above it, 0, the total and random points; and XLA's
    cumsum is non-decreasing at these lengths (the premise of SEARCH_ONE_MAX)."""
    from sharpsim.oracle import SEARCH_ONE_MAX, _row_search, _search_one

    assert Y <= SEARCH_ONE_MAX
    rng = np.random.default_rng(Y)
    for trial in range(3):
        p = rng.choice([0.0, 1e-300, 1e-17, 0.25, 1.0, 3.0], size=Y) if trial == 0 else rng.dirichlet(np.full(Y, 0.3))
        p = np.where(rng.random(Y) < 0.3, 0.0, p)
        p[rng.integers(Y)] = 0.5  # some mass
        cdf = jnp.cumsum(jnp.asarray(p))
        c = np.asarray(cdf)
        assert np.all(np.diff(c) >= 0)
        v = np.concatenate([c, np.nextafter(c, -1.0), np.nextafter(c, 2.0 * c[-1] + 1.0), [0.0, c[-1]],
                            rng.random(200) * c[-1]])
        v = np.maximum(v, 0.0)
        want = np.minimum(np.searchsorted(c, v, side="right"), Y - 1)
        got = np.asarray(jax.jit(_search_one)(cdf, jnp.asarray(v)))
        ref = np.asarray(jax.jit(_row_search)(cdf[None, :], jnp.zeros(v.shape, jnp.int32), jnp.asarray(v)))
        np.testing.assert_array_equal(ref, want)
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(np.asarray(jax.jit(_search_one)(cdf, jnp.asarray(v[:6].reshape(2, 3)))),
                                      want[:6].reshape(2, 3))  # any shape of v


# ------------------------------------------------- exact preimages of the inverse-CDF draw

_jit_row_search = None
_jit_inside = jax.jit(lambda lo, hi, v: (lo[None, :] <= v[:, None]) & (v[:, None] < hi[None, :]))
"""The in-program test of bon_hits_core, [Y] bounds x [V] values -> [V, Y] (XLA's comparisons: subnormal
operands count as zero there, as in the search)."""


def _jitted_draw_index(cdf, last_live, rows, v):
    """draw_from_rows' index for the values v (the jitted _row_search, then the last-live guard)."""
    global _jit_row_search
    from sharpsim.oracle import _row_search

    if _jit_row_search is None:
        _jit_row_search = jax.jit(_row_search)
    y = np.asarray(_jit_row_search(jnp.asarray(cdf), jnp.asarray(rows, jnp.int32), jnp.asarray(v)))
    return np.minimum(y, np.asarray(last_live)[rows])


def _probe_values(cdf, rng, extra=50):
    """Every value of the row, the floats just below and above each (subnormals among them), 0, values
    outside the row's range and random points."""
    c = cdf  # sorted, not deduplicated: one length per row length (one compilation per shape)
    return np.sort(np.concatenate([c, np.nextafter(c, -np.inf), np.nextafter(c, np.inf), [0.0, -1.0, 2.0],
                                   rng.uniform(c.min() - 0.1, c.max() + 0.1, extra)]))


def _assert_preimages_match_search(cdf, last_live, rng):
    """Every column's [lo, hi) of _search_preimages is exactly where the jitted search lands on it."""
    from sharpsim.oracle import _search_preimages

    R, Y = cdf.shape
    cols = np.broadcast_to(np.arange(Y), (R, Y))
    lo, hi = _search_preimages(cdf, last_live, cols)
    for r in range(R):
        v = _probe_values(cdf[r], rng)
        y = _jitted_draw_index(cdf, last_live, np.full(v.shape, r), v)
        assert np.all(np.diff(y) >= 0)  # the search is monotone in v, sorted row or not
        inside = np.asarray(_jit_inside(jnp.asarray(lo[r]), jnp.asarray(hi[r]), jnp.asarray(v)))  # [V, Y]
        np.testing.assert_array_equal(inside, y[:, None] == np.arange(Y)[None, :])


@pytest.mark.parametrize("Y", [1, 2, 7, 16, 33])
def test_search_preimages_of_unsorted_rows_equal_the_jitted_search(Y):
    """On arbitrary rows (sorted with dips of an ulp, fully shuffled, with ties; any last_live), the
    intervals [lo, hi) are exactly the values v at which the jitted binary search (then the last-live
    guard) returns each column: tested at every row value, its float neighbours and random points."""
    rng = np.random.default_rng(Y)
    base = np.cumsum(rng.choice([0.0, 1e-17, 0.1, 0.3], size=(4, Y)), axis=1)
    dips = base.copy()
    dips[:, 1::3] = np.nextafter(dips[:, 1::3], -np.inf)  # an ulp below (and maybe below the previous)
    shuffled = rng.permuted(base, axis=1)
    ties = np.round(rng.random((4, Y)) * 3) / 3
    cdf = np.concatenate([base, dips, shuffled, ties])
    last_live = rng.integers(0, Y, size=cdf.shape[0])
    _assert_preimages_match_search(cdf, last_live, rng)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_search_preimages_equal_draw_from_rows_on_drawn_tables(data):
    """search_preimages on probability tables with zeros, ties and tiny entries: the same cdf bits as
    draw_from_rows (XLA's cumulative sum), total = its last entry, and [lo, hi) exactly where the draw
    lands on each column."""
    from sharpsim.oracle import search_preimages

    X, Y = data.draw(st.sampled_from([(3, 9), (2, 40)]))
    p = weighted_rows(data.draw, X, Y, [0.0, 1e-300, 1e-17, 0.1, 0.5, 1.0, 1.0, 3.0])
    cdf = np.asarray(jnp.cumsum(jnp.asarray(p), axis=-1))
    last_live = Y - 1 - np.argmax(p[:, ::-1] > 0, axis=-1)
    total, lo, hi = search_preimages(p, np.broadcast_to(np.arange(Y), (X, Y)))
    np.testing.assert_array_equal(total, cdf[:, -1])
    for r in range(X):
        v = _probe_values(cdf[r], np.random.default_rng(r), extra=20)
        y = _jitted_draw_index(cdf, last_live, np.full(v.shape, r), v)
        inside = np.asarray(_jit_inside(jnp.asarray(lo[r]), jnp.asarray(hi[r]), jnp.asarray(v)))
        np.testing.assert_array_equal(inside, y[:, None] == np.arange(Y)[None, :])


def test_bon_hits_are_the_best_of_n_draws_on_long_unsorted_cumsums():
    """bon_hits_core (one gather per draw) reports exactly whether bon_draws_core's draw for the same
    key hit each marked column, on a 30 x 1000 table whose XLA cumsums are not sorted (the case the
    evaluated preimages exist for), columns: the row's argmax, a zero-mass column, a random one (masked
    on every other row)."""
    from sharpsim import core
    from sharpsim.oracle import bon_hits_core, hits_bounds

    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.full(1000, 0.3), size=30)
    p[:, 500:520] = 0.0
    p /= p.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore"):
        lp, log_mu = np.log(p), np.log(np.full(30, 1 / 30))
    law = np.asarray(core.bon_law(jnp.asarray(lp), 4.0))
    assert np.any(np.diff(np.asarray(jnp.cumsum(jnp.asarray(law), axis=-1)), axis=1) < 0)  # unsorted rows
    cols = np.stack([np.argmax(p, axis=1), np.full(30, 510), rng.integers(0, 1000, 30)], axis=1)
    mask = np.ones(cols.shape, bool)
    mask[::2, 2] = False  # a masked column is never reported
    bounds = jnp.asarray(hits_bounds(law, cols, mask))
    for seed in range(3):
        key = jax.random.key(seed)
        d = bon_draws_core(key, jnp.asarray(lp), jnp.asarray(log_mu), 3000, 4.0, 4096)
        x, hits, w, queries = bon_hits_core(key, jnp.asarray(log_mu), bounds, 3000, 4.0, 4096)
        np.testing.assert_array_equal(np.asarray(x), np.asarray(d.x))
        want = (np.asarray(d.y)[:, None] == cols[np.asarray(d.x)]) & mask[np.asarray(d.x)]
        np.testing.assert_array_equal(np.asarray(hits), want)
        assert want[:, 0].sum() > 100 and not want[:, 1].any()  # the argmax is hit often, a zero column never
        assert int(queries) == int(d.queries) == 3000 * 4
