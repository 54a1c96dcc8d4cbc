"""Learners through the oracle: exact maximizers against brute force, Lemma F.1 (F8), DPO's
tabular minimizer = tilted (F13/F16), adaptive SFT under Lemma I.1 (F19), XPO on Example J.1."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import sharpsim as s
from sharpsim import bounds
from sharpsim.algorithms import (
    adaptive_sft_sharpening,
    dpo_sharpening,
    inference_bon,
    sft_sharpening,
    xpo_sharpening,
)
from sharpsim.classes import (
    FiniteClass,
    LinearSoftmaxClass,
    ProductClass,
    TabularClass,
    hard_bon_class,
    hard_family_class,
    realizable_finite_class,
)
from sharpsim.instances import example_j1, hard_instance
from sharpsim.oracle import Oracle


def cp_upper(k, n, a=1e-6):
    return 1.0 if k == n else float(stats.beta.ppf(1 - a / 2, k + 1, n - k))


def test_tabular_mle_is_empirical_frequency_and_uniform_on_unseen(key):
    base = np.array([[0.6, 0.4, 0.0], [0.2, 0.2, 0.6], [0.1, 0.1, 0.8]])
    mu = np.array([0.7, 0.3, 0.0])  # prompt 2 is never drawn
    o = Oracle(base, mu)
    r = sft_sharpening(o, TabularClass(3, 3), 40, 3, key)
    c = r.info["counts"]
    assert r.queries == 120 and r.prompts == 40 and c.sum() == 40
    np.testing.assert_array_equal(r.policy[:2], c[:2] / c[:2].sum(axis=1, keepdims=True))
    np.testing.assert_array_equal(r.policy[2], np.full(3, 1 / 3))


def test_finite_mle_matches_brute_force_with_lowest_index_ties(key):
    t1 = np.array([[0.5, 0.5], [0.9, 0.1]])
    t2 = np.array([[0.9, 0.1], [0.5, 0.5]])
    fc = FiniteClass([t1, t2, t1])  # duplicate of t1 at index 2: ties resolve to 0
    counts = np.array([[3.0, 3.0], [5.0, 1.0]])
    ll = [float(np.sum(counts * np.log(t))) for t in (t1, t2, t1)]
    np.testing.assert_allclose(fc.mle(counts), [t1, t2, t1][int(np.argmax(ll))], rtol=1e-14)
    # a candidate with zero mass on an observed response is excluded (log-lik -inf)
    t3 = np.array([[1.0, 0.0], [1.0, 0.0]])
    fc2 = FiniteClass([t3, t2])
    np.testing.assert_allclose(fc2.mle(np.array([[1.0, 1.0], [1.0, 0.0]])), t2, rtol=1e-14)


def test_realizable_finite_class_contains_bon_law(key):
    base = s.dirichlet_table(jax.random.key(3), 3, 6, 0.5)
    fc = realizable_finite_class(key, base, 5, 7)
    np.testing.assert_allclose(fc.tables()[fc.target_index], s.bon_law(base, 5), atol=1e-12)
    assert fc.K == 7 and math.isclose(fc.log_size, math.log(7))


def test_product_and_spike_classes_agree_with_per_coordinate_brute_force(key):
    inst = hard_instance(3, 8, 0.5)
    for cls in (hard_bon_class(inst, 6), hard_family_class(inst)):
        dense = ProductClass(cls.row_tables(), valid=np.asarray(cls.cand))
        assert math.isclose(cls.log_size, inst.log_class_size) and math.isclose(dense.log_size, inst.log_class_size)
        rng = np.random.default_rng(0)
        for trial in range(5):
            counts = np.zeros((inst.X, inst.Y))
            counts[0, 0] = rng.integers(0, 5)
            counts[1:, 1:] = rng.integers(0, 4, size=(inst.d, inst.M))
            a = cls.mle(counts, jax.random.key(trial))
            b = dense.mle(counts, jax.random.key(trial))
            rows = cls.row_tables()
            for x in range(1, inst.X):  # brute force: the maximizing candidate rows
                with np.errstate(divide="ignore", invalid="ignore"):
                    ll = [np.sum(np.where(counts[x] > 0, counts[x] * np.log(rows[x, c]), 0.0)) for c in range(1, inst.Y)]
                best = {c + 1 for c, v in enumerate(ll) if v >= max(ll) - 1e-9 * abs(max(ll))}
                chosen_a = int(np.argmax(a[x]))
                chosen_b = int(np.argmax(b[x]))
                assert chosen_a in best and chosen_b in best
            np.testing.assert_allclose(a[0], [1.0] + [0.0] * inst.M)


def test_misspecified_hard_class_is_never_sharp(key):
    """The hard family's own class puts only 2/M on y_j: SFT over it cannot sharpen (labelled case)."""
    inst = hard_instance(2, 8, 0.5)
    table = inst.table(np.array([3, 5]))
    r = sft_sharpening(Oracle(table, inst.mu), hard_family_class(inst), 400, 40, key)
    assert s.sharpness_error(r.policy, table, 0.5, mu=inst.mu, strict=False) == pytest.approx(0.5)
    assert np.argmax(r.policy[1]) == 3 and np.argmax(r.policy[2]) == 5  # but the argmax is found


