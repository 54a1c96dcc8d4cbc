"""Catalogue experiment amortization: its model cores and fine-tuning, and the quick run."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import sharpsim as s
from sharpsim.experiments import amortization


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
