"""Issue 12 fast paths against their literal twins, bit for bit (fixed keys, tables with ties and zeros).

* sampling: the padded flat binary search == numpy.searchsorted(side="right") per row; the cached
  snapped table == vmap(core.snap_ties); best_of_n (two compiled calls, cached snap) ==
  best_of_n_table_core == a literal argmax version written here.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sharpsim
from sharpsim import core, sampling

# vmap(core.snap_ties), the definition of the snapped table, compiled once (run eagerly, op by op,
# it compiles every primitive for every new shape: seconds per call)
_snap_rows = jax.jit(jax.vmap(core.snap_ties))


def _table_with_ties(rng, X, Y):
    g = rng.standard_exponential((X, Y))
    g[:, 1:4] = g[:, :1]  # exact ties
    g[:, 4:6] = g[:, 6:7] * (1 + 1e-14)  # near ties
    g[:, -3:] = 0.0  # zeros
    p = g / g.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore"):
        return np.log(p)


def _literal_bon(key, lp, x, N):
    """The literal sampler: per-row searchsorted, vmap(snap_ties), jnp.argmax (the replaced code)."""
    lp = jnp.asarray(lp)
    x = jnp.asarray(x)
    B, Y = x.shape[0], lp.shape[1]
    k1, k2 = jax.random.split(key)
    u = jax.random.uniform(k1, (B, N), dtype=jnp.float64)
    cdf = np.asarray(jnp.cumsum(jnp.exp(lp), axis=-1))
    q = np.asarray(u * jnp.asarray(cdf)[x, -1][:, None])
    xs = np.asarray(x)
    draws = np.stack([np.searchsorted(cdf[xs[b]], q[b], side="right") for b in range(B)])
    draws = np.minimum(draws, Y - 1)
    scores = np.asarray(_snap_rows(lp))[xs[:, None], draws]
    best = scores.max(axis=-1, keepdims=True)
    prio = np.asarray(jax.random.uniform(k2, (B, N), dtype=jnp.float64))
    pick = np.argmax(np.where(scores == best, prio, -1.0), axis=-1)
    return draws[np.arange(B), pick], draws


@pytest.mark.parametrize("X, Y, N, B", [(3, 7, 5, 40), (4, 1024, 8, 30)])
def test_best_of_n_fast_paths_equal_literal_twin(X, Y, N, B):
    rng = np.random.default_rng(X * 1000 + Y)
    lp = _table_with_ties(rng, X, Y)
    x = rng.integers(0, X, size=B)
    key = jax.random.PRNGKey(X + Y + N)
    y_lit, d_lit = _literal_bon(key, lp, x, N)
    y_tab, d_tab = sampling.best_of_n_table_core(key, jnp.asarray(lp), jnp.asarray(x), jnp.zeros(N))
    snapped = sampling.snapped_table(lp)
    y_fast, d_fast = sampling.best_of_n_snapped_core(key, jnp.asarray(lp), snapped, jnp.asarray(x), jnp.zeros(N))
    np.testing.assert_array_equal(np.asarray(d_tab), d_lit)
    np.testing.assert_array_equal(np.asarray(d_fast), d_lit)
    np.testing.assert_array_equal(np.asarray(y_tab), y_lit)
    np.testing.assert_array_equal(np.asarray(y_fast), y_lit)
    y_pub = sharpsim.best_of_n(key, sharpsim.TabularLM(np.exp(lp)), x, N).y
    np.testing.assert_array_equal(y_pub, np.asarray(
        sampling.best_of_n_table_core(key, jnp.asarray(sharpsim.TabularLM(np.exp(lp)).log_table()),
                                      jnp.asarray(x), jnp.zeros(N))[0]))


def test_snapped_table_cache_is_keyed_by_bits():
    rng = np.random.default_rng(7)
    lp = _table_with_ties(rng, 3, 50)
    ref = np.asarray(_snap_rows(jnp.asarray(lp)))
    a = sampling.snapped_table(lp)
    assert sampling.snapped_table(lp.copy()) is a  # same bits: reused
    np.testing.assert_array_equal(np.asarray(a), ref)
    lp2 = lp.copy()
    lp2[0, 0] = np.nextafter(lp2[0, 0], 0.0)  # one ulp differs: recomputed
    b = sampling.snapped_table(lp2)
    assert b is not a
    np.testing.assert_array_equal(np.asarray(b), np.asarray(_snap_rows(jnp.asarray(lp2))))


# --------------------------------------------------------------------------- bon_law / snap_ties
# The literal twin: the formulation before issue 12 (lax.cummax / cummin, jnp.argsort(stable=True),
# the two logs of S_<= and S_< taken per entry).


def _tie_groups_literal(asc):
    Y = asc.shape[0]
    gap = jnp.diff(asc)
    brk = jnp.concatenate([jnp.ones(1, dtype=bool), ~(gap <= core.tie_tol(asc[1:]))])
    idx = jnp.arange(Y)
    start = jax.lax.cummax(jnp.where(brk, idx, 0))
    brk_next = jnp.concatenate([brk[1:], jnp.ones(1, dtype=bool)])
    end = jax.lax.cummin(jnp.where(brk_next, idx + 1, Y), reverse=True)
    return start, end


def _bon_row_literal(lp, N):
    Y = lp.shape[0]
    order = jnp.argsort(lp, stable=True)
    asc = lp[order]
    n_lt, n_le = _tie_groups_literal(asc)
    p_asc = jnp.exp(asc)
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
    law_asc = jnp.where(jnp.isneginf(asc), 0.0, level / size)
    return jnp.zeros_like(lp).at[order].set(law_asc, unique_indices=True)


def _snap_literal(lp):
    order = jnp.argsort(lp, stable=True)
    asc = lp[order]
    _, end = _tie_groups_literal(asc)
    snapped = jnp.where(jnp.isneginf(asc), -jnp.inf, asc[end - 1])
    return jnp.zeros_like(lp).at[order].set(snapped, unique_indices=True)


_bon_literal = jax.jit(jax.vmap(_bon_row_literal, in_axes=(0, None)))
_snap_rows_literal = jax.jit(jax.vmap(_snap_literal))


def _bits(a):
    return np.asarray(a).view(np.int64)


@pytest.mark.parametrize("seed", range(2))
def test_bon_law_and_snap_ties_equal_literal_twin_bit_for_bit(seed):
    rng = np.random.default_rng(100 + seed)
    X, Y = int(rng.integers(1, 8)), int(rng.integers(1, 400))
    g = rng.standard_exponential((X, Y))
    g[g < 0.3] = 0.0  # zeros
    g[:, 0] += 0.1
    g[:, Y // 2:] = np.round(g[:, Y // 2:], 1)  # exact ties
    with np.errstate(divide="ignore"):
        lp = np.log(g / g.sum(axis=1, keepdims=True))
    if Y > 3:
        lp[:, 1] = lp[:, 2] * (1 + 1e-14)  # a near tie
    j = jnp.asarray(lp)
    for N in (1.0, 2.0, 16.0, 1e6, 1e300):
        np.testing.assert_array_equal(_bits(core.bon_law(j, N)), _bits(_bon_literal(j, N)))
    np.testing.assert_array_equal(_bits(_snap_rows(j)), _bits(_snap_rows_literal(j)))


def test_bon_law_equals_literal_twin_on_a_long_row_with_ties():
    rng = np.random.default_rng(5)
    g = rng.standard_exponential(20_000)
    g[:500] = g[0]
    g[-300:] = 0.0
    with np.errstate(divide="ignore"):
        j = jnp.asarray(np.log(g / g.sum())[None, :])
    np.testing.assert_array_equal(_bits(core.bon_law(j, 16.0)), _bits(_bon_literal(j, 16.0)))


# --------------------------------------------------------------------------- validation
from sharpsim import AutoregressiveLM  # noqa: E402
from sharpsim._validate import check_table, row_sums  # noqa: E402  (the function under test)


@pytest.mark.parametrize("Y", list(range(1, 12)) + [16, 33])
def test_row_sums_equal_numpy_sum_bit_for_bit(Y):
    rng = np.random.default_rng(Y)
    a = rng.random((2000, Y)) * 10.0 ** rng.uniform(-30, 0, (2000, 1))
    a[::7, 0] = 0.0
    np.testing.assert_array_equal(row_sums(a).view(np.int64), a.sum(axis=1).view(np.int64))


def test_check_table_equals_literal_normalisation_and_keeps_its_errors():
    rng = np.random.default_rng(3)
    p = rng.random((500, 4))
    p /= p.sum(axis=1, keepdims=True)
    lit = p / p.sum(axis=1)[:, None]
    own = p.copy()
    out = check_table(own, "t", copy=False)
    assert out is own  # normalised in place
    np.testing.assert_array_equal(out.view(np.int64), lit.view(np.int64))
    np.testing.assert_array_equal(check_table(p, "t").view(np.int64), lit.view(np.int64))
    for bad, msg in [(np.nan, "contains NaN"), (np.inf, "infinite"), (-0.1, "negative probability")]:
        q = p.copy()
        q[3, 2] = bad
        with pytest.raises(ValueError, match=msg):
            check_table(q, "t")
    with pytest.raises(ValueError, match="must sum to 1"):
        check_table(p * 1.1, "t")


@pytest.mark.parametrize("V, H", [(2, 5), (4, 6), (9, 3)])
def test_autoregressive_construction_equals_literal_twin(V, H):
    rng = np.random.default_rng(V * H)
    conds = []
    for h in range(H):
        g = rng.standard_exponential((2, V**h, V))
        g[g < 0.2] = 0.0
        g[..., 0] += 0.1
        conds.append(g / g.sum(axis=-1, keepdims=True))
    before = [c.copy() for c in conds]
    m = AutoregressiveLM(conds)
    for c, b in zip(conds, before):
        np.testing.assert_array_equal(c, b)  # the caller's arrays are untouched
    for c, got in zip(conds, m.conditionals):
        flat = c.reshape(-1, V).astype(np.float64)
        with np.errstate(divide="ignore"):
            lit = np.log(flat / flat.sum(axis=1)[:, None]).reshape(c.shape)
        np.testing.assert_array_equal(got.view(np.int64), lit.view(np.int64))


# --------------------------------------------------------------------------- guided search (best_of_n)
# sampling._count_le_guided starts each draw's search from a per-row guide table; on rows whose
# cumulative sums are non-decreasing it must return numpy.searchsorted(side="right") exactly,
# including at the buckets' edges u = k / K, where a wrong bracket would show first.

_guided = jax.jit(sampling._count_le_guided, static_argnums=(2, 3))


def _guided_vs_searchsorted(lp, u, x):
    flat, total = sampling._flat_cdf(jnp.asarray(lp))
    Y = lp.shape[1]
    guide = sampling._guide_table(flat, total, Y)
    if guide is None:
        return None
    q = np.asarray(jnp.asarray(u) * total[jnp.asarray(x)][:, None])
    got = np.asarray(_guided(flat, guide[0], Y, guide[1], jnp.asarray(x), jnp.asarray(u), jnp.asarray(q)))
    L = 1 << max(1, Y.bit_length())
    cdf = np.asarray(flat).reshape(lp.shape[0], L)[:, :Y]
    want = np.stack([np.searchsorted(cdf[x[b]], q[b], side="right") for b in range(len(x))])
    np.testing.assert_array_equal(got, want)
    # best_of_n searches with the steps rounded up (sampling.GUIDE_STEPS_MULTIPLE): the same counts
    steps = sampling._search_steps(guide[1])
    assert steps >= guide[1] and steps % sampling.GUIDE_STEPS_MULTIPLE == 0
    if steps != guide[1]:
        got = np.asarray(_guided(flat, guide[0], Y, steps, jnp.asarray(x), jnp.asarray(u), jnp.asarray(q)))
        np.testing.assert_array_equal(got, want)
    return guide[1]


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), Y=st.sampled_from([1, 2, 3, 7, 64, 300]),
       kind=st.sampled_from(["exp", "zeros", "peaked", "ties"]))
def test_guided_search_equals_searchsorted_at_bucket_edges(seed, Y, kind):
    rng = np.random.default_rng(seed)
    X = 3
    g = rng.standard_exponential((X, Y))
    if kind == "zeros":
        g[:, rng.random(Y) < 0.5] = 0.0
        g[:, 0] += 0.1
    elif kind == "peaked":
        g = g**8
        g[:, 0] += 1e3
    elif kind == "ties":
        g[:, : Y // 2] = 1.0
    with np.errstate(divide="ignore"):
        lp = np.log(g / g.sum(axis=1, keepdims=True))
    K = 1 << max(1, Y.bit_length())
    edges = np.arange(K, dtype=np.float64) / K  # u on every bucket edge, its neighbours, and random u
    u = np.concatenate([edges, np.nextafter(edges[1:], 0.0), np.nextafter(edges, 1.0), rng.random(200)])
    u = np.tile(u, (X, 1))
    steps = _guided_vs_searchsorted(lp, u, np.arange(X))
    if steps is None:  # no guide only when a row's cumulative sums step down (then: the plain search)
        flat, _ = sampling._flat_cdf(jnp.asarray(lp))
        cdf = np.asarray(flat).reshape(X, K)[:, :Y]
        assert np.any(cdf[:, 1:] < cdf[:, :-1])
    else:
        assert steps <= Y.bit_length() + 1


def test_guide_needs_non_decreasing_rows_and_shortens_the_search():
    lp = np.log(np.full((2, 1000), 1e-3))
    flat, total = sampling._flat_cdf(jnp.asarray(lp))
    guide, steps = sampling._guide_table(flat, total, 1000)
    assert steps <= 2  # uniform rows: each of the 1024 buckets holds at most one or two responses
    broken = np.asarray(flat).copy()
    broken[5] = np.nextafter(broken[4], 0.0)  # one entry an ulp below its left neighbour
    assert sampling._guide_table(jnp.asarray(broken), total, 1000) is None


def test_best_of_n_guided_and_plain_paths_equal_the_table_core():
    rng = np.random.default_rng(11)
    lm = sharpsim.TabularLM.from_log_probs(_table_with_ties(rng, 5, 700))
    lp = np.array(lm.log_table())
    x = rng.integers(0, 5, size=64)
    key = jax.random.PRNGKey(5)
    ref = np.asarray(sampling.best_of_n_table_core(key, jnp.asarray(lp), jnp.asarray(x), jnp.zeros(9))[0])
    t = sampling.table_arrays(lp)
    assert t.guide is not None
    np.testing.assert_array_equal(sharpsim.best_of_n(key, lm, x, 9).y, ref)
    sampling._SNAP_CACHE.clear()
    saved = sampling._SNAP_CACHE_MAX_ENTRIES
    sampling._SNAP_CACHE_MAX_ENTRIES = 10  # not cached, so no guide: the plain search
    try:
        assert sampling.table_arrays(lp).guide is None
        np.testing.assert_array_equal(sharpsim.best_of_n(key, lm, x, 9).y, ref)
    finally:
        sampling._SNAP_CACHE_MAX_ENTRIES = saved


@pytest.mark.parametrize("a", [np.arange(7.0) - 3.5, np.arange(12, dtype=np.int32).reshape(3, 4),
                               np.array([[True, False]]), np.array([-0.0, np.inf, -np.inf, 5e-324])])
def test_to_device_copies_without_building_a_program(a, traced):
    """core.to_device: jnp.asarray's result (dtype, bits, a copy the caller's later writes do not
    reach) without the identity program jnp.asarray traces for every new shape."""
    src = a.copy()
    traced.clear()
    d = core.to_device(src)
    assert traced == []
    want = jnp.asarray(a)
    assert d.dtype == want.dtype and d.shape == want.shape and not d.weak_type
    src[...] = src.flat[0]  # the caller changes its array afterwards
    np.testing.assert_array_equal(np.asarray(d).view(np.uint8), np.asarray(want).view(np.uint8))
    assert core.to_device(d) is d  # JAX arrays pass through


# --------------------------------------------------------------------------- adaptive lanes


def _lanes_reference(keys, logp, cdf, x, log_stop, max_draws):
    """One vmapped while loop over all lanes: sampling.adaptive_one per lane, as the oracle's core."""
    def one(k, xx, ls):
        y, kk, _ = sampling.adaptive_one(k, logp[xx], cdf[xx], ls, max_draws)
        return y, kk

    return jax.vmap(one)(keys, x, log_stop)


