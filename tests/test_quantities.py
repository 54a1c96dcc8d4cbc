"""Every public quantity of sharpsim.quantities against the brute-force oracles of tests/oracles.py.

Hand-computed cases (expected numbers from hand arithmetic in the comments), hypothesis-generated
tables with ties, zeros and extreme entries (1e-300 relative), jitted cores vs ``jax.disable_jit``,
and ``vmap`` over a batch of tables.
"""

import math
from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np
import oracles as O  # tests/ is on sys.path (rootdir conftest, no package)
from strategies import weighted_rows
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import sharpsim as ss
from sharpsim import core

SETTINGS = dict(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# weights with exact duplicates, zeros and extreme ratios (1e-300 relative)
WEIGHTS = [0.0, 1e-300, 1e-200, 1e-20, 0.1, 0.5, 1.0, 1.0, 2.0, 3.0, 7.0]


@st.composite
def tables(draw, max_X=3, max_Y=5, min_Y=1, zeros=True):
    X = draw(st.integers(1, max_X))
    Y = draw(st.integers(min_Y, max_Y))
    pool = WEIGHTS if zeros else [w for w in WEIGHTS if w > 0]
    return weighted_rows(draw, X, Y, pool)


@st.composite
def mus(draw, X):
    w = np.array(draw(st.lists(st.sampled_from([0.0, 1.0, 2.0, 5.0]), min_size=X, max_size=X)))
    if w.sum() == 0:
        w[0] = 1.0
    return w / w.sum()


def near_gamma_boundary(table, gamma):
    """True when some ratio p/max p is within 1e-9 of 1 - gamma (tie tolerance region)."""
    for r in table:
        ratio = r / r.max()
        if np.any(np.abs(ratio - (1 - gamma)) <= 1e-9 * (1 - gamma)) and gamma > 0:
            return True
    return False


def rel_close(a, b, rtol=1e-9, atol=0.0):
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= atol + rtol * max(abs(a), abs(b))


# ------------------------------------------------------------------ hand-computed cases


def test_argmax_set_hand():
    # row 0: unique max 0.5; row 1: tie 0.4 = 0.4; row 2: tie + zero
    t = [[0.5, 0.3, 0.2], [0.4, 0.4, 0.2], [0.0, 0.5, 0.5]]
    assert ss.argmax_set(t).astype(int).tolist() == [[1, 0, 0], [1, 1, 0], [0, 1, 1]]
    # gamma = 0.5: keep p >= 0.25 in row 0 ({0.5, 0.3}); row 1: >= 0.2 (all)
    assert ss.argmax_set(t, gamma=0.5).astype(int).tolist() == [[1, 1, 0], [1, 1, 1], [0, 1, 1]]


def test_argmax_mass_hand():
    # base argmax is y=1 (0.5); policy puts 0.1 there.  gamma=0.5: y*={1,2} (0.3 >= 0.25) -> 0.1 + 0 = 0.1
    q, p = [[0.9, 0.1, 0.0]], [[0.2, 0.5, 0.3]]
    assert ss.argmax_mass(q, p).tolist() == pytest.approx([0.1], abs=1e-15)
    assert ss.argmax_mass(q, p, gamma=0.5).tolist() == pytest.approx([0.1], abs=1e-15)
    # gamma=0.7: threshold 0.15 -> y*={0,1,2} -> mass 1
    assert ss.argmax_mass(q, p, gamma=0.7).tolist() == pytest.approx([1.0], abs=1e-15)


def test_coverage_hand():
    t = [[0.5, 0.25, 0.25], [0.2, 0.2, 0.6]]
    # uniform mu: (1/0.5 + 1/0.6)/2 = (2 + 5/3)/2 = 11/6
    assert ss.coverage(t) == pytest.approx(11 / 6, rel=1e-14)
    # mu = (0.25, 0.75): 0.25*2 + 0.75*5/3 = 0.5 + 1.25 = 1.75
    assert ss.coverage(t, mu=[0.25, 0.75]) == pytest.approx(1.75, rel=1e-14)
    # gamma=0.5: row 0 y* = {0.5, .25, .25} -> mass 1; row 1 threshold 0.3 -> {0.6}: (1 + 5/3)/2 = 4/3
    assert ss.coverage(t, gamma=0.5) == pytest.approx(4 / 3, rel=1e-14)
    # p=2: sqrt((2^2 + (5/3)^2)/2) = sqrt((4 + 25/9)/2) = sqrt(61/18)
    assert ss.coverage(t, p=2) == pytest.approx(math.sqrt(61 / 18), rel=1e-14)
    # tie: [0.4, 0.4, 0.2] -> mass 0.8 -> 1.25
    assert ss.coverage([[0.4, 0.4, 0.2]]) == pytest.approx(1.25, rel=1e-14)


def test_adaptive_coverage_hand():
    # 1 / max = 1 / 0.4 = 2.5 (the tie does not help C-bar); mixed with [1, 0]: (2.5 + 1)/2 = 1.75
    assert ss.adaptive_coverage([[0.4, 0.4, 0.2]]) == pytest.approx(2.5, rel=1e-14)
    assert ss.adaptive_coverage([[0.4, 0.4, 0.2], [1.0, 0.0, 0.0]]) == pytest.approx(1.75, rel=1e-14)


def test_margin_hand():
    # 0.5 / 0.25 - 1 = 1 ; with a tie at the top the runner-up is 0.2: 0.4/0.2 - 1 = 1
    assert ss.margin([[0.5, 0.25, 0.25]]) == pytest.approx(1.0, rel=1e-12)
    assert ss.margin([[0.4, 0.4, 0.2]]) == pytest.approx(1.0, rel=1e-12)
    # min over prompts: row 2 gives 0.6/0.3 - 1 = 1 ; row 1: 0.45/0.35 - 1 = 2/7
    assert ss.margin([[0.6, 0.3, 0.1], [0.45, 0.35, 0.2]]) == pytest.approx(2 / 7, rel=1e-12)
    # prompts with mu = 0 are ignored
    assert ss.margin([[0.6, 0.3, 0.1], [0.45, 0.35, 0.2]], mu=[1.0, 0.0]) == pytest.approx(1.0, rel=1e-12)
    # gamma = 0.5 (Assumption J.2): y*_gamma = {0.45, 0.35} (0.35 >= 0.225), top = 0.8, runner 0.2 -> 3
    assert ss.margin([[0.45, 0.35, 0.2]], gamma=0.5) == pytest.approx(3.0, rel=1e-12)
    # everything inside the argmax set (or zero) -> inf
    assert ss.margin([[0.5, 0.5, 0.0]]) == math.inf
    assert ss.margin([[1.0, 0.0]]) == math.inf


def test_sharpness_error_hand():
    q = [[0.9, 0.1], [0.5, 0.5], [0.8, 0.2]]
    p = [[0.6, 0.4], [0.7, 0.3], [0.9, 0.1]]
    # masses on y* = y0: 0.9, 0.5, 0.8 ; delta = 0.2 -> threshold 0.8
    # strict (<): only 0.5 fails -> 1/3 ; non-strict (<=): 0.5 and 0.8 fail -> 2/3
    assert ss.sharpness_error(q, p, delta=0.2) == pytest.approx(1 / 3, rel=1e-14)
    assert ss.sharpness_error(q, p, delta=0.2, strict=False) == pytest.approx(2 / 3, rel=1e-14)
    assert ss.sharpness_error(q, p, delta=0.2, mu=[0.5, 0.25, 0.25]) == pytest.approx(0.25, rel=1e-14)


def test_bon_law_hand():
    # p = (1/2, 1/4, 1/4), N = 2: top level 1 - (1/2)^2 = 3/4; level 1/4: (1/2)^2 - 0 = 1/4 split -> 1/8 each
    np.testing.assert_allclose(ss.bon_law([[0.5, 0.25, 0.25]], 2), [[0.75, 0.125, 0.125]], atol=1e-15)
    # N = 1 returns the base itself
    p = np.array([[0.1, 0.0, 0.6, 0.3]])
    np.testing.assert_allclose(ss.bon_law(p, 1), p, atol=1e-15)
    # uniform row: BoN is uniform for every N
    np.testing.assert_allclose(ss.bon_law(np.full((1, 4), 0.25), 7), np.full((1, 4), 0.25), atol=1e-15)


def test_tilted_hand():
    # beta = 1: p^2 normalised: (1/4, 1/16, 1/16) / (6/16) = (2/3, 1/6, 1/6)
    np.testing.assert_allclose(ss.tilted([[0.5, 0.25, 0.25]], 1.0), [[2 / 3, 1 / 6, 1 / 6]], rtol=1e-14)
    # beta = 1/2: p^3: (1/8, 1/64, 1/64)/(10/64) = (0.8, 0.1, 0.1); zeros stay zero
    np.testing.assert_allclose(ss.tilted([[0.5, 0.25, 0.25, 0.0]], 0.5), [[0.8, 0.1, 0.1, 0.0]], rtol=1e-14)


def test_kl_hellinger_concentrability_hand():
    # KL([1,0] || [.5,.5]) = log 2 ; KL([.5,.5] || [1, 0]) = inf
    assert ss.kl([[1.0, 0.0]], [[0.5, 0.5]]) == pytest.approx(math.log(2), rel=1e-14)
    assert ss.kl([[0.5, 0.5]], [[1.0, 0.0]]) == math.inf
    # Hellinger: disjoint supports -> 2 ; ([1,0],[.5,.5]) -> (1 - sqrt(.5))^2 + .5 = 2 - sqrt 2
    assert ss.hellinger_sq([[1.0, 0.0]], [[0.0, 1.0]]) == pytest.approx(2.0, rel=1e-14)
    assert ss.hellinger_sq([[1.0, 0.0]], [[0.5, 0.5]]) == pytest.approx(2 - math.sqrt(2), rel=1e-14)
    # C_pi = sum q^2/p : ([1, 0], [.5, .5]) -> 2 ; beta = 2: sum q (q/p)^2 = 4
    assert ss.concentrability([[1.0, 0.0]], [[0.5, 0.5]]) == pytest.approx(2.0, rel=1e-14)
    assert ss.concentrability([[1.0, 0.0]], [[0.5, 0.5]], beta=2.0) == pytest.approx(4.0, rel=1e-14)
    # beta = 0.5: 0.5*(0.5/0.25)^0.5 + 0.5*(0.5/0.75)^0.5 = 0.5*sqrt 2 + 0.5*sqrt(2/3)
    exp = 0.5 * math.sqrt(2) + 0.5 * math.sqrt(2 / 3)
    assert ss.concentrability([[0.5, 0.5]], [[0.25, 0.75]], beta=0.5) == pytest.approx(exp, rel=1e-14)
    assert ss.concentrability([[0.5, 0.5]], [[1.0, 0.0]]) == math.inf


def test_regularized_value_and_dpo_residual_hand():
    # J_beta(q = p = [.5,.5]) = log 1/2 - 0
    assert ss.regularized_value([[0.5, 0.5]], [[0.5, 0.5]], beta=1.0) == pytest.approx(-math.log(2), rel=1e-14)
    # q = [1, 0], p = [.5, .5], beta = 2: log .5 - 2 log 2 = -3 log 2
    assert ss.regularized_value([[1.0, 0.0]], [[0.5, 0.5]], beta=2.0) == pytest.approx(-3 * math.log(2), rel=1e-14)
    # residual at q = p: -(log p(y) - log p(y')) ; p = (.5, .25): R[0,1] = -(log .5 - log .25) = -log 2
    R = ss.dpo_residual([[0.5, 0.25, 0.25]], [[0.5, 0.25, 0.25]], beta=1.0)
    assert R.shape == (1, 3, 3)
    assert R[0, 0, 1] == pytest.approx(-math.log(2), rel=1e-14)
    assert R[0, 1, 0] == pytest.approx(math.log(2), rel=1e-14)
    assert R[0, 1, 2] == 0.0


# ------------------------------------------------------------------ hypothesis vs oracle


@settings(**SETTINGS)
@given(t=tables(), gamma=st.sampled_from([0.0, 0.0, 0.1, 0.3, 0.5, 0.9]))
def test_argmax_set_and_mass_vs_oracle(t, gamma):
    assume(not near_gamma_boundary(t, gamma))
    got = ss.argmax_set(t, gamma)
    want = O.argmax_set(t, gamma)
    assert [set(np.flatnonzero(r)) for r in got] == want
    q = t[::-1].copy()  # another table of the same shape
    np.testing.assert_allclose(ss.argmax_mass(q, t, gamma), [float(m) for m in O.argmax_mass(q, t, gamma)], rtol=1e-12)


@settings(**SETTINGS)
@given(data=st.data(), gamma=st.sampled_from([0.0, 0.0, 0.2, 0.5]), p=st.sampled_from([1, 1, 2, 3]))
def test_coverage_vs_oracle(data, gamma, p):
    t = data.draw(tables())
    mu = data.draw(mus(t.shape[0]))
    assume(not near_gamma_boundary(t, gamma))
    assert rel_close(ss.coverage(t, mu, gamma=gamma, p=p), O.coverage(t, mu, gamma, p), rtol=1e-11)
    assert rel_close(ss.adaptive_coverage(t, mu), O.adaptive_coverage(t, mu), rtol=1e-12)


@settings(**SETTINGS)
@given(data=st.data(), gamma=st.sampled_from([0.0, 0.0, 0.2, 0.5]))
def test_margin_vs_oracle(data, gamma):
    t = data.draw(tables())
    mu = data.draw(mus(t.shape[0]))
    assume(not near_gamma_boundary(t, gamma))
    got, want = ss.margin(t, mu, gamma), O.margin(t, mu, gamma)
    assert rel_close(got, want, rtol=1e-10), (got, want)


@settings(**SETTINGS)
@given(data=st.data(), delta=st.sampled_from([0.1, 0.25, 0.5, 0.9]), strict=st.booleans())
def test_sharpness_error_vs_oracle(data, delta, strict):
    p = data.draw(tables())
    q = data.draw(tables(max_X=p.shape[0], max_Y=p.shape[1], min_Y=p.shape[1]).filter(lambda a: a.shape == p.shape))
    mu = data.draw(mus(p.shape[0]))
    masses = [float(m) for m in O.argmax_mass(q, p)]
    assume(all(abs(m - (1 - delta)) > 1e-9 for m in masses))  # away from the threshold
    assert ss.sharpness_error(q, p, delta, mu, strict=strict) == pytest.approx(
        O.sharpness_error(q, p, delta, mu, strict=strict), abs=1e-12
    )


def test_sharpness_error_strict_boundary():
    # mass exactly 1 - delta = 0.5: counted only by the non-strict event
    q = [[0.5, 0.5]]
    p = [[0.6, 0.4]]
    assert ss.sharpness_error(q, p, 0.5, strict=True) == 0.0
    assert ss.sharpness_error(q, p, 0.5, strict=False) == 1.0


@settings(**SETTINGS)
@given(t=tables(max_X=2, max_Y=4), N=st.integers(1, 4))
def test_bon_law_vs_bruteforce_enumeration(t, N):
    got = ss.bon_law(t, N)
    for x, row in enumerate(t):
        brute = O.bon_law_bruteforce(row, N)
        level = O.bon_law_levelset(row, N)
        assert brute == level  # the two oracles agree exactly (Fractions)
        np.testing.assert_allclose(got[x], [float(v) for v in brute], rtol=1e-10, atol=1e-300)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-12)


