"""Sampling primitives: best_of_n (literal), best_of_n_exact (law shortcut), adaptive_best_of_n.

Monte Carlo with fixed keys; tolerances are 5-sigma binomial intervals (never flaky, can fail).
"""

import math

import jax
import numpy as np
import oracles as O  # tests/ is on sys.path (rootdir conftest, no package)
import pytest
from scipy.stats import chi2

import sharpsim as ss


def interval_ok(counts, probs, n, z=5.0):
    sd = np.sqrt(n * probs * (1 - probs))
    assert np.all(np.abs(counts - n * probs) <= z * sd + 1.0), (counts / n, probs)
    live = probs > 0
    assert counts[~live].sum() == 0
    stat = np.sum((counts[live] - n * probs[live]) ** 2 / (n * probs[live]))
    assert chi2.sf(stat, max(live.sum() - 1, 1)) > 1e-6


P_F1 = np.array([0.05, 0.3, 0.1, 0.25, 0.2, 0.1])


@pytest.mark.parametrize("row,N", [(P_F1, 5), (np.array([0.4, 0.4, 0.2, 0.0]), 3), (np.array([0.1, 0.3, 0.3, 0.3]), 2)])
def test_best_of_n_matches_exact_law(key, row, N):
    n = 40000
    law = np.array([float(v) for v in O.bon_law_levelset(row, N)])
    base = row[None, :]
    x = np.zeros(n, dtype=np.int64)
    res = ss.best_of_n(key, base, x, N)
    interval_ok(np.bincount(res.y, minlength=row.size), law, n)
    assert (res.queries == N).all() and not res.truncated.any()
    ex = ss.best_of_n_exact(jax.random.fold_in(key, 1), base, x, N)
    interval_ok(np.bincount(ex.y, minlength=row.size), law, n)
    assert (ex.queries == N).all()
    # same key, same bits
    np.testing.assert_array_equal(res.y, ss.best_of_n(key, base, x, N).y)


def test_best_of_n_exact_draws_from_the_jitted_laws_bits(key):
    """best_of_n_exact takes the law of its prompts' rows on the host path (core.bon_law_numpy): the same
    draws, bit for bit, as drawing from the jitted core.bon_law of those rows with the same key."""
    from sharpsim import core, sampling

    rng = np.random.default_rng(5)
    table = rng.dirichlet(np.ones(6), size=4)
    table[1, :3] = table[1, 0]  # ties
    table[2, 5] = 0.0  # a zero
    table /= table.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore"):
        lp = np.log(table)
    x = np.array([0, 1, 1, 2, 3, 2, 2])
    for N in (2, 9):
        law = core.bon_law(core.to_device(lp[x]), float(N))
        want = np.asarray(sampling._sample_from_law(key, law))
        np.testing.assert_array_equal(ss.best_of_n_exact(key, table, x, N).y, want)


def test_best_of_n_ties_from_summation_order_split_uniformly(key):
    """Two sequences equal in exact arithmetic (0.5*0.6*0.7 vs 0.5*0.7*0.6) split the BoN mass equally."""
    c1 = np.array([[[0.5, 0.5]]])
    c2 = np.array([[[0.6, 0.4], [0.7, 0.3]]])
    c3 = np.array([[[0.7, 0.3], [0.7, 0.3], [0.6, 0.4], [0.6, 0.4]]])
    m = ss.AutoregressiveLM([c1, c2, c3])
    n = 20000
    res = ss.best_of_n(key, m, np.zeros(n, dtype=np.int64), 2)
    counts = np.bincount(res.y, minlength=8)
    law = ss.bon_law(m, 2)[0]
    interval_ok(counts, law, n)
    # the two tied sequences (0 and 4) each get (1 - 0.58^2)/2
    assert law[0] == pytest.approx((1 - 0.58**2) / 2, rel=1e-12)


def test_best_of_n_multiple_prompts(key):
    base = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    n = 10000
    x = np.repeat([0, 1], n)
    res = ss.best_of_n(key, base, x, 4)
    for xx in range(2):
        law = np.array([float(v) for v in O.bon_law_levelset(base[xx], 4)])
        interval_ok(np.bincount(res.y[x == xx], minlength=3), law, n)


# ------------------------------------------------------------------ adaptive


