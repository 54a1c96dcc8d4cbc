"""Online RLHF-Sharpening with exploration: XPO, Algorithm 1 (SPEC 6.4, Theorems J.1-J.3).

Objective at round t (the sign of the squared loss corrected to +, SPEC 10.2):

    pi^(t+1) = argmin_{pi in Pi}  alpha * sum_{(x,y,y') in D^(t)} log pi(y'|x)
                 + w * sum_{(x,y,y') in D^(t)} ( beta log(pi(y|x)/pi_base(y|x))
                        - beta log(pi(y'|x)/pi_base(y'|x)) - (log pi_base(y|x) - log pi_base(y'|x)) )^2

with x ~ mu, y ~ pi^(t)(.|x) (the learner samples its own model) and y' ~ pi_base(.|x).

Decision D6 (weighting). ``weight="printed"`` (the default) uses w = 1, as Algorithm 1 is
printed; ``weight="proof"`` uses w = beta / (V_max + R_max)^2, the coefficient of the
proof's empirical objective. We default to the printed weighting because alpha is then the
only exploration knob and Theorem J.3's alpha(T) (helper :func:`alpha_j3`) is stated for
it; with the proof's weighting and beta ~ gamma_margin / log|Y| the squared loss is
suppressed by ~beta/(2B + log|Y|)^2 and the exploration term dominates at every T we can
simulate (the iterates are pushed to the boundary of the ball).

Optimization: each round runs ``inner_steps`` of accelerated projected gradient (FISTA,
warm-started at the previous iterate). For the linear softmax class the squared loss is a
convex quadratic (the log-partition cancels within a prompt) and alpha * log pi(y'|x) is
concave, so the objective is not convex for alpha > 0; we report what the first-order
method reaches. pi^(1) = pi_base: at round 1 the learner's "own" sample is an oracle draw
(a sample-and-evaluate query), so no extended query is needed then.

Query accounting (decision D7): ``queries`` counts draws from pi_base with their
likelihoods (y' every round, and y at round 1): T + 1. ``extended_queries`` counts
evaluations of log pi_base at responses the learner drew from its own iterates: T - 1 in
training plus n_val per candidate in validation. Output selection (D6): pi_hat = the
iterate among pi^(2..T+1) with the largest J_beta estimated on n_val fresh validation
samples x ~ mu, y ~ pi^(t)(.|x): J_hat = mean((1 + beta) log pi_base(y|x) - beta log pi^(t)(y|x))
(an unbiased estimate of J_beta(pi^(t)) = E_pi[log pi_base] - beta KL(pi || pi_base)).
These validation evaluations are *counted* (in extended_queries) and so is every
validation prompt (in prompts). The reported total m for XPO is queries + extended_queries.
pi^(1) = pi_base is not a candidate (its table is unknown to the learner).
"""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from .. import aot, bounds
from .._validate import check_int, check_open_unit, check_positive
from ..classes import LOG_TABLE_FNS, PROJECTIONS
from ..core import to_device
from ..evaluation import error_core
from ..optim import fista
from ..oracle import Oracle, draw_from_rows, prompts_core
from ..quantities import margin
from .result import Batch, LearnerResult, Trial

__all__ = ["xpo_sharpening", "xpo_core", "xpo_trial", "xpo_batch", "xpo_prescription", "alpha_j3", "default_alpha",
           "t_capacity"]

CHUNK = 64
"""Engine chunking: trials per vmapped chunk (each trial runs T rounds of FISTA)."""


def alpha_j3(beta, B, Y, d, T, eps, delta, rho, constant: float = 1.0) -> float:
    """Theorem J.3's optimism parameter (up to its unknown constant):
    alpha(T) = c (beta / (B + log|Y|)) sqrt( (d log(B d T / (eps delta)) + log(T / rho)) / (d T log T) ).
    (log T is floored at log 2.)"""
    T = max(int(T), 2)
    num = d * math.log(max(B * d * T / (eps * delta), math.e)) + math.log(T / rho)
    return constant * (beta / (B + math.log(Y))) * math.sqrt(num / (d * T * math.log(T)))


def _oracle_prompt(key, log_mu):
    return prompts_core(key, log_mu, 8)[0]