@settings(**SETTINGS)
@given(t=tables(max_X=2, max_Y=7), N=st.sampled_from([1, 2, 5, 17, 100, 10**4]))
def test_bon_law_vs_levelset_oracle_large_N(t, N):
    got = ss.bon_law(t, N)
    for x, row in enumerate(t):
        want = [float(v) for v in O.bon_law_levelset(row, N, exact=False)]
        np.testing.assert_allclose(got[x], want, rtol=1e-9, atol=1e-300)
        # F2 on every row: mass on y* is 1 - (1 - p(y*))^N
        star = O.argmax_set(t[x : x + 1])[0]
        pstar = O.D(sum(Fraction(row[y]) for y in star) / sum(Fraction(v) for v in row))
        assert sum(got[x][list(star)]) == pytest.approx(float(1 - (1 - pstar) ** N), rel=1e-11)


@settings(**SETTINGS)
@given(t=tables(), beta=st.sampled_from([0.05, 0.3, 1.0, 2.5, 40.0]))
def test_tilted_vs_oracle(t, beta):
    np.testing.assert_allclose(ss.tilted(t, beta), O.tilted(t, beta), rtol=1e-11, atol=1e-300)


@settings(**SETTINGS)
@given(data=st.data(), beta=st.sampled_from([0.3, 1.0, 2.0]))
def test_divergences_vs_oracle(data, beta):
    p = data.draw(tables(zeros=False))
    q = data.draw(tables(max_X=p.shape[0], max_Y=p.shape[1], min_Y=p.shape[1]).filter(lambda a: a.shape == p.shape))
    mu = data.draw(mus(p.shape[0]))
    assert rel_close(ss.kl(q, p, mu), O.kl(q, p, mu), rtol=1e-10, atol=1e-13)
    assert rel_close(ss.hellinger_sq(q, p, mu), O.hellinger_sq(q, p, mu), rtol=1e-10, atol=1e-14)
    assert rel_close(ss.concentrability(q, p, mu, beta=beta), O.concentrability(q, p, mu, beta), rtol=1e-10)
    assert rel_close(ss.regularized_value(q, p, beta, mu), O.regularized_value(q, p, beta, mu), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ss.dpo_residual(q, p, beta), O.dpo_residual(q, p, beta), rtol=1e-10, atol=1e-10)


