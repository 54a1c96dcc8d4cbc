"""sharpsim.passk (issue 13) against the brute-force references of tests/oracles_passk.py.

Exact pass@k (tables with ties and zeros, an autoregressive model with pi(correct|x) ~ 1e-30),
the unbiased estimator and its exact variance (Fractions; Monte Carlo with an empirical-Bernstein
interval at 1 - 1e-6), the crossover (Fraction scan, a certified large-k case, the per-prompt and
mixture facts), the support of BoN / tilted / argmax / SFT-learned, and the Beta-difficulty closed
form (Fraction product, Gauss-Jacobi mixture, quadrature, asymptote).
"""

import json
import math
from fractions import Fraction

import jax
import numpy as np
import oracles as O  # tests/ is on sys.path (rootdir conftest, no package)
import oracles_passk as OP
from strategies import weighted_rows
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import sharpsim as s
from sharpsim.instances.toy import answer_correct, tabular_task
from sharpsim.stats import clopper_pearson

SETTINGS = dict(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
WEIGHTS = [0.0, 0.0, 1e-200, 1e-20, 0.1, 0.5, 1.0, 1.0, 2.0, 3.0]


def _table(draw, X, Y, pool=WEIGHTS):
    return weighted_rows(draw, X, Y, pool)


@st.composite
def pairs(draw, max_X=4, max_Y=4):
    """(base, sharpened, correct) of one shape, with ties, zeros and tiny entries."""
    X, Y = draw(st.integers(1, max_X)), draw(st.integers(1, max_Y))
    corr = np.array(draw(st.lists(st.booleans(), min_size=X * Y, max_size=X * Y))).reshape(X, Y)
    return _table(draw, X, Y), _table(draw, X, Y), corr


@st.composite
def tasks(draw, max_X=4, max_Y=5, tiny=True, shape=None):
    """(table, correct) with ties, zeros and (tiny=True) tiny entries; correct has any pattern.
    ``shape`` fixes [X, Y] (tests of jitted operators: one compilation)."""
    X = draw(st.integers(1, max_X)) if shape is None else shape[0]
    Y = draw(st.integers(1, max_Y)) if shape is None else shape[1]
    pool = WEIGHTS if tiny else [w for w in WEIGHTS if w == 0 or w >= 0.1]
    table = weighted_rows(draw, X, Y, pool)
    corr = np.array(draw(st.lists(st.booleans(), min_size=X * Y, max_size=X * Y))).reshape(X, Y)
    return table, corr


def _close(a, b, rtol=1e-12, atol=1e-300):
    return abs(float(a) - float(b)) <= atol + rtol * abs(float(b))


# --------------------------------------------------------------------------- exact pass@k


def test_pass_at_k_hand_case():
    # prompt 0: p = 0.5; prompt 1: p = 0.1 -> pass@2 = 0.75 and 1 - 0.81 = 0.19
    r = s.pass_at_k([[0.5, 0.5], [0.9, 0.1]], [[1, 0], [0, 1]], [1, 2, 0, np.inf])
    assert np.allclose(r.per_prompt, [[0.5, 0.75, 0.0, 1.0], [0.1, 0.19, 0.0, 1.0]], rtol=1e-14, atol=0)
    assert np.allclose(r.dataset, [0.3, 0.47, 0.0, 1.0], rtol=1e-14)
    assert np.allclose(r.dataset_miss, [0.7, 0.53, 1.0, 0.0], rtol=1e-14)
    assert r.per_prompt.shape == (2, 4) and r.p.tolist() == pytest.approx([0.5, 0.1], rel=1e-15)


@given(tasks(), st.lists(st.integers(0, 40), min_size=1, max_size=4))
@settings(**SETTINGS)
def test_pass_at_k_matches_fractions(task, ks):
    table, corr = task
    X = table.shape[0]
    mu = np.arange(1, X + 1, dtype=float) / (X * (X + 1) / 2)
    r = s.pass_at_k(table, corr, np.array(ks), mu=mu)
    for j, k in enumerate(ks):
        per, ds = OP.pass_at_k(table, corr, k, mu)
        for x in range(X):
            assert _close(r.per_prompt[x, j], per[x], rtol=1e-11)
        assert _close(r.dataset[j], ds, rtol=1e-11)
        assert _close(r.dataset_miss[j], 1 - ds, rtol=1e-11)
    inf = s.pass_at_k(table, corr, np.inf, mu=mu)
    assert _close(inf.dataset, OP.pass_at_infinity(table, corr, mu), rtol=1e-12)


def test_pass_at_k_autoregressive_log_space():
    # V = 4, H = 10: the correct sequence (0, ..., 0) has probability 1e-3^10 = 1e-30
    V, H = 4, 10
    first = np.array([[[1e-3, 0.5, 0.3, 0.2 - 1e-3]]])
    conds = [first] + [np.broadcast_to(np.array([1e-3, 0.5, 0.3, 0.2 - 1e-3]), (1, V ** (h - 1), V)).copy()
                       for h in range(2, H + 1)]
    model = s.AutoregressiveLM(conds)
    pred = lambda x, t: (t == 0).all(axis=-1)
    p_exact = Fraction(1, 1000) ** H
    r = s.pass_at_k(model, pred, [1.0, 1e6, 1e40])
    assert _close(r.p[0], p_exact, rtol=1e-9)
    for j, k in enumerate([1, 10**6, 10**40]):
        # 1 - (1 - p)^k with 60-digit decimals
        from decimal import Decimal, localcontext

        with localcontext() as ctx:
            ctx.prec = 80
            pd = Decimal(1) / Decimal(10) ** 30
            ref = 1 - ((1 - pd).ln() * k).exp()
        assert _close(r.per_prompt[0, j], ref, rtol=1e-9)
    # the table form of the same verifier gives the same numbers
    corr = np.zeros((1, V**H), dtype=bool)
    corr[0, 0] = True
    assert np.array_equal(s.passk.correct_table(model, pred), corr)


def test_answer_predicate_matches_answer_correct():
    """The predicate form of toy_lift's verifier ("the last token is the answer") equals
    sharpsim.instances.toy.answer_correct."""
    V, H, X = 3, 4, 2
    conds = [np.full((X, V ** min(h, 1), V), 1.0 / V) if h == 0 else np.full((X, V**h, V), 1.0 / V) for h in range(H)]
    model = s.AutoregressiveLM(conds)
    chains = np.array([[0, 1, 2, 2], [1, 1, 0, 1]])
    answers = chains[:, -1]
    from_pred = s.passk.correct_table(model, lambda x, t: t[..., -1] == answers[x])
    assert np.array_equal(from_pred, answer_correct(chains, V))
    assert np.allclose(s.pass_at_k(model, from_pred, [1, 3]).dataset, [1 / 3, 1 - (2 / 3) ** 3], rtol=1e-14)


def test_bad_inputs():
    t = [[0.5, 0.5]]
    with pytest.raises(ValueError, match="shape mismatch"):
        s.pass_at_k(t, [[True, False, True]], 1)
    with pytest.raises(ValueError, match="0 and 1"):
        s.pass_at_k(t, [[0.5, 1.0]], 1)
    with pytest.raises(ValueError, match="k must be >= 0"):
        s.pass_at_k(t, [[True, False]], -1)
    with pytest.raises(ValueError, match="NaN"):
        s.pass_at_k(t, [[True, False]], np.nan)
    with pytest.raises(ValueError, match="c <= n"):
        s.pass_at_k_estimate(5, 4, 1)
    with pytest.raises(ValueError, match="k <= n"):
        s.pass_at_k_estimate(1, 4, 5)
    with pytest.raises(TypeError, match="integers"):
        s.pass_at_k_estimate(1.5, 4, 1)
    with pytest.raises(ValueError, match=r"p must lie in \[0, 1\]"):
        s.pass_at_k_estimator_variance(1.2, 4, 1)
    with pytest.raises(ValueError, match="k <= n"):
        s.pass_at_k_estimator_variance(0.2, 4, 5)
    with pytest.raises(ValueError, match="shape mismatch"):
        s.passk_crossover(t, [[0.5, 0.25, 0.25]], [[True, False]])
    with pytest.raises(ValueError, match="a must be > 0"):
        s.beta_difficulty_pass_at_k(0.0, 1.0, 1)


# --------------------------------------------------------------------------- estimator


@given(st.integers(1, 12), st.data())
@settings(**SETTINGS)
def test_estimate_matches_fractions(n, data):
    k = data.draw(st.integers(1, n))
    cs = np.arange(n + 1)
    est = s.pass_at_k_estimate(cs, n, k)
    for c in range(n + 1):
        assert _close(est[c], OP.estimate(c, n, k), rtol=1e-12, atol=1e-15)


@given(st.integers(1, 14), st.data(), st.sampled_from([0.0, 1.0, 0.5, 0.03, 0.97, 1e-6, 0.3]))
@settings(**SETTINGS)
def test_variance_matches_fraction_sum(n, data, p):
    k = data.draw(st.integers(1, n))
    v = s.pass_at_k_estimator_variance(p, n, k)
    ref = OP.estimator_variance(p, n, k)  # also asserts unbiasedness exactly
    assert _close(v, ref, rtol=1e-10, atol=1e-300)


def test_variance_large_n_direct_sum():
    from scipy.stats import binom

    for p, n, k in [(0.01, 300, 100), (0.2, 1024, 256), (1e-4, 2000, 2000), (0.6, 500, 17)]:
        c = np.arange(n + 1)
        # the miss ratio C(n-c, k)/C(n, k) (1 - estimate, exact near 0), from scipy's comb
        from scipy.special import comb

        r = comb(n - c, k) / comb(n, k)
        direct = float(np.sum(binom.pmf(c, n, p) * (r - (1 - p) ** k) ** 2))
        assert _close(s.pass_at_k_estimator_variance(p, n, k), direct, rtol=1e-8)
    # variance falls with n (U-statistic) and is 0 at p in {0, 1}
    vs = s.pass_at_k_estimator_variance(0.05, np.array([16, 32, 64, 128, 1024]), 16)
    assert np.all(np.diff(vs) < 0)
    assert s.pass_at_k_estimator_variance(np.array([0.0, 1.0]), 10, 3).tolist() == [0.0, 0.0]


def _empirical_bernstein(z, delta=1e-6):
    """Maurer-Pontil half-width for the mean of i.i.d. values in [0, 1] (holds w.p. 1 - delta)."""
    R = z.size
    L = math.log(4 / delta)
    return math.sqrt(2 * z.var(ddof=1) * L / R) + 7 * L / (3 * (R - 1))


def test_estimator_monte_carlo(key):
    """Sample responses literally, count the correct ones, estimate: mean and variance within
    1 - 1e-6 intervals of the exact values."""
    table = np.array([[0.05, 0.15, 0.8], [0.6, 0.3, 0.1]])
    corr = np.array([[True, False, False], [False, False, True]])
    model = s.TabularLM(table)
    n, k, R = 16, 4, 20000
    for x in range(2):
        draws = np.asarray(model.sample(jax.random.fold_in(key, x), np.full(R, x), n))  # [R, n]
        c = corr[x, draws].sum(axis=1)
        est = s.pass_at_k_estimate(c, n, k)
        p = float(table[x][corr[x]].sum())
        truth = 1 - (1 - p) ** k
        var = s.pass_at_k_estimator_variance(p, n, k)
        assert abs(est.mean() - truth) <= _empirical_bernstein(est)
        z = (est - truth) ** 2
        assert abs(z.mean() - var) <= _empirical_bernstein(z)


# --------------------------------------------------------------------------- crossover


@given(pairs())
@settings(**SETTINGS)
def test_crossover_matches_fraction_scan(pair):
    base, sharp, corr = pair
    qb = [1 - v for v in OP.correct_mass(base, corr)]
    qs = [1 - v for v in OP.correct_mass(sharp, corr)]
    # distinct masses closer than the documented tie tolerance are ties by definition: skip them
    assume(all(a == b or abs(a - b) > Fraction(1, 10**9) * max(a, b) for a, b in zip(qb, qs)))
    K = 30
    k = s.passk_crossover(base, sharp, corr)
    ref = OP.crossover_scan(base, sharp, corr, K)
    if ref is None:
        assert k > K
    else:
        assert k == ref


def test_crossover_certified_at_large_k():
    # a rare prompt the sharpened model nearly forgets: D(k) = 0.99 (0.999^k... ) crossing near k ~ 2e3
    base = np.array([[0.05, 0.95], [0.002, 0.998]])
    sharp = np.array([[0.06, 0.94], [0.0005, 0.9995]])
    corr = np.array([[True, False], [True, False]])
    mu = np.array([0.99, 0.01])
    k = s.passk_crossover(base, sharp, corr, mu)
    D = lambda kk: OP.gap_decimal(base[:, 0], sharp[:, 0], mu, kk)
    assert 1 < k < math.inf and D(int(k) - 1) < 0 <= D(int(k))
    assert all(D(j) < 0 for j in range(1, int(k), 7))
    t = s.passk_crossover(base, sharp, corr, mu, root=True)
    assert k - 1 < t <= k and abs(s.passk_gap(base, sharp, corr, t, mu)) < 1e-12
    # the explicit equation: D is pass_base@k - pass_sharp@k
    kk = np.array([1.0, k - 1, k, 4 * k])
    gap = s.pass_at_k(base, corr, kk, mu).dataset - s.pass_at_k(sharp, corr, kk, mu).dataset
    assert np.allclose(gap, s.passk_gap(base, sharp, corr, kk, mu), atol=1e-15)
    # swapping the rare prompt's roles: the sharpened model keeps its edge forever
    assert s.passk_crossover(base, np.array([[0.06, 0.94], [0.003, 0.997]]), corr, mu) == math.inf


@given(pairs(max_X=1, max_Y=5))
@settings(**SETTINGS)
def test_never_cross_per_prompt(pair):
    """pass@k is increasing in p for every k: on one prompt the order at k = 1 is the order at
    every k, so the crossover is 1 (base already >=) or inf."""
    base, sharp, corr = pair
    pb = OP.correct_mass(base, corr)[0]
    ps = OP.correct_mass(sharp, corr)[0]
    qb, qs = 1 - pb, 1 - ps
    assume(qb == qs or abs(qb - qs) > Fraction(1, 10**9) * max(qb, qs))  # clear of the tie tolerance
    k = s.passk_crossover(base, sharp, corr)
    assert k == (1.0 if pb >= ps else math.inf)
    ks = np.array([1, 2, 5, 50, 1000])
    rb, rs = s.pass_at_k(base, corr, ks), s.pass_at_k(sharp, corr, ks)
    if pb > ps:
        assert np.all(rb.per_prompt >= rs.per_prompt)
    elif pb < ps:
        assert np.all(rb.per_prompt <= rs.per_prompt)


@given(tasks(shape=(3, 4)), st.integers(1, 8))
@settings(**SETTINGS)
def test_crossover_is_a_mixture_effect(task, N):
    """If the sharpened model's p(x) is >= the base's on every prompt there is no crossover (unless
    the two are equal at k = 1); a dataset crossover needs a prompt where sharpening lowers p."""
    base, corr = task
    law = s.bon_law(base, N)
    pb = s.passk.correct_mass(base, corr)
    ps = s.passk.correct_mass(law, corr)
    with np.errstate(divide="ignore", invalid="ignore"):
        lb, ls = np.log1p(-pb), np.log1p(-ps)
        rel = np.where(lb == ls, 0.0, np.abs(lb - ls) / np.maximum(np.abs(lb), np.abs(ls)))
    assume(not np.any((rel > 1e-12) & (rel < 1e-9)))  # clear of the documented tie tolerance
    d = np.where(rel <= 1e-12, 0.0, ps - pb)  # BoN_1 = base up to rounding: ties
    k = s.passk_crossover(base, law, corr)
    if np.all(d >= 0) and np.any(d > 0):
        assert k == math.inf
    if k < math.inf and k > 1:
        assert np.any(d < 0)


# --------------------------------------------------------------------------- sharpened models and support


@given(tasks(max_X=3, max_Y=5))
@settings(**SETTINGS)
def test_argmax_policy_matches_oracle(task):
    table, _ = task
    ref = OP.argmax_uniform(table)
    got = s.argmax_policy(table)
    assert np.allclose(got, [[float(v) for v in r] for r in ref], rtol=0, atol=0)


def test_argmax_is_the_tilted_limit():
    base = np.array([[0.4, 0.4, 0.2], [0.1, 0.6, 0.3]])
    assert np.allclose(s.tilted(base, 1e-3), s.argmax_policy(base), atol=1e-12)


@given(tasks(tiny=False, shape=(3, 4)), st.integers(1, 6), st.sampled_from([0.05, 0.5, 3.0]))
@settings(**SETTINGS)
def test_finite_sharpening_keeps_support(task, N, beta):
    """BoN_N and pi*_beta keep the base's support: pass@infinity is the base's, and pass@k of each
    tends to the base's as k -> infinity; the argmax keeps only the modes. (No 1e-200 entries here:
    the probability table returned by s.tilted underflows them at beta = 0.05.)"""
    base, corr = task
    ref_inf = float(OP.pass_at_infinity(base, corr))
    for pol in (s.bon_law(base, N), s.tilted(base, beta)):
        assert _close(s.pass_at_k(pol, corr, np.inf).dataset, ref_inf, rtol=1e-14)
    am = OP.argmax_uniform(base)
    am_inf = float(OP.pass_at_infinity([[float(v) for v in r] for r in am], corr))
    assert _close(s.pass_at_k(s.argmax_policy(base), corr, np.inf).dataset, am_inf, rtol=1e-14)


def test_pass_at_k_converges_to_base_for_bon_and_tilted():
    base = np.array([[0.5, 0.3, 0.2], [0.2, 0.7, 0.1], [0.1, 0.1, 0.8]])
    corr = np.array([[False, True, False], [True, False, False], [False, False, True]])
    ks = np.array([1e2, 1e4, 1e6, 1e8])  # BoN_8 keeps 0.3^8 - 0.1^8 = 6.5e-5 on prompt 1's answer
    rb = s.pass_at_k(base, corr, ks).dataset
    for pol in (s.bon_law(base, 8), s.tilted(base, 0.2)):
        gap = np.abs(rb - s.pass_at_k(pol, corr, ks).dataset)
        assert np.all(np.diff(gap) <= 0) and gap[-1] < 1e-12
    # the argmax loses prompts 0 and 1 for good
    assert s.pass_at_k(s.argmax_policy(base), corr, 1e8).dataset == pytest.approx(1 / 3, rel=1e-14)


def test_sft_support_matches_enumeration():
    base = np.array([[0.5, 0.3, 0.2], [0.4, 0.4, 0.2]])  # a tie at prompt 1
    corr = np.array([[False, True, True], [False, True, False]])
    mu = np.array([0.7, 0.3])
    N = 2
    bon = [[float(v) for v in O.bon_law_levelset(r, N)] for r in base]
    for n in (1, 2, 3):
        ref_pass, ref_lost = OP.sft_support_enumerate(bon, base, corr, mu, n)
        got = s.sft_support(base, corr, n, N, mu)
        assert _close(got.pass_at_infinity, ref_pass, rtol=1e-12)
        assert _close(got.lost_correct_mass, ref_lost, rtol=1e-12, atol=1e-15)
        assert got.base_pass_at_infinity == pytest.approx(1.0, rel=1e-14)


def test_sft_learned_support_monte_carlo(key):
    """pass@infinity of the learned model on prompt 0 over many learning runs, against the exact
    expectation, Clopper-Pearson at 1 - 1e-6; a correct response never kept gets mass 0."""
    base = np.array([[0.5, 0.3, 0.2], [0.25, 0.25, 0.5]])
    corr = np.array([[False, True, False], [True, False, False]])
    n, N, T = 3, 2, 300
    exact = s.sft_support(base, corr, n, N).per_prompt_pass_at_infinity[0]
    hits = 0
    for t in range(T):
        res = s.sft_learned(base, n, N, jax.random.fold_in(key, t))
        assert res.queries == n * N
        pol = res.policy
        hits += int(pol[0, 1] > 0)
        counts = res.info["counts"]
        assert np.all((pol > 0) == ((counts > 0) | (counts.sum(axis=1, keepdims=True) == 0)))
    lo, hi = clopper_pearson(hits, T, 1 - 1e-6)
    assert lo <= exact <= hi


# --------------------------------------------------------------------------- heavy-tailed difficulty


@pytest.mark.parametrize("a,b", [(0.5, 1.0), (0.25, 1.5), (2.0, 0.75)])
def test_beta_closed_form_matches_fraction_product(a, b):
    ks = np.array([0, 1, 2, 7, 30])
    r = s.beta_difficulty_pass_at_k(a, b, ks)
    for j, k in enumerate(ks):
        ref = OP.beta_miss(a, b, int(k))
        assert _close(r.miss[j], ref, rtol=1e-12)
        assert _close(r.pass_at_k[j], 1 - ref, rtol=1e-11, atol=1e-300)


def test_beta_discretized_mixture_is_exact():
    """Gauss-Jacobi prompts reproduce B(a, b + k)/B(a, b) for every k <= 2M - 1 through pass_at_k."""
    a, b, M = 0.3, 1.5, 24
    model, corr = s.beta_difficulty_task(a, b, M)
    ks = np.arange(1, 2 * M)
    got = s.pass_at_k(model, corr, ks).dataset_miss
    ref = np.array([float(OP.beta_miss(a, b, int(k))) for k in ks])
    assert np.allclose(got, ref, rtol=1e-10, atol=0)
    # beyond 2M - 1 the finite mixture decays geometrically and leaves the power law
    far = s.pass_at_k(model, corr, 10**5).dataset_miss
    assert far < 0.1 * s.beta_difficulty_pass_at_k(a, b, 10**5).miss


def test_beta_asymptote_and_sharpened_exponent():
    a, b = 0.4, 2.0
    ks = np.array([1e3, 1e5, 1e7])
    r = s.beta_difficulty_pass_at_k(a, b, ks)
    # 1 - pass@k = B(a, b+k)/B(a, b) = C k^-a (1 + O(1/k)), C = Gamma(a+b)/Gamma(b)  (measured: 0.68/k)
    assert np.all(np.abs(r.miss / r.asymptote - 1) < 1.0 / ks)
    # -log pass@k = m + m^2/2 + ... with m = 1 - pass@k: relative distance to C k^-a below m
    assert np.all(np.abs(r.neg_log_pass / r.asymptote - 1) < r.miss)
    # identity "sharpening" through quadrature = the closed form
    q = s.beta_difficulty_pass_at_k(a, b, ks, sharpen=lambda p: p, alpha=1.0)
    assert np.allclose(q.miss, r.miss, rtol=1e-8)
    # tilted on a (correct, wrong) task: s(p) = p^al / (p^al + (1-p)^al), exponent a / al
    al = 2.0
    tilt = lambda p: p**al / (p**al + (1 - p) ** al)
    t = s.beta_difficulty_pass_at_k(a, b, np.array([1e6, 1e8]), sharpen=tilt, alpha=al)
    slope = math.log(t.neg_log_pass[1] / t.neg_log_pass[0]) / math.log(100.0)
    assert t.exponent == pytest.approx(a / al) and abs(slope + a / al) < 0.01
    assert np.all(np.abs(t.neg_log_pass / t.asymptote - 1) < t.miss)


# --------------------------------------------------------------------------- samples to resolve


def test_samples_to_resolve_is_minimal():
    base = np.array([[0.3, 0.7], [0.6, 0.4]])
    sharp = np.array([[0.1, 0.9], [0.9, 0.1]])
    corr = np.array([[True, False], [True, False]])
    z = 1.959963984540054
    for k in (1, 4, 16):
        n = s.passk_samples_to_resolve(base, sharp, corr, k)
        gap = abs(s.passk_gap(base, sharp, corr, k))

        def sd(nn, k=k):
            pb, ps = [0.3, 0.6], [0.1, 0.9]
            v = sum(float(OP.estimator_variance(Fraction(p).limit_denominator(10), nn, k)) for p in pb + ps)
            return math.sqrt(v / 4)

        assert n >= k and z * sd(int(n)) < gap
        assert n == k or z * sd(int(n) - 1) >= gap
    # at the exact crossover there is nothing to resolve
    kc = s.passk_crossover(base, sharp, corr)
    if s.passk_gap(base, sharp, corr, kc) == 0:
        assert s.passk_samples_to_resolve(base, sharp, corr, kc) == math.inf


def test_dataset_variance_at_many_n_is_the_same_bits():
    """passk_samples_to_resolve evaluates the dataset variance with the n-independent parts computed
    once per k (passk._dataset_var_at): the same bits as the general _dataset_var (every n on both
    sides of 2k - 1, prompts with p = 0 and p = 1), and the same samples-to-resolve on a random pair."""
    from sharpsim import passk as P

    rng = np.random.default_rng(7)
    for k in (1, 2, 5, 33):
        for lq in (np.log1p(-rng.uniform(0, 1, 40)), np.array([0.0, -np.inf, -0.3, -2.0, -1e-9])):
            m = rng.dirichlet(np.ones(lq.size))
            var = P._dataset_var_at(lq, m, k)
            for n in sorted({k, max(k, 2 * k - 2), 2 * k - 1, 2 * k, 3 * k + 1, 1000, 2**40}):
                got, ref = var(n), P._dataset_var(lq, m, n, k)
                assert np.float64(got).view(np.int64) == np.float64(ref).view(np.int64), (k, n)
    base, sharp = rng.dirichlet(np.ones(6), size=9), rng.dirichlet(np.full(6, 0.2), size=9)
    corr = rng.uniform(size=(9, 6)) < 0.3
    ks = [1, 3, 8, 40]
    fast = s.passk_samples_to_resolve(base, sharp, corr, ks)

    def general(log_q, m, k):
        return lambda n: P._dataset_var(log_q, m, n, k)

    import unittest.mock as mock

    with mock.patch.object(P, "_dataset_var_at", general):
        slow = s.passk_samples_to_resolve(base, sharp, corr, ks)
    np.testing.assert_array_equal(fast, slow)
    assert np.isfinite(fast).any()


# --------------------------------------------------------------------------- command line


def test_cli_passk_json(capsys):
    from sharpsim.cli import main

    # the shapes of the experiment's QUICK tabular task: jitted cores compiled once per session
    assert main(["passk", "--instance", "tabular", "--X", "32", "--Y", "128", "--k", "1,4,64", "--json"]) == 0
    out = capsys.readouterr().out
    data = json.loads(out, parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c}"))
    assert data["k"] == [1, 4, 64]
    names = [m["name"] for m in data["models"]]
    assert names[0] == "base" and len(names) >= 4
    for m in data["models"]:
        assert len(m["pass_at_k"]) == 3
        assert m["crossover_k"] is None or isinstance(m["crossover_k"], (int, float))
    assert main(["passk", "--instance", "tabular", "--X", "32", "--Y", "128", "--k", "1,2", "--sft", "none"]) == 0
    assert "pass@1" in capsys.readouterr().out
    assert main(["passk", "--k", "0,2"]) == 2


def test_tabular_task(key):
    base, corr, mode_ok = tabular_task(key, 40, 12, 0.4, alpha=0.5, rank=3)
    table = base.table()
    assert table.shape == (40, 12) and np.allclose(table.sum(axis=1), 1.0, atol=1e-12)
    assert np.all(corr.sum(axis=1) == 1) and 0 < mode_ok.mean() < 1
    order = np.argsort(-table, axis=1, kind="stable")
    target = corr.argmax(axis=1)
    assert np.all(target[mode_ok] == order[mode_ok, 0]) and np.all(target[~mode_ok] == order[~mode_ok, 2])
    again = tabular_task(key, 40, 12, 0.4, alpha=0.5, rank=3)  # same key, same bits
    assert np.array_equal(again[0].table(), table) and np.array_equal(again[1], corr)
    with pytest.raises(ValueError, match="rank must be <= Y"):
        tabular_task(key, 4, 3, 0.5, rank=4)
    with pytest.raises(ValueError, match="wrong_mode_rate"):
        tabular_task(key, 4, 3, 1.5)