def test_adaptive_stopping_rule_literal(key):
    # point mass: max p = 1 after the first draw; stop at the first k with k * 1 >= mu_stop -> ceil(2.5) = 3
    res = ss.adaptive_best_of_n(key, [[1.0, 0.0]], [0, 0, 0], mu_stop=2.5)
    assert res.queries.tolist() == [3, 3, 3] and res.y.tolist() == [0, 0, 0]
    # uniform over 4: max p = 1/4 from the first draw; stop at k with k/4 >= 2.5 -> k = 10
    res = ss.adaptive_best_of_n(key, [[0.25] * 4], np.zeros(50, dtype=np.int64), mu_stop=2.5)
    assert (res.queries == 10).all()
    counts = np.bincount(res.y, minlength=4)
    assert counts.min() > 0  # uniform tie-break among the tied maxima reaches every response
    # exact boundary k * p = mu: mu_stop = 1, p = 1/2 -> k = 2
    res = ss.adaptive_best_of_n(key, [[0.5, 0.5]], [0] * 5, mu_stop=1.0)
    assert (res.queries == 2).all()
    # on random draws: the rule k * max p >= mu_stop holds at the stop, and the chosen response is a
    # best draw (its probability is the max seen)
    p = np.array([[0.05, 0.3, 0.1, 0.25, 0.2, 0.1]])
    res = ss.adaptive_best_of_n(key, p, np.zeros(200, dtype=np.int64), mu_stop=math.log(20))
    pk = p[0, res.y]
    assert np.all(res.queries * pk >= math.log(20) * (1 - 1e-12))
    assert not res.truncated.any()
    # cap: a cap below the stopping time flags truncation
    res = ss.adaptive_best_of_n(key, [[0.25] * 4], [0, 0], mu_stop=2.5, max_draws=5)
    assert res.truncated.all() and (res.queries == 5).all()


def literal_adaptive(rng, p, mu_stop):
    """Plain-Python literal stopping rule: (N_mu, success)."""
    cdf = np.cumsum(p)
    k, best = 0, 0.0
    pmax = p.max()
    top = None
    while True:
        y = min(int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right")), p.size - 1)
        k += 1
        if p[y] > best:
            best, top = p[y], y
        if k * best >= mu_stop:
            return k, p[top] == pmax


def test_F19_lemma_I1_on_dirichlet_draws(key):
    """Lemma I.1: E[N_mu] <= (mu + 1/|y*|)/max p and P[fail] <= exp(-|y*| mu), mu = ln 20 (F19)."""
    mu_stop = math.log(20)
    rng = np.random.default_rng(19)
    n = 4000
    for i in range(3):
        p = rng.dirichlet(np.full(50, 0.3))
        pmax = p.max()
        star = np.flatnonzero(p == pmax)
        res = ss.adaptive_best_of_n(jax.random.fold_in(key, i), p[None, :], np.zeros(n, dtype=np.int64), mu_stop)
        assert not res.truncated.any()
        q = res.queries.astype(float)
        bound_n = (mu_stop + 1 / star.size) / pmax
        # 5-sigma upper interval on the mean
        assert q.mean() - 5 * q.std() / math.sqrt(n) <= bound_n
        fails = np.sum(~np.isin(res.y, star))
        bound_f = math.exp(-star.size * mu_stop)
        # 5-sigma (binomial) lower interval on the failure rate lies below the bound
        assert fails / n - 5 * math.sqrt(bound_f * (1 - bound_f) / n) <= bound_f
        # the literal plain-Python rule gives the same mean N_mu (5-sigma on the difference)
        lit = np.array([literal_adaptive(rng, p, mu_stop)[0] for _ in range(1000)], dtype=float)
        se = math.sqrt(q.var() / n + lit.var() / 1000)
        assert abs(q.mean() - lit.mean()) <= 5 * se + 1e-12


def test_adaptive_reports_queries_per_prompt(key):
    base = np.array([[1.0, 0.0, 0.0], [0.25, 0.25, 0.5]])
    res = ss.adaptive_best_of_n(key, base, [0, 1, 0], mu_stop=3.0)
    # prompt 0: p = 1 -> 3 draws ; prompt 1: at least ceil(3 / 0.5) = 6 draws
    assert res.queries[0] == 3 and res.queries[2] == 3 and res.queries[1] >= 6
    assert res.queries.dtype.kind == "i"
