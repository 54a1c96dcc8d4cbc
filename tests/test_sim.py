"""The Monte-Carlo engine: identical to the plain loop reference for the same keys, intervals,
sample-complexity search, and the facts F4 / F9 / the lower bound checked in simulation."""

import math

import jax
import numpy as np
import pytest
from scipy import stats

import sharpsim as s
from sharpsim import bounds
from sharpsim.sim import (
    SampleComplexity,
    TrialStats,
    clopper_pearson,
    empirical_sample_complexity,
    hard_problem,
    loglog_slope,
    random_problem,
    run_trials,
)

import reference_sft  # tests/reference_sft.py


def test_clopper_pearson_known_values():
    lo, hi = clopper_pearson(5, 10)
    assert lo == pytest.approx(0.18708602, abs=1e-7) and hi == pytest.approx(0.81291398, abs=1e-7)
    assert clopper_pearson(0, 20)[0] == 0.0 and clopper_pearson(20, 20)[1] == 1.0
    assert clopper_pearson(0, 20)[1] == pytest.approx(1 - 0.025 ** (1 / 20), rel=1e-9)
    with pytest.raises(ValueError, match="k must lie"):
        clopper_pearson(11, 10)


def test_loglog_slope_exact_power_law():
    x = np.array([1.0, 2.0, 4.0, 8.0])
    slope, se = loglog_slope(x, 3.0 * x**-2)
    assert slope == pytest.approx(-2.0, abs=1e-12) and se < 1e-10


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
    # (chunk=7 splits the 24 trials unevenly: identity with the one-at-a-time loop shows the
    # results do not depend on chunking)


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
