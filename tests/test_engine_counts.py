"""The engine's counts mode for SFT-Sharpening with the tabular class (``run_trials(..., counts=True)``).

Each trial's counts on y*(x) are drawn from their exact multinomial law instead of n draws
(sharpsim.oracle.bon_column_counts_core). Checked against an independent exact oracle: the mean
sharpness error E[err] = sum_x mu(x) P[q_hat(y*(x)|x) <= 1 - delta], computed here by summing
binomial probabilities with scipy (no sharpsim sampling code), for the counts mode and the default
draws path alike; and the two modes against each other. Fixed keys; tolerances are 5 standard errors
of the simulated mean (so the tests cannot flake, and a biased sampler still fails).
"""

import jax
import numpy as np
import pytest
from scipy.stats import binom

from sharpsim import bon_law
from sharpsim.classes import TabularClass
from sharpsim.engine import run_trials
from sharpsim.instances.problems import Problem, hard_problem
from sharpsim.oracle import bon_column_counts_core, multinomial_tree

DELTA = 0.15  # 1 - delta = 0.85: no count ratio k / c with c <= 12 equals it, so rounding cannot flip an event


def _problem(p, mu):
    p = np.asarray(p, dtype=float)
    return Problem("counts-test", p / p.sum(axis=1, keepdims=True), np.asarray(mu, dtype=float))


def exact_mean_error(p, mu, n, N, delta):
    """E[err] for the tabular MLE of n best-of-N outcomes, by enumeration of the binomial laws.

    Per prompt x: c(x) ~ Bin(n, mu(x)); given c > 0 the count on y*(x) is Bin(c, Q) with
    Q = pi^BoN_N(y*(x)|x) (sum over the tied argmax responses), and the event is k / c <= 1 - delta;
    an unseen prompt (c = 0) gets the uniform row, mass |y*(x)| / Y.
    """
    p = np.asarray(p, dtype=float)
    p = p / p.sum(axis=1, keepdims=True)
    X, Y = p.shape
    law = bon_law(p, N)
    total = 0.0
    for x in range(X):
        star = p[x] == p[x].max()
        Q = float(law[x][star].sum())
        pe = 0.0
        for c in range(n + 1):
            pc = binom.pmf(c, n, mu[x])
            if c == 0:
                pe += pc * float(star.sum() / Y <= 1 - delta)
            else:
                k_max = np.floor((1 - delta) * c + 1e-9)  # k / c <= 1 - delta
                pe += pc * binom.cdf(k_max, c, Q)
        total += mu[x] * pe
    return total


CASES = [
    # one argmax per prompt
    ([[0.5, 0.2, 0.2, 0.1], [0.4, 0.3, 0.2, 0.1], [0.7, 0.1, 0.1, 0.1]], [0.5, 0.3, 0.2], 12, 3),
    # a prompt with two tied argmax responses, one with a zero, an unlikely prompt
    ([[0.3, 0.3, 0.2, 0.2], [0.6, 0.0, 0.3, 0.1], [0.4, 0.2, 0.2, 0.2]], [0.45, 0.45, 0.1], 10, 4),
]


def test_counts_mode_and_draws_path_match_the_exact_mean_error():
    # both cases in one test (one process under pytest-xdist): same X, Y, so the second runs the
    # programs the first compiled
    for p, mu, n, N in CASES:
        pb = _problem(p, mu)
        X, Y = pb.logp.shape
        want = exact_mean_error(p, mu, n, N, DELTA)
        key = jax.random.PRNGKey(7)
        for counts in (True, False):
            r = run_trials(pb, "sft", key, 20000, 0.3, DELTA, n=n, N=N, cls=TabularClass(X, Y), progress=False,
                           counts=counts)
            se = r.errors.std() / np.sqrt(len(r.errors))
            assert abs(r.errors.mean() - want) <= 5 * se + 1e-12, (p, counts, r.errors.mean(), want, se)
            assert r.queries == n * N  # m = n N, charged alike
        assert 0.05 < want < 0.95  # the check has power: the event is neither sure nor impossible


