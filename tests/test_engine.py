"""sharpsim.engine: run_trials against a plain per-trial loop, the sample-complexity searches, and the theorems' predictions checked by simulation (F4, F9, the lower bound)."""

import math

import jax
import numpy as np
import pytest
import reference_sft  # tests/reference_sft.py
from scipy import stats

import sharpsim as s
from sharpsim import bounds
from sharpsim.engine import (
    SampleComplexity,
    TrialStats,
    empirical_sample_complexity,
    run_trials,
)
from sharpsim.instances.problems import hard_problem, random_problem
from sharpsim.stats import clopper_pearson, loglog_slope


def _adaptive_law_dp(p, mu_stop):
    """Independent exact law of adaptive BoN's kept response: dynamic programming over the running
    maximum, draw by draw, until the unstopped mass is < 1e-17 (uniform among equal-p responses)."""
    vals = sorted({v for v in p if v > 0})
    mass = {v: sum(x for x in p if x == v) for v in vals}
    state, out, k = {None: 1.0}, dict.fromkeys(vals, 0.0), 0
    while sum(state.values()) > 1e-17:
        k += 1
        nxt = {}
        for m, pr in state.items():
            for v in vals:
                mm = v if m is None or v > m else m
                if k * mm >= mu_stop:
                    out[mm] += pr * mass[v]
                else:
                    nxt[mm] = nxt.get(mm, 0.0) + pr * mass[v]
        state = nxt
    cnt = {v: sum(1 for x in p if x == v) for v in vals}
    return np.array([out[x] / cnt[x] if x > 0 else 0.0 for x in p])


@pytest.mark.parametrize("use_finite, n, delta", [(False, 30, 0.1), (True, 2, 0.5)])
def test_engine_identical_to_plain_loop_reference(key, use_finite, n, delta):
    """The vectorized engine and the plain per-trial loop give IDENTICAL errors for the same keys."""
    from sharpsim.classes import TabularClass

    pb = random_problem(jax.random.key(4), 3, 7, K=6, alpha=0.6)
    N, trials = 2, 24
    cls = pb.class_for("sft", N) if use_finite else TabularClass(3, 7)
    st = run_trials(pb, "sft", key, trials, 0.3, delta, n=n, N=N, cls=cls, chunk=7, progress=False)
    ref_err, ref_q = reference_sft.sft_trials(key, np.exp(pb.logp), pb.mu, n, N, delta, trials,
                                              tables=cls.tables() if use_finite else None)
    np.testing.assert_array_equal(st.errors, ref_err)
    assert st.queries == n * N and np.all(ref_q == n * N)
    assert len(set(st.errors.tolist())) > 1  # a non-trivial mix of outcomes


def test_engine_errors_do_not_depend_on_the_chunking(key):
    """Same keys, same bits whatever ``chunk`` is, on X = 100 prompts (the error sums many mu(x)):
    fast and generic paths, chunks of 3, 8 and the default, all IDENTICAL to the plain per-trial loop.
    (XLA's own sum over X > 32 changed its order with the vmapped batch: errors moved by ~1e-16.)"""
    from sharpsim.classes import TabularClass

    pb = random_problem(jax.random.key(11), 100, 6, K=2, alpha=0.5)
    n, N, delta, trials = 40, 2, 0.5, 12
    ref_err, _ = reference_sft.sft_trials(key, np.exp(pb.logp), pb.mu, n, N, delta, trials)
    assert len(set(ref_err.tolist())) > 6  # many distinct sums of mu(x)
    for fast in (True, False):
        for chunk in (None, 3, 8):
            st = run_trials(pb, "sft", key, trials, 0.3, delta, n=n, N=N, cls=TabularClass(100, 6), chunk=chunk,
                            fast=fast, progress=False)
            np.testing.assert_array_equal(st.errors, ref_err)


def test_small_runs_are_split_over_the_engine_threads(key, monkeypatch):
    """Batches marked ``split`` (the adaptive rule) run fewer trials than two chunks as power-of-2 chunks
    of about trials / THREADS, so that both threads get a call (the adaptive figure's runs of 100 trials:
    about 20% less wall at full size, 2-core EPYC) and nearby sizes share one program; the errors are the
    one-call errors, bit for bit."""
    from sharpsim import engine
    from sharpsim.algorithms import result

    monkeypatch.setattr(result, "THREADS", 2)
    assert [engine._chunk(128, t, True) for t in (1, 2, 3, 64, 65, 100, 128, 129, 256, 1000)] == \
        [1, 1, 2, 32, 64, 64, 64, 128, 128, 128]
    assert [engine._chunk(128, t) for t in (1, 3, 64, 65, 100, 1000)] == [1, 4, 64, 128, 128, 128]  # not split
    assert engine._chunk(8, 100, True) == 8
    pb = random_problem(jax.random.key(5), 7, 5, K=2, alpha=0.5)
    sizes = []
    real = engine._call
    monkeypatch.setattr(engine, "_call", lambda fn, ks: sizes.append(ks.shape[0]) or real(fn, ks))
    two = run_trials(pb, "adaptive", key, 100, 0.3, 0.4, n=1, progress=False).errors
    assert sizes == [64, 64]
    monkeypatch.setattr(result, "THREADS", 1)
    assert engine._chunk(128, 100, True) == 128
    sizes.clear()
    one = run_trials(pb, "adaptive", key, 100, 0.3, 0.4, n=1, progress=False).errors
    assert sizes == [128]
    np.testing.assert_array_equal(two, one)
    assert len(set(one.tolist())) > 1


