"""Exact self-reward laws (issue 14) against brute-force enumeration (tests/oracles_self_rewards.py)."""

from __future__ import annotations

import jax
import numpy as np
import oracles_self_rewards as ref  # tests/ is on sys.path (rootdir conftest, no package)
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sharpsim as s

SET = settings(max_examples=12, deadline=None)


@st.composite
def tie_tables(draw, X=(1, 2), Y=(2, 4)):
    """Tables from small integer weights: exact ties and zeros are frequent."""
    nx = draw(st.integers(*X))
    ny = draw(st.integers(*Y))
    rows = []
    for _ in range(nx):
        w = draw(st.lists(st.integers(0, 3), min_size=ny, max_size=ny).filter(lambda v: sum(v) > 0))
        tot = sum(w)
        rows.append([v / tot for v in w])
    return np.array(rows)


# ---------------------------------------------------------------- power


@SET
@given(tie_tables(), st.sampled_from([0.5, 1.0, 2.0, 3.3]))
def test_power_matches_enumeration(table, alpha):
    got = s.power(table, alpha)
    want = ref.as_table([ref.power_row(r, alpha) for r in table])
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)
    assert (got[table == 0] == 0).all()


def test_power_hand_checked():
    np.testing.assert_allclose(s.power([[0.5, 0.25, 0.25, 0.0]], 2.0), [[2 / 3, 1 / 6, 1 / 6, 0.0]], rtol=1e-15)
    np.testing.assert_allclose(s.power([[0.2, 0.8]], 1.0), [[0.2, 0.8]], rtol=1e-15)


@pytest.mark.parametrize("alpha", [1.1, 1.3, 1.5, 2.0, 2.7, 3.0, 5.0, 7.7, 9.0])
def test_power_is_tilted_bit_for_bit(alpha):
    """beta = 1/(alpha - 1): when 1 + 1/beta == alpha in floating point the two are the same bits."""
    model = s.random_autoregressive(jax.random.key(3), 3, 3, 4)
    beta = 1.0 / (alpha - 1.0)
    assert 1.0 + 1.0 / beta == alpha
    np.testing.assert_array_equal(s.power(model, alpha), s.tilted(model, beta))


@pytest.mark.parametrize("alpha", [1.76, 1.97, 2.52, 4.13])
def test_power_is_tilted_otherwise_to_1e15_and_more_accurate(alpha):
    """Where 1 + 1/beta != alpha (one ulp off), they agree to 1e-15 absolute, and power, which uses
    the exponent alpha itself, is the more accurate (against a 50-digit reference)."""
    from decimal import Decimal, getcontext

    model = s.random_autoregressive(jax.random.key(4), 2, 3, 5)
    beta = 1.0 / (alpha - 1.0)
    assert 1.0 + 1.0 / beta != alpha
    a, b = s.power(model, alpha), s.tilted(model, beta)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-15)
    getcontext().prec = 50
    lp = np.asarray(model.log_table())
    err_a = err_b = 0.0
    for x in range(model.X):
        w = [(Decimal(float(v)) * Decimal(alpha)).exp() for v in lp[x]]
        z = sum(w)
        exact = np.array([float(v / z) for v in w])
        err_a = max(err_a, float(np.max(np.abs(a[x] - exact) / exact)))
        err_b = max(err_b, float(np.max(np.abs(b[x] - exact) / exact)))
    assert err_a <= err_b
    assert err_a < 5e-15


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_power_rejects_bad_alpha(bad):
    with pytest.raises(ValueError, match="alpha"):
        s.power([[0.5, 0.5]], bad)
    with pytest.raises(TypeError, match="alpha"):
        s.power([[0.5, 0.5]], "2")


# ---------------------------------------------------------------- majority vote


@SET
@given(tie_tables(Y=(2, 4)), st.integers(1, 4), st.data())
def test_majority_law_matches_enumeration(table, N, data):
    Y = table.shape[1]
    answers = data.draw(st.lists(st.integers(0, 2), min_size=Y, max_size=Y))
    A = 3
    got = s.majority_law(table, answers, N, num_answers=A)
    want = ref.as_table([ref.majority_row(r, answers, N, A) for r in table])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-13)


