"""Every bound of sharpsim.bounds: hand-computed values (arithmetic in comments), scaling by
ratios, domain errors, and exact stopping-rule quantities against an independent oracle."""

import math

import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sharpsim as s
from sharpsim import bounds as B

C23 = 2.0 / (1.0 - 1.0 / math.sqrt(2.0)) ** 2  # 23.3137...


def test_hellinger_constant():
    # 1 - 1/sqrt2 = 0.29289; squared 0.085786; 2 / 0.085786 = 23.3137
    assert B.HELLINGER_CONSTANT == pytest.approx(23.3137085, abs=1e-6)


# -- Prop C.1 -------------------------------------------------------------------------------
def test_bon_inference_hand():
    p = B.bon_inference(0.5, 0.1)
    # ln(10)/0.5 = 4.605 -> N = 5; failure 0.5^5 = 0.03125
    assert (p.n, p.N, p.m) == (1, 5, 5.0)
    assert p.error_bound == pytest.approx(0.03125, rel=1e-14)
    assert not p.order_only
    p = B.bon_inference(0.1, 0.05)
    # ln(20)/0.1 = 29.957 -> N = 30; 0.9^30 = 0.042391
    assert p.N == 30
    assert p.error_bound == pytest.approx(0.0423911583, rel=1e-9)
    assert p.error_bound <= 0.05


def test_bon_failure_matches_exact_bon_law():
    # independent path: the exact BoN law of sharpsim.bon_law (F2)
    base = np.array([[0.2, 0.5, 0.3], [0.1, 0.1, 0.8]])
    for N in (1, 3, 17):
        mass = s.argmax_mass(s.bon_law(base, N), base)
        for x, p_star in enumerate((0.5, 0.8)):
            assert B.bon_failure(p_star, N) == pytest.approx(1.0 - mass[x], abs=1e-13)
    assert B.bon_failure(0.2, 3) == pytest.approx(0.512, rel=1e-14)  # 0.8^3


@given(st.floats(1e-4, 1.0), st.floats(1e-6, 0.999))
@settings(max_examples=40, deadline=None)
def test_bon_inference_property(p_star, rho):
    p = B.bon_inference(p_star, rho)
    assert p.error_bound <= rho * (1 + 1e-12)
    if p.N > 1:  # N is the smallest with N >= ln(1/rho)/p_star
        assert (p.N - 1) < math.log(1 / rho) / p_star


# -- Theorem 4.1 / 4.1' -----------------------------------------------------------------------
def test_sft_error_bound_hand():
    # delta = 2/e -> ln(2/delta) = 1 -> N_star = N = 100; ln(|Pi|/rho) = ln(100/0.01) = ln 1e4 = 9.21034
    # first term 23.3137 * 9.21034 / ((2/e) * 1000) = 214.7272 * 1.3591409 / 1000 = 0.2918446
    # second term 10 / 100 = 0.1
    v = B.sft_error_bound(10.0, math.log(100), 1000, 100, 2 / math.e, 0.01)
    assert v == pytest.approx(0.2918446 + 0.1, abs=1e-6)


def test_sft_sample_complexity_hand():
    # ln(|Pi|/rho) = 0 + 1 = 1; n = ceil(2 * 23.3137 / (0.5 * 0.5)) = ceil(186.51) = 187
    # N* = ceil(2 * 10 / 0.5) = 40; N = ceil(40 ln 4) = ceil(55.45) = 56; m = 187 * 56 = 10472
    p = B.sft_sample_complexity(10.0, 0.0, 0.5, 0.5, math.exp(-1))
    assert (p.n, p.params["N_star"], p.N, p.m) == (187, 40, 56, 10472.0)
    assert not p.order_only
    # error bound at those sizes: 23.3137/(0.5*187) + 10 ln4 / 56 = 0.249345 + 0.247553 = 0.496898 <= eps
    assert p.error_bound == pytest.approx(0.249345 + 0.247553, abs=2e-6)
    assert p.error_bound <= 0.5