def test_f8_mle_hellinger_within_lemma_f1(key):
    """F8 (Lemma F.1): E_x D_H^2(pi_hat, bon_law) <= 2 ln(|Pi|/rho) / n w.p. >= 1 - rho (finite and product classes)."""
    rho, n, N, trials = 0.1, 60, 4, 40
    base = s.dirichlet_table(jax.random.key(11), 3, 6, 0.5)
    inst = hard_instance(2, 8, 0.6)
    hard_table = inst.table(np.array([2, 7]))
    cases = [(base, None, realizable_finite_class(jax.random.key(5), base, N, 12)),
             (hard_table, inst.mu, hard_bon_class(inst, N))]
    for table, mu, cls in cases:
        target = s.bon_law(table, N)
        o = Oracle(table, mu)
        bound = 2 * (cls.log_size + math.log(1 / rho)) / n
        bad = 0
        for k in jax.random.split(key, trials):
            r = sft_sharpening(o, cls, n, N, k)
            bad += s.hellinger_sq(r.policy, target, mu=mu) > bound
        # the bound's failure probability is <= rho: the count of violations must not refute it
        assert stats.binom.cdf(bad - 1, trials, rho) < 1 - 1e-6 or bad <= rho * trials


def test_linear_softmax_mle_recovers_theta_from_exact_counts():
    phi = np.array(jax.random.normal(jax.random.key(4), (2, 6, 3)))
    phi /= np.linalg.norm(phi, axis=-1, keepdims=True)
    cls = LinearSoftmaxClass(phi, B=5.0, steps=3000)
    theta = np.array([1.0, -0.5, 0.3])
    p = np.exp(cls.log_table(theta))
    q = cls.mle(1000.0 * p)  # population counts: the MLE is pi_theta itself
    np.testing.assert_allclose(q, p, atol=1e-6)
    # outside the ball: the constrained MLE sits on the boundary (KKT: gradient along theta)
    small = LinearSoftmaxClass(phi, B=0.3, steps=3000)
    q2 = small.mle(1000.0 * p)
    assert np.all(np.isfinite(q2)) and s.kl(p, q2) > s.kl(p, p)


def test_dpo_population_minimizer_over_tabular_is_tilted():
    """Minimize the population squared loss E_{y,y'~pi_base}[R(x,y,y')^2] over all tables by
    gradient descent on free logits (independent of sharpsim's DPO code): the minimizer is tilted."""
    base = np.array([[0.5, 0.3, 0.15, 0.05], [0.1, 0.2, 0.3, 0.4]])
    beta = 0.7
    lp = np.log(base)

    def loss(u):
        lq = u - jax.scipy.special.logsumexp(u, axis=1, keepdims=True)
        r = beta * (lq - lp)[:, :, None] - beta * (lq - lp)[:, None, :] - (lp[:, :, None] - lp[:, None, :])
        return jnp.sum(base[:, :, None] * base[:, None, :] * r * r)

    u = jnp.zeros((2, 4))
    g = jax.jit(jax.grad(loss))
    for _ in range(3000):
        u = u - 0.5 * g(u)
    q = np.asarray(jax.nn.softmax(u, axis=1))
    np.testing.assert_allclose(q, s.tilted(base, beta), atol=1e-6)
    # the package's DPO residual vanishes there (F16)
    assert np.max(np.abs(s.dpo_residual(s.tilted(base, beta), base, beta))) < 1e-12


