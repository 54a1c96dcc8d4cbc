"""Bad input raises ValueError / TypeError naming the argument and the broken condition."""

import math

import jax
import numpy as np
import pytest

import sharpsim as ss

GOOD = np.array([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]])
KEY = jax.random.key(0)

# every public function taking a table as ``base`` (first positional) -> call with a bad base
BASE_CALLS = {
    "argmax_set": lambda b: ss.argmax_set(b),
    "coverage": lambda b: ss.coverage(b),
    "adaptive_coverage": lambda b: ss.adaptive_coverage(b),
    "margin": lambda b: ss.margin(b),
    "bon_law": lambda b: ss.bon_law(b, 2),
    "tilted": lambda b: ss.tilted(b, 1.0),
    "argmax_mass": lambda b: ss.argmax_mass(GOOD, b),
    "sharpness_error": lambda b: ss.sharpness_error(GOOD, b, 0.1),
    "concentrability": lambda b: ss.concentrability(GOOD, b),
    "kl": lambda b: ss.kl(GOOD, b),
    "hellinger_sq": lambda b: ss.hellinger_sq(GOOD, b),
    "regularized_value": lambda b: ss.regularized_value(GOOD, b, 1.0),
    "dpo_residual": lambda b: ss.dpo_residual(GOOD, b, 1.0),
    "best_of_n": lambda b: ss.best_of_n(KEY, b, [0], 2),
    "best_of_n_exact": lambda b: ss.best_of_n_exact(KEY, b, [0], 2),
    "adaptive_best_of_n": lambda b: ss.adaptive_best_of_n(KEY, b, [0], 1.0),
    "TabularLM": lambda b: ss.TabularLM(b),
}
POLICY_CALLS = {
    "argmax_mass": lambda q: ss.argmax_mass(q, GOOD),
    "sharpness_error": lambda q: ss.sharpness_error(q, GOOD, 0.1),
    "concentrability": lambda q: ss.concentrability(q, GOOD),
    "kl": lambda q: ss.kl(q, GOOD),
    "hellinger_sq": lambda q: ss.hellinger_sq(q, GOOD),
    "regularized_value": lambda q: ss.regularized_value(q, GOOD, 1.0),
    "dpo_residual": lambda q: ss.dpo_residual(q, GOOD, 1.0),
}
ARG = {"TabularLM": "probs"}

BAD_TABLES = {
    "negative": (np.array([[0.6, -0.1, 0.5], [0.1, 0.1, 0.8]]), "negative"),
    "nan": (np.array([[np.nan, 0.5, 0.5], [0.1, 0.1, 0.8]]), "NaN"),
    "sum_above": (np.array([[0.5, 0.3, 0.2 + 1e-8], [0.1, 0.1, 0.8]]), "sum to 1"),
    "sum_below": (np.array([[0.5, 0.3, 0.1], [0.1, 0.1, 0.8]]), "sum to 1"),
    "one_d": (np.array([0.5, 0.5]), "2-D"),
}


@pytest.mark.parametrize("bad", sorted(BAD_TABLES))
@pytest.mark.parametrize("fn", sorted(BASE_CALLS))
def test_bad_base(fn, bad):
    table, what = BAD_TABLES[bad]
    with pytest.raises(ValueError, match=what) as e:
        BASE_CALLS[fn](table)
    assert ARG.get(fn, "base") in str(e.value)


@pytest.mark.parametrize("bad", sorted(BAD_TABLES))
@pytest.mark.parametrize("fn", sorted(POLICY_CALLS))
def test_bad_policy(fn, bad):
    table, what = BAD_TABLES[bad]
    with pytest.raises(ValueError, match=what) as e:
        POLICY_CALLS[fn](table)
    assert "policy" in str(e.value)


def test_row_sum_tolerance_1e_9():
    ok = np.array([[0.5, 0.5 + 5e-10]])
    bad = np.array([[0.5, 0.5 + 1e-8]])
    assert ss.ROW_SUM_TOL == 1e-9
    assert ss.coverage(ok) == pytest.approx(2.0, rel=1e-9)
    with pytest.raises(ValueError, match=r"rows of base must sum to 1 \(tolerance 1e-09\)"):
        ss.coverage(bad)
    ss.TabularLM(ok)
    with pytest.raises(ValueError, match="probs"):
        ss.TabularLM(bad)
    # mu has the same tolerance
    assert ss.coverage(GOOD, mu=[0.5, 0.5 + 5e-10]) > 0
    with pytest.raises(ValueError, match="mu must sum to 1"):
        ss.coverage(GOOD, mu=[0.5, 0.5 + 1e-8])


def test_type_errors_name_argument():
    with pytest.raises(TypeError, match="base"):
        ss.coverage("not a table")
    with pytest.raises(TypeError, match="base"):
        ss.coverage(None)
    with pytest.raises(TypeError, match="N must be an integer"):
        ss.bon_law(GOOD, 2.5)
    with pytest.raises(TypeError, match="beta must be a real number"):
        ss.tilted(GOOD, "1")
    with pytest.raises(TypeError, match="strict must be a bool"):
        ss.sharpness_error(GOOD, GOOD, 0.1, strict="yes")