@given(st.floats(1.0, 1e4), st.floats(0.0, 50.0), st.floats(1e-3, 0.99), st.floats(1e-3, 0.99), st.floats(1e-6, 0.99))
@settings(max_examples=40, deadline=None)
def test_sft_sample_complexity_meets_eps(C, logpi, eps, delta, rho):
    p = B.sft_sample_complexity(C, logpi, eps, delta, rho)
    assert p.error_bound <= eps * (1 + 1e-12)
    assert p.m == pytest.approx(p.n * p.N, rel=1e-15)  # m is a float (exact below 2^53)


def test_sft_scaling_ratios():
    base = B.sft_sample_complexity(100.0, 20.0, 1e-3, 0.25, 0.1)
    # linear in C_cov (through N)
    assert B.sft_sample_complexity(200.0, 20.0, 1e-3, 0.25, 0.1).m / base.m == pytest.approx(2.0, rel=1e-4)
    # linear in ln(|Pi|/rho) (through n): ln(1/0.1) = 2.302585
    r = (40.0 + math.log(10)) / (20.0 + math.log(10))
    assert B.sft_sample_complexity(100.0, 40.0, 1e-3, 0.25, 0.1).m / base.m == pytest.approx(r, rel=1e-4)
    # 1/eps^2
    assert B.sft_sample_complexity(100.0, 20.0, 5e-4, 0.25, 0.1).m / base.m == pytest.approx(4.0, rel=1e-4)


def test_sft_paper_parameters_hand():
    # n = ceil(1 * 1 / (0.5*0.5)) = 4; N = ceil(10 ln 4 / 0.5) = ceil(27.73) = 28; m = 112
    p = B.sft_paper_parameters(10.0, 0.0, 0.5, 0.5, math.exp(-1))
    assert (p.n, p.N, p.m) == (4, 28, 112.0)
    assert p.order_only and p.constant == 1.0
    # Eq. 7: 10 * 1 * ln 2 / (0.5 * 0.25) = 55.4518
    assert p.params["m_eq7"] == pytest.approx(55.4518, abs=1e-4)
    q = B.sft_paper_parameters(10.0, 0.0, 0.5, 0.5, math.exp(-1), constant=3.0)
    assert (q.n, q.N, q.constant) == (12, 84, 3.0)  # ceil(12) = 12, ceil(83.18) = 84


# -- Theorem D.1 / Lemma I.1 ----------------------------------------------------------------
def test_adaptive_sft_hand_and_scaling():
    # n = ceil(23.3137 * 1 / (0.5 * 0.5)) = ceil(93.25) = 94; m = 94 (1 + ln 4) 2 = 94 * 2.386294 * 2 = 448.6233
    p = B.adaptive_sft_sample_complexity(2.0, 0.0, 0.5, 0.5, math.exp(-1))
    assert p.n == 94 and p.N is None
    assert p.m == pytest.approx(448.6233, abs=1e-3)
    assert p.params["mu_stop"] == pytest.approx(math.log(4))
    assert p.error_bound == pytest.approx(23.3137085 / 47, rel=1e-7) and p.error_bound <= 0.5
    a = B.adaptive_sft_sample_complexity(50.0, 10.0, 1e-3, 0.25, 0.1).m
    assert B.adaptive_sft_sample_complexity(50.0, 10.0, 5e-4, 0.25, 0.1).m / a == pytest.approx(2.0, rel=1e-4)
    assert B.adaptive_sft_sample_complexity(100.0, 10.0, 1e-3, 0.25, 0.1).m / a == pytest.approx(2.0, rel=1e-12)


def test_lemma_i1_hand():
    # (ln 20 + 1) / 0.5 = (2.995732 + 1) * 2 = 7.991465
    assert B.adaptive_expected_draws(0.5, 1, math.log(20)) == pytest.approx(7.991465, abs=1e-6)
    assert B.adaptive_failure_bound(2, math.log(20)) == pytest.approx(1 / 400, rel=1e-12)  # e^{-2 ln 20}
    # p = delta_y: stop at the first k with k >= mu -> k = ceil(2.5) = 3, never fails
    assert B.adaptive_stopping_exact([1.0], 2.5) == pytest.approx((3.0, 0.0))
    # uniform on 2 with mu = 1: k * 0.5 >= 1 -> k = 2 surely; both responses are argmaxes
    assert B.adaptive_stopping_exact([0.5, 0.5], 1.0) == pytest.approx((2.0, 0.0))