def test_majority_hand_checked():
    # two answers, N = 3 (no ties possible): P[a=0 wins] = 0.6^3 + 3 0.6^2 0.4
    np.testing.assert_allclose(s.majority_prob([[0.6, 0.4]], [0, 1], 3, [0]), [0.648], rtol=1e-14)
    # N = 2, two answers: a tie (one each) is split evenly: 0.6^2 + 0.48/2
    np.testing.assert_allclose(s.majority_law([[0.6, 0.4]], [0, 1], 2), [[0.6, 0.4]], rtol=1e-14)
    # N = 1 is the answer law
    t = np.array([[0.1, 0.2, 0.3, 0.4]])
    np.testing.assert_allclose(s.majority_law(t, [0, 1, 0, 2], 1), [[0.4, 0.2, 0.4]], rtol=1e-14)
    # a certain answer always wins; an answer of zero mass never does
    np.testing.assert_allclose(s.majority_law([[0.5, 0.5, 0.0]], [1, 1, 0], 5), [[0.0, 1.0]], atol=1e-15)


def test_majority_larger_case_and_prob_column():
    """Y = 5, N = 6 (5^6 = 15625 tuples) with per-prompt answer maps; majority_prob = a column."""
    table = np.array([[0.3, 0.3, 0.2, 0.2, 0.0], [0.1, 0.25, 0.25, 0.15, 0.25]])
    answers = np.array([[0, 1, 2, 2, 3], [3, 2, 1, 0, 0]])
    N = 6
    got = s.majority_law(table, answers, N, num_answers=4)
    want = ref.as_table([ref.majority_row(table[x], list(answers[x]), N, 4) for x in range(2)])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    for a in range(4):
        np.testing.assert_allclose(s.majority_prob(table, answers, N, [a, a], num_answers=4), got[:, a],
                                   rtol=1e-14, atol=1e-16)


def test_majority_large_N_is_a_distribution():
    q = np.random.default_rng(0).dirichlet(np.ones(6), size=3)
    law = s.majority_law(q, np.arange(6), 120)
    np.testing.assert_allclose(law.sum(axis=1), 1.0, atol=1e-12)
    assert (law >= 0).all()
    # the most likely answer wins most of the time for large N
    assert (np.argmax(law, axis=1) == np.argmax(q, axis=1)).all()


def test_answer_law_and_majority_errors():
    np.testing.assert_allclose(s.answer_law([[0.5, 0.2, 0.3]], [0, 1, 0]), [[0.8, 0.2]])
    with pytest.raises(TypeError, match="answers"):
        s.majority_law([[0.5, 0.5]], [0.0, 1.0], 3)
    with pytest.raises(ValueError, match="answers"):
        s.majority_law([[0.5, 0.5]], [0, 1, 2], 3)
    with pytest.raises(ValueError, match="answers"):
        s.majority_law([[0.5, 0.5]], [0, -1], 3)
    with pytest.raises(ValueError, match="num_answers"):
        s.majority_law([[0.5, 0.5]], [0, 3], 3, num_answers=2)
    with pytest.raises(ValueError, match="N"):
        s.majority_law([[0.5, 0.5]], [0, 1], 0)
    with pytest.raises(ValueError, match="target"):
        s.majority_prob([[0.5, 0.5]], [0, 1], 3, [2])


# ---------------------------------------------------------------- soft best-of-N


@SET
@given(tie_tables(Y=(2, 4)), st.integers(1, 4), st.sampled_from([0.05, 0.3, 1.0, 4.0]))
def test_soft_bon_matches_enumeration(table, N, lam):
    got = s.soft_bon_law(table, N, lam)
    want = ref.as_table([ref.soft_bon_row(r, N, lam) for r in table])
    np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-15)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-12)


def test_soft_bon_custom_reward_and_limits():
    table = np.array([[0.4, 0.3, 0.2, 0.1, 0.0]])
    reward = np.array([[0.0, 2.0, 1.0, 5.0, 9.0]])
    got = s.soft_bon_law(table, 3, 0.7, reward=reward)
    np.testing.assert_allclose(got[0], ref.soft_bon_row(table[0], 3, 0.7, reward[0]), rtol=1e-11, atol=1e-15)
    # N = 1 is the base; lam large approaches the base; lam small approaches best-of-N (ties too)
    np.testing.assert_allclose(s.soft_bon_law(table, 1, 0.3), table, rtol=1e-15)
    np.testing.assert_allclose(s.soft_bon_law(table, 4, 1e4), table, atol=1e-4)
    tied = np.array([[0.3, 0.3, 0.2, 0.2]])
    np.testing.assert_allclose(s.soft_bon_law(tied, 4, 0.01), s.bon_law(tied, 4), atol=1e-6)


