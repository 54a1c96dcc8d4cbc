"""One harness for "one implementation, two ways to run it" (the distrax EquivalenceTest idea).

1. **Engine = learner.** For every algorithm of the registry, the engine's vmapped trials
   (:func:`sharpsim.engine.run_trials`) and the oracle-facing learner run one trial at a time
   on the trial keys ``jax.random.split(key, K)`` give the same learned tables' exact errors and
   the same query counts, bit for bit: both run the algorithm's one trial core.
2. **Fast path = literal twin.** Each fast path of the package against the plain code it
   replaces, bit for bit, on inputs with ties, zeros and padding (:data:`TWINS`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sharpsim import core, sampling
from sharpsim.algorithms import REGISTRY
from sharpsim.classes import TabularClass
from sharpsim.engine import run_trials
from sharpsim.evaluation import error_core
from sharpsim.instances.problems import hard_problem, j1_problem, random_problem
from sharpsim.oracle import Oracle

K = 8
EPS, DELTA = 0.3, 0.3


def _learner_errors(problem, name, key, cls, sizes):
    """Run the registry's learner once per trial key; exact error and queries per trial."""
    spec = REGISTRY[name]
    logp, mu = jnp.asarray(problem.logp), jnp.asarray(problem.mu)
    star = np.asarray(core.argmax_set(logp))
    errs, queries, tables = [], [], set()
    for k in jax.random.split(key, K):
        oracle = Oracle(problem.base, problem.mu)
        if name == "bon":
            r = spec.learner(oracle, sizes["N"], k, n=1)
            x, y = int(r.info["x"][0]), int(r.info["y"][0])
            errs.append(0.0 if star[x, y] else 1.0)
        else:
            if name == "sft":
                r = spec.learner(oracle, cls, sizes["n"], sizes["N"], k)
            elif name == "adaptive":
                r = spec.learner(oracle, cls, sizes["n"], k, mu_stop=sizes["mu_stop"])
            elif name == "dpo":
                r = spec.learner(oracle, cls, sizes["n"], sizes["beta"], k)
            else:
                r = spec.learner(oracle, cls, sizes["T"], sizes["beta"], k, alpha=sizes["alpha"],
                                 n_val=sizes["n_val"], inner_steps=sizes["inner_steps"])
            errs.append(float(error_core(jnp.asarray(r.policy), logp, DELTA, mu)))
            tables.add(np.asarray(r.policy).tobytes())
        queries.append(r.total_queries)
        assert oracle.queries + oracle.extended_queries == r.total_queries  # the oracle charged it
    return np.array(errs), np.array(queries, dtype=float), tables


CASES = [
    ("bon", "hard", {"N": 3}),
    ("sft", "hard", {"n": 2, "N": 1}),
    ("sft", "random", {"n": 4, "N": 2}),
    ("adaptive", "hard", {"n": 1, "mu_stop": 0.5}),
    ("adaptive", "random", {"n": 3, "mu_stop": 2.0}),
    ("dpo", "hard", {"n": 6, "beta": 0.2}),
    ("dpo", "random", {"n": 5, "beta": 0.5}),
    ("xpo", "j1", {"T": 4, "beta": 0.3, "alpha": 0.01, "n_val": 4, "inner_steps": 10}),
]


def _problem(kind):
    if kind == "hard":
        return hard_problem(2, 6, 0.5, jax.random.key(0))
    if kind == "random":
        return random_problem(jax.random.key(1), 3, 5, K=4, alpha=0.4)
    return j1_problem(jax.random.key(2), 2, delta=0.1)


@pytest.mark.parametrize("name,kind,sizes", CASES, ids=[f"{a}-{b}" for a, b, _ in CASES])
def test_engine_and_learner_agree_bit_for_bit(name, kind, sizes):
    problem = _problem(kind)
    key = jax.random.key(42)
    cls = None
    if name == "sft":
        cls = problem.class_for("sft", sizes["N"])
    elif name == "adaptive":
        cls = problem.class_for("adaptive", sizes["mu_stop"])
    elif name == "dpo":
        cls = problem.class_for("dpo", sizes["beta"])
    elif name == "xpo":
        cls = problem.class_for("xpo")
    if kind == "random" and name != "bon":
        cls = TabularClass(problem.X, problem.Y)  # the tabular class: the learned tables vary across keys
    st = run_trials(problem, name, key, K, EPS, DELTA, cls=cls, progress=False, **sizes)
    errs, queries, tables = _learner_errors(problem, name, key, cls, sizes)
    np.testing.assert_array_equal(st.errors, errs)
    assert st.m == pytest.approx(float(np.mean(queries)), rel=0, abs=0)
    # not vacuous: the trials learned different tables (or, for BoN, gave different outcomes)
    assert len(tables) > 1 or (name == "bon" and len(set(errs.tolist())) > 1)


def test_every_registered_algorithm_is_covered():
    assert {c[0] for c in CASES} == set(REGISTRY)


# --------------------------------------------------------------------------- fast path = literal twin


def _tie_problem():
    from sharpsim.instances.problems import Problem

    p = np.array([[0.4, 0.4, 0.2, 0.0, 0.0], [0.5, 0.25, 0.25, 0.0, 0.0], [0.2, 0.3, 0.0, 0.3, 0.2],
                  [0.35, 0.1, 0.1, 0.35, 0.1], [0.1, 0.1, 0.4, 0.4, 0.0], [0.1, 0.1, 0.1, 0.35, 0.35]])
    return Problem("ties", p, np.array([0.3, 0.2, 0.2, 0.1, 0.1, 0.1]))


def _sft_fast(pb, key, n, delta, literal):
    return run_trials(pb, "sft", key, 30, EPS, delta, n=n, N=2, cls=TabularClass(pb.X, pb.Y), literal=literal,
                      progress=False, chunk=7).errors


def _sft_generic(pb, key, n, delta, literal):
    return run_trials(pb, "sft", key, 30, EPS, delta, n=n, N=2, cls=TabularClass(pb.X, pb.Y), literal=literal,
                      progress=False, fast=False).errors


def _table_core(key, lp, x, N):
    return sampling.best_of_n_table_core(key, jnp.asarray(lp), jnp.asarray(x), jnp.zeros(N))[0]


def _row_core(key, lp, x, N):
    lp = jnp.asarray(lp)
    return sampling.best_of_n_core(key, lp[jnp.asarray(x)], jnp.zeros(N))[0]


TWINS = [
    ("sft tabular fast path vs generic MLE", _sft_fast, _sft_generic,
     [(_tie_problem(), jax.random.key(3), 3, 0.5, False), (_tie_problem(), jax.random.key(4), 8, 0.5, True),
      (random_problem(jax.random.key(9), 12, 9, K=2, alpha=0.3), jax.random.key(5), 5, 0.4, False)]),
    ("best-of-N table core vs row core", _table_core, _row_core,
     [(jax.random.key(6), np.log(np.array([[0.4, 0.4, 0.2, 1e-300], [0.25, 0.25, 0.25, 0.25]])), np.array([0, 1, 1, 0]), 5)]),
]


@pytest.mark.parametrize("name,fast,literal,cases", TWINS, ids=[t[0] for t in TWINS])
def test_fast_path_equals_literal_twin(name, fast, literal, cases):
    for args in cases:
        np.testing.assert_array_equal(np.asarray(fast(*args)), np.asarray(literal(*args)))