def _stopping_oracle(p, mu):
    """Plain DP over the running maximum (independent of the closed form): exact E[N], P[fail]."""
    p = np.asarray(p, float)
    levels = sorted(set(p[p > 0].tolist()))
    top = levels[-1]
    lev_mass = {v: float(p[p == v].sum()) for v in levels}
    state = {None: 1.0}  # running max before any draw
    expected, fail, k = 0.0, 0.0, 0
    while state:
        k += 1
        expected += sum(state.values())  # P[N >= k]
        new = {}
        for m, pr in state.items():
            for v in levels:
                nm = v if m is None or v > m else m
                new[nm] = new.get(nm, 0.0) + pr * lev_mass[v]
        state = {}
        for m, pr in new.items():
            if k * m >= mu:
                if m < top:
                    fail += pr
            else:
                state[m] = pr
        state = {m: pr for m, pr in state.items() if pr > 1e-300}
    return expected, fail


@given(st.integers(0, 10**6), st.integers(2, 6), st.floats(0.3, 4.0))
@settings(max_examples=30, deadline=None)
def test_adaptive_stopping_exact_vs_oracle_and_lemma(seed, Y, mu):
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.full(Y, 0.7))
    if seed % 3 == 0:  # ties and zeros
        p = np.round(p * 4) / 4
        if p.sum() == 0:
            p[0] = 1.0
        p = p / p.sum()
    e, f = B.adaptive_stopping_exact(p, mu)
    eo, fo = _stopping_oracle(p, mu)
    assert e == pytest.approx(eo, rel=1e-9, abs=1e-12)
    assert f == pytest.approx(fo, rel=1e-7, abs=1e-12)
    pmax = p.max()
    k = int(np.sum(p >= pmax * (1 - 1e-12)))
    assert e <= B.adaptive_expected_draws(pmax, k, mu) * (1 + 1e-12)
    assert f <= B.adaptive_failure_bound(k, mu) + 1e-12


def test_adaptive_stopping_exact_vs_monte_carlo():
    p = np.array([0.3, 0.25, 0.2, 0.15, 0.1])
    mu = math.log(20)
    e, f = B.adaptive_stopping_exact(p, mu)
    res = s.adaptive_best_of_n(jax.random.key(7), p[None, :], np.zeros(4000, dtype=np.int64), mu)
    q = np.asarray(res.queries, float)
    assert abs(q.mean() - e) <= 5 * q.std() / math.sqrt(q.size) + 1e-9
    fails = np.mean(np.asarray(res.y) != 0)
    assert abs(fails - f) <= 5 * math.sqrt(max(f, 1e-4) * (1 - f) / q.size) + 1e-9


# -- lower bounds ------------------------------------------------------------------------------
def test_lower_bounds_hand():
    # C = 10, ln|Pi| = ln 1000 = 6.907755, eps = 0.1: 1 + ln(100) = 5.605170
    # non-adaptive: 69.07755 / (0.01 * 5.605170) = 1232.39; adaptive: / 0.1 -> 123.239
    p = B.lower_bound_sample_complexity(10.0, math.log(1000), 0.1)
    assert p.m == pytest.approx(1232.39, abs=0.01) and p.order_only
    assert B.lower_bound_sample_complexity(10.0, math.log(1000), 0.1, adaptive=True).m == pytest.approx(123.239, abs=1e-3)
    # p = 2: eps^1.5 = 0.0316228; 1 + ln(10 / sqrt 0.1) = 1 + ln 31.6228 = 4.453878; 69.07755 / 0.140842 = 490.46
    assert B.lower_bound_sample_complexity(10.0, math.log(1000), 0.1, p=2).m == pytest.approx(490.46, abs=0.01)
    assert B.lower_bound_sample_complexity(10.0, math.log(1000), 0.1, constant=0.5).m == pytest.approx(616.195, abs=0.01)


