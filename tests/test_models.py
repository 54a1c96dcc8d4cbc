"""Models (TabularLM, AutoregressiveLM, LinearSoftmax, ARLinearSoftmax) against brute-force oracles."""

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import oracles as O  # tests/ is on sys.path (rootdir conftest, no package)
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.stats import chi2

import sharpsim as ss

SETTINGS = dict(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def random_conds(rng, X, V, H, order=None, alpha=0.7, zeros=True, ties=True):
    """Probability conditionals [X, V^c_h, V] with occasional zeros and exact ties."""
    conds, ctx = [], []
    for h in range(1, H + 1):
        c = h - 1 if order is None else min(h - 1, order)
        a = rng.dirichlet(np.full(V, alpha), size=(X, V**c))
        if zeros:
            a[rng.random(a.shape) < 0.15] = 0.0
        if ties:
            m = rng.random(a.shape[:2]) < 0.3
            a[m] = 1.0  # a uniform row: ties everywhere
        a[a.sum(-1) == 0] = 1.0
        conds.append(a / a.sum(-1, keepdims=True))
        ctx.append(c)
    return conds, tuple(ctx)


def counts_ok(counts, probs, n, z=5.0):
    """Per-cell 5-sigma binomial intervals plus a chi-square test at 1e-6."""
    sd = np.sqrt(n * probs * (1 - probs))
    assert np.all(np.abs(counts - n * probs) <= z * sd + 1.0), (counts, n * probs)
    live = probs > 0
    assert counts[~live].sum() == 0
    stat = np.sum((counts[live] - n * probs[live]) ** 2 / (n * probs[live]))
    assert chi2.sf(stat, live.sum() - 1) > 1e-6


# ------------------------------------------------------------------ TabularLM


def test_tabular_constructors_and_temperature():
    t = np.array([[0.5, 0.3, 0.2, 0.0], [0.25, 0.25, 0.25, 0.25]])
    lm = ss.TabularLM(t, mu=[0.3, 0.7])
    np.testing.assert_allclose(lm.table(), t, atol=1e-16)
    np.testing.assert_allclose(lm.mu, [0.3, 0.7])
    assert lm.X == 2 and lm.Y == 4
    with np.errstate(divide="ignore"):
        lt = np.log(t)
    lm2 = ss.TabularLM.from_log_probs(lt)
    np.testing.assert_allclose(lm2.table(), t, atol=1e-16)
    np.testing.assert_allclose(lm2.mu, [0.5, 0.5])
    # logits: softmax by hand, e.g. logits (0, log 2, -inf): (1/3, 2/3, 0)
    lm3 = ss.TabularLM.from_logits([[0.0, math.log(2.0), -np.inf]])
    np.testing.assert_allclose(lm3.table(), [[1 / 3, 2 / 3, 0.0]], rtol=1e-14)
    # temperature 1/2 squares the probabilities: (1/9, 4/9)/(5/9) = (0.2, 0.8)
    lm4 = ss.TabularLM.from_logits([[0.0, math.log(2.0), -np.inf]], temperature=0.5)
    np.testing.assert_allclose(lm4.table(), [[0.2, 0.8, 0.0]], rtol=1e-14)
    # with_temperature: p^(1/tau) / Z ; tau = 2 on (0.5, 0.3, 0.2, 0)
    w = np.sqrt([0.5, 0.3, 0.2])
    np.testing.assert_allclose(lm.with_temperature(2.0).table()[0], np.r_[w / w.sum(), 0.0], rtol=1e-13)
    np.testing.assert_allclose(lm.with_temperature(2.0).mu, [0.3, 0.7])
    # temperature beta/(1+beta) equals the tilted optimum (F13)
    np.testing.assert_allclose(lm.with_temperature(0.3 / 1.3).table(), O.tilted(t, 0.3), rtol=1e-12, atol=1e-300)


def test_tabular_sampling_frequencies(key):
    t = np.array([[0.5, 0.3, 0.2, 0.0], [0.05, 0.05, 0.1, 0.8]])
    lm = ss.TabularLM(t)
    n = 20000
    ys = np.asarray(lm.sample(key, [0, 1], n))
    for x in range(2):
        counts_ok(np.bincount(ys[x], minlength=4), t[x], n)
    # same key, same bits
    np.testing.assert_array_equal(ys, np.asarray(lm.sample(key, [0, 1], n)))
    xs = np.asarray(ss.TabularLM(t, mu=[0.2, 0.8]).sample_prompts(key, n))
    counts_ok(np.bincount(xs, minlength=2), np.array([0.2, 0.8]), n)


def test_sample_prompts_are_eager_jax_random_choice():
    """sample_prompts runs jax.random.choice in one cached program: the same draws as eager
    jax.random.choice (zeros in mu, one prompt, sizes on both sides of 8, both key kinds)."""
    rng = np.random.default_rng(3)
    for X in (1, 2, 9, 300):
        mu = rng.dirichlet(np.full(X, 0.4))
        if X > 2:
            mu[1] = 0.0
            mu /= mu.sum()
        lm = ss.TabularLM(np.full((X, 3), 1 / 3), mu=mu)
        for n, k in ((1, jax.random.key(X)), (7, jax.random.PRNGKey(X)), (1000, jax.random.key(X + 1))):
            got = np.asarray(lm.sample_prompts(k, n))
            want = np.asarray(jax.random.choice(k, X, shape=(n,), p=jnp.asarray(lm.mu)))
            np.testing.assert_array_equal(got, want)
            assert got.shape == (n,)


# ------------------------------------------------------------------ AutoregressiveLM


@settings(**SETTINGS)
@given(seed=st.integers(0, 2**31 - 1), X=st.integers(1, 2), V=st.integers(1, 3), H=st.integers(1, 4),
       order=st.sampled_from([None, 0, 1, 2]))
def test_ar_table_vs_enumeration_oracle(seed, X, V, H, order):
    rng = np.random.default_rng(seed)
    conds, ctx = random_conds(rng, X, V, H, order)
    m = ss.AutoregressiveLM(conds)
    assert m.Y == V**H and (V == 1 or m.context_lengths == ctx)  # V = 1: every context length is 1 entry
    lt = m.log_table()
    want = O.ar_log_table(conds, ctx, V, H, X)
    np.testing.assert_allclose(lt, want, rtol=1e-12, atol=0)
    np.testing.assert_allclose(m.table(), O.ar_prob_table(conds, ctx, V, H, X), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(m.table().sum(axis=1), 1.0, atol=1e-12)
    # sequence_log_prob on every sequence, via tokens
    seqs = np.array(list(itertools.product(range(V), repeat=H)))
    for x in range(X):
        np.testing.assert_allclose(m.sequence_log_prob(x, seqs), want[x], rtol=1e-12)
    # greedy vs oracle
    g = m.greedy()
    for x in range(X):
        assert tuple(g[x]) == O.greedy(conds, ctx, V, H, x)
    # sequence argmax: dp and enumerate both return a member of the oracle's argmax set, same value
    for method in ("dp", "enumerate"):
        toks, val = m.sequence_argmax(method=method)
        for x in range(X):
            star, best = O.sequence_argmax(want[x], V, H)
            assert tuple(toks[x]) in star or any(
                abs(want[x][ss.encode(s, V)] - want[x][ss.encode(toks[x], V)]) <= 1e-12 * (1 + abs(best)) for s in star
            )
            assert val[x] == pytest.approx(best, rel=1e-12, abs=1e-12)
    # the argmax set of the model contains every oracle argmax sequence
    aset = ss.argmax_set(m)
    for x in range(X):
        star, _ = O.sequence_argmax(want[x], V, H)
        for s in star:
            assert aset[x, ss.encode(s, V)]


def test_ar_with_temperature_and_sampling(key):
    rng = np.random.default_rng(3)
    conds, ctx = random_conds(rng, 2, 3, 3, order=None, zeros=True, ties=False)
    m = ss.AutoregressiveLM(conds, mu=[0.4, 0.6])
    # per-step temperature tau: conditionals^(1/tau) renormalised, then the oracle product
    tau = 0.5
    cond_t = [c ** (1 / tau) / (c ** (1 / tau)).sum(-1, keepdims=True) for c in conds]
    np.testing.assert_allclose(m.with_temperature(tau).table(), O.ar_prob_table(cond_t, ctx, 3, 3, 2), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(m.with_temperature(tau).mu, [0.4, 0.6])
    # ancestral sampling frequencies vs the exact table
    n = 20000
    ys = m.sample(key, [0, 1], n)
    table = m.table()
    for x in range(2):
        counts_ok(np.bincount(ys[x], minlength=27), table[x], n)
    np.testing.assert_array_equal(ys, m.sample(key, [0, 1], n))
    # tokens and indices agree
    np.testing.assert_array_equal(ss.encode(m.sample_tokens(key, [0, 1], 5), 3), m.sample(key, [0, 1], 5))


def test_ar_large_enumeration_10_to_the_6():
    """V = 10, H = 6, X = 1: 10^6 sequences enumerated; rows sum to 1; spot checks vs oracle."""
    rng = np.random.default_rng(11)
    conds, ctx = random_conds(rng, 1, 10, 6, order=2, alpha=0.5, zeros=False, ties=False)
    m = ss.AutoregressiveLM(conds)
    lt = m.log_table()
    assert lt.shape == (1, 10**6)
    assert abs(np.exp(lt).sum() - 1.0) < 1e-10
    for idx in rng.integers(0, 10**6, size=20):
        seq = tuple(ss.decode(idx, 10, 6))
        lp = sum(math.log(O.ar_cond(conds, m.context_lengths, 10, 0, seq[:h])[seq[h]]) for h in range(6))
        assert lt[0, idx] == pytest.approx(lp, rel=1e-12)
    toks, val = m.sequence_argmax(method="dp")
    assert val[0] == pytest.approx(lt[0].max(), rel=1e-13)
    assert lt[0, ss.encode(toks[0], 10)] == lt[0].max()


def test_ar_too_large_raises():
    conds, _ = random_conds(np.random.default_rng(1), 1, 2, 27, order=1)
    m = ss.AutoregressiveLM(conds)
    with pytest.raises(ValueError, match=r"2\^27 = 134,217,728.*limit of 67,108,864"):
        m.log_table()
    # but the dp argmax and sampling still work
    toks, val = m.sequence_argmax()
    assert toks.shape == (1, 27) and np.isfinite(val).all()


def viterbi_markov1(first, trans, H):
    """Independent max-product over an order-1 Markov chain with loops: (best log-prob, sequence)."""
    V = len(first)
    best = [math.log(first[v]) for v in range(V)]
    back = []
    for _ in range(1, H):
        nb, bp = [], []
        for v in range(V):
            cands = [best[u] + math.log(trans[u][v]) for u in range(V)]
            u = max(range(V), key=lambda i: (cands[i], -i))
            nb.append(cands[u])
            bp.append(u)
        best, back = nb, back + [bp]
    v = max(range(V), key=lambda i: (best[i], -i))
    seq = [v]
    for bp in reversed(back):
        seq.append(bp[seq[-1]])
    return best[v], tuple(reversed(seq))


def test_log_space_long_horizon():
    """Sequence probabilities far below 1e-300 stay exact in log space.

    (a) V=2, H=1100, Markov order 1: the argmax sequence has probability ~1e-290..1e-330, not
    enumerable; the dp argmax matches an independent Viterbi and sequence_log_prob.
    (b) V=2, H=16 enumerable model with transitions 1e-40: most sequences have probability
    < 1e-300 (down to 1e-404, which exp underflows to 0); the table, argmax set and coverage match
    the summed-log oracle, and probabilities below 1e-300 still order correctly.
    """
    first, trans = [0.5, 0.5], [[0.52, 0.48], [0.55, 0.45]]
    H = 1100
    conds = [np.array([[first]])] + [np.array([trans])] * (H - 1)
    m = ss.AutoregressiveLM(conds)
    toks, val = m.sequence_argmax(method="dp")
    best, seq = viterbi_markov1(first, trans, H)
    assert val[0] == pytest.approx(best, rel=1e-12)
    assert val[0] < math.log(1e-300)
    assert m.sequence_log_prob(0, toks[0]) == pytest.approx(best, rel=1e-12)
    assert m.sequence_log_prob(0, np.array(seq)) == pytest.approx(best, rel=1e-12)

    H = 16
    first, trans = [0.3, 0.7], [[1.0 - 1e-12, 1e-12], [1e-40, 1.0 - 1e-40]]
    trans_lp = [[math.log1p(-1e-12), math.log(1e-12)], [math.log(1e-40), 0.0]]
    conds = [np.log(np.array([[first]]))] + [np.array([trans_lp])] * (H - 1)
    m = ss.AutoregressiveLM(conds, log=True)
    lt = m.log_table()
    want = np.empty(2**H)
    for i, s in enumerate(itertools.product(range(2), repeat=H)):
        want[i] = math.log(first[s[0]]) + sum(trans_lp[a][b] for a, b in zip(s, s[1:]))
    np.testing.assert_allclose(lt[0], want, rtol=1e-13)
    assert (want < math.log(1e-300)).sum() > 1000 and want.min() < -400 * math.log(10)
    # argmax: 1111... with log 0.7 ; coverage = 1/0.7
    star = np.flatnonzero(ss.argmax_set(m)[0])
    assert star.tolist() == [2**H - 1]
    assert ss.coverage(m) == pytest.approx(1 / 0.7, rel=1e-12)
    # two sequences below 1e-300 keep their exact log-probabilities and their order
    a = ss.encode([1, 0] * 7 + [0, 0], 2)  # 0.7 * 1e-40^7 * 1e-12^6 ~ 1e-352
    b = ss.encode([1, 0] * 8, 2)  # 0.7 * 1e-40^8 * 1e-12^7 ~ 1e-404
    assert lt[0, a] == pytest.approx(math.log(0.7) + 7 * math.log(1e-40) + 6 * math.log(1e-12) + math.log1p(-1e-12), rel=1e-13)
    assert lt[0, b] < lt[0, a] < math.log(1e-300)
    law = ss.bon_law(m, 1000)
    assert not np.isnan(law).any() and abs(law.sum() - 1) < 1e-12
    assert law[0, 2**H - 1] == pytest.approx(1 - 0.3**1000, rel=1e-12)


def test_encode_decode_roundtrip():
    for V, H in [(2, 5), (3, 4), (10, 3), (1, 3)]:
        idx = np.arange(V**H)
        toks = ss.decode(idx, V, H)
        np.testing.assert_array_equal(toks, np.array(list(itertools.product(range(V), repeat=H))))
        np.testing.assert_array_equal(ss.encode(toks, V), idx)


# ------------------------------------------------------------------ linear softmax


def test_linear_softmax_vs_formula():
    rng = np.random.default_rng(5)
    phi = rng.normal(size=(3, 5, 4))
    phi /= np.maximum(1.0, np.linalg.norm(phi, axis=-1, keepdims=True))
    theta = rng.normal(size=4)
    m = ss.LinearSoftmax(phi, theta, B=np.linalg.norm(theta) + 1e-9, mu=[0.2, 0.3, 0.5])
    np.testing.assert_allclose(m.table(), O.linear_softmax_table(phi, theta), rtol=1e-13)
    lpz = np.log(rng.dirichlet(np.ones(5), size=3))
    m0 = ss.LinearSoftmax(phi, theta, log_pi_zero=lpz)
    np.testing.assert_allclose(m0.table(), O.linear_softmax_table(phi, theta, lpz), rtol=1e-13)
    # temperature tau: theta / tau ; with_theta
    np.testing.assert_allclose(m.with_temperature(0.25).table(), O.linear_softmax_table(phi, 4 * theta), rtol=1e-12)
    np.testing.assert_allclose(m.with_theta(2 * theta, B=None).table(), O.linear_softmax_table(phi, 2 * theta), rtol=1e-12)
    # F23: |log pi_theta| <= 2B + log|Y| for ||theta|| <= B, ||phi|| <= 1
    B = np.linalg.norm(theta)
    assert np.all(np.abs(m.log_table()) <= 2 * B + math.log(5) + 1e-12)
    # norm bound check
    with pytest.raises(ValueError, match="exceeds the norm bound B"):
        ss.LinearSoftmax(phi, theta, B=0.5 * np.linalg.norm(theta))
    with pytest.raises(ValueError, match="theta"):
        ss.LinearSoftmax(phi, theta[:3])


def test_ar_linear_softmax_vs_formula():
    rng = np.random.default_rng(9)
    X, V, H, d = 2, 3, 3, 4
    phi = [rng.normal(size=(X, V ** (h - 1), V, d)) for h in range(1, H + 1)]
    thetas = rng.normal(size=(H, d))

    def phi_fn(h, x, prefix):  # prefix includes y_h; index of y_{<h} big-endian
        ctx = 0
        for t in prefix[:-1]:
            ctx = ctx * V + t
        return phi[h - 1][x, ctx, prefix[-1]]

    m = ss.ARLinearSoftmax(phi, thetas, mu=[0.5, 0.5])
    np.testing.assert_allclose(m.table(), O.ar_linear_softmax_table(phi_fn, thetas, V, H, X), rtol=1e-12)
    np.testing.assert_allclose(
        m.with_temperature(0.5).table(), O.ar_linear_softmax_table(phi_fn, 2 * thetas, V, H, X), rtol=1e-12
    )
    np.testing.assert_allclose(
        m.with_thetas(-thetas, B=None).table(), O.ar_linear_softmax_table(phi_fn, -thetas, V, H, X), rtol=1e-12
    )
    with pytest.raises(ValueError, match="exceeds the norm bound B"):
        ss.ARLinearSoftmax(phi, thetas, B=0.1)
    with pytest.raises(ValueError, match="thetas"):
        ss.ARLinearSoftmax(phi, thetas[:2])
