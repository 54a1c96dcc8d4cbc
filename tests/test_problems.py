"""sharpsim.instances.problems: padding leaves the classes unchanged."""

from __future__ import annotations

import jax
import numpy as np

from sharpsim.classes import LinearSoftmaxClass
from sharpsim.instances import problems


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