def test_lower_bound_scaling():
    # m * eps^2 (1 + ln(C/eps)) / (C ln|Pi|) is constant
    for C, L, eps in [(1.0, 1.0, 0.5), (10.0, 3.0, 0.01), (1e3, 50.0, 1e-4)]:
        m = B.lower_bound_sample_complexity(C, L, eps).m
        assert m * eps**2 * (1 + math.log(C / eps)) / (C * L) == pytest.approx(1.0, rel=1e-12)
        ma = B.lower_bound_sample_complexity(C, L, eps, adaptive=True).m
        assert m / ma == pytest.approx(1 / eps, rel=1e-12)


def test_hard_instance_threshold():
    p = B.hard_instance_threshold(4, 64, 0.8)  # 4 * 64 / 0.8 = 320
    assert p.m == pytest.approx(320.0) and p.order_only
    with pytest.raises(ValueError, match="M must be >= 8"):
        B.hard_instance_threshold(4, 7, 0.5)


# -- DPO ------------------------------------------------------------------------------------
def test_dpo_hand_and_slopes():
    # ln(C_loss |Pi|/rho) = ln e + 1 + 1 = 3 -> 27; m = 2 * 27 / (0.25 * 0.25 * 0.01) = 86400
    p = B.dpo_sample_complexity(2.0, math.e, 1.0, 0.5, 0.1, 0.5, math.exp(-1))
    assert p.params["m_formula"] == pytest.approx(86400.0, rel=1e-12)
    assert (p.n, p.N, p.m) == (43200, 2, 86400.0)
    assert p.params["beta"] == pytest.approx(0.025)  # 0.5 * 0.5 * 0.1
    assert p.order_only
    f = lambda **kw: B.dpo_sample_complexity(**{**dict(C_conc=3.0, C_loss=50.0, log_class_size=7.0, gamma_margin=0.3, eps=0.01, delta=0.2, rho=0.1), **kw}).params["m_formula"]  # noqa: E731
    assert f(eps=0.005) / f() == pytest.approx(4.0, rel=1e-12)
    assert f(gamma_margin=0.15) / f() == pytest.approx(4.0, rel=1e-12)
    assert f(delta=0.1) / f() == pytest.approx(4.0, rel=1e-12)
    assert f(C_conc=6.0) / f() == pytest.approx(2.0, rel=1e-12)


def test_dpo_error_bound_hand():
    # L = ln e + 1 + 1 = 3; sqrt(e * 27 / 27) = 1.648721; beta ln C_conc = 0.1; gamma = 0.05
    # 1/(0.5 * 0.5) * (1.648721 + 0.1 + 0.05) = 4 * 1.798721 = 7.194885
    v = B.dpo_error_bound(math.e, math.e, 1.0, 0.5, 0.5, math.exp(-1), 27, 0.1, gamma=0.05)
    assert v == pytest.approx(7.194885, abs=1e-6)


# -- XPO ------------------------------------------------------------------------------------
def test_xpo_iterations_hand():
    # A = 1 * 1 / (0.5^2 0.5^2 0.5^2) = 64; L0 = ln 2 + 0 + ln 2 = ln 4
    # T = 485: 64 (1.386294 + ln 485 = 6.184149) = 484.51 <= 485; T = 484: 64 * 7.566378 = 484.25 > 484
    p = B.xpo_iterations(1.0, 0.0, 1.0, 0.5, 0.5, 0.5, 0.5)
    assert p.T == 485 and p.m == 970.0 and p.order_only
    # alpha = 0.5 * sqrt(ln(4 * 485) / 485) = 0.5 * sqrt(7.570443 / 485) = 0.062468
    assert p.params["alpha"] == pytest.approx(0.062468, abs=1e-6)