def test_sample_complexity_search_on_a_known_threshold():
    calls = []

    def evaluate(scale):
        calls.append(scale)
        m = 1000 * scale
        freq = 1.0 if m >= 137 else 0.0
        return TrialStats(np.zeros(50), np.full(50, freq > 0), freq, clopper_pearson(int(50 * freq), 50), m, m, 0.0,
                          {"scale": scale})

    sc = empirical_sample_complexity(evaluate, 0.1, bisect_steps=8)
    assert isinstance(sc, SampleComplexity)
    assert 137 <= sc.m <= 137 * 2 ** (1 / 2**8) * 1.01
    lo, hi = sc.m_range
    assert lo < 137 <= hi and hi == sc.m


def test_f4_inference_bon_at_prop_c1_fails_at_most_rho(key):
    """F4: at N = ceil(ln(1/rho)/p*) BoN fails with frequency <= rho (Clopper-Pearson, 1e-6)."""
    pb = random_problem(jax.random.key(1), 4, 30, alpha=0.3)
    rho = 0.2
    p_star = float(np.min(s.argmax_mass(np.exp(pb.logp), np.exp(pb.logp))))
    N = bounds.bon_inference(p_star, rho).N
    st = run_trials(pb, "bon", key, 4000, 0.5, 0.5, N=N, progress=False)
    fails = int(np.sum(~st.success))
    lo = stats.beta.ppf(0.5e-6, fails, 4000 - fails + 1) if fails else 0.0
    assert lo <= rho
    # and the exact failure probability per prompt matches the simulation
    exact = float(np.dot(pb.mu, (1 - s.argmax_mass(np.exp(pb.logp), np.exp(pb.logp))) ** N))
    lo, hi = clopper_pearson(fails, 4000, 1 - 1e-6)
    assert lo <= exact <= hi


def test_f9_sft_at_derived_constants_succeeds_on_hard_and_random_families(key):
    """F9: at the derived-constant n, N (realizable finite / product classes) success >= 1 - rho."""
    eps, delta, rho, trials = 0.2, 0.25, 0.1, 60
    hard = hard_problem(2, 8, 0.5, jax.random.key(2))
    rnd = random_problem(jax.random.key(3), 3, 6, K=12, alpha=0.5)
    for pb in (hard, rnd):
        pr = bounds.sft_sample_complexity(pb.info["C_cov"], pb.info["log_class_size"], eps, delta, rho)
        st = run_trials(pb, "sft", key, trials, eps, delta, n=pr.n, N=pr.N, progress=False)
        assert st.freq >= 1 - rho, (pb.name, st.freq)
        assert st.queries == pr.n * pr.N


def test_sft_below_the_lower_bound_fails_on_the_hard_family(key):
    """Below Theorem 3.1's m (constant 1) SFT-Sharpening fails on the hard family."""
    eps, delta, rho = 0.05, 0.25, 0.1
    pb = hard_problem(2, 16, 16 * eps, jax.random.key(5))
    lb = bounds.lower_bound_sample_complexity(pb.info["C_cov"], pb.info["log_class_size"], eps)
    pr = bounds.sft_sample_complexity(pb.info["C_cov"], pb.info["log_class_size"], eps, delta, rho)
    scale = math.sqrt(lb.m / pr.m)
    n, N = math.floor(pr.n * scale), math.floor(pr.N * scale)
    assert n * N <= lb.m
    st = run_trials(pb, "sft", key, 100, eps, delta, n=n, N=N, progress=False)
    assert st.ci[1] < 1 - rho