@settings(**SETTINGS)
@given(data=st.data())
def test_divergences_off_support(data):
    """q with mass where p has none: KL, concentrability inf, J_beta -inf; no NaN anywhere."""
    p = data.draw(tables())
    assume((p == 0).any())
    q = np.where(p == 0, 1.0, 0.0)
    q = np.where(q.sum(axis=1, keepdims=True) > 0, q, p)
    q = q / q.sum(axis=1, keepdims=True)
    mu = np.full(p.shape[0], 1.0 / p.shape[0])
    for f in (ss.kl, ss.concentrability, ss.hellinger_sq):
        v, w = f(q, p, mu), getattr(O, f.__name__)(q, p, mu)
        assert not math.isnan(v)
        assert rel_close(v, w, rtol=1e-10, atol=1e-13)
    v = ss.regularized_value(q, p, 1.0, mu)
    assert not math.isnan(v) and rel_close(v, O.regularized_value(q, p, 1.0, mu), rtol=1e-10, atol=1e-12)


@settings(**SETTINGS)
@given(t=tables(), N=st.integers(1, 6), beta=st.sampled_from([0.1, 1.0]))
def test_zero_probabilities_never_give_nan(t, N, beta):
    outs = [
        ss.argmax_mass(t, t),
        ss.coverage(t),
        ss.adaptive_coverage(t),
        ss.margin(t),
        ss.margin(t, gamma=0.5),
        ss.bon_law(t, N),
        ss.tilted(t, beta),
        ss.concentrability(t, t),
        ss.kl(t, t),
        ss.hellinger_sq(t, t),
        ss.regularized_value(t, t, beta),
        ss.dpo_residual(t, t, beta),
        ss.dpo_residual(t[:, ::-1].copy(), t, beta),
        ss.kl(t[:, ::-1].copy(), t),
        ss.concentrability(t[:, ::-1].copy(), t, beta=beta),
        ss.regularized_value(t[:, ::-1].copy(), t, beta),
        ss.sharpness_error(t, t, 0.5),
    ]
    for o in outs:
        assert not np.isnan(np.asarray(o, dtype=float)).any()


