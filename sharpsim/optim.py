"""The one projected-gradient solver of the package: FISTA (accelerated projected gradient).

Used by the parametric classes' MLE and DPO fits (:mod:`sharpsim.classes`) and by XPO's
per-round objective (:mod:`sharpsim.algorithms.xpo`).

Why not optax: optax has projections (``optax.projections``) and Nesterov momentum
(``optax.sgd(nesterov=True)``), but no FISTA step with the Beck-Teboulle momentum schedule
t_{k+1} = (1 + sqrt(1 + 4 t_k^2)) / 2 applied to the *projected* point, which is what every
result of the package was computed with; composing it from optax transforms would change the
iterates (and so the bits of every XPO and parametric-class result) without a gain. Adam, which
optax has exactly, is taken from optax (``experiments/amortization.py``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["fista"]


def fista(loss, params0, project, L, steps):
    """FISTA (Beck and Teboulle 2009) with step 1/L and ``steps`` iterations (jit-able):

        p_{k+1} = project(z_k - grad loss(z_k) / L)
        t_{k+1} = (1 + sqrt(1 + 4 t_k^2)) / 2
        z_{k+1} = p_{k+1} + ((t_k - 1) / t_{k+1}) (p_{k+1} - p_k),      z_0 = p_0, t_0 = 1.

    ``params0`` may be any pytree; ``project`` maps a pytree onto the feasible set; ``L`` is
    (an upper bound on) the gradient's Lipschitz constant. Returns p_steps.
    """
    g = jax.grad(loss)

    def body(_, state):
        p, z, t = state
        p_new = project(jax.tree.map(lambda a, b: a - b / L, z, g(z)))
        t_new = 0.5 * (1 + jnp.sqrt(1 + 4 * t * t))
        z_new = jax.tree.map(lambda a, b: a + ((t - 1) / t_new) * (a - b), p_new, p)
        return p_new, z_new, t_new

    p, _, _ = jax.lax.fori_loop(0, steps, body, (params0, params0, jnp.array(1.0)))
    return p