def test_dpo_learners(key):
    base = np.array([[0.5, 0.3, 0.15, 0.05], [0.1, 0.2, 0.3, 0.4]])
    beta = 0.3
    o = Oracle(base)
    r = dpo_sharpening(o, TabularClass(2, 4), 400, beta, key)
    assert r.queries == 800
    np.testing.assert_allclose(r.policy, s.tilted(base, beta), atol=1e-12)  # every response seen
    fc = realizable_finite_class(jax.random.key(2), base, 1, 6, target="tilted", beta=beta)
    r2 = dpo_sharpening(o, fc, 50, beta, key)
    np.testing.assert_allclose(r2.policy, s.tilted(base, beta), atol=1e-12)
    # linear softmax: the squared loss is an exact least squares (log-partition cancels)
    phi = np.array(jax.random.normal(jax.random.key(8), (2, 4, 2)))
    phi /= np.linalg.norm(phi, axis=-1, keepdims=True)
    lin = LinearSoftmaxClass(phi, B=50.0)
    b2 = np.exp(lin.log_table(np.array([0.8, -0.4])))
    r3 = dpo_sharpening(Oracle(b2), lin, 30, beta, key)
    np.testing.assert_allclose(r3.policy, s.tilted(b2, beta), atol=1e-9)


def test_adaptive_sft_queries_under_lemma_i1(key):
    """F19: adaptive SFT's draws per prompt average under (mu_stop + 1/|y*|)/max p, per prompt."""
    base = s.dirichlet_table(jax.random.key(9), 3, 12, 0.4)
    p = base.table()
    delta = 0.1
    n = 3000
    r = adaptive_sft_sharpening(Oracle(base), TabularClass(3, 12), n, key, delta=delta)
    mu_stop = math.log(2 / delta)
    draws, x = r.info["draws"], r.info["x"]
    assert r.queries == int(draws.sum())
    for xx in range(3):
        sel = draws[x == xx].astype(float)
        bound = bounds.adaptive_expected_draws(p[xx].max(), int(np.sum(p[xx] == p[xx].max())), mu_stop)
        assert sel.mean() <= bound + 5 * sel.std() / math.sqrt(len(sel))
    # total expected draws <= n (1 + mu_stop) C_bar_cov
    assert draws.mean() <= (1 + mu_stop) * s.adaptive_coverage(base) + 5 * draws.std() / math.sqrt(n)


def test_inference_bon(key):
    base = np.array([[0.2, 0.5, 0.3]])
    r = inference_bon(Oracle(base), 9, key, n=4)
    assert r.queries == 36 and r.policy.shape == (1, 3) and np.isclose(r.policy.sum(), 1)


def test_xpo_sharpens_example_j1_with_poly_d_queries_while_sft_needs_c_cov(key):
    """XPO reaches (eps, delta)-sharpness on Example J.1 with few queries, growing slowly in d,
    while the N SFT-Sharpening needs for its own target to be sharp grows like C_cov (F24)."""
    eps, delta, rho = 0.1, 0.1, 0.1
    totals, c_covs, n_sft = [], [], []
    for d in (2, 5):
        inst = example_j1(jax.random.key(d), d)
        Y = inst.Y
        beta = bounds.tilted_beta_sufficient(inst.gamma_margin, Y, delta)
        B = 1.01 * 3 * math.log(2 * Y / delta) / min(inst.gamma_margin, 1.0)
        cls = LinearSoftmaxClass(inst.phi, B)
        o = Oracle(inst.base)
        r = xpo_sharpening(o, cls, 16, beta, key, eps=eps, delta=delta, rho=rho, n_val=8, inner_steps=200)
        assert s.sharpness_error(r.policy, inst.base, delta, strict=False) <= eps
        assert r.queries == 17 and r.extended_queries == 15 + 16 * 8
        totals.append(r.total_queries)
        # SFT: the smallest N with bon_law(y*) >= 1 - delta (population SFT target sharp), exactly
        pstar = 1 / inst.C_cov
        n_sft.append(math.ceil(math.log(delta) / math.log1p(-pstar)))
        c_covs.append(inst.C_cov)
    assert max(totals) <= 200  # polynomial (here constant T) in d
    ratios = np.array(n_sft) / np.array(c_covs)
    assert np.all((ratios > 0.8 * math.log(1 / delta) - 1) & (ratios < math.log(1 / delta) + 1))
    assert c_covs[-1] > 4 * c_covs[0]  # C_cov grows exponentially in d