def test_counts_mode_is_deterministic_and_independent_of_chunking():
    p, mu, n, N = CASES[1]
    pb = _problem(p, mu)
    cls = TabularClass(*pb.logp.shape)
    key = jax.random.PRNGKey(3)
    trials = 20000  # as in the test above: the same compiled program (X = 3, Y = 4, 16 chunks of 256 per call)
    a = run_trials(pb, "sft", key, trials, 0.3, DELTA, n=n, N=N, cls=cls, progress=False, counts=True)
    b = run_trials(pb, "sft", key, trials, 0.3, DELTA, n=n, N=N, cls=cls, progress=False, counts=True, chunk=7)
    np.testing.assert_array_equal(a.errors, b.errors)
    c = run_trials(pb, "sft", jax.random.PRNGKey(4), trials, 0.3, DELTA, n=n, N=N, cls=cls, progress=False,
                   counts=True)
    assert not np.array_equal(a.errors, c.errors)


def test_column_counts_have_the_multinomial_moments():
    """c ~ Multinomial(n, mu), c_a | c ~ Bin(c, q_a), c_b | c, c_a ~ Bin(c - c_a, q_b / (1 - q_a))."""
    import jax.numpy as jnp

    mu = jnp.array([0.5, 0.3, 0.2])
    qa, qb = jnp.array([0.6, 0.2, 1.0]), jnp.array([0.3, 0.2, 0.0])
    two = jnp.array([True, True, False])
    n, K = 40, 20000
    c, ca, cb = jax.jit(jax.vmap(lambda k: bon_column_counts_core(k, mu, qa, qb, two, n)))(
        jax.random.split(jax.random.PRNGKey(11), K))
    c, ca, cb = (np.asarray(v) for v in (c, ca, cb))
    assert (c.sum(axis=1) == n).all() and (ca <= c).all() and (ca + cb <= c).all() and (cb[:, 2] == 0).all()
    assert (ca[:, 2] == c[:, 2]).all()  # q_a = 1
    # the multinomial's covariance: Cov(c_0, c_1) = -n mu_0 mu_1 (5 standard errors of the sample mean)
    m = np.asarray(mu)
    prod = (c[:, 0] - n * m[0]) * (c[:, 1] - n * m[1])
    assert abs(prod.mean() + n * m[0] * m[1]) <= 5 * prod.std() / np.sqrt(K)
    for got, want, var in [
        (c.mean(0), n * np.asarray(mu), n * np.asarray(mu) * (1 - np.asarray(mu))),
        (ca.mean(0), n * np.asarray(mu * qa), n * np.asarray(mu * qa) * (1 - np.asarray(mu * qa))),
        (cb.mean(0)[:2], n * np.asarray(mu * qb)[:2], n * np.asarray(mu * qb)[:2] * (1 - np.asarray(mu * qb)[:2])),
    ]:
        np.testing.assert_array_less(np.abs(got - want), 5 * np.sqrt(var / K) + 1e-12)


@pytest.mark.parametrize("kwargs, exc, words", [
    ({"counts": True, "literal": True}, ValueError, "literal"),
    ({"counts": True, "fast": False}, ValueError, "fast"),
    ({"counts": "yes"}, TypeError, "counts"),
])
def test_counts_mode_bad_options(kwargs, exc, words):
    p, mu, n, N = CASES[0]
    pb = _problem(p, mu)
    with pytest.raises(exc, match=words):
        run_trials(pb, "sft", jax.random.PRNGKey(0), 10, 0.3, DELTA, n=n, N=N, cls=TabularClass(*pb.logp.shape),
                   progress=False, **kwargs)


def test_counts_mode_needs_the_tabular_class():
    pb = hard_problem(2, 8, 0.5, jax.random.key(2))  # its SFT class is finite, not tabular
    with pytest.raises(ValueError, match="tabular fast path.*class kind"):
        run_trials(pb, "sft", jax.random.PRNGKey(0), 10, 0.3, DELTA, n=4, N=4, progress=False, counts=True)


@pytest.mark.parametrize("X", [1, 2, 3, 5, 8])
def test_multinomial_tree_sums_to_n_keeps_zeros_and_has_the_right_means(X):
    p = np.arange(1, X + 1, dtype=float)
    if X > 2:
        p[1] = 0.0  # a zero category
    p /= p.sum()
    K, n = 20000, 30
    c = np.asarray(jax.jit(jax.vmap(lambda k: multinomial_tree(k, n, p)))(jax.random.split(jax.random.PRNGKey(X), K)))
    assert c.shape == (K, X) and (c.sum(axis=1) == n).all() and (c >= 0).all()
    assert (c == np.round(c)).all()
    if X > 2:
        assert (c[:, 1] == 0).all()
    np.testing.assert_array_less(np.abs(c.mean(0) - n * p), 5 * np.sqrt(n * p * (1 - p) / K) + 1e-12)