def test_soft_bon_errors():
    with pytest.raises(ValueError, match="lam"):
        s.soft_bon_law([[0.5, 0.5]], 2, 0.0)
    with pytest.raises(ValueError, match="reward"):
        s.soft_bon_law([[0.5, 0.5]], 2, 1.0, reward=[[0.0, np.inf]])
    with pytest.raises(ValueError, match="reward"):
        s.soft_bon_law([[0.5, 0.5]], 2, 1.0, reward=[[0.0]])
    with pytest.raises(ValueError, match="lam"):
        s.soft_bon_law([[0.999999, 1e-6]], 2, 1e-5)  # reward range / lam too wide for the quadrature


# ---------------------------------------------------------------- best-of-N KL and win rate


@SET
@given(tie_tables(X=(1, 1), Y=(4, 4)), st.integers(1, 4))  # one shape: one compilation
def test_bon_kl_and_win_rate_match_enumeration(table, N):
    row = table[0]
    law = ref.bon_row(row, N)
    np.testing.assert_allclose(s.bon_law(table, N)[0], [float(v) for v in law], rtol=1e-12, atol=1e-15)
    assert s.bon_kl(table, N) == pytest.approx(ref.kl_row(law, row), rel=1e-10, abs=1e-13)
    assert s.bon_kl(table, N) <= s.bon_kl_bound(N) + 1e-12
    assert s.bon_win_rate(table, N) == pytest.approx(float(ref.win_rate_row(row, N)), rel=1e-12, abs=1e-15)


def test_bon_kl_formula_is_exact_without_ties():
    """One padded [2, 64] table (one compilation): a 5-response base and 64 distinct levels."""
    table = np.zeros((2, 64))
    table[0, :5] = [0.05, 0.1, 0.15, 0.3, 0.4]
    table[1] = np.arange(1, 65, dtype=float) / np.arange(1, 65).sum()
    first, second = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    for N in (1, 2, 3, 8):
        # with Y finite the formula is exact only as Y -> inf; here it is an upper bound with a gap
        assert s.bon_kl(table, N, mu=first) <= s.bon_kl_bound(N) + 1e-15
    # many distinct levels approach the continuous formula (gap -> 0 as Y grows)
    for N, tol in ((2, 2e-4), (4, 1e-3), (16, 2e-2)):
        assert s.bon_kl(table, N, mu=second) == pytest.approx(s.bon_kl_bound(N), abs=tol)
        assert s.bon_win_rate(table, N, mu=second) == pytest.approx(N / (N + 1), abs=tol)


def test_bon_kl_and_win_rate_take_the_jitted_laws_bits_and_any_N():
    """bon_kl and bon_win_rate compute the law on the host path (sharpsim.core.bon_law_numpy): the same
    bits as composing them with the jitted core.bon_law, on a table with ties and zeros; an N beyond
    the float64 range is the N -> inf limit (the uniform law on the argmax set), as in sharpsim.bon_law,
    not an OverflowError."""
    from sharpsim import core, quantities

    rng = np.random.default_rng(11)
    table = rng.dirichlet(np.ones(7), size=5)
    table[0, 3] = 0.0
    table[1, :4] = table[1, 0]
    table[2, 2:5] = 0.0
    table /= table.sum(axis=1, keepdims=True)
    lp = np.asarray(s.self_rewards.log_table_of(table, "base"))  # the log table bon_kl works on
    mu = s.self_rewards.mu_of(None, table, 5)
    for N in (1, 3, 16):
        law = np.asarray(core.bon_law(core.to_device(lp), float(N)))
        with np.errstate(divide="ignore"):
            want_kl = float(core.kl(np.log(law), lp, mu))
        assert s.bon_kl(table, N) == want_kl
        assert s.bon_win_rate(table, N) == float(np.sum(mu * s.self_rewards._win_rows(lp, law)))
    limit = np.asarray(core.bon_law(core.to_device(lp), quantities.bon_N_float(10**400)))
    with np.errstate(divide="ignore"):
        assert s.bon_kl(table, 10**400) == float(core.kl(np.log(limit), lp, mu))
    assert np.isfinite(s.bon_kl(table, 10**400)) and s.bon_kl(table, 10**400) <= s.bon_kl_bound(10**400)


