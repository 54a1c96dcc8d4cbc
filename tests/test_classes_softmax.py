"""SFT / DPO / XPO through the oracle over the parametric classes (SPEC 5.1, 6.2, 6.4, 7):
the single-layer and autoregressive linear softmax classes and the box-bounded tabular class.

Expected values come from code written here, independently of sharpsim.classes: the AR
log-likelihood and the DPO squared loss are re-implemented in numpy and optimized with scipy.
"""

import math

import jax
import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.special import logsumexp

import sharpsim as s
from sharpsim.algorithms import dpo_sharpening, sft_sharpening, xpo_sharpening
from sharpsim.classes import (
    ARLinearSoftmaxClass,
    BoxTabularClass,
    LinearSoftmaxClass,
    TabularClass,
)
from sharpsim.instances import prop_e2
from sharpsim.oracle import Oracle

# ----------------------------------------------------------------------------- independent helpers


def ar_features(seed, X, V, d):
    rng = np.random.default_rng(seed)
    phi1 = rng.normal(size=(X, 1, V, d))
    phi2 = rng.normal(size=(X, V, V, d))
    return [phi1 / np.linalg.norm(phi1, axis=-1, keepdims=True), phi2 / np.linalg.norm(phi2, axis=-1, keepdims=True)]


def ar_log_table_np(phi, thetas):
    """log pi_theta(y1 y2 | x), y = y1 * V + y2 (big-endian), written out for H = 2 (or H = 1)."""
    z1 = phi[0][:, 0] @ thetas[0]  # [X, V]
    l1 = z1 - logsumexp(z1, axis=-1, keepdims=True)
    if len(phi) == 1:
        return l1
    z2 = phi[1] @ thetas[1]  # [X, V, V]
    l2 = z2 - logsumexp(z2, axis=-1, keepdims=True)
    X, V = l1.shape
    return (l1[:, :, None] + l2).reshape(X, V * V)


def scipy_mle(phi, counts, B):
    """argmax sum counts log pi_theta subject to ||theta_h|| <= B (SLSQP, tight tolerances)."""
    H, d = len(phi), phi[0].shape[-1]
    tot = counts.sum()

    def f(v):
        lt = ar_log_table_np(phi, v.reshape(H, d))
        return -float(np.sum(np.where(counts > 0, counts * lt, 0.0))) / tot

    cons = [{"type": "ineq", "fun": (lambda v, h=h: B**2 - np.sum(v.reshape(H, d)[h] ** 2))} for h in range(H)]
    r = minimize(f, np.zeros(H * d), method="SLSQP", constraints=cons, options={"ftol": 1e-14, "maxiter": 2000})
    return np.exp(ar_log_table_np(phi, r.x.reshape(H, d))), r.fun


def dpo_loss_np(lq, lp, pairs_w, beta):
    """sum_{x,y,y'} w (beta (lq - lp)(y) - beta (lq - lp)(y') - (lp(y) - lp(y')))^2 (Eq. 8)."""
    a = beta * (lq - lp)
    r = a[:, :, None] - a[:, None, :] - (lp[:, :, None] - lp[:, None, :])
    return float(np.sum(pairs_w * r * r))


def population_pairs(p, mu=None):
    """All (x, y, y') with weight mu(x) p(y|x) p(y'|x): the population DPO loss as data."""
    X, Y = p.shape
    mu = np.full(X, 1.0 / X) if mu is None else mu
    x, y, y2 = np.meshgrid(np.arange(X), np.arange(Y), np.arange(Y), indexing="ij")
    w = mu[:, None, None] * p[:, :, None] * p[:, None, :]
    lp = np.log(p)
    x, y, y2, w = x.ravel(), y.ravel(), y2.ravel(), w.ravel()
    pairs = (x, y, y2, lp[x, y], lp[x, y2], w)
    return tuple(np.asarray(a) for a in pairs), w.reshape(X, Y, Y) * 1.0


# ----------------------------------------------------------------------------- SFT over AR classes