def test_models_accepted_wherever_tables_are():
    t = np.array([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]])
    lm = ss.TabularLM(t, mu=[0.25, 0.75])
    # the model's own mu is used: 0.25/0.5 + 0.75/0.8 = 0.5 + 0.9375
    assert ss.coverage(lm) == pytest.approx(1.4375, rel=1e-14)
    assert ss.coverage(t) == pytest.approx((2 + 1.25) / 2, rel=1e-14)
    np.testing.assert_allclose(ss.bon_law(lm, 3), ss.bon_law(t, 3), rtol=1e-14)
    assert ss.kl(lm, t) == pytest.approx(0.0, abs=1e-15)
    # jax arrays are accepted too
    assert ss.coverage(jnp.asarray(t)) == pytest.approx(1.625, rel=1e-14)


def test_near_ties_from_summation_order_count_as_ties():
    """0.5*0.6*0.7 and 0.5*0.7*0.6 are equal but their log sums differ in the last bit; both are argmax."""
    c1 = np.array([[[0.5, 0.5]]])
    c2 = np.array([[[0.6, 0.4], [0.7, 0.3]]])
    c3 = np.array([[[0.7, 0.3], [0.7, 0.3], [0.6, 0.4], [0.6, 0.4]]])
    m = ss.AutoregressiveLM([c1, c2, c3])
    # sequences 000 and 100 (indices 0 and 4) both have probability 0.21
    assert ss.argmax_set(m)[0].tolist() == [True, False, False, False, True, False, False, False]
    assert ss.coverage(m) == pytest.approx(1 / 0.42, rel=1e-12)
    law = ss.bon_law(m, 3)
    assert law[0, 0] == pytest.approx(law[0, 4], rel=1e-12)
    assert law[0, 0] + law[0, 4] == pytest.approx(1 - 0.58**3, rel=1e-12)


