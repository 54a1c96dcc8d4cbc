"""sharpsim.instances.toy: the trap tasks' structure."""

import jax
import numpy as np

import sharpsim as s


def test_toy_task_structure():
    from sharpsim.instances.toy import perturb, toy_task

    X, V, H, pc, pt, q = 30, 4, 3, 0.3, 0.45, 0.9
    conds, correct, trap = toy_task(jax.random.key(3), X, V, H, 0.5, pc, pt, q, 3.0)
    assert trap.any() and (~trap).any()
    clean = perturb(conds, jax.random.key(4), 0.0, 1.0)  # sigma = 0, tau = 1: the task itself
    lt = clean.log_table()
    idx = s.encode(correct, V)
    # hand formula: pi(c(x)) = p_first(c_1) q^(H-1)
    expect = np.where(trap, pc, pt) * q ** (H - 1)
    np.testing.assert_allclose(np.exp(lt[np.arange(X), idx]), expect, rtol=1e-12)
    g = clean.greedy()
    assert (g[trap, 0] != correct[trap, 0]).all()  # greedy takes the trap first token
    assert (g[~trap] == correct[~trap]).all()  # and follows the correct chain otherwise (q > 1/2)