@pytest.mark.parametrize("B", [10.0, 0.4])  # unconstrained optimum inside the ball / constraint active
def test_ar_sft_equals_an_independent_constrained_mle(key, B):
    """SFT-Sharpening over ARLinearSoftmaxClass returns the MLE of its own BoN data: the same table
    as SLSQP on a numpy re-implementation of the AR log-likelihood with ||theta_h|| <= B."""
    phi = ar_features(1, 2, 3, 3)
    base = s.ARLinearSoftmax(phi, np.array([[1.0, -0.5, 0.2], [0.3, 0.8, -0.6]]))
    cls = ARLinearSoftmaxClass(phi, B, steps=4000)
    r = sft_sharpening(Oracle(base), cls, 300, 3, key)
    counts = r.info["counts"]
    assert r.queries == 900 and counts.sum() == 300
    ref, ref_loss = scipy_mle(phi, counts, B)
    lt = np.log(r.policy)
    our_loss = -float(np.sum(counts * lt)) / counts.sum()
    assert our_loss <= ref_loss + 1e-6  # FISTA reaches the optimum value (O(1/k^2) from it)
    np.testing.assert_allclose(r.policy, ref, atol=2e-4)
    if B < 1:  # the constraint binds: the learned table is not the unconstrained MLE
        free, _ = scipy_mle(phi, counts, 100.0)
        assert np.max(np.abs(free - r.policy)) > 1e-2


def test_ar_sft_realizable_class_recovers_bon_law(key):
    """With one-hot features (every full-support AR law is in the class, B large) the class
    contains bon_law(base, N) (Assumption 4.1): population counts return bon_law itself, and
    SFT-Sharpening's table equals the tabular MLE (the empirical frequencies) of its data."""
    V, X = 3, 1
    d = V + V * V
    phi1 = np.zeros((X, 1, V, d))
    phi2 = np.zeros((X, V, V, d))
    for a in range(V):
        phi1[0, 0, a, a] = 1.0
        for b in range(V):
            phi2[0, a, b, V + a * V + b] = 1.0
    base = s.ARLinearSoftmax(ar_features(2, X, V, 4), np.array([[0.5, -0.2, 0.1, 0.0], [0.2, 0.3, -0.1, 0.2]]))
    N = 2
    target = s.bon_law(base, N)
    cls = ARLinearSoftmaxClass([phi1, phi2], 40.0, steps=6000)
    np.testing.assert_allclose(cls.mle(1e4 * target), target, atol=1e-6)
    r = sft_sharpening(Oracle(base), cls, 4000, N, key)
    counts = r.info["counts"]
    assert (counts > 0).all()  # every sequence seen: the empirical frequencies are in the class
    np.testing.assert_allclose(r.policy, TabularClass(1, V * V).mle(counts), atol=1e-5)
    # and the data are close to the target (Lemma F.1 scale: D_H^2 <= 2 ln(1/rho)/n is far looser)
    assert s.hellinger_sq(r.policy, target) < 2 * math.log(1e6) / 4000


def test_prop_e2_ar_class_is_misspecified_for_sft_and_dpo(key):
    """Prop. E.2 (F22): every member of the AR class puts pi_theta(1) = pi_theta(2) <= 1/2 on the
    first token, so SFT (target bon_law) and DPO (target tilted) over the class stay <= 1/2 on
    y* = (2, 1), although both targets are > 1/2 there (Assumptions 4.1 / 4.3 fail)."""
    base = prop_e2(5)
    star = int(np.argmax(base.table()[0]))
    cls = ARLinearSoftmaxClass(base.phi, base.B, steps=1500)
    N, beta = 16, 0.1
    assert s.bon_law(base, N)[0, star] > 0.5 and s.tilted(base, beta)[0, star] > 0.5
    o = Oracle(base)
    r = sft_sharpening(o, cls, 200, N, key)
    r2 = dpo_sharpening(o, cls, 200, beta, key)
    for q in (r.policy, r2.policy):
        assert q[0, star] <= 0.5 + 1e-12
        V = base.V  # tokens 1 and 2 (code 0 and 1) have equal first-token mass in every member
        first = q[0].reshape(V, V).sum(axis=1)
        assert first[0] == pytest.approx(first[1], abs=1e-12)


# ----------------------------------------------------------------------------- SFT over the linear class


def test_linear_sft_through_the_oracle_equals_an_independent_mle(key):
    """SFT-Sharpening over LinearSoftmaxClass (Definition J.3) = SLSQP on the same counts."""
    rng = np.random.default_rng(3)
    phi = rng.normal(size=(3, 5, 2))
    phi /= np.linalg.norm(phi, axis=-1, keepdims=True)
    lin = LinearSoftmaxClass(phi, 0.8, steps=3000)
    base = s.dirichlet_table(jax.random.key(6), 3, 5, 0.7)
    r = sft_sharpening(Oracle(base), lin, 200, 5, key)
    ref, _ = scipy_mle([phi[:, None]], r.info["counts"], 0.8)  # H = 1 AR = single-layer softmax
    np.testing.assert_allclose(r.policy, ref, atol=1e-5)


