"""Regression tests of the issue-7 fast paths against independent numpy / python oracles.

* core.argsort_rows (exact stable argsort from two int64 sorts) == numpy's stable argsort;
* core.snap_ties / core.bon_law (now computed in sorted order) == plain python tie groups;
* sampling.best_of_n_table_core == best_of_n_core on the gathered rows, bit for bit;
* the adaptive stopping rule stops at k with k p_max == mu_stop exactly (64 * 1/16 == 4),
  in sampling and in the oracle (one shared implementation);
* AutoregressiveLM.log_table (numpy broadcasting) == the jitted enumeration == python loops;
* random_autoregressive: same key same bits, normalised rows, Dirichlet(alpha) moments.
"""

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sharpsim as ss
from sharpsim import core, models, sampling
from sharpsim.oracle import Oracle

TIE = 1e-12


def _rows(draw_seed, Y, kind):
    rng = np.random.default_rng(draw_seed)
    if kind == "levels":  # few distinct values: many exact ties, zeros, +-0.0
        vals = np.array([-np.inf, -0.0, 0.0, -1.0, -1.5, -700.0, -1e-300, 3.0])
        return rng.choice(vals, size=Y)
    lp = np.log(rng.dirichlet(np.full(Y, 0.3)))
    lp[rng.random(Y) < 0.2] = -np.inf
    if Y >= 4:
        k = Y // 4
        lp[:k] = lp[k]  # exact ties
        lp[k : 2 * k] = lp[2 * k] * (1 + 1e-14 * rng.random(k))  # near ties (inside TIE_RTOL)
    return lp


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), Y=st.sampled_from([1, 2, 9, 300]), kind=st.sampled_from(["levels", "dirichlet"]))
def test_argsort_rows_is_numpy_stable_argsort(seed, Y, kind):
    lp = _rows(seed, Y, kind)
    got = np.asarray(jax.jit(core.argsort_rows)(jnp.asarray(lp)))
    # -0.0 and +0.0 compare equal: numpy's stable sort keeps them in index order, as order_key does
    np.testing.assert_array_equal(got, np.argsort(lp, kind="stable"))


def _snap_python(row):
    """Tie groups by a python scan over the sorted values (independent of core)."""
    asc = sorted(row)
    out_level = {}
    groups, cur = [], [asc[0]]
    for a, b in zip(asc, asc[1:]):
        tol = TIE * (1 + (abs(b) if math.isfinite(b) else 0.0))
        if math.isfinite(a) and math.isfinite(b) and b - a <= tol:
            cur.append(b)
        else:
            groups.append(cur)
            cur = [b]
    groups.append(cur)
    for g in groups:
        for v in g:
            out_level[v] = (max(g), len(g), g)
    return groups


def _bon_python(row, N):
    """Best-of-N law by plain python over tie groups: P(level g) = S_<=^N - S_<^N, split equally."""
    p = [math.exp(v) for v in row]
    total = sum(p)
    groups = _snap_python(row)
    law = [0.0] * len(row)
    below = 0.0
    for g in groups:
        members = [i for i, v in enumerate(row) if any(v == w for w in g)]
        mass = sum(p[i] for i in members)
        if math.isfinite(g[0]):
            level = ((below + mass) / total) ** N - (below / total) ** N
            for i in members:
                law[i] = level / len(members)
        below += mass
    return law


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), Y=st.sampled_from([2, 5, 40]), N=st.sampled_from([1.0, 2.0, 7.0, 50.0]))
def test_bon_law_and_snap_ties_match_python_tie_groups(seed, Y, N):
    lp = _rows(seed, Y, "dirichlet")
    if not np.isfinite(lp).any():
        lp[0] = 0.0
    law = np.asarray(core.bon_law(jnp.asarray(lp[None, :]), N))[0]
    np.testing.assert_allclose(law, _bon_python(lp.tolist(), N), rtol=1e-9, atol=1e-15)
    snapped = np.asarray(jax.jit(core.snap_ties)(jnp.asarray(lp)))
    for g in _snap_python(lp.tolist()):
        for v in g:
            np.testing.assert_array_equal(snapped[lp == v], max(g))


def test_bon_law_hand_checked_with_tie_and_zero():
    with np.errstate(divide="ignore"):
        lp = np.log([[0.4, 0.2, 0.4, 0.0], [0.5, 0.3, 0.2, 0.0]])
    law = np.asarray(core.bon_law(jnp.asarray(lp), 3.0))
    np.testing.assert_allclose(law[0], [(1 - 0.008) / 2, 0.008, (1 - 0.008) / 2, 0.0], rtol=1e-13)
    np.testing.assert_allclose(law[1], [1 - 0.125, 0.125 - 0.008, 0.008, 0.0], rtol=1e-13)