def _oracle_draw(key, logp, x):
    """One draw y ~ pi_base(.|x) with its log-likelihood (a sample-and-evaluate query)."""
    y = draw_from_rows(key, jnp.exp(logp), x[None])[0]
    return y, logp[x, y]


def _oracle_eval(logp, x, y):
    """log pi_base(y|x) at a response the learner chose (extended access, D7)."""
    return logp[x, y]


def t_capacity(T: int) -> int:
    """Static padded round count for T live rounds: the next power of 8 >= max(T, 8).

    XPO allocates ``T_cap`` = t_capacity(T) slots and runs only the T live rounds (a while
    loop; the padding costs one J_hat evaluation per empty slot), so a search over T compiles
    once per factor 8 instead of once per T (as the oracle's n_cap does for prompts)."""
    T = max(int(T), 1)
    c = 8
    while c < T:
        c *= 8
    return c


def xpo_core(key, logp, log_mu, arrays, params0, beta, alpha, weight, smooth, kind, T, n_val, inner_steps,
             T_cap=None):
    """Pure XPO run (jit/vmap-able). The learner's logic touches ``logp`` only through
    ``_oracle_draw`` / ``_oracle_eval`` / ``_oracle_prompt``. Returns
    (policy [X, Y], queries, extended_queries, prompts, selected round, J_hat [T_cap]).

    ``T`` (rounds) may be a Python int or a traced integer; ``T_cap`` (static, default
    :func:`t_capacity` of T) fixes the shapes: the rounds run in a ``fori_loop`` up to T
    (rounds t >= T are never executed) and the T_cap - T padding slots get J_hat = -inf, so
    they are never selected. The live rounds' keys do not depend on T_cap (round keys are a
    chain; validation keys are ``jax.random.split(kval, T_cap)``, prefix-consistent with
    threefry-partitionable keys): the result for a given T is the same for every T_cap >= T.
    """
    if T_cap is None:
        T_cap = t_capacity(T)
    if isinstance(T, int) and T > T_cap:
        raise ValueError(f"T_cap = {T_cap} must be >= T = {T}")
    return _xpo_padded(key, logp, log_mu, arrays, params0, beta, alpha, weight, smooth, T, kind, int(T_cap),
                       n_val, inner_steps)


@partial(aot.jit, static_argnames=("kind", "T_cap", "n_val", "inner_steps"))
def _xpo_padded(key, logp, log_mu, arrays, params0, beta, alpha, weight, smooth, T, kind, T_cap, n_val,
                inner_steps):
    log_table = partial(LOG_TABLE_FNS[kind], arrays)
    project = partial(PROJECTIONS[kind], arrays)
    L = weight * 16.0 * beta * beta * smooth + alpha * smooth + 1e-12
    kloop, kval = jax.random.split(key)
    T = jnp.asarray(T, dtype=jnp.int32)

    def objective(p, buf):
        xs, ys, y2s, lps, lp2s, mask = buf
        lt = log_table(p)
        a, b = lt[xs, ys], lt[xs, y2s]
        r = beta * (a - lps) - beta * (b - lp2s) - (lps - lp2s)
        c = jnp.maximum(jnp.sum(mask), 1.0)
        return (alpha * jnp.sum(mask * b) + weight * jnp.sum(mask * r * r)) / c

    buf0 = (jnp.zeros(T_cap, jnp.int32), jnp.zeros(T_cap, jnp.int32), jnp.zeros(T_cap, jnp.int32),
            jnp.zeros(T_cap), jnp.zeros(T_cap), jnp.zeros(T_cap))
    iterates0 = jax.tree.map(lambda a: jnp.zeros((T_cap,) + a.shape, a.dtype), params0)

    def round_(t, carry):
        p, buf, k, its = carry
        k, kx, kb, ko, k2 = jax.random.split(k, 5)
        x = _oracle_prompt(kx, log_mu)
        y_base, lp_base = _oracle_draw(kb, logp, x)          # used at t = 0 (pi^(1) = pi_base)
        y_own = jax.random.categorical(ko, log_table(p)[x])  # the learner's own sample
        y = jnp.where(t == 0, y_base, y_own).astype(jnp.int32)
        lp = jnp.where(t == 0, lp_base, _oracle_eval(logp, x, y))
        y2, lp2 = _oracle_draw(k2, logp, x)
        x, y2 = x.astype(jnp.int32), y2.astype(jnp.int32)
        xs, ys, y2s, lps, lp2s, mask = buf
        buf = (xs.at[t].set(x), ys.at[t].set(y), y2s.at[t].set(y2), lps.at[t].set(lp),
               lp2s.at[t].set(lp2), mask.at[t].set(1.0))
        p = fista(partial(objective, buf=buf), p, project, L, inner_steps)
        its = jax.tree.map(lambda a, v: a.at[t].set(v), its, p)
        return p, buf, k, its

    # a while loop with a trip count T that is shared by a whole vmapped batch: no padded work
    _, _, _, iterates = jax.lax.fori_loop(0, T, round_, (params0, buf0, kloop, iterates0))

    def j_hat(p, k):
        kx, ky = jax.random.split(k)
        xs = prompts_core(kx, log_mu, max(8, n_val))[:n_val]
        lt = log_table(p)
        ys = jax.random.categorical(ky, lt[xs], axis=-1)
        lps = _oracle_eval(logp, xs, ys)
        return jnp.mean((1.0 + beta) * lps - beta * lt[xs, ys])

    J = jax.vmap(j_hat)(iterates, jax.random.split(kval, T_cap))
    J = jnp.where(jnp.arange(T_cap) < T, J, -jnp.inf)
    sel = jnp.argmax(J)
    best = jax.tree.map(lambda a: a[sel], iterates)
    policy = jnp.exp(log_table(best))
    queries = T + 1
    extended = (T - 1) + T * n_val
    prompts = T + T * n_val
    return policy, queries, extended, prompts, sel, J