def test_bon_win_rate_hand_checked():
    assert s.bon_win_rate([[0.5, 0.5]], 7) == pytest.approx(0.5, abs=1e-15)  # one tie level
    # two levels a < b: BoN picks b w.p. 1 - pa^N; win = P(b)*(pa + pb/2) + P(a)*(pa/2)
    pa, pb, N = 0.3, 0.7, 3
    qb = 1 - pa**N
    want = qb * (pa + pb / 2) + (1 - qb) * pa / 2
    assert s.bon_win_rate([[pa, pb]], N) == pytest.approx(want, rel=1e-14)
    assert s.bon_win_rate_continuous(3) == 0.75
    assert s.bon_kl_bound(1) == 0.0
    assert s.bon_kl([[1.0, 0.0]], 5) == 0.0


# ---------------------------------------------------------------- autoregressive power


@pytest.mark.parametrize("order", [None, 0, 1, 2])
@pytest.mark.parametrize("alpha", [0.5, 2.0, 4.0])
def test_ar_power_table_is_power_of_table(order, alpha):
    model = s.random_autoregressive(jax.random.key(7), 2, 3, 4, order=order, alpha=0.7)
    pm = model.power(alpha)
    assert pm.context_lengths == model.context_lengths
    np.testing.assert_allclose(pm.table(), s.power(model, alpha), rtol=1e-12, atol=1e-16)


def test_ar_power_conditionals_match_enumeration():
    """p_pow(v | prefix) by summing the enumerated power law over completions, with zero conditionals."""
    rng = np.random.default_rng(5)
    V, H = 3, 3
    conds = []
    for h in range(H):
        w = rng.integers(0, 3, size=(1, V**h, V)).astype(float)
        w[..., 0] += (w.sum(axis=-1) == 0)  # keep every row alive
        conds.append(w / w.sum(axis=-1, keepdims=True))
    model = s.AutoregressiveLM(conds)
    alpha = 2.5
    seq = ref.ar_sequence_probs(model.conditionals, 0, V, H)
    seq_pow = ref.power_row(seq, alpha)
    pm = model.power(alpha)
    for t in range(H):
        for prefix in np.ndindex(*(V,) * t):
            pre_mass = sum(seq[i] for i, tup in enumerate(np.ndindex(*(V,) * H)) if tup[:t] == prefix)
            if pre_mass == 0:
                continue  # unreachable prefix: any normalised row is fine
            want = ref.power_token_conditional(seq_pow, V, H, list(prefix))
            ctx = int(s.encode(np.array(prefix, dtype=np.int64), V)) if t else 0
            np.testing.assert_allclose(np.exp(pm.conditionals[t][0, ctx]), want, rtol=1e-12, atol=1e-15)


def test_ar_power_markov_long_horizon_without_enumeration():
    """Markov order 2, V^H = 3^30: the recursion runs over 3^2 contexts only."""
    from sharpsim.ar_power import power_conditionals

    model = s.random_autoregressive(jax.random.key(8), 2, 3, 30, order=2)
    out = power_conditionals(model.conditionals, 3.0)
    pm = model.power(3.0)
    assert [c.shape for c in pm.conditionals] == [c.shape for c in model.conditionals]
    toks = np.random.default_rng(9).integers(0, 3, size=(2, 5, 30))  # Dirichlet rows: every sequence is live
    x = np.array([[0] * 5, [1] * 5])
    lhs = pm.sequence_log_prob(x, toks)
    rhs = 3.0 * model.sequence_log_prob(x, toks) - out.log_normalizer[x]
    np.testing.assert_allclose(lhs, rhs, rtol=1e-12)
    # a Markov order-1 chain with H = 6 checked against the table
    small = s.random_autoregressive(jax.random.key(10), 1, 3, 6, order=1)
    np.testing.assert_allclose(small.power(3.0).table(), s.power(small, 3.0), rtol=1e-11, atol=1e-16)
    np.testing.assert_allclose(np.exp(power_conditionals(small.conditionals, 3.0).log_normalizer),
                               np.exp(3.0 * np.asarray(small.log_table())).sum(axis=1), rtol=1e-12)