def test_adaptive_lanes_equal_one_loop_on_both_branches():
    """oracle.adaptive_lanes (batches of L / ADAPTIVE_COMPACT lanes: first every lane up to
    ADAPTIVE_FIRST_DRAWS draws, then the lanes still drawing until they stop) gives every lane the
    same (y, k) as one vmapped loop, bit for bit: with no slow lane, with few (one tail batch), with
    many (several tail batches), with padding lanes (log mu_stop = -inf) and the cap."""
    from sharpsim import oracle

    rng = np.random.default_rng(11)
    first, frac = oracle.ADAPTIVE_FIRST_DRAWS, oracle.ADAPTIVE_COMPACT
    # rows: deterministic (stops at ceil(mu_stop) draws), two-way tie, flat over 64 (slow), zeros
    Y = 64
    rows = np.full((4, Y), -np.inf)
    rows[0, 3] = 0.0
    rows[1, [5, 9]] = np.log(0.5)
    rows[2] = -np.log(Y)
    rows[3, :10] = np.log(rng.dirichlet(np.ones(10)))
    logp = jnp.asarray(rows)
    cdf = jnp.cumsum(jnp.exp(logp), axis=-1)
    covered = set()
    L = 97  # one compiled shape for the four cases
    for case, (p_slow, mu_stop, max_draws) in enumerate(((0.05, 2.0, 10**9), (0.9, 8.0, 10**9), (0.1, 40.0, 30),
                                                         (0.0, 1.5, 10**9))):
        x = np.where(rng.uniform(size=L) < p_slow, 2, rng.choice([0, 1, 3], size=L))
        ls = np.where(rng.uniform(size=L) < 0.1, -np.inf, np.log(mu_stop))
        keys = jax.random.split(jax.random.key(case), L)
        got = oracle.adaptive_lanes(keys, logp, cdf, jnp.asarray(x), jnp.asarray(ls), max_draws)
        want = _lanes_reference(keys, logp, cdf, jnp.asarray(x), jnp.asarray(ls), max_draws)
        for g, w in zip(got, want):
            np.testing.assert_array_equal(np.asarray(g), np.asarray(w), err_msg=f"case {case}")
        slow = int((np.asarray(want[1]) > first).sum())  # lanes still drawing after the first draws
        covered.add("none" if slow == 0 else "one tail batch" if slow <= max(1, L // frac) else "several tail batches")
    assert covered == {"none", "one tail batch", "several tail batches"}, covered


def test_first_lanes_are_the_stable_argsort_prefix():
    """oracle._first_lanes (the batch of adaptive_lanes) equals jnp.argsort(~eligible, stable=True)[:C]."""
    from sharpsim import oracle

    rng = np.random.default_rng(4)
    for L, p in ((1, 0.5), (7, 0.0), (7, 1.0), (97, 0.1), (97, 0.7), (256, 0.3)):
        e = rng.uniform(size=L) < p
        for C in sorted({1, max(1, L // 4), L}):
            want = np.argsort(~e, kind="stable")[:C]
            np.testing.assert_array_equal(np.asarray(oracle._first_lanes(jnp.asarray(e), C)), want)


def test_adaptive_engine_batch_equals_the_vmapped_core():
    """The engine's adaptive chunk (draws of all its trials through adaptive_lanes) equals the plain
    vmap of adaptive_core followed by the exact error, bit for bit (hard and random problems)."""
    import math

    from sharpsim.algorithms import adaptive as AD
    from sharpsim.core import to_device
    from sharpsim.instances.problems import hard_problem_padded, random_problem
    from sharpsim.oracle import capacity

    probs = [hard_problem_padded(3, 20, 0.3, 33, jax.random.key(1)), random_problem(jax.random.key(2), 6, 9)]
    for prob, mu_stop, (n, T) in zip(probs, (math.log(8.0), 2.5), ((50, 8), (1, 3))):  # one shape each
        cls = prob.class_for("adaptive", mu_stop)
        keys = jax.random.split(jax.random.key(n), T)
        args = (keys, to_device(prob.logp), to_device(prob.log_mu), to_device(prob.mu), n, mu_stop, 10**9, 0.25,
                cls.arrays)
        a = AD._adaptive_batch(*args, kind=cls.kind, n_cap=capacity(n))
        b = AD._adaptive_batch_vmapped(*args, kind=cls.kind, n_cap=capacity(n))
        for u, v in zip(a, b):
            np.testing.assert_array_equal(np.asarray(u).view(np.int64), np.asarray(v).view(np.int64))