def test_best_of_n_table_core_equals_row_core_bit_for_bit(key):
    lm = ss.dirichlet_table(jax.random.key(3), 7, 40, alpha=0.3)
    lp = np.array(lm.log_table())
    lp[:, 5] = lp[:, 6]  # exact ties, so the uniform tie-break matters
    lp[2, 10:] = -np.inf
    lp -= np.log(np.exp(lp).sum(axis=1, keepdims=True))  # renormalise (the tie stays exact)
    lm2 = ss.TabularLM.from_log_probs(lp)
    lp = np.array(lm2.log_table())
    assert np.sum(lp[:, 5] == lp[:, 6]) == 7
    x = np.random.default_rng(0).integers(0, 7, size=300)
    lpj = jnp.asarray(lp)
    for N in (1, 5):
        y1, d1 = sampling.best_of_n_table_core(key, lpj, jnp.asarray(x), jnp.zeros(N))
        y2, d2 = sampling.best_of_n_core(key, lpj[x], jnp.zeros(N))
        np.testing.assert_array_equal(np.asarray(d1), np.asarray(d2))
        np.testing.assert_array_equal(np.asarray(y1), np.asarray(y2))
        assert np.all(np.isfinite(lp[x[:, None], np.asarray(d1)]))  # never a zero-probability draw
    np.testing.assert_array_equal(ss.best_of_n(key, lm2, x, 5).y, np.asarray(y2))  # the public path


@pytest.mark.parametrize("Y, mu_stop, expect", [(16, 4.0, 64), (8, 3.0, 24), (10, 0.7, 7), (4, 1.0, 4)])
def test_adaptive_stops_exactly_at_k_pmax_equal_mu_stop(key, Y, mu_stop, expect):
    """Uniform row: every draw has p = 1/Y, so N_mu = ceil(mu_stop * Y) exactly (64 for 4 * 16,
    where log 64 + log(1/16) < log 4 in float64: the untolerant test stopped at 65)."""
    table = np.full((2, Y), 1.0 / Y)
    res = ss.adaptive_best_of_n(key, table, np.array([0, 1, 1]), mu_stop)
    np.testing.assert_array_equal(res.queries, expect)
    assert not res.truncated.any()
    y, _, k = Oracle(table).adaptive(key, np.array([0, 1]), mu_stop)
    np.testing.assert_array_equal(np.asarray(k), expect)
    # a cap below N_mu truncates
    res = ss.adaptive_best_of_n(key, table, np.array([0]), mu_stop, max_draws=expect - 1)
    assert res.truncated.all() and (res.queries == expect - 1).all()


def test_adaptive_stop_rule_not_early():
    """The tolerance is ~1e-12 relative: k p_max a hair below mu_stop (1e-9 relative) does not stop."""
    k, p = 64, 1.0 / 16
    assert bool(sampling.adaptive_stop(jnp.array(k), jnp.log(p), jnp.log(4.0)))
    assert not bool(sampling.adaptive_stop(jnp.array(k), jnp.log(p * (1 - 1e-9)), jnp.log(4.0)))
    assert not bool(sampling.adaptive_stop(jnp.array(63), jnp.log(p), jnp.log(4.0)))


def _enumerate_python(conds, ctx, V):
    X, H = conds[0].shape[0], len(conds)
    out = np.empty((X, V**H))
    for x in range(X):
        for i, toks in enumerate(itertools.product(range(V), repeat=H)):
            s = 0.0
            for h in range(1, H + 1):
                c = 0
                for t in toks[h - 1 - ctx[h - 1] : h - 1]:
                    c = c * V + t
                s += conds[h - 1][x, c, toks[h - 1]]
            out[x, i] = s
    return out


@pytest.mark.parametrize("order", [None, 0, 1, 2])
def test_log_table_numpy_path_equals_jit_and_python(order):
    m = ss.random_autoregressive(jax.random.key(5), 2, 3, 4, order=order, alpha=0.5)
    lt = m.log_table()
    conds = [np.asarray(c) for c in m.conditionals]
    # same additions in the same order: bit for bit with the jitted twin and the python loop
    np.testing.assert_array_equal(lt, np.asarray(models._enumerate(tuple(map(jnp.asarray, conds)), m.context_lengths, 3)))
    np.testing.assert_array_equal(lt, _enumerate_python(conds, m.context_lengths, 3))
    assert not lt.flags.writeable


def test_random_autoregressive_same_key_same_bits_and_rows_normalised():
    a = ss.random_autoregressive(jax.random.key(1), 3, 4, 3, alpha=0.05)
    b = ss.random_autoregressive(jax.random.key(1), 3, 4, 3, alpha=0.05)
    c = ss.random_autoregressive(jax.random.key(2), 3, 4, 3, alpha=0.05)
    for ca, cb, cc in zip(a.conditionals, b.conditionals, c.conditionals):
        np.testing.assert_array_equal(np.asarray(ca), np.asarray(cb))
        assert not np.array_equal(np.asarray(ca), np.asarray(cc))
    np.testing.assert_allclose(np.exp(a.log_table()).sum(axis=1), 1.0, rtol=1e-12)


@pytest.mark.parametrize("alpha", [0.2, 1.0, 3.0])
def test_random_autoregressive_dirichlet_moments(alpha):
    """Rows ~ Dirichlet(alpha): E p_v = 1/V, E p_v^2 = (alpha + 1) / (V (V alpha + 1)); 5-sigma bounds."""
    V, X = 4, 4000
    m = ss.random_autoregressive(jax.random.key(7), X, V, 1, alpha=alpha)
    p = np.exp(np.asarray(m.conditionals[0])[:, 0, :])  # [X, V]
    for vals, mean in ((p, 1.0 / V), (p**2, (alpha + 1) / (V * (V * alpha + 1)))):
        est = vals.mean(axis=0)
        se = vals.std(axis=0, ddof=1) / math.sqrt(X)
        assert np.all(np.abs(est - mean) <= 5 * se + 1e-12), (est, mean, se)