@given(st.floats(0.5, 100), st.floats(0, 50), st.floats(1, 20), st.floats(0.01, 0.9), st.floats(0.01, 0.9))
@settings(max_examples=30, deadline=None)
def test_xpo_iterations_is_least_solution(SEC, logN, R, eps, beta):
    delta, rho = 0.3, 0.1
    T = B.xpo_iterations(SEC, logN, R, eps, delta, beta, rho).T
    A = R**2 * SEC / (eps**2 * delta**2 * beta**2)
    rhs = lambda t: A * (math.log(2) + logN + math.log(t) + math.log(1 / rho))  # noqa: E731
    assert T >= rhs(T) * (1 - 1e-12)
    assert T == 1 or T - 1 < rhs(T - 1)


def test_xpo_sample_complexity_hand():
    # ln(|Pi|/rho) = ln 10 + ln 10 = 4.605170; m = 2 * 4.605170 / (0.25 * 0.25 * 0.01) = 14736.54 -> T = 7369
    p = B.xpo_sample_complexity(2.0, math.log(10), 0.5, 0.1, 0.5, 0.1, 10)
    assert p.params["m_informal"] == pytest.approx(14736.54, abs=0.01)
    assert p.T == 7369 and p.m == 14738.0
    assert p.params["beta"] == pytest.approx(0.5 / (2 * math.log(40)))  # 0.067771
    # J.2: times R_max^2 ln^2(|Y|/delta) = 4 * ln(20)^2 = 4 * 8.974412 = 35.89765 -> 529011.6
    q = B.xpo_sample_complexity(2.0, math.log(10), 0.5, 0.1, 0.5, 0.1, 10, R_max=2.0)
    assert q.params["m_J2"] == pytest.approx(14736.54 * 35.89765, rel=1e-6)
    # slopes: 1/eps^2, 1/gamma^2, no C_cov argument at all
    assert B.xpo_sample_complexity(2.0, 1.0, 0.25, 0.05, 0.5, 0.1, 10).params["m_informal"] / B.xpo_sample_complexity(
        2.0, 1.0, 0.5, 0.1, 0.5, 0.1, 10
    ).params["m_informal"] == pytest.approx(16.0, rel=1e-12)


def test_xpo_regret_hand_and_decay():
    # L = ln(2 * 1 * 100 / 0.5) = ln 400 = 5.991465; (1 + 1) sqrt(5.991465 / 100) = 0.489549; + 0.1 * 0.01 * 10 = 0.01
    v = B.xpo_regret_bound(1.0, 0.0, 1.0, 1.0, 100, 0.5, 0.1, 0.01)
    assert v == pytest.approx(0.499549, abs=1e-6)
    # with eps_disc negligible: ratio = sqrt(ln(4 * 10^6) / 10^6 / (ln(4 * 10^4) / 10^4))
    r = B.xpo_regret_bound(1.0, 0.0, 1.0, 1.0, 10**6, 0.5, 1e-9, 1e-12) / B.xpo_regret_bound(1.0, 0.0, 1.0, 1.0, 10**4, 0.5, 1e-9, 1e-12)
    assert r == pytest.approx(math.sqrt(math.log(4e6) / math.log(4e4) / 100), rel=1e-6)


def test_linear_softmax_xpo():
    p = B.linear_softmax_xpo(3, 2.0, 10, 0.5, 0.2, 0.2, 0.1)
    beta = 0.5 / (2 * math.log(100))  # 0.0542868
    assert p.params["beta"] == pytest.approx(0.0542868, abs=1e-7) == beta
    assert p.params["R_max"] == pytest.approx(math.sqrt(4 * beta**2 * 4 + (4 + math.log(10)) ** 2))
    assert p.params["theta_norm_max"] == pytest.approx(0.5 * 2 / (3 * math.log(100)))  # 0.0723824
    T = p.T

    def rhs(t):  # independent re-statement of the J.2 condition with the J.3 plug-ins
        sec = 3 * math.log(t + 1)
        eps_disc = 0.2 * 0.2 / math.sqrt(sec * t)
        logN = 3 * math.log(6 * 2.0 / eps_disc)
        return p.params["R_max"] ** 2 * sec * math.log(2 * math.exp(logN) * t / 0.1) / (0.04 * 0.04 * beta**2)

    assert T >= rhs(T) and T - 1 < rhs(T - 1)
    assert p.m == 2 * T and p.order_only