def test_shape_mismatch():
    other = np.array([[0.5, 0.5], [0.1, 0.9]])
    for f in (ss.argmax_mass, ss.kl, ss.hellinger_sq, ss.concentrability):
        with pytest.raises(ValueError, match=r"policy has shape .* but base has shape .*shape mismatch"):
            f(other, GOOD)
    with pytest.raises(ValueError, match="policy.*base.*shape mismatch"):
        ss.regularized_value(other, GOOD, 1.0)
    with pytest.raises(ValueError, match="policy.*base.*shape mismatch"):
        ss.sharpness_error(other, GOOD, 0.1)
    with pytest.raises(ValueError, match="policy.*base.*shape mismatch"):
        ss.dpo_residual(other, GOOD, 1.0)
    for f in (ss.coverage, ss.adaptive_coverage, ss.margin):
        with pytest.raises(ValueError, match=r"mu has 3 entries but the table has 2 prompts \(shape mismatch\)"):
            f(GOOD, mu=[0.2, 0.3, 0.5])
    for f in (ss.kl, ss.hellinger_sq, ss.concentrability):
        with pytest.raises(ValueError, match="mu has 3 entries"):
            f(GOOD, GOOD, mu=[0.2, 0.3, 0.5])
    with pytest.raises(ValueError, match="mu must be a 1-D"):
        ss.coverage(GOOD, mu=[[0.5, 0.5]])
    with pytest.raises(ValueError, match="mu must be non-negative"):
        ss.coverage(GOOD, mu=[1.5, -0.5])
    with pytest.raises(ValueError, match="mu"):
        ss.TabularLM(GOOD, mu=[1.0])


@pytest.mark.parametrize("delta", [0.0, 1.0, -0.1, 1.5, math.nan])
def test_delta_outside_open_unit(delta):
    with pytest.raises(ValueError, match="delta"):
        ss.sharpness_error(GOOD, GOOD, delta)


@pytest.mark.parametrize("gamma", [1.0, -0.1, 2.0, math.nan])
def test_gamma_outside(gamma):
    for call in (
        lambda: ss.argmax_set(GOOD, gamma),
        lambda: ss.argmax_mass(GOOD, GOOD, gamma),
        lambda: ss.coverage(GOOD, gamma=gamma),
        lambda: ss.margin(GOOD, gamma=gamma),
        lambda: ss.sharpness_error(GOOD, GOOD, 0.1, gamma=gamma),
    ):
        with pytest.raises(ValueError, match="gamma"):
            call()


@pytest.mark.parametrize("N", [0, -3])
def test_N_below_one(N):
    for call in (
        lambda: ss.bon_law(GOOD, N),
        lambda: ss.best_of_n(KEY, GOOD, [0], N),
        lambda: ss.best_of_n_exact(KEY, GOOD, [0], N),
    ):
        with pytest.raises(ValueError, match=r"N must be >= 1"):
            call()
    with pytest.raises(ValueError, match=r"p must be >= 1"):
        ss.coverage(GOOD, p=0)


@pytest.mark.parametrize("beta", [0.0, -1.0, math.nan])
def test_beta_not_positive(beta):
    for call in (
        lambda: ss.tilted(GOOD, beta),
        lambda: ss.concentrability(GOOD, GOOD, beta=beta),
        lambda: ss.regularized_value(GOOD, GOOD, beta),
        lambda: ss.dpo_residual(GOOD, GOOD, beta),
    ):
        with pytest.raises(ValueError, match="beta"):
            call()


def test_sampler_arguments():
    with pytest.raises(ValueError, match="mu_stop must be > 0"):
        ss.adaptive_best_of_n(KEY, GOOD, [0], 0.0)
    with pytest.raises(ValueError, match=r"prompt indices x must lie in \[0, 2\)"):
        ss.best_of_n(KEY, GOOD, [2], 3)
    with pytest.raises(TypeError, match="x must be integer"):
        ss.best_of_n(KEY, GOOD, [0.5], 3)


def test_model_arguments():
    with pytest.raises(ValueError, match="temperature must be > 0"):
        ss.TabularLM(GOOD).with_temperature(0.0)
    with pytest.raises(ValueError, match="temperature"):
        ss.TabularLM.from_logits([[0.0, 1.0]], temperature=-1.0)
    with pytest.raises(ValueError, match=r"conditionals\[1\]"):
        ss.AutoregressiveLM([np.array([[[0.5, 0.5]]]), np.array([[[0.5, 0.6], [0.5, 0.5]]])])
    with pytest.raises(ValueError, match=r"conditionals\[0\] has negative probability -0.5 at \[0, 1\]"):
        ss.AutoregressiveLM([np.array([[[1.5, -0.5]]])])
    with pytest.raises(ValueError, match="not a power of V"):
        ss.AutoregressiveLM([np.array([[[0.5, 0.5]]]), np.full((1, 3, 2), 0.5)])
    with pytest.raises(ValueError, match="log_probs"):
        ss.TabularLM.from_log_probs([[0.0, 0.0]])


def test_ar_table_too_large_says_size_and_limit():
    conds = [np.full((1, 1, 4), 0.25)] + [np.full((1, 4, 4), 0.25)] * 13  # 4^14 = 2^28 sequences
    m = ss.AutoregressiveLM(conds)
    with pytest.raises(ValueError, match=r"X \* V\^H = 1 \* 4\^14 = 268,435,456 entries, above the enumeration limit of 67,108,864"):
        m.log_table()
    with pytest.raises(ValueError, match="enumeration limit"):
        ss.coverage(m)
    with pytest.raises(ValueError, match="enumeration limit"):
        m.sequence_argmax(method="enumerate")
    assert ss.MAX_ENUMERATION == 2**26
