"""Metropolis-Hastings power sampling (issue 14): exact chain against enumeration, simulation
against the exact laws with Clopper-Pearson tolerances, query counting."""

from __future__ import annotations

import jax
import numpy as np
import oracles_self_rewards as ref  # tests/ is on sys.path (rootdir conftest, no package)
import pytest

import sharpsim as s
from sharpsim.algorithms import (
    PrefixOracle,
    mh_power_sampling,
    power_mcmc_laws,
    power_mcmc_transition,
    spectral_gap,
)
from sharpsim.stats import clopper_pearson


def _zero_model():
    """V = 2, H = 3 full history with zero conditionals (some sequences impossible) and ties."""
    c1 = np.array([[[0.5, 0.5]]])
    c2 = np.array([[[1.0, 0.0], [0.3, 0.7]]])
    c3 = np.array([[[0.5, 0.5], [0.2, 0.8], [0.6, 0.4], [0.0, 1.0]]])
    return s.AutoregressiveLM([c1, c2, c3])


@pytest.mark.parametrize("alpha", [0.5, 1.0, 2.0, 4.0])
def test_transition_matches_enumeration(alpha):
    for model in (_zero_model(), s.random_autoregressive(jax.random.key(2), 2, 3, 2, alpha=0.5)):
        for x in range(model.X):
            P = power_mcmc_transition(model, alpha, x)
            seq = ref.ar_sequence_probs(model.conditionals, x, model.V, model.H)
            want = np.array(ref.mh_transition(seq, model.V, model.H, alpha))
            live = np.array(seq) > 0
            np.testing.assert_allclose(P[np.ix_(live, live)], want[np.ix_(live, live)], rtol=1e-12, atol=1e-15)
            assert (P[np.ix_(live, ~live)] == 0).all()  # never leaves the support
            np.testing.assert_allclose(P.sum(axis=1), 1.0, atol=1e-14)
            assert (P >= 0).all()


@pytest.mark.parametrize("order", [None, 1])
@pytest.mark.parametrize("alpha", [1.0, 2.0, 5.0])
def test_power_is_stationary_and_reversible(order, alpha):
    model = s.random_autoregressive(jax.random.key(3), 2, 3, 4, order=order, alpha=0.4)
    for x in range(model.X):
        P = power_mcmc_transition(model, alpha, x)
        pw = s.power(model, alpha)[x]
        np.testing.assert_allclose(pw @ P, pw, rtol=1e-12, atol=1e-16)
        g = spectral_gap(P, pw)
        assert g["asymmetry"] < 1e-13  # detailed balance
        assert 0 < g["gap"] <= 1 and 0 < g["abs_gap"] <= g["gap"] + 1e-15
        # the stationary law is the unique top eigenvector
        w, v = np.linalg.eig(P.T)
        top = np.real(v[:, np.argmax(np.real(w))])
        np.testing.assert_allclose(top / top.sum(), pw, rtol=1e-9, atol=1e-13)
        # exact laws converge at the spectral rate: TV_k <= 1/2 sqrt(chi2(law_0 || pi)) (1 - abs_gap)^k
        laws = power_mcmc_laws(model, alpha, 25, x)
        base = np.exp(np.asarray(model.log_table())[x])
        chi2 = max(np.sum(base**2 / pw) - 1.0, 0.0)
        for k in (0, 5, 25):
            tv = 0.5 * np.abs(laws[k] - pw).sum()
            assert tv <= 0.5 * np.sqrt(chi2) * (1 - g["abs_gap"]) ** k + 1e-12


def test_alpha_one_accepts_everything_and_tabular_is_independence_sampler():
    model = _zero_model()
    P = power_mcmc_transition(model, 1.0)
    base = model.table()[0]
    np.testing.assert_allclose(base @ P, base, atol=1e-15)
    tab = s.TabularLM([[0.5, 0.3, 0.2, 0.0]])
    P = power_mcmc_transition(tab, 3.0)
    p = tab.table()[0]
    for y in range(3):
        for y2 in range(3):
            if y2 != y:
                assert P[y, y2] == pytest.approx(p[y2] * min(1.0, (p[y2] / p[y]) ** 2), rel=1e-13)