# -- tilted optimum -------------------------------------------------------------------------
def test_tilted_closed_forms_hand():
    assert B.tilted_beta_sufficient(0.5, 10, 0.2) == pytest.approx(0.5 / (2 * math.log(100)))  # 0.0542868
    assert B.tilted_beta_sufficient(3.0, 10, 0.2) == B.tilted_beta_sufficient(1.0, 10, 0.2)  # clipped to 1
    assert B.tilted_mass_lower_bound(1.0, 3, 1.0) == pytest.approx(0.5)  # 1 - 2 * 2^-2


def test_tilted_beta_exact_two_level_hand():
    # one prompt, a = 0.5, two responses at 0.25: pi*(y*) = 1 / (1 + 2 * 2^-s), s = 1 + 1/beta
    # = 0.9 (delta = 0.2)  <=>  2^s = 18  <=>  s = ln 18 / ln 2 = 4.169925  ->  beta = 1 / 3.169925 = 0.3154649
    b = B.tilted_beta_exact(np.array([[0.5, 0.25, 0.25]]), 0.2)
    assert b == pytest.approx(0.3154649, abs=1e-7)
    assert b == pytest.approx(1 / (math.log(18) / math.log(2) - 1), rel=1e-10)
    # already sharp enough: every beta works
    assert B.tilted_beta_exact(np.array([[0.95, 0.05]]), 0.2) == math.inf


@given(st.integers(0, 10**6), st.sampled_from([1, 3]), st.sampled_from([2, 7]), st.floats(0.02, 0.9))
@settings(max_examples=25, deadline=None)
def test_tilted_beta_exact_properties(seed, X, Y, delta):
    from sharpsim.instances import two_level_family

    rng = np.random.default_rng(seed)
    g = float(rng.uniform(0.05, 2.0))
    lo, hi = (2 + g) / (1 + g), (Y + g) / (1 + g)
    C = float(lo + (hi - lo) * rng.uniform(0.05, 0.95)) if Y > 2 else lo
    base = two_level_family(jax.random.key(seed), X, Y, C, g)
    gm = s.margin(base)
    b = B.tilted_beta_exact(base, delta)
    assert b >= B.tilted_beta_sufficient(gm, Y, delta) * (1 - 1e-9)
    # the sharper F14 form at beta_exact can not exceed the exact mass
    if math.isfinite(b):
        exact_mass = s.argmax_mass(s.tilted(base, b), base).min()
        assert exact_mass == pytest.approx(1 - delta / 2, abs=1e-9)
        assert B.tilted_mass_lower_bound(gm, Y, b) <= exact_mass + 1e-9
        assert s.argmax_mass(s.tilted(base, b * 1.01), base).min() < 1 - delta / 2
    # F14 guarantee at the sufficient beta
    bs = B.tilted_beta_sufficient(gm, Y, delta)
    assert s.argmax_mass(s.tilted(base, bs), base).min() >= 1 - delta / 2 - 1e-12


def test_margin_sharpness_bound_hand():
    assert B.margin_sharpness_bound(0.1, math.e - 1, 0.5) == pytest.approx(0.2)  # 0.1 / (ln e * 0.5)