def test_xpo_padding_leaves_the_live_rounds_unchanged(key):
    """XPO runs T live rounds in T_cap >= T slots (one compilation per T_cap): the policy, the
    selected round, J_hat of the live rounds and the query counts are identical for every T_cap,
    and run_trials at two T sharing a T_cap gives per-trial the same errors as xpo_core alone."""
    from sharpsim.algorithms.xpo import t_capacity, xpo_core
    from sharpsim.evaluation import error_core
    from sharpsim.instances.problems import j1_problem

    pb = j1_problem(jax.random.key(0), 2)
    cls = pb.class_for("xpo")
    args = (jax.numpy.asarray(pb.logp), jax.numpy.asarray(pb.log_mu), cls.arrays, cls.init_params(), 0.05, 0.01,
            1.0, cls.L, cls.kind)
    for T, T_cap in ((3, 8), (8, 8)):
        a = xpo_core(key, *args, T, 4, 40, T_cap=T)
        b = xpo_core(key, *args, T, 4, 40, T_cap=T_cap)
        np.testing.assert_array_equal(np.asarray(a[0]), np.asarray(b[0]))
        assert [int(v) for v in a[1:5]] == [int(v) for v in b[1:5]] == [T + 1, T - 1 + 4 * T, T + 4 * T, int(a[4])]
        np.testing.assert_array_equal(np.asarray(a[5]), np.asarray(b[5])[:T])
        assert np.all(np.isneginf(np.asarray(b[5])[T:]))
    assert t_capacity(1) == t_capacity(8) == 8 and t_capacity(9) == t_capacity(64) == 64
    for T in (5, 7):  # both T_cap = 8: one compiled batch
        st = run_trials(pb, "xpo", key, 3, 0.2, 0.25, T=T, beta=0.05, alpha=0.01, n_val=4, inner_steps=40,
                        progress=False)
        ref = [float(error_core(xpo_core(k, *args, T, 4, 40, T_cap=8)[0], jax.numpy.asarray(pb.logp), 0.25,
                                jax.numpy.asarray(pb.mu))) for k in jax.random.split(key, 3)]
        np.testing.assert_array_equal(st.errors, ref)
        assert st.queries == T + 1 and st.extended == T - 1 + 4 * T


def test_adaptive_bon_law_exact_and_against_the_oracle(key):
    """adaptive_bon_law = an independent DP on random rows with ties and zeros; its failure mass =
    bounds.adaptive_stopping_exact; and the oracle's adaptive draws follow it (per-cell
    Clopper-Pearson at 1e-6). The random problem's adaptive class contains it (realizable)."""
    from sharpsim.classes import adaptive_bon_law

    rng = np.random.default_rng(7)
    for t in range(12):
        p = rng.dirichlet(np.full(int(rng.integers(2, 7)), 0.6))
        if t % 3 == 0:  # ties and zeros
            p = np.round(p * 6) / 6
            p = p / p.sum()
        mu_stop = float(rng.choice([0.7, 1.0, 2.0, math.log(20)]))
        q = adaptive_bon_law(p[None], mu_stop)[0]
        np.testing.assert_allclose(q, _adaptive_law_dp(list(p), mu_stop), atol=1e-12)
        star = p == p.max()
        assert q[~star].sum() == pytest.approx(bounds.adaptive_stopping_exact(p, mu_stop)[1], abs=1e-12)
    base = np.array([[0.3, 0.3, 0.25, 0.15, 0.0], [0.05, 0.1, 0.15, 0.3, 0.4]])
    mu_stop = 2.0
    law = adaptive_bon_law(base, mu_stop)
    from sharpsim.algorithms import adaptive_sft_sharpening
    from sharpsim.classes import TabularClass
    from sharpsim.oracle import Oracle

    r = adaptive_sft_sharpening(Oracle(base), TabularClass(2, 5), 20000, key, mu_stop=mu_stop)
    c = r.info["counts"]
    for x in range(2):
        for y in range(5):
            lo, hi = clopper_pearson(int(c[x, y]), int(c[x].sum()), 1 - 1e-6)
            assert lo <= law[x, y] <= hi, (x, y, c[x, y] / c[x].sum(), law[x, y])
    pb = random_problem(jax.random.key(3), 3, 6, K=5)
    fc = pb.class_for("adaptive", mu_stop)
    np.testing.assert_allclose(fc.tables()[fc.target_index], adaptive_bon_law(np.exp(pb.logp), mu_stop), atol=1e-14)


def test_sft_empirical_m_grows_like_c_cov_on_the_hard_family(key):
    """Order-only check (Theorems 3.1 / 4.1: m ~ C_cov): on the hard family (d = 2, Delta = 0.9)
    with n fixed, the empirical m = n N_min (grid + bisection over N) against C_cov for
    M = 8, 16, 32, 64 has log-log slope within 0.15 of the theorem's exponent 1."""
    eps, delta, rho, n, trials = 0.2, 0.25, 0.1, 100, 40
    ms, covs = [], []
    for M in (8, 16, 32, 64):
        pb = hard_problem(2, M, 0.9, jax.random.key(M))
        N0 = max(1, round(pb.info["C_cov"]))

        def ev(scale, pb=pb, N0=N0):
            return run_trials(pb, "sft", key, trials, eps, delta, n=n, N=max(1, math.ceil(scale * N0)), progress=False)

        sc = empirical_sample_complexity(ev, rho, bisect_steps=4, s_min=0.5 / N0)
        assert sc.m is not None
        ms.append(sc.m)
        covs.append(pb.info["C_cov"])
    slope, se = loglog_slope(covs, ms)
    print(f"slope {slope:.4f} +- {se:.4f}; C_cov {covs}; m {ms}")
    assert abs(slope - 1.0) <= 0.15, (slope, se, covs, ms)