# ------------------------------------------------------------------ jit vs no jit, vmap


def _core_calls(lp, lq, mu):
    return {
        "argmax_set": core.argmax_set(lp, 0.0),
        "argmax_set_g": core.argmax_set(lp, 0.3),
        "log_argmax_mass": core.log_argmax_mass(lq, lp, 0.0),
        "coverage": core.coverage(lp, mu, 0.0, 1.0),
        "coverage_gp": core.coverage(lp, mu, 0.2, 2.0),
        "adaptive_coverage": core.adaptive_coverage(lp, mu),
        "margin": core.margin(lp, mu, 0.0),
        "margin_g": core.margin(lp, mu, 0.5),
        "sharpness_error": core.sharpness_error(lq, lp, 0.3, mu, 0.0, True),
        "sharpness_error_ns": core.sharpness_error(lq, lp, 0.3, mu, 0.0, False),
        "bon_law": core.bon_law(lp, 5.0),
        "tilted": core.tilted(lp, 0.7),
        "concentrability": core.concentrability(lq, lp, mu, 1.0),
        "concentrability_b": core.concentrability(lq, lp, mu, 0.4),
        "kl": core.kl(lq, lp, mu),
        "hellinger_sq": core.hellinger_sq(lq, lp, mu),
        "regularized_value": core.regularized_value(lq, lp, 0.5, mu),
        "dpo_residual": core.dpo_residual(lq, lp, 0.5),
    }