# -- domain errors --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: B.bon_inference(0.0, 0.1), "p_star"),
        (lambda: B.bon_inference(0.5, 1.0), "rho"),
        (lambda: B.sft_error_bound(0.5, 1.0, 10, 10, 0.5, 0.1), "C_cov must be >= 1"),
        (lambda: B.sft_sample_complexity(2.0, -1.0, 0.1, 0.5, 0.1), "log_class_size"),
        (lambda: B.sft_sample_complexity(2.0, 1.0, 0.0, 0.5, 0.1), "eps"),
        (lambda: B.sft_sample_complexity(2.0, 1.0, 0.1, 1.5, 0.1), "delta"),
        (lambda: B.sft_paper_parameters(2.0, 1.0, 0.1, 0.5, 0.1, constant=0), "constant"),
        (lambda: B.adaptive_sft_sample_complexity(0.9, 1.0, 0.1, 0.5, 0.1), "C_bar_cov"),
        (lambda: B.adaptive_expected_draws(0.6, 2, 1.0), "argmax_size"),
        (lambda: B.adaptive_failure_bound(0, 1.0), "argmax_size"),
        (lambda: B.lower_bound_sample_complexity(0.5, 1.0, 0.1), "C must be >= 1"),
        (lambda: B.lower_bound_sample_complexity(2.0, 1.0, 0.1, p=0), "p must be >= 1"),
        (lambda: B.dpo_sample_complexity(2.0, 10.0, 1.0, 0.0, 0.1, 0.5, 0.1), "gamma_margin"),
        (lambda: B.dpo_sample_complexity(2.0, 0.5, 1.0, 0.1, 0.1, 0.5, 0.1), "C_loss"),
        (lambda: B.xpo_iterations(0.0, 1.0, 2.0, 0.1, 0.5, 0.1, 0.1), "SEC"),
        (lambda: B.xpo_iterations(1.0, 1.0, 0.5, 0.1, 0.5, 0.1, 0.1), "R_max"),
        (lambda: B.xpo_iterations(1.0, 1.0, 2.0, 0.1, 0.5, 1.5, 0.1), "beta"),
        (lambda: B.xpo_sample_complexity(1.0, 1.0, 0.1, 0.1, 0.5, 0.1, 1), "Y must be >= 2"),
        (lambda: B.linear_softmax_xpo(3, 0.5, 10, 0.1, 0.1, 0.5, 0.1), "B must be >= 1"),
        (lambda: B.tilted_beta_sufficient(-0.1, 10, 0.1), "gamma_margin"),
        (lambda: B.tilted_beta_exact(np.array([[0.5, 0.5]]), 0.0), "delta"),
        (lambda: B.margin_sharpness_bound(-1.0, 0.1, 0.1), "eta"),
    ],
)
def test_domain_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_type_errors():
    with pytest.raises(TypeError, match="N must be an integer"):
        B.bon_failure(0.5, 2.5)
    with pytest.raises(TypeError, match="eps must be a real number"):
        B.sft_sample_complexity(2.0, 1.0, "0.1", 0.5, 0.1)


def test_xpo_iteration_search_beyond_1e18_and_beyond_float64():
    """The least T is found exactly (integer bisection) far above 1e18; past 1e300, T = m = inf
    with a note, never the old misleading 'no finite T' error."""
    args = (20, 50.0, 1000, 0.5, 0.01, 0.01, 0.1)
    p = B.linear_softmax_xpo(*args)
    assert isinstance(p.T, int) and p.T > 1e18

    def rhs(t):  # independent re-statement (as in test_linear_softmax_xpo)
        d, Bn, Y, g, eps, delta, rho = args
        beta = g / (2 * math.log(2 * Y / delta))
        R2 = 4 * beta**2 * Bn**2 + (2 * Bn + math.log(Y)) ** 2
        sec = d * math.log(t + 1)
        logN = d * math.log(6 * Bn * math.sqrt(sec * t) / (eps * delta))
        return R2 * sec * (math.log(2) + logN + math.log(t) + math.log(1 / rho)) / (eps**2 * delta**2 * beta**2)

    # above 2^53 rhs is resolved only to float64 precision: T is the fixed point T = rhs(T) to
    # that precision, and any T' a hair (1e-9 relative) smaller violates the condition
    assert abs(p.T - rhs(p.T)) <= 1e-12 * p.T and p.T * (1 - 1e-9) < rhs(p.T * (1 - 1e-9)) and p.m == 2.0 * p.T
    q = B.xpo_iterations(1e300, 1.0, 1e30, 0.01, 0.01, 0.01, 0.1)
    assert q.T == math.inf and q.m == math.inf and "exceeds 1e300" in q.notes
    assert q.params["alpha"] == 0.0 and q.params["eps_disc_max"] == 0.0
