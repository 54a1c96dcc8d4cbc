"""sharpsim.iterate against the brute-force references of tests/oracles_iterate.py.

Closed forms of the population rounds (tilting t times = p^(alpha^t); BoN_N t times = BoN_{N^t},
ties included), per-round metrics, the fixed-reward best-of-N law, the exact count chain
(transition matrix over the rationals, fundamental matrix, the Wright-Fisher martingale) and the
finite-sample simulation against the exact chain with Clopper-Pearson tolerances at 1 - 1e-6.
"""

import math
from fractions import Fraction

import jax
import numpy as np
import oracles_iterate as O  # tests/ is on sys.path (rootdir conftest, no package)
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sharpsim as s
from sharpsim.stats import clopper_pearson

SETTINGS = dict(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LEVEL = 1 - 1e-6


@st.composite
def int_rows(draw, max_Y=4, min_Y=2):
    """Integer weights with ties and zeros (at least one positive)."""
    Y = draw(st.integers(min_Y, max_Y))
    w = draw(st.lists(st.sampled_from([0, 1, 1, 2, 3, 5]), min_size=Y, max_size=Y))
    if max(w) == 0:
        w[0] = 1
    return w


def as_float(w):
    return np.array(w, dtype=np.float64) / sum(w)


def as_frac(w):
    return [Fraction(v, sum(w)) for v in w]


# --------------------------------------------------------------------------- population closed forms


def test_tilt_t_times_is_power_alpha_t():
    p = np.array([[0.5, 0.3, 0.2, 0.0], [0.25, 0.25, 0.4, 0.1]])
    for beta in (0.5, 1.0, 3.0):
        alpha = 1 + 1 / beta
        traj = s.iterate(p, s.tilt_step(beta=beta), 4)
        for t, m in enumerate(traj):
            for x in range(2):
                np.testing.assert_allclose(m.table()[x], O.power_normalise(list(p[x]), alpha**t), rtol=1e-12, atol=1e-300)
    # beta and alpha parametrise the same step; temperature tau = 1/alpha is the same map
    a = s.iterate(p, s.tilt_step(alpha=3.0), 3)[-1].table()
    b = s.iterate(p, s.tilt_step(beta=0.5), 3)[-1].table()
    c = s.iterate(p, s.temperature_step(1 / 3), 3)[-1].table()
    np.testing.assert_allclose(a, b, rtol=1e-13)
    np.testing.assert_allclose(a, c, rtol=1e-12)


def test_temperature_above_one_flattens():
    p = np.array([[0.7, 0.2, 0.1]])
    traj = s.iterate(p, s.temperature_step(2.0), 3)
    np.testing.assert_allclose(traj[3].table()[0], O.power_normalise([0.7, 0.2, 0.1], 0.5**3), rtol=1e-12)
    assert traj[3].table()[0].max() < traj[0].table()[0].max()


def test_bon_hand_case():
    # p = (1/2, 1/4, 1/4): BoN_2 = (3/4, 1/8, 1/8); BoN_2 again: cumulative (1/4)^2 = 1/16 -> (15/16, 1/32, 1/32)
    traj = s.iterate([[0.5, 0.25, 0.25]], s.bon_step(2), 2)
    np.testing.assert_allclose(traj[1].table()[0], [0.75, 0.125, 0.125], rtol=1e-14)
    np.testing.assert_allclose(traj[2].table()[0], [15 / 16, 1 / 32, 1 / 32], rtol=1e-14)


@given(int_rows(), st.integers(1, 3), st.integers(1, 3))
@settings(**SETTINGS)
def test_bon_t_times_is_bon_N_to_the_t(w, N, t):
    """BoN_N applied t times = BoN_{N^t}: the per-round law brute-forced over N-tuples with exact
    fractions, against the closed form, the fast trajectory and iterated_bon_law (ties, zeros)."""
    q = as_frac(w)
    for _ in range(t):
        q = O.bon_brute(q, N)
    closed = O.bon_closed_form(as_frac(w), N**t)
    assert q == closed  # exact identity over the rationals, ties included
    p = as_float(w)[None, :]
    traj = s.iterate(p, s.bon_step(N), t)
    np.testing.assert_allclose(traj[t].table()[0], [float(v) for v in q], rtol=1e-11, atol=1e-15)
    np.testing.assert_allclose(s.iterated_bon_law(p, N, t)[0], [float(v) for v in q], rtol=1e-11, atol=1e-15)
    # the SFT population limit is the same law
    np.testing.assert_allclose(s.iterate(p, s.sft_step(N), t)[t].table(), traj[t].table(), rtol=0, atol=0)


@given(int_rows(max_Y=6), st.integers(1, 6))
@settings(**SETTINGS)
def test_bon_preserves_order_ties_and_support(w, N):
    p = as_float(w)
    q = s.bon_law(p[None, :], N)[0]
    for i in range(len(p)):
        for j in range(len(p)):
            if p[i] < p[j]:
                assert q[i] < q[j]  # strict order kept
            if p[i] == p[j]:
                assert q[i] == q[j]
    assert ((q > 0) == (p > 0)).all()


def test_population_rewards_coincide():
    """Population BoN keeps the order, so the current self-reward and the base reward select alike."""
    p = np.array([[0.4, 0.3, 0.2, 0.1], [0.25, 0.25, 0.5, 0.0]])
    a = s.iterate(p, s.bon_step(3), 4)
    b = s.iterate(p, s.bon_step(3, reward="base"), 4)
    for ma, mb in zip(a, b):
        np.testing.assert_allclose(ma.table(), mb.table(), rtol=1e-12, atol=1e-300)


def test_iterate_accepts_callables_models_and_mu():
    lm = s.TabularLM([[0.6, 0.4], [0.1, 0.9]], mu=[0.25, 0.75])
    traj = s.iterate(lm, lambda lt: lt, 2)
    assert len(traj) == 3 and np.allclose(traj[2].mu, [0.25, 0.75])
    ar = s.AutoregressiveLM([np.array([[[0.3, 0.7]]]), np.array([[[0.5, 0.5], [0.9, 0.1]]])])
    t2 = s.iterate(ar, s.bon_step(2), 1)
    np.testing.assert_allclose(t2[1].table(), s.bon_law(ar, 2), rtol=1e-14)


def test_iterate_underflow_is_zero_not_nan():
    traj = s.iterate([[0.9, 0.1]], s.bon_step(8), 6)  # 0.1^(8^6) underflows
    t = traj[-1].table()
    assert np.isfinite(t).all() and t[0, 0] == 1.0 and t[0, 1] == 0.0


# --------------------------------------------------------------------------- metrics


@given(st.lists(int_rows(max_Y=4, min_Y=4), min_size=2, max_size=2), st.integers(0, 2))
@settings(**SETTINGS)
def test_round_metrics_against_loops(rows, rounds):
    p = np.array([as_float(w) for w in rows])
    X, Y = p.shape
    correct = (np.arange(X * Y).reshape(X, Y) % 3) == 1
    mu = np.arange(1, X + 1) / np.arange(1, X + 1).sum()
    traj = s.iterate(p, s.bon_step(2), rounds, mu=mu)
    got = s.round_metrics(traj, correct=correct, ks=(1, 2, 3), mu=mu)
    per = s.round_metrics(traj, correct=correct, ks=(2,), per_prompt=True)
    for t, m in enumerate(traj):
        tab = m.table()
        ref = [O.row_metrics_brute(list(tab[x]), list(p[x]), list(correct[x])) for x in range(X)]
        for k in ("coverage", "entropy", "mode_mass", "support", "pass@1", "accuracy"):
            exp = sum(mu[x] * ref[x][k] for x in range(X))
            assert got[k][t] == pytest.approx(exp, rel=1e-10, abs=1e-12), k
            np.testing.assert_allclose(per[k][t], [r[k] for r in ref], rtol=1e-10, atol=1e-12)
        assert got["margin"][t] == pytest.approx(min(r["margin"] for r in ref), rel=1e-10)
        for k in (2, 3):
            exp = sum(mu[x] * O.pass_at_k_brute(list(tab[x]), list(correct[x]), k) for x in range(X))
            assert got[f"pass@{k}"][t] == pytest.approx(exp, rel=1e-10, abs=1e-12)
        assert got["coverage"][t] == pytest.approx(s.coverage(m), rel=1e-12)
        assert got["margin"][t] == pytest.approx(s.margin(m), rel=1e-9)


def test_population_sharpening_trends():
    """BoN rounds on a prompt whose mode is wrong: pass@1 falls to the (constant) greedy accuracy 0,
    pass@4 falls, entropy and C_cov fall, mode mass rises to 1."""
    p = np.array([[0.4, 0.35, 0.25], [0.2, 0.5, 0.3]])
    correct = np.array([[False, True, False], [False, True, False]])
    traj = s.iterate(p, s.bon_step(4), 6)
    m = s.round_metrics(traj, correct=correct, ks=(4,))
    assert (m["accuracy"] == 0.5).all()  # order preserved: greedy answers never change
    d = {k: np.diff(v) for k, v in m.items()}  # strict over the first rounds, then saturated in float64
    assert (d["pass@4"][:3] < 0).all() and (d["entropy"][:3] < 0).all() and (d["pass@4"] <= 0).all()
    assert (d["coverage"][:3] < 0).all() and (d["mode_mass"][:3] > 0).all() and (d["entropy"] <= 1e-15).all()
    assert m["pass@1"][-1] == pytest.approx(0.5, abs=1e-6) and m["mode_mass"][-1] == pytest.approx(1.0, abs=1e-6)


# --------------------------------------------------------------------------- fixed-reward best-of-N


@given(int_rows(max_Y=4), st.lists(st.sampled_from([-1.0, 0.0, 0.0, 2.0, -np.inf]), min_size=4, max_size=4),
       st.integers(1, 3))
@settings(**SETTINGS)
def test_reward_bon_law_brute(w, r, N):
    q = as_frac(w)
    r = r[: len(w)]
    ref = O.bon_brute(q, N, score=r)
    got = s.reward_bon_law(as_float(w)[None, :], np.array([r]), N)[0]
    np.testing.assert_allclose(got, [float(v) for v in ref], rtol=1e-12, atol=1e-15)
    assert got.sum() == pytest.approx(1.0, abs=1e-13)


@given(int_rows(max_Y=6), st.integers(1, 5))
@settings(**SETTINGS)
def test_reward_bon_law_with_self_reward_is_bon_law(w, N):
    p = as_float(w)[None, :]
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(s.reward_bon_law(p, np.log(p), N), s.bon_law(p, N), rtol=1e-12, atol=1e-15)


# --------------------------------------------------------------------------- exact chains


def test_compositions():
    c = s.compositions(3, 3)
    assert c.tolist() == [list(v) for v in O.compositions_brute(3, 3)]
    assert len(s.compositions(7, 4)) == math.comb(10, 3)


CHAIN_CASES = [
    # (base weights, n, N, n_fresh via fresh, smoothing, reward)
    ([2, 1, 1], 3, 1, 0.0, 0, "current"),
    ([2, 1, 1], 4, 2, 0.0, 0, "current"),
    ([3, 2, 0], 3, 3, 0.0, 0, "current"),
    ([2, 1, 1], 4, 2, 0.25, 0, "current"),
    ([2, 1, 1], 3, 2, 0.0, Fraction(1, 2), "current"),
    ([1, 2, 1], 4, 2, 0.0, 0, "base"),
    ([1, 2, 1], 4, 2, 0.5, Fraction(1, 4), "base"),
]


@pytest.mark.parametrize("w,n,N,fresh,smooth,reward", CHAIN_CASES)
def test_chain_transition_matrix_over_the_rationals(w, n, N, fresh, smooth, reward):
    ch = s.count_chain(as_float(w), n, N, fresh=fresh, smoothing=float(smooth), reward=reward)
    states, P = O.chain_brute(as_frac(w), n, N, n_fresh=round(fresh * n), smoothing=Fraction(smooth),
                              reward=reward)
    assert ch.states.tolist() == [list(c) for c in states]
    np.testing.assert_allclose(ch.P, np.array(P, dtype=float), rtol=1e-11, atol=1e-14)
    # the first round draws from the base itself
    law0 = O.step_law(as_frac(w), as_frac(w), n, N, round(fresh * n), reward)
    np.testing.assert_allclose(ch.laws(1)[0], [float(law0.get(tuple(c), 0)) for c in states], rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize("N", [1, 2, 3])
def test_chain_absorption_against_fractions(N):
    w, n = [2, 1, 1], 4
    ch = s.count_chain(as_float(w), n, N)
    states, P = O.chain_brute(as_frac(w), n, N)
    t_ref, fix_ref = O.absorption_brute(states, P, n)
    for c in states:
        assert ch.absorption_time(c) == pytest.approx(float(t_ref[c]), rel=1e-10, abs=1e-12)
        np.testing.assert_allclose(ch.fixation_probabilities(c), [float(v) for v in fix_ref[c]], rtol=1e-10, atol=1e-12)
    # from the base (round 0): one step from pi_0, then the chain
    law0 = O.step_law(as_frac(w), as_frac(w), n, N, 0, "current")
    exp_t = 1 + sum(pr * t_ref[c] for c, pr in law0.items())
    assert ch.absorption_time() == pytest.approx(float(exp_t), rel=1e-10)


@pytest.mark.parametrize("n,Y", [(6, 3), (9, 2), (4, 4)])
def test_wright_fisher_martingale_exact(n, Y):
    """N = 1, no fresh data, no smoothing: E[c' | c] = c and P[y fixes | c] = c_y / n exactly."""
    base = np.full(Y, 1.0 / Y)
    ch = s.count_chain(base, n, 1)
    np.testing.assert_allclose(ch.P @ ch.states, ch.states, rtol=0, atol=1e-11)
    for c in ch.states:
        np.testing.assert_allclose(ch.fixation_probabilities(c), c / n, rtol=0, atol=1e-11)
    p0 = np.arange(1, Y + 1) / np.arange(1, Y + 1).sum()
    np.testing.assert_allclose(s.count_chain(p0, n, 1).fixation_probabilities(), p0, atol=1e-11)


def test_selection_drives_mass_to_the_argmax():
    p0 = np.array([0.4, 0.35, 0.25])
    correct = np.array([False, True, False])
    fix = [s.count_chain(p0, 8, N).fixation_probabilities()[0] for N in (1, 2, 4, 8)]
    assert fix[0] == pytest.approx(0.4, abs=1e-11)
    assert all(b > a for a, b in zip(fix, fix[1:])) and fix[-1] > 0.9
    ch = s.count_chain(p0, 8, 4)
    lost = ch.lost_probability(30, correct)
    assert (np.diff(lost) >= -1e-14).all()  # absorbing event: non-decreasing
    assert lost[-1] == pytest.approx(ch.eventual_loss_probability(correct), abs=1e-6)
    # fresh data keeps the correct response alive: no absorption, a stationary law
    chf = s.count_chain(p0, 8, 4, fresh=0.25)
    pi = chf.stationary()
    np.testing.assert_allclose(pi @ chf.P, pi, atol=1e-12)
    assert pi @ (chf.states[:, 1] == 0) < lost[-1]
    with pytest.raises(ValueError, match="no absorbing state"):
        chf.absorption_time()


# --------------------------------------------------------------------------- simulation vs the exact chain


def _check_counts_against_chain(counts_by_round, ch, correct):
    """Per round: the lost fraction and every state's frequency inside Clopper-Pearson (1 - 1e-6)."""
    R = counts_by_round.shape[1]
    laws = ch.laws(counts_by_round.shape[0])
    lost = ch.lost_probability(counts_by_round.shape[0], correct)
    for t, counts in enumerate(counts_by_round):
        k = int((counts[:, correct].sum(axis=1) == 0).sum())
        lo, hi = clopper_pearson(k, R, LEVEL)
        assert lo <= lost[t] <= hi, (t, k / R, lost[t])
        idx = np.array([ch.index(c) for c in counts])
        freq = np.bincount(idx, minlength=ch.S)
        for st_ in range(ch.S):
            lo, hi = clopper_pearson(int(freq[st_]), R, LEVEL)
            assert lo <= laws[t, st_] <= hi, (t, ch.states[st_], freq[st_] / R, laws[t, st_])


REPS = 1500  # replicate prompts in every simulation below (one shape: the oracle's cores compile once)

SIM_CASES = [
    dict(n=4, N=2),
    dict(n=4, N=3, fresh=0.5, smoothing=0.5, reward="base"),
    dict(n=4, N=2, shortcut=False),
]


@pytest.mark.parametrize("kw", SIM_CASES)
def test_simulation_matches_exact_chain(kw):
    p0 = np.array([0.45, 0.35, 0.2])
    correct = np.array([False, True, False])
    R, rounds = REPS, 4
    kw = dict(kw)
    n, N = kw.pop("n"), kw.pop("N")
    res = s.self_train(jax.random.key(7), s.TabularLM(np.tile(p0, (R, 1))), rounds, n, N, **kw)
    ch = s.count_chain(p0, n, N, fresh=kw.get("fresh", 0.0), smoothing=kw.get("smoothing", 0.0),
                       reward=kw.get("reward", "current"))
    _check_counts_against_chain(res.counts, ch, correct)
    # the refit is counts / n (+ smoothing) on every replicate
    sm = kw.get("smoothing", 0.0)
    np.testing.assert_allclose(res.models[-1].table(), (res.counts[-1] + sm) / (n + 3 * sm), rtol=1e-12)


def test_wright_fisher_fixation_by_simulation():
    """N = 1 from pi_0: the response that takes all the mass is y with probability pi_0(y)."""
    p0 = np.array([0.5, 0.3, 0.2])
    R, n, rounds = REPS, 4, 40
    res = s.self_train(jax.random.key(11), s.TabularLM(np.tile(p0, (R, 1))), rounds, n, 1)
    ch = s.count_chain(p0, n, 1)
    last = res.counts[-1]
    fixed = last.max(axis=1) == n
    laws = ch.laws(rounds)[-1]
    for y in range(3):
        k = int((last[:, y] == n).sum())
        lo, hi = clopper_pearson(k, R, LEVEL)
        exact_by_T = laws[(ch.states[:, y] == n)].sum()
        assert lo <= exact_by_T <= hi
        assert lo <= p0[y] <= hi  # the martingale limit (not fixed by round 40: < 1e-3, checked below)
    assert 1 - laws[ch.absorbing].sum() < 1e-3 and fixed.mean() > 0.99
    np.testing.assert_allclose(ch.fixation_probabilities(), p0, atol=1e-11)


# --------------------------------------------------------------------------- query accounting and options


def test_self_train_query_counts():
    p = s.TabularLM(np.tile([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]], (REPS // 2, 1)))
    X = REPS
    r = s.self_train(jax.random.key(0), p, 2, n=4, N=2, fresh=0.25)
    assert r.queries.tolist() == [X * 3 * 2] * 2 and r.fresh_queries.tolist() == [X] * 2
    assert r.reward_queries.tolist() == [0] * 2 and r.cost == 2 * X * (6 + 1)
    assert (r.counts.sum(axis=2) == 4).all()
    rb = s.self_train(jax.random.key(0), p, 1, n=4, N=3, reward="base", fresh=0.5)
    assert rb.queries.tolist() == [X * 2 * 3] and rb.reward_queries.tolist() == [X * 2 * 3]
    assert rb.fresh_queries.tolist() == [X * 2]
    q = s.TabularLM([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]], mu=[0.5, 0.5])
    rm = s.self_train(jax.random.key(0), q, 2, n=10, N=3, prompts="mu", fresh=0.3)
    assert rm.prompts.tolist() == [10, 10] and rm.queries.tolist() == [21, 21] and rm.fresh_queries.tolist() == [3, 3]
    assert rm.counts.sum(axis=(1, 2)).tolist() == [10, 10]


def test_self_train_deterministic_and_unseen_prompts_keep_their_row():
    p = s.TabularLM([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]], mu=[1.0, 0.0])
    a = s.self_train(jax.random.key(3), p, 3, n=10, N=3, prompts="mu", fresh=0.3)
    b = s.self_train(jax.random.key(3), p, 3, n=10, N=3, prompts="mu", fresh=0.3)
    assert (a.counts == b.counts).all()
    np.testing.assert_allclose(a.models[-1].table()[1], [0.1, 0.1, 0.8], rtol=1e-14)
    assert a.counts[:, 1].sum() == 0
    m = a.metrics(correct=np.array([[0, 1, 0], [0, 0, 1]], dtype=bool), ks=(2,))
    assert m["pass@2"].shape == (4,)


def test_validation_errors():
    p = [[0.5, 0.5]]
    with pytest.raises(ValueError, match="reward"):
        s.bon_step(2, reward="gold")
    with pytest.raises(ValueError, match="exactly one"):
        s.tilt_step(beta=1.0, alpha=2.0)
    with pytest.raises(ValueError, match="alpha"):
        s.tilt_step(alpha=1.0)
    with pytest.raises(ValueError, match="tau"):
        s.temperature_step(0.0)
    with pytest.raises(TypeError, match="N"):
        s.bon_step(2.5)
    with pytest.raises(ValueError, match="rounds"):
        s.iterate(p, s.bon_step(2), -1)
    with pytest.raises(TypeError, match="step"):
        s.iterate(p, 3, 1)
    with pytest.raises(ValueError, match="fresh"):
        s.self_train(jax.random.key(0), p, 1, 2, 2, fresh=1.5)
    with pytest.raises(ValueError, match="smoothing"):
        s.self_train(jax.random.key(0), p, 1, 2, 2, smoothing=-1.0)
    with pytest.raises(ValueError, match="prompts"):
        s.self_train(jax.random.key(0), p, 1, 2, 2, prompts="all")
    with pytest.raises(ValueError, match="MAX_CHAIN_STATES"):
        s.count_chain(np.full(6, 1 / 6), 40, 2)
    with pytest.raises(ValueError, match="one prompt"):
        s.count_chain([[0.5, 0.5], [0.5, 0.5]], 3, 2)
    with pytest.raises(ValueError, match="counts"):
        s.count_chain([0.5, 0.5], 3, 2).index([1, 1])
    with pytest.raises(ValueError, match="verifier"):
        s.round_metrics([p], ks=(2,))
    with pytest.raises(ValueError, match="correct"):
        s.round_metrics([p], correct=np.ones((2, 2), bool))
    with pytest.raises(ValueError, match="shape"):
        s.reward_bon_law(p, [[0.0]], 2)
    with pytest.raises(ValueError, match="NaN"):
        s.reward_bon_law(p, [[0.0, np.nan]], 2)


def test_n_fresh_rounding_and_absorption():
    from sharpsim.iterate import n_fresh

    assert [n_fresh(0.25, n) for n in (1, 2, 3, 4, 6)] == [0, 1, 1, 1, 2]  # floor(lambda n + 1/2)
    ch = s.count_chain([0.5, 0.3, 0.2], 3, 2, fresh=0.1)  # 0.3 rounds to no fresh draw: still absorbing
    assert ch.n_fresh == 0 and ch.absorbing.sum() == 3
    assert ch.fixation_probabilities().sum() == pytest.approx(1.0, abs=1e-12)