def test_simulation_matches_exact_laws():
    """Empirical laws of the chains after k steps against power_mcmc_laws, and after 60 steps (exact
    TV to p_alpha below 1e-9) against power itself; Clopper-Pearson intervals at 1 - 1e-6."""
    model = s.random_autoregressive(jax.random.key(5), 1, 2, 3, alpha=0.6)
    alpha, steps, B = 3.0, 60, 6000
    oracle = PrefixOracle(model)
    res = mh_power_sampling(oracle, alpha, steps, jax.random.key(6), np.zeros(B, dtype=np.int64))
    laws = power_mcmc_laws(model, alpha, steps)
    pw = s.power(model, alpha)[0]
    tv_end = 0.5 * np.abs(laws[steps] - pw).sum()
    assert tv_end < 1e-9  # the chain has mixed: the exact law after 60 steps is p_alpha to 1e-9
    for k, target in ((0, laws[0]), (1, laws[1]), (3, laws[3]), (12, laws[12]), (steps, pw)):
        counts = np.bincount(res.trace[k], minlength=model.Y)
        for y in range(model.Y):
            lo, hi = clopper_pearson(int(counts[y]), B, 1 - 1e-6)
            assert lo - 1e-9 <= target[y] <= hi + 1e-9, (k, y, counts[y] / B, target[y])
    # the base (k = 0) is far from p_alpha: the check at the end can fail
    assert 0.5 * np.abs(laws[0] - pw).sum() > 0.1
    # final states and their log-probabilities are consistent with the model
    np.testing.assert_allclose(res.log_prob, model.sequence_log_prob(np.zeros(B, dtype=np.int64), res.tokens),
                               rtol=1e-12)
    np.testing.assert_array_equal(res.y, s.encode(res.tokens, model.V))


def test_query_counting():
    model = s.random_autoregressive(jax.random.key(7), 3, 3, 4)
    oracle = PrefixOracle(model)
    B, steps = 50, 7
    res = mh_power_sampling(oracle, 2.0, steps, jax.random.key(8), np.arange(B) % 3)
    assert res.queries == oracle.queries == B * (1 + steps)
    assert res.extended_queries == oracle.extended_queries == 0
    # tokens: H for the first draw, then between 1 and H per proposal
    assert B * model.H + B * steps <= res.tokens_generated <= B * model.H * (1 + steps)
    assert res.tokens_generated == oracle.tokens
    lp = oracle.evaluate(np.arange(B) % 3, res.tokens)
    assert oracle.extended_queries == B
    np.testing.assert_allclose(lp, res.log_prob, rtol=1e-12)
    x = oracle.sample_prompts(jax.random.key(9), 5)
    assert oracle.prompts == 5 and x.shape == (5,)
    # same key, same bits
    r2 = mh_power_sampling(PrefixOracle(model), 2.0, steps, jax.random.key(8), np.arange(B) % 3)
    np.testing.assert_array_equal(res.trace, r2.trace)
    # generate keeps the prefix
    tok, step = oracle.generate(jax.random.key(10), [0, 1], res.tokens[:2], [2, 3])
    np.testing.assert_array_equal(tok[0, :2], res.tokens[0, :2])
    np.testing.assert_array_equal(tok[1, :3], res.tokens[1, :3])
    assert step[0, :2].tolist() == [0.0, 0.0]


def test_errors():
    model = s.random_autoregressive(jax.random.key(1), 1, 2, 2)
    oracle = PrefixOracle(model)
    with pytest.raises(ValueError, match="alpha"):
        mh_power_sampling(oracle, 0.0, 3, jax.random.key(0), [0])
    with pytest.raises(TypeError, match="PrefixOracle"):
        mh_power_sampling(s.Oracle(model), 2.0, 3, jax.random.key(0), [0])
    with pytest.raises(ValueError, match="prompt"):
        mh_power_sampling(oracle, 2.0, 3, jax.random.key(0), [1])
    with pytest.raises(ValueError, match="start"):
        oracle.generate(jax.random.key(0), [0], None, 2)
    with pytest.raises(ValueError, match="tokens"):
        oracle.evaluate([0], [[0, 2]])
    with pytest.raises(ValueError, match="V\\^H"):
        power_mcmc_transition(s.random_autoregressive(jax.random.key(1), 1, 3, 7), 2.0)
    with pytest.raises(TypeError, match="AutoregressiveLM"):
        PrefixOracle([[0.5, 0.5]])