def _log(t):
    with np.errstate(divide="ignore"):
        return jnp.asarray(np.log(t))


def test_jit_vs_disable_jit_and_vmap():
    rng = np.random.default_rng(7)
    B, X, Y = 4, 3, 5
    P = rng.dirichlet(np.full(Y, 0.5), size=(B, X))
    P[0, 0] = [0.4, 0.4, 0.2, 0.0, 0.0]  # ties and zeros
    P[1, 1] = [1e-300, 0.5, 0.5 - 1e-300, 0.0, 0.0]
    Q = rng.dirichlet(np.full(Y, 1.0), size=(B, X))
    mu = jnp.asarray([0.2, 0.3, 0.5])
    lps, lqs = _log(P), _log(Q)
    jitted = [_core_calls(lps[b], lqs[b], mu) for b in range(B)]
    with jax.disable_jit():
        plain = [_core_calls(lps[b], lqs[b], mu) for b in range(2)]
    batched = jax.vmap(lambda a, b: _core_calls(a, b, mu))(lps, lqs)
    for b in range(B):
        for k in jitted[b]:
            j, v = np.asarray(jitted[b][k]), np.asarray(batched[k][b])
            if b < 2:
                np.testing.assert_allclose(j, np.asarray(plain[b][k]), rtol=1e-13, atol=1e-300, err_msg=k)
            np.testing.assert_allclose(j, v, rtol=1e-13, atol=1e-300, err_msg=k)
    # and the jitted cores match the oracles on this batch (spot check)
    for b in range(B):
        assert rel_close(float(jitted[b]["coverage"]), O.coverage(P[b], np.asarray(mu)), rtol=1e-12)
        np.testing.assert_allclose(np.exp(jitted[b]["tilted"]), O.tilted(P[b], 0.7), rtol=1e-11, atol=1e-300)


def test_prompts_with_zero_weight_are_ignored_even_when_infinite():
    """mu(x) = 0 on a prompt whose divergence is infinite (or overflows) gives no NaN: 0 * inf is dropped."""
    p = np.array([[0.5, 0.5], [1.0, 1e-280]])
    q = np.array([[0.0, 1.0], [0.0, 1.0]])
    mu = np.array([1.0, 0.0])
    # prompt 0 only: C = 1 * (1/0.5)^2 = 4 ; KL = log 2 ; H^2 = (1 - sqrt .5)^2 + .5 = 2 - sqrt 2 ; J = log .5 - log 2
    assert ss.concentrability(q, p, mu, beta=2.0) == pytest.approx(4.0, rel=1e-14)
    p2 = np.array([[0.5, 0.5], [1.0, 0.0]])
    assert ss.kl(q, p2, mu) == pytest.approx(math.log(2), rel=1e-14)
    assert ss.hellinger_sq(q, p2, mu) == pytest.approx(2 - math.sqrt(2), rel=1e-14)
    assert ss.regularized_value(q, p2, 1.0, mu) == pytest.approx(-2 * math.log(2), rel=1e-14)
    assert ss.concentrability(q, p2, mu) == pytest.approx(2.0, rel=1e-14)