def test_ar_power_errors():
    from sharpsim.ar_power import power_conditionals

    model = s.random_autoregressive(jax.random.key(1), 1, 2, 2)
    with pytest.raises(ValueError, match="alpha"):
        model.power(0.0)
    with pytest.raises(TypeError, match="log_conds"):
        power_conditionals(np.zeros((1, 1, 2)), 2.0)
    with pytest.raises(ValueError, match="power of V"):
        power_conditionals([np.log(np.full((1, 1, 2), 0.5)), np.log(np.full((1, 3, 2), 0.5))], 2.0)
    with pytest.raises(ValueError, match="c_1"):
        power_conditionals([np.log(np.full((1, 2, 2), 0.5))], 2.0)


# ---------------------------------------------------------------- power vs temperature


def test_power_equals_temperature_for_independent_tokens():
    model = s.random_autoregressive(jax.random.key(11), 2, 3, 4, order=0)
    r = s.power_vs_temperature(model, 3.0)
    assert r["kl_power_temp"] == pytest.approx(0.0, abs=1e-13)
    np.testing.assert_allclose(model.power(3.0).table(), model.with_temperature(1 / 3).table(), rtol=1e-12, atol=1e-17)


def _trap_model(X=12, V=4, H=3, p_correct=0.30, p_trap=0.45, q=0.92, seed=0):
    """Every prompt a trap (SPEC 7): token 0 is likelier than the correct first token 1, after which
    the chain 1, 1, ... continues with probability q; any other prefix continues diffusely."""
    rng = np.random.default_rng(seed)
    first = np.full((X, 1, V), (1 - p_correct - p_trap) / (V - 2))
    first[:, 0, 0], first[:, 0, 1] = p_trap, p_correct
    conds = [first]
    for h in range(2, H + 1):
        c = rng.dirichlet(np.full(V, 3.0), size=(X, V ** (h - 1)))
        on = int(s.encode(np.ones(h - 1, dtype=np.int64), V))
        c[:, on] = (1 - q) / (V - 1)
        c[:, on, 1] = q
        conds.append(c)
    model = s.AutoregressiveLM(conds)
    correct = np.broadcast_to((np.arange(V**H) % V) == 1, (X, V**H))  # the answer is the last token
    return model, np.array(correct)


def test_power_differs_from_temperature_on_trap_tasks():
    model, correct = _trap_model()
    r = s.power_vs_temperature(model, 4.0, correct=correct)
    assert r["kl_power_temp"] > 0.1
    # power keeps the sequence argmax (the correct chain on trap prompts); temperature follows the trap token
    assert r["mode_mass_power"] > r["mode_mass_temp"] + 0.2
    assert r["acc_power"] > r["acc_temp"]
    # alpha = 1: both are the base
    r1 = s.power_vs_temperature(model, 1.0, correct=correct)
    assert r1["kl_power_temp"] == pytest.approx(0.0, abs=1e-12)
    assert r1["acc_power"] == pytest.approx(r1["acc_base"], abs=1e-12)
    with pytest.raises(TypeError, match="AutoregressiveLM"):
        s.power_vs_temperature(s.TabularLM([[0.5, 0.5]]), 2.0)
    with pytest.raises(ValueError, match="correct"):
        s.power_vs_temperature(model, 2.0, correct=np.ones((1, 2), dtype=bool))


def test_majority_chunking_gives_the_same_bits(monkeypatch):
    from sharpsim import self_rewards as sr

    q = np.random.default_rng(1).dirichlet(np.ones(5), size=7)
    whole = s.majority_law(q, np.arange(5), 12)
    monkeypatch.setattr(sr, "MAJORITY_CHUNK_ENTRIES", 12 * 3 * 13 * 2)  # two rows per chunk
    np.testing.assert_array_equal(s.majority_law(q, np.arange(5), 12), whole)


def test_majority_law_when_every_response_shares_one_answer():
    """Regression (found by hypothesis): a row whose answer law sums to 1 + 1 ulp on one answer gave
    NaN (1 - q_a < 0 in the binomial). Every draw has answer 0, so the plurality is 0 with probability 1."""
    t = np.array([[1 / 3, 0.5, 1 / 6]])
    for N in range(1, 6):
        np.testing.assert_array_equal(s.majority_law(t, [0, 0, 0], N, num_answers=3), [[1.0, 0.0, 0.0]])