def xpo_sharpening(oracle: Oracle, cls, T: int, beta: float, key, alpha: float | None = None,
                   weight="printed", n_val: int = 32, inner_steps: int = 200,
                   eps: float | None = None, delta: float | None = None, rho: float | None = None,
                   V_max: float | None = None, R_max: float | None = None) -> LearnerResult:
    """XPO (Algorithm 1, sign-corrected) over a parametric class (:class:`LinearSoftmaxClass`,
    :class:`BoxTabularClass`, :class:`ARLinearSoftmaxClass`); see the module docstring for
    the weighting (D6), selection and query accounting (D7).

    Args:
      T: rounds. beta: KL weight (Theorem J.3: gamma_margin / (2 log(2|Y|/delta))).
      alpha: optimism; None -> :func:`alpha_j3` with B = cls.B (or R), d = cls.d (or X Y),
        which needs eps, delta, rho.
      weight: "printed" (w = 1), "proof" (w = beta / (V_max + R_max)^2, needs V_max, R_max) or a float.
      n_val: validation samples per candidate iterate. inner_steps: FISTA steps per round.
    """
    T = check_int(T, "T")
    beta = check_positive(beta, "beta")
    n_val = check_int(n_val, "n_val")
    if cls.kind not in LOG_TABLE_FNS:
        raise ValueError(f"XPO needs a parametric class (linear, arlinear, box), got {cls!r}")
    if (cls.X, cls.Y) != (oracle.X, oracle.Y):
        raise ValueError(f"cls has shape {(cls.X, cls.Y)} but the oracle's model is {(oracle.X, oracle.Y)}")
    if weight == "printed":
        w = 1.0
    elif weight == "proof":
        if V_max is None or R_max is None:
            raise ValueError("weight='proof' needs V_max and R_max")
        w = beta / (V_max + R_max) ** 2
    else:
        w = check_positive(weight, "weight")
    if alpha is None:
        if eps is None or delta is None or rho is None:
            raise ValueError("alpha=None uses Theorem J.3's alpha(T), which needs eps, delta and rho")
        alpha = default_alpha(cls, beta, T, check_open_unit(eps, "eps"), check_open_unit(delta, "delta"),
                              check_open_unit(rho, "rho"))
    alpha = float(alpha)
    if alpha < 0:
        raise ValueError(f"alpha must be >= 0, got {alpha}")
    smooth = float(getattr(cls, "L", 1.0))
    t = oracle.run(xpo_trial, key, cls.arrays, cls.init_params(), beta, alpha, w, smooth, cls.kind, T, n_val,
                   check_int(inner_steps, "inner_steps"))
    sel, J = t.info
    return LearnerResult(np.asarray(t.policy), int(t.queries), int(t.extended), int(t.prompts),
                         {"T": T, "beta": beta, "alpha": alpha, "weight": w, "selected_round": int(sel) + 2,
                          "J_hat": np.asarray(J)[:T], "n_val": n_val})