# ----------------------------------------------------------------------------- DPO over AR classes


def test_dpo_single_layer_ar_population_minimizer_is_tilted():
    """H = 1: tilted(pi_theta*, beta) = pi_{(1 + 1/beta) theta*} is in the class when
    (1 + 1/beta) ||theta*|| <= B, and the population DPO minimizer over the class is it (F16)."""
    phi = ar_features(4, 2, 4, 2)[:1]
    theta = np.array([[0.6, -0.3]])
    base = np.exp(ar_log_table_np(phi, theta))
    beta = 0.5
    cls = ARLinearSoftmaxClass(phi, 3.0 * np.linalg.norm(theta) + 0.1, steps=4000)
    pairs, _ = population_pairs(base)
    q = cls.dpo(pairs, beta)
    np.testing.assert_allclose(q, s.tilted(base, beta), atol=1e-7)
    np.testing.assert_allclose(q, np.exp(ar_log_table_np(phi, (1 + 1 / beta) * theta)), atol=1e-7)


def test_dpo_two_layer_ar_tilted_is_not_in_the_class_and_the_minimizer_is_found():
    """H = 2: pi_base^(1 + 1/beta) keeps the per-step normalizers Z_2(y_1)^(1 + 1/beta), which no
    theta reproduces, so tilted(base, beta) is NOT in the AR class in general (cf. Prop. E.2):
    the population DPO loss stays > 0 over the class. (It is in the class when the first-step
    features span every function of y_1: the tilted first-step marginal has the extra logit
    log Z_2'(y_1) - (1 + 1/beta) log Z_2(y_1); hence V = 4 > d + 1 here.) The learner's minimizer
    is at least as good as a multi-start BFGS on an independent numpy loss."""
    phi = ar_features(5, 1, 4, 2)
    theta = np.array([[0.9, -0.4], [0.7, 0.5]])
    base = np.exp(ar_log_table_np(phi, theta))
    beta = 0.5
    B = 10.0
    cls = ARLinearSoftmaxClass(phi, B, steps=6000)
    pairs, w = population_pairs(base)
    q = cls.dpo(pairs, beta)
    lp = np.log(base)
    ours = dpo_loss_np(np.log(q), lp, w, beta)
    assert dpo_loss_np(np.log(s.tilted(base, beta)), lp, w, beta) < 1e-20  # tilted zeroes the loss ...

    def f(v):
        return dpo_loss_np(ar_log_table_np(phi, v.reshape(2, 2)), lp, w, beta)

    rng = np.random.default_rng(0)
    best = min(minimize(f, x0, method="BFGS", options={"gtol": 1e-12}).fun
               for x0 in [np.zeros(4), (1 + 1 / beta) * theta.ravel()] + list(rng.normal(size=(4, 4))))
    assert best > 1e-4  # ... but no member of the class does
    assert ours <= best * (1 + 1e-6) + 1e-12


# ----------------------------------------------------------------------------- XPO over the box class


def test_xpo_over_box_tabular_sharpens_a_small_table(key):
    """XPO (Algorithm 1) over BoxTabularClass: the box contains tilted(base, beta) (its log-ratio
    range (1 + 1/beta) * range(log p) <= 2R), the selected iterate stays in the box, the queries
    follow D7, and with T = 24 rounds the output is (eps, delta)-sharp on a 2-prompt table."""
    base = np.array([[0.55, 0.3, 0.15], [0.1, 0.25, 0.65]])
    beta = 0.2
    lt = np.log(s.tilted(base, beta))
    R = 0.5 * float(np.max(lt.max(axis=1) - lt.min(axis=1))) + 0.5
    box = BoxTabularClass(2, 3, R)
    o = Oracle(base)
    r = xpo_sharpening(o, box, 24, beta, key, alpha=0.0, n_val=16, inner_steps=300)
    assert r.queries == 25 and r.extended_queries == 23 + 24 * 16 and r.prompts == 24 + 24 * 16
    assert o.queries == 25 and o.extended_queries == r.extended_queries
    lq = np.log(r.policy)
    assert np.all(lq.max(axis=1) - lq.min(axis=1) <= 2 * R + 1e-9)
    np.testing.assert_allclose(r.policy.sum(axis=1), 1.0, atol=1e-12)
    assert s.sharpness_error(r.policy, base, 0.4, strict=False) == 0.0
    assert 2 <= r.info["selected_round"] <= 25 and r.info["J_hat"].shape == (24,)
