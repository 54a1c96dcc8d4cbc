"""Tests of the catalogue experiments ``separation`` (Example J.1) and ``amortization`` (toy Table 1).

Each QUICK config runs end to end through the runner (figures and results written); one
scientific assertion per experiment is checked from its results, and the exact helpers are
checked against independent brute-force computations.
"""

from __future__ import annotations

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sharpsim as s
from sharpsim.experiments import amortization, separation
from sharpsim import exact
from sharpsim.instances import problems
from sharpsim.classes import LinearSoftmaxClass


# ------------------------------------------------------------------ separation: exact helpers


def _brute_success(p, n, N, delta):
    """P[count(y*)/n > 1 - delta] with count ~ Bin(n, q), q = P[best-of-N = y*] by enumerating the
    N draws over {y*, other} (y* is the unique argmax, so best-of-N = y* iff some draw is y*)."""
    q = 0.0
    for draws in itertools.product((0, 1), repeat=N):
        pr = math.prod(p if d else 1 - p for d in draws)
        q += pr if any(draws) else 0.0
    return sum(math.comb(n, k) * q**k * (1 - q) ** (n - k) for k in range(n + 1) if k / n > 1 - delta)


@pytest.mark.parametrize("p,n,N,delta", [(0.3, 3, 2, 0.1), (0.2, 10, 5, 0.1), (0.5, 7, 3, 0.3), (0.05, 20, 8, 0.25)])
def test_exact_success_matches_enumeration(p, n, N, delta):
    assert exact.exact_success(p, n, N, delta) == pytest.approx(_brute_success(p, n, N, delta), abs=1e-12)


def test_population_N_is_least_sharp_N():
    problem = problems.j1_problem(jax.random.key(3), 4, delta=0.1)
    base = problem.info["instance"].base
    N_pop, disc = exact.population_N_checked(base, 0.1)
    star = int(np.argmax(base.table()[0]))
    law = [float(s.bon_law(base, N)[0, star]) for N in range(1, N_pop + 1)]
    assert law[-1] > 0.9 and all(v <= 0.9 for v in law[:-1])
    assert disc < 1e-12


def test_padding_leaves_the_class_unchanged():
    problem = problems.j1_problem(jax.random.key(1), 3, delta=0.1)
    pp, cls = problems.j1_problem_padded(problem, 32, 5)
    inst = problem.info["instance"]
    plain = LinearSoftmaxClass(inst.phi, problem.info["B"])
    theta = np.asarray(jax.random.normal(jax.random.key(2), (5,)))
    lt = cls.log_table(theta)
    assert np.allclose(lt[0, : inst.Y], plain.log_table(theta[:3])[0], atol=1e-12)
    assert np.all(np.isneginf(lt[0, inst.Y :]))
    assert np.allclose(pp.logp[0, : inst.Y], problem.logp[0]) and np.all(np.isneginf(pp.logp[0, inst.Y :]))


def test_separation_quick(quick_results):
    rec = quick_results("separation")
    rows = rec["results"]["rows"]
    # science: SFT's empirical m grows with |Y| while XPO reaches sharpness at a small T; the
    # simulated SFT success frequencies agree with the exact binomial law (1 - 1e-6 CIs)
    assert all(row["xpo"]["reached"] for row in rows)
    sft_m = [row["sft"]["m"] for row in rows]
    assert all(b > a for a, b in zip(sft_m, sft_m[1:]))
    assert all(row["sft"]["m"] > 5 * row["xpo"]["m"] for row in rows)
    out6 = next(r for r in rec["summary"] if r["measurement"].startswith("SFT exact success outside"))
    assert out6["simulated"] == 0


# ------------------------------------------------------------------ amortization


def test_model_cores_match_autoregressive_lm():
    model, correct, _ = amortization.base_model(amortization.QUICK, jax.random.key(5))
    params = tuple(jnp.asarray(c) for c in model.conditionals)
    assert np.allclose(np.asarray(amortization.log_table(params)), model.log_table(), atol=1e-12)
    assert np.array_equal(np.asarray(amortization.greedy_index(params)), s.encode(model.greedy(), model.V))


def test_finetune_zero_lr_is_the_base_and_converges_to_data():
    c = amortization.QUICK
    model, correct, _ = amortization.base_model(c, jax.random.key(6))
    lt = model.log_table()
    mu = np.asarray(model.mu)
    params = tuple(jnp.asarray(x) for x in model.conditionals)
    counts = np.zeros_like(lt)
    counts[np.arange(model.X), np.argmax(lt, axis=1)] = 3.0  # data: the sequence argmax of every prompt
    args = (jnp.asarray(counts), jnp.asarray(lt), jnp.asarray(correct), jnp.asarray(mu))
    still = np.asarray(amortization.finetune(params, *args, 0.0, steps=5))
    acc0 = float(np.sum(mu * np.where(correct, np.exp(lt), 0).sum(1)))
    assert np.allclose(still[:, 0], acc0, atol=1e-12)
    moved = np.asarray(amortization.finetune(params, *args, 0.1, steps=300))
    target_acc = float(np.sum(mu * correct[np.arange(model.X), np.argmax(lt, axis=1)]))
    assert abs(moved[-1, 0] - target_acc) < 0.02  # the model concentrates on its training sequences


def test_amortization_quick(quick_results):
    rec = quick_results("amortization")
    r = rec["results"]
    # science (SPEC 8.5): lifts grow with N; exact expected-data fine-tuning never passes its BoN target
    pops = [np.asarray(row["pop"])[-1, 0] for row in r["per_N"]]
    assert all(b > a for a, b in zip(pops, pops[1:]))
    for row in r["per_N"]:
        assert np.asarray(row["pop"])[:, 0].max() <= row["acc_bon"] + 1e-12
    assert np.mean(np.asarray(r["per_N"][-1]["traj"])[:, -1, 0]) > r["acc_greedy0"]