def xpo_trial(key, logp, log_mu, arrays, params0, beta, alpha, weight, smooth, kind, T, n_val, inner_steps,
              T_cap=None) -> Trial:
    """:func:`xpo_core` as a :class:`Trial` (info = (selected index, J_hat [T_cap])): the trial core
    that the learner runs through the oracle and the engine vmaps."""
    policy, q, e, pr, sel, J = xpo_core(key, logp, log_mu, arrays, params0, beta, alpha, weight, smooth, kind, T,
                                        n_val, inner_steps, T_cap)
    return Trial(policy, q, e, pr, (sel, J))


@partial(aot.jit, static_argnames=("kind", "T_cap", "n_val", "inner_steps"))
def _xpo_batch(keys, logp, log_mu, mu, delta, arrays, params0, beta, alpha, weight, smooth, kind, T, n_val,
               inner_steps, T_cap):
    """T is traced (rounds t >= T are masked, see :func:`xpo_core`): one compilation per T_cap."""
    def one(key):
        t = xpo_trial(key, logp, log_mu, arrays, params0, beta, alpha, weight, smooth, kind, T, n_val, inner_steps,
                      T_cap)
        return error_core(t.policy, logp, delta, mu), jnp.float64(t.queries), jnp.float64(t.extended)

    return jax.vmap(one)(keys)


def default_alpha(cls, beta, T, eps, delta, rho) -> float:
    """Theorem J.3's alpha(T) (:func:`alpha_j3`) with B = cls.B (or R) and d = cls.d (or X Y)."""
    return alpha_j3(beta, getattr(cls, "B", getattr(cls, "R", 1.0)), cls.Y, getattr(cls, "d", cls.X * cls.Y), T,
                    eps, delta, rho)


def xpo_batch(problem, cls, trials, delta, *, T=None, beta=None, alpha=None, eps=None, rho=None, n_val=16,
              inner_steps=200, chunk=None, **_):
    """The engine's plan for XPO trials at sizes (T, beta): a :class:`Batch` (alpha None: Theorem
    J.3's alpha(T) with eps, delta, rho; the printed weighting w = 1, decision D6)."""
    T = check_int(T, "T")
    beta = check_positive(beta, "beta")
    cls = problem.class_for("xpo") if cls is None else cls
    logp, log_mu, mu = to_device(problem.logp), to_device(problem.log_mu), to_device(problem.mu)
    if alpha is None:
        alpha = default_alpha(cls, beta, T, eps, delta, rho)
    smooth = float(getattr(cls, "L", 1.0))
    alpha = float(alpha)

    def fn(ks):
        return _xpo_batch(ks, logp, log_mu, mu, delta, cls.arrays, cls.init_params(), beta, alpha, 1.0,
                          smooth, cls.kind, T, n_val, inner_steps, t_capacity(T))

    return Batch(fn, int(chunk) if chunk else CHUNK, False,
                 {"T": T, "beta": beta, "alpha": alpha, "n_val": n_val})


def xpo_prescription(problem, eps, delta, rho, constant=1.0, **_):
    """Theorem J.3 (order-only) for a linear-softmax instance (Example J.1): d, B, |Y|, gamma_margin."""
    inst = problem.info.get("instance")
    if not hasattr(inst, "theta_star"):
        raise ValueError("verify --algorithm xpo needs a linear-softmax instance (--instance j1)")
    gm = margin(problem.base, problem.mu)
    return bounds.linear_softmax_xpo(inst.d, max(problem.info["B"], 1.0), problem.Y, min(gm, 1.0), eps, delta, rho,
                                     constant=constant)
